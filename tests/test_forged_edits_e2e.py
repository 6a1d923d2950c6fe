"""Forged presses, end to end. A Telegram client can send any callback data on any message it
can see; the product is tested from outside with exactly such presses. So:

- a press may edit only the message it belongs to: one that carries that very button, or one
  in the presser's own private chat (nobody else sees it). A group's card (a call's, an
  activity's, a problem's) changes only when it is redrawn from what is stored: a confirm
  button's data pressed on it is refused with one polite line, in the presser's language, and
  the card reads exactly as before;
- every role is checked again at the press: an inspector removed in the middle of a visit
  cannot go on with it through its old buttons; an admin cannot give a returned problem back
  to the unit that returned it.

The town has the example area tree, registers and themes, and a teams file whose Red Vest
Team Li leads; Admin is a centre admin; 王奶奶 (grandma) reads Chinese. The clock starts on
Wednesday 10 June 2026, 10:00 in Shanghai (tests/conftest.py).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage, SimUser
from tests.conftest import Town
from tests.flows import open_bot, open_form, supervision_town
from tests.test_activities_e2e import TEAMS, published_card
from tests.test_calls_e2e import answers, approved, sent_call
from tests.test_supervision_dispatch_e2e import cast, problem, report

ROOT = Path(__file__).resolve().parent.parent
STALE_EN = "This button is no longer valid."
STALE_ZH = "这个按钮已经失效了。"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example areas, registers and themes, and the teams file of the activities' story."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {**supervision_town(tmp_path),
            "activities": {"themes_file": "themes.toml"},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


# -- the checks ----------------------------------------------------------------------------


async def drained(town: Town) -> None:
    """Wait until the bot has made every call it queued (each wait ends at the sandbox's
    next call, never after a set time)."""
    services = town.bot.services
    assert services is not None
    for _ in range(200):
        await services.env.db.flush_loose()
        async with services.env.db.reading() as repo:
            if await repo.outbox.pending_outbox() == 0:
                return
        await next_call(town)
    raise AssertionError("the outbox never drained")


async def next_call(town: Town) -> None:
    """Wait until the sandbox receives the bot's next call."""
    calls = town.sb.calls
    before = len(calls)
    await town.sb.wait_until(lambda: len(calls) > before, timeout=5)


class Snapshot:
    """A message as it reads now, to show later that nothing touched it."""

    def __init__(self, town: Town, message: SimMessage) -> None:
        self.town, self.chat, self.message_id = town, message.chat, message.message_id
        current = self.chat.get(self.message_id)
        assert current is not None
        self.text, self.markup = current.text, current.reply_markup
        self.calls = len(town.sb.calls)

    async def unchanged(self) -> None:
        """Every queued call made, the message reads as before and no call edited it."""
        await drained(self.town)
        current = self.chat.get(self.message_id)
        assert current is not None
        assert (current.text, current.reply_markup) == (self.text, self.markup)
        touched = [(method, params) for method, params, _ in self.town.sb.calls[self.calls:]
                   if method.lower().startswith(("edit", "delete"))
                   and str(params.get("chat_id")) == str(self.chat.id)
                   and str(params.get("message_id")) == str(self.message_id)]
        assert touched == [], touched


async def refused(person: SimUser, data: str, on: SimMessage, words: str) -> None:
    """`person` presses `data` on the message `on` (forged): one polite alert, `words`. The
    message as it reads now, unless `on` is one too old for Telegram to show (as_too_old)."""
    current = on if on.raw.get("date") == 0 else (on.chat.get(on.message_id) or on)
    answer = await (await person.press_data(data, message=current)).answer()
    assert answer.show_alert and answer.text == words, (data, answer)


# -- group cards ---------------------------------------------------------------------------


