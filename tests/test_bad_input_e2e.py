"""Bad input end to end: wrong things sent to the form, stale and forged buttons, a blocked chat.

Every wrong answer gets a short, polite note in the user's language and the same question
again; nothing already entered is lost; stale or foreign buttons change nothing; nothing a user
does makes the bot fail.
"""

from __future__ import annotations

import html
import logging

import pytest

from handlers.common import popup
from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import REF, card_of, claim, long_as, too_old
from tests.flows import open_form as open_the_form

ELDERLY = "Help for the elderly"
CONFIRM = "✅ Confirm and send"
NEXT = "Next ▶"
SHARE_PHONE = "📞 Share my phone number"
SHARE_LOCATION = "📍 Share my location"
STALE = "This button is no longer valid."
FORM_CLOSED = "This form is already closed."
SOMETHING_WRONG = "something went wrong"


# ---- steps the stories share ---------------------------------------------------------------


async def open_form(user: SimUser, category: str = ELDERLY) -> None:
    """Start a new request and pick a category: the form asks for the description."""
    first_question = await open_the_form(user, command=True)
    assert "Step 1 of 4" in (first_question.text or "")
    await user.press(category)
    await user.wait_for(text="Step 2 of 4")


async def reach_summary(user: SimUser, text: str = "The stairwell light is broken.",
                        address: str = "12 Jianshe Road, building 3") -> SimMessage:
    """Fill the whole form (text, typed address, own phone) up to the summary."""
    await open_form(user)
    await user.send(text)
    await user.wait_for(text="Step 3 of 4")
    await user.send(address)
    await user.wait_for(text="Step 4 of 4")
    await user.tap(SHARE_PHONE)
    return await user.wait_for(text="Is everything correct?")


async def send_it(user: SimUser) -> str:
    """Confirm the summary; returns the reference number from the receipt."""
    press = await user.press(CONFIRM)
    toast = await press.answer()
    receipt = await user.wait_for(text="Reference number")
    ref = (toast.text or "").removeprefix("Sent: ")
    assert ref and ref in receipt.text, (toast, receipt.text)
    return ref


async def turned_away(user: SimUser, note: str, question: str) -> SimMessage:
    """The bot says briefly what was wrong, then asks the same question again."""
    said = await user.wait_for(text=note)
    assert len(said.text or "") < 130, said.text  # a short note, not a wall of text
    assert SOMETHING_WRONG not in (said.text or "")
    return await user.wait_for(text=question)


def request_id(card: SimMessage) -> int:
    """The request's id, read from the card's Claim button (callback data claim:<id>)."""
    data = card.button_data["🙋 Claim"]
    assert data.startswith("claim:"), data
    return int(data.split(":")[1])


async def alert(user: SimUser, data: str, message: SimMessage | None = None,
                chat: SimChat | None = None) -> str:
    """Press a button with this callback data; returns the bot's popup (an alert)."""
    press = await user.press_data(data, chat=chat, message=message)
    answer = await press.answer()
    assert answer.show_alert, (data, answer)
    return answer.text or ""


def assert_nothing_broke(town: Town, caplog: pytest.LogCaptureFixture,
                         blocked: tuple[SimUser, ...] = ()) -> None:
    """Every press was answered, never with the error popup; Telegram refused no call except
    sends to the users who blocked the bot; the bot logged no error or traceback."""
    for record in town.sb.world.callbacks.values():
        assert record.answer is not None, f"press {record.query_id} was never answered"
        assert SOMETHING_WRONG not in (record.answer.text or ""), record.answer
    blocked_ids = {str(user.id) for user in blocked}
    for method, params, body in town.sb.calls:
        if isinstance(body, dict) and body.get("ok") is False:
            expected = (body.get("error_code") == 403
                        and str(params.get("chat_id")) in blocked_ids)
            assert expected, f"Telegram refused {method} {params}: {body}"
    assert town.sb.count_429 == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


# ---- 1. every step of the form answers the unexpected --------------------------------------


