"""/stats over a hand-built data set whose every figure is known: two months, two institutes.

Requests are stored with their timelines (the triggers of migration 006 keep the lifecycle
columns); one is reopened and one cancelled through the repository's own moves. Each test
says which requests make a number, so a wrong number points at its cause."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.context import Clock, Env, Who
from bot.i18n import Catalogs
from bot.people.roles import Role, Roles
from bot.reports import charts
from bot.reports.charts import Bar
from bot.reports.periods import parse_period, whole_time
from bot.reports.stats import Statistics
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.schedule.jobs import Jobs
from bot.unit import Units
from storage import Database, Repo
from storage import stats as sql
from storage.models import ALL_STATUSES
from storage.stats import Cohort
from tests.conftest import CATEGORIES, TOKEN

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CITIZEN, VOLUNTEER, CENTRE, AREA_ADMIN, NOBODY = 500, 600, 1, 2, 3
GML, GML1, GML2 = "guangminglu", "guangminglu-01", "guangminglu-02"
ZXJ, ZXJ1 = "zhongxinjie", "zhongxinjie-01"
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> float:
    """A moment of 2026 in Shanghai."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).timestamp()


NOW = at(4, 15)


class FixedClock(Clock):
    """The clock stands at NOW."""

    def now(self) -> float:
        """Return NOW."""
        return NOW


def request(ref: str, area: str | None, category: str, created: float, *,
            claimed: float | None = None, done: float | None = None,
            end: str | None = None, ended: float | None = None,
            rating: int | None = None) -> dict[str, Any]:
    """A request and its timeline: claimed and done minutes after `created`, then `end`
    (confirmed, auto_closed, cancelled_citizen or cancelled_admin) at `ended`."""
    events: list[tuple[str, float, int | None]] = [("created", created, CITIZEN),
                                                   ("dispatched", created, None)]
    status = "dispatched"
    row: dict[str, Any] = {"ref": ref, "citizen_id": CITIZEN, "language": "en",
                           "category": category, "description": "", "area_id": area,
                           "created_at": created,
                           "updated_at": created}
    if claimed is not None:
        events.append(("claimed", claimed, VOLUNTEER))
        status = "claimed"
        row.update(volunteer_id=VOLUNTEER, volunteer_name="Li", claimed_at=claimed)
    if done is not None:
        events.append(("done", done, VOLUNTEER))
        status = "done"
        row["done_at"] = done
    if end in ("confirmed", "auto_closed"):
        events.append((end, ended or 0.0, CITIZEN if end == "confirmed" else None))
        status = "closed"
        row.update(closed_how="confirmed" if end == "confirmed" else "unconfirmed",
                   closed_at=ended, rating=rating)
    elif end in ("cancelled_citizen", "cancelled_admin"):
        events.append(("cancelled", ended or 0.0, CITIZEN if end == "cancelled_citizen"
                       else CENTRE))
        status = "cancelled"
        row.update(cancelled_by=end.removeprefix("cancelled_"), closed_at=ended)
    row.update(status=status, events=events)
    return row


