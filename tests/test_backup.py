"""Backups: taken while the bot works, checked, atomic, restored without losing anything."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from storage import Database
from storage.backup import BackupError, backup, check, prune, restore
from storage.lock import InstanceLock
from tests.conftest import SHANGHAI, Town
from tests.flows import file_request

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_780_000_000.0


async def a_database(path: Path, requests: int, first: int = 1, description: str = "") -> None:
    """A database with `requests` more requests, numbered from `first`."""
    db = await Database.open(path)
    try:
        async with db.transaction() as repo:
            await repo.people.bulk_users([1], NOW)
            await repo.requests.bulk_requests([
                {"ref": f"2026-{n:06d}", "citizen_id": 1, "language": "zh",
                 "category": "elderly", "description": description, "area_id": None,
                 "created_at": NOW + n, "updated_at": NOW + n, "status": "dispatched",
                 "events": [("created", NOW + n, 1)]}
                for n in range(first, first + requests)])
    finally:
        await db.close()


def refs(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT ref FROM requests ORDER BY ref")]
    finally:
        conn.close()


async def test_a_backup_is_one_checked_file_only_its_owner_reads(tmp_path: Path) -> None:
    await a_database(tmp_path / "civicloop.db", 30)
    report = backup(tmp_path / "civicloop.db", tmp_path / "backups" / "b.db")
    assert report.requests == 30 and report.size > 0
    assert stat.S_IMODE(os.stat(report.path).st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["b.db"]  # no -wal
    assert check(report.path) == 30
    assert refs(report.path) == refs(tmp_path / "civicloop.db")


async def test_a_backup_that_fails_half_way_leaves_the_last_one_as_it_was(
    tmp_path: Path,
) -> None:
    """The disk fills up (here: the copy is interrupted) during tonight's backup: last
    night's is untouched and no half-written file is left."""
    await a_database(tmp_path / "civicloop.db", 2000)
    dest = tmp_path / "nightly.db"
    backup(tmp_path / "civicloop.db", dest)
    before = dest.read_bytes()

    def disk_full(status: int, remaining: int, total: int) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        backup(tmp_path / "civicloop.db", dest, step_pages=1, progress=disk_full)
    assert dest.read_bytes() == before
    assert not (tmp_path / "nightly.db.partial").exists()


async def test_kill_9_during_a_backup_leaves_the_old_backup_and_the_database_whole(
    tmp_path: Path,
) -> None:
    await a_database(tmp_path / "civicloop.db", 3000)
    dest = tmp_path / "nightly.db"
    backup(tmp_path / "civicloop.db", dest)
    before = dest.read_bytes()
    slow = ("import sys, time; from storage.backup import backup; "
            "backup(sys.argv[1], sys.argv[2], step_pages=1, "
            "progress=lambda *a: time.sleep(0.01))")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", slow, str(tmp_path / "civicloop.db"), str(dest), cwd=ROOT)
    partial = tmp_path / "nightly.db.partial"
    deadline = asyncio.get_running_loop().time() + 30
    while not (partial.exists() and partial.stat().st_size > 0):
        assert asyncio.get_running_loop().time() < deadline, "the backup never started"
        await asyncio.sleep(0.01)
    proc.kill()
    await proc.wait()
    assert dest.read_bytes() == before
    assert check(dest) == 3000 and check(tmp_path / "civicloop.db") == 3000
    backup(tmp_path / "civicloop.db", dest)  # the next one starts over cleanly
    assert not partial.exists() and check(dest) == 3000


