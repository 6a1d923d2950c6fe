"""Quiet hours (22:00-08:00 in Shanghai) for what nobody in the chat asked for just now: each
private message goes as bot/night.py's table says, at once, silently, or in the morning and
then only if it is still true. Groups hear at once; late at night, at 02:00 and on New Year's
Eve, whose morning is next year's.

The town runs on the full synthetic tree of Shizhong district, so that an area admin
(Liming, of Guangminglu 1) hears of his community in private.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from sandbox import SimChat, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import card_of, claim, open_bot, open_form
from tests.test_area_admins_e2e import AREA_FILE, area_admin
from tests.test_areas_e2e import GUANGMINGLU, GUANGMINGLU_01, bound_group, file_at
from tests.test_mutants_loop import give_elderly_help
from tests.test_quiet_hours_e2e import at, said
from tests.test_relay_e2e import TO_CITIZEN, open_chat

OVERDUE = "is overdue: claimed by"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"areas": {"file": str(AREA_FILE)}}


def local(year: int, month: int, day: int, hour: int, minute: int = 0,
          second: int = 0) -> datetime:
    """A moment in Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def sounds(town: Town, chat_id: int, words: str) -> list[bool]:
    """For each message with `words` the bot sent to a chat: whether it made a sound."""
    return [not params.get("disable_notification", False)
            for _, params, _ in town.sb.calls_to("sendMessage")
            if int(params.get("chat_id", 0)) == chat_id and words in str(params.get("text"))]


async def community(town: Town) -> tuple[SimUser, SimChat]:
    """Liming, admin of Guangminglu 1, and its volunteers' group, where Li is; help for the
    elderly is due 4 hours after a claim, and the admins hear 4 hours after that."""
    liming = await area_admin(town, "Liming", "liming", "guangminglu-01")
    group = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                              GUANGMINGLU_01)
    await give_elderly_help(town, due_after="4h")
    await open_bot(town.vol1)
    return liming, group


async def li_claims(town: Town, group: SimChat, moment: datetime) -> str:
    """Alice files a request in Guangminglu 1 and Li claims it at `moment`; its reference."""
    town.clock.set(moment)
    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    assert ref in await claim(town.vol1, group, await card_of(group, ref))
    return ref


# -- the overdue alert to the admins ------------------------------------------------------------


async def test_an_overdue_alert_at_23_30_goes_to_the_admin_chat_and_to_the_area_admin_at_08_00(
        town: Town) -> None:
    """Li claimed at 15:30; at 23:30 his task is overdue. The admin chat is told at once; the
    area admin, asleep at home, at 08:00 (not at 07:59)."""
    liming, group = await community(town)
    ref = await li_claims(town, group, local(2026, 6, 10, 15, 30))
    await at(town, local(2026, 6, 10, 19, 30, 1))
    await town.vol1.wait_for(text="Reminder: your task")

    await at(town, local(2026, 6, 10, 23, 30, 1))
    await town.admin_chat.wait_for(text=f"{ref} {OVERDUE}")
    assert said(liming, OVERDUE) == []
    await at(town, local(2026, 6, 11, 7, 59))
    assert said(liming, OVERDUE) == []

    await at(town, local(2026, 6, 11, 8, 0, 1))
    alert = await liming.wait_for(text=OVERDUE)
    assert ref in (alert.text or "")
    await at(town, local(2026, 6, 11, 9, 0))
    assert len(said(liming, OVERDUE)) == 1


async def test_an_overdue_alert_at_02_00_is_not_sent_at_08_00_if_the_task_was_done_by_then(
        town: Town) -> None:
    """Li claimed at 18:00; the alert falls due at 02:00: the admin chat hears, the area
    admin sleeps on. Li finishes at 07:30, so at 08:00 there is nothing to tell."""
    liming, group = await community(town)
    ref = await li_claims(town, group, local(2026, 6, 10, 18, 0))
    await at(town, local(2026, 6, 10, 22, 0, 1))
    await at(town, local(2026, 6, 11, 2, 0, 1))
    await town.admin_chat.wait_for(text=f"{ref} {OVERDUE}")
    assert said(liming, OVERDUE) == []

    town.clock.set(local(2026, 6, 11, 7, 30))
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")
    await at(town, local(2026, 6, 11, 8, 0, 1))
    await at(town, local(2026, 6, 11, 9, 0))
    assert said(liming, OVERDUE) == []


