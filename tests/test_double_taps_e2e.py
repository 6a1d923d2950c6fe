"""Double taps and presses after the fact, for the buttons that decide something once: a
volunteer's registration, the organiser's attendance and hours, a dispute of hours, a
broadcast, the month's theme, a unit's request for more time and a returned problem. Each
is tapped twice before the bot has answered the first: it acts once (one message to whom it
concerns, one row, no hours twice) and the other tap gets one polite line. Pressed again
once decided, on every message that still shows a button about it, nothing changes.

The town of tests/test_forged_presses_e2e.py (the example areas, registers and themes, and
the activities' teams). The clock starts on Wednesday 10 June 2026, 10:00 in Shanghai.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests import flows
from tests.conftest import Town
from tests.flows import card_of, claim, open_bot, too_old
from tests.test_admin_e2e import approved_volunteer, known_user
from tests.test_attendance_e2e import VENUE, at, signed_up
from tests.test_forged_edits_e2e import drained
from tests.test_forged_presses_e2e import double_tap, settled
from tests.test_forged_presses_e2e import town_settings as town_settings  # the whole town
from tests.test_supervision_dispatch_e2e import cast, events, press, problem, rectify, report
from tests.test_themes_e2e import fill_theme, month_themes

ASKED = "Asked just above: please answer there (or /cancel)."


def said(person: SimUser | SimChat, words: str) -> int:
    """How many of the bot's messages in a private chat (or a group) say `words`."""
    chat = person.private if isinstance(person, SimUser) else person
    return sum(words in (m.text or "") for m in chat.bot_messages())


def one_refused(taps: list[Any]) -> None:
    """Of two taps, one acted and the other was told, in words, that it is done already."""
    refused = [a for a in taps if a.show_alert]
    assert len(refused) == 1 and refused[0].text, taps


async def late(town: Town, presses: list[tuple[SimUser, str, SimMessage]]) -> None:
    """Each press of a decided button, again, days later (so it reaches the service, which
    cannot look at the message): a polite line each, and nothing about anyone changes."""
    await drained(town)
    before = settled(town)
    for person, data, message in presses:
        answer = await (await person.press_data(data, message=too_old(message))).answer()
        assert answer.text and "went wrong" not in answer.text, (data, answer)
    await drained(town)
    assert settled(town) == before


async def registration(town: Town, person: SimUser) -> SimMessage:
    """`person` applies with /join as 张伟, in Guangminglu Community 1, no team; the review
    the admin chat gets."""
    await person.send("/join")
    await person.wait_for(text="please type your name")
    await person.send("张伟")
    await person.wait_for(text="share your phone number")
    await person.tap("📞 Share my phone number")
    await person.press("Guangminglu Subdistrict Institute",
                      message=await person.wait_for(text="Which area do you serve"))
    await person.press("Guangminglu Community 1 Station",
                      message=await person.wait_for(text="Which community"))
    await person.press("no team", message=await person.wait_for(text="Which team"))
    await person.wait_for(text="Your registration is sent")
    return await town.admin_chat.wait_for(text="Name: 张伟")


async def test_a_registration_tapped_twice_is_approved_once(town: Town) -> None:
    """Zhang applies with /join; the admin double-taps Approve in the admin chat: Zhang is
    told once that he is approved. Approve and Reject pressed again later change nothing."""
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    review = await registration(town, zhang)
    approve, reject = review.button_data["✅ Approve"], review.button_data["✖ Reject"]
    one_refused(await double_tap(admin, "✅ Approve", review))
    await zhang.wait_for(text="registration is approved")
    await drained(town)
    assert said(zhang, "registration is approved") == 1
    await late(town, [(admin, approve, review), (admin, reject, review)])


async def test_the_organisers_hours_buttons_tapped_twice_credit_once(town: Town) -> None:
    """Li checks Zhang in by hand with a double tap, confirms the attendance with a double
    tap, Zhang double-taps Dispute, and Li double-taps Accept: Zhang is checked in once,
    credited once, asked once, and his dispute accepted once; his year shows 2 h, not 4.
    Every one of those buttons pressed again afterwards changes nothing."""
    li, zhang = town.vol1, town.vol2
    await signed_up(town, zhang)
    town.clock.set(at(9, 0))
    await li.press("✋ Check in by hand")
    hand = await li.wait_for(text="press a name")
    one_refused(await double_tap(li, "✋ Zhang", hand))
    await zhang.wait_for(text="The organiser checked you in")

    town.clock.set(at(11, 40))
    await li.press("✅ Attendance and hours")
    listing = await li.wait_for(text="Attendance of")
    one_refused(await double_tap(li, "✅ Confirm attendance and hours", listing))
    credited = await zhang.wait_for(text="You were credited 2.5 h")
    dispute = credited.button_data["Dispute these hours"]
    taps = await double_tap(zhang, "Dispute these hours", credited)
    assert [a.text for a in taps if a.text] == [ASKED], taps  # the other asks, below
    await zhang.wait_for(text="How many hours should it be")
    await zhang.send("2 I left early")
    ask = await li.wait_for(text="disputes their hours")
    accept = ask.button_data["Accept 2 h"]
    one_refused(await double_tap(li, "Accept 2 h", ask))
    await zhang.wait_for(text="Your dispute was accepted: 2 h")
    await drained(town)
    for words in ("The organiser checked you in", "You were credited",
                  "How many hours should it be", "Your dispute was accepted"):
        assert said(zhang, words) == 1, words
    assert said(li, "disputes their hours") == 1
    await zhang.send("/hours")
    assert "2026: 2 h in all" in ((await zhang.wait_for(text="Your service hours")).text or "")

    await late(town, [(li, hand.button_data["✋ Zhang"], hand),
                      (li, listing.button_data["✅ Confirm attendance and hours"], listing),
                      (zhang, dispute, credited), (li, accept, ask),
                      (li, accept.replace(":y", ":n"), ask)])


