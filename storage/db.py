"""Connection setup, migrations and the transaction boundary."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import partial
from importlib import resources
from pathlib import Path

from storage.engine import Engine, is_full
from storage.models import OutboxRow
from storage.repo import Repo
from storage.repos.base import Held
from storage.repos.people import KnownUsers
from storage.snapshot import SnapshotReader

log = logging.getLogger(__name__)

# The update being handled in this task, if any. Its inbox row is marked handled inside the
# first transaction that commits while handling it, so a crash can never leave a state change
# committed and its update still waiting to be replayed (and applied a second time).
_handling_update: ContextVar[HandledUpdate | None] = ContextVar("handling_update",
                                                                default=None)

# A loose write that fails this many trips in a row is dropped (and logged).
MAX_LOOSE_TRIES = 5

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """Return (version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration {name} is out of sequence (expected {expected:03d})")
    return found


@dataclass
class HandledUpdate:
    """The update being handled, whether a committed transaction already marked it, and
    whether a write was refused meanwhile because the database is full (then nothing the
    handler did was kept, and the update is to be handled again once there is room)."""

    update_id: int
    marked: bool = False
    full: BaseException | None = None


@contextmanager
def handling_update(update_id: int) -> Iterator[HandledUpdate]:
    """Tie the transactions run inside this block to the inbox row of `update_id`."""
    state = HandledUpdate(update_id)
    token = _handling_update.set(state)
    try:
        yield state
    finally:
        _handling_update.reset(token)


class Room:
    """Who waits because the database refused a write for lack of space: said once in the log
    when the first starts waiting, and once when any part writes again (the disk has room)."""

    def __init__(self) -> None:
        self._waiting: set[str] = set()
        self._since = 0.0

    @property
    def full(self) -> bool:
        """Whether someone waits for room."""
        return bool(self._waiting)

    def refused(self, who: str, error: BaseException) -> None:
        """`who` could not write: the database, or its disk, is full."""
        if not self._waiting:
            self._since = time.monotonic()
            log.error("database is full: %s; %s paused until there is room (free disk space). "
                      "Nothing is lost meanwhile: updates stay with Telegram, messages in the "
                      "outbox", error, who)
        self._waiting.add(who)

    def took(self, who: str) -> None:
        """`who` wrote again after it was refused: the disk has room again, for everyone (a
        part that was refused may have nothing more to write for a long while, and the log
        must still say the trouble is over)."""
        if who not in self._waiting:
            return
        self._waiting.clear()
        log.warning("the database takes writes again after %.0f s; service resumes",
                    time.monotonic() - self._since)


class Database:
    """One SQLite connection. Units of work take turns under one lock: a transaction, a few
    self-committing writes (single), or reads; loose writes wait for whichever goes next."""

    def __init__(self, engine: Engine, path: str | Path | None = None) -> None:
        self._engine = engine
        # The file opened (None: in memory), for the reports' read-only connections; made
        # absolute now (no I/O), so a later change of directory does not move it.
        self._path = None if path is None else Path(os.path.abspath(path))
        # One shared connection does not isolate concurrent transactions, so units of work
        # take turns. Reads take the lock too, so nobody sees another's uncommitted rows.
        self._lock = asyncio.Lock()
        # Loose writes (Repo.Held.loose) waiting for whichever trip goes next.
        self._loose: list[Held] = []
        # Sends loose writes that asked to wait no more than so long (later(within=…)).
        self._loose_timer: asyncio.TimerHandle | None = None
        self._loose_flushes: set[asyncio.Task[None]] = set()
        # Who spoke lately and where their conversation stands, as committed.
        self.known_users = KnownUsers()
        # Told of the calls each committed unit of work queued (the sender keeps its view of
        # the outbox up to date with them instead of reading it again).
        self.on_queued: Callable[[list[OutboxRow]], None] | None = None
        # Who waits for room while the database is full (the poller, the sender, the sweep).
        self.room = Room()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = await Engine.open(path)
        try:
            db = cls(engine, None if str(path) == ":memory:" else path)
            await db._migrate()
        except BaseException:
            await engine.close()
            raise
        return db

    @property
    def engine(self) -> Engine:
        """The connection's thread (its trip count is a benchmark's and a metric's figure)."""
        return self._engine

    async def _migrate(self) -> None:
        current = await self.schema_version()
        await self._incremental_vacuum(converting=current > 0)
        shipped = migrations()
        if current > len(shipped):
            raise RuntimeError(
                f"database schema version {current} is newer than this program "
                f"({len(shipped)}); upgrade civicloop"
            )
        for version, name, sql in shipped[current:]:
            log.info("applying migration %s", name)
            # executescript commits what is open, so the script carries its own transaction
            # and the version bump inside it: a migration applies whole or not at all.
            script = f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            await self._engine.run(partial(_run_script, script=script))

    async def _incremental_vacuum(self, converting: bool) -> None:
        """Make the file shrink when rows go (Retention gives pages back a day at a time). A
        new database is set so before its first table; an older one is rebuilt once."""
        mode = await self._engine.run(lambda raw: raw.execute("PRAGMA auto_vacuum").fetchone())
        if int(mode[0]) == 2:
            return
        if not converting:
            return  # a new, empty file: the engine's PRAGMA applies with the first table
        log.info("rebuilding the database once so that it can shrink (VACUUM)")
        await self._engine.run(_convert_to_incremental_vacuum)

    async def schema_version(self) -> int:
        """Return the schema version recorded in the database."""
        row = await self._engine.run(lambda raw: raw.execute("PRAGMA user_version").fetchone())
        return int(row[0]) if row else 0

    def snapshot_reader(self) -> SnapshotReader:
        """Reads for reports too long for a turn at this connection (the /stats chart, a
        year's /export): each opens a read-only connection of its own to this database's file
        and blocks, so run them in a worker thread. They take no lock and hold up no update;
        the bot keeps writing meanwhile (WAL) and each read sees one snapshot. Refused for a
        database in memory, which no other connection can see."""
        if self._path is None:
            raise RuntimeError("a database in memory has no file to read off the event loop")
        return SnapshotReader(self._path)

    @property
    def loose_waiting(self) -> bool:
        """Whether loose writes wait for a trip (the next one carries them first)."""
        return bool(self._loose)

    def _repo(self, inline: bool = False) -> Repo:
        """A Repo whose first trip also carries the loose writes waiting for one."""
        loose, self._loose = self._loose, []
        return Repo(self._engine, carried=loose, give_back=self._give_back,
                    known=self.known_users, inline=inline)

    def _give_back(self, loose: list[Held], culprit: Held | None) -> None:
        """Loose writes not done wait again, first in line and in their order. Only the
        one whose own statement failed counts a failed try, and one that keeps failing is
        dropped after MAX_LOOSE_TRIES, so it cannot break every unit after it."""
        kept = []
        for held in loose:
            if held is not culprit:
                kept.append(held)
            elif held.tries + 1 >= MAX_LOOSE_TRIES:
                log.error("dropping a write that failed %s times: %s", MAX_LOOSE_TRIES,
                          " ".join(held.sql.split())[:200])
            else:
                kept.append(replace(held, tries=held.tries + 1))
        self._loose[:0] = kept

    def _tell_queued(self, repo: Repo) -> None:
        queued = repo.queued()
        if queued and self.on_queued is not None:
            self.on_queued(queued)

    @asynccontextmanager
    async def transaction(self, inline: bool = False) -> AsyncIterator[Repo]:
        """Run a unit of work in one write transaction (BEGIN IMMEDIATE … COMMIT).

        BEGIN travels with the first statement that must answer and COMMIT with the writes
        held back since, so a unit of work costs one trip per read, plus one. With `inline`
        (a unit whose statements are all short, as an update's are) the reads run on the
        event loop's thread when the database thread is idle: only the COMMIT, which syncs
        to disk, is a hand-off then (Engine.run).
        """
        async with self._lock:
            repo = self._repo(inline)
            repo.begin()
            try:
                yield repo
                handled = _handling_update.get()
                if handled is not None and not handled.marked:
                    await repo.inbox.mark_processed(handled.update_id, time.time())
                await repo.flush(then="COMMIT")
                if handled is not None:
                    handled.marked = True
            except BaseException as exc:
                repo.discard_held()
                self.known_users.forget(repo.news)
                _note_refusal(exc)
                # Also when COMMIT itself failed, or a trip was cancelled while queued (it
                # still runs): ask the database thread, after that trip, and roll back there.
                try:
                    await asyncio.shield(self._engine.run(_roll_back))
                except Exception:  # the connection is gone: the original error tells more
                    log.exception("rollback failed")
                raise
            self.known_users.learn(repo.news)
            self._tell_queued(repo)

    @asynccontextmanager
    async def single(self) -> AsyncIterator[Repo]:
        """Run write statements on their own (each commits by itself), in one trip at the end."""
        async with self._untransacted() as repo:
            yield repo
        self._tell_queued(repo)

    @asynccontextmanager
    async def reading(self, inline: bool = False) -> AsyncIterator[Repo]:
        """Run read-only queries while no write transaction is half done; with `inline`,
        short ones on the event loop's thread when the database thread is idle."""
        async with self._untransacted(inline) as repo:
            yield repo

    @asynccontextmanager
    async def _untransacted(self, inline: bool = False) -> AsyncIterator[Repo]:
        """A turn at the connection outside a transaction; what is held goes at the end."""
        async with self._lock:
            repo = self._repo(inline)
            try:
                yield repo
                await repo.flush()
            except BaseException as exc:
                repo.discard_held()
                self.known_users.forget(repo.news)
                _note_refusal(exc)
                raise
            self.known_users.learn(repo.news)

    @asynccontextmanager
    async def later(self, within: float | None = None) -> AsyncIterator[Repo]:
        """Queue idempotent writes nobody waits on, carried by the next trip anyone makes:
        inside its transaction (they commit with it, or wait again if it rolls back), or
        ahead of its work in one transaction of their own. flush_loose() sends them when they
        may wait no longer; with `within`, a trip of their own goes after that many seconds
        if nobody else's carried them."""
        repo = Repo(self._engine, loose=True)
        yield repo
        self._loose.extend(repo.take_held())
        if within is not None and self._loose_timer is None:
            self._loose_timer = asyncio.get_running_loop().call_later(within, self._loose_due)

    def _loose_due(self) -> None:
        """The loose writes' time is up: send them, unless a trip took them meanwhile."""
        self._loose_timer = None
        if not self._loose:
            return
        task = asyncio.ensure_future(self.flush_loose())
        self._loose_flushes.add(task)
        task.add_done_callback(self._loose_flushed)

    def _loose_flushed(self, task: asyncio.Task[None]) -> None:
        self._loose_flushes.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None and not is_full(error):  # a full database is said by Room
            # The writes went back in line (see _give_back); the next trip tries them again.
            log.warning("loose writes failed: %s", error)

    async def flush_loose(self) -> None:
        """Return once every loose write queued so far is done (a trip only if some wait).

        A unit of work that took loose writes along holds the lock until its trips are made
        (or gives them back): waiting for the lock waits for them too.
        """
        async with self.single():
            pass

    async def close(self) -> None:
        """Close the connection and its thread, after the loose writes still waiting."""
        if self._loose_timer is not None:
            self._loose_timer.cancel()
            self._loose_timer = None
        try:
            await asyncio.gather(*self._loose_flushes, return_exceptions=True)
            await self.flush_loose()
        except Exception as exc:
            if not is_full(exc):
                raise
            # Updates not stored were not confirmed either: Telegram sends them again. A
            # message whose mark is lost goes again after the restart (at least once).
            log.error("database is full: %s writes could not be stored before closing",
                      len(self._loose))
        finally:
            await self._engine.close()


def _note_refusal(error: BaseException) -> None:
    """A write refused for lack of room while an update is handled: the poller handles the
    update again once there is room, instead of taking the failure as the update's."""
    handled = _handling_update.get()
    if handled is not None and is_full(error):
        handled.full = error


def _roll_back(raw: sqlite3.Connection) -> None:
    """Roll back whatever transaction is open on the connection (none: nothing to do)."""
    if raw.in_transaction:
        raw.execute("ROLLBACK")


def _run_script(raw: sqlite3.Connection, *, script: str) -> None:
    """Run a migration script; if it fails half way, roll back what it began."""
    try:
        raw.executescript(script)
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


def _convert_to_incremental_vacuum(raw: sqlite3.Connection) -> None:
    """VACUUM cannot change auto_vacuum in WAL mode: leave WAL for the rebuild, then return."""
    raw.execute("PRAGMA journal_mode=DELETE").fetchall()
    raw.execute("PRAGMA auto_vacuum=INCREMENTAL")
    raw.execute("VACUUM")
    raw.execute("PRAGMA journal_mode=WAL").fetchall()
