"""The 'open the bot, then claim' link: signed for one person, one card's round of the
request and fifteen minutes, so it cannot be kept, widened or forged."""

from __future__ import annotations

import re

from sandbox import SimMessage, SimUser
from tests.conftest import Town
from tests.flows import card_of, file_request

CLAIM = "🙋 Claim"


async def link_for(town: Town, volunteer: SimUser, ref: str) -> tuple[str, SimMessage]:
    """The volunteer, who never opened the bot, presses Claim on the card: the start
    payload of the link the popup offers, and the card."""
    card = await card_of(town.volunteers, ref)
    press = await volunteer.press(CLAIM, chat=town.volunteers, message=card)
    answer = await press.answer()
    assert answer.show_alert and answer.url is not None
    payload = answer.url.split("?start=", 1)[1]
    assert len(payload) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", payload), payload
    return payload, card


async def test_a_link_followed_within_fifteen_minutes_claims(town: Town) -> None:
    ref = await file_request(town.citizen)
    payload, _ = await link_for(town, town.vol2, ref)
    town.clock.advance(minutes=14)
    await town.vol2.send(f"/start {payload}")
    await town.vol2.wait_for(text=f"You took {ref}")


async def test_a_link_kept_too_long_has_expired_and_the_request_stays_open(town: Town) -> None:
    ref = await file_request(town.citizen)
    payload, card = await link_for(town, town.vol2, ref)
    town.clock.advance(minutes=16)
    await town.vol2.send(f"/start {payload}")
    await town.vol2.wait_for(text="This claim link has expired")
    assert card.buttons == [CLAIM]


async def test_a_link_to_a_request_that_moved_is_refused(town: Town) -> None:
    """Zhang presses Claim on the elderly card; before he follows the link an admin moves
    the request to legal aid (its elderly card is retired, a new round begins): the link
    no longer claims it."""
    ref = await file_request(town.citizen)
    payload, _ = await link_for(town, town.vol2, ref)
    await town.admin.send(f"/move {ref} legal", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="moved")
    await town.vol2.send(f"/start {payload}")
    await town.vol2.wait_for(text="This request has moved since you pressed Claim")
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
    assert request is not None and request.status == "dispatched"


async def test_a_link_with_its_deadline_changed_is_not_honoured(town: Town) -> None:
    """Zhang edits the deadline in the link to keep it longer: the signature no longer
    matches, so he gets the greeting and nothing else."""
    ref = await file_request(town.citizen)
    payload, card = await link_for(town, town.vol2, ref)
    head, expires, token = payload.rsplit("_", 2)
    forged = f"{head}_{int(expires) + 86400}_{token}"
    await town.vol2.send(f"/start {forged}")
    await town.vol2.wait_for(text="Choose below")
    assert card.buttons == [CLAIM]
    assert not [m for m in town.vol2.private.bot_messages() if ref in (m.text or "")]
