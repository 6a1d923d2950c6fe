"""Casework on one request by an admin: /find, /assign, /cancel, /reopen, /move."""

from __future__ import annotations

from bot.context import Env, Who
from bot.loop import RequestLoop
from bot.roles import Roles


class Casework:
    """Admin actions on single requests, each an event with who and why."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles

    async def find(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/find <ref>: the request and its full timeline."""
        await self.loop.find(who, chat_id, args)  # TODO(issue 5): scoping

    async def assign(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/assign <ref> <volunteer>."""
        raise NotImplementedError

    async def cancel(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/cancel <ref> <reason>."""
        raise NotImplementedError

    async def reopen(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/reopen <ref> <reason>."""
        raise NotImplementedError

    async def move(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/move <ref> <category|area>."""
        raise NotImplementedError
