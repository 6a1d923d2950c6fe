"""An inspector's visit (issue 16.3), end to end: /inspect, the point found by a shared
location (nearest first), by name or from the group's patrol list; a problem reported with its
type, before photos, a note and a severity, checked in a preview and sent; several problems in
one visit; a visit with nothing found recorded as all clear; every bad answer one line; a
restart in the middle loses nothing.

Until problems reach their units by themselves (16.4), the admins are told of each (the
admin chat here); that is what these stories check the sending by.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, open_form, supervision_town

ROOT = Path(__file__).resolve().parent.parent
MARKET = (34.85420, 117.57120)  # Guangminglu Farmers' Market in the example points file


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree, registers and problem types."""
    return supervision_town(tmp_path)


async def inspector(town: Town) -> None:
    """Li is made an inspector of G1, which patrols Guangminglu's points."""
    await open_bot(town.admin, town.vol1)
    await town.admin.send(f"/inspector add {town.vol1.id} G1")
    await town.vol1.wait_for(text="You are now an inspector of G1")
    await town.admin.send("/patrol G1 area:guangminglu")
    await town.admin.wait_for(text="G1 patrols these 5 points")


def rows(town: Town, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


async def at_the_market(town: Town) -> SimMessage:
    """Li starts a visit and finds the market by sharing his location; the question there."""
    li = town.vol1
    await li.send("/inspect")
    await li.wait_for(text="Which point are you at?")
    await li.wait_for(text="Your group's points")
    await li.tap("📍 Send my location", latitude=MARKET[0], longitude=MARKET[1])
    nearest = await li.wait_for(text="Nearest first")
    assert nearest.buttons[0] == "Guangminglu Farmers' Market · 0 m"
    await li.press("Guangminglu Farmers' Market · 0 m", message=nearest)
    return await li.wait_for(text="did you find a problem here?")


async def test_an_inspector_reports_two_problems_at_a_point_and_finishes(town: Town) -> None:
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    assert question.buttons == ["⚠️ Report a problem", "✅ All clear: no problem"]
    await li.press("⚠️ Report a problem", message=question)
    await li.wait_for(text="What kind of problem at Guangminglu Farmers' Market?")
    await li.press("Street vending")
    await li.wait_for(text="at least one before photo")
    await li.send("here it is")
    await li.wait_for(text="Please send a photo of the problem")
    await li.send_document("stall.jpg")
    await li.wait_for(text="not as a file")
    await li.send_photo()
    kept = await li.wait_for(text="Photo 1 kept")
    await li.send_photo()
    await li.wait_for(text="Photo 2 kept")
    await li.press("➡️ Done with photos")
    await li.wait_for(text="Describe the problem")
    await li.send("Fruit stalls block the pavement; the owner said call 13611112222")
    await li.wait_for(text="How serious is it?")
    await li.press("🔴 Urgent: 1 days")
    preview = await li.wait_for(text="Check before sending")
    text = preview.text or ""
    for words in ("Guangminglu Farmers' Market · Guangminglu Subdistrict Institute",
                  "To: District Market Regulation Bureau", "Street vending · 🔴 Urgent",
                  "2 photo(s)", "Fruit stalls block"):
        assert words in text, words
    assert kept is not None
    await li.press("📨 Send to the unit", message=preview)
    await li.wait_for(text="Problem D2026-00001 is reported and goes to District Market "
                            "Regulation Bureau.")
    # Its unit has no chat in this town: the admins are told instead (dispatch, 16.4).
    told = await town.admin_chat.wait_for(text="Problem D2026-00001 at Guangminglu Farmers' "
                                               "Market")
    assert "which has no chat" in (told.text or "")
    assert "13611112222" not in (told.text or "") and "•••" in (told.text or "")
    again = await li.wait_for(text="1 problem(s) reported on this visit")
    assert again.buttons == ["⚠️ Report a problem", "🏁 Finish the visit"]

    # A second problem at the same point, its note the first photo's caption.
    await li.press("⚠️ Report a problem", message=again)
    await li.wait_for(text="What kind of problem")
    await li.press("Piled rubbish")
    await li.wait_for(text="at least one before photo")
    await li.send_photo(caption="Crates piled at the back door")
    await li.wait_for(text="Photo 1 kept")
    await li.press("➡️ Done with photos")
    await li.wait_for(text="How serious is it?")  # the caption was the note
    await li.press("🟡 Minor: 7 days")
    await li.press("📨 Send to the unit", message=await li.wait_for(text="Check before"))
    await li.wait_for(text="Problem D2026-00002 is reported")
    done = await li.wait_for(text="2 problem(s) reported on this visit")
    await li.press("🏁 Finish the visit", message=done)
    await li.wait_for(text="Visit to Guangminglu Farmers' Market finished: 2 problem(s) "
                            "reported (D2026-00001, D2026-00002).")
    assert rows(town, "SELECT point_id, problems, all_clear, ended_at IS NOT NULL FROM visits"
                ) == [("market-01", 2, 0, 1)]
    assert rows(town, "SELECT ref, unit_id, type, severity, status FROM problems ORDER BY id") == [
        ("D2026-00001", "market-regulation", "street-vending", "urgent", "dispatched"),
        ("D2026-00002", "market-regulation", "piled-rubbish", "minor", "dispatched")]
    assert rows(town, "SELECT kind FROM problem_events WHERE problem_id = 1") == [
        ("reported",), ("dispatched",)]


async def test_a_visit_with_nothing_found_is_recorded_as_all_clear(town: Town) -> None:
    await inspector(town)
    li = town.vol1
    await li.send("/inspect")
    await li.wait_for(text="Which point are you at?")
    await li.send("nowhere street")
    await li.wait_for(text="No point is called “nowhere street”")
    await li.send("zhongxin")  # three points: pick one
    await li.press("Zhongxin Street", message=await li.wait_for(text="3 points match"))
    question = await li.wait_for(text="did you find a problem here?")
    assert "Zhongxin Street" in (question.text or "")
    await li.press("✅ All clear: no problem", message=question)
    await li.wait_for(text="Visit to Zhongxin Street recorded: all clear.")
    assert rows(town, "SELECT point_id, problems, all_clear FROM visits") == [
        ("road-002", 0, 1)]


async def test_only_inspectors_inspect(town: Town) -> None:
    await open_bot(town.vol2)
    await town.vol2.send("/inspect")
    await town.vol2.wait_for(text="Only inspectors")


async def test_a_restart_in_the_middle_of_a_report_loses_nothing(town: Town) -> None:
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    await li.press("⚠️ Report a problem", message=question)
    await li.wait_for(text="What kind of problem")
    await li.press("Damaged facilities")
    await li.wait_for(text="at least one before photo")
    await li.send_photo()
    await li.wait_for(text="Photo 1 kept")

    await town.bot.crash()
    await town.bot.start()

    await li.press("➡️ Done with photos")
    await li.wait_for(text="Describe the problem")
    await li.send("A broken bench by the gate")
    await li.press("🟠 Normal: 3 days", message=await li.wait_for(text="How serious"))
    await li.press("📨 Send to the unit", message=await li.wait_for(text="Check before"))
    await town.admin_chat.wait_for(text="D2026-00001")
    assert rows(town, "SELECT before_photos LIKE '[%]', severity FROM problems") == [
        (1, "normal")]


async def test_an_old_button_of_a_finished_visit_is_answered_politely(town: Town) -> None:
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    await li.press("✅ All clear: no problem", message=question)
    await li.wait_for(text="recorded: all clear")
    stale = await (await li.press("⚠️ Report a problem", message=question)).answer()
    assert stale.show_alert and "This visit is over" in (stale.text or "")


async def test_the_patrol_list_shows_the_points_due_nearest_first_after_a_location(
    town: Town,
) -> None:
    await inspector(town)
    li = town.vol1
    await li.send("/due")
    listing = await li.wait_for(text="G1")
    assert "5 of its 5 points are due for a visit (none in 7 days)" in (listing.text or "")
    await li.send("/cancel")  # the list waits for a location; not now
    question = await at_the_market(town)
    await li.press("✅ All clear: no problem", message=question)
    await li.wait_for(text="recorded: all clear")

    await li.send("/due")
    listing = await li.wait_for(text="G1")
    assert "4 of its 5 points" in (listing.text or "")
    assert "Farmers' Market" not in (listing.text or "")
    await li.tap("📍 Send my location", latitude=MARKET[0], longitude=MARKET[1])
    near = await li.wait_for(text="G1")
    text = near.text or ""
    assert text.index("Guangming Road: never visited · 155 m") < text.index(
        "Guangminglu Community 2: never visited · 632 m")

    town.clock.advance(days=8)
    await li.send("/due")
    later = await li.wait_for(text="G1")
    assert "5 of its 5 points" in (later.text or "")
    assert "Guangminglu Farmers' Market: last visited 8 days ago" in (later.text or "")


async def test_last_visited_counts_beijing_calendar_days_not_24_hour_spans(town: Town) -> None:
    """Li visits the market at 23:30 on 1 December and looks at his list at 00:10 on
    9 December: for him that visit was on the 1st, eight days ago, though only 7 days and
    40 minutes have passed."""
    await inspector(town)
    li = town.vol1
    town.clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI))
    question = await at_the_market(town)
    await li.press("✅ All clear: no problem", message=question)
    await li.wait_for(text="recorded: all clear")

    town.clock.set(datetime(2026, 12, 9, 0, 10, tzinfo=SHANGHAI))
    await li.send("/due")
    later = await li.wait_for(text="G1")
    assert "Guangminglu Farmers' Market: last visited 8 days ago" in (later.text or "")


