"""The clock's rules, one at a time: quiet hours, due times, period boundaries, reports.

Quiet hours, periods and the reports' schedule are pure functions of a moment and a time
zone: they are checked directly, at the edges (the second before, the second of, midnight,
New Year, a leap day, the nights the clocks change) and, with hypothesis, for any moment.
Due times are written inline by the request loop and the schedule, so they are checked
through the smallest unit that writes them, on a real database in tmp_path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.config import parse_config
from bot.context import Clock, Env, Who
from bot.i18n import Catalogs
from bot.night import quiet_until
from bot.reports.periods import parse_period
from bot.requests.loop import RequestLoop
from bot.schedule.sweep import MAX_CATCH_UP_DAYS, Schedule, reports_due
from bot.unit import Units
from storage import Database
from tests.conftest import CATEGORIES, TOKEN

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # its clocks move by half an hour
ZONES = [SHANGHAI, BERLIN, NEW_YORK, LORD_HOWE, ZoneInfo("UTC")]
TEN_PM, EIGHT_AM = time(22, 0), time(8, 0)  # the default quiet hours, 22:00-08:00
NINE_AM = time(9, 0)  # the default daily digest
SECOND, MINUTE, HOUR, DAY = 1.0, 60.0, 3600.0, 86400.0


def moment(tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0,
           second: int = 0, *, fold: int = 0) -> float:
    """The timestamp of a local wall-clock time: moment(BERLIN, 2026, 3, 29, 1, 30)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=tz, fold=fold).timestamp()


def local(at: float, tz: ZoneInfo) -> datetime:
    """What a wall clock in `tz` shows at a timestamp."""
    return datetime.fromtimestamp(at, tz)


# -- quiet hours --------------------------------------------------------------------------


@pytest.mark.parametrize(("wall", "quiet_for"), [
    pytest.param((10, 23, 30), 8.5 * HOUR, id="23:30 is quiet until 08:00 tomorrow"),
    pytest.param((11, 1, 0), 7 * HOUR, id="01:00 is quiet until 08:00 this morning"),
    pytest.param((11, 7, 59, 59), 1 * SECOND, id="07:59:59 is quiet one more second"),
    pytest.param((11, 8, 0), None, id="08:00 sharp is no longer quiet"),
    pytest.param((10, 22, 0), 10 * HOUR, id="22:00 sharp is already quiet"),
    pytest.param((10, 21, 59, 59), None, id="21:59:59 is not quiet yet"),
    pytest.param((11, 0, 0), 8 * HOUR, id="midnight is quiet until 08:00 the same day"),
    pytest.param((10, 12, 0), None, id="noon is not quiet"),
])
def test_the_night_from_ten_to_eight_is_quiet_to_the_second(
    wall: tuple[int, ...], quiet_for: float | None
) -> None:
    """Quiet hours 22:00-08:00 span midnight: a moment in them is held until 08:00 (the
    next one on the clock), the start is inside, the end is not."""
    day, *clock = wall
    at = moment(SHANGHAI, 2026, 6, day, *clock)
    until = quiet_until(at, TEN_PM, EIGHT_AM, SHANGHAI)
    if quiet_for is None:
        assert until is None
    else:
        assert until is not None and until - at == quiet_for
        assert local(until, SHANGHAI).time() == EIGHT_AM


def test_a_reminder_at_one_in_the_morning_waits_until_eight_the_same_morning() -> None:
    """Past midnight the quiet hours end the SAME morning, 7 hours on: not the morning
    after (a reminder due at 01:00 on Thursday goes out at 08:00 on Thursday)."""
    at = moment(SHANGHAI, 2026, 6, 11, 1, 0)
    until = quiet_until(at, TEN_PM, EIGHT_AM, SHANGHAI)
    assert until == moment(SHANGHAI, 2026, 6, 11, 8, 0)
    assert until - at == 7 * HOUR


@pytest.mark.parametrize(("wall", "until_hour"), [
    pytest.param((0, 59, 59), None, id="00:59:59 is before them"),
    pytest.param((1, 0, 0), 6, id="01:00 sharp starts them"),
    pytest.param((3, 30, 0), 6, id="03:30 is in them"),
    pytest.param((5, 59, 59), 6, id="05:59:59 is the last second"),
    pytest.param((6, 0, 0), None, id="06:00 sharp ends them"),
    pytest.param((23, 0, 0), None, id="23:00 is not in them"),
])
def test_quiet_hours_within_one_day_end_the_same_day(
    wall: tuple[int, int, int], until_hour: int | None
) -> None:
    """Quiet hours 01:00-06:00 do not cross midnight: only 01:00 up to 06:00 is quiet, and
    it ends at 06:00 that same day."""
    at = moment(SHANGHAI, 2026, 6, 11, *wall)
    until = quiet_until(at, time(1, 0), time(6, 0), SHANGHAI)
    if until_hour is None:
        assert until is None
    else:
        assert until == moment(SHANGHAI, 2026, 6, 11, until_hour, 0)


