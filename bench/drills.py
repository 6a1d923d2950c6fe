"""Drills (issue 17): the bot as a real process against the sandbox, and things going wrong.

Each drill runs `python -m bot` as a child process (its clock given with --clock) against the
sandbox, drives citizens through the request form with real updates while volunteers claim
some of the cards (two at once on the same card), does something bad to it, and then checks
invariants, not speed:

- outage: Telegram unreachable (every connection dropped) for --outage-seconds in the middle
  of a --requests replay. Every request stored, every call delivered and none failed, every
  citizen's receipt exactly once, the admins told once.
- backup: kill -9 of `python -m bot backup FILE` while it copies a big database the bot is
  writing to. Last night's backup and the database whole (integrity_check, every request),
  and the next backup succeeds.
- disk-full: the database's disk fills up during a replay and is freed again: a clear log
  line, the bot still running, no update confirmed to Telegram that was not stored, nothing
  corrupted, and service resumes. It needs root and a small tmpfs (`mount -t tmpfs`); where
  that is not allowed it says so and is skipped (tests/test_disk_full.py makes SQLite answer
  SQLITE_FULL without privileges).
- kills: --kills kill -9 of the bot at random moments of a replay (--seed). No request lost,
  no claim won twice, each card posted once per request and each receipt sent once (a call
  Telegram answered in the moment before a kill, its mark not yet written, goes again after
  the restart: such doubles are counted apart, with the kill that explains each).

    python -m bench.drills                                      # all four, full size
    python -m bench.drills --only outage --outage-seconds 300 --requests 1000
    python -m bench.drills --only kills --kills 20 --requests 1000 --seed 3

Prints the figures of each drill, one summary line last, and exits 1 if an invariant failed.
The bot runs on the drill's clock (BENCH_START onwards). The only waits on time are the harm
itself (how long the network is down or the disk full, the random moment of a kill) and
looks, with a deadline, at what another process changes (its database, a file).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import BENCH_START
from bot.context import ShiftedClock
from sandbox import Limits, Sandbox, SimChat, SimMessage, SimUser

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:DRILL-token"
REF = re.compile(r"\d{4}-\d{6}")
CATEGORIES = [("elderly", "助老服务", "Help for the elderly"),
              ("environment", "生活环境", "Living environment"),
              ("legal", "法律援助", "Legal aid")]
RECEIPT = "Reference number"
QUESTION = "What kind of help"
NOTICE, AGREE = "Before you start", "✅ I agree, continue"  # the privacy notice, once each
OUTAGE_NOTICE = "could not be reached"
# A call Telegram answered is marked sent within the sender's MARK_WITHIN (0.1 s) or with the
# next trip to the database; a kill in between sends it again after the restart. A double
# whose first copy came this long or less before a kill is explained by that kill.
AT_LEAST_ONCE_WINDOW = 1.0
# Sandbox errors a drill expects: a killed poller's long poll, an edit made again after a
# restart ("not modified", taken as done), a press answered after it timed out.
EXPECTED_ERRORS = ("message is not modified", "query is too old")


# Where a drill keeps its database and the bot's log: a temporary folder, or (--keep) one
# left behind to read afterwards.
KEEP: list[bool] = [False]


@contextlib.contextmanager
def workspace(prefix: str) -> Iterator[str]:
    """A folder for one drill, removed afterwards unless --keep was given."""
    if KEEP[0]:
        folder = tempfile.mkdtemp(prefix=prefix)
        print(f"   (kept: {folder})", flush=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield folder


def fast_limits() -> Limits:
    """Looser limits than Telegram's, for the short drills of the test suite."""
    return Limits(private_per_second=20.0, private_burst=10, group_per_minute=120,
                  group_edits_per_minute=120, global_per_second=100)


@dataclass
class District:
    """The sandbox's people and chats, and the bot's config file."""

    sb: Sandbox
    folder: Path
    config: Path
    database: Path
    admin: SimUser
    admin_chat: SimChat
    groups: list[SimChat]
    volunteers: list[tuple[SimUser, SimUser]]  # two per group, who press Claim at once
    clock: ShiftedClock
    log: Path

    def group_of(self, chat_id: int) -> int | None:
        """The category index of a volunteer group."""
        for index, group in enumerate(self.groups):
            if group.id == chat_id:
                return index
        return None


