"""The composition root of the services: each built once, with keywords, in one place.

`build_services` is the only code that knows which service needs which; handlers reach them
through `Services` (put into the Application's bot_data by bot.app). Imports every service
package; nothing imports this module but bot.app, the handlers (for the type) and tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from telegram import Bot

from bot import ui
from bot.activities.attendance import Attendance
from bot.activities.board import Board
from bot.activities.calls import Calls
from bot.activities.honours import Honours
from bot.activities.publishing import Publishing
from bot.activities.rankings import Rankings
from bot.activities.records import Records
from bot.activities.signup import Signups
from bot.activities.themes import MonthThemes
from bot.console.admin import AdminConsole
from bot.console.reload import ConfigReloader
from bot.context import Answer, Env, Who
from bot.delivery.sender import Sender
from bot.moves import ChatMoves
from bot.ops.http import OpsServer
from bot.people.menus import CommandMenus, Menu
from bot.people.roles import Roles
from bot.reports.activities import ActivityFigures
from bot.reports.export import Exports
from bot.reports.records import RecordImages
from bot.reports.stats import Statistics
from bot.reports.supervision import SupervisionFigures
from bot.requests.casework import Casework
from bot.requests.intake import Intake
from bot.requests.loop import RequestLoop
from bot.requests.personal import PersonalData
from bot.requests.relay import Relay
from bot.schedule.jobs import Jobs
from bot.schedule.sweep import Schedule
from bot.supervision.bridge import Bridge
from bot.supervision.clock import ProblemClock
from bot.supervision.dispatch import Dispatch
from bot.supervision.reporting import Reporting
from bot.supervision.roster import SupervisionRoster
from bot.unit import ActorUnit, Units
from bot.volunteers.registration import Volunteers
from bot.web.open311 import Open311Api
from bot.web.results import ResultsPage
from bot.web.server import WebServer

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything handlers call, built once per process."""

    env: Env
    units: Units
    intake: Intake
    loop: RequestLoop
    sender: Sender
    schedule: Schedule
    volunteers: Volunteers
    roles: Roles
    jobs: Jobs
    admin: AdminConsole
    stats: Statistics
    problem_figures: SupervisionFigures
    exports: Exports
    casework: Casework
    menus: CommandMenus
    ops: OpsServer
    web: WebServer
    personal: PersonalData
    reloader: ConfigReloader
    themes: MonthThemes
    publishing: Publishing
    signups: Signups
    attendance: Attendance
    supervision: SupervisionRoster
    reporting: Reporting
    dispatch: Dispatch
    bridge: Bridge
    calls: Calls
    rankings: Rankings
    honours: Honours
    records: Records
    record_images: RecordImages
    relay: Relay
    moves: ChatMoves

    async def run(
        self, who: Who, service: Callable[Concatenate[ActorUnit, P], Awaitable[T]],
        *args: P.args, **kwargs: P.kwargs,
    ) -> T:
        """Run one service call as an update's unit of work: one transaction, `who` recorded
        once, what it sends queued with the commit and the sender woken once after it."""
        async with self.units.for_update(who) as unit:
            return await service(unit, *args, **kwargs)

    async def run_pressed(
        self, who: Who, unchecked: tuple[int, int] | None,
        service: Callable[Concatenate[ActorUnit, P], Awaitable[Answer]],
        *args: P.args, **kwargs: P.kwargs,
    ) -> Answer:
        """Run a button's service that edits the message pressed, as `run` does; a message
        whose keyboard could not be looked at (`unchecked`: its chat and id) is refused in
        the same unit when the bot redraws it from what is stored: the service's own words
        would stand there until the next redraw."""
        async with self.units.for_update(who) as unit:
            if unchecked is not None and await Board.redrawn(unit.repo, *unchecked):
                return Answer(unit.t("common.stale"), alert=True)
            return await service(unit, *args, **kwargs)

    async def notify(self, chat_id: int, text: str) -> None:
        """Queue a plain message (used by the error handler)."""
        async with self.units.for_job() as unit:
            unit.send(ui.message(chat_id, text))


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
    sender.moves.admin_chat_menu = command_menus.admin_chat_menu  # the admin chat's, once moved
    volunteers = Volunteers(env=env, loop=loop, menus=command_menus)
    units = Units(env)
    themes = MonthThemes(env=env, loop=loop, roles=roles)
    schedule = Schedule(env=env, loop=loop, units=units)
    board = Board(env=env, themes=themes)
    publishing = Publishing(env=env, loop=loop, roles=roles, themes=themes, board=board,
                            quiet_until=schedule.quiet_until)
    signups = Signups(env=env, loop=loop, board=board, publishing=publishing)
    calls = Calls(env=env, loop=loop, roles=roles, board=board, publishing=publishing,
                  quiet_until=schedule.quiet_until, activity_timers=signups.fire)
    schedule.activity_timers = calls.fire  # a call's deadline; the rest go on to signups
    publishing.open_calls_to = calls.post_in_team_group  # a team's group bound later
    attendance = Attendance(env=env, loop=loop, roles=roles, publishing=publishing)
    loop.hours_credited = attendance.after_request_hours  # 30 h a year, however given
    figures = ActivityFigures(env=env, themes=themes, jobs=jobs)
    honours = Honours(env=env, loop=loop, roles=roles, board=board)
    dispatch = Dispatch(env=env, loop=loop, roles=roles)
    clock = ProblemClock(env=env, loop=loop, dispatch=dispatch, units=units)
    schedule.problem_timers = clock.fire  # a problem's own deadlines
    schedule.patrol_reminders = clock.patrol_reminders  # the inspectors' daily reminder
    bridge = Bridge(env=env, loop=loop, roles=roles, dispatch=dispatch)
    dispatch.passed = bridge.passed  # a problem made from a request: the citizen rates it
    reporting = Reporting(env=env, loop=loop, dispatch=dispatch.dispatch)
    intake = Intake(env=env, loop=loop, volunteers=volunteers, themes=themes,
                    publishing=publishing, signups=signups, attendance=attendance,
                    calls=calls, honours=honours, reporting=reporting, menus=command_menus)
    loop.draft_question = intake.resume_draft
    intake.short_flows.update(dispatch.short_flows())  # the unit's and inspector's dialogs
    intake.asked_again.update(dispatch.asked_again())
    roster = SupervisionRoster(env=env, loop=loop, roles=roles, menus=command_menus)
    roster.unit_bound = dispatch.unit_bound  # what waited for a unit's chat goes there
    roster.member_changed = dispatch.member_changed  # a member's copies of the unit's cards
    intake.problem_link = dispatch.from_link  # an export's link to a problem's photos
    relay = Relay(env=env, loop=loop, roles=roles)
    intake.short_flows.update(relay.short_flows())  # writing in a masked chat
    intake.asked_again.update(relay.asked_again())
    reloader = ConfigReloader(env, volunteers.sync_teams_in)
    stats = Statistics(env=env, loop=loop, roles=roles, jobs=jobs, activities=figures)
    problem_figures = SupervisionFigures(env=env, roles=roles, jobs=jobs, stats=stats)
    stats.supervision = problem_figures.summary  # a line on loop 3 in /stats
    schedule.weekly_report = problem_figures.weekly
    return Services(
        env=env,
        units=units,
        intake=intake,
        loop=loop,
        sender=sender,
        schedule=schedule,
        volunteers=volunteers,
        roles=roles,
        jobs=jobs,
        admin=AdminConsole(env=env, loop=loop, roles=roles, menus=command_menus,
                           reloader=reloader),
        stats=stats,
        problem_figures=problem_figures,
        exports=Exports(env=env, roles=roles, jobs=jobs, volunteers=volunteers,
                        activities=figures, supervision=problem_figures),
        casework=Casework(env=env, loop=loop, roles=roles, leave_form=intake.cancel_command),
        menus=command_menus,
        ops=OpsServer(env, sender),
        # The public web server: each feature a route provider.
        web=WebServer(env, [Open311Api(env, loop, units), ResultsPage(env, stats)]),
        personal=PersonalData(env),
        reloader=reloader,
        themes=themes,
        publishing=publishing,
        signups=signups,
        attendance=attendance,
        supervision=roster,
        reporting=reporting,
        dispatch=dispatch,
        bridge=bridge,
        calls=calls,
        rankings=Rankings(env=env, roles=roles),
        honours=honours,
        records=Records(env=env, roles=roles, submit=jobs.submit),
        record_images=RecordImages(env=env, jobs=jobs),
        relay=relay,
        moves=sender.moves,  # one mover for the upgrade's service messages and the sender
    )
