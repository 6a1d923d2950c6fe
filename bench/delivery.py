"""Delivery at the limit: many notifications to distinct chats plus a backlog for one group,
against the sandbox enforcing Telegram's limits (30/s overall, 20/min per group).

Goal: at least 28 messages/s overall, never more than 20 a minute to the group, zero 429.

    python -m bench.delivery --private 3000 --group 200      # the full run
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import deque
from pathlib import Path

from telegram import Bot
from telegram.request import HTTPXRequest

from bench import bench_clock
from bot.config import parse_config
from bot.context import Env
from bot.delivery.sender import Sender
from bot.i18n import Catalogs
from sandbox import Limits, Sandbox, SimChat, SimMessage
from storage import Database, Outgoing

TOKEN = "123456:BENCH-token"


async def run(private: int, group_messages: int, seconds: float) -> dict[str, float]:
    """Queue the messages, drain them, and measure."""
    async with Sandbox(token=TOKEN, limits=Limits()) as sb:
        people = [sb.add_user(f"citizen {n}") for n in range(private)]
        for person in people:
            person.started = True  # as if each had written to the bot
        group = sb.add_group("Volunteers")
        arrivals: list[float] = []
        group_arrivals: list[float] = []

        private_arrivals: list[float] = []

        def seen(kind: str, chat: SimChat, message: SimMessage | None, detail: str) -> None:
            if kind == "bot_message":
                at = time.monotonic()
                arrivals.append(at)
                (group_arrivals if chat is group else private_arrivals).append(at)

        sb.on_event(seen)
        with tempfile.TemporaryDirectory() as folder:
            config = parse_config(
                {"telegram": {"token": TOKEN, "base_url": sb.base_url},
                 "bot": {"admin_ids": [1], "database": "bench.db"},
                 "categories": [{"code": "other", "zh": "其他", "en": "Other"}]},
                env={}, base_dir=Path(folder))
            db = await Database.open(config.database)
            # As the Application builds it: a pool for the sender's concurrent calls.
            bot = Bot(TOKEN, base_url=sb.base_url,
                      request=HTTPXRequest(connection_pool_size=256))
            await bot.initialize()
            env = Env(db=db, config=config, t=Catalogs.load("zh"), clock=bench_clock())
            sender = Sender(env, bot)
            env.wake_sender = sender.wake
            rows = [Outgoing(p.id, "sendMessage", {"chat_id": p.id, "text": f"notice {n}"})
                    for n, p in enumerate(people)]
            rows += [Outgoing(group.id, "sendMessage", {"chat_id": group.id, "text": f"card {n}"})
                     for n in range(group_messages)]
            async with db.transaction() as repo:
                await repo.outbox.enqueue(rows, env.now())
            start = time.monotonic()
            sender.start()
            deadline = start + seconds
            expected_private = private
            while time.monotonic() < deadline:
                done_private = len(arrivals) - len(group_arrivals)
                if done_private >= expected_private and len(group_arrivals) >= group_messages:
                    break
                await asyncio.sleep(0.2)  # a benchmark's own pacing, not a test's sync
            elapsed = (arrivals[-1] - start) if arrivals else 0.0
            await sender.stop()
            await bot.shutdown()
            await db.close()
        window: deque[float] = deque()
        busiest_minute = 0
        for at in group_arrivals:
            window.append(at)
            while window[0] <= at - 60:
                window.popleft()
            busiest_minute = max(busiest_minute, len(window))
        # The overall rate while private chats were served (the group trickles at 20/min).
        private_done = private_arrivals
        private_span = (private_done[-1] - start) if private_done else 0.0
        return {
            "sent": len(arrivals),
            "private_sent": len(private_done),
            "group_sent": len(group_arrivals),
            "rate": len(private_done) / private_span if private_span else 0.0,
            "busiest_minute": busiest_minute,
            "429": sb.count_429,
            "elapsed": elapsed,
        }


def main() -> None:
    """Parse the size, run, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--private", type=int, default=3000)
    parser.add_argument("--group", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=900,
                        help="stop measuring after this long (the group alone needs "
                             "group/20 minutes)")
    args = parser.parse_args()
    figures = asyncio.run(run(args.private, args.group, args.seconds))
    print(f"messages sent: {figures['sent']} ({figures['private_sent']} private, "
          f"{figures['group_sent']} to the group) in {figures['elapsed']:.1f} s")
    print(f"overall rate while serving private chats: {figures['rate']:.1f} msg/s (goal >= 28)")
    print(f"busiest minute for the group: {figures['busiest_minute']} (goal <= 20)")
    print(f"429 received: {figures['429']} (goal 0)")
    ok = figures["rate"] >= 28 and figures["busiest_minute"] <= 20 and figures["429"] == 0
    print(f"delivery: {figures['rate']:.1f} msg/s, group max {figures['busiest_minute']}/min, "
          f"429s {figures['429']} -> {'goal met' if ok else 'GOAL MISSED'}")


if __name__ == "__main__":
    main()
