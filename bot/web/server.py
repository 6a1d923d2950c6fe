"""The public web server: one aiohttp application composed from the features' route tables.

Each feature is a route provider (an object with `routes()`, e.g. bot/web/open311.py); the
server knows none of them. It listens on `[web] listen` while the bot runs, started and stopped
by bot.app beside the operator's server (bot/ops/http.py), which is not public.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from aiohttp import web

from bot.context import Env

log = logging.getLogger(__name__)
# No feature takes uploads (Open311's media_url is a link): a bigger body is refused with 413
# before a handler reads it.
MAX_BODY = 64 * 1024
SHUTDOWN_SECONDS = 5.0


class RouteProvider(Protocol):
    """A feature of the public server: the routes it serves."""

    def routes(self) -> Iterable[web.AbstractRouteDef]: ...


class WebServer:
    """Serves the providers' routes on the configured public address while the bot runs."""

    def __init__(self, env: Env, providers: Sequence[RouteProvider]) -> None:
        self.env = env
        self.providers = list(providers)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the port bound (the configured one, or the OS's)

    def application(self) -> web.Application:
        """The aiohttp application of every provider's routes (tests serve it themselves)."""
        # /results/ (a slash typed or pasted at the end) leads to /results, with its query.
        app = web.Application(client_max_size=MAX_BODY, middlewares=[
            web.normalize_path_middleware(append_slash=False, remove_slash=True)])
        for provider in self.providers:
            app.router.add_routes(list(provider.routes()))
        return app

    async def start(self) -> None:
        """Listen, if an address is configured and some feature has routes."""
        config = self.env.config.web
        if config.host is None:
            return
        app = self.application()
        if not app.router.routes():
            log.warning("web.listen is set but no feature of the web server is enabled")
            return
        # No access log: a request's query string may hold a reporter's details.
        # A client still sending its request at the stop holds it up for 5 s at most, not
        # aiohttp's default minute (SIGTERM would take one).
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await self._runner.setup()
        await web.TCPSite(self._runner, config.host, config.port).start()
        self.port = int(self._runner.addresses[0][1])  # the OS's choice for port 0
        log.info("public web server on http://%s:%s/", config.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
