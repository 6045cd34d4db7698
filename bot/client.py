"""slack-sdk's WebClient as Signoff uses it: SLACK_API_URL, and HTTP 429 retried after Retry-After."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from signoff.config import Settings
from signoff.errors import SignoffError

RATE_LIMIT_RETRIES = 5


def bot_token(settings: Settings) -> str:
    if settings.slack_bot_token is None:
        raise SignoffError("SLACK_BOT_TOKEN is not set: create the app from manifest.yml and set its bot token")
    return settings.slack_bot_token.get_secret_value()


#: One try, not long: for a call whose failure is retried elsewhere (a queued job) rather than waited out.
BRIEF_TIMEOUT = 5


def web_client(settings: Settings, *, patient: bool = True) -> WebClient:
    """`patient=False`: no retry, not even after Slack's Retry-After, and a short timeout."""
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    if not patient:
        return WebClient(token=bot_token(settings), base_url=base_url, timeout=BRIEF_TIMEOUT, retry_handlers=[])
    return WebClient(
        token=bot_token(settings), base_url=base_url, timeout=10,
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )
