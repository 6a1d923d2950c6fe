"""The masked chat (issue 18.3) end to end: a citizen and the volunteer who took their request
talk through the bot, both ways, in text, photos and voice, and neither learns the other's
Telegram account; the chat closes with the request, either side can end it, a report reaches
the admins, who read it with /thread; the citizen may keep their phone from the claimer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import buttons
from sandbox import SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import REF, card_of, claim, eventually, file_request, open_bot, open_form
from tests.test_forged_edits_e2e import drained
from tests.test_forged_presses_e2e import press_everything_left, settled

CLAIMED = "a volunteer has taken your request"
TO_VOLUNTEER = "💬 Message the volunteer"
TO_CITIZEN = "💬 Message the citizen"
ENDED_LINE = "has ended: messages are no longer passed on"


def cast(town: Town) -> tuple[SimUser, SimUser]:
    """A citizen and a volunteer, each with a name and a username the other must not see."""
    citizen = town.sb.add_user("Meiling", language_code="en", phone="+8613811112222",
                               username="meiling_private")
    volunteer = town.sb.add_user("Wenbo", language_code="en", username="wenbo_private")
    town.volunteers.add_member(volunteer)
    return citizen, volunteer


@dataclass
class Claimed:
    """A request just claimed: its reference, its group card, the claimer's task details
    (with Message the citizen) and the citizen's notice (with Message the volunteer)."""

    ref: str
    card: SimMessage
    details: SimMessage
    notice: SimMessage


async def claimed(town: Town, citizen: SimUser, volunteer: SimUser, **form: Any) -> Claimed:
    """The citizen files a request and the volunteer claims it."""
    await open_bot(volunteer)
    ref = await file_request(citizen, **form)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(volunteer, town.volunteers, card)
    details = await volunteer.wait_for(text=f"You took {ref}")
    notice = await citizen.wait_for(text=CLAIMED)
    return Claimed(ref, card, details, notice)


async def open_chat(person: SimUser, label: str, message: SimMessage | None = None) -> None:
    """Press Message the volunteer (or the citizen) and see the writing prompt."""
    await (await person.press(label, message=message)).answer()
    await person.wait_for(text="What you send now goes to the")


def ids_in(value: Any) -> set[int]:
    """Every user or chat id a Bot API object holds (any "id" or "user_id" field)."""
    found: set[int] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("id", "user_id") and isinstance(item, int):
                found.add(item)
            found |= ids_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= ids_in(item)
    return found


def assert_masked(town: Town, receiver: SimUser, other: SimUser) -> int:
    """Nothing the bot sent `receiver` (as Telegram delivered it, and as the bot asked for
    it) holds the other side's id, username or name, or a forward header; returns how many
    calls were looked at. copyMessage's own `from_chat_id` names where to copy from: a
    parameter to Telegram, not part of the message delivered."""
    looked = 0
    for method, params, result in town.sb.calls:
        assert method.lower() not in ("forwardmessage", "forwardmessages"), method
        if params.get("chat_id") != receiver.id:
            continue
        looked += 1
        delivered = result if isinstance(result, dict) else {}
        if method == "copyMessage":  # Telegram answers a MessageId: read the message itself
            delivered = receiver.private.get(int(result["message_id"])).raw  # type: ignore[union-attr]
        asked = {key: value for key, value in params.items() if key != "from_chat_id"}
        for what in (delivered, asked):
            text = json.dumps(what, ensure_ascii=False)
            assert other.id not in ids_in(what), (method, what)
            assert other.username is not None and other.username not in text, (method, what)
            assert other.first_name not in text, (method, what)
            assert not {"forward_origin", "forward_from", "forward_sender_name"} & set(what)
    return looked


