"""Nothing stalls silently: reminders, escalation, auto-close, drafts and digests on the clock.

Time is moved, never waited for: `town.tick(hours=2)` moves the bot's clock and runs the
schedule's sweep, then the test checks what reached the sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sandbox import SimMessage
from storage import Outgoing, Repo, Request, Timer
from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLAIM = "🙋 Claim"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in late November 2026, Shanghai time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def texts(messages: list[SimMessage], needle: str) -> list[str]:
    """The texts of the messages that contain `needle`."""
    return [m.text for m in messages if needle in (m.text or "")]


async def open_bot(town: Town, *people: str) -> None:
    """Volunteers and admins open the bot once so it may write to them."""
    for name in people:
        person = getattr(town, name)
        await person.send("/start")
        await person.wait_for(text="Choose below")


async def claimed_request(town: Town) -> tuple[str, SimMessage]:
    """Alice files a request and Li claims it; returns its reference and card."""
    await open_bot(town, "vol1")
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")
    return ref, card


async def done_request(town: Town) -> tuple[str, SimMessage]:
    """A request Li has marked done, waiting for Alice's answer."""
    ref, card = await claimed_request(town)
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")
    return ref, card


async def test_an_unclaimed_request_is_reminded_then_escalated(town: Town) -> None:
    """Nobody claims Alice's request: after 30 minutes the group is reminded (a reply to the
    card, with Claim); after 2 hours it is escalated to the admin chat and Alice is told."""
    town.clock.set(at(30, 10))
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)

    assert await town.tick(minutes=29) == 0
    assert await town.tick(minutes=2) == 1
    reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer")
    assert ref in reminder.text and reminder.buttons == [CLAIM]
    assert reminder.reply_to_message_id == card.message_id
    assert await town.tick(minutes=1) == 0  # reminded once, not at every sweep

    assert await town.tick(hours=1, minutes=30) == 1
    escalated = await town.admin_chat.wait_for(text="Escalated")
    assert ref in escalated.text and escalated.buttons == [CLAIM]
    assert "+8613800000001" not in escalated.text
    await town.citizen.wait_for(text="passed it to the service centre")
    assert await town.tick(hours=5) == 0

    # Claiming from the escalated card works and updates both cards.
    await open_bot(town, "admin")
    press = await town.admin.press(CLAIM, chat=town.admin_chat, message=escalated)
    assert ref in ((await press.answer()).text or "")
    await town.sb.wait_until(lambda: "claimed by Admin" in card.text and not card.buttons
                             and "claimed by Admin" in escalated.text)


async def test_a_late_volunteer_is_reminded_then_the_admins_are_alerted(town: Town) -> None:
    """Li claims and goes quiet: after 24 h he is reminded in private with Done, Release and
    Need more time; 24 h later the admin chat is alerted that it is overdue."""
    town.clock.set(at(30, 10))
    ref, _ = await claimed_request(town)
    await town.tick(hours=23)
    assert texts(town.vol1.private.bot_messages(), "Reminder") == []
    await town.tick(hours=1, minutes=1)
    reminder = await town.vol1.wait_for(text="Reminder: your task")
    assert ref in reminder.text
    assert reminder.buttons == ["✅ Done", "↩️ Release", "⏳ Need more time"]

    await town.tick(hours=24)
    alert = await town.admin_chat.wait_for(text="is overdue: claimed by")
    assert ref in alert.text and "Li" in alert.text


async def test_need_more_time_extends_once(town: Town) -> None:
    """Li asks for more time at the reminder: no admin alert comes, the next reminder comes a
    day later without the Need more time button, and asking twice is refused."""
    town.clock.set(at(30, 10))
    await claimed_request(town)
    await town.tick(hours=24, minutes=1)
    reminder = await town.vol1.wait_for(text="Reminder: your task")
    press = await town.vol1.press("⏳ Need more time", message=reminder)
    assert (await press.answer()).text == "More time granted"
    await town.vol1.wait_for(text="you have more time")
    again = await town.vol1.press("⏳ Need more time", message=reminder)
    assert "already given once" in ((await again.answer()).text or "")

    await town.tick(hours=23)
    assert texts(town.admin_chat.bot_messages(), "is overdue: claimed by") == []
    await town.tick(hours=1, minutes=1)
    second = await town.vol1.wait_for(text="Reminder: your task")
    assert second.buttons == ["✅ Done", "↩️ Release"]


