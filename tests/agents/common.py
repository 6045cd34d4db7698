"""What the test agents share: each tool call that really runs is recorded where a test can see it."""

from __future__ import annotations

import json
import os
from typing import Any

import redis

RAN = "test:tool-ran"


def record_run(tool: str, **args: Any) -> None:
    # The process id tells the test which process ran it: the resumed run is in a worker, not the test.
    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush(RAN, json.dumps({"tool": tool, "args": args,
                                                                         "pid": os.getpid()}))


def runs_recorded(connection: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in connection.lrange(RAN, 0, -1)]
