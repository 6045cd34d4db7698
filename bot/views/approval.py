"""The approval message: what, why, risk and rule, the parameters, and Approve / Edit / Reject."""

from __future__ import annotations

import re
from typing import Any

from bot.views.blocks import Block, button, confirm, context, divider, fields, header, plain_text, quote, section
from bot.views.text import (
    FALLBACK_TEXT,
    SHORT_VALUE,
    count,
    cut,
    escape,
    humanize,
    mrkdwn,
    number,
    person,
    show_value,
    standing_in,
    voter,
    when,
)
from policies.vocabulary import RUNS_NOW
from signoff.away import Absences, delegation_allowed
from signoff.models import Action, Status
from signoff.models import person as identity

APPROVE, EDIT, REJECT, SHOW_FULL = "signoff_approve", "signoff_edit", "signoff_reject", "signoff_show_full"
EXTEND, SHOW_PREVIEW = "signoff_extend", "signoff_show_preview"
ALLOW_SIMILAR = "signoff_allow_similar"
ALLOW_DAYS = (1, 7, 30)
MAX_PARAM_FIELDS = 20
MAX_SHOW_BUTTONS = 5

_TARGETS = ("to", "recipient", "recipients", "email", "customer_id", "customer", "order_id", "record_id", "path",
            "file", "filename", "url", "user", "account", "channel", "repo")
_TITLES = ("subject", "title", "name")
#: Targets that are the object the type names ("delete_file" of a path): the verb takes them directly.
_OBJECTS = ("path", "file", "filename", "url")


#: What a coding tool does, said by its input: "Bash: rm -rf build/", "Write: /src/app.py".
_TOOL_SUBJECTS = ("command", "file_path", "notebook_path", "pattern", "query", "prompt")
_CURRENCY_SUFFIX = re.compile(r"^amount_([a-z]{3})$")
HEADLINE_CHARS = 140  # a header block holds 150


def _amount(params: dict[str, Any]) -> str | None:
    """"1,200 USD" from `amount` (+ `currency`) or `amount_usd`."""
    for name, value in params.items():
        suffix = _CURRENCY_SUFFIX.match(name)
        if (name == "amount" or suffix) and isinstance(value, int | float) and not isinstance(value, bool):
            currency = suffix.group(1).upper() if suffix else params.get("currency")
            return f"{number(value)}{f' {currency}' if currency else ''}"
    return None


def summary(action: Action) -> str:
    """One line a reviewer can read on a phone: "Send email to sarah@acme.com — Q3 budget",
    "Bash: rm -rf build/", "Refund order for ord_1 of 120 USD"."""
    params = action.params
    subject = next((k for k in _TOOL_SUBJECTS if isinstance(params.get(k), str) and params[k].strip()), None)
    if subject is not None:
        return cut(f"{humanize(action.type)}: {' '.join(params[subject].split())}", HEADLINE_CHARS)
    line = humanize(action.type)
    amount = _amount(params)
    if amount:
        line += f" of {amount}"
    target = next((k for k in _TARGETS if params.get(k) not in (None, "", [])), None)
    if target:
        value = params[target]
        shown = ", ".join(map(str, value)) if isinstance(value, list) else show_value(value)
        if target in _OBJECTS:  # the thing itself: "Delete /exports/q3.csv", not "Delete file for …"
            line = f"{line.split(' ')[0]} {shown}"
        else:
            line += (" to " if target in ("to", "recipient", "recipients", "email") else " for ") + shown
    title = next((params[k] for k in _TITLES if isinstance(params.get(k), str) and params[k]), None)
    if title:
        line += f" — {title}"
    return cut(line, HEADLINE_CHARS)


def fallback_text(action: Action) -> str:
    """The notification text (and what screen readers read): plain, escaped, under Slack's limit."""
    return mrkdwn(f"{summary(action)} (requested by {action.agent}) — {action.status.replace('_', ' ')}",
                  FALLBACK_TEXT)


