"""Volunteer activities, end to end: a team leader publishes an activity in a guided dialog,
its recruitment card reaches the volunteer group with Sign up and the places left; volunteers
sign up with one tap, a full activity offers the waitlist, a place given up goes to the first
who waits; the organiser sees who came, closes and reopens sign-up, cancels (everyone told);
reminders come the day before and an hour before; every bad answer gets one polite line.

The town's teams file makes Li (user 1003, the first volunteer) the leader of the Guangminglu
Red Vest Team; the example area tree and themes file are used. The clock starts on Wednesday
10 June 2026, 10:00 in Shanghai (tests/conftest.py); the activity is on Saturday 13 June.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import eventually, open_bot, open_form, pressed_days_later, too_old

ROOT = Path(__file__).resolve().parent.parent
LEADER_ID = 1003  # Li: the sandbox numbers users from 1001 in the order the town adds them
TEAMS = f"""id,area_id,name_zh,name_en,leader_id
guangming-red,guangminglu,光明路红马甲服务队,Guangminglu Red Vest Team,{LEADER_ID}
jinhui,zhongxinjie,金晖助老服务队,Golden Glow Elderly Care Team,
"""
TITLE = "Tree planting in Guangming Park"
PLACE = "Guangming Park, east gate"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example areas and themes, and a teams file whose Red Vest Team Li leads."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"activities": {"themes_file": "themes.toml"},
            "areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


async def publish(leader: SimUser, capacity: str = "2", start: str = "2026-06-13 09:00",
                  end: str = "11:30", point: tuple[float, float] = (34.855, 117.570)
                  ) -> SimMessage:
    """The team leader walks through /publish up to the preview, which is returned."""
    await leader.send("/publish")
    await leader.wait_for(text="1/12")
    await leader.send(TITLE)
    await leader.wait_for(text="4/12")  # one team, and its area: nothing to choose
    await leader.send(PLACE)
    await leader.wait_for(text="5/12")
    await leader.send_location(*point)
    await leader.wait_for(text="6/12")
    await leader.send(start)
    await leader.wait_for(text="7/12")
    await leader.send(end)
    await leader.wait_for(text="8/12")
    await leader.send(capacity)
    await leader.wait_for(text="9/12")
    await leader.press("🙋 I lead it")
    await leader.wait_for(text="10/12")
    await leader.press("🎯 Theme: Caring for the young and the old")
    await leader.wait_for(text="11/12")
    await leader.press("Skip ⏭")
    await leader.wait_for(text="12/12")
    await leader.send("Dig, plant and water. Bring gloves.")
    return await leader.wait_for(text="Preview")


async def when_who_and_theme(leader: SimUser) -> None:
    """Steps 6 to 10 answered plainly: Saturday 09:00 to 11:30, 5 places, the leader leads,
    no theme; the form is at step 11."""
    await leader.send("2026-06-13 09:00")
    await leader.wait_for(text="7/12")
    await leader.send("11:30")
    await leader.wait_for(text="8/12")
    await leader.send("5")
    await leader.wait_for(text="9/12")
    await leader.press("🙋 I lead it")
    await leader.wait_for(text="10/12")
    await leader.press("No theme")
    await leader.wait_for(text="11/12")


async def published_card(town: Town, leader: SimUser) -> SimMessage:
    """Publish from the preview; the card the volunteer group receives."""
    preview = await publish(leader)
    await leader.press("✅ Publish", message=preview)
    await leader.wait_for(text="your controls")
    return await town.volunteers.wait_for(text="Volunteers wanted")


async def card_now(town: Town, card: SimMessage, words: str) -> SimMessage:
    """Wait until the card has been edited to say `words`; the card as it stands."""
    chat: SimChat = card.chat

    def shows() -> bool:
        current = chat.get(card.message_id)
        return current is not None and words in (current.text or "")

    await town.sb.wait_until(shows, timeout=5)
    current = chat.get(card.message_id)
    assert current is not None
    return current


def buttons_of(message: SimMessage) -> list[str]:
    """The labels of a message's inline buttons."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def signups(town: Town) -> list[tuple[int, str]]:
    """Every sign-up row (user, status), oldest first, read beside the bot."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT user_id, status FROM activity_signups ORDER BY id").fetchall()


# -- publishing ----------------------------------------------------------------------------------


async def test_a_team_leader_publishes_and_the_card_reaches_the_volunteer_group(
    town: Town,
) -> None:
    leader = town.vol1
    assert leader.id == LEADER_ID
    await open_bot(leader)
    preview = await publish(leader)
    text = preview.text or ""
    for words in (TITLE, PLACE, "2026-06-13 09:00–11:30", "Guangminglu Red Vest Team",
                  "Theme: Caring for the young and the old", "On-site leader: Li",
                  "Map point: shared", "Signed up 0 of 2: 2 left", "Bring gloves"):
        assert words in text
    assert not town.volunteers.bot_messages()  # nothing is posted before Publish

    await leader.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    assert TITLE in (card.text or "") and "2 left" in (card.text or "")
    assert buttons_of(card) == ["🙋 Sign up (2 left)"]
    await leader.wait_for(text="your controls")
    current = await card_now(town, preview, "Published: #1")
    assert "posted in 1 group" in (current.text or "")


async def test_an_organiser_cannot_publish_twice_from_one_preview(town: Town) -> None:
    leader = town.vol1
    await open_bot(leader)
    preview = await publish(leader)
    await leader.press("✅ Publish", message=preview)
    await town.volunteers.wait_for(text="Volunteers wanted")
    again = await leader.press_data(
        next(b["callback_data"] for row in (preview.reply_markup or {})["inline_keyboard"]
             for b in row if b["text"] == "✅ Publish"), message=preview)
    answer = await again.answer()
    assert answer.show_alert and "published already (#1)" in (answer.text or "")
    assert len([m for m in town.volunteers.bot_messages()
                if "Volunteers wanted" in (m.text or "")]) == 1


async def test_a_start_that_passed_while_the_preview_waited_is_the_only_question_again(
    town: Town,
) -> None:
    """Li's preview says today 10:30 to 11:30, but he presses Publish at 11:10: only the
    start is asked again. 11:20 still ends at 11:30, so the preview comes straight back, with
    the places, the leader, the theme and the description he gave; then it is published."""
    leader = town.vol1
    await open_bot(leader)
    preview = await publish(leader, capacity="5", start="2026-06-10 10:30", end="11:30")
    town.clock.advance(minutes=70)
    await leader.press("✅ Publish", message=preview)
    await leader.wait_for(text="That time has passed")
    asked = len(leader.private.bot_messages())
    await leader.send("2026-06-10 11:20")
    again = await leader.wait_for(text="Preview")
    assert [m.text for m in leader.private.bot_messages()[asked:]] == [again.text]
    for words in ("2026-06-10 11:20–11:30", "On-site leader: Li", "Signed up 0 of 5",
                  "Theme: Caring for the young and the old", "Bring gloves"):
        assert words in (again.text or ""), again.text
    await leader.press("✅ Publish", message=again)
    await leader.wait_for(text="your controls")
    await town.volunteers.wait_for(text="Volunteers wanted")


async def test_a_new_start_after_the_old_end_asks_the_end_and_nothing_else(town: Town) -> None:
    """Li's start passed while the preview waited and he gives Saturday's: its end (today
    11:30) now comes before it, so the end is asked too, and then the preview is back with
    the rest as he gave it."""
    leader = town.vol1
    await open_bot(leader)
    preview = await publish(leader, capacity="5", start="2026-06-10 10:30", end="11:30")
    town.clock.advance(minutes=40)
    await leader.press("✅ Publish", message=preview)
    await leader.wait_for(text="That time has passed")
    await leader.send("2026-06-13 09:00")
    await leader.wait_for(text="7/12")
    await leader.send("11:30")
    again = await leader.wait_for(text="Preview")
    for words in ("2026-06-13 09:00–11:30", "On-site leader: Li", "Signed up 0 of 5",
                  "Theme: Caring for the young and the old", "Bring gloves"):
        assert words in (again.text or ""), again.text
    await leader.press("✅ Publish", message=again)
    await leader.wait_for(text="your controls")


async def test_someone_who_is_no_organiser_is_told_so(town: Town) -> None:
    await open_bot(town.vol2)
    await town.vol2.send("/publish")
    refused = await town.vol2.wait_for(text="only team leaders, area admins and centre admins")
    assert refused is not None


# -- signing up and the waitlist -----------------------------------------------------------------


async def test_volunteers_sign_up_a_full_activity_has_a_waitlist_and_a_freed_place_moves_up(
    town: Town,
) -> None:
    leader, first, second, third = town.vol1, town.vol2, town.citizen, town.grandma
    for person in (second, third):
        town.volunteers.add_member(person)
    await open_bot(leader, first, second)
    await third.send("/start")
    await third.wait_for(text="选择")
    card = await published_card(town, leader)

    answer = await (await first.press("🙋 Sign up", message=card)).answer()
    assert answer.text == "Signed up ✅"
    signed = await first.wait_for(text="You are signed up for")
    assert TITLE in (signed.text or "")
    assert buttons_of(signed) == ["Cancel my sign-up", "📍 Check in here"]
    card = await card_now(town, card, "1 left")

    await (await second.press("🙋 Sign up", message=card)).answer()
    card = await card_now(town, card, "Full (2); 0 on the waitlist")
    assert buttons_of(card) == ["⏳ Join the waitlist (0 waiting)"]

    answer = await (await third.press("⏳ Join the waitlist", message=card)).answer()
    assert answer.text == "已加入候补 ⏳"
    await third.wait_for(text="候补第 1 位")
    card = await card_now(town, card, "1 on the waitlist")

    # A second press is answered, and changes nothing.
    again = await (await first.press("⏳ Join the waitlist", message=card)).answer()
    assert again.show_alert and "signed up for" in (again.text or "")

    # The first volunteer gives up the place: it goes to the first who waits, who is told.
    await first.press("Cancel my sign-up", message=signed)
    confirm = await first.wait_for(text="Cancel your sign-up")
    await first.press("Yes, cancel my sign-up", message=confirm)
    await card_now(town, confirm, "is cancelled. Thank you for letting us know.")
    promoted = await third.wait_for(text="有空位了")
    assert TITLE in (promoted.text or "") and buttons_of(promoted) == ["我去不了，让出名额"]
    card = await card_now(town, card, "Full (2); 0 on the waitlist")
    assert signups(town) == [(first.id, "cancelled"), (second.id, "signed"),
                             (third.id, "signed")]


async def test_someone_who_never_opened_the_bot_is_sent_there_first(town: Town) -> None:
    await open_bot(town.vol1)
    card = await published_card(town, town.vol1)
    stranger = town.sb.add_user("Wu", language_code="en")
    town.volunteers.add_member(stranger)
    answer = await (await stranger.press("🙋 Sign up", message=card)).answer()
    assert answer.show_alert and "open the bot first" in (answer.text or "")
    assert answer.url is not None and answer.url.endswith("?start=act_1")
    assert signups(town) == []

    # The link opens the bot on the activity, with Sign up right there.
    await stranger.send("/start act_1")
    shown = await stranger.wait_for(text=TITLE)
    assert buttons_of(shown) == ["🙋 Sign up"]
    await stranger.press("🙋 Sign up", message=shown)
    await stranger.wait_for(text="You are signed up for")
    assert signups(town) == [(stranger.id, "signed")]


async def test_activities_lists_mine_and_those_i_can_join(town: Town) -> None:
    await open_bot(town.vol1, town.vol2)
    await published_card(town, town.vol1)
    await town.vol2.send("/activities")
    upcoming = await town.vol2.wait_for(text="Upcoming activities")
    assert TITLE in (upcoming.text or "") and buttons_of(upcoming) == ["Sign up for #1"]
    await town.vol2.press("Sign up for #1", message=upcoming)
    await town.vol2.wait_for(text="You are signed up for")

    await town.vol2.send("/activities")
    mine = await town.vol2.wait_for(text="Your activities")
    assert TITLE in (mine.text or "") and buttons_of(mine) == ["Cancel #1"]


# -- the organiser's controls --------------------------------------------------------------------


async def test_the_organiser_closes_reopens_and_cancels_and_everyone_is_told(town: Town) -> None:
    leader, volunteer = town.vol1, town.vol2
    await open_bot(leader, volunteer)
    card = await published_card(town, leader)
    await (await volunteer.press("🙋 Sign up", message=card)).answer()
    await volunteer.wait_for(text="You are signed up for")

    await leader.press("👥 Who signed up")
    roster = await leader.wait_for(text="1. Zhang")
    assert "Signed up 1 of 2" in (roster.text or "")

    await leader.press("🔒 Close sign-up")
    await leader.wait_for(text="is closed")
    card = await card_now(town, card, "Sign-up is closed.")
    assert buttons_of(card) == []
    late = await (await town.admin.press_data("asign:1", chat=town.volunteers,
                                              message=too_old(card))).answer()
    assert late.show_alert and "closed" in (late.text or "")

    await leader.press("🔓 Reopen sign-up")
    card = await card_now(town, card, "1 left")

    await leader.press("❌ Cancel the activity")
    await leader.wait_for(text="will be told")
    await leader.press("Yes, cancel it")
    told = await volunteer.wait_for(text="is cancelled. We are sorry")
    assert TITLE in (told.text or "")
    card = await card_now(town, card, "Cancelled: cancelled by the organiser (Li)")
    assert buttons_of(card) == []
    refused = await (await volunteer.press_data("asign:1", chat=town.volunteers,
                                                message=too_old(card))).answer()
    assert refused.show_alert and "cancelled" in (refused.text or "")


async def test_only_the_organiser_or_an_admin_may_use_the_controls(town: Town) -> None:
    await open_bot(town.vol1, town.vol2, town.admin)
    await published_card(town, town.vol1)
    forged = await pressed_days_later(town.vol2, "aman:1:cancel")
    assert forged.show_alert and "Only the organiser" in (forged.text or "")
    centre = await pressed_days_later(town.admin, "aman:1:close")
    assert centre.text == "Sign-up closed."


# -- reminders -----------------------------------------------------------------------------------


async def test_reminders_come_the_day_before_and_an_hour_before_and_the_card_closes_at_the_start(
    town: Town,
) -> None:
    await open_bot(town.vol1, town.vol2)
    card = await published_card(town, town.vol1)
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")

    town.clock.set(datetime(2026, 6, 12, 8, 59, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    assert not [m for m in town.vol2.private.bot_messages() if "Tomorrow" in (m.text or "")]
    await town.tick(minutes=2)
    tomorrow = await town.vol2.wait_for(text="Tomorrow")
    assert TITLE in (tomorrow.text or "") and PLACE in (tomorrow.text or "")

    town.clock.set(datetime(2026, 6, 13, 8, 1, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    await town.vol2.wait_for(text="Soon")
    town.clock.set(datetime(2026, 6, 13, 9, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    card = await card_now(town, card, "Under way")
    assert buttons_of(card) == []
    # Nobody who only waits is reminded, and the organiser's own message count is unchanged.
    assert len([m for m in town.vol2.private.bot_messages() if "⏰" in (m.text or "")]) == 2


async def test_a_reminder_due_in_quiet_hours_comes_the_evening_before(town: Town) -> None:
    """An activity at 07:30: its hour-before reminder (06:30) falls in quiet hours (22:00 to
    07:00 by default), so it comes before they begin, the evening before."""
    await open_bot(town.vol1, town.vol2)
    preview = await publish(town.vol1, start="2026-06-13 07:30", end="09:00")
    await town.vol1.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")
    town.clock.set(datetime(2026, 6, 12, 21, 50, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    soon = await town.vol2.wait_for(text="Soon")
    assert "2026-06-13 07:30" in (soon.text or "")


async def test_the_day_before_reminder_of_an_early_start_still_comes_the_day_before(
    town: Town,
) -> None:
    """An activity on Saturday at 07:30: a day before is Friday 07:30, in quiet hours. Moved
    before them it would say "Tomorrow" on Thursday evening, two days early; it comes on
    Friday morning when they end instead, which is still the day before."""
    await open_bot(town.vol1, town.vol2)
    preview = await publish(town.vol1, start="2026-06-13 07:30", end="09:00")
    await town.vol1.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")

    town.clock.set(datetime(2026, 6, 11, 21, 50, tzinfo=SHANGHAI))  # Thursday evening
    await town.tick(seconds=0)
    town.clock.set(datetime(2026, 6, 12, 8, 0, 30, tzinfo=SHANGHAI))  # Friday morning
    await town.tick(seconds=0)
    tomorrow = await town.vol2.wait_for(text="Tomorrow")
    assert "2026-06-13 07:30" in (tomorrow.text or "")
    sent = datetime.fromtimestamp(tomorrow.date, SHANGHAI)
    assert sent.date().isoformat() == "2026-06-12", f"'Tomorrow' was said on {sent}"


def reminders_to(person: SimUser) -> list[str]:
    """The reminders (⏰) someone has received, oldest first."""
    return [m.text or "" for m in person.private.bot_messages() if "⏰" in (m.text or "")]


async def all_sent(town: Town) -> None:
    """Wait until every activity timer due by now is settled and everything queued to go by
    now is sent (after a restart the start-up sweep may still be at it when a story's own
    sweep ends; what quiet hours hold is not waited for)."""
    def waiting() -> int:
        with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
            timers = db.execute(
                "SELECT COUNT(*) FROM timers WHERE done_at IS NULL AND activity_id IS NOT NULL "
                "AND due_at <= ?", (town.clock.now(),)).fetchone()[0]
            unsent = db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending' "
                                "AND not_before <= ?", (town.clock.now(),)).fetchone()[0]
        return int(timers) + int(unsent)

    async def done() -> bool:
        return waiting() == 0

    await eventually(done)


async def test_reminders_missed_while_the_bot_was_down_are_not_sent_once_too_late(
    town: Town,
) -> None:
    """The bot is down from Wednesday until Saturday 07:00. Friday's "Tomorrow" is not sent
    on Saturday morning (the activity is today now); the hour-before reminder still comes at
    08:00."""
    await open_bot(town.vol1, town.vol2)
    card = await published_card(town, town.vol1)  # Saturday 13 June, 09:00 to 11:30
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")

    await town.bot.stop()
    town.clock.set(datetime(2026, 6, 13, 7, 0, tzinfo=SHANGHAI))
    await town.bot.start()
    await town.tick(seconds=0)
    await all_sent(town)

    town.clock.set(datetime(2026, 6, 13, 8, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    await town.vol2.wait_for(text="Soon")
    await all_sent(town)
    assert [text[:7] for text in reminders_to(town.vol2)] == ["⏰ Soon:"]


async def test_no_reminder_comes_after_the_start_when_the_bot_was_down_over_it(
    town: Town,
) -> None:
    """The bot is down from Wednesday until Saturday noon, after the activity: neither
    "Tomorrow" nor "Soon" is sent late, and the card says the activity is under way."""
    await open_bot(town.vol1, town.vol2)
    card = await published_card(town, town.vol1)  # Saturday 13 June, 09:00 to 11:30
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")

    await town.bot.stop()
    town.clock.set(datetime(2026, 6, 13, 12, 0, tzinfo=SHANGHAI))
    await town.bot.start()
    await town.tick(seconds=0)
    await card_now(town, card, "Under way")
    await all_sent(town)
    assert reminders_to(town.vol2) == []


async def test_a_soon_caught_up_at_night_waits_for_the_morning_and_is_dropped_if_untrue(
    town: Town,
) -> None:
    """An activity on Saturday at 07:30: its "Soon" is due on Friday at 21:45. The bot is
    down from Friday 21:00 to 23:00: the "Soon" is not sent at 23:00, when Zhang sleeps, nor
    at 08:00, after the start, when it would be untrue."""
    await open_bot(town.vol1, town.vol2)
    preview = await publish(town.vol1, start="2026-06-13 07:30", end="09:00")
    await town.vol1.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")
    town.clock.set(datetime(2026, 6, 12, 8, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    await town.vol2.wait_for(text="Tomorrow")  # Friday morning, as before

    town.clock.set(datetime(2026, 6, 12, 21, 0, tzinfo=SHANGHAI))
    await town.bot.stop()
    town.clock.set(datetime(2026, 6, 12, 23, 0, tzinfo=SHANGHAI))
    await town.bot.start()
    await town.tick(seconds=0)
    await all_sent(town)
    town.clock.set(datetime(2026, 6, 13, 8, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    await all_sent(town)
    assert ["Tomorrow" in text for text in reminders_to(town.vol2)] == [True]


async def test_a_soon_caught_up_at_night_comes_at_eight_when_the_start_is_later(
    town: Town,
) -> None:
    """An activity on Saturday at 08:30: its "Soon" (07:30) would fall in quiet hours, so it
    is due on Friday at 21:45. The bot is down from Friday 21:00 to 23:00: the "Soon" is not
    sent at 23:00, when Zhang sleeps, but at 08:00, still before the start."""
    await open_bot(town.vol1, town.vol2)
    preview = await publish(town.vol1, start="2026-06-13 08:30", end="10:00")
    await town.vol1.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")
    town.clock.set(datetime(2026, 6, 12, 8, 31, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    await town.vol2.wait_for(text="Tomorrow")

    town.clock.set(datetime(2026, 6, 12, 21, 0, tzinfo=SHANGHAI))
    await town.bot.stop()
    town.clock.set(datetime(2026, 6, 12, 23, 0, tzinfo=SHANGHAI))
    await town.bot.start()
    await town.tick(seconds=0)
    await all_sent(town)
    assert [text[:7] for text in reminders_to(town.vol2)] == ["⏰ Tomor"]
    town.clock.set(datetime(2026, 6, 13, 8, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    soon = await town.vol2.wait_for(text="Soon")
    sent = datetime.fromtimestamp(soon.date, SHANGHAI)
    assert (sent.day, sent.hour) == (13, 8), f"'Soon' came at {sent}"
    assert "2026-06-13 08:30" in (soon.text or "")


async def test_reminders_caught_up_in_quiet_hours_come_at_eight_if_still_true(
    town: Town,
) -> None:
    """The bot is down on Friday from 08:00 to 23:30, over the "Tomorrow" of Saturday's
    09:00 activity. Zhang is not woken at 23:30; the next morning "Tomorrow" would be untrue
    (it is the day itself) and is not sent; "Soon" comes at 08:00 as planned."""
    await open_bot(town.vol1, town.vol2)
    card = await published_card(town, town.vol1)  # Saturday 13 June, 09:00 to 11:30
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.vol2.wait_for(text="You are signed up for")

    town.clock.set(datetime(2026, 6, 12, 8, 0, tzinfo=SHANGHAI))
    await town.bot.stop()
    town.clock.set(datetime(2026, 6, 12, 23, 30, tzinfo=SHANGHAI))
    await town.bot.start()
    await town.tick(seconds=0)
    await all_sent(town)
    town.clock.set(datetime(2026, 6, 13, 8, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    soon = await town.vol2.wait_for(text="Soon")
    sent = datetime.fromtimestamp(soon.date, SHANGHAI)
    assert (sent.day, sent.hour) == (13, 8), f"'Soon' came at {sent}"
    await all_sent(town)
    assert [text[:7] for text in reminders_to(town.vol2)] == ["⏰ Soon:"]


async def test_a_bare_end_time_after_midnight_ends_a_new_years_eve_activity_the_next_day(
        town: Town) -> None:
    """Li's New Year's Eve watch runs from 22:00 on 31 December; he types the end as he
    would say it, "00:30": it ends at 00:30 on 1 January, in the preview and on the card.
    A bare end before the start that would make the activity longer than 12 hours is still
    a slip, refused as before."""
    li = town.vol1
    await open_bot(li)
    town.clock.set(datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI))
    for said, then in (("/publish", "1/12"), ("New Year's Eve watch", "4/12"),
                       (PLACE, "5/12"), (None, "6/12"), ("2026-12-31 22:00", "7/12"),
                       ("21:00", "The end must come after the start (2026-12-31 22:00)."),
                       ("00:30", "8/12"), ("5", "9/12")):
        if said is None:
            await li.press("Skip ⏭")
        else:
            await li.send(said)
        await li.wait_for(text=then)
    await li.press("🙋 I lead it")
    await li.wait_for(text="10/12")
    await li.press("🎯 Theme: Constitution Day and a warm winter")
    await li.wait_for(text="11/12")
    await li.press("Skip ⏭")
    await li.wait_for(text="12/12")
    await li.send("Hot tea for the night patrol.")
    preview = await li.wait_for(text="Preview")
    assert "2026-12-31 22:00 – 2027-01-01 00:30" in (preview.text or "")
    await li.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    assert "2026-12-31 22:00 – 2027-01-01 00:30" in (card.text or "")


# -- bad input: one clear line, nothing lost -----------------------------------------------------


@pytest.mark.parametrize(
    ("step", "typed", "answer"),
    [
        ("6/12", "next Tuesday", "Please type the date and time like 2026-06-11 09:00."),
        ("6/12", "2026-06-09 09:00", "That time has passed"),
        ("6/12", "2026-02-30 09:00", "Please type the date and time like"),
        ("6/12", "2028-06-09 09:00", "more than a year ahead"),
        ("7/12", "08:00", "The end must come after the start (2026-06-13 09:00)."),
        ("7/12", "2026-06-15 09:00", "at most 24 hours"),
        ("8/12", "lots", "as a number from 1 to 10000"),
        ("8/12", "0", "as a number from 1 to 10000"),
        ("9/12", "@nobody", "I do not know “@nobody”"),
    ],
)
async def test_a_bad_answer_gets_one_line_and_the_question_stays(
    town: Town, step: str, typed: str, answer: str,
) -> None:
    leader = town.vol1
    await open_bot(leader)
    steps = [("/publish", "1/12"), (TITLE, "4/12"), (PLACE, "5/12"), (None, "6/12"),
             ("2026-06-13 09:00", "7/12"), ("11:30", "8/12"), ("20", "9/12")]
    for said, then in steps:
        if said is None:
            await leader.press("Skip ⏭")
        else:
            await leader.send(said)
        await leader.wait_for(text=then)
        if then == step:
            break
    await leader.send(typed)
    reply = await leader.wait_for(text=answer)
    assert reply.text is not None and "\n" not in reply.text.strip()
    # The dialog is where it was: a good answer now moves it on.
    good = {"6/12": "2026-06-13 09:00", "7/12": "11:30", "8/12": "20", "9/12": None}[step]
    if good is None:
        await leader.press("🙋 I lead it")
    else:
        await leader.send(good)
    following = f"{int(step.split('/')[0]) + 1}/12"
    await leader.wait_for(text=following)


async def test_the_29th_of_february_typed_without_a_year_is_next_years_leap_day(
    town: Town,
) -> None:
    """In December 2027 a leader plans an activity for "2-29 09:00": 2027 has no 29 February,
    the coming one is 2028's, which is within a year."""
    leader = town.vol1
    await open_bot(leader)
    town.clock.set(datetime(2027, 12, 10, 10, 0, tzinfo=SHANGHAI))
    for said, then in (("/publish", "1/12"), (TITLE, "4/12"), (PLACE, "5/12")):
        await leader.send(said)
        await leader.wait_for(text=then)
    await leader.press("Skip ⏭")
    await leader.wait_for(text="6/12")
    await leader.send("2-29 09:00")
    await leader.wait_for(text="7/12")
    await leader.send("08:00")
    await leader.wait_for(text="The end must come after the start (2028-02-29 09:00).")


