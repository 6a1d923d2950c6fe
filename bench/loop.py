"""The loop against a bare python-telegram-bot echo bot, over real HTTP, in one run.

N citizens at once each drive a whole loop (file, claim, done, confirm, rate) through
civicloop; the same N drive the same number of messages through a bare PTB echo bot. Both run
against the same sandbox with flood limits off, so this measures the bots, not Telegram.

Goal: civicloop >= 0.5x the bare bot's update rate (the design's); issue 14 asks 0.80x, and
0.55x of the bare bot on civicloop's own transport. The bare bot is PTB as shipped (httpx);
civicloop makes its calls over aiohttp (bot/delivery/transport.py). For comparison the bare
bot also runs on civicloop's transport, so the figures show what the transport gives and what
civicloop's own work costs.

    python -m bench.loop --citizens 50      # the full run
    python -m bench.loop --citizens 50 --apart

With --apart each bot runs in a process of its own (the sandbox and the simulated people stay
in this one), and what is printed is each bot's CPU per update, read from /proc over the
measured updates: the bot's own cost, without the sandbox's, and steadier than a rate shared
with everything else in one process (docs/decisions.md, "Issue 14's ratios").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bench import bench_clock
from bot.app import run
from bot.config import parse_config
from bot.delivery.transport import AiohttpRequest
from bot.wiring import Services
from sandbox import Limits, Sandbox, SimChat, SimMessage, SimUser

TOKEN = "123456:BENCH-token"
# Issue 14's goals for the loop's ratio: to the bare bot, and to it on civicloop's transport.
ISSUE_14_BARE = 0.80
ISSUE_14_SAME_TRANSPORT = 0.55
FAST = {"private_per_second": 30.0, "private_burst": 30, "group_per_minute": 600,
        "global_per_second": 1000, "concurrency": 64}


class Latency:
    """Time from each user message (or press) to the bot's next message in that chat, and
    the Bot API calls the bot made meanwhile."""

    def __init__(self, sb: Sandbox) -> None:
        self.waiting: dict[int, float] = {}
        self.samples: list[float] = []
        self.updates = 0
        self.sb = sb
        self.calls_before = len(sb.calls)
        sb.on_event(self.seen)

    def calls_per_update(self) -> tuple[float, float]:
        """Bot API calls per update since this began: all of them, and all but getUpdates."""
        calls = self.sb.calls[self.calls_before:]
        sends = sum(1 for method, _, _ in calls if method != "getUpdates")
        return len(calls) / max(1, self.updates), sends / max(1, self.updates)

    def seen(self, kind: str, chat: SimChat, message: SimMessage | None, detail: str) -> None:
        now = time.monotonic()
        if kind in ("user_message", "user_press"):
            self.updates += 1
            self.waiting.setdefault(chat.id, now)
        elif kind in ("bot_message", "bot_edit", "callback_answer"):
            started = self.waiting.pop(chat.id, None)
            if started is not None:
                self.samples.append(now - started)

    def percentile(self, share: float) -> float:
        """A latency percentile in milliseconds."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bare bot: echo the text back."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def bare_bot(citizens: int, messages: int, aiohttp: bool = False) -> dict[str, Any]:
    """Each citizen sends `messages` texts and waits for each echo (over PTB's own httpx
    transport, or over civicloop's aiohttp one)."""
    async with Sandbox(token=TOKEN, limits=Limits.off()) as sb:
        people = [sb.add_user(f"citizen {n}") for n in range(citizens)]
        builder = Application.builder().token(TOKEN).base_url(sb.base_url)
        if aiohttp:
            builder = builder.request(AiohttpRequest(citizens + 4)).get_updates_request(
                AiohttpRequest(1, read_timeout=None))
        app = builder.build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        latency = Latency(sb)
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)

            async def talk(person: SimUser) -> None:
                for n in range(messages):
                    await person.send(f"hello {n}")
                    await person.wait_for(text=f"hello {n}", timeout=60)

            began = time.monotonic()
            await asyncio.gather(*(talk(p) for p in people))
            elapsed = time.monotonic() - began
            await app.updater.stop()
            await app.stop()
    return {"updates": latency.updates, "rate": latency.updates / elapsed,
            "p50": latency.percentile(0.5), "p99": latency.percentile(0.99),
            "calls": latency.calls_per_update()}


