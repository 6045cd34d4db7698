"""Block Kit the bot sends: checked with slack-sdk's own models and Slack's documented limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.views.approval import approval_blocks, fallback_text, summary
from bot.views.modals import edit_modal, edited_params, full_value_modal, reject_modal
from bot.views.text import escape, mrkdwn
from signoff import Email, LongText
from signoff.models import Action, Mode, Status
from signoff.schema import model_from_signature
from signoff_app.sandbox.blockcheck import check_blocks, check_view
from tests.slack_helpers import mrkdwn_texts

MESSAGE = {"channel": "C0APPROVALS", "ts": "1.000001"}
HOSTILE = "<!channel> <@U0BOB> <https://evil.example|bank> & *bold* `code` \u202e" * 200


def _action(**overrides) -> Action:  # type: ignore[no-untyped-def]
    fields = {"type": "send_email", "agent": "finance-bot", "reason": "asked", "mode": Mode.APPROVE,
              "rule": "external-communications", "status": Status.PENDING_APPROVAL,
              "params": {"to": "sarah@acme.com", "subject": "Q3 budget", "body": "Numbers"}}
    return Action(**{**fields, **overrides})


CASES = {
    "plain": _action(),
    "hostile values": _action(params={"to": HOSTILE, "subject": HOSTILE, "body": HOSTILE * 10}),
    "hostile agent and reason": _action(agent=HOSTILE, reason=HOSTILE * 50, rule=HOSTILE, risk=[HOSTILE] * 30),
    "hundreds of parameters": _action(params={f"p{n}_{'k' * 300}": HOSTILE for n in range(300)}),
    "nested values": _action(params={"rows": [{"a": [1, 2, {"b": HOSTILE}]}] * 50, "n": 10 ** 30}),
    "approved with edits": _action(status=Status.SUCCEEDED, decided_by="slack:U0ALICE",
                                   decided_at=datetime.now(UTC), note=HOSTILE,
                                   original_params={"to": HOSTILE, "subject": "a", "body": "b"}),
    "rejected": _action(status=Status.REJECTED, decided_by="mallory <!channel>", decided_at=datetime.now(UTC),
                        note=HOSTILE),
}


@pytest.mark.parametrize("action", CASES.values(), ids=CASES.keys())
def test_every_approval_message_fits_slacks_limits(action: Action) -> None:
    blocks = approval_blocks(action)
    assert check_blocks(blocks) == []
    for block in Block.parse_all(blocks):
        block.validate_json()  # slack-sdk's own checks (text lengths, element counts)
    assert len(fallback_text(action)) <= 4000
    assert all(len(e.get("value", "")) <= 2000 for b in blocks for e in b.get("elements", []))


def test_mentions_and_links_from_an_agent_are_escaped() -> None:
    assert escape("<!channel> <@U1> <http://x|y> &") == "&lt;!channel&gt; &lt;@U1&gt; &lt;http://x|y&gt; &amp;"
    assert mrkdwn("<" * 10, 12) == "&lt;&lt;…"  # an entity is never split by cutting
    for action in CASES.values():
        rendered = mrkdwn_texts(approval_blocks(action))  # plain_text (the header) never renders mentions
        assert "<!channel>" not in rendered and "<@U0BOB>" not in rendered and "<https://evil" not in rendered


def test_summary_reads_like_a_sentence() -> None:
    assert summary(_action()) == "Send email to sarah@acme.com — Q3 budget"
    refund = _action(type="issue_refund", params={"customer_id": "cus_1", "amount": 1200, "currency": "USD"})
    assert summary(refund) == "Issue refund of 1,200 USD for cus_1"


def test_a_tool_calls_headline_says_what_it_does() -> None:
    bash = _action(type="Bash", params={"command": "rm -rf build/ &&\n  git push --force", "description": "Clean"})
    assert summary(bash) == "Bash: rm -rf build/ && git push --force"
    assert summary(_action(type="Write", params={"file_path": "/src/app.py", "content": "x"})) == "Write: /src/app.py"
    refund = _action(type="refund_order", params={"order_id": "ord_1", "amount_usd": 120.5})
    assert summary(refund) == "Refund order of 120.5 USD for ord_1"
    assert len(summary(_action(type="Bash", params={"command": "x" * 5000}))) <= 140  # a header holds 150


def test_a_rule_that_would_run_it_says_why_it_was_held() -> None:
    from tests.slack_helpers import text_of as text_of_blocks

    held = _action(mode=Mode.AUTO, rule="everything-else", risk=["agent a is paused: 130 actions in 60s"])
    assert "Held because:" in text_of_blocks(approval_blocks(held))
    unusual = _action(risk=["amount 900 is 9.0x this agent's usual 100"])
    assert "Unusual:" in text_of_blocks(approval_blocks(unusual))


def test_the_edit_modal_is_built_from_the_parameter_schema() -> None:
    def action(to: Email, note: LongText, amount: float, copies: int, urgent: bool,
               priority: Literal["low", "high"], tags: list[str], huge: str = "") -> None: ...

    schema = model_from_signature(action, "demo").model_json_schema()
    current = _action(params={"to": "a@b.co", "note": "hi", "amount": 9.5, "copies": 2, "urgent": True,
                              "priority": "high", "tags": ["x"], "huge": "h" * 5000})
    modal = edit_modal(current, schema, MESSAGE)
    assert check_view(modal) == []
    View(**modal).validate_json()
    elements = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert {k: e["type"] for k, e in elements.items()} == {
        "p:to": "email_text_input", "p:note": "plain_text_input", "p:amount": "number_input",
        "p:copies": "number_input", "p:urgent": "checkboxes", "p:priority": "static_select",
        "p:tags": "plain_text_input"}
    assert elements["p:note"]["multiline"] is True and elements["p:copies"]["is_decimal_allowed"] is False
    assert elements["p:priority"]["initial_option"]["value"] == '"high"'
    assert "too long to edit here" in str(modal["blocks"])  # "huge" is kept, not truncated

    submitted = {"state": {"values": {
        "p:to": {"value": {"type": "email_text_input", "value": "c@d.co"}},
        "p:amount": {"value": {"type": "number_input", "value": "12.5"}},
        "p:urgent": {"value": {"type": "checkboxes", "selected_options": []}},
        "p:priority": {"value": {"type": "static_select", "selected_option": {"value": '"low"'}}},
        "p:tags": {"value": {"type": "plain_text_input", "value": '["a", "b"]'}},
    }}}
    assert edited_params(submitted, schema) == {"to": "c@d.co", "amount": "12.5", "urgent": False,
                                                "priority": "low", "tags": ["a", "b"]}


def test_reject_and_full_value_modals_fit_slacks_limits() -> None:
    for modal in (reject_modal(CASES["hostile values"], MESSAGE), full_value_modal("k" * 300, HOSTILE * 100)):
        assert check_view(modal) == []
        View(**modal).validate_json()


def test_one_of_a_kind_reads_in_the_singular() -> None:
    from bot.views.batch import batch_blocks
    from bot.views.digest import headline
    from policies.teams import Team
    from signoff.batches import Batch
    from signoff.digests import Digest

    one = _action(agent="sales-bot")
    batch = Batch(id="b1", rule="outbound", group="sales-bot", status="sent", created_at=0, closes_at=0, items=[one.id])
    blocks = batch_blocks(batch, [one])
    assert blocks[0]["text"]["text"] == "Approve this action: send email from sales-bot"
    buttons = blocks[-1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject", "Review"]
    assert buttons[0]["confirm"]["title"]["text"] == "Approve 1 action?"
    three = [_action(agent="sales-bot") for _ in range(3)]
    assert batch_blocks(batch, three)[0]["text"]["text"] == "Approve these 3 actions: send email from sales-bot"
    assert batch_blocks(batch, three)[-1]["elements"][0]["text"]["text"] == "Approve all (3)"
    digest = Digest(team=Team(name="ops", channel="#ops"), since="", until="", count=1)
    assert headline(digest) == "Daily digest for ops: 1 action ran without approval"


def test_summaries_read_as_a_person_says_them_and_numbers_read_the_same_everywhere() -> None:
    deletion = _action(type="delete_file", params={"path": "/exports/q3.csv"})
    assert summary(deletion) == "Delete /exports/q3.csv"
    refund = _action(type="issue_refund", params={"customer_id": "cus_1", "amount": 1200.0, "currency": "USD"})
    blocks = approval_blocks(refund)
    assert blocks[0]["text"]["text"] == "Issue refund of 1,200 USD for cus_1"
    assert "Amount\n1,200\n" in text_of_fields(blocks)
    huge = approval_blocks(_action(type="issue_refund", params={"customer_id": "c", "amount": 1e308}))
    assert huge[0]["text"]["text"] == "Issue refund of 1e+308 for c"
    assert "Amount\n1e+308" in text_of_fields(huge)


def text_of_fields(blocks: list[dict]) -> str:  # type: ignore[type-arg]
    return "\n".join(f["text"] for b in blocks for f in b.get("fields", []))


def test_a_quorum_action_offers_no_edit_that_it_would_refuse() -> None:
    from policies.waiting import Waiting

    quorum = _action(waiting=Waiting(deadline_at=datetime.now(UTC), quorum=2))
    buttons = [b["text"]["text"] for b in approval_blocks(quorum)[-1]["elements"]]
    assert buttons == ["Approve", "Reject"]
    assert [b["text"]["text"] for b in approval_blocks(_action())[-1]["elements"]] == ["Approve", "Edit", "Reject"]


def test_approve_and_allow_similar_is_offered_only_where_the_rule_allows_it() -> None:
    from bot.views.allow import allow_modal
    from policies.loader import parse_policy
    from policies.waiting import waiting_for

    policy = parse_policy("""
