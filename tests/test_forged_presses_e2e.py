"""Every kind of button, forged. A Telegram client can send any callback data on any message it
can see: another kind's data, another object's id, an id no button ever carried (letters,
13 digits, a minus sign, past Telegram's 64 bytes), or a real button twice before the bot has
answered the first. Whatever it sends, a press whose data is not a button of the message it
was pressed on is answered with one polite line, in the presser's language, and nothing
changes: no row of the database, no message in any chat.

The town: Alice has a request that Li claimed; Li leads the Red Vest Team and has published
a tree planting, which Zhang signed up for; the card is in the volunteers' group. The clock
starts on Wednesday 10 June 2026, 10:00 in Shanghai (tests/conftest.py).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot import buttons
from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import REF, card_of, claim, open_bot, open_form, supervision_town, too_old
from tests.test_activities_e2e import TEAMS, published_card
from tests.test_buttons import EXAMPLES
from tests.test_calls_e2e import answers, approved, sent_call
from tests.test_forged_edits_e2e import STALE_EN, drained
from tests.test_honours_e2e import GOLDEN, honour_up_to_the_preview, register
from tests.test_supervision_dispatch_e2e import cast, press, rectify, report
from tests.test_supervision_dispatch_e2e import problem as problem_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example areas, registers and themes, and the teams file of the activities'
    story."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {**supervision_town(tmp_path),
            "activities": {"themes_file": "themes.toml"},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


def valid(kind: buttons.ButtonKind) -> str:
    """The kind's data naming the first object of the story (id 1: Alice's request, Li's
    activity; a registration names Zhang), its other arguments as the buttons table has them."""
    args = [(1004 if kind in (buttons.APPROVE, buttons.REJECT) else 1)
            if shape == buttons.ID else example
            for shape, example in zip(kind.fields, EXAMPLES[kind.prefix], strict=True)]
    return kind.data(*args)


def someone_elses(kind: buttons.ButtonKind) -> str:
    """The kind's data naming objects of nobody in the story (ids no row has)."""
    args = [987654 if shape == buttons.ID else example
            for shape, example in zip(kind.fields, EXAMPLES[kind.prefix], strict=True)]
    return kind.data(*args)


def malformed(kind: buttons.ButtonKind) -> list[str]:
    """Data no button of the kind was ever built with: an id of letters, of 13 digits,
    negative, and data past Telegram's 64 bytes."""
    data = valid(kind)
    prefix, _, rest = data.partition(":")
    first = rest.split(":")
    out = [f"{data}:{'9' * 64}"]
    if buttons.ID in kind.fields:
        at = kind.fields.index(buttons.ID)
        for bad in ("abc", "9" * 13, "-1"):
            args = [*first[:at], bad, *first[at + 1:]]
            out.append(":".join((prefix, *args)))
    return out


def dump(town: Town) -> dict[str, list[Any]]:
    """Every table's rows, read beside the bot (the inbox of updates aside: it keeps each
    press it was sent)."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'inbox' "
            "AND name NOT LIKE 'sqlite_%'")]
        return {table: db.execute(f"SELECT * FROM {table}").fetchall()
                for table in sorted(tables)}


async def file_request(alice: SimUser) -> str:
    """Alice files a request for help with her tap, not sure of her community; its
    reference."""
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")
    await alice.send("My kitchen tap is leaking and I cannot fix it.")
    await alice.wait_for(text="Where is it")
    await alice.send("12 Jianshe Road, building 3")
    await alice.press("I am not sure", message=await alice.wait_for(text="Which community"))
    await alice.wait_for(text="How can the volunteer reach you")
    await alice.tap("📞 Share my phone number")
    await alice.wait_for(text="Is everything correct?")
    await alice.press("✅ Confirm and send")
    receipt = await alice.wait_for(text="Reference number")
    match = REF.search(receipt.text or "")
    assert match, receipt.text
    return match.group(0)


async def story(town: Town) -> tuple[SimMessage, SimMessage, SimMessage]:
    """Alice's request claimed by Li, Li's activity with Zhang signed up. Returns a message
    of Alice's without buttons, the activity's card in the group and Li's controls."""
    alice, li, zhang = town.citizen, town.vol1, town.vol2
    await open_bot(alice, li, zhang)
    ref = await file_request(alice)
    card = await card_of(town.volunteers, ref)
    assert (await claim(li, town.volunteers, card)).startswith("It is yours")
    activity = await published_card(town, li)
    await (await zhang.press("🙋 Sign up", message=activity)).answer()
    await zhang.wait_for(text="You are signed up for")
    await drained(town)
    plain = next(m for m in reversed(alice.private.bot_messages()) if not m.buttons)
    controls = next(m for m in reversed(li.private.bot_messages()) if m.buttons)
    return plain, town.volunteers.get(activity.message_id) or activity, controls


