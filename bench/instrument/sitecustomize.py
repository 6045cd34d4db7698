"""Loaded by the benchmark's child processes (PYTHONPATH): counts this process's Redis round trips.

A round trip is one write of a request to a Redis socket (a pipeline or a script call is one).
Each process, and each work horse RQ forks, writes its count to SIGNOFF_BENCH_TRIPS_DIR/<pid> as it
exits. Nothing happens without that variable.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

_DIR = os.environ.get("SIGNOFF_BENCH_TRIPS_DIR")

if _DIR:
    from redis.connection import AbstractConnection

    _count = [0]
    _send = AbstractConnection.send_packed_command

    def _counted(self: Any, command: Any, check_health: bool = True) -> None:
        _count[0] += 1
        _send(self, command, check_health)

    def _write() -> None:
        Path(_DIR, str(os.getpid())).write_text(str(_count[0]))

    def _exit(status: int, _real: Any = os._exit) -> None:  # a forked work horse leaves by os._exit
        _write()
        _real(status)

    AbstractConnection.send_packed_command = _counted  # type: ignore[method-assign]
    os.register_at_fork(after_in_child=lambda: _count.__setitem__(0, 0))
    atexit.register(_write)
    os._exit = _exit  # type: ignore[assignment]