async def test_the_patrol_list_asked_for_in_the_middle_of_a_visit_keeps_the_visit(
    town: Town,
) -> None:
    """Li is reporting a problem at the market and has sent one before photo when he types
    /due to see which points are still due. He shares his location for the list, and is
    then back at his visit where he left it: a second photo is the problem's second, and the
    preview counts both."""
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    await li.press("⚠️ Report a problem", message=question)
    await li.wait_for(text="What kind of problem")
    await li.press("Street vending")
    await li.wait_for(text="at least one before photo")
    await li.send_photo()
    await li.wait_for(text="Photo 1 kept")

    await li.send("/due")
    await li.wait_for(text="G1")
    await li.tap("📍 Send my location", latitude=MARKET[0], longitude=MARKET[1])
    await li.wait_for(text="Guangming Road: never visited · 155 m")
    await li.wait_for(text="Back to your visit to Guangminglu Farmers' Market.")
    await li.wait_for(text="at least one before photo")
    await li.send_photo()
    await li.wait_for(text="Photo 2 kept")
    await li.press("➡️ Done with photos")
    await li.wait_for(text="Describe the problem")
    await li.send("Fruit stalls block the pavement")
    await li.press("🟡 Minor: 7 days", message=await li.wait_for(text="How serious is it?"))
    preview = await li.wait_for(text="Check before sending")
    assert "2 photo(s)" in (preview.text or ""), preview.text


