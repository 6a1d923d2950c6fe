"""Junk at every typed step of every dialog, end to end, one table: a sticker, a photo where
text is wanted, text where a photo or a location is wanted, 5,000 characters, a text of only
spaces and invisible marks, a command-looking "/xyz", and a location, a voice note, a file or
a contact where a line of text is wanted. Each is answered with a short line
in the person's language, the dialog stays at its step, and nothing it holds is changed.

Flows are in bot/dialogs.py (tests/test_dialogs.py lists them); each row of CASES brings one
person to one typed step. The town: the example areas, themes, teams (Li leads the Red Vest
Team) and supervision registers. The clock starts on Wednesday 10 June 2026, 10:00 in
Shanghai.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage, SimUser
from tests.conftest import Town
from tests.flows import REF, card_of, claim, eventually, open_bot, open_form, supervision_town
from tests.test_activities_e2e import PLACE, TEAMS, TITLE, published_card
from tests.test_attendance_e2e import at, scanned_code, signed_up
from tests.test_honours_e2e import GOLDEN, register
from tests.test_supervision_dispatch_e2e import cast, press, rectify, report
from tests.test_supervision_inspect_e2e import at_the_market, inspector

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
BROKEN = ("something went wrong", "Sorry, I did not understand")


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example areas, themes and registers, and a teams file whose team Li leads."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {**supervision_town(tmp_path),
            "activities": {"themes_file": "themes.toml"},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv"), "ask_hours": True}}


# ---- the junk ----------------------------------------------------------------------------

Junk = Callable[[SimUser], Awaitable[Any]]
JUNK: dict[str, Junk] = {
    "sticker": lambda person: person.send_sticker(),
    "photo": lambda person: person.send_photo(),
    "text": lambda person: person.send("Hello there"),
    "long": lambda person: person.send(("Trees and flowers. " * 300)[:5000]),
    "blank": lambda person: person.send(" \u200b\u2060\u3164 \u200b"),
    "command": lambda person: person.send("/xyz"),
    "location": lambda person: person.send_location(34.855, 117.570),
    "voice": lambda person: person.send_voice(),
    "document": lambda person: person.send_document("notes.pdf"),
    "contact": lambda person: person.send_contact(),
}
TEXT_STEP = ("sticker", "photo", "long", "blank", "command", "location", "voice", "document",
             "contact")  # where a line of text is wanted
SHORT_TEXT = ("sticker", "long", "blank", "command")  # a photo with a caption may do
WANTS_FILE = ("sticker", "text", "long", "blank", "command")  # where a photo is wanted
WANTS_PLACE = ("sticker", "photo", "blank", "command")  # a typed place may do
BUTTONS = ("sticker", "photo", "text", "long", "blank", "command", "location", "voice",
           "document", "contact")  # a step answered by its buttons only
PHONE = ("sticker", "photo", "text", "long", "blank", "command", "location", "voice",
         "document")  # one's own contact is the answer


# ---- reaching each step ------------------------------------------------------------------


async def intake_category(town: Town) -> SimUser:
    await open_bot(town.citizen)
    await open_form(town.citizen, command=True)
    return town.citizen


async def intake_description(town: Town) -> SimUser:
    await open_bot(town.citizen)
    await open_form(town.citizen, command=True)
    await town.citizen.press("Help for the elderly")
    await town.citizen.wait_for(text="describe the problem")
    return town.citizen


async def intake_place(town: Town) -> SimUser:
    alice = await intake_description(town)
    await alice.send("The stairs light is broken.")
    await alice.wait_for(text="Where is it")
    return alice


async def join_name(town: Town) -> SimUser:
    await open_bot(town.citizen)
    await town.citizen.send("/join")
    await town.citizen.wait_for(text="please type your name")
    return town.citizen


async def join_phone(town: Town) -> SimUser:
    alice = await join_name(town)
    await alice.send("Alice Wang")
    await alice.wait_for(text="share your phone number")
    return alice


async def reject_reason(town: Town) -> SimUser:
    li = town.vol1
    await open_bot(li)
    alice = await join_phone(town)
    await alice.send("13800138000")
    await alice.press("Guangminglu Subdistrict Institute",
                      message=await alice.wait_for(text="Which area do you serve?"))
    await alice.press("Guangminglu Community 1 Station",
                      message=await alice.wait_for(text="Which community?"))
    await alice.press("Guangminglu Red Vest Team", message=await alice.wait_for(text="Which team"))
    review = await li.wait_for(text="Alice Wang")
    await li.press("✖ Reject", message=review)
    await li.wait_for(text="reason")
    return li


def theme_at(answers: int) -> Callable[[Town], Awaitable[SimUser]]:
    async def reach(town: Town) -> SimUser:
        admin = town.admin
        await open_bot(admin)
        await admin.send("/theme set 2026-07")
        await admin.wait_for(text="1/4")
        typed = ("夏日清凉", "A cool summer", "为户外劳动者送清凉。")
        for n, text in enumerate(typed[:answers]):
            await admin.send(text)
            await admin.wait_for(text=f"{n + 2}/4")
        return admin
    return reach


def publish_at(step: int) -> Callable[[Town], Awaitable[SimUser]]:
    """Li at /publish's step `step` of 12 (the team and area have one answer each)."""
    answers: list[tuple[str, Any]] = [
        ("text", TITLE), ("skip", None), ("skip", None), ("text", PLACE),
        ("location", (34.855, 117.570)), ("text", "2026-06-13 09:00"), ("text", "11:30"),
        ("text", "5"), ("press", "🙋 I lead it"), ("press", "No theme"), ("press", "Skip ⏭")]

    async def reach(town: Town) -> SimUser:
        li = town.vol1
        await open_bot(li)
        await li.send("/publish")
        await li.wait_for(text="1/12")
        for number, (kind, value) in enumerate(answers[:step - 1], start=1):
            if kind == "skip":
                continue
            if kind == "text":
                await li.send(value)
            elif kind == "location":
                await li.send_location(*value)
            else:
                await li.press(value)
            following = number + 1
            while following <= len(answers) and answers[following - 1][0] == "skip":
                following += 1
            await li.wait_for(text=f"{following}/12")
        return li
    return reach


