"""Dispatch end to end: claiming races, release, reopen, cancel, routing, admin commands, i18n.

Every story runs the real bot against the sandbox Telegram over HTTP; people act through the
sandbox's users and the tests wait on what they would see, never on the clock.
"""

from __future__ import annotations

import asyncio

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import (
    REF,
    card_of,
    claim,
    count_transactions,
    file_request,
    open_bot,
    open_form,
    refused_in_private,
)

ALICE_PHONE = "+8613800000001"
GRANDMA_PHONE = "+8613800000002"
CLAIM = "🙋 Claim"


# -- small steps the stories share -----------------------------------------------------------


def request_id(card: SimMessage) -> int:
    """The request id behind a card's Claim button."""
    data = card.button_data[CLAIM]
    assert data.startswith("claim:"), data
    return int(data.split(":")[1])


def bot_texts(chat: SimChat, text: str) -> list[SimMessage]:
    """Every live bot message of a chat whose text or caption contains `text`."""
    return [m for m in chat.bot_messages() if text in (m.text or "")]


async def claim_and_get_details(town: Town, volunteer: SimUser, group: SimChat,
                                card: SimMessage, ref: str, phone: str = ALICE_PHONE
                                ) -> SimMessage:
    """A volunteer claims a card and receives the private details with the phone."""
    popup = await claim(volunteer, group, card)
    assert popup.startswith("It is yours") and ref in popup, popup
    details = await volunteer.wait_for(text=ref, predicate=lambda m: phone in (m.text or ""))
    await town.sb.wait_until(
        lambda: f"claimed by {volunteer.first_name}" in (card.text or "") and not card.buttons)
    return details


async def finish(volunteer: SimUser, details: SimMessage, ref: str,
                 note: str | None = None) -> None:
    """The volunteer presses Done on the details and leaves a note (or skips it)."""
    await volunteer.press("✅ Done", message=details)
    prompt = await volunteer.wait_for(text="Write a short note")
    assert ref in prompt.text
    if note is None:
        await volunteer.press("Skip", message=prompt)
    else:
        await volunteer.send(note)
    await volunteer.wait_for(text=f"{ref} is marked done")


def assert_clean(town: Town) -> None:
    """Telegram never had to slow the bot down and refused none of its calls."""
    assert town.sb.count_429 == 0, town.sb.errors
    assert town.sb.errors == []


# -- the stories -----------------------------------------------------------------------------


async def test_two_volunteers_press_claim_at_once_and_exactly_one_wins(town: Town) -> None:
    """Li and Zhang press Claim on the same card at the same moment, five times over. Each
    time exactly one is told "It is yours", the other that someone was faster; only the winner
    gets the phone in private; the card names the winner and loses its button; and Alice hears
    exactly once that a volunteer took her request."""
    await open_bot(town.vol1, town.vol2)
    refs: list[str] = []
    for round_no in range(5):
        ref = await file_request(town.citizen, text=f"Race {round_no}: the tap is leaking.")
        refs.append(ref)
        card = await card_of(town.volunteers, ref)
        first, second = (town.vol1, town.vol2) if round_no % 2 == 0 else (town.vol2, town.vol1)
        presses = await asyncio.gather(
            first.press(CLAIM, chat=town.volunteers, message=card),
            second.press(CLAIM, chat=town.volunteers, message=card),
        )
        answers = await asyncio.gather(*(press.answer() for press in presses))
        outcome = [(press.user, answer.text or "", answer.show_alert)
                   for press, answer in zip(presses, answers, strict=True)]
        winners = [user for user, text, _ in outcome
                   if text.startswith("It is yours") and ref in text]
        losers = [user for user, text, alert in outcome
                  if "another volunteer has already taken" in text and alert]
        assert len(winners) == 1 and len(losers) == 1, outcome
        winner, loser = winners[0], losers[0]

        await winner.wait_for(text=ref, predicate=lambda m: ALICE_PHONE in (m.text or ""))
        await town.sb.wait_until(
            lambda w=winner, c=card: f"claimed by {w.first_name}" in (c.text or "")
            and not c.buttons)
        await town.citizen.wait_for(text=f"a volunteer has taken your request {ref}")
        assert bot_texts(loser.private, ref) == [], "the loser must not get the details"

    for ref in refs:
        assert len(bot_texts(town.citizen.private,
                             f"a volunteer has taken your request {ref}")) == 1
        holders = [v for v in (town.vol1, town.vol2) if bot_texts(v.private, ref)]
        assert len(holders) == 1, f"{ref} details went to {holders}"
    assert_clean(town)