async def test_the_citizen_and_the_volunteer_talk_both_ways_without_learning_who_the_other_is(
    town: Town,
) -> None:
    """Meiling writes to the volunteer who took her request: a text, a photo with a caption,
    a voice message; Wenbo presses Reply and answers with the same three; Meiling, having
    left writing mode, answers one relayed message with Telegram's own reply. Each message
    arrives under a header naming the side and the request, with Reply; photos and voice are
    copied (the same file), never forwarded; and nothing either receives names the other."""
    citizen, volunteer = cast(town)
    taken = await claimed(town, citizen, volunteer)
    ref, notice = taken.ref, taken.notice
    assert notice.buttons == [TO_VOLUNTEER]
    await open_chat(citizen, TO_VOLUNTEER, notice)

    await citizen.send("Please ring the bell twice, I am slow to the door.")
    text = await volunteer.wait_for(text=f"From the citizen (request {ref})")
    assert "Please ring the bell twice" in (text.text or "")
    assert text.buttons == ["↩️ Reply", "🔚 End chat", "🚩 Report"]
    await citizen.wait_for(text="✓ Sent to the volunteer.")
    photo = await citizen.send_photo(caption="This is the tap")
    copied = await volunteer.wait_for(predicate=lambda m: m.kind == "photo")
    assert copied.file_ids[-1] == photo.file_ids[-1]
    assert copied.text == f"💬 From the citizen (request {ref})\nThis is the tap"
    voice = await citizen.send_voice()
    heard = await volunteer.wait_for(predicate=lambda m: m.kind == "voice")
    assert heard.file_ids == voice.file_ids and ref in (heard.text or "")

    await open_chat(volunteer, "↩️ Reply", text)
    await volunteer.send("I will come at 3 pm.")
    answer = await citizen.wait_for(text=f"From the volunteer (request {ref})")
    assert "I will come at 3 pm." in (answer.text or "")
    await volunteer.wait_for(text="✓ Sent to the citizen.")
    their_photo = await volunteer.send_photo()
    got = await citizen.wait_for(predicate=lambda m: m.kind == "photo")
    assert got.file_ids[-1] == their_photo.file_ids[-1] and ref in (got.text or "")
    their_voice = await volunteer.send_voice()
    got_voice = await citizen.wait_for(predicate=lambda m: m.kind == "voice")
    assert got_voice.file_ids == their_voice.file_ids

    # Out of writing mode, a plain message goes nowhere; a reply to a relayed one goes on.
    await citizen.send("/cancel")
    await citizen.wait_for(text="OK, skipped.")
    await citizen.send("Thank you, see you then!", reply_to=answer)
    thanks = await volunteer.wait_for(text="Thank you, see you then!")
    assert ref in (thanks.text or "")

    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
        assert request is not None
        rows = await repo._all(
            "SELECT m.sender_id, m.kind, m.text, m.file_id FROM thread_messages m "
            "JOIN threads t ON t.id = m.thread_id WHERE t.request_id = ? ORDER BY m.id",
            (request.id,))
    assert [(r["sender_id"], r["kind"]) for r in rows] == [
        (citizen.id, "text"), (citizen.id, "photo"), (citizen.id, "voice"),
        (volunteer.id, "text"), (volunteer.id, "photo"), (volunteer.id, "voice"),
        (citizen.id, "text")]
    assert rows[1]["file_id"] == photo.file_ids[-1] and rows[1]["text"] == "This is the tap"
    assert len(town.sb.calls_to("copyMessage")) == 4
    assert assert_masked(town, citizen, volunteer) > 5
    assert assert_masked(town, volunteer, citizen) > 5
    assert town.sb.count_429 == 0


