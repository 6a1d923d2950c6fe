"""The supervision clock (issue 16.6), end to end on an injected clock: a received problem's
unit is reminded before its deadline, the unit and the admins are told once when it passes,
and the admins of the unit's area a while later; people in private hear after quiet hours,
the unit's chat at once; a restart between timers neither repeats nor skips one; more time
moves the reminders; a rejection starts a fresh cycle; each inspector gets, once a day, the
points of their group due for a visit.

Problems are made as in tests/test_supervision_dispatch_e2e.py (its `cast` and `report`): the
Guangminglu office's chat is bound, Zhang acts for it, Li inspects for G1. The office's area is
guangminglu, whose admin Liming hears of an overdue problem after `escalate_after`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, supervision_town
from tests.test_supervision_dispatch_e2e import (
    Cast,
    cast,
    events,
    press,
    problem,
    rectify,
    report,
)

ROOT = Path(__file__).resolve().parent.parent
REMINDER = "is due to be put right by"
OVERDUE = "is overdue: it was due"
OVERDUE_ADMINS = "is overdue with Guangminglu Subdistrict Office"
ESCALATED = "in your area, is still not put right"
PATROL = "points have not been visited within 7 days"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and registers; the overdue problem escalates after 12 hours."""
    return supervision_town(tmp_path, escalate_after="12h")


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def said(chat: SimChat, text: str) -> int:
    """How many of the bot's messages in a chat hold `text`."""
    return len([m for m in chat.bot_messages() if text in (m.text or "")])


async def caught_up(person: SimUser) -> None:
    """The person asks something and is answered: what was due to them went before it."""
    await person.send("/my")
    await person.wait_for(text="requests")


async def area_admin(town: Town) -> SimUser:
    """Liming, admin of the Guangminglu institute's area (the office's)."""
    liming = town.sb.add_user("Liming", language_code="en", username="liming")
    await open_bot(liming)
    await town.admin.send("/grant @liming guangminglu")
    await liming.wait_for(text="You are now an admin")
    return liming


async def received(town: Town, c: Cast, severity: str = "normal") -> tuple[str, SimMessage]:
    """A problem reported and received by Zhang now; its reference and the office's card."""
    ref = await report(town, c.li, severity=severity)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    return ref, card


async def test_reminded_before_the_deadline_overdue_once_then_the_area_admin(
    town: Town,
) -> None:
    """Normal (3 days) received Wednesday 10:00: reminded Friday 10:00 (a day ahead), overdue
    Saturday 10:00 (the unit, its member and the admins, once), Liming at 22:00 — quiet
    hours: he hears at 08:00 on Sunday. Nothing comes twice."""
    c = await cast(town)
    liming = await area_admin(town)
    ref, _ = await received(town, c)
    assert abs((await problem(town, ref)).due_at - local(6, 13, 10).timestamp()) < 60

    await town.tick(days=1, hours=23)  # Friday 09:00: not yet
    await caught_up(c.zhang)
    assert said(c.office, REMINDER) == 0
    await town.tick(hours=1)
    reminder = await c.office.wait_for(text=REMINDER)
    assert ref in (reminder.text or "") and "2026-06-13 10:00" in (reminder.text or "")
    await c.zhang.wait_for(text=REMINDER)  # 10:00: no quiet hours for the member

    await town.tick(days=1)  # Saturday 10:00: overdue
    await c.office.wait_for(text=OVERDUE)
    await c.zhang.wait_for(text=OVERDUE)
    await town.admin_chat.wait_for(text=OVERDUE_ADMINS)
    await town.tick(hours=11)  # 21:00: nothing more
    await town.tick(hours=1, minutes=1)  # 22:01: escalated, but Liming sleeps
    await caught_up(liming)
    assert said(liming.private, ESCALATED) == 0
    town.clock.set(local(6, 14, 8, 0))
    await town.tick(seconds=1)
    escalated = await liming.wait_for(text=ESCALATED)
    assert ref in (escalated.text or "")

    await town.tick(days=5)
    await caught_up(c.zhang)
    await caught_up(liming)
    assert (said(c.office, REMINDER), said(c.office, OVERDUE), said(c.zhang.private, OVERDUE),
            said(town.admin_chat, OVERDUE_ADMINS), said(liming.private, ESCALATED)) == (
        1, 1, 1, 1, 1)
    assert await events(town, ref) == ["reported", "dispatched", "received", "reminded",
                                       "overdue", "escalated"]
    await c.admin.send(f"/problem {ref}")
    history = await c.admin.wait_for(text=f"Problem {ref}: being rectified")
    assert "reminded of its deadline" in (history.text or "")
    assert "the area admins were told" in (history.text or "")


