"""On-site check-in and verified hours, end to end: the organiser shows a QR code that
changes every minute and volunteers scan it (a photo of it taken home is refused minutes
later); a volunteer may check in by sharing their location near the place instead (5 km away
is refused); the organiser checks someone in by hand; at the end the organiser confirms the
attendance list, hours are credited (none under 60% of the activity), a no-show is marked and
counts against the attendance rate, a volunteer disputes once and the organiser decides;
/hours shows the year by source, the stars and the formal-volunteer status.

The town is the activities story's (tests/test_activities_e2e.py): Li leads the Red Vest Team
and publishes "Tree planting" for Saturday 13 June 2026, 09:00-11:30, two places, at a map
point in Guangminglu; the year's formal-volunteer threshold is set to 2 hours here.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from sandbox import SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import long_as, open_bot, pressed_days_later
from tests.test_activities_e2e import (
    LEADER_ID,
    TEAMS,
    TITLE,
    buttons_of,
    publish,
    published_card,
)
from tests.test_quiet_hours_e2e import sent_what_is_due, sounds

ROOT = Path(__file__).resolve().parent.parent
VENUE = (34.855, 117.570)  # the map point the organiser shares in publish()


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The activities town, with a formal-volunteer threshold of 2 hours a year."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"activities": {"themes_file": "themes.toml", "formal_hours": 2},
            "areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


def at(hour: int, minute: int = 0, day: int = 13) -> datetime:
    """A time on the day of the activity (or another day of June 2026), in Shanghai."""
    return datetime(2026, 6, day, hour, minute, tzinfo=SHANGHAI)


async def signed_up(town: Town, *people: SimUser) -> SimMessage:
    """Li publishes; each person signs up from the group; the card is returned."""
    assert town.vol1.id == LEADER_ID
    for person in people:
        if person not in (town.vol1, town.vol2):
            town.volunteers.add_member(person)
    await open_bot(town.vol1, *people)
    card = await published_card(town, town.vol1)
    for person in people:
        await (await person.press("🙋 Sign up", message=card)).answer()
        await person.wait_for(text="You are signed up for")
    return card


async def scanned_code(town: Town, purpose: str = "📲 Check-in code") -> str:
    """The organiser shows the code; the /start payload its QR image holds, read back."""
    await town.vol1.press(purpose)
    qr = await town.vol1.wait_for(predicate=lambda m: m.kind == "photo")
    image = Image.open(io.BytesIO(bytes(town.sb.world.files[qr.file_ids[-1]].data)))
    (result,) = zxingcpp.read_barcodes(image)
    link = result.text
    assert link.startswith("https://t.me/") and "?start=" in link
    return link.split("?start=")[1]


async def test_a_volunteer_scans_the_code_at_the_venue_to_check_in_and_out(town: Town) -> None:
    await signed_up(town, town.vol2)
    town.clock.set(at(8, 55))
    code = await scanned_code(town)
    assert code.startswith("ci_1_")
    await town.vol2.send(f"/start {code}")
    done = await town.vol2.wait_for(text="Checked in to")
    assert "08:55" in (done.text or "") and TITLE in (done.text or "")
    await town.vol2.send(f"/start {code}")
    await town.vol2.wait_for(text="You checked in to “Tree planting in Guangming Park” at 08:55 "
                                   "already.")

    town.clock.set(at(11, 31))
    out = await scanned_code(town, "🏁 Check-out code")
    assert out.startswith("co_1_")
    await town.vol2.send(f"/start {out}")
    await town.vol2.wait_for(text="Checked out of")


async def test_a_photo_of_the_code_taken_home_is_refused_minutes_later(town: Town) -> None:
    await signed_up(town, town.vol2)
    town.clock.set(at(9, 0))
    code = await scanned_code(town)
    town.clock.set(at(9, 3))
    await town.vol2.send(f"/start {code}")
    await town.vol2.wait_for(text="This check-in code has expired")
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    await town.vol2.send(f"/start {forged}")
    await town.vol2.wait_for(text="This is not a valid check-in code")
    other = code.replace("ci_1_", "ci_2_", 1)  # the same signature on another activity
    await town.vol2.send(f"/start {other}")
    await town.vol2.wait_for(text="This is not a valid check-in code")


async def test_someone_without_a_place_or_outside_the_hours_cannot_check_in(town: Town) -> None:
    await signed_up(town, town.vol2)
    early = await (await town.vol1.press("📲 Check-in code")).answer()
    assert early.show_alert and "opens at 2026-06-13 08:00" in (early.text or "")
    town.clock.set(at(9, 10))
    code = await scanned_code(town)
    await open_bot(town.citizen)
    await town.citizen.send(f"/start {code}")
    await town.citizen.wait_for(text="You do not hold a place in")


async def test_a_location_near_the_place_checks_in_and_5_km_away_does_not(town: Town) -> None:
    card = await signed_up(town, town.vol2)
    assert card is not None
    town.clock.set(at(8, 50))
    await town.vol2.press("📍 Check in here")
    await town.vol2.wait_for(text="send your location")
    await town.vol2.tap("📍 Send my location", latitude=VENUE[0] + 0.045, longitude=VENUE[1])
    far = await town.vol2.wait_for(text="from the place")
    assert "5.0 km" in (far.text or "") and "within 300 m" in (far.text or "")

    await town.vol2.press("📍 Check in here")
    await town.vol2.wait_for(text="send your location")
    await town.vol2.tap("📍 Send my location", latitude=VENUE[0] + 0.001, longitude=VENUE[1])
    await town.vol2.wait_for(text="Checked in to")
    leaving = await town.vol2.wait_for(text="When you leave")
    town.clock.set(at(11, 30))
    await town.vol2.press("📍 Check out here", message=leaving)
    await town.vol2.wait_for(text="send your location")
    await town.vol2.tap("📍 Send my location", latitude=VENUE[0], longitude=VENUE[1] + 0.001)
    await town.vol2.wait_for(text="Checked out of")


async def test_check_in_here_without_a_place_or_after_checking_out_is_refused_at_once(
    town: Town,
) -> None:
    """Alice signs up and then cancels her sign-up; on the day she presses Check in here on
    her old confirmation: she is told at once that she holds no place, instead of being asked
    for her location first. Zhang checks in and out by location; his Check out here pressed
    again says at once that he checked out already. Neither is left asked for a location."""
    alice, zhang = town.citizen, town.vol2
    await signed_up(town, alice, zhang)
    confirmation = next(m for m in alice.private.bot_messages()
                        if "You are signed up for" in (m.text or ""))
    await alice.press("Cancel my sign-up", message=confirmation)
    question = await alice.wait_for(text="Cancel your sign-up")
    quitted = await (await alice.press("Yes, cancel my sign-up", message=question)).answer()
    assert quitted.text == "Cancelled."
    town.clock.set(at(8, 50))
    asked = len(alice.private.bot_messages())
    refused = await (await alice.press("📍 Check in here", message=confirmation)).answer()
    assert refused.show_alert and refused.text == (
        f"You do not hold a place in “{TITLE}”. Please ask the organiser: they can check you "
        "in by hand."), refused.text

    await zhang.press("📍 Check in here")
    await zhang.wait_for(text="send your location")
    await zhang.tap("📍 Send my location", latitude=VENUE[0], longitude=VENUE[1])
    leaving = await zhang.wait_for(text="When you leave")
    town.clock.set(at(11, 30))
    await zhang.press("📍 Check out here", message=leaving)
    await zhang.wait_for(text="send your location")
    await zhang.tap("📍 Send my location", latitude=VENUE[0], longitude=VENUE[1])
    await zhang.wait_for(text="Checked out of")
    again = await (await zhang.press("📍 Check out here", message=leaving)).answer()
    assert again.show_alert and again.text == f"You checked out of “{TITLE}” at 11:30 already."

    assert len(alice.private.bot_messages()) == asked
    assert [m.text for m in zhang.private.bot_messages()].count(
        f"To check in at “{TITLE}”, press the button below to send your location (or "
        "/cancel).") == 2
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        assert await repo.people.dialog(alice.id) is None
        assert await repo.people.dialog(zhang.id) is None


async def test_the_organiser_confirms_hours_a_no_show_is_marked_and_a_dispute_is_decided(
    town: Town,
) -> None:
    punctual, absent = town.vol2, town.citizen
    await signed_up(town, punctual, absent)
    town.clock.set(at(9, 0))
    code = await scanned_code(town)
    await punctual.send(f"/start {code}")
    await punctual.wait_for(text="Checked in to")

    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    text = listing.text or ""
    assert "Zhang: 09:00 – —, 2.5 h · first activity" in text
    assert "Alice: not checked in (a no-show when confirmed)" in text
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    credited = await punctual.wait_for(text="You were credited 2.5 h")
    assert buttons_of(credited) == ["Dispute these hours"]
    await punctual.wait_for(text="registered formal volunteer of 2026")
    await town.vol1.wait_for(text="hours credited to 1, 1 no-show(s)")
    again = await pressed_days_later(town.vol1, "aconf:1")
    assert again.show_alert and "confirmed already" in (again.text or "")

    await punctual.send("/hours")
    mine = await punctual.wait_for(text="Your service hours")
    assert "2026: 2.5 h in all — requests 0 h, activities 2.5 h by check-in" in (mine.text or "")
    assert "Registered formal volunteer of 2026" in (mine.text or "")

    await town.vol1.send("/addhours 1 @nobody 1 helped")
    await town.vol1.wait_for(text="I do not know")

    # Zhang disputes once: the organiser accepts, the hours are replaced, not added.
    await punctual.press("Dispute these hours", message=credited)
    await punctual.wait_for(text="How many hours should it be")
    await punctual.send("lots")
    await punctual.wait_for(text="Please type the hours")
    # A reason over 200 characters as Telegram counts them (🚌 counts 2) is refused with its
    # length, and asked for again; 200 exactly is taken.
    await punctual.send("2.25 " + long_as("🚌 I left a bit early, the bus was late", 201))
    await punctual.wait_for(text="The reason is 201 characters long; at most 200, please.")
    await punctual.send("2.25 " + long_as("I left a bit early", 200))
    await punctual.wait_for(text="was sent to the organiser")
    dispute = await town.vol1.wait_for(text="disputes their hours")
    assert "asks for 2.25 h" in (dispute.text or "")
    await town.vol1.press("Accept 2.25 h", message=dispute)
    await punctual.wait_for(text="Your dispute was accepted: 2.25 h")
    second = await (await punctual.press("Dispute these hours", message=credited)).answer()
    assert second.show_alert and "once" in (second.text or "")
    await punctual.send("/hours")
    mine = await punctual.wait_for(text="Your service hours")
    assert "activities 0 h by check-in and 2.25 h added by hand" in (mine.text or "")


async def test_someone_still_on_the_waitlist_has_no_hours_to_dispute(town: Town) -> None:
    """Zhang and the admin take the two places; Alice is on the waitlist when the list is
    confirmed. A Dispute press from her (she never had a place, so never got the button) is
    refused at once: nothing is asked, and the organiser hears nothing."""
    alice = town.citizen
    card = await signed_up(town, town.vol2, town.admin)
    town.volunteers.add_member(alice)
    await open_bot(alice)
    waiting = await (await alice.press("⏳ Join the waitlist (0 waiting)", message=card)).answer()
    assert waiting.text == "On the waitlist ⏳"
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    await town.vol1.wait_for(text="hours credited to 0, 2 no-show(s)")
    before = len(alice.private.bot_messages()), len(town.vol1.private.bot_messages())

    refused = await pressed_days_later(alice, "adisp:1")
    assert refused.show_alert and refused.text == "There is nothing to dispute here."
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        assert await repo.people.dialog(alice.id) is None
    assert (len(alice.private.bot_messages()), len(town.vol1.private.bot_messages())) == before


async def test_the_organiser_checks_in_by_hand_and_adds_make_up_hours(town: Town) -> None:
    await signed_up(town, town.vol2)
    town.clock.set(at(9, 5))
    await town.vol1.press("✋ Check in by hand")
    await town.vol1.wait_for(text="press a name")
    answer = await (await town.vol1.press("✋ Zhang")).answer()
    assert answer.text == "Zhang checked in."
    await town.vol2.wait_for(text="The organiser checked you in")

    await town.vol1.send("/addhours 1 1004 9 stayed all day")
    await town.vol1.wait_for(text="at most the activity's length (2.5 h)")
    await town.vol1.send("/addhours 1 1004 1")
    await town.vol1.wait_for(text="Usage: /addhours")
    await town.vol1.send("/addhours 1 1004 1 " + long_as("🧹 tidied up", 201))
    await town.vol1.wait_for(text="The reason is 201 characters long; at most 200, please. "
                                  "No hours were added.")
    await town.vol1.send(f"/addhours 1 {town.vol2.id} 1 " + long_as("came back to tidy up", 200))
    await town.vol1.wait_for(text="1 h added to Zhang")
    await town.vol2.wait_for(text="were added to your record")
    forged = await pressed_days_later(town.vol2, "ahand:1:1004")
    assert forged.show_alert and "Only the organiser" in (forged.text or "")


async def test_a_no_show_counts_against_the_attendance_rate_the_organiser_sees(
    town: Town,
) -> None:
    await signed_up(town, town.citizen)
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    await town.vol1.wait_for(text="hours credited to 0, 1 no-show(s)")

    preview = await publish(town.vol1, start="2026-06-20 09:00")
    await town.vol1.press("✅ Publish", message=preview)
    await town.vol1.wait_for(text="#2")
    card = await town.volunteers.wait_for(text="2026-06-20")
    await (await town.citizen.press("🙋 Sign up", message=card)).answer()
    town.clock.set(at(9, 30, day=20))
    await town.vol1.press("✅ Attendance and hours")
    second = await town.vol1.wait_for(text="Attendance of")
    assert "Alice: not checked in (a no-show when confirmed) · came to 0% of 1" in (
        second.text or "")


async def test_stats_and_the_export_count_activities_attendance_and_hours(town: Town) -> None:
    """/stats has a section on activities for the same period, and /export activities sends
    the activities as XLSX and CSV with the same figures; an area admin elsewhere sees none."""
    punctual, absent = town.vol2, town.citizen
    await signed_up(town, punctual, absent)
    town.clock.set(at(9, 0))
    code = await scanned_code(town)
    await punctual.send(f"/start {code}")
    await punctual.wait_for(text="Checked in to")
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    await town.vol1.wait_for(text="hours credited to 1")

    admin = town.admin
    await open_bot(admin)
    await admin.send("/stats 2026-06")
    stats = await admin.wait_for(text="Volunteer activities")
    text = stats.text or ""
    for words in ("Activities: 1 held or planned, 0 cancelled; attendance confirmed for 1",
                  "Places 2; signed up 2; on waitlists 0",
                  "1 of 2 came (50.0%); no-shows 1", "Verified hours: 2.5 h",
                  "Registered formal volunteers of 2026: 1", "2026-06: 1, 2.5 h",
                  "Caring for the young and the old: 1, 2.5 h",
                  "Guangminglu Subdistrict Institute: 1, 2.5 h",
                  "Guangminglu Red Vest Team: 1, 2.5 h"):
        assert words in text, words

    chart = await admin.wait_for(predicate=lambda m: m.kind == "photo" and "who signed up and "
                                 "who came" in (m.text or ""), timeout=15)
    png = bytes(town.sb.world.files[chart.file_ids[-1]].data)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000

    await admin.send("/export activities 2026-06")
    await admin.wait_for(text="Preparing the activities")
    csv_file = await admin.wait_for(
        predicate=lambda m: m.kind == "document" and (m.raw["document"]["file_name"]
                                                      .endswith(".csv")), timeout=15)
    content = bytes(town.sb.world.files[csv_file.raw["document"]["file_id"]].data)
    header, row = content.decode("utf-8-sig").splitlines()[:2]
    assert header.startswith("Number,Kind,Title,Team,Area,Theme")
    assert row.startswith(f"1,activity,{TITLE},Guangminglu Red Vest Team,")
    assert row.endswith(",open,2,2,0,1,1,2.5,yes")

    await town.grandma.send("/start")
    await town.grandma.wait_for(text="选择")
    await admin.send(f"/grant {town.grandma.id} zhongxinjie")
    await admin.wait_for(text="is now an admin")
    await town.grandma.send("/stats 2026-06")
    theirs = await town.grandma.wait_for(text="统计")
    assert "志愿服务活动" not in (theirs.text or "")


async def test_a_cancelled_activitys_old_controls_confirm_nothing_and_mark_no_one_absent(
    town: Town,
) -> None:
    """After a cancel the organiser's first controls message still has its buttons: they
    are refused, so nobody becomes a no-show of an activity that never took place."""
    await signed_up(town, town.vol2)
    await town.vol1.press("❌ Cancel the activity")
    await town.vol1.wait_for(text="will be told")
    await town.vol1.press("Yes, cancel it")
    await town.vol2.wait_for(text="is cancelled")
    town.clock.set(at(11, 40))
    refused = await pressed_days_later(town.vol1, "aman:1:confirm")
    assert refused.show_alert and "cancelled already" in (refused.text or "")
    forged = await pressed_days_later(town.vol1, "aconf:1")
    assert forged.show_alert and "cancelled already" in (forged.text or "")
    await town.vol1.send(f"/addhours 1 {town.vol2.id} 1 came anyway")
    await town.vol1.wait_for(text="cancelled already")
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        (signup,) = await repo.activities.signups(1) or [None]
        activity = await repo.activities.activity(1)
    assert activity is not None and activity.confirmed_at is None
    assert signup is not None and not signup.no_show


async def test_an_activity_whose_hours_are_confirmed_cannot_be_cancelled_afterwards(
    town: Town,
) -> None:
    """Zhang comes and is credited his hours when Li confirms the list at 11:40. Later Li
    presses Cancel the activity on his old controls (and Yes under an old question): it took
    place, so he is told it cannot be cancelled; Zhang hears nothing about a cancelling and
    keeps his hours, and the activity is not marked cancelled."""
    zhang = town.vol2
    await signed_up(town, zhang)
    town.clock.set(at(9, 0))
    await zhang.send(f"/start {await scanned_code(town)}")
    await zhang.wait_for(text="Checked in to")
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    await zhang.wait_for(text="You were credited 2.5 h")

    for data in ("aman:1:cancel", "acancel:1:y"):
        refused = await pressed_days_later(town.vol1, data)
        assert refused.show_alert, (data, refused)
        assert refused.text == (f"“{TITLE}” took place and its hours are confirmed: it "
                                "cannot be cancelled now."), (data, refused.text)
    assert not [m for m in town.vol1.private.bot_messages() if "will be told" in (m.text or "")]
    assert not [m for m in zhang.private.bot_messages() if "is cancelled" in (m.text or "")]
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        activity = await repo.activities.activity(1)
        hours = await repo.activities.hours_of(1, zhang.id)
    assert activity is not None and activity.status != "cancelled"
    assert [h.hours for h in hours] == [2.5]


async def test_a_check_in_under_a_request_form_takes_its_location_button_along(
    town: Town,
) -> None:
    """Zhang is asked for his location to check in when he opens a request form instead: the
    location button goes off his screen, and he is told the check-in waits. He gives the form
    up; the check-in is back with its button, and his location checks him in. Asked again,
    he gives it up too (/cancel): the button goes."""
    zhang = town.vol2
    await signed_up(town, zhang)
    town.clock.set(at(8, 50))
    await zhang.press("📍 Check in here")
    await zhang.wait_for(text="send your location")
    await zhang.send("/new")
    notice = await zhang.wait_for(text="Before you start")
    await zhang.press("✅ I agree, continue", message=notice)
    await zhang.wait_for(text=f"Your check-in at “{TITLE}” waits")
    await zhang.wait_for(text="What kind of help")
    with pytest.raises(LookupError):
        await zhang.tap("📍 Send my location")

    await zhang.send("/cancel")
    await zhang.wait_for(text="Back to what you were doing before")
    await zhang.wait_for(text=f"To check in at “{TITLE}”")
    await zhang.tap("📍 Send my location", latitude=VENUE[0] + 0.001, longitude=VENUE[1])
    await zhang.wait_for(text="Checked in to")

    town.clock.set(at(11, 30))
    await zhang.press("📍 Check out here", message=await zhang.wait_for(text="When you leave"))
    await zhang.wait_for(text="send your location")
    await zhang.send("/cancel")
    await zhang.wait_for(text="OK, skipped.")
    with pytest.raises(LookupError):
        await zhang.tap("📍 Send my location")


# -- quiet hours (bot/night.py) ------------------------------------------------------------------


def said_to(person: SimUser, words: str) -> list[SimMessage]:
    """What the bot has said to `person` in private that holds `words`."""
    return [m for m in person.private.bot_messages() if words in (m.text or "")]


async def all_sent(town: Town, moment: datetime) -> None:
    """The clock at `moment`, one sweep, and every call the bot may make by then made."""
    town.clock.set(moment)
    await town.tick()
    await sent_what_is_due(town)


@pytest.mark.parametrize("night", [at(23, 30), at(2, 0, day=14)], ids=["23:30", "02:00"])
async def test_hours_confirmed_at_night_reach_the_volunteer_at_08_00_with_their_dispute_button(
        town: Town, night: datetime) -> None:
    """Li confirms the attendance list at `night`: Zhang is not woken; at 08:00 he reads
    his credited hours, with Dispute, and that he is a formal volunteer now, once each."""
    punctual = town.vol2
    await signed_up(town, punctual)
    town.clock.set(at(9, 0))
    await punctual.send(f"/start {await scanned_code(town)}")
    await punctual.wait_for(text="Checked in to")
    town.clock.set(night)
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    await town.vol1.wait_for(text="hours credited to 1, 0 no-show(s)")
    await all_sent(town, at(7, 59, day=14))
    assert said_to(punctual, "You were credited") == []
    assert said_to(punctual, "registered formal volunteer") == []

    await all_sent(town, at(8, 0, day=14))
    credited = await punctual.wait_for(text="You were credited 2.5 h")
    assert buttons_of(credited) == ["Dispute these hours"]
    await punctual.wait_for(text="registered formal volunteer of 2026")
    await all_sent(town, at(9, 0, day=14))
    assert len(said_to(punctual, "You were credited")) == 1


async def test_a_dispute_at_night_reaches_the_organiser_silently_and_its_answer_waits(
        town: Town) -> None:
    """Zhang, credited by day, disputes his hours at 23:30: Li gets the dispute at once,
    without a sound. Li accepts it at 23:40: Zhang reads that at 08:00."""
    punctual = town.vol2
    await signed_up(town, punctual)
    town.clock.set(at(9, 0))
    await punctual.send(f"/start {await scanned_code(town)}")
    await punctual.wait_for(text="Checked in to")
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    credited = await punctual.wait_for(text="You were credited 2.5 h")

    town.clock.set(at(23, 30))
    await punctual.press("Dispute these hours", message=credited)
    await punctual.wait_for(text="How many hours should it be")
    await punctual.send("2 I left early")
    await punctual.wait_for(text="was sent to the organiser")
    dispute = await town.vol1.wait_for(text="disputes their hours")
    assert sounds(town, town.vol1, "disputes their hours") == [False]
    town.clock.set(at(23, 40))
    await town.vol1.press("Accept 2 h", message=dispute)
    await all_sent(town, at(7, 59, day=14))
    assert said_to(punctual, "Your dispute was accepted") == []
    await all_sent(town, at(8, 0, day=14))
    await punctual.wait_for(text="Your dispute was accepted: 2 h")


async def test_hours_added_by_hand_at_night_are_told_at_08_00(town: Town) -> None:
    """Li adds an hour to Zhang's record at 23:30: Zhang reads it at 08:00, not then."""
    await signed_up(town, town.vol2)
    town.clock.set(at(9, 5))
    await town.vol1.press("✋ Check in by hand")
    await town.vol1.wait_for(text="press a name")
    await (await town.vol1.press("✋ Zhang")).answer()
    await town.vol2.wait_for(text="The organiser checked you in")
    town.clock.set(at(23, 30))
    await town.vol1.send(f"/addhours 1 {town.vol2.id} 1 came back to tidy up")
    await town.vol1.wait_for(text="1 h added to Zhang")
    await all_sent(town, at(7, 59, day=14))
    assert said_to(town.vol2, "were added to your record") == []
    await all_sent(town, at(8, 0, day=14))
    await town.vol2.wait_for(text="were added to your record")


