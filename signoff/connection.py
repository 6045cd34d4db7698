"""One Redis connection per process, from REDIS_URL or the embedded server."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError
from redis.retry import Retry

from signoff.config import Settings, get_settings
from signoff.embedded_redis import EmbeddedRedis


def redis_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    return EmbeddedRedis(settings.data_dir).ensure_running()


#: A restarted Redis (a stale pooled connection, or the server still loading its data) is retried
#: a few times with short back-off: about a second in all, well inside Slack's 3 seconds for a click.
RETRY = Retry(ExponentialBackoff(cap=0.4, base=0.05), retries=4)
RETRY_ON = [redis.ConnectionError, redis.TimeoutError, BusyLoadingError]


def connect(url: str | None = None) -> redis.Redis:
    # Job payloads are bytes to RQ, so the connection returns bytes; Signoff decodes its own keys.
    return redis.Redis.from_url(url or redis_url(), retry=RETRY, retry_on_error=RETRY_ON)
