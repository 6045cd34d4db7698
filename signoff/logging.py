"""structlog set-up: JSON lines in production, readable on a terminal, secrets never printed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Credentials are masked wherever they appear in a line, by their shape: Slack (xoxb-, xapp-), Stripe
# (sk_live_, rk_test_, whsec_), GitHub (ghp_, github_pat_), AWS access keys, Google API keys, OpenAI and
# Anthropic keys (sk-...), JWTs, bearer tokens and passwords in URLs. Anything named like a secret, too.
_CREDENTIALS = [
    (re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+"), r"\1-***"),
    (re.compile(r"\bsot_[A-Za-z0-9_-]{8,}"), "sot_***"),  # Signoff's own agent tokens
    (re.compile(r"\b((?:sk|rk|pk)_(?:live|test)|whsec)_[A-Za-z0-9]+"), r"\1_***"),
    (re.compile(r"\b(sk-(?:ant-|proj-)?)[A-Za-z0-9_-]{16,}"), r"\1***"),
    (re.compile(r"\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"), r"\1_***"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), r"\1***"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "AIza***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "eyJ***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"(?i)\b(password|passwd|pwd|secret|api[_-]?key|token)=([^\s&;,]+)"), r"\1=***"),
    (re.compile(r"(\w+://[^:/@\s]*:)[^@\s]+@"), r"\1***@"),
]
_SECRET_KEYS = ("token", "secret", "password", "signature", "authorization", "api_key", "apikey")


def mask(text: str) -> str:
    for pattern, replacement in _CREDENTIALS:
        text = pattern.sub(replacement, text)
    return text


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _redact_pair(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def _redact_pair(key: str, value: Any) -> Any:
    if any(word in str(key).lower() for word in _SECRET_KEYS):
        return "***"
    return _mask(value)


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: _redact_pair(k, v) for k, v in event_dict.items()}


#: The libraries whose own lines SIGNOFF_LIBRARY_LOG_LEVEL sets apart from Signoff's.
LIBRARIES = ("rq", "uvicorn", "uvicorn.error", "uvicorn.access", "slack_bolt", "slack_sdk", "httpx", "mcp", "fastmcp")


def configure_logging(fmt: str = "auto", level: str = "info", libraries: str | None = None) -> None:
    """One format for every line: Signoff's own events and those of RQ, Bolt and slack-sdk alike.
    `libraries`: their own level, where it differs from Signoff's (unset: `level`)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    numeric_level = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    # Libraries log through the standard library: their records get the same processors and renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric_level)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.getLevelName(libraries.upper()) if libraries else logging.NOTSET)


log = structlog.get_logger("signoff")
