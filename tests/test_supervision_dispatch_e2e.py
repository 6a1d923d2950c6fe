"""A supervision problem's way to its unit and back (issue 16.4-5), end to end: the card in the
unit's chat (phones masked) and a copy for its member in private; Received starts the clock;
Rectified asks for after photos and a note in private; the inspector re-checks the before and
after photos and rejects once (back to the unit, a new deadline, counted), then passes; Not
ours goes to the admins, who reassign by button or command; Need more time with a reason and a
date, approved or refused by an admin; a unit with no chat (the admins are told, and the card
goes there once bound); an unreceived problem chased on its own timer; /problem and its
history; every bad input gets one line; a restart in the middle of Rectified; Chinese.

The inspector's reporting dialog (16.3, bot/supervision/reporting.py) is tested on its own: here
each problem is made directly — `repo.supervision.start_visit` + `report` + `Dispatch.dispatch`
in one `units.for_job()` unit — so these stories start at the dispatch.

The town uses the example area tree and registers (8 points, 5 units): alley-01 belongs to the
Guangminglu Subdistrict Office, market-01 to the District Market Regulation Bureau, school-01 to
the District Education and Sports Bureau.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from storage import Problem
from tests.conftest import SHANGHAI, Town
from tests.flows import long_as, open_bot, pressed_days_later, supervision_town

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3600.0


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and the example registers."""
    return supervision_town(tmp_path)


@dataclass
class Cast:
    """Who plays: the inspector Li (group G1), the office's chat with Zhang acting for it."""

    admin: SimUser
    li: SimUser
    zhang: SimUser
    office: SimChat


async def cast(town: Town) -> Cast:
    """An inspector, the Guangminglu office's chat bound, Zhang named to act for it."""
    admin, li, zhang = town.admin, town.vol1, town.vol2
    await open_bot(admin, li, zhang)
    await admin.send(f"/inspector add {li.id} G1")
    await admin.wait_for(text="Li now inspects for G1")
    office = town.sb.add_group("光明路街道办")
    office.add_member(admin, status="administrator")
    office.add_member(zhang)
    await admin.send("/bind unit guangminglu-office", chat=office)
    await office.wait_for(text="now the chat of Guangminglu Subdistrict Office")
    await admin.send(f"/unitmember add guangminglu-office {zhang.id}")
    await admin.wait_for(text="Zhang now acts for")
    return Cast(admin, li, zhang, office)


async def report(town: Town, inspector: SimUser, *, point: str = "alley-01",
                 note: str = "Three stalls block the lane", photos: int = 1,
                 severity: str = "normal") -> str:
    """Report a problem as the reporting dialog would, and dispatch it; its reference."""
    services = town.bot.services
    assert services is not None
    registers = services.env.config.supervision.registers
    assert registers is not None
    spot = registers.points[point]
    before = [town.sb.world.new_photo_sizes()[-1]["file_id"] for _ in range(photos)]
    async with services.units.for_job() as unit:
        repo, now = unit.repo, unit.now()
        group = await repo.supervision.inspector_group(inspector.id)
        group_id = group[0] if group else None
        visit = await repo.supervision.start_visit(point, inspector.id, group_id, now)
        ref = await repo.supervision.next_problem_ref(2026)
        problem_id = await repo.supervision.report(
            ref=ref, visit_id=visit, point_id=point, unit_id=spot.unit_id,
            area_id=spot.area_id, group_id=group_id, type_code="street-vending",
            severity=severity, note=note, before_photos=before, reported_by=inspector.id,
            now=now, receive_due=now + services.env.config.supervision.receive_within)
        await services.dispatch.dispatch(unit, problem_id)
    services.sender.wake()
    return ref


async def problem(town: Town, ref: str) -> Problem:
    """The problem as stored."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        found = await repo.supervision.problem_by_ref(ref)
    assert found is not None
    return found


async def events(town: Town, ref: str) -> list[str]:
    """The kinds of a problem's history, in order."""
    services = town.bot.services
    assert services is not None
    found = await problem(town, ref)
    async with services.env.db.reading() as repo:
        return [kind for _, kind, _, _ in await repo.supervision.history(found.id)]


