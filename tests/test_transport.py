"""The bot's HTTP transport: Bot API calls over aiohttp, with the network's failures as PTB's."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import telegram
from aiohttp import web
from telegram import InputFile
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.delivery.transport import (
    AiohttpRequest,
    is_plain,
    json_without_lone_surrogates,
    post_plain,
)
from sandbox import Limits, Sandbox, SimUser

TOKEN = "123456:TRANSPORT-token"


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(token=TOKEN, limits=Limits.off()) as sandbox:
        yield sandbox


@pytest.fixture
async def alice(sb: Sandbox) -> SimUser:
    user = sb.add_user("Alice")
    await user.send("/start")
    return user


@contextlib.asynccontextmanager
async def serving(handler: Callable[[web.Request], Awaitable[web.Response]]
                  ) -> AsyncIterator[int]:
    """A local HTTP server answering every path with `handler`; yields its port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def transport() -> AsyncIterator[AiohttpRequest]:
    """An initialized AiohttpRequest, shut down afterwards."""
    request = AiohttpRequest(2)
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


def unused_port() -> int:
    """A local port nobody listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_over(base_url: str, pool_size: int = 4) -> telegram.Bot:
    """A PTB Bot whose calls go through AiohttpRequest."""
    return telegram.Bot(TOKEN, base_url=base_url, request=AiohttpRequest(pool_size),
                        get_updates_request=AiohttpRequest(1, read_timeout=None))


async def test_a_message_with_a_keyboard_arrives_as_sent(sb: Sandbox, alice: SimUser) -> None:
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("认领", callback_data="claim:1")]])
    async with bot_over(sb.base_url) as bot:
        sent = await bot.send_message(alice.id, "新诉求 2026-000001", reply_markup=keyboard)

    got = await alice.private.wait_for(text="新诉求 2026-000001", timeout=5)
    assert got.message_id == sent.message_id
    assert got.button_data == {"认领": "claim:1"}


async def test_a_file_goes_up_as_multipart_with_its_name(sb: Sandbox, alice: SimUser) -> None:
    content = "编号,状态\n2026-000001,已办结\n".encode()
    async with bot_over(sb.base_url) as bot:
        await bot.send_document(alice.id, InputFile(content, filename="诉求-2026.csv"),
                                caption="export")

    got = await alice.private.wait_for(text="export", timeout=5)
    record = sb.world.files[got.file_ids[0]]
    assert record.data == content
    assert record.meta.get("file_name") == "诉求-2026.csv"


async def test_telegrams_refusal_stays_telegrams(sb: Sandbox) -> None:
    async with bot_over(sb.base_url) as bot:
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(999_999, "nobody")


async def test_more_calls_than_connections_wait_their_turn(sb: Sandbox, alice: SimUser) -> None:
    async with bot_over(sb.base_url, pool_size=2) as bot:
        sent = await asyncio.gather(*(bot.send_message(alice.id, f"n{n}") for n in range(12)))

    assert len({m.message_id for m in sent}) == 12


async def test_a_peer_that_does_not_answer_in_time_is_a_timeout() -> None:
    answer = asyncio.Event()  # set only when the test is over

    async def slow(request: web.Request) -> web.Response:
        await answer.wait()
        return web.json_response({"ok": True, "result": True})

    async with serving(slow) as port, transport() as request:
        try:
            with pytest.raises(TimedOut):
                await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe",
                                   read_timeout=0.2)
        finally:
            answer.set()  # before the server closes: it waits for its handlers


async def test_an_upload_the_peer_stops_reading_is_a_timeout() -> None:
    """Writing the body is bounded too: a stalled upload does not hold a sender slot."""
    release = asyncio.Event()

    async def take_headers_then_stall(reader: asyncio.StreamReader,
                                      writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        await release.wait()
        writer.close()

    server = await asyncio.start_server(take_headers_then_stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    data = RequestData([RequestParameter("chat_id", 1, None), RequestParameter.from_input(
        "document", InputFile(b"x" * (32 << 20), filename="big.csv"))])
    try:
        async with transport() as request:
            with pytest.raises(TimedOut):
                await asyncio.wait_for(request.post(
                    f"http://127.0.0.1:{port}/bot{TOKEN}/sendDocument", request_data=data,
                    read_timeout=0.2, write_timeout=0.2, connect_timeout=0.2,
                    pool_timeout=0.2), timeout=10)
    finally:
        release.set()
        server.close()


async def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP(S)_PROXY is honoured, credentials included, as with PTB's default transport."""
    asked: list[tuple[str, str | None]] = []

    async def proxy(request: web.Request) -> web.Response:
        asked.append((str(request.url), request.headers.get("Proxy-Authorization")))
        return web.json_response({"ok": True, "result": True})

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with serving(proxy) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://bot:s%40fe@127.0.0.1:{port}")
        async with transport() as request:
            assert await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe") is True
    assert asked == [(f"http://api.telegram.invalid/bot{TOKEN}/getMe",
                      "Basic " + base64.b64encode(b"bot:s@fe").decode())]


