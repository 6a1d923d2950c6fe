"""Volunteers: registration with approval, who may claim, hours given and counted, export."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandbox import SimUser
from tests.conftest import Town
from tests.flows import (
    card_of,
    claim,
    file_request,
    long_as,
    open_bot,
    open_form,
    refused_in_private,
)
from tests.test_quiet_hours_e2e import at, said

CLAIM = "🙋 Claim"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LI = 1003  # the sandbox numbers people in order: Alice 1001, 王奶奶 1002, Li 1003, Zhang 1004


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """Only registered volunteers may claim; hours are asked at Done; two teams, one led by
    Li."""
    (tmp_path / "teams.csv").write_text(
        "id,area_id,name_zh,name_en,leader_id\n"
        f"red,,红马甲服务队,Red Vest Team,{LI}\n"
        "blue,,蓝天服务队,Blue Sky Team,\n",
        "utf-8",
    )
    return {"volunteers": {"claim_mode": "registered", "ask_hours": True,
                           "teams_file": "teams.csv", "max_hours": 12},
            "activities": {"formal_hours": 4}}


async def register(town: Town, person: SimUser, name: str, team: str) -> None:
    """A person fills in /join: name, phone, team."""
    await person.send("/join")
    await person.wait_for(text="please type your name")
    await person.send(name)
    await person.wait_for(text="share your phone number")
    await person.tap("📞 Share my phone number")
    await person.wait_for(text="Which team")
    await person.press(team)
    await person.wait_for(text="Your registration is sent")


async def approved(town: Town, person: SimUser, name: str) -> None:
    """Register in the Blue Sky Team and get approved by the admin in the admin chat (which,
    being a group, is not shown the applicant's phone)."""
    await register(town, person, name, "Blue Sky Team")
    review = await town.admin_chat.wait_for(text=f"Name: {name}")
    assert "Phone: not shown in a group" in review.text
    press = await town.admin.press("✅ Approve", chat=town.admin_chat, message=review)
    await press.answer()
    await person.wait_for(text="registration is approved")


async def finish_with_hours(town: Town, volunteer: SimUser, hours_label: str) -> None:
    """The claimer presses Done, skips the note and picks the time spent."""
    await volunteer.press("✅ Done")
    await volunteer.wait_for(text="Write a short note")
    await volunteer.press("Skip")
    await volunteer.wait_for(text="How long did it take?")
    await volunteer.press(hours_label)
    await volunteer.wait_for(text="marked done")


async def test_a_registration_is_approved_and_then_claims(town: Town) -> None:
    """Zhang registers; the admins get Approve/Reject; approved, he can claim at last."""
    zhang = town.vol2
    await zhang.send("/start")
    await zhang.wait_for(text="Choose below")
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    press = await zhang.press(CLAIM, chat=town.volunteers, message=card)
    refused = await press.answer()
    assert refused.show_alert and "Only registered volunteers" in (refused.text or "")
    assert refused.url == f"https://t.me/{town.sb.bot_username}?start=join"

    await approved(town, zhang, "张伟")
    assert ref in await claim(zhang, town.volunteers, card)
    await zhang.send("/join")
    record = await zhang.wait_for(text="Your volunteer registration")
    assert "approved" in record.text and "Blue Sky Team" in record.text


async def test_a_team_leader_rejects_with_a_reason(town: Town) -> None:
    """Zhang asks to join the Red Vest Team; its leader Li gets the review in private (the
    admins see it too) and rejects it with a reason; Zhang is told the reason and may apply
    again."""
    await town.vol1.send("/start")
    await town.vol1.wait_for(text="Choose below")
    zhang = town.vol2
    await register(town, zhang, "张伟", "Red Vest Team")
    review = await town.vol1.wait_for(text="Name: 张伟")
    assert review.buttons == ["✅ Approve", "✖ Reject"]
    admins_copy = await town.admin_chat.wait_for(text="Name: 张伟")
    # The leader, in private, sees the phone Zhang shared; the admin chat, a group, does not.
    phone = review.text.split("Phone: ", 1)[1].splitlines()[0]
    assert phone.lstrip("+").isdigit()
    assert phone not in admins_copy.text and "Phone: not shown in a group" in admins_copy.text
    await town.vol1.press("✖ Reject", message=review)
    await town.vol1.wait_for(text="Please type the reason")
    # A reason over 300 characters as Telegram counts them (📅 counts 2) is refused with its
    # length, and asked for again; 300 exactly is taken.
    await town.vol1.send(long_as("📅 Our team is full this month", 301))
    await town.vol1.wait_for(text="The reason is 301 characters long; at most 300, please.")
    await town.vol1.send(long_as("Our team is full this month.", 300))
    told = await zhang.wait_for(text="was not approved")
    assert "Our team is full this month." in told.text
    assert sum("not approved" in (m.text or "") for m in zhang.private.bot_messages()) == 1
    again = await town.vol1.press("✅ Approve", message=review)
    assert "already decided" in ((await again.answer()).text or "")
    late = await town.admin.press("✅ Approve", chat=town.admin_chat, message=admins_copy)
    assert "already decided" in ((await late.answer()).text or "")
    await zhang.send("/join")
    await zhang.wait_for(text="please type your name")


async def test_only_admins_and_the_leader_may_decide(town: Town) -> None:
    """A forged Approve from an ordinary person is refused and changes nothing."""
    zhang = town.vol2
    await register(town, zhang, "张伟", "Blue Sky Team")
    review = await town.admin_chat.wait_for(text="Name: 张伟")
    mallory = town.sb.add_user("Mallory", language_code="en")
    press = await mallory.press_data(f"vapprove:{zhang.id}", chat=town.admin_chat,
                                     message=review)
    assert "only admins" in ((await press.answer()).text or "")
    await zhang.send("/join")
    record = await zhang.wait_for(text="Your volunteer registration")
    assert "waiting for approval" in record.text


async def test_hours_count_when_the_request_closes_and_not_when_it_reopens(
    town: Town,
) -> None:
    """Li gives 2 h to a request Alice confirms, and 3 h to one she says is not resolved:
    /hours shows 2 h, in all and this month."""
    li = town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await approved(town, li, "李明")

    first = await file_request(town.citizen, text="First")
    card = await card_of(town.volunteers, first)
    await claim(li, town.volunteers, card)
    await li.wait_for(text="+8613800000001")
    await finish_with_hours(town, li, "2 h")
    await town.citizen.wait_for(text=f"Is your request {first} resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")

    second = await file_request(town.citizen, text="Second")
    card2 = await card_of(town.volunteers, second)
    await claim(li, town.volunteers, card2)
    await li.wait_for(text="Second")
    await finish_with_hours(town, li, "3 h")
    await town.citizen.wait_for(text=f"Is your request {second} resolved?")
    await town.citizen.press("👎 No, not yet")
    await town.citizen.wait_for(text="open again")

    await li.send("/hours")
    mine = await li.wait_for(text="Your service hours")
    assert "2 h in all, 2 h this month" in mine.text
    await li.send("/team")
    team = await li.wait_for(text="Blue Sky Team")
    assert "李明: 2 h" in team.text


async def two_hours_given_then_a_second_taken(town: Town, li: SimUser) -> str:
    """Li, approved, gives 2 h to a request Alice confirms, then takes a second one; its
    reference."""
    await open_bot(li)
    await approved(town, li, "李明")
    first = await file_request(town.citizen, text="First")
    await claim(li, town.volunteers, await card_of(town.volunteers, first))
    await li.wait_for(text=f"You took {first}")
    await finish_with_hours(town, li, "2 h")
    await town.citizen.wait_for(text=f"Is your request {first} resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")

    second = await file_request(town.citizen, text="Second")
    await claim(li, town.volunteers, await card_of(town.volunteers, second))
    await li.wait_for(text=f"You took {second}")
    return second


async def test_hours_given_to_requests_alone_make_a_formal_volunteer(town: Town) -> None:
    """The year's threshold (4 h in this town) counts the hours of requests as it counts
    those of activities: Li gives 2 h to a request Alice confirms (not yet), then 2 h to one
    Alice never answers, which closes on the clock: that credit makes Li a registered formal
    volunteer of 2026, told once, and /stats counts her."""
    li = town.vol1
    second = await two_hours_given_then_a_second_taken(town, li)
    await finish_with_hours(town, li, "2 h")
    await town.citizen.wait_for(text=f"Is your request {second} resolved?")
    assert not [m for m in li.private.bot_messages() if "formal volunteer" in (m.text or "")]
    await town.tick(hours=73)
    await town.citizen.wait_for(text="closed because we did not hear back")
    told = await li.wait_for(text="registered formal volunteer of 2026")
    assert "4 verified hours" in (told.text or "")
    await li.send("/hours")
    mine = await li.wait_for(text="Your service hours")
    assert "Registered formal volunteer of 2026" in (mine.text or "")
    await town.admin.send("/stats 2026", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="Registered formal volunteers of 2026: 1")
    assert len([m for m in li.private.bot_messages()
                if "registered formal volunteer" in (m.text or "")]) == 1


async def test_a_confirmation_that_crosses_the_threshold_tells_the_volunteer_at_once(
    town: Town,
) -> None:
    """Li's second 2 h reach the year's 4 the moment Alice confirms the request resolved, in
    the day: Li is told there and then that she is a registered formal volunteer of 2026,
    and only then: the 2 h of her next request, confirmed too, tell her nothing more."""
    li = town.vol1
    second = await two_hours_given_then_a_second_taken(town, li)
    await finish_with_hours(town, li, "2 h")
    await town.citizen.wait_for(text=f"Is your request {second} resolved?")
    assert not [m for m in li.private.bot_messages() if "formal volunteer" in (m.text or "")]
    await town.citizen.press("👍 Yes, resolved")
    told = await li.wait_for(text="registered formal volunteer of 2026")
    assert "4 verified hours" in (told.text or "")

    # Her next hours of the year count on, and she is not told again.
    third = await file_request(town.citizen, text="Third")
    await claim(li, town.volunteers, await card_of(town.volunteers, third))
    await li.wait_for(text=f"You took {third}")
    await finish_with_hours(town, li, "2 h")
    await town.citizen.wait_for(text=f"Is your request {third} resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await li.send("/hours")
    mine = await li.wait_for(text="Your service hours")
    assert "6 h in all" in (mine.text or ""), mine.text
    assert len([m for m in li.private.bot_messages()
                if "registered formal volunteer of 2026" in (m.text or "")]) == 1


async def test_a_request_closed_on_the_clock_on_new_years_eve_counts_to_that_year(
    town: Town,
) -> None:
    """Li's second request is done at 23:00 on 28 December and Alice never answers: it is due
    to close on the clock at 23:00 on New Year's Eve, but the bot is only back at 00:30 on
    1 January. The 2 h are 2026's, as the close was due in 2026: they make Li a registered
    formal volunteer of 2026, which she hears at 08:00, when quiet hours end."""
    li = town.vol1
    await two_hours_given_then_a_second_taken(town, li)
    town.clock.set(datetime(2026, 12, 28, 23, 0, tzinfo=SHANGHAI))
    await finish_with_hours(town, li, "2 h")
    town.clock.set(datetime(2026, 12, 30, 9, 0, tzinfo=SHANGHAI))
    await town.tick()  # the rating reminder, moved to the morning
    town.clock.set(datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI))
    assert await town.tick() >= 1  # closed on the clock, 90 minutes late
    await li.send("/hours")
    await li.wait_for(text="Your service hours")
    assert not [m for m in li.private.bot_messages()
                if "registered formal volunteer of 2026" in (m.text or "")]
    town.clock.set(datetime(2027, 1, 1, 8, 0, 1, tzinfo=SHANGHAI))
    await town.tick()
    await town.citizen.wait_for(text="closed because we did not hear back")
    told = await li.wait_for(text="registered formal volunteer of 2026")
    assert "4 verified hours" in (told.text or "")


async def test_hours_of_the_new_year_do_not_count_to_the_year_before(town: Town) -> None:
    """Li has 2 h of 2026 when her second request, 1 h, is done on 28 December; Alice never
    answers, so it is due to close on the clock at 23:00 on New Year's Eve. Before the clock
    gets to it, at 00:10 on 1 January, Alice confirms a third request of Li's, 2 h: those are
    2027's. When the second closes at 00:30 it counts to 2026, which has 3 h, not the 4 a
    formal volunteer needs: Li is told nothing of the kind, that night or in the morning."""
    li = town.vol1
    await two_hours_given_then_a_second_taken(town, li)
    town.clock.set(datetime(2026, 12, 28, 23, 0, tzinfo=SHANGHAI))
    await finish_with_hours(town, li, "1 h")
    town.clock.set(datetime(2026, 12, 30, 9, 0, tzinfo=SHANGHAI))
    await town.tick()  # the rating reminder, moved to the morning
    town.clock.set(datetime(2026, 12, 31, 20, 0, tzinfo=SHANGHAI))
    third = await file_request(town.citizen, text="Third")
    await claim(li, town.volunteers, await card_of(town.volunteers, third))
    await li.wait_for(text=f"You took {third}")
    await finish_with_hours(town, li, "2 h")
    asked = await town.citizen.wait_for(text=f"Is your request {third} resolved?")

    town.clock.set(datetime(2027, 1, 1, 0, 10, tzinfo=SHANGHAI))
    await town.citizen.press("👍 Yes, resolved", message=asked)
    await town.citizen.wait_for(text="How would you rate")
    town.clock.set(datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI))
    assert await town.tick() >= 1  # the second closed on the clock
    town.clock.set(datetime(2027, 1, 1, 8, 0, 1, tzinfo=SHANGHAI))
    await town.tick()
    await town.citizen.wait_for(text="closed because we did not hear back")
    await li.send("/hours")  # after anything held for Li until 08:00
    mine = await li.wait_for(text="Your service hours")
    assert "5 h in all" in (mine.text or "")
    assert not [m for m in li.private.bot_messages()
                if "registered formal volunteer of 2026" in (m.text or "")]


