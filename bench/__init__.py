"""Benchmarks: each prints its figures and ends with one summary line.

The bot under measurement runs on `bench_clock()`, not the machine's clock, so a benchmark tells
the same story at 23:30 or on 31 December as at noon."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.context import ShiftedClock

# A Wednesday morning in the model district: far from quiet hours, midnight and a month's end.
BENCH_START = datetime(2026, 6, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def bench_clock() -> ShiftedClock:
    """The clock a benchmark's bot runs on: BENCH_START, running on at real speed."""
    return ShiftedClock(BENCH_START.timestamp())
