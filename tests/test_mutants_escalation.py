"""Escalation up the area tree, step by step, as mutation testing (`make mutate`) wanted it told:
what each step records, where the card goes when the tree changed under a request, and that
nothing climbs past the admin chat."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from bot.context import Env
from bot.i18n import Catalogs
from bot.requests.loop import ADMIN_LEVEL, DISTRICT, RequestLoop
from bot.schedule.sweep import Schedule
from bot.unit import Units
from storage import Database
from tests.conftest import TOKEN
from tests.test_mutants_schedule import StoppedClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI).timestamp()  # a Monday morning
HOUR = 3600.0
CITIZEN = 500
ADMIN_CHAT = -900
DISTRICT_GROUP = -100
STATION_GROUP = -101
INSTITUTE_GROUP = -102
AREAS = "\n".join([
    "id,parent_id,name_zh,name_en,lat,lon",
    "centre,,中心,Centre,34.864,117.556",
    "east,centre,东街道,East,34.87,117.57",
    "east-01,east,东一社区,East One,34.871,117.571",
]) + "\n"


async def a_district(tmp_path: Path, clock: StoppedClock) -> tuple[Database, Env, Schedule]:
    """A district with one station under one institute; the elderly-help category waits 3 h
    before climbing (the default is 2 h); admins meet in one chat."""
    (tmp_path / "areas.csv").write_text(AREAS, encoding="utf-8")
    db = await Database.open(tmp_path / "civicloop.db")
    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [1],
                "admin_chat_id": ADMIN_CHAT},
        "areas": {"file": "areas.csv"},
        "categories": [
            {"code": "elderly", "zh": "助老服务", "en": "Help for the elderly",
             "escalate_after": "3h"},
        ],
    }, env={}, base_dir=tmp_path)
    env = Env(db=db, config=config, t=Catalogs.load("en"), clock=clock)
    return db, env, Schedule(env, RequestLoop(env), Units(env))


async def a_waiting_request(
    db: Database, *, area: str | None, level: str, chat: int, escalate_at: float,
    language: str = "zh",
) -> int:
    """A request nobody has claimed, its card at `level` in `chat`, its escalate timer set."""
    async with db.transaction() as repo:
        await repo.people.see_user(CITIZEN, "Wang", None, language, T0, private=True)
        request_id = await repo.requests.insert_request(
            ref="2026-000001", citizen_id=CITIZEN, language=language, category="elderly",
            description="帮忙买菜", photos=[], voice_file_id=None, latitude=None,
            longitude=None, address=None, phone=None, dispatch_chat_id=chat, now=T0)
        await repo.requests.set_area(request_id, area)
        await repo.requests.set_dispatch(request_id, chat, level)
        await repo.timers.schedule("escalate", escalate_at, T0, request_id=request_id)
    return request_id


async def bind(db: Database, *bindings: tuple[str, int]) -> None:
    """Bind the elderly-help group of each (area, chat)."""
    async with db.transaction() as repo:
        for area, chat in bindings:
            await repo.areas.bind("elderly", area, chat, "group", 1, T0)


async def steps(db: Database, request_id: int) -> list[dict[str, object]]:
    """What each escalation recorded on the request's timeline."""
    async with db.reading() as repo:
        return [event.detail or {} for event in await repo.requests.events(request_id)
                if event.kind == "escalated"]


async def escalate_timers(db: Database, request_id: int) -> list[float]:
    async with db.reading() as repo:
        return [timer.due_at for timer in await repo.timers.pending_timers(request_id=request_id)
                if timer.kind == "escalate"]


async def texts_to(db: Database, chat: int) -> list[str]:
    async with db.reading() as repo:
        rows = await repo._all("SELECT payload FROM outbox WHERE chat_id = ? ORDER BY id",
                               (chat,))
    return [str(json.loads(row[0]).get("text") or json.loads(row[0]).get("caption"))
            for row in rows]