def _parameter_blocks(action: Action) -> list[Block]:
    items = list(action.params.items())
    texts, long_ones = [], []
    for index, (name, value) in enumerate(items[:MAX_PARAM_FIELDS]):
        shown = show_value(value)
        if len(shown) > SHORT_VALUE:
            long_ones.append((index, name))
        texts.append(f"{humanize(name)}\n{cut(shown, SHORT_VALUE) if shown else '(empty)'}")
    blocks = fields(texts, literal=True)
    if len(items) > MAX_PARAM_FIELDS:
        blocks.append(context(f"and {len(items) - MAX_PARAM_FIELDS} more parameters: "
                              f"`signoff show {action.id}`"))
    if long_ones:
        blocks.append({"type": "actions", "block_id": "signoff_full_values", "elements": [
            button(f"Full {cut(humanize(name), 60)}", f"{SHOW_FULL}_{index}", f"{action.id}:{index}")
            for index, name in long_ones[:MAX_SHOW_BUTTONS]]})
    return blocks


def mentions(approvers: dict[str, list[str]] | None, absences: Absences | None = None,
             delegation: bool = True) -> str:
    """Who to ping: the approvers, each one away replaced by their delegate (or left out): nobody away is
    pinged."""
    approvers = approvers or {}
    users = approvers.get("users", [])
    if absences is not None:
        users = absences.asked(users, delegation)
    return ", ".join([f"<@{u}>" for u in users] + [f"<!subteam^{g}>" for g in approvers.get("groups", [])])


def _away_lines(action: Action, absences: Absences | None) -> list[str]:
    """Who of the named approvers is away, who decides for them, and whether anyone may decide at all."""
    approvers = action.approvers or {}
    users = approvers.get("users", [])
    gone = [r for u in users if (r := absences.of(u)) is not None] if absences is not None else []
    if absences is None or not gone:
        return []
    allowed = delegation_allowed(action)
    quorum = action.waiting.quorum if action.waiting else 1
    lines = []
    for record in gone:
        stand_in = absences.delegate_of(record.user) if allowed else None
        then = (f"<@{stand_in}> decides for them" if stand_in
                else "rule's own approvers only: no delegate decides" if record.delegate and not allowed
                else "nobody decides for them")
        if stand_in in users and quorum > 1:  # people, not roles: one person's yes counts once
            then += f", though as an approver already their yes counts once toward the {quorum} needed"
        lines.append(f":palm_tree: <@{record.user}> is away until {when(record.until)}; {then}")
    if not absences.asked(users, allowed) and not approvers.get("groups"):
        lines.append(":no_entry: *Nobody who may decide is available*: everyone this rule names is away. "
                     f"It waits; an operator can decide it (`signoff approve {action.id}`).")
    return lines


def _waiting_lines(action: Action, absences: Absences | None = None) -> list[str]:
    waiting = action.waiting
    if waiting is None or action.status != Status.PENDING_APPROVAL:
        return []
    lines = _away_lines(action, absences)
    if waiting.quorum > 1:
        voters = ", ".join(voter(v) for v in action.votes) or "none yet"
        lines.append(f":ballot_box_with_check: Approvals: {voters} ({len(action.votes)} of {waiting.quorum} needed)")
    if waiting.chain and waiting.level > 0:
        level = waiting.chain[waiting.level]
        because = (waiting.escalated_because or f"level {waiting.level} did not answer in time").lower()
        asked = mentions({"users": level.users, "groups": level.groups}, absences, waiting.delegation)
        lines.append(f":arrow_up: Escalated to level {waiting.level + 1} of {len(waiting.chain)}: now asking "
                     f"{asked or 'nobody available'}, because {because}")
    then = {"reject": "then it is rejected", "run": "then it runs"}.get(waiting.on_expiry, "then it won't run")
    extended = f" (extended {waiting.extensions} of {waiting.max_extensions})" if waiting.extensions else ""
    lines.append(f":hourglass_flowing_sand: Expires {when(waiting.deadline_at)}{extended}; {then}")
    return lines