async def build(repo: Repo) -> None:
    """The data set (local times; the station's institute in brackets):

    March — r1 gml-01 elderly: claimed +20 min, done +2 h, confirmed, 5★
            r2 gml-01 elderly: claimed +1 h, done +5 h, closed unconfirmed
            r3 gml-01 environment: claimed +10 min, done +1 h, REOPENED, claimed and done
               again, confirmed, 3★
            r4 gml-02 elderly: cancelled by the citizen before any claim
            r5 gml-02 legal: claimed +2 h, still claimed, overdue
            r6 gml (no station) elderly: waiting, overdue
            r7 zxj-01 elderly: claimed +3 h, cancelled by an admin
            r8 zxj-01 environment: claimed +40 min, done +1 d, awaiting the citizen
            r9 no area, elderly: claimed +5 min, done +30 min, confirmed, 4★
            r12 gml-02 elderly: 31 March 23:30 (15:30 UTC), waiting
    April — r10 gml-01 elderly: 1 April 00:10 (31 March UTC), claimed +1 h, done +2 h,
               confirmed, 2★
            r11 zxj-01 legal: waiting, overdue
    Also: r1 carries a stale overdue mark, which a closed request never counts."""
    await repo.people.bulk_users([CITIZEN, VOLUNTEER, CENTRE], 0.0)
    t1, t2, t3 = at(3, 2, 9), at(3, 3, 10), at(3, 5, 8)
    t5, t6, t7, t8, t9 = at(3, 11), at(3, 12), at(3, 15), at(3, 20), at(3, 25)
    t10, t11, t12 = at(4, 1, 0, 10), at(4, 2), at(3, 31, 23, 30)
    await repo.requests.bulk_requests([
        request("r1", GML1, "elderly", t1, claimed=t1 + 20 * MIN, done=t1 + 2 * HOUR,
                end="confirmed", ended=t1 + 3 * HOUR, rating=5),
        request("r2", GML1, "elderly", t2, claimed=t2 + HOUR, done=t2 + 5 * HOUR,
                end="auto_closed", ended=t2 + 3 * DAY),
        request("r3", GML1, "environment", t3, claimed=t3 + 10 * MIN, done=t3 + HOUR),
        request("r4", GML2, "elderly", at(3, 10), end="cancelled_citizen",
                ended=at(3, 10) + 30 * MIN),
        request("r5", GML2, "legal", t5, claimed=t5 + 2 * HOUR),
        request("r6", GML, "elderly", t6),
        request("r7", ZXJ1, "elderly", t7, claimed=t7 + 3 * HOUR, end="cancelled_admin",
                ended=t7 + DAY),
        request("r8", ZXJ1, "environment", t8, claimed=t8 + 40 * MIN, done=t8 + DAY),
        request("r9", None, "elderly", t9, claimed=t9 + 5 * MIN, done=t9 + 30 * MIN,
                end="confirmed", ended=t9 + HOUR, rating=4),
        request("r10", GML1, "elderly", t10, claimed=t10 + HOUR, done=t10 + 2 * HOUR,
                end="confirmed", ended=t10 + 3 * HOUR, rating=2),
        request("r11", ZXJ1, "legal", t11),
        request("r12", GML2, "elderly", t12),
    ])
    ids = {ref: (await repo.requests.request_by_ref(ref)).id
           for ref in ("r1", "r3", "r5", "r6", "r11")}
    # r3: not resolved, says the citizen; claimed and done again two days later, confirmed
    again = t3 + 2 * DAY
    assert await repo.requests.reopen(ids["r3"], CITIZEN, again)
    await repo.requests.add_event(ids["r3"], "reopened", CITIZEN, again)
    assert await repo.requests.claim(ids["r3"], VOLUNTEER, "Li", again + HOUR)
    await repo.requests.add_event(ids["r3"], "claimed", VOLUNTEER, again + HOUR)
    assert await repo.requests.complete(ids["r3"], VOLUNTEER, None, None, again + 2 * HOUR)
    await repo.requests.add_event(ids["r3"], "done", VOLUNTEER, again + 2 * HOUR)
    assert await repo.requests.confirm(ids["r3"], CITIZEN, again + 3 * HOUR)
    await repo.requests.add_event(ids["r3"], "confirmed", CITIZEN, again + 3 * HOUR)
    assert await repo.requests.rate(ids["r3"], CITIZEN, 3, again + 3 * HOUR)
    for ref in ("r5", "r6", "r11", "r1"):
        await repo.requests.set_overdue(ids[ref], NOW - DAY)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database holding the data set."""
    database = await Database.open(tmp_path / "civicloop.db")
    async with database.transaction() as repo:
        await build(repo)
    yield database
    await database.close()


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Env:
    """An environment on the area tree, English by default, whose clock stands at NOW."""
    from bot.config import parse_config

    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [CENTRE]},
        "categories": CATEGORIES,
        "areas": {"file": str(AREA_FILE)},
    }, env={}, base_dir=tmp_path)
    return Env(db=db, config=config, t=Catalogs.load("en"), clock=FixedClock())


@pytest.fixture
def service(env: Env) -> Statistics:
    """The statistics service, with its chart runner registered on its own Jobs."""
    return Statistics(env, RequestLoop(env), Roles(env), Jobs(env))


async def ask_stats(service: Statistics, who: Who, chat_id: int, args: list[str]) -> None:
    """/stats as the Application runs it: one unit of work for the update."""
    async with Units(service.env).for_update(who) as unit:
        await service.stats(unit, chat_id, args)


async def cohort(db: Database, month: int, areas: list[str] | None) -> Cohort:
    """The figures of a month of 2026 in some areas (None: the whole district)."""
    period = parse_period(f"2026-{month:02d}", NOW, SHANGHAI)
    assert period is not None
    async with db.reading() as repo:
        return await sql.cohort(repo, period.start, period.end, areas)


def subtree(env: Env, area: str) -> list[str]:
    """An area and everything under it."""
    assert env.config.areas is not None
    return env.config.areas.subtree(area)


async def outbox(db: Database) -> list[tuple[int, str, dict[str, Any]]]:
    """Every queued call (chat, method, payload), in order, marking them sent."""
    calls = []
    async with db.transaction() as repo:
        while heads := await repo.outbox.pending_outbox_head(NOW + DAY, 100):
            for row in heads:
                calls.append((row.id, row.chat_id, row.method, row.payload))
                await repo.outbox.mark_sent(row.id, [1], NOW)
    return [(chat, method, payload) for _, chat, method, payload in sorted(calls)]


# -- the figures, straight from storage -------------------------------------------------------


async def test_march_in_the_whole_district_counts_every_step_apart(db: Database) -> None:
    """March holds r1-r9 and r12 (r12 at 23:30 on the 31st local, the 31st in UTC too; r10 at
    00:10 on 1 April local is still 31 March in UTC and belongs to April)."""
    found = await cohort(db, 3, None)
    total = found.total
    assert total.collected == 10
    assert total.dispatched == 10
    assert total.claimed == 7  # r1 r2 r3 r5 r7 r8 r9
    assert total.done == 5  # r1 r2 r3 r8 r9
    assert (total.confirmed, total.unconfirmed, total.closed) == (3, 1, 4)  # r1 r3 r9 · r2
    assert total.reopened == 1  # r3
    assert total.cancelled_by_citizen == 1  # r4
    assert total.cancelled_by_admin == 1  # r7
    assert total.open == {"dispatched": 2, "claimed": 1, "done": 1}  # r6 r12 · r5 · r8
    assert total.completion == pytest.approx(4 / 9)  # closed ÷ (10 − 1 cancelled by citizen)
    assert total.confirmed_share == pytest.approx(3 / 4)
    # claims after 5 10 20 40 60 120 180 min: the 4th of 7
    assert found.claim_wait == 40 * MIN
    # first "done" after 30 min, 1 h, 2 h, 5 h, 1 d (r3's second one does not count)
    assert found.done_wait == 2 * HOUR
    assert total.ratings == [0, 0, 0, 1, 1, 1]  # r3 3★, r9 4★, r1 5★
    assert total.satisfaction == pytest.approx(4.0)
    assert found.overdue_now == 3  # r5 r6 r11, whenever filed; not r1 (closed)
    by_category = {code: (c.collected, c.closed) for code, c in found.by_category.items()}
    assert by_category == {"elderly": (7, 3), "environment": (2, 1), "legal": (1, 0)}
    by_area = {area: (c.collected, c.closed) for area, c in found.by_area.items()}
    assert by_area == {GML1: (3, 3), GML2: (3, 0), GML: (1, 0), ZXJ1: (2, 0), None: (1, 1)}


async def test_an_institute_counts_only_its_subtree(db: Database, env: Env) -> None:
    """Guangminglu in March: r1-r6 and r12; the claim waits 10 20 60 120 min give the lower
    median 20 min (not 40, the mean of the middle two)."""
    found = await cohort(db, 3, subtree(env, GML))
    total = found.total
    assert (total.collected, total.claimed, total.done, total.closed) == (7, 4, 3, 3)
    assert (total.confirmed, total.unconfirmed, total.reopened) == (2, 1, 1)
    assert (total.cancelled_by_citizen, total.cancelled_by_admin) == (1, 0)
    assert total.completion == pytest.approx(3 / 6)
    assert found.claim_wait == 20 * MIN
    assert found.done_wait == 2 * HOUR  # 1 h, 2 h, 5 h
    assert found.overdue_now == 2  # r5 r6
    assert total.ratings == [0, 0, 0, 1, 0, 1]

    zhongxinjie = await cohort(db, 3, subtree(env, ZXJ))
    assert (zhongxinjie.total.collected, zhongxinjie.total.closed) == (2, 0)
    assert zhongxinjie.total.cancelled_by_admin == 1
    assert zhongxinjie.total.completion == 0.0
    assert zhongxinjie.total.confirmed_share is None and zhongxinjie.total.satisfaction is None
    assert zhongxinjie.overdue_now == 1  # r11, filed in April


async def test_april_and_an_empty_area(db: Database, env: Env) -> None:
    """April holds r10 and r11; a station with nothing counts nothing, without errors."""
    april = await cohort(db, 4, None)
    assert (april.total.collected, april.total.closed, april.total.confirmed) == (2, 1, 1)
    assert april.total.completion == pytest.approx(0.5)
    assert (april.claim_wait, april.done_wait) == (HOUR, 2 * HOUR)
    assert april.total.satisfaction == pytest.approx(2.0)

    empty = await cohort(db, 4, subtree(env, GML2))
    assert empty.total.collected == 0 and empty.by_category == {}
    assert empty.total.completion is None and empty.claim_wait is None
    nowhere = await cohort(db, 3, [])
    assert nowhere.total.collected == 0 and nowhere.overdue_now == 0


async def test_both_ways_to_a_median_agree(db: Database, env: Env,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A small cohort's waits are sorted from the rows read by creation time; a big one's are
    read off the wait indexes at the median's offset. Both give the same lower medians."""
    small = [await cohort(db, 3, None), await cohort(db, 3, subtree(env, GML))]
    monkeypatch.setattr(sql, "SMALL_COHORT", 0)
    big = [await cohort(db, 3, None), await cohort(db, 3, subtree(env, GML))]
    assert [(c.claim_wait, c.done_wait) for c in small] == [(40 * MIN, 2 * HOUR),
                                                            (20 * MIN, 2 * HOUR)]
    assert [(c.claim_wait, c.done_wait) for c in big] == [(c.claim_wait, c.done_wait)
                                                          for c in small]


