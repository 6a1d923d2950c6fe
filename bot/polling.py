"""getUpdates with an inbox: an update is saved before Telegram is told we have it."""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.context import Env
from storage.db import handling_update

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
INBOX_KEEP_SECONDS = 2 * 86400


class Poller:
    """Fetches updates, stores them, then hands them to the Application one at a time."""

    def __init__(self, env: Env, app: Application, timeout: int) -> None:  # type: ignore[type-arg]
        self.env = env
        self.app = app
        self.timeout = timeout

    async def run(self) -> None:
        """Handle what a previous run stored but did not finish, then poll until cancelled."""
        async with self.env.db.transaction() as repo:
            await repo.prune_inbox(self.env.now() - INBOX_KEEP_SECONDS)
            leftovers = await repo.unprocessed_updates()
        for update_id, payload in leftovers:
            log.info("replaying stored update %s", update_id)
            await self._handle(update_id, payload)
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset,
                    timeout=self.timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=self.timeout + 10,
                )
                failures = 0
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except TimedOut:
                continue
            except Conflict:
                log.error("another instance is polling with this token; waiting")
                await asyncio.sleep(5)
                continue
            except NetworkError as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** failures)
                log.warning("getUpdates failed (%s); retrying in %.1fs", exc.message, delay)
                await asyncio.sleep(delay)
                continue
            if not updates:
                continue
            stored = [(u.update_id, json.dumps(u.to_dict(), ensure_ascii=False))
                      for u in updates]
            async with self.env.db.transaction() as repo:
                fresh = set(await repo.save_updates(stored, self.env.now()))
            # Only now may Telegram forget them: the next call's offset confirms them.
            offset = updates[-1].update_id + 1
            for update_id, payload in stored:
                if update_id in fresh:
                    await self._handle(update_id, payload)

    async def _handle(self, update_id: int, payload: str) -> None:
        update = Update.de_json(json.loads(payload), self.app.bot)
        try:
            with handling_update(update_id):
                await self.app.process_update(update)
        finally:
            async with self.env.db.transaction() as repo:
                await repo.mark_processed(update_id, self.env.now())


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total() if callable(total) else value)  # type: ignore[arg-type]
