"""The one sender: drains the outbox under Telegram's flood limits and survives its errors."""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
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

from bot import ui
from bot.config import Delivery
from bot.context import Env
from storage import OutboxRow, Outgoing, Repo

log = logging.getLogger(__name__)

# The outbox stores Bot API calls by their API names, so the sender makes them through
# do_api_request, which suggests the typed method every time; the advice does not apply here.
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)

# Where a stored call carries a file to upload: {"path"|"text": …, "filename": …}.
UPLOAD_FIELDS = {"sendDocument": ("document",), "sendPhoto": ("photo",)}
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup",
                          "editCard"})
# Telegram counts calls when they arrive, we when we make them: margins absorb the difference.
GROUP_WINDOW = 61.0  # 20 per minute
# Overall: calls count when answered and calls in flight count too, so our window always holds
# at least what Telegram's holds; no extra margin is needed there.
GLOBAL_WINDOW = 1.0
PRIVATE_RATE_MARGIN = 0.9  # refill private chats a tenth slower than configured
PRIVATE_SPARE = 0.5  # and keep half a message in hand for network jitter
MAX_BACKOFF = 300.0
BATCH = 200


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


class Sender:
    """Makes the outbox's calls in order per chat, several chats at a time."""

    def __init__(self, env: Env, bot: Bot) -> None:
        self.env = env
        self.bot = bot
        self.pacer = Pacer(env.config.delivery)
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Look at the outbox now (something was just queued)."""
        self._wake.set()

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

    def abort(self) -> None:
        """Drop everything at once (the process is dying); unsent rows stay queued."""
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        for task in self._tasks:
            task.cancel()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before looking, so a wake during the look is not lost
            try:
                delay = await self.pump()
            except Exception:
                log.exception("outbox sender failed; retrying in a second")
                delay = 1.0
            # asyncio.wait, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races the event, and stop() would hang.
            waiter = asyncio.ensure_future(self._wake.wait())
            done, _ = await asyncio.wait({waiter}, timeout=delay)
            if not done:
                waiter.cancel()

    async def pump(self) -> float:
        """Start every call that may go now; return how long until the next may."""
        now_wall = self.env.now()
        async with self.env.db.reading() as repo:
            rows = await repo.pending_outbox_head(now_wall, BATCH)
        now = time.monotonic()
        wait = 1.0
        seen: set[int] = set()
        for row in rows:
            if len(self._in_flight) >= self.env.config.delivery.concurrency:
                break  # more would wait for a slot and reach Telegram later than counted
            if row.chat_id in seen:
                continue  # calls to one chat go strictly in order: only its oldest may go
            seen.add(row.chat_id)
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
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(wait, 0.005)

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            await self._send(row)
        except Exception as exc:
            # Not Telegram's doing, so retrying will not help, and holding the row would
            # hold every later message to this chat: give it up, keeping the reason.
            log.exception("outbox row %s: unexpected failure", row.id)
            await self._finish(row, error=f"unexpected: {type(exc).__name__}: {exc}")
        finally:
            self._in_flight.discard(row.chat_id)
            self.wake()

    async def _send(self, row: OutboxRow) -> None:
        method, params = row.method, dict(row.payload)
        if method == "editCard":
            resolved = await self._resolve_card(row, params)
            if resolved is None:
                await self._finish(row, error="the card was never posted")
                return
            method, params = resolved
        uploaded: Path | None = None
        for field in UPLOAD_FIELDS.get(method, ()):
            upload = params.get(field)
            if not isinstance(upload, dict):
                continue
            if "path" in upload:  # a file a background job wrote (a chart, an export part)
                uploaded = Path(upload["path"])
                if not uploaded.exists():
                    await self._finish(row, error=f"the file {uploaded.name} is gone")
                    return
                params[field] = InputFile(uploaded.read_bytes(), filename=upload["filename"])
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
        try:
            try:
                result = await self.bot.do_api_request(method, api_kwargs=params)
            finally:
                count = len(params["media"]) if method == "sendMediaGroup" else 1
                self.pacer.record(row.chat_id, method in EDIT_METHODS, time.monotonic(), count)
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            log.warning("429 for chat %s: retry after %ss", row.chat_id, seconds)
            self.pacer.pause(time.monotonic() + min(seconds, 1.0))
            async with self.env.db.transaction() as repo:
                await repo.hold_chat(row.chat_id, self.env.now() + seconds)
            return
        except ChatMigrated as exc:
            log.info("chat %s migrated to %s", row.chat_id, exc.new_chat_id)
            async with self.env.db.transaction() as repo:
                await repo.move_chat(row.chat_id, exc.new_chat_id)
            return
        except Forbidden as exc:
            log.info("chat %s refuses messages: %s", row.chat_id, exc.message)
            if row.chat_id > 0:
                async with self.env.db.transaction() as repo:
                    await repo.mark_blocked(row.chat_id, self.env.now())
            await self._finish(row, error=f"forbidden: {exc.message}")
            return
        except BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                await self._finish(row, message_ids=[])
                return
            log.error("outbox row %s (%s) refused: %s", row.id, method, exc.message)
            await self._finish(row, error=f"bad request: {exc.message}")
            return
        except NetworkError as exc:  # includes TimedOut; a retried send may duplicate
            await self._retry(row, f"network: {exc.message}")
            return
        except TelegramError as exc:
            await self._retry(row, f"telegram: {exc.message}")
            return
        await self._mark_sent(row, _message_ids(result))
        if uploaded is not None:
            uploaded.unlink(missing_ok=True)  # exports hold personal data: keep no copies

    async def _resolve_card(
        self, row: OutboxRow, params: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """Turn an editCard row into the edit call for the card as it was posted."""
        async with self.env.db.reading() as repo:
            card = await repo.card(row.card_id or 0)
        if card is None or card.message_id is None:
            return None
        params.update(chat_id=card.chat_id, message_id=card.message_id)
        if card.kind == "photo":
            params["caption"] = params.pop("text")
            return "editMessageCaption", params
        return "editMessageText", params

    async def _finish(
        self, row: OutboxRow, *, message_ids: list[int] | None = None, error: str | None = None
    ) -> None:
        now = self.env.now()
        async with self.env.db.transaction() as repo:
            if error is not None:
                await repo.mark_failed(row.id, error, now)
                if row.purpose == "card":
                    await self._card_fallback(repo, row, error)
                return
            ids = message_ids or []
            await repo.mark_sent(row.id, ids, now)
            if row.purpose == "card" and row.card_id is not None and ids:
                await repo.record_card_message(row.card_id, ids[0])

    async def _mark_sent(self, row: OutboxRow, message_ids: list[int]) -> None:
        """Record a plain message as sent: one statement, committed on its own."""
        if row.purpose == "card":
            await self._finish(row, message_ids=message_ids)  # two rows change together
            return
        async with self.env.db.single() as repo:
            await repo.mark_sent(row.id, message_ids, self.env.now())

    async def _card_fallback(self, repo: Repo, row: OutboxRow, error: str) -> None:
        """A card its group refused goes to the admins instead, so no request goes unseen."""
        target = self.env.config.admin_chats()[0]
        card = await repo.card(row.card_id or 0)
        request = await repo.request(row.request_id or 0)
        if target == row.chat_id or card is None or request is None:
            log.error("card of request %s could not be posted anywhere: %s", row.request_id, error)
            return
        now = self.env.now()
        card_id = await repo.add_card(request.id, target, card.kind, "escalation", now)
        lang = self.env.config.default_language
        notice = self.env.t(lang, "admin.card_failed", ref=request.ref, error=error[:200])
        await repo.enqueue([
            ui.message(target, notice),
            Outgoing(target, row.method, {**row.payload, "chat_id": target}, purpose="card",
                     request_id=request.id, card_id=card_id),
        ], now)
        self.wake()

    async def _retry(self, row: OutboxRow, error: str) -> None:
        attempts = row.attempts + 1
        async with self.env.db.transaction() as repo:
            if attempts >= self.env.config.delivery.max_attempts:
                log.error("outbox row %s failed %s times: %s", row.id, attempts, error)
                await repo.mark_failed(row.id, error, self.env.now())
            else:
                backoff = min(MAX_BACKOFF, 2.0 ** attempts)
                await repo.retry_later(row.id, self.env.now() + backoff, error)


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