async def press(person: SimUser, label: str, message: SimMessage) -> str:
    """Press a button of a message; the toast or alert."""
    return (await (await person.press(label, message=message)).answer()).text or ""


async def forged(person: SimUser, data: str, chat: SimChat | None = None, *,
                 days_later: bool = True) -> str:
    """Send made-up callback data on the chat's last bot message; the answer. Days later
    (Telegram no longer shows what that message carries) the press reaches the service;
    on the message as it is now, data it does not carry is no longer valid."""
    if not days_later:
        return (await (await person.press_data(data, chat=chat)).answer()).text or ""
    return (await pressed_days_later(person, data, chat)).text or ""


async def rectify(person: SimUser, card: SimMessage, note: str = "Stalls moved away") -> None:
    """Press Rectified, send one after photo and a note."""
    await press(person, "🔧 Rectified", card)
    await person.wait_for(text="send the after photo")
    await person.send_photo()
    await person.wait_for(text="After photo 1 kept")
    await person.send(note)
    await person.wait_for(text="goes to the inspector for re-check")


async def test_a_problem_goes_to_its_unit_is_rectified_rejected_once_then_passed(
    town: Town,
) -> None:
    c = await cast(town)
    ref = await report(town, c.li, note="Stall owner's phone 13912345678, lane blocked",
                       photos=2)
    album = await c.office.wait_for(predicate=lambda m: m.media_group_id is not None)
    card = await c.office.wait_for(text=ref)
    assert card.message_id > album.message_id  # the photos first, then the card
    text = card.text or ""
    assert "13912345678" not in text and "Guangming Lane 1" in text
    assert "Street vending" in text and "🟠 Normal: 3 days" in text
    assert card.buttons == ["✅ Received", "↩️ Not ours"]
    copy = await c.zhang.wait_for(text=ref)  # the member's own copy, with the same buttons
    assert copy.buttons == card.buttons and "13912345678" not in (copy.text or "")

    toast = await press(c.zhang, "✅ Received", card)
    assert toast == f"Received: rectify {ref} by 2026-06-13 10:00."
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    assert card.buttons == ["🔧 Rectified", "⏳ Need more time", "↩️ Not ours"]
    assert (await problem(town, ref)).due_at is not None

    await rectify(c.zhang, card, "Cleared the stalls")
    # The inspector gets the before and after photos side by side, then Pass and Reject.
    photos = await c.li.wait_for(predicate=lambda m: m.media_group_id is not None)
    assert photos.text == "Before"
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert "Cleared the stalls" in (recheck.text or "")
    assert len([m for m in c.li.private.bot_messages()
                if m.media_group_id == photos.media_group_id]) == 3
    await town.sb.wait_until(lambda: "waiting for the inspector" in (card.text or ""))
    assert card.buttons == []

    await press(c.li, "❌ Reject", recheck)
    await c.li.wait_for(text="why is it not put right")
    # A reason over 300 characters as Telegram counts them (🛒 counts 2; 290 for Python) is
    # refused with its length, and asked for again; 300 exactly is taken.
    await c.li.send(long_as("🛒 The stall is still there", 301))
    await c.li.wait_for(text="The reason is 301 characters long; at most 300, please.")
    await c.li.send(long_as("One stall is still there", 300))
    await c.li.wait_for(text=f"Problem {ref} goes back to its unit")
    told = await c.office.wait_for(text="did not pass the re-check")
    assert "One stall is still there" in (told.text or "")
    assert (await problem(town, ref)).rejections == 1
    await c.zhang.wait_for(text="did not pass the re-check")
    await town.sb.wait_until(lambda: "Rejected at re-check 1 time(s)" in (card.text or ""))
    await town.sb.wait_until(lambda: "❌ Rejected by Li" in (recheck.text or ""))
    assert recheck.buttons == []
    assert (await problem(town, ref)).rejections == 1

    await rectify(c.zhang, card)
    again = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert "Stalls moved away" in (again.text or "")
    assert await press(c.li, "✅ Pass", again) == f"{ref} passed."
    await c.office.wait_for(text="passed the re-check")
    await town.sb.wait_until(lambda: "Passed the re-check" in (card.text or ""))
    assert card.buttons == []
    final = await problem(town, ref)
    assert (final.status, final.rejections, final.passed_by) == ("passed", 1, c.li.id)
    assert await events(town, ref) == ["reported", "dispatched", "received", "rectified",
                                       "rejected", "rectified", "passed"]

    # The admin, the reporter and the unit's member see the whole history; nobody else.
    await c.admin.send(f"/problem {ref.lower()}")
    shown = await c.admin.wait_for(text=f"Problem {ref}: passed")
    history = shown.text or ""
    for line in ("reported by Li", "received by Zhang", "rejected at re-check by Li: One "
                 "stall is still there", "passed at re-check by Li"):
        assert line in history, history
    assert "13912345678" in history  # the admin in private sees the note as written
    await c.zhang.send(f"/problem {ref}")
    member_view = await c.zhang.wait_for(text=f"Problem {ref}")
    assert "13912345678" not in (member_view.text or "")
    await open_bot(town.citizen)
    await town.citizen.send(f"/problem {ref}")
    await town.citizen.wait_for(text="for the admins, its inspectors and its unit only")