def make_district(sb: Sandbox, folder: Path, clock: ShiftedClock, *,
                  database: Path | None = None, outage_report_after: str = "1m") -> District:
    """Chats, people and the bot's config: one volunteer group per category, an admin chat."""
    admin = sb.add_user("Admin")
    admin_chat = sb.add_group("Admins")
    admin_chat.add_member(admin, status="administrator")
    groups, volunteers = [], []
    for _, _, english in CATEGORIES:
        group = sb.add_group(f"{english} volunteers")
        pair = (sb.add_user(f"{english} volunteer A"), sb.add_user(f"{english} volunteer B"))
        for person in pair:
            group.add_member(person)
        groups.append(group)
        volunteers.append(pair)
    limits = sb.limits
    database = database or folder / "civicloop.db"
    categories = "".join(
        f'[[categories]]\ncode = "{code}"\nzh = "{zh}"\nen = "{en}"\ngroup_id = {group.id}\n'
        for (code, zh, en), group in zip(CATEGORIES, groups, strict=True))
    config = folder / "config.toml"
    config.write_text(f"""
[telegram]
base_url = "{sb.base_url}"
base_file_url = "{sb.base_file_url}"
poll_timeout = 1
[bot]
database = "{database}"
default_language = "en"
admin_ids = [{admin.id}]
admin_chat_id = {admin_chat.id}
[volunteers]
ask_hours = false
[backup]
keep = 0
[delivery]
private_per_second = {limits.private_per_second}
private_burst = {limits.private_burst}
group_per_minute = {limits.group_per_minute}
global_per_second = {min(limits.global_per_second - 1, 1000)}
outage_report_after = "{outage_report_after}"
[schedule]
# Nothing but the drill happens meanwhile: no reminder, escalation or nudge falls due.
claim_reminder = "20h"
escalate_after = "22h"
draft_nudge = "20h"
{categories}""", "utf-8")
    return District(sb, folder, config, database, admin, admin_chat, groups, volunteers,
                    clock, folder / "bot.log")