async def test_a_reminder_in_quiet_hours_reaches_the_chat_now_and_the_member_at_eight(
    town: Town,
) -> None:
    """Urgent (24 h) received at 10:00: the reminder falls at 22:00 (half the time given),
    the unit's chat has it at once, Zhang in private at 08:00."""
    c = await cast(town)
    ref, _ = await received(town, c, severity="urgent")
    await town.tick(hours=12)
    await c.office.wait_for(text=REMINDER)
    await caught_up(c.zhang)
    assert said(c.zhang.private, REMINDER) == 0
    await town.tick(hours=10)  # 08:00
    member = await c.zhang.wait_for(text=REMINDER)
    assert ref in (member.text or "")


async def test_a_restart_between_timers_neither_repeats_nor_skips_one(town: Town) -> None:
    """The bot is off from Thursday to Sunday: at start it sends the reminder and the overdue
    notice, in that order, once; a second restart sends nothing again."""
    c = await cast(town)
    ref, _ = await received(town, c)
    await town.bot.stop()
    town.clock.set(local(6, 14, 9, 0))
    await town.bot.start()
    await town.tick()
    await c.office.wait_for(text=OVERDUE)
    texts = [m.text or "" for m in c.office.bot_messages()]
    reminder = next(n for n, text in enumerate(texts) if REMINDER in text)
    assert reminder < next(n for n, text in enumerate(texts) if OVERDUE in text)
    await town.bot.stop()
    await town.bot.start()
    await town.tick(minutes=1)
    await caught_up(c.zhang)
    assert (said(c.office, REMINDER), said(c.office, OVERDUE)) == (1, 1)
    assert said(c.zhang.private, OVERDUE) == 1
    # (and escalated at 22:00 on Saturday: the office's area has no admin to tell)
    assert await events(town, ref) == ["reported", "dispatched", "received", "reminded",
                                       "overdue", "escalated"]


async def test_more_time_moves_the_reminder_and_the_deadline(town: Town) -> None:
    """Given until 20 June, the problem is not chased on the 12th or the 13th, but on the
    19th (a day ahead) and when the 20th ends."""
    c = await cast(town)
    _, card = await received(town, c)
    await press(c.zhang, "⏳ Need more time", card)
    await c.zhang.wait_for(text="why do you need more time")
    await c.zhang.send("Waiting for a new lamp")
    await c.zhang.wait_for(text="Until when?")
    await c.zhang.send("2026-06-20")
    asked = await town.admin_chat.wait_for(text="asks for more time")
    await press(c.admin, "✅ Approve", asked)
    await c.office.wait_for(text="approved")

    await town.tick(days=4)  # the 14th: the old reminder and deadline are gone
    await caught_up(c.zhang)
    assert (said(c.office, REMINDER), said(c.office, OVERDUE)) == (0, 0)
    town.clock.set(local(6, 20, 0, 0))
    await town.tick()
    reminder = await c.office.wait_for(text=REMINDER)
    assert "2026-06-20 23:59" in (reminder.text or "")
    town.clock.set(local(6, 21, 0, 0))
    await town.tick()
    await c.office.wait_for(text=OVERDUE)
    assert (said(c.office, REMINDER), said(c.office, OVERDUE)) == (1, 1)