async def test_a_recheck_decided_in_the_middle_of_a_visit_leaves_the_visit_as_it_was(
    town: Town,
) -> None:
    """Li is at the farmers' market, half-way through reporting a problem there (one before
    photo sent), when the re-check of another problem arrives. He presses Reject, thinks
    better of it (/cancel), presses Reject again and types the reason: each time he is back
    at his visit where he left it, and the problem he was reporting keeps its photo."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)

    await c.li.send("/inspect")
    await c.li.wait_for(text="Which point are you at?")
    await c.li.send("farmers")
    await c.li.press("⚠️ Report a problem",
                     message=await c.li.wait_for(text="did you find a problem here?"))
    await c.li.press("Street vending", message=await c.li.wait_for(text="What kind of problem"))
    await c.li.wait_for(text="at least one before photo")
    await c.li.send_photo()
    await c.li.wait_for(text="Photo 1 kept")

    await rectify(c.zhang, card)
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    await press(c.li, "❌ Reject", recheck)
    await c.li.wait_for(text="why is it not put right")
    await c.li.send("/cancel")
    await c.li.wait_for(text="OK, skipped.")
    await c.li.wait_for(text="Back to your visit to Guangminglu Farmers' Market.")
    await c.li.wait_for(text="at least one before photo")
    await press(c.li, "❌ Reject", recheck)
    await c.li.wait_for(text="why is it not put right")
    await c.li.send("One stall is still there")
    await c.li.wait_for(text=f"Problem {ref} goes back to its unit")
    await c.li.wait_for(text="Back to your visit to Guangminglu Farmers' Market.")
    await c.li.wait_for(text="at least one before photo")
    assert (await problem(town, ref)).rejections == 1

    await c.li.send_photo()
    await c.li.wait_for(text="Photo 2 kept")
    await c.li.press("➡️ Done with photos")
    await c.li.send("Fruit stalls block the pavement")
    await c.li.press("🟡 Minor: 7 days", message=await c.li.wait_for(text="How serious is it?"))
    preview = await c.li.wait_for(text="Check before sending")
    assert "2 photo(s)" in (preview.text or ""), preview.text


async def test_not_ours_goes_to_the_admins_who_reassign_by_button_or_command(
    town: Town,
) -> None:
    c = await cast(town)
    market = town.sb.add_group("市场监管局")
    market.add_member(c.admin, status="administrator")
    await c.admin.send("/bind unit market-regulation", chat=market)
    await market.wait_for(text="now the chat of District Market Regulation Bureau")

    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "↩️ Not ours", card)
    await c.zhang.wait_for(text="why is it not your unit's")
    await c.zhang.send_sticker()  # no reason given: asked again, nothing changes
    await c.zhang.wait_for(text="write the reason in a few words")
    # A reason over 300 characters is refused with its length, and asked for again.
    rambling = "The stall is still there, and the owner says he will come back. " * 5
    await c.zhang.send(rambling)
    await c.zhang.wait_for(text=f"The reason is {len(rambling.strip())} characters long; "
                              "at most 300, please.")
    assert (await problem(town, ref)).status != "returned"
    await c.zhang.send("The market bureau manages this lane")
    await c.zhang.wait_for(text=f"Problem {ref} is returned to the supervision admins")
    returned = await town.admin_chat.wait_for(text=f"Problem {ref} at Guangming Lane 1 was "
                                                   "returned")
    assert "The market bureau manages this lane" in (returned.text or "")
    await town.sb.wait_until(lambda: "Returned as not ours" in (card.text or ""))
    assert card.buttons == [] and (await problem(town, ref)).status == "returned"

    await press(c.admin, "District Market Regulation Bureau", returned)
    await town.sb.wait_until(lambda: "now goes to District Market Regulation Bureau"
                             in (returned.text or ""))
    moved = await market.wait_for(text=ref)
    assert moved.buttons == ["✅ Received", "↩️ Not ours"]
    # A second press of the admins' list is out of date: on the admins' message, which no
    # longer carries it, and sent from an admin's own chat.
    alert = await forged(c.admin, f"preas:{(await problem(town, ref)).id}:education",
                         chat=town.admin_chat, days_later=False)
    assert alert == "This button is no longer valid."
    alert = await forged(c.admin, f"preas:{(await problem(town, ref)).id}:education")
    assert alert == f"Problem {ref} is waiting for Received now: this button is out of date."
    # The office's old card no longer acts for the problem.
    old = await forged(c.zhang, f"prob:{(await problem(town, ref)).id}:recv", chat=c.office)
    assert old == f"Problem {ref} is for District Market Regulation Bureau: only its people " \
                  "can act on it."

    # The command: a second problem, returned, then reassigned by /reassign.
    second = await report(town, c.li)
    card2 = await c.office.wait_for(text=second)
    await press(c.zhang, "↩️ Not ours", card2)
    await c.zhang.send("Not ours either")
    await town.admin_chat.wait_for(text=f"Problem {second}")
    await c.admin.send(f"/reassign {second} nowhere", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="There is no unit “nowhere”")
    await c.admin.send(f"/reassign {second} market-regulation", chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"Problem {second} now goes to District Market")
    await market.wait_for(text=second)
    assert await events(town, second) == ["reported", "dispatched", "returned", "reassigned",
                                          "dispatched"]


async def test_more_time_is_asked_with_a_reason_and_a_date_and_an_admin_decides(
    town: Town,
) -> None:
    c = await cast(town)
    ref = await report(town, c.li, severity="urgent")
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))
    due = (await problem(town, ref)).due_at
    assert due is not None

    await press(c.zhang, "⏳ Need more time", card)
    await c.zhang.wait_for(text="why do you need more time")
    # A reason over 300 characters is refused with its length, and asked for again.
    rambling = "The stall is still there, and the owner says he will come back. " * 5
    await c.zhang.send(rambling)
    await c.zhang.wait_for(text=f"The reason is {len(rambling.strip())} characters long; "
                              "at most 300, please.")
    await c.zhang.send("The stall owners need notice")
    await c.zhang.wait_for(text="Until when? The current deadline is 2026-06-11 10:00")
    await c.zhang.send("next week")
    await c.zhang.wait_for(text="Please send a date like")
    await c.zhang.send("2026-06-01")
    await c.zhang.wait_for(text="2026-06-01 23:59 has passed already")
    await c.zhang.send("2026-06-11 09:00")
    await c.zhang.wait_for(text="must be after the current deadline, 2026-06-11 10:00")
    await c.zhang.send("6-15 18:00")
    await c.zhang.wait_for(text="went to the admins")
    ask = await town.admin_chat.wait_for(text=f"asks for more time on problem {ref}")
    assert "asked: 2026-06-15 18:00" in (ask.text or "")
    assert "The stall owners need notice" in (ask.text or "")

    assert await press(c.admin, "✅ Approve", ask) == "Done."
    await c.office.wait_for(text=f"More time on problem {ref} approved: rectify by "
                                 "2026-06-15 18:00")
    await town.sb.wait_until(lambda: "extended 1 time(s)" in (card.text or ""))
    assert "2026-06-15 18:00" in (card.text or "")
    stored = await problem(town, ref)
    assert stored.extensions == 1 and stored.due_at != due
    # The same request again: decided already.
    refuse = ask.button_data.get("✖️ Refuse") or "pext:0:n"
    again = await forged(c.admin, refuse, chat=town.admin_chat,
                         days_later=False)  # its buttons are gone
    assert again == "This button is no longer valid."
    again = await forged(c.admin, refuse)  # sent from the admin's own chat
    assert "already decided" in again or "no longer exists" in again

    # A second request is refused: the deadline stays.
    await press(c.zhang, "⏳ Need more time", card)
    await c.zhang.send("Still waiting")
    await c.zhang.send("2026-06-20")
    refusal = await town.admin_chat.wait_for(text=f"asks for more time on problem {ref}")
    await press(c.admin, "✖️ Refuse", refusal)
    await c.office.wait_for(text="was refused: the deadline stays 2026-06-15 18:00")
    assert (await problem(town, ref)).extensions == 1


async def test_more_time_asked_in_late_december_until_a_day_in_january_is_next_year(
    town: Town,
) -> None:
    """On 28 December a unit asks for more time "until 1-8": the date without a year is the
    coming 8 January, 2027's, not the one that passed in 2026."""
    town.clock.set(datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI))
    c = await cast(town)
    ref = await report(town, c.li, severity="urgent")
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))

    await press(c.zhang, "⏳ Need more time", card)
    await c.zhang.wait_for(text="why do you need more time")
    await c.zhang.send("The stall owners are away for the new year")
    await c.zhang.wait_for(text="Until when? The current deadline is 2026-12-29 10:00")
    await c.zhang.send("1-8")
    await c.zhang.wait_for(text="went to the admins")
    ask = await town.admin_chat.wait_for(text=f"asks for more time on problem {ref}")
    assert "asked: 2027-01-08 23:59" in (ask.text or "")