async def test_hours_outside_the_range_are_refused_with_the_range(town: Town) -> None:
    """Typed hours must be above 0 and at most 12; 1.5 is fine."""
    li = town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await approved(town, li, "李明")
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await claim(li, town.volunteers, card)
    await li.wait_for(text="+8613800000001")
    await li.press("✅ Done")
    await li.wait_for(text="Write a short note")
    await li.send("Fixed it.")
    await li.wait_for(text="How long did it take?")
    await li.press("Other…")
    await li.wait_for(text="Please type the hours")
    await li.send("30")
    refused = await li.wait_for(text="at most 12")
    assert "above 0" in refused.text
    await li.send("1.5")
    await li.wait_for(text="marked done")
    await town.citizen.wait_for(text="Fixed it.")


async def test_admins_export_volunteers_as_csv(town: Town) -> None:
    """/export volunteers sends a CSV document; others are refused. In the admin chat (a
    group) it has no phone numbers; in the centre admin's private chat it has them."""
    await approved(town, town.vol1, "李明")
    assert town.bot.services is not None
    async with town.bot.services.env.db.reading() as repo:
        record = await repo.volunteers.volunteer(LI)
    assert record is not None and record.phone
    await town.admin.send("/export volunteers", chat=town.admin_chat)
    document = await town.admin_chat.wait_for(predicate=lambda m: m.kind == "document")
    assert document.raw["document"]["file_name"] == "volunteers.csv"
    assert "1 rows" in (document.text or "")
    assert "No phone numbers in a group chat" in (document.text or "")
    content = town.sb.world.files[document.raw["document"]["file_id"]].data.decode("utf-8")
    header, row = content.strip().splitlines()
    assert header == "user_id,name,area_id,team_id,status,hours"
    assert row == f"{LI},李明,,blue,approved,0"
    assert record.phone not in content and record.phone.lstrip("+") not in content

    await town.admin.send("/export volunteers")  # in private: with the phone numbers
    document = await town.admin.wait_for(predicate=lambda m: m.kind == "document")
    assert "No phone numbers" not in (document.text or "")
    content = town.sb.world.files[document.raw["document"]["file_id"]].data.decode("utf-8")
    header, row = content.strip().splitlines()
    assert header == "user_id,name,phone,area_id,team_id,status,hours"
    assert row.startswith(f"{LI},李明,") and row.endswith(",blue,approved,0")
    assert record.phone.lstrip("+") in row
    await refused_in_private(town.vol2, town.volunteers, "/export volunteers")


