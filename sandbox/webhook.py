"""Webhook delivery, as Telegram does it: pending updates are posted to the bot one at a time,
in order, with the secret header; a failed post is retried with a growing delay."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .world import World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Hook:
    """The webhook setWebhook set, and how its deliveries went."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Attempt:
    """One post of an update: the HTTP status the bot answered, or the error instead."""

    update_id: int
    status: int | None
    error: str | None = None
    update: dict[str, Any] = field(default_factory=dict, repr=False)


class WebhookDelivery:
    """Posts the world's pending updates to the webhook while one is set."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.hook: Hook | None = None
        self.attempts: list[Attempt] = []  # every post, for tests to read
        self.sets = 0  # successful setWebhook calls (a bot in webhook mode has started)
        # Telegram waits longer between retries; tests need the story to go on.
        self.first_retry = 0.05
        self.max_retry = 1.0
        self.timeout = 10.0  # a bot answering later than this is a failed post
        # Called with each attempt the moment its answer is in, before anything else runs (a
        # test may kill the bot right after it answered 200).
        self.on_answer: Callable[[Attempt], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def set(self, hook: Hook) -> None:
        """Deliver to `hook` from now on, starting with the oldest pending update at once."""
        await self._halt()
        self.hook = hook
        self.sets += 1
        self._task = asyncio.create_task(self._run(hook), name="sandbox-webhook")

    async def delete(self) -> None:
        """Stop delivering; pending updates wait for getUpdates."""
        await self._halt()
        self.hook = None

    async def close(self) -> None:
        """Stop delivering and close the HTTP client (the sandbox is stopping)."""
        await self._halt()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _halt(self) -> None:
        # A post in flight is abandoned: its update stays pending, as when Telegram gives up
        # on an answer (the bot may have stored it; it must take the repeat as one).
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, hook: Hook) -> None:
        world = self.world
        failures = 0
        while True:
            pending = world.pending(1)
            if not pending:
                with contextlib.suppress(TimeoutError):
                    await world.wait_until(lambda: bool(world.pending(1)), 3600)
                continue
            update = pending[0]
            error = await self._post(hook, update)
            if error is None:
                failures = 0
                world.confirm(update["update_id"] + 1)
                world.notify()
                continue
            failures += 1
            hook.last_error_date = int(world.clock())
            hook.last_error_message = error
            await asyncio.sleep(min(self.max_retry, self.first_retry * 2 ** (failures - 1)))

    async def _post(self, hook: Hook, update: dict[str, Any]) -> str | None:
        """Post one update; None if the bot answered 2xx, else the error as Telegram words it."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        attempt = Attempt(update["update_id"], None, update=update)
        self.attempts.append(attempt)
        try:
            async with self._session.post(hook.url, data=json.dumps(update),
                                          headers=headers) as response:
                await response.read()
                attempt.status = response.status
                if self.on_answer is not None:
                    self.on_answer(attempt)
                if 200 <= response.status < 300:
                    return None
                attempt.error = (f"Wrong response from the webhook: {response.status} "
                                 f"{response.reason}")
        except aiohttp.ClientConnectorError:
            attempt.error = "Connection refused"
        except TimeoutError:
            attempt.error = "Read timeout expired"
        except aiohttp.ClientError as exc:
            attempt.error = f"Connection failed: {type(exc).__name__}"
        return attempt.error