def call_at(step: int) -> Callable[[Town], Awaitable[SimUser]]:
    """Admin at /call's step `step` of 6 (7: its preview)."""
    answers = ["Hands for the flood sandbags", "Guangming Park, east gate", None, "2", "18:00"]

    async def reach(town: Town) -> SimUser:
        admin = town.admin
        await open_bot(admin)
        await admin.send("/call")
        await admin.wait_for(text="1/6")
        for number, answer in enumerate(answers[:min(step, 6) - 1], start=1):
            if answer is None:
                await admin.send_location(34.853, 117.572)
            else:
                await admin.send(answer)
            await admin.wait_for(text=f"{number + 1}/6")
        if step == 7:
            await admin.press("✔️ Done")
            await admin.wait_for(text="Preview of the recruitment call")
        return admin
    return reach


def honour_at(step: int) -> Callable[[Town], Awaitable[SimUser]]:
    """Admin at /honour's step `step` of 3 for Zhang: the title, the year, the citation (4:
    its preview)."""
    async def reach(town: Town) -> SimUser:
        admin, zhang = town.admin, town.vol2
        await open_bot(admin, zhang)
        await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
        await admin.send(f"/honour {zhang.id}")
        await admin.wait_for(text="1/3")
        if step >= 2:
            await admin.send("最美志愿者")
            year = await admin.wait_for(text="2/3")
        if step >= 3:
            await admin.press("2026", message=year)
            await admin.wait_for(text="3/3")
        if step == 4:
            await admin.send("Visited 30 elderly people every week.")
            await admin.wait_for(text="Preview")
        return admin
    return reach


async def visit_point(town: Town) -> SimUser:
    await inspector(town)
    await town.vol1.send("/inspect")
    await town.vol1.wait_for(text="Your group's points")
    return town.vol1


async def visit_photos(town: Town) -> SimUser:
    await inspector(town)
    li = town.vol1
    await li.press("⚠️ Report a problem", message=await at_the_market(town))
    await li.press("Street vending", message=await li.wait_for(text="What kind of problem"))
    await li.wait_for(text="at least one before photo")
    return li


async def visit_note(town: Town) -> SimUser:
    li = await visit_photos(town)
    await li.send_photo()
    await li.wait_for(text="Photo 1 kept")
    await li.press("➡️ Done with photos")
    await li.wait_for(text="Describe the problem")
    return li


async def intake_summary(town: Town) -> SimUser:
    alice = await intake_phone(town)
    await alice.tap("Skip")
    await alice.wait_for(text="Is everything correct?")
    return alice


async def join_area(town: Town) -> SimUser:
    alice = await join_phone(town)
    await alice.send("13800138000")
    await alice.wait_for(text="Which area do you serve?")
    return alice


