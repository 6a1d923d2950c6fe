"""Webhook mode: Telegram posts each update; it is stored before the 200 that confirms it.

The 200 is Telegram's confirmation, as the next getUpdates offset is in polling: once it has
it, Telegram forgets the update. So the handler commits the update to the inbox (synced to
disk) first and answers after; a failed commit answers 500 and Telegram sends it again. Handling
is not done in the request: one worker takes stored updates in update_id order, one at a time,
as the poller does, so a slow handler never makes Telegram wait or retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import hmac
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram.error import BadRequest, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.config import Webhook
from bot.context import Env
from bot.delivery.inbox import ALLOWED_UPDATES, Displaced, Inbox, seconds
from bot.delivery.transport import json_without_lone_surrogates
from storage import is_full

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BACKOFF = 15.0  # while Telegram is away at start, ask again this often at most
# Telegram's updates are a few kilobytes; anything near this is not one of them.
MAX_BODY = 1024 * 1024
# At start the schedule's catch-up waits for the updates Telegram held for us (as polling's
# waits for the first batch), but no longer than this if fewer come than Telegram counted.
CATCH_UP_WAIT = 10.0
# How often the webhook is looked at (getWebhookInfo): another instance that polls deletes it,
# one in webhook mode replaces it, and Telegram says nothing to the bot it was taken from.
WATCH_EVERY = 60.0
STORING = "storing posted updates"  # who waits for room in a full database, as logged



def same_address(told: str, ours: str) -> bool:
    """Whether the webhook address Telegram reports is the one we set: read as an address
    (the host's case, a default port, an internationalised host written in punycode), not
    as a string, so that a healthy bot never takes its own webhook for another's."""
    if not told:
        return False

    def key(url: str) -> tuple[str, str, int | None, str, str]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        with contextlib.suppress(UnicodeError):  # a name IDNA cannot write: compared as it is
            host = host.encode("idna").decode("ascii")
        default = {"https": 443, "http": 80}.get(parts.scheme.lower())
        port = None if parts.port == default else parts.port
        return parts.scheme.lower(), host.lower(), port, parts.path or "/", parts.query

    try:
        return key(told) == key(ours)
    except ValueError:  # a port that is no number: not an address we set
        return told == ours

class WebhookReceiver:
    """Listens for Telegram's posts, stores each update, and handles them one at a time."""

    def __init__(
        self,
        env: Env,
        app: Application,  # type: ignore[type-arg]
        on_caught_up: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        assert env.config.webhook is not None, "webhook mode without [webhook] settings"
        self.settings: Webhook = env.config.webhook
        self.env = env
        self.app = app
        self._stopping = asyncio.Event()
        self.inbox = Inbox(env, app, self._stopping)
        # Called once, after what waited for us is handled (see Poller): the updates a
        # previous run stored, and those Telegram held while we were down.
        self.on_caught_up = on_caught_up
        self.failures = 0  # setWebhook calls failed in a row (Telegram away at start)
        # Requests answered with an error, by reason: secret (403), body (400), storage (500).
        self.refused: Counter[str] = Counter()
        self.port: int | None = None  # the port bound
        self._answered = 0  # posts answered 200 (stored, or repeats of what was)
        self._secret = self.settings.secret_token.encode()
        # Stored, not yet handled: (update_id, update), smallest id first.
        self._queue: list[tuple[int, dict[str, Any]]] = []
        self._queued = asyncio.Event()

    def stop(self) -> None:
        """Stop accepting posts and stop after the update in hand; the rest stay stored."""
        self._stopping.set()
        self._queued.set()

    async def run(self) -> None:
        """Listen, set the webhook, replay what a previous run left, then handle until stopped."""
        # Read before listening: an update posted from now on is queued by its handler, so
        # none is both a leftover and queued (handled twice).
        leftovers = await self.inbox.leftovers()
        if self._stopping.is_set():
            return
        runner = await self._listen()
        # The port closes the moment a stop is asked for, while the update in hand finishes.
        closing = asyncio.create_task(self._close_when_stopped(runner))
        try:
            held = await self._register()
            if held is None or not await self.inbox.replay(leftovers, self._stopping):
                return
            work = asyncio.create_task(self._work(held))
            watch = asyncio.create_task(self._watch())
            await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
            if watch.done():  # the webhook was taken: stop after the update in hand
                self.stop()
            else:
                watch.cancel()
            await asyncio.gather(work, watch, return_exceptions=True)
            work.result()
            if not watch.cancelled():
                watch.result()
        finally:
            self._stopping.set()  # also when killed (cancelled): let go of the port
            await closing

    async def _work(self, held: int) -> None:
        """Handle queued updates in update_id order, one at a time, until stopped; call
        on_caught_up once the `held` posts Telegram owed us at start have come and are
        handled (or CATCH_UP_WAIT has passed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CATCH_UP_WAIT
        caught_up = self.on_caught_up is None
        while not self._stopping.is_set():
            if not caught_up and ((self._answered >= held and not self._queue)
                                  or loop.time() >= deadline):
                caught_up = True
                assert self.on_caught_up is not None
                await self.on_caught_up()
                continue
            if not self._queue:
                self._queued.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._queued.wait(), None if caught_up
                                           else max(0.0, deadline - loop.time()))
                continue
            update_id, update = heapq.heappop(self._queue)
            await self.inbox.handle(update_id, update)

    async def _listen(self) -> web.AppRunner:
        """Serve the webhook path on the configured address."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.settings.path, self._receive)
        # A stop waits this long at most for posts being stored (each takes milliseconds).
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
        await runner.setup()
        await web.TCPSite(runner, self.settings.host, self.settings.port).start()
        self.port = int(runner.addresses[0][1])
        log.info("webhook: listening on %s:%s%s", self.settings.host, self.port,
                 self.settings.path)
        return runner

    async def _close_when_stopped(self, runner: web.AppRunner) -> None:
        """Once a stop is asked for, stop listening; posts in progress finish storing."""
        await self._stopping.wait()
        await runner.cleanup()

    async def _register(self) -> int | None:
        """setWebhook, retried while Telegram is away; return how many posts Telegram owes us
        now (what it held while we were down), None if stopped first.

        Called at every start: Telegram then gets the current address and secret, and tries at
        once what it held for us instead of waiting out its backoff.
        """
        delay = 1.0
        while not self._stopping.is_set():
            try:
                await self.app.bot.set_webhook(
                    url=self.settings.url, secret_token=self.settings.secret_token,
                    allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False,
                    max_connections=self.settings.max_connections,
                )
                self.failures = 0
                log.info("webhook set: Telegram posts updates to %s", self.settings.url)
                return self._answered + await self._held()
            except InvalidToken:
                log.critical("Telegram rejects the bot token; stopping")
                raise
            except BadRequest as exc:
                # A wrong address or port: trying again will not help (and it is a subclass
                # of NetworkError, so caught before the network's errors).
                log.critical("Telegram refuses the webhook %s: %s", self.settings.url,
                             exc.message)
                raise
            except RetryAfter as exc:
                delay = seconds(exc.retry_after)
            except TelegramError as exc:
                self.failures += 1
                log.warning("could not set the webhook (%s); retrying in %.0fs", exc, delay)
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({stopping}, timeout=delay)
            stopping.cancel()
            delay = min(delay * 2, MAX_BACKOFF)
        return None

    async def _watch(self) -> None:
        """Look at the webhook every WATCH_EVERY seconds; raise Displaced once it is not ours
        (deleted, or another address). Telegram or the network away: look again later."""
        while not self._stopping.is_set():
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({stopping}, timeout=WATCH_EVERY)
            stopping.cancel()
            if self._stopping.is_set():
                return
            try:
                url = (await self.app.bot.get_webhook_info()).url
            except TelegramError as exc:
                log.info("could not look at the webhook (%s); looking again later", exc)
                continue
            if not same_address(url, self.settings.url):
                now = f"set to {url.split('?')[0]}" if url else "deleted"
                raise Displaced(f"the webhook is no longer this bot's (now {now}): another "
                                "instance receives this token's updates; stopping, so that "
                                "updates are not split between two databases and messages "
                                "not sent by both")

    async def _held(self) -> int:
        """How many updates Telegram has waiting for us (0 if it will not say)."""
        try:
            return (await self.app.bot.get_webhook_info()).pending_update_count
        except TelegramError as exc:
            log.warning("could not ask Telegram what it holds (%s); not waiting for it", exc)
            return 0

    async def _receive(self, request: web.Request) -> web.Response:
        """One post from Telegram: check the secret, parse, store, and only then answer 200."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "backslashreplace")
        if not hmac.compare_digest(given, self._secret):  # constant time: no guessing by timing
            self.refused["secret"] += 1
            # The header's value is not logged: it may be a near miss of the real secret.
            log.warning("webhook: refused a post from %s without the right secret token",
                        request.remote)
            return web.Response(status=403)
        try:
            body = await request.read()
            update = json_without_lone_surrogates(json.loads(body), body)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or absurdly nested
            return self._bad("not JSON")
        if not isinstance(update, dict):
            return self._bad("not a JSON object")
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) \
                or not 0 <= update_id < 2 ** 63:  # what SQLite's INTEGER holds
            return self._bad("no update_id")
        try:
            fresh = await self.inbox.store([(update_id, json.dumps(update, ensure_ascii=False))])
        except Exception as exc:  # a full disk, a read-only file: Telegram keeps it, retries
            self.refused["storage"] += 1
            if is_full(exc):  # said once, not at each of Telegram's retries
                self.env.db.room.refused(STORING, exc)
            else:
                log.exception("webhook: could not store update %s; answering 500", update_id)
            return web.Response(status=500)
        self.env.db.room.took(STORING)
        if update_id in fresh:
            heapq.heappush(self._queue, (update_id, update))
        # else: Telegram sent it again (our 200 was lost): stored before, handled once.
        self._answered += 1
        self._queued.set()
        return web.Response()

    def _bad(self, why: str) -> web.Response:
        self.refused["body"] += 1
        log.warning("webhook: refused a post with the right secret but %s", why)
        return web.Response(status=400)
