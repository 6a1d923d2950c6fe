"""Who may run admin commands, and over which part of the district."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.context import Env, Who
from storage import Repo, User

CENTRE = "centre"  # a centre admin (config `bot.admin_ids`): everything, everywhere


_USER_ID = re.compile(r"-?[0-9]{1,19}")

@dataclass(frozen=True)
class Role:
    """An admin's powers: a centre admin sees everything; an area admin their areas' subtrees."""

    user_id: int
    centre: bool
    areas: tuple[str, ...] = ()  # the areas granted (empty for a centre admin)
    scope: frozenset[str] | None = None  # every area id they act in; None = everywhere

    def covers(self, area_id: str | None) -> bool:
        """Say whether a request (or a command) in `area_id` is within this admin's reach.

        A request with no area belongs to the district as a whole: centre admins only."""
        if self.scope is None:
            return True
        return area_id is not None and area_id in self.scope

    def area_ids(self) -> list[str] | None:
        """The area ids to filter queries by, or None for no filter."""
        return None if self.scope is None else sorted(self.scope)


class Roles:
    """Decides who is an admin of what; grants live in the database, centre admins in config."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def is_centre(self, user_id: int) -> bool:
        """Say whether a user is a centre admin (from the config)."""
        return user_id in self.env.config.admin_ids

    async def is_admin(self, user_id: int) -> bool:
        """Say whether a user holds any admin role (a read, outside any unit of work)."""
        if self.is_centre(user_id):
            return True
        async with self.env.db.reading() as repo:
            return await self.of(repo, user_id) is not None

    async def of(self, repo: Repo, user_id: int) -> Role | None:
        """Return the user's admin role, or None if they are no admin at all."""
        if self.is_centre(user_id):
            return Role(user_id, centre=True)
        tree = self.env.config.areas
        granted = tuple(a for a in await repo.people.granted_areas(user_id)
                        if tree is not None and a in tree)  # an area gone from the file: void
        if not granted:
            return None
        assert tree is not None
        scope = frozenset(area for root in granted for area in tree.subtree(root))
        return Role(user_id, centre=False, areas=granted, scope=scope)

    def may_see_private_data(self, who: Who, chat_id: int) -> bool:
        """Phones, addresses and exports go only to a private chat or the admin chat."""
        return chat_id == who.user_id or chat_id in self.env.config.admin_chats()

    async def find_user(self, repo: Repo, word: str) -> User | None:
        """Find a user by numeric id or @username (someone the bot has seen)."""
        word = word.strip()
        # ASCII digits only: "²".isdigit() is true, and int("²") raises.
        if _USER_ID.fullmatch(word):
            user_id = int(word)
            # SQLite holds 64-bit integers; Telegram's ids are far smaller.
            return await repo.people.user(user_id) if abs(user_id) < 2**53 else None
        if word.startswith("@") and len(word) > 1:
            return await repo.people.user_by_username(word[1:])
        return None

    def area_arg(self, role: Role, word: str) -> str | None:
        """Return the area id named by `word` if it exists and the role covers it, else None."""
        tree = self.env.config.areas
        area = word.strip().lower()
        if tree is None or area not in tree:
            return None
        if area == tree.root:
            return area if role.centre else None
        return area if role.covers(area) else None
