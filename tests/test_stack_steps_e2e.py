"""A request form buried under a long dialog that steps through all its answers, end to end:
an organiser's /publish (each step, and a start that passed while the preview waited), an
inspector's visit (the point by location, a problem reported, sent, the visit finished) and a
volunteer registration (name, phone, area and team buttons), each finished or cancelled, and
the request form comes back where it was, with what was typed in it. Every step writes its
dialog anew; none may drop what lies under it. Then the buttons of a buried theme and of a
buried registration, and /theme set for a month whose theme is kept.

The town: the example areas, themes, teams (Li leads the Red Vest Team of Guangminglu) and
supervision registers. The clock starts on Wednesday 10 June 2026, 10:00 in Shanghai.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, open_form, supervision_town
from tests.test_activities_e2e import PLACE, TEAMS, TITLE
from tests.test_supervision_inspect_e2e import MARKET, inspector
from tests.test_themes_e2e import NEW

ROOT = Path(__file__).resolve().parent.parent
STAIRS = "The stairs light on the third floor is broken."


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example areas, themes and registers, and a teams file whose team Li leads."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {**supervision_town(tmp_path),
            "activities": {"themes_file": "themes.toml"},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


async def a_request_begun(person: SimUser) -> None:
    """The person opens a request form, chooses its category and describes the problem: the
    form asks where it is."""
    await open_form(person, command=True)
    await person.press("Help for the elderly")
    await person.wait_for(text="describe the problem")
    await person.send(STAIRS)
    await person.wait_for(text="Where is it")


async def the_request_goes_on(person: SimUser) -> None:
    """Back at the request: asked where, it goes on to its summary, which has the
    description typed before anything was begun on top of it."""
    await person.wait_for(text="back to your unfinished request")
    await person.wait_for(text="Where is it")
    await person.send("5 Guangming Road")
    await person.press("I am not sure", message=await person.wait_for(text="Which community"))
    await person.wait_for(text="How can the volunteer reach you")
    await person.tap("Skip")
    summary = await person.wait_for(text="Is everything correct?")
    assert STAIRS in (summary.text or ""), summary.text


async def test_a_request_under_an_activity_published_step_by_step_comes_back(
    town: Town,
) -> None:
    """Li is describing a broken light when he publishes an activity for this afternoon,
    every step answered; by the time he presses Publish its start has passed, so he is asked
    for the start again and gives Saturday's, and for its end, which came before it; the rest
    stands. Published, he is back at his request, where it was."""
    li = town.vol1
    await open_bot(li)
    await a_request_begun(li)

    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")
    await li.send_location(34.855, 117.570)
    await li.wait_for(text="6/12")
    await li.send("2026-06-10 10:30")
    await li.wait_for(text="7/12")
    await li.send("11:30")
    await li.wait_for(text="8/12")
    await li.send("5")
    await li.wait_for(text="9/12")
    await li.press("🙋 I lead it")
    await li.wait_for(text="10/12")
    await li.press("No theme")
    await li.wait_for(text="11/12")
    await li.press("Skip ⏭")
    await li.wait_for(text="12/12")
    await li.send("Dig, plant and water.")
    preview = await li.wait_for(text="Preview")

    town.clock.advance(minutes=40)
    await li.press("✅ Publish", message=preview)
    await li.wait_for(text="That time has passed")
    await li.send("2026-06-13 09:00")
    await li.wait_for(text="7/12")  # today's end comes before Saturday's start
    await li.send("11:30")
    await li.press("✅ Publish", message=await li.wait_for(text="Preview"))
    await li.wait_for(text="your controls")
    await the_request_goes_on(li)


async def test_a_request_under_a_visit_that_reports_a_problem_comes_back(town: Town) -> None:
    """Li, an inspector, is describing a broken light when he starts a visit: his location
    finds the market, he reports a problem there (type, a photo, a note, a severity), sends
    it and finishes the visit. He is back at his request, where it was."""
    await inspector(town)
    li = town.vol1
    await a_request_begun(li)

    await li.send("/inspect")
    await li.wait_for(text="Your group's points")
    await li.tap("📍 Send my location", latitude=MARKET[0], longitude=MARKET[1])
    nearest = await li.wait_for(text="Nearest first")
    await li.press("Guangminglu Farmers' Market · 0 m", message=nearest)
    await li.press("⚠️ Report a problem",
                   message=await li.wait_for(text="did you find a problem here?"))
    await li.press("Street vending", message=await li.wait_for(text="What kind of problem"))
    await li.wait_for(text="at least one before photo")
    await li.send_photo()
    await li.wait_for(text="Photo 1 kept")
    await li.press("➡️ Done with photos")
    await li.wait_for(text="Describe the problem")
    await li.send("Fruit stalls block the pavement.")
    await li.press("🔴 Urgent: 1 days", message=await li.wait_for(text="How serious is it?"))
    await li.press("📨 Send to the unit", message=await li.wait_for(text="Check before"))
    done = await li.wait_for(text="1 problem(s) reported on this visit")
    await li.press("🏁 Finish the visit", message=done)
    await li.wait_for(text="Visit to Guangminglu Farmers' Market finished")
    await the_request_goes_on(li)


async def test_a_request_under_a_visit_discarded_and_cancelled_comes_back(town: Town) -> None:
    """Li starts a visit over his request, finds the market by its name, reports a problem
    up to its preview, discards it, and stops the visit with /cancel: his request is back."""
    await inspector(town)
    li = town.vol1
    await a_request_begun(li)

    await li.send("/inspect")
    await li.wait_for(text="Your group's points")
    await li.send("Farmers' Market")
    await li.press("⚠️ Report a problem",
                   message=await li.wait_for(text="did you find a problem here?"))
    await li.press("Street vending", message=await li.wait_for(text="What kind of problem"))
    await li.send_photo(caption="Crates piled on the pavement")
    await li.wait_for(text="Photo 1 kept")
    await li.press("➡️ Done with photos")
    await li.press("🟡 Minor: 7 days", message=await li.wait_for(text="How serious is it?"))
    await li.press("🗑 Discard", message=await li.wait_for(text="Check before"))
    await li.wait_for(text="did you find a problem here?")
    await li.send("/cancel")
    await the_request_goes_on(li)


async def test_a_request_under_a_registration_sent_comes_back(town: Town) -> None:
    """Alice is describing a broken light when she registers as a volunteer: her name, her
    phone, her subdistrict and community, her team. Sent for approval, she is back at her
    request, where it was."""
    alice = town.citizen
    await open_bot(alice)
    await a_request_begun(alice)

    await alice.send("/join")
    await alice.wait_for(text="please type your name")
    await alice.send("Alice Wang")
    await alice.wait_for(text="share your phone number")
    await alice.send("13800138000")
    await alice.press("Guangminglu Subdistrict Institute",
                      message=await alice.wait_for(text="Which area do you serve?"))
    await alice.press("Guangminglu Community 1 Station",
                      message=await alice.wait_for(text="Which community?"))
    await alice.press("Guangminglu Red Vest Team",
                      message=await alice.wait_for(text="Which team"))
    await alice.wait_for(text="Your registration is sent")
    await the_request_goes_on(alice)


async def test_a_request_under_a_registration_cancelled_at_its_team_comes_back(
    town: Town,
) -> None:
    """Alice registers over her request up to the team question, then stops (/cancel): her
    request is back, where it was."""
    alice = town.citizen
    await open_bot(alice)
    await a_request_begun(alice)

    await alice.send("/join")
    await alice.wait_for(text="please type your name")
    await alice.send("Alice Wang")
    await alice.wait_for(text="share your phone number")
    await alice.tap("📞 Share my phone number")
    await alice.press("Guangminglu Subdistrict Institute",
                      message=await alice.wait_for(text="Which area do you serve?"))
    await alice.press("Guangminglu Subdistrict Institute",
                      message=await alice.wait_for(text="Which community?"))
    await alice.wait_for(text="Which team")
    await alice.send("/cancel")
    await the_request_goes_on(alice)


# ---- the buttons of a buried theme and registration; /theme set for a kept month ----------


async def theme_up_to_the_preview(admin: SimUser, month: str) -> SimMessage:
    """The centre admin types the four answers of a month's theme; the preview."""
    await admin.send(f"/theme set {month}")
    await admin.wait_for(text="1/4")
    await admin.send(NEW["title_zh"])
    await admin.wait_for(text="2/4")
    await admin.send(NEW["title_en"])
    await admin.wait_for(text="3/4")
    await admin.send(NEW["description_zh"])
    await admin.wait_for(text="4/4")
    await admin.send(NEW["description_en"])
    return await admin.wait_for(text="Preview · theme of")


