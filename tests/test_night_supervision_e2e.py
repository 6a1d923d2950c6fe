"""Quiet hours (22:00-08:00 in Shanghai) for the supervision clock, in a district with no admin
chat (the centre's admin hears in private): what falls due at night reaches the unit's chat at
once, and the people it would wake at 08:00, and then only if it is still true. A problem put
right at 07:30 is chased by nobody at 08:00; one received at 07:30 is not "late" at 08:00.
Each story at 23:30, at 02:00 and on New Year's Eve at 23:50, whose morning is next year's.

Problems are made as in tests/test_supervision_dispatch_e2e.py: the Guangminglu office's chat
is bound, Zhang acts for it, Li inspects; Liming is admin of the office's area. An urgent
problem here has 4 hours: reminded after 2, overdue after 4, escalated 2 hours later, all in
one night.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import supervision_town
from tests.test_night_policy_e2e import sounds
from tests.test_quiet_hours_e2e import at, said
from tests.test_supervision_clock_e2e import (
    ESCALATED,
    OVERDUE,
    OVERDUE_ADMINS,
    REMINDER,
    area_admin,
)
from tests.test_supervision_dispatch_e2e import Cast, cast, events, press, rectify, report

LATE = "has not received problem"
NOT_RECEIVED = "has not been received yet"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example registers, no admin chat, an urgent problem's clock inside one night."""
    return {**supervision_town(tmp_path, escalate_after="2h",
                               deadlines={"urgent": "4h", "normal": "3d", "minor": "7d"}),
            "admin_chat_id": 0}