async def test_a_rejected_recheck_starts_a_fresh_cycle_of_reminders(town: Town) -> None:
    """Reminded once, rectified, rejected on Friday 11:00: the next reminder comes a day
    before the new deadline (Monday 11:00 → Sunday 11:00), the old overdue never."""
    c = await cast(town)
    ref, card = await received(town, c)
    await town.tick(days=2)
    await c.office.wait_for(text=REMINDER)
    await town.tick(hours=1)
    await rectify(c.zhang, card)
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    await press(c.li, "❌ Reject", recheck)
    await c.li.wait_for(text="why is it not put right")
    await c.li.send("Still blocked")
    await c.office.wait_for(text="did not pass the re-check")
    assert abs((await problem(town, ref)).due_at - local(6, 15, 11).timestamp()) < 60

    await town.tick(days=1)  # Saturday 11:00: the first deadline passes unremarked
    await caught_up(c.zhang)
    assert said(c.office, OVERDUE) == 0 and said(c.office, REMINDER) == 1
    await town.tick(days=1)  # Sunday 11:00
    await town.sb.wait_until(lambda: said(c.office, REMINDER) == 2)
    await town.tick(days=1)  # Monday 11:00
    await c.office.wait_for(text=OVERDUE)
    assert said(c.office, OVERDUE) == 1


async def test_each_inspector_hears_of_their_groups_due_points_once_a_day(
    town: Town,
) -> None:
    """Li's group patrols the guangminglu points: at 09:00 the next day Li gets the count and
    the first few; a restart, a later sweep the same day send nothing; a visited point drops
    off the next day's; Zhang, no inspector, gets nothing."""
    c = await cast(town)
    await c.admin.send("/patrol G1 area:guangminglu")
    await c.admin.wait_for(text="G1 patrols these 5 points")
    await town.tick(minutes=1)
    await caught_up(c.li)
    assert said(c.li.private, PATROL) == 0  # today's went (to nobody) when the bot started

    town.clock.set(local(6, 11, 9, 0))
    await town.tick(seconds=1)
    patrol = await c.li.wait_for(text=PATROL)
    assert "G1: 5 of your 5 points" in (patrol.text or "")
    assert "/due" in (patrol.text or "")
    await town.bot.stop()
    await town.bot.start()
    await town.tick(hours=3)
    await caught_up(c.li)
    assert said(c.li.private, PATROL) == 1

    services = town.bot.services
    assert services is not None
    async with services.units.for_job() as unit:
        visit = await unit.repo.supervision.start_visit("alley-01", c.li.id, None, unit.now())
        await unit.repo.supervision.end_visit(visit, unit.now())
    town.clock.set(local(6, 12, 9, 30))
    await town.tick()
    await town.sb.wait_until(lambda: said(c.li.private, PATROL) == 2)
    latest = [m.text or "" for m in c.li.private.bot_messages() if PATROL in (m.text or "")]
    assert "4 of your 5 points" in latest[-1] and "Guangming Lane 1" not in latest[-1]
    await caught_up(c.zhang)
    assert said(c.zhang.private, PATROL) == 0


async def test_a_patrol_list_caught_up_at_night_waits_for_the_morning(town: Town) -> None:
    """The bot is down from 08:30 until 23:30: the 09:00 list of Li's due points is caught up
    in quiet hours, so it waits in the outbox and Li reads it at 08:00, not at midnight."""
    c = await cast(town)
    await c.admin.send("/patrol G1 area:guangminglu")
    await c.admin.wait_for(text="G1 patrols these 5 points")
    await town.tick(minutes=1)
    await caught_up(c.li)
    assert said(c.li.private, PATROL) == 0

    town.clock.set(local(6, 11, 8, 30))
    await town.tick(seconds=1)
    await town.bot.stop()
    town.clock.set(local(6, 11, 23, 30))
    await town.bot.start()
    await town.tick(seconds=1)
    await caught_up(c.li)
    assert said(c.li.private, PATROL) == 0

    town.clock.set(local(6, 12, 8, 0))
    await town.tick(seconds=1)
    patrol = await c.li.wait_for(text=PATROL)
    assert "G1: 5 of your 5 points" in (patrol.text or "")
