"""Every command and every button the bot answers, each defined once, with its handler.

A command says who it is for (which also puts it in that role's Telegram menu, and those of
the roles above), whether it is for the private chat only (in a group the user is pointed
there), and which group menus list it too. Its menu text is the catalog key
`commands.<name>`. A button kind comes from bot.buttons. The Application is built from these
two tables (bot/app.py); the menus from COMMANDS (menus()).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot import buttons
from bot.people.menus import Menu
from handlers import activities, admin, citizen, supervision, volunteer

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

# Each role's private menu holds its own commands and those of the roles below it.
ROLES_ABOVE = {
    Menu.CITIZEN: (Menu.CITIZEN, Menu.VOLUNTEER, Menu.AREA_ADMIN, Menu.CENTRE_ADMIN,
                   Menu.SUPERVISION),
    Menu.VOLUNTEER: (Menu.VOLUNTEER, Menu.AREA_ADMIN, Menu.CENTRE_ADMIN),
    Menu.AREA_ADMIN: (Menu.AREA_ADMIN, Menu.CENTRE_ADMIN),
    Menu.CENTRE_ADMIN: (Menu.CENTRE_ADMIN,),
}


@dataclass(frozen=True)
class Command:
    """One command: its name, its handler, who it is for and where it works."""

    name: str
    handler: Handler
    who: Menu  # the least role it is for (the service still checks every use)
    private_only: bool = False  # sent in a group, the user is pointed to the private chat
    also: tuple[Menu, ...] = ()  # group menus that list it too
    # Answers the same whoever asks: usable by an anonymous admin (who posts as the group)
    anyone: bool = False
    # Its first words that are about whoever asks (/theme set, /ranking hide): sent as the
    # group, they are explained as the other commands are, not run for Telegram's account
    personal: tuple[str, ...] = ()

    @property
    def menu_text_key(self) -> str:
        """The catalog key of its line in Telegram's menu."""
        return f"commands.{self.name}"

    def listed_in(self, menu: Menu) -> bool:
        """Whether Telegram's menu `menu` lists this command."""
        return menu in self.also or menu in ROLES_ABOVE.get(self.who, ())


