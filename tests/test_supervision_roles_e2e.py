"""Loop 3's people and places (issue 16.2), end to end: a centre admin makes inspectors (a
group is made when first named), moves and removes them, gives each group its patrol points
by id, area or kind; binds a responsible unit's group chat and names the people who act for
it; an area admin manages the units of their area only; every bad command gets one line.

The town uses the example area tree and the example registers (8 points, 5 units).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, supervision_town
from tests.test_quiet_hours_e2e import at, said

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and the example registers."""
    return supervision_town(tmp_path)


async def test_the_centre_admin_makes_inspectors_and_gives_their_group_its_points(
    town: Town,
) -> None:
    admin, li, zhang = town.admin, town.vol1, town.vol2
    await open_bot(admin, li, zhang)
    await admin.send(f"/inspector add {li.id} 第一督导组")
    made = await admin.wait_for(text="Inspection group 第一督导组 made.")
    assert "Li now inspects for 第一督导组." in (made.text or "")
    await li.wait_for(text="You are now an inspector of 第一督导组")

    await admin.send("/patrol 第一督导组 area:guangminglu kind:school")
    done = await admin.wait_for(text="第一督导组 patrols these")
    # Guangminglu's road, market, alley and two communities, and the one school.
    assert "these 6 points; 6 of them changed hands" in (done.text or "")
    await admin.send("/inspectors")
    listing = await admin.wait_for(text="Inspection groups")
    assert "第一督导组: 6 points · Li" in (listing.text or "")
    assert "Points no group patrols yet: 2 of 8" in (listing.text or "")

    # A second group takes one road over; Zhang joins it; Li moves to it, then leaves.
    await admin.send(f"/inspector add {zhang.id} Group-2")
    await admin.wait_for(text="Zhang now inspects for Group-2.")
    await admin.send("/patrol group-2 road-001 road-002")
    moved = await admin.wait_for(text="Group-2 patrols these 2 points")
    assert "2 of them changed hands" in (moved.text or "")
    await admin.send(f"/inspector add {li.id} Group-2")
    await admin.wait_for(text="Li now inspects for Group-2 (before: 第一督导组).")
    await admin.send("/inspectors")
    listing = await admin.wait_for(text="Inspection groups")
    assert "第一督导组: 5 points · —" in (listing.text or "")
    assert "Group-2: 2 points · Zhang, Li" in (listing.text or "")
    await admin.send(f"/inspector remove {li.id}")
    await admin.wait_for(text="Li is no longer an inspector.")
    await li.wait_for(text="You are no longer an inspector")


@pytest.mark.parametrize(("command", "answer"), [
    ("/inspector add 1003", "Usage: /inspector add"),
    ("/inspector add 1003 two words", "Usage: /inspector add"),
    ("/inspector add 1003 " + "长" * 21, "one word of at most 20"),
    ("/inspector add @nobody 第一组", "I do not know @nobody"),
    ("/inspector remove 1004", "Zhang is not an inspector."),
    ("/patrol 第九组 all", "There is no inspection group called 第九组."),
    ("/patrol", "Usage: /patrol"),
])
async def test_a_bad_command_gets_one_line(town: Town, command: str, answer: str) -> None:
    await open_bot(town.admin, town.vol1, town.vol2)
    await town.admin.send(command)
    reply = await town.admin.wait_for(text=answer)
    assert reply.text is not None


async def test_an_unknown_point_or_kind_is_named(town: Town) -> None:
    await open_bot(town.admin, town.vol1)
    await town.admin.send(f"/inspector add {town.vol1.id} G1")
    await town.admin.wait_for(text="now inspects for G1")
    await town.admin.send("/patrol G1 road-001 kind:river")
    await town.admin.wait_for(text="“kind:river” names no point")
    await town.admin.send("/inspectors")
    listing = await town.admin.wait_for(text="Inspection groups")
    assert "G1: 0 points" in (listing.text or "")  # nothing half-done


async def test_only_the_centre_admins_make_inspectors(town: Town) -> None:
    await open_bot(town.vol1)
    await town.vol1.send(f"/inspector add {town.vol1.id} G1")
    await town.vol1.wait_for(text="only")
    await town.vol1.send("/inspectors")
    await town.vol1.wait_for(text="admin")


async def test_a_unit_chat_is_bound_and_its_people_named(town: Town) -> None:
    admin, wang = town.admin, town.vol2
    await open_bot(admin, wang)
    office = town.sb.add_group("光明路街道办")
    office.add_member(admin, status="administrator")
    await admin.send("/bind unit nowhere-office", chat=office)
    await office.wait_for(text="There is no unit “nowhere-office”")
    await admin.send("/bind unit guangminglu-office", chat=office)
    await office.wait_for(text="now the chat of Guangminglu Subdistrict Office")
    await admin.send(f"/unitmember add guangminglu-office {wang.id}")
    await admin.wait_for(text="Zhang now acts for Guangminglu Subdistrict Office.")
    await wang.wait_for(text="You now act for Guangminglu Subdistrict Office")
    await admin.send("/units")
    units = await admin.wait_for(text="Responsible units")
    text = units.text or ""
    assert text.index("⚠️ District Urban Management Bureau") < text.index(
        "Guangminglu Subdistrict Office (guangminglu-office)")
    assert ("Guangminglu Subdistrict Office (guangminglu-office) · Guangminglu Subdistrict "
            "Institute · 3 points · 1 people") in text
    await admin.send(f"/unitmember remove guangminglu-office {wang.id}")
    await admin.wait_for(text="Zhang no longer acts for")
    await wang.wait_for(text="You no longer act for")