async def test_a_visit_under_the_patrol_list_does_not_come_back_to_an_inspector_removed_meanwhile(
    town: Town,
) -> None:
    """Li is at the market in a visit when he types /due. Before he shares his location for
    the list, the admin removes him as an inspector. Sharing it then tells him the list is for
    inspectors, and that his visit has ended; he is not asked to go on with a visit to the
    market he may no longer report from, and the visit is recorded as ended."""
    await inspector(town)
    li = town.vol1
    await at_the_market(town)
    await li.send("/due")
    await li.wait_for(text="G1")
    await town.admin.send(f"/inspector remove {li.id}")
    await li.wait_for(text="You are no longer an inspector. Thank you")

    await li.tap("📍 Send my location", latitude=MARKET[0], longitude=MARKET[1])
    await li.wait_for(text="Only inspectors")
    await li.wait_for(text="You are no longer an inspector, so this visit has ended")
    await li.send("hello")
    await li.wait_for(text="Sorry, I did not understand that")
    assert not [m for m in li.private.bot_messages()
                if "Back to your visit" in (m.text or "")]
    assert rows(town, "SELECT COUNT(*) FROM visits WHERE ended_at IS NULL") == [(0,)]


async def test_a_request_begun_with_new_in_the_middle_of_a_visit_gives_the_visit_back(
    town: Town,
) -> None:
    """Li is at the market in a visit when a passer-by asks for help: he types /new, and
    then thinks better of it (/cancel). He is back at his visit, asked its question again,
    and the visit is still open until he finishes it."""
    await inspector(town)
    li = town.vol1
    await at_the_market(town)
    await open_form(li, command=True)
    await li.send("/cancel")
    await li.wait_for(text="The request form was cancelled")
    await li.wait_for(text="Back to your visit to Guangminglu Farmers' Market.")
    question = await li.wait_for(text="did you find a problem here?",
                                 predicate=lambda m: bool(m.buttons))
    assert rows(town, "SELECT COUNT(*) FROM visits WHERE ended_at IS NULL") == [(1,)]
    await li.press("✅ All clear: no problem", message=question)
    await li.wait_for(text="recorded: all clear")
    assert rows(town, "SELECT COUNT(*) FROM visits WHERE ended_at IS NULL") == [(0,)]


