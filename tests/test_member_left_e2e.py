"""A volunteer who leaves the group (or is removed from it) cannot go on with what they took
there: their tasks go back up for claiming, as if they had pressed Release, and they and the
citizen are told. Telegram tells the bot by a service message in every group, and by a
chat_member update where the bot is an administrator: one departure releases once."""

from __future__ import annotations

from sandbox import SimMessage
from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_bot

CLAIM = "🙋 Claim"
LOOKING = "We are looking for another volunteer"


async def claimed_by_li(town: Town) -> tuple[str, SimMessage]:
    """Alice files a request, Li claims it in the volunteers group; returns its reference and
    its card."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")
    await town.citizen.wait_for(text="a volunteer has taken your request")
    return ref, card


def said_to(chat_messages: list, text: str) -> int:  # type: ignore[type-arg]
    """How many of these messages contain `text`."""
    return sum(text in (m.text or "") for m in chat_messages)


async def test_li_leaves_the_group_and_his_task_there_is_open_again(town: Town) -> None:
    ref, card = await claimed_by_li(town)
    town.volunteers.remove_member(town.vol1)

    told = await town.vol1.wait_for(text="You left the group")
    assert ref in (told.text or "") and "Elderly volunteers" in (told.text or "")
    await town.citizen.wait_for(text=LOOKING)
    await town.sb.wait_until(lambda: card.buttons == [CLAIM], timeout=5)
    assert ref in await claim(town.vol2, town.volunteers, card)  # Wang takes it
    await town.vol2.wait_for(text="+8613800000001")


async def test_removed_where_the_bot_is_admin_releases_once_for_both_signals(town: Town) -> None:
    town.volunteers.add_bot("administrator")  # now chat_member updates come as well
    ref, _ = await claimed_by_li(town)
    town.volunteers.remove_member(town.vol1, by=town.admin)

    await town.citizen.wait_for(text=LOOKING)
    await town.vol1.wait_for(text="You left the group")
    services = town.bot.services
    assert services is not None
    # Both updates are handled in order; the second finds nothing to release.
    await town.sb.wait_until(lambda: not town.sb.world.pending(100), timeout=5)
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
        assert request is not None and request.status == "dispatched"
        events = [e.kind for e in await repo.requests.events(request.id)]
    assert events.count("released") == 1
    assert said_to(town.citizen.private.bot_messages(), LOOKING) == 1
    assert said_to(town.vol1.private.bot_messages(), "You left the group") == 1


async def test_leaving_another_group_or_holding_nothing_changes_nothing(town: Town) -> None:
    ref, _ = await claimed_by_li(town)
    other = town.sb.add_group("Chess club")
    other.add_member(town.vol1)
    other.remove_member(town.vol1)
    town.volunteers.remove_member(town.vol2)  # Wang holds nothing
    await town.vol1.send("/mytasks")
    tasks = await town.vol1.wait_for(text=ref)  # still his
    assert "You left the group" not in (tasks.text or "")
    assert said_to(town.citizen.private.bot_messages(), LOOKING) == 0
    assert said_to(town.vol2.private.bot_messages(), "You left the group") == 0
