"""Quiet hours (22:00-08:00 in Shanghai) for what the clock tells a volunteer or an admin in
private: each message is held to the morning when nothing is lost by waiting, and sent at
once only when waiting would miss what comes next.

- "Your task is due" to a claimer: the request is overdue on time either way; the claimer is
  told at 08:00 unless the admins would be alerted of it (a further due period later) before
  then (then at once, without a sound), and not at all if the task was done (or released)
  meanwhile.
- "Your call reached its deadline" to a call's admin: the call closes on time and its cards
  and roster say so at once; the note of how it went waits for the morning.
- What another person's press tells someone of a call at night (filled, a reserve now needed,
  called off) goes at once, without a sound, as the call itself did.

The bot's clock is set, never the machine's. The town's clock starts on Wednesday 10 June
2026, 10:00 in Shanghai (tests/conftest.py).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from sandbox import SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import card_of, claim, file_request, open_bot
from tests.test_calls_e2e import approved, now_says, roster_of, sent_call
from tests.test_forged_edits_e2e import next_call
from tests.test_mutants_loop import give_elderly_help

DUE = "Reminder: your task"
EXPIRED = "reached its deadline"


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment of June 2026 in Shanghai."""
    return datetime(2026, 6, day, hour, minute, second, tzinfo=SHANGHAI)


def said(person: SimUser, words: str) -> list[str]:
    """What the bot has said to `person` in private that holds `words`."""
    return [m.text or "" for m in person.private.bot_messages() if words in (m.text or "")]


async def at(town: Town, moment: datetime) -> int:
    """The clock set to `moment` and one sweep; how many timers fired. Every message the
    sweep queued has gone (or is held) when it returns."""
    town.clock.set(moment)
    fired = await town.tick()
    await sent_what_is_due(town)
    return fired


async def sent_what_is_due(town: Town) -> None:
    """Wait until the bot has made every call it queued that is not held for the morning
    (each wait ends at the sandbox's next call, never after a set time)."""
    services = town.bot.services
    assert services is not None
    for _ in range(200):
        await services.env.db.flush_loose()
        async with services.env.db.reading() as repo:
            if not await repo.outbox.pending_outbox_head(services.env.now(), 1):
                return
        await next_call(town)
    raise AssertionError("the outbox never sent what was due")


async def li_claims(town: Town, moment: datetime) -> str:
    """Alice files a request and Li claims it at `moment`; its reference."""
    await open_bot(town.vol1)
    town.clock.set(moment)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")
    return ref


