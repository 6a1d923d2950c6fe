"""Hours of an activity on New Year's Eve are that year's whatever zone the machine runs in
(see tests/test_machine_zone_e2e.py: each story runs with the process's TZ set to UTC, to
America/Los_Angeles and to Pacific/Kiritimati).

The town is the activities story's (tests/test_activities_e2e.py), with 2 h a year making a
registered formal volunteer.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import open_bot
from tests.test_activities_e2e import TEAMS
from tests.test_honours_e2e import GOLDEN, answer_of, register
from tests.test_machine_zone_e2e import ZONES, local, machine_zone
from tests.test_quiet_hours_e2e import at

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, params=list(ZONES))
def zone_of_the_machine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each story runs once in each machine zone."""
    with machine_zone(request.param) as zone:
        yield zone


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The activities town: example areas and themes, Li leading the Red Vest Team; 2 h a
    year make a formal volunteer."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"activities": {"themes_file": "themes.toml", "formal_hours": 2},
            "areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


async def test_hours_of_an_activity_on_new_years_eve_count_to_its_year_on_a_machine_elsewhere(
        town: Town) -> None:
    """Li's activity runs 21:30-23:30 on 31 December; Zhang is checked in and the list is
    confirmed at 00:10 on 1 January (16:10 on 31 December in UTC, 08:10 in Los Angeles, 06:10
    on 1 January in Kiritimati): the 2 h are 2026's, which makes Zhang a formal volunteer of
    2026, December's ranking has them and January's does not, and /hours says 2027 has
    none yet."""
    li, zhang = town.vol1, town.vol2
    await open_bot(li, zhang)
    await register(town, zhang.id, "Zhang", GOLDEN)
    town.clock.set(local(2026, 12, 28, 10))
    await li.send("/publish")
    await li.wait_for(text="1/12")
    for answer, step in (("Year-end visits", "4/12"), ("Guangming Road community centre",
                                                       "5/12")):
        await li.send(answer)
        await li.wait_for(text=step)
    await li.send_location(34.855, 117.570)
    await li.wait_for(text="6/12")
    for answer, step in (("2026-12-31 21:30", "7/12"), ("23:30", "8/12"), ("5", "9/12")):
        await li.send(answer)
        await li.wait_for(text=step)
    await li.press("🙋 I lead it")
    await li.wait_for(text="10/12")
    await li.press("🎯 Theme: Constitution Day and a warm winter")
    await li.wait_for(text="11/12")
    await li.press("Skip ⏭")
    await li.wait_for(text="12/12")
    await li.send("Visit the neighbours who live alone.")
    preview = await li.wait_for(text="Preview")
    assert "2026-12-31" in (preview.text or "")
    await li.press("✅ Publish", message=preview)
    await li.wait_for(text="your controls")
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    await (await zhang.press("🙋 Sign up", message=card)).answer()
    await zhang.wait_for(text="You are signed up for")

    town.clock.set(local(2026, 12, 31, 21, 35))
    await li.press("✋ Check in by hand")
    await li.wait_for(text="press a name")
    await (await li.press("✋ Zhang")).answer()
    town.clock.set(local(2027, 1, 1, 0, 10))
    await li.press("✅ Attendance and hours")
    listing = await li.wait_for(text="Attendance of")
    await li.press("✅ Confirm attendance and hours", message=listing)
    await li.wait_for(text="confirmed: hours credited")
    # Confirmed at night: Zhang reads of his hours at 08:00 (bot/night.py), still of 2026.
    await at(town, local(2027, 1, 1, 8, 1))
    await zhang.wait_for(text="You were credited 2 h")
    await zhang.wait_for(text="registered formal volunteer of 2026")

    mine = await answer_of(zhang, "/hours", "Your service hours")
    assert "2027: 0 h in all" in (mine.text or ""), mine.text
    assert "2 h more in 2027" in (mine.text or "")
    december = await answer_of(zhang, "/ranking 2026-12", "Volunteers by verified hours")
    assert "1. Zhang — 2 h ← you" in (december.text or "")
    await answer_of(zhang, "/ranking", "No verified hours in January 2027 yet.")
    year = await answer_of(zhang, "/ranking year 2026", "Volunteers by verified hours")
    assert "1. Zhang — 2 h ← you" in (year.text or "")