async def test_the_chat_stays_open_until_the_citizen_confirms_then_a_late_message_gets_one_line(
    town: Town,
) -> None:
    """Li marks the request done: the chat stays open while Alice has not answered "Is it
    resolved?" (she may ask about the work). Once she confirms, the chat is over: her next
    message is not passed on and she is told so, once; after that she is out of the chat;
    Li's Reply on an old message is refused."""
    taken = await claimed(town, town.citizen, town.vol1)
    ref, notice = taken.ref, taken.notice
    await open_chat(town.citizen, TO_VOLUNTEER, notice)
    await town.citizen.send("The key is under the mat.")
    relayed = await town.vol1.wait_for(text="The key is under the mat.")
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.send("Did you close the window too?")
    await town.vol1.wait_for(text="Did you close the window too?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")

    before = len(town.vol1.private.bot_messages())
    await town.citizen.send("One more thing!")
    line = await town.citizen.wait_for(text=ENDED_LINE)
    assert ref in (line.text or "")
    await town.citizen.send("Hello?")
    await town.citizen.wait_for(text="I did not understand")
    press = await town.vol1.press("↩️ Reply", message=relayed)
    answered = await press.answer()
    assert answered.show_alert and ENDED_LINE in (answered.text or "")
    assert len(town.vol1.private.bot_messages()) == before


async def test_either_side_can_end_the_chat_for_both(town: Town) -> None:
    """Li opens the chat from his task (Message the citizen) and writes; Alice presses End
    chat on his message and confirms: both are told, Li's next message is not passed on.
    The next request's chat, ended by Li this time, is over for Alice as well."""
    taken = await claimed(town, town.citizen, town.vol1)
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    await town.vol1.send("I am on my way.")
    relayed = await town.citizen.wait_for(text="I am on my way.")
    await (await town.citizen.press("🔚 End chat", message=relayed)).answer()
    confirm = await town.citizen.wait_for(text="End the chat on request")
    await (await town.citizen.press("No", message=confirm)).answer()
    await town.vol1.send("Still open?")
    await town.citizen.wait_for(text="Still open?")
    await (await town.citizen.press("🔚 End chat", message=relayed)).answer()
    confirm = await town.citizen.wait_for(text="End the chat on request")
    await (await town.citizen.press("Yes, end the chat", message=confirm)).answer()
    await town.citizen.wait_for(text="has ended.")
    await town.vol1.wait_for(text="has ended.")
    await town.vol1.send("Hello?")
    await town.vol1.wait_for(text=ENDED_LINE)
    again = await town.citizen.press(TO_VOLUNTEER)
    assert (await again.answer()).show_alert  # an ended chat does not open again

    taken = await claimed(town, town.citizen, town.vol1, text="Second: the door lock is stuck.")
    ref, notice = taken.ref, taken.notice
    await open_chat(town.citizen, TO_VOLUNTEER, notice)
    await town.citizen.send("Thank you for coming back.")
    relayed = await town.vol1.wait_for(text="Thank you for coming back.")
    await (await town.vol1.press("🔚 End chat", message=relayed)).answer()
    confirm = await town.vol1.wait_for(text="End the chat on request")
    await (await town.vol1.press("Yes, end the chat", message=confirm)).answer()
    await town.citizen.wait_for(text=f"The chat on request {ref} has ended.")
    await town.citizen.send("Are you there?")
    await town.citizen.wait_for(text=ENDED_LINE)


async def test_a_new_claimer_gets_a_fresh_chat(town: Town) -> None:
    """Li releases the request after a word with Alice; Zhang claims it. Alice's old chat is
    closed, and her new notice opens a chat with Zhang, who never sees what Li was told."""
    taken = await claimed(town, town.citizen, town.vol1)
    ref, notice = taken.ref, taken.notice
    await open_chat(town.citizen, TO_VOLUNTEER, notice)
    await town.citizen.send("For Li only.")
    await town.vol1.wait_for(text="For Li only.")
    await town.vol1.press("↩️ Release")
    await town.citizen.wait_for(text=ref)
    await town.citizen.send("Li, are you coming?")
    await town.citizen.wait_for(text=ENDED_LINE)
    stale = await town.vol1.press(TO_CITIZEN, message=taken.details)
    assert "no longer" in ((await stale.answer()).text or "")

    await open_bot(town.vol2)
    card = taken.card
    await town.sb.wait_until(lambda: "🙋 Claim" in card.buttons)
    assert ref in await claim(town.vol2, town.volunteers, card)
    fresh = await town.citizen.wait_for(text=CLAIMED)
    await open_chat(town.citizen, TO_VOLUNTEER, fresh)
    await town.citizen.send("Hello Zhang.")
    await town.vol2.wait_for(text="Hello Zhang.")
    assert not any("For Li only." in (m.text or "") for m in town.vol2.private.bot_messages())


