"""Long dialogs kept under the short ones that come in their middle, end to end: an
organiser's /publish, an admin's /call and /honour, the month's theme and a volunteer
registration each lie under a short dialog (Nearest to me, a /cancel of it) or another long
one, and come back where they were with a "Back to …" line and their question again, in the
person's language; a request form under a long dialog comes back after it in turn.

The activities town (tests/test_activities_e2e.py): the example areas and themes; Li (1003)
leads the Red Vest Team of Guangminglu and publishes the activity that /events lists; Admin
is a centre admin. The clock starts on Wednesday 10 June 2026, 10:00 in Shanghai.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage, SimUser
from tests.conftest import Town
from tests.flows import open_bot, open_form
from tests.test_activities_e2e import PLACE, TEAMS, TITLE, published_card, when_who_and_theme
from tests.test_calls_e2e import PLACE as CALL_PLACE
from tests.test_calls_e2e import WHAT, toggle
from tests.test_honours_e2e import GOLDEN, honour_up_to_the_preview, register

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example areas and themes, and a teams file whose Red Vest Team Li leads."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"activities": {"themes_file": "themes.toml"},
            "areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


async def nearest_to_me(person: SimUser, *, lang: str = "en") -> None:
    """/events, then Nearest to me: the short dialog that waits for a location."""
    title, near = {"en": ("Upcoming volunteer activities", "📍 Nearest to me"),
                   "zh": ("近期志愿活动", "📍 离我最近")}[lang]
    await person.send("/events")
    listing = await person.wait_for(text=title)
    await person.press(near, message=listing)
    await person.wait_for(text={"en": "send your location", "zh": "发送您的位置"}[lang])


async def share_location(person: SimUser, *, lang: str = "en") -> None:
    """The location Nearest to me waits for; the list nearest first."""
    await person.tap({"en": "📍 Send my location", "zh": "📍 发送我的位置"}[lang],
                     latitude=34.855, longitude=117.570)
    await person.wait_for(text={"en": "Nearest first", "zh": "由近到远"}[lang])


async def test_an_activity_half_published_comes_back_after_nearest_to_me_and_then_the_request(
    town: Town,
) -> None:
    """Li has begun a request (its category chosen) when he starts publishing an activity;
    at its map point he looks at the activities nearest him. Once he has shared his location
    for the list he is back at publishing “Tree planting”, asked for the map point again; he
    publishes it with the title he typed before, and is then back at his request."""
    li = town.vol1
    await open_bot(li)
    await published_card(town, li)  # an activity for /events to list
    await open_form(li)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")

    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")
    await nearest_to_me(li)
    await share_location(li)
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")

    await li.send_location(34.855, 117.570)
    await li.wait_for(text="6/12")
    await when_who_and_theme(li)
    await li.press("Skip ⏭")
    await li.wait_for(text="12/12")
    await li.send("Dig, plant and water.")
    preview = await li.wait_for(text="Preview")
    assert TITLE in (preview.text or ""), preview.text
    await li.press("✅ Publish", message=preview)
    await li.wait_for(text="#2")
    await li.wait_for(text="Now, back to your unfinished request.")
    await li.wait_for(text="describe the problem")


async def test_a_call_half_written_comes_back_after_an_honour_and_a_publish_begun_on_top(
    town: Town,
) -> None:
    """Admin is writing a recruitment call (what and where typed) when he begins recording an
    honour for Zhang, and stops it with /cancel: he is back at his call, asked for its map
    point. He begins publishing an activity too, and stops that: the call is back again. He
    sends it, with what he typed at first."""
    admin, zhang = town.admin, town.vol2
    await open_bot(admin, zhang)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")
    await admin.send(CALL_PLACE)
    await admin.wait_for(text="3/6")

    await admin.send(f"/honour {zhang.id}")
    await admin.wait_for(text="1/3")
    await admin.send("/cancel")
    await admin.wait_for(text="OK, skipped.")
    await admin.wait_for(text="Back to the recruitment call you were writing.")
    await admin.wait_for(text="3/6")

    await admin.send("/publish")
    await admin.wait_for(text="1/12")
    await admin.send("/cancel")
    await admin.wait_for(text="Back to the recruitment call you were writing.")
    await admin.wait_for(text="3/6")

    await admin.send_location(34.853, 117.572)
    await admin.wait_for(text="4/6")
    await admin.send("2")
    await admin.wait_for(text="5/6")
    await admin.send("18:00")
    question = await admin.wait_for(text="6/6")
    await admin.press("✔️ Done", message=question)
    preview = await admin.wait_for(text="Preview of the recruitment call")
    assert WHAT in (preview.text or "") and CALL_PLACE in (preview.text or ""), preview.text


async def test_an_honour_half_recorded_comes_back_after_nearest_to_me(town: Town) -> None:
    """Admin has typed the title of Zhang's honour when he looks at the activities nearest
    him: once the list is there he is back at the honour, asked for its year with the year
    buttons, and the preview has the title he typed."""
    admin, zhang = town.admin, town.vol2
    await open_bot(town.vol1, admin, zhang)
    await published_card(town, town.vol1)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    await admin.send(f"/honour {zhang.id}")
    await admin.wait_for(text="1/3")
    await admin.send("最美志愿者")
    await admin.wait_for(text="2/3")

    await nearest_to_me(admin)
    await share_location(admin)
    await admin.wait_for(text="Back to the honour for Zhang.")
    year = await admin.wait_for(text="2/3")
    await admin.press("2026", message=year)
    await admin.wait_for(text="3/3")
    await admin.send("Visited 30 elderly people every week.")
    preview = await admin.wait_for(text="Preview")
    assert "Title: 最美志愿者" in (preview.text or ""), preview.text


async def test_a_theme_half_set_comes_back_in_chinese_after_a_cancelled_nearest_to_me(
    town: Town,
) -> None:
    """Admin, who reads the bot in Chinese, has typed July's Chinese title when he asks for
    the activities nearest him and thinks better of it (/cancel): he is told, in Chinese,
    that he is back at July's theme, and asked for its English title; the preview has both."""
    admin = town.admin
    await open_bot(town.vol1, admin)
    await published_card(town, town.vol1)
    await admin.send("/lang")
    await admin.press("中文", message=await admin.wait_for(text="Choose your language:"))
    await admin.wait_for(text="语言已设置为中文")
    await admin.send("/theme set 2026-07")
    await admin.wait_for(text="1/4")
    await admin.send("夏日清凉 送到身边")
    await admin.wait_for(text="2/4")

    await nearest_to_me(admin, lang="zh")
    await admin.send("/cancel")
    await admin.wait_for(text="好的，已跳过。")
    await admin.wait_for(text="继续设置2026年7月的主题。")
    await admin.wait_for(text="2/4 — 请输入英文标题")
    await admin.send("A cool summer for everyone")
    await admin.wait_for(text="3/4")
    await admin.send("为户外劳动者送清凉。")
    await admin.wait_for(text="4/4")
    await admin.send("Cold drinks for outdoor workers.")
    preview: SimMessage = await admin.wait_for(text="夏日清凉 送到身边")
    assert "A cool summer for everyone" in (preview.text or ""), preview.text