class BotProcess:
    """`python -m bot --config …` as a child process, its clock running on across restarts."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Start the process and wait until it polls Telegram."""
        sb = self.district.sb
        polls = sb.polls_started
        # Each start goes on from the drill's clock (restarting at the same moment would
        # move the bot's time backwards).
        moment = datetime.fromtimestamp(self.district.clock.now(), BENCH_START.tzinfo)
        with self.district.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(self.district.config),
                "--log-level", "INFO", "--clock", moment.isoformat(),
                cwd=ROOT, env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN},
                stdout=log, stderr=log)
        self.starts += 1
        proc = self.proc
        await sb.wait_until(lambda: sb.polls_started > polls or proc.returncode is not None,
                            timeout=timeout)
        if proc.returncode is not None:
            raise RuntimeError(f"the bot exited at start ({proc.returncode}): "
                               f"{self.log_tail()}")

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> int:
        """SIGTERM, as a service manager stops it; return the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout=60)

    def log_tail(self, lines: int = 20) -> str:
        """The end of the bot's log, for a failure message."""
        text = self.district.log.read_text("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Citizen:
    """One person of the replay and how their request went."""

    user: SimUser
    category: int
    confirmed_at: float = 0.0  # when Confirm was pressed (monotonic), 0: not yet
    ref: str = ""


@dataclass
class Contest:
    """Two volunteers pressing Claim on the same card at the same moment."""

    ref: str
    group: int
    pressers: tuple[SimUser, SimUser]


@dataclass
class Watch:
    """What the sandbox saw the bot post, timed as it happened."""

    district: District
    claim_every: int
    # ref → when each new group message showing it was posted (monotonic)
    cards: dict[str, list[float]] = field(default_factory=dict)
    # (chat, text key) → when each copy of a watched private message was posted
    private: dict[tuple[int, str], list[float]] = field(default_factory=dict)
    contests: dict[str, Contest] = field(default_factory=dict)
    seen_refs: int = 0

    def __call__(self, kind: str, chat: SimChat, message: SimMessage | None,
                 detail: str) -> None:
        """The sandbox's event hook."""
        if kind != "bot_message" or message is None:
            return
        now = time.monotonic()
        text = message.text or ""
        group = self.district.group_of(chat.id)
        if group is None:
            key = _watched_key(text)
            if key:
                self.private.setdefault((chat.id, key), []).append(now)
            return
        for ref, data in _claim_buttons(message):
            first = ref not in self.cards
            self.cards.setdefault(ref, []).append(now)
            if first:
                self.seen_refs += 1
                if self.seen_refs % self.claim_every == 0:
                    self._contest(ref, group, message, data)
        for ref in set(REF.findall(text)):
            if ref not in self.cards:  # a card without a Claim button: still a card
                self.cards[ref] = [now]

    def _contest(self, ref: str, group: int, message: SimMessage, data: str) -> None:
        """Both volunteers of the group press the card's Claim at once (two updates back to
        back, before the bot can answer either)."""
        pair = self.district.volunteers[group]
        self.contests[ref] = Contest(ref, group, pair)
        for volunteer in pair:
            self.district.sb.world.callback_query(volunteer, message, data)


def _watched_key(text: str) -> str:
    """The kind of private message whose copies a drill counts (receipts, claim details)."""
    if RECEIPT in text:
        match = REF.search(text)
        return f"receipt {match.group(0)}" if match else ""
    if "You took" in text:
        match = REF.search(text)
        return f"took {match.group(0)}" if match else ""
    return ""


def _claim_buttons(message: SimMessage) -> list[tuple[str, str]]:
    """(ref, callback data) of each Claim button of a card or a combined card."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    refs = REF.findall(message.text or "")
    found = []
    for row in rows:
        for button in row:
            data = str(button.get("callback_data", ""))
            if not data.startswith("claim:"):
                continue
            named = REF.search(button.get("text", ""))
            ref = named.group(0) if named else (refs[0] if refs else "")
            if ref:
                found.append((ref, data))
    return found


async def file_request(citizen: Citizen, n: int, timeout: float,  # noqa: ASYNC109
                       confirmed: Callable[[], None]) -> None:
    """The request form through real updates: the privacy notice agreed to, category, a
    sentence, an address, no phone."""
    user = citizen.user
    category = CATEGORIES[citizen.category][2]
    await user.send("/new")
    first = await user.wait_for(
        predicate=lambda m: QUESTION in (m.text or "") or NOTICE in (m.text or ""),
        timeout=timeout)
    if NOTICE in (first.text or ""):
        await user.press(AGREE, message=first)
        await user.wait_for(text=QUESTION, timeout=timeout)
    await user.press(category)
    await user.wait_for(text="describe the problem", timeout=timeout)
    await user.send(f"Drill request {n}: the stairwell light is out.")
    await user.wait_for(text="Where is it", timeout=timeout)
    await user.send(f"{n} Jianshe Road")
    await user.wait_for(text="How can the volunteer reach you", timeout=timeout)
    await user.tap("Skip")
    await user.wait_for(text="Is everything correct?", timeout=timeout)
    await user.press("✅ Confirm and send")
    citizen.confirmed_at = time.monotonic()
    confirmed()
    receipt = await user.wait_for(text=RECEIPT, timeout=timeout)
    match = REF.search(receipt.text or "")
    citizen.ref = match.group(0) if match else "?"


class Replay:
    """N citizens file one request each, `at_once` of them filling in forms at a time."""

    def __init__(self, district: District, requests: int, seed: int, at_once: int,
                 step_timeout: float) -> None:
        rng = random.Random(seed)
        sb = district.sb
        self.citizens = [Citizen(sb.add_user(f"Citizen {n}"), rng.randrange(len(CATEGORIES)))
                         for n in range(requests)]
        self.at_once = at_once
        self.step_timeout = step_timeout
        self.failures: list[str] = []
        self.confirmed = 0  # citizens who have pressed Confirm (drills wait on it)

    def _confirmed(self) -> None:
        self.confirmed += 1

    async def run(self) -> None:
        """Every citizen files a request; failures are kept, not raised."""
        gate = asyncio.Semaphore(self.at_once)

        async def one(n: int, citizen: Citizen) -> None:
            async with gate:
                try:
                    await file_request(citizen, n, self.step_timeout, self._confirmed)
                except (TimeoutError, LookupError) as exc:
                    self.failures.append(f"{citizen.user.first_name}: {exc}")

        await asyncio.gather(*(one(n, c) for n, c in enumerate(self.citizens)))


@dataclass
class Report:
    """A drill's figures and the invariants it found broken."""

    name: str
    figures: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: str = ""

    def say(self, line: str) -> None:
        """Add a figure line."""
        self.figures.append(line)

    def check(self, ok: bool, what: str) -> None:
        """Keep `what` as a failure unless `ok`."""
        if not ok:
            self.failures.append(what)

    @property
    def ok(self) -> bool:
        """True when no invariant failed."""
        return not self.failures


def read_database(path: Path, citizens: set[int]) -> dict[str, Any]:
    """What the drills check in the database (the requests of `citizens`), read with a
    connection of its own."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        rows = [(int(row[0]), str(row[1]), row[2]) for row in conn.execute(
            "SELECT citizen_id, ref, volunteer_id FROM requests") if int(row[0]) in citizens]
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
            "requests": {citizen: (ref, volunteer) for citizen, ref, volunteer in rows},
            "per_citizen": Counter(citizen for citizen, _, _ in rows),
            "claims": Counter(str(row[0]) for row in conn.execute(
                "SELECT r.ref FROM events e JOIN requests r ON r.id = e.request_id "
                "WHERE e.kind = 'claimed'")),
            "outbox": Counter(str(row[0]) for row in conn.execute(
                "SELECT status FROM outbox")),
            "failed_calls": [tuple(row) for row in conn.execute(
                "SELECT id, method, last_error FROM outbox WHERE status = 'failed' LIMIT 5")],
            "unhandled": conn.execute(
                "SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL").fetchone()[0],
            "inbox": tuple(conn.execute(
                "SELECT COUNT(*), MIN(update_id), MAX(update_id) FROM inbox").fetchone()),
        }
    finally:
        conn.close()


def pending_calls(path: Path) -> int:
    """Calls still waiting in the outbox (read beside the running bot)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()[0])
    finally:
        conn.close()


