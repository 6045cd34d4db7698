"""The job that ends an allowance at its expiry time, scheduled by RQ when the allowance is made."""

from __future__ import annotations

from signoff import allowances
from signoff.job_runtime import job_runtime
from signoff.jobs import signoff_job


@signoff_job
def expire_allowance(allowance_id: str) -> bool:
    return allowances.expire(job_runtime(), allowance_id) is not None
