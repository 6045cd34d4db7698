"""Shared by the benchmarks: a private embedded Redis, and writing figures to bench/results/."""

from __future__ import annotations

import json
import os
import platform
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signoff.embedded_redis import EmbeddedRedis

RESULTS = Path(__file__).resolve().parent / "results"
#: Every action waits for a person, and no burst pauses the benchmark's agent.
APPROVE_ALL = str(Path(__file__).resolve().parent / "policies" / "approve_all.yml")


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of the benchmark's own, so figures never mix with anything else's data."""
    with tempfile.TemporaryDirectory(prefix="signoff-bench-") as data_dir:
        server = EmbeddedRedis(Path(data_dir))
        url = server.ensure_running()
        os.environ["REDIS_URL"] = url
        # The benchmark's processes decide and run: they share a key of the run's own, and the test actions.
        os.environ.setdefault("SIGNOFF_DECISION_KEY", secrets.token_hex(32))
        os.environ.setdefault("SIGNOFF_ACTIONS", "tests.actions,bench.work")
        try:
            yield url
        finally:
            server.stop()


def write_results(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {"measured_at": datetime.now(UTC).isoformat(), "machine": platform.platform(),
              "cpus": os.cpu_count(), **figures}
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def sandbox_env(sandbox: Any, policy: str = APPROVE_ALL) -> dict[str, str]:
    """The environment of the processes a benchmark starts against the Slack sandbox; this process
    gets the same policy and quiet logs."""
    os.environ.update(SIGNOFF_POLICY=policy, SIGNOFF_LOG_LEVEL="warning")
    return {**os.environ, "SLACK_API_URL": sandbox.api_url, "SLACK_BOT_TOKEN": sandbox.token,
            "SLACK_SIGNING_SECRET": sandbox.signing_secret, "SIGNOFF_POLICY": policy,
            "SIGNOFF_LOG_FORMAT": "json", "SIGNOFF_LOG_LEVEL": "info"}


def run(name: str, main: Callable[..., dict[str, Any]], report: Callable[[dict[str, Any]], str],
        defaults: list[int]) -> None:
    """A benchmark's command line: integer arguments (the defaults where not given), its report, and
    its figures written to bench/results/<name>.json."""
    given = [int(a) for a in sys.argv[1:1 + len(defaults)]]
    results = main(*(given + defaults[len(given):]))
    print(report(results))
    print(f"written to {write_results(name, results)}")
