"""An area admin runs their part of the district as the centre runs the whole: they hear of
their area's stalled and overdue requests, get their area's daily digest, bind their
communities' groups and decide who volunteers there. Nothing of another area reaches them.

The town runs on the full synthetic tree of Shizhong district.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandbox import SimChat, SimUser
from tests.conftest import Town
from tests.flows import card_of, claim, open_bot
from tests.test_areas_e2e import (
    GUANGMINGLU,
    GUANGMINGLU_01,
    ZHONGXINJIE,
    ZHONGXINJIE_01,
    bound_group,
    file_at,
)

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
STALLED = "in your area, has waited too long without a volunteer"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"areas": {"file": str(AREA_FILE)}}


async def area_admin(town: Town, name: str, username: str, area: str) -> SimUser:
    """Someone who opened the bot and whom the centre admin made an admin of `area`."""
    person = town.sb.add_user(name, language_code="en", username=username)
    await open_bot(person)
    await town.admin.send(f"/grant @{username} {area}")
    await person.wait_for(text="You are now an admin")
    return person


def mentions(chat: SimChat, text: str) -> list[str]:
    """The texts of a chat's bot messages that contain `text`."""
    return [m.text or "" for m in chat.bot_messages() if text in (m.text or "")]


async def test_an_area_admin_hears_once_of_a_stalled_request_in_their_area_only(
        town: Town) -> None:
    town.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    liming = await area_admin(town, "Liming", "liming", "guangminglu")
    wang = await area_admin(town, "Wang", "wangfang", "zhongxinjie")
    await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01", GUANGMINGLU_01)
    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)

    assert await town.tick(hours=2, minutes=1) == 2  # the reminder, then the first climb
    told = await liming.wait_for(text=STALLED)
    assert ref in (told.text or "") and f"/find {ref}" in (told.text or "")
    assert "+86" not in (told.text or "") and "Jianshe Road" not in (told.text or "")
    await town.volunteers.wait_for(text=ref)  # the district's group (by config) has it now
    assert await town.tick(hours=2) == 1  # to the admin chat: the area admin is not told again
    await town.admin_chat.wait_for(text=ref)
    assert len(mentions(liming.private, STALLED)) == 1
    assert mentions(wang.private, ref) == []


async def test_an_area_admin_is_alerted_when_a_volunteer_in_their_area_is_overdue(
        town: Town) -> None:
    town.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    liming = await area_admin(town, "Liming", "liming", "guangminglu-01")
    group = await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01",
                              GUANGMINGLU_01)
    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    await open_bot(town.vol1)
    assert ref in await claim(town.vol1, group, await card_of(group, ref))

    await town.tick(hours=24, minutes=1)  # due: the volunteer is reminded
    await town.vol1.wait_for(text="your task")
    assert mentions(liming.private, "is overdue") == []
    await town.tick(hours=24)  # as long again: the admins are alerted
    alert = await liming.wait_for(text="is overdue")
    assert ref in (alert.text or "") and "Li" in (alert.text or "")
    await town.admin_chat.wait_for(text=f"{ref} is overdue")


async def test_each_area_admin_gets_the_digest_of_their_areas_and_a_quiet_area_none(
        town: Town) -> None:
    town.clock.set(datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI))
    await town.tick(minutes=1)  # yesterday's digest goes out now; the 30th's is the one
    liming = await area_admin(town, "Liming", "liming", "guangminglu")
    wang = await area_admin(town, "Wang", "wangfang", "zhongxinjie")
    await bound_group(town, "Guangminglu 1 volunteers", "elderly guangminglu-01", GUANGMINGLU_01)
    first = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    second = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01, text="The lift is stuck.")

    town.clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=SHANGHAI))
    await town.tick(hours=10)  # 09:00 on 1 December
    digest = await liming.wait_for(text="Daily digest · 2026-11-30")
    assert GUANGMINGLU in (digest.text or "")
    assert "Collected: 2" in (digest.text or "") and "Open now: 2" in (digest.text or "")
    assert first in (digest.text or "") and second in (digest.text or "")  # overdue by now
    await town.admin_chat.wait_for(text="Daily digest · 2026-11-30")
    assert mentions(wang.private, "Daily digest") == []  # nothing happened in Zhongxinjie