async def theme_preview(town: Town) -> SimUser:
    admin = await theme_at(3)(town)
    await admin.send("Cold drinks for outdoor workers.")
    await admin.wait_for(text="Preview · theme of")
    return admin


async def publish_preview(town: Town) -> SimUser:
    li = await publish_at(12)(town)
    await li.send("Dig, plant and water.")
    await li.wait_for(text="Preview")
    return li


async def visit_found(town: Town) -> SimUser:
    await inspector(town)
    await at_the_market(town)
    return town.vol1


async def intake_phone(town: Town) -> SimUser:
    alice = await intake_place(town)
    await alice.send("5 Guangming Road")
    await alice.press("I am not sure", message=await alice.wait_for(text="Which community"))
    await alice.wait_for(text="How can the volunteer reach you")
    return alice


async def claimed(town: Town) -> tuple[SimUser, SimMessage]:
    """Alice's request, claimed by Li: Li, and the details he was sent."""
    alice, li = town.citizen, town.vol1
    await open_bot(li)
    await intake_phone(town)
    await alice.tap("Skip")
    await alice.press("✅ Confirm and send", message=await alice.wait_for(text="Is everything"))
    match = REF.search((await alice.wait_for(text="Reference number")).text or "")
    assert match
    ref = match.group(0)
    await claim(li, town.volunteers, await card_of(town.volunteers, ref))
    return li, await li.wait_for(text=f"You took {ref}")


async def filed_and_done(town: Town) -> SimUser:
    """Li presses Done on Alice's request he took: he is asked for his note."""
    li, details = await claimed(town)
    await li.press("✅ Done", message=details)
    await li.wait_for(text="Finishing")
    return li


async def writing(town: Town) -> SimUser:
    """Li writes to Alice in the masked chat."""
    li, details = await claimed(town)
    await (await li.press("💬 Message the citizen", message=details)).answer()
    await li.wait_for(text="What you send now goes to the citizen")
    return li


async def nearest_events(town: Town) -> SimUser:
    """Alice asks for the activities nearest her: the list waits for her location."""
    await open_bot(town.citizen, town.vol1)
    await published_card(town, town.vol1)
    await town.citizen.send("/events")
    listing = await town.citizen.wait_for(text="Upcoming volunteer activities")
    await town.citizen.press("📍 Nearest to me", message=listing)
    await town.citizen.wait_for(text="send your location")
    return town.citizen


async def patrol_list(town: Town) -> SimUser:
    """Li asks for his group's patrol list: it waits for his location."""
    await inspector(town)
    await town.vol1.send("/due")
    await town.vol1.wait_for(text="location")
    return town.vol1


async def done_hours(town: Town) -> SimUser:
    li = await filed_and_done(town)
    await li.send("Fixed the light.")
    await li.wait_for(text="How long did it take?")
    return li


async def comment(town: Town) -> SimUser:
    li, alice = await done_hours(town), town.citizen
    await li.press("1 h")
    await alice.press("👍 Yes, resolved", message=await alice.wait_for(text="resolved?"))
    await alice.press("⭐⭐⭐⭐⭐", message=await alice.wait_for(text="How would you rate"))
    await alice.wait_for(text="add a comment")
    return alice


async def check_in(town: Town) -> SimUser:
    zhang = town.vol2
    await signed_up(town, zhang)
    town.clock.set(at(8, 50))
    await zhang.press("📍 Check in here")
    await zhang.wait_for(text="send your location")
    return zhang


async def dispute(town: Town) -> SimUser:
    zhang, li = town.vol2, town.vol1
    await signed_up(town, zhang)
    town.clock.set(at(9, 0))
    await zhang.send(f"/start {await scanned_code(town)}")
    await zhang.wait_for(text="Checked in to")
    town.clock.set(at(11, 40))
    await li.press("✅ Attendance and hours")
    await li.press("✅ Confirm attendance and hours",
                   message=await li.wait_for(text="Attendance of"))
    await zhang.press("Dispute these hours",
                      message=await zhang.wait_for(text="You were credited"))
    await zhang.wait_for(text="How many hours should it be")
    return zhang


def editing(field: str, question: str) -> Callable[[Town], Awaitable[SimUser]]:
    """Li changes one field of his published activity: asked for its new value."""
    async def reach(town: Town) -> SimUser:
        li = town.vol1
        await open_bot(li)
        await published_card(town, li)
        await li.press("✏️ Edit")
        await li.press(field, message=await li.wait_for(text="What to change"))
        await li.wait_for(text=question)
        return li
    return reach


