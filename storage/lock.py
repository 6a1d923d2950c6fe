"""One bot per database: a lock held for as long as the process serves.

Two processes on one database would both poll Telegram and both send the outbox, so every
message could go twice (and Telegram answers a second long poll with 409 Conflict). `run`
takes an exclusive lock on `<database>.lock` before it opens the database; the lock dies with
the process, so a kill -9 leaves nothing to clean up. Backups and reports do not take it:
they may run beside the bot.

Imports: the standard library only.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class AlreadyRunning(RuntimeError):
    """Another process serves this database."""


class InstanceLock:
    """An exclusive lock on a file beside the database, holding the owner's process id."""

    def __init__(self, database: str | Path) -> None:
        self.path = Path(f"{os.path.abspath(database)}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning naming the process that has it."""
        holder = self.try_acquire()
        if holder is not None:
            raise AlreadyRunning(
                f"another civicloop (process {holder}) is serving this database; "
                f"stop it first (lock file {self.path})")

    def try_acquire(self) -> str | None:
        """Take the lock if it is free (None), or say which process has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            return holder
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return None

    def release(self) -> None:
        """Let the lock go (the file stays: removing it could race a starting process)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