async def test_a_chinese_organiser_types_a_date_the_chinese_way(town: Town) -> None:
    """Full-width digits and 月/日/点 are read as a date, and the questions are in Chinese."""
    grandma = town.grandma  # not a leader: make her one by an admin grant of her area
    await grandma.send("/start")
    await grandma.wait_for(text="选择")
    await open_bot(town.admin)
    await town.admin.send(f"/grant {grandma.id} guangminglu")
    await town.admin.wait_for(text="is now an admin of Guangminglu")
    await grandma.send("/publish")
    await grandma.wait_for(text="1/12")
    await grandma.send("社区义诊")
    await grandma.wait_for(text="3/12")  # one team in her area; she picks its area
    await grandma.press("光明路街道新时代文明实践所")
    await grandma.wait_for(text="4/12")
    await grandma.send("光明路社区卫生站")
    await grandma.wait_for(text="5/12")
    await grandma.press("跳过 ⏭")
    await grandma.wait_for(text="6/12")
    await grandma.send("６月１３日 ９点３０")
    end = await grandma.wait_for(text="7/12")
    assert "什么时候结束" in (end.text or "")
    await grandma.send("11：30")
    await grandma.wait_for(text="8/12")


async def test_a_centre_admin_picks_the_team_and_the_whole_district_and_posts_a_poster(
    town: Town,
) -> None:
    """A centre admin may publish for any team and for the whole district; a poster makes the
    card a photo whose caption is kept up to date like a text card."""
    admin = town.admin
    await open_bot(admin, town.vol2)
    await admin.send("/publish")
    await admin.wait_for(text="1/12")
    await admin.send("Lantern riddles for the elderly")
    teams = await admin.wait_for(text="2/12")
    assert buttons_of(teams) == ["Guangminglu Red Vest Team", "Golden Glow Elderly Care Team"]
    await admin.press("Golden Glow Elderly Care Team")
    areas = await admin.wait_for(text="3/12")
    assert buttons_of(areas) == ["Zhongxinjie Subdistrict Institute", "🏙 The whole district"]
    await admin.press("🏙 The whole district")
    await admin.wait_for(text="4/12")
    await admin.send("Culture square")
    await admin.wait_for(text="5/12")
    await admin.press("Skip ⏭")
    await admin.wait_for(text="6/12")
    await admin.send("6-20 14:00")
    await admin.wait_for(text="7/12")
    await admin.send("16:00")
    await admin.wait_for(text="8/12")
    await admin.press("30")
    await admin.wait_for(text="9/12")
    await admin.send(f"{town.vol2.id}")  # the on-site leader, by Telegram id
    await admin.wait_for(text="10/12")
    await admin.press("No theme")
    await admin.wait_for(text="11/12")
    await admin.send("a poster, please?")
    await admin.wait_for(text="Please send the poster as a photo")
    await admin.send_photo()
    await admin.wait_for(text="12/12")
    await admin.send("Riddles, tea and sweets.")
    preview = await admin.wait_for(text="Preview")
    assert "On-site leader: Zhang" in (preview.text or "")
    assert "Theme:" not in (preview.text or "") and "Poster: attached" in (preview.text or "")
    await admin.press("✅ Publish", message=preview)

    card = await town.volunteers.wait_for(predicate=lambda m: m.kind == "photo")
    assert "Lantern riddles" in (card.text or "") and "2026-06-20 14:00–16:00" in (
        card.text or "")
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    card = await card_now(town, card, "29 left")
    assert buttons_of(card) == ["🙋 Sign up (29 left)"]