async def test_a_buried_themes_save_waits_and_theme_set_brings_it_back(town: Town) -> None:
    """Admin has typed July's theme and has its preview when he opens a request form. Save
    on the preview, pressed then, says to finish the request first and that the theme is
    kept: nothing is saved. /theme set 2026-07 brings the same theme back, its preview with
    what he typed (not a blank 1/4), and Save saves it; then his request is back."""
    admin = town.admin
    await open_bot(admin)
    preview = await theme_up_to_the_preview(admin, "2026-07")
    await open_form(admin, command=True)

    answer = await (await admin.press("✅ Save", message=preview)).answer()
    assert answer.text == ("Finish your request first — the month's theme is kept and "
                           "comes back after it.")
    await admin.send("/theme")
    shown = await admin.wait_for(text="🗓")
    assert NEW["title_en"] not in (shown.text or ""), shown.text

    await admin.send("/theme set 2026-07")
    await admin.wait_for(text="to start afresh, send /cancel, then /theme set 2026-07")
    await admin.wait_for(text="Back to setting the theme of July 2026.")
    again = await admin.wait_for(text=NEW["title_en"], predicate=lambda m: bool(m.buttons))
    assert not [m for m in admin.private.bot_messages() if "1/4" in (m.text or "")][1:]
    await admin.press("✅ Save", message=again)
    await admin.wait_for(text="back to your unfinished request")
    await admin.wait_for(text="What kind of help")


