"""Signatures: decisions are HMACs under `SIGNOFF_DECISION_KEY`; run permits are Ed25519 signatures.

The key is held by the bot, the workers and operators' CLI, never by agents, so a process that can
only write to Redis cannot forge a decision that runs. On embedded defaults (no REDIS_URL) Signoff
keeps a key of its own in the data directory, readable by its owner only.

Processes that run what people approved but must not hold the key (the MCP gate, the Claude Code
hook, an agent performing its own action) verify a *permit* instead: an Ed25519 signature whose
private half is derived from the decision key, so only keyed processes can issue one, and whose
public half (`signoff key public`, `SIGNOFF_VERIFY_KEY`) anyone may hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signoff.config import Settings
from signoff.errors import SignoffError

KEY_FILE = "decision.key"
APPROVED = "approved"
_PERMIT_CONTEXT = b"signoff permit key v1\0"


class MissingDecisionKey(SignoffError):
    def __init__(self) -> None:
        super().__init__("SIGNOFF_DECISION_KEY is not set: decisions are signed with it, so this process cannot "
                         "decide or run actions. Give the bot, the workers and operators the same secret "
                         "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`); never give it to agents")


class MissingVerifyKey(SignoffError):
    def __init__(self) -> None:
        super().__init__("SIGNOFF_VERIFY_KEY is not set: this process runs only what Signoff's workers permit, and "
                         "checks each permit with that public key. Print it where the workers run with "
                         "`signoff key public` and set SIGNOFF_VERIFY_KEY to it (it is not a secret)")


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


def canonical(fields: dict[str, Any]) -> bytes:
    """One byte string per set of fields, whatever order they were given in."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(key: bytes, fields: dict[str, Any]) -> str:
    return hmac.new(key, canonical(fields), hashlib.sha256).hexdigest()


def verifies(key: bytes, signature: str | None, fields: dict[str, Any]) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(signature, sign(key, fields))


# Permits ------------------------------------------------------------------------------------------

def _private(key: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(_PERMIT_CONTEXT + key).digest())


def public_key_text(key: bytes) -> str:
    """The verify key that goes with a decision key, as `SIGNOFF_VERIFY_KEY` takes it."""
    raw = _private(key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def verify_key(settings: Settings, key: bytes | None) -> Ed25519PublicKey | None:
    """SIGNOFF_VERIFY_KEY; else the public half of this process's decision key, if it has one."""
    text = settings.verify_key or (public_key_text(key) if key is not None else None)
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise SignoffError("SIGNOFF_VERIFY_KEY is not a Signoff verify key (print it with `signoff key public`)") \
            from None


def sign_permit(key: bytes, fields: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(_private(key).sign(canonical(fields))).decode()


def permit_verifies(public: Ed25519PublicKey, permit: str | None, fields: dict[str, Any]) -> bool:
    if not permit:
        return False
    try:
        public.verify(base64.urlsafe_b64decode(permit), canonical(fields))
    except (InvalidSignature, ValueError):
        return False
    return True