async def test_a_registration_half_done_comes_back_after_nearest_to_me(town: Town) -> None:
    """Alice has typed her name in /join when she looks at the activities nearest her: then
    she is back at her registration, asked for her phone with its button, and goes on."""
    alice = town.citizen
    await open_bot(town.vol1, alice)
    await published_card(town, town.vol1)
    await alice.send("/join")
    await alice.wait_for(text="please type your name")
    await alice.send("Alice Wang")
    await alice.wait_for(text="share your phone number")

    await nearest_to_me(alice)
    await share_location(alice)
    await alice.wait_for(text="Back to your volunteer registration.")
    await alice.wait_for(text="share your phone number")
    await alice.tap("📞 Share my phone number")
    await alice.wait_for(text="Which area do you serve?")


async def test_a_request_two_dialogs_down_still_expires_on_time(town: Town) -> None:
    """Li began a request, then began publishing an activity, and then asked for the
    activities nearest him, and went away. A day later the request is discarded on time and
    he is told; when he comes back, sharing his location brings back his activity, and
    stopping that brings back no request."""
    li = town.vol1
    await open_bot(li)
    await published_card(town, li)
    await open_form(li)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await nearest_to_me(li)

    await town.tick(hours=25)
    await li.wait_for(text="was discarded")
    await share_location(li)
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="4/12")
    await li.send("/cancel")
    await li.wait_for(text="OK, skipped.")
    await li.send("/new")
    await li.wait_for(text="What kind of help do you need?")


