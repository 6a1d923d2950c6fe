"""Backups of the database, safe while the bot runs, and their restore.

A backup is SQLite's online backup (a consistent copy of one snapshot, taken in one step
while the bot keeps writing under WAL) into `<file>.partial`, checked with
`PRAGMA integrity_check`, synced to disk and only then renamed over `<file>`: a backup killed
half way (kill -9, a full disk) leaves the previous backup as it was. The copy is one
self-contained file (rollback journal mode), created readable by its owner only: it holds
phone numbers and addresses.

A restore never deletes anything: the current database (its WAL folded in first) is set aside
as `<database>.before-restore-<time>` before the backup takes its place. The caller must hold
the instance lock (storage/lock.py), so the bot is not running meanwhile.

Imports: the standard library only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

# Pages copied per step of the online backup: all of them, in one step. SQLite starts a
# copy taken in steps over whenever another connection writes to the source between two
# steps, so a big database the bot writes to every few milliseconds was never copied. One
# step reads one snapshot; under WAL the bot's writes do not wait for it.
STEP_PAGES = -1


class BackupError(RuntimeError):
    """A backup or restore that could not be made (nothing was replaced)."""


@dataclass(frozen=True)
class BackupReport:
    """What a finished backup holds."""

    path: Path
    size: int
    requests: int


def backup(database: str | Path, dest: str | Path, *, step_pages: int = STEP_PAGES,
           progress: Callable[[int, int, int], object] | None = None) -> BackupReport:
    """Copy the database at `database` to `dest`, consistently and atomically."""
    database, dest = Path(database), Path(dest)
    if not database.exists():
        raise BackupError(f"there is no database at {database}")
    if not dest.parent.exists():
        dest.parent.mkdir(mode=0o700, parents=True)  # backups hold phone numbers
    partial = dest.with_name(dest.name + ".partial")
    _remove_with_journals(partial)  # what a killed backup left
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    try:
        source = sqlite3.connect(database, timeout=30)
        try:
            target = sqlite3.connect(partial, timeout=30, isolation_level=None)
            try:
                source.backup(target, pages=step_pages, progress=progress)
            finally:
                target.close()
        finally:
            source.close()
        # A connection of its own, once the copy is closed: the copy is in the source's WAL
        # mode, and one file is what a backup should be.
        copy = sqlite3.connect(partial, timeout=30, isolation_level=None)
        try:
            copy.execute("PRAGMA journal_mode=DELETE").fetchall()
        finally:
            copy.close()
        requests = check(partial)
    except BaseException as exc:
        _remove_with_journals(partial)
        if isinstance(exc, sqlite3.Error):
            raise BackupError(f"the backup failed: {exc}") from exc
        raise
    _sync(partial)
    os.replace(partial, dest)
    _sync(dest.parent)
    return BackupReport(dest, dest.stat().st_size, requests)


def check(path: str | Path) -> int:
    """Say how many requests a backup holds, after checking it whole; BackupError if not."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"there is no backup at {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            requests = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not a civicloop database: {exc}") from exc
    if verdict != "ok":
        raise BackupError(f"{path} failed its integrity check: {verdict}")
    return int(requests)


def restore(source: str | Path, database: str | Path, zone: tzinfo = UTC
            ) -> Path | None:
    """Put the backup `source` in place of `database`; return where the database that was
    there is kept (None if there was none), named by the time in `zone`. The bot must not be
    running."""
    source, database = Path(source), Path(database)
    check(source)
    set_aside: Path | None = None
    if database.exists():
        conn = sqlite3.connect(database)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL's changes into the file
            conn.execute("PRAGMA journal_mode=DELETE")  # and no WAL left beside it
        finally:
            conn.close()
        # The district's time, as the daily backups' names: never the machine's own zone.
        stamp = datetime.now(zone).strftime("%Y%m%d-%H%M%S")
        set_aside = database.with_name(f"{database.name}.before-restore-{stamp}")
        os.replace(database, set_aside)
    for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)
    backup(source, database)
    return set_aside


def prune(folder: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` files matching `pattern` (names sort by date)."""
    found = sorted(folder.glob(pattern))
    doomed = found[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def _remove_with_journals(path: Path) -> None:
    """Delete a database file and the -wal, -shm and -journal files beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
