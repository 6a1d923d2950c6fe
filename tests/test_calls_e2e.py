"""Recruitment calls (招募令), end to end: an admin writes an urgent call in a short dialog
(what, where and a map point, how many, until when, to whom), previews and sends it; its card
reaches the volunteer groups with I'm in and how many have answered of how many needed, and
the approved volunteers get it in private; responders answer with one tap and get the details
and the map point; the admin's roster updates itself; answers past the number needed are
reserves, one moves up when someone can't come after all; the admin closes or cancels the
call (everyone who answered told of a cancelling), its deadline closes it otherwise; those who
came are checked in by hand and credited hours that /hours counts. Every bad answer gets one
polite line.

The example area tree and a teams file are used; Admin is a centre admin; Li and Zhang are
approved volunteers of Guangminglu Community 1. The clock starts on Wednesday 10 June 2026,
10:00 in Shanghai (tests/conftest.py).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, pressed_days_later, too_old

ROOT = Path(__file__).resolve().parent.parent
TEAMS = """id,area_id,name_zh,name_en,leader_id
guangming-red,guangminglu,光明路红马甲服务队,Guangminglu Red Vest Team,
jinhui,zhongxinjie,金晖助老服务队,Golden Glow Elderly Care Team,
"""
WHAT = "Fill sandbags at the Xiaohe dike"
PLACE = "Xiaohe dike, north sluice"
STATION = "guangminglu-01"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and a teams file of two teams."""
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


# -- the cast and the steps ----------------------------------------------------------------


async def approved(town: Town, *people: SimUser, area: str | None = STATION,
                   team: str | None = None) -> None:
    """Volunteers whose registrations an admin approved (as /join would leave them), who
    have opened the bot."""
    assert town.bot.services is not None
    env = town.bot.services.env
    for person in people:
        await person.send("/start")
        await person.wait_for(text="👋")
    async with env.db.transaction() as repo:
        for person in people:
            await repo.volunteers.apply(person.id, person.first_name, None, area, team,
                                        env.now())
            assert await repo.volunteers.decide(person.id, True, town.admin.id, None,
                                                env.now())


async def area_admin(town: Town, person: SimUser, area: str) -> None:
    """An area admin of `area`, granted as /grant would."""
    assert town.bot.services is not None
    env = town.bot.services.env
    async with env.db.transaction() as repo:
        assert await repo.people.grant(person.id, area, town.admin.id, env.now())


async def write_call(town: Town, admin: SimUser, *, needed: str = "2", until: str = "18:00",
                     point: bool = True, audience: tuple[str, ...] = ()) -> SimMessage:
    """The admin walks through /call up to the preview, which is returned; `audience`:
    buttons pressed at the last question (the admin's own areas are chosen already)."""
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")
    await admin.send(PLACE)
    await admin.wait_for(text="3/6")
    if point:
        await admin.send_location(34.853, 117.572)
    else:
        await admin.press("Skip ⏭")
    await admin.wait_for(text="4/6")
    await admin.send(needed)
    await admin.wait_for(text="5/6")
    await admin.send(until)
    question = await admin.wait_for(text="6/6")
    for label in audience:
        question = await toggle(town, admin, question, label)
    await admin.press("✔️ Done", message=question)
    return await admin.wait_for(text="Preview of the recruitment call")


async def toggle(town: Town, admin: SimUser, question: SimMessage, label: str) -> SimMessage:
    """Press an area or team at the To whom question; the question once redrawn."""
    chat = question.chat
    before = question.text
    await (await admin.press(label, message=question)).answer()
    await town.sb.wait_until(
        lambda: (chat.get(question.message_id) or question).text != before, timeout=5)
    current = chat.get(question.message_id)
    assert current is not None
    return current


async def sent_call(town: Town, **options: Any) -> SimMessage:
    """The centre admin sends a call to the whole district; the card the volunteer group
    receives."""
    await open_bot(town.admin)
    preview = await write_call(town, town.admin, **options)
    await town.admin.press("🚨 Send", message=preview)
    await town.admin.wait_for(text="Nobody has answered yet")
    return await town.volunteers.wait_for(text="Recruitment call #1")


async def now_says(town: Town, message: SimMessage, words: str) -> SimMessage:
    """Wait until a message has been edited to say `words`; the message as it stands."""
    chat: SimChat = message.chat

    def shows() -> bool:
        current = chat.get(message.message_id)
        return current is not None and words in (current.text or "")

    await town.sb.wait_until(shows, timeout=5)
    current = chat.get(message.message_id)
    assert current is not None
    return current


def buttons_of(message: SimMessage) -> list[str]:
    """The labels of a message's inline buttons."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def data_of(message: SimMessage, label: str) -> str:
    """The callback data of a message's button (to press it again later, stale)."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return next(b["callback_data"] for row in rows for b in row if label in b["text"])


def answers(town: Town) -> list[tuple[int, str]]:
    """Every answer to a call (user, status), oldest first, read beside the bot."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT s.user_id, s.status FROM activity_signups s JOIN "
                          "activities a ON a.id = s.activity_id WHERE a.kind = 'call' "
                          "ORDER BY s.id").fetchall()


def roster_of(town: Town) -> SimMessage:
    """The admin's roster message (the one that updates itself)."""
    return next(m for m in town.admin.private.bot_messages()
                if "answered · sent to" in (m.text or ""))


