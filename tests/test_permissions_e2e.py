"""Rights checked at the moment of acting, end to end. An admin's role can be taken back (or
narrowed to other areas) while their recruitment calls, activities and dialogs stand; from
then on every button they still have and every command they type is refused, politely and in
their language, and nothing changes. What they began in a dialog ends in a clear state: the
preview says the dialog ended and nothing was saved, and why.

Zhang (the second volunteer) is made an area admin of Guangminglu as /grant would; the centre
admin takes it back with /revoke. The example area tree is used, and a teams file whose Red
Vest Team belongs to Guangminglu. The clock starts on Wednesday 10 June 2026, 10:00 in
Shanghai (tests/conftest.py).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage, SimUser
from tests.conftest import Town
from tests.flows import open_bot, pressed_days_later
from tests.test_calls_e2e import (
    answers,
    approved,
    area_admin,
    buttons_of,
    roster_of_user,
    toggle,
    write_call,
)
from tests.test_forged_edits_e2e import Snapshot, drained

ROOT = Path(__file__).resolve().parent.parent
TEAMS = """id,area_id,name_zh,name_en,leader_id
guangming-red,guangminglu,光明路红马甲服务队,Guangminglu Red Vest Team,
jinhui,zhongxinjie,金晖助老服务队,Golden Glow Elderly Care Team,
"""
NO_LONGER_CALL = ("You can no longer manage call #1: your admin role no longer covers it. "
                  "Nothing was changed.")
NO_LONGER_ACTIVITY = ("You can no longer manage “Tree planting”: you no longer hold the role "
                      "it needs. Nothing was changed.")


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and a teams file of two teams, neither with a leader."""
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


def read(town: Town, sql: str) -> list[Any]:
    """Rows read beside the bot."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


async def revoke(town: Town, person: SimUser, area: str = "") -> None:
    """The centre admin takes back `person`'s admin role (of one area, or all)."""
    await open_bot(town.admin)
    await town.admin.send(f"/revoke {person.id} {area}".strip())
    await town.admin.wait_for(text="is no longer an admin of")


async def zhangs_call(town: Town) -> SimMessage:
    """Zhang, area admin of Guangminglu, sends a call there; Li answers it. Zhang's roster."""
    zhang, li = town.vol2, town.vol1
    await area_admin(town, zhang, "guangminglu")
    await approved(town, li)
    await open_bot(zhang)
    preview = await write_call(town, zhang)
    await zhang.press("🚨 Send", message=preview)
    await zhang.wait_for(text="Nobody has answered yet")
    card = await li.wait_for(text="Recruitment call #1")
    await (await li.press("🙋 I'm in", message=card)).answer()
    await li.wait_for(text="You're in for call #1")
    await drained(town)
    return roster_of_user(zhang)


async def pressed(person: SimUser, label: str, message: SimMessage) -> str:
    """`person` presses a real button; the alert they get (asserted to be one)."""
    current = message.chat.get(message.message_id) or message
    answer = await (await person.press(label, message=current)).answer()
    assert answer.show_alert, (label, answer)
    return answer.text or ""


# -- recruitment calls ---------------------------------------------------------------------


async def test_an_admin_whose_role_was_taken_back_cannot_close_or_cancel_their_call(
        town: Town) -> None:
    """Zhang's call to Guangminglu has Li's answer. Zhang asks to cancel it, then the centre
    admin revokes Zhang. Every control on Zhang's roster (close, cancel, check in by hand,
    attendance and hours) and the Yes under "Cancel this call?" is refused with one line
    saying why; the call stays open with Li in it, and the roster reads as before."""
    zhang = town.vol2
    roster = await zhangs_call(town)
    await (await zhang.press("❌ Cancel the call", message=roster)).answer()
    question = await zhang.wait_for(text="Cancel call #1 (")
    await revoke(town, zhang)
    await zhang.wait_for(text="You are no longer an admin")
    await drained(town)
    before = Snapshot(town, roster)

    for label in ("🔒 Close the call", "❌ Cancel the call", "✋ Check in by hand",
                  "✅ Attendance and hours"):
        assert await pressed(zhang, label, roster) == NO_LONGER_CALL, label
    assert await pressed(zhang, "Yes, cancel it", question) == NO_LONGER_CALL

    await before.unchanged()
    assert read(town, "SELECT status FROM activities WHERE id = 1") == [("open",)]
    assert answers(town) == [(town.vol1.id, "signed")]
    assert not [m for m in town.vol1.private.bot_messages()
                if "cancelled" in (m.text or "")]


