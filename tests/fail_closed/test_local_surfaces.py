"""What runs on a developer's machine: the embedded Redis's files, its socket, the sandbox page, logs."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from signoff.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from tests.conftest import ROOT


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_redis_keeps_its_data_to_its_owner(tmp_path) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    try:
        server.ensure_running()
        assert _mode(tmp_path / "data") == 0o700
        files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
        assert files and all(_mode(p) & 0o077 == 0 for p in files), {p.name: oct(_mode(p)) for p in files}
    finally:
        server.stop()


@pytest.mark.xdist_group("per-user-socket-dir")  # it opens up the directory the deep-socket test uses
@pytest.mark.skipif(os.getuid() != 0, reason="needs root to create a file owned by another user")
def test_a_socket_someone_else_created_is_never_used(tmp_path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = EmbeddedRedis(deep)
    squatted = server.socket_path  # the short path in the private per-user directory
    with socket.socket(socket.AF_UNIX) as squatter:
        squatter.bind(str(squatted))
        os.chown(squatted, 65534, 65534)  # as if "nobody" got there first
        with pytest.raises(EmbeddedRedisError, match="belongs to user 65534"):
            server.ensure_running()
    squatted.unlink()
    shared = Path(tempfile.gettempdir()) / f"signoff-{os.getuid()}"
    shared.chmod(0o777)  # a private directory someone opened up is refused too
    try:
        with pytest.raises(EmbeddedRedisError, match="not a private directory"):
            EmbeddedRedis(deep).socket_path  # noqa: B018
    finally:
        shared.chmod(0o700)


def _post(url: str, body: dict, headers: dict[str, str]) -> int:  # type: ignore[type-arg]
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_only_the_sandbox_page_itself_can_click(sandbox) -> None:
    page = urllib.request.urlopen(sandbox.url, timeout=10).read().decode()
    assert sandbox.page_token in page
    click = {"channel": "C0APPROVALS", "ts": "1.1", "action_id": "signoff_approve", "user": "U0ALICE"}
    assert _post(sandbox.url + "ui/click", click, {}) == 403  # another site's form or fetch has no token
    assert _post(sandbox.url + "ui/click", click, {"X-Sandbox-Token": sandbox.page_token,
                                                    "Origin": "https://evil.example"}) == 403
    assert _post(sandbox.url + "ui/click", click, {"X-Sandbox-Token": sandbox.page_token,
                                                    "Origin": sandbox.url.rstrip("/")}) == 404  # allowed; no message


def test_credentials_inside_messages_are_masked_in_logs() -> None:
    secrets = ["sk_live_51HxYzAbCdEfGh", "rk_test_abcdef123456", "ghp_" + "a" * 36, "AKIAIOSFODNN7EXAMPLE",
               "sk-ant-api03-" + "b" * 30, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_nature", "xoxb-123-456-abc"]
    code = ("from signoff.logging import configure_logging, log; configure_logging('json', 'info'); "
            f"log.error('run_failed', error='Stripe said: invalid key ' + {secrets!r}[0], others={secrets!r}, "
            "url='redis://:hunter2pass@db:6379/0', note='Authorization: Bearer abcdefghijklmnop')")
    line = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60).stderr
    for secret in [*secrets, "hunter2pass", "abcdefghijklmnop"]:
        assert secret not in line, secret
    assert "sk_live_***" in line and "redis://:***@db" in line


def test_the_cli_says_in_one_line_that_redis_is_down() -> None:
    env = {**os.environ, "REDIS_URL": "redis://:pw@127.0.0.1:1/0"}
    done = subprocess.run([sys.executable, "-m", "signoff_app.cli", "list"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: cannot reach Redis (redis://***@127.0.0.1:1/0)") and "pw" not in done.stderr
