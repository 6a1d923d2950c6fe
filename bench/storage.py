"""Storage at a million: generate requests with their timelines, then time the queries
admins run on them.

Goals: /stats for a year <= 200 ms, one request's /find <= 5 ms, <= 2 KB per request.

    python -m bench.storage --requests 1000000      # the full run
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from storage import Database

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


async def run(count: int) -> dict[str, float]:
    """Generate, then measure."""
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "million.db")
        try:
            began = time.monotonic()
            async with db.transaction() as repo:
                await repo.bulk_users([*range(100_000, 150_000), *range(1_000, 6_000)],
                                      YEAR_START)
            for start in range(0, count, BATCH):
                rows = [request_row(n, rng) for n in range(start, min(count, start + BATCH))]
                async with db.transaction() as repo:
                    await repo.bulk_requests(rows)
            generated = time.monotonic() - began
            timings_stats = []
            for _ in range(5):
                began = time.monotonic()
                async with db.reading() as repo:
                    tally = await repo.tally()
                timings_stats.append(time.monotonic() - began)
            collected = sum(tally.values())
            timings_find = []
            for _ in range(200):
                ref = f"2026-{rng.randrange(count) + 1:07d}"
                began = time.monotonic()
                async with db.reading() as repo:
                    request = await repo.request_by_ref(ref)
                    assert request is not None
                    await repo.events(request.id)
                timings_find.append(time.monotonic() - began)
            async with db.reading() as repo:
                size = await repo.database_bytes()
        finally:
            await db.close()
    return {"requests": count, "collected": collected, "generated_s": generated,
            "stats_ms": statistics.median(timings_stats) * 1000,
            "find_ms": statistics.median(timings_find) * 1000,
            "find_p99_ms": sorted(timings_find)[int(len(timings_find) * 0.99) - 1] * 1000,
            "kb_per_request": size / 1024 / count}


def main() -> None:
    """Parse the size, run, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    f = asyncio.run(run(args.requests))
    print(f"requests: {f['requests']:.0f} generated in {f['generated_s']:.1f} s; "
          f"/stats counted {f['collected']:.0f}")
    print(f"/stats (the year's tally): {f['stats_ms']:.1f} ms median (goal <= 200)")
    print(f"/find (request + timeline): {f['find_ms']:.2f} ms median, "
          f"{f['find_p99_ms']:.2f} ms p99 (goal <= 5)")
    print(f"database size: {f['kb_per_request']:.2f} KB per request (goal <= 2)")
    ok = (f["stats_ms"] <= 200 and f["find_ms"] <= 5 and f["kb_per_request"] <= 2
          and f["collected"] == f["requests"])
    print(f"storage: stats {f['stats_ms']:.0f} ms, find {f['find_ms']:.2f} ms, "
          f"{f['kb_per_request']:.2f} KB/request at {f['requests']:.0f} -> "
          f"{'goal met' if ok else 'GOAL MISSED'}")


if __name__ == "__main__":
    main()
