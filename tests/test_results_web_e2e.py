"""The public results page over real HTTP (aiohttp's test client on the bot's own route table,
and the bot's own `[web] listen` server): zh and en by `?lang=` and Accept-Language, the CSV,
the year selector, the cache, bad input answered with a polite 400 page in the reader's
language, and no personal data in any answer although the requests behind the figures carry
phones, addresses and names."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import parse_config
from bot.context import Env
from bot.i18n import Catalogs
from bot.reports.stats import Statistics
from bot.web.results import ResultsPage
from storage import Database
from tests.conftest import CATEGORIES, SHANGHAI, Town
from tests.flows import card_of, claim, file_request, open_bot

PHONE, ADDRESS = "+8613912345678", "幸福里7号楼301室"
DESCRIPTION = "楼道的灯坏了，请打 13912345678 找张阿姨"
SEEDED_NAMES = ("张阿姨", "李志愿者")
ACTIVITY_TITLE, ACTIVITY_PLACE = "为张阿姨家打扫卫生", "光明路18号院"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """The town with its public web server on a port of the OS's choice."""
    return {"web": {"listen": "127.0.0.1:0"}}


@pytest.fixture
async def client(town: Town) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """aiohttp's test client on the route table the bot's web server serves."""
    services = town.bot.services
    assert services is not None
    async with TestClient(TestServer(services.web.application())) as test_client:
        yield test_client


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> float:
    """A moment (of 2026 unless told) in the district's time."""
    return datetime(year, month, day, hour, 0, tzinfo=SHANGHAI).timestamp()


# Per month of 2026: the outcomes of the requests received in it (seed_district).
OUTCOMES = {
    1: ["confirmed", "confirmed", "unconfirmed"],
    2: ["confirmed", "by_citizen", "unconfirmed", "by_admin"],
    3: ["confirmed", "claimed", "dispatched"],
    4: ["unconfirmed", "confirmed", "confirmed", "done", "by_citizen"],
    5: ["confirmed", "handed", "confirmed"],
}


def seeded_request(n: int, created: float, outcome: str) -> dict[str, Any]:
    """A request with phone, address and a description naming someone, its timeline ending
    in `outcome`; waits grow with n so the medians are not all alike."""
    claimed, done = created + 600 + 420 * n, created + 3600 + 1800 * n
    citizen, volunteer = 70_000 + n, 80_000 + n % 3
    row: dict[str, Any] = {
        "ref": f"S-{n:04d}", "citizen_id": citizen, "language": "zh", "category":
        ("elderly", "environment", "legal")[n % 3], "description": DESCRIPTION,
        "address": ADDRESS, "phone": PHONE, "created_at": created, "updated_at": created,
        "status": "dispatched"}
    events: list[tuple[str, float, int | None]] = [("created", created, citizen),
                                                   ("dispatched", created, None)]
    if outcome == "by_citizen":
        row.update(status="cancelled", cancelled_by="citizen", closed_at=claimed)
        events.append(("cancelled", claimed, citizen))
    elif outcome == "handed":
        row.update(status="cancelled", cancelled_by="supervision", closed_at=claimed)
        events.append(("cancelled", claimed, 1))
    elif outcome != "dispatched":
        row.update(volunteer_id=volunteer, volunteer_name=SEEDED_NAMES[1], claimed_at=claimed,
                   status="claimed")
        events.append(("claimed", claimed, volunteer))
        if outcome == "by_admin":
            row.update(status="cancelled", cancelled_by="admin", closed_at=done)
            events.append(("cancelled", done, 1))
        elif outcome != "claimed":
            row.update(status="done", done_at=done)
            events.append(("done", done, volunteer))
            if outcome == "confirmed":
                row.update(status="closed", closed_how="confirmed", closed_at=done + 600,
                           rating=3 + n % 3)
                events += [("confirmed", done + 600, citizen), ("rated", done + 700, citizen)]
            elif outcome == "unconfirmed":
                row.update(status="closed", closed_how="unconfirmed", closed_at=done + 86400)
                events.append(("auto_closed", done + 86400, None))
    row["events"] = events
    return row


