"""Quiet-hour rules that mutation testing (`make mutate`) wanted pinned down, minute by minute."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from bot.context import Clock, Env
from bot.i18n import Catalogs
from bot.night import quiet_until
from bot.requests.loop import RequestLoop
from bot.schedule.sweep import Schedule
from bot.unit import Units
from storage import Database, Timer
from tests.conftest import CATEGORIES, TOKEN

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = (time(22, 0), time(8, 0))  # spans midnight
NOON = (time(12, 0), time(13, 30))  # within one day


def at(day: int, hour: int, minute: int = 0) -> float:
    """A moment of December 2026 in Shanghai."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).timestamp()


@pytest.mark.parametrize("moment, ends", [
    (at(4, 22, 0), at(5, 8)),    # quiet hours start on the minute
    (at(4, 23, 30), at(5, 8)),   # before midnight: they end tomorrow morning
    (at(5, 0, 0), at(5, 8)),     # after midnight: this morning
    (at(5, 7, 59), at(5, 8)),
    (at(5, 8, 0), None),         # and end on the minute
    (at(5, 12, 0), None),
    (at(5, 21, 59), None),
])
def test_night_quiet_hours_run_over_midnight_and_end_in_the_morning(
    moment: float, ends: float | None
) -> None:
    assert quiet_until(moment, *NIGHT, SHANGHAI) == ends


@pytest.mark.parametrize("moment, ends", [
    (at(5, 11, 59), None),
    (at(5, 12, 0), at(5, 13, 30)),
    (at(5, 13, 29), at(5, 13, 30)),  # within a day they end the same day
    (at(5, 13, 30), None),
    (at(5, 23, 0), None),            # the late evening is not inside a noon rest
    (at(5, 1, 0), None),
])
def test_quiet_hours_within_one_day_hold_only_between_start_and_end(
    moment: float, ends: float | None
) -> None:
    assert quiet_until(moment, *NOON, SHANGHAI) == ends


@pytest.mark.parametrize("hour", [0, 8, 12, 22, 23])
def test_the_same_start_and_end_mean_no_quiet_hours(hour: int) -> None:
    assert quiet_until(at(5, hour), time(8, 0), time(8, 0), SHANGHAI) is None


def test_quiet_hours_are_read_on_the_local_clock() -> None:
    """23:30 in Shanghai is 15:30 UTC: quiet here, whatever the machine's zone is."""
    assert quiet_until(at(4, 23, 30), *NIGHT, ZoneInfo("UTC")) is None
    assert quiet_until(at(4, 23, 30), *NIGHT, SHANGHAI) == at(5, 8)


class StoppedClock(Clock):
    """A clock that stands still until a test moves it."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


async def a_schedule(tmp_path: Path, clock: Clock) -> tuple[Database, Schedule]:
    db = await Database.open(tmp_path / "civicloop.db")
    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [1]},
        "categories": CATEGORIES,
    }, env={}, base_dir=tmp_path)
    env = Env(db=db, config=config, t=Catalogs.load("en"), clock=clock)
    return db, Schedule(env, RequestLoop(env), Units(env))


async def timers(db: Database) -> list[tuple[str, float, int | None, str | None]]:
    """Every timer: kind, due time, whose, and how it was settled (None: pending)."""
    async with db.reading() as repo:
        rows = await repo._all("SELECT kind, due_at, user_id, outcome FROM timers ORDER BY id")
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def test_a_reminder_due_at_night_is_recorded_as_deferred_and_fires_in_the_morning(
    tmp_path: Path,
) -> None:
    """A draft nudge falls due at 23:00: the sweep sets it aside as deferred, with a new one
    for the same person due at 08:00, and fires nothing; at 08:00 that one is recorded as
    fired."""
    clock = StoppedClock(at(4, 22, 30))
    db, schedule = await a_schedule(tmp_path, clock)
    try:
        async with db.transaction() as repo:
            await repo.timers.schedule("draft_nudge", at(4, 23), clock.at, user_id=500)
        clock.at = at(4, 23)
        assert await schedule.sweep() == 0
        assert await timers(db) == [("draft_nudge", at(4, 23), 500, "deferred"),
                                    ("draft_nudge", at(5, 8), 500, None)]
        clock.at = at(5, 8)
        assert await schedule.sweep() == 1
        assert [outcome for *_, outcome in await timers(db)] == ["deferred", "fired"]
    finally:
        await db.close()


async def test_a_timer_that_fails_is_set_aside_as_failed_and_the_next_one_still_fires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = StoppedClock(at(5, 9))
    db, schedule = await a_schedule(tmp_path, clock)
    real_fire = schedule._fire

    async def fire(repo: Any, timer: Timer) -> None:
        if timer.user_id == 500:
            raise RuntimeError("a bad timer")
        await real_fire(repo, timer)

    monkeypatch.setattr(schedule, "_fire", fire)
    try:
        async with db.transaction() as repo:
            await repo.timers.schedule("draft_expire", at(5, 10), clock.at, user_id=500)
            await repo.timers.schedule("draft_expire", at(5, 10), clock.at, user_id=501)
        clock.at = at(5, 10)
        assert await schedule.sweep() == 1
        assert [(user, outcome) for _, _, user, outcome in await timers(db)] == [
            (500, "failed"), (501, "fired")]
    finally:
        await db.close()