def can_extend(action: Action) -> bool:
    waiting = action.waiting
    return (waiting is not None and action.status == Status.PENDING_APPROVAL and bool(waiting.extend_by)
            and not waiting.chain and waiting.extensions < waiting.max_extensions)


def _extend_button(action: Action) -> dict[str, Any] | None:
    if not can_extend(action):
        return None
    assert action.waiting is not None and action.waiting.extend_by
    return button(f"Extend {action.waiting.extend_by / 3600:g}h", EXTEND, f"{action.id}:{action.version}")


def _context_blocks(action: Action, absences: Absences | None) -> list[Block]:
    blocks = []
    if action.risk:
        # A rule that would run it now held it for these reasons; under a rule that asks anyway, they are extra.
        label = "Held because" if action.mode in RUNS_NOW else "Unusual"
        blocks.append(section(f":warning: *{label}:* " + mrkdwn("; ".join(action.risk), 2900)))
    waiting = _waiting_lines(action, absences)
    if waiting:
        blocks.append(section("\n".join(waiting), accessory=_extend_button(action), block_id="signoff_waiting"))
    rule = f"Rule *{escape(action.rule or '-')}* ({action.mode or '-'})"
    blocks.append(context(rule, f"Requested {when(action.created_at)} · `{action.id}` · v{action.version}"))
    return blocks


def reject_confirm(action: Action) -> dict[str, Any]:
    """Reject asks first, wherever its button is (the message, the Home tab)."""
    return confirm("Reject this action?", mrkdwn(cut(summary(action), 250), 300), "Reject", "Keep it", danger=True)


def _decision_buttons(action: Action) -> Block:
    value = f"{action.id}:{action.version}"  # the decision binds to the version shown
    # A quorum's approvals are of the parameters as they stand: an edit would need them all again,
    # so it is not offered (reject with a note, and the agent asks again).
    quorum = action.waiting is not None and action.waiting.quorum > 1
    # A typed confirmation is the approval's own step: an edit would skip it.
    quorum = quorum or (action.waiting is not None and action.waiting.confirm == "typed")
    return {"type": "actions", "block_id": "signoff_decision", "elements": [
        button("Approve", APPROVE, value, style="primary"),
        *([] if quorum else [button("Edit", EDIT, value)]),
        button("Reject", REJECT, value, style="danger", confirm=reject_confirm(action)),
        *([allow_similar_menu(action)] if action.waiting is not None and action.waiting.allow_similar else []),
    ]}


def allow_similar_menu(action: Action) -> dict[str, Any]:
    """Beside Approve: approve this one and let similar ones run for a while (a standing allowance).
    Offered only where the rule allows it: never on money rules that forbid it, never on a quorum."""
    return {"type": "overflow", "action_id": ALLOW_SIMILAR, "options": [
        {"text": plain_text(f"Approve and allow similar for {count(days, 'day')}"),
         "value": f"{action.id}:{action.version}:{days}"} for days in ALLOW_DAYS]}


def _edits(action: Action) -> str:
    before = action.original_params or {}
    changed = [k for k in action.params if before.get(k) != action.params.get(k)]
    def short(value: Any) -> str:
        return f"`{mrkdwn(show_value(value), 80)}`"

    return "; ".join(f"{escape(k)}: {short(before.get(k))} → {short(action.params[k])}" for k in changed[:10])