async def test_a_unit_without_a_chat_gets_nothing_and_the_admins_are_told_then_bound(
    town: Town,
) -> None:
    c = await cast(town)
    ref = await report(town, c.li, point="school-01")
    told = await town.admin_chat.wait_for(text=f"Problem {ref}")
    assert "has no chat: nothing was sent to it" in (told.text or "")
    assert "/bind unit education" in (told.text or "")
    school = town.sb.add_group("教体局")
    school.add_member(c.admin, status="administrator")
    town.clock.advance(hours=6)  # the receipt's clock starts only when the card arrives
    await c.admin.send("/bind unit education", chat=school)
    await school.wait_for(text="now the chat of District Education and Sports Bureau")
    card = await school.wait_for(text=ref)
    assert card.buttons == ["✅ Received", "↩️ Not ours"]
    assert await town.tick(hours=3) == 0

    # Not received within receive_within (4 h): the chat is reminded, the admins told, once.
    assert await town.tick(hours=1.1) == 1
    await school.wait_for(text=f"Problem {ref} at ")
    await town.admin_chat.wait_for(text=f"has not received problem {ref}")
    assert await town.tick(hours=5) == 0
    assert await events(town, ref) == ["reported", "dispatched", "dispatched", "reminded"]


async def test_received_in_time_is_never_chased(town: Town) -> None:
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    assert await town.tick(hours=5) == 0


