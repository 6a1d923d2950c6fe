"""The command menu each kind of user sees (Telegram's BotCommandScope).

Everyone in private sees the citizen's commands (the default for private chats). An approved
volunteer, an area admin and a centre admin each get their own menu, set for their private chat
in their language, and so does an inspector or a unit's member who is none of these; group
admins see the group commands; the admin chat sees the admin's."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from bot.config import LANGUAGES
from bot.context import Env
from bot.people.roles import Roles
from storage import Outgoing, Repo


class Menu(StrEnum):
    """The command menus Telegram shows; each command says which it appears in."""

    CITIZEN = "citizen"  # every private chat
    VOLUNTEER = "volunteer"  # an approved volunteer's private chat
    AREA_ADMIN = "area_admin"  # an area admin's private chat
    CENTRE_ADMIN = "centre_admin"  # a centre admin's private chat
    # An inspector's or a responsible unit's member's private chat, when they are neither an
    # approved volunteer nor an admin (whose menus hold these commands already)
    SUPERVISION = "supervision"
    GROUP_ADMIN = "group_admin"  # the administrators of any group
    ADMIN_CHAT = "admin_chat"  # the admin chat


class CommandMenus:
    """Builds the setMyCommands calls for each role, from the command names of each menu
    (the command table, handlers/routes.py, says which)."""

    def __init__(self, env: Env, roles: Roles, menus: Mapping[Menu, tuple[str, ...]]) -> None:
        self.env = env
        self.roles = roles
        self.menus = menus

    def commands(self, names: tuple[str, ...], language: str) -> list[dict[str, str]]:
        """The menu entries for these command names, described in `language`."""
        return [{"command": name, "description": self.env.t(language, f"commands.{name}")}
                for name in names]

    def shared_calls(self) -> list[tuple[str, dict[str, Any]]]:
        """(method, parameters) of the menus that do not depend on one user."""
        calls: list[tuple[str, dict[str, Any]]] = []
        for language in LANGUAGES:
            code = self._language_code(language)
            menus: list[tuple[dict[str, Any], tuple[str, ...]]] = [
                ({"type": "all_private_chats"}, self.menus[Menu.CITIZEN]),
                ({"type": "all_chat_administrators"}, self.menus[Menu.GROUP_ADMIN]),
            ]
            # Members of volunteer groups need no commands there: the cards have buttons.
            calls.append(("deleteMyCommands", {"scope": {"type": "all_group_chats"}, **code}))
            calls += [("setMyCommands", {"commands": self.commands(names, language),
                                         "scope": scope, **code})
                      for scope, names in menus]
            if self.env.config.admin_chat_id:
                calls.append(self._admin_chat_menu(self.env.config.admin_chat_id, language))
        return calls

    def admin_chat_menu(self, chat_id: int) -> list[Outgoing]:
        """The admin chat's menu, in each language, as calls to queue: for the supergroup the
        admin chat became (a chat's menu is set by its id; the next start sets it too)."""
        return [Outgoing(chat_id, method, params)
                for method, params in (self._admin_chat_menu(chat_id, language)
                                       for language in LANGUAGES)]

    def _admin_chat_menu(self, chat_id: int, language: str) -> tuple[str, dict[str, Any]]:
        return ("setMyCommands", {"commands": self.commands(self.menus[Menu.ADMIN_CHAT], language),
                                  "scope": {"type": "chat", "chat_id": chat_id},
                                  **self._language_code(language)})

    def _language_code(self, language: str) -> dict[str, str]:
        """The default language's menu is everyone's (no language_code); others by theirs."""
        return {} if language == self.env.t.default else {"language_code": language}

    async def for_user(self, repo: Repo, user_id: int) -> list[Outgoing]:
        """The call that gives one user the menu of their role, in their language; none for
        someone who has never opened the bot: Telegram knows no chat with them yet and
        answers "chat not found", so their /start sets it instead."""
        user = await repo.people.user(user_id)
        if user is None or not user.started:
            return []
        language = self.env.t.language_for(user.language if user else None, None)
        role = await self.roles.of(repo, user_id)
        volunteer = await repo.volunteers.volunteer(user_id)
        names: tuple[str, ...]
        if role is not None:
            names = self.menus[Menu.CENTRE_ADMIN if role.centre else Menu.AREA_ADMIN]
        elif volunteer is not None and volunteer.status == "approved":
            names = self.menus[Menu.VOLUNTEER]
        elif (await repo.supervision.inspector_group(user_id) is not None
              or await repo.supervision.units_of(user_id)):
            names = self.menus[Menu.SUPERVISION]
        else:
            names = ()
        scope = {"type": "chat", "chat_id": user_id}
        if not names:  # back to the default menu of private chats
            return [Outgoing(user_id, "deleteMyCommands", {"scope": scope})]
        return [Outgoing(user_id, "setMyCommands",
                         {"commands": self.commands(names, language), "scope": scope})]