async def forged(person: SimUser, data: str, on: SimMessage) -> None:
    """`person` presses `data` on `on`: one polite alert saying the button is no longer
    valid."""
    current = on.chat.get(on.message_id) or on
    answer = await (await person.press_data(data, message=current)).answer()
    assert answer.show_alert and answer.text == STALE_EN, (data, answer)


async def test_every_kind_of_button_forged_onto_a_message_that_never_carried_it_changes_nothing(
        town: Town) -> None:
    """For every kind of button: Alice presses its data, naming her own request or Li's
    activity, on a message of hers that has no buttons; then naming objects nobody has; then
    with a broken id. Li presses the same on the activity's card in the group and on his own
    controls, which carry other buttons. Every press gets the same polite alert; the
    database reads as before, and the bot made no call but those answers."""
    plain, card, controls = await story(town)
    alice, li = town.citizen, town.vol1
    carried = {button["callback_data"] for m in (card, controls)
               for row in (m.reply_markup or {}).get("inline_keyboard", []) for button in row}
    before, calls = dump(town), len(town.sb.calls)

    for prefix in sorted(buttons.KINDS):
        kind = buttons.KINDS[prefix]
        await forged(alice, valid(kind), plain)
        await forged(alice, someone_elses(kind), plain)
        for data in malformed(kind):
            await forged(alice, data, plain)
        for on in (card, controls):
            if valid(kind) not in carried:
                await forged(li, valid(kind), on)

    await drained(town)
    assert dump(town) == before
    made = [method for method, _, _ in town.sb.calls[calls:] if method != "getUpdates"]
    assert set(made) == {"answerCallbackQuery"}, sorted(set(made))


async def test_a_real_button_tapped_twice_acts_once_and_the_second_tap_is_told_politely(
        town: Town) -> None:
    """Zhang taps "Cancel my sign-up", then "Yes, cancel my sign-up" twice before the bot
    has answered either. He is taken off the list once; the other tap gets a polite line.
    Pressed again after that, on the message now without it, the button is no longer
    valid, and nothing changes."""
    await story(town)
    zhang = town.vol2
    mine = next(m for m in reversed(zhang.private.bot_messages())
                if any("Cancel" in label for label in m.buttons))
    label = next(label for label in mine.buttons if "Cancel" in label)
    await (await zhang.press(label, message=mine)).answer()
    confirm = await zhang.wait_for(text="Cancel your sign-up")
    yes = next(data for text, data in confirm.button_data.items() if text.startswith("Yes"))
    first = await zhang.press_data(yes, message=confirm)
    second = await zhang.press_data(yes, message=confirm)
    answers = [await first.answer(), await second.answer()]
    await drained(town)
    assert all(a.text for a in answers), answers
    assert sum(bool(a.show_alert) for a in answers) == 1, answers
    before = dump(town)
    await forged(zhang, yes, confirm)
    await drained(town)
    assert dump(town) == before


def settled(town: Town) -> dict[str, list[Any]]:
    """What the objects of the story hold: every table but the inbox, the outbox (a polite
    answer may come as a message) and who was seen when."""
    return {table: rows for table, rows in dump(town).items()
            if table not in ("outbox", "users")}


async def test_every_button_left_on_a_closed_request_or_activity_changes_nothing(
        town: Town) -> None:
    """Alice cancels her request and Li cancels his activity. Then everyone presses every
    button still showing on any message about either, in their private chats and in the
    group: each press is answered with a polite line (never the error; a tap that shows
    something, such as who had signed up, may answer with a message instead), and nothing
    about the request, the activity or anyone's record changes."""
    _, _, controls = await story(town)
    alice, li, zhang = town.citizen, town.vol1, town.vol2
    await alice.send("/my")
    mine = await alice.wait_for(text="Your requests")
    cancel = next(label for label in mine.buttons if label.startswith("✖ Cancel"))
    await alice.press(cancel, message=mine)
    await alice.press("Yes, cancel it", message=await alice.wait_for(text="Cancel request"))
    await alice.wait_for(text="is cancelled")
    await li.press("❌ Cancel the activity", message=controls)
    await li.press("Yes, cancel it", message=await li.wait_for(text="will be told"))
    await zhang.wait_for(text="is cancelled. We are sorry")
    await drained(town)
    before = settled(town)

    await press_everything_left(town, ((alice, alice.private), (li, li.private),
                                       (zhang, zhang.private), (li, town.volunteers),
                                       (zhang, town.volunteers)))
    assert settled(town) == before