# In the order the menus show them.
COMMANDS: tuple[Command, ...] = (
    # Citizens, in private
    Command("start", citizen.start, Menu.CITIZEN, private_only=True),
    Command("new", citizen.new_request, Menu.CITIZEN, private_only=True),
    Command("my", citizen.my_requests, Menu.CITIZEN, private_only=True),
    # Volunteers, in private
    Command("mytasks", volunteer.my_tasks, Menu.VOLUNTEER, private_only=True),
    # Helpers (approved volunteers, admins: the service checks) file for a neighbour
    Command("forneighbour", volunteer.for_neighbour, Menu.VOLUNTEER, private_only=True),
    Command("hours", activities.hours, Menu.VOLUNTEER, private_only=True),
    Command("team", volunteer.team, Menu.VOLUNTEER, private_only=True),
    Command("activities", activities.activities_command, Menu.VOLUNTEER, private_only=True),
    # Inspectors (the service checks): a visit to a point and the problems found there
    Command("inspect", supervision.inspect, Menu.VOLUNTEER, private_only=True,
            also=(Menu.SUPERVISION,)),
    Command("due", supervision.due, Menu.VOLUNTEER, private_only=True,
            also=(Menu.SUPERVISION,)),
    Command("record", activities.record, Menu.VOLUNTEER, private_only=True),
    Command("honours", activities.honours, Menu.VOLUNTEER, private_only=True),
    # In private, or posted in a group (at most once per 10 minutes there)
    Command("ranking", activities.ranking, Menu.VOLUNTEER, anyone=True,
            personal=("hide", "show", "隐藏", "显示")),
    # Organisers (team leaders, admins: the service checks)
    Command("publish", activities.publish, Menu.VOLUNTEER, private_only=True),
    Command("addhours", activities.add_hours, Menu.VOLUNTEER, private_only=True),
    # Admins, in private: a recruitment call (招募令)
    Command("call", activities.call, Menu.AREA_ADMIN, private_only=True),
    # Everyone, in private or a group (set and clear are the centre admins': the service checks)
    Command("theme", activities.theme, Menu.CITIZEN, anyone=True,
            personal=("set", "clear")),
    Command("events", activities.events, Menu.CITIZEN, private_only=True),
    Command("join", volunteer.join, Menu.CITIZEN, private_only=True),
    Command("lang", citizen.lang, Menu.CITIZEN, private_only=True),
    Command("help", citizen.help_command, Menu.CITIZEN, private_only=True),
    Command("mydata", citizen.mydata, Menu.CITIZEN, private_only=True),
    Command("forget", citizen.forget, Menu.CITIZEN, private_only=True),
    # /cancel alone leaves the form; /cancel <ref> <reason> is the admin's, in the admin chat too
    Command("cancel", admin.cancel, Menu.CITIZEN, also=(Menu.ADMIN_CHAT,)),
    # Admins, in a group or in private (each service checks the role and the area)
    Command("bind", admin.bind, Menu.AREA_ADMIN, also=(Menu.GROUP_ADMIN, Menu.ADMIN_CHAT)),
    Command("bindings", admin.bindings, Menu.AREA_ADMIN,
            also=(Menu.GROUP_ADMIN, Menu.ADMIN_CHAT)),
    Command("stats", admin.stats, Menu.AREA_ADMIN, also=(Menu.GROUP_ADMIN, Menu.ADMIN_CHAT)),
    Command("export", admin.export, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("find", admin.find, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    # A reported masked chat, in private only: what two people wrote may hold anything
    # (the service checks the area, and that it was reported)
    Command("thread", admin.thread, Menu.AREA_ADMIN, private_only=True),
    Command("assign", admin.assign, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("reopen", admin.reopen, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("move", admin.move, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("broadcast", admin.broadcast, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("honour", activities.honour, Menu.AREA_ADMIN, private_only=True),
    Command("verify", activities.verify, Menu.AREA_ADMIN, private_only=True),
    Command("grant", admin.grant, Menu.CENTRE_ADMIN),
    Command("revoke", admin.revoke, Menu.CENTRE_ADMIN),
    Command("admins", admin.admins, Menu.CENTRE_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("ban", admin.ban, Menu.CENTRE_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("unban", admin.unban, Menu.CENTRE_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("reload", admin.reload, Menu.CENTRE_ADMIN, also=(Menu.ADMIN_CHAT,)),
    # Supervision (督导): the registers' people and places (the service checks each use)
    Command("inspectors", supervision.inspectors, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("units", supervision.units, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("unitmember", supervision.unit_member, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("inspector", supervision.inspector, Menu.CENTRE_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("patrol", supervision.patrol, Menu.CENTRE_ADMIN, also=(Menu.ADMIN_CHAT,)),
    # A problem's state and history: admins, its reporter and inspectors, the unit's people
    Command("problem", supervision.problem, Menu.VOLUNTEER,
            also=(Menu.ADMIN_CHAT, Menu.SUPERVISION)),
    Command("reassign", supervision.reassign, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("redispatch", supervision.redispatch, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    Command("sstats", supervision.supervision_stats, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
    # A citizen's request that is a public-space problem, to the point's unit (16.8)
    Command("toproblem", supervision.to_problem, Menu.AREA_ADMIN, also=(Menu.ADMIN_CHAT,)),
)

# Every kind of button with its handler (a press no kind matches gets the stale answer).
BUTTONS: tuple[tuple[buttons.ButtonKind, Handler], ...] = (
    (buttons.MENU, citizen.menu_button),
    (buttons.LANGUAGE, citizen.language_button),
    (buttons.FORM, citizen.form_button),
    (buttons.CANCEL, citizen.cancel_button),
    (buttons.CANCEL_YES, citizen.cancel_confirmed),
    (buttons.CANCEL_NO, citizen.cancel_declined),
    (buttons.RESOLVED, citizen.resolved_button),
    (buttons.STARS, citizen.star_button),
    (buttons.NO_COMMENT, citizen.skip_comment),
    (buttons.FOLLOW_STARS, citizen.follower_star_button),
    (buttons.FORGET, citizen.forget_button),
    (buttons.CONSENT, citizen.consent_button),
    (buttons.VOUCH, citizen.vouch_button),
    (buttons.CHAT, citizen.chat_button),
    (buttons.THREAD, citizen.thread_button),
    (buttons.CLAIM, volunteer.claim),
    (buttons.RELEASE, volunteer.release),
    (buttons.DONE, volunteer.done),
    (buttons.DONE_WITHOUT_NOTE, volunteer.skip_note),
    (buttons.MORE_TIME, volunteer.more_time),
    (buttons.DETAILS, volunteer.details),
    (buttons.JOIN_INSTITUTE, volunteer.join_button),
    (buttons.JOIN_AREA, volunteer.join_button),
    (buttons.JOIN_TEAM, volunteer.join_button),
    (buttons.APPROVE, volunteer.decide),
    (buttons.REJECT, volunteer.decide),
    (buttons.HOURS, volunteer.hours_button),
    (buttons.BROADCAST, admin.broadcast_button),
    (buttons.THEME, activities.theme_button),
    (buttons.ACTIVITY_FORM, activities.publish_button),
    (buttons.SIGN_UP, activities.sign_up_button),
    (buttons.QUIT, activities.quit_button),
    (buttons.QUIT_YES, activities.quit_confirmed),
    (buttons.MANAGE, activities.manage_button),
    (buttons.CANCEL_ACTIVITY, activities.cancel_button),
    (buttons.CHECK_IN_HERE, activities.check_in_here),
    (buttons.HAND, activities.hand_button),
    (buttons.CONFIRM_HOURS, activities.confirm_hours),
    (buttons.DISPUTE, activities.dispute_button),
    (buttons.DECIDE_DISPUTE, activities.decide_button),
    (buttons.EVENTS, activities.events_button),
    (buttons.EVENT, activities.event_button),
    (buttons.EDIT_FIELD, activities.edit_button),
    (buttons.INSPECT, supervision.inspect_button),
    (buttons.PROBLEM, supervision.problem_button),
    (buttons.RECHECK, supervision.recheck_button),
    (buttons.REASSIGN, supervision.reassign_button),
    (buttons.EXTENSION, supervision.extension_button),
    (buttons.CALL_FORM, activities.call_form_button),
    (buttons.CALL_IN, activities.im_in_button),
    (buttons.CALL_OUT, activities.cant_come_button),
    (buttons.CALL_MANAGE, activities.call_manage_button),
    (buttons.CALL_CANCEL, activities.call_cancel_button),
    (buttons.HONOUR_FORM, activities.honour_button),
    (buttons.REVOKE_HONOUR, activities.revoke_button),
)


def gated(command: Command) -> Handler:
    """The command's handler; an admin command typed in a group by someone who is no admin
    is refused in private instead (handlers.admin.admins_only_in_groups), and the personal
    words of one anyone may use, sent as the group, are explained (admin.anonymous)."""
    if command.who in (Menu.AREA_ADMIN, Menu.CENTRE_ADMIN) and not command.private_only:
        return admin.admins_only_in_groups(command.name, command.handler)
    if command.personal:
        return admin.anonymous_unless_general(command.personal, command.handler)
    return command.handler


def need_a_person() -> list[str]:
    """The commands that depend on who sends them: in a group, one sent as the group (an
    anonymous admin) or a channel is answered with handlers.admin.anonymous instead."""
    return [c.name for c in COMMANDS if not c.anyone]


def menus() -> dict[Menu, tuple[str, ...]]:
    """The command names each of Telegram's menus lists, in table order."""
    return {menu: tuple(c.name for c in COMMANDS if c.listed_in(menu)) for menu in Menu}