async def test_an_admin_left_with_other_areas_cannot_end_a_call_to_an_area_no_longer_theirs(
        town: Town) -> None:
    """Zhang looks after Guangminglu and Zhongxinjie and called Guangminglu; Guangminglu is
    taken back. Close is refused (his role no longer covers the call); the centre admin can
    still close it."""
    zhang = town.vol2
    await area_admin(town, zhang, "zhongxinjie")
    roster = await zhangs_call(town)
    await revoke(town, zhang, "guangminglu")

    assert await pressed(zhang, "🔒 Close the call", roster) == NO_LONGER_CALL
    assert read(town, "SELECT status FROM activities WHERE id = 1") == [("open",)]
    done = await pressed_days_later(town.admin, "cman:1:close")
    assert done.text == "Closed", done
    assert read(town, "SELECT status FROM activities WHERE id = 1") == [("closed",)]


async def test_a_call_sent_by_an_admin_who_lost_the_area_ends_the_dialog_and_says_so(
        town: Town) -> None:
    """Zhang looks after Guangminglu and Zhongxinjie and has a call to Guangminglu in
    preview when Guangminglu is taken back. Send sends nothing: the preview now says the
    call was not sent and the dialog ended, and why; its buttons are gone."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await area_admin(town, zhang, "zhongxinjie")
    await approved(town, town.vol1)
    await open_bot(zhang)
    preview = await write_call(town, zhang, audience=("✅ Zhongxinjie Subdistrict Institute",))
    assert "To: Guangminglu Subdistrict Institute" in (preview.text or "")
    await revoke(town, zhang, "guangminglu")

    assert await pressed(zhang, "🚨 Send", preview) == (
        "Not sent: your admin role no longer covers this call.")
    await drained(town)
    now = zhang.private.get(preview.message_id)
    assert now is not None
    assert "not sent" in (now.text or "") and "no longer covers" in (now.text or "")
    assert buttons_of(now) == []
    assert read(town, "SELECT COUNT(*) FROM activities") == [(0,)]
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []


# -- activities ----------------------------------------------------------------------------


async def zhangs_preview(town: Town) -> SimMessage:
    """Zhang, area admin of Guangminglu, writes "Tree planting" for the Red Vest Team on
    Saturday 13 June, 09:00-11:30, leading it himself; the preview."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await open_bot(zhang)
    await zhang.send("/publish")
    await zhang.wait_for(text="1/12")
    await zhang.send("Tree planting")
    await zhang.wait_for(text="3/12")  # one team he may publish for; its area is a button
    await zhang.press("Guangminglu Subdistrict Institute")
    await zhang.wait_for(text="4/12")
    await zhang.send("Guangming Park, east gate")
    await zhang.wait_for(text="5/12")
    await zhang.press("Skip ⏭")
    await zhang.wait_for(text="6/12")
    await zhang.send("2026-06-13 09:00")
    await zhang.wait_for(text="7/12")
    await zhang.send("11:30")
    await zhang.wait_for(text="8/12")
    await zhang.send("5")
    await zhang.wait_for(text="9/12")
    await zhang.press("🙋 I lead it")
    await zhang.wait_for(text="11/12")  # no themes: nothing to choose at 10
    await zhang.press("Skip ⏭")
    await zhang.wait_for(text="12/12")
    await zhang.send("Dig, plant and water.")
    return await zhang.wait_for(text="Preview")


