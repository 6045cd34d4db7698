"""`signoff hook claude-code --install`: the hook in a project's Claude Code settings, set up to reach
this Signoff from wherever Claude Code runs it.

The command is written with the absolute path of this `signoff` (a bare `signoff` not on Claude Code's
PATH exits 127, which Claude Code treats as a non-blocking error: the tool would run unguarded), and
with the connection it needs in front of it: the HTTP API and its token, or this Signoff's Redis and
the verify key. It goes to `.claude/settings.local.json` (Claude Code's per-user file, not committed),
readable by its owner only, merged with what is there; an earlier Signoff hook is replaced.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from signoff.config import Settings
from signoff.connection import redis_url
from signoff.errors import SignoffError
from signoff.signing import decision_key, public_key_text

SETTINGS = Path(".claude") / "settings.local.json"
MARK = " hook claude-code"  # in every command this writes, whichever way it runs signoff


def executable() -> list[str]:
    """How to run this very `signoff`, whatever the PATH of the process that runs the hook."""
    script = Path(sys.argv[0])
    if script.name == "signoff" and script.exists():
        return [str(script.resolve())]
    found = shutil.which("signoff")
    return [str(Path(found).resolve())] if found else [sys.executable, "-m", "signoff_app.cli"]


def connection_env(settings: Settings) -> dict[str, str]:
    """What the hook needs to reach this Signoff and check its permits."""
    if settings.api_url and settings.agent_token:
        return {"SIGNOFF_API_URL": settings.api_url, "SIGNOFF_AGENT_TOKEN": settings.agent_token.get_secret_value()}
    key = decision_key(settings)
    verify = settings.verify_key or (public_key_text(key) if key else None)
    if verify is None:
        raise SignoffError("the hook checks the worker's permits with SIGNOFF_VERIFY_KEY: set it (`signoff key "
                           "public` prints it where the decision key is) and run --install again")
    return {"REDIS_URL": redis_url(settings), "SIGNOFF_VERIFY_KEY": verify}


def command(settings: Settings, timeout: float | None = None) -> str:
    env = " ".join(f"{name}={shlex.quote(value)}" for name, value in connection_env(settings).items())
    args = [*executable(), "hook", "claude-code", *(["--timeout", f"{timeout:g}"] if timeout else [])]
    return f"{env} {shlex.join(args)}"


def install(project: Path, settings: Settings, timeout: float) -> Path:
    """Writes (merges) the PreToolUse and PostToolUse hooks into the project's local settings."""
    path = project / SETTINGS
    current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    hooks = current.setdefault("hooks", {})
    wanted = {
        "PreToolUse": {"matcher": "*", "hooks": [{"type": "command", "command": command(settings, timeout),
                                                  "timeout": int(timeout) + 5}]},
        "PostToolUse": {"matcher": "*", "hooks": [{"type": "command", "command": command(settings)}]},
    }
    for event, entry in wanted.items():
        kept = [e for e in hooks.get(event, []) if not any(MARK in h.get("command", "") for h in e.get("hooks", []))]
        hooks[event] = [*kept, entry]
    path.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only: the line carries the connection (and, over the API, the agent's token).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(current, indent=2) + "\n")
    path.chmod(0o600)
    return path