async def test_a_call_begun_again_on_top_of_a_publish_brings_the_kept_call_up(
    town: Town,
) -> None:
    """Admin is writing a recruitment call (what and where typed) when he begins publishing
    an activity, and then types /call again. The call he began comes up where he left it,
    asked for its map point, with a line saying how to start afresh; no blank call is begun.
    He stops the call and the activity with /cancel: he is back at publishing once, and after
    it at nothing; the call does not come back a second time."""
    admin = town.admin
    await open_bot(admin)
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")
    await admin.send(CALL_PLACE)
    await admin.wait_for(text="3/6")
    await admin.send("/publish")
    await admin.wait_for(text="1/12")
    await admin.send("/call")
    await admin.wait_for(text="to start afresh, send /cancel, then /call")
    await admin.wait_for(text="Back to the recruitment call you were writing.")
    await admin.wait_for(text="3/6")

    await admin.send("/cancel")
    await admin.wait_for(text="Back to publishing your activity.")
    await admin.send("/cancel")
    skipped = [m for m in admin.private.bot_messages() if m.text == "OK, skipped."]
    await town.sb.wait_until(lambda: len(
        [m for m in admin.private.bot_messages() if m.text == "OK, skipped."]) > len(skipped))
    await admin.send("hello")
    await admin.wait_for(text="Sorry, I did not understand that")
    assert len([m for m in admin.private.bot_messages()
                if "Back to the recruitment call" in (m.text or "")]) == 1
    assert len([m for m in admin.private.bot_messages() if "1/6" in (m.text or "")]) == 1


async def test_a_request_filed_with_new_in_the_middle_of_publishing_brings_the_activity_back(
    town: Town,
) -> None:
    """Li has typed the title and place of “Tree planting” when a neighbour stops him: he
    types /new and files her request. Once it is sent he is back at publishing, asked for
    the map point again; a second /new he cancels brings it back too."""
    li = town.vol1
    await open_bot(li)
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")

    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")
    await li.send("The stairs light is broken.")
    await li.wait_for(text="Where is it")
    await li.send("5 Guangming Road")
    await li.press("I am not sure", message=await li.wait_for(text="Which community"))
    await li.wait_for(text="How can the volunteer reach you")
    await li.tap("Skip")
    await li.press("✅ Confirm and send", message=await li.wait_for(text="Is everything"))
    await li.wait_for(text="Reference number")
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")

    await li.send("/new")
    await li.wait_for(text="What kind of help do you need?")
    backs = len([m for m in li.private.bot_messages() if TITLE in (m.text or "")])
    await li.send("/cancel")
    await li.wait_for(text="The request form was cancelled")
    await town.sb.wait_until(lambda: len(
        [m for m in li.private.bot_messages() if TITLE in (m.text or "")]) > backs)
    await li.send_location(34.855, 117.570)
    await li.wait_for(text="6/12")


async def test_a_request_begun_on_top_of_publishing_expires_back_to_the_activity(
    town: Town,
) -> None:
    """Li has typed the title and place of “Tree planting” when he begins a request with /new
    and goes away. A day later the request is discarded and he is told; he is back at
    publishing at once, with its "Back to …" line and the map point asked again."""
    li = town.vol1
    await open_bot(li)
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")

    await town.tick(hours=25)
    await li.wait_for(text="was discarded")
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")
    await li.send_location(34.855, 117.570)
    await li.wait_for(text="6/12")


async def test_a_change_of_an_activity_back_after_nearest_to_me_names_the_activity(
    town: Town,
) -> None:
    """Li is asked for the new place of “Tree planting” when he looks at the activities
    nearest him: once the list is there he is back at the change, asked again for the new
    place of “Tree planting” by name, and the place he types is the activity's."""
    li = town.vol1
    await open_bot(li)
    await published_card(town, li)
    await li.press("✏️ Edit")
    await li.wait_for(text="What to change")
    await li.press("Place")
    await li.wait_for(text="Type the new place")

    await nearest_to_me(li)
    await share_location(li)
    await li.wait_for(text="Back to what you were doing before")
    await li.wait_for(text=f"Type the new place of “{TITLE}”")
    await li.send("North gate of the park")
    await li.wait_for(text=f"“{TITLE}” is changed")


