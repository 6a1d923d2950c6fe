"""A Done note and a comment after rating, buried under another dialog, end to end: their
questions come back naming their request, and their buttons (the note's Skip, the hours, the
comment's Skip) still act when pressed on the message asked before: the dialog is brought up
and finished, and the one that was on top comes back with its "Back to …" line.

The town: hours are asked at Done. The clock starts on Wednesday 10 June 2026, 10:00 in
Shanghai.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_bot, open_form


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """Hours are asked at Done."""
    return {"volunteers": {"ask_hours": True}}


async def test_the_hours_and_the_comment_back_on_top_name_their_request(town: Town) -> None:
    """Li has written his note on the request he took and is asked how long it took when he
    opens a request form and gives it up: the hours question comes back naming the request.
    Alice, asked for a comment after rating it, does the same: the comment question comes
    back naming her request too."""
    li, alice = town.vol1, town.citizen
    await open_bot(li)
    ref = await file_request(alice)
    await claim(li, town.volunteers, await card_of(town.volunteers, ref))
    details = await li.wait_for(text=f"You took {ref}")
    await li.press("✅ Done", message=details)
    await li.wait_for(text=f"Finishing {ref}")
    await li.send("Called the lift company; fixed.")
    await li.wait_for(text="How long did it take?")

    await open_form(li, command=True)
    await li.send("/cancel")
    await li.wait_for(text="Back to what you were doing before")
    hours = await li.wait_for(text="How long did it take?")
    assert ref in (hours.text or ""), hours.text
    await li.press("1 h", message=hours)
    await li.wait_for(text=f"{ref} is marked done")

    await alice.press("👍 Yes, resolved", message=await alice.wait_for(text="resolved?"))
    await alice.press("⭐⭐⭐⭐⭐", message=await alice.wait_for(text="How would you rate"))
    await alice.wait_for(text="add a comment")
    await open_form(alice, command=True)
    await alice.send("/cancel")
    await alice.wait_for(text="Back to what you were doing before")
    comment = await alice.wait_for(text="add a comment")
    assert ref in (comment.text or ""), comment.text
    await alice.send("Quick and kind.")
    await alice.wait_for(text="Thank you for your feedback")
