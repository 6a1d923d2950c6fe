"""Without an admin chat (`bot.admin_chat_id = 0`), what would go there goes to each centre
admin in private: cards of requests no group takes, escalated cards, cards a group refused.
Each admin may act on their card, and every change edits all of the request's cards.

The town here is conftest's, with two centre admins and no admin chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import Sandbox, SimChat, SimUser
from tests import conftest
from tests.conftest import CATEGORIES, BotRunner, make_config
from tests.flows import card_of, claim, file_request, open_bot, too_old

CLAIM = "🙋 Claim"
PHONE = "+8613800000001"
ADDRESS = "12 Jianshe Road"


@dataclass
class Centre:
    """The bot with two centre admins, no admin chat, elderly requests in one group."""

    sb: Sandbox
    bot: BotRunner
    citizen: SimUser
    volunteer: SimUser
    first: SimUser
    second: SimUser
    volunteers: SimChat
    clock: conftest.TestClock

    async def tick(self, **delta: float) -> int:
        """Let time pass and run the schedule's sweep."""
        self.clock.advance(**delta)
        services = self.bot.services
        assert services is not None
        fired = await services.schedule.sweep()
        services.sender.wake()
        return fired


@pytest.fixture
async def centre(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Centre]:
    """Two centre admins who have opened the bot, `admin_chat_id = 0`."""
    sb = sandbox
    citizen = sb.add_user("Alice", language_code="en", phone=PHONE)
    volunteer = sb.add_user("Li", language_code="en")
    first = sb.add_user("Wang", language_code="en")
    second = sb.add_user("Zhao", language_code="en")
    volunteers = sb.add_group("Elderly volunteers")
    volunteers.add_member(volunteer)
    categories = [dict(CATEGORIES[0], group_id=volunteers.id), *CATEGORIES[1:]]
    config = make_config(tmp_path, sb, admin_ids=[first.id, second.id], admin_chat_id=0,
                         categories=categories)
    assert config.admin_chat_id is None
    clock = conftest.TestClock()
    runner = BotRunner(sb, config, clock)
    await runner.start()
    try:
        await open_bot(first, second)
        yield Centre(sb, runner, citizen, volunteer, first, second, volunteers, clock)
    finally:
        await runner.stop()


async def request_id(centre: Centre, ref: str) -> int:
    """A request's id, as its Claim button carries it."""
    assert centre.bot.services is not None
    async with centre.bot.services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
    assert request is not None
    return request.id


async def test_a_request_no_group_takes_goes_to_each_centre_admin_in_private(
    centre: Centre,
) -> None:
    """Legal aid has no group: its card reaches both admins in private with Claim, carrying
    what a group card carries (no phone, no address); after escalate_after both are told it
    waited too long; the second claims, and both cards show it; the first one's Claim is
    then refused."""
    ref = await file_request(centre.citizen, category="Legal aid")
    cards = [await card_of(admin.private, ref) for admin in (centre.first, centre.second)]
    for card in cards:
        assert card.buttons == [CLAIM]
        assert "Legal aid" in card.text
        assert PHONE not in card.text and ADDRESS not in card.text
        assert "address given" in card.text
    await centre.tick(hours=2, minutes=1)  # escalate_after: already with the admins, flagged
    for admin in (centre.first, centre.second):
        assert ref in (await admin.wait_for(text="has waited too long")).text

    assert ref in await claim(centre.second, centre.second.private, cards[1])
    await centre.second.wait_for(text=PHONE)  # the details, in private, to the claimer only
    await centre.sb.wait_until(lambda: all("claimed by Zhao" in (card.text or "")
                                           and not card.buttons for card in cards))
    late = await centre.first.press_data(f"claim:{await request_id(centre, ref)}",
                                         message=too_old(cards[0]))
    assert "already taken" in ((await late.answer()).text or "")
    assert PHONE not in " ".join(m.text or "" for m in centre.first.private.bot_messages())


async def test_an_escalated_card_goes_to_each_centre_admin_and_all_cards_follow(
    centre: Centre,
) -> None:
    """Nobody in the group claims: after escalate_after each admin gets the escalated card
    in private; the first claims there, and the group's card and both admins' show it."""
    ref = await file_request(centre.citizen)
    group_card = await card_of(centre.volunteers, ref)
    await centre.tick(hours=2, minutes=1)
    escalated = [await admin.wait_for(text="Escalated") for admin in (centre.first,
                                                                      centre.second)]
    for card in escalated:
        assert ref in card.text and card.buttons == [CLAIM]
        assert PHONE not in card.text and ADDRESS not in card.text
    await centre.citizen.wait_for(text="passed it to the service centre")

    assert ref in await claim(centre.first, centre.first.private, escalated[0])
    await centre.sb.wait_until(lambda: all(
        "claimed by Wang" in (card.text or "") and not card.buttons
        for card in (group_card, *escalated)))
    await centre.first.wait_for(text=PHONE)  # the details, to the claimer in private


async def test_a_card_its_group_refuses_goes_to_each_centre_admin(centre: Centre) -> None:
    """The group removed the bot: the card goes to each admin in private instead, with a
    notice saying why."""
    centre.volunteers.remove_bot()
    ref = await file_request(centre.citizen)
    for admin in (centre.first, centre.second):
        notice = await admin.wait_for(text="could not be posted to its group")
        assert ref in notice.text
        card = await card_of(admin.private, ref)
        assert card.buttons == [CLAIM] and PHONE not in card.text
