"""The composition root of the services: each built once, with keywords, in one place.

`build_services` is the only code that knows which service needs which; handlers reach them
through `Services` (put into the Application's bot_data by bot.app). Imports every service
package; nothing imports this module but bot.app, the handlers (for the type) and tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from telegram import Bot

from bot import ui
from bot.console.admin import AdminConsole
from bot.context import Env
from bot.delivery.sender import Sender
from bot.people.menus import CommandMenus, Menu
from bot.people.roles import Roles
from bot.reports.export import Exports
from bot.reports.stats import Statistics
from bot.requests.casework import Casework
from bot.requests.intake import Intake
from bot.requests.loop import RequestLoop
from bot.schedule.jobs import Jobs
from bot.schedule.sweep import Schedule
from bot.volunteers.registration import Volunteers


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything handlers call, built once per process."""

    env: Env
    intake: Intake
    loop: RequestLoop
    sender: Sender
    schedule: Schedule
    volunteers: Volunteers
    roles: Roles
    jobs: Jobs
    admin: AdminConsole
    stats: Statistics
    exports: Exports
    casework: Casework
    menus: CommandMenus

    async def notify(self, chat_id: int, text: str) -> None:
        """Queue a plain message (used by the error handler)."""
        async with self.env.db.transaction() as repo:
            await repo.enqueue([ui.message(chat_id, text)], self.env.now())
        self.env.wake_sender()


def build_services(env: Env, bot: Bot, menus: Mapping[Menu, tuple[str, ...]]) -> Services:
    """Build every service on `env`; the sender calls Telegram through `bot`, and is woken
    by whatever commits outgoing messages."""
    sender = Sender(env, bot)
    env.wake_sender = sender.wake
    env.db.on_queued = sender.offer
    loop = RequestLoop(env)
    roles = Roles(env)
    jobs = Jobs(env)
    command_menus = CommandMenus(env=env, roles=roles, menus=menus)
    volunteers = Volunteers(env=env, loop=loop, menus=command_menus)
    return Services(
        env=env,
        intake=Intake(env=env, loop=loop, volunteers=volunteers),
        loop=loop,
        sender=sender,
        schedule=Schedule(env=env, loop=loop),
        volunteers=volunteers,
        roles=roles,
        jobs=jobs,
        admin=AdminConsole(env=env, loop=loop, roles=roles, menus=command_menus),
        stats=Statistics(env=env, loop=loop, roles=roles, jobs=jobs),
        exports=Exports(env=env, roles=roles, jobs=jobs, volunteers=volunteers),
        casework=Casework(env=env, loop=loop, roles=roles),
        menus=command_menus,
    )
