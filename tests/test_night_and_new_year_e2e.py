"""The clock at awkward hours: late at night, just before the morning, and New Year's Eve.

The bot's clock is set, never the machine's: these stories tell the same thing whenever the
suite runs. Quiet hours are the default 22:00-08:00 in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Town
from tests.flows import card_of, eventually, file_request

SHANGHAI = ZoneInfo("Asia/Shanghai")
ESCALATED_NOTICE = "passed it to the service centre"


def local(year: int, month: int, day: int, hour: int, minute: int = 0,
          second: int = 0) -> datetime:
    """A moment in the district's time zone."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


async def citizen_is_answered(town: Town) -> None:
    """Alice asks for her requests and gets the answer: the sender has caught up with her chat,
    so a notice that was due to her would have gone before it."""
    await town.citizen.send("/my")
    await town.citizen.wait_for(text="Your requests")


async def notice_waits_until_eight(town: Town, ref: str) -> None:
    """Alice has not been told yet; at 08:00:01 on 5 December she is."""
    await citizen_is_answered(town)
    assert notices_to_citizen(town) == []
    town.clock.set(local(2026, 12, 5, 8, 0, 1))
    await town.tick()
    notice = await town.citizen.wait_for(text=ESCALATED_NOTICE)
    assert ref in notice.text