def local(year: int, month: int, day: int, hour: int, minute: int = 0,
          second: int = 0) -> datetime:
    """A moment in Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


MOMENTS = [(local(2026, 6, 12, 23, 30), local(2026, 6, 13, 8, 0)),
           (local(2026, 6, 13, 2, 0), local(2026, 6, 13, 8, 0)),
           (local(2026, 12, 31, 23, 50), local(2027, 1, 1, 8, 0))]
MOMENT_IDS = ["23:30", "02:00", "new year's eve 23:50"]
NIGHTS = pytest.mark.parametrize(("night", "morning"), MOMENTS, ids=MOMENT_IDS)
# The same nights, and a day, with whether a message sent then makes a sound.
NIGHT_OR_DAY = pytest.mark.parametrize(
    ("moment", "sound"),
    [(night, False) for night, _ in MOMENTS] + [(local(2026, 6, 12, 15, 0), True)],
    ids=[*MOMENT_IDS, "day 15:00"])

SECOND = timedelta(seconds=1)


async def received_at(town: Town, c: Cast, moment: datetime,
                      severity: str = "urgent") -> tuple[str, SimMessage]:
    """A problem reported and received by Zhang at `moment`; its reference and card."""
    town.clock.set(moment)
    ref = await report(town, c.li, severity=severity)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    return ref, card


def heard(person: SimUser) -> tuple[int, int, int, int]:
    """How many deadline reminders, overdue notices (the unit's and the admins'), and
    escalations the person has had in private."""
    return (len(said(person, REMINDER)), len(said(person, OVERDUE)),
            len(said(person, OVERDUE_ADMINS)), len(said(person, ESCALATED)))


# -- the rectification clock ---------------------------------------------------------------------


@NIGHTS
async def test_a_problem_chased_all_night_is_told_to_people_at_08_00_once(
        town: Town, night: datetime, morning: datetime) -> None:
    """Received two hours before `night`: reminded then, overdue two hours later, escalated
    two more. The office's chat hears each at once; Zhang, the centre's admin and Liming
    sleep until 08:00, when the problem is overdue and not put right: Zhang and the admin are
    told it is overdue (the reminder of a deadline now past is not sent), Liming that it
    escalated. Once each."""
    c = await cast(town)
    liming = await area_admin(town)
    ref, _ = await received_at(town, c, night - timedelta(hours=2))

    await at(town, night + SECOND)
    await c.office.wait_for(text=REMINDER)
    await at(town, night + timedelta(hours=2) + SECOND)
    await c.office.wait_for(text=OVERDUE)
    await at(town, night + timedelta(hours=4) + SECOND)
    await at(town, morning - timedelta(minutes=1))
    assert (heard(c.zhang), heard(c.admin), heard(liming)) == ((0, 0, 0, 0),) * 3

    await at(town, morning + SECOND)
    await c.zhang.wait_for(text=OVERDUE)
    told = await c.admin.wait_for(text=OVERDUE_ADMINS)
    assert ref in (told.text or "")
    escalated = await liming.wait_for(text=ESCALATED)
    assert ref in (escalated.text or "")
    await at(town, morning + timedelta(hours=1))
    assert (heard(c.zhang), heard(c.admin), heard(liming)) == (
        (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))
    assert sounds(town, liming.id, ESCALATED) == [True]  # by day, as any message
    assert await events(town, ref) == ["reported", "dispatched", "received", "reminded",
                                       "overdue", "escalated"]


@NIGHTS
async def test_a_problem_put_right_at_07_30_is_chased_by_nobody_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    """The same night, but Zhang puts it right at 07:30: at 08:00 nobody is told that it is
    overdue or escalated, and its history names no escalation."""
    c = await cast(town)
    liming = await area_admin(town)
    ref, card = await received_at(town, c, night - timedelta(hours=2))
    await at(town, night + SECOND)
    await at(town, night + timedelta(hours=2) + SECOND)
    await c.office.wait_for(text=OVERDUE)
    await at(town, night + timedelta(hours=4) + SECOND)

    town.clock.set(morning - timedelta(minutes=30))
    await rectify(c.zhang, card)
    await at(town, morning + SECOND)
    await at(town, morning + timedelta(hours=1))
    assert (heard(c.zhang), heard(c.admin), heard(liming)) == ((0, 0, 0, 0),) * 3
    assert "escalated" not in await events(town, ref)


@NIGHTS
async def test_a_deadline_near_at_night_reaches_the_member_at_08_00_while_it_is_ahead(
        town: Town, night: datetime, morning: datetime) -> None:
    """A normal problem (3 days) is reminded a day ahead, at `night`: the office's chat at
    once, Zhang at 08:00, its deadline still to come."""
    c = await cast(town)
    ref, _ = await received_at(town, c, night - timedelta(days=2), severity="normal")
    await at(town, night + SECOND)
    await c.office.wait_for(text=REMINDER)
    await at(town, morning - timedelta(minutes=1))
    assert heard(c.zhang) == (0, 0, 0, 0)

    await at(town, morning + SECOND)
    reminder = await c.zhang.wait_for(text=REMINDER)
    assert ref in (reminder.text or "")
    await at(town, morning + timedelta(hours=1))
    assert heard(c.zhang) == (1, 0, 0, 0)


async def test_a_problem_received_at_23_30_on_new_years_eve_has_three_beijing_days(
        town: Town) -> None:
    """Zhang receives a normal problem (3 days) at 23:30 on 31 December (15:30 in UTC): it is
    to be put right by 23:30 on 3 January 2027 in Beijing, and the office's chat is reminded
    a day ahead, at 23:30 on 2 January, not a minute before."""
    c = await cast(town)
    town.clock.set(local(2026, 12, 31, 23, 30))
    ref = await report(town, c.li, severity="normal")
    card = await c.office.wait_for(text=ref)
    toast = await press(c.zhang, "✅ Received", card)
    assert toast == f"Received: rectify {ref} by 2027-01-03 23:30."

    def reminders() -> int:
        return sum(REMINDER in (m.text or "") for m in c.office.bot_messages())

    await at(town, local(2027, 1, 2, 23, 29))
    assert reminders() == 0
    await at(town, local(2027, 1, 2, 23, 31))
    reminder = await c.office.wait_for(text=REMINDER)
    assert ref in (reminder.text or "")


@NIGHTS
async def test_a_deadline_near_at_night_is_not_sent_at_08_00_once_put_right(
        town: Town, night: datetime, morning: datetime) -> None:
    c = await cast(town)
    _, card = await received_at(town, c, night - timedelta(days=2), severity="normal")
    await at(town, night + SECOND)
    await c.office.wait_for(text=REMINDER)
    town.clock.set(morning - timedelta(minutes=30))
    await rectify(c.zhang, card)
    await at(town, morning + SECOND)
    await at(town, morning + timedelta(hours=1))
    assert heard(c.zhang) == (0, 0, 0, 0)


# -- a problem not received in time --------------------------------------------------------------


@NIGHTS
async def test_a_problem_not_received_by_night_reaches_the_admin_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    """Sent to the office four hours before `night`, not received by then: the office's
    chat is reminded at once, the centre's admin told at 08:00 (not at 07:59), once."""
    c = await cast(town)
    town.clock.set(night - timedelta(hours=4))
    ref = await report(town, c.li)
    await c.office.wait_for(text=ref)
    await at(town, night + SECOND)
    await c.office.wait_for(text=NOT_RECEIVED)
    await at(town, morning - timedelta(minutes=1))
    assert said(c.admin, LATE) == []

    await at(town, morning + SECOND)
    late = await c.admin.wait_for(text=LATE)
    assert ref in (late.text or "")
    await at(town, morning + timedelta(hours=1))
    assert len(said(c.admin, LATE)) == 1


@NIGHTS
async def test_a_problem_received_at_07_30_is_not_late_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    c = await cast(town)
    town.clock.set(night - timedelta(hours=4))
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await at(town, night + SECOND)
    await c.office.wait_for(text=NOT_RECEIVED)
    town.clock.set(morning - timedelta(minutes=30))
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    await at(town, morning + SECOND)
    await at(town, morning + timedelta(hours=1))
    assert said(c.admin, LATE) == []


# -- what someone's press at night brings a person in private ------------------------------------


