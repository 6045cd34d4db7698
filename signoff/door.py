"""The one door to running: every run, whoever performs it, passes here.

Redis is storage, not authority: nothing stored about an action is trusted to say that it may run.
Before anything runs, the door

1. checks the signed approval (HMAC under `SIGNOFF_DECISION_KEY`) against the action as it now
   stands: its id, type, the function that will run, agent, owner, submitter, parameters, version,
   the rule and requirement it was decided under, who decided, when, and a single-use nonce;
2. re-derives who had to say yes from this process's own policy and registry, never from stored
   fields: the rule, its quorum, its approvers, whether it lets an action run unasked, on a deadline
   (`on_expiry: run`) or under a reviewer's allowance; and counts the signed votes of distinct people
   the rule allows (a delegate's vote for an away approver only where the rule allows delegation),
   none of them the agent's owner or the submitter, nor cast for either;
3. consumes the approval once: the start of the run and the nonce's mark are one atomic step, so a
   re-queued job, a double click, or an action set back to `approved` never runs it again;
4. records the outcome: `leave` moves every run, wherever it ran, to succeeded or failed.

Steps 1-2 need the key (`refusals`, in a worker). A process that must not hold it (the MCP gate, the
Claude Code hook, an agent performing its own action) runs only on a *permit*: an Ed25519 signature
the worker issues once the action passed steps 1-2, checked with the public verify key (`enter_elsewhere`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policies.engine import decide as match_rule
from policies.rules import Policy
from policies.subject import Subject
from policies.vocabulary import RUNS_NOW, Mode
from signoff import allowances, confirmation, notify, registry, signing
from signoff.errors import SignoffError
from signoff.models import Action, AuditEvent, Status, person, utcnow
from signoff.runtime import Runtime

DEADLINE_ACTOR = "policy:deadline"  # decisions the deadline makes; they never count as a vote
ELSEWHERE_ATTEMPTS = 1  # a run outside the worker has no retries: its caller asks again


class NotPermitted(SignoffError):
    """This process may not run the action: its permit is missing, forged, or for another call."""


@dataclass(frozen=True)
class Trusted:
    """What this process's own code says of an action type, where its request says otherwise."""

    func: str | None
    owner: str | None
    category: str | None
    max_retries: int


def trusted(action: Action) -> Trusted:
    local = registry.get(action.type)
    if local is None:  # a type the agent performs itself: its own declaration is all there is
        return Trusted(func=None, owner=action.owner, category=action.category, max_retries=0)
    declared = local.action_type
    return Trusted(declared.func, declared.owner, declared.category, declared.max_retries)


@dataclass(frozen=True)
class Requirement:
    """Who had to say yes, as this process's policy says."""

    rule: str
    mode: Mode
    held_because: str | None  # the rule could not be evaluated: a person must decide
    quorum: int
    users: frozenset[str]
    groups: frozenset[str]
    on_expiry: str
    allowances: bool
    confirm: str | None = None  # "typed": each counted vote must carry the typed confirmation
    delegation: bool = True  # a vote cast for an away approver by their delegate may count

    @property
    def names_approvers(self) -> bool:
        return bool(self.users or self.groups)

    def allows(self, vote: dict[str, str]) -> bool:
        """Whether this vote's person is one the rule lets decide. A group member is vouched for by the
        keyed process that signed the vote, which asked Slack; the group must still be the rule's. So is a
        delegate, by the signed away record it read: the one they stand in for must be one the rule names,
        and the rule must allow delegation."""
        stands_for = vote.get("for")
        if stands_for:
            return self.delegation and stands_for in self.users
        if not self.names_approvers:
            return True
        via = vote.get("via", "")
        return vote.get("by") in self.users or (via.startswith("group:") and via[6:] in self.groups)