async def test_an_organiser_whose_role_was_taken_back_cannot_run_their_activity(
        town: Town) -> None:
    """Zhang published Tree planting as an area admin, and Li signed up; Zhang began
    changing its place. Then his role is taken back. Every control under it, his typed new
    place and /addhours are refused with one line saying why; the activity stands as it was
    and Li is told nothing."""
    zhang, li = town.vol2, town.vol1
    preview = await zhangs_preview(town)
    await zhang.press("✅ Publish", message=preview)
    controls = await zhang.wait_for(text="your controls")
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    await open_bot(li)
    await (await li.press("🙋 Sign up", message=card)).answer()
    await li.wait_for(text="You are signed up for")
    await (await zhang.press("✏️ Edit", message=controls)).answer()
    await zhang.press("Place", message=await zhang.wait_for(text="What to change"))
    await zhang.wait_for(text="new place")
    await revoke(town, zhang)
    await zhang.wait_for(text="You are no longer an admin")
    await drained(town)
    before = Snapshot(town, card)

    for label in ("👥 Who signed up", "✋ Check in by hand", "📲 Check-in code",
                  "🏁 Check-out code", "✅ Attendance and hours", "✏️ Edit",
                  "🔒 Close sign-up", "❌ Cancel the activity"):
        assert await pressed(zhang, label, controls) == NO_LONGER_ACTIVITY, label
    await zhang.send("Guangming Park, west gate")
    await zhang.wait_for(text=NO_LONGER_ACTIVITY)
    await zhang.send(f"/addhours 1 {li.id} 2 stayed to tidy up")
    await zhang.wait_for(text=NO_LONGER_ACTIVITY)

    await before.unchanged()
    assert read(town, "SELECT status, place FROM activities WHERE id = 1") == [
        ("open", "Guangming Park, east gate")]
    assert read(town, "SELECT user_id, status FROM activity_signups") == [(li.id, "signed")]
    assert read(town, "SELECT COUNT(*) FROM activity_hours") == [(0,)]
    assert not [m for m in li.private.bot_messages() if "changed" in (m.text or "")]


async def test_the_leader_the_organiser_named_runs_the_day_with_its_controls(
        town: Town) -> None:
    """Zhang publishes “Tree planting” and names Li, a volunteer with no admin role, to lead
    it on the day. Li finds its controls under /activities, and who signed up opens for him:
    the organiser's choice is the right he needs."""
    zhang, li = town.vol2, town.vol1
    await area_admin(town, zhang, "guangminglu")
    await open_bot(zhang, li)
    await zhang.send("/publish")
    await zhang.wait_for(text="1/12")
    await zhang.send("Tree planting")
    await zhang.press("Guangminglu Subdistrict Institute",
                      message=await zhang.wait_for(text="3/12"))
    await zhang.wait_for(text="4/12")
    await zhang.send("Guangming Park, east gate")
    await zhang.press("Skip ⏭", message=await zhang.wait_for(text="5/12"))
    await zhang.wait_for(text="6/12")
    await zhang.send("2026-06-13 09:00")
    await zhang.wait_for(text="7/12")
    await zhang.send("11:30")
    await zhang.wait_for(text="8/12")
    await zhang.send("5")
    await zhang.wait_for(text="9/12")
    await zhang.send(str(li.id))
    await zhang.wait_for(text="11/12")
    await zhang.press("Skip ⏭")
    await zhang.wait_for(text="12/12")
    await zhang.send("Dig, plant and water.")
    await zhang.press("✅ Publish", message=await zhang.wait_for(text="Preview"))
    await zhang.wait_for(text="your controls")

    await li.send("/activities")
    controls = await li.wait_for(text="“Tree planting”: your controls")
    answer = await (await li.press("👥 Who signed up", message=controls)).answer()
    assert not answer.show_alert, answer.text
    await li.wait_for(text="Tree planting")


async def test_a_preview_published_after_the_role_was_taken_back_publishes_nothing(
        town: Town) -> None:
    """Zhang's preview of Tree planting waits while his role is taken back. Publish posts
    nothing: the preview now says it was not published and the dialog ended, and why."""
    zhang = town.vol2
    preview = await zhangs_preview(town)
    await revoke(town, zhang)

    assert await pressed(zhang, "✅ Publish", preview) == (
        "Not published: you may no longer publish for this team here.")
    await drained(town)
    now = zhang.private.get(preview.message_id)
    assert now is not None
    assert "not published" in (now.text or "") and "Nothing was saved" in (now.text or "")
    assert buttons_of(now) == []
    assert read(town, "SELECT COUNT(*) FROM activities") == [(0,)]
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []
    assert not [m for m in town.volunteers.bot_messages()
                if "Tree planting" in (m.text or "")]


