"""The inbox both ways of receiving share: store an update, then handle it, one at a time.

Polling (polling.py) and the webhook (webhook.py) differ only in how an update arrives and how
Telegram is told we have it (the next getUpdates offset; the 200 answer). Either way the update
is committed to `inbox` first, and handled here: parsed once, given to the Application, and
marked handled by the handler's own commit (storage.db.handling_update).

While the database is full (SQLITE_FULL) nothing is confirmed that is not stored: a refused
write is tried again after a pause, and a handler whose unit was refused kept nothing and runs
again once there is room (until_room, handle); the log says it once (storage.Room).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from telegram import Update
from telegram.ext import Application

from bot.context import Env
from bot.moves import follow
from storage import is_full
from storage.db import handling_update

log = logging.getLogger(__name__)

# The kinds of update the bot asks for, by getUpdates or setWebhook alike. chat_member must
# be asked for by name (Telegram leaves it out otherwise); it comes only from groups where the
# bot is an administrator, so a member leaving is also read from the service message every
# group sends.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member",
                   "chat_member"]
# While the database is full: the first wait for room, doubled while it stays full, up to
# the last (a try is a local write, cheap: service resumes soon after space is freed).
ROOM_FIRST_PAUSE = 1.0
ROOM_MAX_PAUSE = 5.0
ROOM = "handling updates"  # who waits, as the log says it
# What a handler reads of the message under a pressed button: where it is. Telegram sends the
# whole message, keyboard and formatting included, and PTB would build an object for every
# button and entity of it: two thirds of parsing a press (docs/decisions.md, "Per-update
# cost"). `date` stays: 0 is how Telegram says the message is no longer accessible. Of the
# keyboard, the pressed button alone stays when the message carries it: a client can send any
# callback data on any message it sees, and a press goes on only when the message carries
# its data (handlers/errors.py `on_its_own_message`).
PRESSED_MESSAGE_KEYS = ("message_id", "chat", "date", "message_thread_id", "is_topic_message")
# Set on a pressed message that stayed in a group before it became a supergroup (the press is
# read as one in the supergroup): the bot cannot edit it there, nor by the old id, and its id
# may name another message of the supergroup (handlers/errors.py `editable_id`). PTB keeps a
# key it does not know in the message's api_kwargs.
LEFT_BEHIND = "left_behind"


class Inbox:
    """Stores updates durably and hands them to the Application one at a time."""

    def __init__(self, env: Env, app: Application,  # type: ignore[type-arg]
                 stopping: asyncio.Event) -> None:
        self.env = env
        self.app = app
        self._stopping = stopping  # the receiver's: a wait for room ends with it
        # For /healthz and /metrics: updates handled, and when the last one came (the clock's
        # time; None: none yet).
        self.handled = 0
        self.last_update_at: float | None = None

    async def leftovers(self) -> list[tuple[int, str]]:
        """Return what a previous run stored but did not handle, in order; prune the old.
        Waits for room while the database is full (none if a stop comes first)."""
        found: list[tuple[int, str]] = []

        async def load() -> None:
            async with self.env.db.transaction() as repo:
                # What a long stop left; the daily retention pass keeps it pruned after that.
                keep = self.env.config.retention.inbox_days * 86400
                await repo.inbox.prune_inbox(self.env.now() - keep)
                found[:] = await repo.inbox.unprocessed_updates()

        await self.until_room(load)
        return found

    async def until_room(self, write: Callable[[], Awaitable[None]]) -> bool:
        """Make a write the receiver cannot go on without (storing a batch, marking an
        update, the loose writes before the next confirmation), waiting for room while the
        database is full; False if a stop came first (nothing more is confirmed then)."""
        pause = ROOM_FIRST_PAUSE
        while True:
            try:
                await write()
            except Exception as exc:
                if not is_full(exc):
                    raise
                self.env.db.room.refused(ROOM, exc)
            else:
                self.env.db.room.took(ROOM)
                return True
            if not await self._pause(pause):
                return False
            pause = min(pause * 2, ROOM_MAX_PAUSE)

    async def _pause(self, seconds: float) -> bool:
        """Wait, unless a stop is asked for; False if one is."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({stopping}, timeout=seconds)
        stopping.cancel()
        return not self._stopping.is_set()

    async def replay(self, leftovers: list[tuple[int, str]], stopping: asyncio.Event) -> bool:
        """Handle the leftovers in order; False if a stop came first (the rest wait)."""
        for update_id, payload in leftovers:
            if stopping.is_set():
                return False
            log.info("replaying stored update %s", update_id)
            await self.handle(update_id, payload)
        return True

    async def store(self, updates: list[tuple[int, str]]) -> set[int]:
        """Commit updates (synced to disk) and return the ids not stored before: a repeat
        within 24 hours is Telegram sending again what we already have."""
        async with self.env.db.transaction() as repo:
            return set(await repo.inbox.save_updates(updates, self.env.now()))

    async def handle(self, update_id: int, payload: str | dict[str, Any]) -> None:
        """Process one update; mark it handled unless the process is being killed.

        A handler whose writes the database refused for lack of room kept nothing: it runs
        again once there is room (the person is answered late, not wrongly), and the updates
        after it wait their turn. A stop meanwhile leaves it stored, for the next start."""
        marked = False
        pause = ROOM_FIRST_PAUSE
        while True:
            refused: BaseException | None = None
            try:
                raw = json.loads(payload) if isinstance(payload, str) else payload
                update = Update.de_json(slim_press(raw, self.env.moved_chats), self.app.bot)
                with handling_update(update_id) as handled:
                    await self.app.process_update(update)
                marked = handled.marked  # the handler's own transaction marked it already
                refused = handled.full
            except asyncio.CancelledError:
                raise  # killed mid-update: leave it unhandled, so the next start replays it
            except Exception:
                # A poison update must not stop the bot or come back at every start.
                log.exception("update %s could not be handled", update_id)
            if refused is None or marked:
                break
            self.env.db.room.refused(ROOM, refused)
            if not await self._pause(pause):
                return
            pause = min(pause * 2, ROOM_MAX_PAUSE)
        if marked:
            self.env.db.room.took(ROOM)
        else:
            async def mark() -> None:
                async with self.env.db.single() as repo:
                    await repo.inbox.mark_processed(update_id, self.env.now())

            if not await self.until_room(mark):
                return
        self.handled += 1
        self.last_update_at = self.env.now()