async def test_a_backup_of_a_big_database_finishes_while_the_bot_keeps_writing(
    tmp_path: Path,
) -> None:
    """The bot commits between two steps of the copy (here at every step, on a connection of
    its own, as the bot's is). SQLite starts a copy taken page by page over after any write
    to the source by another connection, so a big database under a steady trickle of
    updates was never copied (found by bench/drills.py: a 68 MB database written every
    10 ms was still copying after two minutes). The copy is one step now: the bot's writes
    land before or after it, and it holds what was committed when it began."""
    db = tmp_path / "civicloop.db"
    await a_database(db, 5000, description="a long description " * 60)
    bot = sqlite3.connect(db, isolation_level=None)
    assert bot.execute("PRAGMA page_count").fetchone()[0] > 2000  # many steps' worth
    steps: list[int] = []

    def the_bot_writes(status: int, remaining: int, total: int) -> None:
        steps.append(remaining)
        if len(steps) > 100:
            raise RuntimeError(f"the copy keeps starting over: {steps[-5:]} pages to go")
        bot.execute("UPDATE users SET updated_at = updated_at + 1")  # one commit

    try:
        report = backup(db, tmp_path / "nightly.db", progress=the_bot_writes)
    finally:
        bot.close()
    assert report.requests == 5000 and steps[-1] == 0
    assert check(report.path) == 5000


async def test_restore_keeps_the_database_it_replaces(tmp_path: Path) -> None:
    db = tmp_path / "civicloop.db"
    await a_database(db, 5)
    backup(db, tmp_path / "five.db")
    await a_database(db, 3, first=6)  # three more since
    kept = restore(tmp_path / "five.db", db)
    assert kept is not None and kept.name.startswith("civicloop.db.before-restore-")
    assert check(db) == 5 and check(kept) == 8
    reopened = await Database.open(db)  # the bot opens it as ever
    await reopened.close()


async def test_a_damaged_backup_is_refused_and_nothing_is_replaced(tmp_path: Path) -> None:
    db = tmp_path / "civicloop.db"
    await a_database(db, 5)
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(BackupError):
        restore(broken, db)
    assert check(db) == 5
    assert not [n for n in os.listdir(tmp_path) if n.startswith("civicloop.db.before-restore")]


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        (tmp_path / f"civicloop-{day}.db").write_bytes(b"x")
    prune(tmp_path, "civicloop-*.db", keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "civicloop-2026-12-02.db", "civicloop-2026-12-03.db"]


def cli_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text('[bot]\ndatabase = "civicloop.db"\nadmin_ids = [1]\n'
                      '[[categories]]\ncode = "elderly"\nzh = "助老服务"\nen = "Help"\n')
    return config


async def test_backup_and_restore_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No token is needed to back up; a restore while the bot runs is refused (exit 3)."""
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = cli_config(tmp_path)
    await a_database(tmp_path / "civicloop.db", 4)
    assert main(["--config", str(config), "backup", str(tmp_path / "b.db")]) == 0
    assert "4 requests" in capsys.readouterr().out
    with InstanceLock(tmp_path / "civicloop.db"):
        assert main(["--config", str(config), "restore", str(tmp_path / "b.db")]) == 3
    assert "another civicloop" in capsys.readouterr().err
    assert main(["--config", str(config), "restore", str(tmp_path / "b.db")]) == 0
    said = capsys.readouterr().out
    assert "restored" in said and "is kept as" in said
    assert main(["--config", str(config), "restore", str(tmp_path / "none.db")]) == 1


async def test_the_database_kept_by_a_restore_is_named_by_the_districts_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a machine set to Los Angeles, the database a restore sets aside carries Beijing's
    time in its name, as the daily backups' names carry Beijing's day."""
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = cli_config(tmp_path)
    await a_database(tmp_path / "civicloop.db", 2)
    assert main(["--config", str(config), "backup", str(tmp_path / "b.db")]) == 0
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert main(["--config", str(config), "restore", str(tmp_path / "b.db")]) == 0
    finally:
        monkeypatch.undo()
        time.tzset()
    kept = next(n for n in os.listdir(tmp_path) if ".before-restore-" in n)
    assert kept in capsys.readouterr().out
    stamp = datetime.strptime(kept.split(".before-restore-")[1], "%Y%m%d-%H%M%S")
    stamp = stamp.replace(tzinfo=SHANGHAI)
    assert abs(stamp.timestamp() - time.time()) < 120, kept