async def test_checked_in_by_hand_at_an_evening_activity_makes_no_sound(town: Town) -> None:
    """An evening patrol from 21:00 to 23:30: Li checks Zhang in by hand at 22:30. Zhang,
    there, is told at once, without a sound (quiet hours began at 22:00)."""
    zhang = town.vol2
    await open_bot(town.vol1, zhang)
    preview = await publish(town.vol1, start="2026-06-13 21:00", end="23:30")
    await town.vol1.press("✅ Publish", message=preview)
    await town.vol1.wait_for(text="your controls")
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    await (await zhang.press("🙋 Sign up", message=card)).answer()
    await zhang.wait_for(text="You are signed up for")
    town.clock.set(at(22, 30))
    await town.vol1.press("✋ Check in by hand")
    await town.vol1.wait_for(text="press a name")
    assert (await (await town.vol1.press("✋ Zhang")).answer()).text == "Zhang checked in."
    await zhang.wait_for(text="The organiser checked you in")
    assert sounds(town, zhang, "The organiser checked you in") == [False]

async def test_an_outage_as_a_volunteer_checks_in_loses_nothing_and_doubles_nothing(
    town: Town,
) -> None:
    """The network goes as Zhang shares his location at the place to check in: his location
    waits at Telegram for half a minute. When the network is back he is checked in once
    (08:50), and the organiser's confirmation later credits him once."""
    await signed_up(town, town.vol2)
    town.clock.set(at(8, 50))
    await town.vol2.press("📍 Check in here")
    await town.vol2.wait_for(text="send your location")
    town.sb.unreachable = True
    await town.vol2.tap("📍 Send my location", latitude=VENUE[0] + 0.001, longitude=VENUE[1])
    await town.sb.wait_until(lambda: "getUpdates" in town.sb.dropped, timeout=15)
    town.clock.advance(seconds=30)
    town.sb.unreachable = False
    done = await town.vol2.wait_for(text="Checked in to", timeout=30)
    assert "08:50" in (done.text or "")
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours")
    await town.vol2.wait_for(text="You were credited 2.5 h")
    await town.vol1.wait_for(text="hours credited to 1")
    assert len([m for m in town.vol2.private.bot_messages()
                if "Checked in to" in (m.text or "")]) == 1
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        hours = db.execute("SELECT user_id, hours FROM activity_hours").fetchall()
    assert hours == [(town.vol2.id, 2.5)]