async def test_the_queries_are_answered_from_the_stats_indexes(db: Database) -> None:
    """The shape pass walks requests_stats in group order (no sort, which would cost seconds
    at a million), and the medians read their wait indexes: the expressions of migration 007
    and storage/stats.py have not drifted apart."""
    where, params = sql._where(0.0, NOW, ["a", "b"])
    async with db.reading() as repo:
        plan = await repo._all("EXPLAIN QUERY PLAN " + sql._BY_SHAPE.format(where=where),
                               tuple(params))
        details = " | ".join(row[3] for row in plan)
        assert "requests_stats" in details and "TEMP B-TREE" not in details, details
        for wait, index in sql._WAITS.values():
            plan = await repo._all(
                "EXPLAIN QUERY PLAN " + sql._WAIT.format(wait=wait, index=index, where=where),
                (*params, 0))
            details = " | ".join(row[3] for row in plan)
            assert index in details and "TEMP B-TREE" not in details, details


# -- the service: who sees what, and the words ------------------------------------------------


async def test_the_text_in_english_for_march(service: Statistics, db: Database) -> None:
    """A centre admin's /stats 2026-03: every figure, the breakdown by institute with the
    request without an area as "not given", then the chart job."""
    await ask_stats(service, Who(CENTRE, "Centre"), CENTRE, ["2026-03"])
    (chat, method, payload), = await outbox(db)
    assert (chat, method) == (CENTRE, "sendMessage")
    assert payload["text"].splitlines() == [
        "<b>Statistics</b> · the whole district · 2026-03-01..2026-03-31",
        "<i>Requests collected in the period, and where they are now</i>",
        "Collected: 10",
        "Dispatched: 10 · claimed: 7 · done by a volunteer: 5",
        "Closed: 4 (confirmed by the citizen: 3, without confirmation: 1)",
        "Reopened: 1",
        "Cancelled by citizens: 1 · by admins: 1",
        "Completion rate: 44.44% (confirmed share 75.00%)",
        "Open now: 4",
        "  • waiting for a volunteer: 2",
        "  • claimed, in progress: 1",
        "  • done, awaiting the citizen: 1",
        "Median time to claim: 40 min · to done: 2 h 0 min",
        "Satisfaction: 4.00 from 3 ratings (5★ 1, 4★ 1, 3★ 1, 2★ 0, 1★ 0)",
        "Overdue now (open requests past their time, whenever filed): 3",
        "<b>By category</b> (collected / closed)",
        "  • Help for the elderly: 7 / 3",
        "  • Living environment: 2 / 1",
        "  • Legal aid: 1 / 0",
        "<b>By area</b> (collected / closed)",
        "  • Guangminglu Subdistrict Practice Institute: 7 / 3",
        "  • Zhongxinjie Subdistrict Practice Institute: 2 / 0",
        "  • area not given: 1 / 1",
    ]
    async with db.reading() as repo:
        (job,) = await repo.timers.pending_jobs()
    assert (job.kind, job.chat_id, job.language) == ("chart", CENTRE, "en")


