"""A storm: a thousand requests sent within one minute, against Telegram's real limits.

N citizens fill in the request form (no photos, no phone: category, a sentence, a shared
location, its community) in the minutes before — the form's seven answers from the bot, at
30 messages a second overall, cannot fit a thousand people into the same minute — then all
of them press Send within one minute. Their requests go to 20 station groups (10 categories
bound per station) while the sandbox enforces 20 messages a minute per group and 30 a second
overall, so the bot must list several new requests in one message when a group's budget is
short.

Measured: requests that reached their own group, 429s received, each citizen's time from
pressing Send to the receipt, and when each request became claimable (its ref first shown
with a Claim button in its group) against the physical minimum: for each group, given when
its requests were sent and 20 messages per 60 s, the earliest its last request could be shown
if every message carried every request waiting at that moment.

Goal: all reached, zero 429, every receipt within 2 s, the last request claimable no later
than 10% past the physical minimum.

    python -m bench.storm --requests 1000             # the full run (forms take ~4 minutes)
    python -m bench.storm --requests 200 --groups 4   # make bench: 50 a group, as in full
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import tempfile
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import BENCH_START, bench_clock
from bot.app import run
from bot.areas.tree import load_areas
from bot.config import parse_config
from sandbox import Limits, Sandbox, SimChat, SimMessage, SimUser
from storage import Database

TOKEN = "123456:BENCH-token"
AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
REF = re.compile(r"\d{4}-\d{6}")
TELEGRAM_GROUP_LIMIT = 20  # messages per group in any 60 s
TELEGRAM_WINDOW = 60.0
FORMS_AT_ONCE = 200  # citizens filling in the form at the same time (the bot paces them)
STEP_TIMEOUT = 600.0


@dataclass
class Citizen:
    """One person of the storm and what happened to their request."""

    user: SimUser
    category: int
    station: int
    group: SimChat
    pressed: float = 0.0  # when Send was pressed (monotonic)
    receipt: float = 0.0  # when the receipt arrived
    ref: str = ""


@dataclass
class Watch:
    """Everything the sandbox saw, timed as it happened (no polling)."""

    expected: dict[int, tuple[str, asyncio.Future[SimMessage]]] = field(default_factory=dict)
    claimable: dict[str, tuple[float, int]] = field(default_factory=dict)  # ref → (at, chat)
    receipts: dict[int, tuple[float, str]] = field(default_factory=dict)  # user → (at, ref)
    group_messages: dict[int, list[int]] = field(default_factory=dict)  # chat → requests each
    group_ids: set[int] = field(default_factory=set)

    def seen(self, kind: str, chat: SimChat, message: SimMessage | None, detail: str) -> None:
        """The sandbox's event hook."""
        if message is None or kind not in ("bot_message", "bot_edit"):
            return
        now = time.monotonic()
        text = message.text or ""
        if chat.id in self.group_ids:
            self._group_message(chat, message, text, now, kind == "bot_message")
            return
        if kind == "bot_message" and "Reference number" in text:
            match = REF.search(text)
            if match and chat.id not in self.receipts:
                self.receipts[chat.id] = (now, match.group(0))
        want = self.expected.get(chat.id)
        if kind == "bot_message" and want is not None and want[0] in text:
            del self.expected[chat.id]
            if not want[1].done():
                want[1].set_result(message)

    def _group_message(self, chat: SimChat, message: SimMessage, text: str, now: float,
                       new: bool) -> None:
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        claims = [b["text"] for row in rows for b in row
                  if str(b.get("callback_data", "")).startswith("claim:")]
        refs_in_text = REF.findall(text)
        if new:
            self.group_messages.setdefault(chat.id, []).append(len(refs_in_text))
        for label in claims:
            named = REF.search(label)
            ref = named.group(0) if named else (refs_in_text[0] if refs_in_text else "")
            if ref and ref not in self.claimable:
                self.claimable[ref] = (now, chat.id)

    def expect(self, user: SimUser, text: str) -> asyncio.Future[SimMessage]:
        """A future for the next bot message to `user` containing `text`."""
        future: asyncio.Future[SimMessage] = asyncio.get_running_loop().create_future()
        self.expected[user.id] = (text, future)
        return future


