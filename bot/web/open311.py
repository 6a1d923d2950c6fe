"""The Open311 GeoReport v2 API: a city's other channels (a 12345 hotline, a web form) file
requests into the same loop and follow them, in JSON or XML.

Under /open311/v2/: GET services.{fmt}, GET services/{code}.{fmt}, GET requests.{fmt} (with
the spec's filters, last 90 days and 1000 requests at most by default), GET
requests/{id}.{fmt}, POST requests.{fmt} with a client's api_key. A posted request is a request
like any other, owned by the client's pseudo user (config.Open311Client.user_id), dispatched
to the volunteers' group of its category and area; its citizen steps reach nobody and end by
the auto-close timer. What the API shows is public: no names, phone numbers or e-mail
addresses; places only to the street (or the area) and points rounded to about 100 m.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiMapping

from bot.areas.tree import distance_km
from bot.config import Category, Open311Client
from bot.context import Env
from bot.lengths import visible
from bot.reports.tables import ILLEGAL_XML
from bot.requests import render, suggest
from bot.requests.intake import ADDRESS_MAX, ADDRESS_MIN
from bot.requests.loop import RequestLoop
from bot.unit import Units
from storage.models import CANCELLED, CLAIMED, CLOSED, DISPATCHED, DONE, OPEN_STATUSES
from storage.repos.open311 import OPEN311_EVENT, Published

log = logging.getLogger(__name__)
PREFIX = "/open311/v2"
FORMATS = ("json", "xml")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")  # the spec's POST bodies
MAX_RESULTS = 1000  # the spec's default ceiling of a GET requests answer
HOUR = 3600.0  # the span of a client's max_requests_per_hour
WINDOW = timedelta(days=90)  # the spec's default span, and the widest one asked for
MEDIA_URL_MAX = 1000
CONTACT_PART_MAX = 100  # a name, a phone number or an e-mail address
# Four decimals of a degree are 11 m; three are 111 m north-south and 95 m east-west here:
# a point shown publicly is rounded to three, near enough to find a broken lamp, not a door.
POINT_DECIMALS = 3
_PLUS_AS_SPACE = re.compile(r"(T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,19}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
# A street's name, the only part of a typed address shown publicly: the text up to the first
# road word (路 街 道 巷 胡同 弄 里, Road, Street …), before any house, building or room number.
# A point farther than this from every station is not in the district (a client's wrong
# coordinates, lat and long swapped): it goes to the default area, not to the nearest station.
STATION_REACH_KM = 5.0
_STREET_ZH = re.compile(r"^[^\d\s#,，、]{1,30}?(?:大街|大道|胡同|路|街|巷|弄|里)")
# What a caller may have typed before the street in one sentence ("王奶奶家在建设路12号"): a
# person (an honorific, then maybe 家) or a verb of where (在, 住): the street begins after it.
_BEFORE_STREET_ZH = re.compile(
    r"^.*(?:(?:奶奶|爷爷|阿姨|叔叔|大爷|大妈|大娘|大伯|老人|先生|女士|小姐|师傅)家?|在|住|的)")
# The city, district or town a street's name may begin with (北京市朝阳区阜通东大街): public
# geography, kept apart from the street's own name.
_REGION_ZH = re.compile(r"^(.*(?:省|市|区|县|镇|乡))?(.*)$")
_ROAD_WORD_ZH = re.compile(r"(?:大街|大道|胡同|路|街|巷|弄|里)$")
_REGION_WORD_ZH = re.compile(r"(?:省|市|区|县|镇|乡)$")
_REGION_PART_ZH = re.compile(r".*?(?:省|市|区|县|镇|乡)")
# A street's own name is short (光明, 中山北, 阜通东); a longer one is published only when it
# is made of words (文化宫东, 火车站前), since a name glued before it (王美玲建设路) is not.
_SHORT_NAME = 3
_DIRECTIONS = set("东南西北中前后")
_STREET_EN = re.compile(
    r"\b((?:[A-Z][A-Za-z'-]*\s+){1,4}(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Way|Boulevard|"
    r"Blvd|Drive|Dr|Alley|Hutong|Lu|Jie))\b")


class Open311Error(Exception):
    """A refused API call: its HTTP status and the catalog key of its description."""

    def __init__(self, status: int, key: str, retry_after: int | None = None,
                 close: bool = False, **values: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values
        self.retry_after = retry_after  # seconds, for a 429's Retry-After header
        self.close = close  # end the connection with the answer (its body is unreadable)


@dataclass(frozen=True)
class Posted:
    """What a client posted, checked."""

    category: Category
    description: str
    latitude: float | None
    longitude: float | None
    address: str | None
    contact: str | None
    media_url: str | None


# A route: the HTTP request and the answer's language in, the status and the body out.
Handler = Callable[[web.Request, str], Awaitable[tuple[int, Any]]]


class Open311Api:
    """The Open311 routes (a route provider of bot.web.server.WebServer)."""

    def __init__(self, env: Env, loop: RequestLoop, units: Units) -> None:
        self.env = env
        self.loop = loop
        self.units = units
        # GET requests is public: one listing at a time, read on the database thread and
        # written out in a worker thread (1,000 as XML take ~0.1 s of CPU: ten at once on the
        # event loop held every Telegram update for a second).
        self._listing = asyncio.Lock()

    def routes(self) -> Iterable[web.AbstractRouteDef]:
        """The API's routes, when `[web.open311] enabled`."""
        if not self.env.config.web.open311.enabled:
            return []
        table: list[tuple[str, dict[str, tuple[Handler, str]]]] = [
            ("/services.{fmt}", {"GET": (self.services, "services")}),
            ("/services/{code}.{fmt}", {"GET": (self.definition, "service_definition")}),
            ("/requests.{fmt}", {"GET": (self.requests, "service_requests"),
                                 "POST": (self.post, "service_requests")}),
            ("/requests/{ref}.{fmt}", {"GET": (self.request, "service_requests")}),
        ]
        routes = []
        for path, methods in table:
            for method, (handler, root) in methods.items():
                routes.append(web.route(method, PREFIX + path, self._answer(handler, root)))
            # Another method, then any other path under the prefix (a trailing slash): the
            # spec's error list too, not aiohttp's bare text.
            routes.append(web.route("*", PREFIX + path, self._refuse(", ".join(methods))))
        routes.append(web.route("*", PREFIX + "/{tail:.*}", self._refuse(None)))
        return routes

    # -- the HTTP frame: format, language, errors ---------------------------------------

    def _answer(self, handler: Handler, root: str) -> Callable[[web.Request],
                                                               Awaitable[web.Response]]:
        async def respond(request: web.Request) -> web.Response:
            fmt = request.match_info["fmt"]
            lang = self.env.t.language_for(None, request.query.get("locale"))
            if fmt not in FORMATS:
                return self._error("json", lang, Open311Error(404, "open311.error.format"))
            try:
                if handler == self.requests:  # the public listing: see self._listing
                    async with self._listing:
                        status, body = await handler(request, lang)
                        return await asyncio.to_thread(_response, fmt, status, body, root)
                status, body = await handler(request, lang)
            except Open311Error as error:
                return self._error(fmt, lang, error)
            except Exception:  # a full disk, a bug: the client still gets the spec's list
                log.exception("Open311 %s %s failed", request.method, request.path)
                return self._error(fmt, lang, Open311Error(500, "open311.error.internal"))
            return _response(fmt, status, body, root)
        return respond

    def _refuse(self, allowed: str | None) -> Callable[[web.Request], Awaitable[web.Response]]:
        """405 with the methods allowed (a known path), else 404 (no such path)."""
        async def refuse(request: web.Request) -> web.Response:
            fmt = request.match_info.get("fmt") or ("xml" if ".xml" in request.path else "")
            lang = self.env.t.language_for(None, request.query.get("locale"))
            if allowed is None:
                error = Open311Error(404, "open311.error.path")
            else:
                error = Open311Error(405, "open311.error.method", method=request.method,
                                     allowed=allowed)
            response = self._error(fmt if fmt in FORMATS else "json", lang, error)
            if allowed is not None:
                response.headers["Allow"] = allowed
            return response
        return refuse

    def _error(self, fmt: str, lang: str, error: Open311Error) -> web.Response:
        """The spec's error list: [{"code": …, "description": …}] or <errors><error>…."""
        text = self.env.t.raw(lang, error.key).format(**error.values)
        response = _response(fmt, error.status, [{"code": error.status, "description": text}],
                             "errors")
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        if error.close:
            response.force_close()  # Connection: close
        return response

    # -- services -------------------------------------------------------------------------

    async def services(self, request: web.Request, lang: str) -> tuple[int, Any]:
        """GET services: one service per category."""
        return 200, [self._service(category, lang) for category in self.env.config.categories]

    def _service(self, category: Category, lang: str) -> dict[str, Any]:
        raw = self.env.t.raw
        return {
            "service_code": category.code,
            "service_name": category.name(lang),
            "description": raw(lang, "open311.service_description").format(
                category=category.name(lang)),
            "metadata": False,  # no attributes: the form asks nothing beyond the standard fields
            "type": "realtime",
            "keywords": ",".join(dict.fromkeys((*category.names.values(), *category.keywords))),
            "group": raw(lang, "open311.group"),
        }

    async def definition(self, request: web.Request, lang: str) -> tuple[int, Any]:
        """GET services/{code}: no attributes (metadata is false); 404 for an unknown code."""
        category = self.env.config.category(request.match_info["code"])
        if category is None:
            raise Open311Error(404, "open311.error.unknown_service",
                               code=request.match_info["code"])
        return 200, {"service_code": category.code, "attributes": []}

    # -- requests: reading ----------------------------------------------------------------

    async def requests(self, request: web.Request, lang: str) -> tuple[int, Any]:
        """GET requests: by service_request_id (the others ignored, as the spec says), else by
        service_code, start_date, end_date and status."""
        query = request.query
        refs = _list(query, "service_request_id")
        if refs:
            if len(refs) > MAX_RESULTS:
                raise Open311Error(400, "open311.error.too_many_ids", most=MAX_RESULTS)
            async with self.env.db.reading() as repo:
                found = await repo.open311.by_refs(refs)
            return 200, await asyncio.to_thread(self._listed, found, lang)
        since, until = self._window(query.get("start_date"), query.get("end_date"))
        statuses = set(_list(query, "status"))
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "open311.error.status")
        open_ = None if len(statuses) != 1 else statuses == {"open"}
        async with self.env.db.reading() as repo:
            found = await repo.open311.search(
                categories=_list(query, "service_code"), since=since, until=until,
                open_=open_, limit=MAX_RESULTS)
        return 200, await asyncio.to_thread(self._listed, found, lang)

    def _listed(self, found: list[Published], lang: str) -> list[dict[str, Any]]:
        return [self._published(item, lang) for item in found]

    def _window(self, start: str | None, end: str | None) -> tuple[float, float]:
        """The span asked for: the last 90 days by default, and never wider."""
        since = _moment("start_date", start) if start else None
        until = _moment("end_date", end) if end else None
        if since is None and until is None:
            until = self.env.now()
        if since is None:
            assert until is not None
            since = until - WINDOW.total_seconds()
        if until is None:
            until = since + WINDOW.total_seconds()
        if since > until:
            raise Open311Error(400, "open311.error.dates_reversed")
        if until - since > WINDOW.total_seconds():
            raise Open311Error(400, "open311.error.window", days=WINDOW.days)
        return since, until

    async def request(self, request: web.Request, lang: str) -> tuple[int, Any]:
        """GET requests/{id}: the one request, in a list as the spec shows it."""
        ref = request.match_info["ref"]
        async with self.env.db.reading(inline=True) as repo:
            found = await repo.open311.by_refs([ref])
        if not found:
            raise Open311Error(404, "open311.error.unknown_request", ref=ref)
        return 200, [self._published(found[0], lang)]

    def _published(self, item: Published, lang: str) -> dict[str, Any]:
        """A request as the public sees it: no name, phone or e-mail; a street, not a door;
        a point rounded to about 100 m; a citizen's own (filed in Telegram): no words, no
        street or point, only the area."""
        env, r = self.env, item.request
        description = r.description
        if item.media_url and description.endswith("\n" + item.media_url):
            description = description[:-len(item.media_url) - 1]  # the claimer's copy of it
        category = env.config.category(r.category)
        area = render.area_name(env, r.area_id, lang) if r.area_id else None
        if not item.via_api:
            # A citizen in Telegram agreed that the volunteers see their words and place, not
            # the public: their request is published by category, status and area only.
            description, street, latitude, longitude = "", None, None, None
        else:
            street, latitude, longitude = public_address(r.address), r.latitude, r.longitude
        return {
            "service_request_id": r.ref,
            "status": "open" if r.status in OPEN_STATUSES else "closed",
            "status_notes": env.t.raw(lang, _note(r.status, r.closed_how, r.cancelled_by)),
            "service_name": category.name(lang) if category else r.category,
            "service_code": r.category,
            "description": render.mask_phones(description) if description else None,
            "agency_responsible": render.area_name(env, r.area_id, lang),
            "service_notice": None,
            "requested_datetime": self._iso(r.created_at),
            "updated_datetime": self._iso(r.updated_at),
            "expected_datetime": self._iso(item.expected_at) if r.status == CLAIMED else None,
            "address": street or area,
            "address_id": None,
            "zipcode": None,
            "lat": _rounded(latitude),
            "long": _rounded(longitude),
            "media_url": item.media_url,
        }

    def _iso(self, timestamp: float | None) -> str | None:
        """ISO 8601 with the district's offset, e.g. 2026-06-10T10:00:00+08:00."""
        if timestamp is None:
            return None
        return datetime.fromtimestamp(timestamp, self.env.config.timezone).isoformat(
            timespec="seconds")

    # -- requests: filing -----------------------------------------------------------------

    async def post(self, request: web.Request, lang: str) -> tuple[int, Any]:
        """POST requests: a client's request into the loop; answers its reference and a
        notice, as the spec's POST response does."""
        fields = await _fields(request)
        client = self._client(fields.get("api_key"))
        posted = self._posted(fields)
        area = self._area(posted)
        async with self.units.for_job() as unit:
            repo, now = unit.repo, unit.now()
            most = self.env.config.web.open311.max_requests_per_hour
            _, _, _, last_hour = await repo.requests.intake_standing(client.user_id, now - HOUR)
            if last_hour >= most:
                # A client's retry loop is told when its hour frees a place: when the first
                # of the hour's requests leaves it (later still if the limit was lowered).
                first = await repo.requests.first_since(client.user_id, now - HOUR)
                # It leaves once more than an hour has passed: a whole second after.
                wait = math.floor((first if first is not None else now) + HOUR - now) + 1
                raise Open311Error(429, "open311.error.too_many", retry_after=max(1, wait),
                                   most=most)
            await repo.open311.client_user(client.user_id, client.name, now)
            description = posted.description
            if posted.media_url:
                # The claimer and the card read the description: the link rides along.
                description += "\n" + posted.media_url
            filed, out = await self.loop.submit(repo, client.user_id, lang, {
                "category": posted.category.code, "area": area, "description": description,
                "latitude": posted.latitude, "longitude": posted.longitude,
                "address": posted.address, "phone": posted.contact})
            await repo.requests.add_event(filed.id, OPEN311_EVENT, None, now,
                                          {"client": client.id, "media_url": posted.media_url})
            unit.send(out)  # the cards; what it says to the client's pseudo user is dropped
        notice = self.env.t.raw(lang, "open311.notice").format(
            ref=filed.ref, area=render.area_name(self.env, area, lang))
        return 201, [{"service_request_id": filed.ref, "service_notice": notice,
                      "account_id": None}]

    def _client(self, key: str | None) -> Open311Client:
        """The client whose key this is; 403 without one (compared in constant time)."""
        if not key:
            raise Open311Error(403, "open311.error.no_key")
        found = None
        for client in self.env.config.web.open311.clients:
            if hmac.compare_digest(client.key.encode(), key.encode()):
                found = client
        if found is None:
            raise Open311Error(403, "open311.error.bad_key")
        return found

    def _posted(self, fields: Mapping[str, str]) -> Posted:
        """Check a POST's fields, naming the first one wrong. Control characters (a vertical
        tab or a NUL pasted from a word processor) are dropped: XML cannot hold them."""
        config = self.env.config
        fields = {name: ILLEGAL_XML.sub("", value) for name, value in fields.items()}
        code = fields.get("service_code", "").strip()
        if not code:
            raise Open311Error(400, "open311.error.missing", field="service_code")
        category = config.category(code)
        if category is None:
            raise Open311Error(404, "open311.error.unknown_service", code=code)
        latitude = _coordinate(fields, "lat", 90.0)
        longitude = _coordinate(fields, "long", 180.0)
        if (latitude is None) != (longitude is None):
            raise Open311Error(400, "open311.error.missing",
                               field="long" if longitude is None else "lat")
        # A text in which nothing shows (zero-width marks) is none, as in the form.
        address = visible(fields.get("address_string", "")) or None
        if latitude is None and address is None:
            raise Open311Error(400, "open311.error.no_place")
        if address is not None and not ADDRESS_MIN <= len(address) <= ADDRESS_MAX:
            raise Open311Error(400, "open311.error.length", field="address_string",
                               low=ADDRESS_MIN, high=ADDRESS_MAX)
        description = visible(fields.get("description", ""))
        if not description:
            raise Open311Error(400, "open311.error.missing", field="description")
        if len(description) > config.description_max_chars:
            raise Open311Error(400, "open311.error.length", field="description", low=1,
                               high=config.description_max_chars)
        media_url = fields.get("media_url", "").strip() or None
        if media_url is not None and not _is_link(media_url):
            raise Open311Error(400, "open311.error.media_url", most=MEDIA_URL_MAX)
        return Posted(category, description, latitude, longitude, address,
                      _contact(fields), media_url)

    def _area(self, posted: Posted) -> str | None:
        """The area as the form's location step offers it first (the nearest station to the
        point, if it is within reach), else the configured default area, else the district."""
        tree = self.env.config.areas
        if tree is not None and posted.latitude is not None and posted.longitude is not None:
            nearest = tree.nearest(posted.latitude, posted.longitude, 1)
            if nearest and distance_km(posted.latitude, posted.longitude,
                                       nearest[0].latitude or 0.0,
                                       nearest[0].longitude or 0.0) <= STATION_REACH_KM:
                return nearest[0].id
        return self.env.config.web.open311.default_area


