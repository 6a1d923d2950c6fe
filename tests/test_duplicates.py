"""The duplicate check's storage: the grid (storage/grid.py), migration 020's cells for the
requests already stored, and the lookup (RequestsRepo.nearby) on its index."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from storage import Database, Repo
from storage.db import migrations
from storage.grid import cell, cells_around, distance

NOW = 1_780_000_000.0
POINTS = [(34.864, 117.556), (34.8625, 117.5575), (0.0, 0.0), (-33.8688, 151.2093),
          (40.7128, -74.006), (-0.00125, -0.0025), (34.8650, 117.5500), (89.99, 179.99)]


async def test_the_migration_gives_stored_requests_the_cells_the_program_computes(
    tmp_path: Path,
) -> None:
    """A database of 019 with located requests (points north, south, east, west of zero, and
    on a cell's edge) opened by this program: each gets the cell storage/grid.py computes,
    one without a point none."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for version, _, sql in migrations():
            if version < 20:
                conn.executescript(sql)
        conn.execute("PRAGMA user_version = 19")
        conn.execute("INSERT INTO users (user_id, created_at, updated_at) VALUES (1, 0, 0)")
        for n, (lat, lon) in enumerate([*POINTS, (None, None)]):
            conn.execute(
                "INSERT INTO requests (ref, citizen_id, language, category, status, latitude, "
                "longitude, created_at, updated_at) VALUES (?, 1, 'en', 'elderly', "
                "'dispatched', ?, ?, ?, ?)", (f"2026-{n:06d}", lat, lon, NOW, NOW))
    conn.close()
    db = await Database.open(path)
    try:
        async with db.reading() as repo:
            rows = await repo._all("SELECT latitude, longitude, cell FROM requests ORDER BY id")
    finally:
        await db.close()
    assert [row[2] for row in rows] == [cell(lat, lon) for lat, lon in POINTS] + [None]


def test_every_point_within_the_distance_lies_in_one_of_the_cells_around() -> None:
    """Random points up to the distance away, in every direction, at several latitudes."""
    rng = random.Random(18)
    for lat, lon in POINTS[:6]:
        for metres in (10.0, 250.0, 1000.0):
            cells = set(cells_around(lat, lon, metres))
            assert len(cells) <= (2 * metres / 250 + 3) ** 2
            for _ in range(200):
                dlat = (rng.random() * 2 - 1) * metres / 111_195
                dlon = (rng.random() * 2 - 1) * metres / 90_000
                if distance(lat, lon, lat + dlat, lon + dlon) <= metres:
                    assert cell(lat + dlat, lon + dlon) in cells


async def seeded(tmp_path: Path) -> Database:
    """A database with five citizens' requests around one point."""
    db = await Database.open(tmp_path / "n.db")
    async with db.transaction() as repo:
        for user_id in range(1, 6):
            await repo.people.see_user(user_id, f"u{user_id}", None, "en", NOW, private=True)
    return db


async def file(repo: Repo, citizen: int, lat: float, lon: float, *, category: str = "elderly",
               at: float = NOW) -> int:
    """A dispatched request at a point."""
    return await repo.requests.insert_request(
        ref=f"2026-{random.randrange(10**6):06d}", citizen_id=citizen, language="en",
        category=category, description="", photos=[], voice_file_id=None, latitude=lat,
        longitude=lon, address=None, phone=None, dispatch_chat_id=None, now=at)


async def test_the_lookup_finds_the_near_open_recent_ones_of_the_category_nearest_first(
    tmp_path: Path,
) -> None:
    """Nearest first, at most the limit; not another category, not farther, not older, not
    closed, not the asker's own, not one they follow."""
    db = await seeded(tmp_path)
    lat, lon = 34.864, 117.556
    try:
        async with db.transaction() as repo:
            near = await file(repo, 1, lat + 100 / 111_195, lon)
            nearer = await file(repo, 2, lat + 50 / 111_195, lon)
            await file(repo, 3, lat, lon, category="legal")
            await file(repo, 3, lat + 300 / 111_195, lon)
            await file(repo, 3, lat, lon, at=NOW - 15 * 86400)
            done = await file(repo, 3, lat, lon)
            await repo._rowcount("UPDATE requests SET status = 'done' WHERE id = ?", (done,))
            own = await file(repo, 4, lat, lon)
            followed = await file(repo, 1, lat, lon + 10 / 91_000)
            assert await repo.requests.follow(followed, 4, "en", NOW)
            assert not await repo.requests.follow(followed, 4, "en", NOW)  # not twice
            assert not await repo.requests.follow(own, 4, "en", NOW)  # not one's own
            assert not await repo.requests.follow(done, 4, "en", NOW)  # not a done one
        async with db.reading() as repo:
            found = await repo.requests.nearby("elderly", lat, lon, 250, NOW - 14 * 86400, 4, 3)
            limited = await repo.requests.nearby("elderly", lat, lon, 250, NOW - 14 * 86400,
                                                 5, 2)
            about = await repo.people.everything_about(4)  # /mydata: what they joined
            plan = await repo._all(
                "EXPLAIN QUERY PLAN SELECT * FROM requests WHERE category = ? "
                "AND status IN ('dispatched', 'claimed') AND cell IN (1, 2, 3) "
                "AND created_at >= ?", ("elderly", NOW))
        assert [(r.id, round(m)) for r, m in found] == [(nearer, 50), (near, 100)]
        assert [r.id for r, _ in limited] == [own, followed]  # 5 filed and follows none
        assert "requests_nearby" in " ".join(str(row[-1]) for row in plan)
        assert [(r["joined_at"], r["rating"]) for r in about["followed_requests"]] == [
            (NOW, None)]
    finally:
        await db.close()