async def test_an_unanswered_done_is_reminded_then_closed_without_confirmation(
    town: Town,
) -> None:
    """Alice never answers "resolved?": a reminder after 24 h, then after 72 h the request
    closes as "closed without confirmation", counted apart in /stats."""
    town.clock.set(at(30, 10))
    _, card = await done_request(town)
    await town.tick(hours=24, minutes=1)
    reminder = await town.citizen.wait_for(text="A reminder about")
    assert reminder.buttons == ["👍 Yes, resolved", "👎 No, not yet"]

    await town.tick(hours=48)
    await town.citizen.wait_for(text="has been closed because we did not hear back")
    await town.sb.wait_until(lambda: "closed" in card.text.splitlines()[0])
    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text="Statistics")
    assert "Closed: 1 (confirmed by the citizen: 0, without confirmation: 1)" in stats.text

    late = await town.citizen.press("👍 Yes, resolved", message=reminder)
    assert "already answered" in ((await late.answer()).text or "")


async def test_citizen_reminders_wait_for_the_end_of_quiet_hours(town: Town) -> None:
    """Li finishes at 23:00 Shanghai time; the rating reminder falls due at 23:00 next night,
    inside quiet hours, so it waits past midnight until 08:00. Alice's own questions at night
    are still answered at once."""
    town.clock.set(at(29, 23))
    await done_request(town)
    await town.tick(hours=24, minutes=1)  # 23:01 on the 30th
    await town.tick(hours=1, minutes=30)  # 00:31 on 1 December: still quiet
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    assert texts(town.citizen.private.bot_messages(), "A reminder about") == []

    await town.tick(hours=7, minutes=30)  # 08:01
    reminder = await town.citizen.wait_for(text="A reminder about")
    local = datetime.fromtimestamp(town.clock.now(), SHANGHAI)
    assert (local.hour, local.day) == (8, 1)
    assert reminder.buttons == ["👍 Yes, resolved", "👎 No, not yet"]


async def test_a_restart_before_the_due_time_reminds_exactly_once(town: Town) -> None:
    """The bot stops 10 minutes before the claim reminder is due and starts 10 minutes after:
    the reminder goes out once, not twice and not never."""
    town.clock.set(at(30, 10))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    await town.tick(minutes=20)
    await town.bot.stop()
    town.clock.advance(minutes=20)
    await town.bot.start()  # its first sweep runs at start
    await town.volunteers.wait_for(text="Still waiting for a volunteer")
    await town.tick(minutes=1)
    await town.bot.stop()
    await town.bot.start()
    await town.tick(minutes=1)
    assert len(texts(town.volunteers.bot_messages(), "Still waiting")) == 1


async def test_a_day_long_outage_catches_up_once_in_order(town: Town) -> None:
    """The machine is off for a day after Alice files: on start, the reminder and then the
    escalation each happen exactly once, in that order."""
    town.clock.set(at(30, 10))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    await town.bot.crash()
    town.clock.advance(days=1)
    await town.bot.start()
    reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer")
    escalated = await town.admin_chat.wait_for(text="Escalated")
    await town.tick(minutes=5)
    await town.tick(minutes=5)
    assert len(texts(town.volunteers.bot_messages(), "Still waiting")) == 1
    assert len(texts(town.admin_chat.bot_messages(), "Escalated")) == 1
    assert reminder.chat is town.volunteers and escalated.chat is town.admin_chat
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
        assert request is not None
        kinds = [e.kind for e in await repo.requests.events(request.id)]
    assert kinds.index("claim_reminded") < kinds.index("escalated")
    assert kinds.count("escalated") == 1


@pytest.mark.parametrize(("winner", "reminders"), [
    pytest.param("sweep", 1, id="the sweep settles the reminder first"),
    pytest.param("done", 0, id="done commits between the sweep's read and its settle"),
])
async def test_done_racing_the_reminder_leaves_one_consistent_state(
    town: Town, monkeypatch: pytest.MonkeyPatch, winner: str, reminders: int
) -> None:
    """Li finishes (Skip on the note) in the very instant his task's reminder falls due. The
    race is run both ways, each made certain: the sweep settles the reminder first (it fires
    and Li is reminded), or Li's Done commits after the sweep found the reminder due but
    before it settled it (the guarded settle finds it called off: nothing fires, nothing is
    sent). Either way the request ends done, no overdue alert ever follows, and no volunteer
    timer is left pending."""
    town.clock.set(at(30, 10))
    ref, _ = await claimed_request(town)
    await town.vol1.press("✅ Done")
    prompt = await town.vol1.wait_for(text="Write a short note")
    town.clock.advance(hours=24, minutes=1)
    services = town.bot.services
    assert services is not None
    schedule = services.schedule
    settle = schedule._settle
    found_due, done_committed = asyncio.Event(), asyncio.Event()

    async def settle_after_done(timer: Timer) -> int:
        found_due.set()
        await done_committed.wait()
        return await settle(timer)

    if winner == "done":
        monkeypatch.setattr(schedule, "_settle", settle_after_done)
    sweep = asyncio.create_task(schedule.sweep())
    if winner == "done":
        await asyncio.wait_for(found_due.wait(), timeout=5)
    else:
        await sweep
        await town.vol1.wait_for(text="Reminder: your task")
    press = await town.vol1.press("Skip", message=prompt)
    await press.answer()
    await town.vol1.wait_for(text="marked done")
    done_committed.set()
    fired = await sweep
    await town.tick(days=2)
    assert texts(town.admin_chat.bot_messages(), "is overdue: claimed by") == []
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
        assert request is not None and request.status in ("done", "closed")
        pending = [t.kind for t in await repo.timers.pending_timers(request_id=request.id)]
    assert "volunteer_overdue" not in pending and "volunteer_due" not in pending
    assert fired == reminders
    assert len(texts(town.vol1.private.bot_messages(), "Reminder: your task")) == reminders