# -- helpers -------------------------------------------------------------------------------

def public_address(address: str | None) -> str | None:
    """The street of a typed address, or None if no street name is recognised: what the
    public may see of where someone lives."""
    if not address:
        return None
    text = address.strip()
    chinese = _STREET_ZH.match(text)
    if chinese:
        street = _BEFORE_STREET_ZH.sub("", chinese.group(0))
        if not _STREET_ZH.fullmatch(street):
            return None
        region, name = _REGION_ZH.match(street).groups()  # type: ignore[union-attr]
        places = _REGION_PART_ZH.findall(region or "")
        if not all(_named_street(place, _REGION_WORD_ZH) for place in places):
            return None  # a name glued before the city or district: show nothing
        if _named_street(name):
            return street
        return region or None
    english = _STREET_EN.search(text)
    return english.group(1) if english else None


@functools.lru_cache(maxsize=4096)  # a listing of 1,000 requests names far fewer streets
def _named_street(street: str, kind: re.Pattern[str] | None = None) -> bool:
    """Whether a street (its name and road word, no region), or a city or district with
    `kind` its ending, reads as a place's name alone: short, or cut by the word list into
    words, with no lone character but a direction (a person's name glued before it,
    张三建设路, 王美玲建设路, 王美玲朝阳区, cuts into lone characters)."""
    ending = kind or _ROAD_WORD_ZH
    name = ending.sub("", street)
    if len(name) <= _SHORT_NAME:
        return True
    words = suggest.tokenizer().lcut(street, HMM=False)
    return all(len(word) > 1 or word in _DIRECTIONS or ending.fullmatch(word)
               for word in words)