async def test_the_monthly_summary_ranks_teams_by_hours(town: Town) -> None:
    """Li (Blue Sky Team) gives 2 h in November; the summary on 1 December ranks the team."""
    town.clock.set(datetime(2026, 11, 30, 10, tzinfo=SHANGHAI))
    li = town.vol1
    await li.send("/start")
    await li.wait_for(text="Choose below")
    await approved(town, li, "李明")
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await claim(li, town.volunteers, card)
    await li.wait_for(text="+8613800000001")
    await finish_with_hours(town, li, "2 h")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")

    await town.tick(hours=23)  # 09:00 on 1 December
    summary = await town.admin_chat.wait_for(text="Monthly summary · 2026-11")
    assert "Teams by hours given:\n1. Blue Sky Team: 2 h" in summary.text


async def test_join_in_the_middle_of_a_request_keeps_the_draft(town: Town) -> None:
    """Alice is halfway through a request when she sends /join, then /cancel: her draft is
    back where she left it, description and all."""
    alice = town.citizen
    await alice.send("/start")
    await alice.wait_for(text="Choose below")
    await open_form(alice)
    await alice.press("Help for the elderly")
    await alice.wait_for(text="describe the problem")
    await alice.send("The stairwell light is broken.")
    await alice.wait_for(text="Where is it")
    await alice.send("/join")
    await alice.wait_for(text="please type your name")
    await alice.send("/cancel")
    await alice.wait_for(text="back to your unfinished request")
    await alice.wait_for(text="Where is it")
    await alice.send("5 Guangming Street")
    await alice.wait_for(text="How can the volunteer reach you")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "The stairwell light is broken." in summary.text


