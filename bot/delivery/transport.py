"""Bot API calls over aiohttp: PTB's request seam, with a cheaper HTTP client than httpx."""

from __future__ import annotations

import base64
import io
import json
import re
import ssl
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import certifi
from telegram import Bot, InputFile
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

# PTB's own defaults (HTTPXRequest), in seconds.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
# A file upload may take longer to write than a text message.
MEDIA_TIMEOUT = 20.0
JSON_HEADERS = {"Content-Type": "application/json"}
# A UTF-16 surrogate written as a JSON escape (\ud800-\udfff): a pair of them is one
# character (an emoji, as Telegram escapes it), one alone is none at all.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class AiohttpRequest(BaseRequest):
    """Makes Bot API calls over one aiohttp session with a bounded connection pool.

    PTB's default transport (httpx) costs about 0.35 ms of CPU per call more than aiohttp
    on our machine, and the bot makes two or three calls per update (bench/loop.py).
    Status codes, Telegram's JSON and its errors stay with BaseRequest; this class moves
    bytes and turns the network's failures into PTB's TimedOut and NetworkError.
    """

    def __init__(self, pool_size: int, read_timeout: float | None = READ_TIMEOUT) -> None:
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None
        # The proxy for each (scheme, host) called, read from the environment once.
        self._proxies: dict[tuple[str, str], Proxy] = {}

    @staticmethod
    def parse_json_payload(payload: bytes) -> Any:
        """Telegram's answer as JSON, as BaseRequest parses it, with lone surrogates mended
        (json_without_lone_surrogates): an update is stored and echoed as UTF-8 text.

        An answer that is not JSON did not come from Telegram (a proxy's error page, a Wi-Fi
        portal's 200, a body cut off): a NetworkError, so the call waits out the outage and
        goes again like any other, rather than PTB's TelegramError (taken for a refusal, an
        attempt used up) logged with a traceback each time.
        """
        try:
            value = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise NetworkError(f"the answer is not Telegram's JSON: {payload[:60]!r}") from None
        if not isinstance(value, dict):
            raise NetworkError(f"the answer is not Telegram's JSON object: {payload[:60]!r}")
        return json_without_lone_surrogates(value, payload)

    @property
    def read_timeout(self) -> float | None:
        """The read timeout calls get unless they name their own (getUpdates does)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (inside the running loop, as aiohttp requires)."""
        if self._session is None or self._session.closed:
            # certifi's roots, as httpx uses: a slim image may lack the system's.
            tls = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=tls)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT})
            self._proxies.clear()

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one HTTP request; return its status code and body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data is not None else {}
        body: Any = None
        headers: dict[str, str] | None = None
        if files:
            body = _form(request_data, files)  # type: ignore[arg-type]
        elif request_data is not None:
            # One JSON body, as the Bot API takes besides forms: a form JSON-encodes each
            # value and then percent-encodes them all, a third of the CPU of an aiohttp call.
            body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers = JSON_HEADERS
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, MEDIA_TIMEOUT if files else READ_TIMEOUT)
        connect = _sum(_given(pool_timeout, POOL_TIMEOUT),
                       _given(connect_timeout, CONNECT_TIMEOUT))
        # aiohttp's connect timeout covers waiting for a pooled connection and opening one,
        # sock_read each wait for the answer; nothing of its own bounds writing the body (a
        # peer that stops reading an upload), so the whole call is bounded by the sum.
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, _sum(write, read)), connect=connect, sock_read=read)
        proxy = self._proxy_for(url)
        # A proxy's credentials go on its CONNECT for https, on the request itself for http.
        if proxy.headers and url.startswith("http:"):
            headers = {**(headers or {}), **proxy.headers}
        try:
            async with self._session.request(method, url, data=body, timeout=timeout,
                                             headers=headers, proxy=proxy.url,
                                             proxy_headers=proxy.headers) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy_for(self, url: str) -> Proxy:
        """The proxy HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY name for `url`, as with
        PTB's default transport (a server that reaches Telegram only through a proxy is set
        up that way). Looked up once per host: aiohttp's own trust_env reads the environment
        and ~/.netrc on every call, which costs more than the call itself."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        proxy = self._proxies.get(key)
        if proxy is None:
            proxy = self._proxies[key] = _env_proxy(*key)
        return proxy


@dataclass(frozen=True)
class Proxy:
    """A proxy to go through (url None: go direct), with its credentials if it has some."""

    url: str | None = None
    headers: dict[str, str] | None = None


def _env_proxy(scheme: str, host: str) -> Proxy:
    """What the environment says of reaching `host` over `scheme`."""
    if host and urllib.request.proxy_bypass(host):
        return Proxy()
    proxies = urllib.request.getproxies()
    found = proxies.get(scheme) or proxies.get("all")
    if not found:
        return Proxy()
    if "://" not in found:
        found = f"http://{found}"
    parts = urlsplit(found)
    if parts.username is None:
        return Proxy(found)
    bare = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return Proxy(bare, {"Proxy-Authorization": "Basic " + base64.b64encode(secret).decode()})


def _form(request_data: RequestData, files: dict[str, Any]) -> aiohttp.FormData:
    """A multipart body: the parameters as fields, each file as a part.

    Names go as UTF-8, as httpx sends them: aiohttp would percent-encode them, and Telegram
    would show a Chinese file name as %E8%AF%89….
    """
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        # A file object is sent in chunks (an export runs to megabytes); bytes at once.
        body = io.BytesIO(content) if isinstance(content, bytes) else content
        form.add_field(name, body, filename=filename, content_type=mimetype)
    return form


def _given(value: Any, default: float | None) -> float | None:
    """A timeout the caller gave, or ours when PTB passes its 'not given' marker."""
    return default if isinstance(value, DefaultValue) else value


def _sum(a: float | None, b: float | None) -> float | None:
    """Two timeouts in a row; None (wait forever) wins."""
    return None if a is None or b is None else a + b



def is_plain(method: str, params: dict[str, Any]) -> bool:
    """Whether a call's parameters are plain JSON as the outbox stores them (no file to
    upload, no PTB object for PTB to turn into JSON)."""
    return method != "sendMediaGroup" and not any(
        isinstance(value, InputFile) for value in params.values())


async def post_plain(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """Make a call whose parameters are plain JSON (is_plain) through the bot's transport, and
    return Telegram's result as JSON, as `bot.do_api_request(method, api_kwargs=params)` does.

    The same request object, URL and error handling (status codes and Telegram's errors
    become PTB's exceptions in BaseRequest.post), without what a call through Bot costs
    besides: a warning suggesting the typed method, defaults looked for, and every value
    walked for files and PTB objects it cannot hold (a fifth of PTB's CPU per call).
    """
    data = RequestData([RequestParameter(name, value, None)
                        for name, value in params.items() if value is not None])
    return await bot.request.post(f"{bot.base_url}/{method}", request_data=data)


def json_without_lone_surrogates(value: Any, raw: bytes) -> Any:
    """`value`, parsed from the JSON text `raw`, with every half of a UTF-16 pair that came
    without its other half (a lone surrogate) replaced by U+FFFD.

    JSON may escape one (\ud800) and Python's json reads it into a str that UTF-8 cannot
    encode: the update could be neither stored in the inbox nor quoted back, and polling
    would stop at it (a webhook would refuse it, and Telegram post it again forever). Only
    a text with a surrogate escape is walked, so the common update costs one search.
    """
    if _SURROGATE_ESCAPE.search(raw) is None:
        return value
    return _mended(value)


def _mended(value: Any) -> Any:
    """A parsed JSON value with lone surrogates in its strings (and keys) replaced."""
    if isinstance(value, str):
        # A proper pair is one code point by now; only a lone half fails to encode.
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_mended(key): _mended(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mended(item) for item in value]
    return value
