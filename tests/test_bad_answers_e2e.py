"""Telegram's answer does not arrive whole: a proxy's HTML error page, a 200 that is not JSON,
a body cut half way. Each is the network's fault, not Telegram's refusal: the call waits and
goes again, using up no attempt, and the log holds no traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import REF, card_of, file_request, open_bot
from tests.test_forged_edits_e2e import drained

PROXY_PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><center>"
              b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
PORTAL_PAGE = b"<html><body>Please log in to the hotel Wi-Fi</body></html>"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """One attempt only: an answer taken for Telegram's refusal would fail the message."""
    return {"delivery": {"max_attempts": 1}}


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every log record at ERROR or above, or carrying a traceback."""
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info]


async def failed_rows(town: Town) -> list[tuple[str, str | None]]:
    """The outbox rows given up, with the error kept."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        rows = await repo._all("SELECT status, last_error FROM outbox WHERE status = 'failed'")
    return [(row[0], row[1]) for row in rows]


async def test_a_proxys_html_error_page_delays_the_card_and_logs_no_traceback(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """The district reaches Telegram through nginx; Telegram is slow and nginx answers the
    bot's next two messages with its own 502 page. The request's messages still arrive and
    its card reaches the group once; the log says the network was away, without a
    traceback (PTB logged one for every page it could not read as JSON)."""
    town.sb.inject("sendMessage", code=502, body=PROXY_PAGE, times=2)
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    assert len([m for m in town.volunteers.bot_messages() if ref in (m.text or "")]) == 1
    assert await failed_rows(town) == []
    assert tracebacks(caplog) == []


async def test_a_200_that_is_not_json_is_not_taken_for_telegrams_refusal(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """A Wi-Fi portal answers the receipt's call with 200 and its login page. That is no
    answer from Telegram: the bot gave the message up as refused (one attempt allowed) and
    logged a traceback. Now it waits and sends it when Telegram answers again."""
    await open_bot(town.citizen)
    town.sb.inject("sendMessage", code=200, body=PORTAL_PAGE, times=2)
    await town.citizen.send("/start")
    await town.citizen.wait_for(text="Choose below")
    menus = [m for m in town.citizen.private.bot_messages() if "Choose below" in (m.text or "")]
    assert len(menus) == 2  # the first /start's and this one's, each once
    assert await failed_rows(town) == []
    assert tracebacks(caplog) == []


async def test_an_answer_cut_half_way_after_telegram_sent_the_receipt_repeats_it_at_most_once(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram sends Alice's receipt but the line breaks half way through its answer: the
    bot cannot know it went, so it sends it again (at least once; at most one repeat)."""
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True)
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    receipts = [m for m in town.citizen.private.bot_messages()
                if REF.search(m.text or "") and "Reference number" in (m.text or "")]
    assert 1 <= len(receipts) <= 2
    assert await failed_rows(town) == []
    assert tracebacks(caplog) == []


async def test_getupdates_answered_by_a_proxy_page_or_broken_json_keeps_polling(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """The long poll itself meets a proxy's 502 page, then a 200 that is not JSON, then a
    body cut half way: the poller waits each out and Alice's /start is answered, once."""
    town.sb.inject("getUpdates", code=502, body=PROXY_PAGE)
    town.sb.inject("getUpdates", code=200, body=PORTAL_PAGE)
    town.sb.inject("getUpdates", code=200, body=b'{"ok":true,"result":[{"update_id":',
                   truncated=True)
    await town.citizen.send("/start")
    await town.citizen.wait_for(text="Choose below", timeout=20)
    assert len(town.citizen.private.bot_messages()) == 1
    assert tracebacks(caplog) == []


async def test_a_card_posted_twice_is_put_right_when_its_lost_copy_is_pressed(
    town: Town,
) -> None:
    """The card reaches the group but the line breaks before Telegram's answer does: the bot,
    not knowing it went, posts it again. The group sees two cards and the bot knows only the
    second. Li presses Claim on the first: she gets the request, and that copy too shows it
    claimed, with no Claim button left for Zhang to press in vain."""
    await open_bot(town.vol1, town.vol2)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    ref = await file_request(town.citizen)
    first = await card_of(town.volunteers, ref)
    second = await card_of(town.volunteers, ref)
    assert first.message_id != second.message_id
    press = await town.vol1.press("🙋 Claim", chat=town.volunteers, message=first)
    assert ref in ((await press.answer()).text or "")
    await town.vol1.wait_for(text="+8613800000001")
    await town.sb.wait_until(lambda: "claimed by Li" in (second.text or ""))
    await town.sb.wait_until(lambda: "claimed by Li" in (first.text or ""))
    assert "🙋 Claim" not in first.buttons and "🙋 Claim" not in second.buttons


async def test_a_lost_copy_pressed_is_taken_on_as_a_card_to_the_end(town: Town) -> None:
    """The card is posted twice (the first post's answer lost) and Li claims from the lost
    copy. That copy becomes one of the request's cards: when Li finishes and Alice confirms,
    both copies end showing the request closed, without buttons; it was claimed once. Before,
    the lost copy kept "claimed by Li" for ever."""
    await open_bot(town.vol1, town.vol2)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    ref = await file_request(town.citizen)
    first = await card_of(town.volunteers, ref)
    second = await card_of(town.volunteers, ref)
    assert first.message_id != second.message_id
    await (await town.vol1.press("🙋 Claim", chat=town.volunteers, message=first)).answer()
    await town.vol1.wait_for(text="+8613800000001")
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.send("Fixed the tap.")
    await town.vol1.wait_for(text="marked done")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await town.sb.wait_until(lambda: f"{ref} · closed" in (second.text or ""))
    await town.sb.wait_until(lambda: first.text == second.text)
    assert not first.buttons and not second.buttons
    assert len([m for m in town.vol1.private.bot_messages()
                if "+8613800000001" in (m.text or "")]) == 1
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        row = await repo._one("SELECT COUNT(*) FROM events WHERE kind = 'claimed'")
    assert row[0] == 1


async def test_a_lost_copy_pressed_in_vain_is_taken_on_and_reminded_of_once(
    town: Town,
) -> None:
    """The card is posted twice. Zhang, who never opened the bot, presses Claim on the lost
    copy: he is asked to open it first, and the copy is taken on as a card all the same. The
    claim reminder comes once in the group, not once per copy; Li claims from the reminder,
    which stays a reminder, and both copies show the request claimed, without Claim."""
    await open_bot(town.vol1)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    ref = await file_request(town.citizen)
    first = await card_of(town.volunteers, ref)
    second = await card_of(town.volunteers, ref)
    press = await town.vol2.press("🙋 Claim", chat=town.volunteers, message=first)
    assert "open" in ((await press.answer()).text or "").lower()
    await town.tick(minutes=31)
    reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer")
    await drained(town)
    assert len([m for m in town.volunteers.bot_messages()
                if "Still waiting" in (m.text or "")]) == 1
    await (await town.vol1.press("🙋 Claim", chat=town.volunteers, message=reminder)).answer()
    await town.sb.wait_until(lambda: "claimed by Li" in (second.text or "")
                             and "claimed by Li" in (first.text or ""))
    await drained(town)
    assert not first.buttons and not second.buttons
    assert "Still waiting" in (reminder.text or "")


async def test_a_call_that_hangs_past_the_timeout_then_gets_a_504_page_is_sent_again_once(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram is slow: the proxy holds the card's post beyond the bot's read timeout and
    then answers with its own 504 page (the post never reached Telegram). The bot gives up
    waiting, pauses as for an outage, and posts the card again: it arrives once, nothing is
    given up, and no traceback is logged."""
    town.sb.inject("sendMessage", code=504, chat=town.volunteers.id, delay=6, body=(
        b"<html><head><title>504 Gateway Time-out</title></head><body>"
        b"<center><h1>504 Gateway Time-out</h1></center></body></html>"))
    ref = await file_request(town.citizen)
    await town.volunteers.wait_for(text=ref, timeout=30)
    assert len([m for m in town.volunteers.bot_messages() if ref in (m.text or "")]) == 1
    assert await failed_rows(town) == []
    assert tracebacks(caplog) == []
