"""Logs: JSON lines in production, and never a token or a secret."""

from __future__ import annotations

import json

import structlog

from signoff.logging import configure_logging


def test_tokens_and_secrets_never_reach_a_log_line(capsys) -> None:
    configure_logging("json", "info")
    logger = structlog.get_logger("t")
    logger.info("slack_call", token="xoxb-123-456-abcdef", signing_secret="8f14e45fceea167a",
                detail="posting with xoxb-999-888-zzz failed", nested={"authorization": "Bearer xapp-1-A-2"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "slack_call" and record["level"] == "info"
    assert record["token"] == "***" and record["signing_secret"] == "***"
    assert record["detail"] == "posting with xoxb-*** failed"
    assert record["nested"] == {"authorization": "***"}
    for secret in ("123-456", "8f14e45f", "999-888", "1-A-2"):
        assert secret not in line


def test_library_lines_share_the_format_and_the_masking(capsys) -> None:
    import logging

    configure_logging("json", "info")
    logging.getLogger("slack_sdk.web.base_client").warning("Sending a request with token xoxb-42-43-secretvalue")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record == {"event": "Sending a request with token xoxb-***", "logger": "slack_sdk.web.base_client",
                      "level": "warning", "timestamp": record["timestamp"]}