async def test_a_buried_publish_step_button_waits_and_publish_brings_the_kept_one_up(
    town: Town,
) -> None:
    """Li has typed the title and place of “Tree planting” and is asked for its map point
    when he opens a request form with /new. Skip under the map point question, pressed from
    the form, says to finish the request first and that the activity is kept: nothing
    changes, the form still waits for its category. /publish then brings the activity up
    where it was, the title kept (not a blank one at 1/12), and once it is cancelled the
    request form is back."""
    li = town.vol1
    await open_bot(li)
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    point = await li.wait_for(text="5/12")
    await open_form(li, command=True)

    answer = await (await li.press("Skip ⏭", message=point)).answer()
    assert answer.text == ("Finish your request first — the activity you are publishing is "
                           "kept and comes back after it.")
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")

    await li.send("/publish")
    await li.wait_for(text="to start afresh, send /cancel, then /publish")
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")
    await li.send("/cancel")
    await li.wait_for(text="Now, back to your unfinished request.")
    await li.wait_for(text="describe the problem")
    assert not [m for m in li.private.bot_messages() if "1/12" in (m.text or "")][1:]


async def test_a_buried_publish_step_button_says_so_in_chinese(town: Town) -> None:
    """The same press in Chinese: finish the request first, the activity is kept."""
    li = town.vol1
    await open_bot(li)
    await li.send("/lang")
    await li.press("中文", message=await li.wait_for(text="Choose your language:"))
    await li.wait_for(text="语言已设置为中文")
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    point = await li.wait_for(text="5/12")
    await open_form(li, command=True, lang="zh")

    answer = await (await li.press("跳过", message=point)).answer()
    assert answer.text == "请先完成您的诉求——正在发布的活动已为您保留，完成后会回来。"


async def test_a_request_forms_button_pressed_under_publish_waits_for_the_activity(
    town: Town,
) -> None:
    """Li has opened a request form when he begins publishing an activity; a category
    button of the form, pressed then, says to finish the activity first and that the request
    is kept; the publishing dialog still takes his title, and /cancel brings the form back
    at its first question, no category chosen."""
    li = town.vol1
    await open_bot(li)
    form = await open_form(li, command=True)
    await li.send("/publish")
    await li.wait_for(text="1/12")

    answer = await (await li.press("Help for the elderly", message=form)).answer()
    assert answer.text == ("Finish the activity you are publishing first — your request is "
                           "kept and comes back after it.")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send("/cancel")
    await li.wait_for(text="Now, back to your unfinished request.")
    await li.wait_for(text="What kind of help do you need?")


async def test_an_activity_changed_in_the_middle_of_a_request_brings_the_request_back(
    town: Town,
) -> None:
    """Li has begun a request (its category chosen) when he changes the time of his
    published activity: Edit, Date and time, the new start, then the new end. The activity
    is changed, and he is back at his request, asked to describe the problem."""
    li = town.vol1
    await open_bot(li)
    await published_card(town, li)
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")

    await li.press("✏️ Edit")
    await li.press("Date and time", message=await li.wait_for(text="What to change"))
    await li.wait_for(text="Type the new start")
    await li.send("2026-06-13 08:00")
    await li.wait_for(text="Type the new end")
    await li.send("10:00")
    await li.wait_for(text="is changed")
    await li.wait_for(text="Now, back to your unfinished request.")
    await li.wait_for(text="describe the problem")


async def test_a_request_form_at_its_location_takes_its_button_along_under_publish(
    town: Town,
) -> None:
    """Li is asked where his request's problem is, the location button under his keyboard,
    when he begins publishing an activity: the button goes off his screen and he is told
    the request waits for its place (a tap would have sent the location to the activity's
    title question). He cancels the activity: the request is back, asking where, with its
    location button, and his location is its place."""
    li = town.vol1
    await open_bot(li)
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")
    await li.send("The stairs light is broken.")
    await li.wait_for(text="Where is it")

    await li.send("/publish")
    await li.wait_for(text="Your request waits for its place")
    await li.wait_for(text="1/12")
    with pytest.raises(LookupError):
        await li.tap("📍 Share my location")
    await li.send("/cancel")
    await li.wait_for(text="Now, back to your unfinished request.")
    await li.wait_for(text="Where is it")
    await li.tap("📍 Share my location")
    await li.wait_for(text="Which community")