def overdue_alert_due(town: Town) -> list[float]:
    """When the admins' overdue alerts are due (those not yet fired)."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute(
            "SELECT due_at FROM timers WHERE kind = 'volunteer_overdue' AND done_at IS NULL")]


# -- a claimer's task falls due at night ---------------------------------------------------


async def test_a_task_due_at_23_30_is_reminded_at_08_00_and_its_clock_keeps_time(
        town: Town) -> None:
    """Li claimed at 23:30, so his task is due at 23:30 the next night. Nobody wakes him:
    the reminder comes at 08:00 (not at 07:59), once. The admins' alert stays due a day after
    the task fell due, not a day after the morning."""
    ref = await li_claims(town, local(10, 23, 30))
    assert await at(town, local(11, 23, 30, 1)) == 1
    assert said(town.vol1, DUE) == []
    assert [round(due / 60) for due in overdue_alert_due(town)] == [
        round(local(12, 23, 30).timestamp() / 60)]
    await at(town, local(12, 7, 59))
    assert said(town.vol1, DUE) == []

    assert await at(town, local(12, 8, 0, 1)) == 1
    reminder = await town.vol1.wait_for(text=DUE)
    assert ref in (reminder.text or "")
    assert reminder.buttons == ["✅ Done", "↩️ Release", "⏳ Need more time"]
    await at(town, local(12, 9, 0))
    assert len(said(town.vol1, DUE)) == 1


async def test_a_due_reminder_held_for_08_00_that_finds_the_bot_off_until_23_00_waits_again(
        town: Town) -> None:
    """Li's task falls due at 23:30 and his reminder waits for 08:00. The bot is off from
    07:00 until 23:00 the next night: what it finds due then is night again, so Li is not
    woken at 23:00; he is reminded at 08:00 the morning after, once, if he still holds it."""
    ref = await li_claims(town, local(10, 23, 30))
    assert await at(town, local(11, 23, 30, 1)) == 1
    await at(town, local(12, 7, 0))
    assert said(town.vol1, DUE) == []

    await at(town, local(12, 23, 0))
    assert said(town.vol1, DUE) == []
    await at(town, local(13, 7, 59))
    assert said(town.vol1, DUE) == []
    await at(town, local(13, 8, 0, 1))
    reminder = await town.vol1.wait_for(text=DUE)
    assert ref in (reminder.text or "")
    await at(town, local(13, 9, 0))
    assert len(said(town.vol1, DUE)) == 1


async def test_a_due_reminder_held_over_a_night_off_is_not_sent_once_the_task_is_released(
        town: Town) -> None:
    """The same night off; Li releases the task at 23:10, before the morning after: at 08:00
    nothing comes, since his reminder asks again then."""
    ref = await li_claims(town, local(10, 23, 30))
    await at(town, local(11, 23, 30, 1))
    await at(town, local(12, 23, 0))
    town.clock.set(local(12, 23, 10))
    await town.vol1.press("↩️ Release")
    await town.vol1.wait_for(text=f"You released {ref}")
    await at(town, local(13, 8, 0, 1))
    await at(town, local(13, 9, 0))
    assert said(town.vol1, DUE) == []


async def test_a_task_due_at_02_00_and_done_before_morning_is_never_reminded(
        town: Town) -> None:
    """Li claimed at 02:00; the next night at 02:00 his task falls due: no message. He
    finishes it at 07:30; at 08:00 nothing comes, since nothing is due any more."""
    await li_claims(town, local(11, 2, 0))
    assert await at(town, local(12, 2, 0, 1)) == 1
    assert said(town.vol1, DUE) == []
    town.clock.set(local(12, 7, 30))
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")

    assert await at(town, local(12, 8, 0, 1)) == 0
    await at(town, local(12, 9, 0))
    assert said(town.vol1, DUE) == []


async def test_a_task_due_at_02_00_whose_admins_hear_before_morning_is_reminded_at_once(
        town: Town) -> None:
    """Help for the elderly is due 4 hours after a claim, and the admins hear of it 4 hours
    after that. Li claims at 22:00; at 02:00 his task falls due, and waiting for 08:00 would
    let the 06:00 alert reach the admins first: he is reminded at once, at 02:00."""
    await give_elderly_help(town, due_after="4h")
    ref = await li_claims(town, local(10, 22, 0))
    assert await at(town, local(11, 2, 0, 1)) == 1
    reminder = await town.vol1.wait_for(text=DUE)
    assert ref in (reminder.text or "")
    assert sounds(town, town.vol1, DUE) == [False]  # there when he wakes; it does not wake him


async def test_a_task_due_at_23_30_whose_admins_hear_at_03_30_is_reminded_at_once(
        town: Town) -> None:
    """With 4 hours, a task claimed at 19:30 falls due at 23:30 and the admins would hear at
    03:30, before the morning: Li is reminded at 23:30."""
    await give_elderly_help(town, due_after="4h")
    await li_claims(town, local(10, 19, 30))
    assert await at(town, local(10, 23, 30, 1)) == 1
    await town.vol1.wait_for(text=DUE)
    assert sounds(town, town.vol1, DUE) == [False]


async def test_a_task_due_at_23_50_on_new_years_eve_before_the_admins_hear_is_reminded_quietly(
        town: Town) -> None:
    await give_elderly_help(town, due_after="4h")
    await li_claims(town, datetime(2026, 12, 31, 19, 50, tzinfo=SHANGHAI))
    assert await at(town, datetime(2026, 12, 31, 23, 50, 1, tzinfo=SHANGHAI)) == 1
    await town.vol1.wait_for(text=DUE)
    assert sounds(town, town.vol1, DUE) == [False]


# -- a call's deadline passes at night -----------------------------------------------------


async def test_a_call_until_23_30_closes_then_and_its_admin_hears_how_it_went_at_08_00(
        town: Town) -> None:
    """The admin's call stands until 23:30. At 23:30 it closes: its card and roster say so
    at once. The note of how it went waits until 08:00."""
    await approved(town, town.vol1)
    card = await sent_call(town, until="23:30")
    assert await at(town, local(10, 23, 30, 1)) == 1
    await now_says(town, card, "This call is closed")
    await now_says(town, roster_of(town), "This call is closed")
    assert said(town.admin, EXPIRED) == []
    await at(town, local(11, 7, 59))
    assert said(town.admin, EXPIRED) == []

    await at(town, local(11, 8, 0, 1))
    told = await town.admin.wait_for(text=EXPIRED)
    assert "Call #1" in (told.text or "")


async def test_a_call_until_02_00_closes_then_and_its_admin_hears_at_08_00(
        town: Town) -> None:
    """Written at 22:30, the call stands until 02:00: it closes at 02:00, the note waits
    for the morning."""
    await approved(town, town.vol1)
    town.clock.set(local(10, 22, 30))
    card = await sent_call(town, until="02:00", point=False)
    assert await at(town, local(11, 2, 0, 1)) == 1
    await now_says(town, card, "This call is closed")
    assert said(town.admin, EXPIRED) == []

    await at(town, local(11, 8, 0, 1))
    await town.admin.wait_for(text=EXPIRED)


# -- what another person's press tells someone at night -------------------------------------

FILLED = "has the 1 people it needed"
MOVED_UP = "you are now among the people needed"
CALLED_OFF = "is cancelled: please do not come"


def sounds(town: Town, person: SimUser, words: str) -> list[bool]:
    """For each message holding `words` the bot sent `person`: whether it made a sound."""
    return [not params.get("disable_notification", False)
            for _, params, _ in town.sb.calls_to("sendMessage")
            if int(params.get("chat_id", 0)) == person.id and words in str(params.get("text"))]


async def filled_at(town: Town, moment: datetime, until: str = "06:00") -> list[bool]:
    """The admin's call for one person, standing `until`, sent at `moment`; Li answers at
    once. Whether the admin's "filled" notice made a sound."""
    await approved(town, town.vol1)
    town.clock.set(moment)
    card = await sent_call(town, needed="1", until=until, point=False)
    await (await town.vol1.press("🙋 I'm in", message=card)).answer()
    await town.admin.wait_for(text=FILLED)
    return sounds(town, town.admin, FILLED)


