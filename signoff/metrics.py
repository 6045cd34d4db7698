"""Operators' figures in Prometheus's format, read from Redis when scraped: one round trip, whatever
the history holds. The counters are kept by the store's own transition script (see signoff.store),
so every process (web, workers, their work horses) adds to the same ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from signoff.keys import METRICS_KEY
from signoff.models import Status
from signoff.store import DECISION_BUCKETS, TIMERS, UNPOSTED, status_index

OVERDUE_AFTER = 60.0  # a timer due this long ago and still there: nothing is firing them


def count(connection: redis.Redis, name: str, by: int = 1) -> None:
    connection.hincrby(METRICS_KEY, name, by)


class SignoffCollector(Collector):
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def collect(self) -> Iterator[Metric]:
        now = time.time()
        pipe = self.connection.pipeline(transaction=False)
        pipe.hgetall(METRICS_KEY)
        for status in Status:
            pipe.zcard(status_index(status))
        pipe.zrange(status_index(Status.PENDING_APPROVAL), 0, 0, withscores=True)
        pipe.zcount(TIMERS, "-inf", now - OVERDUE_AFTER)
        pipe.zcard(UNPOSTED)
        replies: list[Any] = pipe.execute()
        counts = {k.decode(): float(v) for k, v in cast(dict[bytes, bytes], replies[0]).items()}
        by_status = dict(zip(list(Status), replies[1:1 + len(Status)], strict=True))
        oldest, overdue, unposted = replies[1 + len(Status):]

        actions = GaugeMetricFamily("signoff_actions", "Actions in each status now", labels=["status"])
        for status, n in by_status.items():
            actions.add_metric([str(status)], n)
        yield actions
        waiting = GaugeMetricFamily("signoff_waiting_actions", "Actions waiting for a person, by rule",
                                    labels=["rule"])
        for name, n in sorted(counts.items()):
            if name.startswith("waiting:"):
                waiting.add_metric([name.removeprefix("waiting:")], max(n, 0.0))
        yield waiting
        yield GaugeMetricFamily("signoff_oldest_waiting_seconds", "How long the oldest waiting action has waited",
                                value=now - oldest[0][1] if oldest else 0.0)
        yield GaugeMetricFamily("signoff_overdue_timers", "Deadlines, reminders and escalations due over "
                                f"{OVERDUE_AFTER:g} s ago and not fired: is `signoff scheduler` running?",
                                value=float(overdue))
        yield GaugeMetricFamily("signoff_waiting_not_in_slack", "Waiting actions whose request has not reached "
                                "Slack yet", value=float(unposted))
        entered = CounterMetricFamily("signoff_transitions", "Actions entering each status (requested, approved, "
                                      "rejected, expired, succeeded, failed...)", labels=["status"])
        for name, n in sorted(counts.items()):
            if name.startswith("to:"):
                entered.add_metric([name.removeprefix("to:")], n)
        yield entered
        failures = CounterMetricFamily("signoff_slack_call_failures", "Slack calls that failed (each is retried)",
                                       labels=["call"])
        for name, n in sorted(counts.items()):
            if name.startswith("slack_failed:"):
                failures.add_metric([name.removeprefix("slack_failed:")], n)
        yield failures
        buckets, seen = [], 0.0
        for le in [*map(str, DECISION_BUCKETS), "+Inf"]:  # the script counts each in its own: cumulated here
            seen += counts.get(f"decided_in:{le}", 0.0)
            buckets.append((le, seen))
        yield HistogramMetricFamily("signoff_decision_seconds", "Seconds from request to a person's decision",
                                    buckets=buckets, sum_value=counts.get("decided_sum", 0.0))