async def test_a_restart_in_the_middle_of_the_dialog_loses_nothing(town: Town) -> None:
    leader = town.vol1
    await open_bot(leader)
    await leader.send("/publish")
    await leader.wait_for(text="1/12")
    await leader.send(TITLE)
    await leader.wait_for(text="4/12")
    await leader.send(PLACE)
    await leader.wait_for(text="5/12")

    await town.bot.crash()
    await town.bot.start()

    await leader.press("Skip ⏭")
    await leader.wait_for(text="6/12")
    await when_who_and_theme(leader)
    await leader.press("Skip ⏭")
    await leader.wait_for(text="12/12")
    await leader.send("Bring water.")
    preview = await leader.wait_for(text="Preview")
    assert TITLE in (preview.text or "") and PLACE in (preview.text or "")

    await town.bot.stop()
    await town.bot.start()
    await leader.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    assert "5 left" in (card.text or "")


async def test_a_forged_or_stale_sign_up_is_answered_politely(town: Town) -> None:
    await open_bot(town.vol2)
    answer = await pressed_days_later(town.vol2, "asign:999")
    assert answer.show_alert and "does not exist" in (answer.text or "")
    quit_answer = await pressed_days_later(town.vol2, "aquitok:999")
    assert quit_answer.show_alert and "not signed up" in (quit_answer.text or "")
    assert signups(town) == []