async def test_a_publish_dialog_whose_author_lost_the_role_ends_at_the_next_answer(
        town: Town) -> None:
    """Zhang has chosen the area of “Tree planting” and is asked for its place when his role
    is taken back. The place he types is not taken: the dialog ends with one line saying why
    and that nothing was saved, and his next message is no answer to it."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await open_bot(zhang)
    await zhang.send("/publish")
    await zhang.wait_for(text="1/12")
    await zhang.send("Tree planting")
    await zhang.press("Guangminglu Subdistrict Institute",
                      message=await zhang.wait_for(text="3/12"))
    await zhang.wait_for(text="4/12")
    await revoke(town, zhang)

    await zhang.send("Guangming Park, east gate")
    ended = await zhang.wait_for(text="its dialog has ended")
    assert "Nothing was saved" in (ended.text or ""), ended.text
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []
    await zhang.send("2026-06-13 09:00")
    await zhang.wait_for(text="Sorry, I did not understand that")


async def test_a_publish_step_button_pressed_after_the_role_was_taken_back_ends_the_dialog(
        town: Town) -> None:
    """Zhang is asked for the map point of “Tree planting” when his role is taken back; he
    presses Skip. It is refused with a popup saying why, the dialog ends with one line, and
    nothing was saved."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await open_bot(zhang)
    await zhang.send("/publish")
    await zhang.wait_for(text="1/12")
    await zhang.send("Tree planting")
    await zhang.press("Guangminglu Subdistrict Institute",
                      message=await zhang.wait_for(text="3/12"))
    await zhang.wait_for(text="4/12")
    await zhang.send("Guangming Park, east gate")
    point = await zhang.wait_for(text="5/12")
    await revoke(town, zhang)

    assert await pressed(zhang, "Skip ⏭", point) == (
        "Not published: you may no longer publish for this team here.")
    await zhang.wait_for(text="its dialog has ended")
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []


