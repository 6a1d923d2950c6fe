"""The daily backup: once a day after `[backup] at` (local time), a copy of the database in
`[backup] folder`, the newest `keep` kept (storage/backup.py makes and checks each one).

It runs beside the bot, in a worker thread (SQLite's online backup lets the bot keep writing),
started by the sweep and recorded, like a report, so a restart does not make it twice. A
failure is logged and tried again RETRY_AFTER later (a full disk would otherwise be copied to
every second, by the sweep).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from bot.context import Env
from bot.unit import Units
from storage.backup import BackupReport, backup, prune

log = logging.getLogger(__name__)

PATTERN = "civicloop-*.db"
RETRY_AFTER = 600.0  # seconds (the bot's clock) between a failed backup and the next try


class DailyBackup:
    """Starts the day's backup when it is due; one at a time."""

    def __init__(self, env: Env, units: Units) -> None:
        self.env = env
        self.units = units
        self.running: asyncio.Task[BackupReport | None] | None = None
        self._done_for: str | None = None  # the last day known to be backed up
        # Two sweeps may overlap (the start-up one and the periodic one): the first to look
        # decides, the other returns at once, so two copies never write one file.
        self._looking = False
        self._retry_at = 0.0  # after a failure, no new try before this (the bot's clock)

    def due_day(self) -> str:
        """The day whose backup should exist by now: today after the set time, else
        yesterday."""
        config = self.env.config
        local = datetime.fromtimestamp(self.env.now(), config.timezone)
        day = local.date() if local.time() >= config.backups.at else (
            local.date() - timedelta(days=1))
        return day.isoformat()

    async def start_if_due(self) -> None:
        """Start the backup of the due day unless it exists or one is running."""
        config = self.env.config
        if config.backups.keep == 0 or str(config.database) == ":memory:":
            return
        if self._looking or (self.running is not None and not self.running.done()):
            return
        if self.env.now() < self._retry_at:
            return
        day = self.due_day()
        if day == self._done_for:
            return
        self._looking = True
        try:
            async with self.env.db.reading() as repo:
                if await repo.timers.reported_of([("backup", day)]):
                    self._done_for = day
                    return
            self.running = asyncio.create_task(self._make(day), name=f"backup-{day}")
        finally:
            self._looking = False

    async def _make(self, day: str) -> BackupReport | None:
        config = self.env.config
        folder = config.backup_folder()
        try:
            report = await asyncio.to_thread(
                backup, config.database, folder / f"civicloop-{day}.db")
            async with self.units.for_job() as unit:
                await unit.repo.timers.record_report("backup", day, self.env.now())
            removed = await asyncio.to_thread(prune, folder, PATTERN, config.backups.keep)
        except Exception:
            log.exception("the daily backup of %s failed; trying again in %.0f minutes", day,
                          RETRY_AFTER / 60)
            self._retry_at = self.env.now() + RETRY_AFTER
            return None
        self._done_for = day
        log.info("backup of %s written to %s (%s requests, %.1f MB); %s old ones removed",
                 day, report.path, report.requests, report.size / 1e6, len(removed))
        return report