async def test_an_export_is_never_posted_in_a_volunteer_group(town: Town) -> None:
    """The admin types /export volunteers in the volunteers group: phone numbers stay out."""
    await town.admin.send("/export volunteers", chat=town.volunteers)
    await town.volunteers.wait_for(text="This shows phone numbers")
    assert [m for m in town.volunteers.bot_messages() if m.kind == "document"] == []


async def test_a_formal_volunteer_closed_on_the_clock_at_night_is_told_in_the_morning(
    town: Town,
) -> None:
    """Li's second request is done at 23:00 and Alice never answers: it closes on the clock
    at 23:00 three nights later, which makes Li a registered formal volunteer. The
    congratulation waits for the end of quiet hours (08:00), as Alice's notice does; what
    Li asks for herself at night is still answered at once."""
    li = town.vol1
    await two_hours_given_then_a_second_taken(town, li)
    town.clock.set(datetime(2026, 6, 10, 23, 0, tzinfo=SHANGHAI))
    await finish_with_hours(town, li, "2 h")
    town.clock.set(datetime(2026, 6, 12, 9, 0, tzinfo=SHANGHAI))
    await town.tick()  # the rating reminder, moved to the morning
    town.clock.set(datetime(2026, 6, 13, 23, 0, 30, tzinfo=SHANGHAI))
    assert await town.tick() == 1  # closed on the clock, at night
    await li.send("/hours")
    mine = await li.wait_for(text="Your service hours")
    assert "Registered formal volunteer of 2026" in (mine.text or "")
    assert not [m for m in li.private.bot_messages()
                if "registered formal volunteer of 2026" in (m.text or "")]

    town.clock.set(datetime(2026, 6, 14, 8, 0, 1, tzinfo=SHANGHAI))
    await town.tick()
    told = await li.wait_for(text="registered formal volunteer of 2026")
    sent = datetime.fromtimestamp(told.date, SHANGHAI)
    assert (sent.day, sent.hour) == (14, 8), f"told at {sent}"


