"""/export: requests as XLSX and CSV (streamed, split under Telegram's upload limit)."""

from __future__ import annotations

from bot.context import Env, Who
from bot.jobs import Jobs
from bot.roles import Roles
from bot.volunteers import Volunteers


class Exports:
    """Answers /export [period] [area] and /export volunteers."""

    def __init__(self, env: Env, roles: Roles, jobs: Jobs, volunteers: Volunteers) -> None:
        self.env = env
        self.roles = roles
        self.jobs = jobs
        self.volunteers = volunteers

    async def export(self, who: Who, chat_id: int, args: list[str]) -> None:
        """Queue an export of requests, or send the volunteers' CSV."""
        await self.volunteers.export(who, chat_id, args)  # TODO(issue 5): requests export
