"""Storage at a million: generate requests with their timelines, then time the queries
admins run on them, and export the year.

Goals: /stats for a year <= 200 ms, one request's /find <= 5 ms, <= 2 KB per request, and the
year's export streams: its memory peak does not grow with the rows (half a year vs a year).

    python -m bench.storage --requests 1000000      # the full run
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import parse_config
from bot.i18n import Catalogs
from bot.reports.export import export_labels, write_export
from storage import Database, SnapshotReader
from storage.stats import cohort

CATEGORIES = ("environment", "infrastructure", "elderly", "children", "haircut", "health",
              "legal", "emergency", "public_service", "other")
YEAR_START = 1_767_196_800.0  # 2026-01-01 00:00 Asia/Shanghai
YEAR = 365 * 86400
BATCH = 5000


def request_row(n: int, rng: random.Random) -> dict[str, Any]:
    """One request of the seed year's shape: 99.65% completed, the rest cancelled."""
    created = YEAR_START + rng.random() * YEAR
    citizen = 100_000 + rng.randrange(50_000)
    volunteer = 1_000 + rng.randrange(5_000)
    row: dict[str, Any] = {
        "ref": f"2026-{n + 1:07d}", "citizen_id": citizen, "language": "zh",
        "category": rng.choice(CATEGORIES), "description": "楼道灯坏了，晚上看不见路。",
        "address": f"光明路 {rng.randrange(1, 300)} 号", "phone": "+8613800000000",
        "area_id": f"station-{rng.randrange(158):03d}", "created_at": created,
        "updated_at": created,
    }
    events = [("created", created, citizen), ("dispatched", created, None)]
    if rng.random() < 0.0035:
        row.update(status="cancelled", cancelled_by="citizen", closed_at=created + 600)
        events.append(("cancelled", created + 600, citizen))
    else:
        claimed, done = created + 900, created + 7200
        closed = done + 3600
        confirmed = rng.random() < 0.9
        row.update(status="closed", volunteer_id=volunteer, volunteer_name="志愿者",
                   closed_how="confirmed" if confirmed else "unconfirmed",
                   rating=5 if confirmed else None, claimed_at=claimed, done_at=done,
                   closed_at=closed)
        events += [("claimed", claimed, volunteer), ("done", done, volunteer),
                   ("confirmed" if confirmed else "auto_closed", closed,
                    citizen if confirmed else None)]
    row["events"] = events
    return row


def export_peak(folder: Path, end: float) -> dict[str, float]:
    """Export the requests created from the year's start to `end` as /export does (XLSX and
    CSV, in this thread); return rows, seconds, megabytes written and the memory peak."""
    config = parse_config({
        "telegram": {"token": "1:bench"}, "bot": {"admin_ids": [1]},
        "categories": [{"code": c, "zh": c, "en": c} for c in CATEGORIES],
    }, env={}, base_dir=folder)
    labels = export_labels(Catalogs.load("zh"), config, "zh")
    tracemalloc.start()
    began = time.monotonic()
    parts = write_export(SnapshotReader(folder / "million.db"), folder / "export",
                         start=YEAR_START, end=end, area_ids=None, labels=labels,
                         tz=ZoneInfo("Asia/Shanghai"))
    seconds = time.monotonic() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    written = sum(part.path.stat().st_size for part in parts)
    rows = sum(part.rows for part in parts if part.kind == "xlsx")
    for part in parts:
        part.path.unlink()
    return {"rows": rows, "s": seconds, "mb": written / 1e6, "parts": len(parts),
            "peak_mb": peak / 1e6}


async def generate(db: Database, count: int, rng: random.Random) -> None:
    """The citizens and volunteers, then `count` requests of the year, in batches."""
    async with db.transaction() as repo:
        await repo.people.bulk_users([*range(100_000, 150_000), *range(1_000, 6_000)],
                                     YEAR_START)
    for start in range(0, count, BATCH):
        rows = [request_row(n, rng) for n in range(start, min(count, start + BATCH))]
        async with db.transaction() as repo:
            await repo.requests.bulk_requests(rows)


