"""Configuration from the environment, Slack's usual variable names first."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
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
    # Signs decisions; held by the bot, the workers and operators, never by agents (see signoff.signing).
    decision_key: SecretStr | None = Field(default=None, validation_alias="SIGNOFF_DECISION_KEY")
    # Agents without Redis credentials: the HTTP API and their token (see signoff.remote).
    api_url: str | None = Field(default=None, validation_alias="SIGNOFF_API_URL")
    agent_token: SecretStr | None = Field(default=None, validation_alias="SIGNOFF_AGENT_TOKEN")
    # Modules a worker imports for the action functions it may run, comma-separated.
    actions: str = Field(default="", validation_alias="SIGNOFF_ACTIONS")

    @property
    def action_modules(self) -> list[str]:
        return [name.strip() for name in self.actions.split(",") if name.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