async def poll_until(condition: Callable[[], bool], timeout: float,  # noqa: ASYNC109
                     every: float = 0.2) -> None:
    """Wait until `condition()` holds, looking every `every` seconds: for what another
    process changes (a file, the bot's database), which nothing here is woken by."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout:.0f} s")
        await asyncio.sleep(every)


async def settle(district: District, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until Telegram holds no update for the bot and its outbox is empty."""
    sb = district.sb
    await poll_until(lambda: not sb.updates and pending_calls(district.database) == 0,
                     timeout, every=0.5)


@contextlib.asynccontextmanager
async def running_district(folder: Path, limits: Limits, **settings: Any
                           ) -> AsyncIterator[tuple[District, BotProcess]]:
    """A sandbox, its district and the bot process serving it (killed if still running)."""
    clock = ShiftedClock(BENCH_START.timestamp())  # the bot's, and the messages' dates
    async with Sandbox(token=TOKEN, limits=limits, clock=clock.now) as sb:
        district = make_district(sb, folder, clock, **settings)
        bot = BotProcess(district)
        await bot.start()
        try:
            await open_bot(district)
            yield district, bot
        finally:
            if bot.running:
                await bot.kill()


async def open_bot(district: District) -> None:
    """Every volunteer opens the bot in private, so it may send them a claim's details."""
    for pair in district.volunteers:
        for volunteer in pair:
            await volunteer.send("/start")
            await volunteer.wait_for(text="Choose below", timeout=60)