async def test_a_host_named_in_no_proxy_is_reached_directly(
    sb: Sandbox, alice: SimUser, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused_port()}")  # nobody there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    async with bot_over(sb.base_url) as bot:
        await bot.send_message(alice.id, "直连")
    assert (await alice.private.wait_for(text="直连", timeout=5)).text == "直连"


async def test_nobody_listening_is_a_network_error() -> None:
    async with transport() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{unused_port()}/bot{TOKEN}/getMe")
    assert not isinstance(raised.value, TimedOut)
    assert "aiohttp" in str(raised.value)


async def test_a_call_before_initialize_says_so() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest(1).do_request("http://127.0.0.1:9/x", "POST")


async def test_a_call_without_files_goes_as_one_json_body() -> None:
    """The Bot API takes JSON as well as forms; JSON costs a third less CPU per call."""
    got: list[tuple[str, object]] = []

    async def api(request: web.Request) -> web.Response:
        got.append((request.content_type, await request.json()))
        return web.json_response({"ok": True, "result": True})

    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("认领", callback_data="claim:1")]])
    async with serving(api) as port:
        bot = telegram.Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot",
                           request=AiohttpRequest(1))
        await bot.request.initialize()
        try:
            await bot.answer_callback_query("7", text="好", show_alert=True)
            await bot.do_api_request("editMessageReplyMarkup", api_kwargs={
                "chat_id": -100, "message_id": 3, "reply_markup": keyboard})
        finally:
            await bot.request.shutdown()
    assert got == [
        ("application/json", {"callback_query_id": "7", "text": "好", "show_alert": True}),
        ("application/json", {"chat_id": -100, "message_id": 3, "reply_markup": {
            "inline_keyboard": [[{"text": "认领", "callback_data": "claim:1"}]]}}),
    ]


async def test_a_stored_call_goes_straight_through_the_bots_transport(
    sb: Sandbox, alice: SimUser,
) -> None:
    """The sender's plain-JSON calls skip Bot's wrapping but answer and fail as through it."""
    markup = {"inline_keyboard": [[{"text": "认领", "callback_data": "claim:1"}]]}
    params = {"chat_id": alice.id, "text": "新诉求", "reply_markup": markup, "parse_mode": None}
    assert is_plain("sendMessage", params)
    assert not is_plain("sendDocument", {"document": InputFile(b"x", filename="a.csv")})
    assert not is_plain("sendMediaGroup", {"media": []})
    async with bot_over(sb.base_url) as bot:
        sent = await post_plain(bot, "sendMessage", params)
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await post_plain(bot, "sendMessage", {"chat_id": 999_999, "text": "nobody"})

    got = await alice.private.wait_for(text="新诉求", timeout=5)
    assert sent["message_id"] == got.message_id
    assert got.button_data == {"认领": "claim:1"}


def test_a_lone_surrogate_is_mended_and_a_pair_kept() -> None:
    """Half of a UTF-16 pair alone becomes U+FFFD, in values and keys, nested; a whole pair
    (an emoji as Telegram escapes it) stays the emoji; JSON without one is left as parsed."""
    raw = rb'{"text": "a\ud800b \ud83d\ude00", "list": [{"\udfffkey": "\udc00"}], "n": 5}'
    assert json_without_lone_surrogates(json.loads(raw), raw) == {
        "text": "a\ufffdb \U0001f600", "list": [{"\ufffdkey": "\ufffd"}], "n": 5}
    plain = '{"text": "路灯坏了"}'.encode()
    parsed = json.loads(plain)
    assert json_without_lone_surrogates(parsed, plain) is parsed
    # Each half on its own, as any client may escape it (upper or lower case, either half,
    # anywhere in its range) is found: the search is what decides whether to mend at all.
    for escape in (rb"\uD800", rb"\ud9ff", rb"\uDAbc", rb"\udc00", rb"\uDFFF"):
        alone = b'{"text": "x' + escape + b'"}'
        assert json_without_lone_surrogates(json.loads(alone), alone) == {"text": "x\ufffd"}
    # Every answer the transport reads (getUpdates' among them) is mended so.
    assert AiohttpRequest.parse_json_payload(raw) == json_without_lone_surrogates(
        json.loads(raw), raw)