async def test_a_confirmation_at_23_30_that_makes_a_formal_volunteer_tells_her_at_08_00(
    town: Town,
) -> None:
    """Li's second 2 h reach the year's 4 when Alice, awake at 23:30, confirms the request
    resolved: Li, asleep, is congratulated at 08:00, once, not at 23:30."""
    li = town.vol1
    second = await two_hours_given_then_a_second_taken(town, li)
    await finish_with_hours(town, li, "2 h")
    await town.citizen.wait_for(text=f"Is your request {second} resolved?")
    town.clock.set(datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI))
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await li.send("/hours")
    mine = await li.wait_for(text="Your service hours")
    assert "Registered formal volunteer of 2026" in (mine.text or "")
    assert not [m for m in li.private.bot_messages()
                if "registered formal volunteer of 2026" in (m.text or "")]

    town.clock.set(datetime(2026, 6, 11, 8, 0, 1, tzinfo=SHANGHAI))
    await town.tick()
    told = await li.wait_for(text="registered formal volunteer of 2026")
    sent = datetime.fromtimestamp(told.date, SHANGHAI)
    assert (sent.day, sent.hour) == (11, 8), f"told at {sent}"


@pytest.mark.parametrize(("hour", "sound"), [(23, False), (10, True)])
async def test_a_registration_at_night_reaches_the_leader_without_a_sound(
        town: Town, hour: int, sound: bool) -> None:
    """Zhang asks to join the Red Vest Team at half past eleven at night: its leader Li gets
    the review at once, with its buttons, but without a sound (he decides in the morning if
    he sleeps); sent at half past ten in the morning, it rings as any message does."""
    town.clock.set(datetime(2026, 6, 10, hour, 30, tzinfo=SHANGHAI))
    await town.vol1.send("/start")
    await town.vol1.wait_for(text="Choose below")
    await register(town, town.vol2, "张伟", "Red Vest Team")
    review = await town.vol1.wait_for(text="Name: 张伟")
    assert review.buttons == ["✅ Approve", "✖ Reject"]
    rang = [not params.get("disable_notification", False)
            for _, params, _ in town.sb.calls_to("sendMessage")
            if int(params["chat_id"]) == LI and "Name: 张伟" in str(params["text"])]
    assert rang == [sound]


