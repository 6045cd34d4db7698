"""Many signed requests to the bot at the same moment, each on its own connection, counted honestly.

Plain asyncio streams: one coroutine a connection, all opened together, so the server's listen
queue and thread pool see the burst as Slack would send it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class BurstResult:
    statuses: list[int] = field(default_factory=list)
    resets: int = 0  # connections refused, reset or closed without an answer
    seconds: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(1 for s in self.statuses if s == 200)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    def summary(self) -> dict[str, float]:
        return {"sent": len(self.statuses) + self.resets, "ok": self.ok, "resets": self.resets,
                "ack_p50_ms": round(self.percentile(0.5), 1), "ack_p99_ms": round(self.percentile(0.99), 1),
                "ack_mean_ms": round(statistics.fmean(self.seconds) * 1000, 1) if self.seconds else float("nan")}


async def _one(host: str, port: int, path: str, body: str, headers: dict[str, str], start: asyncio.Event,
               result: BurstResult) -> None:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body.encode())}",
             "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    await start.wait()
    began = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(("\r\n".join(lines) + "\r\n\r\n" + body).encode())
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()
        writer.close()
    except (ConnectionError, OSError):
        result.resets += 1
        return
    if not status_line:
        result.resets += 1
        return
    result.statuses.append(int(status_line.split()[1]))
    result.seconds.append(time.perf_counter() - began)


async def _burst(host: str, port: int, path: str, requests: list[tuple[str, dict[str, str]]]) -> BurstResult:
    result, start = BurstResult(), asyncio.Event()
    tasks = [asyncio.create_task(_one(host, port, path, body, headers, start, result)) for body, headers in requests]
    await asyncio.sleep(0)  # every task is waiting at the start line
    start.set()
    await asyncio.gather(*tasks)
    return result


def burst(port: int, requests: list[tuple[str, dict[str, str]]], path: str = "/slack/events",
          host: str = "127.0.0.1") -> BurstResult:
    return asyncio.run(_burst(host, port, path, requests))
