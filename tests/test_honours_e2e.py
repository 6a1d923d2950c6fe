"""Honours, leaderboards and the service record, end to end: volunteers see the month's and
the year's ranking by verified hours (requests' and activities' summed) with their own place
when outside the top 10, and their team's; a volunteer hides their name and is still counted;
a group gets the ranking at most once per 10 minutes; the centre admin records an honour in a
short dialog that survives a restart, announces it to the volunteer group and revokes it
(the row stays); an area admin may honour only the volunteers of their areas; a volunteer's
/record arrives as a PNG whose verification code an admin checks with /verify (a tampered
code does not verify, and a record whose hours were corrected since no longer matches).
Every bad input gets one polite line.

The town is the activities story's (tests/test_activities_e2e.py): Li (1003) leads the Red
Vest Team of Guangminglu; Zhang (1004) is a volunteer of the Golden Glow team of
Zhongxinjie. The clock starts on Wednesday 10 June 2026, 10:00 in Shanghai. Hours the flows
are not about are written in a unit of work, as the flows write them (credited request
hours, confirmed activity hours), at chosen moments.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.activities.records import content_hash
from bot.unit import Unit
from sandbox import SimMessage, SimUser
from storage import Repo
from tests.conftest import SHANGHAI, Town
from tests.flows import eventually, open_bot, pressed_days_later, too_old
from tests.test_activities_e2e import TEAMS, buttons_of, card_now
from tests.test_attendance_e2e import at, signed_up
from tests.test_quiet_hours_e2e import at as quiet_at

ROOT = Path(__file__).resolve().parent.parent
GUANGMING, GOLDEN = "guangming-red", "jinhui"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The activities town: example areas and themes, Li leading the Red Vest Team."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"activities": {"themes_file": "themes.toml"},
            "areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


def moment(year: int, month: int, day: int, hour: int = 12) -> float:
    """A local moment in Shanghai, as a timestamp."""
    return datetime(year, month, day, hour, tzinfo=SHANGHAI).timestamp()


async def in_unit(town: Town, work: Callable[[Repo, float], Awaitable[Any]]) -> Any:
    """Run `work` in one unit of work on the bot's database, as a service would."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.transaction() as repo:
        return await work(repo, services.env.now())


async def register(town: Town, user_id: int, name: str, team: str | None,
                   area: str | None = None) -> None:
    """An approved volunteer registration (as /join and its approval leave it)."""
    async def work(repo: Repo, now: float) -> None:
        await repo.people.see_user(user_id, name, None, "en", now, private=True)
        await repo.volunteers.apply(user_id, name, None, area, team, now)
        assert await repo.volunteers.decide(user_id, True, town.admin.id, None, now)
    await in_unit(town, work)


async def a_request(town: Town) -> int:
    """The id of a request of the citizen's, stored as the form stores one: hours are
    credited against it."""
    async def work(repo: Repo, now: float) -> int:
        await repo.people.see_user(town.citizen.id, "Alice", None, "en", now, private=True)
        return await repo.requests.insert_request(
            ref="2026-000001", citizen_id=town.citizen.id, language="en", category="elderly",
            description="A leaking tap.", photos=[], voice_file_id=None, latitude=None,
            longitude=None, address=None, phone=None, dispatch_chat_id=None, now=now)
    return int(await in_unit(town, work))


async def credit(town: Town, request_id: int, user_id: int, hours: float, when: float) -> None:
    """Request hours given and credited when the request closed at `when`."""
    async def work(repo: Repo, now: float) -> None:
        await repo.volunteers.record_hours(request_id, user_id, hours, now)
        await repo.volunteers.credit_hours(request_id, when)
    await in_unit(town, work)


async def answer_of(person: SimUser, text: str, expect: str) -> SimMessage:
    """Send a line and read the bot's answer."""
    await person.send(text)
    return await person.wait_for(text=expect)


# -- rankings ----------------------------------------------------------------------------------


async def eleven_volunteers_with_hours(town: Town) -> None:
    """Li and ten others credited 2 to 12 hours in June 2026; Zhang 0.5 h in June (12th of
    12) and 50 h in May (first of the year)."""
    li, zhang = town.vol1, town.vol2
    await open_bot(li, zhang)
    await register(town, li.id, "Li", GUANGMING)
    await register(town, zhang.id, "Zhang", GOLDEN)
    request = await a_request(town)
    for n in range(10):
        user_id = 5000 + n
        await register(town, user_id, f"Volunteer {n + 2}", GUANGMING)
        await credit(town, request, user_id, n + 2.0, moment(2026, 6, 2))
    await credit(town, request, li.id, 12.0, moment(2026, 6, 3))
    await credit(town, request, zhang.id, 0.5, moment(2026, 6, 4))
    await credit(town, request, zhang.id, 50.0, moment(2026, 5, 20))