async def test_a_teams_own_group_gets_its_cards_too(town: Town) -> None:
    """/bind team <id> in a group makes it the team's own: its activities are posted there
    as well as in the area's volunteer groups; a mistyped team or a non-admin is told."""
    team_group = town.sb.add_group("Red Vest Team")
    for person in (town.admin, town.vol1, town.vol2):
        team_group.add_member(person, status="administrator" if person is town.admin
                              else "member")
    await open_bot(town.admin, town.vol1, town.vol2)
    await town.admin.send("/bind team red-vest", chat=team_group)
    refused = await team_group.wait_for(text="There is no team “red-vest”")
    assert "guangming-red, jinhui" in (refused.text or "")
    await town.admin.send("/bind team guangming-red", chat=team_group)
    await team_group.wait_for(text="now the group of Guangminglu Red Vest Team")

    await published_card(town, town.vol1)
    card = await team_group.wait_for(text="Volunteers wanted")
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await card_now(town, card, "1 left")



async def test_a_team_moved_to_a_topic_of_its_group_says_its_open_card_stays(
    town: Town,
) -> None:
    """The Red Vest Team's group is a forum, bound in its General, where the team's activity
    is posted. The admin binds the team in the group's Activities topic: the answer says the
    open card stays where it is, kept up to date there, and only new ones come to the topic;
    Zhang signs up on it in General and it counts him."""
    team_group = town.sb.add_group("Red Vest Team", forum=True)
    for person in (town.admin, town.vol1, town.vol2):
        team_group.add_member(person, status="administrator" if person is town.admin
                              else "member")
    topic = team_group.create_topic("Activities", by=town.admin)
    await open_bot(town.admin, town.vol1, town.vol2)
    await town.admin.send("/bind team guangming-red", chat=team_group)
    await team_group.wait_for(text="now the group of Guangminglu Red Vest Team")
    await published_card(town, town.vol1)
    card = await team_group.wait_for(text="Volunteers wanted")
    assert card.thread_id is None

    await town.admin.send("/bind team guangming-red", chat=team_group, topic=topic)
    bound = await team_group.wait_for(text="now the place of Guangminglu Red Vest Team")
    assert bound.thread_id == topic
    assert bound.text is not None and bound.text.endswith(
        "\n1 open card(s) already posted in this group stay where they are and are kept up "
        "to date there; only new ones come here."), bound.text
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await card_now(town, card, "1 left")

