"""Footprint: memory of the running bot with many open requests, and time from start to
serving. The real process (`python -m bot`) runs against the sandbox.

Goals: RSS <= 150 MB with 100,000 open requests; start to serving <= 2 s.

    python -m bench.footprint --requests 100000      # the full run
    python -m bench.footprint --requests 100000 --keywords   # with config.example.toml's
        categories and keywords: the category suggestion's dictionary loaded (at start-up, in
        a thread), measured once it is in memory
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench import BENCH_START
from sandbox import Limits, Sandbox
from storage import Database

TOKEN = "123456:BENCH-token"
ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ("environment", "infrastructure", "elderly", "children", "health", "legal")


async def fill(path: Path, count: int, group_id: int) -> None:
    """Store `count` open requests, each dispatched with its timeline and timers."""
    db = await Database.open(path)
    rng = random.Random(7)
    now = BENCH_START.timestamp()
    try:
        for start in range(0, count, 5000):
            async with db.transaction() as repo:
                await repo.people.see_user(1, "Citizen", None, "zh", now, private=True)
                for n in range(start, min(count, start + 5000)):
                    request_id = await repo.requests.insert_request(
                        ref=f"2026-{n + 1:06d}", citizen_id=1, language="zh",
                        category=rng.choice(CATEGORIES), description="楼道灯坏了" * 4,
                        photos=[], voice_file_id=None, latitude=None, longitude=None,
                        address="光明路 5 号楼", phone="+8613800000000",
                        dispatch_chat_id=group_id, now=now,
                    )
                    await repo.requests.add_event(request_id, "created", 1, now)
                    await repo.requests.add_event(request_id, "dispatched", None, now)
                    await repo.timers.schedule("claim_reminder", now + 86400, now,
                                               request_id=request_id)
                    await repo.timers.schedule("escalate", now + 2 * 86400, now,
                                               request_id=request_id)
    finally:
        await db.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def example_categories() -> str:
    """config.example.toml's categories, keywords included, as TOML tables."""
    example = tomllib.loads((ROOT / "config.example.toml").read_text("utf-8"))
    return "".join(
        f'[[categories]]\ncode = "{c["code"]}"\nzh = "{c["zh"]}"\nen = "{c["en"]}"\n'
        f"keywords = {json.dumps(c.get('keywords', []), ensure_ascii=False)}\n"
        for c in example["categories"])


async def run(count: int, keywords: bool = False) -> dict[str, float]:
    """Fill a database, start the real bot on it, measure start time and memory."""
    async with Sandbox(token=TOKEN, limits=Limits()) as sb:
        admin = sb.add_user("Admin")
        group = sb.add_group("Volunteers")
        with tempfile.TemporaryDirectory() as folder:
            db_path = Path(folder) / "civicloop.db"
            began = time.monotonic()
            await fill(db_path, count, group.id)
            filled = time.monotonic() - began
            config = Path(folder) / "config.toml"
            config.write_text(
                f'[telegram]\nbase_url = "{sb.base_url}"\npoll_timeout = 2\n'
                f'[bot]\ndatabase = "{db_path}"\nadmin_ids = [{admin.id}]\n'
                + (example_categories() if keywords else
                   '[[categories]]\ncode = "elderly"\nzh = "助老服务"\nen = "Elderly"\n'
                   + "".join(f'[[categories]]\ncode = "{c}"\nzh = "{c}"\nen = "{c}"\n'
                             for c in CATEGORIES if c != "elderly")),
                "utf-8")
            size_kb = db_path.stat().st_size / 1024
            started = time.monotonic()
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(config), "--log-level", "ERROR",
                "--clock", BENCH_START.isoformat(),
                cwd=ROOT, env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN})
            try:
                await sb.wait_until(lambda: sb.polls_started > 0 or bot.returncode is not None,
                                    timeout=120)
                serving = time.monotonic() - started
                # Let it settle (the start-up sweep, a few periodic sweeps), then measure.
                await sb.wait_until(lambda: sb.polls_started > 3, timeout=30)
                memory = rss_mb(bot.pid)
                if keywords:  # the dictionary loads in a thread: wait until it is all in
                    while True:
                        await asyncio.sleep(0.5)
                        now = rss_mb(bot.pid)
                        if now - memory < 1:
                            break
                        memory = now
            finally:
                if bot.returncode is None:
                    bot.terminate()
                    await bot.wait()
    return {"requests": count, "fill_s": filled, "serving_s": serving, "rss_mb": memory,
            "db_kb_per_request": size_kb / max(count, 1)}


def main() -> None:
    """Parse the size, run, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--keywords", action="store_true",
                        help="the example config's categories with their keywords")
    args = parser.parse_args()
    f = asyncio.run(run(args.requests, args.keywords))
    print(f"open requests: {f['requests']:.0f} (stored in {f['fill_s']:.1f} s, "
          f"{f['db_kb_per_request']:.2f} KB each on disk)")
    print(f"start to serving: {f['serving_s']:.2f} s (goal <= 2)")
    print(f"resident memory: {f['rss_mb']:.1f} MB (goal <= 150)")
    ok = f["serving_s"] <= 2 and f["rss_mb"] <= 150
    print(f"footprint: {f['rss_mb']:.1f} MB RSS, serving after {f['serving_s']:.2f} s with "
          f"{f['requests']:.0f} open requests -> {'goal met' if ok else 'GOAL MISSED'}")


if __name__ == "__main__":
    main()