async def run(count: int, export: bool = True) -> dict[str, float]:
    """Generate, then measure."""
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "million.db")
        try:
            began = time.monotonic()
            await generate(db, count, rng)
            generated = time.monotonic() - began
            timings_stats = []
            for _ in range(5):  # the queries behind /stats 2026 (the chart is drawn apart)
                began = time.monotonic()
                async with db.reading() as repo:
                    figures = await cohort(repo, YEAR_START, YEAR_START + YEAR, None)
                timings_stats.append(time.monotonic() - began)
            collected = figures.total.collected
            timings_find = []
            for _ in range(200):
                ref = f"2026-{rng.randrange(count) + 1:07d}"
                began = time.monotonic()
                async with db.reading() as repo:
                    request = await repo.requests.request_by_ref(ref)
                    assert request is not None
                    await repo.requests.events(request.id)
                timings_find.append(time.monotonic() - began)
            async with db.reading() as repo:
                size = await repo.figures.database_bytes()
        finally:
            await db.close()
        exports = {}
        if export:
            for name, share in (("half", 0.5), ("year", 1.0)):
                exports[name] = await asyncio.to_thread(
                    export_peak, Path(folder), YEAR_START + share * YEAR)
    return {"requests": count, "collected": collected, "generated_s": generated,
            **{f"export_{name}_{key}": value for name, figures in exports.items()
               for key, value in figures.items()},
            "stats_ms": statistics.median(timings_stats) * 1000,
            "find_ms": statistics.median(timings_find) * 1000,
            "find_p99_ms": sorted(timings_find)[int(len(timings_find) * 0.99) - 1] * 1000,
            "kb_per_request": size / 1024 / count}


def main() -> None:
    """Parse the size, run, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--no-export", action="store_true", help="skip the export (minutes)")
    args = parser.parse_args()
    f = asyncio.run(run(args.requests, export=not args.no_export))
    print(f"requests: {f['requests']:.0f} generated in {f['generated_s']:.1f} s; "
          f"/stats counted {f['collected']:.0f}")
    print(f"/stats 2026 (every figure of the year): {f['stats_ms']:.1f} ms median (goal <= 200)")
    print(f"/find (request + timeline): {f['find_ms']:.2f} ms median, "
          f"{f['find_p99_ms']:.2f} ms p99 (goal <= 5)")
    print(f"database size: {f['kb_per_request']:.2f} KB per request (goal <= 2)")
    flat = True
    if "export_year_rows" in f:
        for name, what in (("half", "first half of the year"), ("year", "whole year")):
            print(f"/export of the {what}: {f[f'export_{name}_rows']:.0f} rows in "
                  f"{f[f'export_{name}_s']:.1f} s, {f[f'export_{name}_mb']:.1f} MB in "
                  f"{f[f'export_{name}_parts']:.0f} files, memory peak "
                  f"{f[f'export_{name}_peak_mb']:.1f} MB")
        # Streaming: twice the rows may not need (much) more memory.
        flat = f["export_year_peak_mb"] <= 1.25 * f["export_half_peak_mb"] + 1
        print(f"export memory: {'flat' if flat else 'GROWS'} with the rows")
    ok = (f["stats_ms"] <= 200 and f["find_ms"] <= 5 and f["kb_per_request"] <= 2
          and f["collected"] == f["requests"] and flat)
    export = ("not measured (--no-export)" if "export_year_rows" not in f
              else "flat" if flat else "GROWS")
    print(f"storage: stats {f['stats_ms']:.0f} ms, find {f['find_ms']:.2f} ms, "
          f"{f['kb_per_request']:.2f} KB/request, export memory {export} at "
          f"{f['requests']:.0f} -> {'goal met' if ok else 'GOAL MISSED'}")


if __name__ == "__main__":
    main()