def menu_of(town: Town, person: SimUser) -> list[str]:
    """The command names the sandbox holds for a person's private chat (no language)."""
    key = json.dumps([{"chat_id": person.id, "type": "chat"}, ""], sort_keys=True)
    return [c["command"] for c in town.sb.api.commands.get(key, [])]


async def test_an_inspector_and_a_units_member_get_a_menu_of_their_own(town: Town) -> None:
    """Zhang, no volunteer and no admin, gets /inspect, /due and /problem in his menu while he
    is an inspector or acts for a unit, and the plain citizen's menu back after."""
    admin, zhang = town.admin, town.vol2
    await open_bot(admin, zhang)
    assert menu_of(town, zhang) == []
    await admin.send(f"/inspector add {zhang.id} G1")
    await zhang.wait_for(text="inspector")
    await town.sb.wait_until(lambda: "inspect" in menu_of(town, zhang))
    assert {"inspect", "due", "problem", "new", "my"} <= set(menu_of(town, zhang))
    assert "publish" not in menu_of(town, zhang)  # a volunteer's, not an inspector's
    await admin.send(f"/unitmember add guangminglu-office {zhang.id}")
    await zhang.wait_for(text="You now act for")
    await admin.send(f"/inspector remove {zhang.id}")
    await zhang.wait_for(text="no longer")
    assert "problem" in menu_of(town, zhang)  # he still acts for the unit
    await admin.send(f"/unitmember remove guangminglu-office {zhang.id}")
    await zhang.wait_for(text="You no longer act for")
    await town.sb.wait_until(lambda: menu_of(town, zhang) == [])


async def test_an_area_admin_manages_the_units_of_their_area_only(town: Town) -> None:
    chen = town.sb.add_user("Chen", language_code="en", username="chen")
    await open_bot(town.admin, chen, town.vol2)
    await town.admin.send("/grant @chen guangminglu")
    await chen.wait_for(text="You are now an admin")
    await chen.send(f"/unitmember add zhongxinjie-office {town.vol2.id}")
    await chen.wait_for(text="Only a centre admin, or an admin of its area, can manage "
                             "Zhongxinjie Subdistrict Office.")
    await chen.send(f"/unitmember add guangminglu-office {town.vol2.id}")
    await chen.wait_for(text="Zhang now acts for Guangminglu Subdistrict Office.")
    await chen.send("/units")
    units = await chen.wait_for(text="Responsible units")
    assert "Zhongxinjie" not in (units.text or "")
    assert "Guangminglu Subdistrict Office" in (units.text or "")


async def test_the_admins_hear_when_a_units_group_loses_the_bot(town: Town) -> None:
    """The bot removed from a unit's group: the binding goes, and the admins are told that
    the unit's problems have nowhere to go until another group is bound."""
    admin = town.admin
    await open_bot(admin)
    office = town.sb.add_group("光明路街道办")
    office.add_member(admin, status="administrator")
    await admin.send("/bind unit guangminglu-office", chat=office)
    await office.wait_for(text="now the chat of Guangminglu Subdistrict Office")
    office.remove_bot(by=admin)
    told = await town.admin_chat.wait_for(text="was also the group of")
    assert "Guangminglu Subdistrict Office" in (told.text or "")
    await admin.send("/units")
    units = await admin.wait_for(text="Responsible units")
    assert "⚠️ Guangminglu Subdistrict Office (guangminglu-office)" in (units.text or "")


async def test_roles_given_at_night_are_told_at_08_00(town: Town) -> None:
    """The admin, catching up at 23:30, makes Li an inspector and Zhang the office's member:
    each is told at 08:00, not then (their menus change at once)."""
    admin, li, zhang = town.admin, town.vol1, town.vol2
    await open_bot(admin, li, zhang)
    town.clock.set(datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI))
    await admin.send(f"/inspector add {li.id} G1")
    await admin.wait_for(text="Li now inspects for G1.")
    await admin.send(f"/unitmember add guangminglu-office {zhang.id}")
    await admin.wait_for(text="Zhang now acts for Guangminglu Subdistrict Office.")
    await at(town, datetime(2026, 6, 11, 7, 59, tzinfo=SHANGHAI))
    assert (said(li, "You are now an inspector"), said(zhang, "You now act for")) == ([], [])

    await at(town, datetime(2026, 6, 11, 8, 0, 1, tzinfo=SHANGHAI))
    await li.wait_for(text="You are now an inspector of G1")
    await zhang.wait_for(text="You now act for Guangminglu Subdistrict Office")