async def test_a_backup_taken_while_citizens_file_requests_holds_every_one_before_it(
    town: Town,
) -> None:
    """Alice files requests one after another while the backup runs: every request
    committed before the backup began is in it, and it passes the integrity check."""
    services = town.bot.services
    assert services is not None
    database = services.env.config.database
    before = [await file_request(town.citizen) for _ in range(3)]
    copying = asyncio.create_task(asyncio.to_thread(
        backup, database, database.parent / "under-load.db", step_pages=1))
    during = [await file_request(town.citizen) for _ in range(3)]
    report = await copying
    held = refs(report.path)
    assert set(before) <= set(held) and len(held) >= 3
    assert check(report.path) == len(held)
    assert set(held) <= set(before) | set(during)


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    return {"backup": {"keep": 2, "folder": str(tmp_path / "nightly"), "at": "03:30"}}


async def test_the_daily_backup_runs_once_a_day_after_its_hour_and_keeps_the_newest_two(
    town: Town, tmp_path: Path,
) -> None:
    folder = tmp_path / "nightly"
    services = town.bot.services
    assert services is not None
    backups = services.schedule.backups

    async def sweep_and_wait() -> None:
        await town.tick(seconds=1)
        if backups.running is not None:
            await backups.running

    # The start-up sweep makes today's copy once the bot has caught up; a tick meanwhile
    # finds it under way and leaves it be.
    await town.sb.wait_until(lambda: backups.running is not None, timeout=10)
    today = backups.due_day()
    await sweep_and_wait()
    assert [p.name for p in folder.iterdir()] == [f"civicloop-{today}.db"]
    made = (folder / f"civicloop-{today}.db").stat().st_mtime_ns
    await sweep_and_wait()  # the same day: nothing new
    assert (folder / f"civicloop-{today}.db").stat().st_mtime_ns == made
    for _ in range(3):
        town.clock.advance(days=1)
        await sweep_and_wait()
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and names[-1] == f"civicloop-{backups.due_day()}.db"


async def test_two_sweeps_at_once_start_one_backup(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The start-up sweep and the periodic one overlap: one copy is made, not two writing
    the same file."""
    services = town.bot.services
    assert services is not None
    backups = services.schedule.backups
    # The start-up sweep makes today's copy once the bot has caught up: let it finish first.
    await town.sb.wait_until(lambda: backups.running is not None, timeout=10)
    assert backups.running is not None
    await backups.running
    backups._done_for = None
    async with services.env.db.transaction() as repo:
        await repo._all("DELETE FROM reports WHERE kind = 'backup'")
    started: list[asyncio.Task[Any]] = []
    real = asyncio.create_task

    def counting(coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = real(coro, **kwargs)
        if str(kwargs.get("name", "")).startswith("backup-"):
            started.append(task)
        return task

    monkeypatch.setattr(asyncio, "create_task", counting)
    await asyncio.gather(backups.start_if_due(), backups.start_if_due())
    monkeypatch.undo()
    assert len(started) == 1
    assert (await started[0]) is not None


async def test_a_failed_daily_backup_is_tried_again_ten_minutes_later_not_at_every_sweep(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backups' disk is full: the sweep (every second) copied the whole database again
    at each tick, failing each time. It now tries again ten minutes later."""
    services = town.bot.services
    assert services is not None
    backups = services.schedule.backups
    await town.sb.wait_until(lambda: backups.running is not None, timeout=10)
    assert backups.running is not None
    await backups.running  # today's, made at start
    tries: list[object] = []

    def disk_full(*args: object, **kwargs: object) -> None:
        tries.append(args)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bot.schedule.backups.backup", disk_full)

    async def sweep(**delta: float) -> None:
        await town.tick(**delta)
        if backups.running is not None:
            await backups.running

    await sweep(days=1)  # tomorrow's is due
    await sweep(seconds=1)
    await sweep(seconds=1)
    assert len(tries) == 1
    await sweep(minutes=10)
    assert len(tries) == 2