def check_replay(report: Report, district: District, replay: Replay, watch: Watch,
                 kills: Sequence[float] = ()) -> dict[str, Any]:
    """The invariants every replay drill shares, from the sandbox and the stopped bot's
    database; doubles explained by a kill are counted apart."""
    citizens = replay.citizens
    db = read_database(district.database, {c.user.id for c in citizens})
    sb = district.sb
    report.check(db["integrity"] == "ok", f"integrity_check: {db['integrity']}")
    lost = [c.user.first_name for c in citizens if c.user.id not in db["requests"]]
    twice = [c.user.first_name for c in citizens if db["per_citizen"][c.user.id] > 1]
    report.say(f"requests: {len(db['requests'])} in the database of {len(citizens)} filed "
               f"({len(replay.failures)} citizens left without an answer)")
    report.check(not lost, f"{len(lost)} requests lost: {lost[:5]}")
    report.check(not twice, f"{len(twice)} citizens have two requests: {twice[:5]}")
    report.check(not replay.failures, f"{len(replay.failures)} citizens stuck: "
                                      f"{replay.failures[:3]}")

    def explained(copies: list[float]) -> bool:
        """A second copy is explained by a kill right after the first was posted."""
        return len(copies) == 2 and any(
            copies[0] <= k <= copies[0] + AT_LEAST_ONCE_WINDOW for k in kills)

    receipts = {c.user.id: watch.private.get(
        (c.user.id, f"receipt {db['requests'].get(c.user.id, (c.ref, None))[0]}"), [])
        for c in citizens}
    no_receipt = [i for i, copies in receipts.items() if not copies]
    doubled = {i: copies for i, copies in receipts.items() if len(copies) > 1}
    by_kill = [i for i, copies in doubled.items() if explained(copies)]
    report.say(f"receipts: {sum(1 for c in receipts.values() if c)} of {len(citizens)}; "
               f"sent twice: {len(doubled)} ({len(by_kill)} by a kill in the at-least-once "
               f"window)")
    report.check(not no_receipt, f"{len(no_receipt)} citizens got no receipt")
    report.check(len(doubled) == len(by_kill),
                 f"{len(doubled) - len(by_kill)} receipts sent twice, not explained by a kill")

    refs = {ref for ref, _ in db["requests"].values()}
    cards_missing = sorted(refs - set(watch.cards))
    cards_doubled = {ref: copies for ref, copies in watch.cards.items() if len(copies) > 1}
    cards_by_kill = [ref for ref, copies in cards_doubled.items() if explained(copies)]
    report.say(f"cards: {len(refs) - len(cards_missing)} of {len(refs)} requests shown in "
               f"their group; posted twice: {len(cards_doubled)} ({len(cards_by_kill)} by a "
               f"kill)")
    report.check(not cards_missing, f"{len(cards_missing)} requests never shown: "
                                    f"{cards_missing[:5]}")
    report.check(len(cards_doubled) == len(cards_by_kill),
                 f"{len(cards_doubled) - len(cards_by_kill)} cards posted twice, not by a kill")

    double_claims, wrong_told, untold = [], [], []
    took_doubled = took_by_kill = 0
    by_ref = {ref: volunteer for ref, volunteer in db["requests"].values()}
    for ref, contest in watch.contests.items():
        if db["claims"][ref] != 1:
            double_claims.append(f"{ref}: {db['claims'][ref]} claims")
        winner = by_ref.get(ref)
        for volunteer in contest.pressers:
            copies = watch.private.get((volunteer.id, f"took {ref}"), [])
            if volunteer.id == winner and not copies:
                untold.append(ref)
            if volunteer.id != winner and copies:
                wrong_told.append(f"{ref}: {volunteer.first_name} told they took it")
            if len(copies) > 1:
                took_doubled += 1
                took_by_kill += explained(copies)
    report.say(f"contested claims: {len(watch.contests)} cards pressed by two volunteers at "
               f"once; claimed twice: {len(double_claims)}; the loser told they won: "
               f"{len(wrong_told)}; details sent twice: {took_doubled} ({took_by_kill} by a "
               f"kill)")
    report.check(not double_claims, f"double claims: {double_claims[:5]}")
    report.check(not wrong_told, f"losers told they won: {wrong_told[:5]}")
    report.check(not untold, f"winners never told: {untold[:5]}")
    report.check(took_doubled == took_by_kill,
                 f"{took_doubled - took_by_kill} claim details sent twice, not by a kill")

    stored, first, last = db["inbox"]
    sent = sb.world.last_update_id
    report.say(f"updates: {sent} sent by Telegram, {stored} stored ({db['unhandled']} not "
               f"handled), {len(sb.updates)} still with Telegram")
    # Every update Telegram sent is in the inbox, once: none was confirmed unstored.
    report.check((stored, first, last) == (sent, 1, sent),
                 f"the inbox holds {stored} updates ({first}..{last}) of the {sent} sent")
    outbox = db["outbox"]
    report.say(f"outbox: {outbox['sent']} sent, {outbox['failed']} failed, "
               f"{outbox['pending']} pending")
    report.check(outbox["failed"] == 0, f"failed calls: {db['failed_calls']}")
    report.check(outbox["pending"] == 0, f"{outbox['pending']} calls never sent")
    report.check(db["unhandled"] == 0, f"{db['unhandled']} stored updates never handled")
    report.check(not sb.updates, f"{len(sb.updates)} updates never fetched")
    expected = EXPECTED_ERRORS + (("Too Many Requests",) if kills else ())
    unexpected = [e for e in sb.errors if e[0] != "getUpdates"
                  and not any(known in e[1] for known in expected)]
    if kills:
        # A restarted sender counts what the killed one marked sent, but not the calls it
        # made in its last moment (in flight, or answered and not yet marked: these go
        # again): its first calls may overstep, and Telegram says so (429, retry after);
        # they wait and go. Counted, not failed.
        throttled = Counter(
            ("group" if int(params.get("chat_id", 0)) < 0 else "private",
             int(body.get("parameters", {}).get("retry_after", 0)))
            for _, params, body in sb.calls
            if isinstance(body, dict) and body.get("error_code") == 429)
        said = ", ".join(f"{n} {kind} (retry after {after} s)"
                         for (kind, after), n in sorted(throttled.items()))
        report.say(f"429s: {sb.count_429} after restarts{': ' + said if said else ''}; "
                   f"other refusals: {len(unexpected)}")
    else:
        report.say(f"429s: {sb.count_429}; other refusals: {len(unexpected)}")
        report.check(sb.count_429 == 0, f"{sb.count_429} calls answered 429")
    report.check(not unexpected, f"refused calls: {unexpected[:5]}")
    return db


