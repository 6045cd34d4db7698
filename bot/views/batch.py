"""The batch message ("Approve these 12 actions: send email from sales-bot") and its Review modal."""

from __future__ import annotations

import json
from typing import Any

from bot.views.approval import summary
from bot.views.blocks import Block, button, confirm, context, header, plain, section
from bot.views.text import MODAL_TITLE, OPTION_TEXT, count, cut, humanize, mrkdwn, person
from signoff.batches import PAUSED_RULE, Batch
from signoff.models import Action, Status

APPROVE_ALL, REJECT_ALL, REVIEW, PAGE = ("signoff_batch_approve_all", "signoff_batch_reject_all",
                                         "signoff_batch_review", "signoff_batch_page")
REVIEW_CALLBACK = "signoff_batch_review_modal"
LINES_PER_SECTION = 10
MAX_LISTED = 40
PAGE_SIZE = 50  # five checkbox groups of ten, Slack's most per group
REST_BLOCK, NOTE_BLOCK, CHOICE = "rest", "note", "choice"


def title(actions: list[Action], rule: str | None = None) -> str:
    types = {a.type for a in actions}
    agents = {a.agent for a in actions}
    if rule == PAUSED_RULE and len(agents) == 1:
        return f"{count(len(actions), 'action')} from {next(iter(agents))}, held because it was paused"
    what = humanize(next(iter(types))).lower() if len(types) == 1 else "actions"
    source = f" from {next(iter(agents))}" if len(agents) == 1 else f" from {len(agents)} agents"
    these = "this action" if len(actions) == 1 else f"these {count(len(actions), 'action')}"
    return f"Approve {these}: {what}{source}" if len(types) == 1 else f"Approve {these}{source}"


def _line(action: Action) -> str:
    mark = {Status.PENDING_APPROVAL: "•", Status.REJECTED: ":x:", Status.CANCELED: ":no_entry_sign:",
            Status.EXPIRED: ":hourglass:"}.get(action.status, ":white_check_mark:")
    return f"{mark} {mrkdwn(cut(summary(action), 150), 200)} · `{action.id}`"


def _decisions(batch: Batch) -> list[str]:
    return [f"{person(d['by'])}: {d['approved']} approved, {d['rejected']} rejected"
            + (f", {d['skipped']} skipped (decided meanwhile or not theirs to decide)" if d["skipped"] else "")
            for d in batch.decisions]


def batch_blocks(batch: Batch, actions: list[Action]) -> list[Block]:
    listed = actions[:MAX_LISTED]
    lines = [_line(a) for a in listed]
    blocks: list[Block] = [header(title(actions, batch.rule))]
    blocks += [section("\n".join(lines[i: i + LINES_PER_SECTION])) for i in range(0, len(lines), LINES_PER_SECTION)]
    if len(actions) > len(listed):
        blocks.append(context(f"and {len(actions) - len(listed):,} more: *Review* shows every item"))
    blocks.append(context(f"Rule *{mrkdwn(batch.rule, 200)}* (batch) · {mrkdwn(batch.group, 200)} · "
                          f"batch `{batch.id}`"))
    if batch.decisions:
        blocks.append(section("\n".join(_decisions(batch))))
    waiting = [a for a in actions if a.status == Status.PENDING_APPROVAL]
    if waiting:
        def sure(verb: str, danger: bool = False) -> dict[str, Any]:
            return confirm(f"{verb} {count(len(waiting), 'action')}?", mrkdwn(title(waiting), 300), verb, "Cancel",
                           danger=danger)

        blocks.append({"type": "actions", "block_id": "signoff_batch_decision", "elements": [
            button(f"Approve all ({len(waiting):,})" if len(waiting) > 1 else "Approve", APPROVE_ALL, batch.id,
                   style="primary", confirm=sure("Approve")),
            button("Reject all" if len(waiting) > 1 else "Reject", REJECT_ALL, batch.id, style="danger",
                   confirm=sure("Reject", danger=True)),
            button("Review", REVIEW, f"{batch.id}:0"),
        ]})
    return blocks


def fallback(batch: Batch, actions: list[Action]) -> str:
    return mrkdwn(title(actions, batch.rule), 3000)


def review_modal(batch: Batch, waiting: list[Action], page: int) -> dict[str, Any]:
    pages = max(1, -(-len(waiting) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = waiting[page * PAGE_SIZE: (page + 1) * PAGE_SIZE]
    paging = f" Page {page + 1} of {pages}: decisions apply to this page." if pages > 1 else ""
    blocks: list[Block] = [section(f"*{mrkdwn(title(waiting), 500)}*\nUncheck what should not run.{paging}")]
    for group in range(0, len(shown), 10):
        options = [{"text": plain(cut(summary(a), OPTION_TEXT), OPTION_TEXT),
                    "description": plain(cut(f"{a.agent}: {a.reason}", OPTION_TEXT), OPTION_TEXT), "value": a.id}
                   for a in shown[group: group + 10]]
        first = page * PAGE_SIZE + group + 1
        blocks.append({"type": "input", "block_id": f"items:{group}", "optional": True,
                       "label": plain(f"Items {first} to {first + len(options) - 1}"),
                       "element": {"type": "checkboxes", "action_id": CHOICE, "options": options,
                                   "initial_options": options}})
    rest = [{"text": plain("Leave them waiting"), "value": "leave"},
            {"text": plain("Reject them"), "value": "reject"}]
    blocks.append({"type": "input", "block_id": REST_BLOCK, "label": plain("Unchecked items"),
                   "element": {"type": "radio_buttons", "action_id": CHOICE, "options": rest,
                               "initial_option": rest[0]}})
    blocks.append({"type": "input", "block_id": NOTE_BLOCK, "optional": True, "label": plain("Note for the agent"),
                   "element": {"type": "plain_text_input", "action_id": CHOICE, "max_length": 2000}})
    # Slack refuses two elements of one block with the same action_id: each direction has its own.
    navigation = [button("< Previous", f"{PAGE}_prev", f"{batch.id}:{page - 1}")] if page > 0 else []
    navigation += [button("Next >", f"{PAGE}_next", f"{batch.id}:{page + 1}")] if page < pages - 1 else []
    if navigation:
        blocks.append({"type": "actions", "block_id": "pages", "elements": navigation})
    return {"type": "modal", "callback_id": REVIEW_CALLBACK, "title": plain("Review batch", MODAL_TITLE),
            "submit": plain("Decide", MODAL_TITLE), "close": plain("Cancel", MODAL_TITLE),
            "private_metadata": json.dumps({"batch": batch.id, "items": [a.id for a in shown]}), "blocks": blocks}


def reviewed(view: dict[str, Any]) -> tuple[list[str], list[str], str | None]:
    """(approve, reject, note) from a submitted Review modal."""
    meta = json.loads(view["private_metadata"])
    values = view["state"]["values"]
    checked = {o["value"] for block_id, entry in values.items() if block_id.startswith("items:")
               for o in entry[CHOICE].get("selected_options") or []}
    rest = ((values.get(REST_BLOCK, {}).get(CHOICE, {}).get("selected_option")) or {}).get("value", "leave")
    note = (values.get(NOTE_BLOCK, {}).get(CHOICE, {}).get("value") or "").strip() or None
    approve = [i for i in meta["items"] if i in checked]
    reject = [i for i in meta["items"] if i not in checked] if rest == "reject" else []
    return approve, reject, note