def requirement(policy: Policy, subject: Subject) -> Requirement:
    verdict = match_rule(policy, subject)
    rule = verdict.rule
    users = set(rule.approvers.users if rule.approvers else [])
    groups = set(rule.approvers.groups if rule.approvers else [])
    for level in rule.escalation or []:  # anyone the chain may reach
        users |= set(level.approvers.users if level.approvers else [])
        groups |= set(level.approvers.groups if level.approvers else [])
        if level.oncall:
            users.add(policy.oncall[level.oncall])
    return Requirement(rule=rule.name, mode=rule.mode, held_because=verdict.hold_because, quorum=rule.approvals,
                       users=frozenset(users), groups=frozenset(groups),
                       on_expiry=rule.on_expiry or policy.defaults.on_expiry,
                       allowances=rule.allows_allowances and not policy.approve_everything, confirm=rule.confirm,
                       delegation=rule.delegation)


def required(rt: Runtime, action: Action) -> Requirement:
    """The requirement for `action` from this process's policy, judged on what its own code declares."""
    category = trusted(action).category
    return requirement(rt.policy, Subject(type=action.type, category=category, agent=action.agent,
                                          params=action.params, id=action.id))


# What is signed ------------------------------------------------------------------------------------

def _digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def identity(action: Action) -> dict[str, Any]:
    """Everything that decides what runs and who may not say yes to it."""
    return {"id": action.id, "type": action.type, "func": action.func, "agent": action.agent,
            "owner": person(action.owner), "submitted_by": person(action.submitted_by),
            "params": _digest(action.params), "version": action.version}


def _moment(at: datetime | None) -> str:
    return f"{at.timestamp():.6f}" if at is not None else ""


def _approval_fields(action: Action) -> dict[str, Any]:
    waiting = action.waiting
    return {**identity(action), "verdict": signing.APPROVED, "by": action.decided_by,
            "at": _moment(action.decided_at), "nonce": action.nonce, "rule": action.rule,
            # The requirement as the decider saw it; the door still derives its own.
            "quorum": waiting.quorum if waiting else 1, "on_expiry": waiting.on_expiry if waiting else "",
            "deadline": _moment(waiting.deadline_at if waiting else None),
            "allowance": (action.allowance or {}).get("id", ""),
            "votes": sorted(v.get("sig", "") for v in action.votes),
            # The effect the reviewer saw: the run checks it is still the effect (signoff.previews).
            "preview": (action.preview or {}).get("digest", "")}


def _vote_fields(action: Action, by: str, via: str, typed: str = "", stands_for: str = "") -> dict[str, Any]:
    # `for` only where a delegate voted: votes signed before delegation existed still verify.
    return {**identity(action), "vote": by, "via": via, "typed": typed, **({"for": stands_for} if stands_for else {})}


def _permit_fields(action: Action) -> dict[str, Any]:
    # Who said yes is bound too: a hook answers a person's yes differently from the policy's.
    return {**identity(action), "nonce": action.nonce, "by": action.decided_by or "", "outright": action.outright}


def vote(rt: Runtime, action: Action, by: str, via: str | None = None, typed: str | None = None,
         stands_for: str | None = None) -> dict[str, str]:
    """One person's signed yes to `action` as it stands (its version and parameters). `stands_for`: the
    away approver this person is the delegate of, as the caller read it from a signed away record."""
    who = person(by) or by
    stands_for = person(stands_for) or ""
    cast_vote = {"by": who, "at": utcnow().isoformat(), "sig": signing.sign(
        rt.require_decision_key(), _vote_fields(action, who, via or "", typed or "", stands_for))}
    if via:
        cast_vote["via"] = via
    if typed:
        cast_vote["typed"] = typed  # what they typed, signed with their yes: the door checks it again
    if stands_for:
        cast_vote["for"] = stands_for
    return cast_vote


def vote_verifies(rt: Runtime, action: Action, cast_vote: dict[str, str]) -> bool:
    return signing.verifies(rt.require_decision_key(), cast_vote.get("sig"),
                            _vote_fields(action, cast_vote.get("by", ""), cast_vote.get("via", ""),
                                         cast_vote.get("typed", ""), cast_vote.get("for", "")))


def verified_people(rt: Runtime, action: Action) -> set[str]:
    """The distinct people whose votes on this version verify."""
    return {v["by"] for v in action.votes if vote_verifies(rt, action, v)}


