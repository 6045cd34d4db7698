"""Without REDIS_URL, Signoff starts a real redis-server itself and every process shares it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(data_dir, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["SIGNOFF_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                          check=True)


def test_processes_share_one_embedded_server_and_its_state_outlives_them(tmp_path) -> None:
    data_dir = tmp_path / "d"
    request = ("from tests.actions import update_crm; "
               "print(update_crm.request(record_id='1', field='f', value='v', agent='a', reason='r').id)")
    try:
        action_id = _run(data_dir, "-c", request).stdout.strip()
        assert (data_dir / "redis.sock").exists() and (data_dir / "appendonly.aof").exists()
        shown = json.loads(_run(data_dir, "-m", "signoff_app.cli", "--json", "show", action_id).stdout)
        assert (shown["id"], shown["status"]) == (action_id, "received")
        url = _run(data_dir, "-m", "signoff_app.cli", "redis", "url").stdout.strip()
        assert url == f"unix://{(data_dir / 'redis.sock').resolve()}"
    finally:
        _run(data_dir, "-m", "signoff_app.cli", "redis", "stop")
    assert not (data_dir / "redis.sock").exists()


@pytest.mark.xdist_group("per-user-socket-dir")
def test_a_deep_project_directory_still_gets_a_working_socket(tmp_path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    try:
        url = _run(deep, "-m", "signoff_app.cli", "redis", "url").stdout.strip()
        assert url.startswith("unix:///") and len(url) - len("unix://") <= 100
        assert (deep / "redis.pid").exists()  # the data stays in the project's directory
    finally:
        _run(deep, "-m", "signoff_app.cli", "redis", "stop")
