"""A preview of an action's effect, bound to what runs (`@signoff.action(..., preview=func)`).

The worker runs the preview before the request is posted, with the same parameters: a function with
no side effects that returns what would change (a diff of a record, the rendered email, the rows a
delete would remove). The reviewer sees it; the approval signs its digest (see signoff.door); just
before the run the worker runs it again, and a different result means the world changed since the
yes: the action goes back to waiting with "the effect changed since you approved it" and the new
preview. A preview that fails or takes longer than `TIMEOUT` is shown as such; the action still waits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

TIMEOUT = 5.0  # seconds a preview may take
SHOWN_CHARS = 20_000  # of a preview kept on the action (the message shows less, `signoff show` the rest)


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """An alarm in the worker's (or its work horse's) main thread; elsewhere no limit can be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(_signum: int, _frame: Any) -> None:
        raise _TooSlow()

    # RQ's own job timeout is an alarm in the same process: it is kept, and set again for what is left.
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, remaining) if remaining else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - started), 0.001), interval)


def _text(result: Any) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(result, indent=2, sort_keys=True, default=str)


def run(preview: Any, kwargs: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """{"text", "digest"} of what the preview returned, or {"error", "digest"} of why it did not."""
    try:
        with _deadline(timeout):
            text = _text(preview(**kwargs))
        shown: dict[str, Any] = {"text": text[:SHOWN_CHARS]}
        if len(text) > SHOWN_CHARS:
            shown["cut"] = len(text) - SHOWN_CHARS
        whole = text
    except _TooSlow:
        whole = f"the preview took longer than {timeout:g} s"
        shown = {"error": whole}
    except Exception as failed:  # any failure is shown, not raised: the action still waits for a person
        whole = f"the preview failed: {type(failed).__name__}: {failed}"
        shown = {"error": whole[:2000]}
    return {**shown, "digest": hashlib.sha256(whole.encode()).hexdigest()}
