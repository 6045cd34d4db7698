"""Signed decisions: a worker runs an approved action only if its approval carries a valid HMAC.

The key (`SIGNOFF_DECISION_KEY`) is held by the bot, the workers and operators' CLI, never by agents,
so a process that can only write to Redis cannot forge an approval that runs. On embedded defaults
(no REDIS_URL) Signoff keeps a key of its own in the data directory, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from signoff.config import Settings
from signoff.errors import SignoffError

KEY_FILE = "decision.key"
APPROVED = "approved"


class MissingDecisionKey(SignoffError):
    def __init__(self) -> None:
        super().__init__("SIGNOFF_DECISION_KEY is not set: decisions are signed with it, so this process cannot "
                         "decide or run actions. Give the bot, the workers and operators the same secret "
                         "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`); never give it to agents")


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting at once, one writes the key and both read the same one.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def decision_key(settings: Settings) -> bytes | None:
    """The key from the environment; on embedded defaults, the data directory's own; else None."""
    if settings.decision_key is not None:
        return settings.decision_key.get_secret_value().encode()
    if settings.embedded_redis:
        return _key_file(settings.data_dir / KEY_FILE)
    return None


def _payload(action_id: str, version: int, params: dict[str, Any], verdict: str, by: str) -> bytes:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return "\n".join([action_id, str(version), hashlib.sha256(canonical.encode()).hexdigest(), verdict, by]).encode()


def sign(key: bytes, action_id: str, version: int, params: dict[str, Any], verdict: str, by: str) -> str:
    return hmac.new(key, _payload(action_id, version, params, verdict, by), hashlib.sha256).hexdigest()


def verifies(key: bytes, signature: str | None, action_id: str, version: int, params: dict[str, Any],
             verdict: str, by: str | None) -> bool:
    if not signature or not by:
        return False
    return hmac.compare_digest(signature, sign(key, action_id, version, params, verdict, by))