@given(at=st.integers(946_684_800, 4_102_444_800), hour=st.integers(0, 23),
       minute=st.integers(0, 59), tz=st.sampled_from(ZONES))
def test_the_same_start_and_end_means_no_quiet_hours(
    at: int, hour: int, minute: int, tz: ZoneInfo
) -> None:
    """quiet_hours = "08:00-08:00" turns quiet hours off: no moment is ever held."""
    same = time(hour, minute)
    assert quiet_until(at, same, same, tz) is None
    assert quiet_until(moment(tz, 2026, 6, 10, hour, minute), same, same, tz) is None


@given(day=st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_in_shanghai_every_night_is_ten_hours_long(day: date) -> None:
    """China keeps no summer time: from 22:00 on any day the quiet hours last 10 hours."""
    at = moment(SHANGHAI, day.year, day.month, day.day, 22, 0)
    assert quiet_until(at, TEN_PM, EIGHT_AM, SHANGHAI) == at + 10 * HOUR


@pytest.mark.parametrize(("tz", "evening", "hours"), [
    pytest.param(BERLIN, date(2026, 3, 28), 9, id="Berlin, clocks go forward"),
    pytest.param(BERLIN, date(2026, 10, 24), 11, id="Berlin, clocks go back"),
    pytest.param(NEW_YORK, date(2026, 3, 7), 9, id="New York, clocks go forward"),
    pytest.param(NEW_YORK, date(2026, 10, 31), 11, id="New York, clocks go back"),
    pytest.param(BERLIN, date(2026, 6, 13), 10, id="Berlin, an ordinary night"),
])
def test_on_the_nights_the_clocks_change_quiet_hours_end_at_eight_on_the_clock(
    tz: ZoneInfo, evening: date, hours: int
) -> None:
    """Quiet hours end at 08:00 as the wall clock shows it, so the night the clocks go
    forward lasts 9 real hours and the night they go back 11; from 01:00 (before the
    change) they end the same morning, an hour sooner or later than usual."""
    start = moment(tz, evening.year, evening.month, evening.day, 22, 0)
    until = quiet_until(start, TEN_PM, EIGHT_AM, tz)
    morning = evening + timedelta(days=1)
    assert until == moment(tz, morning.year, morning.month, morning.day, 8, 0)
    assert until - start == hours * HOUR
    one_am = moment(tz, morning.year, morning.month, morning.day, 1, 0)
    assert quiet_until(one_am, TEN_PM, EIGHT_AM, tz) == until
    assert until - one_am == (hours - 3) * HOUR


@pytest.mark.parametrize(("tz", "saturday", "hours"), [
    pytest.param(BERLIN, date(2026, 3, 28), 22, id="into a 23-hour day"),
    pytest.param(BERLIN, date(2026, 10, 24), 24, id="into a 25-hour day"),
    pytest.param(NEW_YORK, date(2026, 3, 7), 22, id="New York, into a 23-hour day"),
    pytest.param(NEW_YORK, date(2026, 10, 31), 24, id="New York, into a 25-hour day"),
])
def test_long_quiet_hours_into_a_day_of_23_or_25_hours_end_on_the_clock(
    tz: ZoneInfo, saturday: date, hours: int
) -> None:
    """Quiet hours 10:00-09:00 (23 hours on the clock) begun on the Saturday end at 09:00 on
    the Sunday the clocks change: 22 or 24 real hours later."""
    at = moment(tz, saturday.year, saturday.month, saturday.day, 10, 0)
    until = quiet_until(at, time(10, 0), time(9, 0), tz)
    assert until is not None and until - at == hours * HOUR
    assert local(until, tz).time() == time(9, 0)
    assert local(until, tz).date() == saturday + timedelta(days=1)


def test_when_the_clocks_go_back_a_quiet_end_in_the_repeated_hour_is_never_in_the_past() -> None:
    """Berlin, 25 October 2026: 02:00-03:00 comes twice. With quiet hours 22:00-02:30, at
    02:15 on the first pass they end at 02:30 that pass; at 02:15 on the second pass (the
    clock is back before 02:30) they end at 02:30 of the second pass: 15 minutes on both
    times, not 45 minutes in the past (which would defer a reminder again and again)."""
    end = time(2, 30)
    first = moment(BERLIN, 2026, 10, 25, 2, 15, fold=0)
    second = moment(BERLIN, 2026, 10, 25, 2, 15, fold=1)
    assert second - first == HOUR
    assert quiet_until(first, TEN_PM, end, BERLIN) == first + 15 * MINUTE
    assert quiet_until(second, TEN_PM, end, BERLIN) == second + 15 * MINUTE
    # Between the two passes the clock shows 02:30-02:59: not quiet.
    assert quiet_until(first + 30 * MINUTE, TEN_PM, end, BERLIN) is None


def test_from_the_evening_before_a_quiet_end_in_the_repeated_hour_is_its_first_pass() -> None:
    """Berlin, the evening of 24 October 2026: quiet hours 22:00-02:30 began at 22:00 and end
    tomorrow in the hour the clocks repeat. They end at its first pass (00:30 UTC), the
    first time the clock shows 02:30, not an hour later at the second."""
    at = moment(BERLIN, 2026, 10, 24, 23, 30)
    until = quiet_until(at, TEN_PM, time(2, 30), BERLIN)
    assert until == moment(BERLIN, 2026, 10, 25, 2, 30, fold=0)
    assert until == datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo("UTC")).timestamp()


