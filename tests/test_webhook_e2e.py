"""Webhook mode: Telegram posts each update; it is stored before the 200, handled once, in
order, and what was stored survives a crash. The sandbox posts as Telegram does."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.delivery import webhook as webhook_module
from bot.delivery.inbox import ALLOWED_UPDATES, Displaced, Inbox
from bot.schedule.sweep import Schedule
from sandbox import Sandbox, SimChat, SimUser
from sandbox.webhook import Attempt
from storage import Database
from tests.conftest import Town
from tests.flows import REF, card_of, claim, file_request, metric, open_bot, open_form, ops
from tests.test_process_e2e import BotProcess

SECRET = "webhook-secret_FOR-tests-0123456789"
PATH = "/telegram/updates"


def free_port() -> int:
    """A port nobody listens on now (the webhook's address must be known before start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def town_settings() -> dict[str, Any]:
    port = free_port()
    return {"mode": "webhook",
            "webhook": {"url": f"http://127.0.0.1:{port}{PATH}", "listen": f"127.0.0.1:{port}",
                        "secret_token": SECRET},
            "http": {"listen": "127.0.0.1:0"}}


def webhook_url(town: Town) -> str:
    hook = town.bot.config.webhook
    assert hook is not None
    return hook.url


async def post(town: Town, body: bytes, secret: str | None = SECRET) -> int:
    """Post to the bot's webhook as Telegram (or someone else) would; return the status."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with aiohttp.ClientSession() as session, session.post(
            webhook_url(town), data=body, headers=headers) as response:
        return response.status


def message_update(update_id: int, user: SimUser, text: str) -> dict[str, Any]:
    """A private text message as Telegram would post it."""
    sender = {"id": user.id, "is_bot": False, "first_name": user.first_name,
              "language_code": "en"}
    update: dict[str, Any] = {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_781_056_800,
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": sender, "text": text}}
    if text.startswith("/"):
        update["message"]["entities"] = [{"type": "bot_command", "offset": 0,
                                          "length": len(text.split()[0])}]
    return update


async def inbox_rows(town: Town) -> dict[int, bool]:
    """Every stored update id and whether it was handled, read from the running bot's database
    or, when it is stopped, from the file."""
    services = town.bot.services
    if town.bot._task is not None and services is not None:
        async with services.env.db.reading() as repo:
            return await repo.inbox.inbox()
    db = await Database.open(town.bot.config.database)
    try:
        async with db.reading() as repo:
            return await repo.inbox.inbox()
    finally:
        await db.close()


def texts(user: SimUser, part: str) -> list[str]:
    """The bot's messages to a user's private chat that contain `part`."""
    return [m.text for m in user.private.bot_messages() if part in (m.text or "")]


class Gate:
    """Holds the handling of updates whose text contains a word until opened (Inbox.handle
    patched), so a test can stop or crash the bot with an update stored but not handled."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, word: str) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()
        real = Inbox.handle

        async def handle(inbox: Inbox, update_id: int, payload: str | dict[str, Any]) -> None:
            if word in json.dumps(payload):
                self.entered.set()
                await self.opened.wait()
            await real(inbox, update_id, payload)

        monkeypatch.setattr(Inbox, "handle", handle)


async def test_a_citizen_files_a_request_and_a_volunteer_claims_it_over_the_webhook(
    town: Town,
) -> None:
    """The whole loop, with every update posted by Telegram: no getUpdates at all."""
    sb = town.sb
    assert sb.webhook.hook is not None and sb.webhook.hook.url == webhook_url(town)
    assert sb.webhook.hook.secret_token == SECRET
    (_, params, _), = sb.calls_to("setWebhook")
    assert params["allowed_updates"] == ALLOWED_UPDATES
    assert params["drop_pending_updates"] is False

    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    details = await town.vol1.wait_for(text="My kitchen tap is leaking")
    assert "12 Jianshe Road" in (details.text or "")
    await town.citizen.wait_for(text="a volunteer has taken your request")

    assert sb.polls_started == 0 and not sb.calls_to("getUpdates")
    assert sb.webhook.attempts and all(a.status == 200 for a in sb.webhook.attempts)
    posted = [a.update_id for a in sb.webhook.attempts]
    assert posted == sorted(posted)  # one at a time, in order
    rows = await inbox_rows(town)
    assert set(posted) <= set(rows) and all(rows[i] for i in posted)


async def test_health_and_metrics_work_in_webhook_mode(town: Town) -> None:
    """/healthz and /metrics keep their own port and count what the webhook handled."""
    status, body = await ops(town, "/healthz")
    assert status == 200 and '"telegram": "reachable"' in body
    assert '"last_update_age_seconds": null' in body
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    status, body = await ops(town, "/healthz")
    assert status == 200 and '"last_update_age_seconds": null' not in body
    _, metrics = await ops(town, "/metrics")
    assert metric(metrics, "civicloop_updates_total") == 1
    assert metric(metrics, 'civicloop_webhook_refused_total{reason="secret"}') == 0


async def test_a_post_without_the_right_secret_is_refused_and_nothing_is_handled(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """Someone who found the address posts a /start as Alice: 403, not stored, not handled,
    and the log says so without the secret (given or expected)."""
    forged = json.dumps(message_update(900_001, town.citizen, "/start")).encode()
    with caplog.at_level(logging.WARNING):
        assert await post(town, forged, secret="webhook-secret_FOR-tests-0123456788") == 403
        assert await post(town, forged, secret=None) == 403
        assert await post(town, forged, secret="") == 403
    refusals = [r for r in caplog.records if "without the right secret" in r.getMessage()]
    assert len(refusals) == 3
    assert not any("0123456788" in r.getMessage() or SECRET in r.getMessage()
                   for r in caplog.records)

    await town.citizen.send("/help")  # a real update after the forged ones
    await town.citizen.wait_for(text="How it works")
    assert 900_001 not in await inbox_rows(town)
    assert texts(town.citizen, "Choose below") == []  # the forged /start greeted nobody
    _, metrics = await ops(town, "/metrics")
    assert metric(metrics, 'civicloop_webhook_refused_total{reason="secret"}') == 3


@pytest.mark.parametrize("body", [
    b"this is not json",
    b"\xff\xfe\x00garbage",
    b"[1, 2, 3]",
    b'{"message": {"text": "/start"}}',
    b'{"update_id": "7"}',
    b'{"update_id": true}',
    b'{"update_id": 99999999999999999999999}',
    b"[" * 100_000,
])
async def test_a_body_that_is_no_update_is_refused_400(town: Town, body: bytes) -> None:
    """With the right secret but a body that is no update: 400 (not a traceback, not 500,
    which would make Telegram send it again), and the bot goes on serving."""
    assert await post(town, body) == 400
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    assert len(await inbox_rows(town)) == 1
    _, metrics = await ops(town, "/metrics")
    assert metric(metrics, 'civicloop_webhook_refused_total{reason="body"}') == 1


async def test_the_same_update_posted_twice_is_handled_once(town: Town) -> None:
    """Telegram posts again when our 200 is lost: the repeat is answered 200 and ignored."""
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    (first,) = town.sb.webhook.attempts
    assert await post(town, json.dumps(first.update).encode()) == 200
    assert await post(town, json.dumps(first.update).encode()) == 200
    # Updates are handled in order, so once a later one is answered the repeats would have
    # been handled too, had they been taken.
    await town.citizen.send("/start")
    await town.citizen.wait_for(text="Choose below")
    assert len(texts(town.citizen, "How it works")) == 1
    assert sorted(await inbox_rows(town)) == [first.update_id, first.update_id + 1]


async def test_an_update_with_half_a_character_is_taken_not_refused_forever(town: Town) -> None:
    """A message whose JSON carries a lone UTF-16 surrogate (half of a pair, no character):
    stored with U+FFFD in its place and answered 200 at once. Refused with a 500, Telegram
    would post it again and again, and every update after it would wait."""
    await town.citizen.send("/help \ud800")
    await town.citizen.wait_for(text="How it works")
    assert [a.status for a in town.sb.webhook.attempts] == [200]


async def test_a_failed_store_answers_500_and_telegram_posts_it_again(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk refuses the first write: 500, so Telegram keeps the update and posts it again;
    it is handled once, and getWebhookInfo shows the error meanwhile."""
    real = Inbox.store
    failures = iter([sqlite3.OperationalError("disk I/O error")])

    async def store(inbox: Inbox, updates: list[tuple[int, str]]) -> set[int]:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return await real(inbox, updates)

    monkeypatch.setattr(Inbox, "store", store)
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    statuses = [a.status for a in town.sb.webhook.attempts]
    assert statuses == [500, 200]
    assert len(texts(town.citizen, "How it works")) == 1
    hook = town.sb.webhook.hook
    assert hook is not None and hook.last_error_message is not None
    assert "500" in hook.last_error_message
    _, metrics = await ops(town, "/metrics")
    assert metric(metrics, 'civicloop_webhook_refused_total{reason="storage"}') == 1


async def test_an_update_stored_but_not_handled_is_handled_after_a_crash(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Telegram got its 200 (so it will not post again) and the process died before handling:
    the next start replays the update from the inbox, before the schedule's catch-up."""
    gate = Gate(monkeypatch, "/help")
    await town.citizen.send("/help")
    await asyncio.wait_for(gate.entered.wait(), timeout=10)
    # Telegram has its 200 and forgets the update.
    await town.sb.wait_until(lambda: [a.status for a in town.sb.webhook.attempts] == [200]
                             and town.sb.updates == [])
    await town.bot.crash()
    update_id = town.sb.webhook.attempts[0].update_id
    assert await inbox_rows(town) == {update_id: False}

    monkeypatch.undo()
    order = record_handling_and_sweeps(monkeypatch)
    await town.bot.start()
    await town.citizen.wait_for(text="How it works")
    await town.sb.wait_until(lambda: "sweep" in order, timeout=10)
    assert order.index(("handle", update_id)) < order.index("sweep")
    assert order.count("sweep") == 1
    assert len(texts(town.citizen, "How it works")) == 1
    assert await inbox_rows(town) == {update_id: True}


def record_handling_and_sweeps(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Note each update handled and each sweep (and, after it, how many timers it fired), in
    the order they begin."""
    order: list[Any] = []
    handle, sweep = Inbox.handle, Schedule.sweep

    async def noted_handle(inbox: Inbox, update_id: int, payload: Any) -> None:
        order.append(("handle", update_id))
        await handle(inbox, update_id, payload)

    async def noted_sweep(schedule: Schedule) -> int:
        order.append("sweep")
        fired = await sweep(schedule)
        order.append(("fired", fired))
        return fired

    monkeypatch.setattr(Inbox, "handle", noted_handle)
    monkeypatch.setattr(Schedule, "sweep", noted_sweep)
    return order


async def test_what_telegram_held_while_the_bot_was_down_comes_before_the_catch_up(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Li claims while the bot is down; by the restart the request is past its escalation
    time. Telegram posts the claim once the webhook is set again, and the schedule's catch-up
    waits for it: the request is claimed, not escalated."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await town.bot.stop()
    press = await town.vol1.press("🙋 Claim", chat=town.volunteers, message=card)
    town.clock.advance(hours=3)  # escalate_after (2h) has passed
    order = record_handling_and_sweeps(monkeypatch)
    await town.bot.start()
    assert ref in ((await press.answer(timeout=10)).text or "")
    await town.sb.wait_until(lambda: any(isinstance(e, tuple) and e[0] == "fired"
                                         for e in order), timeout=20)
    claim_id = town.sb.webhook.attempts[-1].update_id
    assert order[:3] == [("handle", claim_id), "sweep", ("fired", 0)]
    assert not [m for m in town.admin_chat.bot_messages() if ref in (m.text or "")]


async def test_a_stop_refuses_new_posts_finishes_the_update_in_hand_and_keeps_the_rest(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM while an update is being handled and another waits: the listener closes, the
    one in hand is finished, the waiting one stays stored and is handled at the next start."""
    gate = Gate(monkeypatch, "/help")
    await town.citizen.send("/help")
    await asyncio.wait_for(gate.entered.wait(), timeout=10)
    await town.citizen.send("/start")
    await town.sb.wait_until(lambda: len(town.sb.webhook.attempts) == 2
                             and town.sb.webhook.attempts[-1].status == 200)
    help_id, start_id = (a.update_id for a in town.sb.webhook.attempts)

    hook = town.bot.config.webhook
    assert hook is not None

    def listening() -> bool:
        try:
            socket.create_connection((hook.host, hook.port), timeout=1).close()
            return True
        except OSError:
            return False

    assert listening()
    stopping = asyncio.create_task(town.bot.stop())
    await town.sb.wait_until(lambda: not listening())
    with pytest.raises(aiohttp.ClientConnectionError):  # refused: Telegram keeps it
        await post(town, json.dumps(message_update(900_002, town.citizen, "/lang")).encode())
    assert not stopping.done()  # still finishing /help
    gate.opened.set()
    await asyncio.wait_for(stopping, timeout=20)
    rows = await inbox_rows(town)
    assert rows == {help_id: True, start_id: False}

    monkeypatch.undo()
    await town.bot.start()
    await town.sb.wait_until(lambda: texts(town.citizen, "Choose below") != []
                             and texts(town.citizen, "How it works") != [])
    assert len(texts(town.citizen, "How it works")) == 1
    assert len(texts(town.citizen, "Choose below")) == 1


async def test_updates_sent_while_the_bot_is_down_arrive_when_it_is_back(town: Town) -> None:
    """Stopped, the bot answers nothing: Telegram keeps the update, says why in
    getWebhookInfo, and posts it once the bot has set its webhook again."""
    await town.bot.stop()
    await town.citizen.send("/help")
    await town.sb.wait_until(lambda: any(a.error == "Connection refused"
                                         for a in town.sb.webhook.attempts))
    info = await town.sb.api.m_getWebhookInfo({}, {})
    assert info["pending_update_count"] == 1 and info["last_error_message"] == (
        "Connection refused")
    await town.bot.start()
    await town.citizen.wait_for(text="How it works")
    assert len(texts(town.citizen, "How it works")) == 1


async def test_switching_from_webhook_to_polling_deletes_the_webhook(town: Town) -> None:
    """The operator sets mode = "polling": at start the bot deletes the webhook (keeping what
    Telegram holds), getUpdates works, and the message sent during the switch is answered."""
    await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    await town.bot.stop()
    await town.citizen.send("/start")  # Telegram holds it for the webhook meanwhile
    town.bot.config = dataclasses.replace(town.bot.config, mode="polling", webhook=None)
    await town.bot.start()
    assert town.sb.webhook.hook is None
    (_, params, _), = town.sb.calls_to("deleteWebhook")
    assert params.get("drop_pending_updates") in (False, None)
    await town.citizen.wait_for(text="Choose below")
    await town.citizen.send("/help")
    await town.sb.wait_until(lambda: len(texts(town.citizen, "How it works")) == 2)
    assert town.sb.polls_started > 0
    assert len(texts(town.citizen, "Choose below")) == 1


async def test_a_polling_bot_never_fights_a_webhook_set_after_its_start(town: Town) -> None:
    """Polling found a webhook set later (another instance in webhook mode): it does not
    delete it again, it says so and waits (and stops, if it stays: tests/
    test_second_instance_e2e.py)."""
    url = webhook_url(town)
    await town.bot.stop()
    town.bot.config = dataclasses.replace(town.bot.config, mode="polling", webhook=None)
    await town.bot.start()
    deletes = len(town.sb.calls_to("deleteWebhook"))
    set_webhook: Callable[..., Awaitable[Any]] = town.sb.api.m_setWebhook
    await set_webhook({"url": url, "secret_token": SECRET}, {})
    await town.sb.wait_until(lambda: any("webhook is active" in d for _, d in town.sb.errors))
    assert town.sb.webhook.hook is not None
    assert len(town.sb.calls_to("deleteWebhook")) == deletes


@pytest.fixture
async def process(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[
        tuple[BotProcess, SimUser, SimUser, SimChat]]:
    """`python -m bot` in webhook mode, the secret from the environment, with a citizen, a
    volunteer and the elderly group."""
    citizen = sandbox.add_user("Alice", language_code="en", phone="+8613800000001")
    volunteer = sandbox.add_user("Li", language_code="en")
    group = sandbox.add_group("Elderly volunteers")
    group.add_member(volunteer)
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"""
[telegram]
base_url = "{sandbox.base_url}"
base_file_url = "{sandbox.base_file_url}"
[bot]
mode = "webhook"
database = "civicloop.db"
default_language = "en"
admin_ids = [{volunteer.id}]
[webhook]
url = "http://127.0.0.1:{port}{PATH}"
listen = "127.0.0.1:{port}"
[delivery]
private_per_second = 20.0
private_burst = 10
group_per_minute = 60
[[categories]]
code = "elderly"
zh = "助老服务"
en = "Help for the elderly"
group_id = {group.id}
""", "utf-8")
    bot = BotProcess(sandbox, config, env={"CIVICLOOP_WEBHOOK_SECRET": SECRET})
    await bot.start()
    try:
        yield bot, citizen, volunteer, group
    finally:
        if bot.proc is not None and bot.proc.returncode is None:
            await bot.kill()


async def test_a_killed_webhook_process_loses_nothing(
    process: tuple[BotProcess, SimUser, SimUser, SimChat],
) -> None:
    """SIGKILL the moment Telegram has its 200 for a step of the form (the update stored, not
    yet handled, or just handled), and again while Telegram holds a message for the dead
    process: after each restart the form goes on, nothing lost, the receipt sent once."""
    bot, alice, li, group = process
    sb = bot.sb
    assert sb.webhook.hook is not None and sb.webhook.hook.secret_token == SECRET
    await open_bot(li)
    await alice.send("/start")
    await alice.wait_for(text="Choose below")
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")

    proc = bot.proc
    assert proc is not None

    def kill_after_200(attempt: Attempt) -> None:
        if attempt.status == 200 and "coal" in json.dumps(attempt.update):
            proc.kill()  # before the bot can have done much more than answer

    sb.webhook.on_answer = kill_after_200
    await alice.send("Need help carrying coal upstairs.")
    await proc.wait()
    sb.webhook.on_answer = None
    await bot.start()
    await alice.wait_for(text="Where is it", timeout=15)

    await bot.kill()
    await alice.send("Building 4, Xinhua Road")  # Telegram holds it: nobody listens
    await sb.wait_until(lambda: any(a.error == "Connection refused" for a in sb.webhook.attempts))
    await bot.start()
    await alice.wait_for(text="How can the volunteer reach you", timeout=15)
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "coal" in (summary.text or "") and "Building 4" in (summary.text or "")
    await alice.press("✅ Confirm and send")
    receipt = await alice.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match
    await group.wait_for(text=match.group(0))
    assert await bot.terminate() == 0
    assert len([m for m in alice.private.bot_messages()
                if "Reference number" in (m.text or "")]) == 1
    asks = [m for m in alice.private.bot_messages() if "Where is it" in (m.text or "")]
    assert 1 <= len(asks) <= 2  # sent, at worst, once more if the kill beat its "sent" mark


async def test_a_webhook_taken_away_by_another_instance_stops_this_one(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy of the bot is started elsewhere in polling mode: it deletes this bot's webhook
    and takes the updates. This bot heard nothing more, yet went on sending its outbox and
    its reminders from its own database. Now it looks at its webhook now and then, finds it
    gone, and stops, saying why (python -m bot exits 3 on it)."""
    monkeypatch.setattr(webhook_module, "WATCH_EVERY", 0.2)  # a minute in production
    await town.bot.stop()
    await town.bot.start()
    await town.citizen.send("/start")
    await town.citizen.wait_for(text="Choose below")
    delete: Callable[..., Awaitable[Any]] = town.sb.api.m_deleteWebhook
    await delete({}, {})
    task = town.bot._task
    assert task is not None
    with pytest.raises(Displaced, match="the webhook is no longer this bot's"):
        await asyncio.wait_for(task, timeout=10)
    town.bot._task = None
