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


async def test_a_neighbours_details_go_with_the_contact_details_and_on_forget(
    tmp_path: Path,
) -> None:
    """A request filed for a neighbour: the retention pass removes her name, phone and address
    (and the helper's number) with the rest, /forget of the helper too; the request stays
    counted as filed for a neighbour, with how she confirmed, and never counted against the
    helper's own intake limits."""
    db = await Database.open(tmp_path / "civicloop.db")
    row = {"citizen_id": 7, "language": "zh", "category": "elderly", "description": "灯坏了",
           "address": "8 Heping Street", "phone": None, "status": "closed",
           "created_at": 1.0, "updated_at": 1.0, "closed_at": 2.0, "closed_how": "confirmed",
           "events": [("created", 1.0, 7)]}
    try:
        async with db.transaction() as repo:
            await repo.people.bulk_users([7], 0.0)
            await repo.requests.bulk_requests([{**row, "ref": "2026-000001"},
                                               {**row, "ref": "2026-000002"}])
            for ref in ("2026-000001", "2026-000002"):
                request = await repo.requests.request_by_ref(ref)
                assert request is not None
                await repo.requests.set_neighbour(request.id, "王阿姨", "0632-7654321",
                                                  "Room 301", "+8613512348765")
            repo._write("UPDATE requests SET confirmed_via = 'phone'")
            # Filed for neighbours, they count against none of the helper's own limits.
            assert await repo.requests.intake_standing(7, 0.0) == (False, False, 0, 0)
        async with db.transaction() as repo:
            pruned = await repo.retention.prune(outbox_before=0, timers_before=0,
                                                contacts_before=3.0)
            assert pruned.contacts == 2
        async with db.reading() as repo:
            cleared = await repo.requests.request_by_ref("2026-000001")
            assert cleared is not None
            assert (cleared.for_name, cleared.for_address, cleared.phone,
                    cleared.helper_phone) == (None, None, None, None)
        async with db.transaction() as repo:
            repo._write("UPDATE requests SET for_name = 'x', for_address = 'y', "
                        "helper_phone = 'z' WHERE ref = '2026-000002'")
            assert await repo.people.forget(7) == 2
        async with db.reading() as repo:
            for ref in ("2026-000001", "2026-000002"):
                kept = await repo.requests.request_by_ref(ref)
                assert kept is not None
                assert (kept.for_name, kept.for_address, kept.phone, kept.helper_phone) == (
                    None, None, None, None)
                assert (kept.on_behalf, kept.confirmed_via) == (1, "phone")
    finally:
        await db.close()
