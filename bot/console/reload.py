"""/reload and SIGHUP: the teams, areas, categories and monthly themes read again without a
restart.

A broken file is refused with the reason (file and line, as at start-up) and the bot keeps
the configuration it has. Everything else in the file (the token, the database, delivery
limits, the schedule …) is read at start only: a change there is named as waiting for a
restart, not applied halfway.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace

from bot.config import Config, ConfigError, load_config
from bot.context import Env
from bot.moves import config_through
from bot.requests import suggest
from storage import Repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reloaded:
    """What a reload applied, and what waits for a restart."""

    areas: int
    categories: int
    teams: int
    themes: int  # months the themes file gives a theme
    restart_needed: tuple[str, ...]


class ConfigReloader:
    """Reads the config file again and applies its teams, areas, categories and themes."""

    def __init__(self, env: Env, sync_teams: Callable[[Repo], Awaitable[None]],
                 environ: dict[str, str] | None = None) -> None:
        self.env = env
        self.sync_teams = sync_teams  # within a transaction: the one given, or its own
        self.environ = environ
        self._lock = asyncio.Lock()  # /reload and SIGHUP at once: one after the other

    async def reload(self, repo: Repo | None = None) -> Reloaded:
        """Apply the file's teams, areas, categories and themes; ConfigError (nothing changed)
        if the file, or a file it names, is broken. The teams table is brought in line within
        `repo`'s transaction (a /reload's unit of work), else in a transaction of its own."""
        async with self._lock:
            old = self.env.config
            if old.source is None:
                raise ConfigError("the configuration was not read from a file")
            environ = dict(os.environ) if self.environ is None else self.environ
            # Reading a 10,000-line area file is file work: off the event loop.
            fresh = await asyncio.to_thread(load_config, old.source, environ)
            # A group the file names by the id it had before it became a supergroup is
            # reached by its new one (bot/moves.py), as at start.
            fresh = config_through(fresh, self.env.moved_chats)
            applied = replace(
                old, areas=fresh.areas, categories=fresh.categories,
                volunteering=replace(old.volunteering, teams=fresh.volunteering.teams),
                activities=replace(old.activities, themes=fresh.activities.themes),
                supervision=fresh.supervision,
                # Read at every lookup: a district may tune the check while running.
                duplicates=fresh.duplicates)
            waiting = tuple(f.name for f in fields(Config)
                            if f.compare and getattr(fresh, f.name) != getattr(applied, f.name))
            self.env.config = applied
            suggest.warm_up_in_background(applied.categories)  # keywords added since start
            if repo is not None:
                await self.sync_teams(repo)
            else:
                async with self.env.db.transaction() as own:
                    await self.sync_teams(own)
            return Reloaded(len(applied.areas) if applied.areas is not None else 0,
                            len(applied.categories), len(applied.volunteering.teams),
                            len(applied.activities.themes), waiting)

    async def on_signal(self) -> None:
        """SIGHUP: reload, and say in the log what came of it."""
        try:
            done = await self.reload()
        except ConfigError as exc:
            log.error("reload refused, the previous configuration stays: %s", exc)
            return
        log.info("reloaded: %d areas, %d categories, %d teams, %d monthly themes%s",
                 done.areas, done.categories, done.teams, done.themes,
                 f"; at the next restart: {', '.join(done.restart_needed)}"
                 if done.restart_needed else "")