async def test_an_area_admin_binds_groups_inside_their_area_only(town: Town) -> None:
    liming = await area_admin(town, "Liming", "liming", "guangminglu")
    group = town.sb.add_group("Guangminglu 2 volunteers")
    group.add_member(liming, status="administrator")
    await liming.send("/bind elderly guangminglu-02", chat=group)
    await group.wait_for(text="This group now receives requests for Help for the elderly in "
                              "Guangminglu Community 2 Practice Station")

    await liming.send("/bind elderly zhongxinjie-01", chat=group)
    refused = await group.wait_for(text="inside your areas only")
    assert GUANGMINGLU in (refused.text or "")
    await liming.send("/bind elderly", chat=group)  # the whole district: the centre's
    await group.wait_for(text="inside your areas only")
    await town.admin.send("/bindings")
    listing = await town.admin.wait_for(text="Volunteer groups")
    assert "Guangminglu Community 2 Practice Station → Guangminglu 2 volunteers" in (
        listing.text or "")
    assert ZHONGXINJIE_01 not in (listing.text or "")


async def test_an_area_admin_decides_the_registrations_of_their_area(town: Town) -> None:
    liming = await area_admin(town, "Liming", "liming", "guangminglu")
    wang = await area_admin(town, "Wang", "wangfang", "zhongxinjie")
    zhang = town.vol2
    await zhang.send("/join")
    await zhang.wait_for(text="please type your name")
    await zhang.send("张伟")
    await zhang.wait_for(text="share your phone number")
    await zhang.tap("📞 Share my phone number")
    await zhang.wait_for(text="Which area do you serve?")
    await zhang.press(GUANGMINGLU)
    await zhang.wait_for(text="Which community?")
    await zhang.press(GUANGMINGLU_01)
    await zhang.wait_for(text="Which team")
    await zhang.press("no team")
    await zhang.wait_for(text="Your registration is sent")

    review = await liming.wait_for(text="Name: 张伟")  # in private: with the phone
    assert "Phone: +" in (review.text or "") and "not shown" not in (review.text or "")
    assert mentions(wang.private, "张伟") == []
    forged = await wang.press("✅ Approve", message=review, chat=liming.private)
    assert "only admins" in ((await forged.answer()).text or "")
    await liming.press("✅ Approve", message=review)
    await zhang.wait_for(text="registration is approved")
    assert ZHONGXINJIE  # the other institute of these stories


async def test_a_chinese_area_admin_reviews_a_registration_in_chinese(town: Town) -> None:
    """Each approver reads the review in their own language (the admin chat in the
    district's): an area admin who reads Chinese gets it in Chinese, with Chinese buttons."""
    chen = town.sb.add_user("陈", language_code="zh", username="chen")
    await chen.send("/start")
    await chen.wait_for(text="选择")
    await town.admin.send("/grant @chen guangminglu")
    await chen.wait_for(text="您现在是")
    zhang = town.vol2
    await zhang.send("/join")
    await zhang.wait_for(text="please type your name")
    await zhang.send("张伟")
    await zhang.wait_for(text="share your phone number")
    await zhang.tap("📞 Share my phone number")
    await zhang.wait_for(text="Which area do you serve?")
    await zhang.press(GUANGMINGLU)
    await zhang.wait_for(text="Which community?")
    await zhang.press(GUANGMINGLU_01)
    await zhang.wait_for(text="Which team")
    await zhang.press("no team")
    review = await chen.wait_for(text="姓名：张伟")
    assert "新的志愿者登记" in (review.text or "") and "电话：+" in (review.text or "")
    assert review.buttons == ["✅ 通过", "✖ 不通过"]
    english = await town.admin_chat.wait_for(text="Name: 张伟")
    assert "New volunteer registration" in (english.text or "")