async def test_theme_set_for_a_kept_month_brings_its_answers_back(town: Town) -> None:
    """Admin has typed July's two titles when he opens a request form, then types /theme set
    2026-07 again: he is back at July's theme, asked for the Chinese description, and the
    preview has the titles he typed first. /theme set 2026-07 typed while it is on top does
    the same: it never starts the month afresh over typed words."""
    admin = town.admin
    await open_bot(admin)
    await admin.send("/theme set 2026-07")
    await admin.wait_for(text="1/4")
    await admin.send(NEW["title_zh"])
    await admin.wait_for(text="2/4")
    await admin.send(NEW["title_en"])
    await admin.wait_for(text="3/4")
    await open_form(admin, command=True)

    await admin.send("/theme set 2026-07")
    await admin.wait_for(text="to start afresh, send /cancel, then /theme set 2026-07")
    await admin.wait_for(text="Back to setting the theme of July 2026.")
    await admin.wait_for(text="3/4")
    await admin.send("/theme set 2026-07")
    await admin.wait_for(text="to start afresh, send /cancel, then /theme set 2026-07")
    await admin.wait_for(text="3/4", predicate=lambda m: len(
        [x for x in admin.private.bot_messages() if "3/4" in (x.text or "")]) >= 3)
    await admin.send(NEW["description_zh"])
    await admin.wait_for(text="4/4")
    await admin.send(NEW["description_en"])
    preview = await admin.wait_for(text="Preview · theme of")
    assert NEW["title_zh"] in (preview.text or "") and NEW["title_en"] in (preview.text or "")


async def test_theme_set_for_another_month_keeps_the_one_begun(town: Town) -> None:
    """Admin has typed July's Chinese title when he types /theme set 2026-08: July's theme is
    not dropped. He is told July's is kept and how to start August, and is asked July's
    English title; /cancel then /theme set 2026-08 starts August."""
    admin = town.admin
    await open_bot(admin)
    await admin.send("/theme set 2026-07")
    await admin.wait_for(text="1/4")
    await admin.send(NEW["title_zh"])
    await admin.wait_for(text="2/4")

    await admin.send("/theme set 2026-08")
    await admin.wait_for(text="You have begun the theme of July 2026")
    await admin.wait_for(text="2/4", predicate=lambda m: len(
        [x for x in admin.private.bot_messages() if "2/4" in (x.text or "")]) >= 2)
    await admin.send("/cancel")
    await admin.wait_for(text="OK")
    await admin.send("/theme set 2026-08")
    await admin.wait_for(text="1/4", predicate=lambda m: "August 2026" in (m.text or ""))


