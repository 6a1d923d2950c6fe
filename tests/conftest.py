"""Shared fixtures: a sandbox Telegram, the real bot running against it, and a small town."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import run
from bot.config import Config, load_config
from bot.context import Clock, ShiftedClock
from bot.wiring import Services
from sandbox import Limits, Sandbox, SimChat, SimUser

TOKEN = "123456:TEST-token"
CATEGORIES = [
    {"code": "elderly", "zh": "助老服务", "en": "Help for the elderly"},
    {"code": "environment", "zh": "生活环境", "en": "Living environment"},
    {"code": "legal", "zh": "法律援助", "en": "Legal aid"},
]
# Faster than Telegram so the suite stays quick; the sandbox enforces the same numbers, so a
# sender that overstepped them would meet 429s (tests assert there were none).
TEST_LIMITS = {"private_per_second": 20.0, "private_burst": 10, "group_per_minute": 60,
               "global_per_second": 30}


def sandbox_limits() -> Limits:
    """Sandbox limits matching TEST_LIMITS."""
    return Limits(private_per_second=TEST_LIMITS["private_per_second"],
                  private_burst=int(TEST_LIMITS["private_burst"]),
                  group_per_minute=int(TEST_LIMITS["group_per_minute"]),
                  group_edits_per_minute=int(TEST_LIMITS["group_per_minute"]),
                  global_per_second=int(TEST_LIMITS["global_per_second"]))


def make_config(tmp_path: Path, sb: Sandbox, **bot: Any) -> Config:
    """A validated config pointing at the sandbox, with a database in tmp_path."""
    categories = bot.pop("categories", CATEGORIES)
    delivery = {**TEST_LIMITS, **bot.pop("delivery", {})}
    # Tests sweep explicitly (town.tick); a background sweep racing them would make the
    # "how many fired" figures a matter of luck.
    schedule = {"sweep_interval": "1h", **bot.pop("schedule", {})}
    # Most stories finish a task without counting hours; the hours stories turn it on.
    volunteers = {"ask_hours": False, **bot.pop("volunteers", {})}
    areas = bot.pop("areas", {})
    # Stories file many requests as one citizen; the intake-limit stories set their own.
    limits = {"max_open_requests": 1000, "max_requests_per_day": 10000, **bot.pop("limits", {})}
    # No daily backup unless a story is about it: each would copy the database once.
    backup = {"keep": 0, **bot.pop("backup", {})}
    http = bot.pop("http", {})
    web = bot.pop("web", {})
    retention = bot.pop("retention", {})
    webhook = bot.pop("webhook", {})
    activities = bot.pop("activities", {})
    supervision = bot.pop("supervision", {})
    # The duplicate check is on in production (config.example.toml), off here: the stories
    # file the same category at the same point again and again, and would each meet it; its
    # own stories (tests/test_duplicates_e2e.py) turn it on.
    duplicates = {"enabled": False, **bot.pop("duplicates", {})}
    raw = {
        "duplicates": duplicates,
        "activities": activities,
        "supervision": supervision,
        "webhook": webhook,
        "http": http,
        "web": web,
        "retention": retention,
        "backup": backup,
        "areas": areas,
        "limits": limits,
        "schedule": schedule,
        "volunteers": volunteers,
        "telegram": {"token": TOKEN, "base_url": sb.base_url, "base_file_url": sb.base_file_url,
                     "poll_timeout": 1},
        "bot": {"database": "civicloop.db", "default_language": "en", **bot},
        "delivery": delivery,
        "categories": categories,
    }
    # Through a file, as in production: /reload reads it again.
    source = tmp_path / "config.toml"
    source.write_text(to_toml(raw), encoding="utf-8")
    return load_config(source, env={})


def to_toml(raw: dict[str, Any]) -> str:
    """A config mapping as TOML: tables as [headers], everything inside them inline."""

    def key(name: str) -> str:
        return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, (int, float)):
            return repr(item)
        if isinstance(item, str):
            return json.dumps(item, ensure_ascii=False)  # a TOML basic string as well
        if isinstance(item, dict):
            return "{" + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + "}"
        if isinstance(item, (list, tuple)):
            return "[" + ", ".join(value(v) for v in item) + "]"
        raise TypeError(f"no TOML for {item!r}")

    top = [f"{key(k)} = {value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    tables = [f"[{key(k)}]\n" + "".join(f"{key(n)} = {value(v)}\n" for n, v in table.items())
              for k, table in raw.items() if isinstance(table, dict)]
    return "\n".join(["\n".join(top), *tables]) + "\n"


SHANGHAI = ZoneInfo("Asia/Shanghai")
# Every story starts at this moment unless its module says otherwise (the `clock_start`
# fixture): a Wednesday morning, far from quiet hours, midnight and the end of a month, so no
# test depends on when the suite runs.
DEFAULT_START = datetime(2026, 6, 10, 10, 0, tzinfo=SHANGHAI)


class TestClock(ShiftedClock):
    """A clock that starts at a chosen moment and runs on at real speed; tests move it."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        super().__init__(start.timestamp())

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. advance(hours=2)."""
        self._start += timedelta(**delta).total_seconds()

    def set(self, moment: datetime) -> None:
        """Jump to a moment (timezone-aware)."""
        self._start = moment.timestamp() - (time.monotonic() - self._began)


class BotRunner:
    """The real bot (bot.app.run) in this event loop, started and stopped like a process."""

    def __init__(self, sb: Sandbox, config: Config, clock: Clock | None = None) -> None:
        self.sb = sb
        self.config = config
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.services: Services | None = None

    def _ready(self, services: Services) -> None:
        self.services = services

    def _polls(self) -> int:
        # Serving has begun: a getUpdates (polling), or a setWebhook (webhook mode).
        return self.sb.polls_started + self.sb.webhooks_set

    async def start(self, wait_up_to: float = 10) -> None:
        """Start the bot and wait until it polls for updates (or has set its webhook)."""
        polls = self._polls()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            run(self.config, self._stop, self.clock, on_ready=self._ready))
        await self.sb.wait_until(lambda: self._polls() > polls or self._task.done(),
                                 timeout=wait_up_to)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        """Stop the bot the way SIGTERM does."""
        if self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, timeout=15)
        self._task = None

    async def crash(self) -> None:
        """Kill the bot without a clean shutdown (the task is cancelled where it stands)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