# -- sending and answering -------------------------------------------------------------------


async def test_an_admin_sends_a_call_and_volunteers_answer_with_one_tap(town: Town) -> None:
    """The preview shows what goes where; Send posts the card with I'm in (0/2) and sends
    the call to the approved volunteers in private; answers update the card and the admin's
    roster; the third is a reserve, and the admin hears once that the call is filled."""
    li, zhang, alice = town.vol1, town.vol2, town.citizen
    await approved(town, li, zhang)
    town.volunteers.add_member(alice)
    await open_bot(town.admin, alice)
    preview = await write_call(town, town.admin)
    text = preview.text or ""
    for words in (WHAT, PLACE, "Until 18:00", "2 people needed", "Map point: shared",
                  "To: 🏙 The whole district", "1 groups and to 2 volunteers in private"):
        assert words in text, (words, text)
    assert not town.volunteers.bot_messages()  # nothing goes out before Send

    await town.admin.press("🚨 Send", message=preview)
    card = await town.volunteers.wait_for(text="Recruitment call #1")
    assert buttons_of(card) == ["🙋 I'm in (0/2)"]
    assert "0 of 2 have answered" in (card.text or "")
    copy = await zhang.wait_for(text="Recruitment call #1")
    assert WHAT in (copy.text or "") and buttons_of(copy) == ["🙋 I'm in"]
    await li.wait_for(text="Recruitment call #1")
    assert not [m for m in alice.private.bot_messages() if "Recruitment call" in (m.text or "")]
    await now_says(town, preview, "Recruitment call #1 sent: to 1 groups and 2 volunteers")
    roster = await town.admin.wait_for(text="Nobody has answered yet")

    answer = await (await li.press("🙋 I'm in", message=card)).answer()
    assert answer.text == "You're in ✅"
    mine = await li.wait_for(text="You're in for call #1: number 1 of the 2 needed")
    assert PLACE in (mine.text or "")
    assert buttons_of(mine) == ["Can't come after all", "📍 Check in here"]
    point = await li.private.wait_for(predicate=lambda m: m.location is not None)
    assert point.location is not None
    card = await now_says(town, card, "1 of 2 have answered")
    assert buttons_of(card) == ["🙋 I'm in (1/2)"]
    await now_says(town, roster, "1. Li")

    await (await zhang.press("🙋 I'm in", message=copy)).answer()
    await zhang.wait_for(text="number 2 of the 2 needed")
    card = await now_says(town, card, "Enough people now")
    await town.admin.wait_for(text="has the 2 people it needed")

    await (await alice.press("🙋 I'm in", message=card)).answer()
    await alice.wait_for(text="as reserve number 1")
    roster = await now_says(town, roster, "3. Alice")
    assert "Reserves:" in (roster.text or "") and "2. Zhang" in (roster.text or "")
    await now_says(town, card, "3 of 2 have answered")
    assert answers(town) == [(li.id, "signed"), (zhang.id, "signed"), (alice.id, "signed")]
    assert town.sb.count_429 == 0


async def test_answering_twice_or_without_having_opened_the_bot_is_answered_politely(
    town: Town,
) -> None:
    li = town.vol1
    await approved(town, li)
    card = await sent_call(town)
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    again = await (await li.press("🙋 I'm in", message=card)).answer()
    assert again.show_alert and again.text == "You have already answered call #1. Thank you!"

    stranger = town.sb.add_user("Wu", language_code="en")
    town.volunteers.add_member(stranger)
    refused = await (await stranger.press("🙋 I'm in", message=card)).answer()
    assert refused.show_alert and "open @" in (refused.text or "")
    assert refused.url is not None and refused.url.endswith("?start=call_1")
    assert answers(town) == [(li.id, "signed")]

    # The link opens the bot on the call, with I'm in right there.
    await stranger.send("/start call_1")
    shown = await stranger.wait_for(text="Recruitment call #1")
    assert buttons_of(shown) == ["🙋 I'm in"]
    await (await stranger.press("🙋 I'm in", message=shown)).answer()
    await stranger.wait_for(text="number 2 of the 2 needed")


async def test_someone_who_cannot_come_after_all_makes_room_for_the_first_reserve(
    town: Town,
) -> None:
    li, zhang, alice = town.vol1, town.vol2, town.citizen
    await approved(town, li, zhang)
    town.volunteers.add_member(alice)
    await open_bot(alice)
    card = await sent_call(town)
    for person in (li, zhang, alice):
        await (await person.press("🙋 I'm in", message=card)).answer()
        await person.wait_for(text="You're in for call #1")
    mine = next(m for m in li.private.bot_messages() if "number 1 of" in (m.text or ""))
    withdraw = data_of(mine, "Can't come")

    answer = await (await li.press("Can't come after all", message=mine)).answer()
    assert answer.text == "Withdrawn"
    await now_says(town, mine, "You are no longer on call #1")
    moved = await alice.wait_for(text="you are now among the people needed")
    assert PLACE in (moved.text or "")
    roster = await now_says(town, roster_of(town), "1. Zhang")
    assert "Li" not in (roster.text or "") and "Reserves" not in (roster.text or "")
    await now_says(town, card, "2 of 2 have answered")
    assert answers(town) == [(li.id, "cancelled"), (zhang.id, "signed"), (alice.id, "signed")]

    # Pressed again, the button is gone from his message; on it as it was days ago, the
    # withdrawn answer is not there to withdraw.
    stale = await (await li.press_data(withdraw, message=mine)).answer()
    assert stale.show_alert and stale.text == "This button is no longer valid."
    stale = await (await li.press_data(withdraw, message=too_old(mine))).answer()
    assert stale.show_alert and stale.text == "You have not answered this call."