async def test_bad_presses_and_answers_each_get_one_line(town: Town) -> None:
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    problem_id = (await problem(town, ref)).id

    # Someone of another unit (the market bureau's chat) presses the office's buttons.
    market = town.sb.add_group("市场监管局")
    market.add_member(c.admin, status="administrator")
    market.add_member(town.grandma)
    await c.admin.send("/bind unit market-regulation", chat=market)
    await market.wait_for(text="now the chat of")
    alert = await forged(town.grandma, f"prob:{problem_id}:recv", chat=market)  # she reads zh
    assert alert == f"问题 {ref} 由 光明路街道办事处 负责，只有该单位的人员可以操作。"
    # A made-up button, and a problem that does not exist.
    assert "no longer exists" in await forged(c.zhang, "prob:999999:recv", chat=c.office)
    assert await forged(c.zhang, "prob:12:sweep", chat=c.office) == (
        "This button is no longer valid.")
    # The re-check before it is due, and by someone who is no inspector.
    assert "Only an inspector" in await forged(c.zhang, f"recheck:{problem_id}:pass")
    assert "re-check is decided already" in await forged(c.li, f"recheck:{problem_id}:pass")
    # Received twice: the second is out of date.
    await press(c.zhang, "✅ Received", card)
    assert "is being rectified now: this button is out of date" in await forged(
        c.zhang, f"prob:{problem_id}:recv", chat=c.office)

    # Rectified: a text before any photo, a photo sent as a file.
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await press(c.zhang, "🔧 Rectified", card)
    await c.zhang.wait_for(text="send the after photo")
    await c.zhang.send("Done already")
    await c.zhang.wait_for(text="At least one after photo is needed first")
    await c.zhang.send_document("after.jpg")
    await c.zhang.wait_for(text="as a photo, not as a file")
    await c.zhang.send_album(2)
    kept = await c.zhang.wait_for(text="After photo")
    assert "After photo 1 kept" in (kept.text or "")
    await c.zhang.send("Cleared")
    await c.zhang.wait_for(text="goes to the inspector")
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert "after 2 photo(s)" in (recheck.text or "")

    # An inspector of another group may not decide; a reject needs a reason.
    await town.grandma.send("/start")
    await town.grandma.wait_for(text="请在下面选择")
    await c.admin.send(f"/inspector add {town.grandma.id} G2")
    await c.admin.wait_for(text="now inspects for G2")
    assert await forged(town.grandma, f"recheck:{problem_id}:pass") == (
        f"只有该督导组的督导员可以复查问题 {ref}。")
    await press(c.li, "❌ Reject", recheck)
    await c.li.wait_for(text="why is it not put right")
    await c.li.send_photo()
    await c.li.wait_for(text="write the reason in a few words")
    await c.li.send("/cancel")
    await c.li.wait_for(text="OK, skipped.")
    assert (await problem(town, ref)).status == "rectified"
    await press(c.li, "✅ Pass", recheck)
    assert "decided already" in await forged(c.li, f"recheck:{problem_id}:reject")


