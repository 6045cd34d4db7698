"""One Redis connection per process, from REDIS_URL or the embedded server."""

from __future__ import annotations

import redis

from signoff.config import Settings, get_settings
from signoff.embedded_redis import EmbeddedRedis


def redis_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    return EmbeddedRedis(settings.data_dir).ensure_running()


def connect(url: str | None = None) -> redis.Redis:
    # RQ stores pickled job data, so the connection returns bytes; Signoff decodes its own keys.
    return redis.Redis.from_url(url or redis_url())
