"""Names with the characters HTML escapes (& < > ") shown where Telegram does not read HTML: a
button's label is plain text, so it shows a name as written, never "&amp;"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import open_form

WATER = "Water & power <pipes>"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """Two categories, the first named with an ampersand and angle brackets, with keywords."""
    return {"categories": [
        {"code": "water", "zh": "水电 & 管道", "en": WATER, "keywords": ["leak", "漏水"]},
        {"code": "other", "zh": "其他", "en": "Other"}]}


async def test_a_suggested_category_named_with_an_ampersand_shows_it_on_its_button(
        town: Town) -> None:
    """Alice just says what is wrong at the first step: the likely category comes first,
    starred, named as the config writes it, on its button as in the text."""
    alice = town.citizen
    await open_form(alice, command=True)
    await alice.send("The pipe under the sink has a leak")
    again = await alice.wait_for(text="Step 1 of 4")
    assert again.buttons[0] == f"⭐ Suggested: {WATER}", again.buttons
    assert all("&amp;" not in label and "&lt;" not in label for label in again.buttons)