async def test_a_registration_at_its_phone_takes_its_button_along_under_a_request_form(
    town: Town,
) -> None:
    """Grandma Wang is registering as a volunteer and is asked for her phone, the share
    button under her keyboard, when she opens a request form: the button goes off her
    screen, and she is told the registration waits for her phone. She cancels the form: the
    registration is back, asking for her phone, with its button."""
    wang = town.citizen
    await open_bot(wang)
    await wang.send("/join")
    await wang.wait_for(text="please type your name")
    await wang.send("Wang Fang")
    await wang.wait_for(text="share your phone number")

    await open_form(wang, command=True)
    assert [m for m in wang.private.bot_messages()
            if "Your volunteer registration waits for your phone number" in (m.text or "")]
    with pytest.raises(LookupError):
        await wang.tap("📞 Share my phone number")
    await wang.send("/cancel")
    await wang.wait_for(text="Back to your volunteer registration.")
    await wang.wait_for(text="share your phone number")
    await wang.tap("📞 Share my phone number")


async def test_a_request_brought_back_by_new_is_nudged_an_hour_after(town: Town) -> None:
    """Li began a request at 10:00 and then began publishing an activity on top of it: at
    11:00 his request is not nudged, lying under the activity. At 11:05 he types /new: his
    request comes back where it was. He goes away again, and an hour later, at 12:05, he is
    nudged about it; Continue takes him back to its step. He cancels the request: he is back
    at publishing, where he was."""
    li = town.vol1
    await open_bot(li)
    await open_form(li)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")

    await town.tick(minutes=65)  # 11:05: the nudge of 11:00 held back under the activity
    assert not [m for m in li.private.bot_messages() if "unfinished request" in (m.text or "")]
    await li.send("/new")
    await li.wait_for(text="describe the problem")
    await town.tick(minutes=61)  # 12:06
    nudge = await li.wait_for(text="unfinished request")
    await li.press("▶ Continue", message=nudge)
    await li.wait_for(text="describe the problem")
    await li.send("/cancel")
    await li.wait_for(text="The request form was cancelled")
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="4/12")


async def test_a_request_begun_with_new_over_a_publish_expires_and_leaves_the_publish(
    town: Town,
) -> None:
    """Li has typed the title of “Tree planting” when he types /new and chooses a category,
    then goes away. A day later the request is discarded and he is told; the activity he was
    publishing is still there: the place he types next is its answer."""
    li = town.vol1
    await open_bot(li)
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await open_form(li, command=True)
    await li.press("Help for the elderly")
    await li.wait_for(text="describe the problem")

    await town.tick(hours=25)
    await li.wait_for(text="was discarded")
    await li.send(PLACE)
    await li.wait_for(text="5/12")


async def test_nearest_to_me_given_way_to_a_request_takes_its_location_button_away(
    town: Town,
) -> None:
    """Alice asks for the activities nearest her and, instead of sharing her location, opens
    the request form: the location button goes away with the lookup, so no later tap can
    send her location to the form's questions."""
    alice = town.citizen
    await open_bot(town.vol1, alice)
    await published_card(town, town.vol1)
    await nearest_to_me(alice)

    await open_form(alice, command=True)
    assert "No longer waiting for your location." in [m.text for m in
                                                      alice.private.bot_messages()]
    with pytest.raises(LookupError):
        await alice.tap("📍 Send my location")


async def test_nearest_to_me_given_way_to_a_press_on_the_form_takes_its_button_away(
    town: Town,
) -> None:
    """Alice has the request form's categories on screen when she asks for the activities
    nearest her; then she picks a category on the form after all. The form goes on, and the
    location button is gone with the lookup: a tap cannot answer "describe the problem"."""
    alice = town.citizen
    await open_bot(town.vol1, alice)
    await published_card(town, town.vol1)
    form = await open_form(alice)
    await nearest_to_me(alice)

    await alice.press("Help for the elderly", message=form)
    await alice.wait_for(text="describe the problem")
    with pytest.raises(LookupError):
        await alice.tap("📍 Send my location")