@NIGHT_OR_DAY
async def test_a_problem_reported_at_night_reaches_the_units_member_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """Li reports at `moment`: Zhang's copy of the office's card is his to act on, so it
    comes at once, without a sound at night; the office's chat has it too."""
    c = await cast(town)
    town.clock.set(moment)
    ref = await report(town, c.li)
    await c.office.wait_for(text=ref)
    card = await c.zhang.wait_for(text=ref)
    assert card.buttons == ["✅ Received", "↩️ Not ours"]
    assert sounds(town, c.zhang.id, ref) == [sound]


@NIGHT_OR_DAY
async def test_a_problem_no_unit_chat_shows_reaches_the_admin_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """At `moment` Li reports one problem for the office, whose group refuses its card, and
    one for the market bureau, which has no chat: the admin has to mend both, and hears of
    each at once, without a sound at night."""
    c = await cast(town)
    c.office.bot_status = "kicked"
    town.clock.set(moment)
    refused = await report(town, c.li)
    told = await c.admin.wait_for(text=f"The card of problem {refused}")
    assert "could not be posted in the chat of" in (told.text or "")
    unbound = await report(town, c.li, point="market-01")
    told = await c.admin.wait_for(text=unbound)
    assert "which has no chat" in (told.text or "")
    assert sounds(town, c.admin.id, refused) + sounds(town, c.admin.id, unbound) == [
        sound, sound]


@NIGHT_OR_DAY
async def test_a_problem_rectified_at_night_reaches_its_inspector_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """Zhang puts it right at `moment`: Li's re-check is his to decide, so it comes at once,
    without a sound at night."""
    c = await cast(town)
    _, card = await received_at(town, c, moment - timedelta(hours=1), severity="normal")
    town.clock.set(moment)
    await rectify(c.zhang, card)
    await c.li.wait_for(text="Re-check problem")
    assert sounds(town, c.li.id, "Re-check problem") == [sound]


@NIGHT_OR_DAY
async def test_a_recheck_that_reaches_no_inspector_at_night_is_told_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    c = await cast(town)
    ref, card = await received_at(town, c, moment - timedelta(hours=1), severity="normal")
    c.li.block()
    town.clock.set(moment)
    await rectify(c.zhang, card)
    await c.admin.wait_for(text=f"The re-check of problem {ref}")
    assert sounds(town, c.admin.id, "could not reach the inspector") == [sound]


@NIGHTS
async def test_a_recheck_rejected_at_night_reaches_the_member_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    """Li rejects the re-check at `night`: the office's chat hears at once, Zhang at 08:00
    (a decision made, true in the morning as at night)."""
    c = await cast(town)
    ref, card = await received_at(town, c, night - timedelta(hours=1), severity="normal")
    await rectify(c.zhang, card)
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    await press(c.li, "❌ Reject", recheck)
    await c.li.wait_for(text="why is it not put right")
    await c.li.send("Still blocked")
    await c.office.wait_for(text="did not pass the re-check")
    await at(town, morning - timedelta(minutes=1))
    assert said(c.zhang, "did not pass the re-check") == []
    await at(town, morning + SECOND)
    told = await c.zhang.wait_for(text="did not pass the re-check")
    assert ref in (told.text or "")


@NIGHT_OR_DAY
async def test_a_problem_put_right_with_nobody_to_recheck_it_is_told_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """Li no longer inspects when Zhang puts it right at `moment`: the admin must make
    someone who can re-check it, and hears at once, without a sound at night."""
    c = await cast(town)
    ref, card = await received_at(town, c, moment - timedelta(hours=1), severity="normal")
    await c.admin.send(f"/inspector remove {c.li.id}")
    await c.admin.wait_for(text="Li is no longer an inspector")
    town.clock.set(moment)
    await rectify(c.zhang, card)
    told = await c.admin.wait_for(text="no inspector to re-check it")
    assert ref in (told.text or "")
    assert sounds(town, c.admin.id, "no inspector to re-check it") == [sound]


@NIGHT_OR_DAY
async def test_what_a_unit_asks_of_the_admin_at_night_reaches_him_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """At `moment` Zhang says one problem is not the office's and asks more time for
    another: each waits on the admin's button, so each comes at once, without a sound at
    night."""
    c = await cast(town)
    returned = await report(town, c.li)
    card = await c.office.wait_for(text=returned)
    _, other = await received_at(town, c, moment - timedelta(hours=1), severity="normal")
    town.clock.set(moment)
    await press(c.zhang, "↩️ Not ours", card)
    await c.zhang.wait_for(text="why is it not your unit's")
    await c.zhang.send("The market bureau manages this lane")
    told = await c.admin.wait_for(text="was returned")
    assert returned in (told.text or "")
    await press(c.zhang, "⏳ Need more time", other)
    await c.zhang.wait_for(text="why do you need more time")
    await c.zhang.send("Waiting for a new lamp")
    await c.zhang.wait_for(text="Until when?")
    await c.zhang.send((moment + timedelta(days=10)).date().isoformat())
    asked = await c.admin.wait_for(text="asks for more time")
    assert asked.buttons == ["✅ Approve", "✖️ Refuse"]
    assert sounds(town, c.admin.id, "was returned") + sounds(
        town, c.admin.id, "asks for more time") == [sound, sound]