async def test_an_institute_breaks_down_by_station_in_chinese(service: Statistics,
                                                              db: Database) -> None:
    """In Chinese, /stats guangminglu 2026-03 (any order): stations, and the request filed at
    the institute itself as 未填写区域."""
    async with db.transaction() as repo:
        await repo.people.see_user(CENTRE, "Centre", None, "zh", NOW, private=True)
        await repo.people.set_language(CENTRE, "zh", NOW)
    await ask_stats(service, Who(CENTRE, "Centre"), CENTRE, ["guangminglu", "2026-03"])
    (_, _, payload), = await outbox(db)
    lines = payload["text"].splitlines()
    assert lines[0].startswith("<b>诉求统计</b> · 光明路") and lines[0].endswith("2026-03-31")
    assert "受理：7" in lines and "办结率：50.00%（确认占比 66.67%）" in lines
    assert "接单时间中位数：20分钟 · 办结时间中位数：2小时0分钟" in lines
    rows = lines[lines.index("<b>按区域</b>（受理 / 已关闭）") + 1:]
    assert [row.rsplit("：", 1)[1] for row in rows] == ["3 / 3", "3 / 0", "1 / 0"]
    assert rows[-1] == "  • 未填写区域：1 / 0"


async def test_area_admins_see_their_subtree_only(service: Statistics, db: Database) -> None:
    """An admin of Zhongxinjie sees by default March's 2 requests there; asking for
    Guangminglu, or the whole district, is refused; a non-admin is refused everything."""
    async with db.transaction() as repo:
        await repo.people.bulk_users([AREA_ADMIN, NOBODY], NOW)
        await repo.people.grant(AREA_ADMIN, ZXJ, CENTRE, NOW)
    admin = Who(AREA_ADMIN, "Zhao")
    await ask_stats(service, admin, AREA_ADMIN, ["2026-03"])
    await ask_stats(service, admin, AREA_ADMIN, ["2026-03", GML])
    await ask_stats(service, admin, AREA_ADMIN, ["centre"])
    await ask_stats(service, Who(NOBODY, "Nobody"), NOBODY, [])
    own, outside, district, nobody = (payload["text"] for _, _, payload in await outbox(db))
    assert own.startswith("<b>Statistics</b> · Zhongxinjie Subdistrict Practice Institute")
    assert "Collected: 2" in own and "Overdue now (open requests past their time, " \
        "whenever filed): 1" in own
    assert "  • Zhongxinjie Community 1 Practice Station: 2 / 0" in own
    assert outside == ("Guangminglu Subdistrict Practice Institute is outside the areas you "
                       "administer (Zhongxinjie Subdistrict Practice Institute).")
    assert district.startswith("Shizhong District Civilization Practice Centre is outside")
    assert nobody == "Sorry, only admins can do this."


async def test_bad_arguments_get_one_line_with_the_usage(service: Statistics,
                                                         db: Database) -> None:
    """A malformed date, an unknown area and two periods each get one line."""
    for args in (["2026-13-01"], ["nowhere"], ["month", "year"], ["2026-03-31..2026-03-01"]):
        await ask_stats(service, Who(CENTRE, "Centre"), CENTRE, args)
    texts = [payload["text"] for _, _, payload in await outbox(db)]
    assert texts[0].startswith("There is no period 2026-13-01. Usage: /stats [period]")
    assert texts[1].startswith("There is no area nowhere. Usage: /stats [period] [area id]")
    assert texts[2].startswith("Usage: /stats [period] [area id]")
    assert texts[3].startswith("There is no period 2026-03-31..2026-03-01.")
    assert all("\n" not in text for text in texts)
    async with db.reading() as repo:
        assert await repo.timers.pending_jobs() == []


def test_waits_read_the_way_people_say_them(service: Statistics) -> None:
    """Minutes, hours and minutes, days and hours; nothing to measure is a dash."""
    said = {seconds: (service.duration(seconds, "en"), service.duration(seconds, "zh"))
            for seconds in (None, 20.0, 23 * MIN, 5 * HOUR + 12 * MIN + 59, 2 * DAY + 3 * HOUR)}
    assert said == {None: ("—", "—"), 20.0: ("under a minute", "不到1分钟"),
                    23 * MIN: ("23 min", "23分钟"),
                    5 * HOUR + 12 * MIN + 59: ("5 h 12 min", "5小时12分钟"),
                    2 * DAY + 3 * HOUR: ("2 d 3 h", "2天3小时")}


# -- the chart --------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header, after checking its signature and IHDR's CRC."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29])
    return struct.unpack(">II", data[16:24])


async def test_the_chart_job_draws_a_png_and_sends_it(service: Statistics, db: Database,
                                                      tmp_path: Path) -> None:
    """The job /stats 2026-03 queued draws March by day (31 bars, 10 requests, 4 closed) and
    sends it as a photo, which matplotlib reads back."""
    await ask_stats(service, Who(CENTRE, "Centre"), CENTRE, ["2026-03"])
    await outbox(db)
    assert await service.jobs.run_pending() is True
    (chat, method, payload), = await outbox(db)
    assert (chat, method) == (CENTRE, "sendPhoto")
    assert payload["caption"] == "📊 the whole district · 2026-03-01..2026-03-31"
    path = Path(payload["photo"]["path"])
    data = await asyncio.to_thread(path.read_bytes)
    width, height = png_size(data)
    assert width >= 1000 and height >= 800 and len(data) > 20_000

    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.05  # bars and words, not a blank page