def _note(status: str, closed_how: str | None, cancelled_by: str | None) -> str:
    """The catalog key of a request's status_notes."""
    if status == CLOSED:
        return {"confirmed": "open311.note.confirmed",
                "unconfirmed": "open311.note.auto_closed"}.get(closed_how or "",
                                                               "open311.note.closed")
    if status == CANCELLED:
        return "open311.note.handed" if cancelled_by == "supervision" else \
            "open311.note.cancelled"
    return {DISPATCHED: "open311.note.dispatched", CLAIMED: "open311.note.claimed",
            DONE: "open311.note.done"}[status]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, POINT_DECIMALS)


def _list(query: MultiMapping[str], name: str) -> list[str]:
    """A comma-delimited parameter's items, from each time it is given (a client sending a
    list as service_code=a&service_code=b means both)."""
    return [item.strip() for value in query.getall(name, []) for item in value.split(",")
            if item.strip()]


def _moment(name: str, text: str) -> float:
    """A W3C date-time with its offset (…Z or …+08:00); 400 otherwise. A + sent unencoded
    arrives as a space (form encoding): "…T09:00:00 08:00" is read as +08:00."""
    text = _PLUS_AS_SPACE.sub(r"\1+\2", text.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, "open311.error.date", field=name) from None
    if moment.tzinfo is None:
        raise Open311Error(400, "open311.error.date", field=name)
    return moment.timestamp()