async def test_an_abandoned_draft_is_nudged_once_then_expires(town: Town) -> None:
    """Alice stops halfway through the form: an hour later she is nudged (Continue works);
    a day after her last answer the draft expires and she is told."""
    town.clock.set(at(30, 10))
    alice = town.citizen
    await alice.send("/start")
    await alice.wait_for(text="Choose below")
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")

    await town.tick(minutes=61)
    nudge = await alice.wait_for(text="unfinished request")
    await town.tick(minutes=61)
    assert len(texts(alice.private.bot_messages(), "Would you like to continue")) == 1
    await alice.press("▶ Continue", message=nudge)
    await alice.wait_for(text="describe the problem")

    await town.tick(hours=24)
    await alice.wait_for(text="was discarded")
    await open_form(alice, message=nudge.chat.bot_messages()[0])


async def test_a_draft_left_late_in_the_evening_is_nudged_in_the_morning(town: Town) -> None:
    """Alice stops halfway through the form at 21:30: the nudge, due at 22:30, would wake her;
    it comes at 08:00 instead, and its Continue takes her back to the step she left."""
    town.clock.set(at(30, 21, 30))
    alice = town.citizen
    await alice.send("/start")
    await alice.wait_for(text="Choose below")
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")

    await town.tick(minutes=61)  # 22:31
    town.clock.set(datetime(2026, 12, 1, 7, 59, tzinfo=SHANGHAI))
    await town.tick(seconds=0)
    assert texts(alice.private.bot_messages(), "unfinished request") == []
    await town.tick(minutes=2)  # 08:01
    nudge = await alice.wait_for(text="unfinished request")
    sent = datetime.fromtimestamp(nudge.date, SHANGHAI)
    assert (sent.day, sent.hour) == (1, 8), f"nudged at {sent}"
    await alice.press("▶ Continue", message=nudge)
    await alice.wait_for(text="describe the problem")


async def test_the_daily_digest_reports_yesterdays_numbers(town: Town) -> None:
    """On 30 November three requests come in: one is closed by Alice, one she cancels, one
    waits and is escalated. At 09:00 on 1 December the admin chat gets the digest with those
    numbers and the overdue reference, once; the monthly summary for November comes too."""
    town.clock.set(at(30, 9, 30))
    await town.tick(minutes=1)  # the digest for the 29th goes out now; we want the 30th's
    await open_bot(town, "vol1")
    closed_ref = await file_request(town.citizen, text="Closed one")
    card = await card_of(town.volunteers, closed_ref)
    await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")

    cancelled_ref = await file_request(town.citizen, text="Cancelled one")
    await town.citizen.send("/my")
    await town.citizen.wait_for(text="Your requests")
    await town.citizen.press(f"✖ Cancel {cancelled_ref}")
    await town.citizen.wait_for(text=f"Cancel request {cancelled_ref}?")
    await town.citizen.press("Yes, cancel it")
    await town.citizen.wait_for(text=f"Request {cancelled_ref} is cancelled")
    waiting_ref = await file_request(town.citizen, text="Waiting one")
    await town.tick(hours=3)  # escalated: now overdue

    town.clock.set(at(30, 23))
    await town.tick(hours=10)  # 09:00 on 1 December
    digest = await town.admin_chat.wait_for(text="Daily digest · 2026-11-30")
    assert "Collected: 3" in digest.text
    assert "Closed, confirmed by the citizen: 1" in digest.text
    assert "Closed without confirmation: 0" in digest.text
    assert "Cancelled: 1" in digest.text and "Reopened: 0" in digest.text
    assert "Open now: 1" in digest.text and waiting_ref in digest.text
    monthly = await town.admin_chat.wait_for(text="Monthly summary · 2026-11")
    assert "Collected: 3" in monthly.text
    await town.tick(hours=1)
    assert len(texts(town.admin_chat.bot_messages(), "Daily digest · 2026-11-30")) == 1


