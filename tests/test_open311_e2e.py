"""The Open311 GeoReport v2 API over real HTTP: the spec's shapes, its errors, and a request
posted by a hotline that volunteers claim and finish in the sandbox, while nobody writes to the
hotline's pseudo user and no response shows a name, a phone number or an exact place."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import re
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from bot.config import API_KEY_MIN, Open311Client
from bot.web.open311 import public_address
from bot.web.server import WebServer
from sandbox import Sandbox
from tests.conftest import CATEGORIES, BotRunner, Town, make_config
from tests.flows import card_of, claim, file_request

if TYPE_CHECKING:
    from tests.conftest import TestClock

DATA = Path(__file__).resolve().parent / "data" / "open311"
SCHEMA = etree.XMLSchema(etree.parse(str(DATA / "georeport-v2.xsd")))
KEY = "k" * API_KEY_MIN + "-hotline"
OTHER_KEY = "w" * API_KEY_MIN + "-webform"
HOTLINE = Open311Client("hotline", "12345 Hotline", KEY)
V2 = "/open311/v2"
# What the hotline's caller tells: none of it may appear in a public answer.
CALLER = {"first_name": "Meiling", "last_name": "Quan", "phone": "13977001234",
          "email": "meiling.quan@example.org"}
EXACT = (34.86125, 117.55349)  # a door: published as 34.861, 117.553
HOUSE = "Jianshe Road No. 12, building 3, room 502"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"web": {"listen": "127.0.0.1:0", "open311": {
        "enabled": True,
        "clients": [{"id": "hotline", "name": "12345 Hotline", "key": KEY},
                    {"id": "webform", "name": "District web form", "key": OTHER_KEY}]}}}


@pytest.fixture
async def api(town: Town) -> AsyncIterator[TestClient[Any, Any]]:
    """aiohttp's test client on the running bot's public application (same services)."""
    services = town.bot.services
    assert services is not None
    async with TestClient(TestServer(services.web.application())) as client:
        yield client


def valid_xml(body: bytes) -> etree._Element:
    """Parse (well formed, UTF-8 declared) and validate against our schema."""
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document = etree.fromstring(body)
    assert SCHEMA.validate(document), SCHEMA.error_log
    return document


def shape(element: etree._Element) -> Any:
    """An XML element's structure: its tag and its children's shapes (text left out)."""
    return (element.tag, sorted({tag for tag, _ in (shape(c) for c in element)}))


async def post(api: TestClient[Any, Any], fmt: str = "json", **fields: Any
               ) -> aiohttp.ClientResponse:
    form = {"api_key": KEY, "service_code": "elderly", "description": "Grandpa Wu's door "
            "lock is broken and he cannot lock up at night.", **fields}
    return await api.post(f"{V2}/requests.{fmt}", data={k: str(v) for k, v in form.items()
                                                         if v is not None})


async def test_services_and_definitions_have_the_specs_fields_in_json_and_xml(
        api: TestClient[Any, Any]) -> None:
    spec = json.loads((DATA / "services.json").read_text("utf-8"))
    answer = await api.get(f"{V2}/services.json")
    assert answer.status == 200 and answer.content_type == "application/json"
    services = await answer.json()
    assert [s["service_code"] for s in services] == ["elderly", "environment", "legal"]
    assert all(list(s) == list(spec[0]) for s in services)  # the spec's fields, its order
    assert services[0]["service_name"] == "Help for the elderly"
    assert services[0]["metadata"] is False and services[0]["type"] == "realtime"
    assert "助老服务" in services[0]["keywords"]

    answer = await api.get(f"{V2}/services.xml?locale=zh")
    assert answer.content_type == "text/xml"
    document = valid_xml(await answer.read())
    assert shape(document) == shape(etree.parse(str(DATA / "services.xml")).getroot())
    assert document.findtext("service/service_name") == "助老服务"

    spec = json.loads((DATA / "service_definition.json").read_text("utf-8"))
    answer = await api.get(f"{V2}/services/legal.json")
    definition = await answer.json()
    assert list(definition) == list(spec) and definition == {"service_code": "legal",
                                                             "attributes": []}
    document = valid_xml(await (await api.get(f"{V2}/services/legal.xml")).read())
    example = etree.parse(str(DATA / "service_definition.xml")).getroot()
    assert (document.tag, [c.tag for c in document]) == (example.tag, [c.tag for c in example])
    assert len(document.find("attributes")) == 0  # metadata is false: no attributes


async def test_a_hotline_request_reaches_the_volunteers_and_its_status_follows_the_loop(
        town: Town, api: TestClient[Any, Any]) -> None:
    """POST → the volunteers' group card → Li claims and finishes it → GET shows each step;
    the rating steps reach nobody and the auto-close ends the request."""
    await town.vol1.send("/start")
    await town.vol1.wait_for(text="Choose below")
    answer = await post(api, lat=EXACT[0], long=EXACT[1], media_url="https://x.example/1.jpg",
                        **CALLER)
    assert answer.status == 201
    posted = await answer.json()
    spec = json.loads((DATA / "post_response.json").read_text("utf-8"))
    assert list(posted[0]) == list(spec[0])
    ref = posted[0]["service_request_id"]
    assert re.fullmatch(r"\d{4}-\d{6}", ref) and ref in posted[0]["service_notice"]

    card = await card_of(town.volunteers, ref)
    assert "door lock" in card.text and CALLER["phone"] not in card.text
    assert "Meiling" not in card.text

    async def status() -> dict[str, Any]:
        response = await api.get(f"{V2}/requests/{ref}.json")
        assert response.status == 200
        return (await response.json())[0]

    waiting = await status()
    assert (waiting["status"], waiting["status_notes"]) == ("open", "Waiting for a volunteer "
                                                            "to take it.")
    assert re.fullmatch(r"2026-06-10T10:0\d:\d\d\+08:00", waiting["requested_datetime"])
    assert waiting["media_url"] == "https://x.example/1.jpg"
    assert waiting["description"].endswith("lock up at night.")  # the link is not repeated
    assert waiting["expected_datetime"] is None

    assert ref in await claim(town.vol1, town.volunteers, card)
    details = await town.vol1.wait_for(text=CALLER["phone"])  # the claimer may call back
    assert "Meiling Quan" in details.text and "https://x.example/1.jpg" in details.text
    taken = await status()
    assert taken["status"] == "open" and "taken it" in taken["status_notes"]
    assert taken["expected_datetime"].endswith("+08:00")
    assert taken["updated_datetime"] >= waiting["updated_datetime"]

    await town.vol1.press("✅ Done", message=details)
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.vol1.wait_for(text="marked done")
    done = await status()
    assert done["status"] == "open" and "finished" in done["status_notes"]

    await town.tick(hours=25)  # the rating reminder: to nobody
    await town.tick(hours=48)  # the auto-close
    closed = await status()
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Closed: finished, not confirmed in time."

    pseudo = HOTLINE.user_id
    assert pseudo < -(2**53)
    assert not [call for call in town.sb.calls if str(call[1].get("chat_id")) == str(pseudo)]
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE chat_id = ?",
                          (pseudo,)).fetchone() == (0,)
        assert db.execute("SELECT first_name, started FROM users WHERE user_id = ?",
                          (pseudo,)).fetchone() == ("12345 Hotline", 0)
        assert db.execute("SELECT citizen_id FROM requests WHERE ref = ?",
                          (ref,)).fetchone() == (pseudo,)


async def test_requests_are_listed_with_the_specs_fields_and_filters(
        town: Town, api: TestClient[Any, Any]) -> None:
    first = (await (await post(api, address_string=HOUSE)).json())[0]["service_request_id"]
    second = (await (await post(api, service_code="legal", lat=30.5, long=114.3,
                                api_key=OTHER_KEY)).json())[0]["service_request_id"]
    telegram = await file_request(town.citizen)  # the Telegram form's request is listed too

    spec = json.loads((DATA / "service_requests.json").read_text("utf-8"))
    listed = await (await api.get(f"{V2}/requests.json")).json()
    assert [r["service_request_id"] for r in listed] == [telegram, second, first]
    assert all(list(r) == list(spec[0]) for r in listed)

    document = valid_xml(await (await api.get(f"{V2}/requests.xml")).read())
    assert shape(document) == shape(etree.parse(str(DATA / "service_requests.xml")).getroot())
    assert len(document) == 3

    async def refs(query: str) -> list[str]:
        response = await api.get(f"{V2}/requests.json?{query}")
        assert response.status == 200, await response.text()
        return [r["service_request_id"] for r in await response.json()]

    assert await refs("service_code=legal") == [second]
    assert await refs("service_code=elderly,legal") == [telegram, second, first]
    assert await refs(f"service_request_id={first},{second}") == [second, first]
    assert await refs(f"service_request_id={first}&service_code=legal") == [first]
    assert await refs("status=closed") == []
    assert await refs("status=open,closed") == [telegram, second, first]
    # Repeated instead of comma-delimited, as Python's requests sends a list: all of them.
    assert await refs("service_code=elderly&service_code=legal") == [telegram, second, first]
    assert await refs(f"service_request_id={first}&service_request_id={second}") == \
        [second, first]
    assert await refs("status=closed&status=open") == [telegram, second, first]
    assert await refs("start_date=2026-06-10T09:00:00%2B08:00") == [telegram, second, first]
    assert await refs("end_date=2026-06-10T01:00:00Z") == []  # 09:00 in Shanghai
    assert await refs("start_date=2026-03-01T00:00:00Z&end_date=2026-05-01T00:00:00Z") == []

    async with aiohttp.ClientSession() as session:  # the bot's own listening port too
        port = town.bot.services.web.port if town.bot.services else None
        async with session.get(f"http://127.0.0.1:{port}{V2}/requests/{first}.xml") as answer:
            assert answer.status == 200
            assert valid_xml(await answer.read()).findtext("request/service_request_id") == first


BAD = [
    # (method, path, fields, status, words in the description)
    ("post", "requests", {"api_key": None}, 403, "api_key is missing"),
    ("post", "requests", {"api_key": "x" * 40}, 403, "api_key is not valid"),
    ("post", "requests", {"service_code": ""}, 400, "service_code is missing"),
    ("post", "requests", {"service_code": "potholes"}, 404, "service_code potholes not found"),
    ("post", "requests", {}, 400, "Give lat and long, or address_string"),
    ("post", "requests", {"lat": 34.8}, 400, "long is missing"),
    ("post", "requests", {"lat": "north", "long": 117.5}, 400, "lat must be a number"),
    ("post", "requests", {"lat": 91, "long": 117.5}, 400, "lat must be a number"),
    ("post", "requests", {"address_string": "x", "description": ""}, 400,
     "address_string must be 2 to 300"),
    ("post", "requests", {"address_string": "Jianshe Road " * 23 + "No"}, 400,
     "address_string must be 2 to 300"),  # 301 characters
    ("post", "requests", {"address_string": "Jianshe Road", "description": " "}, 400,
     "description is missing"),
    # Nothing in it shows (zero-width spaces, a Hangul filler): no description, no place.
    ("post", "requests", {"address_string": "Jianshe Road",
                          "description": "\u200b\u3164\u200b"}, 400, "description is missing"),
    ("post", "requests", {"address_string": "\u200b\u200b\u3164"}, 400,
     "Give lat and long, or address_string"),
    ("post", "requests", {"address_string": "Jianshe Road", "description": "d" * 1001}, 400,
     "description must be 1 to 1000"),
    ("post", "requests", {"address_string": "Jianshe Road", "phone": "call me"}, 400,
     "phone does not look like"),
    ("post", "requests", {"address_string": "Jianshe Road", "media_url": "file:///etc"}, 400,
     "media_url must be an http"),
    ("get", "requests/2026-999999", {}, 404, "service_request_id 2026-999999 not found"),
    ("get", "services/potholes", {}, 404, "service_code potholes not found"),
    ("get", "requests", {"start_date": "yesterday"}, 400, "start_date must be a W3C"),
    ("get", "requests", {"end_date": "2026-06-10T10:00:00"}, 400, "end_date must be a W3C"),
    ("get", "requests", {"start_date": "2026-01-01T00:00:00Z",
                         "end_date": "2026-06-01T00:00:00Z"}, 400, "at most 90 days"),
    ("get", "requests", {"start_date": "2026-06-01T00:00:00Z",
                         "end_date": "2026-05-01T00:00:00Z"}, 400, "start_date is after"),
    ("get", "requests", {"status": "pending"}, 400, "status must be open, closed"),
    ("get", "requests", {"service_request_id": ",".join(str(n) for n in range(1001))},
     400, "At most 1000 service_request_id"),
    ("post", "requests", {"address_string": "Jianshe Road", "email": "meiling at home"}, 400,
     "email does not look like"),
    ("post", "requests", {"address_string": "Jianshe Road", "first_name": "M" * 101}, 400,
     "first_name must be 0 to 100"),
    ("post", "requests", {"lat": 34.8, "long": 181}, 400, "long must be a number"),
    # Links urllib cannot split (a bracket left open, a full-width # in the host) or whose
    # port is no port: the client's mistake, told as such, not "something went wrong" (500).
    ("post", "requests", {"address_string": "Jianshe Road", "media_url": "http://[::1/a.jpg"},
     400, "media_url must be an http"),
    ("post", "requests", {"address_string": "Jianshe Road",
                          "media_url": "http://a\uff03b.example/a.jpg"}, 400,
     "media_url must be an http"),
    ("post", "requests", {"address_string": "Jianshe Road",
                          "media_url": "https://x.example:99999999/a.jpg"}, 400,
     "media_url must be an http"),
    ("post", "requests", {"address_string": "Jianshe Road",
                          "media_url": "https://x.example:port/a.jpg"}, 400,
     "media_url must be an http"),
]


@pytest.mark.parametrize(("method", "path", "fields", "status", "words"), BAD,
                         ids=[f"{m}-{p}-{s}-{w[:24]}" for m, p, _, s, w in BAD])
async def test_bad_input_gets_the_right_status_and_an_open311_error_list(
        api: TestClient[Any, Any], method: str, path: str, fields: dict[str, Any],
        status: int, words: str) -> None:
    spec = json.loads((DATA / "errors.json").read_text("utf-8"))
    for fmt in ("json", "xml"):
        if method == "post":
            answer = await post(api, fmt, **fields)
        else:
            answer = await api.get(f"{V2}/{path}.{fmt}", params=fields)
        assert answer.status == status
        if fmt == "json":
            errors = await answer.json()
            assert [list(e) for e in errors] == [list(spec[0])]
            assert errors[0]["code"] == status and words in errors[0]["description"]
        else:
            document = valid_xml(await answer.read())
            assert shape(document) == shape(etree.parse(str(DATA / "errors.xml")).getroot())
            assert document.findtext("error/code") == str(status)
            assert words in (document.findtext("error/description") or "")


async def test_an_oversize_body_a_file_and_an_unknown_format_are_refused(
        town: Town, api: TestClient[Any, Any]) -> None:
    big = await api.post(f"{V2}/requests.json", data={
        "api_key": KEY, "service_code": "elderly", "description": "x" * 70_000})
    assert big.status == 413
    assert (await big.json())[0]["code"] == 413
    form = aiohttp.FormData({"api_key": KEY, "service_code": "elderly",
                             "address_string": "Jianshe Road", "description": "photo"})
    form.add_field("media", b"\x89PNG", filename="a.png", content_type="image/png")
    upload = await api.post(f"{V2}/requests.json", data=form)
    assert upload.status == 400 and "media_url" in (await upload.json())[0]["description"]
    html = await api.get(f"{V2}/services.html")
    assert html.status == 404 and (await html.json())[0]["code"] == 404
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)


async def test_no_answer_shows_a_name_a_phone_an_email_or_an_exact_place(
        town: Town, api: TestClient[Any, Any]) -> None:
    """The caller's details and the Telegram citizen's go only to the claimer: the public
    API gives the street at most, and points rounded to three decimals (about 100 m)."""
    await post(api, lat=EXACT[0], long=EXACT[1], address_string=HOUSE, **CALLER,
               description="Leaking pipe. Call 13811112222 to get in.")
    await file_request(town.citizen, text="Tap broken, my number is 13900001111")
    bodies = []
    for fmt in ("json", "xml"):
        for path in ("requests", "services"):
            bodies.append(await (await api.get(f"{V2}/{path}.{fmt}")).text())
    listed = await (await api.get(f"{V2}/requests.json")).json()
    for ref in (r["service_request_id"] for r in listed):
        bodies.append(await (await api.get(f"{V2}/requests/{ref}.xml")).text())
    everything = "\n".join(bodies)
    secrets = [*CALLER.values(), "Meiling", "Quan", "13811112222", "13900001111",
               "+8613800000001", "Alice", "building 3", "room 502", "No. 12", "12 Jianshe",
               str(EXACT[0]), str(EXACT[1]), "34.8612", "117.5535"]
    assert [s for s in secrets if s in everything] == []
    hotline = next(r for r in listed if r["lat"] is not None)
    assert (hotline["lat"], hotline["long"]) == (34.861, 117.553)
    assert hotline["address"] == "Jianshe Road"
    assert "•••" in hotline["description"]  # the number typed in is masked
    citizens = [r for r in listed if r is not hotline]
    assert len(citizens) == 1  # filed in Telegram: the citizen agreed to volunteers, not the web
    assert (citizens[0]["description"], citizens[0]["lat"], citizens[0]["long"]) == \
        (None, None, None)
    assert citizens[0]["address"] is None  # no street; this town has no area tree to name


async def test_a_phone_typed_with_full_width_or_word_processor_gaps_is_masked_too(
        api: TestClient[Any, Any]) -> None:
    """A hotline operator typing in the Chinese IME's full-width mode separates the digit
    groups of a caller's number with an ideographic space or a full-width hyphen; text pasted
    from a word processor brings no-break spaces, en dashes and invisible zero-width spaces;
    some type " - " between the groups. The published description showed each of those
    numbers whole: masked now, as "138 0013 8000" always was."""
    typed = {"ideographic space": "139\u30005274\u30009186",
             "full-width hyphen": "139\uff0d5274\uff0d9186",
             "en dash": "139\u20135274\u20139186",
             "no-break space": "139\u00a05274\u00a09186",
             "zero-width space": "139\u200b5274\u200b9186",
             "soft hyphen": "139\u00ad5274\u00ad9186",
             "spaced hyphen": "139 - 5274 - 9186",
             "full-width brackets": "（0632）5274918"}
    for how, number in typed.items():
        answer = await post(api, address_string="建设路",
                            description=f"请联系{number}王女士（{how}）")
        assert answer.status == 201
    for fmt in ("json", "xml"):
        body = await (await api.get(f"{V2}/requests.{fmt}")).text()
        shown = [how for how in typed if how in body]
        assert len(shown) == len(typed)  # every description is published…
        assert "5274" not in body and "9186" not in body  # …with no number in it


def test_the_public_address_keeps_the_street_and_drops_the_door() -> None:
    assert public_address("北京市朝阳区阜通东大街6号院3号楼2单元501") == "北京市朝阳区阜通东大街"
    assert public_address("建设路12号3栋") == "建设路"
    assert public_address("Flat 9B, 77 Quillfeather Lane") == "Quillfeather Lane"
    assert public_address("花家地社区王奶奶家") is None  # no street: the area's name instead
    # A caller's sentence names the person before the street: the street alone is public.
    assert public_address("王奶奶家在建设路12号") == "建设路"
    assert public_address("李阿姨家建设路12号3栋") == "建设路"
    assert public_address("我住光明路5号") == "光明路"
    assert public_address("刘家窑路3号") == "刘家窑路"  # a street's own 家 stays
    # A name glued before the street, with nothing between: the street's own name is short
    # or made of words; what cuts into lone characters is not published.
    assert public_address("王美玲建设路12号") is None
    assert public_address("张三建设路12号") is None
    assert public_address("济南市市中区陈建国解放北路8号") == "济南市市中区"
    assert public_address("中山北路18号") == "中山北路"
    assert public_address("文化宫东路3号") == "文化宫东路"
    assert public_address("火车站前路1号") == "火车站前路"
    assert public_address("王美玲朝阳区建设路5号") is None  # glued before the district
    # A direction standing alone in a longer name is still a name's word (后街, 西巷).
    assert public_address("新华书店后街5号") == "新华书店后街"
    assert public_address("体育场西巷1号") == "体育场西巷"
    # What a caller says before the street goes (…的), and what is left must still be a
    # street; a door number is never a street's name, even before a road word (院里).
    assert public_address("花家地社区的建设路12号") == "建设路"
    assert public_address("我住在路口东边") is None
    assert public_address("6号院里屋") is None
    assert (public_address("内蒙古自治区鄂尔多斯市东胜区建设路5号")
            == "内蒙古自治区鄂尔多斯市东胜区建设路")
    assert public_address("") is None


def test_each_client_owns_its_requests_as_a_pseudo_user_no_telegram_chat_can_be() -> None:
    other = Open311Client("webform", "Web form", OTHER_KEY)
    assert HOTLINE.user_id != other.user_id
    assert HOTLINE.user_id == Open311Client("hotline", "Renamed", "z" * 30).user_id  # stable
    assert max(HOTLINE.user_id, other.user_id) < -(2**52) * 2 < -1_000_000_000_000


async def test_answers_speak_the_locale_asked_for(api: TestClient[Any, Any]) -> None:
    ref = (await (await post(api, address_string="建设路12号")).json())[0]["service_request_id"]
    zh = (await (await api.get(f"{V2}/requests/{ref}.json?locale=zh-CN")).json())[0]
    assert (zh["service_name"], zh["status_notes"]) == ("助老服务", "等待志愿者接单。")
    assert zh["address"] == "建设路"
    refused = await api.get(f"{V2}/services/potholes.xml?locale=zh")
    assert valid_xml(await refused.read()).findtext("error/description") == \
        "找不到 service_code potholes。"


async def test_a_failure_while_filing_keeps_nothing_and_answers_an_error_list(
        town: Town, api: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    services = town.bot.services
    assert services is not None
    real = services.loop.submit

    async def submit_then_fail(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)  # the request and its cards are written, then…
        raise OSError("disk full")

    monkeypatch.setattr(services.loop, "submit", submit_then_fail)
    answer = await post(api, "xml", address_string="Jianshe Road")
    assert answer.status == 500
    assert valid_xml(await answer.read()).findtext("error/code") == "500"
    monkeypatch.undo()
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE request_id IS NOT NULL"
                          ).fetchone() == (0,)
    assert (await post(api, address_string="Jianshe Road")).status == 201


async def test_a_posted_request_outlives_a_restart_and_the_server_comes_back(
        town: Town, api: TestClient[Any, Any]) -> None:
    ref = (await (await post(api, address_string="Jianshe Road")).json())[0][
        "service_request_id"]
    await town.bot.stop()
    await town.bot.start()
    services = town.bot.services
    assert services is not None and services.web.port is not None
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{services.web.port}{V2}/requests/{ref}.json") as answer:
        assert answer.status == 200 and (await answer.json())[0]["status"] == "open"
    await card_of(town.volunteers, ref)


async def test_the_server_does_not_listen_without_a_feature_to_serve(town: Town) -> None:
    services = town.bot.services
    assert services is not None and services.web.port is not None  # the town's: Open311 on
    idle = WebServer(services.env, [])
    await idle.start()
    assert idle.port is None
    await idle.stop()


async def test_a_key_in_the_url_is_not_taken(api: TestClient[Any, Any]) -> None:
    """Proxies log URLs: the key counts only in the body."""
    answer = await api.post(f"{V2}/requests.json?api_key={KEY}", data={
        "service_code": "elderly", "address_string": "Jianshe Road", "description": "x"})
    assert answer.status == 403


async def test_control_characters_never_make_the_xml_unreadable(
        town: Town, api: TestClient[Any, Any]) -> None:
    """A description pasted from a word processor carries a vertical tab or a NUL, which XML
    1.0 cannot hold: it is filed without them, and an id with one is quoted back without it."""
    answer = await post(api, address_string="Jianshe Road",
                        description="Lamp\x0bbroken\x00 at the gate\x1f.\tTab and\nline kept")
    assert answer.status == 201
    ref = (await answer.json())[0]["service_request_id"]
    listed = valid_xml(await (await api.get(f"{V2}/requests.xml")).read())
    assert listed.findtext("request/description") == "Lampbroken at the gate.\tTab and\nline kept"
    one = valid_xml(await (await api.get(f"{V2}/requests/{ref}.xml")).read())
    assert one.findtext("request/service_request_id") == ref
    missing = await api.get(f"{V2}/requests/abc%00%0B.xml")
    assert missing.status == 404
    assert "abc not found" in (valid_xml(await missing.read()).findtext("error/description")
                               or "")
    card = await card_of(town.volunteers, ref)
    assert "Lampbroken at the gate." in (card.text or "")


async def test_a_body_not_in_utf8_or_not_a_form_is_told_what_to_send(
        town: Town, api: TestClient[Any, Any]) -> None:
    """A hotline system sending GBK bytes, or JSON, gets a 400 naming what to send, not a 500
    (nor "api_key is missing" for a JSON body that has one); nothing is filed."""
    form = b"api_key=" + KEY.encode() + b"&service_code=elderly&address_string=Jianshe+Road"
    gbk = await api.post(f"{V2}/requests.json", data=form + "&description=路灯坏了".encode("gbk"),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert gbk.status == 400
    assert "UTF-8" in (await gbk.json())[0]["description"]
    as_json = await api.post(f"{V2}/requests.xml?locale=zh", json={
        "api_key": KEY, "service_code": "elderly", "address_string": "Jianshe Road",
        "description": "Lamp broken"})
    assert as_json.status == 400
    assert "application/x-www-form-urlencoded" in (
        valid_xml(await as_json.read()).findtext("error/description") or "")
    for content_type, words in (
            ("application/x-www-form-urlencoded; charset=big-5-ish", "UTF-8"),
            ("multipart/form-data", "could not be read"),
            ("multipart/form-data; boundary=zz", "could not be read")):
        broken = await api.post(f"{V2}/requests.json", data=form + b"&description=x",
                                headers={"Content-Type": content_type})
        assert broken.status == 400, content_type
        assert words in (await broken.json())[0]["description"]
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_not_compressed_as_its_header_says_is_the_clients_mistake(
        town: Town, api: TestClient[Any, Any], caplog: pytest.LogCaptureFixture,
        encoding: str) -> None:
    """A hotline system that says `Content-Encoding: gzip` and sends its form as it is: a 400
    naming the encoding, in the spec's list (it was "something went wrong on our side", a 500,
    with two tracebacks in the operator's log); nothing is filed, and the same form sent
    plainly is taken."""
    form = (b"api_key=" + KEY.encode() + b"&service_code=elderly&address_string=Jianshe+Road"
            b"&description=Lamp+broken")
    for fmt in ("json", "xml"):
        answer = await api.post(f"{V2}/requests.{fmt}", data=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": encoding})
        assert answer.status == 400, await answer.text()
        if fmt == "json":
            description = (await answer.json())[0]["description"]
        else:
            description = valid_xml(await answer.read()).findtext("error/description") or ""
        assert f"Content-Encoding {encoding}" in description
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)
    plain = await api.post(f"{V2}/requests.json", data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert plain.status == 201


@pytest.mark.parametrize("field", ["api_key", "description"])
async def test_a_charset_that_decodes_to_no_text_is_refused_as_not_utf8(
        town: Town, api: TestClient[Any, Any], caplog: pytest.LogCaptureFixture,
        field: str) -> None:
    """The charset a client names is Python's to look up, and some of its codecs are no text
    encoding: `charset=unicode_escape` turns the characters \\ud800 into half of a UTF-16
    pair, which no UTF-8 can hold. Whether it sat in the key or the description, in a
    url-encoded body or a multipart part, the client was told "something went wrong on our
    side" (500) with a traceback in the log; it is "must be UTF-8" (400), nothing filed."""
    fields = {"api_key": KEY, "service_code": "elderly", "address_string": "Jianshe Road",
              "description": "Lamp broken"}
    fields[field] += "\\ud800"
    form = "&".join(f"{name}={value}" for name, value in fields.items()).encode()
    parts = b"".join(
        b'--zz\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n'
        + b"Content-Type: text/plain; charset=unicode_escape\r\n\r\n" + value.encode()
        + b"\r\n" for name, value in fields.items()) + b"--zz--\r\n"
    for body, content_type in (
            (form, "application/x-www-form-urlencoded; charset=unicode_escape"),
            (form, "application/x-www-form-urlencoded; charset=raw_unicode_escape"),
            (parts, "multipart/form-data; boundary=zz")):
        for fmt in ("json", "xml"):
            answer = await api.post(f"{V2}/requests.{fmt}", data=body,
                                    headers={"Content-Type": content_type})
            assert answer.status == 400, (content_type, await answer.text())
            if fmt == "json":
                assert "UTF-8" in (await answer.json())[0]["description"]
            else:
                assert "UTF-8" in (valid_xml(await answer.read()).findtext(
                    "error/description") or "")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)