def approval(rt: Runtime, action: Action, by: str, *, votes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The fields that make `action` approved by `by` (a person, `policy:<rule>`, the deadline), signed,
    with a fresh nonce; `action` carries the rest (its routing, its allowance)."""
    key = rt.require_decision_key()
    changes: dict[str, Any] = {"decided_by": by, "decided_at": utcnow(), "nonce": secrets.token_hex(12),
                               "votes": votes if votes is not None else action.votes, "permit": None}
    approved = action.model_copy(update=changes)
    changes["signature"] = signing.sign(key, _approval_fields(approved))
    return changes


def rejection_signature(rt: Runtime, action: Action, by: str) -> str:
    return signing.sign(rt.require_decision_key(), {**identity(action), "verdict": "rejected", "by": by})


def permit(rt: Runtime, action: Action) -> str:
    """The permit for an action that passed the door here, to be run by a process without the key."""
    return signing.sign_permit(rt.require_decision_key(), _permit_fields(action))


# The checks ---------------------------------------------------------------------------------------

def refusals(rt: Runtime, action: Action, now: datetime | None = None) -> list[str]:
    """Why `action` may not run, as this keyed process sees it; [] when it may."""
    key = rt.require_decision_key()
    if action.status not in (Status.APPROVED, Status.RUNNING):
        return [f"it is {action.status}, not approved"]
    if not action.nonce or not signing.verifies(key, action.signature, _approval_fields(action)):
        return ["its approval's signature does not verify for the action as it now stands"]
    mine = trusted(action)
    if action.func != mine.func or person(action.owner) != person(mine.owner):
        return ["its function or owner differs from what this worker's own code declares"]
    need = required(rt, action)
    if action.rule != need.rule:
        return [f"the policy here applies rule {need.rule}, not {action.rule}, under which it was approved"]
    by = action.decided_by or ""
    if by == DEADLINE_ACTOR:
        waiting = action.waiting
        if need.on_expiry != "run":
            return [f"rule {need.rule} does not run an action nobody decided (its on_expiry is {need.on_expiry})"]
        if waiting is None or action.decided_at is None or waiting.deadline_at > action.decided_at:
            return ["it was run by its deadline before the deadline came"]
        return []
    if action.allowance:
        return _allowance_refusals(rt, action, need)
    if by.startswith("policy:"):
        if by != f"policy:{need.rule}" or need.held_because or need.mode not in RUNS_NOW:
            return [f"rule {need.rule} does not let it run without a person's approval"]
        return []
    owner, submitter = person(mine.owner), person(action.submitted_by)
    # People, not roles: a delegate who also votes as themselves is one person. Nobody stands in for the
    # agent's owner or the submitter either.
    counted = {v["by"] for v in action.votes if vote_verifies(rt, action, v) and need.allows(v)
               and (not v.get("for") or v["for"] not in (owner, submitter))
               and (need.confirm != "typed" or confirmation.matches(action, v.get("typed")))} - {owner, submitter}
    if len(counted) < need.quorum:
        return [f"rule {need.rule} needs {need.quorum} approval(s) from people it allows; {len(counted)} verify"]
    return []


def _allowance_refusals(rt: Runtime, action: Action, need: Requirement) -> list[str]:
    found = allowances.verified(rt, (action.allowance or {}).get("id", ""))
    subject = Subject(type=action.type, category=trusted(action).category, agent=action.agent, params=action.params)
    if not need.allowances or need.mode in RUNS_NOW:
        return [f"rule {need.rule} may not be relaxed by an allowance"]
    if found is None or action.decided_at is None or not found.matches(subject, need.rule, action.decided_at):
        return ["the allowance it ran under is not a valid, signed allowance that covers it"]
    return []


def admitted(rt: Runtime, action: Action) -> Action:
    """Raises NotPermitted with the reasons unless `action` may run here."""
    problems = refusals(rt, action)
    if problems:
        raise NotPermitted("; ".join(problems))
    return action


def hold(rt: Runtime, action: Action, why: str) -> Action:
    """An approval the door refused: back in front of a person, with the reason on its message."""
    text = f"an approval was refused before it ran ({why}); a person must decide"
    held = rt.store.transition(
        action.id, Status.PENDING_APPROVAL, allowed_from={Status.APPROVED},
        changes={"decided_by": None, "decided_at": None, "decided_for": None, "signature": None, "nonce": None,
                 "permit": None,
                 "votes": [], "version": action.version + 1, "risk": [*action.risk, text]},
        event=AuditEvent(action_id=action.id, step="approval_refused", actor="signoff:door", type=action.type,
                         note=text),
    )
    (notify.decided if held.slack.get("ts") else notify.pending)(rt, held)
    return held


# Through the door ---------------------------------------------------------------------------------

def started(action: Action, runner: str) -> AuditEvent:
    return AuditEvent(action_id=action.id, step="started", actor=runner, type=action.type, params_after=action.params)


def attempts_allowed(action: Action) -> int:
    """How many starts one approval allows here: one, and the retries this process's code declares."""
    return 1 + trusted(action).max_retries


def enter(rt: Runtime, action: Action, runner: str) -> Action:
    """approved -> running for a run in this keyed process, consuming the approval once (ApprovalUsed if
    it was used); the caller has checked `refusals`."""
    return rt.store.transition(action.id, Status.RUNNING, allowed_from={Status.APPROVED},
                               changes={"attempts": action.attempts + 1}, current=action, event=started(action, runner),
                               consume=(action.nonce or "", "start", attempts_allowed(action)))


def permit_verifies(rt: Runtime, action: Action) -> bool:
    return signing.permit_verifies(rt.require_verify_key(), action.permit, _permit_fields(action))


def enter_elsewhere(rt: Runtime, action: Action, runner: str, *, call_type: str, call_agent: str,
                    call_params: dict[str, Any] | None = None) -> Action:
    """approved -> running for a run in a process without the key (gate, hook, agent): only on a permit
    that verifies with the verify key and names this very call. Raises NotPermitted or ApprovalUsed."""
    if action.status != Status.APPROVED:
        raise NotPermitted(f"action {action.id} is {action.status}, not approved")
    if (action.type, action.agent) != (call_type, call_agent):
        raise NotPermitted(f"action {action.id} was approved as {action.type} for {action.agent}, not as "
                           f"{call_type} for {call_agent}")
    if call_params is not None and call_params != action.params:
        raise NotPermitted(f"action {action.id} was approved with other parameters than this call's")
    if not permit_verifies(rt, action):
        raise NotPermitted(f"action {action.id} has no permit that verifies: Signoff's workers did not let it run")
    return rt.store.transition(action.id, Status.RUNNING, allowed_from={Status.APPROVED}, current=action,
                               changes={"attempts": action.attempts + 1}, event=started(action, runner),
                               consume=(action.nonce or "", "start", ELSEWHERE_ATTEMPTS))


def leave(rt: Runtime, action: Action, *, result: Any = None, error: str | None = None, by: str = "worker",
          retrying: bool = False, tell: bool = True) -> Action:
    """running -> succeeded | failed (or back to approved for a retry): the outcome, wherever it ran, in the
    audit log and (`tell`) on its Slack message; the worker's own runs tell Slack themselves."""
    if retrying:
        return rt.store.transition(
            action.id, Status.APPROVED, allowed_from={Status.RUNNING}, changes={"error": error},
            event=AuditEvent(action_id=action.id, step="retrying", actor=by, error=error),
            consume=(action.nonce or "", "failed", 0))
    to, step = (Status.FAILED, "failed") if error is not None else (Status.SUCCEEDED, "succeeded")
    shown = jsonable(result)
    done = rt.store.transition(
        # An attempt that succeeded clears the error an earlier, killed attempt left.
        action.id, to, allowed_from={Status.RUNNING}, changes={"result": shown, "error": error},
        event=AuditEvent(action_id=action.id, step=step, actor=by, result=shown, error=error),
        consume=(action.nonce or "", "failed" if error is not None else "done", 0))
    if tell:
        notify.finished(rt, done, elsewhere=True)
    return done


def jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