def test_a_quiet_end_the_clock_skips_is_kept_after_the_jump() -> None:
    """Berlin, 29 March 2026: the clock jumps from 02:00 to 03:00, so 02:30 never shows.
    Quiet hours 22:00-02:30 seen at 01:45 end after the jump (at 03:30, the skipped time
    read at the winter offset), never before it."""
    at = moment(BERLIN, 2026, 3, 29, 1, 45)
    until = quiet_until(at, TEN_PM, time(2, 30), BERLIN)
    assert until is not None
    assert until >= moment(BERLIN, 2026, 3, 29, 3, 0)
    assert local(until, BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)


def _in_window(wall: time, start: time, end: time) -> bool:
    """The rule said another way: a wall time is quiet if, counting from `start`, it comes
    before `end` does (start == end: a window of no length)."""

    def seconds(t: time) -> int:
        return t.hour * 3600 + t.minute * 60 + t.second

    length = (seconds(end) - seconds(start)) % 86400
    return (seconds(wall) - seconds(start)) % 86400 < length


clock_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@st.composite
def moments(draw: st.DrawFn, tz: ZoneInfo) -> float:
    """Any moment from 2000-01-10 to 2100 (so even "week" starts after 2000-01-01, the first
    day periods may name, in every zone): a raw
    timestamp, or a wall-clock time (either pass of a repeated hour), so on-the-minute edges
    come up often."""
    if draw(st.booleans()):
        return float(draw(st.integers(947_462_400, 4_102_444_800)))
    day = draw(st.dates(date(2000, 1, 10), date(2099, 12, 31)))
    wall = draw(st.times())
    return datetime.combine(day, wall, tz).replace(fold=draw(st.integers(0, 1))).timestamp()


@st.composite
def quiet_cases(draw: st.DrawFn) -> tuple[float, time, time, ZoneInfo]:
    tz = draw(st.sampled_from(ZONES))
    return draw(moments(tz)), draw(clock_times), draw(clock_times), tz


@settings(max_examples=400)
@given(case=quiet_cases())
@example(case=(moment(SHANGHAI, 2026, 6, 11, 1, 0), TEN_PM, EIGHT_AM, SHANGHAI))
@example(case=(moment(BERLIN, 2026, 10, 25, 2, 15, fold=1), TEN_PM, time(2, 30), BERLIN))
@example(case=(moment(BERLIN, 2026, 3, 29, 1, 45), TEN_PM, time(2, 30), BERLIN))
@example(case=(moment(BERLIN, 2026, 10, 24, 8, 0), time(8, 0), time(7, 59), BERLIN))
def test_quiet_hours_end_at_the_next_end_on_the_clock_and_never_in_the_past(
    case: tuple[float, time, time, ZoneInfo],
) -> None:
    """For any moment, quiet hours and zone: a moment is held exactly when its wall time is
    in the window; then it is held until a moment strictly later, at most a day (plus an
    hour the clocks may go back) on, when quiet hours are over; the wall clock then shows
    the end (unless the clocks skipped it), and a second earlier it was still quiet."""
    at, start, end, tz = case
    until = quiet_until(at, start, end, tz)
    assert (until is not None) == _in_window(local(at, tz).time(), start, end)
    if until is None:
        return
    assert at < until <= at + DAY + HOUR
    assert quiet_until(until, start, end, tz) is None
    shown = local(until, tz)
    skipped = datetime.combine(shown.date(), end, tz)
    if local(skipped.timestamp(), tz).time() == end:  # the end exists on the clock that day
        assert shown.time() == end
        assert quiet_until(until - 1, start, end, tz) == until


