"""Telegram's real limits, met by the longest content people may give: every loop driven with
names, descriptions, addresses and notes at their longest, in emoji and CJK beyond the basic
plane (two UTF-16 units each) and with <>&" in them, and Telegram refuses no call."""

from __future__ import annotations

import logging

import pytest

from sandbox import SimUser
from tests.conftest import Town
from tests.flows import REF, card_of, claim, file_request, long_as, open_bot, open_form
from tests.test_bad_input_e2e import assert_nothing_broke

# A word with all that makes a length or an HTML text go wrong: two-unit characters (an
# emoji, a CJK character beyond the basic plane) and the characters HTML must escape.
WANT_COMMENT = "Please write your comment as text"
HARD = '𠀀<b>&"😀'


async def file_longest_request(citizen: SimUser, photos: int = 5) -> str:
    """The citizen files a request with the longest description (in photos' captions and
    text), the longest address, and as many photos as allowed; returns its reference."""
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below")
    await open_form(citizen)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem")
    await citizen.send_album(photos, caption=long_as(HARD, 1000))
    await citizen.wait_for(text="Where is it")
    await citizen.send(long_as(HARD, 300)[:300])
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("📞 Share my phone number")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    receipt = await citizen.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match, receipt.text
    return match.group(0)


async def test_the_longest_request_goes_round_the_whole_loop(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """Alice files the longest request there can be, with five photos; Li claims it, reads
    its details, finishes it; Alice confirms. Telegram refuses nothing on the way."""
    alice, li = town.citizen, town.vol1
    alice.first_name = li.first_name = long_as(HARD, 64)  # Telegram's longest names
    alice.last_name = li.last_name = long_as(HARD, 64)
    await li.send("/start")
    await li.wait_for(text="Choose below")
    ref = await file_longest_request(alice)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(li, town.volunteers, card)
    await li.wait_for(text="+8613800000001")
    await alice.wait_for(text="a volunteer has taken your request")
    await li.press("✅ Done")
    await li.wait_for(text="Write a short note")
    await li.send_photo(caption=long_as(HARD, 1000))
    await li.wait_for(text="marked done")
    await alice.wait_for(text="resolved?")
    await alice.press("👍 Yes, resolved")
    await alice.wait_for(text="How would you rate")
    await alice.press("⭐⭐⭐⭐⭐")
    await alice.wait_for(text="add a comment")
    await alice.send(long_as(HARD, 1000))
    await alice.wait_for(text="Your request is closed")
    await alice.send("/my")
    await alice.send("/history")
    await li.send("/tasks")
    await li.send("/hours")
    await town.admin.send("/stats", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="Statistics")
    assert_nothing_broke(town, caplog)


async def test_the_longest_group_title_and_topic_name_stay_whole_in_every_answer(
        town: Town, caplog: pytest.LogCaptureFixture) -> None:
    """A forum titled with Telegram's longest title (128 units, two-unit characters and <>&"
    in it) and a topic named as long: /bind there, a card in the topic, a claim, /bindings in
    the admin chat, and the topic deleted (the admins hear of it by name): nothing refused."""
    forum = town.sb.add_group(long_as(HARD, 128), forum=True)
    forum.add_member(town.admin, status="administrator")
    forum.add_member(town.vol1)
    await open_bot(town.vol1)
    topic = forum.create_topic(long_as(HARD, 128), by=town.admin)
    await town.admin.send("/bind elderly", chat=forum, topic=topic)
    await forum.wait_for(text="now receives requests")
    ref = await file_longest_request(town.citizen)
    card = await card_of(forum, ref)
    assert card.thread_id == topic
    assert ref in await claim(town.vol1, forum, card)
    await town.admin.send("/bindings", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="Volunteer groups")
    forum.delete_topic(topic)
    second = await file_request(town.citizen, text="The lift is stuck.")
    await card_of(forum, second)
    await town.admin_chat.wait_for(text="is gone")
    errors = [(method, body) for method, _, body in town.sb.calls
              if isinstance(body, dict) and body.get("ok") is False]
    assert [body["description"] for _, body in errors] == [
        "Bad Request: message thread not found"], errors  # how a deleted topic is learnt
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_closing_note_sent_as_an_album_is_answered_once(town: Town) -> None:
    """Li finishes a request and sends three photos as his closing note (a phone sends a pick
    of photos as an album, one message each): the first is the note, the others are not
    answered one by one with questions they do not answer."""
    alice, li = town.citizen, town.vol1
    await open_bot(li)
    ref = await file_request(alice)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(li, town.volunteers, card)
    await li.wait_for(text="+8613800000001")
    await li.press("✅ Done")
    await li.wait_for(text="Write a short note")
    before = len(li.private.bot_messages())
    await li.send_album(3, caption="Fixed the tap, see the photos")
    await li.wait_for(text="marked done")
    await alice.wait_for(text="resolved?")
    await li.send("/mytasks")
    await li.wait_for(text="task")
    after = [m.text for m in li.private.bot_messages()[before:]]
    assert len(after) == 2, after  # "marked done", and the answer to /mytasks


async def test_an_album_where_words_are_asked_for_is_told_so_once(town: Town) -> None:
    """Alice, asked for a comment after her stars, sends three photos as an album: she is
    told once that a comment is typed, not three times."""
    alice, li = town.citizen, town.vol1
    await open_bot(li)
    ref = await file_request(alice)
    assert ref in await claim(li, town.volunteers, await card_of(town.volunteers, ref))
    await li.press("✅ Done", message=await li.wait_for(text="+8613800000001"))
    await li.wait_for(text="Write a short note")
    await li.send("Replaced the washer.")
    await alice.wait_for(text="resolved?")
    await alice.press("👍 Yes, resolved")
    await alice.press("⭐⭐⭐⭐⭐", message=await alice.wait_for(text="How would you rate"))
    await alice.wait_for(text="add a comment")
    before = len(alice.private.bot_messages())
    await alice.send_album(3)
    await alice.wait_for(text=WANT_COMMENT)
    await alice.send("Very kind, thank you!")
    await alice.wait_for(text="Your request is closed")
    told = [m.text for m in alice.private.bot_messages()[before:]
            if WANT_COMMENT in (m.text or "")]
    assert len(told) == 1, told