async def press_everything_left(town: Town, where: tuple[tuple[SimUser, SimChat], ...],
                                *, some: bool = True,
                                kinds: tuple[buttons.ButtonKind, ...] = ()) -> None:
    """Each person presses every button about an object (one naming an id; of `kinds`, if
    given) on every bot message of their chat: never the error, and a tap answered without
    words brings its answer as a message. `some`: there are such buttons left (else: none
    is left)."""
    pressed: list[str] = []
    for person, chat in where:
        for message in chat.bot_messages():
            for data in message.button_data.values():
                parsed = buttons.parse(data)
                if (parsed is None or buttons.ID not in parsed[0].fields
                        or (kinds and parsed[0] not in kinds)):
                    continue  # a menu, a language, a form's step: about no closed object
                seen = len(person.private.bot_messages())
                answer = await (await person.press_data(data, message=message)).answer()
                assert "went wrong" not in (answer.text or ""), (data, answer)
                if not answer.text:  # a silent tap must bring its answer as a message
                    await drained(town)
                    assert len(person.private.bot_messages()) > seen, (data, answer)
                pressed.append(data)
    await drained(town)
    assert bool(pressed) == some, pressed


async def test_every_button_left_on_a_cancelled_call_changes_nothing(town: Town) -> None:
    """The centre admin sends a recruitment call; Li answers I'm in, then the admin cancels
    the call. Every button still showing about it, in the group, in Li's and Zhang's chats
    and the admin's, pressed by each of them: a polite line, and nothing changes."""
    li, zhang, admin = town.vol1, town.vol2, town.admin
    await approved(town, li, zhang)
    card = await sent_call(town)
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    roster = next(m for m in admin.private.bot_messages()
                  if "answered · sent to" in (m.text or ""))
    await admin.press("❌ Cancel the call", message=roster)
    await admin.press("Yes, cancel it", message=await admin.wait_for(text="Cancel call #1"))
    await li.wait_for(text="is cancelled: please do not come")
    await drained(town)
    before = settled(town)

    await press_everything_left(town, ((li, li.private), (zhang, zhang.private),
                                       (admin, admin.private), (li, town.volunteers),
                                       (admin, town.volunteers)))
    assert settled(town) == before


async def test_every_button_left_on_a_revoked_honour_changes_nothing(town: Town) -> None:
    """The centre admin honours Zhang and announces it, then revokes it. Every button still
    showing about it, pressed again by the admin and by Zhang: a polite line, and nothing
    changes."""
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    preview = await honour_up_to_the_preview(town, zhang.id)
    await admin.press("📣 Save and announce", message=preview)
    await zhang.wait_for(text="An honour was recorded on your service record")
    await admin.send(f"/honours {zhang.id}")
    theirs = await admin.wait_for(text="Honours of Zhang")
    await admin.press("Revoke #1", message=theirs)
    await admin.press("Yes, revoke it", message=await admin.wait_for(text="Revoke “"))
    await zhang.wait_for(text="was revoked")
    await drained(town)
    before = settled(town)

    await press_everything_left(town, ((admin, admin.private), (zhang, zhang.private),
                                       (zhang, town.volunteers)))
    assert settled(town) == before


async def double_tap(person: SimUser, label: str, message: SimMessage) -> list[Any]:
    """`person` taps the button twice before the bot has answered either: the two answers,
    neither of them the error."""
    data = message.button_data[label]
    first = await person.press_data(data, message=message)
    second = await person.press_data(data, message=message)
    got = [await first.answer(), await second.answer()]
    assert not any("went wrong" in (a.text or "") for a in got), got
    return got


async def test_a_double_tap_on_a_calls_buttons_acts_once(town: Town) -> None:
    """Li double-taps I'm in on the call's card: he is in once. The admin double-taps Yes
    under "Cancel this call?": the call is cancelled once, and Li is told once not to
    come."""
    li, admin = town.vol1, town.admin
    await approved(town, li)
    card = await sent_call(town)
    label = next(label for label in card.buttons if "I'm in" in label)
    await double_tap(li, label, card)
    await li.wait_for(text="You're in for call #1")
    await drained(town)
    assert answers(town) == [(li.id, "signed")]
    assert sum("You're in for call #1" in (m.text or "") for m in li.private.bot_messages()) \
        == 1

    roster = next(m for m in admin.private.bot_messages()
                  if "answered · sent to" in (m.text or ""))
    await admin.press("❌ Cancel the call", message=roster)
    ask = await admin.wait_for(text="Cancel call #1")
    taps = await double_tap(admin, "Yes, cancel it", ask)
    await li.wait_for(text="is cancelled: please do not come")
    await drained(town)
    assert sum("please do not come" in (m.text or "") for m in li.private.bot_messages()) == 1
    assert sum(bool(a.show_alert) for a in taps) == 1, taps


