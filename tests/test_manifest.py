"""manifest.yml is a complete app manifest: valid against Slack's published schema, matching the bot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from bot.web import EVENTS_PATH
from tests.conftest import ROOT

# The team's shared copy when it is beside the checkout (as in CI), else the copy kept with the tests.
SHARED = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"
SCHEMA = SHARED if SHARED.exists() else ROOT / "tests" / "data" / "manifest.schema.1.0.0.json"


def _manifest() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "manifest.yml").read_text())  # type: ignore[no-any-return]


def test_manifest_is_valid_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(_manifest()))
    assert errors == [], [e.message for e in errors]


def test_manifest_points_slack_at_the_bots_endpoints_and_command() -> None:
    manifest = _manifest()
    assert manifest["settings"]["interactivity"]["request_url"].endswith(EVENTS_PATH)
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/signoff" and command["url"].endswith(EVENTS_PATH)
    assert manifest["settings"]["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    needed = {"chat:write", "commands", "im:write", "channels:read", "groups:read", "usergroups:read"}
    assert needed <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_procfile_runs_web_worker_and_scheduler_and_never_the_sandbox() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert procfile == {"web": "signoff bot --http --port ${PORT:-3000}", "worker": "signoff worker",
                        "scheduler": "signoff scheduler"}


def test_socket_mode_without_an_app_token_says_what_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s"}
    env.pop("SLACK_APP_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "signoff_app.cli", "bot", "--socket"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("error: SLACK_APP_TOKEN is not set: Socket Mode needs an app-level "
                                          "token (xapp-…) with the connections:write scope")
