"""Periods named in admin commands: today, week, month, year, 2026, 2026-03, a date range."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WORDS = {
    "today": "today", "今天": "today", "今日": "today",
    "yesterday": "yesterday", "昨天": "yesterday",
    "week": "week", "本周": "week",
    "month": "month", "本月": "month",
    "year": "year", "今年": "year",
    "all": "all", "全部": "all",
}
_DAY = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_RANGE = re.compile(rf"^{_DAY}\.\.{_DAY}$")
_ONE_DAY = re.compile(rf"^{_DAY}$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")
EPOCH_DAY = date(2000, 1, 1)  # "all" starts here: older than any request



@dataclass(frozen=True)
class Period:
    """Local days `first`..`last` (inclusive), as timestamps [start, end)."""

    first: date
    last: date
    start: float
    end: float
    label: str  # how to show it: "2026-11-01..2026-11-29", "2026-11-29" or "all"

    def days(self) -> list[date]:
        """Every local day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def looks_like_period(word: str, areas: Container[str] | None = None) -> bool:
    """Say whether a command argument is meant as a period (so it is not taken for an area).

    An id in the area file wins: division codes such as 370402001 are areas."""
    word = word.strip().lower()
    if areas is not None and word in areas:
        return False
    return word in WORDS or bool(re.match(r"^\d{4}", word))


def parse_period(word: str, now: float, tz: ZoneInfo) -> Period | None:
    """Read a period word; None if it is not one (or names impossible dates)."""
    word = word.strip().lower()
    today = datetime.fromtimestamp(now, tz).date()
    try:
        days = _days(word, today)
        if days is None:
            return None
        first, last = days
        if last < first or first < EPOCH_DAY:
            return None
        end = _start_of(last + timedelta(days=1), tz)
    except (ValueError, OverflowError):  # 2026-02-30, month 13, the year 9999's end
        return None
    if WORDS.get(word) == "all":
        label = "all"
    else:
        label = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return Period(first, last, _start_of(first, tz), end, label)


def _days(word: str, today: date) -> tuple[date, date] | None:
    """The first and last local day a period word names, or None if it names none."""
    if word in WORDS:
        return _named(WORDS[word], today)
    if match := _RANGE.match(word):
        numbers = [int(n) for n in match.groups()]
        return date(*numbers[:3]), date(*numbers[3:])
    if match := _ONE_DAY.match(word):
        day = date(*(int(n) for n in match.groups()))
        return day, day
    if match := _MONTH.match(word):
        year, month = int(match.group(1)), int(match.group(2))
        first = date(year, month, 1)
        return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if _YEAR.match(word):
        return date(int(word), 1, 1), date(int(word), 12, 31)
    return None


def whole_time(now: float, tz: ZoneInfo) -> Period:
    """Everything so far."""
    period = parse_period("all", now, tz)
    assert period is not None
    return period


def _named(name: str, today: date) -> tuple[date, date]:
    if name == "today":
        return today, today
    if name == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if name == "week":
        return today - timedelta(days=today.weekday()), today
    if name == "month":
        return today.replace(day=1), today
    if name == "year":
        return today.replace(month=1, day=1), today
    return EPOCH_DAY, today  # all


def _start_of(day: date, tz: ZoneInfo) -> float:
    return datetime.combine(day, time(0), tz).timestamp()
