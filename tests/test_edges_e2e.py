"""Edges a real deployment meets: a group that removed the bot, edits, commands in groups."""

from __future__ import annotations

from tests.conftest import Town
from tests.flows import card_of, file_request


async def test_a_card_its_group_refuses_goes_to_the_admins(town: Town) -> None:
    """The volunteers group removed the bot; Alice's card lands in the admin chat instead,
    with a notice saying why, and the admin can claim it there."""
    town.volunteers.remove_bot()
    await town.admin.send("/start")
    await town.admin.wait_for(text="Choose below")
    ref = await file_request(town.citizen)

    notice = await town.admin_chat.wait_for(text="could not be posted to its group")
    assert ref in notice.text
    card = await card_of(town.admin_chat, ref)
    assert card.buttons == ["🙋 Claim"]
    press = await town.admin.press("🙋 Claim", chat=town.admin_chat, message=card)
    assert ref in ((await press.answer()).text or "")
    await town.sb.wait_until(lambda: "claimed by Admin" in (card.text or ""))


async def test_editing_a_sent_message_is_answered_not_ignored(town: Town) -> None:
    """Alice edits her description after sending it; the bot explains how to change it."""
    await town.citizen.send("/start")
    await town.citizen.wait_for(text="Choose below")
    sent = await town.citizen.send("/help")
    await town.citizen.wait_for(text="How it works")
    await town.citizen.edit(sent, "/help please")
    reply = await town.citizen.wait_for(text="does not change anything")
    assert "Edit" in reply.text


async def test_a_private_command_typed_in_a_group_points_to_the_private_chat(town: Town) -> None:
    """Li types /new in the volunteers group; the bot answers there with where to go."""
    await town.vol1.send("/new", chat=town.volunteers)
    reply = await town.volunteers.wait_for(text="private chat")
    assert f"@{town.sb.bot_username}" in reply.text


async def test_a_bound_group_that_removes_the_bot_loses_its_binding_and_its_waiting_cards(
    town: Town,
) -> None:
    """The lawyers' group serves Legal aid; Alice's legal request waits there. Its owner Li
    removes the bot: the admins are told what the group served, the waiting request is
    posted again (to the admin chat, as nothing else serves Legal aid), and the binding is
    gone. When Li adds the bot back, the admins hear that it can be bound again."""
    lawyers = town.sb.add_group("Lawyers")
    lawyers.add_member(town.admin, status="administrator")
    lawyers.add_member(town.vol1)
    await town.admin.send("/bind legal", chat=lawyers)
    await lawyers.wait_for(text="Legal aid")
    ref = await file_request(town.citizen, category="Legal aid")
    await card_of(lawyers, ref)

    lawyers.remove_bot(by=town.vol1)
    again = await card_of(town.admin_chat, ref)  # posted again, then the admins told why
    assert again.buttons == ["🙋 Claim"]
    told = await town.admin_chat.wait_for(text="was removed from the group Lawyers by Li")
    assert "Legal aid" in (told.text or "") and "1 waiting request" in (told.text or "")
    await town.admin.send("/bindings", chat=town.admin_chat)
    listing = await town.admin_chat.wait_for(text="Volunteer groups")
    assert "Lawyers" not in (listing.text or "")

    lawyers.add_bot(by=town.vol1)
    await town.admin_chat.wait_for(text="was added to the group Lawyers by Li")