async def test_an_overdue_alert_on_new_years_eve_at_23_50_reaches_the_area_admin_next_year(
        town: Town) -> None:
    """Claimed at 15:50 on 31 December, overdue at 23:50: the area admin hears at 08:00 on
    1 January 2027, once."""
    liming, group = await community(town)
    ref = await li_claims(town, group, local(2026, 12, 31, 15, 50))
    await at(town, local(2026, 12, 31, 19, 50, 1))
    await at(town, local(2026, 12, 31, 23, 50, 1))
    await town.admin_chat.wait_for(text=f"{ref} {OVERDUE}")
    await at(town, local(2027, 1, 1, 7, 59, 59))
    assert said(liming, OVERDUE) == []

    await at(town, local(2027, 1, 1, 8, 0, 1))
    alert = await liming.wait_for(text=OVERDUE)
    assert ref in (alert.text or "")
    assert sounds(town, liming.id, OVERDUE) == [True]  # by day, as any message


async def test_an_overdue_alert_held_into_new_years_day_by_a_night_off_asks_again_on_2_january(
        town: Town) -> None:
    """Overdue at 23:50 on 31 December; the bot is off from 07:00 on 1 January until 23:00:
    at 23:00 it is night again and Liming is not told then. Li finishes at 07:30 on
    2 January, so at 08:00 there is nothing to tell."""
    liming, group = await community(town)
    await li_claims(town, group, local(2026, 12, 31, 15, 50))
    await at(town, local(2026, 12, 31, 19, 50, 1))
    await at(town, local(2026, 12, 31, 23, 50, 1))
    await at(town, local(2027, 1, 1, 7, 0))
    await at(town, local(2027, 1, 1, 23, 0))
    assert said(liming, OVERDUE) == []

    town.clock.set(local(2027, 1, 2, 7, 30))
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")
    await at(town, local(2027, 1, 2, 8, 0, 1))
    await at(town, local(2027, 1, 2, 9, 0))
    assert said(liming, OVERDUE) == []


async def test_an_overdue_alert_held_for_08_00_survives_the_claimer_starting_a_request_at_night(
        town: Town) -> None:
    """Li's task falls overdue at 23:30: the admin chat hears, the area admin is to hear at
    08:00. At 23:40 Li, unable to sleep, begins a request of his own (the form's clock starts
    for him): the area admin still hears at 08:00, and Li's form is no reason to forget it."""
    liming, group = await community(town)
    ref = await li_claims(town, group, local(2026, 6, 10, 15, 30))
    await at(town, local(2026, 6, 10, 19, 30, 1))
    await at(town, local(2026, 6, 10, 23, 30, 1))
    await town.admin_chat.wait_for(text=f"{ref} {OVERDUE}")

    town.clock.set(local(2026, 6, 10, 23, 40))
    await open_form(town.vol1, command=True)

    await at(town, local(2026, 6, 11, 8, 0, 1))
    alert = await liming.wait_for(text=OVERDUE)
    assert ref in (alert.text or "")


# -- a request stalls at night: its area admin hears in the morning ----------------------------

STALLED = "in your area, has waited too long without a volunteer"


async def filed_in_guangminglu(town: Town, moment: datetime) -> tuple[SimUser, str]:
    """Liming, admin of Guangminglu; Alice's request filed in its community 1 at `moment`,
    whose group is reminded after 30 minutes and which climbs after 2 hours."""
    liming = await area_admin(town, "Liming", "liming", "guangminglu")
    group = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                              GUANGMINGLU_01)
    town.clock.set(moment)
    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    await card_of(group, ref)
    return liming, ref


async def test_a_request_that_climbs_at_23_30_reaches_its_area_admin_at_08_00(
        town: Town) -> None:
    """Filed at 21:30, nobody claims it: at 23:30 it goes up to the district's group at once,
    and Liming hears of it at 08:00, once."""
    liming, ref = await filed_in_guangminglu(town, local(2026, 6, 10, 21, 30))
    await at(town, local(2026, 6, 10, 23, 30, 1))
    await town.volunteers.wait_for(text=ref)
    await at(town, local(2026, 6, 11, 7, 59))
    assert said(liming, STALLED) == []

    await at(town, local(2026, 6, 11, 8, 0, 1))
    told = await liming.wait_for(text=STALLED)
    assert ref in (told.text or "")
    await at(town, local(2026, 6, 11, 8, 30))
    assert len(said(liming, STALLED)) == 1


