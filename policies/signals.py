"""What makes an action unusual, kept as rolling statistics in Redis.

- amounts: the last 100 amounts per agent, type and parameter; unusual above factor x median;
- recipients: the set each agent has already reached, per parameter;
- bursts: each agent's actions in the last window, counted per slice; over the limit the agent is paused.
Statistics grow only from actions that ran, so a rejected action never makes its kind look normal.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any, cast

import redis

from policies.rules import Runaway, Unusual
from policies.subject import Subject

HISTORY = 100
PAUSED_KEY = "signoff:paused"


def _amounts_key(agent: str, action_type: str, param: str) -> str:
    return f"signoff:stats:amounts:{agent}:{action_type}:{param}"


def _seen_key(agent: str, param: str) -> str:
    return f"signoff:stats:seen:{agent}:{param}"


def _recipients(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).strip().lower() for v in values if v not in (None, "")]


# An agent's actions per slice of the window (a sixtieth of it): memory stays the same whatever the
# rate, where a set of every action id in the window grew with it. The count covers the last window
# to within one slice. One script call per action.
_BURST = """
local now, width, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local opened = redis.call('HINCRBY', KEYS[1], string.format('%d', math.floor(now / width)), 1) == 1
local oldest = math.floor((now - window) / width)
local total = 0
local slices = redis.call('HGETALL', KEYS[1])
for i = 1, #slices, 2 do
  if tonumber(slices[i]) <= oldest then redis.call('HDEL', KEYS[1], slices[i])
  else total = total + tonumber(slices[i + 1]) end
end
-- A window after its newest slice opened, the whole count is stale: the expiry moves once a slice.
if opened then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return {total, redis.call('HGET', KEYS[2], ARGV[5])}
"""
SLICES = 60


class Signals:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self._burst = connection.register_script(_BURST)

    # Runaway agents -------------------------------------------------------------------------
    def count_burst(self, agent: str, runaway: Runaway, now: float | None = None) -> tuple[int, str | None]:
        """Counts an action in the agent's window; returns the count and why the agent is paused, if it is."""
        now = time.time() if now is None else now
        count, paused = self._burst(keys=[f"signoff:rate:{agent}", PAUSED_KEY],
                                    args=[repr(now), repr(runaway.window / SLICES), repr(runaway.window),
                                          int(runaway.window) + 1, agent])
        return int(count), json.loads(paused)["why"] if paused else None

    def pause(self, agent: str, why: str) -> None:
        self.connection.hsetnx(PAUSED_KEY, agent, json.dumps({"why": why, "at": time.time()}))

    def resume(self, agent: str) -> bool:
        return bool(self.connection.hdel(PAUSED_KEY, agent))

    def paused_agents(self) -> dict[str, str]:
        paused = cast(dict[bytes, bytes], self.connection.hgetall(PAUSED_KEY))
        return {k.decode(): json.loads(v)["why"] for k, v in paused.items()}

    # Unusual parameters ----------------------------------------------------------------------
    def unusual(self, action: Subject, checks: Unusual) -> tuple[list[str], dict[str, Any]]:
        """Risk signals for the action, and the observations to record once it has run."""
        risks: list[str] = []
        observations: dict[str, Any] = {}
        amount_value = action.params.get(checks.amount.param) if checks.amount else None
        if checks.amount and isinstance(amount_value, int | float) and not isinstance(amount_value, bool):
            param = checks.amount.param
            amount = float(action.params[param])
            history = [float(v) for v in self.connection.lrange(_amounts_key(action.agent, action.type, param),
                                                                0, -1)]
            if len(history) >= checks.amount.min_history:
                usual = statistics.median(history)
                if usual > 0 and amount > checks.amount.factor * usual:
                    risks.append(f"{param} {amount:g} is {amount / usual:.1f}x this agent's usual {usual:g}")
            observations["amount"] = [param, amount]
        if checks.new_recipient and checks.new_recipient.param in action.params:
            param = checks.new_recipient.param
            recipients = _recipients(action.params[param])
            if recipients:
                seen = self.connection.smismember(_seen_key(action.agent, param), recipients)
                new = [r for r, known in zip(recipients, seen, strict=True) if not known]
                if new:
                    risks.append(f"never sent to before: {', '.join(new)}")
                observations["recipients"] = [param, recipients]
        return risks, observations

    def record(self, action: Subject, observations: dict[str, Any]) -> None:
        with self.connection.pipeline() as pipe:
            if "amount" in observations:
                param, amount = observations["amount"]
                key = _amounts_key(action.agent, action.type, param)
                pipe.lpush(key, amount)
                pipe.ltrim(key, 0, HISTORY - 1)
            if "recipients" in observations:
                param, recipients = observations["recipients"]
                pipe.sadd(_seen_key(action.agent, param), *recipients)
            pipe.execute()