async def one_loop(citizen: SimUser, volunteer: SimUser, group: SimChat) -> None:
    """A citizen files a request, the volunteer claims and finishes it, the citizen rates."""
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below", timeout=60)
    await citizen.press("📝 New request")
    first = await citizen.wait_for(predicate=lambda m: any(
        words in (m.text or "") for words in ("What kind of help", "Before you start")),
        timeout=60)
    if "Before you start" in (first.text or ""):  # the privacy notice, once per person
        await citizen.press("✅ I agree, continue", message=first)
        await citizen.wait_for(text="What kind of help", timeout=60)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem", timeout=60)
    await citizen.send(f"Request from {citizen.first_name}")
    await citizen.wait_for(text="Where is it", timeout=60)
    await citizen.send("5 Guangming Street")
    await citizen.wait_for(text="How can the volunteer reach you", timeout=60)
    await citizen.tap("Skip")
    await citizen.wait_for(text="Is everything correct?", timeout=60)
    await citizen.press("✅ Confirm and send")
    receipt = await citizen.wait_for(text="Reference number", timeout=60)
    ref = (receipt.text or "").split("Reference number: ")[1].split()[0]
    card = await group.wait_for(text=ref, timeout=60)
    await (await volunteer.press("🙋 Claim", chat=group, message=card)).answer(timeout=60)
    task = await volunteer.wait_for(text=f"You took {ref}", timeout=60)
    await volunteer.press("✅ Done", message=task)
    prompt = await volunteer.wait_for(text=f"Finishing {ref}", timeout=60)
    await volunteer.press("Skip", message=prompt)
    await volunteer.wait_for(text=f"{ref} is marked done", timeout=60)
    question = await citizen.wait_for(text="resolved?", timeout=60)
    await citizen.press("👍 Yes, resolved", message=question)
    stars = await citizen.wait_for(text="How would you rate", timeout=60)
    await citizen.press("⭐⭐⭐⭐⭐", message=stars)
    comment = await citizen.wait_for(text="add a comment", timeout=60)
    await citizen.press("Skip", message=comment)
    await citizen.wait_for(text="Your request is closed", timeout=60)


def loop_config(base_url: str, admin_id: int, group_id: int, folder: str) -> Any:
    """civicloop's config for the benchmark: one category, its group, flood limits off."""
    return parse_config({
        "telegram": {"token": TOKEN, "base_url": base_url, "poll_timeout": 1},
        "bot": {"admin_ids": [admin_id], "default_language": "en"},
        "delivery": FAST,
        "volunteers": {"ask_hours": False},
        "categories": [{"code": "elderly", "zh": "助老服务", "en": "Help for the elderly",
                        "group_id": group_id}],
    }, env={}, base_dir=Path(folder))


def cast(sb: Sandbox, citizens: int) -> tuple[list[SimUser], list[SimUser], SimUser, SimChat]:
    """N citizens, as many volunteers in one group, and an admin."""
    people = [sb.add_user(f"citizen {n}") for n in range(citizens)]
    helpers = [sb.add_user(f"volunteer {n}") for n in range(citizens)]
    admin = sb.add_user("Admin")
    group = sb.add_group("Volunteers")
    for helper in helpers:
        group.add_member(helper)
    return people, helpers, admin, group


async def civicloop(citizens: int) -> dict[str, Any]:
    """N citizens, each with a volunteer of their own, run the whole loop at once."""
    async with Sandbox(token=TOKEN, limits=Limits.off()) as sb:
        people, helpers, admin, group = cast(sb, citizens)
        with tempfile.TemporaryDirectory() as folder:
            config = loop_config(sb.base_url, admin.id, group.id, folder)
            stop = asyncio.Event()
            ready: list[Services] = []
            bot = asyncio.create_task(run(config, stop, bench_clock(), on_ready=ready.append))
            await sb.wait_until(lambda: sb.polls_started > 0, timeout=30)

            async def open_bot(helper: SimUser) -> None:
                await helper.send("/start")
                await helper.wait_for(text="Choose below", timeout=60)

            await asyncio.gather(*(open_bot(h) for h in helpers))
            latency = Latency(sb)
            began = time.monotonic()
            await asyncio.gather(*(one_loop(c, v, group) for c, v in zip(people, helpers,
                                                                            strict=True)))
            elapsed = time.monotonic() - began
            stop.set()
            await bot
    return {"updates": latency.updates, "rate": latency.updates / elapsed,
            "p50": latency.percentile(0.5), "p99": latency.percentile(0.99),
            "calls": latency.calls_per_update()}


# -- each bot in a process of its own (--apart) ----------------------------------------------

