"""The price of a fork per job: a forking worker's parent, as `signoff worker` prepares it, against a
plain `rq worker`'s, each forked N times (fork and exit, nothing else), in processes of their own.

A forking worker pays this for every job, before the job does anything; it grows with the parent's
resident memory (its page tables are copied). Prints the medians, the resident memory of each, and
the ratio; writes bench/results/fork.json.
Usage: python bench/fork.py [N]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import private_redis, run  # noqa: E402

_PROBE = """
import json, os, sys, time
if sys.argv[1] == "signoff":
    from signoff.runtime import Runtime
    from workers.worker import prepare
    prepare(Runtime())  # what `signoff worker` has built before its first fork
else:
    import redis, rq  # what a plain `rq worker` has imported
def once():
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return time.perf_counter() - started
times = [once() for _ in range(int(sys.argv[2]))]
with open("/proc/self/status") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
print(json.dumps({"times": times, "rss_kib": rss}))
"""


def _probe(kind: str, n: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _PROBE, kind, str(n)], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {"median_ms": statistics.median(found["times"]) * 1000, "rss_mib": found["rss_kib"] / 1024}


def main(n: int) -> dict[str, Any]:
    with private_redis():
        rounds = [(_probe("plain", n), _probe("signoff", n)) for _ in range(3)]  # alternating
    plain = statistics.median(p["median_ms"] for p, _ in rounds)
    signoff = statistics.median(s["median_ms"] for _, s in rounds)
    return {"forks": n, "plain_rq_fork_ms": plain, "signoff_fork_ms": signoff, "ratio": signoff / plain,
            "plain_rq_rss_mib": rounds[0][0]["rss_mib"], "signoff_rss_mib": rounds[0][1]["rss_mib"],
            "rounds": [[p["median_ms"], s["median_ms"]] for p, s in rounds]}


def report(r: dict[str, Any]) -> str:
    return (f"Fork and exit of a worker's parent, {r['forks']} times (medians of 3 alternating rounds):\n"
            f"  plain RQ {r['plain_rq_fork_ms']:.2f} ms at {r['plain_rq_rss_mib']:.0f} MiB resident; "
            f"Signoff {r['signoff_fork_ms']:.2f} ms at {r['signoff_rss_mib']:.0f} MiB; ratio {r['ratio']:.2f}")


if __name__ == "__main__":
    run("fork", main, report, [200])