async def test_check_in_here_tapped_twice_asks_once_and_checks_in_once(town: Town) -> None:
    """Zhang double-taps Check in here: he is asked for his location once, the other tap
    told the question is just above; his location checks him in once. Once he has checked
    out, Check in here pressed again is refused and changes nothing."""
    zhang = town.vol2
    await signed_up(town, zhang)
    town.clock.set(at(8, 50))
    mine = next(m for m in reversed(zhang.private.bot_messages())
                if "📍 Check in here" in m.buttons)
    here = mine.button_data["📍 Check in here"]
    taps = await double_tap(zhang, "📍 Check in here", mine)
    assert [a.text for a in taps if a.text] == [ASKED], taps
    await zhang.wait_for(text="send your location")
    await zhang.tap("📍 Send my location", latitude=VENUE[0] + 0.001, longitude=VENUE[1])
    await zhang.wait_for(text="Checked in to")
    leaving = await zhang.wait_for(text="When you leave")
    await drained(town)
    assert said(zhang, "send your location") == 1 and said(zhang, "Checked in to") == 1
    town.clock.set(at(11, 30))
    await zhang.press("📍 Check out here", message=leaving)
    await zhang.wait_for(text="send your location")
    await zhang.tap("📍 Send my location", latitude=VENUE[0], longitude=VENUE[1] + 0.001)
    await zhang.wait_for(text="Checked out of")
    await late(town, [(zhang, here, mine), (zhang, here, leaving)])


async def test_a_broadcast_tapped_twice_is_sent_once(town: Town) -> None:
    """The admin double-taps Send under a broadcast's preview: Wang gets it once."""
    wang = await known_user(town, "老王", "laowang", language="zh")
    await approved_volunteer(town, wang, "guangminglu-01")
    await open_bot(town.admin)
    await town.admin.send("/broadcast guangminglu Training on Saturday at 9:00")
    preview = await town.admin.wait_for(text="Preview")
    send = preview.button_data["✅ Send"]
    one_refused(await double_tap(town.admin, "✅ Send", preview))
    await wang.wait_for(text="Training on Saturday")
    await drained(town)
    assert said(wang, "Training on Saturday") == 1
    await late(town, [(town.admin, send, preview),
                      (town.admin, send.replace(":send", ":cancel"), preview)])


async def test_a_theme_saved_with_a_double_tap_is_saved_once(town: Town) -> None:
    """The admin double-taps Save under July's theme: one theme is stored; Save pressed
    again later stores nothing more."""
    await open_bot(town.admin)
    preview = await fill_theme(town.admin, "2026-07")
    save = preview.button_data["✅ Save"]
    one_refused(await double_tap(town.admin, "✅ Save", preview))
    await drained(town)
    assert len(month_themes(town)) == 1, month_themes(town)
    await late(town, [(town.admin, save, preview)])