async def test_once_a_call_is_over_nobody_withdraws_from_it_and_no_reserve_is_called_up(
    town: Town,
) -> None:
    """A call for 2 people until 12:00: Li, Zhang and Alice answer (Alice is the reserve),
    nobody comes. At 12:01 the deadline has closed the call; Li presses Can't come after
    all on his copy: he is told the call is over, and Alice is not told she is now among the
    people needed for a call that has ended. The admin confirms the list (Li and Zhang are
    no-shows); Zhang's Can't come after all then erases nothing either."""
    li, zhang, alice = town.vol1, town.vol2, town.citizen
    await approved(town, li, zhang)
    town.volunteers.add_member(alice)
    await open_bot(alice)
    card = await sent_call(town, until="12:00")
    for person in (li, zhang, alice):
        await (await person.press("🙋 I'm in", message=card)).answer()
        await person.wait_for(text="You're in for call #1")
    before = answers(town)
    assert await town.tick(hours=2, minutes=1) == 1
    await town.admin.wait_for(text="reached its deadline")

    lis = next(m for m in li.private.bot_messages() if "number 1 of" in (m.text or ""))
    late = await (await li.press("Can't come after all", message=lis)).answer()
    assert late.show_alert and late.text == "Call #1 is over: there is nothing to withdraw from."
    assert answers(town) == before

    town.clock.advance(minutes=30)
    await town.admin.press("✅ Attendance and hours", message=roster_of(town))
    listing = await town.admin.wait_for(text="Attendance")
    await town.admin.press("✅ Confirm attendance and hours", message=listing)
    await town.admin.wait_for(text="confirmed")
    zhangs = next(m for m in zhang.private.bot_messages() if "number 2 of" in (m.text or ""))
    after = await (await zhang.press("Can't come after all", message=zhangs)).answer()
    assert after.show_alert and after.text == "Call #1 is over: there is nothing to withdraw from."
    assert answers(town) == before
    assert not [m for m in alice.private.bot_messages()
                if "now among the people needed" in (m.text or "")]
    assert "You are no longer on call" not in " ".join(
        m.text or "" for m in li.private.bot_messages() + zhang.private.bot_messages())


async def test_the_admin_closes_a_call_its_cards_lose_the_button(town: Town) -> None:
    li, zhang = town.vol1, town.vol2
    await approved(town, li, zhang)
    card = await sent_call(town)
    press_in = data_of(card, "I'm in")
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    await town.admin.press("🔒 Close the call", message=roster_of(town))
    await town.admin.wait_for(text="Call #1 is closed")
    card = await now_says(town, card, "This call is closed")
    assert buttons_of(card) == []
    roster = await now_says(town, roster_of(town), "This call is closed")
    assert buttons_of(roster) == ["✋ Check in by hand", "✅ Attendance and hours"]

    late = await (await zhang.press_data(press_in, chat=town.volunteers,
                                         message=too_old(card))).answer()
    assert late.show_alert and late.text == "Call #1 is closed: no more answers are taken. " \
        "Thank you!"
    again = await (await town.admin.press_data(
        "cman:1:close", message=too_old(roster_of(town)))).answer()
    assert again.show_alert and again.text == "Call #1 has ended already."
    # Those who answered are still expected: nobody is told anything.
    assert not [m for m in li.private.bot_messages() if "cancelled" in (m.text or "")]
    assert answers(town) == [(li.id, "signed")]


async def test_the_admin_cancels_a_call_and_everyone_who_answered_is_told(town: Town) -> None:
    li, zhang = town.vol1, town.vol2
    await approved(town, li, zhang)
    card = await sent_call(town)
    press_in = data_of(card, "I'm in")
    for person in (li, zhang):
        await (await person.press("🙋 I'm in", message=card)).answer()
        await person.wait_for(text="You're in for call #1")

    await town.admin.press("❌ Cancel the call", message=roster_of(town))
    ask = await town.admin.wait_for(text="The 2 who answered will be told not to come")
    await town.admin.press("No, keep it", message=ask)
    await now_says(town, ask, "Call #1 stays open.")
    await town.admin.press("❌ Cancel the call", message=roster_of(town))
    ask = await town.admin.wait_for(text="Cancel call #1")
    await town.admin.press("Yes, cancel it", message=ask)
    await now_says(town, ask, "Call #1 is cancelled; 2 people were told.")
    for person in (li, zhang):
        told = await person.wait_for(text="is cancelled: please do not come")
        assert WHAT in (told.text or "")
    card = await now_says(town, card, "This call was cancelled.")
    assert buttons_of(card) == []
    roster = await now_says(town, roster_of(town), "This call was cancelled.")
    assert buttons_of(roster) == []

    stranger = town.sb.add_user("Wu", language_code="en")
    town.volunteers.add_member(stranger)
    late = await (await stranger.press_data(press_in, chat=town.volunteers,
                                            message=too_old(card))).answer()
    assert late.show_alert and late.text == "Call #1 was cancelled: no need to come."
    twice = await (await town.admin.press_data("ccancel:1:y", message=too_old(ask))).answer()
    assert twice.show_alert and twice.text == "Call #1 has ended already."