async def test_someone_who_left_early_is_credited_nothing_and_may_dispute(town: Town) -> None:
    """Zhang checks in at 09:00 and out at 09:30: half an hour of a two-and-a-half-hour
    activity, under the 60% it takes. The organiser confirms: Zhang is told he was there too
    short a time for hours, with the button to dispute it; the organiser's summary credits
    nobody; /hours shows nothing from activities, and no formal volunteer is made."""
    zhang = town.vol2
    await signed_up(town, zhang)
    town.clock.set(at(9, 0))
    await zhang.send(f"/start {await scanned_code(town)}")
    await zhang.wait_for(text="Checked in to")
    town.clock.set(at(9, 30))
    await zhang.send(f"/start {await scanned_code(town, '🏁 Check-out code')}")
    await zhang.wait_for(text="Checked out of")

    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    short = await zhang.wait_for(text="for less than 60% of it, so no hours were credited")
    assert buttons_of(short) == ["Dispute these hours"]
    await town.vol1.wait_for(text="hours credited to 0, 0 no-show(s)")
    await zhang.send("/hours")
    mine = await zhang.wait_for(text="Your service hours")
    assert "activities 0 h by check-in" in (mine.text or ""), mine.text
    assert not [m for m in zhang.private.bot_messages()
                if "You were credited" in (m.text or "")
                or "registered formal volunteer of" in (m.text or "")]