async def test_the_month_ranking_shows_the_top_ten_and_my_place_outside_it(town: Town) -> None:
    await eleven_volunteers_with_hours(town)
    zhang = town.vol2
    ranking = await answer_of(zhang, "/ranking", "Volunteers by verified hours, June 2026")
    text = ranking.text or ""
    assert "1. Li — 12 h" in text and "10. Volunteer 3 — 3 h" in text
    assert "Volunteer 2 —" not in text  # 11th
    assert "You: place 12 of 12, 0.5 h." in text
    assert "Teams" in text and "1. Guangminglu Red Vest Team — 77 h" in text
    assert "2. Golden Glow Elderly Care Team — 0.5 h" in text
    assert "+86" not in text and "138" not in text  # names only

    year = await answer_of(zhang, "/ranking year", "Volunteers by verified hours, 2026")
    assert "1. Zhang — 50.5 h ← you" in (year.text or "")
    assert "You: place" not in (year.text or "")
    may = await answer_of(zhang, "/ranking 2026-05", "Volunteers by verified hours, May 2026")
    assert "1. Zhang — 50 h ← you" in (may.text or "") and "Li" not in (may.text or "")
    await answer_of(zhang, "/ranking month 2025-12", "No verified hours in December 2025 yet.")


async def test_a_volunteer_hides_their_name_and_is_still_counted(town: Town) -> None:
    await eleven_volunteers_with_hours(town)
    li, zhang = town.vol1, town.vol2
    await answer_of(li, "/ranking hide", "rankings show you as “a volunteer”")
    await answer_of(li, "/ranking hide", "Your name is hidden in rankings already.")
    seen = await answer_of(zhang, "/ranking", "Volunteers by verified hours")
    assert "1. a volunteer — 12 h" in (seen.text or "") and "Li" not in (seen.text or "")
    mine = await answer_of(li, "/ranking", "Volunteers by verified hours")
    assert "1. a volunteer — 12 h ← you" in (mine.text or "")
    assert "Your name is hidden here" in (mine.text or "")
    await answer_of(li, "/ranking show", "rankings show your name again")
    again = await answer_of(zhang, "/ranking", "Volunteers by verified hours")
    assert "1. Li — 12 h" in (again.text or "")


async def test_a_chinese_volunteer_hides_and_shows_her_name_without_an_english_word(
    town: Town,
) -> None:
    await eleven_volunteers_with_hours(town)
    li = town.vol1
    li.language_code = "zh-CN"
    await li.send("/lang")
    choose = await li.wait_for(text="Choose your language")
    await li.press("中文", message=choose)
    await li.wait_for(text="语言已设置为中文")
    ranking = await answer_of(li, "/ranking", "志愿者")
    assert "/ranking 隐藏" in (ranking.text or "") and "hide" not in (ranking.text or "")
    hidden = await answer_of(li, "/ranking 隐藏", "一位志愿者")
    assert "/ranking 显示" in (hidden.text or "") and "show" not in (hidden.text or "")
    await answer_of(li, "/ranking 显示", "名字")
    seen = await answer_of(town.vol2, "/ranking", "Volunteers by verified hours")
    assert "1. Li — 12 h" in (seen.text or "")


async def test_hours_credited_by_an_activity_count_in_the_month_it_took_place(
    town: Town,
) -> None:
    """The real flow: Li publishes for 13 June, Zhang signs up, is checked in by hand, the
    list is confirmed: 2.5 h, in June's ranking, for Zhang and his team."""
    await signed_up(town, town.vol2)
    await register(town, town.vol2.id, "Zhang", GOLDEN)
    town.clock.set(at(9, 5))
    await town.vol1.press("✋ Check in by hand")
    await town.vol1.wait_for(text="press a name")
    await (await town.vol1.press("✋ Zhang")).answer()
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    await town.vol2.wait_for(text="You were credited 2.5 h")
    ranking = await answer_of(town.vol2, "/ranking 2026-06", "Volunteers by verified hours")
    assert "1. Zhang — 2.5 h ← you" in (ranking.text or "")
    assert "1. Golden Glow Elderly Care Team — 2.5 h" in (ranking.text or "")
    await answer_of(town.vol2, "/ranking 2026-05", "No verified hours in May 2026 yet.")


