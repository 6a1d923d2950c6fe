"""Telegram's limits in the activities loop: the longest activity there can be, with a poster,
and many people with the longest names signing up, and Telegram refuses no call."""

from __future__ import annotations

import pytest

from tests.conftest import Town
from tests.flows import long_as, open_bot
from tests.test_activities_e2e import buttons_of, card_now
from tests.test_activities_e2e import town_settings as town_settings  # the fixture
from tests.test_bad_input_e2e import assert_nothing_broke
from tests.test_limits_e2e import HARD

SIGNING = 30


async def test_the_longest_activity_with_a_poster_fills_up_and_its_lists_stay_whole(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """The admin publishes an activity with the longest title, place and description, and a
    poster, for the whole district; thirty people with the longest names sign up. The card
    (a photo, its caption at most 1,024 units) is redrawn, the admin's roster lists them all,
    and nothing is refused on the way."""
    admin = town.admin
    admin.first_name = long_as(HARD, 64)
    people = [town.sb.add_user(long_as(f"{n}{HARD}", 64), last_name=long_as(HARD, 64))
              for n in range(SIGNING)]
    await open_bot(admin, *people)
    await admin.send("/publish")
    await admin.wait_for(text="1/12")
    await admin.send(long_as(HARD, 60))
    await admin.wait_for(text="2/12")
    await admin.press("Golden Glow Elderly Care Team")
    await admin.wait_for(text="3/12")
    await admin.press("🏙 The whole district")
    await admin.wait_for(text="4/12")
    await admin.send(long_as(HARD, 100))
    await admin.wait_for(text="5/12")
    await admin.press("Skip ⏭")
    await admin.wait_for(text="6/12")
    await admin.send("6-20 14:00")
    await admin.wait_for(text="7/12")
    await admin.send("16:00")
    await admin.wait_for(text="8/12")
    await admin.send("10000")
    await admin.wait_for(text="9/12")
    await admin.send(f"{admin.id}")
    await admin.wait_for(text="10/12")
    await admin.press("No theme")
    await admin.wait_for(text="11/12")
    await admin.send_photo()
    await admin.wait_for(text="12/12")
    await admin.send(long_as(HARD, 1000))
    preview = await admin.wait_for(text="Preview")
    await admin.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(predicate=lambda m: m.kind == "photo")
    for person in people:
        await (await person.press("🙋 Sign up", chat=town.volunteers, message=card)).answer()
    card = await card_now(town, card, f"{10000 - SIGNING} left")
    assert buttons_of(card) == [f"🙋 Sign up ({10000 - SIGNING} left)"]
    await admin.press("👥 Who signed up")
    await admin.wait_for(text=f"{SIGNING}. ")
    await admin.send("/activities")
    await admin.wait_for(text="your controls")
    assert_nothing_broke(town, caplog)
