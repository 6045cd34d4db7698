"""One Redis connection per process: REDIS_URL (redis:// or rediss:// for TLS), Redis Sentinel, or
the embedded server.

- TLS: `rediss://` in REDIS_URL. A managed service whose certificate is signed by its own CA:
  `SIGNOFF_REDIS_CA_CERTS=/path/ca.pem`; one that cannot be verified at all:
  `SIGNOFF_REDIS_TLS_VERIFY=none` (encrypted, but not proof of who answers).
- Sentinel: `SIGNOFF_REDIS_SENTINELS=host:26379,host2:26379` and `SIGNOFF_REDIS_SERVICE` (the master's
  name). Every (re)connection asks the Sentinels for the current master, so a failover is followed
  by the next retry; REDIS_URL, if also set, gives the password, database and TLS, not the host.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ReadOnlyError
from redis.retry import Retry
from redis.sentinel import Sentinel

from signoff.config import Settings, get_settings
from signoff.embedded_redis import EmbeddedRedis


def redis_url(settings: Settings | None = None) -> str:
    """What a child process is given as REDIS_URL: the configured one, or the embedded server's."""
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    if settings.redis_sentinels:
        return "redis://sentinel/0"  # never dialled: SIGNOFF_REDIS_SENTINELS, inherited too, says where
    return EmbeddedRedis(settings.data_dir).ensure_running()


#: A restarted Redis (a stale pooled connection, or the server still loading its data) is retried
#: a few times with short back-off: about a second in all, well inside Slack's 3 seconds for a click.
#: A master demoted by a failover answers READONLY: retried on a new connection, to the new master.
RETRY = Retry(ExponentialBackoff(cap=0.4, base=0.05), retries=4)
RETRY_ON = [redis.ConnectionError, redis.TimeoutError, BusyLoadingError, ReadOnlyError]


#: No CLIENT SETINFO on connecting (`driver_info=None`): a forking RQ worker opens a new connection
#: in every work horse, so once per job, and redis-py's default sends two more round trips after
#: HELLO (refused by Redis before 7.2 anyway), having first read its own package metadata from disk
#: (~3 ms). CLIENT LIST then shows no library name. (HELLO stays: without it, RESP2 over TLS left
#: replies unread in pooled connections: "Connection has data", in redis-py 8.1.)
QUIET_HANDSHAKE: dict[str, Any] = {"driver_info": None}


def tls_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if settings.redis_ca_certs is not None:
        options["ssl_ca_certs"] = str(settings.redis_ca_certs)
    if settings.redis_tls_verify == "none":
        options.update(ssl_cert_reqs="none", ssl_check_hostname=False)
    return options


class SentinelMasterConnection(redis.Connection):
    """A connection to whichever server the Sentinels name as the service's master, asked at every
    connect. Its settings are plain data, so RQ can rebuild it in the processes it forks."""

    def __init__(self, *, sentinels: list[tuple[str, int]], service_name: str,
                 sentinel_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.sentinels, self.service_name, self.sentinel_kwargs = sentinels, service_name, sentinel_kwargs or {}
        super().__init__(**kwargs)

    def _connect(self) -> Any:
        sentinel = Sentinel(self.sentinels, sentinel_kwargs=self.sentinel_kwargs, socket_timeout=2.0)
        self.host, self.port = sentinel.discover_master(self.service_name)
        return super()._connect()


class SentinelMasterTLSConnection(SentinelMasterConnection, redis.SSLConnection):
    pass


def _sentinel_hosts(text: str) -> list[tuple[str, int]]:
    hosts = []
    for item in text.split(","):
        host, _, port = item.strip().rpartition(":")
        hosts.append((host, int(port)))
    return hosts


def _master_options(settings: Settings) -> tuple[dict[str, Any], bool]:
    """What a master the Sentinels name still takes from REDIS_URL, if set (credentials, database;
    the host is the Sentinels' to say), and whether it speaks TLS."""
    if not settings.redis_url:
        return {}, False
    options = redis.connection.parse_url(settings.redis_url)
    for name in ("host", "port", "path", "connection_class"):
        options.pop(name, None)
    tls = settings.redis_url.startswith("rediss://")
    return {**options, **(tls_options(settings) if tls else {})}, tls


def _sentinel_auth(settings: Settings) -> dict[str, Any] | None:
    secret = settings.redis_sentinel_password
    return {"password": secret.get_secret_value()} if secret else None


def _via_sentinel(settings: Settings) -> redis.Redis:
    assert settings.redis_sentinels is not None
    options, tls = _master_options(settings)
    pool = redis.ConnectionPool(
        connection_class=SentinelMasterTLSConnection if tls else SentinelMasterConnection,
        sentinels=_sentinel_hosts(settings.redis_sentinels), service_name=settings.redis_service,
        sentinel_kwargs=_sentinel_auth(settings), retry=RETRY, retry_on_error=RETRY_ON, **QUIET_HANDSHAKE, **options)
    return redis.Redis(connection_pool=pool)


def connect(url: str | None = None) -> redis.Redis:
    # Job payloads are bytes to RQ, so the connection returns bytes; Signoff decodes its own keys.
    settings = get_settings()
    if url is None and settings.redis_sentinels:
        return _via_sentinel(settings)
    url = url or redis_url(settings)
    extra = tls_options(settings) if url.startswith("rediss://") else {}
    return redis.Redis.from_url(url, retry=RETRY, retry_on_error=RETRY_ON, **QUIET_HANDSHAKE, **extra)


def connect_async(settings: Settings | None = None) -> aioredis.Redis:
    """The same Redis for asyncio code (the web process's long-polls)."""
    settings = settings or get_settings()
    if settings.redis_sentinels:
        options, tls = _master_options(settings)
        sentinel = AsyncSentinel(_sentinel_hosts(settings.redis_sentinels), socket_timeout=2.0,
                                 sentinel_kwargs=_sentinel_auth(settings))
        if tls:
            options["ssl"] = True  # the asyncio client picks its TLS connection by this flag
        return sentinel.master_for(settings.redis_service, **options)
    url = redis_url(settings)
    return aioredis.from_url(url, **(tls_options(settings) if url.startswith("rediss://") else {}))