async def test_a_restart_in_the_middle_of_rectified_loses_nothing(town: Town) -> None:
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await press(c.zhang, "🔧 Rectified", card)
    await c.zhang.wait_for(text="send the after photo")
    await c.zhang.send_photo()
    await c.zhang.wait_for(text="After photo 1 kept")
    await town.bot.stop()
    await town.bot.start()
    await c.zhang.send("Stalls moved away")
    await c.zhang.wait_for(text="goes to the inspector for re-check")
    stored = await problem(town, ref)
    assert stored.status == "rectified" and len(stored.after_photos) == 1
    await c.li.wait_for(text=f"Re-check problem {ref}")


async def test_in_chinese_a_member_acts_on_their_own_copy(town: Town) -> None:
    c = await cast(town)
    wang = town.grandma  # 王奶奶 reads Chinese
    await wang.send("/start")
    await wang.wait_for(text="请在下面选择")
    await c.admin.send(f"/unitmember add guangminglu-office {wang.id}")
    await wang.wait_for(text="督导")
    ref = await report(town, c.li, note="占道经营，联系电话 13912345678")
    copy = await wang.wait_for(text=f"督导问题 {ref}")
    assert "13912345678" not in (copy.text or "") and "光明巷1号" in (copy.text or "")
    assert copy.buttons == ["✅ 接收", "↩️ 非本单位（回退）"]
    received = await press(wang, "✅ 接收", copy)
    # Its deadline reads the Chinese way, with the weekday (10 June 2026 is a Wednesday).
    assert received.startswith("已接收") and re.search(r"6月1\d日 周[一二三四五六日] \d\d:\d\d",
                                                       received), received
    await town.sb.wait_until(lambda: "🔧 已整改" in copy.buttons)
    await press(wang, "🔧 已整改", copy)
    await wang.wait_for(text="请发送整改后的照片")
    await wang.send_document("after.png")
    await wang.wait_for(text="以图片形式发送整改后照片")
    await wang.send_photo()
    await wang.wait_for(text="已收到整改后照片 1 张")
    await wang.send("摊位已清理")
    await wang.wait_for(text="已交督导员复查")
    await town.sb.wait_until(lambda: "等待督导员复查" in (copy.text or ""))
    await wang.send(f"/problem {ref}")
    history = await wang.wait_for(text="全过程")
    assert "王奶奶 整改完成（整改后照片 1 张）：摊位已清理" in (history.text or "")
    assert "6月10日 周三 10:00" in (history.text or "")
    assert "2026-06-10" not in (history.text or "")