async def test_a_report_reaches_the_admins_who_read_it_with_thread_and_nobody_else_can(
    town: Town,
) -> None:
    """Li sends Alice something rude and a photo; she reports the chat. The chat ends, the
    admin chat is told (without the messages), and the admin reads the thread with /thread in
    private: every line, then the photo. Li, no admin, cannot; a chat nobody reported cannot
    be read; in the admin chat /thread only points to the private chat."""
    taken = await claimed(town, town.citizen, town.vol1)
    ref = taken.ref
    assert "+8613800000001" in (taken.details.text or "")  # the default: the phone is shown
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    await town.vol1.send("You are a nuisance, lady.")
    rude = await town.citizen.wait_for(text="You are a nuisance")
    shown = await town.vol1.send_photo(caption="look")
    await town.citizen.wait_for(predicate=lambda m: m.kind == "photo")
    await (await town.citizen.press("🚩 Report", message=rude)).answer()
    confirm = await town.citizen.wait_for(text="Report the chat on request")
    await (await town.citizen.press("Yes, report it", message=confirm)).answer()
    await town.citizen.wait_for(text="is reported, and has ended")
    await town.vol1.wait_for(text=f"The chat on request {ref} has ended.")
    told = await town.admin_chat.wait_for(text=f"The chat on request {ref} was reported by "
                                               "the citizen")
    assert "nuisance" not in (told.text or "") and f"/thread {ref}" in (told.text or "")
    await town.vol1.send("Sorry!")
    await town.vol1.wait_for(text=ENDED_LINE)
    again = await town.citizen.press("🚩 Report", message=rude)
    assert "reported already" in ((await again.answer()).text or "")

    await town.vol1.send(f"/thread {ref}")
    await town.vol1.wait_for(text="only admins can do this")
    await open_bot(town.admin)
    await town.admin.send(f"/thread {ref}")
    transcript = await town.admin.wait_for(text=f"Reported chat of request {ref}")
    lines = transcript.text or ""
    assert "reported by the citizen" in lines and "2 messages" in lines
    assert "1. 2026-06-10" in lines and "volunteer: You are a nuisance, lady." in lines
    assert "volunteer: [photo 2] look" in lines
    media = await town.admin.wait_for(predicate=lambda m: m.kind == "photo")
    assert media.file_ids[-1] == shown.file_ids[-1] and "2. volunteer" in (media.text or "")
    await town.admin.send("/thread 2026-999999")
    await town.admin.wait_for(text="No request has the reference 2026-999999")
    await town.admin.send("/thread")
    await town.admin.wait_for(text="Usage: /thread")
    before = len(town.admin_chat.bot_messages())
    await town.admin.send(f"/thread {ref}", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="private chat")
    assert not any("nuisance" in (m.text or "")
                   for m in town.admin_chat.bot_messages()[before:])

    other = await file_request(town.citizen, text="Second: the door lock is stuck.")
    await town.admin.send(f"/thread {other}")
    await town.admin.wait_for(text=f"No chat of request {other} was reported")


async def summary_with_a_phone(citizen: SimUser) -> SimMessage:
    """A citizen fills in the form up to its summary, sharing her phone; the summary."""
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below")
    await open_form(citizen)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem")
    await citizen.send("The light in the stairwell is broken.")
    await citizen.wait_for(text="Where is it")
    await citizen.send("12 Jianshe Road, building 3")
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("📞 Share my phone number")
    return await citizen.wait_for(text="Is everything correct?")