async def seed_district(db: Database) -> list[dict[str, Any]]:
    """Requests of January to May 2026 (OUTCOMES), one of 2025, three activities of 2026
    (one cancelled) with verified hours, and formal volunteers of 2026 and 2025; through the
    storage layer, as an import would."""
    rows, n = [], 0
    for month, outcomes in OUTCOMES.items():
        for outcome in outcomes:
            rows.append(seeded_request(n, at(month, 3 + n % 20), outcome))
            n += 1
    old = seeded_request(n, at(1, 5, year=2025), "confirmed")
    old["ref"] = "S-OLD"
    rows.append(old)
    async with db.transaction() as repo:
        await repo.people.bulk_users(sorted({r["citizen_id"] for r in rows}
                                            | {80_000, 80_001, 80_002}), at(1, 1))
        await repo.requests.bulk_requests(rows)
        for draft, (month, hours, people, cancelled) in enumerate(
                [(3, 2.5, 2, False), (4, 3.0, 1, True), (5, 1.75, 3, False)]):
            activity = await repo.activities.publish(f"seed-{draft}", 80_000, {
                "team_id": "general", "area_id": None, "title": ACTIVITY_TITLE,
                "place": ACTIVITY_PLACE, "starts_at": at(month, 12), "ends_at": at(month, 12, 12),
                "capacity": 10, "leader_id": 80_000, "description": DESCRIPTION,
                "language": "zh"}, at(month, 1))
            for person in range(people):
                await repo.activities.credit(activity, 80_000 + person, hours, "manual", None,
                                             2026, 1, at(month, 12, 13))
            if cancelled:
                await repo.activities.cancel(activity, 1, "rain", at(month, 10))
        await repo.activities.reach_formal(80_000, 2026, 40, at(5, 20))
        await repo.activities.reach_formal(80_001, 2026, 41, at(5, 21))
        await repo.activities.reach_formal(80_002, 2025, 42, at(5, 21, year=2025))
    return rows


def figures(page: str) -> dict[str, str]:
    """The page's summary figures by their data-figure name (year.received, …)."""
    return {name: value for name, value in re.findall(
        r'<dd data-figure="([\w.]+)">([^<]*)</dd>', page)}


def counted(shown: dict[str, str]) -> dict[str, str]:
    """The figures written as numbers (the waits and satisfaction are in words)."""
    return {name: value for name, value in shown.items() if re.fullmatch(r"[0-9.%]+", value)}


def month_cells(page: str, table: str) -> dict[str, dict[str, str]]:
    """A table's cells: row label → figure → text."""
    body = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    return {label: dict(re.findall(r'<td data-figure="(\w+)">([^<]*)</td>', cells))
            for label, cells in re.findall(r'<tr data-row="([^"]+)">(.*?)</tr>', body)}


def assert_no_personal_data(body: str, town: Town, refs: list[str]) -> None:
    """No phone, address, description, name, place, title or reference in an answer."""
    digits = re.sub(r"\D", "", PHONE)
    for secret in (PHONE, digits, digits[2:], ADDRESS, DESCRIPTION, *SEEDED_NAMES,
                   ACTIVITY_TITLE, ACTIVITY_PLACE, "Jianshe Road", "kitchen tap",
                   "8613800000001", "13800000001", *refs):
        assert secret not in body, secret
    for person in (town.citizen, town.grandma, town.vol1, town.vol2):
        assert not re.search(rf"\b{re.escape(person.first_name)}\b", body), person.first_name


# -- the stories -----------------------------------------------------------------------------