async def test_someone_named_after_the_card_went_out_gets_a_copy_and_loses_it_again(
    town: Town,
) -> None:
    """A problem reaches the office's chat and Zhang; then 王奶奶 is named to act for the
    office: she gets its photo and a copy of the card at once, and receives it from there
    (everyone's card is redrawn). Named off again, her copy stays as it was and her press
    is refused."""
    c = await cast(town)
    ref = await report(town, c.li)
    group_card = await c.office.wait_for(text=f"Supervision problem {ref}")
    wang = town.grandma
    await wang.send("/start")
    await wang.wait_for(text="请在下面选择")
    await c.admin.send(f"/unitmember add guangminglu-office {wang.id}")
    await wang.wait_for(text="督导")
    await wang.wait_for(predicate=lambda m: m.kind == "photo")
    copy = await wang.wait_for(text=f"督导问题 {ref}")
    assert copy.buttons == ["✅ 接收", "↩️ 非本单位（回退）"]
    received = await press(wang, "✅ 接收", copy)
    # Its deadline reads the Chinese way, with the weekday (10 June 2026 is a Wednesday).
    assert received.startswith("已接收") and re.search(r"6月1\d日 周[一二三四五六日] \d\d:\d\d",
                                                       received), received
    await town.sb.wait_until(lambda: "🔧 Rectified" in group_card.buttons
                             and "🔧 已整改" in copy.buttons)

    await c.admin.send(f"/unitmember remove guangminglu-office {wang.id}")
    await wang.wait_for(text="不再")
    await rectify(c.zhang, await c.zhang.wait_for(text=f"Supervision problem {ref}"))
    await town.sb.wait_until(lambda: "🔧 Rectified" not in group_card.buttons)
    assert "🔧 已整改" in copy.buttons  # no longer redrawn: as it was when she left
    refused = await press(wang, "🔧 已整改", copy)
    assert "只有该单位的人员可以操作" in refused  # one line naming the unit, nothing done
    assert (await problem(town, ref)).status == "rectified"


async def test_a_request_for_more_time_made_stale_by_a_rejection_cannot_be_approved(
    town: Town,
) -> None:
    """The office asks for more time; before an admin decides, the deadline moves (a
    rejected re-check sets a new one): the old Approve is refused, the new deadline stands."""
    c = await cast(town)
    ref = await report(town, c.li, severity="urgent")
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))
    await press(c.zhang, "⏳ Need more time", card)
    await c.zhang.wait_for(text="why do you need more time")
    await c.zhang.send("The stall owners need notice")
    await c.zhang.wait_for(text="Until when?")
    await c.zhang.send("6-15 18:00")
    ask = await town.admin_chat.wait_for(text=f"asks for more time on problem {ref}")
    await rectify(c.zhang, card)
    question = await c.li.wait_for(text="Is it put right?")
    await press(c.li, "❌ Reject", question)
    await c.li.wait_for(text="why is it not put right")
    await c.li.send("Still there")
    await c.office.wait_for(text="Still there")
    due = (await problem(town, ref)).due_at
    stale = await press(c.admin, "✅ Approve", ask)
    assert "already decided" in stale
    assert (await problem(town, ref)).due_at == due and (await problem(town, ref)).extensions == 0


async def test_a_unit_card_posted_twice_is_put_right_when_its_lost_copy_is_pressed(
    town: Town,
) -> None:
    """The unit's card reaches its chat but Telegram's answer is cut off, so the bot posts it
    again and knows only the second. Zhang presses Received on the first: the problem is
    received, and that copy is taken on as a card of its own: it shows it too, with the
    next buttons, and it follows the problem to the end like the other."""
    c = await cast(town)
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=c.office.id)
    ref = await report(town, c.li)
    first = await c.office.wait_for(text=ref)
    second = await c.office.wait_for(text=ref)
    assert first.message_id != second.message_id
    assert await press(c.zhang, "✅ Received", first) == \
        f"Received: rectify {ref} by 2026-06-13 10:00."
    await town.sb.wait_until(lambda: "Received by Zhang" in (second.text or ""))
    assert "🔧 Rectified" in second.buttons
    await town.sb.wait_until(lambda: "Received by Zhang" in (first.text or ""))
    assert "🔧 Rectified" in first.buttons
    await rectify(c.zhang, first)
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert await press(c.li, "✅ Pass", recheck) == f"{ref} passed."
    for copy in (first, second):
        await town.sb.wait_until(lambda copy=copy: "Passed the re-check" in (copy.text or ""))
        assert copy.buttons == []


