"""Loop 2 against Telegram's real errors: a team's group that loses the bot.

The town is tests/test_activities_e2e.py's: Li leads the Guangminglu Red Vest Team; the
activity is on Saturday 13 June 2026.
"""

from __future__ import annotations

from tests.conftest import Town
from tests.flows import open_bot
from tests.test_activities_e2e import buttons_of, card_now, published_card
from tests.test_activities_e2e import town_settings as town_settings  # the teams file


async def test_a_teams_new_group_gets_the_activities_still_open(town: Town) -> None:
    """The Red Vest Team's group has the card of its open activity when the bot is removed
    from it. The admins bind the team's new group: the card of the activity still taking
    sign-ups comes there, with Sign up, and a sign-up there redraws it."""
    old = town.sb.add_group("Red Vest Team")
    old.add_member(town.admin, status="administrator")
    await open_bot(town.admin, town.vol1, town.vol2)
    await town.admin.send("/bind team guangming-red", chat=old)
    await old.wait_for(text="now the group of Guangminglu Red Vest Team")
    await published_card(town, town.vol1)
    await old.wait_for(text="Volunteers wanted")

    old.remove_bot(by=town.admin)
    await town.admin_chat.wait_for(text="was also the group of")
    new = town.sb.add_group("Red Vest Team (new)")
    new.add_member(town.admin, status="administrator")
    new.add_member(town.vol2)
    await town.admin.send("/bind team guangming-red", chat=new)
    await new.wait_for(text="now the group of Guangminglu Red Vest Team")
    card = await new.wait_for(text="Volunteers wanted")
    assert buttons_of(card) == ["🙋 Sign up (2 left)"]
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await card_now(town, card, "1 left")
    assert town.sb.count_429 == 0