async def test_the_page_in_both_languages_with_the_csv_and_no_personal_data(
        town: Town, client: TestClient) -> None:  # type: ignore[type-arg]
    """Alice files a request (phone and address shared) that Li claims, on top of the seeded
    district: the page counts it with the rest, in zh by default and by Accept-Language, in en
    by `?lang=en` or the browser's wish; the CSV says the same in the same language; the bot's
    own [web] server serves the same page; no answer holds a phone, an address, a name or a
    reference."""
    services = town.bot.services
    assert services is not None
    rows = await seed_district(services.env.db)
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    assert (await claim(town.vol1, town.volunteers,
                        await card_of(town.volunteers, ref))).startswith("It is yours")
    refs = [ref, *(r["ref"] for r in rows)]

    zh = await client.get("/results")
    assert zh.status == 200 and zh.content_type == "text/html"
    assert zh.headers["Content-Security-Policy"].startswith("default-src 'none'")
    zh_page = await zh.text()
    assert '<html lang="zh-CN">' in zh_page and "2026年辖区服务成果" in zh_page
    seen = figures(zh_page)
    # 18 seeded in January to May and Alice's of June; the 2025 one is another year's
    assert seen["year.received"] == "19"
    assert seen["year.completed"] == "11" and seen["year.confirmed"] == "8"
    assert seen["year.auto_closed"] == "3" and seen["year.cancelled_citizen"] == "2"
    assert seen["year.cancelled_admin"] == "1" and seen["year.handed"] == "1"
    assert seen["year.open"] == "4"
    assert seen["year.rate"] == "68.75%"  # 11 ÷ (19 − 2 by the citizen − 1 handed)
    assert seen["activities.held"] == "2" and seen["activities.cancelled"] == "1"
    assert seen["activities.hours"] == "10.25"  # 2 × 2.5 + 3 × 1.75; the cancelled one's not
    assert seen["activities.formal"] == "2"
    months = month_cells(zh_page, "months")
    assert list(months) == [f"2026-{m:02d}" for m in range(1, 7)]
    assert months["2026-02"]["received"] == "4" and months["2026-02"]["rate"] == "66.67%"
    assert months["2026-06"]["received"] == "1" and months["2026-06"]["completed"] == "0"
    assert zh_page.count("<svg") == 3  # by month, by category, activities' hours
    assert "<script" not in zh_page and "http://" not in zh_page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched from elsewhere
    assert 'href="/results?year=2026&amp;lang=en"' in zh_page  # the way to English

    for asked, expected in ((("/results", {"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}),
                             "en"),
                            (("/results", {"Accept-Language": "fr, zh-TW;q=0.8, en;q=0.7"}),
                             "zh"),
                            (("/results?lang=en", {"Accept-Language": "zh-CN"}), "en"),
                            (("/results?lang=zh", {"Accept-Language": "en"}), "zh"),
                            (("/results?lang=xx", {"Accept-Language": "en"}), "en")):
        path, headers = asked
        answer = await client.get(path, headers=headers)
        page = await answer.text()
        assert ('<html lang="en">' if expected == "en" else '<html lang="zh-CN">') in page, asked
        assert counted(figures(page)) == counted(seen)  # the same figures in every language
        assert_no_personal_data(page, town, refs)
    en_page = await (await client.get("/results?lang=en")).text()
    assert "What the district did in 2026" in en_page and "Completion rate" in en_page
    assert 'href="/results?year=2026&amp;lang=zh"' in en_page
    assert_no_personal_data(zh_page, town, refs)

    for lang, header in (("en", "Year"), ("zh", "年份")):
        answer = await client.get(f"/results.csv?lang={lang}")
        assert answer.status == 200 and answer.content_type == "text/csv"
        assert answer.headers["Content-Disposition"] == 'attachment; filename="results-2026.csv"'
        text = (await answer.read()).decode("utf-8")
        assert text.startswith("\ufeff")
        table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        assert table[0][0] == header and len(table[0]) == 5
        assert_no_personal_data(text, town, refs)
        whole_year = {row[3]: row[4] for row in table[1:] if row[2] == "2026"
                      and row[1] == table[1][1]}
        received = "Received" if lang == "en" else "收到点单"
        assert whole_year[received] == "19"
    en_csv = (await (await client.get("/results.csv?lang=en")).read()).decode("utf-8")
    assert "2026,Requests by month,2026-02,Completion rate (%),66.67" in en_csv
    assert "2026,Activities by month,2026-05,Verified volunteer hours,5.25" in en_csv

    # The bot's own server, started with it on [web] listen, serves the same page.
    assert services.web.port is not None
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{services.web.port}/results?lang=zh") as own:
        assert own.status == 200
        assert figures(await own.text()) == seen


async def test_the_year_selector_and_the_cache(town: Town, client: TestClient) -> None:  # type: ignore[type-arg]
    """The selector offers the years from the first request's to this one, this one chosen;
    `?year=2025` shows 2025's one request; a request stored meanwhile shows only after a
    minute (the figures are read at most once a minute), then it does — except to a visitor
    who comes while the figures are being read again, who gets the older ones at once."""
    services = town.bot.services
    assert services is not None
    rows = await seed_district(services.env.db)
    page = await (await client.get("/results?lang=en")).text()
    # Each category's medians: the lower medians of its requests' waits, as /stats words them
    names = {c["code"]: c["en"] for c in CATEGORIES}
    for code, name in names.items():
        mine = [r for r in rows if r["category"] == code and r["created_at"] >= at(1, 1)]
        cells = month_cells(page, "categories")[name]
        for figure, step in (("claim_wait", "claimed"), ("done_wait", "done")):
            waits = sorted(at_ - r["created_at"] for r in mine
                           for kind, at_, _ in r["events"] if kind == step)
            assert cells[figure] == services.stats.duration(waits[(len(waits) - 1) // 2], "en")
    assert '<option value="2026" selected>2026</option><option value="2025">2025</option>' \
        '</select>' in page
    assert figures(page)["year.received"] == "18"
    older = await (await client.get("/results?lang=en&year=2025")).text()
    assert "What the district did in 2025" in older
    assert '<option value="2025" selected>2025</option>' in older
    assert figures(older)["year.received"] == "1" and figures(older)["year.rate"] == "100.00%"
    assert figures(older)["activities.formal"] == "1"
    assert list(month_cells(older, "months")) == [f"2025-{m:02d}" for m in range(1, 13)]

    late = seeded_request(99, at(6, 9), "dispatched")
    async with services.env.db.transaction() as repo:
        await repo.people.bulk_users([late["citizen_id"]], at(6, 9))
        await repo.requests.bulk_requests([late])
    town.clock.advance(seconds=30)
    cached = await (await client.get("/results?lang=zh")).text()
    assert figures(cached)["year.received"] == "18"
    town.clock.advance(seconds=31)
    page = next(p for p in services.web.providers if isinstance(p, ResultsPage))
    async with page._reading:  # a reading under way: the minute-old figures, at once
        stale = await (await client.get("/results?lang=zh")).text()
    assert figures(stale)["year.received"] == "18"
    fresh = await (await client.get("/results?lang=zh")).text()
    assert figures(fresh)["year.received"] == "19"


@pytest.mark.parametrize("year", ["abc", "2999", "2027", "1999", "20266",
                                  "<script>alert(1)</script>", "２０２６", "2026-01", "y" * 100])
async def test_a_wrong_year_gets_a_polite_page_in_the_readers_language(
        town: Town, client: TestClient, year: str) -> None:  # type: ignore[type-arg]
    """Any year that is not one of 2000 to this one: a 400 page saying which years there are,
    in zh or en, with the way back; the input quoted back escaped, and cut to 40 characters;
    for the CSV too. Next year (2027) has no figures yet either."""
    for lang, words in (("en", "Please choose a year from 2000 to 2026."),
                        ("zh", "请选择 2000 至 2026 年之间的年份。")):
        for path in ("/results", "/results.csv"):
            answer = await client.get(path, params={"year": year, "lang": lang})
            assert answer.status == 400, (path, year)
            assert answer.content_type == "text/html"
            body = await answer.text()
            assert words in body and "Traceback" not in body
            assert "<script>" not in body
            assert f'href="/results?year=2026&amp;lang={lang}"' in body
            if len(year) > 40:
                assert year[:40] in body and year[:41] not in body


async def test_the_first_year_there_is_is_a_year_to_show(client: TestClient) -> None:  # type: ignore[type-arg]
    """2000, the first year /stats counts from, is shown like any other: zeros, no refusal."""
    answer = await client.get("/results", params={"year": "2000", "lang": "en"})
    assert answer.status == 200
    assert figures(await answer.text())["year.received"] == "0"


async def test_a_district_with_nothing_yet_says_so(client: TestClient) -> None:  # type: ignore[type-arg]
    """No request and no activity yet: the page says so in words, with zeros and no charts;
    the selector offers this year only; the CSV still has the year's figures."""
    page = await (await client.get("/results?lang=en")).text()
    assert "No requests were received in this year." in page
    assert "No volunteer activities in this year." in page
    assert figures(page)["year.received"] == "0" and figures(page)["year.rate"] == "—"
    assert "<svg" not in page
    assert '<select id="year" name="year"><option value="2026" selected>2026</option></select>' \
        in page
    text = (await (await client.get("/results.csv?lang=en")).read()).decode("utf-8")
    assert "2026,\"Requests, whole year\",2026,Received,0" in text


def test_the_page_can_be_switched_off(tmp_path: Path) -> None:
    """`[web] results = false` leaves the page out of the public server (on by default)."""
    raw: dict[str, Any] = {"telegram": {"token": "1:abc"}, "bot": {"admin_ids": [1]},
                           "categories": CATEGORIES, "web": {"listen": "127.0.0.1:8080"}}
    on = parse_config(raw, env={}, base_dir=tmp_path)
    off = parse_config({**raw, "web": {**raw["web"], "results": False}}, env={},
                       base_dir=tmp_path)
    assert on.web.results and not off.web.results
    for config, paths in ((on, ["/results", "/results.csv"]), (off, [])):
        env = Env(db=cast(Database, None), config=config, t=Catalogs.load())
        page = ResultsPage(env, cast(Statistics, None))
        assert [route.path for route in page.routes()] == paths  # type: ignore[attr-defined]


async def test_a_trailing_slash_leads_to_the_page(client: TestClient) -> None:  # type: ignore[type-arg]
    """The address typed or pasted with a slash at its end (/results/) leads to the page, with
    its query, not to a bare English "404: Not Found"."""
    answer = await client.get("/results/?lang=zh&year=2026", allow_redirects=False)
    assert answer.status in (301, 308)
    assert answer.headers["Location"] == "/results?lang=zh&year=2026"
    page = await client.get("/results/?lang=zh")
    assert page.status == 200 and "2026" in await page.text()
    data = await client.get("/results.csv/?lang=en")
    assert data.status == 200 and data.content_type == "text/csv"


async def test_a_shared_cache_keeps_each_language_apart(client: TestClient) -> None:  # type: ignore[type-arg]
    """The page may be kept a minute by any cache on the way (Cache-Control: public), and the
    same /results is Chinese for one browser and English for another (Accept-Language). Unless
    every answer says it varies with Accept-Language, the district's reverse proxy keeps the
    first visitor's language and serves it to everyone for that minute."""
    for path in ("/results", "/results.csv", "/results?year=abc"):
        answers = {lang: await client.get(path, headers={"Accept-Language": lang})
                   for lang in ("zh-CN,zh;q=0.9", "en-GB,en;q=0.8")}
        assert {a.status for a in answers.values()} <= {200, 400}
        bodies = {lang: await a.read() for lang, a in answers.items()}
        assert len(set(bodies.values())) == 2, path  # the answer does depend on the header
        for answer in answers.values():
            varies = {v.strip().lower() for v in answer.headers.get("Vary", "").split(",")}
            assert "accept-language" in varies, (path, answer.headers.get("Vary"))
