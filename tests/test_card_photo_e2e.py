"""A district that keeps photos out of its groups (`[limits] card_photo = false`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import REF, claim, open_bot, open_form


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"limits": {"card_photo": False}}


async def test_the_group_card_says_how_many_photos_and_the_claimer_gets_them(
    town: Town,
) -> None:
    """Alice describes the problem with a photo. The group's card is text only, saying
    there is one photo; Li, who claims, gets the photo in private."""
    alice, li = town.citizen, town.vol1
    await open_bot(li)
    await alice.send("/start")
    await alice.wait_for(text="Choose below")
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")
    await alice.send_photo(caption="The window frame is broken, see the photo.")
    await alice.wait_for(text="Where is it")
    await alice.send("12 Jianshe Road")
    await alice.wait_for(text="How can the volunteer reach you")
    await alice.tap("Skip")
    await alice.wait_for(text="Is everything correct?")
    await alice.press("✅ Confirm and send")
    receipt = await alice.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match
    card = await town.volunteers.wait_for(text=match.group(0))
    assert card.kind == "text" and "1 photo" in (card.text or "")
    assert not [m for m in town.volunteers.bot_messages() if m.kind == "photo"]
    assert match.group(0) in await claim(li, town.volunteers, card)
    photo = await li.wait_for(predicate=lambda m: m.kind == "photo")
    assert photo.chat is li.private