def cpu_seconds(pid: int) -> float:
    """A process's CPU so far (user and system, all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(which: str, base_url: str, admin_id: int, group_id: int) -> None:
    """A bot alone in this process until SIGTERM: civicloop, or the echo bot on aiohttp."""
    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        if which == "civicloop":
            with tempfile.TemporaryDirectory() as folder:
                await run(loop_config(base_url, admin_id, group_id, folder), stop,
                          bench_clock())
            return
        app = (Application.builder().token(TOKEN).base_url(base_url)
               .request(AiohttpRequest(64)).get_updates_request(
                   AiohttpRequest(1, read_timeout=None)).build())
        app.add_handler(MessageHandler(filters.TEXT, echo))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await stop.wait()
            await app.updater.stop()
            await app.stop()

    asyncio.run(serve())


async def apart(which: str, citizens: int, messages: int) -> dict[str, Any]:
    """Run one bot in a child process against this process's sandbox; its CPU per update."""
    async with Sandbox(token=TOKEN, limits=Limits.off()) as sb:
        people, helpers, admin, group = cast(sb, citizens)
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.loop", "--child", which, sb.base_url, str(admin.id),
            str(group.id))
        try:
            await sb.wait_until(lambda: sb.polls_started > 0, timeout=60)
            work: Callable[[], Awaitable[Any]]
            if which == "civicloop":
                async def open_bot(helper: SimUser) -> None:
                    await helper.send("/start")
                    await helper.wait_for(text="Choose below", timeout=60)

                await asyncio.gather(*(open_bot(h) for h in helpers))

                def work() -> Awaitable[Any]:
                    return asyncio.gather(*(one_loop(c, v, group)
                                            for c, v in zip(people, helpers, strict=True)))
            else:
                async def talk(person: SimUser) -> None:
                    for n in range(messages):
                        await person.send(f"hello {n}")
                        await person.wait_for(text=f"hello {n}", timeout=60)

                def work() -> Awaitable[Any]:
                    return asyncio.gather(*(talk(p) for p in people))
            latency = Latency(sb)
            cpu0, began = cpu_seconds(bot.pid), time.monotonic()
            await work()
            elapsed, cpu = time.monotonic() - began, cpu_seconds(bot.pid) - cpu0
        finally:
            bot.terminate()
            await asyncio.wait_for(bot.wait(), timeout=60)
    return {"updates": latency.updates, "rate": latency.updates / elapsed,
            "cpu_ms": cpu / latency.updates * 1000, "calls": latency.calls_per_update()}


def calls(figures: dict[str, Any]) -> str:
    """Bot API calls per update, as printed: what a bot's update costs besides its own code."""
    every, sends = figures["calls"]
    return f"{every:.2f} Bot API calls per update ({sends:.2f} besides getUpdates)"


def report_apart(citizens: int) -> None:
    """--apart: each bot in its own process; print their CPU per update and the ratio."""
    ours = asyncio.run(apart("civicloop", citizens, 0))
    per_citizen = max(1, round(ours["updates"] / citizens))
    same = asyncio.run(apart("echo", citizens, per_citizen))
    for name, f in (("bare PTB echo on aiohttp", same), ("civicloop loop", ours)):
        print(f"{name}, in its own process: {f['updates']:.0f} updates, "
              f"{f['rate']:.1f} updates/s, {f['cpu_ms']:.2f} ms of CPU per update, "
              f"{calls(f)}")
    ratio = same["cpu_ms"] / ours["cpu_ms"]
    verdict = "goal met" if ratio >= ISSUE_14_SAME_TRANSPORT else "GOAL MISSED"
    print(f"CPU per update: echo {same['cpu_ms']:.2f} ms / civicloop {ours['cpu_ms']:.2f} ms"
          f" = {ratio:.2f}x (the bots' own cost, the sandbox's left out; issue 14's "
          f"same-transport goal read this way: >= {ISSUE_14_SAME_TRANSPORT:.2f}) "
          f"-> {verdict}")


def main() -> None:
    """Run both, print the figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--apart", action="store_true",
                        help="each bot in its own process: print their CPU per update")
    parser.add_argument("--child", nargs=4, metavar=("BOT", "BASE_URL", "ADMIN", "GROUP"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        which, base_url, admin_id, group_id = args.child
        child(which, base_url, int(admin_id), int(group_id))
        return
    if args.apart:
        report_apart(args.citizens)
        return
    ours: dict[str, Any] = asyncio.run(civicloop(args.citizens))
    per_citizen = max(1, round(ours["updates"] / args.citizens))
    bare: dict[str, Any] = asyncio.run(bare_bot(args.citizens, per_citizen))
    same: dict[str, Any] = asyncio.run(bare_bot(args.citizens, per_citizen, aiohttp=True))
    for name, f in (("bare PTB echo", bare), ("bare PTB echo on aiohttp", same),
                    ("civicloop loop", ours)):
        print(f"{name}: {f['updates']} updates, {f['rate']:.1f} updates/s, "
              f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms, {calls(f)}")
    print(f"on the same transport: civicloop {ours['rate']:.1f} / bare {same['rate']:.1f} "
          f"updates/s = {ours['rate'] / same['rate'] if same['rate'] else 0.0:.2f}x "
          f"(for comparison: civicloop's own work per update)")
    ratio = ours["rate"] / bare["rate"] if bare["rate"] else 0.0
    transport = ours["rate"] / same["rate"] if same["rate"] else 0.0
    verdict = "goal met" if ratio >= 0.5 else "GOAL MISSED"
    stricter = ("met" if ratio >= ISSUE_14_BARE and transport >= ISSUE_14_SAME_TRANSPORT
                else "not met")
    print(f"loop ratio: civicloop {ours['rate']:.1f} / bare {bare['rate']:.1f} updates/s = "
          f"{ratio:.2f}x (goal >= 0.5; issue 14's {ISSUE_14_BARE:.2f}x, and "
          f"{ISSUE_14_SAME_TRANSPORT:.2f}x on the same transport: {stricter}) -> {verdict}")


if __name__ == "__main__":
    main()