def _coordinate(fields: Mapping[str, str], name: str, limit: float) -> float | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, "open311.error.coordinate", field=name) from None
    if not math.isfinite(value) or abs(value) > limit:
        raise Open311Error(400, "open311.error.coordinate", field=name)
    return value


def _is_link(url: str) -> bool:
    """An http(s) link of at most MEDIA_URL_MAX characters, with a host and no spaces. What
    urllib cannot split (a "[" left open, a full-width # in the host) or a port that is none
    (99999999, "port") is no link either: the client's mistake, not our failure."""
    if len(url) > MEDIA_URL_MAX or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # read for its check: ValueError when out of range or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _contact(fields: Mapping[str, str]) -> str | None:
    """How the claimer reaches the reporter (name · phone · e-mail), kept where a Telegram
    request keeps its phone: shown to the claimer only, scrubbed by the retention pass."""
    name = " ".join(part for part in (fields.get("first_name", "").strip(),
                                      fields.get("last_name", "").strip()) if part)
    phone, email = fields.get("phone", "").strip(), fields.get("email", "").strip()
    for field_name, value in (("first_name", name), ("phone", phone), ("email", email)):
        if len(value) > CONTACT_PART_MAX:
            raise Open311Error(400, "open311.error.length", field=field_name, low=0,
                               high=CONTACT_PART_MAX)
    if phone and not _PHONE.match(phone):
        raise Open311Error(400, "open311.error.phone")
    if email and not _EMAIL.match(email):
        raise Open311Error(400, "open311.error.email")
    parts = [part for part in (name, phone, email) if part]
    return " · ".join(parts) if parts else None


