"""The trivial work both paths run: the same function, plain and as a Signoff action."""

from __future__ import annotations

from signoff import Signoff

signoff = Signoff()


def add(a: int, b: int) -> int:
    return a + b


@signoff.action("bench_add", category="internal")
def bench_add(a: int, b: int) -> int:
    return add(a, b)