async def test_the_deadline_closes_the_call_and_the_admin_hears_how_it_went(
    town: Town,
) -> None:
    li = town.vol1
    await approved(town, li)
    card = await sent_call(town, until="12:00")
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    assert await town.tick(hours=1) == 0  # 11:00: not yet
    assert buttons_of(town.volunteers.get(card.message_id) or card) != []
    assert await town.tick(hours=1, minutes=1) == 1
    told = await town.admin.wait_for(text="reached its deadline: 1 of 2 answered")
    assert WHAT[:20] in (told.text or "")
    card = await now_says(town, card, "This call is closed")
    assert buttons_of(card) == []


# -- hours ------------------------------------------------------------------------------------


async def test_those_who_came_are_checked_in_and_credited_hours_that_count(town: Town) -> None:
    """The admin checks Li in by hand at 10:30; at 13:00 confirms the list: 2.5 h are
    credited, /hours counts them; Zhang, who never came, is not credited."""
    li, zhang = town.vol1, town.vol2
    await approved(town, li, zhang)
    card = await sent_call(town)
    for person in (li, zhang):
        await (await person.press("🙋 I'm in", message=card)).answer()
        await person.wait_for(text="You're in for call #1")
    town.clock.advance(minutes=30)
    await town.admin.press("✋ Check in by hand", message=roster_of(town))
    hands = await town.admin.wait_for(text="Check in by hand for")
    assert buttons_of(hands) == ["✋ Li", "✋ Zhang"]
    answer = await (await town.admin.press("✋ Li", message=hands)).answer()
    assert answer.text == "Li checked in."
    await li.wait_for(text="checked you in")

    # A responder who has checked in cannot withdraw any more.
    mine = next(m for m in li.private.bot_messages() if "number 1 of" in (m.text or ""))
    refused = await (await li.press("Can't come after all", message=mine)).answer()
    assert refused.show_alert and "checked in already" in (refused.text or "")

    town.clock.advance(hours=2, minutes=30)
    await town.admin.press("✅ Attendance and hours", message=roster_of(town))
    listing = await town.admin.wait_for(text="Attendance")
    assert "2.5" in (listing.text or ""), listing.text
    await town.admin.press("✅ Confirm attendance and hours", message=listing)
    await li.wait_for(text="2.5")
    await town.admin.wait_for(text="confirmed")
    await li.send("/hours")
    hours = await li.wait_for(text="2026")
    assert "2.5" in (hours.text or ""), hours.text
    assert not [m for m in zhang.private.bot_messages() if "2.5" in (m.text or "")]

    # /stats counts the call with the activities, and says how many were calls.
    await town.admin.send("/stats 2026-06")
    stats = await town.admin.wait_for(text="Volunteer activities")
    lines = (stats.text or "").splitlines()
    assert "Activities: 1 held or planned, 0 cancelled; attendance confirmed for 1" in lines
    assert "  of which recruitment calls: 1" in lines


# -- bad input ----------------------------------------------------------------------------------


async def test_every_bad_answer_of_the_dialog_gets_one_line_and_loses_nothing(
    town: Town,
) -> None:
    admin = town.admin
    await open_bot(admin)
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")
    await admin.send("line one\nline two")
    await admin.wait_for(text="Please write the place in one line")
    await admin.send(PLACE)
    await admin.wait_for(text="3/6")
    await admin.send("somewhere")
    await admin.wait_for(text="Please share the place on the map")
    await admin.press("Skip ⏭")
    await admin.wait_for(text="4/6")
    for bad in ("0", "lots", "-3"):
        await admin.send(bad)
        line = await admin.wait_for(text="Please type how many people are needed")
        assert buttons_of(line) == ["5", "10", "20", "50"]
    zero = data_of(line, "5").rsplit(":", 1)[0] + ":0"  # the 5 button, saying 0
    forged = await (await admin.press_data(zero, message=line)).answer()
    assert forged.show_alert and forged.text == "This button is no longer valid."
    await admin.press("10", message=line)
    await admin.wait_for(text="5/6")
    await admin.send("09:00")  # it is 10:00: this morning has passed
    await admin.wait_for(text="09:00 has already passed (it is 10:00 now)")
    await admin.send("2026-06-09 18:00")
    await admin.wait_for(text="2026-06-09 18:00 has already passed")
    await admin.send("soon")
    await admin.wait_for(text="Please write the deadline as a time today")
    await admin.send("2026-06-30 18:00")
    await admin.wait_for(text="stands for 7 days at most")
    await admin.send("2026-06-11 08:00")
    question = await admin.wait_for(text="6/6")
    question = await toggle(town, admin, question, "🏙 The whole district")  # now nobody
    refused = await (await admin.press("✔️ Done", message=question)).answer()
    assert refused.show_alert and refused.text == "Please choose at least one area or team."
    await admin.send("Atlantis")
    await admin.wait_for(text="No area or team is called \"Atlantis\"")
    await admin.send("Guangminglu Subdistrict Institute")
    chosen = await admin.wait_for(text="Chosen: Guangminglu Subdistrict Institute")
    await admin.press("✔️ Done", message=chosen)
    preview = await admin.wait_for(text="Preview of the recruitment call")
    assert "Until 2026-06-11 08:00" in (preview.text or "")
    assert "10 people needed" in (preview.text or "")
    await admin.send("hello")
    await admin.wait_for(text="Please use the buttons under the preview")

    # The preview's Send, pressed twice: one call.
    send = data_of(preview, "Send")
    await admin.press("🚨 Send", message=preview)
    await admin.wait_for(text="Nobody has answered yet")
    twice = await (await admin.press_data(send, message=too_old(preview))).answer()
    assert twice.show_alert and twice.text == "This call was sent already (#1)."