async def test_confirm_buttons_forged_on_a_calls_group_card_leave_it_as_it_was(
        town: Town) -> None:
    """Li has answered call #1. On the call's card in the volunteer group he forges "Can't
    come after all"; the admin forges No and then Yes of "Cancel this call?"; 王奶奶, only a
    member of the group, forges Can't come too. Each is told, in their own language, that
    the button is no longer valid; the card reads exactly as before, Li is still in and the
    call is still open."""
    li, grandma = town.vol1, town.grandma
    await approved(town, li)
    town.volunteers.add_member(grandma)
    await grandma.send("/start")
    await grandma.wait_for(text="👋")
    card = await sent_call(town)
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    await town.sb.wait_until(lambda: "1 of 2 have answered" in (
        (town.volunteers.get(card.message_id) or card).text or ""), timeout=5)
    await drained(town)
    before = Snapshot(town, card)

    await refused(li, "cout:1", card, STALE_EN)
    await refused(town.admin, "ccancel:1:n", card, STALE_EN)
    await refused(town.admin, "ccancel:1:y", card, STALE_EN)
    await refused(grandma, "cout:1", card, STALE_ZH)

    await before.unchanged()
    assert answers(town) == [(li.id, "signed")]
    # The real buttons still work where they are: Li withdraws from his own message.
    mine = next(m for m in li.private.bot_messages() if "You're in for call #1" in (m.text or ""))
    assert (await (await li.press("Can't come after all", message=mine)).answer()).text \
        == "Withdrawn"


async def test_confirm_buttons_forged_on_an_activitys_group_card_leave_it_as_it_was(
        town: Town) -> None:
    """Zhang has signed up for Li's tree planting. On its card in the volunteer group Zhang
    forges "Yes, cancel my sign-up", and Li, its organiser, forges No and Yes of "Cancel this
    activity?". Each is refused politely; the card reads as before, Zhang keeps his place
    and the activity stands."""
    li, zhang = town.vol1, town.vol2
    await open_bot(li, zhang)
    card = await published_card(town, li)
    await (await zhang.press("🙋 Sign up", message=card)).answer()
    await zhang.wait_for(text="You are signed up for")
    await town.sb.wait_until(lambda: "1 left" in (
        (town.volunteers.get(card.message_id) or card).text or ""), timeout=5)
    await drained(town)
    before = Snapshot(town, card)

    await refused(zhang, "aquitok:1", card, STALE_EN)
    await refused(li, "acancel:1:n", card, STALE_EN)
    await refused(li, "acancel:1:y", card, STALE_EN)
    # A revoke and a theme's Save forged there by the admin: refused the same way.
    await refused(town.admin, "honrev:1:n", card, STALE_EN)
    await refused(town.admin, "theme:0a1b2c:cancel", card, STALE_EN)

    await before.unchanged()
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        activity = await repo.activities.activity(1)
        mine = await repo.activities.signup_of(1, zhang.id)
    assert activity is not None and activity.status != "cancelled"
    assert mine is not None


async def test_an_admins_button_forged_on_a_units_problem_card_leaves_it_as_it_was(
        town: Town) -> None:
    """The Guangminglu office returns a problem as not theirs; its card in the office's chat
    says so. The admin forges a unit's button of the admins' list (give it to the market
    bureau) on that card: refused politely, the card unchanged, the problem still returned
    and waiting for the admins' choice, which still works from the admins' own message."""
    c = await cast(town)
    market = town.sb.add_group("市场监管局")
    market.add_member(c.admin, status="administrator")
    await c.admin.send("/bind unit market-regulation", chat=market)
    await market.wait_for(text="now the chat of District Market Regulation Bureau")
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await (await c.zhang.press("↩️ Not ours", message=card)).answer()
    await c.zhang.wait_for(text="why is it not your unit's")
    await c.zhang.send("The market bureau manages this lane")
    returned = await town.admin_chat.wait_for(text=f"Problem {ref} at Guangming Lane 1 was "
                                                   "returned")
    await town.sb.wait_until(lambda: "Returned as not ours" in (card.text or ""), timeout=5)
    await drained(town)
    before = Snapshot(town, card)
    pid = (await problem(town, ref)).id

    await refused(c.admin, f"preas:{pid}:market-regulation", card, STALE_EN)
    await refused(c.admin, f"pext:{pid}:y", card, STALE_EN)
    await refused(c.admin, "bcast:1:cancel", card, STALE_EN)

    await before.unchanged()
    assert (await problem(town, ref)).status == "returned"
    done = await (await c.admin.press("District Market Regulation Bureau",
                                      message=returned)).answer()
    assert done.text == "Done.", done
    await market.wait_for(text=ref)


