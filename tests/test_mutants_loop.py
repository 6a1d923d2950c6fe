"""Claim stories that mutation testing (`make mutate`) found untold, end to end."""

from __future__ import annotations

from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_bot

CLAIM = "🙋 Claim"


async def test_a_claim_link_followed_too_late_says_in_private_that_it_was_taken(
    town: Town,
) -> None:
    """Zhang, who never opened the bot, presses Claim and is sent to open it first. Before
    he does, Li takes the request. When Zhang follows his link he gets nothing of it, only a
    word in his private chat that another volunteer was quicker."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    press = await town.vol2.press(CLAIM, chat=town.volunteers, message=card)
    answer = await press.answer()
    assert answer.show_alert and answer.url is not None
    payload = answer.url.split("?start=", 1)[1]

    await open_bot(town.vol1)
    popup = await claim(town.vol1, town.volunteers, card)
    assert popup.startswith("It is yours"), popup

    await town.vol2.send(f"/start {payload}")
    told = await town.vol2.wait_for(text="another volunteer has already taken this request")
    assert told.chat is town.vol2.private
    assert ref not in (told.text or "")
    assert "claimed by Li" in (card.text or "")


async def test_a_chinese_volunteer_who_claims_through_the_link_is_answered_in_chinese(
    town: Town,
) -> None:
    """Grandma Wang volunteers too. She presses Claim before ever opening the bot, follows
    the link, and the request is hers: its details and buttons come in Chinese."""
    grandma = town.grandma
    town.volunteers.add_member(grandma)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    press = await grandma.press(CLAIM, chat=town.volunteers, message=card)
    answer = await press.answer()
    assert answer.url is not None
    await grandma.send(f"/start {answer.url.split('?start=', 1)[1]}")
    details = await grandma.wait_for(text=f"您已接单 {ref}")
    assert "You took" not in (details.text or "")
    assert details.buttons == ["✅ 办结", "↩️ 退回"]