async def test_a_stalled_request_climbs_one_level_per_wait_and_records_each_step(
    tmp_path: Path,
) -> None:
    """Grandma Wang's request waits at her station. After the category's 3 hours it goes to
    the institute's group: the timeline says level, chat and step 1, the request now points
    at the institute's group, the next climb is due 3 hours later, and she is told once, in
    Chinese. Three hours on it reaches the admin chat as step 2 and climbs no further."""
    clock = StoppedClock(T0)
    db, env, schedule = await a_district(tmp_path, clock)
    try:
        await bind(db, ("east-01", STATION_GROUP), ("east", INSTITUTE_GROUP))
        request_id = await a_waiting_request(
            db, area="east-01", level="east-01", chat=STATION_GROUP, escalate_at=T0 + 3 * HOUR)

        clock.at = T0 + 3 * HOUR
        assert await schedule.sweep() == 1
        assert await steps(db, request_id) == [
            {"level": "east", "chat_id": INSTITUTE_GROUP, "step": 1}]
        async with db.reading() as repo:
            request = await repo.requests.request(request_id)
        assert request is not None
        assert (request.dispatch_area_id, request.dispatch_chat_id) == ("east", INSTITUTE_GROUP)
        assert await escalate_timers(db, request_id) == [T0 + 6 * HOUR]
        told = env.t("zh", "schedule.escalated_citizen", ref="2026-000001")
        assert await texts_to(db, CITIZEN) == [told]

        clock.at = T0 + 6 * HOUR
        assert await schedule.sweep() == 1
        assert (await steps(db, request_id))[1] == {
            "level": ADMIN_LEVEL, "chat_id": ADMIN_CHAT, "step": 2}
        assert await escalate_timers(db, request_id) == []
        assert await texts_to(db, CITIZEN) == [told]
    finally:
        await db.close()


@pytest.mark.parametrize("area, level, chat, bound", [
    # The station east-07 was dropped from the area file while a request there waited: its
    # escalation skips the lost levels and goes to the district's group, not to the admins.
    ("east-07", "east-07", -107, ()),
    # A request at station east-01 was escalated to an institute the new area file no longer
    # has: it climbs to what still stands above every level, the district, not to "east".
    ("east-01", "east-old", -103, (("east", INSTITUTE_GROUP),)),
])
async def test_a_level_that_left_the_area_file_climbs_to_the_district_group(
    tmp_path: Path, area: str, level: str, chat: int, bound: tuple[tuple[str, int], ...],
) -> None:
    clock = StoppedClock(T0)
    db, _, schedule = await a_district(tmp_path, clock)
    try:
        await bind(db, *bound, (DISTRICT, DISTRICT_GROUP))
        request_id = await a_waiting_request(
            db, area=area, level=level, chat=chat, escalate_at=T0 + 3 * HOUR)
        clock.at = T0 + 3 * HOUR
        assert await schedule.sweep() == 1
        assert await steps(db, request_id) == [
            {"level": DISTRICT, "chat_id": DISTRICT_GROUP, "step": 1}]
    finally:
        await db.close()


async def test_a_request_already_flagged_in_the_admin_chat_is_not_flagged_again(
    tmp_path: Path,
) -> None:
    """With no group for its category anywhere, a request went straight to the admin chat and
    was flagged there once. A second escalate timer (left from before a restart) finds it at
    the top: nothing is sent and nothing recorded."""
    clock = StoppedClock(T0)
    db, _, schedule = await a_district(tmp_path, clock)
    try:
        request_id = await a_waiting_request(
            db, area="east-01", level=ADMIN_LEVEL, chat=ADMIN_CHAT, escalate_at=T0 + 3 * HOUR)
        async with db.transaction() as repo:
            assert await repo.requests.escalate(request_id, T0 + HOUR)
        clock.at = T0 + 3 * HOUR
        await schedule.sweep()
        assert await steps(db, request_id) == []
        assert await texts_to(db, ADMIN_CHAT) == []
        assert await texts_to(db, CITIZEN) == []
        async with db.reading() as repo:
            request = await repo.requests.request(request_id)
        assert request is not None and request.escalation_level == 1
    finally:
        await db.close()