async def step(watch: Watch, user: SimUser, act: Awaitable[Any], reply: str) -> SimMessage:
    """Do something and wait for the bot's reply containing `reply`."""
    future = watch.expect(user, reply)
    await act
    return await asyncio.wait_for(future, STEP_TIMEOUT)


async def fill_form(watch: Watch, citizen: Citizen, category: str, station: Any) -> None:
    """The form up to its summary: category, a sentence, a shared location, its community."""
    user = citizen.user
    notice = await step(watch, user, user.send("/new"), "Before you start")
    await step(watch, user, user.press("✅ I agree, continue", message=notice),
               "What kind of help")
    await step(watch, user, user.press(category), "describe the problem")
    await step(watch, user, user.send(f"Storm: a tree fell by house {user.id}."), "Where is it")
    await step(watch, user, user.tap("📍 Share my location", latitude=station.latitude,
                                     longitude=station.longitude), "Which community")
    await step(watch, user, user.press(station.name("en")), "How can the volunteer reach you")
    await step(watch, user, user.tap("Skip"), "Is everything correct?")


def physical_minimum(arrivals: list[float]) -> float:
    """When a group's last request could be shown at the earliest: each message carries
    every request waiting, and at most 20 messages go in any 60 s."""
    sent: deque[float] = deque()
    shown_at = 0.0
    waiting = sorted(arrivals)
    index = 0
    while index < len(waiting):
        at = waiting[index]
        if len(sent) >= TELEGRAM_GROUP_LIMIT:
            at = max(at, sent[-TELEGRAM_GROUP_LIMIT] + TELEGRAM_WINDOW)
        while index < len(waiting) and waiting[index] <= at:
            index += 1
        sent.append(at)
        shown_at = at
    return shown_at


