"""The claimer's details at their longest: a district that takes descriptions of 3,000 units,
a request filed for a neighbour with every answer at its longest. The details are one message,
and Telegram takes 4,096 units: the description gives way, never the phone or the address
that come after it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import REF, card_of, claim, long_as, open_bot
from tests.test_limits_e2e import HARD
from tests.test_neighbour_e2e import PHONE, approve


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """The longest descriptions a district may allow."""
    return {"limits": {"description_max_chars": 3000}}


async def test_the_phone_and_the_address_reach_the_claimer_whatever_the_description(
        town: Town) -> None:
    """Li files for a neighbour: a description of 3,000 units, a place, a name and an address
    each at its longest in two-unit characters. Zhang claims it: his details end with the
    address, the phone and what to do next; the description is what is cut, with "…"."""
    li, zhang = town.vol1, town.vol2
    await open_bot(li, zhang)
    await approve(town, li)
    address = "🏠" * 300  # 300 characters, 600 units: as long as an address may be
    await li.send("/forneighbour")
    await li.wait_for(text="What kind of help")
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")
    await li.send(long_as(HARD, 3000))
    await li.wait_for(text="Where is it")
    await li.send("📍" * 300)
    await li.wait_for(text="neighbour's name")
    await li.send(long_as(HARD, 40))
    await li.wait_for(text="neighbour's phone number?")
    await li.send(PHONE)
    await li.wait_for(text="neighbour's address")
    await li.send(address)
    await li.wait_for(text="also have your number")
    await li.tap("No, only my neighbour's")
    await li.wait_for(text="Is everything correct?")
    await li.press("✅ Confirm and send")
    match = REF.search((await li.wait_for(text="Reference number")).text or "")
    assert match
    card = await card_of(town.volunteers, match.group(0))
    assert match.group(0) in await claim(zhang, town.volunteers, card)
    details = await zhang.wait_for(text="You took")
    text = details.text or ""
    assert PHONE in text and address in text and "press Done" in text, text[-300:]
    assert "…" in text