def _outcome_line(action: Action) -> str | None:
    by, at = person(action.decided_by), when(action.decided_at)
    note = f" — “{mrkdwn(action.note, 500)}”" if action.note else ""
    lines = {
        Status.REJECTED: f":x: *Rejected* by {by}{standing_in(action.decided_for)} {at}{note}",
        Status.CANCELED: f":no_entry_sign: *Canceled* by the agent{note}",
        Status.EXPIRED: ":hourglass: *Expired*: nobody decided in time; it did not run" + note,
    }
    if action.status in lines:
        return lines[action.status]
    if action.decided_by and action.status != Status.PENDING_APPROVAL:
        if len(action.votes) > 1:  # a quorum: everyone whose approval counted, in the order they gave it
            voters = [voter(v) for v in action.votes]
            voted = {v.get("by") for v in action.votes}
            by = ", ".join([*voters, *([by] if identity(action.decided_by) not in voted else [])])
        else:
            by += standing_in(action.decided_for)
        edited = f"\n:pencil2: Edited: {_edits(action)}" if action.original_params is not None else ""
        run = {Status.APPROVED: "queued to run", Status.RUNNING: "running", Status.SUCCEEDED: ":white_check_mark: ran",
               Status.FAILED: ":warning: failed"}.get(action.status, str(action.status))
        return f":white_check_mark: *Approved* by {by} {at}{note}{edited}\n{run}"
    return None


def approval_blocks(action: Action, absences: Absences | None = None) -> list[Block]:
    """The whole message, for a waiting action (with buttons) or a decided one (with who and when).
    `absences`: who is away now, said on a waiting action's message."""
    blocks: list[Block] = [
        header(summary(action)),
        section(f"*{mrkdwn(action.agent, 200)}* wants this because:"),
        quote(action.reason),
        *_parameter_blocks(action),
        *_preview_blocks(action),
        *_context_blocks(action, absences),
    ]
    outcome = _outcome_line(action)
    if action.status == Status.PENDING_APPROVAL:
        blocks.append(_decision_buttons(action))
    elif outcome:
        blocks += [divider(), section(outcome)]
    return blocks


PREVIEW_CHARS = 2800  # a section holds 3000, with the code fence


def _preview_blocks(action: Action) -> list[Block]:
    """What the action would change, as its preview said before it was posted (signoff.previews)."""
    preview = action.preview
    if not preview:
        return []
    if preview.get("error"):
        return [section(f":warning: *Preview failed:* {mrkdwn(preview['error'], 2000)}. It still waits for you.")]
    text = str(preview.get("text", ""))
    more = len(text) > PREVIEW_CHARS or preview.get("cut")
    shown = mrkdwn(cut(text, PREVIEW_CHARS), PREVIEW_CHARS + 200)  # backticks become look-alikes: no fence ends
    blocks: list[Block] = [section(f"*What it would change*\n```{shown}```")]
    if more:  # the rest in a modal: on a phone too, where no one runs `signoff show`
        blocks.append({"type": "actions", "block_id": "signoff_preview_more", "elements": [
            button("Full preview", SHOW_PREVIEW, action.id)]})
    if preview.get("cut"):
        blocks.append(context(f"{preview['cut']:,} more characters were not kept: the preview is too long to show "
                              "whole"))
    return blocks


def _result_lines(result: Any) -> str:
    """A result as a reader wants it: a record's fields one a line, anything else as its value."""
    if isinstance(result, dict) and result and all(not isinstance(v, dict | list) for v in result.values()):
        return "\n".join(f"• {humanize(str(k))}: `{mrkdwn(show_value(v), 300)}`" for k, v in list(result.items())[:20])
    if result is None or result == "":
        return ""
    return f"`{mrkdwn(show_value(result), 2500)}`"


def run_outcome_text(action: Action) -> str:
    if action.status == Status.SUCCEEDED:
        shown = _result_lines(action.result)
        if not shown:
            return ":white_check_mark: Ran successfully."
        return f":white_check_mark: Ran successfully. Result:{chr(10) if shown.startswith('•') else ' '}{shown}"
    return f":warning: The run failed: {mrkdwn(action.error or 'unknown error', 2500)}"


def ephemeral(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [section(text)]}