async def test_a_sticker_at_the_category_step_gets_the_buttons_again(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice sends a sticker instead of tapping a category; the bot asks her to use the
    buttons and shows the categories again, and tapping one moves the form on. (Typed words
    there are a description: tests/test_suggest_e2e.py.)"""
    alice = town.citizen
    await open_the_form(alice, command=True)
    await alice.send_sticker()
    again = await turned_away(alice, "Please use the buttons below.", "Step 1 of 4")
    assert again.buttons == [ELDERLY, "Living environment", "Legal aid", "✖ Cancel"]

    await alice.press(ELDERLY, message=again)
    await alice.wait_for(text="Step 2 of 4")
    assert_nothing_broke(town, caplog)


async def test_the_description_step_turns_away_what_is_not_a_description(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """At the description step Alice sends a sticker, a PDF, her location, a 5,000-character
    essay and /foo; each time the bot says why and asks again. Her category is kept, and the
    request she finally sends carries her real description."""
    alice = town.citizen
    await open_form(alice)
    want = "Please describe the problem with text, a voice message or photos."

    await alice.send_sticker("😀")
    await turned_away(alice, want, "Step 2 of 4")
    await alice.send_document("electricity-bill.pdf")
    await turned_away(alice, want, "Step 2 of 4")
    await alice.send_location(34.86, 117.55)
    await turned_away(alice, want, "Step 2 of 4")
    await alice.send("x" * 5000)
    too_long = await alice.wait_for(text="That text is too long")
    assert "5000" in too_long.text and "under 1000 characters" in too_long.text
    await alice.wait_for(text="Step 2 of 4")
    await alice.send("/foo")
    await turned_away(alice, "You are in the middle of a request", "Step 2 of 4")
    await alice.send("\u200b\u200f")  # a zero-width space and a direction mark: nothing shows
    await turned_away(alice, want, "Step 2 of 4")

    await alice.send("The stairwell light is broken.")
    await alice.wait_for(text="Step 3 of 4")
    await alice.send("\u2060 \u200b")  # nothing that shows is no address either
    await turned_away(alice, "Please tap the button to share your location, or type the "
                             "address.", "Step 3 of 4")
    await alice.send("12 Jianshe Road, building 3")
    await alice.wait_for(text="Step 4 of 4")
    await alice.tap(SHARE_PHONE)
    summary = await alice.wait_for(text="Is everything correct?")
    assert f"Category: {ELDERLY}" in summary.text
    assert "The stairwell light is broken." in summary.text
    assert "xxxx" not in summary.text and "/foo" not in summary.text
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    assert "The stairwell light is broken." in card.text
    assert_nothing_broke(town, caplog)


async def test_a_broken_character_in_a_description_is_kept_as_a_mark_and_the_bot_goes_on(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """A message whose JSON carries half of a UTF-16 pair (a lone surrogate: no character at
    all, which no database or UTF-8 text can hold) reaches the bot: it is not the end of
    the bot's polling. The broken half becomes U+FFFD, the request goes through with the rest
    of Alice's words, and Grandma is served after her."""
    alice = town.citizen
    summary = await reach_summary(alice, text="The stairwell light is broken \ud800 since Monday.")
    assert "The stairwell light is broken \ufffd since Monday." in summary.text
    ref = await send_it(alice)
    assert "\ufffd since Monday" in (await card_of(town.volunteers, ref)).text
    await town.grandma.send("/start")
    await town.grandma.wait_for(text="请在下面选择")
    assert_nothing_broke(town, caplog)


async def test_a_sixth_photo_is_refused_and_the_first_five_are_kept(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice sends six photos one by one. Five are acknowledged, the sixth gets the "at most
    5 photos" note; she taps Next and her request goes out with five photos."""
    alice = town.citizen
    await open_form(alice)
    for n in range(1, 6):
        await alice.send_photo()
        ack = await alice.wait_for(text=f"Photo received ({n} of at most 5)")
        assert ack.buttons == [NEXT, "✖ Cancel"]
    await alice.send_photo()
    refused = await alice.wait_for(text="You can send at most 5 photos.")
    assert NEXT in refused.buttons

    await alice.press(NEXT, message=refused)
    await alice.wait_for(text="Step 3 of 4")
    await alice.send("12 Jianshe Road, building 3")
    await alice.wait_for(text="Step 4 of 4")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "5 photo(s)" in summary.text
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    assert card.kind == "photo" and "5 photo(s)" in card.text
    assert_nothing_broke(town, caplog)


async def test_the_location_step_turns_away_a_sticker_and_a_photo(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Asked where, Alice sends a sticker and then a photo; each time the bot asks her to
    share her location or type the address, with the location button again. Her description
    is kept and her shared location goes into the request."""
    alice = town.citizen
    await open_form(alice)
    await alice.send("The stairwell light is broken.")
    await alice.wait_for(text="Step 3 of 4")
    want = "Please tap the button to share your location, or type the address."

    await alice.send_sticker()
    again = await turned_away(alice, want, "Step 3 of 4")
    assert again.reply_keyboard == [SHARE_LOCATION]
    await alice.send_photo()
    again = await turned_away(alice, want, "Step 3 of 4")
    assert again.reply_keyboard == [SHARE_LOCATION]

    await alice.tap(SHARE_LOCATION, latitude=34.86, longitude=117.55)
    await alice.wait_for(text="Step 4 of 4")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "The stairwell light is broken." in summary.text
    assert "location shared" in summary.text
    assert "photo(s)" not in summary.text  # the stray photo did not join the description
    assert_nothing_broke(town, caplog)


async def test_the_contact_step_takes_only_alices_own_number(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Asked how to reach her, Alice sends a sticker, then her neighbour's contact card; the
    bot asks for her own number. Her own number is what the volunteer finally gets."""
    alice = town.citizen
    await open_form(alice)
    await alice.send("The stairwell light is broken.")
    await alice.wait_for(text="Step 3 of 4")
    await alice.send("12 Jianshe Road, building 3")
    await alice.wait_for(text="Step 4 of 4")

    await alice.send_sticker()
    again = await turned_away(
        alice, "Please tap the button to share your phone number, type it, or tap Skip.",
        "Step 4 of 4")
    assert again.reply_keyboard == [SHARE_PHONE, "Skip"]
    await alice.send_contact(phone="+8613999999999", first_name="Neighbour",
                             user_id=town.vol2.id)
    again = await turned_away(alice, "Please share your own number with the button below.",
                              "Step 4 of 4")
    assert again.reply_keyboard == [SHARE_PHONE, "Skip"]

    await alice.tap(SHARE_PHONE)
    summary = await alice.wait_for(text="Is everything correct?")
    assert "+8613800000001" in summary.text and "+8613999999999" not in summary.text
    assert "The stairwell light is broken." in summary.text
    assert "12 Jianshe Road, building 3" in summary.text
    assert_nothing_broke(town, caplog)


async def test_typed_text_at_the_summary_shows_the_summary_again(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """At the summary Alice types "yes that's right" instead of pressing Confirm; the bot
    asks her to use the buttons and shows the same summary; Confirm then sends it."""
    alice = town.citizen
    await reach_summary(alice)
    await alice.send("yes that's right")
    again = await turned_away(alice, "Please use the buttons below.", "Is everything correct?")
    assert again.buttons == [CONFIRM, "🔒 Don't show my phone to the volunteer", "✏️ Edit",
                             "✖ Cancel"]
    assert "The stairwell light is broken." in again.text
    assert "12 Jianshe Road, building 3" in again.text and "+8613800000001" in again.text

    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    assert "The stairwell light is broken." in card.text and "address given" in card.text
    assert_nothing_broke(town, caplog)


# ---- 2. the same answers in Chinese --------------------------------------------------------


async def test_grandma_is_turned_away_in_chinese(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """王奶奶 (Telegram in Chinese) sends a sticker at the category step, a sticker as her
    description, a sticker as her place and someone else's contact: every note and every
    repeated question is in Chinese, and her request still goes out."""
    grandma = town.grandma
    await open_the_form(grandma, command=True, lang="zh")
    await grandma.send_sticker()
    await turned_away(grandma, "请使用下面的按钮。", "第 1 步，共 4 步。")
    await grandma.press("助老服务")
    await grandma.wait_for(text="第 2 步，共 4 步。")

    await grandma.send_sticker()
    await turned_away(grandma, "请用文字、语音或照片说明情况。", "第 2 步，共 4 步。")
    await grandma.send("家里的灯坏了。")
    await grandma.wait_for(text="第 3 步，共 4 步。")
    await grandma.send_sticker()
    again = await turned_away(grandma, "请点按钮发送位置，或者输入地址。", "第 3 步，共 4 步。")
    assert again.reply_keyboard == ["📍 发送我的位置"]
    await grandma.send("建设路 8 号")
    await grandma.wait_for(text="第 4 步，共 4 步。")
    await grandma.send_contact(phone="+8613999999999", first_name="邻居", user_id=town.vol1.id)
    again = await turned_away(grandma, "请用下面的按钮发送您本人的手机号。", "第 4 步，共 4 步。")
    assert again.reply_keyboard == ["📞 发送我的手机号", "跳过"]

    await grandma.tap("📞 发送我的手机号")
    summary = await grandma.wait_for(text="内容都对吗？")
    assert "助老服务" in summary.text and "家里的灯坏了。" in summary.text
    assert "建设路 8 号" in summary.text and "+8613800000002" in summary.text
    await grandma.press("✅ 确认提交")
    await grandma.wait_for(text="编号")
    said = [m.text or "" for m in grandma.private.bot_messages()]
    assert not [text for text in said if "Please" in text or "Step" in text], said
    assert_nothing_broke(town, caplog)


# ---- 3 and 4. voice and albums -------------------------------------------------------------


async def test_a_voice_description_reaches_the_volunteer_who_claims(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice describes her problem by voice and taps Next; the card mentions the voice
    message, and Li, who claims it, gets the voice note itself with the details."""
    alice, li = town.citizen, town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await open_form(alice)
    voice = await alice.send_voice(duration=7)
    ack = await alice.wait_for(text="Voice message received")
    await alice.press(NEXT, message=ack)
    await alice.wait_for(text="Step 3 of 4")
    await alice.send("12 Jianshe Road, building 3")
    await alice.wait_for(text="Step 4 of 4")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "🎤 voice message" in summary.text
    ref = await send_it(alice)

    card = await card_of(town.volunteers, ref)
    assert "🎤 voice message" in card.text
    assert ref in await claim(li, town.volunteers, card)
    details = await li.wait_for(text=f"You took {ref}")
    assert details.buttons == ["✅ Done", "↩️ Release", "💬 Message the citizen"]
    voices = [m for m in li.private.bot_messages() if m.kind == "voice"]
    assert [m.file_ids for m in voices] == [voice.file_ids]
    assert_nothing_broke(town, caplog)


async def test_an_album_with_a_caption_becomes_a_request_with_three_photos(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice sends an album of three photos with a caption as her description; the form moves
    on, the group card is a photo saying 3 photo(s), and Li gets the same three photos."""
    alice, li = town.citizen, town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await open_form(alice)
    album = await alice.send_album(n=3, caption="The ceiling is leaking, see the photos.")
    await alice.wait_for(text="Step 3 of 4")
    await alice.send("12 Jianshe Road, building 3")
    await alice.wait_for(text="Step 4 of 4")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "3 photo(s)" in summary.text
    assert "The ceiling is leaking, see the photos." in summary.text
    ref = await send_it(alice)

    card = await card_of(town.volunteers, ref)
    assert card.kind == "photo" and "3 photo(s)" in card.text
    await claim(li, town.volunteers, card)
    await li.wait_for(text=f"You took {ref}")
    photos = [m for m in li.private.bot_messages() if m.kind == "photo"]
    assert len(photos) == 3 and len({m.media_group_id for m in photos}) == 1
    assert [m.file_ids[-1] for m in photos] == [m.file_ids[-1] for m in album]
    assert_nothing_broke(town, caplog)


# ---- 5. editing from the summary -----------------------------------------------------------


async def test_editing_the_description_and_the_place_from_the_summary(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """At the summary Alice edits her description, then replaces the typed address with her
    shared location; each time she is back at the summary with everything else kept."""
    alice = town.citizen
    await reach_summary(alice, text="The light is broken.")
    await alice.press("✏️ Edit")
    choices = await alice.wait_for(text="What would you like to change?")
    assert choices.buttons == ["Category", "Description", "Place", "Phone number", "◀ Back"]
    await alice.press("Description", message=choices)
    await alice.wait_for(text="Step 2 of 4")
    await alice.send("The stairwell light on floor 3 is broken.")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "The stairwell light on floor 3 is broken." in summary.text
    assert "📝 The light is broken." not in summary.text
    assert f"Category: {ELDERLY}" in summary.text
    assert "12 Jianshe Road, building 3" in summary.text and "+8613800000001" in summary.text

    await alice.press("✏️ Edit", message=summary)
    choices = await alice.wait_for(text="What would you like to change?")
    await alice.press("Place", message=choices)
    await alice.wait_for(text="Step 3 of 4")
    await alice.tap(SHARE_LOCATION, latitude=34.86, longitude=117.55)
    summary = await alice.wait_for(text="Is everything correct?")
    assert "location shared" in summary.text and "12 Jianshe" not in summary.text
    assert "The stairwell light on floor 3 is broken." in summary.text
    assert f"Category: {ELDERLY}" in summary.text and "+8613800000001" in summary.text
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    assert "location shared" in card.text and "floor 3" in card.text
    assert_nothing_broke(town, caplog)


# ---- 6. stale and foreign buttons ----------------------------------------------------------


async def test_confirm_pressed_twice_sends_one_request(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice double-taps Confirm: the first press sends her request, the second says the form
    is closed. She gets one receipt, the volunteers one card, and her list shows one request."""
    alice = town.citizen
    summary = await reach_summary(alice)
    data = summary.button_data[CONFIRM]
    first = await alice.press_data(data, message=summary)
    second = await alice.press_data(data, message=summary)
    sent = await first.answer()
    assert sent.text and sent.text.startswith("Sent: ")
    ref = sent.text.removeprefix("Sent: ")
    closed = await second.answer()
    assert closed.show_alert and closed.text == FORM_CLOSED

    await card_of(town.volunteers, ref)
    await alice.send("/my")
    listing = await alice.wait_for(text="Your requests")
    assert listing.text.count("• ") == 1
    receipts = [m for m in alice.private.bot_messages() if "Reference number" in (m.text or "")]
    assert len(receipts) == 1
    cards = [m for m in town.volunteers.bot_messages() if "Category:" in (m.text or "")]
    assert len(cards) == 1
    assert_nothing_broke(town, caplog)


async def test_a_category_button_of_a_cancelled_form_does_nothing(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice cancels her form, then taps a category on the old form, and again after starting
    a new one: both times a popup says the form is closed and the new form stays at step 1."""
    alice = town.citizen
    old_form = await open_the_form(alice, command=True)
    assert "Step 1 of 4" in (old_form.text or "")
    await alice.press("✖ Cancel", message=old_form)
    await alice.wait_for(text="The request form was cancelled")
    old_category = old_form.button_data[ELDERLY]

    assert await alert(alice, old_category, message=old_form) == FORM_CLOSED
    await alice.send("/new")
    await alice.wait_for(text="Step 1 of 4")
    assert await alert(alice, old_category, message=old_form) == FORM_CLOSED
    await alice.send_sticker()  # the old button did not move her on: still the first step
    await turned_away(alice, "Please use the buttons below.", "Step 1 of 4")
    assert not [m for m in alice.private.bot_messages() if "Step 2 of 4" in (m.text or "")]
    assert_nothing_broke(town, caplog)


async def test_another_volunteer_cannot_finish_or_release_lis_task(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Li claims Alice's request. Zhang forges Li's Done and Release buttons in his own chat
    with the bot: both say it is not his, and the request stays Li's."""
    alice, li, zhang = town.citizen, town.vol1, town.vol2
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await zhang.send("/start")
    await zhang.wait_for(text="Choose below")
    await reach_summary(alice)
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    rid = request_id(card)
    await claim(li, town.volunteers, card)
    await li.wait_for(text=f"You took {ref}")
    await town.sb.wait_until(lambda: "claimed by Li" in card.text)
    edits = card.edits

    not_yours = "This task is not (or no longer) yours."
    days_later = too_old(zhang.private.bot_messages()[-1])  # what it carries is not seen
    assert await alert(zhang, f"done:{rid}", message=days_later) == not_yours
    assert await alert(zhang, f"release:{rid}", message=days_later) == not_yours

    await li.send("/mytasks")
    await li.wait_for(text="Your open tasks (1)")
    await li.wait_for(text=ref)
    assert "claimed by Li" in card.text and card.buttons == [] and card.edits == edits
    assert not [m for m in alice.private.bot_messages() if "could not do" in (m.text or "")]
    assert not [m for m in zhang.private.bot_messages() if ref in (m.text or "")]
    assert_nothing_broke(town, caplog)


async def test_claim_on_a_cancelled_request_is_refused(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice cancels her request from her list; Li presses the Claim button he still has on
    screen: the popup says it is no longer open, the card stays cancelled, Li gets nothing."""
    alice, li = town.citizen, town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await reach_summary(alice)
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    claim_data = card.button_data["🙋 Claim"]

    await alice.send("/my")
    await alice.wait_for(text="Your requests")
    await alice.press(f"✖ Cancel {ref}")
    await alice.wait_for(text=f"Cancel request {ref}?")
    await alice.press("Yes, cancel it")
    await alice.wait_for(text=f"Request {ref} is cancelled.")
    await town.sb.wait_until(lambda: "cancelled by the citizen" in card.text)
    assert card.buttons == []

    assert await alert(li, claim_data, message=card) == STALE  # its Claim is gone
    popup = await alert(li, claim_data, message=too_old(card))
    assert popup == "This request is no longer open."
    await li.send("/mytasks")
    await li.wait_for(text="You have no open tasks.")
    assert "cancelled by the citizen" in card.text and card.buttons == []
    assert not [m for m in li.private.bot_messages() if ref in (m.text or "")]
    assert_nothing_broke(town, caplog)


async def test_resolved_and_stars_pressed_twice_count_once(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Li finishes Alice's request. Alice taps "Yes, resolved" twice and then two different
    star ratings: the second tap of each gets a polite popup and changes nothing."""
    alice, li = town.citizen, town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await reach_summary(alice)
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    await claim(li, town.volunteers, card)
    await li.wait_for(text=f"You took {ref}")
    await li.press("✅ Done")
    await li.wait_for(text="Write a short note")
    await li.press("Skip")
    await li.wait_for(text="marked done")

    question = await alice.wait_for(text=f"Is your request {ref} resolved?")
    yes = question.button_data["👍 Yes, resolved"]
    first = await alice.press_data(yes, message=question)
    assert (await first.answer()).text == "Thank you!"
    assert await alert(alice, yes, message=question) == "You have already answered this."
    no = question.button_data["👎 No, not yet"]
    assert await alert(alice, no, message=question) == "You have already answered this."

    stars = await alice.wait_for(text="How would you rate")
    four = await alice.press("⭐⭐⭐⭐", message=stars)
    assert (await four.answer()).text == "Thank you: 4 star(s)."
    two = stars.button_data["⭐⭐"]
    assert await alert(alice, two, message=stars) == "You have already rated this request."
    await alice.wait_for(text="add a comment")
    await alice.press("Skip")
    await alice.wait_for(text="Your request is closed")

    said = [m.text or "" for m in alice.private.bot_messages()]
    assert sum("How would you rate" in text for text in said) == 1
    assert sum("add a comment" in text for text in said) == 1
    assert not [text for text in said if "open again" in text]  # No did not reopen it
    assert_nothing_broke(town, caplog)


async def test_forged_button_data_gets_the_no_longer_valid_popup(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Someone sends made-up button data: "claim:abc", "zzz", "star:1:9" in private and on a
    card, and a claim for a request that does not exist. Each gets a polite popup, and the
    real card is still open for claiming."""
    alice, li = town.citizen, town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await reach_summary(alice)
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)

    for junk in ("claim:abc", "zzz", "star:1:9"):
        assert await alert(alice, junk, chat=alice.private) == STALE
        assert await alert(li, junk, message=card) == STALE
    assert await alert(li, "claim:999999", message=card) == STALE  # not its button
    assert await alert(li, "claim:999999", message=too_old(card)) == \
        "This request does not exist."

    assert "waiting for a volunteer" in card.text and card.buttons == ["🙋 Claim"]
    assert ref in await claim(li, town.volunteers, card)
    await li.wait_for(text=f"You took {ref}")
    assert_nothing_broke(town, caplog)


# ---- 7. a citizen who blocked the bot ------------------------------------------------------


async def test_a_citizen_who_blocked_the_bot_does_not_stop_the_loop(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice files a request and then blocks the bot. Li claims it: he gets the details and
    the card says so, although telling Alice fails with 403. Grandma files her own request
    afterwards and gets her receipt."""
    alice, li, grandma = town.citizen, town.vol1, town.grandma
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await reach_summary(alice)
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    alice.block()

    assert ref in await claim(li, town.volunteers, card)
    details = await li.wait_for(text=f"You took {ref}")
    assert "+8613800000001" in details.text
    await town.sb.wait_until(lambda: "claimed by Li" in card.text and not card.buttons)

    def refused_to_alice() -> bool:
        return any(str(params.get("chat_id")) == str(alice.id)
                   and isinstance(body, dict) and body.get("error_code") == 403
                   for _, params, body in town.sb.calls)

    await town.sb.wait_until(refused_to_alice)
    assert ("sendMessage", "Forbidden: bot was blocked by the user") in town.sb.errors
    assert not [m for m in alice.private.bot_messages() if "volunteer has taken" in m.text]

    await open_the_form(grandma, command=True, lang="zh")
    await grandma.press("助老服务")
    await grandma.wait_for(text="第 2 步")
    await grandma.send("家里的灯坏了。")
    await grandma.wait_for(text="第 3 步")
    await grandma.send("建设路 8 号")
    await grandma.wait_for(text="第 4 步")
    await grandma.tap("跳过")
    await grandma.wait_for(text="内容都对吗？")
    await grandma.press("✅ 确认提交")
    receipt = await grandma.wait_for(text="编号")
    grandmas_ref = REF.search(receipt.text or "")
    assert grandmas_ref, receipt.text
    await card_of(town.volunteers, grandmas_ref.group(0))
    assert_nothing_broke(town, caplog, blocked=(alice,))


# ---- 8. forged presses never break the bot -------------------------------------------------


async def test_a_barrage_of_forged_presses_never_breaks_the_bot(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice, Li and Zhang press every kind of made-up or foreign button, in private and on
    the group card. Every press gets a popup, none is the error popup, Telegram refuses
    nothing, the bot logs no error, and Alice's request is still claimable."""
    alice, li, zhang = town.citizen, town.vol1, town.vol2
    for volunteer in (li, zhang):
        await volunteer.send("/start")
        await volunteer.wait_for(text="Choose below")
    await reach_summary(alice)
    ref = await send_it(alice)
    card = await card_of(town.volunteers, ref)
    rid = request_id(card)

    forged = ["claim:abc", "zzz", "star:1:9", "claim:999999999999", "claim:9999999999999",
              "done:-1", "resolved:1:x", "in:zzzzzz:cat:elderly", "in:abcdef:cat:elderly",
              "in:abcdef:confirm:", "lang:fr", "menu:nope", "release:abc", "nocomment:1",
              "donenote:1", ":", "🙂", "claim:", f"cancelok:{rid}", f"resolved:{rid}:y",
              f"star:{rid}:5", f"done:{rid}", f"release:{rid}", f"nocomment:{rid}"]
    presses = []
    for data in forged:
        presses.append(await zhang.press_data(data, chat=zhang.private))
        presses.append(await li.press_data(data, message=card))
    presses.append(await alice.press_data(f"done:{rid}", chat=alice.private))
    presses.append(await alice.press_data(f"release:{rid}", chat=alice.private))
    silent = [press.data for press in presses if not (await press.answer()).text]
    assert not silent, f"pressed without a word in reply: {silent}"

    assert "waiting for a volunteer" in card.text and card.buttons == ["🙋 Claim"]
    assert ref in await claim(li, town.volunteers, card)
    await li.wait_for(text=f"You took {ref}")
    assert_nothing_broke(town, caplog)



# ---- 9. junk after a command ---------------------------------------------------------------


JUNK_ARGUMENTS = ["² x", "１２３ ⁵", "-0 ９", "@ @", "٣ ٤", "𝟙𝟚 area", "9" * 40, "‮ reversed"]


async def test_every_command_with_junk_arguments_gets_an_answer_and_no_error(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """The centre admin types every command followed by Unicode digits, superscripts, Arabic
    numerals, an id too long for any integer and a direction mark, in private (where every
    command works for him, and Telegram allows many messages a second): each one is
    answered, and nothing is logged as an error."""
    from handlers.routes import COMMANDS

    admin, where = town.admin, town.admin.private
    for command in COMMANDS:
        for junk in JUNK_ARGUMENTS:
            before = len(where.bot_messages())
            await admin.send(f"/{command.name} {junk}", chat=where)
            try:
                await town.sb.wait_until(lambda n=before: len(where.bot_messages()) > n,
                                         timeout=10)
            except TimeoutError:
                raise AssertionError(f"no answer to /{command.name} {junk}") from None
    assert_nothing_broke(town, caplog)


# ---- 10. a live location keeps moving --------------------------------------------------------


async def test_a_moving_live_location_follows_the_form_quietly(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice shares her live location at step 3 and walks on while she finishes the form:
    Telegram sends each move as an edit. The bot answers none of them, the point of her
    request is where she stood last before sending it, and moves after that change nothing."""
    alice = town.citizen
    await open_form(alice)
    await alice.send("The stairwell light is broken.")
    await alice.wait_for(text="Step 3 of 4")
    live = await alice.share_live_location(34.8600, 117.5500)
    await alice.wait_for(text="Step 4 of 4")
    for step in range(1, 4):
        await alice.move_live_location(live, 34.8600 + step / 1000, 117.5500)
    await alice.tap("Skip")
    await alice.wait_for(text="Is everything correct?")
    ref = await send_it(alice)
    await alice.move_live_location(live, 35.0, 118.0)  # after sending: ignored
    await card_of(town.volunteers, ref)
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
    assert request is not None
    assert (request.latitude, request.longitude) == (34.8630, 117.5500)
    said = [m.text or "" for m in alice.private.bot_messages()]
    assert not [text for text in said if "edit" in text.lower()], said
    assert_nothing_broke(town, caplog)


# ---- 11. lengths as Telegram counts them -----------------------------------------------------


def test_lengths_are_counted_in_utf16_units_as_telegram_counts_them() -> None:
    """An emoji and a CJK character outside the basic plane (𠀀) count 2 each; a clipped
    text never splits one and fits its limit as Telegram measures it."""
    from bot import ui

    assert ui.units("水管漏水") == 4 and ui.units("🚰𠀀") == 4
    clipped = ui.clip("🚰" * 10, 7)
    assert ui.units(clipped) <= 7 and clipped.endswith("…") and "\ufffd" not in clipped
    parts = ui.chunks(["😀" * 1500, "😀" * 1500, "end"], limit=3800)
    assert all(ui.units(part) <= 3800 for part in parts) and len(parts) == 2


def test_html_cut_to_a_limit_is_still_html_telegram_accepts() -> None:
    """A list or a card full of escaped text (R&amp;D, &lt;3) and bold names, cut anywhere:
    Telegram's parser (the sandbox's) accepts every cut, what it shows fits the limit, no
    entity is split and every tag left open is closed again."""
    import random

    from bot import ui
    from sandbox.html import parse_html

    pieces = ["<b>李明</b>", " R&amp;D ", "&lt;3", "🚰", "说", "<i>note</i>", "\n",
              '<a href="https://example.org/?a=1&amp;b=2">link</a>', "x", "<b>open "]
    rng = random.Random(2026)
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(5, 60)))
        if text.count("<b>") > text.count("</b>"):
            text += "</b>" * (text.count("<b>") - text.count("</b>"))
        parse_html(text)  # whole, it is valid
        limit = rng.randint(2, 80)
        cut = ui.clip_html(text, limit)
        shown, _ = parse_html(cut)  # raises "can't parse entities" if broken
        assert ui.units(shown) <= limit, (text, limit, cut)
    assert ui.clip_html("<b>" + "x" * 50 + "</b>", 10) == "<b>xxxxxxxxx…</b>"
    assert ui.clip_html("a &amp; b", 100) == "a &amp; b"
    # Showing exactly the limit is whole; a stray "< >" is no tag to trip on.
    assert ui.clip_html("<b>" + "x" * 10 + "</b>", 10) == "<b>" + "x" * 10 + "</b>"
    assert ui.clip_html("a < > b " * 5, 8).endswith("…")
    assert ui.units(parse_html(ui.clip_html("&#128512;" * 10, 9))[0]) <= 9  # 😀 counts 2


async def test_a_description_of_emoji_is_measured_as_telegram_measures_it(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice's description is 600 emoji: 600 characters for Python, 1,200 for Telegram, over
    the 1,000 allowed. She is told it is too long, counted the way Telegram counts; 1,000
    exactly is taken."""
    alice = town.citizen
    await open_form(alice)
    await alice.send("🚰" * 600)
    told = await alice.wait_for(text="1200")
    assert "1000" in (told.text or "")
    await alice.send(long_as("The tap 🚰 leaks.", 1000))
    await alice.wait_for(text="Step 3 of 4")
    assert_nothing_broke(town, caplog)


def test_html_whose_shown_text_fits_is_not_marked_as_cut() -> None:
    """A roster of forty names, each a link to its volunteer: its tags make it longer than
    the limit, but what Telegram shows fits. It is sent whole, without a "…" that would
    say someone was left off the end."""
    from bot import ui
    from sandbox.html import parse_html

    roster = "\n".join(f'<a href="tg://user?id={1000 + n}">志愿者{n}</a>' for n in range(40))
    limit = 400
    assert ui.units(roster) > limit and ui.units(parse_html(roster)[0]) < limit
    assert ui.clip_html(roster, limit) == roster


def test_a_popup_is_plain_text_within_telegrams_200_characters() -> None:
    """What a press is answered with is shown as plain text: the catalog's HTML escapes are
    undone, and a long text is cut to 200 characters with a mark (Telegram refuses more)."""
    assert popup("Tea &amp; talk &lt;3") == "Tea & talk <3"
    title = html.escape("<" * 60)  # 240 characters escaped, 60 shown
    assert popup(f"Signed up for “{title}”.") == f"Signed up for “{'<' * 60}”."
    long = popup("Why: " + "&amp;" * 300)
    assert len(long) == 200 and long.endswith("…") and "&amp;" not in long
