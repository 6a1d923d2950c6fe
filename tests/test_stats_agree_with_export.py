"""/stats and /export tell the same story: for any period and area, every counter of /stats
equals the count an official would make from the exported rows (issue 5, acceptance 2).

Two years of requests in every state a request can end up in — open at each step, closed with
and without the citizen's confirmation, cancelled by the citizen or by an admin, reopened,
rated 1 to 5 stars — spread over the model district's areas (and some with no area), are
counted by /stats' queries and, independently, read back from the XLSX the export writes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.config import Config, parse_config
from bot.i18n import Catalogs
from bot.reports.export import COLUMNS, export_labels, write_export
from bot.reports.periods import parse_period
from storage import Database
from storage.stats import Counts, Neighbours, cohort

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 1, 1, tzinfo=SHANGHAI).timestamp()
TWO_YEARS = 2 * 365 * 86400
NOW = datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI).timestamp()
CATEGORIES = ("elderly", "environment", "legal")
OUTCOMES = ("dispatched", "claimed", "done", "confirmed", "unconfirmed", "by_citizen",
            "by_admin", "reopened_open", "reopened_closed", "released")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The district's tree and three categories."""
    return parse_config({
        "telegram": {"token": "1:abc"}, "bot": {"admin_ids": [1], "default_language": "en"},
        "areas": {"file": str(AREA_FILE)},
        "categories": [{"code": c, "zh": c, "en": c.title()} for c in CATEGORIES],
    }, env={}, base_dir=tmp_path)


def a_request(n: int, rng: random.Random, areas: list[str | None]) -> dict[str, Any]:
    """One request with its timeline, ending in a random outcome."""
    created = START + rng.random() * TWO_YEARS
    citizen, volunteer = 10_000 + n, 500 + rng.randrange(20)
    outcome = rng.choice(OUTCOMES)
    row: dict[str, Any] = {
        "ref": f"r-{n:05d}", "citizen_id": citizen, "language": "zh", "description": "",
        "category": rng.choice(CATEGORIES), "area_id": rng.choice(areas),
        "created_at": created, "updated_at": created, "status": "dispatched",
    }
    t = created + rng.randrange(60, 86400)
    events: list[tuple[str, float, int | None]] = [("created", created, citizen),
                                                   ("dispatched", created, None)]
    if outcome == "by_citizen":
        row.update(status="cancelled", cancelled_by="citizen", closed_at=t)
        events.append(("cancelled", t, citizen))
    elif outcome == "released":  # claimed, then given back: still waiting
        events += [("claimed", t, volunteer), ("released", t + 60, volunteer)]
    elif outcome != "dispatched":
        done = t + rng.randrange(600, 5 * 86400)
        row.update(volunteer_id=volunteer, volunteer_name="志愿者", claimed_at=t)
        events.append(("claimed", t, volunteer))
        if outcome == "claimed":
            row.update(status="claimed")
        elif outcome == "by_admin":
            row.update(status="cancelled", cancelled_by="admin", closed_at=done)
            events.append(("cancelled", done, 1))
        else:
            events.append(("done", done, volunteer))
            row.update(status="done", done_at=done)
            if outcome.startswith("reopened"):
                events += [("reopened", done + 60, citizen), ("dispatched", done + 60, None)]
                row.update(status="dispatched", reopen_count=1)
            if outcome in ("confirmed", "reopened_closed"):
                rating = rng.randint(1, 5)
                row.update(status="closed", closed_how="confirmed", closed_at=done + 3600,
                           rating=rating)
                events += [("confirmed", done + 3600, citizen),
                           ("rated", done + 3700, citizen)]
            elif outcome == "unconfirmed":
                row.update(status="closed", closed_how="unconfirmed", closed_at=done + 3 * 86400)
                events.append(("auto_closed", done + 3 * 86400, None))
    row["events"] = events
    return row


@pytest.fixture
async def district(tmp_path: Path, config: Config) -> AsyncIterator[Path]:
    """A database with 3,000 requests over two years."""
    assert config.areas is not None
    rng = random.Random(20261129)
    areas: list[str | None] = [*[a.id for a in config.areas.leaves()][:40], "guangminglu", None]
    rows = [a_request(n, rng, areas) for n in range(3000)]
    path = tmp_path / "district.db"
    db = await Database.open(path)
    try:
        async with db.transaction() as repo:
            citizens = sorted({r["citizen_id"] for r in rows} | set(range(500, 520)))
            await repo.people.bulk_users(citizens, START)
            await repo.requests.bulk_requests(rows)
            reopened = [r["ref"] for r in rows if r.get("reopen_count")]
            repo._write_many(  # bulk loading leaves counters to the loop
                "UPDATE requests SET reopen_count = 1 WHERE ref = ?", [(r,) for r in reopened])
            # Every seventh was filed by a helper for a neighbour (migration 021), the
            # confirmed ones confirmed by phone or in person, by turns.
            neighbours = [r for r in rows if int(r["ref"][2:]) % 7 == 0]
            repo._write_many(
                "UPDATE requests SET on_behalf = 1, confirmed_via = ? WHERE ref = ?",
                [(("phone" if i % 2 else "in_person") if r.get("closed_how") == "confirmed"
                  else None, r["ref"]) for i, r in enumerate(neighbours)])
        yield path
    finally:
        await db.close()