async def test_a_call_half_written_under_a_request_form_comes_back_with_its_answers(
    town: Town,
) -> None:
    """Admin has typed the title of Zhang's honour when he begins a recruitment call, and
    has typed what and where when a neighbour's request comes first: he files it. Once it is
    sent he is back at the call, asked for its map point; he finishes it (the whole district
    unchosen and chosen again), and the preview has what he typed before the request.
    Sent, the call gives way to the honour, still at its year."""
    admin, zhang = town.admin, town.vol2
    await open_bot(admin, zhang)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    await admin.send(f"/honour {zhang.id}")
    await admin.wait_for(text="1/3")
    await admin.send("最美志愿者")
    await admin.wait_for(text="2/3")
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")
    await admin.send(CALL_PLACE)
    await admin.wait_for(text="3/6")

    await open_form(admin, command=True)
    await admin.press("Help for the elderly")
    await admin.wait_for(text="describe the problem")
    await admin.send("The stairs light is broken.")
    await admin.wait_for(text="Where is it")
    await admin.send("5 Guangming Road")
    await admin.press("I am not sure", message=await admin.wait_for(text="Which community"))
    await admin.wait_for(text="How can the volunteer reach you")
    await admin.tap("Skip")
    await admin.press("✅ Confirm and send", message=await admin.wait_for(text="Is everything"))
    await admin.wait_for(text="Reference number")
    await admin.wait_for(text="Back to the recruitment call you were writing.")
    await admin.wait_for(text="3/6")

    await admin.send_location(34.853, 117.572)
    await admin.wait_for(text="4/6")
    await admin.send("2")
    await admin.wait_for(text="5/6")
    await admin.send("18:00")
    question = await admin.wait_for(text="6/6")
    for _ in range(2):  # chosen at first: unchosen, then chosen again
        question = await toggle(town, admin, question, "🏙 The whole district")
    await admin.press("✔️ Done", message=question)
    preview = await admin.wait_for(text="Preview of the recruitment call")
    assert WHAT in (preview.text or "") and CALL_PLACE in (preview.text or ""), preview.text
    await admin.press("🚨 Send", message=preview)
    await admin.wait_for(text="Back to the honour for Zhang.")
    await admin.wait_for(text="2/3")


async def test_an_honour_recorded_on_top_of_a_call_gives_way_to_the_call(town: Town) -> None:
    """Admin has typed what his recruitment call is for when he records an honour for Zhang
    (title, year, citation) and saves it: he is back at his call, asked where, and the call's
    preview has what he typed first."""
    admin, zhang = town.admin, town.vol2
    await open_bot(admin, zhang)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")

    preview = await honour_up_to_the_preview(town, zhang.id)
    await admin.press("💾 Save", message=preview)
    await admin.wait_for(text="Back to the recruitment call you were writing.")
    await admin.wait_for(text="2/6")
    await admin.send(CALL_PLACE)
    await admin.wait_for(text="3/6")
    await admin.press("Skip ⏭")
    await admin.wait_for(text="4/6")
    await admin.send("2")
    await admin.wait_for(text="5/6")
    await admin.send("18:00")
    question = await admin.wait_for(text="6/6")
    await admin.press("✔️ Done", message=question)
    call = await admin.wait_for(text="Preview of the recruitment call")
    assert WHAT in (call.text or ""), call.text


async def test_nearest_to_me_gives_way_to_a_form_for_good(town: Town) -> None:
    """Alice asks for the activities nearest her, then opens a request form instead of
    sending her location. The lookup gives way for good: once she cancels the form she is
    in no dialog, and no lookup comes back to wait for her location."""
    alice = town.citizen
    await published_card(town, town.vol1)  # an activity for /events to list
    await nearest_to_me(alice)
    await open_form(alice, command=True)
    assert any("No longer waiting for your location" in (m.text or "")
               for m in alice.private.bot_messages())
    await alice.send("/cancel")
    await alice.wait_for(text="The request form was cancelled")
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT flow FROM dialogs WHERE user_id = ?",
                          (alice.id,)).fetchall() == []


async def test_a_form_under_a_publish_under_nearest_to_me_waits_for_the_publish(
    town: Town,
) -> None:
    """Li has opened a request form when he starts publishing an activity, and at its map
    point looks at the activities nearest him. A category pressed on the form's question,
    below both, does not bring the form up over the activity half published: it says to
    finish first, and his location then brings him back to publishing, as before."""
    li = town.vol1
    await open_bot(li)
    await published_card(town, li)  # an activity for /events to list
    form = await open_form(li)
    await li.send("/publish")
    await li.wait_for(text="1/12")
    await li.send(TITLE)
    await li.wait_for(text="4/12")
    await li.send(PLACE)
    await li.wait_for(text="5/12")
    await nearest_to_me(li)

    refused = await (await li.press("Help for the elderly", message=form)).answer()
    assert refused.show_alert and "first" in (refused.text or ""), refused.text
    await share_location(li)
    await li.wait_for(text=f"Back to publishing “{TITLE}”.")
    await li.wait_for(text="5/12")