async def test_a_group_gets_the_ranking_at_most_once_in_ten_minutes(town: Town) -> None:
    await eleven_volunteers_with_hours(town)
    zhang, group = town.vol2, town.volunteers
    await zhang.send("/ranking", chat=group)
    posted = await group.wait_for(text="Volunteers by verified hours, June 2026")
    assert "You:" not in (posted.text or "") and "← you" not in (posted.text or "")
    before = len(group.bot_messages())
    await zhang.send("/ranking year", chat=group)
    await zhang.wait_for(text="The ranking was posted in that group at 10:")
    assert len(group.bot_messages()) == before
    town.clock.advance(minutes=10)
    await zhang.send("/ranking year", chat=group)
    await group.wait_for(text="Volunteers by verified hours, 2026")


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/ranking lots", "Usage: /ranking, /ranking year, /ranking 2026-05"),
        ("/ranking 2026-13", "Usage: /ranking"),
        ("/ranking month 2026", "Usage: /ranking"),
        ("/ranking 2026-06 2026-05", "Usage: /ranking"),
        ("/ranking 2031", "Pick a month or a year from 2000 up to now (2026)."),
        ("/ranking 2026-07", "Pick a month or a year from 2000 up to now (2026)."),
        ("/ranking 1999", "Pick a month or a year from 2000 up to now (2026)."),
    ],
)
async def test_a_bad_period_gets_one_line(town: Town, command: str, answer: str) -> None:
    await open_bot(town.vol2)
    await register(town, town.vol2.id, "Zhang", GOLDEN)
    await answer_of(town.vol2, command, answer)


async def test_someone_who_is_no_volunteer_is_told_to_register(town: Town) -> None:
    await open_bot(town.citizen)
    await answer_of(town.citizen, "/ranking", "Rankings are for registered volunteers")


# -- honours -----------------------------------------------------------------------------------


async def honour_up_to_the_preview(town: Town, who: int, title: str = "最美志愿者",
                                   citation: str = "Visited 30 elderly people every week."
                                   ) -> SimMessage:
    """The centre admin walks through /honour up to the preview, which is returned."""
    admin = town.admin
    await answer_of(admin, f"/honour {who}", "1/3")
    await answer_of(admin, title, "2/3")
    await admin.press("2026")
    await admin.wait_for(text="3/3")
    await admin.send(citation)
    return await admin.wait_for(text="Preview")


async def test_the_centre_admin_honours_announces_and_revokes(town: Town) -> None:
    zhang, admin, group = town.vol2, town.admin, town.volunteers
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    preview = await honour_up_to_the_preview(town, zhang.id)
    for words in ("Volunteer: Zhang", "Title: 最美志愿者", "Year: 2026", "Visited 30 elderly"):
        assert words in (preview.text or "")
    assert buttons_of(preview) == ["💾 Save", "📣 Save and announce", "Cancel"]
    assert not group.bot_messages()  # nothing is posted before Save

    announce = next(b["callback_data"] for row in (preview.reply_markup or {})["inline_keyboard"]
                    for b in row if b["text"] == "📣 Save and announce")
    await admin.press("📣 Save and announce", message=preview)
    announced = await group.wait_for(text="Honour")
    assert "Zhang — 最美志愿者 (2026)" in (announced.text or "")
    told = await zhang.wait_for(text="An honour was recorded on your service record")
    assert "最美志愿者" in (told.text or "")
    await card_now(town, preview, "announced in 1 group(s)")
    again = await (await admin.press_data(announce, message=too_old(preview))).answer()
    assert again.show_alert and again.text == "“最美志愿者” is saved already."
    assert len(group.bot_messages()) == 1  # announced once

    mine = await answer_of(zhang, "/honours", "Your honours")
    assert "#1 最美志愿者 (2026): Visited 30 elderly people every week." in (mine.text or "")
    theirs = await answer_of(admin, f"/honours {zhang.id}", "Honours of Zhang")
    assert buttons_of(theirs) == ["Revoke #1"]
    await admin.press("Revoke #1", message=theirs)
    confirm = await admin.wait_for(text="Revoke “最美志愿者” (2026)?")
    await admin.press("Yes, revoke it", message=confirm)
    await zhang.wait_for(text="The honour “最美志愿者” (2026) was revoked")
    await card_now(town, confirm, "was revoked")
    twice = await pressed_days_later(admin, "honrev:1:y")
    assert twice.show_alert and "revoked already" in (twice.text or "")

    history = await answer_of(admin, f"/honours {zhang.id}", "Honours of Zhang")
    assert "revoked on 2026-06-10 by Admin" in (history.text or "")
    assert buttons_of(history) == []  # kept in the history, nothing left to revoke
    await answer_of(zhang, "/honours", "No honours on your record yet.")
    # Read in Chinese, the day is written the Chinese way, with its weekday.
    await admin.send("/lang")
    await admin.press("中文", message=await admin.wait_for(text="Choose your language"))
    await admin.wait_for(text="语言已设置为中文")
    chinese = await answer_of(admin, f"/honours {zhang.id}", "由Admin撤销")
    assert "6月10日 周三" in (chinese.text or "") and "2026-06-10" not in (chinese.text or "")


