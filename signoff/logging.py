"""structlog set-up: JSON lines in production, readable on a terminal, secrets never printed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Slack tokens (xoxb-, xapp-, xoxp-...) and anything named like a secret are masked wherever they appear.
_TOKEN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")
_SECRET_KEYS = ("token", "secret", "password", "signature", "authorization")


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return _TOKEN.sub(r"\1-***", value)
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


def configure_logging(fmt: str = "auto", level: str = "info") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Libraries (RQ, Bolt, slack-sdk) log through the standard library; keep their lines, at the same level.
    logging.basicConfig(level=numeric_level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")


log = structlog.get_logger("signoff")