async def _fields(request: web.Request) -> dict[str, str]:
    """A POST's fields, from its body only (url-encoded or multipart: a key in the URL would
    sit in every proxy's log); 413 for a body over the server's limit, 400 for a file (media
    goes by media_url)."""
    if request.content_length is not None and request.content_length > request.client_max_size:
        raise Open311Error(413, "open311.error.too_large", most=request.client_max_size // 1024)
    if request.content_type not in FORMS:
        # aiohttp reads any other body as no fields: "api_key is missing" would mislead.
        raise Open311Error(400, "open311.error.not_form")
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise Open311Error(413, "open311.error.too_large",
                           most=request.client_max_size // 1024) from None
    except (UnicodeDecodeError, LookupError):  # a GBK hotline system; a charset unknown
        raise Open311Error(400, "open311.error.encoding") from None
    except web.RequestPayloadError:
        # The body does not decode as its Content-Encoding says (gzip announced, the form sent
        # as it is): the client's mistake. The rest of it cannot be read either: it is given
        # up (aiohttp would read on after the answer, fail again and log a traceback) and the
        # connection ends with the answer.
        request.content.feed_eof()
        raise Open311Error(400, "open311.error.compressed", close=True,
                           encoding=request.headers.get("Content-Encoding", "")) from None
    except ValueError:  # multipart without its boundary, or not multipart at all
        raise Open311Error(400, "open311.error.bad_form") from None
    fields: dict[str, str] = {}
    for name, value in form.items():
        if not isinstance(value, str):
            raise Open311Error(400, "open311.error.upload")
        if not _is_text(name) or not _is_text(value):
            # The body's (or a part's) charset named a codec that is no text encoding
            # (charset=unicode_escape makes half a UTF-16 pair of "\ud800"): no UTF-8 holds it.
            raise Open311Error(400, "open311.error.encoding")
        fields[name] = value
    return fields


def _is_text(value: str) -> bool:
    """Whether UTF-8 can hold the string: no lone surrogate."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _response(fmt: str, status: int, body: Any, root: str) -> web.Response:
    """The body as JSON, or as XML under `root` (each list item one element, named as the
    spec names it)."""
    if fmt == "json":
        return web.Response(status=status, text=json.dumps(body, ensure_ascii=False),
                            content_type="application/json", charset="utf-8")
    return web.Response(status=status, body=to_xml(root, body),
                        content_type="text/xml", charset="utf-8")


# What each list holds, by the list's element name (the spec's XML shape).
_ITEMS = {"services": "service", "service_requests": "request", "errors": "error",
          "attributes": "attribute", "values": "value"}


def to_xml(root: str, body: Any) -> bytes:
    """The spec's XML of a JSON-shaped body, with its UTF-8 declaration."""
    element = ET.Element(root)
    _fill(element, body)
    text = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, _ITEMS[element.tag]), item)
    elif isinstance(value, dict):
        for name, item in value.items():
            _fill(ET.SubElement(element, name), item)
    elif isinstance(value, bool):
        element.text = json.dumps(value)  # XML Schema's booleans: true, false
    elif value is not None:
        element.text = ILLEGAL_XML.sub("", str(value))  # XML 1.0 cannot hold them
