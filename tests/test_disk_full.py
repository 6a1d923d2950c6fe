"""The disk fills up: the bot says so once, stays up, loses nothing, and resumes once there is
room.

Two ways to make SQLite answer SQLITE_FULL without privileges, on the bot's own connection:
- `PRAGMA max_page_count` at the file's size: the database can grow no more, as on a full
  disk, and a write that needs a new page is refused.
- a full disk refuses every write, including one that would fit in a page already there; a
  TEMP trigger after each write to a table inserts into a TEMP table that is itself at its
  max_page_count, so SQLite refuses the write with SQLITE_FULL, wherever it would land.
(bench/drills.py fills a real tmpfs instead, where it may mount one.)
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest

from storage import Database, is_full
from storage.db import MAX_LOOSE_TRIES
from tests.conftest import Town
from tests.flows import REF, card_of, claim, file_request, open_bot, open_form

NOW = 1_780_000_000.0


async def cannot_grow(db: Database) -> None:
    """The database file can grow no more: no free page is left to reuse, and no new one."""
    def full(raw: sqlite3.Connection) -> None:
        raw.execute("PRAGMA incremental_vacuum").fetchall()
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
        raw.execute(f"PRAGMA max_page_count = {pages}").fetchall()

    await db.engine.run(full)


async def may_grow(db: Database) -> None:
    """Space is freed: the database may grow again."""
    await db.engine.run(lambda raw: raw.execute("PRAGMA max_page_count = 1073741823").fetchall())


async def refuse_writes(db: Database, *tables: str,
                        events: tuple[str, ...] = ("INSERT", "UPDATE", "DELETE")) -> None:
    """Every write (of `events`) to `tables`, all of them if none are named, is refused with
    SQLITE_FULL."""
    def refuse(raw: sqlite3.Connection) -> None:
        names = tables or tuple(row[0] for row in raw.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%'"))
        raw.execute("CREATE TEMP TABLE IF NOT EXISTS ballast (b BLOB)")
        for name in names:
            for event in events:
                label = event.replace(" ", "_")  # "UPDATE OF message_id": one column's writes
                raw.execute(f"CREATE TEMP TRIGGER full_{label}_{name} AFTER {event} "
                            f"ON main.{name} BEGIN INSERT INTO ballast "
                            f"VALUES (zeroblob(100000)); END")
        pages = raw.execute("PRAGMA temp.page_count").fetchone()[0]
        raw.execute(f"PRAGMA temp.max_page_count = {pages}").fetchall()

    await db.engine.run(refuse)


async def take_writes(db: Database) -> None:
    """Space is freed: every write goes again."""
    def lift(raw: sqlite3.Connection) -> None:
        raw.execute("PRAGMA temp.max_page_count = 1073741823").fetchall()
        for (name,) in raw.execute("SELECT name FROM temp.sqlite_master "
                                   "WHERE type = 'trigger' AND name LIKE 'full_%'").fetchall():
            raw.execute(f"DROP TRIGGER temp.{name}")

    await db.engine.run(lift)


def database_of(town: Town) -> Database:
    services = town.bot.services
    assert services is not None
    return services.env.db


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_faults_are_sqlites_own_database_full(tmp_path: Any) -> None:
    """Both ways give the error a full disk gives: SQLITE_FULL, recognised as such."""
    db = await Database.open(tmp_path / "civicloop.db")
    try:
        await refuse_writes(db, "users")
        with pytest.raises(sqlite3.OperationalError) as refused:
            async with db.transaction() as repo:
                await repo.people.see_user(5, "Li", None, "zh", NOW, private=True)
        assert is_full(refused.value) and "full" in str(refused.value)
        await take_writes(db)
        await cannot_grow(db)
        with pytest.raises(sqlite3.OperationalError) as refused:
            async with db.transaction() as repo:
                await repo.inbox.save_updates([(1, "x" * 20_000)], NOW)
        assert is_full(refused.value)
        assert not is_full(sqlite3.OperationalError("no such table: x"))
    finally:
        await db.close()


async def test_an_update_the_full_database_refuses_is_kept_not_dropped(tmp_path: Any) -> None:
    """The poller keeps an update's inbox row in memory until a trip carries it (a loose
    write). A write that fails five times is dropped as broken; one refused for lack of room
    is not broken, and was dropped too: the update was then confirmed to Telegram unstored,
    and lost. It now waits, however long, and is stored once there is room."""
    db = await Database.open(tmp_path / "civicloop.db")
    try:
        await cannot_grow(db)
        async with db.later() as repo:
            await repo.inbox.store_update(42, '{"update_id": 42, "x": "%s"}' % ("x" * 20_000),
                                          NOW)
        for _ in range(MAX_LOOSE_TRIES + 2):
            with pytest.raises(sqlite3.OperationalError, match="full"):
                await db.flush_loose()
        await may_grow(db)
        await db.flush_loose()
        async with db.reading() as repo:
            assert [u for u, _ in await repo.inbox.unprocessed_updates()] == [42]
    finally:
        await db.close()


async def test_a_citizen_who_writes_while_the_disk_is_full_is_answered_once_there_is_room(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """The disk is full when Alice picks her request's category and describes it: the bot
    stays up, says so in one clear line, confirms to Telegram nothing it could not store (it
    crashed on the first refused write before), and once there is room answers both, in
    order, once each, and says so."""
    caplog.set_level(logging.INFO)
    await open_bot(town.citizen)
    await open_form(town.citizen)
    db = database_of(town)
    await refuse_writes(db)
    press = await town.citizen.press("Help for the elderly")
    await town.sb.wait_until(lambda: "database is full:" in caplog.text
                             or town.bot._task is None or town.bot._task.done(), timeout=10)
    assert town.bot._task is not None and not town.bot._task.done(), "the bot stopped"
    assert town.sb.updates, "an update was confirmed to Telegram before it was stored"
    await town.citizen.send("The stairwell light is out.")
    await town.sb.wait_until(lambda: len(town.sb.updates) == 2, timeout=5)
    assert town.citizen.private.unread() == []  # nothing could be queued, so nothing said

    await take_writes(db)
    await town.citizen.wait_for(text="describe the problem", timeout=15)
    await press.answer(timeout=15)
    await town.citizen.wait_for(text="Where is it", timeout=15)
    await town.sb.wait_until(lambda: not town.sb.updates, timeout=10)
    for asked in ("describe the problem", "Where is it"):
        assert len([m for m in town.citizen.private.bot_messages()
                    if asked in (m.text or "")]) == 1
    assert errors_logged(caplog) == [next(m for m in errors_logged(caplog)
                                          if m.startswith("database is full:"))]
    assert "the database takes writes again" in caplog.text


async def test_a_card_posted_as_the_disk_fills_up_is_not_taken_for_failed_nor_posted_again(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """The group's card goes out, and the disk is full when its message id is written down.
    It was taken for a card the group refused: marked failed and posted to the admins
    instead, with a failure notice. Now what the card's call changed waits in memory until
    there is room: the card is posted once, and a claim edits it."""
    await open_bot(town.vol1)
    db = database_of(town)
    # Its message id cannot be written (where it is queued to, its topic, still can).
    await refuse_writes(db, "cards", events=("UPDATE OF message_id",))
    citizen = town.citizen
    await open_form(citizen, command=True)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem")
    await citizen.send("The stairwell light is out.")
    await citizen.wait_for(text="Where is it")
    await citizen.send("3 Jianshe Road")
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("Skip")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    card = await town.volunteers.wait_for(text="stairwell", timeout=10)
    await town.sb.wait_until(lambda: "database is full:" in caplog.text
                             or bool(town.admin_chat.bot_messages()), timeout=10)
    assert not town.admin_chat.bot_messages(), town.admin_chat.bot_messages()[0].text

    await take_writes(db)
    receipt = await citizen.wait_for(text="Reference number", timeout=15)
    match = REF.search(receipt.text or "")
    assert match
    await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text=f"You took {match.group(0)}", timeout=15)
    # The card is edited in place: its message id was recorded.
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or ""), timeout=10)
    assert [m for m in town.volunteers.bot_messages() if "stairwell" in (m.text or "")] == [card]
    assert not town.admin_chat.bot_messages()
    async with db.reading() as repo:
        failed = await repo._all("SELECT last_error FROM outbox WHERE status = 'failed'")
    assert failed == []


async def test_a_reminder_due_while_the_disk_is_full_goes_once_there_is_room(
    town: Town,
) -> None:
    """The claim reminder falls due with the disk full. Its timer was set aside as failed
    (one bad timer must not hold up the rest), so it never went; a full disk is no bad
    timer: it stays due, and goes at the first sweep with room."""
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    db = database_of(town)
    await db.flush_loose()  # the marks of what was sent so far: nothing else is refused
    await refuse_writes(db, "outbox")  # the reminder cannot be queued
    assert await town.tick(minutes=31) == 0
    await take_writes(db)
    assert await town.tick(seconds=1) == 1
    reminder = await town.volunteers.wait_for(text=ref, timeout=10)
    assert "waiting" in (reminder.text or "").lower()


async def test_a_job_due_while_the_disk_is_full_waits_without_a_traceback(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """An admin's chart is queued just as the disk fills up: the job runner cannot note its
    attempt. It logged a traceback at every try (seen in bench/drills.py's disk-full drill);
    now the database's one line says it, and the job stays pending, no attempt used."""
    services = town.bot.services
    assert services is not None
    db = services.env.db
    await refuse_writes(db, "jobs", events=("UPDATE",))  # its attempt cannot be counted
    async with db.transaction() as repo:
        job = await services.jobs.submit(repo, "chart", town.admin.id, town.admin.id, "en",
                                         {"period": "2026"})
    await town.sb.wait_until(lambda: "database is full:" in caplog.text, timeout=10)
    assert errors_logged(caplog) == [next(m for m in errors_logged(caplog)
                                          if m.startswith("database is full:"))]
    await take_writes(db)
    async with db.reading() as repo:
        [pending] = [j for j in await repo.timers.pending_jobs() if j.id == job]
    assert pending.attempts == 0


def test_a_disk_already_full_at_start_up_stops_with_one_line(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """Opening the database on a full disk fails in SQLite's other way of saying so (the WAL
    index cannot grow: SQLITE_IOERR_SHMSIZE): one line naming the database, exit code 4, no
    traceback (systemd starts it again; bench/drills.py fills a real disk)."""
    import bot.__main__ as entry

    shm = sqlite3.OperationalError("disk I/O error")
    shm.sqlite_errorcode = sqlite3.SQLITE_IOERR_SHMSIZE  # type: ignore[attr-defined]
    assert is_full(shm)

    async def full_disk(*_: Any) -> None:
        raise shm

    monkeypatch.setattr(entry, "_serve", full_disk)
    path = tmp_path / "config.toml"
    path.write_text('[bot]\nadmin_ids = [1]\ndatabase = "civicloop.db"\n'
                    '[[categories]]\ncode = "a"\nzh = "甲"\nen = "A"\n', "utf-8")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    assert entry.main(["--config", str(path)]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is full; free some space" in err[0]
    assert str(tmp_path / "civicloop.db") in err[0]


def test_the_log_says_once_when_the_disk_is_full_and_once_when_it_takes_writes_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two parts are refused (one line); one of them writes again: the disk has room for all,
    so the log says so at once, though the other part may have nothing to write for hours."""
    from storage import Room

    room = Room()
    error = sqlite3.OperationalError("database or disk is full")
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        room.refused("sender", error)
        room.refused("schedule", error)
        room.took("sender")
        room.took("schedule")  # nothing more to say
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("database is full") and "takes writes again" in lines[1]