async def edit_end(town: Town) -> SimUser:
    li = await editing("Date and time", "Type the new start")(town)
    await li.send("2026-06-13 08:00")
    await li.wait_for(text="Type the new end")
    return li


async def a_problem_at_the_office(town: Town) -> tuple[SimUser, Any, str]:
    """A problem dispatched to the Guangminglu office, whose chat Zhang acts for: Zhang,
    the card, its reference."""
    c = await cast(town)
    ref = await report(town, c.li)
    return c.zhang, await c.office.wait_for(text=ref), ref


async def rectify_photos(town: Town) -> SimUser:
    zhang, card, _ = await a_problem_at_the_office(town)
    await press(zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await press(zhang, "🔧 Rectified", card)
    await zhang.wait_for(text="send the after photo")
    return zhang


async def rectify_note(town: Town) -> SimUser:
    zhang = await rectify_photos(town)
    await zhang.send_photo()
    await zhang.wait_for(text="After photo 1 kept")
    return zhang


async def not_ours(town: Town) -> SimUser:
    zhang, card, _ = await a_problem_at_the_office(town)
    await press(zhang, "↩️ Not ours", card)
    await zhang.wait_for(text="why is it not your unit's")
    return zhang


async def extend_reason(town: Town) -> SimUser:
    zhang, card, _ = await a_problem_at_the_office(town)
    await press(zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))
    await press(zhang, "⏳ Need more time", card)
    await zhang.wait_for(text="why do you need more time")
    return zhang


async def extend_date(town: Town) -> SimUser:
    zhang = await extend_reason(town)
    await zhang.send("The stall owners need notice")
    await zhang.wait_for(text="Until when?")
    return zhang


