"""The one sender: drains the outbox under Telegram's flood limits and survives its errors."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from telegram import Bot, InputFile, InputMediaPhoto
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBUserWarning

from bot import buttons, night, ui
from bot.activities import honours
from bot.config import Delivery
from bot.context import Env
from bot.delivery.transport import is_plain, post_plain
from bot.moves import ChatMoves, migrated_chat
from bot.requests import render
from storage import EDITED_CARD, ActivityPost, OutboxRow, Outgoing, Repo, is_full

log = logging.getLogger(__name__)

# The outbox stores Bot API calls by their API names, so the sender makes them through
# do_api_request, which suggests the typed method every time; the advice does not apply here.
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)

# Where a stored call carries a file to upload: {"path"|"text": …, "filename": …}.
UPLOAD_FIELDS = {"sendDocument": ("document",), "sendPhoto": ("photo",)}
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup",
                          "editCard", "editPost"})
# Telegram counts calls when they arrive, we when we make them: margins absorb the difference.
SUPERSEDED = "superseded"  # an edit a later edit of the same message makes moot
# The stored edits of a card whose message id comes when it is posted (an activity's, a
# problem's), and what the call's failure says when the card never was.
POSTED_CARDS = {"editPost": "the recruitment card was never posted",
                "editProblemPost": "the problem's card was never posted"}
# What Telegram answers an edit of a card's message that is no longer there to edit: someone
# deleted it, or it stayed behind in a group that became a supergroup (its messages stay in
# the old, deactivated group; the supergroup numbers its own afresh, so the id names nothing
# there, or someone else's message).
GONE = ("message to edit not found", "message can't be edited")
# Telegram's answer to a send into a forum topic that was deleted (or never was).
TOPIC_GONE = "message thread not found"
# Its answer to a send into a closed topic, from a bot that may not manage topics.
TOPIC_CLOSED = "topic_closed"
# Its answer to a reply whose message is gone where allow_sending_without_reply does not
# count: in a forum topic ("always False for replies in another chat or forum topic").
REPLY_GONE = "message to be replied not found"
# What the sender notes, without asking Telegram, for the edit of a card whose message stayed
# in a group that became a supergroup (left_behind): its id names nothing in the supergroup
# yet, or another message of the bot there, which the edit would overwrite. Gone all the same.
LEFT_BEHIND = "message to edit not found: it stayed in the group before it became a supergroup"
# The calls that set or clear one chat's command menu, and Telegram's answer for a person's
# chat when they have never opened the bot.
MENU_CALLS = ("setMyCommands", "deleteMyCommands")
MENU_UNSEEN = "chat not found"
GROUP_WINDOW = 61.0  # 20 per minute
# Overall: calls count when answered and calls in flight count too, so our window always holds
# at least what Telegram's holds; no extra margin is needed there.
GLOBAL_WINDOW = 1.0
PRIVATE_RATE_MARGIN = 0.9  # refill private chats a tenth slower than configured
PRIVATE_SPARE = 0.5  # and keep half a message in hand for network jitter
MAX_BACKOFF = 300.0
# Telegram unreachable, or the database full: the first pause, doubled while it lasts, up
# to the last.
OUTAGE_FIRST_PAUSE = 1.0
OUTAGE_MAX_PAUSE = 15.0
ROOM = "sending"  # who waits for room in a full database, as the log says it
ROOM_MAX_PAUSE = 5.0  # a try is a local write, cheap: resume soon after space is freed
BATCH = 200
# The sender keeps the outbox's head between looks (units of work offer what they queue) and
# reads it again only when its view may be stale: a chat it sent to has more waiting, a call
# did not simply succeed; and at least this often (a message held for quiet hours becomes due
# without anyone waking it).
REREAD_EVERY = 1.0
# A sent message's mark waits at most this long for a trip to the database to carry it.
MARK_WITHIN = 0.1
# A group's new text cards queued one behind another go as one message (each request keeps
# its own Claim button): a storm's cards reach the group as fast as its 20 a minute allow.
MAX_COMBINED_CARDS = 20  # a message holds up to 100 buttons; 20 requests stay readable
COMBINED_TEXT_BUDGET = 3600  # of 4096 UTF-16 units: room for later edits (names, notes)
# Cards are combined only when a budget is short: sending the waiting ones one by one would
# leave the group less than this share of its minute, or would not fit in this second's
# overall budget (a quiet day keeps one card a message).
GROUP_SPARE = 0.25
# When the overall budget is half used, people waiting for an answer come first: a call to a
# group queues as if it had been made this much later (its cards meanwhile gather).
OVERALL_BUSY = 0.5
GROUP_HANDICAP = 1.0


@dataclass(frozen=True)
class CombinedEdit:
    """What an edit of a combined message settles: every queued edit of its cards that the
    redrawn message already shows, and what each card shows now."""

    outbox_ids: list[int]
    shown: dict[int, dict[str, Any]]


class Pacer:
    """Knows when the next call to a chat is allowed: per chat, per group and overall."""

    def __init__(self, limits: Delivery) -> None:
        self.limits = limits
        self._tokens: dict[int, tuple[float, float]] = {}  # private chat → (tokens, at)
        self._group_sends: dict[int, deque[float]] = {}
        self._group_edits: dict[int, deque[float]] = {}
        self._overall: deque[float] = deque()
        self._paused_until = 0.0

    def ready_at(self, chat_id: int, is_edit: bool, now: float, in_flight: int = 0) -> float:
        """Return the earliest moment a call to `chat_id` may be made (≤ now: at once).

        Calls are counted when their answer comes back (Telegram has surely counted them
        by then), so calls still in flight count against the overall limit too.
        """
        at = max(now, self._paused_until)
        per_second = int(self.limits.global_per_second)
        window = _trim(self._overall, now, GLOBAL_WINDOW)
        if len(window) + in_flight >= per_second:
            at = max(at, window[0] + GLOBAL_WINDOW if window else now + 0.05)
        if chat_id < 0:
            sends = self._group_edits if is_edit else self._group_sends
            window = _trim(sends.setdefault(chat_id, deque()), now, GROUP_WINDOW)
            if len(window) >= self.limits.group_per_minute:
                at = max(at, window[0] + GROUP_WINDOW)
        else:
            tokens = self._private_tokens(chat_id, now)
            if tokens < 1.0 + PRIVATE_SPARE:
                rate = self.limits.private_per_second * PRIVATE_RATE_MARGIN
                at = max(at, now + (1.0 + PRIVATE_SPARE - tokens) / rate)
        return at

    def record(self, chat_id: int, is_edit: bool, now: float, count: int = 1) -> None:
        """Count `count` messages of a call answered now (an album counts each photo)."""
        self._overall.extend([now] * count)
        if chat_id < 0:
            sends = self._group_edits if is_edit else self._group_sends
            sends.setdefault(chat_id, deque()).extend([now] * count)
        else:
            self._tokens[chat_id] = (self._private_tokens(chat_id, now) - count, now)

    def group_short(self, chat_id: int, waiting: int, now: float) -> bool:
        """Say whether a group's budget is short for `waiting` messages: one each would leave
        it less than GROUP_SPARE of its minute."""
        sent = len(_trim(self._group_sends.setdefault(chat_id, deque()), now, GROUP_WINDOW))
        room = self.limits.group_per_minute - sent
        return room - waiting < self.limits.group_per_minute * GROUP_SPARE

    def overall_busy(self, now: float, in_flight: int) -> bool:
        """Say whether the overall budget is getting short (half of it used this second)."""
        used = len(_trim(self._overall, now, GLOBAL_WINDOW)) + in_flight
        return used >= self.limits.global_per_second * OVERALL_BUSY

    def overall_short(self, waiting: int, now: float, in_flight: int) -> bool:
        """Say whether `waiting` more calls, besides those in flight, would not all fit in
        this second's overall budget."""
        used = len(_trim(self._overall, now, GLOBAL_WINDOW)) + in_flight
        return used + waiting > int(self.limits.global_per_second)

    def pause(self, until: float) -> None:
        """Stop every call until `until` (Telegram asked us to slow down)."""
        self._paused_until = max(self._paused_until, until)

    def _private_tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._tokens.get(chat_id, (float(self.limits.private_burst), now))
        refill = (now - at) * self.limits.private_per_second * PRIVATE_RATE_MARGIN
        return min(float(self.limits.private_burst), tokens + refill)