# -- /events: activities for everyone ------------------------------------------------------------


async def test_a_citizen_sees_upcoming_activities_nearest_first_and_signs_up(town: Town) -> None:
    """Two activities: the sooner one far from the citizen, the later one next door; shared
    location puts the nearer first with its distance; Details opens one with Sign up."""
    await open_bot(town.vol1)
    grandma = town.grandma
    await grandma.send("/start")
    await grandma.wait_for(text="选择")
    await published_card(town, town.vol1)  # Guangming Park, 13 June, 5 km from her
    preview = await publish(town.vol1, start="2026-06-20 09:00", point=(34.899, 117.57))
    await town.vol1.press("✅ Publish", message=preview)
    await town.vol1.wait_for(text="#2")

    await grandma.send("/events")
    listing = await grandma.wait_for(text="近期志愿活动")
    text = listing.text or ""
    assert text.index("#1") < text.index("#2")  # by date
    await grandma.press("📍 离我最近", message=listing)
    await grandma.wait_for(text="请点下面的按钮发送您的位置")
    await grandma.tap("📍 发送我的位置", latitude=34.90, longitude=117.57)
    near = await grandma.wait_for(text="近期志愿活动")
    text = near.text or ""
    assert text.index("#2") < text.index("#1")
    assert "距您 111 米" in text and "距您 5.0 公里" in text
    await grandma.press("#1 详情", message=near)
    shown = await grandma.wait_for(text=TITLE)
    assert buttons_of(shown)[0] == "🙋 我要报名"
    await grandma.press("🙋 我要报名", message=shown)
    await grandma.wait_for(text="您已报名")