async def test_a_visit_stopped_with_cancel_is_recorded_as_ended(town: Town) -> None:
    """Li stops his visit to the market with /cancel: it is over, and no visit is left
    open."""
    await inspector(town)
    li = town.vol1
    await at_the_market(town)
    await li.send("/cancel")
    await li.wait_for(text="OK, skipped.")
    await li.send("hello")
    await li.wait_for(text="Sorry, I did not understand that")
    assert rows(town, "SELECT point_id, ended_at IS NOT NULL FROM visits") == [("market-01", 1)]


async def test_a_visit_waiting_for_its_point_takes_its_location_button_along_under_new(
    town: Town,
) -> None:
    """Li has begun a visit and is asked which point he is at, the location button under
    his keyboard, when he types /new: the button goes off his screen and he is told the visit
    waits for its point (a tap would have sent his location to the request form). He cancels
    the form: the visit is back, asking which point, with its button, and his location finds
    the market."""
    await inspector(town)
    li = town.vol1
    await li.send("/inspect")
    await li.wait_for(text="Which point are you at?")
    await li.wait_for(text="Your group's points")

    await open_form(li, command=True)
    assert [m for m in li.private.bot_messages()
            if "Your visit waits for its point" in (m.text or "")]
    with pytest.raises(LookupError):
        await li.tap("📍 Send my location", latitude=MARKET[0], longitude=MARKET[1])
    await li.send("/cancel")
    await li.wait_for(text="Back to your visit.")
    await li.wait_for(text="Which point?")
    await li.tap("📍 Send my location", latitude=MARKET[0], longitude=MARKET[1])
    await li.wait_for(text="Nearest first")


async def test_a_visit_kept_under_a_request_form_waits_and_inspect_brings_it_back(
    town: Town,
) -> None:
    """Li is at the market in a visit when he opens a request form. All clear under the
    visit's question, pressed then, says to finish the request first and that the visit is
    kept, and records nothing; /inspect brings the same visit up, at the market, rather than
    begin another, and All clear then records it."""
    await inspector(town)
    li = town.vol1
    question = await at_the_market(town)
    await open_form(li, command=True)

    answer = await (await li.press("✅ All clear: no problem", message=question)).answer()
    assert answer.text == ("Finish your request first — your visit is kept and comes back "
                           "after it.")
    assert rows(town, "SELECT COUNT(*) FROM visits WHERE ended_at IS NULL") == [(1,)]
    await li.send("/inspect")
    await li.wait_for(text="You are in the middle of a visit")
    again = await li.wait_for(text="did you find a problem here?",
                              predicate=lambda m: bool(m.buttons))
    assert rows(town, "SELECT COUNT(*) FROM visits") == [(1,)]
    await li.press("✅ All clear: no problem", message=again)
    await li.wait_for(text="recorded: all clear")


async def test_the_patrol_list_given_way_to_a_request_takes_its_location_button_away(
    town: Town,
) -> None:
    """Li asks for his group's patrol list and, instead of sharing his location, opens the
    request form: the location button goes away with the list's wait, so no later tap can
    send his location to the form."""
    await inspector(town)
    li = town.vol1
    await li.send("/due")
    await li.wait_for(text="G1")

    await open_form(li, command=True)
    with pytest.raises(LookupError):
        await li.tap("📍 Send my location")