def _trim(window: deque[float], now: float, span: float) -> deque[float]:
    while window and window[0] <= now - span:
        window.popleft()
    return window


class Outage:
    """Telegram (or the network to it) unreachable: since when, and how long to pause."""

    def __init__(self) -> None:
        self.since: float | None = None  # the clock's time of the first failed call
        self.pause = 0.0

    def failed(self, now: float) -> float:
        """A call could not reach Telegram: how many seconds to pause every call."""
        if self.since is None:
            self.since, self.pause = now, OUTAGE_FIRST_PAUSE
        else:
            self.pause = min(self.pause * 2, OUTAGE_MAX_PAUSE)
        return self.pause

    def over(self) -> float:
        """A call went through after failing: when the outage began (and forget it)."""
        assert self.since is not None, "no outage under way"
        since, self.since, self.pause = self.since, None, 0.0
        return since


class Sender:
    """Makes the outbox's calls in order per chat, several chats at a time."""

    def __init__(self, env: Env, bot: Bot) -> None:
        self.env = env
        self.moves = ChatMoves(env)  # a group that became a supergroup (bot/moves.py)
        # A call read before a move committed may have been rewritten or dropped by it since.
        self.moves.on_followed = lambda: self._nudge(stale=True)
        self.bot = bot
        self.pacer = Pacer(env.config.delivery)
        self._wake = asyncio.Event()
        self._sleeper: asyncio.Future[None] | None = None
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        # Each chat's oldest pending call as last read, less those started since; None: read.
        self._head: dict[int, OutboxRow] | None = None
        self._read_at = 0.0
        # Chats that were mid-call when the head was read and had more queued behind it.
        self._more_behind: set[int] = set()
        self.outage = Outage()
        # An outage long enough to report, not yet reported: (since, lasted).
        self._outage_report: tuple[float, float] | None = None
        # The database full: the current pause, and until when (monotonic).
        self._room_pause = 0.0
        self._room_until = 0.0
        # For /metrics: calls Telegram answered, and the 429s among its answers.
        self.sent = 0
        self.throttled = 0

    def wake(self) -> None:
        """Look at the outbox now (something was just queued)."""
        self._wake.set()
        if self._sleeper is not None:
            _settle(self._sleeper)

    def offer(self, rows: list[OutboxRow]) -> None:
        """Take note of calls a unit of work just queued (and committed), so the outbox need
        not be read again to find them."""
        head = self._head
        if head is None:
            return  # it will be read anyway
        for row in rows:
            if row.purpose == "quiet" and row.not_before > self.env.now():
                self._head = None  # it stands aside for what comes after: let the query judge
                break
            waiting = head.get(row.chat_id)
            if waiting is not None:
                head[row.chat_id] = replace(waiting, queued=waiting.queued + 1)
            elif row.chat_id in self._in_flight:
                self._more_behind.add(row.chat_id)
            else:
                head[row.chat_id] = row
        self.wake()

    def _nudge(self, stale: bool) -> None:
        """A call finished: look again, re-reading the outbox only if `stale`."""
        if stale:
            self._head = None
        self.wake()

    def start(self) -> None:
        """Start draining in the background."""
        if self._runner is None:
            self._stopping = False
            self._runner = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Stop draining; calls in flight finish, the rest stay queued for next start."""
        if self._runner is not None:
            self._stopping = True
            self.wake()
            await self._runner
            self._runner = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self.env.db.flush_loose()  # the last marks, so a restart sends nothing twice
        except Exception as exc:
            if not is_full(exc):
                raise
            self._refused(exc)  # Database.close tries once more, and says what is lost

    def abort(self) -> None:
        """Drop everything at once (the process is dying); unsent rows stay queued."""
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        for task in self._tasks:
            task.cancel()

    async def _remember_recent_calls(self) -> None:
        """Count what the sender before us sent lately (the outbox's marks): Telegram still
        counts it, for a second overall and a minute in a group, and a restarted sender that
        forgot it overstepped both at once (429s after each kill in bench/drills.py)."""
        now_wall, now = self.env.now(), time.monotonic()
        try:
            async with self.env.db.reading() as repo:
                calls = await repo.outbox.recently_sent(now_wall - GROUP_WINDOW)
        except Exception:
            log.exception("could not read the calls sent before the start; not counted")
            return
        for chat_id, method, sent_at, count in calls:
            self.pacer.record(chat_id, method in EDIT_METHODS, now - (now_wall - sent_at),
                              count)

    async def _run(self) -> None:
        await self._remember_recent_calls()
        while not self._stopping:
            self._wake.clear()  # before looking, so a wake during the look is not lost
            try:
                delay = await self.pump()
            except Exception as exc:
                if is_full(exc):
                    self._refused(exc)
                    delay = max(0.005, self._room_until - time.monotonic())
                else:
                    log.exception("outbox sender failed; retrying in a second")
                    delay = 1.0
            if not self._wake.is_set():
                await self._sleep(delay)

    async def _sleep(self, delay: float) -> None:
        """Wait `delay` seconds or until woken: one future and one timer, no task (this runs
        several times per update, and Event.wait in asyncio.wait costs a task each time)."""
        loop = asyncio.get_running_loop()
        sleeper = self._sleeper = loop.create_future()
        timer = loop.call_later(delay, _settle, sleeper)
        try:
            await sleeper
        finally:
            timer.cancel()
            self._sleeper = None

    async def pump(self) -> float:
        """Start every call that may go now; return how long until the next may."""
        now_wall = self.env.now()
        now = time.monotonic()
        head = self._head
        if head is None or now - self._read_at >= REREAD_EVERY:
            # The read carries the marks waiting in memory first: if it goes, they went.
            carrying = self.env.db.loose_waiting
            head = await self._read_head(now_wall, now)
            if carrying:
                self._took()
        rows = sorted(head.values(), key=lambda row: row.id)
        if self.pacer.overall_busy(now, len(self._in_flight)):
            rows.sort(key=_queued_as)  # replies to people first, groups a moment later
        wait = 1.0
        for row in rows:
            if len(self._in_flight) >= self.env.config.delivery.concurrency:
                break  # more would wait for a slot and reach Telegram later than counted
            if row.chat_id in self._in_flight:
                continue
            if row.not_before > now_wall:
                wait = min(wait, row.not_before - now_wall)
                continue
            is_edit = row.method in EDIT_METHODS
            ready = self.pacer.ready_at(row.chat_id, is_edit, now, len(self._in_flight))
            if ready > now:
                wait = min(wait, ready - now)
                continue
            self._in_flight.add(row.chat_id)
            del head[row.chat_id]
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(wait, 0.005)

    async def _read_head(self, now_wall: float, now: float) -> dict[int, OutboxRow]:
        """Read each chat's oldest pending call; a chat mid-call keeps only its count."""
        head: dict[int, OutboxRow] = {}
        # Offers made while we read go into it; a call that finishes stale drops it again.
        self._head = head
        busy = set(self._in_flight)  # a call may finish while we read
        try:
            async with self.env.db.reading(inline=True) as repo:
                rows = await repo.outbox.pending_outbox_head(now_wall, BATCH)
        except BaseException:
            self._head = None  # not a view of the outbox: read again next time
            raise
        self._read_at = now
        for row in rows:
            if row.chat_id in self._in_flight:
                # The call in flight is this very row, still pending until marked sent.
                if row.queued > 1:
                    self._more_behind.add(row.chat_id)
            elif row.chat_id in busy:
                # Its call finished during the read: the row read may be the one just sent.
                self._head = None
            else:
                head[row.chat_id] = row
        if len(rows) >= BATCH:
            self._head = None  # chats beyond the batch: look again next time
        return head

    async def _deliver(self, row: OutboxRow) -> None:
        settled = False
        try:
            settled = await self._send(row)
        except Exception as exc:
            if is_full(exc):
                # Nothing about the row was written (a call that went has its marks waiting
                # in memory, see _record_sent): it is tried again, as it is, after the pause.
                self._refused(exc)
                return
            # Not Telegram's doing, so retrying will not help, and holding the row would
            # hold every later message to this chat: give it up, keeping the reason.
            log.exception("outbox row %s: unexpected failure", row.id)
            try:
                await self._finish(row, error=f"unexpected: {type(exc).__name__}: {exc}")
            except Exception as also:
                if not is_full(also):
                    raise
                self._refused(also)
        finally:
            self._in_flight.discard(row.chat_id)
            more = row.queued > 1 or row.chat_id in self._more_behind
            self._more_behind.discard(row.chat_id)
            self._nudge(stale=more or not settled)

    async def _send(self, row: OutboxRow) -> bool:
        """Make the row's call; True if it simply went (nothing else in the outbox changed)."""
        if row.purpose == "quiet":
            until = night.morning(self.env)
            if until is not None:
                # Held for a morning that passed while the bot was off, it finds the night
                # again: it waits for the next end of quiet hours (bot/night.py), standing
                # aside as before.
                async with self._bookkeeping() as repo:
                    await repo.outbox.hold_until(row.id, until)
                return False
        if _combinable(row):
            batch = await self._card_batch(row)
            now = time.monotonic()
            # This call is in flight already: the others would come on top of it.
            others = len(self._in_flight) - 1
            if len(batch) > 1 and (self.pacer.group_short(row.chat_id, len(batch), now)
                                   or self.pacer.overall_short(len(batch), now, others)):
                await self._send_combined(batch)
                return False
        if row.purpose == "honour_post" and not await self._still_pending(row):
            return False  # its honour was revoked since the row was read: it never goes
        method, params = row.method, dict(row.payload)
        combined: CombinedEdit | None = None
        if method == "editCard":
            resolved = await self._resolve_card(row, params)
            if resolved is None:
                await self._finish(row, error="the card was never posted")
                return False
            if isinstance(resolved, str):  # LEFT_BEHIND
                await self._finish(row, error=resolved)
                return False
            method, params, combined = resolved
        elif method in POSTED_CARDS:
            post_edit = await self._resolve_post(row, params)
            if post_edit is None:
                await self._finish(row, error=POSTED_CARDS[method])
                return False
            if post_edit == SUPERSEDED:  # a later edit of the same card shows all of this
                await self._mark_sent(row, [])
                return True
            if post_edit == LEFT_BEHIND:
                await self._finish(row, error=LEFT_BEHIND)
                return False
            method = post_edit
        uploaded: Path | None = None
        for field in UPLOAD_FIELDS.get(method, ()):
            upload = params.get(field)
            if not isinstance(upload, dict):
                continue
            if "base64" in upload:  # a small image made in the unit of work (a check-in QR)
                params[field] = InputFile(base64.b64decode(upload["base64"]),
                                          filename=upload["filename"])
                continue
            if "path" in upload:  # a file a background job wrote (a chart, an export part)
                uploaded = Path(upload["path"])
                if not uploaded.exists():
                    await self._finish(row, error=f"the file {uploaded.name} is gone")
                    return False
                # An export part may be tens of megabytes: read it off the event loop.
                data = await asyncio.to_thread(uploaded.read_bytes)
                params[field] = InputFile(data, filename=upload["filename"])
            else:
                params[field] = InputFile(upload["text"].encode("utf-8"),
                                          filename=upload["filename"])
        if method == "sendMediaGroup":
            # PTB walks `media` as InputMedia objects to fill in defaults; give it those.
            params["media"] = [
                InputMediaPhoto(m["media"], caption=m.get("caption"),
                                parse_mode=m.get("parse_mode"))
                for m in params["media"]
            ]
        result = await self._call([row], method, params)
        if result is None:
            return False
        if combined is not None:
            async def shown(repo: Repo, done: CombinedEdit = combined) -> None:
                await repo.outbox.mark_all_sent(done.outbox_ids, [], self.env.now())
                await repo.cards.show_cards(done.shown)

            await self._record_sent(shown)
            return False
        await self._mark_sent(row, _message_ids(result))
        if uploaded is not None:
            uploaded.unlink(missing_ok=True)  # exports hold personal data: keep no copies
        return True

    async def _call(self, rows: list[OutboxRow], method: str, params: dict[str, Any]) -> Any:
        """Make one Bot API call for `rows` (one row, or the cards one message combines) and
        return its result; on an error, settle the rows as the error asks and return None."""
        head = rows[0]
        try:
            try:
                if is_plain(method, params):
                    result = await post_plain(self.bot, method, params)
                else:
                    result = await self.bot.do_api_request(method, api_kwargs=params)
            finally:
                count = len(params["media"]) if method == "sendMediaGroup" else 1
                self.pacer.record(head.chat_id, method in EDIT_METHODS, time.monotonic(), count)
        except RetryAfter as exc:
            self.throttled += 1
            seconds = _seconds(exc.retry_after)
            log.warning("429 for chat %s: retry after %ss", head.chat_id, seconds)
            self.pacer.pause(time.monotonic() + min(seconds, 1.0))
            async with self._bookkeeping() as repo:
                await repo.outbox.hold_chat(head.chat_id, self.env.now() + seconds)
            return None
        except ChatMigrated as exc:
            # The bot missed the upgrade's service messages: the same move as theirs. The
            # group is the call's chat, or the one it copies from or quotes (a person's chat
            # never moves).
            old = migrated_chat(head.chat_id, head.payload)
            log.info("chat %s migrated to %s", old, exc.new_chat_id)
            async with self._bookkeeping() as repo:
                await repo.outbox.enqueue(
                    await self.moves.move(repo, old, exc.new_chat_id), self.env.now())
            self.moves.followed(old, exc.new_chat_id)
            self.wake()
            return None
        except Forbidden as exc:
            log.info("chat %s refuses messages: %s", head.chat_id, exc.message)
            if head.chat_id > 0:
                async with self._bookkeeping() as repo:
                    await repo.people.mark_blocked(head.chat_id, self.env.now())
            for row in rows:
                await self._finish(row, error=f"forbidden: {exc.message}")
            return None
        except BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                return {}  # what we meant to show is shown: as good as sent
            refused = exc.message.lower()
            if ((TOPIC_GONE in refused or TOPIC_CLOSED in refused)
                    and "message_thread_id" in params):
                await self._topic_gone(rows, int(params["message_thread_id"]),
                                       closed=TOPIC_CLOSED in refused)
                return None
            if REPLY_GONE in refused and "reply_parameters" in params:
                await self._without_reply(rows)
                return None
            if head.purpose in EDITED_CARD and _gone(exc.message):
                log.info("card of outbox row %s is gone (%s): %s", head.id, method, exc.message)
            elif method in MENU_CALLS and MENU_UNSEEN in refused:
                # A person's own menu before they ever opened the bot: Telegram does not know
                # their chat yet. Nothing is wrong; /start sets the menu of their roles then.
                log.info("menu of chat %s waits until they open the bot", head.chat_id)
            else:
                log.error("outbox row %s (%s) refused: %s", head.id, method, exc.message)
            for row in rows:
                await self._finish(row, error=f"bad request: {exc.message}")
            return None
        except NetworkError as exc:  # includes TimedOut; a retried send may duplicate
            # Telegram or the network is away: hold every call (the row stays as it is, no
            # attempt used up) and try again after a pause that grows while it stays away.
            if self.outage.since is None:
                log.warning("cannot reach Telegram (%s): sending paused until it answers",
                            exc.message)
            pause = self.outage.failed(self.env.now())
            self.pacer.pause(time.monotonic() + pause)
            return None
        except TelegramError as exc:
            await self._retry(head, f"telegram: {exc.message}")
            return None
        self.sent += 1
        if self.outage.since is not None:
            self._outage_over()
        if self._outage_report is not None:
            await self._report_outage()
        return result

    def _outage_over(self) -> None:
        """Telegram answers again: log it, and report it to the admins if it was long."""
        since = self.outage.over()
        lasted = self.env.now() - since
        log.warning("Telegram reachable again after %.0f s; sending resumes", lasted)
        if lasted >= self.env.config.delivery.outage_report_after:
            self._outage_report = (since, lasted)

    async def _report_outage(self) -> None:
        """Tell the admins how long Telegram was away. The call that just went must not be
        taken for failed if this cannot be queued: then the next call that goes tries again."""
        report, self._outage_report = self._outage_report, None  # calls end together: once
        assert report is not None
        since, lasted = report
        env = self.env
        lang = env.config.default_language
        started = datetime.fromtimestamp(since, env.config.timezone).strftime("%Y-%m-%d %H:%M")
        try:
            async with self._bookkeeping() as repo:
                waiting = await repo.outbox.pending_outbox()
                text = env.t(lang, "delivery.outage_over", since=started,
                             minutes=max(1, round(lasted / 60)), waiting=waiting)
                notices = night.all_at_night(env, "delivery.outage_over", [
                    ui.message(chat, text) for chat in env.config.admin_chats()])
                await repo.outbox.enqueue(notices, env.now())
        except Exception as exc:
            if is_full(exc):
                self._outage_report = report  # the next call that goes tries again
            else:
                log.exception("the outage report could not be queued")
            return
        self.wake()

    async def _card_batch(self, head: OutboxRow) -> list[tuple[OutboxRow, str]]:
        """The group's head card and the text cards queued right behind it (nothing else in
        between, so the chat's order holds), as many as one message holds, with their refs."""
        async with self.env.db.reading(inline=True) as repo:
            queued = await repo.outbox.chat_queue(head.chat_id, head.id, MAX_COMBINED_CARDS)
        if not queued or queued[0][0].id != head.id:
            return [(head, "")]
        now = self.env.now()
        batch: list[tuple[OutboxRow, str]] = []
        units = 0
        topic = head.payload.get("message_thread_id")
        for row, ref in queued:
            if (not _combinable(row) or row.not_before > now
                    or row.payload.get("message_thread_id") != topic):  # one topic a message
                break
            units += ui.units(row.payload["text"]) + len(render.COMBINED_SEPARATOR)
            if batch and units > COMBINED_TEXT_BUDGET:
                break
            batch.append((row, ref))
        return batch

    async def _send_combined(self, batch: list[tuple[OutboxRow, str]]) -> None:
        """Post several new cards as one message, one Claim button per waiting request; every
        card gets its message id and every row is marked sent, in one transaction."""
        rows = [row for row, _ in batch]
        parts = {row.card_id or 0: {"text": row.payload["text"],
                                    "claim": _offers_claim(row.payload, row.request_id)}
                 for row in rows}
        sections = [render.CardSection(row.request_id or 0, ref, row.payload["text"],
                                       parts[row.card_id or 0]["claim"])
                    for row, ref in batch]
        text, markup = render.combined_card(self.env, sections)
        params: dict[str, Any] = {"chat_id": rows[0].chat_id, "text": text,
                                  "parse_mode": "HTML",
                                  "link_preview_options": {"is_disabled": True}}
        if markup is not None:
            params["reply_markup"] = markup
        if "message_thread_id" in rows[0].payload:  # all in one topic (_card_batch)
            params["message_thread_id"] = rows[0].payload["message_thread_id"]
        result = await self._call(rows, "sendMessage", params)
        if result is None:
            return
        ids = _message_ids(result)

        async def sent(repo: Repo) -> None:
            await repo.outbox.mark_all_sent([row.id for row in rows], ids, self.env.now())
            if ids:
                await repo.cards.show_cards(parts, ids[0], rows[0].chat_id,
                                            params.get("message_thread_id"))

        await self._record_sent(sent)

    async def _resolve_card(
        self, row: OutboxRow, params: dict[str, Any]
    ) -> tuple[str, dict[str, Any], CombinedEdit | None] | str | None:
        """Turn an editCard row into the edit call for the card as it was posted; LEFT_BEHIND
        for a card whose message stayed in a group that became a supergroup; None if it was
        never posted.

        A card that shares its message with others redraws the whole message: each card
        shows its newest queued edit, else what it showed; those queued edits then go too.
        """
        async with self.env.db.reading(inline=True) as repo:
            card, sections, edits = await repo.cards.card_on_screen(row.card_id or 0)
        if card is None or card.message_id is None:
            return None
        if card.left_behind:
            return LEFT_BEHIND
        params.update(chat_id=card.chat_id, message_id=card.message_id)
        if sections:
            return self._combined_edit(params, sections, edits)
        if card.kind == "photo":
            params["caption"] = params.pop("text")
            return "editMessageCaption", params, None
        return "editMessageText", params, None

    async def _resolve_post(self, row: OutboxRow, params: dict[str, Any]) -> str | None:
        """Turn an editPost row (an activity's or a recruitment call's card) or an
        editProblemPost row (a supervision problem's, always text) into the edit of the card
        as posted: its method; SUPERSEDED when a later edit of it waits; LEFT_BEHIND for a
        card whose message stayed in a group that became a supergroup; None if it was never
        posted. A burst of sign-ups thus costs a group one edit, not one per sign-up."""
        async with self.env.db.reading() as repo:
            posts = repo.activities if row.method == "editPost" else repo.supervision
            post_id = row.post_id if row.method == "editPost" else row.problem_post_id
            post = await posts.post(post_id or 0)
            if post is None or post.message_id is None:
                return None
            if await repo.outbox.newer_edit_queued(row.purpose, post.id, row.id):
                return SUPERSEDED
        if post.left_behind:
            return LEFT_BEHIND
        params.update(chat_id=post.chat_id, message_id=post.message_id)
        if isinstance(post, ActivityPost) and post.kind == "photo":
            params["caption"] = params.pop("text")
            params.pop("link_preview_options", None)
            return "editMessageCaption"
        return "editMessageText"

    def _combined_edit(
        self,
        params: dict[str, Any],
        sections: list[tuple[int, int, str, dict[str, Any]]],
        edits: list[tuple[int, int, dict[str, Any]]],
    ) -> tuple[str, dict[str, Any], CombinedEdit]:
        """The editMessageText call that redraws a combined message with every card's newest
        state; queued edits of its cards are shown by it, so they count as sent with it."""
        newest = {card_id: payload for _, card_id, payload in edits}  # oldest first: last wins
        shown: dict[int, dict[str, Any]] = {}
        parts = []
        for card_id, request_id, ref, was in sections:
            part = was
            if card_id in newest:
                part = {"text": newest[card_id]["text"],
                        "claim": _offers_claim(newest[card_id], request_id)}
                shown[card_id] = part
            parts.append(render.CardSection(request_id, ref, part["text"], part["claim"]))
        text, markup = render.combined_card(self.env, parts)
        call = {"chat_id": params["chat_id"], "message_id": params["message_id"], "text": text,
                "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
        if markup is not None:
            call["reply_markup"] = markup  # without it, the last Claim button goes
        return "editMessageText", call, CombinedEdit([outbox_id for outbox_id, _, _ in edits],
                                                     shown)

    async def _finish(
        self, row: OutboxRow, *, message_ids: list[int] | None = None, error: str | None = None
    ) -> None:
        now = self.env.now()
        if error is None:
            ids = message_ids or []

            async def sent(repo: Repo) -> None:
                await repo.outbox.mark_sent(row.id, ids, now)
                kind = "photo" if row.method == "sendPhoto" else "text"  # as it went
                # Where it went: its topic, or General if the topic was gone (_topic_gone).
                thread = row.payload.get("message_thread_id")
                if row.purpose == "card" and row.card_id is not None and ids:
                    await repo.cards.record_card_message(row.card_id, ids[0], kind, row.chat_id,
                                                         thread)
                if row.purpose == "post" and row.post_id is not None and ids:
                    await repo.activities.record_post_message(row.post_id, ids[0], kind,
                                                              row.chat_id, thread)
                if (row.purpose == "problem_post" and row.problem_post_id is not None
                        and ids):
                    await repo.supervision.record_post_message(row.problem_post_id, ids[0],
                                                               row.chat_id, thread)
                if row.purpose == "honour_post" and row.honour_post_id is not None and ids:
                    await repo.honours.record_post_message(row.honour_post_id, ids[0],
                                                           row.chat_id)

            await self._record_sent(sent)
            if row.purpose == "honour_post" and row.honour_post_id is not None and ids:
                await self._honour_revoked_meanwhile(row.honour_post_id, row.chat_id, ids[0])
            return
        async with self._bookkeeping() as repo:
            await self._failed(repo, row, error)

    async def _still_pending(self, row: OutboxRow) -> bool:
        """Whether a row read earlier is still to be sent (a unit of work may have given it
        up since: an honour's announcement when the honour is revoked)."""
        async with self.env.db.reading(inline=True) as repo:
            return await repo.outbox.is_pending(row.id)

    async def _honour_revoked_meanwhile(self, post_id: int, chat_id: int, message_id: int
                                        ) -> None:
        """An honour's announcement went while its honour was being revoked (Revoke gives up
        only those still waiting): it is made to say so at once."""
        async with self._bookkeeping() as repo:
            honour = await repo.honours.revoked_honour_of_post(post_id)
            if honour is None:
                return
            edit = await honours.withdrawn(self.env, repo, honour, chat_id, message_id)
            await repo.outbox.enqueue([edit], self.env.now())
        self.wake()

    async def _failed(self, repo: Repo, row: OutboxRow, error: str) -> None:
        """A call that will not be made again: marked failed, and what stands in for it (a
        card the admins get instead, a card posted again, a file deleted)."""
        await repo.outbox.mark_failed(row.id, error, self.env.now())
        if row.purpose == "card":
            await self._card_fallback(repo, row, error)
        if row.purpose == "problem_post":
            await self._problem_card_failed(repo, row, error)
        if row.purpose in EDITED_CARD and _gone(error):
            await self._post_card_again(repo, row)
        await self._drop_upload(repo, row)

    async def _record_sent(self, write: Callable[[Repo], Awaitable[None]]) -> None:
        """Record what a call that went changed (its marks, a card's message id) in one
        transaction. If the database is full, the same writes wait in memory as loose writes
        do (every later read of the outbox carries them first, and they go together), so a
        call is never made again for want of its mark. `write` only writes."""
        try:
            async with self._bookkeeping() as repo:
                await write(repo)
        except Exception as exc:
            if not is_full(exc):
                raise
            async with self.env.db.later() as repo:
                await write(repo)

    @asynccontextmanager
    async def _bookkeeping(self) -> AsyncIterator[Repo]:
        """A transaction of the sender's own. One the database refuses for lack of room
        pauses every call (the error goes on to the caller); one that goes ends the pause."""
        try:
            async with self.env.db.transaction() as repo:
                yield repo
        except Exception as exc:
            if is_full(exc):
                self._refused(exc)
            raise
        self._took()

    def _refused(self, error: BaseException) -> None:
        """The database is full: pause every call, 1 s doubling to 5 s while it stays so
        (each call that went would need a mark, each that failed a note)."""
        self.env.db.room.refused(ROOM, error)
        now = time.monotonic()
        if now < self._room_until:
            return  # this pause is running already
        self._room_pause = (min(self._room_pause * 2, ROOM_MAX_PAUSE) if self._room_pause
                            else OUTAGE_FIRST_PAUSE)
        self._room_until = now + self._room_pause
        self.pacer.pause(self._room_until)

    def _took(self) -> None:
        """A write of ours went: the database has room (again)."""
        if self._room_pause:
            self._room_pause = 0.0
            self.env.db.room.took(ROOM)

    async def _mark_sent(self, row: OutboxRow, message_ids: list[int]) -> None:
        """Record a plain message as sent: a loose write, carried by the next trip anyone
        makes (any read of the outbox comes after it), and by one of its own within
        MARK_WITHIN seconds. A crash before then sends the message again after the restart,
        in its place in the chat's order: delivery is at least once."""
        if row.purpose in ("card", "post", "problem_post", "honour_post"):
            await self._finish(row, message_ids=message_ids)  # two rows change together
            return
        async with self.env.db.later(within=MARK_WITHIN) as repo:
            await repo.outbox.mark_sent(row.id, message_ids, self.env.now())

    async def _topic_gone(self, rows: list[OutboxRow], thread_id: int,
                          closed: bool = False) -> None:
        """A forum's topic was deleted (Telegram tells bots only by refusing what is sent
        there), or `closed` (only those who may manage topics post there): the rows go to the
        group's General topic instead, as they are, and the bindings to that topic fall back
        to General, the admins told of it once (the next rows that meet the topic find no
        binding left to tell of). A closed topic may be reopened; the admins are told to bind
        again then, rather than the bot trying each card there first."""
        chat_id, now, env = rows[0].chat_id, self.env.now(), self.env
        log.info("chat %s: topic %s is %s, posting in General", chat_id, thread_id,
                 "closed" if closed else "gone")
        async with self._bookkeeping() as repo:
            await _without(repo, rows, "message_thread_id")
            forgotten = await repo.areas.forget_topic(chat_id, thread_id)
            teams = await repo.activities.forget_team_topic(chat_id, thread_id)
            units = await repo.supervision.forget_unit_topic(chat_id, thread_id)
            lang = env.config.default_language
            served = [f"{render.category_name(env, code, lang)} "
                      f"({render.area_name(env, area or None, lang)})"
                      for code, area, _, _ in forgotten]
            served += [render.team_label(env, team, lang) for team, _, _ in teams]
            served += [_unit_label(env, unit, lang) for unit, _, _ in units]
            names = [(title, topic) for _, _, title, topic in forgotten] + [
                (title, topic) for _, title, topic in teams + units]
            if names:
                title, topic = names[0]
                # Without an admin chat, to the centre's admins in private: at night as
                # bot/night.py says (the cards go on in General meanwhile).
                key = "admin.topic_closed" if closed else "admin.topic_gone"
                await repo.outbox.enqueue(night.all_at_night(env, key, [ui.message(
                    chat, env.t(lang, key, topic=topic, chat=title or str(chat_id),
                                served=", ".join(served)))
                    for chat in env.config.admin_chats()]), now)
        self.wake()

    async def _without_reply(self, rows: list[OutboxRow]) -> None:
        """A reply into a forum topic whose message is gone (a card someone deleted): the
        rows go as they are without the quote, pending in their place, still in their topic
        (Telegram sends a reply without its message only outside topics)."""
        async with self._bookkeeping() as repo:
            await _without(repo, rows, "reply_parameters")
        self.wake()

    async def _card_fallback(self, repo: Repo, row: OutboxRow, error: str) -> None:
        """A card its group refused goes to the admins instead, so no request goes unseen:
        to the admin chat, or without one to each centre admin in private who has no card of
        it yet (a card an admin's own chat refused goes nowhere else: the others have theirs)."""
        card = await repo.cards.card(row.card_id or 0)
        request = await repo.requests.request(row.request_id or 0)
        shown = ({c.chat_id for c in await repo.cards.active_cards(request.id)}
                 if request is not None else set())
        targets = [chat for chat in self.env.config.admin_chats()
                   if chat != row.chat_id and chat not in shown]
        if not targets or card is None or request is None:
            if not shown - {row.chat_id}:  # no other chat shows it
                log.error("card of request %s could not be posted anywhere: %s",
                          row.request_id, error)
            return
        now = self.env.now()
        lang = self.env.config.default_language
        notice = self.env.t(lang, "admin.card_failed", ref=request.ref, error=error[:200])
        out: list[Outgoing] = []
        # The group's forum topic is no place in the admins' chat (its number may name a
        # topic of theirs): their copy goes to their General.
        payload = {k: v for k, v in row.payload.items() if k != "message_thread_id"}
        for target in targets:
            card_id = await repo.cards.add_card(request.id, target, card.kind, "escalation", now)
            # In private at night both go silently: the card is the admin's to act on, and
            # the notice says why it is there (bot/night.py).
            out += night.all_at_night(self.env, "admin.card_failed", [
                ui.message(target, notice),
                Outgoing(target, row.method, {**payload, "chat_id": target},
                         purpose="card", request_id=request.id, card_id=card_id)])
        await repo.outbox.enqueue(out, now)
        self.wake()

    async def _problem_card_failed(self, repo: Repo, row: OutboxRow, error: str) -> None:
        """A problem's card that could not be posted is not redrawn (the unit's chat bound
        again gets it afresh: Dispatch.unit_bound), and the admins are told at once when it
        was the unit's group or the inspector's re-check that was refused, so no problem
        waits unseen until its deadline (a member's private copy: the group has the card)."""
        now, env = self.env.now(), self.env
        post = await repo.supervision.post(row.problem_post_id or 0)
        if post is None:
            return
        await repo.supervision.end_post(post.id, now)
        problem = await repo.supervision.problem(post.problem_id)
        if problem is None or (post.role == "unit" and post.chat_id > 0):
            return
        registers = env.config.supervision.registers
        out: list[Outgoing] = []
        for chat in env.config.admin_chats():
            if chat == row.chat_id:
                continue
            person = await repo.people.user(chat) if chat > 0 else None
            lang = env.t.language_for(person.language if person else None, None)
            if post.role == "unit":
                responsible = registers.units.get(problem.unit_id) if registers else None
                point = registers.points.get(problem.point_id) if registers else None
                text = env.t(lang, "dispatch.card_failed", ref=problem.ref, id=problem.unit_id,
                             unit=responsible.name(lang) if responsible else problem.unit_id,
                             point=point.name(lang) if point else problem.point_id,
                             error=error[:200])
            else:
                inspector = await repo.people.user(post.chat_id)
                text = env.t(lang, "dispatch.recheck_failed", ref=problem.ref,
                             name=inspector.first_name if inspector else str(post.chat_id),
                             error=error[:200])
            key = "dispatch.card_failed" if post.role == "unit" else "dispatch.recheck_failed"
            out.append(night.at_night(env, key, ui.message(chat, text)))
        if out:
            await repo.outbox.enqueue(out, now)
            self.wake()

    async def _post_card_again(self, repo: Repo, row: OutboxRow) -> None:
        """A card whose message is gone (someone deleted it; or it stayed in a group that
        became a supergroup) is posted again in its chat as the failed edit would have drawn
        it, while it has buttons: a request waiting for a volunteer (Claim), an activity taking
        sign-ups, a call's roster with its controls, a problem the unit or the inspector acts
        on. A photo card comes back as a photo with its caption when the photo is at hand,
        else as text; the sender records the new message and what it is, so later edits redraw
        it. A card with nothing left to press stays deleted, and so does one a later edit
        waits for: that edit's failure posts it as it then stands (once)."""
        card_id = getattr(row, EDITED_CARD[row.purpose]) or 0
        if await repo.outbox.newer_edit_queued(row.purpose, card_id, row.id):
            return
        if row.purpose == "card_edit":
            again = await self._request_cards_again(repo, row)
        elif row.purpose == "post_edit":
            again = await self._activity_card_again(repo, row)
        else:
            again = await self._problem_card_again(repo, row)
        if again:
            # One back in a private chat was redrawn by someone else's act: at night it comes
            # back silently (bot/night.py).
            again = night.all_at_night(self.env, "sender.card_again", again)
            await repo.outbox.enqueue(again, self.env.now())
            self.wake()

    async def _request_cards_again(self, repo: Repo, row: OutboxRow) -> list[Outgoing]:
        """A request's card again. A combined message that is gone takes every card in it:
        each request still waiting comes back as a card of its own, showing its newest state
        (the sender combines them again when the group's budget is short), the others not;
        the queued edits of that message's cards are settled with it (it is not there to
        edit). A card alone whose chat still shows another card of the request (a lost copy
        taken on) is retired instead."""
        card, sections, edits = await repo.cards.card_on_screen(row.card_id or 0)
        if card is None:
            return []
        if not sections:
            if any(other.id != card.id and other.chat_id == card.chat_id
                   and other.message_id is not None and not other.left_behind
                   for other in await repo.cards.active_cards(card.request_id)):
                # A lost copy taken on, or the card it copies, tidied away: the chat still
                # shows the request, so no third copy; the gone one is no longer redrawn.
                await repo.cards.retire_card(card.id)
                return []
            request = await repo.requests.request(card.request_id)
            if request is None or not _has_buttons(row.payload):
                return []
            await repo.cards.detach_cards([card.id])
            photo = (request.photos[0] if card.kind == "photo"
                     and render.card_kind(self.env, request) == "photo" else None)
            # In the forum topic it was posted in (the edit had no thread), wherever its
            # binding points now: a card stays where its people look.
            return [_posted(card.chat_id, row.payload, photo, purpose="card",
                            request_id=request.id, card_id=card.id, thread_id=card.thread_id)]
        newest = {row.card_id: row.payload}
        newest.update({card_id: payload for outbox_id, card_id, payload in edits
                       if outbox_id != row.id})  # oldest first: the last wins
        again: list[Outgoing] = []
        for section_card, request_id, _, was in sections:
            payload = newest.get(section_card)
            text = payload["text"] if payload is not None else was["text"]
            waiting = (_offers_claim(payload, request_id) if payload is not None
                       else was["claim"])
            if waiting:
                again.append(ui.message(
                    card.chat_id, text, render.claim_markup(self.env, request_id),
                    purpose="card", request_id=request_id, card_id=section_card,
                    thread_id=card.thread_id))  # one message: one topic for all of them
        await repo.cards.detach_cards([out.card_id or 0 for out in again])
        now = self.env.now()
        for outbox_id, _, _ in edits:
            if outbox_id != row.id:
                await repo.outbox.mark_failed(outbox_id, f"{GONE[0]} (posted again)", now)
        return again

    async def _activity_card_again(self, repo: Repo, row: OutboxRow) -> list[Outgoing]:
        """An activity's recruitment card (a photo, with its poster) or a call's card or
        roster, again."""
        post = await repo.activities.post(row.post_id or 0)
        if post is None or not _has_buttons(row.payload):
            return []
        activity = await repo.activities.activity(post.activity_id)
        if activity is None:
            return []
        photo = activity.poster if post.kind == "photo" else None
        # In the forum topic it was posted in (the edit had no thread), wherever its team's
        # place is now: a card stays where its people look.
        return [_posted(post.chat_id, row.payload, photo, purpose="post", post_id=post.id,
                        thread_id=post.thread_id)]

    async def _problem_card_again(self, repo: Repo, row: OutboxRow) -> list[Outgoing]:
        """A problem's card (always text) again, unless it stopped being redrawn; in the
        forum topic it was posted in (the edit had no thread)."""
        post = await repo.supervision.post(row.problem_post_id or 0)
        if post is None or post.ended_at is not None or not _has_buttons(row.payload):
            return []
        return [_posted(post.chat_id, row.payload, None, purpose="problem_post",
                        thread_id=post.thread_id, problem_post_id=post.id)]

    async def _drop_upload(self, repo: Repo, row: OutboxRow) -> None:
        """A file that will never be sent (an export, a chart) is deleted, since it may hold
        personal data, and the chat is told once (unless it is the chat refusing us)."""
        for field in UPLOAD_FIELDS.get(row.method, ()):
            upload = row.payload.get(field)
            if isinstance(upload, dict) and "path" in upload:
                Path(upload["path"]).unlink(missing_ok=True)  # noqa: ASYNC240 (one quick call)
                user = await repo.people.user(row.chat_id) if row.chat_id > 0 else None
                if user is None or not user.blocked:
                    language = self.env.t.language_for(user.language if user else None, None)
                    await repo.outbox.enqueue([ui.message(row.chat_id, self.env.t(
                        language, "jobs.not_delivered", name=upload["filename"]))],
                        self.env.now())

    async def _retry(self, row: OutboxRow, error: str) -> None:
        attempts = row.attempts + 1
        async with self._bookkeeping() as repo:
            if attempts >= self.env.config.delivery.max_attempts:
                log.error("outbox row %s failed %s times: %s", row.id, attempts, error)
                await self._failed(repo, row, error)
            else:
                backoff = min(MAX_BACKOFF, 2.0 ** attempts)
                await repo.outbox.retry_later(row.id, self.env.now() + backoff, error)


def _settle(sleeper: asyncio.Future[None]) -> None:
    """End a wait (woken, or its time is up), once."""
    if not sleeper.done():
        sleeper.set_result(None)


def _queued_as(row: OutboxRow) -> tuple[float, int]:
    """Where a call stands in line while the overall budget is short."""
    return row.not_before + (GROUP_HANDICAP if row.chat_id < 0 else 0.0), row.id


def _combinable(row: OutboxRow) -> bool:
    """A new text card for a group may share a message (photo cards never do)."""
    return (row.chat_id < 0 and row.purpose == "card" and row.method == "sendMessage"
            and row.card_id is not None and row.request_id is not None)


def _gone(error: str) -> bool:
    """Say whether Telegram's answer to an edit says the card's message is not there (or
    the sender knew it, LEFT_BEHIND, which begins with GONE's first)."""
    return any(gone in error.lower() for gone in GONE)


def _has_buttons(payload: dict[str, Any]) -> bool:
    """Say whether a card's call leaves it with buttons to press."""
    return bool((payload.get("reply_markup") or {}).get("inline_keyboard"))


def _unit_label(env: Env, unit_id: str, language: str) -> str:
    """A responsible unit's name as the registers give it (its id, if they no longer do)."""
    registers = env.config.supervision.registers
    found = registers.units.get(unit_id) if registers is not None else None
    return found.name(language) if found is not None else unit_id


def _posted(chat_id: int, edit: dict[str, Any], photo: str | None, *, purpose: str,
            thread_id: int | None = None, **card: int) -> Outgoing:
    """The call that posts a card as an edit of it (`edit`, its stored payload) would have
    drawn it: a photo with that caption, or that text, with its buttons (in a forum's topic
    with `thread_id`)."""
    markup = edit.get("reply_markup")
    if photo:
        return ui.photo(chat_id, photo, edit["text"], markup, purpose=purpose,
                        thread_id=thread_id, **card)
    return ui.message(chat_id, edit["text"], markup, purpose=purpose, thread_id=thread_id,
                      **card)


def _offers_claim(payload: dict[str, Any], request_id: int | None) -> bool:
    """Say whether a card's call shows the request's Claim button (it still waits)."""
    rows = (payload.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(button.get("callback_data") == buttons.CLAIM.data(request_id)
               for row in rows for button in row)


def _seconds(retry_after: Any) -> float:
    """RetryAfter gives seconds or a timedelta depending on PTB_TIMEDELTA."""
    total = getattr(retry_after, "total_seconds", None)
    return float(total() if total else retry_after)


def _message_ids(result: Any) -> list[int]:
    if isinstance(result, dict) and "message_id" in result:
        return [int(result["message_id"])]
    if isinstance(result, list):
        return [int(m["message_id"]) for m in result if isinstance(m, dict)]
    return []


async def _without(repo: Repo, rows: list[OutboxRow], parameter: str) -> None:
    """The rows, pending in their place, to go again without one of their parameters."""
    for row in rows:
        payload = {k: v for k, v in row.payload.items() if k != parameter}
        await repo.outbox.rewrite(row.id, row.method, payload)
