"""Riding out a Redis restart: long-running loops reconnect with capped back-off instead of exiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import redis

from signoff.logging import log

T = TypeVar("T")
FIRST_WAIT, MAX_WAIT = 0.5, 5.0  # seconds: back within seconds of Redis coming back
LOG_EVERY = 1.0  # seconds: an outage logs once a second at most, not once per attempt


def until_redis_answers(what: str, run: Callable[[], T], on_reconnect: Callable[[], None] | None = None) -> T:
    """Runs `run`; when Redis is unreachable, waits with capped back-off and runs it again, only once
    `on_reconnect` (e.g. forgetting a crashed worker's registration) has gone through."""
    wait, last_logged = FIRST_WAIT, 0.0
    while True:
        try:
            return run()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            error = exc
        while True:  # Redis is away: wait, then make ready to run again
            if time.monotonic() - last_logged >= LOG_EVERY:
                log.warning("redis_unreachable", process=what, error=str(error), retry_in=round(wait, 1))
                last_logged = time.monotonic()
            time.sleep(wait)  # an outage: nothing to wait on but time
            wait = min(wait * 2, MAX_WAIT)
            if on_reconnect is None:
                break
            try:
                on_reconnect()
                break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                error = exc