# -- due times ----------------------------------------------------------------------------

START = moment(SHANGHAI, 2026, 6, 10, 10, 0)  # a Wednesday morning, far from quiet hours
AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
CITIZEN, VOLUNTEER, ADMIN = 500, 600, 1
GROUP, ADMIN_CHAT, STATION_CHAT, INSTITUTE_CHAT = -100, -200, -301, -302
STATION, INSTITUTE = "guangminglu-01", "guangminglu"
LI = Who(VOLUNTEER, "Li")


class HandClock(Clock):
    """A clock that stands still until the test moves it."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


@dataclass
class Town:
    """The request loop and schedule on a real database, by a clock the test holds."""

    env: Env
    loop: RequestLoop
    schedule: Schedule
    clock: HandClock

    async def claim(self, request_id: int) -> str:
        """Li presses Claim on the request's card in the group; the popup's text."""
        async with Units(self.env).for_update(LI) as unit:
            return (await self.loop.claim(unit, request_id, GROUP)).text

    async def more_time(self, request_id: int) -> str:
        """Li presses Need more time; the popup's text."""
        async with Units(self.env).for_update(LI) as unit:
            return (await self.loop.more_time(unit, request_id)).text

    async def file(self, area: str | None = None) -> int:
        """Alice's request for the elderly is stored and dispatched now; its id."""
        async with self.env.db.transaction() as repo:
            await repo.people.see_user(
                CITIZEN, "Alice", None, "en", self.clock.now(), private=True)
            draft = {"category": "elderly", "description": "the tap leaks", "area": area}
            request, receipt_and_cards = await self.loop.submit(repo, CITIZEN, "en", draft)
            await repo.outbox.enqueue(receipt_and_cards, self.clock.now())
        return request.id

    async def claimed(self) -> int:
        """A request filed now and claimed by Li ten minutes later."""
        request_id = await self.file()
        self.clock.at += 10 * MINUTE
        assert "It is yours" in await self.claim(request_id)
        return request_id

    async def done(self) -> int:
        """A request Li has claimed and, an hour later, marked done without a note."""
        request_id = await self.claimed()
        self.clock.at += HOUR
        async with self.env.db.transaction() as repo:
            done, told = await self.loop.finish_done(repo, LI, "en", request_id, None, None)
            assert done
            await repo.outbox.enqueue(told, self.clock.now())
        return request_id

    async def timers(
        self, *, request_id: int | None = None, user_id: int | None = None
    ) -> list[tuple[str, float]]:
        """The pending timers, as (kind, seconds from now)."""
        async with self.env.db.reading() as repo:
            pending = await repo.timers.pending_timers(request_id=request_id, user_id=user_id)
        return [(t.kind, t.due_at - self.clock.now()) for t in pending]

    async def events(self, request_id: int, kind: str) -> list[tuple[float, dict[str, object]]]:
        """When each event of a kind happened (seconds after START), with its data."""
        async with self.env.db.reading() as repo:
            events = await repo.requests.events(request_id)
        return [(e.at - START, dict(e.detail or {})) for e in events if e.kind == kind]


@pytest.fixture
async def town(tmp_path: Path) -> AsyncIterator[Town]:
    """The default schedule policy (30 min, 2 h, 24 h, 24 h, 72 h; drafts 1 h / 24 h;
    quiet hours 22:00-08:00) in Shanghai, on the area tree."""
    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [ADMIN],
                "admin_chat_id": ADMIN_CHAT},
        "categories": [dict(CATEGORIES[0], group_id=GROUP), *CATEGORIES[1:]],
        "areas": {"file": str(AREA_FILE)},
    }, env={}, base_dir=tmp_path)
    db = await Database.open(tmp_path / "civicloop.db")
    clock = HandClock(START)
    env = Env(db=db, config=config, t=Catalogs.load("en"), clock=clock)
    loop = RequestLoop(env)
    try:
        yield Town(env, loop, Schedule(env, loop, Units(env)), clock)
    finally:
        await db.close()


async def test_a_dispatched_request_is_reminded_at_30_minutes_and_escalated_at_2_hours(
    town: Town,
) -> None:
    """Filing starts the unclaimed clock: the group's reminder 30 minutes on, escalation
    2 hours on, both counted from the dispatch."""
    request_id = await town.file()
    assert await town.timers(request_id=request_id) == [
        ("claim_reminder", 30 * MINUTE), ("escalate", 2 * HOUR)]


async def test_a_claim_stops_the_unclaimed_clock_and_makes_the_task_due_in_24_hours(
    town: Town,
) -> None:
    """Li claims ten minutes after filing: the reminder and escalation are called off and
    the task is due 24 hours after the claim (not after the filing)."""
    request_id = await town.claimed()
    assert await town.timers(request_id=request_id) == [("volunteer_due", 24 * HOUR)]


