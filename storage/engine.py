"""The SQLite connection on a thread of its own, reached one trip at a time.

sqlite3 blocks, so the bot's one connection lives on a worker thread and the event loop sends
it work. A trip is one callable run there with the raw connection: a unit of work packs its
held writes and its next read into one (storage/repo.py), because the hand-off between threads
costs far more than a statement. aiosqlite works the same way inside, but its public calls
run one statement each and its way of running a callable is private; this module is that
mechanism in the open, with the trips counted for benchmarks and metrics.

Imports: the standard library only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# What each connection is set to: write-ahead log (readers never block the writer); every
# COMMIT synced to disk (FULL), because the poller confirms an update to Telegram once the
# transaction holding it committed, and the sender tells people what a commit decided: under
# NORMAL a power cut could lose a committed claim someone was already told about; a busy wait
# instead of an error when another process holds the file a moment; and foreign keys.
PRAGMAS = (
    # Before WAL: a new file takes it with its first page (an old one keeps what it has,
    # until Database converts it once).
    "PRAGMA auto_vacuum=INCREMENTAL",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)

_Work = tuple["asyncio.Future[Any]", Callable[[sqlite3.Connection], Any]]


# SQLite says a disk is full in two ways: SQLITE_FULL for the database and its journal, and
# SQLITE_IOERR_SHMSIZE when the WAL index (the -shm file) cannot grow, as on opening a
# database on a disk with no room left.
FULL_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_SHMSIZE})


def is_full(error: BaseException) -> bool:
    """Whether an error is SQLite's "database or disk is full": no statement is at fault, and
    the same write succeeds once there is room again."""
    return (isinstance(error, sqlite3.Error)
            and getattr(error, "sqlite_errorcode", None) in FULL_CODES)


class EngineClosed(RuntimeError):
    """The connection was closed: no more trips."""


class Engine:
    """One sqlite3 connection, owned by one thread; `run` sends it work, in order."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        # How many trips were made: each costs a thread hand-off (bench/ and metrics read it).
        self.trips = 0
        # How many short trips ran on the event loop's thread instead (see run).
        self.inline = 0
        self._queue: SimpleQueue[_Work | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        # Trips handed to the thread whose outcome has not reached the event loop yet.
        self._busy = 0
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path) -> Engine:
        """Open the connection on its thread (autocommit: transactions are begun explicitly)
        and apply PRAGMAS."""
        engine = cls(path)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        engine._thread = threading.Thread(
            target=engine._serve, args=(ready,), name="civicloop-db", daemon=True)
        engine._thread.start()
        await ready
        return engine

    async def run(self, work: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        """Run `work(connection)` on the database thread, after the work sent before it.

        With `inline`, the caller says `work` is short and neither syncs to disk nor waits
        for a lock (reads and writes inside an open write transaction; no COMMIT): if the
        thread has nothing to do, it runs here at once, on the event loop's thread, which
        saves the hand-off both ways (a queue put that wakes the thread, then a wake-up of
        the loop through its self-pipe). Otherwise it waits its turn on the thread, as any
        trip does: work still runs one at a time and in the order sent.
        """
        if self._closed:
            raise EngineClosed("the database is closed")
        if inline and not self._busy and self._conn is not None:
            self.inline += 1
            return work(self._conn)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.trips += 1
        self._busy += 1
        self._queue.put((future, work))
        return await future

    async def close(self) -> None:
        """Finish the work already sent, close the connection and stop the thread."""
        if self._closed or self._thread is None:
            self._closed = True
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._busy += 1
        self._queue.put((done, lambda conn: conn.close()))
        self._queue.put(None)
        self._closed = True
        try:
            await done
        finally:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    def _serve(self, ready: asyncio.Future[None]) -> None:
        """The database thread: connect, then run the work queued, in order, until told to stop."""
        loop = ready.get_loop()
        try:
            if self.path != ":memory:" and not os.path.exists(self.path):
                # It will hold phone numbers and addresses: its owner's only. SQLite gives
                # the -wal and -shm files the database file's permissions.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            # Used from the event loop's thread too, never at the same time (see run).
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            for pragma in PRAGMAS:
                conn.execute(pragma)
        except BaseException as refused:  # the opener re-raises it
            loop.call_soon_threadsafe(_settle, ready, None, refused)
            return
        self._conn = conn
        loop.call_soon_threadsafe(_settle, ready, None, None)
        while (item := self._queue.get()) is not None:
            future, work = item
            result: Any = None
            error: BaseException | None = None
            try:
                result = work(conn)
            except BaseException as raised:  # the awaiting task gets it
                error = raised
            try:
                future.get_loop().call_soon_threadsafe(self._settle, future, result, error)
            except RuntimeError:  # its event loop is closed: nobody is waiting any more
                log.debug("a database trip finished after its event loop closed")

    def _settle(self, future: asyncio.Future[Any], result: Any,
                error: BaseException | None) -> None:
        """On the event loop: a trip is done (the thread may be idle again); hand it over."""
        self._busy -= 1
        _settle(future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Hand a trip's outcome to the task awaiting it (unless it stopped waiting)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
