"""What the database lets go of: transport rows, settled timers and, after the configured
time, the contact details of closed requests, while every request and statistic stays."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from storage import Database, Outgoing
from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_bot

DAY = 86400.0


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"retention": {"contact_days": 30, "outbox_days": 7, "timer_days": 7}}


async def close(town: Town, ref: str) -> None:
    """Li claims, finishes; Alice confirms."""
    await open_bot(town.vol1)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")


async def test_a_closed_requests_contact_details_go_after_the_set_time_and_it_stays_counted(
    town: Town,
) -> None:
    """Alice's request is closed. 31 days later her phone and address are gone from it;
    the request, its timeline and /stats remain; old calls and timers are pruned; an open
    request keeps its details."""
    ref = await file_request(town.citizen)
    await close(town, ref)
    open_ref = await file_request(town.citizen, text="Second: the door lock is stuck.")
    services = town.bot.services
    assert services is not None
    db = services.env.db
    async with db.reading() as repo:
        before = await repo.requests.request_by_ref(ref)
        calls_before = await repo._one("SELECT COUNT(*) FROM outbox")
    assert before is not None and before.phone and before.address

    await town.tick(days=31)
    async with db.reading() as repo:
        after = await repo.requests.request_by_ref(ref)
        still_open = await repo.requests.request_by_ref(open_ref)
        events = await repo.requests.events(after.id) if after else []
        calls_after = await repo._one("SELECT COUNT(*) FROM outbox")
        settled = await repo._one("SELECT COUNT(*) FROM timers WHERE outcome IS NOT NULL")
    assert after is not None and after.status == "closed"
    assert (after.phone, after.address, after.latitude) == (None, None, None)
    assert after.description == before.description and len(events) >= 5
    assert still_open is not None and still_open.phone and still_open.address
    assert calls_after[0] < calls_before[0]
    assert settled[0] == 0

    await town.admin.send("/stats all", chat=town.admin_chat)
    figures = await town.admin_chat.wait_for(text="Statistics · the whole district")
    assert "Collected: 2" in (figures.text or "") and "Closed: 1" in (figures.text or "")


async def test_a_call_given_up_on_keeps_no_phone_number(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "civicloop.db")
    try:
        async with db.transaction() as repo:
            await repo.outbox.enqueue([Outgoing(7, "sendMessage", {
                "chat_id": 7, "text": "Alice +8613800000001"})], 1.0)
        async with db.transaction() as repo:
            (row,) = await repo.outbox.pending_outbox_head(2.0, 10)
            await repo.outbox.mark_failed(row.id, "forbidden: bot was blocked", 2.0)
        async with db.reading() as repo:
            kept = await repo._all("SELECT status, payload, last_error FROM outbox")
        assert [tuple(r) for r in kept] == [("failed", "{}", "forbidden: bot was blocked")]
    finally:
        await db.close()


def file_size(path: Path) -> int:
    return os.path.getsize(path)


async def test_the_file_can_shrink(tmp_path: Path) -> None:
    """A new database gives freed pages back (incremental vacuum)."""
    db = await Database.open(tmp_path / "civicloop.db")
    try:
        mode = await db.engine.run(lambda raw: raw.execute("PRAGMA auto_vacuum").fetchone()[0])
        assert mode == 2
        async with db.transaction() as repo:
            big = {"chat_id": 7, "text": "x" * 3000}
            await repo.outbox.enqueue([Outgoing(7, "sendMessage", big) for _ in range(2000)], 1.0)
        await db.engine.run(lambda raw: raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
        size = file_size(tmp_path / "civicloop.db")
        async with db.transaction() as repo:
            await repo._all("DELETE FROM outbox")
        async with db.single() as repo:
            await repo.retention.vacuum(100_000)
        await db.engine.run(lambda raw: raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
        assert file_size(tmp_path / "civicloop.db") < size / 4
    finally:
        await db.close()