async def test_save_without_announcing_posts_nothing_and_a_second_save_is_refused(
    town: Town,
) -> None:
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    preview = await honour_up_to_the_preview(town, zhang.id, title="优秀志愿者")
    save = next(b["callback_data"] for row in (preview.reply_markup or {})["inline_keyboard"]
                for b in row if b["text"] == "💾 Save")
    await admin.press("💾 Save", message=preview)
    await zhang.wait_for(text="优秀志愿者")
    await card_now(town, preview, "Saved on their record; they were told.")
    second = await (await admin.press_data(save, message=too_old(preview))).answer()
    assert second.show_alert and second.text == "“优秀志愿者” is saved already."
    assert not town.volunteers.bot_messages()


async def test_mydata_holds_the_honours_the_hidden_name_and_the_records_issued(
    town: Town,
) -> None:
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    preview = await honour_up_to_the_preview(town, zhang.id)
    await admin.press("💾 Save", message=preview)
    await zhang.wait_for(text="An honour was recorded")
    await answer_of(zhang, "/ranking hide", "rankings show you as “a volunteer”")
    drawing = await answer_of(zhang, "/record", "Your service record is being drawn")
    await zhang.wait_for(predicate=lambda m: m.kind == "document", timeout=20)
    await zhang.send("/mydata")
    document = await zhang.wait_for(predicate=lambda m: m.kind == "document"
                                    and m.raw["document"]["file_name"].startswith("mydata"))
    held = json.loads(town.sb.world.files[document.file_ids[0]].data)
    assert [(h["title"], h["year"]) for h in held["honours"]] == [("最美志愿者", 2026)]
    assert held["ranking_name"]["hidden"] == 1
    assert [r["code"] in (drawing.text or "") for r in held["service_records"]] == [True]


async def test_a_restart_in_the_middle_of_the_honour_dialog_loses_nothing(town: Town) -> None:
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    await answer_of(admin, f"/honour {zhang.id}", "1/3")
    await answer_of(admin, "最美志愿者", "2/3")
    await town.bot.crash()
    await town.bot.start()
    await answer_of(admin, "2026", "3/3")
    await admin.send("Kept the stairwell lights on for a year.")
    preview = await admin.wait_for(text="Preview")
    await town.bot.stop()
    await town.bot.start()
    await admin.press("💾 Save", message=preview)
    await zhang.wait_for(text="Kept the stairwell lights on")


async def test_an_area_admin_honours_only_volunteers_of_their_areas(town: Town) -> None:
    li, zhang, admin = town.vol1, town.vol2, town.admin
    await open_bot(li, zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)  # Golden Glow: Zhongxinjie
    await register(town, 5001, "Wang", GUANGMING)  # Red Vest: Guangminglu
    await answer_of(admin, f"/grant {li.id} zhongxinjie", "is now an admin of")
    await answer_of(li, "/honour 5001", "Wang is not a volunteer of your areas.")
    # A volunteer of no team and no area is in none of Li's areas either: the centre's.
    await register(town, 5002, "Zhao", None)
    await answer_of(li, "/honour 5002", "Zhao is not a volunteer of your areas.")
    await answer_of(li, f"/honour {zhang.id}", "1/3")
    await answer_of(li, "/cancel", "OK, skipped.")
    await answer_of(zhang, f"/honour {li.id}", "Only admins can record honours")