async def test_a_request_that_climbs_at_02_00_and_is_claimed_at_07_00_is_not_told_at_08_00(
        town: Town) -> None:
    """Filed at midnight, it climbs at 02:00; Li claims it from the district's group at
    07:00. At 08:00 Liming is told nothing: it no longer waits."""
    liming, ref = await filed_in_guangminglu(town, local(2026, 6, 11, 0, 0))
    await at(town, local(2026, 6, 11, 2, 0, 1))
    card = await card_of(town.volunteers, ref)
    assert said(liming, STALLED) == []
    town.clock.set(local(2026, 6, 11, 7, 0))
    await open_bot(town.vol1)
    assert ref in await claim(town.vol1, town.volunteers, card)

    await at(town, local(2026, 6, 11, 8, 0, 1))
    await at(town, local(2026, 6, 11, 9, 0))
    assert said(liming, STALLED) == []


async def test_a_request_that_climbs_on_new_years_eve_at_23_50_is_told_on_new_years_day(
        town: Town) -> None:
    liming, ref = await filed_in_guangminglu(town, local(2026, 12, 31, 21, 50))
    await at(town, local(2026, 12, 31, 23, 50, 1))
    await town.volunteers.wait_for(text=ref)
    assert said(liming, STALLED) == []
    await at(town, local(2027, 1, 1, 8, 0, 1))
    told = await liming.wait_for(text=STALLED)
    assert ref in (told.text or "")


# -- a digest caught up at night ---------------------------------------------------------------


@pytest.mark.parametrize(("filed", "back", "morning"), [
    (local(2026, 6, 10, 10, 0), local(2026, 6, 11, 23, 30), local(2026, 6, 12, 8, 0, 1)),
    (local(2026, 6, 10, 10, 0), local(2026, 6, 12, 2, 0), local(2026, 6, 12, 8, 0, 1)),
    (local(2026, 12, 30, 10, 0), local(2026, 12, 31, 23, 50), local(2027, 1, 1, 8, 0, 1)),
], ids=["23:30", "02:00", "new year's eve 23:50"])
async def test_a_digest_caught_up_at_night_goes_to_the_admin_chat_now_and_the_area_admin_at_08_00(
        town: Town, filed: datetime, back: datetime, morning: datetime) -> None:
    """The bot was off from the day a request was filed until late the next night: the
    digest of that day, caught up then, goes to the admin chat at once; Liming gets his
    area's at 08:00."""
    liming, _ = await filed_in_guangminglu(town, filed)
    day = f"Daily digest · {filed.date().isoformat()}"
    await at(town, back)
    await town.admin_chat.wait_for(text=day)
    assert said(liming, day) == []

    await at(town, morning)
    await liming.wait_for(text=day)


# -- a masked chat reported at night -------------------------------------------------------------

REPORTED = "was reported by the citizen"


@pytest.mark.parametrize(("moment", "sound"), [
    (local(2026, 6, 10, 23, 30), False), (local(2026, 6, 11, 2, 0), False),
    (local(2026, 12, 31, 23, 50), False), (local(2026, 6, 11, 15, 0), True),
], ids=["23:30", "02:00", "new year's eve 23:50", "day 15:00"])
async def test_a_chat_reported_at_night_reaches_the_area_admin_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """Li, who claimed Alice's request in Guangminglu 1, writes her something rude at
    `moment` and she reports the chat: the admin chat is told, and Liming, the community's
    admin, at once in private, to read it; without a sound at night."""
    liming, group = await community(town)
    ref = await li_claims(town, group, moment - timedelta(minutes=10))
    details = await town.vol1.wait_for(text=f"You took {ref}")
    await open_chat(town.vol1, TO_CITIZEN, details)
    town.clock.set(moment)
    await town.vol1.send("You are a nuisance, lady.")
    rude = await town.citizen.wait_for(text="You are a nuisance")
    await (await town.citizen.press("🚩 Report", message=rude)).answer()
    confirm = await town.citizen.wait_for(text="Report the chat on request")
    await (await town.citizen.press("Yes, report it", message=confirm)).answer()
    await town.admin_chat.wait_for(text=f"The chat on request {ref} {REPORTED}")
    told = await liming.wait_for(text=f"The chat on request {ref} {REPORTED}")
    assert f"/thread {ref}" in (told.text or "")
    assert sounds(town, liming.id, REPORTED) == [sound]
