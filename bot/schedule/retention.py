"""Letting go, once a day: handled updates, calls made or given up on, settled timers, and
the phone, address and exact point of requests closed longer ago than `[retention]` says,
with what their citizen and claimer said in the masked chat (contact_days too).
The requests, their timelines and every statistic stay; the file shrinks by incremental
vacuum. Recorded like a report (kind `retention`), so a restart does it once a day.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import Env
from bot.unit import Units
from storage.repos.retention import Pruned

log = logging.getLogger(__name__)

DAY = 86400.0
# Pages the incremental vacuum gives back per pass (4 KB each): the file shrinks a little a
# day rather than stopping the bot for a whole VACUUM.
VACUUM_PAGES = 20_000


class Retention:
    """Runs the day's pruning when the sweep finds it due."""

    def __init__(self, env: Env, units: Units) -> None:
        self.env = env
        self.units = units
        self._done_for: str | None = None
        self._running = False  # overlapping sweeps: one pass at a time

    async def run_if_due(self) -> Pruned | None:
        """Prune once a day; return what went (None: done already today)."""
        env = self.env
        day = datetime.fromtimestamp(env.now(), env.config.timezone).date().isoformat()
        if day == self._done_for or self._running:
            return None
        self._running = True
        try:
            return await self._run(day)
        finally:
            self._running = False

    async def _run(self, day: str) -> Pruned | None:
        env = self.env
        async with env.db.reading() as repo:
            if await repo.timers.reported_of([("retention", day)]):
                self._done_for = day
                return None
        keep, now = env.config.retention, env.now()
        async with self.units.for_job() as unit:
            updates = await unit.repo.inbox.prune_inbox(now - keep.inbox_days * DAY)
            pruned = await unit.repo.retention.prune(
                outbox_before=now - keep.outbox_days * DAY if keep.outbox_days else 0.0,
                timers_before=now - keep.timer_days * DAY if keep.timer_days else 0.0,
                contacts_before=now - keep.contact_days * DAY if keep.contact_days else None)
            await unit.repo.timers.record_report("retention", day, now)
        async with env.db.single() as repo:
            await repo.retention.vacuum(VACUUM_PAGES)
        self._done_for = day
        if updates or pruned.outbox or pruned.timers or pruned.contacts or pruned.messages:
            log.info("retention: %s updates, %s calls, %s timers removed; contact details of "
                     "%s closed requests and %s masked chat messages removed", updates,
                     pruned.outbox, pruned.timers, pruned.contacts, pruned.messages)
        return pruned
