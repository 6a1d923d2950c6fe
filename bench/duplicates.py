"""The duplicate check's lookup at a million requests: how long intake takes to find the open
requests of a category near a shared point (issue 18.1).

A year of requests spread over the model district (around its 158 stations, from
sandbox/data/areas-shizhong.csv, a few hundred metres about each), ten categories; five in a
hundred still open, and of the last fortnight's four in ten (far more than the seed year's
0.35%: more rows for the lookup to weigh). Then N lookups as intake makes them
(RequestsRepo.nearby: 250 m, 14 days, the nearest three, each in a read of its own) from
random points of the district at the year's end, each read inline as an update's unit of
work makes it.

Goal: <= 5 ms per lookup (median and p99).

    python -m bench.duplicates --requests 1000000      # the full run
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.areas.tree import load_areas
from storage import Database

CATEGORIES = ("environment", "infrastructure", "elderly", "children", "haircut", "health",
              "legal", "emergency", "public_service", "other")
AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
YEAR_START = 1_767_196_800.0  # 2026-01-01 00:00 Asia/Shanghai
YEAR = 365 * 86400
FORTNIGHT = 14 * 86400
BATCH = 5000
SPREAD = 400.0  # metres: the standard deviation of a request's distance from its station
DISTANCE, SHOWN = 250.0, 3


def stations() -> list[tuple[float, float]]:
    """The model district's stations' map points."""
    tree = load_areas(AREA_FILE)
    return [(a.latitude, a.longitude) for a in tree.leaves()
            if a.latitude is not None and a.longitude is not None]


def around(point: tuple[float, float], rng: random.Random) -> tuple[float, float]:
    """A point some hundreds of metres from a station."""
    lat, lon = point
    north, east = rng.gauss(0, SPREAD), rng.gauss(0, SPREAD)
    return (lat + north / 111_195, lon + east / (111_195 * math.cos(math.radians(lat))))


def request_row(n: int, places: list[tuple[float, float]], rng: random.Random) -> dict[str, Any]:
    """One located request of the year; open or closed as the module's docstring says."""
    created = YEAR_START + rng.random() * YEAR
    lat, lon = around(rng.choice(places), rng)
    recent = created >= YEAR_START + YEAR - FORTNIGHT
    status = "closed"
    if rng.random() < (0.4 if recent else 0.05):
        status = rng.choice(("dispatched", "claimed"))
    return {"ref": f"2026-{n + 1:07d}", "citizen_id": 100_000 + rng.randrange(50_000),
            "language": "zh", "category": rng.choice(CATEGORIES), "description": "楼道灯坏了",
            "status": status, "latitude": lat, "longitude": lon, "created_at": created,
            "updated_at": created, "events": []}


async def run(count: int, lookups: int, keep: Path | None = None) -> dict[str, float]:
    """Generate (unless `keep` holds a database generated before), then time the lookups."""
    with tempfile.TemporaryDirectory() as folder:
        path = keep or Path(folder) / "million.db"
        # A kept database is measured again as it is.
        return await _run(count, lookups, path, fresh=not path.exists())


async def _run(count: int, lookups: int, path: Path, *, fresh: bool) -> dict[str, float]:
    rng = random.Random(2026)
    places = stations()
    db = await Database.open(path)
    try:
        began = time.monotonic()
        if fresh:
            async with db.transaction() as repo:
                await repo.people.bulk_users(list(range(100_000, 150_000)), YEAR_START)
            for start in range(0, count, BATCH):
                rows = [request_row(n, places, rng)
                        for n in range(start, min(count, start + BATCH))]
                async with db.transaction() as repo:
                    await repo.requests.bulk_requests(rows)
        generated = time.monotonic() - began
        now = YEAR_START + YEAR
        timings, cpu, found = [], [], 0
        for _ in range(lookups):
            lat, lon = around(rng.choice(places), rng)
            category = rng.choice(CATEGORIES)
            began, began_cpu = time.perf_counter(), time.thread_time()
            # inline: as in an update's unit of work, the read runs on the event loop's
            # thread while the database thread is idle (no thread hop to wait for).
            async with db.reading(inline=True) as repo:
                near = await repo.requests.nearby(category, lat, lon, DISTANCE,
                                                  now - FORTNIGHT, 1, SHOWN)
            timings.append(time.perf_counter() - began)
            cpu.append(time.thread_time() - began_cpu)
            found += len(near)
        async with db.reading() as repo:
            stored = await repo._one("SELECT COUNT(*), COUNT(cell) FROM requests")
    finally:
        await db.close()
    timings.sort()
    cpu.sort()
    return {"requests": int(stored[0]), "located": int(stored[1]),
            "generated_s": generated if fresh else -1.0,
            "lookups": lookups, "found": found / lookups,
            "median_ms": statistics.median(timings) * 1000,
            "p99_ms": _p99(timings) * 1000,
            "cpu_median_ms": statistics.median(cpu) * 1000, "cpu_p99_ms": _p99(cpu) * 1000,
            "load": os.getloadavg()[0]}


def _p99(values: list[float]) -> float:
    """The 99th percentile of sorted values (nearest rank)."""
    return values[max(0, math.ceil(len(values) * 0.99) - 1)]


def main() -> None:
    """Parse the size, run, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--keep", type=Path, default=None,
                        help="a database file to generate into once, and reuse when it exists")
    args = parser.parse_args()
    f = asyncio.run(run(args.requests, args.lookups, args.keep))
    made = (f"generated in {f['generated_s']:.1f} s" if f["generated_s"] >= 0
            else "reused from --keep")
    print(f"requests: {f['requests']} {made} ({f['located']} with a cell)")
    print(f"lookups: {f['lookups']}, {f['found']:.2f} open requests found per lookup "
          f"(at most {SHOWN})")
    print(f"lookup (250 m, 14 days, same category): {f['median_ms']:.2f} ms median, "
          f"{f['p99_ms']:.2f} ms p99 (goal <= 5); CPU time {f['cpu_median_ms']:.2f} ms "
          f"median, {f['cpu_p99_ms']:.2f} ms p99 (load average {f['load']:.1f})")
    ok = f["median_ms"] <= 5 and f["p99_ms"] <= 5 and f["located"] == f["requests"]
    print(f"duplicates: lookup {f['median_ms']:.2f} ms median, {f['p99_ms']:.2f} ms p99 at "
          f"{f['requests']} requests -> {'goal met' if ok else 'GOAL MISSED'}")


if __name__ == "__main__":
    main()
