"""getUpdates with an inbox: an update is saved before Telegram is told we have it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from bot.context import Env
from bot.delivery.inbox import ALLOWED_UPDATES, Displaced, Inbox, seconds

log = logging.getLogger(__name__)

MAX_BACKOFF = 15.0  # while Telegram is away, look again this often at most
# Two polls for one token meet 409 Conflict, and every poll does while a webhook is set. Our
# own poll from before a kill -9 may live on at Telegram's side (through a proxy or NAT) for
# up to a long poll: conflicts that go on longer than that, this many within the window, mean
# someone else receives the updates.
CONFLICTS_TO_STOP = 3
CONFLICT_GRACE = 15.0  # beyond the long poll's own timeout
CONFLICT_WINDOW = 120.0  # at least, and twice the grace with the long poll
CONFLICT_PAUSE = 5.0

# getUpdates is fetched raw (do_api_request), not through Bot.get_updates: the inbox stores
# Telegram's own JSON, and each update is parsed once, when it is handled. PTB suggests its
# typed method for that endpoint; here the raw form is the point.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'",
                        category=PTBUserWarning)


class Poller:
    """Fetches updates, stores them, then hands them to the Application one at a time."""

    def __init__(
        self,
        env: Env,
        app: Application,  # type: ignore[type-arg]
        timeout: int,
        on_caught_up: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.env = env
        self.app = app
        self._stopping = asyncio.Event()
        self.inbox = Inbox(env, app, self._stopping)
        self.timeout = timeout
        # Called once, after what waited for us (stored and queued updates) is handled: the
        # schedule's catch-up must judge deadlines after the answers that came before them.
        self.on_caught_up = on_caught_up
        self.failures = 0
        self._conflicts: list[float] = []  # when polls met a 409, lately (monotonic)

    def stop(self) -> None:
        """Stop after the update in hand; stored updates not yet handled wait for next start."""
        self._stopping.set()

    async def run(self) -> None:
        """Handle what a previous run stored but did not finish, then poll until stopped.

        While the database is full nothing is confirmed to Telegram that is not stored: the
        poller waits for room, then stores, handles and confirms, in order (Inbox.until_room).
        """
        if not await self.inbox.replay(await self.inbox.leftovers(), self._stopping):
            return
        if not await self._leave_webhook():
            return
        offset: int | None = None
        caught_up = False
        while not self._stopping.is_set():
            # The first call does not wait: it collects what queued up while we were down.
            updates = await self._poll(offset, self.timeout if caught_up else 0)
            if updates:
                stored = [(int(u["update_id"]), json.dumps(u, ensure_ascii=False))
                          for u in updates]
                fresh: set[int] = set()
                if not await self.inbox.until_room(partial(self._store, stored, offset,
                                                           fresh)):
                    return  # nothing confirmed: Telegram sends the batch again next start
                for raw, (update_id, _) in zip(updates, stored, strict=True):
                    if self._stopping.is_set():
                        break  # the rest are stored and will be handled at next start
                    if update_id in fresh:
                        await self.inbox.handle(update_id, raw)
                # Stored for sure before the next getUpdates confirms them.
                if not await self.inbox.until_room(self.env.db.flush_loose):
                    return
                if self._stopping.is_set():
                    return
                # Only now may Telegram forget them: the next call's offset confirms them.
                offset = max(update_id for update_id, _ in stored) + 1
            if not caught_up:
                caught_up = True
                if self.on_caught_up is not None:
                    await self.on_caught_up()

    async def _store(self, stored: list[tuple[int, str]], offset: int | None,
                     fresh: set[int]) -> None:
        """Save fetched updates to the inbox; put the ids to handle in `fresh`.

        Only the first batch of a run can repeat what an earlier run stored (it had not
        confirmed them yet): that one is checked, in its own transaction. Later batches are
        new by Telegram's word, so their rows are loose writes: the next trip to the database
        carries them (the handler's, or the sender's), and flush_loose() before the next
        getUpdates makes sure.
        """
        if offset is None or any(update_id < offset for update_id, _ in stored):
            fresh.update(await self.inbox.store(stored))
            return
        now = self.env.now()
        async with self.env.db.later() as repo:
            for update_id, payload in stored:
                await repo.inbox.store_update(update_id, payload, now)
        fresh.update(update_id for update_id, _ in stored)

    async def _leave_webhook(self) -> bool:
        """Delete the webhook webhook mode left, if any: while one is set, Telegram refuses
        getUpdates (409). Its pending updates are kept for getUpdates. False if stopped first."""
        while not self._stopping.is_set():
            try:
                info = await self.app.bot.get_webhook_info()
                if info.url:
                    log.info("a webhook is set (%s updates pending); deleting it to poll",
                             info.pending_update_count)
                    await self.app.bot.delete_webhook(drop_pending_updates=False)
                self.failures = 0
                return True
            except InvalidToken:
                log.critical("Telegram rejects the bot token; stopping")
                raise
            except RetryAfter as exc:
                await self._pause(seconds(exc.retry_after))
            except TelegramError as exc:  # Telegram or the network away: as polling would
                self.failures += 1
                delay = min(MAX_BACKOFF, 0.5 * 2 ** self.failures)
                log.warning("could not check for a webhook (%s); retrying in %.1fs", exc, delay)
                await self._pause(delay)
        return False

    async def _poll(self, offset: int | None, long_poll: int) -> list[dict[str, Any]] | None:
        """One getUpdates, with Telegram's and the network's failures waited out."""
        try:
            updates = await self._fetch(offset, long_poll)
            self.failures = 0
            return updates
        except InvalidToken:
            log.critical("Telegram rejects the bot token; stopping")
            raise
        except RetryAfter as exc:
            await self._pause(seconds(exc.retry_after))
        except TimedOut:
            pass
        except Conflict as exc:
            self._conflict(exc)
            await self._pause(CONFLICT_PAUSE)
        except Exception as exc:  # Telegram said no, the network failed, the disk hiccuped
            self.failures += 1
            delay = min(MAX_BACKOFF, 0.5 * 2 ** self.failures)
            log.warning("polling failed (%s); retrying in %.1fs", exc, delay,
                        exc_info=not isinstance(exc, TelegramError))
            await self._pause(delay)
        return None

    def _conflict(self, exc: Conflict) -> None:
        """Log a 409; raise Displaced once they keep coming for longer than our own old poll
        could explain. Two instances polling meet conflicts in turn; the one that has met
        them long enough first stops, and the other goes on alone. A webhook set after our
        start (we deleted any at start) is someone else's, not ours to delete again, or two
        instances would take the updates in turn."""
        now = time.monotonic()
        lingering = self.timeout + CONFLICT_GRACE  # how long our own old poll may live on
        window = max(CONFLICT_WINDOW, 2 * lingering)
        self._conflicts = [t for t in self._conflicts if now - t < window] + [now]
        webhook = "webhook" in str(exc).lower()
        if len(self._conflicts) >= CONFLICTS_TO_STOP and now - self._conflicts[0] > lingering:
            who = ("someone set a webhook for this token (another instance in webhook mode?)"
                   if webhook else "another process polls Telegram with this token")
            raise Displaced(f"{who}: 409 Conflict for {now - self._conflicts[0]:.0f} s; "
                            "stopping, so that updates are not split between two databases "
                            "and messages not sent by both")
        if webhook:
            log.error("a webhook is set for this token (another instance in webhook mode?); "
                      "polling waits")
        else:
            log.error("another instance is polling with this token; waiting")

    async def _fetch(self, offset: int | None, long_poll: int) -> list[dict[str, Any]] | None:
        """One long poll, abandoned (None) if a stop is asked for meanwhile."""
        params: dict[str, Any] = {"timeout": long_poll, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            params["offset"] = offset
        fetch = asyncio.ensure_future(self.app.bot.do_api_request(
            "getUpdates", api_kwargs=params, read_timeout=long_poll + 10,
        ))
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if fetch not in done:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        result = fetch.result()
        if not isinstance(result, list):
            raise TelegramError(f"getUpdates answered {type(result).__name__}, not a list")
        # An entry without an update id cannot be confirmed or stored; Telegram never sends one.
        return [u for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    async def _pause(self, delay: float) -> None:
        """Wait, unless a stop is asked for."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({stopping}, timeout=delay)
        stopping.cancel()