async def test_a_public_port_in_use_stops_the_start_saying_so(
        sandbox: Sandbox, tmp_path: Path, clock: TestClock) -> None:
    """Another program on `[web] listen`: the start fails on that error (the operator reads
    "address already in use", not PTB's "This Application is still running!"), before the
    bot has begun to receive or send; once the port is free, it starts."""
    group = sandbox.add_group("Elderly volunteers")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = make_config(
            tmp_path, sandbox, admin_ids=[1],
            categories=[dict(CATEGORIES[0], group_id=group.id), *CATEGORIES[1:]],
            web={"listen": f"127.0.0.1:{port}", "open311": {
                "enabled": True, "clients": [{"id": "hotline", "name": "12345", "key": KEY}]}})
        runner = BotRunner(sandbox, config, clock)
        with pytest.raises(OSError) as failed:
            await runner.start()
        assert failed.value.errno == errno.EADDRINUSE
        assert sandbox.polls_started == 0
    await runner.start()
    try:
        services = runner.services
        assert services is not None and services.web.port == port
    finally:
        await runner.stop()


@pytest.mark.parametrize(("method", "path", "status", "allowed"), [
    ("PUT", "requests.json", 405, "GET, POST"),
    ("DELETE", "requests/2026-000001.xml", 405, "GET"),
    ("POST", "services.json", 405, "GET"),
    ("GET", "requests.json/", 404, None),
    ("GET", "services.xml/", 404, None),
    ("GET", "service_list.json", 404, None),
    ("PATCH", "nothing/here", 404, None),
])
async def test_a_wrong_method_or_path_gets_the_specs_error_list(
        api: TestClient[Any, Any], method: str, path: str, status: int,
        allowed: str | None) -> None:
    """A client's mistake in the method or the path (a trailing slash) is answered like any
    other: the spec's error list, in XML when the path asked for it, not aiohttp's bare text."""
    answer = await api.request(method, f"{V2}/{path}")
    assert answer.status == status
    if ".xml" in path:
        assert valid_xml(await answer.read()).findtext("error/code") == str(status)
    else:
        errors = await answer.json()
        assert errors[0]["code"] == status and errors[0]["description"]
    assert answer.headers.get("Allow") == allowed