async def test_ten_minutes_without_telegram_in_the_middle_of_a_rectification_lose_nothing(
    town: Town,
) -> None:
    """Zhang has pressed Rectified when the network goes: his after photo and his note wait
    at Telegram, and so does the bot's answer to the photo. Ten minutes later the network
    is back: each answer comes once, the re-check reaches Li once, and Li passes it."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await press(c.zhang, "🔧 Rectified", card)
    await c.zhang.wait_for(text="send the after photo")

    town.sb.unreachable = True
    await c.zhang.send_photo()
    await town.sb.wait_until(lambda: "getUpdates" in town.sb.dropped, timeout=15)
    town.clock.advance(minutes=10)
    town.sb.unreachable = False

    await c.zhang.wait_for(text="After photo 1 kept", timeout=30)
    await c.zhang.send("Stalls moved away")
    await c.zhang.wait_for(text="goes to the inspector for re-check")
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert await press(c.li, "✅ Pass", recheck) == f"{ref} passed."
    await c.office.wait_for(text="passed the re-check")
    for chat, text in ((c.zhang.private, "After photo 1 kept"),
                       (c.li.private, f"Re-check problem {ref}"),
                       (c.office, "passed the re-check")):
        assert len([m for m in chat.bot_messages() if text in (m.text or "")]) == 1, text
    assert await events(town, ref) == ["reported", "dispatched", "received", "rectified",
                                       "passed"]


async def test_a_reject_whose_inspector_was_removed_before_the_reason_changes_nothing(
    town: Town,
) -> None:
    """Li presses Reject on a re-check and, before he types why, the admin removes him as an
    inspector: his reason is refused with the line saying only an inspector of its group can
    re-check it, and the problem stays put right, waiting for its re-check, not sent back."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    await rectify(c.zhang, card)
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    await press(c.li, "❌ Reject", recheck)
    await c.li.wait_for(text="why is it not put right")

    await c.admin.send(f"/inspector remove {c.li.id}")
    await c.admin.wait_for(text="Li is no longer an inspector")
    await c.li.send("One stall is still there")
    await c.li.wait_for(text=f"Only an inspector of its inspection group can re-check problem "
                             f"{ref}.")
    after = await problem(town, ref)
    assert after.status == "rectified" and after.rejections == 0
    assert not [m for m in c.office.bot_messages() if "did not pass" in (m.text or "")]


async def test_a_recheck_posted_twice_is_put_right_when_its_lost_copy_is_pressed(
    town: Town,
) -> None:
    """The re-check reaches Li but Telegram's answer is cut off, so the bot sends it again
    and knows only the second. Li passes the problem on the first: it is passed once, and
    that copy shows the pass without buttons like the other (before, it kept Pass and
    Reject for ever, each press then told "already decided")."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "🔧 Rectified" in card.buttons)
    await press(c.zhang, "🔧 Rectified", card)
    await c.zhang.wait_for(text="send the after photo")
    await c.zhang.send_photo()
    await c.zhang.wait_for(text="After photo 1 kept")
    town.sb.inject("sendMessage", code=200, body=b'{"ok":true,"result":{"message_id":',
                   truncated=True, performed=True, chat=c.li.id)
    await c.zhang.send("Stalls moved away")
    first = await c.li.wait_for(text=f"Re-check problem {ref}")
    second = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert first.message_id != second.message_id
    assert await press(c.li, "✅ Pass", first) == f"{ref} passed."
    for copy in (first, second):
        await town.sb.wait_until(lambda copy=copy: copy.buttons == [])
        assert "passed" in (copy.text or "").lower()
    assert await events(town, ref) == ["reported", "dispatched", "received", "rectified",
                                       "passed"]