async def outage_drill(requests: int, outage_seconds: float, seed: int = 1,
                       limits: Limits | None = None, at_once: int = 50,
                       claim_every: int = 3, report_after: str = "1m") -> Report:
    """Telegram unreachable for `outage_seconds` a third of the way into the replay."""
    report = Report("outage")
    with workspace("drill-outage-") as folder:
        async with running_district(Path(folder), limits or Limits(),
                                    outage_report_after=report_after) as (district, bot):
            sb = district.sb
            watch = Watch(district, claim_every)
            sb.on_event(watch)
            replay = Replay(district, requests, seed, at_once,
                            step_timeout=outage_seconds + 180)
            began = time.monotonic()
            filing = asyncio.create_task(replay.run())
            await sb.wait_until(lambda: replay.confirmed >= requests // 3 or filing.done(),
                                timeout=requests * 5 + 60)
            sb.unreachable = True
            down_at = time.monotonic()
            at = replay.confirmed
            # The outage itself: the network stays down this long whatever the bot does.
            await asyncio.sleep(outage_seconds)
            dropped = Counter(sb.dropped)
            sb.unreachable = False
            report.say(f"network down for {time.monotonic() - down_at:.0f} s after "
                       f"{at} of {requests} requests were sent; calls dropped meanwhile: "
                       f"getUpdates {dropped['getUpdates']}, others "
                       f"{sum(dropped.values()) - dropped['getUpdates']}")
            await filing
            await settle(district, timeout=outage_seconds + 600)
            with contextlib.suppress(TimeoutError):
                await district.admin_chat.wait_for(text=OUTAGE_NOTICE, timeout=60)
            report.say(f"replay took {time.monotonic() - began:.0f} s")
            code = await bot.stop()
            report.check(code == 0, f"the bot exited {code} on SIGTERM")
            check_replay(report, district, replay, watch)
            notices = [m.text or "" for m in district.admin_chat.bot_messages()
                       if OUTAGE_NOTICE in (m.text or "")]
            report.say(f"outage reports to the admins: {len(notices)}"
                       + (f" ({notices[0][:120]!r})" if notices else ""))
            report.check(len(notices) == 1, f"{len(notices)} outage reports, not one")
    return report


async def kills_drill(requests: int, kills: int, seed: int = 1, limits: Limits | None = None,
                      at_once: int = 50, claim_every: int = 3) -> Report:
    """`kills` kill -9 of the bot at random moments of the replay, each restarted at once."""
    report = Report("kills")
    rng = random.Random(seed)
    # When each kill comes: after a random share of the requests is sent, then a random
    # moment more (up to half a second), so kills land in every phase of the work.
    points = sorted(rng.randrange(1, max(2, requests)) for _ in range(kills))
    with workspace("drill-kills-") as folder:
        async with running_district(Path(folder), limits or Limits()) as (district, bot):
            sb = district.sb
            watch = Watch(district, claim_every)
            sb.on_event(watch)
            replay = Replay(district, requests, seed, at_once, step_timeout=240)
            began = time.monotonic()
            filing = asyncio.create_task(replay.run())
            killed: list[float] = []
            downtime = 0.0
            for point in points:
                def reached(point: int = point) -> bool:
                    return replay.confirmed >= point or filing.done()

                await sb.wait_until(reached, timeout=requests * 5 + 60)
                # A random moment, not a synchronisation: where the kill lands is the drill.
                await asyncio.sleep(rng.uniform(0.0, 0.5))
                await bot.kill()
                killed.append(time.monotonic())
                await bot.start()
                downtime += time.monotonic() - killed[-1]
            await filing
            if bot.running:
                # Claims pressed in the last moments may still wait for an answer.
                await settle(district, timeout=600)
            report.say(f"{len(killed)} kill -9 during the replay (seed {seed}); back to "
                       f"polling in {downtime / max(1, len(killed)):.1f} s on average; "
                       f"replay took {time.monotonic() - began:.0f} s")
            code = await bot.stop()
            report.check(code == 0, f"the bot exited {code} on SIGTERM")
            check_replay(report, district, replay, watch, killed)
    return report


async def seed_requests(database: Path, count: int) -> None:
    """Fill a database with `count` requests quickly (a district's years), for a big backup."""
    from storage import Database  # only this drill writes the database itself

    db = await Database.open(database)
    try:
        now = BENCH_START.timestamp()
        async with db.transaction() as repo:
            await repo.people.bulk_users([1], now)
        chunk = 20_000
        for first in range(1, count + 1, chunk):
            async with db.transaction() as repo:
                await repo.requests.bulk_requests([
                    {"ref": f"2019-{n:06d}", "citizen_id": 1, "language": "zh",
                     "category": "elderly", "description": "Seeded: " + "x" * 300,
                     "area_id": None, "created_at": now - 86400 * 900 + n,
                     "updated_at": now - 86400 * 900 + n, "status": "closed",
                     "events": [("created", now - 86400 * 900 + n, 1)]}
                    for n in range(first, min(count, first + chunk - 1) + 1)])
    finally:
        await db.close()


