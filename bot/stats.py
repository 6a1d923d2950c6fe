"""/stats: figures for a period and an area, with a chart drawn in the background."""

from __future__ import annotations

from bot.context import Env, Who
from bot.jobs import Jobs
from bot.loop import RequestLoop
from bot.roles import Roles


class Statistics:
    """Answers /stats [period] [area] with text now and a PNG chart from a background job."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, jobs: Jobs) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        self.jobs = jobs

    async def stats(self, who: Who, chat_id: int, args: list[str]) -> None:
        """Send the figures for a period (default: all time) in an area (default: the
        admin's whole reach)."""
        await self.loop.stats(who, chat_id, args)  # TODO(issue 5): periods, scope, chart
