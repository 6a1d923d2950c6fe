"""The admin console's own commands: area admins (/grant, /revoke, /admins), bans,
broadcasts to an area's volunteers, and the command menus each role sees."""

from __future__ import annotations

from bot.context import Answer, Env, Who
from bot.loop import RequestLoop
from bot.roles import Roles


class AdminConsole:
    """Roles, moderation and broadcasts."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles

    async def grant(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/grant <user> <area>."""
        raise NotImplementedError

    async def revoke(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/revoke <user> [area]."""
        raise NotImplementedError

    async def list_admins(self, who: Who, chat_id: int) -> None:
        """/admins."""
        raise NotImplementedError

    async def ban(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/ban <user> <reason>."""
        raise NotImplementedError

    async def unban(self, who: Who, chat_id: int, args: list[str]) -> None:
        """/unban <user>."""
        raise NotImplementedError

    async def broadcast(self, who: Who, chat_id: int, text: str) -> None:
        """/broadcast <area> <text>."""
        raise NotImplementedError

    async def decide_broadcast(self, who: Who, broadcast_id: int, send: bool) -> Answer:
        """Send or Cancel under a broadcast preview."""
        raise NotImplementedError