async def test_a_released_request_can_be_claimed_by_someone_else(town: Town) -> None:
    """Li claims Alice's request but cannot do it and presses Release in private: he sees
    "Released", the card is waiting again with its Claim button, and Alice is told the
    volunteer could not do it. Zhang then claims it and gets the details."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, card, ref)

    press = await town.vol1.press("↩️ Release", message=details)
    assert (await press.answer()).text == "Released"
    await town.vol1.wait_for(text=f"You released {ref}")
    await town.sb.wait_until(
        lambda: "waiting for a volunteer" in (card.text or "") and card.buttons == [CLAIM])
    await town.citizen.wait_for(text=f"The volunteer could not do {ref}")

    await claim_and_get_details(town, town.vol2, town.volunteers, card, ref)
    assert "claimed by Li" not in (card.text or "")
    assert_clean(town)


async def test_not_resolved_reopens_the_request_with_a_fresh_card(town: Town) -> None:
    """Li marks Alice's request done, but Alice presses "No, not yet". She is told it is open
    again, Li is told she says it is not resolved, the admins get a notice, the old card is
    marked and keeps no Claim button, a fresh card with Claim appears in the volunteers group,
    and Zhang claims the reopened request."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    old_card = await card_of(town.volunteers, ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, old_card, ref)
    await finish(town.vol1, details, ref, note="Tightened the tap.")
    await town.sb.wait_until(lambda: "done by Li" in (old_card.text or ""))
    await town.citizen.wait_for(text=f"Is your request {ref} resolved?")

    press = await town.citizen.press("👎 No, not yet")
    await press.answer()
    await town.citizen.wait_for(text=f"{ref} is open again")
    await town.vol1.wait_for(text=f"The citizen says {ref} is not resolved yet")
    notice = await town.admin_chat.wait_for(text=f"{ref} was reopened by the citizen")
    assert "volunteer: Li" in notice.text

    new_card = await town.volunteers.wait_for(text=ref)
    assert new_card is not old_card and new_card.message_id > old_card.message_id
    assert new_card.buttons == [CLAIM]
    assert "waiting for a volunteer" in new_card.text and "Reopened 1 time" in new_card.text
    await town.sb.wait_until(lambda: "not resolved" in (old_card.text or ""))
    assert CLAIM not in old_card.buttons

    await claim_and_get_details(town, town.vol2, town.volunteers, new_card, ref)
    assert_clean(town)


