"""A second bot for the same district: on another machine with a copy of the database (one
token, two databases), with a webhook someone set, or a standby on the same database. Never
may two serve at once: one stops and says why (exit 3), or waits without polling or sending.
(The same database started twice without --standby: tests/test_process_e2e.py.)"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox import Sandbox, SimChat, SimUser
from tests.conftest import DEFAULT_START, TOKEN, make_config

ROOT = Path(__file__).resolve().parent.parent


class Instance:
    """`python -m bot` as a child process, its log kept in a file."""

    def __init__(self, sb: Sandbox, folder: Path, *extra: str) -> None:
        self.sb = sb
        self.config = folder / "config.toml"
        self.log = folder / "bot.log"
        self.extra = extra
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process (not waiting for anything)."""
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(self.config), "--log-level",
                "WARNING", "--clock", DEFAULT_START.isoformat(), *self.extra,
                cwd=ROOT, env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN},
                stdout=out, stderr=out)

    async def exited(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        """Its exit code, once it exits by itself."""
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout=timeout)

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.returncode is None

    def said(self) -> str:
        """Everything it logged."""
        return self.log.read_text("utf-8", "replace")

    async def end(self) -> None:
        """SIGKILL, if it still runs."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()


def setting_up(sb: Sandbox, folder: Path, group: SimChat, admin: SimUser) -> Path:
    """A config for a bot whose database is in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    make_config(folder, sb, admin_ids=[admin.id], categories=[
        {"code": "elderly", "zh": "助老服务", "en": "Help for the elderly", "group_id": group.id}])
    return folder


@pytest.fixture
async def people(sandbox: Sandbox) -> AsyncIterator[tuple[SimUser, SimUser, SimChat]]:
    """Alice, the admin, and the volunteers' group."""
    alice = sandbox.add_user("Alice", language_code="en")
    admin = sandbox.add_user("Admin", language_code="en")
    group = sandbox.add_group("Elderly volunteers", type="supergroup")
    group.add_member(admin)
    yield alice, admin, group


def menus(alice: SimUser) -> int:
    """How many main menus Alice was sent (one per /start)."""
    return len([m for m in alice.private.bot_messages() if "Choose below" in (m.text or "")])


async def test_two_machines_polling_one_token_leave_one_serving(
    sandbox: Sandbox, tmp_path: Path, people: tuple[SimUser, SimUser, SimChat],
) -> None:
    """The operator starts a copy on a second server (its own database) while the first
    still runs. Both polled on for ever, each taking some of the updates and each sending
    from its own database. Now the conflicts go on too long for a restart's old poll, one of
    the two stops with exit 3 saying why, and the other answers every /start once."""
    alice, admin, group = people
    first = Instance(sandbox, setting_up(sandbox, tmp_path / "first", group, admin))
    second = Instance(sandbox, setting_up(sandbox, tmp_path / "second", group, admin))
    try:
        await first.start()
        await sandbox.wait_until(lambda: sandbox.polls_started > 0, timeout=30)
        await second.start()
        done, _ = await asyncio.wait(
            {asyncio.ensure_future(first.exited()), asyncio.ensure_future(second.exited())},
            timeout=60, return_when=asyncio.FIRST_COMPLETED)
        assert done, "neither instance stopped"
        stopped, serving = (first, second) if not first.running else (second, first)
        said = stopped.said()
        assert [task.result() for task in done] == [3], said
        assert serving.running
        assert "another process polls Telegram with this token" in said
        assert "Traceback" not in said
        for n in range(1, 4):
            await alice.send("/start")
            await alice.private.wait_for(text="Choose below", timeout=15)
            assert menus(alice) == n
    finally:
        await first.end()
        await second.end()


async def test_a_webhook_someone_sets_stops_the_poller_saying_so(
    sandbox: Sandbox, tmp_path: Path, people: tuple[SimUser, SimUser, SimChat],
) -> None:
    """An instance in webhook mode elsewhere sets its webhook: Telegram now refuses this
    bot's polls. It waited for ever, sending its outbox and its reminders meanwhile; now it
    stops with exit 3 and names the webhook (it deletes none but its own, at start)."""
    _, admin, group = people
    bot = Instance(sandbox, setting_up(sandbox, tmp_path / "bot", group, admin))
    try:
        await bot.start()
        await sandbox.wait_until(lambda: sandbox.polls_started > 0, timeout=30)
        await sandbox.api.call("setWebhook", {"url": "https://elsewhere.example/hook"}, {},
                               lambda: True)
        code = await bot.exited()
        said = bot.said()
        assert code == 3, said
        assert "someone set a webhook for this token" in said and "Traceback" not in said
        assert sandbox.webhook.hook is not None  # not deleted: it is not ours
    finally:
        await bot.end()


async def test_a_standby_takes_over_when_the_first_dies_and_nothing_is_answered_twice(
    sandbox: Sandbox, tmp_path: Path, people: tuple[SimUser, SimUser, SimChat],
) -> None:
    """A new version is started with --standby beside the running bot on the same database:
    it says it stands by, and neither polls nor sends. The first is killed -9; the standby
    takes over at once and answers the /start Alice sent meanwhile, once."""
    alice, admin, group = people
    folder = setting_up(sandbox, tmp_path / "bot", group, admin)
    first = Instance(sandbox, folder)
    standby = Instance(sandbox, folder, "--standby")
    standby.log = tmp_path / "standby.log"
    try:
        await first.start()
        await alice.send("/start")
        await alice.private.wait_for(text="Choose below", timeout=30)
        await standby.start()
        await sandbox.wait_until(lambda: "standing by" in standby.said(), timeout=30)
        assert standby.running
        assert first.proc is not None and str(first.proc.pid) in standby.said()
        calls = len(sandbox.calls)

        await first.end()  # kill -9
        await alice.send("/start")
        await alice.private.wait_for(text="Choose below", timeout=30)
        assert menus(alice) == 2
        assert "taking over" in standby.said()
        assert not [e for e in sandbox.errors if "Conflict" in e[1]], sandbox.errors
        assert len(sandbox.calls) > calls
    finally:
        await first.end()
        await standby.end()


async def test_a_standby_stopped_while_it_waits_exits_cleanly(
    sandbox: Sandbox, tmp_path: Path, people: tuple[SimUser, SimUser, SimChat],
) -> None:
    """The operator changes his mind and stops the standby (SIGTERM): it exits 0 without
    ever having opened the database or called Telegram, and the first serves on."""
    alice, admin, group = people
    folder = setting_up(sandbox, tmp_path / "bot", group, admin)
    first = Instance(sandbox, folder)
    standby = Instance(sandbox, folder, "--standby")
    standby.log = tmp_path / "standby.log"
    try:
        await first.start()
        await alice.send("/start")
        await alice.private.wait_for(text="Choose below", timeout=30)
        await standby.start()
        await sandbox.wait_until(lambda: "standing by" in standby.said(), timeout=30)
        assert standby.proc is not None
        standby.proc.send_signal(signal.SIGTERM)
        assert await standby.exited() == 0
        assert first.running
        await alice.send("/start")
        await alice.private.wait_for(text="Choose below", timeout=15)
        assert menus(alice) == 2
    finally:
        await first.end()
        await standby.end()