async def test_done_asks_again_in_24_hours_and_closes_unanswered_in_72(town: Town) -> None:
    """Marking done stops the volunteer's clock; the citizen is reminded to answer 24 hours
    later and the request closes without confirmation 72 hours later."""
    request_id = await town.done()
    assert await town.timers(request_id=request_id) == [
        ("rating_reminder", 24 * HOUR), ("auto_close", 72 * HOUR)]


async def test_more_time_asked_early_adds_a_day_to_when_the_task_was_due(town: Town) -> None:
    """Asked for 5 hours after the claim, more time moves the due time from claim + 24 h
    to claim + 48 h: the same period again, from when it was due."""
    request_id = await town.claimed()
    claimed_at = town.clock.now()
    town.clock.at += 5 * HOUR
    assert await town.more_time(request_id) == "More time granted"
    assert await town.timers(request_id=request_id) == [
        ("volunteer_due", claimed_at + 48 * HOUR - town.clock.now())]


async def test_more_time_asked_after_the_reminder_runs_a_day_from_the_asking(
    town: Town,
) -> None:
    """Asked for 30 hours after the claim (the reminder came at 24 h), more time runs a
    full day from the asking, so the volunteer is never due at once again."""
    request_id = await town.claimed()
    town.clock.at += 30 * HOUR
    assert await town.more_time(request_id) == "More time granted"
    assert await town.timers(request_id=request_id) == [("volunteer_due", 24 * HOUR)]


async def test_a_touched_draft_is_nudged_in_an_hour_and_expires_in_a_day(town: Town) -> None:
    """Each answer to the form restarts the draft's clock: a nudge an hour on, expiry a day
    on; the clock before it is called off."""
    async with town.env.db.transaction() as repo:
        await town.loop.restart_draft_clock(repo, CITIZEN)
    town.clock.at += 20 * MINUTE
    async with town.env.db.transaction() as repo:
        await town.loop.restart_draft_clock(repo, CITIZEN)
    assert await town.timers(user_id=CITIZEN) == [
        ("draft_nudge", HOUR), ("draft_expire", DAY)]


async def test_after_an_outage_the_overdue_alert_is_due_a_day_after_the_reminder_was(
    town: Town,
) -> None:
    """The machine was off when Li's task fell due; the sweep 5 hours late reminds him, and
    the admins' alert is due 24 hours after the reminder was DUE, not after it was sent."""
    request_id = await town.claimed()
    due = town.clock.now() + 24 * HOUR
    town.clock.at = due + 5 * HOUR
    assert await town.schedule.sweep() == 1
    assert await town.timers(request_id=request_id) == [("volunteer_overdue", 19 * HOUR)]
    assert [at for at, _ in await town.events(request_id, "volunteer_reminded")] == [
        due - START]


async def test_after_a_long_stop_escalation_climbs_every_missed_level_at_its_own_time(
    town: Town,
) -> None:
    """A request at a station waits unclaimed while the bot is off for 10 hours: the first
    sweep reminds the station and climbs station → institute → district → admin chat, each
    step stamped 2 hours after the one before (when it was due), then stops climbing."""
    async with town.env.db.transaction() as repo:
        await repo.areas.bind("elderly", STATION, STATION_CHAT, "Station", ADMIN, START)
        await repo.areas.bind("elderly", INSTITUTE, INSTITUTE_CHAT, "Institute", ADMIN, START)
    request_id = await town.file(area=STATION)
    town.clock.at = START + 10 * HOUR
    assert await town.schedule.sweep() == 4
    assert await town.events(request_id, "claim_reminded") == [(30 * MINUTE, {})]
    escalated = await town.events(request_id, "escalated")
    assert [(at, data["level"], data["chat_id"]) for at, data in escalated] == [
        (2 * HOUR, INSTITUTE, INSTITUTE_CHAT),
        (4 * HOUR, "", GROUP),
        (6 * HOUR, "!admin", ADMIN_CHAT),
    ]
    assert await town.timers(request_id=request_id) == []


