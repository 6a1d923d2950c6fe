"""The outbox sender's promises, seen from a chat: Telegram's "wait" (429 with retry_after) is
kept for that chat, to the second it names, and the message then goes once; a call Telegram
refuses as a bad request is given up at once, never tried again, and holds up nothing after
it; but an edit Telegram already shows is as good as made."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import card_of, claim, eventually, file_request, open_bot


async def alices_rows(town: Town) -> list[dict[str, Any]]:
    """Alice's outbox rows, oldest first: status, attempts, not_before, last_error."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        rows = await repo._all(
            "SELECT status, attempts, not_before, last_error FROM outbox WHERE chat_id = ? "
            "ORDER BY id", (town.citizen.id,))
    return [dict(zip(("status", "attempts", "not_before", "last_error"), row, strict=True))
            for row in rows]


async def settled(town: Town, before: int, statuses: list[str]) -> None:
    """Wait until Alice's rows after the first `before` are marked so (a sent message's mark
    is written a moment after Telegram's answer)."""
    async def marked() -> bool:
        return [row["status"] for row in (await alices_rows(town))[before:]] == statuses
    await eventually(marked)


def answers(town: Town, text: str) -> int:
    """How many times the bot said `text` to Alice."""
    return sum(text in (m.text or "") for m in town.citizen.private.bot_messages())


async def test_telegrams_wait_is_kept_to_the_second_then_the_message_goes_once(
    town: Town,
) -> None:
    """Telegram answers the bot's reply to Alice with 429, retry after 30 seconds. The reply
    waits those 30 seconds (nothing else is tried for Alice meanwhile), then goes, once."""
    await open_bot(town.citizen)
    before = len(await alices_rows(town))
    town.sb.inject("sendMessage", code=429, description="Too Many Requests: retry after 30",
                   retry_after=30, times=1)
    asked_at = town.clock.now()
    await town.citizen.send("/help")

    async def held() -> bool:
        rows = (await alices_rows(town))[before:]
        return bool(rows) and rows[0]["status"] == "pending" \
            and rows[0]["not_before"] >= asked_at + 30
    await eventually(held)
    assert answers(town, "How it works") == 0
    town.clock.advance(seconds=30)
    await town.citizen.wait_for(text="How it works")
    assert answers(town, "How it works") == 1
    await settled(town, before, ["sent"])


async def test_a_bad_request_is_given_up_at_once_and_holds_up_nothing(town: Town) -> None:
    """Telegram refuses the bot's reply to Alice as a bad request: trying it again would get
    the same answer, so it is given up at once, with the reason kept, and never sent again.
    Alice's next question is answered as usual."""
    await open_bot(town.citizen)
    before = len(await alices_rows(town))
    town.sb.inject("sendMessage", code=400, description="Bad Request: message text is empty",
                   times=1)
    await town.citizen.send("/help")

    async def given_up() -> bool:
        rows = (await alices_rows(town))[before:]
        return bool(rows) and rows[0]["status"] == "failed"
    await eventually(given_up)
    refused = (await alices_rows(town))[before]
    assert refused["last_error"] == "bad request: Message text is empty"
    town.clock.advance(minutes=10)  # long past any pause between attempts
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    assert answers(town, "How it works") == 1
    await settled(town, before, ["failed", "sent"])


async def test_an_edit_telegram_already_shows_counts_as_made(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """A card's edit made again (after a crash between the call and its mark) is answered
    "message is not modified": what the bot meant to show is shown, so it is as good as done.
    The edit is marked sent, and nobody is alarmed by an error in the log."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    town.sb.inject("editMessageText", code=400, times=1, description=(
        "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message"))
    await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text=f"You took {ref}")

    async def edits_settled() -> bool:
        services = town.bot.services
        assert services is not None
        async with services.env.db.reading() as repo:
            rows = await repo._all("SELECT status FROM outbox WHERE purpose = 'card_edit'")
        return bool(rows) and all(row[0] == "sent" for row in rows)
    await eventually(edits_settled)
    assert ("editMessageText", "Bad Request: message is not modified: specified new message "
            "content and reply markup are exactly the same as a current content and reply "
            "markup of the message") in town.sb.errors
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_sender_is_woken_once_the_reply_is_committed(town: Town) -> None:
    """Alice's reply is queued with her update's commit, and the sender is woken then, not
    before (it would find nothing yet) and not left to find it on its own a second later:
    at the wake the reply is already in the outbox for any reader to see."""
    services = town.bot.services
    assert services is not None
    await open_bot(town.citizen)
    before = len(await alices_rows(town))
    seen_at_wakes: list[int] = []
    wake = services.env.wake_sender

    def woken() -> None:
        with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
            seen_at_wakes.append(db.execute("SELECT COUNT(*) FROM outbox WHERE chat_id = ?",
                                            (town.citizen.id,)).fetchone()[0])
        wake()

    services.env.wake_sender = woken
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    assert before + 1 in seen_at_wakes, seen_at_wakes


async def test_a_call_that_failed_for_a_passing_reason_is_tried_again_after_a_pause(
    town: Town,
) -> None:
    """Telegram answers the bot's reply to Alice with an error that may pass (409): the
    reply is tried again, not at once, which would meet the same trouble and use up its
    attempts, but a couple of seconds later; then it goes, once."""
    await open_bot(town.citizen)
    before = len(await alices_rows(town))
    town.sb.inject("sendMessage", code=409, description="Conflict: try again", times=1)
    asked_at = town.clock.now()
    await town.citizen.send("/help")

    async def paused() -> bool:
        rows = (await alices_rows(town))[before:]
        return bool(rows) and rows[0]["status"] == "pending" and rows[0]["attempts"] == 1 \
            and rows[0]["not_before"] >= asked_at + 2
    await eventually(paused)
    assert answers(town, "How it works") == 0
    town.clock.advance(seconds=2)
    await town.citizen.wait_for(text="How it works")
    await settled(town, before, ["sent"])
    assert answers(town, "How it works") == 1