def percentile(samples: list[float], share: float) -> float:
    """A percentile of samples (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


async def storm(requests: int, categories: int, groups: int, seconds: float,
                seed: int) -> dict[str, Any]:
    """Set up the district, fill in the forms, send them all within `seconds`, measure."""
    rng = random.Random(seed)
    tree = load_areas(AREA_FILE)
    stations = [area for institute in tree.children(tree.root)
                for area in tree.children(institute.id)][:groups]
    codes = [f"c{n}" for n in range(categories)]
    async with Sandbox(token=TOKEN, limits=Limits()) as sb:
        admin = sb.add_user("Admin")
        admin_chat = sb.add_group("Admins")
        admin_chat.add_member(admin, status="administrator")
        station_groups = [sb.add_group(f"{s.name('en')} volunteers") for s in stations]
        watch = Watch(group_ids={g.id for g in station_groups})
        sb.on_event(watch.seen)
        people = [Citizen(sb.add_user(f"citizen {n}"), n % categories,
                          rng.randrange(len(stations)), admin_chat)
                  for n in range(requests)]
        for person in people:
            person.group = station_groups[person.station]
        with tempfile.TemporaryDirectory() as folder:
            config = parse_config({
                "telegram": {"token": TOKEN, "base_url": sb.base_url, "poll_timeout": 1},
                "bot": {"admin_ids": [admin.id], "admin_chat_id": admin_chat.id,
                        "default_language": "en", "database": "storm.db"},
                "areas": {"file": str(AREA_FILE)},
                "categories": [{"code": code, "zh": f"类别{n}", "en": f"Category {n}"}
                               for n, code in enumerate(codes)],
                # The storm's citizens share their station's own point, so the duplicate
                # check would offer each the earlier reports: the benchmark measures 1,000
                # requests reaching their groups, not neighbours joining them.
                "duplicates": {"enabled": False},
            }, env={}, base_dir=Path(folder))
            db = await Database.open(config.database)
            async with db.transaction() as repo:
                for station, group in zip(stations, station_groups, strict=True):
                    for code in codes:
                        await repo.areas.bind(code, station.id, group.id, group.title or "",
                                              admin.id, BENCH_START.timestamp())
            await db.close()
            stop = asyncio.Event()
            bot = asyncio.create_task(run(config, stop, bench_clock()))
            await sb.wait_until(lambda: sb.polls_started > 0, timeout=30)

            began = time.monotonic()
            gate = asyncio.Semaphore(FORMS_AT_ONCE)

            async def prepare(person: Citizen) -> None:
                async with gate:
                    await fill_form(watch, person, f"Category {person.category}",
                                    stations[person.station])

            await asyncio.gather(*(prepare(p) for p in people))
            forms_took = time.monotonic() - began

            # The storm: every Send pressed within `seconds`, in a random order.
            order = list(range(requests))
            rng.shuffle(order)
            start = time.monotonic() + 1.0
            slot = seconds / requests

            async def send(person: Citizen, at: float) -> None:
                await asyncio.sleep(max(0.0, at - time.monotonic()))  # the storm's own pace
                person.pressed = time.monotonic()
                await person.user.press("✅ Confirm and send")

            await asyncio.gather(*(send(people[n], start + i * slot)
                                   for i, n in enumerate(order)))
            refs_expected = requests
            # Whatever has not come by then is reported as not reached.
            with contextlib.suppress(TimeoutError):
                await sb.wait_until(lambda: len(watch.receipts) >= refs_expected
                                    and len(watch.claimable) >= refs_expected,
                                    timeout=seconds + 600)
            stop.set()
            await bot
    for person in people:
        person.receipt, person.ref = watch.receipts.get(person.user.id, (0.0, ""))
    by_group: dict[int, list[float]] = {}
    reached = wrong = 0
    latest = 0.0
    for person in people:
        by_group.setdefault(person.group.id, []).append(person.pressed - start)
        shown = watch.claimable.get(person.ref)
        if shown is None:
            continue
        if shown[1] != person.group.id:
            wrong += 1
            continue
        reached += 1
        latest = max(latest, shown[0] - start)
    minimum = max(physical_minimum(arrivals) for arrivals in by_group.values())
    latencies = [p.receipt - p.pressed for p in people if p.receipt]
    messages = [count for counts in watch.group_messages.values() for count in counts]
    return {
        "requests": requests, "forms_took": forms_took, "reached": reached, "wrong": wrong,
        "receipts": len(latencies), "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99), "max": max(latencies, default=0.0),
        "last_pressed": max(p.pressed for p in people) - start,
        "latest": latest, "minimum": minimum, "429": sb.count_429,
        "group_messages": len(messages), "most_in_one": max(messages, default=0),
        "busiest_group": max(len(a) for a in by_group.values()),
    }


def main() -> None:
    """Parse the size, run, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--categories", type=int, default=10)
    parser.add_argument("--groups", type=int, default=20, help="station groups, one per station")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="the storm: every request is sent within this many seconds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    f = asyncio.run(storm(args.requests, args.categories, args.groups, args.seconds, args.seed))
    ratio = f["latest"] / f["minimum"] if f["minimum"] else 0.0
    print(f"forms filled in {f['forms_took']:.1f} s; {f['requests']} requests sent within "
          f"{f['last_pressed']:.1f} s ({args.categories} categories, {args.groups} groups, "
          f"busiest group {f['busiest_group']})")
    print(f"reached their group: {f['reached']} of {f['requests']} (wrong group: {f['wrong']}) "
          f"in {f['group_messages']} group messages (up to {f['most_in_one']} requests in one)")
    print(f"receipts: {f['receipts']}; latency p50 {f['p50'] * 1000:.0f} ms, "
          f"p99 {f['p99'] * 1000:.0f} ms, max {f['max'] * 1000:.0f} ms (goal <= 2000 ms)")
    print(f"last claimable at {f['latest']:.1f} s, physical minimum {f['minimum']:.1f} s, "
          f"ratio {ratio:.3f} (goal <= 1.10)")
    print(f"429 received: {f['429']} (goal 0)")
    ok = (f["reached"] == f["requests"] and f["429"] == 0 and f["receipts"] == f["requests"]
          and f["max"] <= 2.0 and ratio <= 1.10)
    print(f"storm: {f['requests']} requests, reached {f['reached']}/{f['requests']}, "
          f"429s {f['429']}, receipt max {f['max'] * 1000:.0f} ms, claimable ratio "
          f"{ratio:.3f} -> {'goal met' if ok else 'GOAL MISSED'}")


if __name__ == "__main__":
    main()