async def test_a_citizen_reminder_due_in_quiet_hours_is_moved_to_eight(town: Town) -> None:
    """Done at 23:00, the rating reminder falls due at 23:00 the next night: the sweep then
    moves it (it does not fire) to 08:00, where it fires; the auto-close keeps its time."""
    town.clock.at = moment(SHANGHAI, 2026, 6, 9, 21, 50)
    request_id = await town.done()  # claimed 22:00, done 23:00 on 9 June
    town.clock.at = moment(SHANGHAI, 2026, 6, 10, 23, 5)
    assert await town.schedule.sweep() == 0
    eight = moment(SHANGHAI, 2026, 6, 11, 8, 0)
    auto_close = moment(SHANGHAI, 2026, 6, 12, 23, 0)
    assert await town.timers(request_id=request_id) == [
        ("rating_reminder", eight - town.clock.now()),
        ("auto_close", auto_close - town.clock.now())]
    town.clock.at = eight - SECOND
    assert await town.schedule.sweep() == 0
    town.clock.at = eight
    assert await town.schedule.sweep() == 1
    assert await town.timers(request_id=request_id) == [
        ("auto_close", auto_close - town.clock.now())]


async def test_a_reminder_to_a_volunteer_group_is_not_held_for_quiet_hours(
    town: Town,
) -> None:
    """Quiet hours spare citizens only: a request filed at 23:00 reminds its group at
    23:30 and escalates at 01:00, on time."""
    town.clock.at = moment(SHANGHAI, 2026, 6, 10, 23, 0)
    request_id = await town.file()
    town.clock.at += 30 * MINUTE
    assert await town.schedule.sweep() == 1
    town.clock.at += 90 * MINUTE
    assert await town.schedule.sweep() == 1
    assert [at for at, _ in await town.events(request_id, "escalated")] == [15 * HOUR]


# -- period boundaries --------------------------------------------------------------------


@pytest.mark.parametrize("wall", [(0, 0, 0), (23, 59, 59)], ids=["00:00:00", "23:59:59"])
@pytest.mark.parametrize(("word", "first", "last"), [
    ("today", date(2026, 11, 29), date(2026, 11, 29)),
    ("week", date(2026, 11, 23), date(2026, 11, 29)),
    ("month", date(2026, 11, 1), date(2026, 11, 29)),
    ("year", date(2026, 1, 1), date(2026, 11, 29)),
])
def test_the_first_and_last_second_of_a_day_see_the_same_periods(
    word: str, first: date, last: date, wall: tuple[int, int, int]
) -> None:
    """At 00:00:00 and at 23:59:59 on Sunday 29 November a period word names the same days,
    from local midnight to the next local midnight."""
    period = parse_period(word, moment(SHANGHAI, 2026, 11, 29, *wall), SHANGHAI)
    assert period is not None
    assert (period.first, period.last) == (first, last)
    assert period.start == moment(SHANGHAI, first.year, first.month, first.day)
    assert period.end == moment(SHANGHAI, 2026, 11, 30)


def test_a_moment_exactly_at_the_end_of_today_belongs_to_tomorrow() -> None:
    """A period is [start, end): the moment today ends is tomorrow's first, and tomorrow's
    "today" starts where today's ended."""
    today = parse_period("today", moment(SHANGHAI, 2026, 11, 29, 12), SHANGHAI)
    assert today is not None
    tomorrow = parse_period("today", today.end, SHANGHAI)
    assert tomorrow is not None
    assert tomorrow.first == date(2026, 11, 30) and tomorrow.start == today.end
    last_second = parse_period("today", today.end - 1, SHANGHAI)
    assert last_second is not None and last_second.first == date(2026, 11, 29)


def test_new_years_eve_and_new_years_day_split_the_years() -> None:
    """At 23:59:59 on 31 December "year" is the whole of 2026; one second later it is
    1 January 2027 alone, and "yesterday" is New Year's Eve."""
    eve = moment(SHANGHAI, 2026, 12, 31, 23, 59, 59)
    year = parse_period("year", eve, SHANGHAI)
    assert year is not None and (year.first, year.last) == (date(2026, 1, 1), date(2026, 12, 31))
    assert year.end == eve + 1 == moment(SHANGHAI, 2027, 1, 1)
    new_year = parse_period("year", eve + 1, SHANGHAI)
    assert new_year is not None
    assert (new_year.first, new_year.last) == (date(2027, 1, 1), date(2027, 1, 1))
    assert new_year.start == year.end
    yesterday = parse_period("yesterday", eve + 1, SHANGHAI)
    month = parse_period("month", eve + 1, SHANGHAI)
    assert yesterday is not None and yesterday.first == yesterday.last == date(2026, 12, 31)
    assert month is not None and (month.first, month.last) == (date(2027, 1, 1),) * 2


def test_a_week_crossing_new_year_starts_on_the_monday_of_the_old_year() -> None:
    """1 January 2027 is a Friday: "week" then runs from Monday 28 December 2026."""
    period = parse_period("week", moment(SHANGHAI, 2027, 1, 1, 10), SHANGHAI)
    assert period is not None
    assert (period.first, period.last) == (date(2026, 12, 28), date(2027, 1, 1))
    assert period.label == "2026-12-28..2027-01-01"
    assert period.end - period.start == 5 * DAY


