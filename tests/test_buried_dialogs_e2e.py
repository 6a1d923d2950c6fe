"""A Done note and a comment after rating, buried under another dialog, end to end: their
questions come back naming their request, and their buttons (the note's Skip, the hours, the
comment's Skip) still act when pressed on the message asked before: the dialog is brought up
and finished, and the one that was on top comes back with its "Back to …" line.

The town: hours are asked at Done. The clock starts on Wednesday 10 June 2026, 10:00 in
Shanghai.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from sandbox import SimMessage
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


async def finishing(town: Town) -> tuple[str, SimMessage]:
    """Alice's request, taken by Li, who presses Done: its reference and the note's question."""
    li = town.vol1
    await open_bot(li)
    ref = await file_request(town.citizen)
    await claim(li, town.volunteers, await card_of(town.volunteers, ref))
    await li.press("✅ Done", message=await li.wait_for(text=f"You took {ref}"))
    return ref, await li.wait_for(text=f"Finishing {ref}")


async def test_skip_and_the_hours_of_a_note_under_a_request_form_finish_it(town: Town) -> None:
    """Li is asked for his note when a neighbour stops him and he opens a request form for her.
    He remembers the task and presses Skip on the note's question, above: the note comes up,
    asking how long the task took; his 2 h mark it done, and he is back at the form, which
    goes on where it was."""
    li = town.vol1
    ref, note = await finishing(town)
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")

    await (await li.press("Skip", message=note)).answer()
    hours = await li.wait_for(text=f"Finishing {ref}. How long did it take?")
    await li.press("2 h", message=hours)
    await li.wait_for(text=f"{ref} is marked done")
    await li.wait_for(text="back to your unfinished request")
    await li.wait_for(text="describe the problem")
    await li.send("The stairs light is broken.")
    await li.wait_for(text="Where is it")


async def test_an_hours_button_pressed_under_writing_mode_finishes_the_task(town: Town) -> None:
    """Li is asked how long the task took when he presses Message the citizen and starts
    writing to Alice. Then he presses 1 h on the hours question above: the task is marked done
    with its hours, and he is back in writing mode, where what he sends still goes to Alice."""
    li, alice = town.vol1, town.citizen
    ref, _ = await finishing(town)
    await li.send("Called the lift company; fixed.")
    hours = await li.wait_for(text="How long did it take?")
    details = next(m for m in li.private.bot_messages() if f"You took {ref}" in (m.text or ""))
    await (await li.press("💬 Message the citizen", message=details)).answer()
    await li.wait_for(text="What you send now goes to the citizen")

    await li.press("1 h", message=hours)
    await li.wait_for(text=f"{ref} is marked done")
    await li.wait_for(text="Back to what you were doing before")
    await li.wait_for(text="What you send now goes to the citizen")
    await li.send("Call me if it leaks again.")
    await alice.wait_for(text="Call me if it leaks again.")


async def test_skip_of_a_comment_under_a_request_form_finishes_the_rating(town: Town) -> None:
    """Alice, asked for a comment after rating, opens a new request form instead, then presses
    Skip on the comment's question: her rating is closed without a comment and she is back at
    her new form."""
    li, alice = town.vol1, town.citizen
    ref, _ = await finishing(town)
    await li.send("Called the lift company; fixed.")
    await li.press("1 h", message=await li.wait_for(text="How long did it take?"))
    await alice.press("👍 Yes, resolved", message=await alice.wait_for(text="resolved?"))
    await alice.press("⭐⭐⭐⭐", message=await alice.wait_for(text="How would you rate"))
    comment = await alice.wait_for(text=f"add a comment on {ref}")
    await open_form(alice, command=True)

    await (await alice.press("Skip", message=comment)).answer()
    await alice.wait_for(text="Thank you for your feedback")
    await alice.wait_for(text="back to your unfinished request")
    await alice.wait_for(text="What kind of help")


async def test_a_note_brought_up_over_a_form_at_its_place_takes_the_location_button_away(
    town: Town,
) -> None:
    """Li's request form asks where the problem is, the location button under his keyboard,
    when he presses Skip on the Done note it lies on: the note comes up, the button goes off
    his screen and he is told the request waits for its place (a tap would answer the note).
    His 2 h mark the task done, the form asks where again, and his location is its place."""
    li = town.vol1
    ref, note = await finishing(town)
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")
    await li.send("The stairs light is broken.")
    await li.wait_for(text="Where is it")

    await (await li.press("Skip", message=note)).answer()
    await li.wait_for(text="Your request waits for its place")
    hours = await li.wait_for(text=f"Finishing {ref}. How long did it take?")
    with pytest.raises(LookupError):
        await li.tap("📍 Share my location")
    await li.press("2 h", message=hours)
    await li.wait_for(text=f"{ref} is marked done")
    await li.wait_for(text="Where is it")
    await li.tap("📍 Share my location")
    await li.wait_for(text="How can the volunteer reach you")


async def test_skip_of_a_note_already_written_changes_nothing_under_a_form(town: Town) -> None:
    """Li writes his note, is asked how long the task took, and opens a request form for a
    neighbour. Skip, pressed on the note's question above, is a button of a step he has
    passed: it says so, and the form stays on top, its answer taken as before; the hours
    button still finishes the task."""
    li = town.vol1
    ref, note = await finishing(town)
    await li.send("Called the lift company; fixed.")
    hours = await li.wait_for(text="How long did it take?")
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")

    old = await (await li.press("Skip", message=note)).answer()
    assert old.show_alert, old.text
    await li.send("The stairs light is broken.")
    await li.wait_for(text="Where is it")
    await li.press("2 h", message=hours)
    await li.wait_for(text=f"{ref} is marked done")


async def test_a_button_of_a_form_given_up_does_not_answer_the_next_one(town: Town) -> None:
    """Alice opens a request form and gives it up, then opens another. A category pressed
    on the first form's question belongs to a form that is gone: it says so, and the new
    form still waits for its own category."""
    alice = town.citizen
    first = await open_form(alice, command=True)
    await alice.send("/cancel")
    await alice.wait_for(text="cancelled")
    second = await open_form(alice, command=True)
    old = await (await alice.press("Help for the elderly", message=first)).answer()
    assert old.show_alert, old.text
    assert not [m for m in alice.private.bot_messages() if "describe the problem" in
                (m.text or "")]
    await alice.press("Help for the elderly", message=second)
    await alice.wait_for(text="describe the problem")


async def test_a_note_brought_up_from_the_middle_keeps_what_lay_under_it(town: Town) -> None:
    """Li has begun a request form for a neighbour when he presses Done on one task, then on
    another: two notes lie over the form. He skips the first note, from the middle: it comes
    up, and once its hours are in, the second note is back, then the form, nothing lost."""
    li = town.vol1
    await open_bot(li)
    first = await file_request(town.citizen, text="The tap is leaking.")
    await claim(li, town.volunteers, await card_of(town.volunteers, first))
    took_first = await li.wait_for(text=f"You took {first}")
    second = await file_request(town.citizen, text="The stairs light is broken.")
    await claim(li, town.volunteers, await card_of(town.volunteers, second))
    took_second = await li.wait_for(text=f"You took {second}")
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")
    await li.press("✅ Done", message=took_first)
    note = await li.wait_for(text=f"Finishing {first}")
    await li.press("✅ Done", message=took_second)
    await li.wait_for(text=f"Finishing {second}")

    await (await li.press("Skip", message=note)).answer()
    hours = await li.wait_for(text=f"Finishing {first}. How long did it take?")
    await li.press("1 h", message=hours)
    await li.wait_for(text=f"{first} is marked done")
    back = await li.wait_for(text=f"Finishing {second}")
    await li.press("Skip", message=back)
    await li.press("2 h", message=await li.wait_for(text="How long did it take?"))
    await li.wait_for(text=f"{second} is marked done")
    await li.wait_for(text="back to your unfinished request")
    await li.wait_for(text="describe the problem")


def dialogs_of(town: Town, user_id: int) -> list[tuple[Any, ...]]:
    """The person's dialog row, read beside the bot."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT flow FROM dialogs WHERE user_id = ?", (user_id,)).fetchall()