async def test_a_double_tap_on_revoke_revokes_once(town: Town) -> None:
    """The admin double-taps Yes under "Revoke?": Zhang is told once."""
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    preview = await honour_up_to_the_preview(town, zhang.id)
    await double_tap(admin, "💾 Save", preview)
    await zhang.wait_for(text="An honour was recorded on your service record")
    await admin.send(f"/honours {zhang.id}")
    theirs = await admin.wait_for(text="Honours of Zhang")
    await admin.press("Revoke #1", message=theirs)
    taps = await double_tap(admin, "Yes, revoke it", await admin.wait_for(text="Revoke “"))
    await zhang.wait_for(text="was revoked")
    await drained(town)
    told = [m for m in zhang.private.bot_messages() if "was revoked" in (m.text or "")]
    recorded = [m for m in zhang.private.bot_messages()
                if "An honour was recorded" in (m.text or "")]
    assert len(told) == 1 and len(recorded) == 1
    assert sum(bool(a.show_alert) for a in taps) == 1, taps


async def test_every_button_left_on_a_problem_that_passed_changes_nothing(town: Town) -> None:
    """Inspector Li reports a problem; the Guangminglu office receives it and rectifies it;
    Li passes the re-check. No button about it is left anywhere, in the office's chat, in
    Zhang's and Li's chats or the admins': nothing to press, nothing changes."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    await rectify(c.zhang, card)
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert await press(c.li, "✅ Pass", recheck) == f"{ref} passed."
    await c.office.wait_for(text="passed the re-check")
    await drained(town)
    before = settled(town)

    await press_everything_left(town, ((c.zhang, c.zhang.private), (c.zhang, c.office),
                                       (c.li, c.li.private), (c.admin, c.admin.private),
                                       (c.admin, town.admin_chat)), some=False)
    assert settled(town) == before


async def test_a_card_button_forged_days_later_on_another_card_leaves_that_card_alone(
        town: Town) -> None:
    """Days later (Telegram then sends the pressed message without its keyboard), Zhang
    presses the activity's Sign up on Alice's request card in the volunteers' group, and an
    office member presses a problem's Received on a notice in the office's chat: neither
    message becomes the activity's or the problem's card (a lost copy is taken on only when
    the press is seen to come from its own button)."""
    _, card, _ = await story(town)
    zhang = town.vol2
    request_card = next(m for m in town.volunteers.bot_messages() if REF.search(m.text or ""))
    shown = request_card.text
    await (await zhang.press_data(valid(buttons.SIGN_UP), message=too_old(request_card))
           ).answer()
    await drained(town)
    assert (town.volunteers.get(request_card.message_id) or request_card).text == shown
    assert (town.volunteers.get(card.message_id) or card).text == card.text

    c = await cast(town)
    ref = await report(town, c.li)
    await c.office.wait_for(text=ref)
    notice = next(m for m in c.office.bot_messages() if "now the chat of" in (m.text or ""))
    said_before = notice.text
    number = (await problem_of(town, ref)).id
    await (await c.zhang.press_data(f"prob:{number}:recv", message=too_old(notice))).answer()
    await drained(town)
    assert (c.office.get(notice.message_id) or notice).text == said_before


async def test_a_claim_forged_days_later_on_a_message_in_the_group_takes_nothing_on(
        town: Town) -> None:
    """Li has claimed Alice's request. Days later (Telegram then sends the pressed message
    without its keyboard) Zhang presses its Claim on a message of his own in the volunteers'
    group: he is told it is taken, and that message does not become one of the request's
    cards (a lost copy is taken on only when the press is seen to come from its Claim)."""
    await open_bot(town.citizen, town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    said = await town.vol2.send("Who has the ladder?", chat=town.volunteers)
    await (await town.vol2.press_data(valid(buttons.CLAIM), message=too_old(said))).answer()
    await drained(town)
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        cards = await repo.cards.active_cards(1)
        failed = await repo._all("SELECT last_error FROM outbox WHERE status = 'failed'")
    assert [c.message_id for c in cards] == [card.message_id]
    assert [row[0] for row in failed] == []