async def test_a_preview_left_past_its_deadline_sends_nothing(town: Town) -> None:
    admin = town.admin
    await open_bot(admin)
    preview = await write_call(town, admin, until="10:30")
    town.clock.advance(hours=1)
    refused = await (await admin.press("🚨 Send", message=preview)).answer()
    assert refused.show_alert and "deadline has passed" in (refused.text or "")
    await admin.wait_for(text="5/6")
    assert not town.volunteers.bot_messages()


async def test_forged_and_foreign_presses_are_refused(town: Town) -> None:
    li = town.vol1
    await approved(town, li)
    card = await sent_call(town)
    # Data the group's card does not carry is refused before anything is looked at.
    for data in ("cin:999", "cout:1", "cman:1:cancel", "ccancel:1:y", "asign:1"):
        answer = await (await li.press_data(data, chat=town.volunteers, message=card)).answer()
        assert answer.show_alert, (data, answer)
        assert answer.text == "This button is no longer valid.", (data, answer.text)
    # On the card some days old (what it carries is not seen) they reach the services:
    # Can't come and Yes under "Cancel this call?" edit the message they are on, which a
    # group's card is not, and are still refused; the others answer for the call.
    for data, words in (("cin:999", "This recruitment call does not exist."),
                        ("cout:1", "This button is no longer valid."),
                        ("cman:1:cancel", "Only the organiser"),  # not Li's call
                        ("ccancel:1:y", "This button is no longer valid."),
                        ("asign:1", "")):  # a call is no activity to sign up for
        answer = await (await li.press_data(data, chat=town.volunteers,
                                            message=too_old(card))).answer()
        assert answer.show_alert, (data, answer)
        assert words in (answer.text or ""), (data, answer.text)
    # In Li's own private chat, on a message days old, they reach the call, which is not
    # Li's to leave or cancel.
    for data, words in (("cout:1", "You have not answered this call."),
                        ("ccancel:1:y", "Only the organiser")):
        answer = await pressed_days_later(li, data)
        assert answer.show_alert and words in (answer.text or ""), (data, answer.text)
    assert answers(town) == []
    await now_says(town, card, "0 of 2 have answered")
    # The activities' own controls refuse to close or cancel a call.
    wrong = await (await town.admin.press_data("aman:1:close",
                                               message=too_old(roster_of(town)))).answer()
    assert wrong.show_alert and "use the buttons under its roster" in (wrong.text or "")
    assert buttons_of(town.volunteers.get(card.message_id) or card) == ["🙋 I'm in (0/2)"]


async def test_only_admins_send_calls(town: Town) -> None:
    await open_bot(town.vol2)
    await town.vol2.send("/call")
    await town.vol2.wait_for(text="only centre admins and area admins can send")


# -- to whom ---------------------------------------------------------------------------------