async def test_citizen_cancels_from_my_requests(town: Town) -> None:
    """Alice has four requests: one closed, one done, one Li is on, one waiting. "My requests"
    lists them newest first with their status and offers Cancel only for the last two. She
    thinks better of cancelling the waiting one ("No, keep it": nothing changes), then cancels
    the one Li is on: she is told, the card says cancelled without buttons, and Li is told."""
    await open_bot(town.vol1)
    closed_ref = await file_request(town.citizen, text="First: the light is broken.")
    closed_card = await card_of(town.volunteers, closed_ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, closed_card,
                                          closed_ref)
    await finish(town.vol1, details, closed_ref)
    await town.citizen.wait_for(text=f"Is your request {closed_ref} resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")

    done_ref = await file_request(town.citizen, text="Second: the door squeaks.")
    done_card = await card_of(town.volunteers, done_ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, done_card, done_ref)
    await finish(town.vol1, details, done_ref)

    claimed_ref = await file_request(town.citizen, text="Third: the window is stuck.")
    claimed_card = await card_of(town.volunteers, claimed_ref)
    await claim_and_get_details(town, town.vol1, town.volunteers, claimed_card, claimed_ref)

    waiting_ref = await file_request(town.citizen, text="Fourth: the sink is blocked.")
    waiting_card = await card_of(town.volunteers, waiting_ref)

    await town.citizen.send("/start")
    await town.citizen.wait_for(text="Choose below")
    await town.citizen.press("📋 My requests")
    listing = await town.citizen.wait_for(text="Your requests")
    lines = listing.text.splitlines()[1:]
    assert [REF.search(line).group(0) for line in lines if REF.search(line)] == [
        waiting_ref, claimed_ref, done_ref, closed_ref]
    assert "waiting for a volunteer" in lines[0] and "a volunteer is on it" in lines[1]
    assert "done, waiting for your answer" in lines[2] and "closed" in lines[3]
    assert listing.buttons == [f"✖ Cancel {waiting_ref}", f"✖ Cancel {claimed_ref}"]

    await town.citizen.press(f"✖ Cancel {waiting_ref}", message=listing)
    await town.citizen.wait_for(text=f"Cancel request {waiting_ref}?")
    keep = await town.citizen.press("No, keep it")
    await keep.answer()

    await town.citizen.press(f"✖ Cancel {claimed_ref}", message=listing)
    await town.citizen.wait_for(text=f"Cancel request {claimed_ref}?")
    yes = await town.citizen.press("Yes, cancel it")
    assert (await yes.answer()).text == "Cancelled"
    await town.citizen.wait_for(text=f"Request {claimed_ref} is cancelled")
    await town.sb.wait_until(
        lambda: "cancelled by the citizen" in (claimed_card.text or "")
        and not claimed_card.buttons)
    await town.vol1.wait_for(text=f"The citizen cancelled {claimed_ref}")

    # "No, keep it" left the waiting request alone.
    assert bot_texts(town.citizen.private, f"Request {waiting_ref} is cancelled") == []
    assert waiting_card.buttons == [CLAIM] and "waiting for a volunteer" in waiting_card.text
    await town.citizen.send("/my")
    again = await town.citizen.wait_for(text="Your requests")
    assert listing.message_id < again.message_id
    waiting_line = next(line for line in again.text.splitlines() if waiting_ref in line)
    cancelled_line = next(line for line in again.text.splitlines() if claimed_ref in line)
    assert "waiting for a volunteer" in waiting_line and "cancelled" in cancelled_line
    assert again.buttons == [f"✖ Cancel {waiting_ref}"]
    assert_clean(town)


