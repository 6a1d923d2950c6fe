"""The moments a Chinese reader is shown, at 23:50 Beijing on 31 December (15:50 UTC): the day
is Beijing's, written the Chinese way with its weekday, and the year only when it changes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.activities import attendance
from bot.context import Env
from bot.i18n import day_and_time
from bot.requests import render
from tests import conftest
from tests.conftest import SHANGHAI
from tests.test_mutants_render import a_district

EVE = datetime(2026, 12, 31, 15, 50, tzinfo=UTC)  # 23:50 in Beijing


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """A district whose clock stands at 23:50 Beijing on New Year's Eve."""
    district = a_district(tmp_path)
    district.clock = conftest.TestClock(EVE.astimezone(SHANGHAI))
    return district


@pytest.mark.parametrize("minutes, zh, en", [
    (0, "12月31日 周四 23:50", "2026-12-31 23:50"),
    (20, "2027年1月1日 周五 00:10", "2027-01-01 00:10"),
    (-24 * 60, "12月30日 周三 23:50", "2026-12-30 23:50"),
    (10 * 24 * 60 + 9 * 60, "2027年1月11日 周一 08:50", "2027-01-11 08:50"),
])
def test_a_moment_reads_as_the_beijing_day_with_its_weekday(
    env: Env, minutes: int, zh: str, en: str,
) -> None:
    moment = EVE.timestamp() + minutes * 60
    assert render.local_time(env, moment, "zh") == zh
    assert render.local_time(env, moment, "en") == en
    assert attendance.render_time(env, moment, "zh") == zh
    assert render.local_time(env, moment) == en  # no reader: ISO (operators, logs)


def test_every_weekday_has_its_chinese_name() -> None:
    week = [day_and_time(datetime(2027, 1, day, 9, 0, tzinfo=SHANGHAI), "zh", 2027)
            for day in range(4, 11)]
    assert [w.split()[1] for w in week] == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert day_and_time(datetime(2027, 1, 4, tzinfo=SHANGHAI), "zh", 2027, clock=False) == (
        "1月4日 周一")

