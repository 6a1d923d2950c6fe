"""Claim stories that mutation testing (`make mutate`) found untold, end to end."""

from __future__ import annotations

import tomllib

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town, to_toml
from tests.flows import card_of, claim, file_request, open_bot, too_old
from tests.test_casework_e2e import file_in_chinese

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
    assert details.buttons == ["✅ 办结", "↩️ 退回", "💬 给居民留言"]


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

    again = await grandma.press_data(first.data, chat=town.volunteers, message=too_old(card))
    answer = await again.answer()
    assert answer.text == f"{ref} 已经是您的任务，详情已重新发给您。"
    assert not answer.show_alert
    resent = await grandma.wait_for(text=f"您已接单 {ref}")
    assert resent.text == details.text
    assert resent.buttons == ["✅ 办结", "↩️ 退回", "💬 给居民留言"]
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

    late = await (await grandma.press_data(data, chat=town.volunteers,
                                           message=too_old(card))).answer()
    assert (late.text, late.show_alert) == ("抱歉，这个诉求已经被其他志愿者接走了。", True)
    gone = await (await grandma.press_data("claim:999999", chat=town.volunteers,
                                           message=too_old(card))).answer()
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
    """Grandma Wang volunteers and has opened the bot; an admin bans her. She presses Claim
    on a new card: a popup she must dismiss tells her in Chinese that she cannot take
    requests at the moment, and the card still offers Claim. Li takes it."""
    grandma = await grandma_volunteers(town)
    await open_bot(town.vol1)
    await town.admin.send(f"/ban {grandma.id} 多次接单不到")
    await town.admin.wait_for(text="is banned")
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    refused = await (await grandma.press(CLAIM, chat=town.volunteers, message=card)).answer()
    assert (refused.text, refused.show_alert) == ("抱歉，您目前不能接单。", True)
    assert card.buttons == [CLAIM]
    assert await claim(town.vol1, town.volunteers, card) == (
        f"It is yours: {ref}. Details are in your private chat with the bot.")


@pytest.mark.parametrize("town_settings", [REGISTERED], ids=["registered"])
async def test_an_admin_may_claim_where_only_registered_volunteers_may(town: Town) -> None:
    """Only approved volunteers may claim in this district. Grandma Wang, who volunteers
    without having registered, is told in Chinese, in a popup she must dismiss, to register
    first, and it offers her the bot's /join. The admin never registered as a volunteer,
    yet his Claim wins."""
    grandma = await grandma_volunteers(town)
    await open_bot(town.admin)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    refused = await (await grandma.press(CLAIM, chat=town.volunteers, message=card)).answer()
    assert (refused.text, refused.show_alert, refused.url) == (
        "只有已登记的志愿者才能接单。请打开机器人发送 /join 登记。", True,
        f"https://t.me/{town.sb.bot_username}?start=join")
    assert await claim(town.admin, town.volunteers, card) == (
        f"It is yours: {ref}. Details are in your private chat with the bot.")


async def test_each_side_of_a_claim_hears_of_it_in_their_own_language(town: Town) -> None:
    """Grandma Wang files her request in Chinese; Li, who reads English, claims it. Li gets
    her address and phone under English headings; Grandma is told in Chinese that a
    volunteer has taken her request, with its number."""
    await open_bot(town.vol1)
    ref = await file_in_chinese(town.grandma)
    card = await card_of(town.volunteers, ref)
    assert (await claim(town.vol1, town.volunteers, card)).startswith(f"It is yours: {ref}")
    details = await town.vol1.wait_for(text=f"You took {ref}")
    assert "🏠 Address: 建设路12号3栋" in (details.text or "")
    assert "📞 Phone: +8613800000002" in (details.text or "")
    await town.grandma.wait_for(
        text=f"🙋 好消息：已有志愿者接了您的诉求 {ref}，可能很快会联系您。")


OVERDUE = "Overdue now (open requests past their time, whenever filed): "


async def overdue_now(town: Town) -> int:
    """The admin asks /stats in the admin chat: how many open requests it counts overdue."""
    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text=OVERDUE)
    line = next(line for line in (stats.text or "").splitlines() if line.startswith(OVERDUE))
    return int(line.removeprefix(OVERDUE))


async def test_a_request_claimed_after_it_was_escalated_is_no_longer_overdue(
    town: Town,
) -> None:
    """Nobody claims Alice's request for two hours: it goes up to the admin chat, and the
    admin's /stats counts it overdue. Then Li claims it from the volunteers' card: it is in
    hand, and /stats counts nothing overdue."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await town.tick(hours=2, minutes=1)
    await town.admin_chat.wait_for(text="Escalated")
    assert await overdue_now(town) == 1
    assert (await claim(town.vol1, town.volunteers, card)).startswith(f"It is yours: {ref}")
    assert await overdue_now(town) == 0


async def give_elderly_help(town: Town, **times: str) -> None:
    """The operator gives help for the elderly its own times in the config file (claim
    reminder, escalation, due) and sends /reload."""
    source = town.bot.config.source
    assert source is not None
    raw = tomllib.loads(source.read_text("utf-8"))
    raw["categories"][0].update(times)
    source.write_text(to_toml(raw), "utf-8")
    await open_bot(town.admin)
    await town.admin.send("/reload")
    await town.admin.wait_for(text="Reloaded")


async def test_a_waiting_request_is_reminded_and_escalated_on_its_own_categorys_times(
    town: Town,
) -> None:
    """Help for the elderly gets its own times: the group is reminded after an hour (not
    30 minutes) and the request goes up to the admins after three (not two)."""
    await give_elderly_help(town, claim_reminder="1h", escalate_after="3h")
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    assert await town.tick(minutes=59) == 0
    assert await town.tick(minutes=2) == 1
    await town.volunteers.wait_for(text=f"Still waiting for a volunteer: {ref}")
    assert await town.tick(hours=1) == 0  # two hours: the usual escalation, not this one's
    assert await town.tick(hours=1) == 1
    await town.admin_chat.wait_for(text="Escalated")


async def test_a_claimed_request_is_due_after_its_own_categorys_time(town: Town) -> None:
    """Help for the elderly is due six hours after the claim, not the usual day. Li claims
    Alice's request: five hours on nothing of his is due, at six he is reminded in private
    that it is due."""
    await give_elderly_help(town, due_after="6h")
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert (await claim(town.vol1, town.volunteers, card)).startswith(f"It is yours: {ref}")
    await town.vol1.wait_for(text=f"You took {ref}")
    assert await town.tick(hours=5) == 0
    assert await town.tick(hours=1, minutes=1) == 1
    reminder = await town.vol1.wait_for(text="Reminder: your task")
    assert ref in (reminder.text or "")


async def test_a_late_task_released_is_no_longer_overdue(town: Town) -> None:
    """Li claims Alice's request and goes quiet: a day later he is reminded, and the admin's
    /stats counts it overdue. He presses Release on the reminder: the request waits for a
    volunteer again, and /stats counts nothing overdue."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert (await claim(town.vol1, town.volunteers, card)).startswith(f"It is yours: {ref}")
    await town.tick(hours=24, minutes=1)
    reminder = await town.vol1.wait_for(text="Reminder: your task")
    assert await overdue_now(town) == 1
    released = await town.vol1.press("↩️ Release", message=reminder)
    assert (await released.answer()).text == "Released"
    await town.sb.wait_until(lambda: card.buttons == [CLAIM])
    assert await overdue_now(town) == 0
