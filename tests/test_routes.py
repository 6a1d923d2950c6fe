"""Commands are defined once (handlers/routes.py): the Application and every menu follow it."""

from __future__ import annotations

import itertools
from pathlib import Path

from telegram.ext import CommandHandler

from bot.app import build_application
from bot.i18n import Catalogs
from bot.people.menus import Menu
from handlers import routes
from sandbox import Sandbox
from tests.conftest import make_config


def test_each_command_is_answered_where_the_table_says(tmp_path: Path) -> None:
    """One CommandHandler per command (private ones only in private), and the private ones
    sent in a group are pointed to the private chat."""
    app = build_application(make_config(tmp_path, Sandbox(), admin_ids=[1]))
    handlers = [h for group in app.handlers.values() for h in group
                if isinstance(h, CommandHandler)]
    by_name = {getattr(h.callback, "__wrapped__", h.callback): h.commands for h in handlers}
    gated = {name for h in handlers if hasattr(h.callback, "__wrapped__")
             for name in h.commands}
    for command in routes.COMMANDS:
        assert command.handler in by_name, command.name
        assert command.name in by_name[command.handler]
    # Admin commands a group may see are refused there, in private, to anyone no admin; the
    # words of one the same for anyone that are about who asks are explained sent as a group.
    assert gated == {c.name for c in routes.COMMANDS if not c.private_only
                     and c.who in (Menu.AREA_ADMIN, Menu.CENTRE_ADMIN)} | {"theme", "ranking"}
    assert {c.name: c.personal for c in routes.COMMANDS if c.personal} == {
        "theme": ("set", "clear"), "ranking": ("hide", "show", "隐藏", "显示")}
    pointed = next(h for h in handlers if h.callback.__name__ == "in_group")
    assert pointed.commands == frozenset(c.name for c in routes.COMMANDS if c.private_only)
    # Sent as the group (an anonymous admin), all but those the same for anyone are explained
    anonymous = next(h for h in handlers if h.callback.__name__ == "anonymous")
    assert anonymous.commands == frozenset(c.name for c in routes.COMMANDS if not c.anyone)
    assert {c.name for c in routes.COMMANDS if c.anyone} == {"theme", "ranking"}
    named = sorted(name for h in handlers if h not in (pointed, anonymous)
                   for name in h.commands)
    assert named == sorted(c.name for c in routes.COMMANDS)


def test_every_command_has_its_menu_text_in_both_languages() -> None:
    """`commands.<name>` exists in every catalog for every command of the table."""
    catalogs = Catalogs.load("zh")
    for language in ("zh", "en"):
        keys = catalogs.keys(language)
        assert [c.name for c in routes.COMMANDS if c.menu_text_key not in keys] == []


def test_a_role_menu_holds_its_own_commands_and_those_of_the_roles_below() -> None:
    """Citizen ⊂ volunteer ⊂ area admin ⊂ centre admin; group admins see /bind, /bindings and
    /stats; the admin chat has no citizen or volunteer command but /cancel."""
    menus = routes.menus()
    chain = [Menu.CITIZEN, Menu.VOLUNTEER, Menu.AREA_ADMIN, Menu.CENTRE_ADMIN]
    for lower, higher in itertools.pairwise(chain):
        assert set(menus[lower]) < set(menus[higher])
    assert menus[Menu.CITIZEN] == ("start", "new", "my", "theme", "events", "join", "lang",
                                   "help", "mydata", "forget", "cancel")
    assert {"activities", "publish", "addhours", "forneighbour"} <= set(
        menus[Menu.VOLUNTEER]) - set(menus[Menu.CITIZEN])
    assert "theme" in menus[Menu.VOLUNTEER] and "theme" not in menus[Menu.GROUP_ADMIN]
    assert menus[Menu.GROUP_ADMIN] == ("bind", "bindings", "stats")
    assert "grant" in menus[Menu.CENTRE_ADMIN] and "grant" not in menus[Menu.AREA_ADMIN]
    assert "new" not in menus[Menu.ADMIN_CHAT] and "cancel" in menus[Menu.ADMIN_CHAT]
