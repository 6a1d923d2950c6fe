"""A card someone deleted from a group, end to end: the next change posts it again while it
still has something to press, and a card with nothing left to press stays deleted.

A group's admin may delete any message, the bot's cards too, and Telegram tells the bot
nothing; the bot finds out when it next edits the card and Telegram answers "message to edit
not found". Loop 1 here (a request's card in the volunteers' group, as text or as a photo);
loop 2 in tests/test_activity_cards_posted_again_e2e.py; loop 3 in
tests/test_supervision_errors_e2e.py; a combined message in tests/test_storm_e2e.py.
"""

from __future__ import annotations

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import REF, card_of, claim, eventually, file_request, open_bot, open_form

CLAIM = "🙋 Claim"
GONE = ("editMessageText", "Bad Request: message to edit not found")


def cards_of(group: SimChat, ref: str) -> list[SimMessage]:
    """Every live bot message of the group that shows the request."""
    return [m for m in group.bot_messages() if ref in (m.text or "")]


async def tidy_up(town: Town, card: SimMessage) -> None:
    """The admin, an administrator of the volunteers' group, deletes the card there."""
    town.volunteers.add_member(town.admin, status="administrator")
    town.volunteers.delete(card, by=town.admin)


async def all_sent(town: Town) -> None:
    """Wait until the bot has made every call it queued (a failed edit's consequences too:
    they are queued in the same transaction as its failure is noted)."""
    services = town.bot.services
    assert services is not None

    async def done() -> bool:
        async with services.env.db.reading() as repo:
            return await repo.outbox.pending_outbox() == 0

    await eventually(done)


async def taken_by(town: Town, volunteer: SimUser, card: SimMessage, ref: str) -> SimMessage:
    """The volunteer claims the request on the card; the details that reach them."""
    popup = await claim(volunteer, town.volunteers, card)
    assert popup.startswith(f"It is yours: {ref}"), popup
    return await volunteer.wait_for(text=ref, predicate=lambda m: "↩️ Release" in m.buttons)


async def test_a_card_deleted_while_claimed_comes_back_with_claim_when_released(
    town: Town,
) -> None:
    """Li claims Alice's request; the admin tidies the claimed card out of the group. Li
    cannot do it after all and releases it: the card cannot be redrawn (Telegram: "message to
    edit not found"), so it is posted again as the edit would have drawn it, waiting, with
    Claim. Zhang claims it there and the new card says so: later edits redraw the new one."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    details = await taken_by(town, town.vol1, card, ref)
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or ""))
    await tidy_up(town, card)

    assert (await (await town.vol1.press("↩️ Release", message=details)).answer()).text == \
        "Released"
    again = await town.volunteers.wait_for(text=ref)
    assert again is not card and again.kind == "text"
    assert "waiting for a volunteer" in (again.text or "") and again.buttons == [CLAIM]
    assert GONE in town.sb.errors

    await taken_by(town, town.vol2, again, ref)
    await town.sb.wait_until(lambda: "claimed by Zhang" in (again.text or ""))
    assert again.buttons == []
    assert cards_of(town.volunteers, ref) == [again]  # posted once, then redrawn in place


async def test_a_finished_card_deleted_is_not_posted_again(town: Town) -> None:
    """Li claims Alice's request and the admin deletes the claimed card. Li marks it done: the
    card's edit fails, but the card would have nothing to press (done by Li), so nothing comes
    back to the group."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    details = await taken_by(town, town.vol1, card, ref)
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or ""))
    await tidy_up(town, card)

    await town.vol1.press("✅ Done", message=details)
    await town.vol1.press("Skip", message=await town.vol1.wait_for(text="Write a short note"))
    await town.vol1.wait_for(text=f"{ref} is marked done")
    await town.citizen.wait_for(text=f"Is your request {ref} resolved?")
    await town.sb.wait_until(lambda: GONE in town.sb.errors)
    await all_sent(town)
    assert cards_of(town.volunteers, ref) == []


async def file_with_photo(citizen: SimUser) -> str:
    """Alice files a request whose description comes with a photo; its reference."""
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below")
    await open_form(citizen)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem")
    await citizen.send_photo(caption="My kitchen tap is leaking, see the photo.")
    await citizen.wait_for(text="Where is it")
    await citizen.send("12 Jianshe Road, building 3")
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("Skip")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    receipt = await citizen.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match, receipt.text
    return match.group(0)


async def test_a_photo_card_deleted_comes_back_as_the_photo_and_is_edited_as_one(
    town: Town,
) -> None:
    """Alice's request has a photo, so its card is the photo with the summary as its caption.
    Li claims it, the admin deletes the card, Li releases it: the card comes back as the same
    photo, captioned, with Claim; Zhang's claim then redraws that caption."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_with_photo(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert card.kind == "photo"
    photo = card.raw["photo"][-1]["file_id"]
    details = await taken_by(town, town.vol1, card, ref)
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or ""))
    await tidy_up(town, card)

    await (await town.vol1.press("↩️ Release", message=details)).answer()
    again = await town.volunteers.wait_for(text=ref)
    assert again.kind == "photo" and again.raw["photo"][-1]["file_id"] == photo
    assert "waiting for a volunteer" in (again.text or "") and again.buttons == [CLAIM]

    await taken_by(town, town.vol2, again, ref)
    await town.sb.wait_until(lambda: "claimed by Zhang" in (again.text or ""))
    assert cards_of(town.volunteers, ref) == [again]
    # One refusal: the caption of the deleted photo; the new one's caption was edited.
    assert town.sb.errors == [("editMessageCaption", GONE[1])]


async def test_a_lost_copy_taken_on_and_deleted_is_not_posted_again(town: Town) -> None:
    """The card is posted twice (the first post's answer lost) and Li claims from the lost
    copy, which becomes a card too. The admin tidies that duplicate away; Li then releases
    the request: the card the bot posted shows it waiting again, with Claim, and the deleted
    copy is not posted again (the group has its card)."""
    await open_bot(town.vol1, town.vol2)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=town.volunteers.id)
    ref = await file_request(town.citizen)
    first = await card_of(town.volunteers, ref)
    second = await card_of(town.volunteers, ref)
    details = await taken_by(town, town.vol1, first, ref)
    await town.sb.wait_until(lambda: "claimed by Li" in (first.text or "")
                             and "claimed by Li" in (second.text or ""))
    await tidy_up(town, first)

    assert (await (await town.vol1.press("↩️ Release", message=details)).answer()).text == \
        "Released"
    await town.sb.wait_until(lambda: second.buttons == [CLAIM])
    await all_sent(town)
    assert GONE in town.sb.errors
    assert cards_of(town.volunteers, ref) == [second]