async def test_confirm_buttons_forged_on_ones_own_roster_in_private_leave_it_as_it_was(
        town: Town) -> None:
    """Li has answered call #1; the admin's roster in private shows him. The admin forges
    No of "Cancel this call?", and of "Cancel this activity?", on that roster: the answer
    would have replaced the roster's text until its next redraw. Both are refused politely:
    the roster reads as before, with its controls, and Li is still in."""
    li = town.vol1
    await approved(town, li)
    await sent_call(town)
    copy = await li.wait_for(text="Recruitment call #1")
    await (await li.press("🙋 I'm in", message=copy)).answer()
    await li.wait_for(text="You're in for call #1")
    roster = next(m for m in town.admin.private.bot_messages()
                  if "answered · sent to" in (m.text or ""))
    await town.sb.wait_until(lambda: "1. Li" in (
        (town.admin.private.get(roster.message_id) or roster).text or ""), timeout=5)
    await drained(town)
    before = Snapshot(town, roster)

    await refused(town.admin, "ccancel:1:n", roster, STALE_EN)
    await refused(town.admin, "acancel:1:n", roster, STALE_EN)

    await before.unchanged()
    assert answers(town) == [(li.id, "signed")]


# -- roles, checked again at the press ------------------------------------------------------


async def test_an_inspector_removed_in_the_middle_of_a_visit_cannot_go_on_with_it(
        town: Town) -> None:
    """Li starts a visit and types "zhongxin": three points match, each a button. The centre
    admin then removes him as an inspector. His old point button is refused (he is no longer
    an inspector, and the visit is over), no visit is recorded, and /inspect now says it is
    for inspectors."""
    c = await cast(town)
    await c.li.send("/inspect")
    await c.li.wait_for(text="Which point are you at?")
    await c.li.send("zhongxin")
    points = await c.li.wait_for(text="3 points match")
    await c.admin.send(f"/inspector remove {c.li.id}")
    await c.admin.wait_for(text="Li is no longer an inspector")

    answer = await (await c.li.press(points.buttons[0], message=points)).answer()
    assert answer.show_alert and answer.text == (
        "You are no longer an inspector, so this visit has ended: nothing more is reported.")
    await c.li.send("/inspect")
    await c.li.wait_for(text="Only inspectors")
    await drained(town)
    assert not [m for m in c.li.private.bot_messages()
                if "did you find a problem here?" in (m.text or "")]
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        assert await repo.supervision.inspector_group(c.li.id) is None


async def test_an_inspector_removed_mid_visit_is_told_when_he_writes(town: Town) -> None:
    """The same, when Li next types a point's name instead of pressing: he is told once, the
    visit ends and nothing is found for him."""
    c = await cast(town)
    await c.li.send("/inspect")
    await c.li.wait_for(text="Which point are you at?")
    await c.admin.send(f"/inspector remove {c.li.id}")
    await c.admin.wait_for(text="Li is no longer an inspector")
    await c.li.send("zhongxin")
    await c.li.wait_for(text="You are no longer an inspector, so this visit has ended")
    await drained(town)
    assert not [m for m in c.li.private.bot_messages() if "points match" in (m.text or "")]


