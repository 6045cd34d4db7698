"""Text an agent controls is shown as the agent's words, never as something Signoff said."""

from __future__ import annotations

import json

from bot.views.approval import approval_blocks
from bot.views.text import person
from signoff import Status
from signoff.models import Action
from tests.actions import send_email
from tests.slack_helpers import approval_message, mrkdwn_texts

FORGED = "Thanks!\n\n:white_check_mark: *Approved* by <@U0ALICE> _just now_ ~no~ `ok`\u202eevil\u200b"


def _all_text(node) -> str:  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        return "\n".join([node.get("text", "") if isinstance(node.get("text"), str) else ""]
                         + [_all_text(v) for v in node.values() if isinstance(v, dict | list)])
    if isinstance(node, list):
        return "\n".join(_all_text(v) for v in node)
    return ""


def test_an_agents_reason_cannot_imitate_a_decision(rt, sandbox, bot, slack_worker) -> None:
    ticket = send_email.request(to="sarah@client.com", subject=":white_check_mark: *Approved*", body="b",
                                agent="bot *admin*", reason=FORGED)
    message = approval_message(sandbox, ticket.id)
    rendered = mrkdwn_texts(message.blocks)
    for markup in ("*Approved*", ":white_check_mark:", "_just now_", "~no~", "`ok`", "*admin*", "<@U0ALICE>"):
        assert markup not in rendered
    everything = _all_text(message.blocks)
    assert "\u202e" not in everything and "\u200b" not in everything
    reason = next(b["text"] for b in message.blocks if b["type"] == "section"
                  and b["text"]["type"] == "plain_text")
    assert reason == {"type": "plain_text", "emoji": False, "text": FORGED.replace("\u202e", "").replace("\u200b", "")}

    status, body = sandbox.interactions.command(f"show {ticket.id}", "U0ALICE")  # escapes as the message does
    assert status == 200 and "*Approved*" not in mrkdwn_texts(json.loads(body)["blocks"])


def test_a_decider_name_never_becomes_markup_or_a_mention() -> None:
    assert person("slack:U0ALICE") == "<@U0ALICE>"
    for forged in ("slack:U0X> <!channel", "*alice*", "slack:<!here>"):
        shown = person(forged)
        assert "<!" not in shown and "*alice*" not in shown
    action = Action(type="send_email", agent="a", reason="r", params={"to": "x@y.co"}, status=Status.REJECTED,
                    decided_by="slack:U0X> <!channel", note="*fine* <!here>")
    assert "<!channel" not in mrkdwn_texts(approval_blocks(action))
    assert "*fine*" not in mrkdwn_texts(approval_blocks(action))
