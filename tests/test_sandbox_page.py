"""The sandbox page in a real headless Chromium: what a newcomer clicks, checked on the page and in Redis."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from signoff import Status
from tests.actions import issue_refund, send_email
from tests.helpers import wait_status

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine, and scripts/ensure-chromium "
                                                          "could not install Debian's package: browser tests skipped")
# The flags the workplace's own probe uses: headless, and no background calls to the closed network.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def demo_worker(workers: Any, slack_env: dict[str, str]) -> Any:
    return workers.start(extra_env=slack_env, policy="demo")  # the sandbox's own policy


@pytest.fixture
def page(browser: Any, sandbox: Any, bot: Any) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.goto(sandbox.url)
    yield opened
    context.close()


@contextmanager
def _opened(browser: Any, sandbox: Any, width: int) -> Iterator[Any]:
    """The sandbox in a fresh browser context `width` pixels wide (a phone below 800, as phones are)."""
    context = browser.new_context(viewport={"width": width, "height": 844}, is_mobile=width < 800)
    try:
        opened = context.new_page()
        opened.goto(sandbox.url)
        yield opened
    finally:
        context.close()


def _message(page: Any, action_id: str) -> Any:
    return page.locator(".message", has_text=action_id)


def _refund(amount: float = 1200) -> Any:
    return issue_refund.request(customer_id="cus_4410", amount=amount, agent="support-bot",
                                reason="Customer threatens to churn")


def test_approve_on_the_page_runs_the_action(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    ticket = _refund()
    message = _message(page, ticket.id)
    message.get_by_role("button", name="Approve").click()
    expect(message).to_contain_text("Approved by @alice")
    expect(message.locator(".thread")).to_contain_text("Ran successfully")
    assert wait_status(rt, ticket.id, Status.SUCCEEDED).decided_by == "slack:U0ALICE"


def test_the_page_reads_as_slack_does(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    ticket = _refund()
    message = _message(page, ticket.id)
    message.get_by_role("button", name="Approve").click()
    expect(message).to_contain_text("Approved by @alice")
    expect(message.locator(".edited")).to_have_count(0)  # an app's update is not a person's edit
    expect(page.locator("nav button.channel", has_text="direct message")).to_have_count(0)  # no empty DM
    names = page.locator("#user option").all_inner_texts()
    assert "Mallory" in " ".join(names) and not any("(@" in n for n in names), names  # short enough to read


def test_edit_with_a_validation_error_then_a_fix(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    ticket = send_email.request(to="sarah@client.com", subject="Your Q3 invoice", body="Hi Sarah",
                                agent="support-bot", reason="Sarah asked")
    _message(page, ticket.id).get_by_role("button", name="Edit").click()
    dialog = page.locator('[data-view="signoff_edit_modal"]')
    expect(dialog).to_be_visible()
    dialog.locator('[data-block="p:to"]').fill("sarah at client")
    dialog.locator('[data-submit="yes"]').click()
    expect(dialog.locator('[data-for="p:to"] .error')).to_have_text("is not an email address")
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL
    expect(dialog.locator('[data-block="p:subject"]')).to_have_value("Your Q3 invoice")  # nothing typed is lost

    dialog.locator('[data-block="p:to"]').fill("sarah@client.org")
    dialog.locator('[data-submit="yes"]').click()
    expect(dialog).to_be_hidden()
    expect(_message(page, ticket.id)).to_contain_text("Edited: to: sarah@client.com → sarah@client.org")
    assert wait_status(rt, ticket.id, Status.SUCCEEDED).params["to"] == "sarah@client.org"


def test_reject_with_a_reason(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    page.select_option("#user", "U0BOB")
    ticket = _refund(900)
    _message(page, ticket.id).get_by_role("button", name="Reject").click()
    page.locator('[data-confirm="yes"]').click()  # Slack's confirm step: "Reject this action?"
    dialog = page.locator('[data-view="signoff_reject_modal"]')
    dialog.locator('[data-block="reason"]').fill("Over the refund limit for this customer")
    dialog.locator('[data-submit="yes"]').click()
    expect(_message(page, ticket.id)).to_contain_text("Rejected by @bob")
    outcome = ticket.wait(timeout=20)
    assert (outcome.status, outcome.note) == (Status.REJECTED, "Over the refund limit for this customer")


def test_an_unauthorized_user_is_told_and_nothing_changes(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    page.select_option("#user", "U0MALLORY")
    ticket = _refund()
    _message(page, ticket.id).get_by_role("button", name="Approve").click()
    notice = page.locator(".message.ephemeral", has_text="can't decide")
    expect(notice).to_contain_text("rule refunds lets only @alice, @bob decide it")
    expect(notice).to_contain_text("Only visible to you")
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL


def test_batch_review_on_the_page(rt: Any, page: Any, workers: Any, slack_env: dict[str, str],
                                  policy_file: Any) -> None:
    from playwright.sync_api import expect

    workers.start(extra_env=slack_env, policy=policy_file(
        "rules:\n  - name: outbound\n    match: {type: send_email}\n    mode: batch\n    batch: {max: 3}\n"))
    tickets = [send_email.request(to=f"lead{i}@client.com", subject=f"Intro {i}", body="Hello",
                                  agent="sales-bot", reason="new lead") for i in range(3)]
    batch = page.locator(".message", has_text="Approve these 3 actions: send email from sales-bot")
    batch.get_by_role("button", name="Review").click()
    dialog = page.locator('[data-view="signoff_batch_review_modal"]')
    dialog.get_by_label("Send email to lead1@client.com").uncheck()
    dialog.get_by_label("Reject them").check()
    dialog.locator('[data-submit="yes"]').click()
    expect(batch).to_contain_text("2 approved, 1 rejected")
    statuses = [t.wait(timeout=20).status for t in tickets]
    assert statuses == [Status.SUCCEEDED, Status.REJECTED, Status.SUCCEEDED]


def _many_waiting(n: int) -> list[Any]:
    return [send_email.request(to=f"lead{i}@client.com", subject=f"Intro {i}", body="Hello\n" * 8,
                               agent="sales-bot", reason="new lead") for i in range(n)]


def test_only_the_messages_scroll_and_a_reply_for_you_comes_into_view(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    tickets = _many_waiting(12)
    expect(_message(page, tickets[-1].id)).to_be_visible()
    height = page.viewport_size["height"]
    assert page.evaluate("document.scrollingElement.scrollHeight") <= height  # the document itself never scrolls
    expect(page.locator("#command")).to_be_in_viewport()
    expect(page.locator("nav")).to_be_in_viewport()
    page.locator("#messages").evaluate("pane => pane.scrollTop = 0")  # reading the oldest
    page.locator("#command").fill("/signoff show nope")
    page.locator("#command").press("Enter")
    expect(page.locator(".message.ephemeral", has_text="No action with id")).to_be_in_viewport()


def test_a_phone_sees_everything_without_scrolling_sideways(rt: Any, browser: Any, sandbox: Any, bot: Any,
                                                           demo_worker: Any) -> None:
    from playwright.sync_api import expect

    with _opened(browser, sandbox, 390) as phone:
        ticket = send_email.request(to="sarah@client.com", subject="x" * 300, body="y" * 2000,
                                    agent="support-bot", reason="z" * 500)
        message = _message(phone, ticket.id)
        expect(message).to_be_visible()
        for button in ("Approve", "Edit", "Reject"):
            box = message.get_by_role("button", name=button).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, button
        assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390
        wide = phone.locator("#messages").evaluate(
            "pane => [...pane.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > "
            "pane.getBoundingClientRect().right + 1).map(e => e.tagName + '.' + e.className + ' ' + "
            "Math.round(e.getBoundingClientRect().right) + ' ' + e.textContent.slice(0, 30))")
        assert wide == [], wide  # nothing reaches past the pane's right edge
        expect(phone.locator("nav")).to_be_hidden()  # the channel list folds away...
        phone.get_by_role("button", name="Channels").click()
        expect(phone.locator("nav")).to_be_visible()  # ...and comes back on demand
        phone.locator("nav button.channel", has_text="approvals").click()
        expect(phone.locator("nav")).to_be_hidden()


def test_on_a_phone_line_breaks_stay_and_the_more_menu_stays_on_screen(rt: Any, browser: Any, sandbox: Any, bot: Any,
                                                                       demo_worker: Any) -> None:
    from playwright.sync_api import expect

    with _opened(browser, sandbox, 390) as phone:
        ticket = send_email.request(to="sarah@client.com", subject="Your refund",
                                    body="Hi Sarah,\n\nThe refund went through.\n\nBest, Sam", agent="support-bot",
                                    reason="She asked twice")
        message = _message(phone, ticket.id)
        expect(message).to_be_visible()
        fields = message.locator(".b-fields > *")
        texts = [fields.nth(i).inner_text() for i in range(fields.count())]
        assert "To\nsarah@client.com" in texts, texts  # the label above its value, as Slack shows it
        assert any("Hi Sarah,\n\nThe refund went through." in t for t in texts), texts  # paragraphs kept
        message.get_by_role("button", name="More actions").click()
        items = message.get_by_role("menuitem")
        expect(items.first).to_be_visible()
        for i in range(items.count()):
            box = items.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, items.nth(i).inner_text()


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_extend_on_the_page_gives_more_time_within_reach(rt: Any, browser: Any, sandbox: Any, bot: Any,
                                                        workers: Any, slack_env: dict[str, str], policy_file: Any,
                                                        width: int) -> None:
    from playwright.sync_api import expect

    from tests.test_before_it_lapses import POLICY

    workers.start(extra_env=slack_env, policy=policy_file(POLICY))
    with _opened(browser, sandbox, width) as screen:
        ticket = send_email.request(to="sarah@client.com", subject="Renewal", body="Terms", agent="sales-bot",
                                    reason="She asked")
        message = _message(screen, ticket.id)
        extend = message.get_by_role("button", name="Extend 1h")
        expect(extend).to_be_visible()
        box = extend.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        before = rt.store.get(ticket.id).waiting.deadline_at
        extend.click()
        expect(message).to_contain_text("extended 1 of 1")
        expect(message.get_by_role("button", name="Extend 1h")).to_have_count(0)
        assert rt.store.get(ticket.id).waiting.deadline_at - before == timedelta(hours=1)


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_a_typed_confirmation_on_the_page(rt: Any, browser: Any, sandbox: Any, bot: Any, workers: Any,
                                          slack_env: dict[str, str], policy_file: Any, width: int) -> None:
    from playwright.sync_api import expect

    from tests.test_friction import TYPED

    workers.start(extra_env=slack_env, policy=policy_file(TYPED))
    with _opened(browser, sandbox, width) as screen:
        ticket = _refund()
        message = _message(screen, ticket.id)
        message.get_by_role("button", name="Approve").click()
        dialog = screen.locator('[data-view="signoff_confirm_modal"]')
        expect(dialog).to_contain_text("Type 1,200 to approve")
        field = dialog.locator('[data-block="typed"]')
        box = field.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        field.fill("12")
        dialog.locator('[data-submit="yes"]').click()
        expect(dialog).to_contain_text("That is not the amount")
        field.fill("1,200")
        dialog.locator('[data-submit="yes"]').click()
        expect(dialog).to_be_hidden()
        expect(message).to_contain_text("Approved by @alice")


def test_a_modal_does_not_come_back_after_a_reload(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    ticket = send_email.request(to="sarah@client.com", subject="Q3", body="Hi", agent="support-bot", reason="asked")
    _message(page, ticket.id).get_by_role("button", name="Edit").click()
    expect(page.locator('[data-view="signoff_edit_modal"]')).to_be_visible()
    page.reload()
    expect(_message(page, ticket.id)).to_be_visible()
    expect(page.locator('[data-view="signoff_edit_modal"]')).to_be_hidden()
    assert rt.store.get(ticket.id).status == Status.PENDING_APPROVAL


COLOUR_EMOJI = """() => {
  const canvas = document.createElement("canvas"); canvas.width = canvas.height = 32;
  const pen = canvas.getContext("2d"); pen.font = "24px sans-serif"; pen.textBaseline = "top"; pen.fillText("✅", 0, 0);
  const px = pen.getImageData(0, 0, 32, 32).data;
  for (let i = 0; i < px.length; i += 4) {
    const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
    if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) return true;
  }
  return false;
}"""


def test_the_bots_emoji_never_show_as_empty_boxes(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    ticket = _refund()
    message = _message(page, ticket.id)
    message.get_by_role("button", name="Approve").click()
    expect(message).to_contain_text("Approved by @alice")
    marks = message.locator(".emoji")
    expect(marks.first).to_be_visible()
    if page.evaluate(COLOUR_EMOJI):  # this machine has a colour emoji font: the emoji themselves
        assert "✅" in marks.first.inner_text()
    else:  # it has none: each emoji is a short word, never a glyph the fonts lack
        assert all(text.isascii() and text for text in marks.all_inner_texts())
        assert "✅" not in message.inner_text()


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_slash_replies_and_personas_read_right_at_every_width(rt: Any, browser: Any, sandbox: Any, bot: Any,
                                                              demo_worker: Any, width: int) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    page.goto(sandbox.url)
    try:
        expect(page.locator("#user")).to_contain_text("Mallory (not an approver)")
        if width < 800:
            page.get_by_role("button", name="Channels").click()  # the menu folds away on a phone
        fits = page.locator("#user").evaluate(  # each name is shown whole, not cut by the menu's width
            "s => { const c = document.createElement('canvas').getContext('2d'); c.font = getComputedStyle(s).font;"
            " return [...s.options].every(o => c.measureText(o.text).width + 24 <= s.clientWidth); }")
        assert fits
        if width < 800:
            page.locator("nav button.channel", has_text="approvals").click()  # and folds again
        for typed, answer in (("/signoff show nope", "No action with id"), ("/signoff help", "/signoff pending")):
            page.locator("#command").fill(typed)
            page.locator("#command").press("Enter")
            reply = page.locator(".message.ephemeral", has_text=answer).last
            expect(reply).to_be_in_viewport()  # plain-text replies are shown, beside the composer
        expect(page.locator("#command")).to_be_in_viewport()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    finally:
        context.close()


def test_approve_and_allow_similar_then_the_digest_names_the_allowance(
        rt: Any, page: Any, sandbox: Any, demo_worker: Any, slack_env: dict[str, str], tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from playwright.sync_api import expect

    from tests.conftest import ROOT

    ticket = send_email.request(to="sarah@client.com", subject="Your order", body="It shipped.", agent="support-bot",
                                reason="Sarah asked where her order is")
    message = _message(page, ticket.id)
    message.get_by_role("button", name="More actions").click()
    page.get_by_role("menuitem", name="Approve and allow similar for 7 days").click()
    dialog = page.locator('[data-view="signoff_allow_modal"]')
    expect(dialog).to_contain_text("for 7 days, lets support-bot's similar send_email requests run without asking")
    # Ticked at first: the recipient's domain, not the exact wording; the reviewer also ties it to the subject.
    expect(dialog.get_by_label("to: only @client.com addresses")).to_be_checked()
    expect(dialog.get_by_label('body: exactly "It shipped."')).not_to_be_checked()
    dialog.get_by_label('subject: exactly "Your order"').check()
    dialog.locator('[data-block="allow_reason"]').fill("order-status replies")
    dialog.locator('[data-submit="yes"]').click()
    expect(dialog).to_be_hidden()
    expect(message).to_contain_text("Approved by @alice")

    similar = send_email.request(to="tom@client.com", subject="Your order", body="Tracking number: 42",
                                 agent="support-bot", reason="Tom asked where his order is")
    assert wait_status(rt, similar.id, Status.SUCCEEDED).allowance["author"] == "slack:U0ALICE"  # type: ignore[index]
    other = send_email.request(to="eve@elsewhere.example", subject="Your order", body="x", agent="support-bot",
                               reason="r")
    wait_status(rt, other.id, Status.PENDING_APPROVAL)  # another domain still asks

    teams = tmp_path / "teams.yml"
    teams.write_text("teams:\n  - name: ops\n    channel: '#approvals'\n")
    subprocess.run([sys.executable, "-m", "signoff_app.cli", "digest", "--team", "ops"], cwd=ROOT, check=True,
                   env={**os.environ, **slack_env, "SIGNOFF_TEAMS": str(teams), "SIGNOFF_POLICY": "demo"})
    digest = page.locator(".message", has_text="Daily digest for ops")
    expect(digest).to_contain_text("Allowed by @alice's allowance (1 action)")
    sections = digest.locator(".b-section").all_inner_texts()
    heading = next(i for i, text in enumerate(sections) if "Allowed by @alice's allowance" in text)
    assert similar.id in sections[heading + 1]  # listed under it


def test_the_home_tab_on_the_page_lists_and_decides(rt: Any, page: Any, demo_worker: Any) -> None:
    from playwright.sync_api import expect

    ticket = _refund()
    wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
    page.get_by_role("button", name="⌂ Home").click()
    home = page.locator("#home")
    expect(home).to_contain_text("Waiting for you (1)")
    expect(home).to_contain_text("Issue refund of 1,200 USD for cus_4410")
    home.locator(f'[data-block-id="home_{ticket.id}"]').get_by_role("button", name="Approve").click()
    assert wait_status(rt, ticket.id, Status.SUCCEEDED).decided_by == "slack:U0ALICE"
    expect(home).to_contain_text("Nothing waits for you.")


def _within(locator: Any, width: int) -> None:
    """Shown, and whole across the screen's width. Measured in one step in the page: a tab published
    again meanwhile replaces the element, and a second look would find another one."""
    from playwright.sync_api import expect

    expect(locator).to_be_visible()
    left, right = locator.evaluate("e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; }")
    assert left >= 0 and right <= width, f"off screen: {left}-{right} of {width}"


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_away_on_the_home_tab_then_the_delegate_decides(rt: Any, browser: Any, sandbox: Any, bot: Any,
                                                        workers: Any, slack_env: dict[str, str], policy_file: Any,
                                                        width: int) -> None:
    from playwright.sync_api import expect

    from tests.test_away import BACK_ON, _policy

    workers.start(extra_env=slack_env, policy=policy_file(_policy("U0ALICE", "    channel: '#approvals'\n")))
    with _opened(browser, sandbox, width) as screen:
        if width < 800:
            screen.get_by_role("button", name="Channels").click()  # the channel list is behind the menu on a phone
        screen.get_by_role("button", name="⌂ Home").click()
        home = screen.locator("#home")
        set_away = home.get_by_role("button", name="Set away…")
        expect(set_away).to_be_visible()
        _within(set_away, width)
        set_away.click()
        dialog = screen.locator('[data-view="signoff_away_modal"]')
        for field in ("away_until", "away_delegate"):
            _within(dialog.locator(f'[data-block="{field}"]'), width)
        dialog.locator('[data-block="away_until"]').fill(BACK_ON)
        dialog.locator('[data-block="away_delegate"]').select_option("U0BOB")
        dialog.locator('[data-submit="yes"]').click()
        expect(dialog).to_be_hidden()
        expect(home).to_contain_text("You're away")
        expect(home).to_contain_text("@bob decides for you")
        _within(home.get_by_role("button", name="I'm back"), width)

        ticket = send_email.request(to="sarah@client.com", subject="Renewal", body="Terms", agent="sales-bot",
                                    reason="She asked")
        wait_status(rt, ticket.id, Status.PENDING_APPROVAL)
        if width < 800:
            screen.get_by_role("button", name="Channels").click()
        screen.select_option("#user", "U0BOB")
        screen.get_by_role("button", name="⌂ Home").click()
        expect(home).to_contain_text("You decide for @alice while they are away")
        item = home.locator(f'[data-block-id="home_{ticket.id}"]')
        expect(screen.locator("#home")).to_contain_text("You decide it for @alice (away)")
        item.get_by_role("button", name="Approve").click()
        done = wait_status(rt, ticket.id, Status.SUCCEEDED)
        assert (done.decided_by, done.decided_for) == ("slack:U0BOB", "U0ALICE")


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_a_preview_on_the_page_and_the_whole_of_it(rt: Any, browser: Any, sandbox: Any, bot: Any, workers: Any,
                                                   slack_env: dict[str, str], policy_file: Any, width: int) -> None:
    from playwright.sync_api import expect

    from tests.test_previews import POLICY, ROWS, long_preview

    workers.start(extra_env=slack_env, policy=policy_file(POLICY))
    with _opened(browser, sandbox, width) as screen:
        action = long_preview(rt)
        message = _message(screen, action.id)
        expect(message).to_contain_text("What it would change")
        code = message.locator("pre").first
        expect(code).to_contain_text(ROWS[0])
        _within(code, width)  # the diff scrolls inside its block, never the page sideways
        assert screen.evaluate("document.documentElement.scrollWidth") <= width
        full = message.get_by_role("button", name="Full preview")
        _within(full, width)
        full.click()
        dialog = screen.locator('[data-view="signoff_full_value"]')
        expect(dialog).to_contain_text(ROWS[-1].split(" · ")[0])
        expect(dialog).to_contain_text("What it would change")