def test_the_leap_day_2028_is_a_whole_day_of_february() -> None:
    """2028 is a leap year: February ends on the 29th, which is a day of its own, and on
    1 March "yesterday" is 29 February; 29 February 2027 does not exist."""
    february = parse_period("2028-02", START, SHANGHAI)
    leap_day = parse_period("2028-02-29", START, SHANGHAI)
    assert february is not None and february.last == date(2028, 2, 29)
    assert february.end == moment(SHANGHAI, 2028, 3, 1)
    assert leap_day is not None and leap_day.end - leap_day.start == DAY
    assert leap_day.end == february.end
    yesterday = parse_period("yesterday", moment(SHANGHAI, 2028, 3, 1, 0, 0), SHANGHAI)
    month = parse_period("month", moment(SHANGHAI, 2028, 2, 29, 23, 59, 59), SHANGHAI)
    assert yesterday is not None and yesterday.first == date(2028, 2, 29)
    assert month is not None and (month.first, month.last) == (date(2028, 2, 1),
                                                               date(2028, 2, 29))
    assert parse_period("2027-02-29", START, SHANGHAI) is None


@pytest.mark.parametrize(("day", "hours"), [
    (date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 14), 24)])
def test_in_a_summer_time_zone_a_day_lasts_from_midnight_to_midnight(
    day: date, hours: int
) -> None:
    """In Berlin the Sundays the clocks change are days of 23 and 25 hours: a period is
    counted on the wall clock, midnight to midnight, not as 24-hour blocks."""
    period = parse_period(day.isoformat(), START, BERLIN)
    assert period is not None
    assert period.start == moment(BERLIN, day.year, day.month, day.day)
    assert period.end - period.start == hours * HOUR


NAMED = ["today", "yesterday", "week", "month", "year", "all"]


@settings(max_examples=300)
@given(tz=st.sampled_from(ZONES), data=st.data(), word=st.sampled_from(NAMED))
def test_a_named_period_runs_from_local_midnight_to_local_midnight_around_now(
    tz: ZoneInfo, data: st.DataObject, word: str
) -> None:
    """For any moment and zone: a named period starts before it ends, its start is local
    midnight of its first day and its end local midnight after its last; every period but
    "yesterday" holds the moment it was asked at, and "yesterday" ends where "today"
    starts."""
    now = data.draw(moments(tz))
    period = parse_period(word, now, tz)
    assert period is not None
    assert period.start < period.end
    start, end = local(period.start, tz), local(period.end, tz)
    assert (start.date(), start.time()) == (period.first, time(0))
    assert (end.date(), end.time()) == (period.last + timedelta(days=1), time(0))
    today = parse_period("today", now, tz)
    assert today is not None and today.first == local(now, tz).date()
    if word == "yesterday":
        assert period.end == today.start
    else:
        assert period.start <= now < period.end
        assert period.last == today.first
    if word == "week":
        assert period.first.weekday() == 0 and period.last - period.first < timedelta(days=7)


@settings(max_examples=200)
@given(tz=st.sampled_from(ZONES), first=st.dates(date(2000, 1, 1), date(2099, 12, 1)),
       length=st.integers(1, 40))
def test_consecutive_days_tile_time_without_gaps_or_overlaps(
    tz: ZoneInfo, first: date, length: int
) -> None:
    """Day after day, each day starts exactly where the one before ended, and a range of
    days spans exactly the days in it."""
    days = [first + timedelta(days=n) for n in range(length)]
    periods = [parse_period(day.isoformat(), START, tz) for day in days]
    assert all(p is not None for p in periods)
    for before, after in pairwise(periods):
        assert before is not None and after is not None
        assert before.end == after.start
    whole = parse_period(f"{days[0].isoformat()}..{days[-1].isoformat()}", START, tz)
    assert whole is not None and periods[0] is not None and periods[-1] is not None
    assert (whole.start, whole.end) == (periods[0].start, periods[-1].end)
    assert whole.days() == days


# -- the reports' schedule ----------------------------------------------------------------


def _dailies(due: list[tuple[str, str, float, float]]) -> list[str]:
    return [period for kind, period, _, _ in due if kind == "daily"]


def _monthlies(due: list[tuple[str, str, float, float]]) -> list[tuple[str, float, float]]:
    return [(period, start, end) for kind, period, start, end in due if kind == "monthly"]