async def test_a_citizen_who_gave_no_phone_is_not_promised_a_call(town: Town) -> None:
    """Alice skips the phone step: when Li claims it she is told he will write to her here,
    with the Message button, not that he may call."""
    taken = await claimed(town, town.citizen, town.vol1, share_phone=False)
    text = taken.notice.text or ""
    assert "You gave no phone number: they will write to you here" in text
    assert "call" not in text and taken.notice.buttons == [TO_VOLUNTEER]
    assert "📞 Phone: not given" in (taken.details.text or "")


async def test_a_citizen_who_keeps_the_phone_private_is_reached_through_the_bot(
    town: Town,
) -> None:
    """Alice shares her phone but, on the summary, chooses that the volunteer does not see
    it: the summary says so (and she could switch back). Li's task shows no phone and points
    to the masked chat; the default, for the next request, shows it."""
    citizen = town.citizen
    summary = await summary_with_a_phone(citizen)
    assert "(the volunteer who takes it will see your phone)" in (summary.text or "")
    await citizen.press("🔒 Don't show my phone to the volunteer", message=summary)
    summary = await citizen.wait_for(text="Is everything correct?")
    assert "not shown to the volunteer" in (summary.text or "")
    assert "📞 Let the volunteer see my phone" in summary.buttons
    await citizen.press("✅ Confirm and send", message=summary)
    receipt = await citizen.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match
    ref = match.group(0)

    await open_bot(town.vol1)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    details = await town.vol1.wait_for(text=f"You took {ref}")
    assert "+8613800000001" not in (details.text or "")
    assert "kept private by the citizen: press 💬 Message the citizen" in (details.text or "")
    assert TO_CITIZEN in details.buttons
    assert not any("+8613800000001" in json.dumps(params)
                   for _, params, _ in town.sb.calls if params.get("chat_id") == town.vol1.id)

    second = await file_request(citizen, text="Second: the door lock is stuck.")
    card = await card_of(town.volunteers, second)
    assert second in await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")


async def test_a_restart_in_the_middle_keeps_the_chat_open(town: Town) -> None:
    """Alice is writing to Li when the bot stops hard and starts again: her next message
    still goes to Li, and Li's Reply still reaches her."""
    await claimed(town, town.citizen, town.vol1)
    await open_chat(town.citizen, TO_VOLUNTEER)
    await town.citizen.send("Before the restart.")
    relayed = await town.vol1.wait_for(text="Before the restart.")
    await town.bot.crash()
    await town.bot.start()
    await town.citizen.send("After the restart.")
    await town.vol1.wait_for(text="After the restart.")
    await open_chat(town.vol1, "↩️ Reply", relayed)
    await town.vol1.send("Got both.")
    await town.citizen.wait_for(text="Got both.")

    services = town.bot.services
    assert services is not None

    async def kept() -> bool:
        async with services.env.db.reading() as repo:
            row = await repo._one("SELECT COUNT(*) FROM thread_messages")
        return int(row[0]) == 3

    await eventually(kept)


async def test_what_cannot_be_passed_on_is_said_plainly(town: Town) -> None:
    """A sticker or a location sent in the chat is not passed on: one clear line says what
    can be. A forged Message button on someone else's request changes nothing."""
    taken = await claimed(town, town.citizen, town.vol1)
    ref, notice = taken.ref, taken.notice
    await open_chat(town.citizen, TO_VOLUNTEER, notice)
    before = len(town.vol1.private.bot_messages())
    await town.citizen.send_sticker()
    await town.citizen.wait_for(text="Only text, photos and voice messages")
    await town.citizen.send_location(34.86, 117.55)
    await town.citizen.wait_for(text="Only text, photos and voice messages")
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
    assert request is not None
    forged = await town.grandma.press_data(f"chat:{request.id}", message=notice)
    assert (await forged.answer()).show_alert
    await town.citizen.send("Only this one.")
    await town.vol1.wait_for(text="Only this one.")
    assert len(town.vol1.private.bot_messages()) == before + 1