def count_requests(path: Path) -> int:
    """Requests in a database or backup (after its integrity check; -1 if it fails)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            return -1
        return int(conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
    finally:
        conn.close()


async def backup_drill(seeded: int, requests: int, seed: int = 1,
                       limits: Limits | None = None, at_once: int = 20,
                       kill_within: float = 0.2) -> Report:
    """kill -9 of `python -m bot backup` mid-copy while the bot serves a replay."""
    report = Report("backup")
    rng = random.Random(seed)
    with workspace("drill-backup-") as folder:
        base = Path(folder)
        database = base / "civicloop.db"
        await seed_requests(database, seeded)
        async with running_district(base, limits or Limits()) as (district, bot):
            sb = district.sb
            watch = Watch(district, claim_every=4)
            sb.on_event(watch)
            nightly = base / "backups" / "nightly.db"
            first = await run_backup(district, nightly)
            report.check(first.returncode == 0, f"the first backup failed: {first.stderr}")
            before = nightly.read_bytes()
            report.say(f"last night's backup: {seeded} seeded requests, "
                       f"{len(before) / 1e6:.1f} MB")
            replay = Replay(district, requests, seed, at_once, step_timeout=240)
            filing = asyncio.create_task(replay.run())
            await sb.wait_until(lambda: replay.confirmed >= requests // 4 or filing.done(),
                                timeout=requests * 5 + 60)
            copying, partial = await start_backup(district, nightly)
            await wait_for_file(partial, timeout=60)
            in_copy = time.monotonic()
            await asyncio.sleep(rng.uniform(0.0, kill_within))  # a random moment of it
            alive = copying.returncode is None
            copying.kill()
            await copying.wait()
            report.say(f"the backup killed {time.monotonic() - in_copy:.2f} s after its copy "
                       f"began, {'while it ran' if alive else 'AFTER IT HAD ENDED'}; "
                       f"partial file {'left' if partial.exists() else 'gone'}")
            report.check(alive, "the backup ended before the kill: make the database bigger")
            report.check(nightly.read_bytes() == before, "last night's backup changed")
            report.check(count_requests(nightly) == seeded,
                         "last night's backup is not whole")
            # The next backup at once, while citizens go on filing requests.
            committed = count_requests(database)
            report.check(committed >= seeded, f"the database is not whole ({committed})")
            began = time.monotonic()
            after = await run_backup(district, nightly)
            took = time.monotonic() - began
            report.check(after.returncode == 0, f"the next backup failed: {after.stderr}")
            held = count_requests(nightly) if after.returncode == 0 else -1
            report.say(f"the next backup, taken while the bot kept writing: exit "
                       f"{after.returncode} in {took:.1f} s, {held} requests ({committed} were "
                       f"committed when it began), integrity {'ok' if held >= 0 else 'FAILED'}")
            report.check(held >= committed, f"the next backup holds {held} requests, fewer "
                                            f"than the {committed} committed before it")
            report.check(not partial.exists(), "a partial file is left after the next backup")
            await filing
            await settle(district, timeout=600)
            live = count_requests(database)
            report.check(live == seeded + requests,
                         f"the database holds {live} requests, not {seeded + requests}")
            code = await bot.stop()
            report.check(code == 0, f"the bot exited {code} on SIGTERM")
            check_replay(report, district, replay, watch)
    return report


@dataclass
class Finished:
    """A command's outcome."""

    returncode: int
    stdout: str
    stderr: str


