"""Crashes and restarts lose nothing: drafts, queued messages and fetched updates survive."""

from __future__ import annotations

import json
import time

from storage import Database, Outgoing
from tests.conftest import Town
from tests.flows import file_request, open_form


async def test_a_restart_mid_conversation_keeps_the_draft(town: Town) -> None:
    """Alice picks a category and describes her problem; the bot restarts; she carries on."""
    alice = town.citizen
    await alice.send("/start")
    await alice.wait_for(text="Choose below")
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")
    await alice.send("The stairwell light is broken.")
    await alice.wait_for(text="Where is it")

    await town.bot.crash()
    await town.bot.start()

    await alice.send("5 Guangming Street")
    await alice.wait_for(text="How can the volunteer reach you")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "The stairwell light is broken." in summary.text
    assert "Help for the elderly" in summary.text
    assert "5 Guangming Street" in summary.text


async def test_queued_messages_are_delivered_once_after_a_crash(town: Town) -> None:
    """Telegram fails while Alice confirms; the bot crashes; after restart each message
    arrives exactly once, and another restart sends nothing twice."""
    sb = town.sb
    fault = sb.inject("sendMessage", times=1000)
    alice = town.citizen
    await alice.send("/start")
    await sb.wait_until(lambda: fault.remaining < 1000)  # the greeting could not be sent
    await town.bot.crash()
    sb.clear_faults()

    await town.bot.start()
    await alice.wait_for(text="Choose below")
    await town.bot.stop()
    await town.bot.start()
    ref = await file_request(alice)
    await town.volunteers.wait_for(text=ref)
    await town.bot.stop()
    await town.bot.start()
    await alice.send("/help")
    await alice.wait_for(text="How it works")

    greetings = [m for m in alice.private.bot_messages() if "Choose below" in m.text]
    receipts = [m for m in alice.private.bot_messages() if ref in m.text]
    cards = [m for m in town.volunteers.bot_messages() if ref in m.text]
    assert len(greetings) == 2  # one after the crash, one from file_request's own /start
    assert len(receipts) == 1
    assert len(cards) == 1


async def test_rows_committed_just_before_a_crash_go_out_on_restart(town: Town) -> None:
    """A unit of work committed its messages and the process died before sending them."""
    await town.bot.stop()
    db = await Database.open(town.bot.config.database)
    try:
        async with db.transaction() as repo:
            await repo.outbox.enqueue(
                [Outgoing(town.admin_chat.id, "sendMessage",
                          {"chat_id": town.admin_chat.id, "text": f"queued {n}"})
                 for n in range(3)],
                0.0,
            )
    finally:
        await db.close()
    await town.bot.start()
    for n in range(3):
        await town.admin_chat.wait_for(text=f"queued {n}")
    await town.bot.stop()
    await town.bot.start()
    await town.admin.send("/stats", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="Statistics")
    texts = [m.text for m in town.admin_chat.bot_messages()]
    assert [t for t in texts if t.startswith("queued")] == ["queued 0", "queued 1", "queued 2"]


async def test_an_update_fetched_but_not_handled_is_handled_after_restart(town: Town) -> None:
    """The bot confirmed Alice's /start to Telegram and died before handling it."""
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    await town.bot.stop()
    update = {
        "update_id": 999_000,
        "message": {
            "message_id": 77, "date": 1_700_000_000,
            "chat": {"id": town.citizen.id, "type": "private", "first_name": "Alice"},
            "from": {"id": town.citizen.id, "is_bot": False, "first_name": "Alice",
                     "language_code": "en"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    db = await Database.open(town.bot.config.database)
    try:
        async with db.transaction() as repo:
            fresh = await repo.inbox.save_updates([(999_000, json.dumps(update))], 1_700_000_000.0)
    finally:
        await db.close()
    assert fresh == [999_000]
    await town.bot.start()
    greeting = await town.citizen.wait_for(text="Choose below")
    assert "Alice" in greeting.text


async def test_every_update_is_stored_and_marked_handled(town: Town) -> None:
    """After the first batch, inbox rows ride with the handler's own trip to the database:
    every update still ends up stored and marked handled, none skipped."""
    for _ in range(3):
        await town.citizen.send("/help")
        await town.citizen.wait_for(text="How it works")
    await town.bot.stop()
    db = await Database.open(town.bot.config.database)
    try:
        async with db.reading() as repo:
            inbox = await repo.inbox.inbox()
    finally:
        await db.close()
    ids = sorted(inbox)
    assert len(ids) == 3 and ids == list(range(ids[0], ids[0] + 3))
    assert all(inbox.values())


async def test_polling_survives_telegram_errors(town: Town) -> None:
    """getUpdates answers 403, then 502, then 429: the bot keeps polling and serving."""
    town.sb.inject("getUpdates", code=403, description="Forbidden: bot was blocked", times=1)
    town.sb.inject("getUpdates", code=502, description="Bad Gateway", times=1)
    town.sb.inject("getUpdates", code=429, description="Too Many Requests: retry after 1",
                   retry_after=1, times=1)
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works", timeout=15)


async def test_start_up_waits_out_an_unreachable_telegram(town: Town) -> None:
    """getMe fails twice and setMyCommands is refused: the bot still comes up and serves."""
    await town.bot.stop()
    town.sb.inject("getMe", code=502, description="Bad Gateway", times=2)
    town.sb.inject("setMyCommands", code=429, description="Too Many Requests: retry after 5",
                   retry_after=5, times=1)
    await town.bot.start(wait_up_to=20)
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")


async def test_one_menu_refused_at_start_up_leaves_the_others_set(town: Town) -> None:
    """Telegram refuses the first menu start-up sets (the citizens' in Chinese; an admin
    chat the bot has left is refused so too, "chat not found"): the bot logs it and sets the
    rest, instead of giving up on every menu after it."""
    await town.bot.stop()
    town.sb.api.commands.clear()
    town.sb.inject("setMyCommands", code=400, description="Bad Request: chat not found")
    await town.bot.start(wait_up_to=20)
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    keys = [json.loads(key) for key in town.sb.api.commands]
    assert [{"type": "all_private_chats"}, "zh"] not in keys, keys  # the one refused
    assert [{"type": "all_private_chats"}, ""] in keys, keys
    assert [{"type": "chat", "chat_id": town.admin_chat.id}, ""] in keys, keys


async def test_a_restarted_sender_counts_what_the_last_one_sent_this_minute(town: Town) -> None:
    """The group has had its minute's messages when the bot is restarted: Telegram still
    counts them, so the new sender does too. It started from nothing, and its first
    message drew a 429 (found by bench/drills.py: a retry-after of a minute for a group)."""
    services = town.bot.services
    assert services is not None
    per_minute = services.env.config.delivery.group_per_minute
    async with services.env.db.transaction() as repo:
        await repo.outbox.enqueue([Outgoing(town.volunteers.id, "sendMessage",
                                            {"chat_id": town.volunteers.id, "text": f"n{n}"})
                                   for n in range(per_minute)], services.env.now())
    services.sender.wake()
    await town.volunteers.wait_for(text=f"n{per_minute - 1}", timeout=15)

    await town.bot.stop()  # every mark written
    await town.bot.start()
    restarted = town.bot.services
    assert restarted is not None and restarted is not services
    pacer = restarted.sender.pacer
    await town.sb.wait_until(lambda: pacer.ready_at(town.volunteers.id, False,
                                                    time.monotonic()) > time.monotonic(),
                             timeout=5)
    assert pacer.ready_at(town.volunteers.id, False, time.monotonic()) > time.monotonic() + 50
    assert town.sb.count_429 == 0, town.sb.errors
