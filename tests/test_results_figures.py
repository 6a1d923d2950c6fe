"""The results page's medians by category (storage.stats.category_waits) are the lower
medians /stats takes for a whole cohort, taken per category: checked against the waits read
off the generated timelines of two years of requests, and against `cohort` itself for a
cohort of one category."""

from __future__ import annotations

import random
from pathlib import Path

from bot.config import Config
from bot.reports.periods import parse_period
from storage import Database
from storage.stats import category_waits, cohort
from tests.test_stats_agree_with_export import NOW, SHANGHAI, a_request, config, district

__all__ = ["config", "district"]  # the fixtures, shared with the export's agreement test


def lower_median(values: list[float]) -> float | None:
    """The value at offset (n - 1) // 2 of the sorted values, as /stats takes it."""
    return sorted(values)[(len(values) - 1) // 2] if values else None


def expected_waits(config: Config, start: float, end: float) -> dict[str, tuple[float | None,
                                                                              float | None]]:
    """The lower medians by category, from the timelines the district fixture generated."""
    assert config.areas is not None
    rng = random.Random(20261129)  # the fixture's: the same rows, in the same order
    areas: list[str | None] = [*[a.id for a in config.areas.leaves()][:40], "guangminglu", None]
    claims: dict[str, list[float]] = {}
    dones: dict[str, list[float]] = {}
    for n in range(3000):
        row = a_request(n, rng, areas)
        created = row["created_at"]
        if not start <= created < end:
            continue
        claims.setdefault(row["category"], [])
        dones.setdefault(row["category"], [])
        for kind, waits in (("claimed", claims), ("done", dones)):
            times = [at for event, at, _ in row["events"] if event == kind]
            if times:
                waits[row["category"]].append(min(times) - created)
    return {category: (lower_median(claims[category]), lower_median(dones[category]))
            for category in claims if claims[category] or dones[category]}


async def test_category_medians_are_the_lower_medians_of_each_category(
        config: Config, district: Path) -> None:
    """For 2026, 2025-03 and the whole two years: each category's two medians equal the lower
    medians of its requests' waits."""
    db = await Database.open(district)
    try:
        for word in ("2026", "2025-03", "2025-01-01..2026-12-31"):
            period = parse_period(word, NOW, SHANGHAI)
            assert period is not None
            async with db.reading() as repo:
                found = await category_waits(repo, period.start, period.end, None)
            assert found == expected_waits(config, period.start, period.end), word
            assert len(found) == 3
    finally:
        await db.close()


async def test_one_category_alone_has_the_cohorts_medians(tmp_path: Path) -> None:
    """With one category, its medians are the cohort's, and an area filter applies."""
    rng = random.Random(7)
    rows = [a_request(n, rng, ["a", "b"]) for n in range(400)]
    for row in rows:
        row["category"] = "elderly"
    db = await Database.open(tmp_path / "one.db")
    try:
        async with db.transaction() as repo:
            citizens = sorted({r["citizen_id"] for r in rows} | set(range(500, 520)))
            await repo.people.bulk_users(citizens, rows[0]["created_at"])
            await repo.requests.bulk_requests(rows)
        period = parse_period("2026", NOW, SHANGHAI)
        assert period is not None
        for areas in (None, ["a"]):
            async with db.reading() as repo:
                whole = await cohort(repo, period.start, period.end, areas)
                found = await category_waits(repo, period.start, period.end, areas)
            assert whole.claim_wait is not None and whole.done_wait is not None
            assert found == {"elderly": (whole.claim_wait, whole.done_wait)}
    finally:
        await db.close()