@pytest.mark.parametrize(
    ("answers", "expect"),
    [
        (["A" * 41], "The title is 41 characters long; at most 40, please."),
        (["Two\nlines"], "Please keep the title to one line."),
        (["/whatever"], "You are recording an honour: answer the question, or send /cancel"),
        (["最美志愿者", "1999"], "Please type a year from 2000 to 2026, or tap one."),
        (["最美志愿者", "lots"], "Please type a year from 2000 to 2026, or tap one."),
        (["最美志愿者", "2026", "C" * 501], "The citation is 501 characters long; at most 500"),
        (["最美志愿者", "2026", "Fine.", "more"], "Please use the buttons under the preview."),
    ],
)
async def test_a_bad_answer_in_the_honour_dialog_gets_one_line(
    town: Town, answers: list[str], expect: str,
) -> None:
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    await answer_of(admin, f"/honour {zhang.id}", "1/3")
    for n, line in enumerate(answers, 1):
        if n == len(answers):
            await answer_of(admin, line, expect)
        else:
            await answer_of(admin, line, f"{n + 1}/3" if n < 3 else "Preview")


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("/honour", "Usage: /honour"),
        ("/honour @nobody", "I do not know @nobody"),
        ("/honour 1 2", "Usage: /honour"),
        ("/honours 1 2", "Usage: /honours for yours"),
        ("/honours @nobody", "I do not know @nobody"),
    ],
)
async def test_a_bad_honour_command_gets_one_line(town: Town, command: str, expect: str) -> None:
    await open_bot(town.admin)
    await answer_of(town.admin, command, expect)


async def test_a_forged_or_old_honour_button_is_refused(town: Town) -> None:
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    preview = await honour_up_to_the_preview(town, zhang.id)
    await admin.press("Cancel", message=preview)
    await admin.wait_for(text="The honour was not recorded.")
    closed = await (await admin.press("💾 Save", message=preview)).answer()
    assert closed.show_alert and closed.text == "This form is closed."
    forged = await pressed_days_later(zhang, "honrev:99:y")
    assert forged.show_alert and forged.text == "This honour is not one you can change."
    await answer_of(zhang, "/honours", "No honours on your record yet.")


# -- the service record ------------------------------------------------------------------------