async def test_a_volunteer_who_never_opened_the_bot_is_asked_to_and_then_gets_it(
    town: Town,
) -> None:
    """Zhang has never written to the bot, so it cannot send him the details. When he presses
    Claim he gets an alert asking him to open the bot, with a link that carries the claim; the
    request stays open. He follows the link (signed for him alone) and the claim goes through;
    nobody else can use or forge such a link."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    rid = request_id(card)

    press = await town.vol2.press(CLAIM, chat=town.volunteers, message=card)
    answer = await press.answer()
    assert answer.show_alert
    assert "open the bot first" in (answer.text or "")
    assert f"@{town.sb.bot_username}" in (answer.text or "")
    link = f"https://t.me/{town.sb.bot_username}?start="
    assert answer.url is not None and answer.url.startswith(f"{link}claim_{rid}_")
    assert card.buttons == [CLAIM] and "waiting for a volunteer" in card.text

    # Li, who has the bot open, cannot take the link Zhang was given, nor forge one.
    payload = answer.url.removeprefix(link)
    await town.vol1.send(f"/start {payload}")
    await town.vol1.send(f"/start claim_{rid}_000000000000")
    await town.vol1.wait_for(text="Choose below")
    await town.vol1.wait_for(text="Choose below")
    assert not [m for m in town.vol1.private.bot_messages() if ALICE_PHONE in (m.text or "")]
    assert "waiting for a volunteer" in card.text

    await town.vol2.send(f"/start {payload}")
    details = await town.vol2.wait_for(text=ref,
                                       predicate=lambda m: ALICE_PHONE in (m.text or ""))
    assert details.buttons == ["✅ Done", "↩️ Release", "💬 Message the citizen"]
    await town.sb.wait_until(lambda: "claimed by Zhang" in (card.text or "") and not card.buttons)
    await town.citizen.wait_for(text=f"a volunteer has taken your request {ref}")
    # The first press claimed nothing: the card changed once, and Alice heard it once.
    assert card.edits == 1
    assert len(bot_texts(town.citizen.private, "a volunteer has taken your request")) == 1
    assert_clean(town)


async def test_a_category_without_a_group_goes_to_the_admins(town: Town) -> None:
    """Living environment has no volunteer group, so Alice's request lands in the admin chat
    with the same card and a Claim button; the admin, who has opened the bot, claims it."""
    await open_bot(town.admin)
    ref = await file_request(town.citizen, category="Living environment",
                             text="Rubbish has piled up by the gate.")
    card = await card_of(town.admin_chat, ref)
    assert card.buttons == [CLAIM]
    assert "waiting for a volunteer" in card.text and "Living environment" in card.text
    assert ALICE_PHONE not in card.text
    assert bot_texts(town.volunteers, ref) == []

    await claim_and_get_details(town, town.admin, town.admin_chat, card, ref)
    await town.citizen.wait_for(text=f"a volunteer has taken your request {ref}")
    assert_clean(town)


async def test_bind_makes_a_group_the_volunteers_of_a_category(town: Town) -> None:
    """In a new lawyers' group, Li (not an admin) tries /bind legal and is politely refused;
    the admin's /bind legal is confirmed, and Alice's next Legal aid request appears there.
    /bind nonsense shows the usage with the category codes, and /bind in private asks for the
    group."""
    lawyers = town.sb.add_group("Lawyers")
    lawyers.add_member(town.admin, status="administrator")
    lawyers.add_member(town.vol1)

    await refused_in_private(town.vol1, lawyers, "/bind legal")

    await town.admin.send("/bind legal", chat=lawyers)
    await lawyers.wait_for(text="This group now receives requests for Legal aid in the whole")

    ref = await file_request(town.citizen, category="Legal aid",
                             text="My landlord keeps my deposit.")
    card = await card_of(lawyers, ref)
    assert card.buttons == [CLAIM] and "Legal aid" in card.text
    assert bot_texts(town.admin_chat, ref) == [] and bot_texts(town.volunteers, ref) == []

    await town.admin.send("/bind nonsense", chat=lawyers)
    usage = await lawyers.wait_for(text="Usage: /bind")
    assert "<category>" in usage.text
    assert "elderly, environment, legal" in usage.text

    await town.admin.send("/bind legal")
    await town.admin.wait_for(text="Please send /bind inside the volunteer group.")
    assert_clean(town)


async def test_mytasks_lists_open_tasks_with_working_buttons(town: Town) -> None:
    """Zhang has no tasks yet. Li claims two of Alice's requests; /mytasks shows a title with
    the count and one message per task with Done and Release. Done on the first asks for the
    note, Release on the second puts it back on the card; afterwards Li has none left."""
    await open_bot(town.vol1, town.vol2)
    await town.vol2.send("/mytasks")
    await town.vol2.wait_for(text="You have no open tasks.")

    refs, cards = [], []
    for text in ("First: the tap drips.", "Second: the heater is cold."):
        ref = await file_request(town.citizen, text=text)
        card = await card_of(town.volunteers, ref)
        await claim_and_get_details(town, town.vol1, town.volunteers, card, ref)
        refs.append(ref)
        cards.append(card)

    await town.vol1.send("/mytasks")
    await town.vol1.wait_for(text="Your open tasks (2):")
    tasks = [await town.vol1.wait_for(text=ref) for ref in refs]
    for task in tasks:
        assert task.buttons == ["✅ Done", "↩️ Release", "💬 Message the citizen", "📄 Details"]

    # Lost the details? Details sends them again, with the phone.
    await town.vol1.press("📄 Details", message=tasks[0])
    again = await town.vol1.wait_for(text=refs[0], predicate=lambda m: ALICE_PHONE in m.text)
    assert again.buttons == ["✅ Done", "↩️ Release", "💬 Message the citizen"]

    await town.vol1.press("✅ Done", message=tasks[0])
    prompt = await town.vol1.wait_for(text=f"Finishing {refs[0]}. Write a short note")

    release = await town.vol1.press("↩️ Release", message=tasks[1])
    assert (await release.answer()).text == "Released"
    await town.sb.wait_until(
        lambda: cards[1].buttons == [CLAIM] and "waiting for a volunteer" in cards[1].text)

    await town.vol1.press("Skip", message=prompt)
    await town.vol1.wait_for(text=f"{refs[0]} is marked done")
    await town.sb.wait_until(lambda: "done by Li" in (cards[0].text or ""))
    await town.vol1.send("/mytasks")
    await town.vol1.wait_for(text="You have no open tasks.")
    assert_clean(town)


async def test_stats_for_admins_only_with_the_right_numbers(town: Town) -> None:
    """Li asking for /stats is refused. Alice files three requests: one is closed, she cancels
    one, Li is on the third. The admin's /stats shows Collected 3, Closed 1, Cancelled by
    citizens 1, a 50.00% completion rate (1 closed of 2 not cancelled) and one open request,
    claimed."""
    await open_bot(town.vol1)
    await refused_in_private(town.vol1, town.volunteers, "/stats")

    closed_ref = await file_request(town.citizen, text="First: the lamp flickers.")
    card = await card_of(town.volunteers, closed_ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, card, closed_ref)
    await finish(town.vol1, details, closed_ref)
    await town.citizen.wait_for(text=f"Is your request {closed_ref} resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")

    cancelled_ref = await file_request(town.citizen, text="Second: never mind this one.")
    await town.citizen.send("/my")
    listing = await town.citizen.wait_for(text="Your requests")
    await town.citizen.press(f"✖ Cancel {cancelled_ref}", message=listing)
    await town.citizen.wait_for(text=f"Cancel request {cancelled_ref}?")
    await town.citizen.press("Yes, cancel it")
    await town.citizen.wait_for(text=f"Request {cancelled_ref} is cancelled")

    claimed_ref = await file_request(town.citizen, text="Third: the stairs light is out.")
    card = await card_of(town.volunteers, claimed_ref)
    await claim_and_get_details(town, town.vol1, town.volunteers, card, claimed_ref)

    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text="Statistics")
    for expected in ("Collected: 3", "Closed: 1", "Cancelled by citizens: 1",
                     "Completion rate: 50.00%", "Open now: 1"):
        assert expected in stats.text, (expected, stats.text)
    by_status = stats.text.split("Open now: 1\n", 1)[1].splitlines()[:3]
    assert [line.rsplit(": ", 1)[1] for line in by_status] == ["0", "1", "0"], stats.text
    assert "waiting" in by_status[0] and "claimed" in by_status[1] and "done" in by_status[2]
    assert_clean(town)


async def test_done_with_a_photo_reaches_the_citizen_as_a_photo(town: Town) -> None:
    """Li finishes Alice's request by sending a photo with a caption as the note: Alice gets a
    photo whose caption carries the note, and then the "resolved?" question."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, card, ref)

    await town.vol1.press("✅ Done", message=details)
    await town.vol1.wait_for(text="Write a short note")
    sent = await town.vol1.send_photo(caption="New washer fitted, see the photo.")
    await town.vol1.wait_for(text=f"{ref} is marked done")

    photo = await town.citizen.wait_for(text="New washer fitted",
                                        predicate=lambda m: m.kind == "photo")
    assert f"The volunteer has finished your request {ref}" in photo.text
    assert photo.file_ids[-1] == sent.file_ids[-1], "Alice sees the very photo Li took"
    question = await town.citizen.wait_for(text=f"Is your request {ref} resolved?")
    assert question.buttons == ["👍 Yes, resolved", "👎 No, not yet"]
    assert_clean(town)


