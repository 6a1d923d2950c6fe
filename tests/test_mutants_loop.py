"""Claim stories that mutation testing (`make mutate`) found untold, end to end."""

from __future__ import annotations

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_bot

CLAIM = "🙋 Claim"
REGISTERED = {"volunteers": {"claim_mode": "registered"}}


async def grandma_volunteers(town: Town, *, opened: bool = True) -> SimUser:
    """Grandma Wang, who reads Chinese, joins the volunteers' group (and opens the bot)."""
    town.volunteers.add_member(town.grandma)
    if opened:
        await town.grandma.send("/start")
        await town.grandma.wait_for(text="请在下面选择")
    return town.grandma


async def link_payload(volunteer: SimUser, group: SimChat, card: SimMessage) -> tuple[str, str]:
    """Someone who never opened the bot presses Claim: the start payload of the link the
    popup gives them, and the popup's text."""
    answer = await (await volunteer.press(CLAIM, chat=group, message=card)).answer()
    assert answer.show_alert and answer.url is not None and answer.text is not None
    return answer.url.split("?start=", 1)[1], answer.text


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


async def test_a_second_press_of_claim_by_the_claimer_sends_her_the_details_again_in_chinese(
    town: Town,
) -> None:
    """Grandma Wang's phone sends her Claim press twice before the card changes. The first
    makes the request hers: a popup in Chinese, and in her private chat the details with
    Alice's phone. The second is no refusal: the popup says in Chinese that it is already
    hers, and the same details come again to her private chat, and to no group."""
    grandma = await grandma_volunteers(town)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    first = await grandma.press(CLAIM, chat=town.volunteers, message=card)
    assert (await first.answer()).text == f"接单成功：{ref}。详情已发到您和机器人的私聊。"
    details = await grandma.wait_for(text=f"您已接单 {ref}")
    assert "📞 电话：+8613800000001" in (details.text or "")

    again = await grandma.press_data(first.data, chat=town.volunteers, message=card)
    answer = await again.answer()
    assert answer.text == f"{ref} 已经是您的任务，详情已重新发给您。"
    assert not answer.show_alert
    resent = await grandma.wait_for(text=f"您已接单 {ref}")
    assert resent.text == details.text
    assert resent.buttons == ["✅ 办结", "↩️ 退回"]
    assert not [m for m in town.volunteers.bot_messages() if "+8613800000001" in (m.text or "")]


async def test_claims_refused_to_a_chinese_volunteer_are_refused_in_chinese(town: Town) -> None:
    """Grandma Wang and Li press Claim on the same card at once; Li's press arrives first.
    Grandma is told in Chinese that another volunteer took it. An old button for a request
    that no longer exists, and a Claim pressed in a chat where the request has no card (a
    forged one), are refused in Chinese too, and the request stays Li's."""
    grandma = await grandma_volunteers(town)
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    data = card.button_data[CLAIM]
    assert (await claim(town.vol1, town.volunteers, card)).startswith("It is yours")

    late = await (await grandma.press_data(data, chat=town.volunteers, message=card)).answer()
    assert (late.text, late.show_alert) == ("抱歉，这个诉求已经被其他志愿者接走了。", True)
    gone = await (await grandma.press_data("claim:999999", chat=town.volunteers,
                                           message=card)).answer()
    assert (gone.text, gone.show_alert) == ("这个诉求不存在。", True)
    forged = await (await grandma.press_data(data, chat=grandma.private)).answer()
    assert (forged.text, forged.show_alert) == ("这个按钮已经失效了。", True)
    assert "claimed by Li" in (card.text or "")


async def test_a_chinese_volunteers_moved_or_late_claim_link_is_explained_in_chinese(
    town: Town,
) -> None:
    """Grandma Wang presses Claim on two cards before ever opening the bot: she is asked in
    Chinese to open it first. An admin moves the first request to legal aid; she follows
    its link and is told in Chinese that it moved. She follows the second link 16 minutes
    after pressing: told in Chinese that it has expired. Both requests stay open."""
    grandma = await grandma_volunteers(town, opened=False)
    moved_ref = await file_request(town.citizen)
    moved, popup = await link_payload(grandma, town.volunteers,
                                      await card_of(town.volunteers, moved_ref))
    assert popup == (f"请先打开机器人（@{town.sb.bot_username}）并点「开始」，"
                     "然后再点「接单」。")
    late_ref = await file_request(town.citizen, text="The stairway light is broken.")
    late_card = await card_of(town.volunteers, late_ref)
    late, _ = await link_payload(grandma, town.volunteers, late_card)

    await town.admin.send(f"/move {moved_ref} legal", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="moved")
    await grandma.send(f"/start {moved}")
    await grandma.wait_for(text="您点击接单后，这个诉求已转到别处。"
                                "如果仍需志愿者，请在它现在的卡片上接单。")

    town.clock.advance(minutes=16)
    await grandma.send(f"/start {late}")
    await grandma.wait_for(text="这个接单链接已过期。"
                                "如果诉求仍在等待，请在卡片上再点一次“接单”。")
    assert late_card.buttons == [CLAIM]
    assert not [m for m in grandma.private.bot_messages() if "您已接单" in (m.text or "")]


async def test_a_claim_link_still_claims_at_the_last_second_of_its_fifteen_minutes(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Zhang presses Claim before opening the bot. The link he is given carries its
    deadline, fifteen minutes on. He follows it with the clock standing at exactly that
    second: it still holds, and the request is his."""
    ref = await file_request(town.citizen)
    payload, _ = await link_payload(town.vol2, town.volunteers,
                                    await card_of(town.volunteers, ref))
    expires = int(payload.rsplit("_", 2)[1])
    monkeypatch.setattr(town.clock, "now", lambda: float(expires))
    await town.vol2.send(f"/start {payload}")
    await town.vol2.wait_for(text=f"You took {ref}")


async def test_a_banned_volunteer_cannot_claim_and_the_card_waits_for_another(
    town: Town,
) -> None:
    """Zhang has opened the bot; an admin bans him. He presses Claim on a new card: he is
    told he cannot take requests at the moment, and the card still offers Claim. Li takes
    it."""
    await open_bot(town.vol1, town.vol2)
    await town.admin.send(f"/ban {town.vol2.id} never turns up")
    await town.admin.wait_for(text="is banned")
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert await claim(town.vol2, town.volunteers, card) == (
        "Sorry, you cannot take requests at the moment.")
    assert card.buttons == [CLAIM]
    assert await claim(town.vol1, town.volunteers, card) == (
        f"It is yours: {ref}. Details are in your private chat with the bot.")


@pytest.mark.parametrize("town_settings", [REGISTERED], ids=["registered"])
async def test_an_admin_may_claim_where_only_registered_volunteers_may(town: Town) -> None:
    """Only approved volunteers may claim in this district: Li, not registered, is sent to
    /join. The admin never registered as a volunteer, yet his Claim wins."""
    await open_bot(town.vol1, town.admin)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    li = await (await town.vol1.press(CLAIM, chat=town.volunteers, message=card)).answer()
    assert li.text == ("Only registered volunteers can claim requests. Please open the bot "
                       "and send /join.")
    assert await claim(town.admin, town.volunteers, card) == (
        f"It is yours: {ref}. Details are in your private chat with the bot.")