def seconds(value: object) -> float:
    """A RetryAfter's retry_after in seconds (an int, or a timedelta with PTB_TIMEDELTA)."""
    total = getattr(value, "total_seconds", None)
    return float(total() if callable(total) else value)  # type: ignore[arg-type]


class Displaced(RuntimeError):
    """Another instance receives this token's updates (it polls too, set a webhook, or took
    ours away): serving on would split the updates, and both would send, between two
    databases."""


class Receiver(Protocol):
    """How updates arrive (the Poller or the WebhookReceiver), as the serving loop and the
    operator's endpoint see it."""

    inbox: Inbox
    failures: int  # failed calls to Telegram in a row (0: all is well)

    async def run(self) -> None:
        """Receive and handle updates until stopped."""

    def stop(self) -> None:
        """Stop after the update in hand; the rest stay stored for the next start."""


def slim_press(raw: dict[str, Any], moved: Mapping[int, int] | None = None) -> dict[str, Any]:
    """The update as the handlers read it: a button press's message cut down to where it is
    (PRESSED_MESSAGE_KEYS) and, when it carries the pressed button, that one button; any other
    update as it came. The stored update is untouched.

    A press on a message posted in a group before it became a supergroup comes with the old
    group's id (the message stays where it was posted); with the group's move in `moved`
    (old id → new id, bot/moves.py) it is read as a press in the supergroup, where everything
    about that group now is, on a message marked LEFT_BEHIND."""
    query = raw.get("callback_query")
    if not isinstance(query, dict):
        return raw
    message = query.get("message")
    if not isinstance(message, dict):
        return raw
    kept = {key: message[key] for key in PRESSED_MESSAGE_KEYS if key in message}
    chat = kept.get("chat")
    if moved and isinstance(chat, dict) and chat.get("id") in moved:
        kept["chat"] = {**chat, "id": follow(chat["id"], moved), "type": "supergroup"}
        kept[LEFT_BEHIND] = True
    button = _pressed_button(message.get("reply_markup"), query.get("data"))
    if button is not None:
        kept["reply_markup"] = {"inline_keyboard": [[button]]}
    return {**raw, "callback_query": {**query, "message": kept}}


def _pressed_button(markup: Any, data: Any) -> dict[str, Any] | None:
    """The button of an inline keyboard whose callback data is `data`, or None."""
    if not isinstance(markup, dict) or not isinstance(data, str) or not data:
        return None
    for row in markup.get("inline_keyboard") or ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data:
                return button
    return None
