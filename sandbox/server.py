"""The Sandbox: an aiohttp server speaking the Bot API plus the test-facing handles."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .actors import SimChat, SimUser
from .limits import Limits, RateLimiter
from .methods import BotApi
from .spec import ApiError, Spec, Upload, load_spec
from .webhook import WebhookDelivery
from .world import EventCallback, World

log = logging.getLogger("sandbox")
NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


class SandboxBug(RuntimeError):
    """The sandbox produced an object that does not match the spec."""


@dataclass
class Fault:
    """A failure injected by a test: the next `remaining` matching calls get this error."""

    method: str
    code: int
    description: str
    remaining: int
    retry_after: int | None = None
    # Not Telegram's answer but what a proxy or a broken line gives: these bytes, as they are
    # (a proxy's HTML page, a 200 that is not JSON); `truncated` cuts the body half way and
    # drops the connection. `performed`: the call is made first (the message is sent) and
    # only its answer is lost, as when a line breaks after Telegram acted.
    body: bytes | None = None
    truncated: bool = False
    performed: bool = False
    chat: int | None = None  # only calls to this chat (None: any)
    delay: float = 0.0  # seconds before the answer leaves (past the bot's timeout: it hangs)

    def error(self) -> ApiError:
        """The error answered for a faulted call."""
        params = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.code, self.description, params)


class Sandbox:
    """A local fake Telegram: run it, point a bot's base_url at it, act as users."""

    def __init__(self, token: str = "123456:TEST-token", limits: Limits | None = None,
                 bot_username: str = "civicloop_test_bot",
                 bot_name: str = "Civicloop Test Bot", privacy_mode: bool = True,
                 spec: Spec | None = None, self_check: bool = True,
                 clock: Callable[[], float] = time.time):
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.limits = limits or Limits()
        self.spec = spec or load_spec()
        self.world = World(self.bot_id, bot_username, bot_name, self.limits, privacy_mode,
                           clock)
        self.limiter = RateLimiter(self.limits)
        self.api = BotApi(self.world, self.spec, self.limiter)
        self.self_check = self_check
        self.calls: list[tuple[str, dict[str, Any], Any]] = []
        self.errors: list[tuple[str, str]] = []
        self.count_429 = 0
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._faults: list[Fault] = []
        # While set, every connection is dropped unanswered, as if the network were down.
        self.unreachable = False
        self.dropped: list[str] = []  # the methods of the calls dropped that way
        # Called with the method's name after each call Telegram carried out, before its
        # answer leaves: a crash harness kills the bot there, the worst moment.
        self.after_call: Callable[[str], None] | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        """Start serving; port 0 picks a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation ends a long poll whose client disconnected (a killed bot).
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.host, self.port = host, sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop serving (pending long polls are dropped, webhook deliveries end)."""
        await self.api.webhook.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The base_url for PTB (it appends token and method)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """The base_file_url for PTB."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def bot_username(self) -> str:
        """The bot's @username (without @)."""
        return self.world.bot_username

    # ---- world ---------------------------------------------------------------------------

    def add_user(self, first_name: str, language_code: str | None = "en",
                 phone: str | None = None, username: str | None = None,
                 last_name: str | None = None) -> SimUser:
        """Create a user (ids from 1001); they must write to the bot before it can reply."""
        return self.world.add_user(first_name, language_code, phone, username, last_name)

    def add_group(self, title: str, type: str = "supergroup", forum: bool = False) -> SimChat:
        """Create a group (default supergroup) with the bot as a member; with `forum`, a
        supergroup with topics (SimChat.create_topic opens one)."""
        return self.world.add_group(title, type, forum)

    @property
    def users(self) -> dict[int, SimUser]:
        """Users by id."""
        return self.world.users

    @property
    def chats(self) -> dict[int, SimChat]:
        """Chats by id (old ids of migrated groups too)."""
        return self.world.chats

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot."""
        return self.world.updates

    def on_event(self, callback: EventCallback) -> None:
        """Call callback(kind, chat, message, detail) for each user action and bot change.

        kinds: user_message, user_press, bot_message, bot_edit, bot_delete, callback_answer.
        """
        self.world.listeners.append(callback)

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until condition() is true; TimeoutError after timeout seconds."""
        await self.world.wait_until(condition, timeout)

    @property
    def polls_started(self) -> int:
        """How many getUpdates calls have begun (a bot that started polling is serving)."""
        return self.api.polls_started

    @property
    def webhook(self) -> WebhookDelivery:
        """The webhook deliveries: the hook set (None: none), every post and its answer."""
        return self.api.webhook

    @property
    def webhooks_set(self) -> int:
        """How many setWebhook calls succeeded (a bot in webhook mode that set it is serving)."""
        return self.api.webhook.sets

    def calls_to(self, method: str) -> list[tuple[str, dict[str, Any], Any]]:
        """Recorded calls of one method."""
        return [c for c in self.calls if c[0].lower() == method.lower()]

    # ---- HTTP ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.unreachable:
            self.dropped.append(request.path.rsplit("/", 1)[-1])
            if request.transport is not None:
                request.transport.abort()  # the client sees the connection reset
            return web.Response(status=503)  # never reaches it: the transport is gone
        path = request.path
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot"):])
        if not path.startswith("/bot"):
            return web.json_response(NOT_FOUND, status=404)
        token, _, method = path[len("/bot"):].partition("/")
        if token != self.token:
            return web.json_response(UNAUTHORIZED, status=401)
        canonical = self.spec.method_name(method) if method and "/" not in method else None
        if canonical is None:
            return web.json_response(NOT_FOUND, status=404)
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        try:
            await _read_body(request, params, uploads)
        except ApiError as exc:
            return self._answer_error(canonical, params, uploads, exc)
        fault = self._take_fault(canonical, params)
        if fault is not None and not fault.performed:
            if fault.delay:
                await asyncio.sleep(fault.delay)  # a slow line, not a wait of the tests
            if fault.body is not None:
                return await self._answer_raw(request, canonical, fault)
            return self._answer_error(canonical, params, uploads, fault.error())
        try:
            validated, result = await self.api.call(
                canonical, params, uploads, lambda: _alive(request))
            self._check_result(canonical, result)
        except ApiError as exc:
            return self._answer_error(canonical, params, uploads, exc)
        except Exception as exc:
            # A sandbox bug must be loud: answer 500 and keep it in `errors`.
            log.exception("sandbox failed on %s", canonical)
            return self._answer_error(canonical, params, uploads, ApiError(
                500, f"Internal Server Error: sandbox bug: {type(exc).__name__}: {exc}"))
        self.calls.append((canonical, _loggable(validated, uploads), result))
        if self.after_call is not None:
            self.after_call(canonical)
        if fault is not None:  # performed, and now its answer is lost
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return await self._answer_raw(request, canonical, fault)
        return web.json_response({"ok": True, "result": result})

    def inject(self, method: str, *, code: int = 502, description: str = "Bad Gateway",
               times: int = 1, retry_after: int | None = None, body: bytes | None = None,
               truncated: bool = False, performed: bool = False,
               chat: int | None = None, delay: float = 0.0) -> Fault:
        """Make the next `times` calls of `method` ("*" = any but getUpdates) fail.

        With `body`, the answer is those bytes with status `code` (a proxy's page, broken
        JSON), cut half way if `truncated`; with `performed`, after the call was carried out;
        with `chat`, only calls to that chat fail; with `delay`, the answer leaves that many
        seconds late (past the bot's read timeout, the call times out).
        """
        if performed and body is None:
            raise ValueError("a performed fault needs the body its answer is replaced by")
        fault = Fault(method.lower(), code, description, times, retry_after, body, truncated,
                      performed, chat, delay)
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Stop failing calls on purpose."""
        self._faults.clear()

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self._faults:
            wanted = fault.method == method.lower() or (
                fault.method == "*" and method.lower() != "getupdates")
            if fault.chat is not None and str(params.get("chat_id")) != str(fault.chat):
                continue
            if wanted and fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None

    def _answer_error(self, method: str, params: dict[str, Any], uploads: dict[str, Upload],
                      exc: ApiError) -> web.Response:
        body = exc.to_dict()
        if exc.code == 429:
            self.count_429 += 1
        self.errors.append((method, exc.description))
        self.calls.append((method, _loggable(params, uploads), body))
        log.debug("%s -> %s", method, exc.description)
        return web.json_response(body, status=exc.code)

    async def _answer_raw(self, request: web.Request, method: str,
                          fault: Fault) -> web.StreamResponse:
        """Answer a faulted call with the fault's own bytes, as a proxy or a bad line would."""
        body = fault.body or b""
        self.errors.append((method, f"raw {fault.code}: {body[:40]!r}"))
        if not fault.truncated:
            return web.Response(status=fault.code, body=body, content_type="text/html")
        response = web.StreamResponse(status=fault.code)
        response.content_type = "application/json"
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[:len(body) // 2])
        if request.transport is not None:
            request.transport.abort()  # the rest never comes
        return response

    def _check_result(self, method: str, result: Any) -> None:
        if not self.self_check:
            return
        returns = self.spec.methods[method.lower()]["returns"]
        if method == "getUpdates":
            returns = ["Array of Update"]
        for t in returns:
            if isinstance(result, dict) == (not t.startswith("Array of ")) or \
                    isinstance(result, list) == t.startswith("Array of "):
                problems = self.spec.check_output(t, result)
                if problems:
                    raise SandboxBug(f"{method} returned an invalid {t}: {problems[:5]}")
                return

    def _serve_file(self, rest: str) -> web.Response:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return web.json_response(UNAUTHORIZED, status=401)
        rec = self.world.files_by_path.get(file_path)
        if rec is None:
            return web.json_response(NOT_FOUND, status=404)
        return web.Response(body=rec.data, content_type="application/octet-stream")

    def __repr__(self) -> str:
        return f"<Sandbox {self.base_url} users={len(self.users)} updates={len(self.updates)}>"


async def _read_body(request: web.Request, params: dict[str, Any],
                     uploads: dict[str, Upload]) -> None:
    """Merge a JSON, urlencoded or multipart body into params / uploads."""
    if request.method != "POST" or not request.can_read_body:
        return
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        params.update(body)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(key, value.filename, value.content_type,
                                      value.file.read())
            else:
                params[key] = value
    else:
        await request.read()


def _alive(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _loggable(params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
    out = {k: (f"<upload {v.filename or v.name}>" if isinstance(v, Upload) else v)
           for k, v in params.items()}
    for name, up in uploads.items():
        out.setdefault(name, f"<upload {up.filename or name}>")
    return out