async def test_writing_mode_begun_again_over_a_form_leaves_no_copy_under_it(town: Town) -> None:
    """Li is writing to Alice about the request he took when he opens a request form, then
    presses Message the citizen again over it. He leaves writing mode with /cancel (the form
    comes back) and cancels the form: he is in no dialog any more, and what he types next
    does not go to Alice."""
    li, alice = town.vol1, town.citizen
    await open_bot(li)
    ref = await file_request(alice)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(li, town.volunteers, card)
    details = await li.wait_for(text=f"You took {ref}")
    await (await li.press("💬 Message the citizen", message=details)).answer()
    await li.wait_for(text="What you send now goes to the citizen")
    await open_form(li, command=True)
    await (await li.press("💬 Message the citizen", message=details)).answer()
    await li.wait_for(text="What you send now goes to the citizen")

    await li.send("/cancel")
    await li.wait_for(text="OK, skipped.")
    await li.send("/cancel")
    await li.wait_for(text="The request form was cancelled")
    assert dialogs_of(town, li.id) == []
    await li.send("Are you at home?")
    await li.wait_for(text="Sorry, I did not understand that")
    assert not [m for m in alice.private.bot_messages() if "Are you at home?" in (m.text or "")]


async def test_a_note_brought_up_over_a_form_leaves_no_copy_under_it(town: Town) -> None:
    """Li opens a request form over his note and presses the note's Skip: the note comes up
    over the form, asking how long the task took. He gives the note up with /cancel (the form
    is back), then the form: he is in no dialog any more, and no second copy of the note,
    left under the form, comes back to ask again."""
    li = town.vol1
    ref, note = await finishing(town)
    await open_form(li, command=True)
    await (await li.press("Skip", message=note)).answer()
    await li.wait_for(text=f"Finishing {ref}. How long did it take?")

    await li.send("/cancel")
    await li.wait_for(text="OK, skipped.")
    await li.send("/cancel")
    await li.wait_for(text="The request form was cancelled")
    assert dialogs_of(town, li.id) == []


async def test_a_form_back_after_a_note_is_nudged_an_hour_after_it_came_back(town: Town) -> None:
    """Li opens a request form, and 50 minutes later presses Done on his task: the note goes
    over the form. Once the note and its hours are in, the form is back, and its clock starts
    again: no nudge an hour after he opened it, one an hour after it came back."""
    li = town.vol1
    await open_bot(li)
    ref = await file_request(town.citizen)
    await claim(li, town.volunteers, await card_of(town.volunteers, ref))
    took = await li.wait_for(text=f"You took {ref}")
    await open_form(li, command=True)
    town.clock.advance(minutes=50)
    await li.press("✅ Done", message=took)
    await li.wait_for(text=f"Finishing {ref}")
    await li.send("Called the lift company; fixed.")
    await li.press("1 h", message=await li.wait_for(text="How long did it take?"))
    await li.wait_for(text=f"{ref} is marked done")
    await li.wait_for(text="back to your unfinished request")

    assert await town.tick(minutes=15) == 0  # an hour and 5 minutes since the form opened
    await town.tick(minutes=50)
    await li.wait_for(text="You have an unfinished request")