async def zhang_with_a_record(town: Town) -> tuple[SimMessage, str, SimMessage]:
    """Zhang: 3 h of requests in November 2025, 2.5 h of activity on 13 June 2026 (the real
    flow), an honour; /record, and the record file that arrives with its code."""
    zhang, admin = town.vol2, town.admin
    await signed_up(town, zhang)
    await open_bot(admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    request = await a_request(town)
    await credit(town, request, zhang.id, 3.0, moment(2025, 11, 1))
    preview = await honour_up_to_the_preview(town, zhang.id)
    await admin.press("💾 Save", message=preview)
    await zhang.wait_for(text="An honour was recorded")
    town.clock.set(at(9, 5))
    await town.vol1.press("✋ Check in by hand")
    await town.vol1.wait_for(text="press a name")
    await (await town.vol1.press("✋ Zhang")).answer()
    town.clock.set(at(11, 40))
    await town.vol1.press("✅ Attendance and hours")
    listing = await town.vol1.wait_for(text="Attendance of")
    await town.vol1.press("✅ Confirm attendance and hours", message=listing)
    credited = await zhang.wait_for(text="You were credited 2.5 h")

    drawing = await answer_of(zhang, "/record", "Your service record is being drawn")
    match = re.search(r"Verification code: ([A-Z2-7]{10})", drawing.text or "")
    assert match, drawing.text
    document = await zhang.wait_for(predicate=lambda m: m.kind == "document", timeout=20)
    return document, match.group(1), credited


async def test_the_record_arrives_as_a_png_and_its_code_verifies(town: Town) -> None:
    document, code, _ = await zhang_with_a_record(town)
    assert code in (document.text or "")
    assert document.raw["document"]["file_name"] == f"record-{code}.png"
    data = bytes(town.sb.world.files[document.file_ids[0]].data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    assert image.width == 1240 and image.height > 1000
    darkest, lightest = image.convert("L").getextrema()
    assert darkest < 80 and lightest == 255  # ink on white: text was drawn

    admin = town.admin
    verified = await answer_of(admin, f"/verify {code}", "is genuine")
    assert f"Zhang (id {town.vol2.id}), issued 2026-06-13 11:40" in (verified.text or "")
    spaced = f"{code[:5].lower()}-{code[5:].lower()}"
    await answer_of(admin, f"/verify {spaced}", "is genuine")
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    await answer_of(admin, f"/verify {tampered}", f"No record was issued with the code "
                                                  f"{tampered}")
    await answer_of(admin, "/verify abc", "Usage: /verify")
    await answer_of(admin, "/verify", "Usage: /verify")
    await answer_of(town.vol2, f"/verify {code}", "Only admins can check a record's code.")


async def test_a_record_whose_hours_were_corrected_since_no_longer_matches(
    town: Town,
) -> None:
    """Zhang disputes the 2.5 h after the record was issued and the organiser accepts 2 h:
    the record's code still names it, and /verify says it no longer matches."""
    _, code, credited = await zhang_with_a_record(town)
    await town.vol2.press("Dispute these hours", message=credited)
    await town.vol2.wait_for(text="How many hours should it be")
    await town.vol2.send("2 I left at 11:00")
    dispute = await town.vol1.wait_for(text="disputes their hours")
    await town.vol1.press("Accept 2 h", message=dispute)
    await town.vol2.wait_for(text="Your dispute was accepted")
    changed = await answer_of(town.admin, f"/verify {code}", "no longer matches")
    assert "issued by the bot to Zhang" in (changed.text or "")


async def test_the_stored_hash_is_the_content_the_record_states(town: Town) -> None:
    """What /record hashed and signed is what the content says now, year by year."""
    _, code, _ = await zhang_with_a_record(town)
    services = town.bot.services
    assert services is not None

    async def work(repo: Repo, now: float) -> tuple[Any, Any]:
        issued = await repo.honours.issued(code)
        assert issued is not None
        unit = Unit(services.env, repo, "en")
        return issued, await services.records.content(unit, issued.user_id, issued.issued_at)
    issued, content = await in_unit(town, work)
    assert content_hash(content) == issued.content_hash
    assert content["years"] == [[2025, 3.0, 0.0], [2026, 0.0, 2.5]]
    assert content["activities"] == [["Tree planting in Guangming Park", "2026-06-13", 2.5]]
    assert content["honours"] == [["最美志愿者", 2026]] and content["name"] == "Zhang"


async def test_someone_with_nothing_to_record_is_told_so(town: Town) -> None:
    await open_bot(town.citizen)
    await answer_of(town.citizen, "/record", "You have no verified hours or honours yet")


async def test_a_save_refused_for_an_area_taken_back_keeps_the_preview_to_save_again(
    town: Town,
) -> None:
    """Li, an admin of Zhongxinjie and Guangminglu, has Zhang's honour at its preview when
    his grant of Zhongxinjie is taken back: Save is refused, and the preview stays (he is
    still an admin). Once the grant is given back the same Save records it, with the title
    he typed."""
    li, zhang, admin = town.vol1, town.vol2, town.admin
    await open_bot(li, zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)  # Golden Glow: Zhongxinjie
    await answer_of(admin, f"/grant {li.id} zhongxinjie", "is now an admin of")
    await answer_of(admin, f"/grant {li.id} guangminglu", "is now an admin of")
    await answer_of(li, f"/honour {zhang.id}", "1/3")
    await answer_of(li, "最美志愿者", "2/3")
    await li.press("2026")
    await li.wait_for(text="3/3")
    await li.send("Visited 30 elderly people every week.")
    preview = await li.wait_for(text="Preview")
    await answer_of(admin, f"/revoke {li.id} zhongxinjie", "is no longer an admin of")

    refused = await (await li.press("💾 Save", message=preview)).answer()
    assert refused.show_alert and refused.text == "Zhang is not a volunteer of your areas."
    await answer_of(admin, f"/grant {li.id} zhongxinjie", "is now an admin of")
    saved = await (await li.press("💾 Save", message=preview)).answer()
    assert not saved.show_alert, saved.text
    await town.sb.wait_until(lambda: "Saved on their record" in (
        (li.private.get(preview.message_id) or preview).text or ""))
    await zhang.wait_for(text="最美志愿者")


async def test_an_honour_saved_after_the_grant_was_taken_back_ends_the_dialog_and_says_so(
        town: Town) -> None:
    """Li, admin of Zhongxinjie, has an honour for Zhang in preview when the centre admin
    takes his only grant back: he is no admin any more. Save is refused; the preview now
    says nothing was saved and the dialog ended, and why; its buttons are gone, Zhang is
    told nothing."""
    li, zhang, admin = town.vol1, town.vol2, town.admin
    await open_bot(li, zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)  # Golden Glow: Zhongxinjie
    await answer_of(admin, f"/grant {li.id} zhongxinjie", "is now an admin of")
    await answer_of(li, f"/honour {zhang.id}", "1/3")
    await answer_of(li, "最美志愿者", "2/3")
    await li.press("2026")
    await li.wait_for(text="3/3")
    await li.send("Visited 30 elderly people every week.")
    preview = await li.wait_for(text="Preview")
    await answer_of(admin, f"/revoke {li.id}", "is no longer an admin")

    refused = await (await li.press("💾 Save", message=preview)).answer()
    assert refused.show_alert and refused.text == "Zhang is not a volunteer of your areas."
    text = (await card_now(town, preview, "this dialog has ended")).text or ""
    assert "Not saved, and this dialog has ended: you may no longer honour Zhang." in text
    assert buttons_of(li.private.get(preview.message_id) or preview) == []
    assert await in_unit(town, lambda repo, now: repo.honours.all_honours_of(zhang.id)) == []
    assert not [m for m in zhang.private.bot_messages() if "honour" in (m.text or "")]


async def test_a_revoked_honours_announcement_says_it_was_revoked(town: Town) -> None:
    """The centre admin announces Zhang's honour in the volunteer group, then revokes it.
    The announcement in the group is edited to say the honour was revoked (its citation no
    longer congratulates anyone); nothing new is posted there."""
    zhang, admin, group = town.vol2, town.admin, town.volunteers
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    preview = await honour_up_to_the_preview(town, zhang.id)
    await admin.press("📣 Save and announce", message=preview)
    announced = await group.wait_for(text="Honour")
    await card_now(town, preview, "announced in 1 group(s)")

    theirs = await answer_of(admin, f"/honours {zhang.id}", "Honours of Zhang")
    await admin.press("Revoke #1", message=theirs)
    confirm = await admin.wait_for(text="Revoke “最美志愿者” (2026)?")
    await admin.press("Yes, revoke it", message=confirm)
    await zhang.wait_for(text="was revoked")

    now = (await card_now(town, announced, "revoked")).text or ""
    assert "Zhang — 最美志愿者 (2026)" in now and "Congratulations" not in now
    assert [m.message_id for m in group.bot_messages()] == [announced.message_id]


async def test_an_honour_whose_author_lost_the_role_ends_at_the_next_typed_answer(
        town: Town) -> None:
    """Li, admin of Zhongxinjie, has typed the title of an honour for Zhang when the centre
    admin takes his only grant back. The year he types is not taken: the dialog ends with
    one line saying why and that nothing was saved, and his next message is no answer to
    it; Zhang's record has no honour."""
    li, zhang, admin = town.vol1, town.vol2, town.admin
    await open_bot(li, zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    await answer_of(admin, f"/grant {li.id} zhongxinjie", "is now an admin of")
    await answer_of(li, f"/honour {zhang.id}", "1/3")
    await answer_of(li, "最美志愿者", "2/3")
    await answer_of(admin, f"/revoke {li.id}", "is no longer an admin")

    await li.send("2026")
    await li.wait_for(text="Not saved, and this dialog has ended: you may no longer honour Zhang.")
    await li.send("Visited 30 elderly people every week.")
    await li.wait_for(text="Sorry, I did not understand that")
    assert await in_unit(town, lambda repo, now: repo.honours.all_honours_of(zhang.id)) == []


async def held_back(town: Town, *chats: int) -> None:
    """Wait until each chat's first queued call is held back (Telegram asked for a pause)."""
    services = town.bot.services
    assert services is not None

    async def waiting() -> bool:
        async with services.env.db.reading() as repo:
            queued = [await repo.outbox.chat_queue(chat, 0, 1) for chat in chats]
        return all(q and q[0][0].not_before > services.env.now() for q in queued)

    await eventually(waiting)


async def test_an_honour_revoked_before_its_announcement_went_is_never_announced(
        town: Town) -> None:
    """The centre admin saves and announces Zhang's honour, but Telegram asks the bot to wait
    two minutes before its next messages to Zhang and to the volunteers' group. Meanwhile
    the admin revokes the honour. When the two minutes are up, Zhang is told of the honour
    and of its revoking, and the group gets nothing: no congratulations for an honour that
    no longer stands."""
    zhang, admin, group = town.vol2, town.admin, town.volunteers
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    preview = await honour_up_to_the_preview(town, zhang.id)
    town.sb.inject("sendMessage", code=429, description="Too Many Requests: retry after 120",
                   retry_after=120, times=2)
    await admin.press("📣 Save and announce", message=preview)
    await card_now(town, preview, "announced in 1 group(s)")
    await held_back(town, zhang.id, group.id)

    theirs = await answer_of(admin, f"/honours {zhang.id}", "Honours of Zhang")
    await admin.press("Revoke #1", message=theirs)
    confirm = await admin.wait_for(text="Revoke “最美志愿者” (2026)?")
    await admin.press("Yes, revoke it", message=confirm)
    await card_now(town, confirm, "was revoked")

    await town.tick(minutes=3)
    await zhang.wait_for(text="The honour “最美志愿者” (2026) was revoked")
    services = town.bot.services
    assert services is not None

    async def drained() -> bool:
        async with services.env.db.reading() as repo:
            return await repo.outbox.pending_outbox() == 0

    await eventually(drained)
    assert group.bot_messages() == [], [m.text for m in group.bot_messages()]


async def test_an_honour_revoked_while_its_announcement_is_on_its_way_says_so_at_once(
        town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    """The announcement of Zhang's honour is on its way to the volunteers' group (Telegram is
    slow to answer) when the admin revokes the honour: too late to hold it back. When it
    lands, the bot edits it at once to say the honour was revoked: the group is never left
    congratulating."""
    zhang, admin, group = town.vol2, town.admin, town.volunteers
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    preview = await honour_up_to_the_preview(town, zhang.id)
    api, landing = town.sb.api, asyncio.Event()
    on_its_way = asyncio.Event()
    call = api.call

    async def slow_to_the_group(method: str, params: dict[str, Any], *rest: Any) -> Any:
        if method == "sendMessage" and str(params.get("chat_id")) == str(group.id):
            on_its_way.set()
            await landing.wait()
        return await call(method, params, *rest)

    monkeypatch.setattr(api, "call", slow_to_the_group)
    await admin.press("📣 Save and announce", message=preview)
    await asyncio.wait_for(on_its_way.wait(), timeout=5)

    theirs = await answer_of(admin, f"/honours {zhang.id}", "Honours of Zhang")
    await admin.press("Revoke #1", message=theirs)
    confirm = await admin.wait_for(text="Revoke “最美志愿者” (2026)?")
    await admin.press("Yes, revoke it", message=confirm)
    await card_now(town, confirm, "was revoked")
    landing.set()

    announced = await group.wait_for(text="Honour")
    await card_now(town, announced, "This honour has been revoked.")
    assert len(group.bot_messages()) == 1

async def test_an_honour_saved_and_revoked_at_night_is_told_at_08_00(town: Town) -> None:
    """The admin records Zhang's honour at 23:30 and revokes it at 23:50 (wrong person):
    Zhang, asleep, reads both at 08:00, in that order, once each."""
    zhang, admin = town.vol2, town.admin
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN)
    town.clock.set(datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI))
    preview = await honour_up_to_the_preview(town, zhang.id, title="优秀志愿者")
    await admin.press("💾 Save", message=preview)
    await card_now(town, preview, "Saved on their record; they were told.")
    town.clock.set(datetime(2026, 6, 10, 23, 50, tzinfo=SHANGHAI))
    theirs = await answer_of(admin, f"/honours {zhang.id}", "Honours of Zhang")
    await admin.press("Revoke #1", message=theirs)
    confirm = await admin.wait_for(text="Revoke “优秀志愿者” (2026)?")
    await admin.press("Yes, revoke it", message=confirm)
    await card_now(town, confirm, "was revoked")
    await quiet_at(town, datetime(2026, 6, 11, 7, 59, tzinfo=SHANGHAI))
    assert [m.text for m in zhang.private.bot_messages() if "优秀志愿者" in (m.text or "")] == []

    await quiet_at(town, datetime(2026, 6, 11, 8, 0, 1, tzinfo=SHANGHAI))
    await zhang.wait_for(text="was revoked from your service record")
    told = [m.text or "" for m in zhang.private.bot_messages() if "优秀志愿者" in (m.text or "")]
    assert len(told) == 2 and "An honour was recorded" in told[0] and "revoked" in told[1]