async def test_chinese_and_english_each_see_their_own_language(town: Town) -> None:
    """王奶奶 (zh) walks the whole loop and reads Chinese at every step while Li (en) helps her;
    Alice (en) reads English until she picks 中文 with /lang: then her menu is Chinese, and it
    stays Chinese after the bot restarts."""
    await open_bot(town.vol1)
    grandma = town.grandma
    await grandma.send("/start")
    greeting = await grandma.wait_for(text="请在下面选择")
    assert "王奶奶，您好" in greeting.text and "📝 新建诉求" in greeting.buttons
    await open_form(grandma, lang="zh")
    await grandma.press("助老服务")
    await grandma.wait_for(text="请说明情况")
    await grandma.send("厨房水龙头漏水，我自己修不好。")
    await grandma.wait_for(text="在哪里")
    await grandma.send("建设路12号3栋")
    await grandma.wait_for(text="志愿者怎么联系您")
    await grandma.tap("📞 发送我的手机号")
    await grandma.wait_for(text="内容都对吗")
    await grandma.press("✅ 确认提交")
    receipt = await grandma.wait_for(text="编号")
    match = REF.search(receipt.text)
    assert match, receipt.text
    ref = match.group(0)

    card = await card_of(town.volunteers, ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, card, ref,
                                          phone=GRANDMA_PHONE)
    assert "You took" in details.text  # Li still reads English
    await grandma.wait_for(text=f"已有志愿者接了您的诉求 {ref}")
    await finish(town.vol1, details, ref)
    await grandma.wait_for(text=f"志愿者已办结您的诉求 {ref}")
    question = await grandma.wait_for(text=f"您的诉求 {ref} 解决了吗")
    assert question.buttons == ["👍 已解决", "👎 还没有"]
    await grandma.press("👍 已解决")
    await grandma.wait_for(text="请给")
    await grandma.press("⭐⭐⭐⭐⭐")
    await grandma.wait_for(text="还有什么想说的吗")
    await grandma.press("跳过")
    await grandma.wait_for(text="感谢您的评价")

    alice = town.citizen
    await alice.send("/start")
    hello = await alice.wait_for(text="Hello, Alice!")
    assert "📝 New request" in hello.buttons
    await alice.send("/lang")
    await alice.wait_for(text="Choose your language:")
    await alice.press("中文")
    switched = await alice.wait_for(text="语言已设置为中文")
    assert "📝 新建诉求" in switched.buttons and "📋 我的诉求" in switched.buttons

    await town.bot.stop()
    await town.bot.start()
    await alice.send("/start")
    after = await alice.wait_for(text="Alice，您好")
    assert "📝 新建诉求" in after.buttons and "📝 New request" not in after.buttons
    assert_clean(town)