async def test_a_client_halfway_through_a_post_does_not_hold_up_the_stop(town: Town) -> None:
    """SIGTERM while a slow client is still sending its POST: the bot stops in seconds (the
    request is dropped, nothing filed), not after aiohttp's default minute of waiting."""
    services = town.bot.services
    assert services is not None and services.web.port is not None and services.web._runner
    reader, writer = await asyncio.open_connection("127.0.0.1", services.web.port)
    writer.write(b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 1000\r\n\r\napi_key=")
    await writer.drain()
    server = services.web._runner.server
    assert server is not None
    await town.sb.wait_until(lambda: len(server.connections) == 1, timeout=5)
    began = time.monotonic()
    await town.bot.stop()
    assert time.monotonic() - began < 10
    assert await reader.read() == b""  # the connection was closed, nothing answered
    writer.close()
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (0,)


async def test_a_dates_plus_sent_unencoded_is_still_its_offset(
        town: Town, api: TestClient[Any, Any]) -> None:
    """`curl ".../requests.json?start_date=2026-06-10T09:00:00+08:00"`: the unencoded + comes
    as a space (form encoding), so the date the error message itself gives as the example was
    refused; it is read as the offset it is."""
    ref = (await (await post(api, address_string="Jianshe Road")).json())[0][
        "service_request_id"]
    answer = await api.get(f"{V2}/requests.json?start_date=2026-06-10T09:00:00+08:00"
                           "&end_date=2026-06-10T23:00:00+0800")
    assert answer.status == 200, await answer.text()
    assert [r["service_request_id"] for r in await answer.json()] == [ref]
    later = await api.get(f"{V2}/requests.json?start_date=2026-06-10T23:00:00+08:00")
    assert await later.json() == []


async def test_a_listing_is_written_off_the_event_loop_one_at_a_time(
        api: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """GET requests is public and keyless: 1,000 requests as XML take a tenth of a second of
    CPU, and ten asked at once held the bot's event loop (every Telegram update, the sender)
    for over a second. A listing is read on the database thread and written out in a worker
    thread, one listing at a time."""
    import bot.web.open311 as module
    await post(api, address_string="Jianshe Road")
    loop_thread = threading.get_ident()
    threads: list[int] = []
    active, most = 0, 0
    real = module.to_xml

    def spy(root: str, body: Any) -> bytes:
        nonlocal active, most
        active += 1
        most = max(most, active)
        threads.append(threading.get_ident())
        try:
            return real(root, body)
        finally:
            active -= 1

    monkeypatch.setattr(module, "to_xml", spy)
    answers = await asyncio.gather(*[api.get(f"{V2}/requests.xml") for _ in range(5)])
    assert [a.status for a in answers] == [200] * 5
    assert len(threads) == 5 and loop_thread not in threads
    assert most == 1