async def test_an_area_admin_calls_their_own_areas_and_a_team_by_default_and_no_more(
    town: Town,
) -> None:
    """Zhang, area admin of Guangminglu: the call is for Guangminglu by default; the whole
    district and Zhongxinjie are not Zhang's to call. The card reaches Guangminglu's group
    and the Red Vest Team's own group, not Zhongxinjie's; in private, Guangminglu's and the
    team's volunteers only."""
    zhang, li, alice, grandma = town.vol2, town.vol1, town.citizen, town.grandma
    await area_admin(town, zhang, "guangminglu")
    await approved(town, li)  # Guangminglu Community 1
    await approved(town, alice, area="zhongxinjie-01")
    await approved(town, grandma, area="zhongxinjie-02", team="guangming-red")
    groups = {}
    for name, where in (("Guangminglu volunteers", "elderly guangminglu"),
                        ("Zhongxinjie volunteers", "elderly zhongxinjie")):
        group = town.sb.add_group(name)
        group.add_member(town.admin, status="administrator")
        await town.admin.send(f"/bind {where}", chat=group)
        await group.wait_for(text="This group now receives requests")
        groups[name] = group
    team_group = town.sb.add_group("Red Vest Team")
    team_group.add_member(town.admin, status="administrator")
    await town.admin.send("/bind team guangming-red", chat=team_group)
    await team_group.wait_for(text="now the group of")

    await zhang.send("/call")
    await zhang.wait_for(text="1/6")
    for answer, then in ((WHAT, "2/6"), (PLACE, "3/6")):
        await zhang.send(answer)
        await zhang.wait_for(text=then)
    await zhang.press("Skip ⏭")
    await zhang.wait_for(text="4/6")
    await zhang.press("5")
    await zhang.wait_for(text="5/6")
    await zhang.send("18:00")
    question = await zhang.wait_for(text="Chosen: Guangminglu Subdistrict Institute")
    assert "The whole district" not in " ".join(buttons_of(question))
    for forged in ("call:{}:all:", "call:{}:area:zhongxinjie"):
        draft = data_of(question, "Done").split(":")[1]
        refused = await (await zhang.press_data(forged.format(draft),
                                                message=question)).answer()
        assert refused.show_alert and "no longer valid" in (refused.text or ""), forged
    await zhang.send("Zhongxinjie Subdistrict Institute")
    await zhang.wait_for(text="outside the areas you look after")
    question = await toggle(town, zhang, question, "Guangminglu Red Vest Team")
    await zhang.press("✔️ Done", message=question)
    preview = await zhang.wait_for(text="Preview")
    assert "To: Guangminglu Subdistrict Institute; 👥 Guangminglu Red Vest Team" in (
        preview.text or "")
    await zhang.press("🚨 Send", message=preview)
    await zhang.wait_for(text="Nobody has answered yet")

    await groups["Guangminglu volunteers"].wait_for(text="Recruitment call #1")
    await team_group.wait_for(text="Recruitment call #1")
    await li.wait_for(text="Recruitment call #1")
    await grandma.wait_for(text="招募令 #1")  # by her team, in her language
    await now_says(town, roster_of_user(zhang), "sent to 2 groups and 2 volunteers")
    for chat in (groups["Zhongxinjie volunteers"], town.volunteers):
        assert not [m for m in chat.bot_messages() if "call #1" in (m.text or "")], chat
    assert not [m for m in alice.private.bot_messages() if "call #1" in (m.text or "")]
    by_day = [params for _, params, _ in town.sb.calls_to("sendMessage")
              if "call #1" in str(params.get("text")) or "招募令 #1" in str(params.get("text"))]
    assert len(by_day) == 4 and not any(p.get("disable_notification") for p in by_day)


def roster_of_user(admin: SimUser) -> SimMessage:
    """An admin's roster message."""
    return next(m for m in admin.private.bot_messages()
                if "answered · sent to" in (m.text or ""))


async def test_a_call_in_quiet_hours_goes_out_at_once_without_a_sound(
    town: Town,
) -> None:
    li = town.vol1
    await approved(town, li)
    town.clock.set(datetime(2026, 6, 10, 23, 0, tzinfo=SHANGHAI))
    await open_bot(town.admin)
    preview = await write_call(town, town.admin, until="2026-06-11 06:00")
    assert "quiet hours now" in (preview.text or "")
    await town.admin.press("🚨 Send", message=preview)
    card = await town.volunteers.wait_for(text="Recruitment call #1")
    await li.wait_for(text="Recruitment call #1")
    sent = [params for _, params, _ in town.sb.calls_to("sendMessage")
            if "Recruitment call #1" in str(params.get("text"))]
    assert len(sent) == 2 and all(p.get("disable_notification") in (True, "true", "True")
                                  for p in sent), sent
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")


async def test_a_call_written_late_in_the_evening_may_stand_until_a_time_after_midnight(
    town: Town,
) -> None:
    """At 22:00 the dike leaks. The question suggests three hours from now, "01:00", and the
    admin types just that: it is tonight's 01:00, not this morning's, which has passed. The
    next morning at 10:00, "01:00" is a slip, not tomorrow's, and is refused as before."""
    admin = town.admin
    await open_bot(admin)

    async def up_to_the_deadline() -> SimMessage:
        await admin.send("/call")
        await admin.wait_for(text="1/6")
        await admin.send(WHAT)
        await admin.wait_for(text="2/6")
        await admin.send(PLACE)
        await admin.wait_for(text="3/6")
        await admin.press("Skip ⏭")
        await admin.wait_for(text="4/6")
        await admin.send("10")
        return await admin.wait_for(text="5/6")

    town.clock.set(datetime(2026, 6, 10, 22, 0, tzinfo=SHANGHAI))
    question = await up_to_the_deadline()
    assert "like 01:00" in (question.text or "")
    await admin.send("01:00")
    question = await admin.wait_for(text="6/6")
    await admin.press("✔️ Done", message=question)
    preview = await admin.wait_for(text="Preview of the recruitment call")
    assert "Until 2026-06-11 01:00" in (preview.text or "")
    assert (await (await admin.press("Cancel", message=preview)).answer()).text == "Cancelled"

    town.clock.set(datetime(2026, 6, 11, 10, 0, tzinfo=SHANGHAI))
    await up_to_the_deadline()
    await admin.send("01:00")
    await admin.wait_for(text="01:00 has already passed (it is 10:00 now)")


