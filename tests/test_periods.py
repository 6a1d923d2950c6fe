"""Period words of /stats and /export: what they cover, and what is refused."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.reports.periods import looks_like_period, parse_period

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 10, 30, tzinfo=SHANGHAI).timestamp()


@pytest.mark.parametrize("word, first, last", [
    ("today", date(2026, 11, 29), date(2026, 11, 29)),
    ("今天", date(2026, 11, 29), date(2026, 11, 29)),
    ("yesterday", date(2026, 11, 28), date(2026, 11, 28)),
    ("week", date(2026, 11, 23), date(2026, 11, 29)),
    ("本月", date(2026, 11, 1), date(2026, 11, 29)),
    ("year", date(2026, 1, 1), date(2026, 11, 29)),
    ("2025", date(2025, 1, 1), date(2025, 12, 31)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2026-03-05", date(2026, 3, 5), date(2026, 3, 5)),
    ("2026-03-01..2026-03-15", date(2026, 3, 1), date(2026, 3, 15)),
])
def test_a_period_word_covers_whole_local_days(word: str, first: date, last: date) -> None:
    period = parse_period(word, NOW, SHANGHAI)
    assert period is not None
    assert (period.first, period.last) == (first, last)
    assert period.start == datetime(first.year, first.month, first.day,
                                    tzinfo=SHANGHAI).timestamp()
    assert period.end - period.start == 86400 * ((last - first).days + 1)


@pytest.mark.parametrize("word", ["2026-13", "2026-02-30", "2026-03-15..2026-03-01", "1999",
                                  "9999", "9999-12", "2026-01-01..9999-12-31", "someday",
                                  "2026-3-5x"])
def test_impossible_or_unknown_periods_are_refused_not_crashed(word: str) -> None:
    assert parse_period(word, NOW, SHANGHAI) is None


def test_an_area_id_that_looks_like_a_year_is_an_area() -> None:
    areas = {"370402001", "3704-02"}
    assert not looks_like_period("370402001", areas)
    assert not looks_like_period("3704-02", areas)
    assert looks_like_period("2026-03", areas)
    assert looks_like_period("370402001")  # without the tree it would be read as a year