async def close_with_a_chat(town: Town) -> str:
    """Alice and Li exchange a message each; Li finishes and Alice confirms."""
    taken = await claimed(town, town.citizen, town.vol1)
    await open_chat(town.citizen, TO_VOLUNTEER, taken.notice)
    await town.citizen.send("My flat is the one with the red door.")
    await town.vol1.wait_for(text="red door")
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    await town.vol1.send("Found it.")
    await town.citizen.wait_for(text="Found it.")
    await town.vol1.press("✅ Done", message=taken.details)
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    return taken.ref


async def chat_messages(town: Town) -> int:
    """How many relayed messages the database keeps."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        row = await repo._one("SELECT COUNT(*) FROM thread_messages")
    return int(row[0])


@pytest.mark.parametrize("town_settings", [{"retention": {"contact_days": 30}}])
async def test_what_was_said_goes_with_the_contact_details(town: Town) -> None:
    """The daily retention pass deletes a closed request's chat with its phone and address:
    kept 29 days after it closed, gone after 31."""
    ref = await close_with_a_chat(town)
    assert await chat_messages(town) == 2
    await town.tick(days=29)
    assert await chat_messages(town) == 2
    await town.tick(days=2)
    assert await chat_messages(town) == 0
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
        threads = await repo._one("SELECT COUNT(*) FROM threads")
    assert request is not None and request.phone is None and int(threads[0]) == 1


async def test_mydata_shows_and_forget_deletes_what_one_wrote_in_a_chat(town: Town) -> None:
    """/mydata's file holds what Alice wrote in the chat; /forget deletes the chat, both
    sides' messages (Li's may name her flat)."""
    await close_with_a_chat(town)
    await town.citizen.send("/mydata")
    held = await town.citizen.wait_for(predicate=lambda m: m.kind == "document")
    record = town.sb.world.files[held.file_ids[0]]
    chats = json.loads(record.data.decode("utf-8"))["chat_messages"]
    assert [(c["kind"], c["text"]) for c in chats] == [
        ("text", "My flat is the one with the red door.")]
    await town.citizen.send("/forget")
    ask = await town.citizen.wait_for(text="Delete your data?")
    await town.citizen.press("🗑 Yes, delete", message=ask)
    await town.citizen.wait_for(text="your data is deleted")
    assert await chat_messages(town) == 0


async def test_the_one_reported_cannot_wipe_the_chat_with_forget(town: Town) -> None:
    """Alice reports Li's rude message; Li's /forget then keeps the reported chat for the
    admin to read (the retention pass takes it later, with the request's contact details)."""
    taken = await claimed(town, town.citizen, town.vol1)
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    await town.vol1.send("You are a nuisance, lady.")
    rude = await town.citizen.wait_for(text="You are a nuisance")
    await (await town.citizen.press("🚩 Report", message=rude)).answer()
    confirm = await town.citizen.wait_for(text="Report the chat on request")
    await (await town.citizen.press("Yes, report it", message=confirm)).answer()
    await town.citizen.wait_for(text="is reported, and has ended")
    await town.vol1.send("/forget")
    ask = await town.vol1.wait_for(text="Delete your data?")
    await town.vol1.press("🗑 Yes, delete", message=ask)
    await town.vol1.wait_for(text="your data is deleted")
    assert await chat_messages(town) == 1
    await open_bot(town.admin)
    await town.admin.send(f"/thread {taken.ref}")
    transcript = await town.admin.wait_for(text=f"Reported chat of request {taken.ref}")
    assert "You are a nuisance, lady." in (transcript.text or "")


async def test_at_night_a_relayed_message_arrives_without_a_sound(town: Town) -> None:
    """In quiet hours (22:00-08:00) Li's note still reaches Alice at once, but silently."""
    taken = await claimed(town, town.citizen, town.vol1)
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    await town.vol1.send("Day note.")
    await town.citizen.wait_for(text="Day note.")
    town.clock.set(datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI))
    await town.vol1.send("Night note.")
    await town.citizen.wait_for(text="Night note.")
    sent = [params for method, params, _ in town.sb.calls
            if method == "sendMessage" and params.get("chat_id") == town.citizen.id
            and " note." in str(params.get("text"))]
    assert [params.get("disable_notification", False) for params in sent] == [False, True]