async def test_the_dialog_survives_a_restart(town: Town) -> None:
    admin = town.admin
    await open_bot(admin)
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")
    await town.bot.stop()
    await town.bot.start()
    await admin.send(PLACE)
    await admin.wait_for(text="3/6")
    await admin.press("Skip ⏭")
    await admin.wait_for(text="4/6")
    await admin.send("3")
    await admin.wait_for(text="5/6")
    await admin.send("17:30")
    question = await admin.wait_for(text="6/6")
    await admin.press("✔️ Done", message=question)
    preview = await admin.wait_for(text="Preview")
    assert WHAT in (preview.text or "") and "3 people needed" in (preview.text or "")


async def test_the_catalog_speaks_chinese_to_a_chinese_volunteer(town: Town) -> None:
    grandma = town.grandma
    await grandma.send("/start")
    await grandma.wait_for(text="选择")
    assert town.bot.services is not None
    env = town.bot.services.env
    async with env.db.transaction() as repo:
        await repo.volunteers.apply(grandma.id, "王奶奶", None, STATION, None, env.now())
        assert await repo.volunteers.decide(grandma.id, True, town.admin.id, None, env.now())
    await sent_call(town)
    copy = await grandma.wait_for(text="招募令 #1")
    assert "需要 2 人" in (copy.text or "") and buttons_of(copy) == ["🙋 我来"]
    answer = await (await grandma.press("🙋 我来", message=copy)).answer()
    assert answer.text == "已响应 ✅"
    mine = await grandma.wait_for(text="您已响应招募令 #1")
    assert buttons_of(mine) == ["我来不了了", "📍 现场签到"]


async def test_a_responder_there_a_few_minutes_is_told_why_no_hours_not_about_a_share(
    town: Town,
) -> None:
    """A call asks no share of its window, so the only reason for no hours is time under a
    quarter hour, and that is what the responder is told (not the activities' 60% rule)."""
    li = town.vol1
    await approved(town, li)
    card = await sent_call(town)
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    town.clock.advance(minutes=30)
    await town.admin.press("✋ Check in by hand", message=roster_of(town))
    hands = await town.admin.wait_for(text="Check in by hand for")
    await (await town.admin.press("✋ Li", message=hands)).answer()
    await li.wait_for(text="checked you in")
    town.clock.advance(minutes=5)
    await town.admin.press("✅ Attendance and hours", message=roster_of(town))
    listing = await town.admin.wait_for(text="Attendance")
    await town.admin.press("✅ Confirm attendance and hours", message=listing)
    told = await li.wait_for(text="no hours were credited")
    assert "less than a quarter hour" in (told.text or "") and "60%" not in (told.text or "")


async def test_a_roster_the_admin_deleted_comes_back_with_its_controls(town: Town) -> None:
    """The admin deletes the call's roster in the private chat. Li answers: the roster
    cannot be redrawn, so it is posted again as it now stands, with the admin's controls, and
    Close the call pressed there closes the call and redraws that roster."""
    li, zhang = town.vol1, town.vol2
    await approved(town, li, zhang)
    card = await sent_call(town)
    roster = roster_of(town)
    controls = buttons_of(roster)
    assert "🔒 Close the call" in controls
    town.admin.private.delete(roster, by=town.admin)

    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    again = await town.admin.wait_for(text="1. Li")
    assert again is not roster and "answered · sent to" in (again.text or "")
    assert buttons_of(again) == controls
    assert ("editMessageText", "Bad Request: message to edit not found") in town.sb.errors

    await town.admin.press("🔒 Close the call", message=again)
    await town.admin.wait_for(text="Call #1 is closed")
    await now_says(town, again, "This call is closed")
    assert roster_of(town) is again


async def test_a_teams_group_bound_later_gets_its_open_call_once(town: Town) -> None:
    """A call to the whole district and the Red Vest Team, which has no group yet. The
    admins bind the team's new group: the card of the call still open comes there, with
    I'm in; an answer there redraws it; binding the group again sends no second card."""
    li = town.vol1
    await approved(town, li)
    card = await sent_call(town, audience=("Guangminglu Red Vest Team",))
    assert buttons_of(card) == ["🙋 I'm in (0/2)"]

    team_group = town.sb.add_group("Red Vest Team")
    team_group.add_member(town.admin, status="administrator")
    team_group.add_member(li)
    await town.admin.send("/bind team guangming-red", chat=team_group)
    await team_group.wait_for(text="now the group of")
    there = await team_group.wait_for(text="Recruitment call #1")
    assert buttons_of(there) == ["🙋 I'm in (0/2)"]
    answer = await (await li.press("🙋 I'm in", message=there)).answer()
    assert answer.text == "You're in ✅"
    there = await now_says(town, there, "1 of 2 have answered")
    await now_says(town, card, "1 of 2 have answered")

    await town.admin.send("/bind team guangming-red", chat=team_group)
    await town.sb.wait_until(lambda: len([m for m in team_group.bot_messages()
                                          if "now the group of" in (m.text or "")]) == 2,
                             timeout=5)
    await town.admin.send("/help", chat=team_group)
    await town.sb.wait_until(lambda: len(team_group.bot_messages()) >= 4, timeout=5)
    assert len([m for m in team_group.bot_messages()
                if "Recruitment call #1" in (m.text or "")]) == 1