@pytest.mark.parametrize("night", [
    datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI), datetime(2026, 6, 11, 2, 0, tzinfo=SHANGHAI),
], ids=["23:30", "02:00"])
async def test_a_registration_approved_at_night_is_told_to_the_applicant_at_once_silently(
        town: Town, night: datetime) -> None:
    """Zhang asked to join in the evening; Li, up late, approves him at `night`: Zhang reads
    that he is approved at once if he is still up, as a request's news reaches its citizen,
    but his phone makes no sound; once."""
    town.clock.set(datetime(2026, 6, 10, 20, 0, tzinfo=SHANGHAI))
    await town.vol1.send("/start")
    await town.vol1.wait_for(text="Choose below")
    await register(town, town.vol2, "张伟", "Red Vest Team")
    review = await town.vol1.wait_for(text="Name: 张伟")
    town.clock.set(night)
    await town.vol1.press("✅ Approve", message=review)
    await town.vol1.wait_for(text="Approved: 张伟")
    await town.vol2.wait_for(text="registration is approved")
    rang = [not params.get("disable_notification", False)
            for _, params, _ in town.sb.calls_to("sendMessage")
            if int(params["chat_id"]) == town.vol2.id
            and "registration is approved" in str(params["text"])]
    assert rang == [False]
    await at(town, datetime(2026, 6, 11, 9, 0, tzinfo=SHANGHAI))
    assert len(said(town.vol2, "registration is approved")) == 1