async def test_a_claim_forged_outside_the_cards_chat_gets_nothing(town: Town) -> None:
    """Mallory, who is not in the volunteers group, forges claim:<id> in her own chat with the
    bot. She gets the stale-button popup, never the phone, and the request stays open."""
    mallory = town.sb.add_user("Mallory", language_code="en")
    await open_bot(mallory)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    rid = request_id(card)

    press = await mallory.press_data(f"claim:{rid}", message=mallory.private.last_bot_message)
    answer = await press.answer()
    assert answer.show_alert and "no longer valid" in (answer.text or "")
    assert "waiting for a volunteer" in card.text and card.buttons == [CLAIM]
    assert not [m for m in mallory.private.bot_messages() if ALICE_PHONE in (m.text or "")]


async def test_find_shows_a_request_and_its_timeline_to_admins_only(town: Town) -> None:
    """The admin looks up Alice's claimed request in the admin chat: phone, address, volunteer
    and a timeline in words; Li may not, and nobody may in a volunteer group."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await claim_and_get_details(town, town.vol1, town.volunteers, card, ref)

    await town.admin.send(f"/find {ref}", chat=town.admin_chat)
    found = await town.admin_chat.wait_for(text=f"{ref} · claimed, in progress")
    # In a group, even the admin chat: no phone, no address, and where to get them.
    assert ALICE_PHONE not in found.text and "Jianshe Road" not in found.text
    assert f"send /find {ref} to me in private" in found.text
    assert "Volunteer: Li" in found.text
    timeline = found.text.split("Timeline", 1)[1]
    assert [line.split(" · ")[1] for line in timeline.strip().splitlines()] == [
        "filed", "posted to volunteers", "claimed"]
    assert "Alice" in timeline and "Li" in timeline

    await refused_in_private(town.vol1, town.volunteers, f"/find {ref}")
    await town.admin.send(f"/find {ref}", chat=town.volunteers)
    await town.volunteers.wait_for(text="This shows phone numbers")
    await town.admin.send("/find 2026-999999", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="No request has the reference 2026-999999")


async def test_following_a_claim_link_is_one_unit_of_work(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The /start that follows Zhang's claim link greets him and claims the request in one
    transaction: a crash between two commits could have kept the greeting and lost the claim.
    The same holds for a citizen's /cancel <ref>, which asks for the confirmation at once."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    press = await town.vol2.press(CLAIM, chat=town.volunteers, message=card)
    url = (await press.answer()).url
    assert url is not None
    opened = count_transactions(town, monkeypatch)
    await town.vol2.send(f"/start {url.split('?start=', 1)[1]}")
    await town.vol2.wait_for(text=ref, predicate=lambda m: ALICE_PHONE in (m.text or ""))
    assert sum(n for u, n in opened.items() if u is not None) == 1, opened

    opened.clear()
    other = await file_request(town.citizen, text="Filed twice by mistake")
    opened.clear()
    await town.citizen.send(f"/cancel {other}")
    await town.citizen.wait_for(text=f"Cancel request {other}?")
    assert sum(n for u, n in opened.items() if u is not None) == 1, opened
