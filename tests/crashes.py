"""The crash harness: the real bot as a child process, killed with SIGKILL right after chosen
Bot API calls (the call done, its answer not yet read: the worst moment for at-least-once),
and started again at once, as a service manager would. A story drives a loop from outside,
as people would, and the invariants are read at the end from the sandbox and the database.

`tests/test_crashes_e2e.py` runs a few kill patterns; a longer sweep, a kill after every
call in turn:

    python -m tests.crashes --story requests --upto 40   (one run per call; minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox import Sandbox, SimChat, SimMessage, SimUser

ROOT = Path(__file__).resolve().parent.parent
VENUE = (34.855, 117.570)  # where loop 2's activity takes place, in the example area tree
# What every start does before it polls (who am I, the command menus, the webhook): the same
# calls at each restart, so they are not counted as the story's; `kill_at_start` kills there.
STARTUP = frozenset({"getMe", "deleteMyCommands", "setMyCommands", "getWebhookInfo",
                     "deleteWebhook"})
STEP = 30.0  # seconds a step may take: a kill and a restart (about a second) fit many times


class Crashing:
    """`python -m bot` run again at once whenever it dies, killed after chosen calls.

    Calls are counted as the sandbox carries them out, getUpdates (how often it polls
    depends on timing) and the start's own calls aside: the others follow the story. Call n
    is killed after if n is in `kill_after`: the sandbox has done what was asked (the
    message is in the chat) and the bot never hears so. `kill_at_start` n kills the first
    process after the n-th call of its start (0: none).
    """

    def __init__(self, sb: Sandbox, config: Path, now: Callable[[], float],
                 kill_after: set[int], log: Path, token: str, kill_at_start: int = 0,
                 set_clock: Callable[[float], None] | None = None) -> None:
        self.sb = sb
        self.config = config
        self.now = now
        self.set_clock = set_clock or (lambda moment: None)
        self.kill_after = kill_after
        self.kill_at_start = kill_at_start
        self.startup_calls = 0
        self.log = log
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": token}
        self.calls = 0
        self.kills: list[tuple[int, str, dict[str, Any]]] = []  # (call number, method, params)
        self.starts = 0
        self.proc: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    def _after_call(self, method: str) -> None:
        if method == "getUpdates":
            return
        proc = self.proc
        if method in STARTUP:
            self.startup_calls += 1
            if self.startup_calls == self.kill_at_start and proc is not None:
                os.kill(proc.pid, signal.SIGKILL)
                self.kills.append((0, method, self.sb.calls[-1][1]))
            return
        self.calls += 1
        if self.calls in self.kill_after and proc is not None and proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)  # before the sandbox answers: the answer is lost
            _, params, _ = self.sb.calls[-1]
            self.kills.append((self.calls, method, params))

    async def _spawn(self) -> None:
        moment = datetime.fromtimestamp(self.now(), UTC).isoformat()  # the story's clock runs on
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(self.config),
                "--log-level", "WARNING", "--clock", moment,
                cwd=ROOT, env=self.env, stdout=out, stderr=out)
        self.starts += 1

    async def start(self) -> None:
        """Start the bot, keep it running, and wait until it first polls."""
        self.sb.after_call = self._after_call
        polls = self.sb.polls_started
        await self._spawn()
        self._watch = asyncio.create_task(self._keep_running())
        await self.sb.wait_until(lambda: self.sb.polls_started > polls, timeout=STEP * 2)

    async def _keep_running(self) -> None:
        while True:
            proc = self.proc
            assert proc is not None
            await proc.wait()
            if self._stopping:
                return
            await self._spawn()

    async def stop(self) -> int:
        """SIGTERM once the story is over; the exit code."""
        self._stopping = True
        self.sb.after_call = None
        proc = self.proc
        assert proc is not None
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), timeout=STEP)
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        return code

    async def kill(self) -> None:
        """At the end of a failed story: no process may outlive the test."""
        self._stopping = True
        self.sb.after_call = None
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch

    async def later(self, moment: float) -> None:
        """The story's clock jumps to `moment` (the day of the activity, say): the bot, which
        runs on its own copy of the clock, is killed and starts again at the new time."""
        from tests.flows import eventually

        self.set_clock(moment)
        proc = self.proc
        assert proc is not None
        polls = self.sb.polls_started
        if proc.returncode is None:
            proc.kill()
            self.kills.append((self.calls, "clock", {}))

        async def again() -> bool:
            return self.proc is not proc and self.sb.polls_started > polls

        await eventually(again, timeout=STEP)

    def kills_on(self, text: str) -> int:
        """How many kills came right after a call whose parameters hold `text`."""
        return sum(1 for _, _, params in self.kills if text in str(params))


@dataclass
class Verdict:
    """What a story under kills found broken (empty: everything held)."""

    broken: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        """Keep `what` if it does not hold."""
        if not ok:
            self.broken.append(what)


async def wait(chat: SimChat, text: str) -> SimMessage:
    """The next unread message with `text` in `chat`, however many restarts it takes."""
    return await chat.wait_for(text=text, timeout=STEP)


def sent(chat: SimChat, text: str) -> int:
    """How many messages the bot sent into `chat` holding `text` (edits are not sends)."""
    return len([m for m in chat.messages if m.from_bot and text in (m.text or "")])


def at_least_once(verdict: Verdict, bot: Crashing, chat: SimChat, text: str) -> None:
    """`text` reached `chat` at least once, and again only as often as kills may explain:
    a message whose call was killed before its answer came back, or before its mark was
    written (the sender marks within a second), goes again after the restart."""
    n = sent(chat, text)
    verdict.check(n >= 1, f"{chat.label}: {text!r} never arrived")
    verdict.check(n <= 1 + len(bot.kills),
                  f"{chat.label}: {text!r} arrived {n} times with {len(bot.kills)} kills")
    if n > 1:
        verdict.figures.append(f"{chat.label}: {text!r} × {n}")


async def settle(database: Path) -> None:
    """Wait until the running bot has handled every update it stored and made every call it
    queued (a message in flight at a kill goes again after the restart)."""
    from tests.flows import eventually

    async def idle() -> bool:
        try:
            return not database_rows(
                database, "SELECT 1 FROM outbox WHERE status = 'pending' UNION ALL "
                          "SELECT 1 FROM inbox WHERE processed_at IS NULL")
        except sqlite3.OperationalError:  # busy for a moment: look again
            return False

    await eventually(idle, timeout=STEP)


def database_rows(database: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query on the stopped bot's database."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        return list(db.execute(sql, args))


def common_checks(verdict: Verdict, sb: Sandbox, bot: Crashing, database: Path,
                  log: Path) -> None:
    """What every story must leave: nothing stuck in the outbox, every update handled, no
    traceback, and Telegram refusing nothing but what a kill explains."""
    unsent = database_rows(database, "SELECT id, status, method, last_error FROM outbox "
                                     "WHERE status != 'sent'")
    verdict.check(unsent == [], f"outbox rows not sent: {unsent}")
    unhandled = database_rows(database, "SELECT update_id FROM inbox "
                                        "WHERE processed_at IS NULL")
    verdict.check(unhandled == [], f"updates never handled: {unhandled}")
    text = log.read_text("utf-8", "replace")
    verdict.check("Traceback" not in text and "CRITICAL" not in text,
                  f"the log has a traceback:\n{text[-3000:]}")
    refused = [(m, d) for m, d in sb.errors
               if m != "getUpdates" and "message is not modified" not in d
               and "query is too old" not in d]
    verdict.check(refused == [], f"Telegram refused: {refused}")
    verdict.figures.append(f"{bot.calls} calls, {len(bot.kills)} kills after calls "
                           f"{[(n, m) for n, m, _ in bot.kills]}, {bot.starts} starts")


Story = Callable[["World", Crashing, Verdict], Awaitable[None]]


@dataclass
class World:
    """The people and chats of a story, and where its bot keeps its database."""

    sb: Sandbox
    database: Path
    citizen: SimUser
    volunteer: SimUser
    other: SimUser  # a second volunteer, who presses what he finds left to press
    group: SimChat
    admin_chat: SimChat
    admin: SimUser
    office: SimChat  # the Guangminglu office's chat (loop 3), bound by the story


async def request_loop(world: World, bot: Crashing, verdict: Verdict) -> None:
    """Loop 1: Alice files a request, Li claims it and marks it done, Alice confirms and
    rates it five stars with a comment."""
    alice, li, group = world.citizen, world.volunteer, world.group
    await li.send("/start")
    await wait(li.private, "Choose below")
    await alice.send("/start")
    await wait(alice.private, "Choose below")
    await alice.press("📝 New request")
    first = await alice.private.wait_for(
        predicate=lambda m: "Before you start" in (m.text or "")
        or "What kind of help" in (m.text or ""), timeout=STEP)
    if "Before you start" in (first.text or ""):
        await alice.press("✅ I agree, continue")
        await wait(alice.private, "What kind of help")
    await alice.press("Help for the elderly")
    await wait(alice.private, "describe the problem")
    await alice.send("My kitchen tap is leaking and I cannot fix it.")
    await wait(alice.private, "Where is it")
    await alice.send("12 Jianshe Road, building 3")
    await wait(alice.private, "How can the volunteer reach you")
    await alice.tap("📞 Share my phone number")
    await wait(alice.private, "Is everything correct?")
    await alice.press("✅ Confirm and send")
    receipt = await wait(alice.private, "Reference number")
    ref = next(word for word in (receipt.text or "").split() if word.count("-") == 1
               and word.split("-")[0].isdigit())
    card = await wait(group, ref)
    await li.press("🙋 Claim", chat=group, message=card)
    await wait(li.private, "+8613800000001")
    await wait(alice.private, "a volunteer has taken your request")
    await li.press("✅ Done")
    await wait(li.private, "Write a short note")
    await li.send("Replaced the washer, no more leak.")
    await wait(li.private, "marked done")
    await wait(alice.private, "resolved?")
    await alice.press("👍 Yes, resolved")
    await wait(alice.private, "How would you rate")
    await alice.press("⭐⭐⭐⭐⭐")
    await wait(alice.private, "add a comment")
    await alice.send("Very kind, thank you!")
    await wait(alice.private, "Your request is closed")
    # A card posted twice (its answer lost to a kill) leaves a copy the bot does not know,
    # still showing Claim: Zhang presses it, and it must then show the request as taken.
    cards = [m for m in group.messages if m.from_bot and ref in (m.text or "")]
    for copy in cards:
        if "🙋 Claim" in copy.buttons:
            await world.other.press("🙋 Claim", chat=group, message=copy)
    await settle(world.database)
    await bot.stop()

    rows = database_rows(world.database, "SELECT ref, status, rating FROM requests")
    verdict.check(rows == [(ref, "closed", 5)], f"requests: {rows}")
    for chat, text in ((alice.private, "Reference number"),
                       (alice.private, "a volunteer has taken your request"),
                       (alice.private, "Replaced the washer"),
                       (alice.private, "Your request is closed"),
                       (li.private, "+8613800000001"),
                       (li.private, "marked done"),
                       (group, ref)):
        at_least_once(verdict, bot, chat, text)
    verdict.check(all("🙋 Claim" not in m.buttons for m in cards),
                  f"a card left claimable: {[(m.message_id, m.text, m.buttons) for m in cards]}")


async def supervision_loop(world: World, bot: Crashing, verdict: Verdict) -> None:
    """Loop 3: the admin makes Li an inspector and binds the Guangminglu office's chat with
    Zhang acting for it; Li reports a problem at Guangming Lane 1 with a photo; Zhang
    receives it and rectifies it with an after photo; Li re-checks it and passes it."""
    admin, li, zhang, office = world.admin, world.volunteer, world.other, world.office
    for person in (admin, li, zhang):
        await person.send("/start")
        await wait(person.private, "Choose below")
    await admin.send(f"/inspector add {li.id} G1")
    await wait(admin.private, "Li now inspects for G1")
    await admin.send("/patrol G1 area:guangminglu")
    await wait(admin.private, "G1 patrols these")
    await admin.send("/bind unit guangminglu-office", chat=office)
    await wait(office, "now the chat of Guangminglu Subdistrict Office")
    await admin.send(f"/unitmember add guangminglu-office {zhang.id}")
    await wait(admin.private, "Zhang now acts for")

    await li.send("/inspect")
    await wait(li.private, "Which point are you at?")
    await li.tap("📍 Send my location", latitude=34.85330, longitude=117.57260)
    nearest = await wait(li.private, "Nearest first")
    await li.press("Guangming Lane 1 · 0 m", message=nearest)
    await wait(li.private, "did you find a problem here?")
    await li.press("⚠️ Report a problem")
    await wait(li.private, "What kind of problem")
    await li.press("Street vending")
    await wait(li.private, "at least one before photo")
    await li.send_photo()
    await wait(li.private, "Photo 1 kept")
    await li.press("➡️ Done with photos")
    await wait(li.private, "Describe the problem")
    await li.send("Three stalls block the lane")
    await wait(li.private, "How serious is it?")
    await li.press("🟠 Normal: 3 days")
    await wait(li.private, "Check before sending")
    await li.press("📨 Send to the unit")
    reported = await wait(li.private, "is reported and goes to")
    ref = next(word for word in (reported.text or "").split() if word.startswith("D2026-"))
    await wait(li.private, "1 problem(s) reported on this visit")
    await li.press("🏁 Finish the visit")
    await wait(li.private, "finished: 1 problem(s) reported")

    # A card posted twice leaves a copy the bot does not know: Zhang presses the first he
    # sees, and then Rectified wherever it is offered (the copy pressed is put right).
    card = await wait(office, ref)
    await zhang.press("✅ Received", chat=office, message=card)

    def offered(label: str) -> bool:
        return any(label in m.buttons for m in office.bot_messages())

    await world.sb.wait_until(lambda: offered("🔧 Rectified"), timeout=STEP)
    await zhang.press("🔧 Rectified", chat=office)
    await wait(zhang.private, "send the after photo")
    await zhang.send_photo()
    await wait(zhang.private, "After photo 1 kept")
    await zhang.send("Stalls moved away")
    await wait(zhang.private, "goes to the inspector for re-check")
    recheck = await wait(li.private, f"Re-check problem {ref}")
    await li.press("✅ Pass", message=recheck)
    await wait(office, "passed the re-check")
    for copy in office.bot_messages():  # a copy still offering a button is pressed too
        if ref in (copy.text or "") and copy.buttons:
            await zhang.press(copy.buttons[0], chat=office, message=copy)
    await settle(world.database)
    await bot.stop()

    rows = database_rows(world.database, "SELECT ref, status, rejections FROM problems")
    verdict.check(rows == [(ref, "passed", 0)], f"problems: {rows}")
    history = [kind for (kind,) in database_rows(
        world.database, "SELECT kind FROM problem_events ORDER BY id")]
    verdict.check(history == ["reported", "dispatched", "received", "rectified", "passed"],
                  f"the problem's history: {history}")
    visits = database_rows(world.database, "SELECT problems, ended_at IS NOT NULL FROM visits")
    verdict.check(visits == [(1, 1)], f"visits: {visits}")
    for chat, text in ((li.private, "You are now an inspector of G1"),
                       (li.private, "is reported and goes to"),
                       (li.private, f"Re-check problem {ref}"),
                       (office, "passed the re-check"),
                       (zhang.private, "goes to the inspector for re-check")):
        at_least_once(verdict, bot, chat, text)
    cards = [m for m in office.bot_messages() if ref in (m.text or "")]
    verdict.check(all(not m.buttons and "Passed the re-check" in (m.text or "")
                      for m in cards if "Supervision problem" in (m.text or "")),
                  f"a unit card not showing the pass: {[(m.text, m.buttons) for m in cards]}")


async def activity_loop(world: World, bot: Crashing, verdict: Verdict) -> None:
    """Loop 2: Li, who leads the Red Vest Team, publishes "Tree planting" for Saturday 13 June
    09:00-11:30; Zhang signs up from the group's card; on the day he checks in by sharing his
    location at the place; after the end Li confirms attendance and hours, and Zhang is
    credited 2.5 h, once."""
    from tests.conftest import SHANGHAI

    li, zhang, group = world.volunteer, world.other, world.group
    for person in (li, zhang):
        await person.send("/start")
        await wait(person.private, "Choose below")
    await li.send("/publish")
    await wait(li.private, "1/12")
    await li.send("Tree planting in Guangming Park")
    await wait(li.private, "4/12")  # one team, and its area: nothing to choose
    await li.send("Guangming Park, east gate")
    await wait(li.private, "5/12")
    await li.send_location(*VENUE)
    await wait(li.private, "6/12")
    await li.send("2026-06-13 09:00")
    await wait(li.private, "7/12")
    await li.send("11:30")
    await wait(li.private, "8/12")
    await li.send("2")
    await wait(li.private, "9/12")
    await li.press("🙋 I lead it")
    await wait(li.private, "10/12")
    await li.press("No theme")
    await wait(li.private, "11/12")
    await li.press("Skip ⏭")
    await wait(li.private, "12/12")
    await li.send("Dig, plant and water. Bring gloves.")
    await wait(li.private, "Preview")
    await li.press("✅ Publish")
    await wait(li.private, "your controls")
    card = await wait(group, "Volunteers wanted")
    await zhang.press("🙋 Sign up", chat=group, message=card)
    await wait(zhang.private, "You are signed up for")

    await bot.later(datetime(2026, 6, 13, 8, 50, tzinfo=SHANGHAI).timestamp())
    await zhang.press("📍 Check in here")
    await wait(zhang.private, "send your location")
    await zhang.tap("📍 Send my location", latitude=VENUE[0] + 0.001, longitude=VENUE[1])
    await wait(zhang.private, "Checked in to")

    await bot.later(datetime(2026, 6, 13, 11, 40, tzinfo=SHANGHAI).timestamp())
    await li.press("✅ Attendance and hours")
    await wait(li.private, "Attendance of")
    await li.press("✅ Confirm attendance and hours")
    await wait(zhang.private, "You were credited 2.5 h")
    await wait(li.private, "hours credited to 1")
    # A card posted twice leaves a copy the bot does not know, offering Sign up as it was:
    # the admin presses it (too late now), and it must then show the activity as it is.
    for copy in group.bot_messages():
        if "🙋 Sign up" in copy.buttons:
            await world.admin.press("🙋 Sign up", chat=group, message=copy)
    await settle(world.database)
    await bot.stop()

    signups = database_rows(world.database, "SELECT user_id, status FROM activity_signups")
    verdict.check(signups == [(zhang.id, "signed")], f"sign-ups: {signups}")
    hours = database_rows(world.database, "SELECT user_id, hours, source, status "
                                          "FROM activity_hours")
    verdict.check(hours == [(zhang.id, 2.5, "checkin", "confirmed")], f"hours: {hours}")
    activities = database_rows(world.database, "SELECT COUNT(*) FROM activities")
    verdict.check(activities == [(1,)], f"activities: {activities}")
    offering = [m.message_id for m in group.bot_messages() if "🙋 Sign up" in m.buttons]
    verdict.check(offering == [], f"cards still offering Sign up after the end: {offering}")
    for chat, text in ((zhang.private, "You are signed up for"),
                       (zhang.private, "Checked in to"),
                       (zhang.private, "You were credited 2.5 h"),
                       (li.private, "hours credited to 1"),
                       (group, "Volunteers wanted")):
        at_least_once(verdict, bot, chat, text)


async def run_story(story: Story, kill_after: set[int], folder: Path,
                    kill_at_start: int = 0) -> Verdict:
    """One story from a fresh town, killed after the calls in `kill_after` (and after the
    `kill_at_start`-th call of the first start)."""
    from tests.conftest import TOKEN, TestClock, make_config, sandbox_limits
    from tests.flows import supervision_town

    verdict = Verdict()
    clock = TestClock()
    async with Sandbox(token=TOKEN, limits=sandbox_limits(), clock=clock.now) as sb:
        alice = sb.add_user("Alice", language_code="en", phone="+8613800000001")
        li = sb.add_user("Li", language_code="en")
        zhang = sb.add_user("Zhang", language_code="en")
        admin = sb.add_user("Admin", language_code="en")
        group = sb.add_group("Elderly volunteers", type="supergroup")
        admin_chat = sb.add_group("Admins", type="supergroup")
        office = sb.add_group("光明路街道办", type="supergroup")
        for member in (li, zhang, admin):
            group.add_member(member)
        admin_chat.add_member(admin, status="administrator")
        office.add_member(admin, status="administrator")
        office.add_member(zhang)
        # Each loop in the town it needs (the area tree would add a question to the form).
        settings: dict[str, Any] = {}
        if story is supervision_loop:
            settings = supervision_town(folder)
        elif story is activity_loop:
            shutil.copy(ROOT / "themes.example.toml", folder / "themes.toml")
            (folder / "teams.csv").write_text(
                "id,area_id,name_zh,name_en,leader_id\n"
                "guangming-red,guangminglu,光明路红马甲服务队,Guangminglu Red Vest Team,"
                f"{li.id}\n",
                encoding="utf-8")
            settings = {"activities": {"themes_file": "themes.toml"},
                        "areas": {"file": str(ROOT / "areas.example.csv")},
                        "volunteers": {"teams_file": str(folder / "teams.csv")}}
        config = make_config(folder, sb, admin_ids=[admin.id], admin_chat_id=admin_chat.id,
                             categories=[{"code": "elderly", "zh": "助老服务",
                                          "en": "Help for the elderly",
                                          "group_id": group.id}], **settings)
        log = folder / "bot.log"
        def jump(moment: float) -> None:
            clock.set(datetime.fromtimestamp(moment, UTC))

        bot = Crashing(sb, folder / "config.toml", clock.now, kill_after, log, TOKEN,
                       kill_at_start, jump)
        await bot.start()
        world = World(sb, config.database, alice, li, zhang, group, admin_chat, admin, office)
        try:
            await story(world, bot, verdict)
        finally:
            await bot.kill()
        common_checks(verdict, sb, bot, config.database, log)
    return verdict


def every(k: int, first: int, upto: int = 200) -> set[int]:
    """Calls first, first + k, first + 2k, … (a kill after every k-th call)."""
    return set(range(first, upto, k))


STORIES: dict[str, Story] = {"requests": request_loop, "activities": activity_loop,
                             "supervision": supervision_loop}


async def _sweep(story: str, upto: int) -> int:
    """One run per call of the story, killed after that call alone; then one per call of
    the start."""
    import tempfile

    broken = 0
    runs = [({n}, 0) for n in range(1, upto + 1)] + [(set(), n) for n in range(1, 11)]
    for kill_after, at_start in runs:
        with tempfile.TemporaryDirectory(prefix="crashes-") as folder:
            began = time.monotonic()
            verdict = await run_story(STORIES[story], kill_after, Path(folder), at_start)
            print(f"kill after {sorted(kill_after) or f'start call {at_start}'}: "
                  f"{'BROKEN' if verdict.broken else 'ok'} ({time.monotonic() - began:.0f} s) "
                  f"{'; '.join(verdict.figures)}", flush=True)
            for line in verdict.broken:
                print("   ", line)
            broken += bool(verdict.broken)
    return 1 if broken else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--story", choices=sorted(STORIES), default="requests")
    parser.add_argument("--upto", type=int, default=40,
                        help="sweep the kill over the story's calls 1 … UPTO")
    options = parser.parse_args()
    sys.exit(asyncio.run(_sweep(options.story, options.upto)))
