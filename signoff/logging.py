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
    """One format for every line: Signoff's own events and those of RQ, Bolt and slack-sdk alike."""
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


log = structlog.get_logger("signoff")
