"""Quiet hours for a team's group that loses the bot, in a district with no admin chat: the
centre admin hears in private at once, without a sound at night (at 23:30, at 02:00 and on
New Year's Eve at 23:50), that the group served the team, so its activities have nowhere to
go until another group is bound; by day, with its sound.

The town is tests/test_activities_e2e.py's (Li leads the Guangminglu Red Vest Team) with
`admin_chat_id = 0`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import open_bot
from tests.test_activities_e2e import ROOT, TEAMS
from tests.test_night_no_admin_chat_e2e import NIGHT_OR_DAY
from tests.test_night_policy_e2e import sounds

ALSO = "was also the group of"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The activities town's teams and areas (its themes are not needed), no admin chat."""
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}, "admin_chat_id": 0}


@NIGHT_OR_DAY
async def test_a_teams_group_that_removes_the_bot_is_told_to_the_admin_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    old = town.sb.add_group("Red Vest Team")
    old.add_member(town.admin, status="administrator")
    await open_bot(town.admin)
    await town.admin.send("/bind team guangming-red", chat=old)
    await old.wait_for(text="now the group of Guangminglu Red Vest Team")
    town.clock.set(moment)
    old.remove_bot(by=town.admin)
    told = await town.admin.wait_for(text=ALSO)
    assert "Red Vest Team" in (told.text or "")
    assert sounds(town, town.admin.id, ALSO) == [sound]
    assert sounds(town, town.admin.id, "was removed from the group") == [sound]