async def test_a_buried_registrations_button_waits_and_join_brings_it_back(
    town: Town,
) -> None:
    """Alice is asked which area she serves in her registration when she opens a request
    form. Her subdistrict's button, pressed then, says to finish the request first and that
    the registration is kept; /join brings it back at the area question (not a new one
    asking her name), and her choices then send it; her request is back after."""
    alice = town.citizen
    await open_bot(alice)
    await alice.send("/join")
    await alice.wait_for(text="please type your name")
    await alice.send("Alice Wang")
    await alice.wait_for(text="share your phone number")
    await alice.send("13800138000")
    areas = await alice.wait_for(text="Which area do you serve?")
    await open_form(alice, command=True)

    answer = await (await alice.press("Guangminglu Subdistrict Institute",
                                      message=areas)).answer()
    assert answer.text == ("Finish your request first — your volunteer registration is kept "
                           "and comes back after it.")
    await alice.send("/join")
    await alice.wait_for(text="to start afresh, send /cancel, then /join")
    await alice.wait_for(text="Back to your volunteer registration.")
    again = await alice.wait_for(text="Which area do you serve?",
                                 predicate=lambda m: m.message_id != areas.message_id)
    assert len([m for m in alice.private.bot_messages()
                if "please type your name" in (m.text or "")]) == 1
    await alice.press("Guangminglu Subdistrict Institute", message=again)
    await alice.press("Guangminglu Community 1 Station",
                      message=await alice.wait_for(text="Which community?"))
    await alice.press("Guangminglu Red Vest Team", message=await alice.wait_for(text="Which team"))
    await alice.wait_for(text="Your registration is sent")
    await alice.wait_for(text="back to your unfinished request")
    await alice.wait_for(text="What kind of help")


async def test_a_theme_begun_for_a_month_now_past_gives_way_to_the_new_one(town: Town) -> None:
    """At 23:30 on 31 December Admin begins December's theme and types its Chinese title; at
    00:05 he types /theme set 2027-01. December's can never be saved now, so January's begins,
    asking its first question, rather than December's coming back."""
    admin = town.admin
    await open_bot(admin)
    town.clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI))
    await admin.send("/theme set 2026-12")
    await admin.wait_for(text="1/4")
    await admin.send(NEW["title_zh"])
    await admin.wait_for(text="2/4")

    town.clock.set(datetime(2027, 1, 1, 0, 5, tzinfo=SHANGHAI))
    await admin.send("/theme set 2027-01")
    await admin.wait_for(text="1/4", predicate=lambda m: "January 2027" in (m.text or ""))
    assert not [m for m in admin.private.bot_messages()
                if "You have begun" in (m.text or "")]


async def test_an_activity_under_a_request_form_that_steps_everywhere_comes_back(
    town: Town,
) -> None:
    """Li has typed the title and place of an activity when a neighbour stops him: he types
    /new and says what is wrong before choosing a category, chooses it, adds a photo at the
    place's step, shares his live location and walks on (each move follows the form),
    skips his number, changes the description from the summary and sends. He is back at
    publishing, asked for the map point, the title as he typed it."""
    li = town.vol1
    await open_bot(li)
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")

    await open_form(li, command=True)
    await li.send(STAIRS)
    await li.wait_for(text="Noted")
    await li.press("Help for the elderly", message=await li.wait_for(text="What kind of help"))
    await li.wait_for(text="Where is it")
    await li.send_photo()
    await li.wait_for(text="Photo added")
    live = await li.share_live_location(34.855, 117.570)
    community = await li.wait_for(text="Which community")
    await li.move_live_location(live, 34.856, 117.570)
    await li.press("Guangminglu Community 1 Station", message=community)
    await li.wait_for(text="How can the volunteer reach you")
    await li.move_live_location(live, 34.857, 117.570)
    await li.tap("Skip")
    await li.press("✏️ Edit", message=await li.wait_for(text="Is everything correct?"))
    await li.press("Description", message=await li.wait_for(text="What would you like to change"))
    await li.wait_for(text="Step 2 of 5")
    await li.send(f"{STAIRS} It has been dark for a week.")
    summary = await li.wait_for(text="Is everything correct?")
    assert "dark for a week" in (summary.text or ""), summary.text
    await li.press("✅ Confirm and send", message=summary)
    await li.wait_for(text="Reference number")
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")
    await li.send_location(34.855, 117.570)
    await li.wait_for(text="6/12")
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = (await repo.requests.citizen_requests(li.id, 1))[0]
    assert (request.latitude, request.longitude) == (34.857, 117.570)
