"""Away on the Home tab: you are away (and who decides for you), whom you decide for, and the Away modal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.views.blocks import Block, button, context, plain, section
from bot.views.text import when
from signoff.away import Absences

SET_AWAY, BACK = "signoff_set_away", "signoff_back"
AWAY_CALLBACK = "signoff_away_modal"
UNTIL_BLOCK, DELEGATE_BLOCK, VALUE = "away_until", "away_delegate", "value"


def away_blocks(user: str, absences: Absences) -> list[Block]:
    """One section: away until when and who decides meanwhile (with I'm back), or Set away…; and a line for
    each away reviewer this user decides for."""
    mine = absences.of(user)
    if mine is not None:
        stand_in = absences.delegate_of(user)
        who = f"<@{stand_in}> decides for you" if stand_in else "nobody decides for you: the rules' other approvers do"
        blocks: list[Block] = [section(f":palm_tree: *You're away* until {when(mine.until)}. {who}; you are not "
                                       "pinged meanwhile.", accessory=button("I'm back", BACK, user, style="primary"),
                                       block_id="signoff_away")]
    else:
        blocks = [section("*Away?* Say until when, and who decides for you meanwhile.",
                          accessory=button("Set away…", SET_AWAY, user), block_id="signoff_away")]
    standing = [r for r in absences.records.values() if absences.delegate_of(r.user) == user]
    if standing:
        blocks.append(context(*[f":busts_in_silhouette: You decide for <@{r.user}> while they are away "
                                f"(until {when(r.until)})" for r in standing[:9]]))
    return blocks


def away_modal(today: date) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": AWAY_CALLBACK, "title": plain("Away", 24), "submit": plain("Set away", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {"type": "input", "block_id": UNTIL_BLOCK, "label": plain("Back on", 2000),
             "hint": plain("You count as away until the start of that day (UTC).", 2000),
             "element": {"type": "datepicker", "action_id": VALUE,
                         "initial_date": (today + timedelta(days=7)).isoformat()}},
            {"type": "input", "block_id": DELEGATE_BLOCK, "optional": True, "label": plain("Who decides for you", 2000),
             "hint": plain("They decide what the rules ask of you, with your checks. Nobody: the rules' other "
                           "approvers decide.", 2000),
             "element": {"type": "users_select", "action_id": VALUE}},
        ],
    }


def entered(view: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the date picked, the delegate picked) from a submitted Away modal."""
    values = view["state"]["values"]
    picked = values.get(UNTIL_BLOCK, {}).get(VALUE, {}).get("selected_date")
    delegate = values.get(DELEGATE_BLOCK, {}).get(VALUE, {}).get("selected_user")
    return picked, delegate