@pytest.mark.parametrize(("moment", "sound"), [
    (datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 11, 2, 0, tzinfo=SHANGHAI), False),
    (datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 10, 15, 0, tzinfo=SHANGHAI), True),
], ids=["23:30", "02:00", "new year's eve 23:50", "day 15:00"])
async def test_a_chat_ended_at_night_is_told_to_the_other_side_without_a_sound(
        town: Town, moment: datetime, sound: bool) -> None:
    """Alice ends her chat with Li at `moment`: he is told at once, woken by day only."""
    town.clock.set(moment - timedelta(minutes=10))
    taken = await claimed(town, town.citizen, town.vol1)
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    await town.vol1.send("On my way tomorrow.")
    note = await town.citizen.wait_for(text="On my way tomorrow.")
    town.clock.set(moment)
    await (await town.citizen.press("🔚 End chat", message=note)).answer()
    confirm = await town.citizen.wait_for(text="End the chat on request")
    await (await town.citizen.press("Yes, end the chat", message=confirm)).answer()
    await town.vol1.wait_for(text=f"The chat on request {taken.ref} has ended.")
    ended = [not params.get("disable_notification", False)
             for _, params, _ in town.sb.calls_to("sendMessage")
             if params.get("chat_id") == town.vol1.id and "has ended" in str(params["text"])]
    assert ended == [sound]


def _words(text: str) -> str:
    """A text without its whitespace (Telegram trims each message's ends)."""
    return "".join(text.split())


async def test_a_message_as_long_as_telegram_allows_arrives_whole(town: Town) -> None:
    """Alice writes the longest text Telegram lets her send (4,096 characters, with signs
    that HTML escapes) and then a photo with the longest caption (1,024): Li receives every
    word of both under the header, nothing cut off and nothing refused by Telegram."""
    taken = await claimed(town, town.citizen, town.vol1)
    ref = taken.ref
    await open_chat(town.citizen, TO_VOLUNTEER, taken.notice)
    header = f"💬 From the citizen (request {ref})"

    filler = "Room 3 & 4 <east> 老楼梯灯坏了 "
    long_text = (filler * 400)[:4096 - len(" THE END")] + " THE END"
    assert len(long_text) == 4096
    before = len(town.vol1.private.bot_messages())
    await town.citizen.send(long_text)
    await town.citizen.wait_for(text="✓ Sent to the volunteer.")
    await town.vol1.wait_for(text="THE END")
    got = [m for m in town.vol1.private.bot_messages()[before:] if header in (m.text or "")]
    assert got and all(m.buttons == ["↩️ Reply", "🔚 End chat", "🚩 Report"] for m in got)
    received = "".join((m.text or "").split(header, 1)[1] for m in got)
    assert _words(received) == _words(long_text)

    caption = (filler * 60)[:1024 - len(" CAPTION END")] + " CAPTION END"
    assert len(caption) == 1024
    before = len(town.vol1.private.bot_messages())
    photo = await town.citizen.send_photo(caption=caption)
    await town.vol1.wait_for(text="CAPTION END")
    got = [m for m in town.vol1.private.bot_messages()[before:] if header in (m.text or "")]
    assert got[0].kind == "photo" and got[0].file_ids[-1] == photo.file_ids[-1]
    received = "".join((m.text or "").split(header, 1)[1] for m in got)
    assert _words(received) == _words(caption)
    assert town.sb.count_429 == 0