async def test_a_publish_dialog_whose_author_lost_the_chosen_area_ends_at_the_next_answer(
        town: Town) -> None:
    """Zhang looks after Guangminglu and Zhongxinjie. He is writing “Tree planting” for the
    Red Vest Team (Guangminglu's) in Zhongxinjie when Zhongxinjie is taken back: he still
    leads the team's area, but no longer the activity's. The place he types is not taken."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await area_admin(town, zhang, "zhongxinjie")
    await open_bot(zhang)
    await zhang.send("/publish")
    await zhang.wait_for(text="1/12")
    await zhang.send("Tree planting")
    await zhang.press("Guangminglu Red Vest Team", message=await zhang.wait_for(text="2/12"))
    await zhang.wait_for(text="3/12")
    await zhang.send("Zhongxinjie Subdistrict Institute")  # an area of his, typed
    await zhang.wait_for(text="4/12")
    await revoke(town, zhang, "zhongxinjie")

    await zhang.send("Zhongxinjie square")
    ended = await zhang.wait_for(text="you may no longer publish for its team in its area")
    assert "Nothing was saved" in (ended.text or ""), ended.text
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []


async def test_a_publish_dialog_whose_author_lost_the_chosen_team_ends_at_the_next_answer(
        town: Town) -> None:
    """Zhang looks after Guangminglu and Zhongxinjie and has chosen the Golden Glow Team
    (Zhongxinjie's) when Zhongxinjie is taken back: he may still publish for the Red Vest
    Team, but not for the one he chose. The area he types is not taken."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await area_admin(town, zhang, "zhongxinjie")
    await open_bot(zhang)
    await zhang.send("/publish")
    await zhang.wait_for(text="1/12")
    await zhang.send("Tree planting")
    await zhang.press("Golden Glow Elderly Care Team", message=await zhang.wait_for(text="2/12"))
    await zhang.wait_for(text="3/12")
    await revoke(town, zhang, "zhongxinjie")

    await zhang.send("Zhongxinjie")
    ended = await zhang.wait_for(text="you may no longer publish for its team in its area")
    assert "Nothing was saved" in (ended.text or ""), ended.text
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []


async def test_a_call_step_button_pressed_after_the_role_was_taken_back_ends_the_dialog(
        town: Town) -> None:
    """Zhang, area admin of Guangminglu, is asked for the map point of his call when his role
    is taken back; he presses Skip rather than type. It is refused with a popup saying why,
    the dialog ends with one line, and nothing was saved."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await open_bot(zhang)
    await zhang.send("/call")
    await zhang.wait_for(text="1/6")
    await zhang.send("Fill sandbags at the Xiaohe dike")
    await zhang.wait_for(text="2/6")
    await zhang.send("Xiaohe dike, north sluice")
    point = await zhang.wait_for(text="3/6")
    await revoke(town, zhang)

    assert await pressed(zhang, "Skip ⏭", point) == (
        "Not sent: your admin role no longer covers this call.")
    ended = await zhang.wait_for(text="This call's dialog has ended")
    assert "Nothing was sent" in (ended.text or ""), ended.text
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []


async def test_a_call_to_a_team_no_longer_the_admins_ends_at_done(town: Town) -> None:
    """Zhang looks after Guangminglu and Zhongxinjie. His call goes to Guangminglu and to
    the Golden Glow Team (Zhongxinjie's), not to Zhongxinjie as a whole, when Zhongxinjie is
    taken back: Guangminglu is still his, the team is not. Done is refused and the dialog
    ends."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await area_admin(town, zhang, "zhongxinjie")
    await open_bot(zhang)
    await zhang.send("/call")
    await zhang.wait_for(text="1/6")
    await zhang.send("Fill sandbags at the Xiaohe dike")
    await zhang.wait_for(text="2/6")
    await zhang.send("Xiaohe dike, north sluice")
    await zhang.press("Skip ⏭", message=await zhang.wait_for(text="3/6"))
    await zhang.wait_for(text="4/6")
    await zhang.send("2")
    await zhang.wait_for(text="5/6")
    await zhang.send("18:00")
    question = await zhang.wait_for(text="6/6")
    question = await toggle(town, zhang, question, "✅ Zhongxinjie Subdistrict Institute")
    question = await toggle(town, zhang, question, "▫️ 👥 Golden Glow Elderly Care Team")
    await revoke(town, zhang, "zhongxinjie")

    assert await pressed(zhang, "✔️ Done", question) == (
        "Not sent: your admin role no longer covers this call.")
    ended = await zhang.wait_for(text="This call was not sent and its dialog has ended")
    assert "Golden Glow" in (ended.text or ""), ended.text
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []


async def test_a_call_to_the_whole_district_ends_when_its_author_is_no_centre_admin_any_more(
        town: Town) -> None:
    """The centre admin's call goes to the whole district when a new configuration makes
    them an admin of both areas instead (every area, but the district is the centre's):
    Done is refused and the dialog ends, rather than send to the whole district."""
    admin = town.admin
    await open_bot(admin)
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send("Fill sandbags at the Xiaohe dike")
    await admin.wait_for(text="2/6")
    await admin.send("Xiaohe dike, north sluice")
    await admin.press("Skip ⏭", message=await admin.wait_for(text="3/6"))
    await admin.wait_for(text="4/6")
    await admin.send("2")
    await admin.wait_for(text="5/6")
    await admin.send("18:00")
    question = await admin.wait_for(text="6/6")
    assert "✅ 🏙 The whole district" in buttons_of(question)  # a centre admin's default
    await town.bot.stop()
    town.bot.config = dataclasses.replace(town.bot.config, admin_ids=frozenset())
    await town.bot.start()
    await area_admin(town, admin, "guangminglu")
    await area_admin(town, admin, "zhongxinjie")

    assert await pressed(admin, "✔️ Done", question) == (
        "Not sent: your admin role no longer covers this call.")
    await admin.wait_for(text="This call was not sent and its dialog has ended")
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {admin.id}") == []


async def test_a_call_whose_author_lost_the_role_ends_at_the_next_typed_answer(
        town: Town) -> None:
    """Zhang, area admin of Guangminglu, has typed what his recruitment call is for and is
    asked where, when his role is taken back. The place he types is not taken: the dialog
    ends with one line saying why and that nothing was sent, and his next message is no
    answer to it."""
    zhang = town.vol2
    await area_admin(town, zhang, "guangminglu")
    await open_bot(zhang)
    await zhang.send("/call")
    await zhang.wait_for(text="1/6")
    await zhang.send("Fill sandbags at the Xiaohe dike")
    await zhang.wait_for(text="2/6")
    await revoke(town, zhang)

    await zhang.send("Xiaohe dike, north sluice")
    ended = await zhang.wait_for(text="This call's dialog has ended")
    assert "Nothing was sent" in (ended.text or ""), ended.text
    assert read(town, f"SELECT flow FROM dialogs WHERE user_id = {zhang.id}") == []
    await zhang.send("5")
    await zhang.wait_for(text="Sorry, I did not understand that")