async def test_more_time_and_a_reassignment_tapped_twice_act_once(town: Town) -> None:
    """The office asks for more time; an admin double-taps Approve: the deadline moves once
    and the office is told once. Then it returns the problem as not its own; the admin
    double-taps the market bureau: the problem goes there once, one card. Pressed again
    later, neither changes anything."""
    c = await cast(town)
    market = town.sb.add_group("市场监管局")
    market.add_member(c.admin, status="administrator")
    await c.admin.send("/bind unit market-regulation", chat=market)
    await market.wait_for(text="now the chat of District Market Regulation Bureau")
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))
    await press(c.zhang, "⏳ Need more time", card)
    await c.zhang.wait_for(text="why do you need more time")
    await c.zhang.send("The stall owners need notice")
    await c.zhang.wait_for(text="Until when?")
    await c.zhang.send("6-15 18:00")
    ask = await town.admin_chat.wait_for(text=f"asks for more time on problem {ref}")
    approve = ask.button_data["✅ Approve"]
    one_refused(await double_tap(c.admin, "✅ Approve", ask))
    await c.office.wait_for(text=f"More time on problem {ref} approved")
    await drained(town)
    assert said(c.office, f"More time on problem {ref} approved") == 1
    assert (await problem(town, ref)).extensions == 1

    await town.sb.wait_until(lambda: "↩️ Not ours" in card.buttons)
    await press(c.zhang, "↩️ Not ours", card)
    await c.zhang.wait_for(text="why is it not your unit's")
    await c.zhang.send("The market bureau manages this lane")
    returned = await town.admin_chat.wait_for(text=f"Problem {ref} at Guangming Lane 1 was "
                                                   "returned")
    label = "District Market Regulation Bureau"
    move = returned.button_data[label]
    one_refused(await double_tap(c.admin, label, returned))
    await market.wait_for(text=ref)
    await drained(town)
    assert said(market, ref) == 1
    assert (await events(town, ref)).count("reassigned") == 1
    await late(town, [(c.admin, approve, ask), (c.admin, approve.replace(":y", ":n"), ask),
                      (c.admin, move, returned)])


@pytest.mark.parametrize("town_settings", [{"volunteers": {"ask_hours": True}}])
async def test_the_time_spent_tapped_twice_marks_the_request_done_once(town: Town) -> None:
    """Li double-taps Done on Alice's request (the note is asked once, the other tap told
    so), and then double-taps "1 h" under How long did it take: the
    request is marked done once, Alice asked once to confirm, and Li's year shows 1 h, not
    2 once Alice says it is resolved. The hour buttons pressed again later change
    nothing."""
    alice, li = town.citizen, town.vol1
    await open_bot(li)
    ref = await flows.file_request(alice)  # this story's town has no area tree
    assert (await claim(li, town.volunteers, await card_of(town.volunteers, ref))
            ).startswith("It is yours")
    taps = await double_tap(li, "✅ Done", await li.wait_for(
        predicate=lambda m: "✅ Done" in m.buttons))
    assert [a.text for a in taps if a.text] == [ASKED], taps
    await li.wait_for(text="Write a short note")
    await li.press("Skip")
    asked = await li.wait_for(text="How long did it take?")
    hour = next(label for label in asked.buttons if label.startswith("1 "))
    data = asked.button_data[hour]
    one_refused(await double_tap(li, hour, asked))
    await li.wait_for(text="marked done")
    await drained(town)
    assert said(li, "marked done") == 1 and said(li, "Write a short note") == 1
    assert said(alice, f"Is your request {ref} resolved?") == 1
    await alice.press("👍 Yes, resolved")  # the hours count once the request is closed
    await drained(town)
    await li.send("/hours")
    assert "2026: 1 h in all" in ((await li.wait_for(text="Your service hours")).text or "")
    await late(town, [(li, data, asked), (li, data.rsplit(":", 1)[0] + ":2", asked)])


async def test_a_registration_rejected_with_a_double_tap_asks_the_reason_once(
        town: Town) -> None:
    """The admin double-taps Reject under Zhang's registration: the reason is asked once,
    the other tap told so; Zhang is told once."""
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    review = await registration(town, zhang)
    taps = await double_tap(admin, "✖ Reject", review)
    await admin.wait_for(text="Please type the reason")
    await drained(town)
    assert said(admin, "Please type the reason") == 1, taps
    assert [a.text for a in taps if a.text] == [ASKED], taps
    await admin.send("Our teams are full")
    await zhang.wait_for(text="was not approved")
    await drained(town)
    assert said(zhang, "was not approved") == 1


async def test_the_supervision_questions_tapped_twice_are_asked_once(town: Town) -> None:
    """Zhang double-taps Need more time and then Not ours on the office's card, and Li
    double-taps Reject under the re-check: each question is asked once (in private; Li's
    other tap told it is just above), and each answer goes its way once."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))
    await double_tap(c.zhang, "⏳ Need more time", card)
    await c.zhang.wait_for(text="why do you need more time")
    await c.zhang.send("/cancel")
    await drained(town)
    await double_tap(c.zhang, "↩️ Not ours", card)
    await c.zhang.wait_for(text="why is it not your unit's")
    await c.zhang.send("/cancel")
    await drained(town)
    assert said(c.zhang, "why do you need more time") == 1
    assert said(c.zhang, "why is it not your unit's") == 1

    await rectify(c.zhang, card)
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    taps = await double_tap(c.li, "❌ Reject", recheck)
    assert [a.text for a in taps if a.text] == [ASKED], taps
    await c.li.wait_for(text="why is it not put right")
    await c.li.send("Still there")
    await c.office.wait_for(text="Still there")
    await drained(town)
    assert said(c.li, "why is it not put right") == 1
    assert (await events(town, ref)).count("rejected") == 1