async def test_an_admin_reads_a_reported_message_as_long_as_telegram_allows_whole(
    town: Town,
) -> None:
    """Li sends Alice the longest text Telegram allows, full of signs HTML escapes; she
    reports the chat. The admin's /thread shows every word of it (no cut inside an escaped
    sign, which Telegram would refuse, and nothing cut off)."""
    taken = await claimed(town, town.citizen, town.vol1)
    ref = taken.ref
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    rant = ("R&D <b> & 5 > 3 && 楼道 " * 300)[:4096 - len(" LAST WORD")] + " LAST WORD"
    assert len(rant) == 4096
    await town.vol1.send(rant)
    rude = await town.citizen.wait_for(text="LAST WORD")
    await (await town.citizen.press("🚩 Report", message=rude)).answer()
    confirm = await town.citizen.wait_for(text="Report the chat on request")
    await (await town.citizen.press("Yes, report it", message=confirm)).answer()
    await town.citizen.wait_for(text="is reported, and has ended")

    await open_bot(town.admin)
    before = len(town.admin.private.bot_messages())
    await town.admin.send(f"/thread {ref}")
    await town.admin.wait_for(text=f"Reported chat of request {ref}")
    await town.admin.wait_for(text="LAST WORD")
    shown = "".join(m.text or "" for m in town.admin.private.bot_messages()[before:])
    assert "".join(rant.split()) in "".join(shown.split())
    assert town.sb.count_429 == 0


async def test_a_citizen_who_keeps_the_phone_private_is_not_promised_a_call(
    town: Town,
) -> None:
    """Alice keeps her phone from the volunteer. When Li claims her request, and when the
    admin passes it to Zhang, she is told the volunteer will write to her here (with the
    Message button), never "They may call you soon": nobody has her number."""
    citizen = town.citizen
    summary = await summary_with_a_phone(citizen)
    await citizen.press("🔒 Don't show my phone to the volunteer", message=summary)
    summary = await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send", message=summary)
    match = REF.search((await citizen.wait_for(text="Reference number")).text or "")
    assert match
    ref = match.group(0)

    await open_bot(town.vol1, town.vol2)
    before = len(citizen.private.bot_messages())
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    notice = await citizen.wait_for(text=CLAIMED)
    assert notice.buttons == [TO_VOLUNTEER]
    assert "Message the volunteer" in (notice.text or "")
    await town.admin.send(f"/assign {ref} {town.vol2.id}", chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"{ref} is assigned to Zhang")
    passed = await citizen.wait_for(text="another volunteer")
    assert passed.buttons == [TO_VOLUNTEER]
    assert "Message the volunteer" in (passed.text or "")
    assert not any("call you" in (m.text or "") for m in citizen.private.bot_messages()[before:])


async def test_every_button_left_on_an_ended_chat_changes_nothing(town: Town) -> None:
    """Li writes to Alice through the masked chat and Alice ends it. Every button of the
    chat still showing (Reply, End chat, Report under what was relayed, Message the
    volunteer or the citizen), pressed again by each of them: a polite line, and nothing
    about the chat or the request changes (Li's writing mode, left on, just ends)."""
    taken = await claimed(town, town.citizen, town.vol1)
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    await town.vol1.send("I am on my way.")
    relayed = await town.citizen.wait_for(text="I am on my way.")
    await (await town.citizen.press("🔚 End chat", message=relayed)).answer()
    confirm = await town.citizen.wait_for(text="End the chat on request")
    await (await town.citizen.press("Yes, end the chat", message=confirm)).answer()
    await town.vol1.wait_for(text="has ended.")
    await drained(town)
    before = settled(town)
    writing = before.pop("dialogs")
    assert [row[:2] for row in writing] == [(town.vol1.id, "relay")]

    await press_everything_left(town, ((town.citizen, town.citizen.private),
                                       (town.vol1, town.vol1.private)),
                                kinds=(buttons.CHAT, buttons.THREAD))
    after = settled(town)
    # Li was still writing when Alice ended the chat: his first press on it tells him it
    # is over and ends his writing mode, as his next message would have.
    assert after.pop("dialogs") == []
    assert after == before