async def start_backup(district: District, dest: Path
                       ) -> tuple[asyncio.subprocess.Process, Path]:
    """Start `python -m bot backup DEST` beside the running bot."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(district.config), "backup", str(dest),
        cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return proc, dest.with_name(dest.name + ".partial")


async def run_backup(district: District, dest: Path) -> Finished:
    """`python -m bot backup DEST` to its end."""
    proc, _ = await start_backup(district, dest)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=600)
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode(), err.decode())


async def wait_for_file(path: Path, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until a file another process writes exists and has something in it."""
    await poll_until(lambda: path.exists() and path.stat().st_size > 0, timeout, every=0.005)


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Any:
    """A tmpfs of `megabytes` at `folder` (root and mount needed), unmounted after."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        raise PermissionError(mounted.stderr.strip() or "mount failed")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> Path:
    """Fill a disk until no byte is free; return the file that holds the space."""
    ballast = folder / "ballast"
    fd = os.open(ballast, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        for size in (1 << 16, 512, 1):  # big blocks, then what is left
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return ballast


async def disk_full_drill(requests: int, full_seconds: float, seed: int = 1,
                          limits: Limits | None = None, at_once: int = 20,
                          megabytes: int = 16) -> Report:
    """The database's disk fills up a third of the way into a replay, and is freed again
    `full_seconds` later."""
    report = Report("disk-full")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        report.skipped = "needs root and mount(8) for a small tmpfs"
        return report
    with workspace("drill-disk-") as folder:
        disk = Path(folder) / "disk"
        try:
            with small_disk(disk, megabytes):
                await _disk_full(report, Path(folder), disk, requests, full_seconds, seed,
                                 limits or Limits(), at_once)
        except PermissionError as exc:
            report.skipped = f"cannot mount a tmpfs here: {exc}"
    return report


async def _disk_full(report: Report, folder: Path, disk: Path, requests: int,
                     full_seconds: float, seed: int, limits: Limits, at_once: int) -> None:
    async with running_district(folder, limits, database=disk / "civicloop.db") as (
            district, bot):
        sb = district.sb
        watch = Watch(district, claim_every=3)
        sb.on_event(watch)
        replay = Replay(district, requests, seed, at_once, step_timeout=full_seconds + 300)
        filing = asyncio.create_task(replay.run())
        await sb.wait_until(lambda: replay.confirmed >= requests // 3 or filing.done(),
                            timeout=requests * 5 + 60)
        log_start = district.log.stat().st_size
        ballast = fill(disk)
        full_at = time.monotonic()
        confirmed = replay.confirmed

        def log_since() -> str:
            with district.log.open("rb") as log:
                log.seek(log_start)
                return log.read().decode("utf-8", "replace")

        # The disk stays full this long whatever the bot does: that is the drill.
        await asyncio.sleep(full_seconds)
        said = log_since()
        report.check("database is full" in said, "no 'database is full' line in the log")
        report.check(bot.running, f"the bot died on a full disk: {bot.log_tail()}")
        held = len(sb.updates)
        report.say(f"disk full for {time.monotonic() - full_at:.0f} s after {confirmed} of "
                   f"{requests} requests were sent; the bot "
                   f"{'still running' if bot.running else 'DIED'}; updates Telegram still held "
                   f"(not confirmed, since not stored): {held}; requests sent meanwhile: "
                   f"{replay.confirmed - confirmed}")
        ballast.unlink()
        freed_at = time.monotonic()
        await filing
        await settle(district, timeout=600)
        report.say(f"space freed: the replay finished {time.monotonic() - freed_at:.0f} s "
                   f"later")
        code = await bot.stop()
        report.check(code == 0, f"the bot exited {code} on SIGTERM")
        check_replay(report, district, replay, watch)
        lines = [line.split(" ", 2)[-1] for line in log_since().splitlines()
                 if " ERROR " in line or " WARNING " in line or "CRITICAL" in line]
        report.say(f"warnings and errors in the log since: {len(lines)}")
        for line in lines[:6]:
            report.say(f"  {line[:200]}")
        report.check(not any("Traceback" in line for line in log_since().splitlines()),
                     "a traceback in the log")


DRILLS = ("outage", "backup", "disk-full", "kills")


def main() -> None:
    """Parse the sizes, run the drills asked for, print the figures and one summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=DRILLS, action="append",
                        help="run this drill (repeatable); default: all four")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--outage-seconds", type=float, default=300.0)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--full-seconds", type=float, default=60.0,
                        help="how long the disk stays full in the disk-full drill")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--at-once", type=int, default=50,
                        help="citizens filling in the form at the same time")
    parser.add_argument("--backup-seeded", type=int, default=300_000,
                        help="requests in the database the backup drill copies")
    parser.add_argument("--fast", action="store_true",
                        help="looser flood limits than Telegram's (quicker, less real)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each drill's folder (database, the bot's log)")
    args = parser.parse_args()
    KEEP[0] = args.keep
    # An outage is reported once it lasted this long: a minute, or half a short outage.
    report_after = f"{max(1, min(60, int(args.outage_seconds // 2)))}s"
    limits = fast_limits() if args.fast else Limits()
    chosen = args.only or list(DRILLS)
    runs: dict[str, Callable[[], Coroutine[Any, Any, Report]]] = {
        "outage": lambda: outage_drill(args.requests, args.outage_seconds, args.seed, limits,
                                       args.at_once, report_after=report_after),
        "backup": lambda: backup_drill(args.backup_seeded, max(20, args.requests // 10),
                                       args.seed, limits),
        "disk-full": lambda: disk_full_drill(max(30, args.requests // 5), args.full_seconds,
                                             args.seed, limits),
        "kills": lambda: kills_drill(args.requests, args.kills, args.seed, limits,
                                     args.at_once),
    }
    reports = []
    for name in chosen:
        began = time.monotonic()
        report = asyncio.run(runs[name]())
        reports.append(report)
        verdict = ("skipped: " + report.skipped if report.skipped
                   else "ok" if report.ok else "FAILED")
        print(f"== {name} ({time.monotonic() - began:.0f} s): {verdict}", flush=True)
        for line in report.figures:
            print(f"   {line}")
        for line in report.failures:
            print(f"   !! {line}")
    failed = [r.name for r in reports if not r.skipped and not r.ok]
    skipped = [r.name for r in reports if r.skipped]
    passed = [r.name for r in reports if not r.skipped and r.ok]
    print(f"drills: {len(passed)} passed ({', '.join(passed) or '-'}), {len(failed)} failed "
          f"({', '.join(failed) or '-'}), {len(skipped)} skipped ({', '.join(skipped) or '-'})"
          f" -> {'FAILED' if failed else 'all invariants held'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
