"""Forum topics on the area tree: a station's group binds its category in a topic; a request
there that nobody claims climbs to the institute's group, and its station card stays. That
card, once it cannot be redrawn, comes back in the station's topic, not in General."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import card_of, claim, open_bot
from tests.test_areas_e2e import GUANGMINGLU, GUANGMINGLU_01, bound_group, file_at

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"areas": {"file": str(AREA_FILE)}}


async def test_a_station_card_left_behind_by_a_climb_comes_back_in_its_topic(
    town: Town,
) -> None:
    """The Guangminglu 1 forum binds elderly help in its "Elderly help" topic; the institute
    has a group of its own. Alice's request waits at the station's topic past the category's
    wait and climbs to the institute, where Li claims it. The admin tidies the station's
    claimed card away. Li releases the request: the station's card cannot be redrawn, so it
    is posted again, with Claim, in the Elderly help topic where the station's team looks."""
    forum = town.sb.add_group("Guangminglu 1 teams", forum=True)
    forum.add_member(town.admin, status="administrator")
    forum.add_member(town.vol1)
    await open_bot(town.vol1)
    elderly = forum.create_topic("Elderly help", by=town.admin)
    await town.admin.send("/bind elderly guangminglu-01", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    institute = await bound_group(town, "Guangminglu institute", "elderly guangminglu",
                                  GUANGMINGLU)

    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    station_card = await card_of(forum, ref)
    assert station_card.thread_id == elderly
    await town.tick(hours=2, minutes=1)
    institute_card = await card_of(institute, ref)
    assert (await claim(town.vol1, institute, institute_card)).startswith("It is yours")
    details = await town.vol1.wait_for(text=ref, predicate=lambda m: "↩️ Release" in m.buttons)
    await town.sb.wait_until(lambda: "claimed by Li" in (station_card.text or ""))
    forum.delete(station_card, by=town.admin)

    await town.vol1.press("↩️ Release", message=details)
    again = await forum.wait_for(text=ref, predicate=lambda m: m is not station_card
                                 and "Still waiting" not in (m.text or ""))
    assert "🙋 Claim" in again.buttons
    assert again.thread_id == elderly


async def test_waited_too_long_is_said_in_the_topic_that_shows_the_card(town: Town) -> None:
    """The Guangminglu forum binds elderly help in its "Elderly help" topic for the station
    and for the institute alike. Alice's request climbs from the station to the institute:
    the forum already shows its card, so it is told the request has waited too long — in the
    Elderly help topic, under the card, not in General where nobody of the team looks."""
    forum = town.sb.add_group("Guangminglu teams", forum=True)
    forum.add_member(town.admin, status="administrator")
    elderly = forum.create_topic("Elderly help", by=town.admin)
    for where in ("elderly guangminglu-01", "elderly guangminglu"):
        await town.admin.send(f"/bind {where}", chat=forum, topic=elderly)
        await forum.wait_for(text="now receives requests")

    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    assert (await card_of(forum, ref)).thread_id == elderly
    await town.tick(hours=2, minutes=1)
    told = await forum.wait_for(text=f"{ref} has waited too long")
    assert told.thread_id == elderly


async def test_waited_too_long_is_said_where_the_card_stayed_after_a_rebind(
    town: Town,
) -> None:
    """The Guangminglu forum serves elderly help for the station and the institute, both in
    General. Alice's request waits at the station; the admin then binds the institute's
    elderly help in the Elderly help topic. The request climbs to the institute: the forum
    already shows its card, in General, and it is there, under the card, that it is told it
    has waited too long."""
    forum = town.sb.add_group("Guangminglu teams", forum=True)
    forum.add_member(town.admin, status="administrator")
    elderly = forum.create_topic("Elderly help", by=town.admin)
    for where in ("elderly guangminglu-01", "elderly guangminglu"):
        await town.admin.send(f"/bind {where}", chat=forum)
        await forum.wait_for(text="This group now receives requests")
    ref = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    assert (await card_of(forum, ref)).thread_id is None
    await town.admin.send("/bind elderly guangminglu", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests", predicate=lambda m: m.thread_id == elderly)

    await town.tick(hours=2, minutes=1)
    told = await forum.wait_for(text=f"{ref} has waited too long")
    assert told.thread_id is None