async def recheck_reason(town: Town) -> SimUser:
    zhang, card, ref = await a_problem_at_the_office(town)
    li = town.vol1
    await press(zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await rectify(zhang, card, "Cleared the stalls")
    await press(li, "❌ Reject", await li.wait_for(text=f"Re-check problem {ref}"))
    await li.wait_for(text="why is it not put right")
    return li


# Each row: the flow and step, how to get there, the junk that is no answer there.
CASES: list[tuple[str, Callable[[Town], Awaitable[SimUser]], tuple[str, ...]]] = [
    ("intake-category", intake_category,
     ("sticker", "long", "blank", "command", "location", "document", "contact")),
    ("intake-description", intake_description,
     ("sticker", "long", "blank", "command", "location", "document", "contact")),
    ("intake-place", intake_place, WANTS_PLACE),
    ("join-name", join_name, TEXT_STEP),
    ("join-phone", join_phone, PHONE),
    ("reject-reason", reject_reason, TEXT_STEP),
    ("theme-title_zh", theme_at(0), TEXT_STEP),
    ("theme-title_en", theme_at(1), TEXT_STEP),
    ("theme-description_zh", theme_at(2), TEXT_STEP),
    ("theme-description_en", theme_at(3), TEXT_STEP),
    ("intake-phone", intake_phone, PHONE),
    ("publish-title", publish_at(1), TEXT_STEP),
    ("publish-place", publish_at(4), TEXT_STEP),
    ("publish-point", publish_at(5), (*WANTS_PLACE, "text", "long")),
    ("publish-start", publish_at(6), (*TEXT_STEP, "text")),
    ("publish-end", publish_at(7), (*TEXT_STEP, "text")),
    ("publish-capacity", publish_at(8), (*TEXT_STEP, "text")),
    ("publish-leader", publish_at(9), (*TEXT_STEP, "text")),
    ("publish-poster", publish_at(11), WANTS_FILE),
    ("publish-description", publish_at(12), TEXT_STEP),
    ("call-what", call_at(1), TEXT_STEP),
    ("call-place", call_at(2), TEXT_STEP),
    ("call-point", call_at(3), (*WANTS_PLACE, "text", "long")),
    ("call-needed", call_at(4), (*TEXT_STEP, "text")),
    ("call-deadline", call_at(5), (*TEXT_STEP, "text")),
    ("call-audience", call_at(6), (*TEXT_STEP, "text")),
    ("call-preview", call_at(7), BUTTONS),
    ("honour-title", honour_at(1), TEXT_STEP),
    ("honour-year", honour_at(2), (*TEXT_STEP, "text")),
    ("honour-citation", honour_at(3), TEXT_STEP),
    ("honour-preview", honour_at(4), BUTTONS),
    ("inspect-point", visit_point, (*WANTS_PLACE, "text", "long")),
    ("inspect-photos", visit_photos, WANTS_FILE),
    ("inspect-note", visit_note, TEXT_STEP),
    ("done-note", filed_and_done, SHORT_TEXT),
    ("done-hours", done_hours, (*TEXT_STEP, "text")),
    ("comment", comment, TEXT_STEP),
    ("checkin", check_in, (*WANTS_PLACE, "text", "long")),
    ("dispute", dispute, (*TEXT_STEP, "text")),
    ("aedit-title", editing("Title", "Type the new title"), TEXT_STEP),
    ("aedit-place", editing("Place", "Type the new place"), TEXT_STEP),
    ("aedit-start", editing("Date and time", "Type the new start"), (*TEXT_STEP, "text")),
    ("aedit-end", edit_end, (*TEXT_STEP, "text")),
    ("aedit-capacity", editing("Places", "Type the new number"), (*TEXT_STEP, "text")),
    ("aedit-description", editing("Description", "Type the new description"), TEXT_STEP),
    ("rectify-photos", rectify_photos, WANTS_FILE),
    ("rectify-note", rectify_note, SHORT_TEXT),
    ("notours", not_ours, TEXT_STEP),
    ("extend-reason", extend_reason, TEXT_STEP),
    ("extend-date", extend_date, (*TEXT_STEP, "text")),
    ("recheck", recheck_reason, TEXT_STEP),
    ("intake-summary", intake_summary, BUTTONS),
    ("join-area", join_area, BUTTONS),
    ("theme-preview", theme_preview, BUTTONS),
    ("publish-preview", publish_preview, BUTTONS),
    ("inspect-found", visit_found, BUTTONS),
    ("relay", writing, ("sticker", "blank", "command")),  # the rest is passed on, as written
    ("events", nearest_events, WANTS_PLACE),
    ("patrol", patrol_list, WANTS_PLACE),
]


# ---- the story ---------------------------------------------------------------------------


def read(town: Town, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute(sql, args).fetchall()


def dialog_of(town: Town, user_id: int) -> tuple[str, str, dict[str, Any]]:
    """The person's dialog row: flow, step and data (what is kept under it too)."""
    (flow, step, data), = read(
        town, "SELECT flow, step, data FROM dialogs WHERE user_id = ?", user_id)
    return flow, step, json.loads(data)


async def answered(town: Town, person: SimUser, before: int) -> list[str]:
    """Wait until the bot has handled everything sent and sent all it queued; what it said
    to the person since `before`."""
    async def settled() -> bool:
        return (len(person.private.bot_messages()) > before
                and not read(town, "SELECT 1 FROM inbox WHERE processed_at IS NULL")
                and not read(town, "SELECT 1 FROM outbox WHERE status = 'pending'"))
    await eventually(settled)
    return [m.text or m.kind for m in person.private.bot_messages()[before:]]


@pytest.mark.parametrize(("step", "reach", "junk"), CASES, ids=[c[0] for c in CASES])
async def test_junk_at_a_typed_step_is_turned_away_and_the_step_kept(
    town: Town, step: str, reach: Callable[[Town], Awaitable[SimUser]], junk: tuple[str, ...],
) -> None:
    """Each junk gets a line in English, and the dialog is where it was, as it was; in
    Chinese, once the person reads the bot in Chinese."""
    person = await reach(town)
    await answered(town, person, 0)
    kept = dialog_of(town, person.id)
    for kind in junk:
        before = len(person.private.bot_messages())
        await JUNK[kind](person)
        said = await answered(town, person, before)
        assert all(not CJK.search(text) for text in said[:1]), (kind, said)
        assert all(word not in text for text in said for word in BROKEN), (kind, said)
        assert dialog_of(town, person.id) == kept, (kind, said)

    await person.send("/lang")
    await person.press("中文", message=await person.wait_for(text="Choose your language:"))
    await person.wait_for(text="语言已设置为中文")
    await answered(town, person, 0)
    kept = dialog_of(town, person.id)
    before = len(person.private.bot_messages())
    await JUNK[junk[0]](person)
    said = await answered(town, person, before)
    assert CJK.search(said[0]) and all(word not in text for text in said for word in BROKEN), said
    assert dialog_of(town, person.id) == kept, said