async def held_for(town: Town, chat_id: int) -> list[float]:
    """When the messages held for quiet hours to a chat are due."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        return [row.not_before for row, _ in await repo.outbox.chat_queue(chat_id, 0, 50)
                if row.purpose == "quiet"]


def notices_to_citizen(town: Town) -> list[str]:
    """The escalation notices Alice has received so far."""
    return [m.text for m in town.citizen.private.bot_messages()
            if ESCALATED_NOTICE in (m.text or "")]


async def test_an_escalation_at_23_30_tells_the_group_now_and_the_citizen_at_08_00(
    town: Town,
) -> None:
    """Alice's request, filed at 21:30, is escalated at 23:30: the admins are told at once,
    Alice only when quiet hours end at 08:00 the next morning — not at 07:59, not a day
    later."""
    town.clock.set(local(2026, 12, 4, 21, 30))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)

    assert await town.tick(minutes=31) == 1  # 22:01: the group is reminded, night or not
    await town.volunteers.wait_for(text="Still waiting for a volunteer")
    town.clock.set(local(2026, 12, 4, 23, 30, 1))
    assert await town.tick() == 1
    escalated = await town.admin_chat.wait_for(text="Escalated")
    assert ref in escalated.text

    town.clock.set(local(2026, 12, 5, 7, 59))
    await town.tick()
    await notice_waits_until_eight(town, ref)


async def test_an_escalation_at_07_59_waits_one_minute_not_a_day(town: Town) -> None:
    """Filed at 05:59 and escalated at 07:59: the admins are told at once; Alice's notice is
    held, and goes at 08:00 the same morning."""
    town.clock.set(local(2026, 12, 5, 5, 59))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    town.clock.set(local(2026, 12, 5, 6, 30))
    assert await town.tick() == 1  # the group is reminded
    town.clock.set(local(2026, 12, 5, 7, 59, 30))
    assert await town.tick() == 1  # and the request escalated
    await town.admin_chat.wait_for(text="Escalated")
    await notice_waits_until_eight(town, ref)


@pytest.mark.parametrize(("night", "morning"), [
    (local(2026, 12, 4, 23, 30), local(2026, 12, 5, 8, 0)),
    (local(2026, 12, 31, 23, 50), local(2027, 1, 1, 8, 0)),
], ids=["23:30", "new year's eve 23:50"])
async def test_a_notice_held_for_08_00_that_finds_it_night_again_waits_for_the_next_08_00(
    town: Town, night: datetime, morning: datetime,
) -> None:
    """Alice's request is escalated at `night`; her notice is held for 08:00. The bot is off
    from 07:00 until 23:00 that day (or New Year's Day): what it finds due then is night
    again, so Alice is not woken at 23:00; she is told at 08:00 the morning after, once."""
    town.clock.set(night - timedelta(hours=2))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    assert await town.tick(minutes=31) == 1
    town.clock.set(night + timedelta(seconds=5))
    assert await town.tick() == 1
    await town.admin_chat.wait_for(text="Escalated")
    town.clock.set(morning - timedelta(hours=1))
    await town.tick()
    await citizen_is_answered(town)

    town.clock.set(morning + timedelta(hours=15))
    await town.tick()
    next_morning = (morning + timedelta(days=1)).timestamp()

    async def held_again() -> bool:
        return await held_for(town, town.citizen.id) == [next_morning]

    await eventually(held_again)
    await citizen_is_answered(town)
    assert notices_to_citizen(town) == []
    town.clock.set(morning + timedelta(hours=23, minutes=59))
    await town.tick()
    await citizen_is_answered(town)
    assert notices_to_citizen(town) == []

    town.clock.set(morning + timedelta(days=1, seconds=1))
    await town.tick()
    notice = await town.citizen.wait_for(text=ESCALATED_NOTICE)
    assert ref in notice.text
    await citizen_is_answered(town)
    assert len(notices_to_citizen(town)) == 1


async def test_a_rating_reminder_due_at_01_00_comes_at_08_00_that_morning(town: Town) -> None:
    """Li finishes Alice's request at 01:00 minus a day; the rating reminder falls due at
    01:00 and is moved to 08:00 the same morning (7 hours), not the next day's."""
    town.clock.set(local(2026, 12, 4, 1, 0))
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await town.vol1.send("/start")
    await town.vol1.wait_for(text="Choose below")
    press = await town.vol1.press("🙋 Claim", chat=town.volunteers, message=card)
    assert ref in ((await press.answer()).text or "")
    await town.vol1.wait_for(text="+8613800000001")
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")

    town.clock.set(local(2026, 12, 5, 1, 0, 1))
    assert await town.tick() == 0  # deferred, not fired
    town.clock.set(local(2026, 12, 5, 7, 59))
    assert await town.tick() == 0
    town.clock.set(local(2026, 12, 5, 8, 0, 1))
    assert await town.tick() == 1
    reminder = await town.citizen.wait_for(text="A reminder about")
    assert ref in reminder.text


async def test_new_years_eve_rolls_references_counters_periods_and_reports(town: Town) -> None:
    """A request confirmed at 23:59:59 on 31 December belongs to 2026; one filed a second
    later is 2027-000001. /stats counts each in its own year and day, and at 09:00 on
    1 January the admins get December's digest and monthly summary with the first only."""
    town.clock.set(local(2026, 12, 31, 23, 0))
    warm_up = await file_request(town.citizen, text="Earlier that evening")
    assert warm_up == "2026-000001"

    town.clock.set(local(2026, 12, 31, 23, 59, 59))
    last_of_the_year = await file_request(town.citizen, text="Just before midnight")
    town.clock.set(local(2027, 1, 1, 0, 0, 1))
    first_of_the_year = await file_request(town.citizen, text="Just after midnight")
    assert last_of_the_year == "2026-000002"
    assert first_of_the_year == "2027-000001"

    for period, collected in (("2026", 2), ("2027", 1), ("today", 1), ("2026-12-31", 2),
                              ("year", 1), ("month", 1)):
        await town.admin.send(f"/stats {period}", chat=town.admin_chat)
        figures = await town.admin_chat.wait_for(text="Statistics · the whole district")
        assert f"Collected: {collected}\n" in figures.text, (period, figures.text)

    town.clock.set(local(2027, 1, 1, 9, 0, 1))
    await town.tick()
    digest = await town.admin_chat.wait_for(text="Daily digest · 2026-12-31")
    assert "Collected: 2" in digest.text
    monthly = await town.admin_chat.wait_for(text="Monthly summary · 2026-12")
    assert "Collected: 2" in monthly.text