def test_yesterdays_digest_is_due_from_nine_oclock() -> None:
    """At 08:59:59 on 10 June the newest digest due is 8 June's; at 09:00 sharp 9 June's
    joins, and the oldest (2 June) drops out: the last MAX_CATCH_UP_DAYS days, oldest
    first."""
    before = reports_due(moment(SHANGHAI, 2026, 6, 10, 8, 59, 59), SHANGHAI, NINE_AM)
    at_nine = reports_due(moment(SHANGHAI, 2026, 6, 10, 9, 0), SHANGHAI, NINE_AM)
    assert MAX_CATCH_UP_DAYS == 7
    assert _dailies(before) == [f"2026-06-0{d}" for d in range(2, 9)]
    assert _dailies(at_nine) == [f"2026-06-0{d}" for d in range(3, 10)]
    assert [(s, e) for kind, _, s, e in at_nine if kind == "daily"][-1] == (
        moment(SHANGHAI, 2026, 6, 9), moment(SHANGHAI, 2026, 6, 10))


def test_last_months_summary_is_due_with_the_first_digest_of_the_month() -> None:
    """On 1 July before 09:00 no summary is due (May's was June's business); from 09:00
    June's is, covering June 1-30, and it stays due on the days after (even before their
    own digest time)."""
    june = ("2026-06", moment(SHANGHAI, 2026, 6, 1), moment(SHANGHAI, 2026, 7, 1))
    assert _monthlies(reports_due(moment(SHANGHAI, 2026, 7, 1, 8, 59, 59), SHANGHAI,
                                  NINE_AM)) == []
    assert _monthlies(reports_due(moment(SHANGHAI, 2026, 7, 1, 9, 0), SHANGHAI,
                                  NINE_AM)) == [june]
    assert _monthlies(reports_due(moment(SHANGHAI, 2026, 7, 2, 0, 30), SHANGHAI,
                                  NINE_AM)) == [june]


def test_on_new_years_day_the_digest_and_summary_are_of_the_old_year() -> None:
    """At 09:00 on 1 January 2027 the digest due is of 31 December and the summary of
    December 2026."""
    due = reports_due(moment(SHANGHAI, 2027, 1, 1, 9, 0), SHANGHAI, NINE_AM)
    assert _dailies(due)[-1] == "2026-12-31"
    assert _monthlies(due) == [("2026-12", moment(SHANGHAI, 2026, 12, 1),
                                moment(SHANGHAI, 2027, 1, 1))]


def test_the_digest_of_the_day_the_clocks_go_forward_covers_23_hours() -> None:
    """In Berlin, 29 March 2026 is 23 hours long and its digest counts exactly those."""
    due = reports_due(moment(BERLIN, 2026, 3, 30, 9, 0), BERLIN, NINE_AM)
    kind, period, start, end = due[MAX_CATCH_UP_DAYS - 1]
    assert (kind, period, end - start) == ("daily", "2026-03-29", 23 * HOUR)


@settings(max_examples=300)
@given(tz=st.sampled_from(ZONES), data=st.data(), digest_at=clock_times)
def test_the_reports_due_are_a_week_of_finished_days_and_the_month_once_begun(
    tz: ZoneInfo, data: st.DataObject, digest_at: time
) -> None:
    """For any moment, zone and digest time: MAX_CATCH_UP_DAYS daily digests of whole local
    days, consecutive and oldest first; the newest is one whose digest time (the next day)
    has come, the day after it one whose digest time has not; the previous month's summary
    is listed exactly once this month's first digest time has come."""
    at = data.draw(moments(tz))
    due = reports_due(at, tz, digest_at)
    now = local(at, tz)
    dailies = [p for p in due if p[0] == "daily"]
    assert len(dailies) == MAX_CATCH_UP_DAYS
    days = [date.fromisoformat(p[1]) for p in dailies]
    assert days == [days[0] + timedelta(days=n) for n in range(MAX_CATCH_UP_DAYS)]
    for (_, _, _, end), (_, _, start, _) in pairwise(dailies):
        assert end == start
    for (_, _, start, end), day in zip(dailies, days, strict=True):
        assert local(start, tz).date() == day and local(start, tz).time() == time(0)
        assert end <= at
    wall = now.replace(tzinfo=None, fold=0)
    assert datetime.combine(days[-1] + timedelta(days=1), digest_at) <= wall
    assert datetime.combine(days[-1] + timedelta(days=2), digest_at) > wall
    monthly = _monthlies(due)
    first_digest = datetime.combine(now.date().replace(day=1), digest_at)
    assert bool(monthly) == (wall >= first_digest)
    if monthly:
        previous = (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)
        assert monthly == [(previous.strftime("%Y-%m"),
                            datetime.combine(previous, time(0), tz).timestamp(),
                            datetime.combine(now.date().replace(day=1), time(0),
                                             tz).timestamp())]