# -- editing a published activity ----------------------------------------------------------------


async def test_the_organiser_changes_the_time_and_the_places_and_everyone_is_told(
    town: Town,
) -> None:
    leader, first, waiting = town.vol1, town.vol2, town.citizen
    town.volunteers.add_member(waiting)
    await open_bot(leader, first, waiting)
    card = await published_card(town, leader)
    await (await first.press("🙋 Sign up", message=card)).answer()
    await first.wait_for(text="You are signed up for")
    card = await card_now(town, card, "1 left")

    await leader.press("✏️ Edit")
    await leader.wait_for(text="What to change")
    await leader.press("Date and time")
    await leader.wait_for(text="Type the new start")
    await leader.send("2026-06-13 08:00")
    ask_end = await leader.wait_for(text="Type the new end")
    assert "2026-06-13 10:30" in (ask_end.text or "")  # the same length, for reference
    await leader.send("10:00")
    await leader.wait_for(text="is changed; 1 people were told")
    told = await first.wait_for(text="has changed")
    assert "2026-06-13 09:00–11:30 → 2026-06-13 08:00–10:00" in (told.text or "")
    card = await card_now(town, card, "2026-06-13 08:00–10:00")

    # The reminder follows the new time: the day before at 08:00, not 09:00.
    town.clock.set(datetime(2026, 6, 12, 8, 1, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    await first.wait_for(text="Tomorrow")

    # One place only: the next sign-up waits; two places again: it moves up, and is told.
    await leader.press("✏️ Edit")
    await leader.press("Places")
    await leader.wait_for(text="number of volunteers")
    await leader.send("1")
    await leader.wait_for(text="is changed")
    card = await card_now(town, card, "Full (1)")
    await (await waiting.press("⏳ Join the waitlist", message=card)).answer()
    await waiting.wait_for(text="number 1 on the waitlist")
    await leader.press("✏️ Edit")
    await leader.press("Places")
    await leader.wait_for(text="number of volunteers")
    await leader.send("lots")
    await leader.wait_for(text="as a number from 1 to 10000")
    await leader.send("2")
    await waiting.wait_for(text="A place freed up")
    notice = await waiting.wait_for(text="has changed")
    assert "Places: 1 → 2" in (notice.text or "")
    await card_now(town, card, "Full (2); 0 on the waitlist")


async def test_a_request_draft_under_the_publishing_dialog_comes_back(town: Town) -> None:
    """A leader half-way through a request publishes an activity: the draft waits under the
    dialog and its question comes back after Publish."""
    leader = town.vol1
    await open_bot(leader)
    first = await open_form(leader, command=True)
    await leader.press("Help for the elderly", message=first)
    await leader.wait_for(text="describe the problem")
    preview = await publish(leader)
    await leader.press("✅ Publish", message=preview)
    await leader.wait_for(text="Now, back to your unfinished request.")
    await leader.wait_for(text="describe the problem")
    await town.volunteers.wait_for(text="Volunteers wanted")



async def test_a_poster_album_with_a_caption_gives_one_poster_and_the_description(
    town: Town,
) -> None:
    """Three photos sent together at the poster step: the first is the poster, the others
    are passed over without a word each, and the caption is the description."""
    leader = town.vol1
    await open_bot(leader)
    await leader.send("/publish")
    await leader.wait_for(text="1/12")
    await leader.send(TITLE)
    await leader.wait_for(text="4/12")
    await leader.send(PLACE)
    await leader.wait_for(text="5/12")
    await leader.press("Skip ⏭")
    await leader.wait_for(text="6/12")
    await when_who_and_theme(leader)
    await leader.send_album(3, caption="Planting day: gloves and water provided.")
    preview = await leader.wait_for(text="Preview")
    assert "gloves and water provided" in (preview.text or "")
    assert "Poster: attached" in (preview.text or "")
    assert not [m for m in leader.private.bot_messages()
                if "Please type the description" in (m.text or "")]


async def test_a_very_long_answer_is_quoted_back_short_and_the_reply_arrives(
    town: Town,
) -> None:
    """A 4,000-character answer the dialog cannot use is quoted back cut, so the one line
    saying what is wrong fits in a message and reaches the organiser."""
    leader = town.vol1
    await open_bot(leader)
    await leader.send("/publish")
    await leader.wait_for(text="1/12")
    await leader.send(TITLE)
    await leader.wait_for(text="4/12")
    await leader.send(PLACE)
    await leader.wait_for(text="5/12")
    await leader.press("Skip ⏭")
    await leader.send("2026-06-13 09:00")
    await leader.wait_for(text="7/12")
    await leader.send("11:30")
    await leader.wait_for(text="8/12")
    await leader.send("5")
    await leader.wait_for(text="9/12")
    await leader.send("@" + "x" * 4000)
    reply = await leader.wait_for(text="I do not know")
    assert len(reply.text or "") < 400


async def test_a_popup_shows_a_title_with_an_ampersand_as_typed(
        town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Red Vest Team publishes "Tea & talk <3". A popup is plain text, not HTML: the
    second press of Sign up says the title as typed, not "Tea &amp; talk &lt;3"."""
    monkeypatch.setattr(sys.modules[__name__], "TITLE", "Tea & talk <3")
    leader, volunteer = town.vol1, town.vol2
    await open_bot(leader, volunteer)
    card = await published_card(town, leader)
    await (await volunteer.press("🙋 Sign up", message=card)).answer()
    card = await card_now(town, card, "1 left")
    again = await (await volunteer.press("🙋 Sign up (1 left)", message=card)).answer()
    assert again.text == "You are signed up for “Tea & talk <3” already."


@pytest.mark.parametrize(("moment", "sound"), [
    (datetime(2026, 6, 12, 23, 30, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 13, 2, 0, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 12, 15, 0, tzinfo=SHANGHAI), True),
], ids=["23:30", "02:00", "day 15:00"])
async def test_what_the_organiser_changes_at_night_reaches_those_signed_up_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """The night before the 09:00 activity, at `moment`: Zhang gives up his place, so Alice,
    who waited, has it; Li moves the start to 08:00, then calls it off. Each is told at once,
    so that nobody comes at the wrong time; at night, without a sound."""
    leader, first, waiting = town.vol1, town.vol2, town.citizen
    town.volunteers.add_member(waiting)
    await open_bot(leader, first, waiting)
    card = await published_card(town, leader)
    await leader.press("✏️ Edit")
    await leader.wait_for(text="What to change")
    await leader.press("Places")
    await leader.wait_for(text="number of volunteers")
    await leader.send("1")
    await leader.wait_for(text="is changed")
    signed = await (await first.press("🙋 Sign up", message=card)).answer()
    assert signed.text == "Signed up ✅"
    mine = await first.wait_for(text="You are signed up for")
    card = await card_now(town, card, "Full (1)")
    await (await waiting.press("⏳ Join the waitlist", message=card)).answer()
    await waiting.wait_for(text="number 1 on the waitlist")

    town.clock.set(moment)
    await first.press("Cancel my sign-up", message=mine)
    confirm = await first.wait_for(text="Cancel your sign-up")
    await first.press("Yes, cancel my sign-up", message=confirm)
    await waiting.wait_for(text="A place freed up")
    await leader.press("✏️ Edit")
    await leader.wait_for(text="What to change")
    await leader.press("Date and time")
    await leader.wait_for(text="Type the new start")
    await leader.send("2026-06-13 08:00")
    await leader.wait_for(text="Type the new end")
    await leader.send("10:00")
    await waiting.wait_for(text="has changed")
    await leader.press("❌ Cancel the activity")
    await leader.wait_for(text="will be told")
    await leader.press("Yes, cancel it")
    await waiting.wait_for(text="is cancelled. We are sorry")
    assert [rang(town, waiting, words) for words in (
        "A place freed up", "has changed", "is cancelled. We are sorry")] == [[sound]] * 3


def rang(town: Town, person: SimUser, words: str) -> list[bool]:
    """For each message holding `words` the bot sent `person`: whether it made a sound."""
    return [not params.get("disable_notification", False)
            for _, params, _ in town.sb.calls_to("sendMessage")
            if int(params.get("chat_id", 0)) == person.id and words in str(params.get("text"))]