def counted_from_rows(rows: list[dict[str, Any]], words: dict[str, str]) -> Counts:
    """Count the exported rows the way the /stats counters are defined."""
    code = {word: key for key, word in words.items()}
    counts = Counts()
    for row in rows:
        status = code[row["status"]]
        counts.collected += 1
        counts.dispatched += row["dispatched"] is not None
        counts.claimed += row["claimed"] is not None
        counts.done += row["done"] is not None
        counts.reopened += (row["reopened"] or 0) > 0
        how = code.get(row["closed_how"] or "")
        by = code.get(row["cancelled_by"] or "")
        if status == "closed":
            counts.confirmed += how == "confirmed"
            counts.unconfirmed += how == "unconfirmed"
        elif status == "cancelled":
            counts.cancelled_by_citizen += by == "citizen"
            counts.cancelled_by_admin += by == "admin"
            counts.handed += by == "supervision"
        else:
            counts.open[status] += 1
        if row["rating"]:
            handed = status == "cancelled" and by == "supervision"
            (counts.handed_ratings if handed else counts.ratings)[int(row["rating"])] += 1
    return counts


@pytest.mark.parametrize("period, area", [
    ("all", None), ("2025", None), ("2026", None), ("2026-03", None),
    ("2025-06-01..2025-08-31", None), ("2026", "guangminglu"), ("all", "guangminglu"),
    ("2025-11", "zhongxinjie"),
])
async def test_every_stats_counter_equals_the_count_from_the_exported_rows(
    district: Path, config: Config, tmp_path: Path, period: str, area: str | None,
) -> None:
    assert config.areas is not None
    found = parse_period(period, NOW, SHANGHAI)
    assert found is not None
    area_ids = config.areas.subtree(area) if area else None

    db = await Database.open(district)
    try:
        async with db.reading() as repo:
            figures = await cohort(repo, found.start, found.end, area_ids)
        reader = db.snapshot_reader()
    finally:
        await db.close()

    labels = export_labels(Catalogs.load("zh"), config, "en")
    parts = write_export(reader, tmp_path / "out", start=found.start, end=found.end,
                         area_ids=area_ids, labels=labels, tz=SHANGHAI)
    sheet = load_workbook(next(p for p in parts if p.kind == "xlsx").path).active
    assert sheet is not None
    rows = [dict(zip(COLUMNS, values, strict=True))
            for values in sheet.iter_rows(min_row=2, values_only=True)]
    from_rows = counted_from_rows(rows, labels.words)

    assert figures.total.collected > 0
    if period == "all" and area is None:  # the data set reaches every counter
        total = figures.total
        assert min(total.dispatched, total.claimed, total.done, total.confirmed,
                   total.unconfirmed, total.reopened, total.cancelled_by_citizen,
                   total.cancelled_by_admin, *total.open.values(), *total.ratings[1:]) > 0
    assert figures.total == from_rows
    assert figures.total.completion == from_rows.completion
    code = {word: key for key, word in labels.words.items()}
    filed = Counter(code[row["for_neighbour"]] for row in rows if row["for_neighbour"])
    unconfirmed = sum(code[row["for_neighbour"] or "-"] == "neighbour_filed"
                      and code[row["status"]] == "closed" for row in rows
                      if row["for_neighbour"])
    assert figures.neighbours == Neighbours(filed.total(), filed["neighbour_phone"],
                                            filed["neighbour_in_person"], unconfirmed)
    if period == "all" and area is None:
        assert min(filed.values()) > 0 and unconfirmed > 0 and len(filed) == 3
    by_category = Counter(row["category"] for row in rows)
    assert {c: n.collected for c, n in figures.by_category.items() if n.collected} == \
        dict(by_category)
    by_area = Counter(row["area"] for row in rows)
    assert {a: n.collected for a, n in figures.by_area.items() if n.collected} == dict(by_area)
