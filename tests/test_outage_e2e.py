"""Telegram unreachable for a while: sending pauses, uses up no attempt, resumes when it is
back, and the admins hear once how long it lasted."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot import ui
from tests.conftest import Town
from tests.flows import card_of, file_request, open_bot, open_form


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """One attempt only: before, the first network failure would have failed a message."""
    return {"delivery": {"max_attempts": 1, "outage_report_after": "2m"}}


async def outbox_rows(town: Town) -> list[tuple[str, int, str | None]]:
    """Every outbox row: its status, the calls made for it, the last error kept."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        rows = await repo._all("SELECT status, attempts, last_error FROM outbox ORDER BY id")
    return [(row[0], row[1], row[2]) for row in rows]


async def test_a_five_minute_outage_delays_the_reminder_and_loses_nothing(town: Town) -> None:
    """Alice's request waits for a volunteer. The network goes down just as its claim
    reminder falls due: the bot tries, cannot reach Telegram, and pauses, again and again.
    Five minutes later Telegram is back: the reminder reaches the group, no message was
    given up, none counts a failed attempt, and the admin chat is told once what happened."""
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    sent_before = len(town.volunteers.bot_messages())

    town.sb.unreachable = True
    assert await town.tick(minutes=31) >= 1  # the claim reminder is due and queued
    await town.sb.wait_until(lambda: town.sb.dropped.count("sendMessage") >= 3, timeout=15)
    town.clock.advance(minutes=5)
    town.sb.unreachable = False

    reminder = await town.volunteers.wait_for(text=ref, timeout=30)
    assert "waiting" in (reminder.text or "").lower() or ref in (reminder.text or "")
    assert len(town.volunteers.bot_messages()) > sent_before
    notice = await town.admin_chat.wait_for(text="could not be reached", timeout=30)
    assert "about 5 min" in (notice.text or "") and "no message was lost" in (notice.text or "")
    statuses = await outbox_rows(town)
    assert all(status != "failed" and error is None for status, _, error in statuses), statuses
    assert all(calls <= 1 for _, calls, _ in statuses), statuses  # only the call that went
    assert len([m for m in town.admin_chat.bot_messages()
                if "could not be reached" in (m.text or "")]) == 1


async def test_a_short_outage_is_not_reported(town: Town) -> None:
    """A blip of a few seconds pauses sending too, but is not worth the admins' attention."""
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    town.sb.unreachable = True
    assert await town.tick(minutes=31) >= 1
    await town.sb.wait_until(lambda: town.sb.dropped.count("sendMessage") >= 1, timeout=15)
    town.sb.unreachable = False
    await town.volunteers.wait_for(text=ref, timeout=30)
    assert not [m for m in town.admin_chat.bot_messages()
                if "could not be reached" in (m.text or "")]


async def test_calls_that_go_together_after_an_outage_report_it_once(town: Town) -> None:
    """When Telegram is back, the calls waiting for several chats go at once: the admins
    hear of the outage once, not once for each call that went."""
    people = (town.citizen, town.vol1, town.vol2, town.admin)
    await open_bot(*people)
    services = town.bot.services
    assert services is not None
    town.sb.unreachable = True
    async with services.env.db.transaction() as repo:
        await repo.outbox.enqueue([ui.message(p.id, f"Notice for {p.first_name}")
                                   for p in people], services.env.now())
    services.sender.wake()
    await town.sb.wait_until(lambda: town.sb.dropped.count("sendMessage") >= 2, timeout=15)
    town.clock.advance(minutes=5)
    town.sb.unreachable = False
    for person in people:
        await person.wait_for(text=f"Notice for {person.first_name}", timeout=30)
    await town.admin_chat.wait_for(text="could not be reached", timeout=30)
    async with services.env.db.reading() as repo:
        reports = await repo._all("SELECT id FROM outbox WHERE chat_id = ? AND payload LIKE ?",
                                  (town.admin_chat.id, "%could not be reached%"))
    assert len(reports) == 1


async def test_a_press_whose_answer_meets_the_outage_is_not_told_it_failed(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """The network drops as the bot answers Alice's press (its work done and saved): the
    error handler took the lost answer for a failure, logged two tracebacks and, had the
    network come back for it, answered "something went wrong". Seen in bench/drills.py's
    outage. The press now simply goes unanswered, and the form goes on."""
    await open_bot(town.citizen)
    town.sb.inject("answerCallbackQuery", code=502, description="Bad Gateway")  # one
    await town.citizen.press("📝 New request")
    await town.citizen.wait_for(predicate=lambda m: "What kind of help" in (m.text or "")
                                or "Before you start" in (m.text or ""),  # privacy notice
                                timeout=10)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    answers = [c for c in town.sb.calls_to("answerCallbackQuery") if c[2] is True]
    assert not any("went wrong" in str(params) for _, params, _ in answers)


async def test_a_card_telegram_keeps_refusing_goes_to_the_admins_when_given_up(
        town: Town) -> None:
    """Telegram answers the card's post with an error that is neither the network's nor a
    bad request (409, here), as often as the bot may try (once in this town): the call is
    given up, and the card goes to the admin chat with the notice a refused card gets, so
    the request is not left unseen."""
    await open_bot(town.admin)
    alice = town.citizen
    await open_bot(alice)
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")
    await alice.send("My kitchen tap is leaking and I cannot fix it.")
    await alice.wait_for(text="Where is it")
    await alice.send("12 Jianshe Road, building 3")
    await alice.wait_for(text="How can the volunteer reach you")
    await alice.tap("📞 Share my phone number")
    await alice.wait_for(text="Is everything correct?")
    town.sb.inject("sendMessage", code=409, description="Conflict: try again", times=2)
    await alice.press("✅ Confirm and send")  # the receipt and the card meet the 409

    notice = await town.admin_chat.wait_for(text="could not be posted to its group")
    assert "Conflict" in (notice.text or "")
    card = await town.admin_chat.wait_for(predicate=lambda m: "🙋 Claim" in m.buttons)
    assert "kitchen tap" in (card.text or "")
    statuses = await outbox_rows(town)
    assert [s for s in statuses if s[0] == "failed"], statuses