async def test_one_failing_timer_does_not_hold_up_the_others(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reminder of Alice's first request fails (a bug, a bad row): it is set aside, and
    the second request's reminder and the first one's escalation still come."""
    town.clock.set(at(30, 10))
    services = town.bot.services
    assert services is not None
    first = await file_request(town.citizen, text="First")
    second = await file_request(town.citizen, text="Second")
    original = services.schedule._claim_reminder

    async def broken(repo: Repo, request: Request, timer: Timer) -> list[Outgoing]:
        if request.ref == first:
            raise RuntimeError("a poison timer")
        return await original(repo, request, timer)

    monkeypatch.setattr(services.schedule, "_claim_reminder", broken)
    await town.tick(minutes=31)
    reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer")
    assert second in reminder.text
    await town.tick(hours=2)
    escalated = await town.admin_chat.wait_for(
        predicate=lambda m: "Escalated" in m.text and first in m.text)
    assert escalated.buttons == [CLAIM]


async def test_a_draft_under_a_comment_keeps_its_clock(town: Town) -> None:
    """Alice is halfway through a new form when she rates an old request; the form sits under
    the comment question. It is not nudged meanwhile, expires on time if she never comes back,
    and she is told."""
    town.clock.set(at(30, 10))
    await done_request(town)
    alice = town.citizen
    await open_form(alice, message=alice.private.bot_messages()[0])
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")
    await alice.press("👍 Yes, resolved")
    await alice.wait_for(text="How would you rate")
    await alice.press("⭐⭐⭐⭐")
    await alice.wait_for(text="add a comment")
    await town.tick(hours=2)
    assert texts(alice.private.bot_messages(), "Would you like to continue") == []
    await town.tick(hours=23)
    await alice.wait_for(text="was discarded")
    await alice.press("Skip")
    await alice.wait_for(text="Thank you for your feedback")
    assert texts(alice.private.bot_messages(), "back to your unfinished request") == []


async def test_more_time_is_granted_afresh_to_the_next_volunteer(town: Town) -> None:
    """Li takes more time, then releases; Zhang claims and may ask for more time too."""
    town.clock.set(at(30, 10))
    ref, card = await claimed_request(town)
    await town.tick(hours=24, minutes=1)
    reminder = await town.vol1.wait_for(text="Reminder: your task")
    await town.vol1.press("⏳ Need more time", message=reminder)
    await town.vol1.wait_for(text="you have more time")
    await town.vol1.press("↩️ Release", message=reminder)
    await town.sb.wait_until(lambda: card.buttons == [CLAIM])
    await open_bot(town, "vol2")
    assert ref in await claim(town.vol2, town.volunteers, card)
    await town.tick(hours=24, minutes=1)
    second = await town.vol2.wait_for(text="Reminder: your task")
    assert "⏳ Need more time" in second.buttons


async def test_a_request_that_went_straight_to_the_admins_is_still_escalated(town: Town) -> None:
    """Living environment has no group, so the card is in the admin chat from the start; when
    nobody claims it in 2 hours it is flagged there once, and Alice is told."""
    town.clock.set(at(30, 10))
    ref = await file_request(town.citizen, category="Living environment")
    await card_of(town.admin_chat, ref)
    await town.tick(hours=2, minutes=1)
    flagged = await town.admin_chat.wait_for(text="waited too long")
    assert ref in flagged.text
    await town.citizen.wait_for(text="passed it to the service centre")
    await town.tick(hours=5)
    assert len(texts(town.admin_chat.bot_messages(), "waited too long")) == 1


async def test_the_clock_can_go_back_without_losing_digests(town: Town) -> None:
    """Time is moved far ahead with nothing to report, then back: the digest of a day that had
    requests still comes (an empty period is never marked as sent)."""
    town.clock.set(at(30, 10))
    await town.tick(days=20)  # nothing happened: nothing reported, nothing recorded
    town.clock.set(at(30, 11))
    await file_request(town.citizen)
    town.clock.set(at(30, 23))
    await town.tick(hours=10, minutes=1)
    digest = await town.admin_chat.wait_for(text="Daily digest · 2026-11-30")
    assert "Collected: 1" in digest.text