async def test_a_call_filled_at_23_30_tells_its_admin_at_once_without_a_sound(
        town: Town) -> None:
    """Li's answer at 23:30 fills the call: the admin, who may be asleep, sees it at once
    but is not woken, as the call itself woke nobody."""
    assert await filled_at(town, local(10, 23, 30)) == [False]


async def test_a_call_filled_at_02_00_tells_its_admin_without_a_sound(town: Town) -> None:
    assert await filled_at(town, local(11, 2, 0)) == [False]


async def test_a_call_filled_on_new_years_eve_at_23_50_tells_its_admin_without_a_sound(
        town: Town) -> None:
    assert await filled_at(town, datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI)) == [False]


async def test_a_call_filled_by_day_rings_as_before(town: Town) -> None:
    assert await filled_at(town, local(11, 9, 0), until="18:00") == [True]


async def test_at_02_00_a_reserve_moved_up_and_the_cancelled_hear_it_without_a_sound(
        town: Town) -> None:
    """A call for one, at 02:00: Li is in, Zhang a reserve. Li can't come after all: Zhang
    is now needed, and told so quietly. The admin then calls it off: Zhang is told not to
    come, quietly too."""
    li, zhang = town.vol1, town.vol2
    await approved(town, li, zhang)
    town.clock.set(local(11, 2, 0))
    card = await sent_call(town, needed="1", until="06:00", point=False)
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    await (await zhang.press("🙋 I'm in", message=card)).answer()
    await zhang.wait_for(text="reserve")
    await (await li.press("Can't come after all")).answer()
    await zhang.wait_for(text=MOVED_UP)
    assert sounds(town, zhang, MOVED_UP) == [False]

    await town.admin.press("❌ Cancel the call", message=roster_of(town))
    ask = await town.admin.wait_for(text="Cancel call #1")
    await town.admin.press("Yes, cancel it", message=ask)
    await zhang.wait_for(text=CALLED_OFF)
    assert sounds(town, zhang, CALLED_OFF) == [False]