def test_the_chart_series_by_day_week_and_month(service: Statistics) -> None:
    """March by day has 31 bars; hours map to local days (23:30 on the 31st stays in March);
    a year goes by week, two years by month; the rate runs cumulatively."""
    march = parse_period("2026-03", NOW, SHANGHAI)
    assert march is not None
    found = Cohort(sql.Counts(), {}, {}, None, None, 0)
    hour = int((at(3, 31, 23, 30)) // 3600)
    first = int(at(3, 1, 0, 10) // 3600)
    chart = service.chart("en", march, service.default_scope(_centre()), found,
                          [(first, 2, 1, 0), (hour, 3, 0, 1)], 0)
    assert len(chart.series) == 31
    assert (chart.series[0], chart.series[-1]) == (Bar("03-01", 2, 1), Bar("03-31", 3, 0))
    assert chart.rates[0] == 50.0 and chart.rates[-1] == pytest.approx(100 * 1 / 4)
    assert chart.series_title == "Requests collected per day"

    year = parse_period("2025", NOW, SHANGHAI)
    assert year is not None
    weekly = service.chart("en", year, service.default_scope(_centre()), found, [], 0)
    assert weekly.series_title.endswith("per week (from Monday)") and len(weekly.series) == 53
    both = parse_period("2024-01-01..2025-12-31", NOW, SHANGHAI)
    assert both is not None
    monthly = service.chart("en", both, service.default_scope(_centre()), found, [], 0)
    assert len(monthly.series) == 24 and monthly.series[0].label == "2024-01"


def test_chinese_labels_have_a_font(tmp_path: Path) -> None:
    """The packaged Noto Sans CJK (or a system CJK font) is found, and a Chinese chart renders
    with it without matplotlib missing a glyph."""
    font = charts.cjk_font()
    assert font is not None, "no CJK font: `make` installs civicloop[cjk-font]"
    chart = charts.Chart("诉求统计 · 全区", "每日受理诉求", [Bar("03-01", 3, 2)], [66.7],
                         "按类别", [Bar("助老服务", 3, 2)], "按区域", [Bar("光明路", 3, 2)],
                         {"collected": "受理", "closed": "已关闭", "rate": "累计办结率"})
    path = tmp_path / "zh.png"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font" is a UserWarning
        charts.render(chart, path, font)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def _centre() -> Any:
    from bot.people.roles import Role

    return Role(CENTRE, centre=True)


# -- rules of the chart that mutation testing (`make mutate`) found untold -------------------


def _empty() -> Cohort:
    return Cohort(sql.Counts(), {}, {}, None, None, 0)


def test_hours_of_one_local_day_add_up_in_its_bar_and_the_rate_leaves_out_cancellations(
    service: Statistics,
) -> None:
    """Three hours of 2 March make one bar: 2+3+1 collected, 1+2 closed, one cancelled by
    the citizen, so 3 of 5 that count are closed. On 3 March one request came and was closed:
    the running rate is then 4 of 6."""
    march = parse_period("2026-03", NOW, SHANGHAI)
    assert march is not None
    hours = [(int(at(3, 2, h) // 3600), collected, closed, cancelled)
             for h, collected, closed, cancelled in ((9, 2, 1, 1), (10, 3, 2, 0), (23, 1, 0, 0))]
    hours.append((int(at(3, 3, 9) // 3600), 1, 1, 0))
    chart = service.chart("en", march, service.default_scope(_centre()), _empty(), hours, 0)
    assert chart.series[1] == Bar("03-02", 6, 3)
    assert chart.series[2] == Bar("03-03", 1, 1)
    assert chart.rates[0] is None  # nothing collected on 1 March: no rate yet
    assert chart.rates[1] == 60.0
    assert chart.rates[2] == pytest.approx(100 * 4 / 6)


def test_a_single_request_closed_gives_a_rate_of_a_hundred(service: Statistics) -> None:
    day = parse_period("2026-03-02", NOW, SHANGHAI)
    assert day is not None
    chart = service.chart("en", day, service.default_scope(_centre()), _empty(),
                          [(int(at(3, 2, 9) // 3600), 1, 1, 0)], 0)
    assert chart.series == [Bar("03-02", 1, 1)] and chart.rates == [100.0]


def test_the_hours_shift_is_taken_back_before_the_local_day_is_read(
    service: Statistics,
) -> None:
    """Hours are counted from created_at + shift (zones off the whole hour): a request made at
    23:40 on 31 March falls in the hour that starts at 00:00 on 1 April once shifted by 30
    minutes, and taking the shift back puts it on 31 March again."""
    march = parse_period("2026-03", NOW, SHANGHAI)
    assert march is not None
    shift = 1800
    hour = int((at(3, 31, 23, 40) + shift) // 3600)
    chart = service.chart("en", march, service.default_scope(_centre()), _empty(),
                          [(hour, 1, 0, 0)], shift)
    assert chart.series[-1] == Bar("03-31", 1, 0)


def test_all_time_is_charted_from_the_first_request_not_from_the_year_2000(
    service: Statistics,
) -> None:
    """Requests since 30 March, and it is 15 April: seventeen daily bars."""
    period = whole_time(NOW, SHANGHAI)
    chart = service.chart("en", period, service.default_scope(_centre()), _empty(),
                          [(int(at(3, 30, 9) // 3600), 2, 1, 0)], 0)
    assert chart.series_title == "Requests collected per day"
    assert len(chart.series) == 17
    assert (chart.series[0], chart.series[-1].label) == (Bar("03-30", 2, 1), "04-15")


def test_all_time_with_no_request_is_one_empty_bar_for_today_here(
    service: Statistics, env: Env
) -> None:
    """At 01:00 on 16 April in Shanghai (still the 15th in UTC) the only bar is the 16th."""

    class EarlyClock(Clock):
        def now(self) -> float:
            return at(4, 16, 1)

    early = Env(db=env.db, config=env.config, t=env.t, clock=EarlyClock())
    stats = Statistics(early, RequestLoop(early), Roles(early), Jobs(early))
    chart = stats.chart("en", whole_time(at(4, 16, 1), SHANGHAI),
                        stats.default_scope(_centre()), _empty(), [], 0)
    assert chart.series == [Bar("04-16", 0, 0)] and chart.rates == [None]


@pytest.mark.parametrize("days, unit, bars", [
    (92, "day", 92),
    (93, "week", 14),
    (400, "week", 58),
    (401, "month", 14),
])
def test_up_to_92_days_go_by_day_up_to_400_by_week_then_by_month(
    service: Statistics, days: int, unit: str, bars: int
) -> None:
    """From Monday 1 January 2024 on, the edges of each unit."""
    first = date(2024, 1, 1)
    last = first + timedelta(days=days - 1)
    period = parse_period(f"{first}..{last}", NOW, SHANGHAI)
    assert period is not None
    chart = service.chart("en", period, service.default_scope(_centre()), _empty(), [], 0)
    assert chart.series_title.startswith(f"Requests collected per {unit}")
    assert len(chart.series) == bars


def test_the_days_of_one_week_add_up_in_its_bar(service: Statistics) -> None:
    """2025 by week: Monday 3 and Wednesday 5 March share the week of 3 March."""
    year = parse_period("2025", NOW, SHANGHAI)
    assert year is not None
    hours = [(int(datetime(2025, 3, d, 10, tzinfo=SHANGHAI).timestamp() // 3600), n, 1, 0)
             for d, n in ((3, 2), (5, 3))]
    chart = service.chart("en", year, service.default_scope(_centre()), _empty(), hours, 0)
    assert Bar("03-03", 5, 2) in chart.series


def test_requests_without_an_area_or_with_one_gone_from_the_file_are_not_given(
    service: Statistics, env: Env
) -> None:
    """The district's breakdown by institute: a station's requests count in its institute;
    those with no area, and those whose area left the area file, count as "not given"."""
    found = Cohort(sql.Counts(), {}, {
        None: sql.Counts(collected=1),
        "gone-07": sql.Counts(collected=2, confirmed=1),
        GML1: sql.Counts(collected=4, confirmed=3),
    }, None, None, 0)
    rows = service.area_rows(service.default_scope(_centre()), found, "en")
    not_given = env.t.raw("en", "stats.not_given")
    assert rows == [Bar(render.area_name(env, GML, "en"), 4, 3), Bar(not_given, 3, 1)]



# -- what mutation testing (`make mutate`) asked for -------------------------------------------


async def test_the_whole_text_in_chinese_for_march(service: Statistics, db: Database) -> None:
    """A centre admin who speaks Chinese gets every line of the March figures in Chinese,
    the same figures as in English."""
    async with db.transaction() as repo:
        await repo.people.see_user(CENTRE, "Centre", None, "zh", NOW, private=True)
        await repo.people.set_language(CENTRE, "zh", NOW)
    await ask_stats(service, Who(CENTRE, "Centre"), CENTRE, ["2026-03"])
    (_, _, payload), = await outbox(db)
    assert payload["text"].splitlines() == [
        "<b>诉求统计</b> · 全区 · 2026-03-01..2026-03-31",
        "<i>本时段受理的诉求及其目前状态</i>",
        "受理：10",
        "已派单：10 · 已接单：7 · 志愿者已办结：5",
        "已关闭：4（群众确认 3，未经确认 1）",
        "重新办理：1",
        "群众取消：1 · 管理员取消：1",
        "办结率：44.44%（确认占比 75.00%）",
        "当前未办结：4",
        "  • 等待接单：2",
        "  • 已接单办理中：1",
        "  • 已办结待群众确认：1",
        "接单时间中位数：40分钟 · 办结时间中位数：2小时0分钟",
        "满意度：4.00，共 3 条评价（5星 1、4星 1、3星 1、2星 0、1星 0）",
        "当前超时（未办结且已超过时限，不限受理时段）：3",
        "<b>按类别</b>（受理 / 已关闭）",
        "  • 助老服务：7 / 3",
        "  • 生活环境：2 / 1",
        "  • 法律援助：1 / 0",
        "<b>按区域</b>（受理 / 已关闭）",
        "  • 光明路街道新时代文明实践所：7 / 3",
        "  • 中心街街道新时代文明实践所：2 / 0",
        "  • 未填写区域：1 / 1",
    ]


def test_waits_change_unit_exactly_at_the_minute_the_hour_and_the_day(
    service: Statistics,
) -> None:
    said = [service.duration(seconds, "en") for seconds in
            (59.9, 60.0, HOUR - 1, HOUR, DAY - 1, DAY)]
    assert said == ["under a minute", "1 min", "59 min", "1 h 0 min", "23 h 59 min",
                    "1 d 0 h"]


def test_a_long_breakdown_shows_ten_rows_and_counts_the_rest_in_the_readers_language(
    service: Statistics,
) -> None:
    """Ten rows are shown as they are; with twelve, the last two are counted in a line."""
    bars = [Bar(f"area {n}", n, 0) for n in range(12)]
    assert len(service._rows(bars[:10], "en")) == 10
    twelve = service._rows(bars, "zh")
    assert len(twelve) == 11
    assert twelve[:10] == service._rows(bars[:10], "zh")
    assert twelve[-1] == service.env.t("zh", "stats.more", count=2)
    assert "2" in twelve[-1] and twelve[-1] != service.env.t("en", "stats.more", count=2)


async def test_two_areas_are_one_too_many(service: Statistics, db: Database) -> None:
    await ask_stats(service, Who(CENTRE, "Centre"), CENTRE, [GML, ZXJ])
    ((_, _, payload),) = await outbox(db)
    assert payload["text"].startswith("Usage: /stats [period] [area id]")


async def drawn(service: Statistics, db: Database, who: Who, args: list[str],
                monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                font: charts.Font | None) -> tuple[charts.Chart, str]:
    """Ask /stats as `who`, then run its chart job's drawing with `font` for Chinese (None:
    no such font on the machine): the chart as it would be drawn, and the caption."""
    await ask_stats(service, who, who.user_id, args)
    await outbox(db)
    async with db.reading() as repo:
        (job,) = await repo.timers.pending_jobs()
    drawn_charts: list[charts.Chart] = []
    monkeypatch.setattr(charts, "cjk_font", lambda: font)

    def render(chart: charts.Chart, path: Path, used: charts.Font | None) -> None:
        assert used is font  # Chinese words are drawn with the font that has them
        drawn_charts.append(chart)

    monkeypatch.setattr(charts, "render", render)
    caption = await asyncio.to_thread(service.draw, job, tmp_path / "stats.png",
                                      db.snapshot_reader())
    (chart,) = drawn_charts
    return chart, caption


async def a_chinese_area_admin(db: Database) -> Who:
    """Zhao administers Zhongxinjie and reads Chinese."""
    async with db.transaction() as repo:
        await repo.people.see_user(AREA_ADMIN, "Zhao", None, "zh", NOW, private=True)
        await repo.people.set_language(AREA_ADMIN, "zh", NOW)
        await repo.people.grant(AREA_ADMIN, ZXJ, CENTRE, NOW)
    return Who(AREA_ADMIN, "Zhao")


async def test_a_chinese_area_admins_chart_shows_their_area_in_chinese(
    service: Statistics, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Zhao's chart of March: his institute's 2 requests only, every word in Chinese, a
    panel of his stations, and a Chinese caption."""
    zhao = await a_chinese_area_admin(db)
    font = charts.Font("Noto Sans CJK SC", "normal")
    chart, caption = await drawn(service, db, zhao, ["2026-03"], monkeypatch, tmp_path, font)
    period = "2026-03-01..2026-03-31"
    assert caption == f"📊 中心街街道新时代文明实践所 · {period}"
    assert chart.title == f"诉求统计 · 中心街街道新时代文明实践所 · {period}"
    assert (chart.categories_title, chart.areas_title) == (
        "按类别：受理 / 已关闭", "按区域：受理 / 已关闭")
    assert sum(bar.collected for bar in chart.categories) == 2
    assert {bar.label for bar in chart.categories} >= {"助老服务"}
    assert [bar.label for bar in chart.areas if bar.collected] == ["中心街第1社区新时代文明实践站"]
    assert sum(bar.collected for bar in chart.series) == 2


async def test_without_a_chinese_font_the_chart_speaks_english_and_the_caption_chinese(
    service: Statistics, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    zhao = await a_chinese_area_admin(db)
    chart, caption = await drawn(service, db, zhao, ["2026-03"], monkeypatch, tmp_path, None)
    assert chart.title.startswith("Statistics · Zhongxinjie Subdistrict Practice Institute")
    assert chart.categories_title == "By category: collected / closed"
    assert caption.startswith("📊 中心街街道新时代文明实践所")


async def test_a_request_filed_seconds_after_midnight_is_charted_on_its_own_day(
    service: Statistics, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Filed at 00:00:05 on 2 March in Shanghai (16:00:05 UTC on the 1st): the chart's bar
    of 2 March counts it, the 1st's does not."""
    before, _ = await drawn(service, db, Who(CENTRE, "Centre"), ["2026-03"], monkeypatch,
                            tmp_path, None)
    async with db.transaction() as repo:
        await repo.requests.bulk_requests([request("r13", GML1, "elderly", at(3, 2, 0) + 5)])
        (job,) = await repo.timers.pending_jobs()
        await repo.timers.finish_job(job.id, NOW)
    after, _ = await drawn(service, db, Who(CENTRE, "Centre"), ["2026-03"], monkeypatch,
                           tmp_path, None)
    counted = {bar.label: bar.collected for bar in before.series}
    now = {bar.label: bar.collected for bar in after.series}
    assert now["03-02"] == counted["03-02"] + 1
    assert now["03-01"] == counted["03-01"]


def test_counts_add_up_shape_by_shape() -> None:
    """Two kinds of request closed without confirmation add up; one never dispatched (an
    import, say) is collected but not counted as dispatched; ratings count by stars."""
    closed, cancelled = ALL_STATUSES.index("closed"), ALL_STATUSES.index("cancelled")
    counts = sql.Counts()
    counts.add(closed | sql.DISPATCHED_BIT | sql.CLAIMED_BIT | sql.DONE_BIT, 3)
    counts.add(closed | sql.DISPATCHED_BIT | sql.REOPENED_BIT, 2)
    counts.add(closed | sql.CONFIRMED | sql.DISPATCHED_BIT | 4 << sql.RATING_SHIFT, 5)
    counts.add(cancelled | sql.BY_CITIZEN, 7)
    assert (counts.collected, counts.dispatched, counts.claimed, counts.done) == (17, 10, 3, 3)
    assert (counts.unconfirmed, counts.confirmed, counts.reopened) == (2 + 3, 5, 2)
    assert (counts.cancelled_by_citizen, counts.cancelled_by_admin) == (7, 0)
    assert counts.ratings[4] == 5 and counts.rated == 5


def test_a_division_code_in_the_area_file_is_an_area_not_a_year(
    db: Database, tmp_path: Path,
) -> None:
    """Areas named by their division codes (370402001 starts like a year): /stats 370402001
    is that station's figures, not a period."""
    from bot.config import parse_config

    (tmp_path / "codes.csv").write_text(
        "id,parent_id,name_zh,name_en,lat,lon\n"
        "370402,,市中区,Shizhong,34.86,117.55\n"
        "370402001,370402,中心街,Zhongxinjie,34.86,117.55\n", encoding="utf-8")
    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [CENTRE]},
        "categories": CATEGORIES,
        "areas": {"file": "codes.csv"},
    }, env={}, base_dir=tmp_path)
    env = Env(db=db, config=config, t=Catalogs.load("en"), clock=FixedClock())
    statistics = Statistics(env, RequestLoop(env), Roles(env), Jobs(env))
    read = statistics.read_args(Role(CENTRE, centre=True), ["370402001"], "en")
    assert not isinstance(read, str), read
    period, scope = read
    assert period.label == "all" and scope.named == ("370402001",)


def test_a_missing_cjk_font_is_said_once_at_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """On a machine without any CJK font the bot starts anyway and says, once, what to
    install; with one, it says nothing."""
    from bot import app

    async def start_and_stop() -> None:
        from bot.config import parse_config

        config = parse_config({
            "telegram": {"token": TOKEN, "base_url": "http://127.0.0.1:9/bot"},
            "bot": {"database": "civicloop.db", "admin_ids": [CENTRE]},
            "categories": CATEGORIES,
        }, env={}, base_dir=tmp_path)
        stop = asyncio.Event()
        stop.set()  # stop at once: only the start-up checks run
        await app.run(config, stop)

    monkeypatch.setattr(charts, "cjk_font_file", lambda: None)
    asyncio.run(start_and_stop())
    said = [r.getMessage() for r in caplog.records if "no CJK font" in r.getMessage()]
    assert len(said) == 1 and "fonts-noto-cjk" in said[0]
    caplog.clear()
    monkeypatch.setattr(charts, "cjk_font_file", lambda: tmp_path / "font.ttc")
    asyncio.run(start_and_stop())
    assert not [r for r in caplog.records if "no CJK font" in r.getMessage()]


async def test_every_refusal_of_stats_is_in_chinese_for_a_chinese_admin(
    service: Statistics, db: Database,
) -> None:
    """A wrong period, an unknown area, two periods, an area outside his own and a
    non-admin's /stats: each one line, in Chinese."""
    zhao = await a_chinese_area_admin(db)
    async with db.transaction() as repo:
        await repo.people.see_user(NOBODY, "Nobody", None, "zh", NOW, private=True)
        await repo.people.set_language(NOBODY, "zh", NOW)
    for args in (["2026-13-01"], ["nowhere"], ["month", "year"], [GML]):
        await ask_stats(service, zhao, AREA_ADMIN, args)
    await ask_stats(service, Who(NOBODY, "Nobody"), NOBODY, [])
    texts = [payload["text"] for _, _, payload in await outbox(db)]
    t = service.env.t
    assert texts[0].startswith("没有时段 2026-13-01") or "2026-13-01" in texts[0]
    assert texts[2] == t("zh", "stats.usage")
    assert texts[1] == t("zh", "stats.unknown_area", area="nowhere")
    assert texts[3].startswith("光明路街道新时代文明实践所")
    assert texts[4] == t("zh", "admin.not_admin")
    assert all(not text.startswith(("Usage", "There is", "Sorry")) for text in texts)


async def test_all_time_with_nothing_rated_reads_in_chinese(
    service: Statistics, db: Database,
) -> None:
    """/stats all for an area where nobody rated anything yet: the period is 全部, the
    satisfaction line says there are no ratings, in Chinese."""
    zhao = await a_chinese_area_admin(db)
    await ask_stats(service, zhao, AREA_ADMIN, ["all"])
    ((_, _, payload),) = await outbox(db)
    lines = payload["text"].splitlines()
    assert lines[0].endswith("· 全部")
    assert "满意度：暂无评价" in lines


async def test_an_admin_of_two_areas_sees_both_as_rows(service: Statistics, db: Database) -> None:
    async with db.transaction() as repo:
        await repo.people.bulk_users([AREA_ADMIN], NOW)
        await repo.people.grant(AREA_ADMIN, ZXJ, CENTRE, NOW)
        await repo.people.grant(AREA_ADMIN, GML, CENTRE, NOW)
    await ask_stats(service, Who(AREA_ADMIN, "Zhao"), AREA_ADMIN, ["2026-03"])
    ((_, _, payload),) = await outbox(db)
    rows = payload["text"].split("<b>By area</b>")[1]
    assert "Guangminglu Subdistrict Practice Institute: 7 / 3" in rows
    assert "Zhongxinjie Subdistrict Practice Institute: 2 / 0" in rows


async def test_a_half_hour_time_zone_charts_a_request_after_midnight_on_its_own_day(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A district on India's clock (UTC+5:30): a request filed at 00:10 on 2 March local is
    18:40 UTC on the 1st; it adds to the bar of 2 March, as the people there count days."""
    from bot.config import parse_config

    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [CENTRE],
                "timezone": "Asia/Kolkata"},
        "categories": CATEGORIES,
    }, env={}, base_dir=tmp_path)
    env = Env(db=db, config=config, t=Catalogs.load("en"), clock=FixedClock())
    statistics = Statistics(env, RequestLoop(env), Roles(env), Jobs(env))
    centre = Who(CENTRE, "Centre")
    before, _ = await drawn(statistics, db, centre, ["2026-03"], monkeypatch, tmp_path, None)
    filed = datetime(2026, 3, 2, 0, 10, tzinfo=ZoneInfo("Asia/Kolkata")).timestamp()
    async with db.transaction() as repo:
        await repo.requests.bulk_requests([request("r20", None, "legal", filed)])
        (job,) = await repo.timers.pending_jobs()
        await repo.timers.finish_job(job.id, NOW)
    after, _ = await drawn(statistics, db, centre, ["2026-03"], monkeypatch, tmp_path, None)
    counted = {bar.label: bar.collected for bar in before.series}
    now = {bar.label: bar.collected for bar in after.series}
    assert now["03-02"] == counted["03-02"] + 1
    assert now["03-01"] == counted["03-01"]
