"""Background work too slow for an update handler (charts, exports), kept in the database.

A handler records a job in its own transaction and answers at once; the runner does the work
off the update path and queues what it produced in the outbox. A job a crash interrupted runs
again at the next start, so an admin who asked for an export gets it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot import ui
from bot.context import Env
from storage import Outgoing, Repo, is_full
from storage.models import Job

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_PAUSE = 30.0  # seconds before a failed job is tried again
ROOM = "the jobs"  # who waits for room in a full database, as the log says it
JobRunner = Callable[[Job], Awaitable[list[Outgoing]]]


class Jobs:
    """Runs stored jobs one at a time, in order."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self._runners: dict[str, JobRunner] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.files_dir = Path(env.config.database).parent / "files"

    def register(self, kind: str, runner: JobRunner) -> None:
        """Say which coroutine does jobs of one kind."""
        self._runners[kind] = runner

    async def submit(
        self, repo: Repo, kind: str, chat_id: int, user_id: int, language: str,
        params: dict[str, Any],
    ) -> int:
        """Record a job inside the caller's transaction; it runs once that commits."""
        job_id = await repo.timers.add_job(
            kind, chat_id, user_id, language, params, self.env.now())
        self._wake.set()
        return job_id

    def file_path(self, job: Job, name: str) -> Path:
        """A place for a file a job writes (sent, then deleted by the sender)."""
        # Exports hold phone numbers: the folder is its owner's only, whatever the umask.
        self.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.files_dir.chmod(0o700)
        return self.files_dir / f"job{job.id}-{name}"

    def start(self) -> None:
        """Start working through pending jobs (those left by a crash first)."""
        self._task = asyncio.create_task(self._run(), name="jobs")

    async def stop(self) -> None:
        """Finish the job in hand, then stop (pending jobs wait for the next start)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def abort(self) -> None:
        """Drop the job in hand, as a dying process would (it runs again next start)."""
        if self._task is not None:
            self._task.cancel()

    async def run_pending(self) -> bool:
        """Do the pending jobs now, oldest first, until asked to stop; return False if one
        failed and waits to be tried again (tests and benchmarks call this too)."""
        async with self.env.db.reading() as repo:
            pending = await repo.timers.pending_jobs()
        all_done = True
        for job in pending:
            if self._stopping:  # the rest wait, stored, for the next start
                break
            all_done = await self._do(job) and all_done
        return all_done

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                all_done = await self.run_pending()
            except Exception as exc:
                if is_full(exc):  # said once (storage.Room), not with a traceback each try
                    self.env.db.room.refused(ROOM, exc)
                else:
                    log.exception("the job runner failed; trying again shortly")
                all_done = False
            else:
                self.env.db.room.took(ROOM)
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(),
                                           timeout=60 if all_done else RETRY_PAUSE)

    async def _do(self, job: Job) -> bool:
        """Run one job; return False if it failed and stays pending for another try."""
        runner = self._runners.get(job.kind)
        async with self.env.db.transaction() as repo:
            attempts = await repo.timers.start_job(job.id)
        if attempts > MAX_ATTEMPTS:
            # Its earlier attempts never finished: each took the process down with it.
            await self._give_up(job, "gave up: the process stopped during every attempt")
            return True
        try:
            if runner is None:
                raise RuntimeError(f"no runner for jobs of kind {job.kind!r}")
            out = await runner(job)
        except Exception as exc:
            log.exception("job %s (%s) failed, attempt %s", job.id, job.kind, attempts)
            if attempts < MAX_ATTEMPTS:
                return False  # stays pending: tried again after a pause
            await self._give_up(job, f"{type(exc).__name__}: {exc}")
            return True
        async with self.env.db.transaction() as repo:
            await repo.timers.finish_job(job.id, self.env.now())
            await repo.outbox.enqueue(out, self.env.now())
        self.env.wake_sender()
        return True

    async def _give_up(self, job: Job, error: str) -> None:
        """Mark a job failed, remove what it wrote, and tell the person who asked."""
        for leftover in self.files_dir.glob(f"job{job.id}-*"):
            leftover.unlink(missing_ok=True)
        async with self.env.db.transaction() as repo:
            await repo.timers.finish_job(job.id, self.env.now(), error=error)
            failed = self.env.t(job.language, "jobs.failed")
            await repo.outbox.enqueue([ui.message(job.chat_id, failed)], self.env.now())
        self.env.wake_sender()
