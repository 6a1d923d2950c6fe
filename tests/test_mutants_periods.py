"""Period rules that mutation testing (`make mutate`) found no test for."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.reports.periods import EPOCH_DAY, parse_period, whole_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 01:30 on 1 March in Shanghai is still 28 February in UTC: a clock read in the wrong zone
# names the wrong day.
NOW = datetime(2026, 3, 1, 1, 30, tzinfo=SHANGHAI).timestamp()


def test_all_time_runs_from_the_first_local_midnight_to_the_end_of_today_here() -> None:
    period = whole_time(NOW, SHANGHAI)
    assert (period.first, period.last, period.label) == (EPOCH_DAY, date(2026, 3, 1), "all")
    assert period.start == datetime(2000, 1, 1, tzinfo=SHANGHAI).timestamp()
    assert period.end == datetime(2026, 3, 2, tzinfo=SHANGHAI).timestamp()


def test_a_periods_days_are_every_local_day_in_order_both_ends_included() -> None:
    period = parse_period("2026-02-27..2026-03-02", NOW, SHANGHAI)
    assert period is not None
    assert period.days() == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1),
                             date(2026, 3, 2)]
    one = parse_period("today", NOW, SHANGHAI)
    assert one is not None and one.days() == [date(2026, 3, 1)]