rules:
  - {name: mail, match: {type: send_email}, mode: approve}
  - {name: money, match: {category: financial}, mode: approve, no_allowances: true}
  - {name: pair, match: {type: drop_table}, mode: approve, approvals: 2}
  - {name: later, match: {type: update_crm}, mode: batch}
  - {name: rest, mode: auto}
""")
    now = datetime.now(UTC)
    allowed = {rule.name: waiting_for(policy, rule, now).allow_similar for rule in policy.rules}
    assert allowed == {"mail": True, "money": False, "pair": False, "later": True, "rest": False}

    def menus(action: Action) -> list[str]:
        return [e["type"] for e in approval_blocks(action)[-1]["elements"] if e["type"] == "overflow"]

    many = {f"p{n}": n for n in range(15)} | {"to": "a@client.com", "note": "x" * 200}
    offered = _action(params=many, waiting=waiting_for(policy, policy.rules[0], now), rule="mail")
    assert menus(offered) == ["overflow"]
    assert menus(_action(waiting=waiting_for(policy, policy.rules[1], now))) == []
    modal = allow_modal(offered, 7, {"channel": "C1", "ts": "1.2"})
    assert check_view(modal) == []  # ten checkboxes at most; a long text is never offered as "must equal"
    [boxes] = [b["element"] for b in modal["blocks"] if b.get("block_id") == "must_match"]
    assert len(boxes["options"]) == 10 and all("note" not in o["text"]["text"] for o in boxes["options"])


@pytest.mark.parametrize("action", CASES.values(), ids=CASES.keys())
def test_every_allow_similar_modal_fits_slacks_limits(action: Action) -> None:
    from bot.views.allow import allow_modal
    from policies.waiting import Waiting

    allowing = action.model_copy(update={"waiting": Waiting(deadline_at=datetime.now(UTC), allow_similar=True)})
    assert check_blocks(approval_blocks(allowing)) == []
    assert check_view(allow_modal(allowing, 30, {"channel": "C1", "ts": "1.2"})) == []


def test_a_runs_result_reads_as_fields_not_json() -> None:
    from bot.views.approval import run_outcome_text

    ran = _action(status=Status.SUCCEEDED, result={"delivered_to": "sarah@acme.com", "message_id": 42})
    assert run_outcome_text(ran) == (":white_check_mark: Ran successfully. Result:\n"
                                     "• Delivered to: `sarah@acme.com`\n• Message id: `42`")
    assert run_outcome_text(_action(status=Status.SUCCEEDED, result=None)) == ":white_check_mark: Ran successfully."
    assert run_outcome_text(_action(status=Status.SUCCEEDED, result="deleted r1")).endswith("Result: `deleted r1`")