@dataclass
class Town:
    """A sandbox Telegram with citizens, volunteers, an admin, groups and the bot."""

    sb: Sandbox
    bot: BotRunner
    citizen: SimUser
    grandma: SimUser
    vol1: SimUser
    vol2: SimUser
    admin: SimUser
    volunteers: SimChat
    admin_chat: SimChat
    clock: TestClock

    async def tick(self, **delta: float) -> int:
        """Let time pass, run the schedule's sweep as its timer would, wake the sender."""
        self.clock.advance(**delta)
        services = self.bot.services
        assert services is not None, "the bot is not running"
        fired = await services.schedule.sweep()
        services.sender.wake()
        return fired


@pytest.fixture
def clock(clock_start: datetime) -> TestClock:
    """The clock of the story: the bot runs on it and the sandbox dates messages by it."""
    return TestClock(clock_start)


@pytest.fixture
async def sandbox(clock: TestClock) -> AsyncIterator[Sandbox]:
    """A started sandbox with test limits."""
    async with Sandbox(token=TOKEN, limits=sandbox_limits(), clock=clock.now) as sb:
        yield sb


@pytest.fixture
def clock_start() -> datetime:
    """When the town's clock starts; a test module may override this."""
    return DEFAULT_START


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """Extra [bot]/[schedule] settings for the town; a test module may override this."""
    return {}


@pytest.fixture
def town_groups() -> str:
    """What the town's two groups are: "supergroup"; a module whose story upgrades them says
    "group" (a basic group, which Telegram may turn into a supergroup with a new id)."""
    return "supergroup"


@pytest.fixture
async def town(
    sandbox: Sandbox, tmp_path: Path, town_settings: dict[str, Any], clock: TestClock,
    town_groups: str,
) -> AsyncIterator[Town]:
    """The bot running against the sandbox: elderly requests go to the volunteers group."""
    sb = sandbox
    citizen = sb.add_user("Alice", language_code="en", phone="+8613800000001")
    grandma = sb.add_user("王奶奶", language_code="zh", phone="+8613800000002")
    vol1 = sb.add_user("Li", language_code="en")
    vol2 = sb.add_user("Zhang", language_code="en")
    admin = sb.add_user("Admin", language_code="en")
    volunteers = sb.add_group("Elderly volunteers", type=town_groups)
    admin_chat = sb.add_group("Admins", type=town_groups)
    for member in (vol1, vol2, admin):
        volunteers.add_member(member)
    admin_chat.add_member(admin, status="administrator")
    # A module may give its own categories (with keywords, say); the first one's requests
    # go to the volunteers group.
    settings = dict(town_settings)
    given = settings.pop("categories", CATEGORIES)
    categories = [dict(given[0], group_id=volunteers.id), *given[1:]]
    # A module may say `admin_chat_id = 0`: no admin chat, the admin hears in private.
    settings.setdefault("admin_chat_id", admin_chat.id)
    config = make_config(tmp_path, sb, admin_ids=[admin.id], categories=categories,
                         **settings)
    runner = BotRunner(sb, config, clock)
    await runner.start()
    try:
        yield Town(sb, runner, citizen, grandma, vol1, vol2, admin, volunteers, admin_chat,
                   clock)
    finally:
        await runner.stop()
