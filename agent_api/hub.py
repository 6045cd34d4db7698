"""Long-polls that hold no thread: one Redis pattern subscription per web process wakes every waiter.

Each waiter is an asyncio future keyed by action id; a transition published by the store sets the
futures of that action. A thousand agents waiting cost a thousand futures, not a thousand threads
or Redis connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator

import redis.asyncio as aioredis

from signoff.logging import log
from signoff.store import TRANSITIONS_PATTERN, transitions_channel

_CHANNEL_PREFIX = transitions_channel("")


class TransitionHub:
    def __init__(self, connect: Callable[[], aioredis.Redis]) -> None:
        self.connect = connect
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        wait = 0.5
        while True:
            try:
                connection = self.connect()
                async with connection.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.psubscribe(TRANSITIONS_PATTERN)
                    self._ready.set()
                    wait = 0.5
                    async for message in pubsub.listen():
                        self._wake(message["channel"].decode().removeprefix(_CHANNEL_PREFIX))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away, or anything else: never stop listening
                self._ready.set()  # waiters fall back to their own timeout while Redis is away
                self._wake_all()  # ...and re-read the state once it is back
                log.warning("hub_reconnecting", error=f"{type(exc).__name__}: {exc}", retry_in=wait)
                await asyncio.sleep(wait)  # an outage: nothing to wait on but time
                wait = min(wait * 2, 5.0)  # back within seconds once Redis is

    def _wake(self, action_id: str) -> None:
        for event in self._waiters.get(action_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    @contextlib.contextmanager
    def watching(self, action_id: str) -> Iterator[asyncio.Event]:
        """An event set at the action's next transition; subscribe before reading, so none slips by."""
        event = asyncio.Event()
        self._waiters[action_id].add(event)
        try:
            yield event
        finally:
            self._waiters[action_id].discard(event)
            if not self._waiters[action_id]:
                del self._waiters[action_id]
