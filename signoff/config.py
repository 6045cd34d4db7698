"""Configuration from the environment, Slack's usual variable names first."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies.rules import Duration


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    # Production Redis: TLS verification for rediss://, or Redis Sentinel (see signoff.connection).
    redis_ca_certs: Path | None = Field(default=None, validation_alias="SIGNOFF_REDIS_CA_CERTS")
    redis_tls_verify: Literal["required", "none"] = Field(default="required",
                                                         validation_alias="SIGNOFF_REDIS_TLS_VERIFY")
    redis_sentinels: str | None = Field(default=None, validation_alias="SIGNOFF_REDIS_SENTINELS")
    redis_service: str = Field(default="mymaster", validation_alias="SIGNOFF_REDIS_SERVICE")
    redis_sentinel_password: SecretStr | None = Field(default=None, validation_alias="SIGNOFF_REDIS_SENTINEL_PASSWORD")
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    # Signoff's own settings carry a SIGNOFF_ prefix.
    policy: str = Field(default="default", validation_alias="SIGNOFF_POLICY")
    teams: str = Field(default="teams", validation_alias="SIGNOFF_TEAMS")
    data_dir: Path = Field(default=Path(".signoff"), validation_alias="SIGNOFF_DATA_DIR")
    approval_channel: str = Field(default="#approvals", validation_alias="SIGNOFF_APPROVAL_CHANNEL")
    log_format: str = Field(default="auto", validation_alias="SIGNOFF_LOG_FORMAT")  # auto | json | console
    log_level: str = Field(default="info", validation_alias="SIGNOFF_LOG_LEVEL")
    # RQ's, uvicorn's, Bolt's and slack-sdk's own lines (unset: SIGNOFF_LOG_LEVEL); the sandbox uses warning.
    library_log_level: str | None = Field(default=None, validation_alias="SIGNOFF_LIBRARY_LOG_LEVEL")
    # Signs decisions; held by the bot, the workers and operators, never by agents (see signoff.signing).
    decision_key: SecretStr | None = Field(default=None, validation_alias="SIGNOFF_DECISION_KEY")
    # Checks run permits where the decision key is not held (MCP gate, hook, agents); public, not a secret.
    verify_key: str | None = Field(default=None, validation_alias="SIGNOFF_VERIFY_KEY")
    # An agent whose Redis user is restricted (`signoff redis-acl`) submits through a request job.
    redis_role: Literal["full", "agent"] = Field(default="full", validation_alias="SIGNOFF_REDIS_ROLE")
    # `GET /metrics` on the web process: with this set, only for a scraper sending it as a bearer token.
    metrics_token: SecretStr | None = Field(default=None, validation_alias="SIGNOFF_METRICS_TOKEN")
    # Agents without Redis credentials: the HTTP API and their token (see signoff.remote).
    api_url: str | None = Field(default=None, validation_alias="SIGNOFF_API_URL")
    agent_token: SecretStr | None = Field(default=None, validation_alias="SIGNOFF_AGENT_TOKEN")
    # Modules a worker imports for the action functions it may run, comma-separated.
    actions: str = Field(default="", validation_alias="SIGNOFF_ACTIONS")
    # History older than this (e.g. 400d) moves from Redis to dated JSONL.gz files; unset keeps all.
    retention: Duration | None = Field(default=None, validation_alias="SIGNOFF_RETENTION")
    archive_dir: Path | None = Field(default=None, validation_alias="SIGNOFF_ARCHIVE_DIR")

    @property
    def archive_path(self) -> Path:
        return self.archive_dir if self.archive_dir is not None else self.data_dir / "archive"

    @property
    def embedded_redis(self) -> bool:
        """No Redis configured: the embedded server on the data directory."""
        return self.redis_url is None and self.redis_sentinels is None

    @property
    def action_modules(self) -> list[str]:
        return [name.strip() for name in self.actions.split(",") if name.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
