"""The RQ job that resumes a paused agent run once people have decided its tool calls (`signoff.runs`)."""

from __future__ import annotations

import asyncio

from signoff import runs
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job


@signoff_job
def resume_run(run_id: str) -> str:
    run = asyncio.run(runs.resume(job_runtime(), run_id))
    return run.status if run is not None else "not resumed"
