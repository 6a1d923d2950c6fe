"""The public results page on a year of requests: how long its figures take to read (a cache
miss: the year's cohort and each month's, through /stats' queries, plus the activities), how
long a page and a CSV take to write from them (every hit in the following minute), and how
long the event loop is held by the read (the queries run on the database thread).

    python -m bench.results_page --requests 1000000      # a year of the seed year's size
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.storage import CATEGORIES, YEAR, YEAR_START, generate
from bot.config import parse_config
from bot.context import Clock, Env
from bot.i18n import Catalogs
from bot.people.roles import Roles
from bot.reports.stats import Statistics
from bot.requests.loop import RequestLoop
from bot.schedule.jobs import Jobs
from bot.web.results import ResultsPage
from storage import Database

PAGE_GOAL_MS = 50  # every visitor of the minute gets a page written from cached figures
STALL_GOAL_MS = 100  # the year's read runs on the database thread, not the event loop


class EndOfYear(Clock):
    """31 December 2026, 23:00 in Shanghai: the whole year is in the past."""

    def now(self) -> float:
        """The year's last hour."""
        return YEAR_START + YEAR - 3600


async def run(count: int) -> dict[str, float]:
    """Generate `count` requests of 2026, then time the page's reads and writes."""
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "year.db")
        try:
            await generate(db, count, rng)
            config = parse_config({
                "telegram": {"token": "1:abc"}, "bot": {"admin_ids": [1]},
                "categories": [{"code": c, "zh": c, "en": c.title()} for c in CATEGORIES],
            }, env={}, base_dir=Path(folder))
            env = Env(db=db, config=config, t=Catalogs.load(), clock=EndOfYear())
            loop = RequestLoop(env)
            page = ResultsPage(env, Statistics(env, loop, Roles(env), Jobs(env)))
            reads, stalls = [], []
            for _ in range(3):
                page._cache.clear()  # a cache miss each time
                ticks = asyncio.create_task(_longest_stall())
                began = time.monotonic()
                figures = await page.figures(2026)
                reads.append(time.monotonic() - began)
                ticks.cancel()
                stalls.append(await _result(ticks))
            began = time.monotonic()
            for _ in range(20):
                html = page.html("zh", figures)
            html_ms = (time.monotonic() - began) / 20 * 1000
            began = time.monotonic()
            for _ in range(20):
                page.table("en", figures)
            csv_ms = (time.monotonic() - began) / 20 * 1000
        finally:
            await db.close()
    return {"requests": count, "received": figures.total.total.collected,
            "read_ms": statistics.median(reads) * 1000,
            "loop_stall_ms": max(stalls) * 1000, "html_ms": html_ms, "csv_ms": csv_ms,
            "html_kb": len(html.encode("utf-8")) / 1024}


_stall: list[float] = []


async def _longest_stall() -> None:
    """Tick every millisecond, noting the longest gap (the event loop held by someone)."""
    _stall.clear()
    _stall.append(0.0)
    last = time.monotonic()
    while True:
        await asyncio.sleep(0.001)
        now = time.monotonic()
        _stall[0] = max(_stall[0], now - last)
        last = now


async def _result(task: asyncio.Task[None]) -> float:
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return _stall[0]


def main() -> None:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    figures = asyncio.run(run(parser.parse_args().requests))
    for name, value in figures.items():
        print(f"{name:>16}: {value:,.1f}" if isinstance(value, float) else
              f"{name:>16}: {value:,}")
    met = figures["html_ms"] <= PAGE_GOAL_MS and figures["loop_stall_ms"] <= STALL_GOAL_MS
    print(f"results page: {figures['requests']:,} requests, a year's figures read in "
          f"{figures['read_ms']:,.0f} ms (the event loop held {figures['loop_stall_ms']:.0f} ms "
          f"at most), a page written in {figures['html_ms']:.1f} ms -> "
          f"{'goal met' if met else 'GOAL MISSED'} (page <= {PAGE_GOAL_MS} ms, "
          f"loop held <= {STALL_GOAL_MS} ms)")


if __name__ == "__main__":
    main()