async def test_a_returned_problem_cannot_be_given_back_to_its_unit_by_a_forged_button(
        town: Town) -> None:
    """The Guangminglu office returns a problem; the admins' list offers every other unit.
    The admin forges the office's own button, from their private chat (a message that never
    carried it: no longer valid) and on the admins' list some days later (too old for
    Telegram to show what it carries, so the service judges it): refused both times, the
    problem stays returned and the office gets no new card."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await (await c.zhang.press("↩️ Not ours", message=card)).answer()
    await c.zhang.wait_for(text="why is it not your unit's")
    await c.zhang.send("The market bureau manages this lane")
    returned = await town.admin_chat.wait_for(
        text=f"Problem {ref} at Guangming Lane 1 was returned")
    pid = (await problem(town, ref)).id

    await refused(c.admin, f"preas:{pid}:guangminglu-office", c.admin.private.bot_messages()[-1],
                  STALE_EN)
    answer = await (await c.admin.press_data(f"preas:{pid}:guangminglu-office",
                                             message=as_too_old(returned))).answer()
    assert answer.show_alert and answer.text == (
        f"Problem {ref} was returned by Guangminglu Subdistrict Office: give it to another "
        "unit.")
    await drained(town)
    assert (await problem(town, ref)).status == "returned"
    assert [m.message_id for m in c.office.bot_messages() if ref in (m.text or "")] \
        == [card.message_id]


async def test_an_inspector_removed_mid_visit_over_a_request_gets_the_request_back_once(
        town: Town) -> None:
    """Li has begun a request (its category chosen) when he starts a visit; the centre admin
    removes him as an inspector, and Li then types a point's name. He is told the visit has
    ended, and is back at his request: "Back to your unfinished request" comes once, after
    that line, not twice."""
    c = await cast(town)
    await open_form(c.li)
    await c.li.press("Help for the elderly")
    await c.li.wait_for(text="describe the problem")
    await c.li.send("/inspect")
    await c.li.wait_for(text="Which point are you at?")
    await c.admin.send(f"/inspector remove {c.li.id}")
    await c.admin.wait_for(text="Li is no longer an inspector")

    await c.li.send("zhongxin")
    told = await c.li.wait_for(text="You are no longer an inspector, so this visit has ended")
    back = await c.li.wait_for(text="Now, back to your unfinished request.")
    await drained(town)
    backs = [m for m in c.li.private.bot_messages()
             if "back to your unfinished request" in (m.text or "")]
    assert backs == [back], [m.text for m in backs]
    assert told.message_id < back.message_id


# -- messages Telegram no longer shows ------------------------------------------------------


def as_too_old(message: SimMessage) -> SimMessage:
    """The message as Telegram sends it with a press some days after it was posted: an
    inaccessible message (its id and chat, date 0; no text, no keyboard)."""
    raw = {"message_id": message.message_id, "chat": message.raw["chat"], "date": 0}
    return replace(message, raw=raw)


async def test_more_time_approved_days_later_in_the_admin_chat_is_approved(
        town: Town) -> None:
    """The Guangminglu office asks for more time; the admins press Approve in their chat some
    days later, when Telegram no longer sends that message's contents with the press (date 0,
    no keyboard). The request is approved, the office told, and the admins' message says so:
    the admins' chat is where those buttons wait. The same old press on the office's card,
    where the admins' buttons never are, is still refused and changes nothing."""
    c = await cast(town)
    ref = await report(town, c.li, severity="urgent")
    card = await c.office.wait_for(text=ref)
    await (await c.zhang.press("✅ Received", message=card)).answer()
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))
    await (await c.zhang.press("⏳ Need more time", message=card)).answer()
    await c.zhang.wait_for(text="why do you need more time")
    await c.zhang.send("The stall owners need notice")
    await c.zhang.wait_for(text="Until when?")
    await c.zhang.send("6-15 18:00")
    ask = await town.admin_chat.wait_for(text=f"asks for more time on problem {ref}")
    approve = ask.button_data["✅ Approve"]
    await drained(town)
    before = Snapshot(town, card)

    await refused(c.admin, approve, as_too_old(card), STALE_EN)
    await before.unchanged()
    answer = await (await c.admin.press_data(approve, message=as_too_old(ask))).answer()
    assert answer.text == "Done.", answer
    await c.office.wait_for(text=f"More time on problem {ref} approved")
    await town.sb.wait_until(lambda: "approved" in (ask.text or "").lower())
    assert (await problem(town, ref)).extensions == 1


async def test_a_forged_press_on_ones_own_roster_too_old_to_look_at_leaves_it_as_it_was(
        town: Town) -> None:
    """The same roster some days later, when Telegram no longer sends its keyboard with a
    press (date 0): what it carries cannot be looked at. The admin forges No of "Cancel this
    call?" on it: the press's own unit of work finds the bot redraws that message (it is the
    call's roster), and refuses it politely; the roster reads as before and Li is still in.
    The same press on a plain old message of the admin's own chat reaches the call, which
    stands: "kept"."""
    li = town.vol1
    await approved(town, li)
    await sent_call(town)
    copy = await li.wait_for(text="Recruitment call #1")
    await (await li.press("🙋 I'm in", message=copy)).answer()
    await li.wait_for(text="You're in for call #1")
    roster = next(m for m in town.admin.private.bot_messages()
                  if "answered · sent to" in (m.text or ""))
    await town.sb.wait_until(lambda: "1. Li" in (
        (town.admin.private.get(roster.message_id) or roster).text or ""), timeout=5)
    await drained(town)
    before = Snapshot(town, roster)

    await refused(town.admin, "ccancel:1:n", as_too_old(roster), STALE_EN)

    await before.unchanged()
    assert answers(town) == [(li.id, "signed")]
