"""The district's time is Beijing's whatever zone the machine runs in.

A server is often set to UTC, and a laptop in California to America/Los_Angeles: the bot must
read days, months and years in the configured zone only. Each story here runs with the
process's TZ set to UTC, to America/Los_Angeles and to Pacific/Kiritimati (UTC+14, a day ahead
of Beijing), through time.tzset, so anything that read the machine's zone (a naive
datetime.now(), date.today(), time.localtime, fromtimestamp without a zone) would see another
day or year at the awkward instants: 00:10 on 1 January in Beijing is still 31 December in
UTC and Los Angeles, 23:30 on 31 December is already 1 January in Kiritimati.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import API_KEY_MIN
from tests.conftest import SHANGHAI, Town
from tests.flows import file_request
from tests.test_export_e2e import documents, file_bytes, sheet_rows
from tests.test_night_and_new_year_e2e import (
    test_an_escalation_at_23_30_tells_the_group_now_and_the_citizen_at_08_00 as escalated_at_night,
)
from tests.test_night_and_new_year_e2e import (
    test_new_years_eve_rolls_references_counters_periods_and_reports as new_years_eve,
)
from tests.test_results_web_e2e import figures
from tests.test_themes_e2e import theme_now

ROOT = Path(__file__).resolve().parent.parent
# The stories elsewhere at the awkward hours, run whole in a process started in each zone.
AWKWARD = [f"tests/test_{story}" for story in (
    "night_supervision_e2e.py::"
    "test_a_problem_chased_all_night_is_told_to_people_at_08_00_once",
    "night_supervision_e2e.py::"
    "test_a_problem_received_at_23_30_on_new_years_eve_has_three_beijing_days",
    "quiet_hours_e2e.py::"
    "test_a_task_due_at_23_50_on_new_years_eve_before_the_admins_hear_is_reminded_quietly",
    "quiet_hours_e2e.py::"
    "test_a_call_filled_on_new_years_eve_at_23_50_tells_its_admin_without_a_sound",
    "calls_e2e.py::"
    "test_a_call_written_late_in_the_evening_may_stand_until_a_time_after_midnight",
    "volunteers_e2e.py::test_hours_of_the_new_year_do_not_count_to_the_year_before",
    "activities_e2e.py::"
    "test_the_day_before_reminder_of_an_early_start_still_comes_the_day_before",
    "activities_e2e.py::"
    "test_a_bare_end_time_after_midnight_ends_a_new_years_eve_activity_the_next_day",
    "themes_e2e.py::test_the_month_turns_at_local_midnight",
    "schedule_e2e.py::test_the_daily_digest_reports_yesterdays_numbers",
    "clock.py", "periods.py")]
KEY = "z" * API_KEY_MIN + "-hotline"
V2 = "/open311/v2"
# 2027-01-01 00:10 in Beijing: the hour of that instant in each machine zone.
TURN = datetime(2027, 1, 1, 0, 10, tzinfo=SHANGHAI).timestamp()
ZONES = {"UTC": 16, "America/Los_Angeles": 8, "Pacific/Kiritimati": 6}


@contextmanager
def machine_zone(zone: str) -> Iterator[str]:
    """The process's local zone set to `zone` (before the bot starts), then reset."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    # The machine really is elsewhere: its local hour at Beijing's 00:10 is not 00.
    assert time.localtime(TURN).tm_hour == ZONES[zone]
    assert datetime.fromtimestamp(TURN).hour == ZONES[zone]
    try:
        yield zone
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture(autouse=True, params=list(ZONES))
def zone_of_the_machine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each story runs once in each machine zone."""
    with machine_zone(request.param) as zone:
        yield zone


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example themes, the public web server with Open311."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    return {"activities": {"themes_file": "themes.toml"},
            "web": {"listen": "127.0.0.1:0", "open311": {
                "enabled": True, "clients": [{"id": "hotline", "name": "12345 Hotline",
                                              "key": KEY}]}}}


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Beijing time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def test_new_years_eve_is_beijings_whatever_the_machine_zone(town: Town) -> None:
    """References, /stats' days and years, the daily and monthly reports at the turn of
    the year (the story of test_night_and_new_year_e2e, on a machine elsewhere)."""
    await new_years_eve(town)


async def test_quiet_hours_are_beijings_whatever_the_machine_zone(town: Town) -> None:
    """An escalation at 23:30 Beijing: the admins at once, the citizen at 08:00 Beijing."""
    await escalated_at_night(town)


async def test_the_turn_of_the_year_at_00_10_beijing_on_a_machine_elsewhere(
        town: Town) -> None:
    """At 23:30 on 31 December in Beijing it is December 2026 for the theme, the
    references and Open311's times; at 00:10 on 1 January (16:10 on 31 December in UTC) it
    is January 2027: the form's and the hotline's requests are 2027's, Open311 says
    2027-01-01T00:10+08:00, /stats today counts the new day only, the public page's year is
    2027 with two requests received, and /export today is 1 January's file with their
    times in Beijing's hours."""
    services = town.bot.services
    assert services is not None
    async with TestClient(TestServer(services.web.application())) as api:

        async def hotline() -> dict[str, Any]:
            posted = await api.post(f"{V2}/requests.json", data={
                "api_key": KEY, "service_code": "elderly",
                "description": "Grandpa Wu's door lock is broken.",
                "address_string": "Jianshe Road 12"})
            assert posted.status == 201, await posted.text()
            ref = (await posted.json())[0]["service_request_id"]
            shown = await api.get(f"{V2}/requests/{ref}.json")
            return dict((await shown.json())[0])

        town.clock.set(local(2026, 12, 31, 23, 30))
        december = await theme_now(town.citizen)
        assert "December 2026" in december and "Next month (January 2027)" in december
        assert await file_request(town.citizen, text="Before midnight") == "2026-000001"
        before = await hotline()
        assert before["service_request_id"] == "2026-000002"
        assert re.fullmatch(r"2026-12-31T23:3\d:\d\d\+08:00", before["requested_datetime"])

        town.clock.set(local(2027, 1, 1, 0, 10))
        january = await theme_now(town.citizen)
        assert "January 2027" in january and "Next month (February 2027)" in january
        assert await file_request(town.citizen, text="After midnight") == "2027-000001"
        after = await hotline()
        assert after["service_request_id"] == "2027-000002"
        assert re.fullmatch(r"2027-01-01T00:1\d:\d\d\+08:00", after["requested_datetime"])
        assert after["updated_datetime"].startswith("2027-01-01T00:1")
        listed = await api.get(f"{V2}/requests.json?start_date=2027-01-01T00:00:00%2B08:00")
        assert [r["service_request_id"] for r in json.loads(await listed.text())] \
            == ["2027-000002", "2027-000001"]

        for period, collected in (("today", 2), ("yesterday", 2), ("year", 2), ("2026", 2),
                                  ("month", 2), ("2026-12", 2)):
            await town.admin.send(f"/stats {period}", chat=town.admin_chat)
            shown = await town.admin_chat.wait_for(text="Statistics · the whole district")
            assert f"Collected: {collected}\n" in shown.text, (period, shown.text)

        page = await (await api.get("/results?lang=en")).text()
        assert '<option value="2027" selected>2027</option>' in page
        assert figures(page)["year.received"] == "2"

        await town.admin.send("/export today")
        await town.admin.wait_for(text="Requests to export: 2")
        xlsx, table = await documents(town.admin.private)
        assert xlsx.raw["document"]["file_name"] == "requests-2027-01-01.xlsx"
        assert table.raw["document"]["file_name"] == "requests-2027-01-01.csv"
        header, *rows = sheet_rows(file_bytes(town, xlsx))
        created = header.index("Created")
        assert [(row[0], f"{row[created]:%Y-%m-%d %H}") for row in rows] == [
            ("2027-000001", "2027-01-01 00"), ("2027-000002", "2027-01-01 00")]



def test_the_awkward_hours_stories_pass_in_a_process_started_in_the_machine_zone(
        zone_of_the_machine: str) -> None:
    """The night, New Year's Eve, month's-end and digest stories of the other files, each
    whole, in a new process whose TZ is the machine zone (it inherits the environment): the
    bot started there reads the district's days as in Beijing."""
    hour = ZONES[zone_of_the_machine]
    check = (f"import sys, time, pytest; assert time.localtime({TURN}).tm_hour == {hour}; "
             f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', *sys.argv[1:]]))")
    ran = subprocess.run([sys.executable, "-c", check, *AWKWARD], cwd=ROOT, env=os.environ,
                         capture_output=True, text=True, timeout=600, check=False)
    summary = ran.stdout.strip().splitlines()[-1] if ran.stdout.strip() else ran.stderr
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary, summary