async def test_a_dispute_accepted_over_the_threshold_makes_a_formal_volunteer(
    town: Town,
) -> None:
    """Zhang leaves at 10:45: 1.75 h credited, under this town's 2 h a year, so he is no
    formal volunteer yet. He disputes for 2.5 h and the organiser accepts: the accepted hours
    cross the threshold, and he is told he is a registered formal volunteer of 2026."""
    zhang = town.vol2
    await signed_up(town, zhang)
    town.clock.set(at(9, 0))
    await zhang.send(f"/start {await scanned_code(town)}")
    await zhang.wait_for(text="Checked in to")
    town.clock.set(at(10, 45))
    await zhang.send(f"/start {await scanned_code(town, '🏁 Check-out code')}")
    await zhang.wait_for(text="Checked out of")
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    credited = await zhang.wait_for(text="You were credited 1.75 h")
    await town.vol1.wait_for(text="hours credited to 1, 0 no-show(s)")
    assert not [m for m in zhang.private.bot_messages()
                if "registered formal volunteer of" in (m.text or "")]

    await zhang.press("Dispute these hours", message=credited)
    await zhang.wait_for(text="How many hours should it be")
    await zhang.send("2.5 I stayed to tidy up")
    await zhang.wait_for(text="was sent to the organiser")
    dispute = await town.vol1.wait_for(text="disputes their hours")
    await town.vol1.press("Accept 2.5 h", message=dispute)
    await zhang.wait_for(text="Your dispute was accepted: 2.5 h")
    await zhang.wait_for(text="registered formal volunteer of 2026")