async def test_a_teams_group_bound_later_gets_only_the_calls_to_it_still_open(
    town: Town,
) -> None:
    """Four calls before the Red Vest Team has a group: #1 to the team, closed by the admin;
    #2 to the Golden Glow team; #3 to the Red Vest Team, whose deadline (12:00) has just
    passed, a moment before the clock closes it; #4 to the Red Vest Team, open until 18:00.
    The team's group, bound at 12:00:30, gets the card of #4 alone."""
    await open_bot(town.admin)

    async def send(number: int, **options: Any) -> None:
        preview = await write_call(town, town.admin, **options)
        await town.admin.press("🚨 Send", message=preview)
        await town.admin.wait_for(text="Nobody has answered yet")
        await town.volunteers.wait_for(text=f"Recruitment call #{number}")

    red, glow = "Guangminglu Red Vest Team", "Golden Glow Elderly Care Team"
    await send(1, audience=(red,))
    await town.admin.press("🔒 Close the call", message=roster_of(town))
    await town.admin.wait_for(text="Call #1 is closed")
    await send(2, audience=(glow,))
    await send(3, audience=(red,), until="12:00")
    await send(4, audience=(red,))
    town.clock.set(datetime(2026, 6, 10, 12, 0, 30, tzinfo=SHANGHAI))

    team_group = town.sb.add_group("Red Vest Team")
    team_group.add_member(town.admin, status="administrator")
    await town.admin.send("/bind team guangming-red", chat=team_group)
    await team_group.wait_for(text="now the group of")
    await team_group.wait_for(text="Recruitment call #4")
    await town.admin.send("/help", chat=team_group)  # answered after anything the bind sent
    await town.sb.wait_until(lambda: len(team_group.bot_messages()) >= 3, timeout=5)
    posted = [n for n in (1, 2, 3, 4) if any(f"Recruitment call #{n}" in (m.text or "")
                                              for m in team_group.bot_messages())]
    assert posted == [4]


async def test_a_call_card_posted_twice_is_taken_on_when_its_lost_copy_is_pressed(
        town: Town) -> None:
    """The call's card reaches the volunteers' group but Telegram's answer is cut off, so the
    bot posts it again and knows only the second. Li presses I'm in on the first: he is in,
    and that copy is taken on as a card of its own, showing 1 of 2 like the other; once the
    admin closes the call both copies lose the button. Zhang, pressing the first copy once it
    is closed, is told politely and nothing changes (before, the lost copy offered I'm in
    (0/2) for ever)."""
    await approved(town, town.vol1, town.vol2)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    first = await sent_call(town)
    second = await town.volunteers.wait_for(
        predicate=lambda m: "Recruitment call #1" in (m.text or "")
        and m.message_id != first.message_id)
    press_in = data_of(first, "I'm in")
    answer = await (await town.vol1.press("🙋 I'm in", message=first)).answer()
    assert answer.text == "You're in ✅"
    for copy in (first, second):
        copy = await now_says(town, copy, "1 of 2 have answered")
        assert buttons_of(copy) == ["🙋 I'm in (1/2)"]
    await town.admin.press("🔒 Close the call", message=roster_of(town))
    await town.admin.wait_for(text="Call #1 is closed")
    for copy in (first, second):
        await town.sb.wait_until(lambda copy=copy: buttons_of(
            copy.chat.get(copy.message_id) or copy) == [], timeout=5)
    closed = await (await town.vol2.press_data(press_in, message=first)).answer()
    assert closed.show_alert and closed.text == "This button is no longer valid."
    assert answers(town) == [(town.vol1.id, "signed")]


async def test_a_lost_copy_of_a_call_pressed_once_it_is_closed_is_put_right(
        town: Town) -> None:
    """The call's card is posted twice the same way, and the admin closes the call: the copy
    the bot knows loses its button, the lost one still offers I'm in. Li presses it: he is
    told the call is closed, nobody is signed up, and that copy now says so without the
    button."""
    await approved(town, town.vol1)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    first = await sent_call(town)
    await town.volunteers.wait_for(predicate=lambda m: "Recruitment call #1" in (m.text or "")
                                   and m.message_id != first.message_id)
    await town.admin.press("🔒 Close the call", message=roster_of(town))
    await town.admin.wait_for(text="Call #1 is closed")
    assert buttons_of(first.chat.get(first.message_id) or first) == ["🙋 I'm in (0/2)"]
    late = await (await town.vol1.press("🙋 I'm in", message=first)).answer()
    assert late.show_alert and late.text == "Call #1 is closed: no more answers are taken. " \
        "Thank you!"
    first = await now_says(town, first, "This call is closed")
    assert buttons_of(first) == []
    assert answers(town) == []
