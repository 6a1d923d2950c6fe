"""The month's theme (一月一主题), end to end: /theme in each language, in private and in a group;
the month turns at local midnight; a centre admin sets a month's theme in a short dialog that
survives a restart, sees it in /theme and clears it; every bad input gets one polite line;
/reload reads the themes file again.

The town's themes file is a copy of themes.example.toml in the story's folder. The clock starts
on Wednesday 10 June 2026, 10:00 in Shanghai (tests/conftest.py).
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, open_form, too_old

ROOT = Path(__file__).resolve().parent.parent
JUNE = ("关爱一老一小", "Caring for the young and the old")
JULY = ("防汛安全 守护家园", "Flood season: keep our homes safe")
NEW = {"title_zh": "夏日清凉 送到身边", "title_en": "A cool summer for everyone",
       "description_zh": "为户外劳动者送清凉。",
       "description_en": "Cold drinks for outdoor workers."}


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example themes file (a copy, so a story may edit it), and the example area tree
    (so an area admin can be made)."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    return {"activities": {"themes_file": "themes.toml"},
            "areas": {"file": str(ROOT / "areas.example.csv")}}


def month_themes(town: Town) -> list[tuple[Any, ...]]:
    """Every row of month_themes, oldest first (read beside the bot, as an auditor would)."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT year, month, title_en, set_by, ended_how, ended_by "
                          "FROM month_themes ORDER BY id").fetchall()


async def theme_now(person: SimUser, chat: Any = None) -> str:
    """What /theme answers the person now."""
    await person.send("/theme", chat=chat)
    where = chat or person.private
    answer = await where.wait_for(predicate=lambda m: "🗓" in (m.text or ""))
    return answer.text or ""


async def fill_theme(admin: SimUser, month: str, texts: dict[str, str] = NEW) -> SimMessage:
    """A centre admin walks through /theme set up to the preview, which is returned."""
    await admin.send(f"/theme set {month}")
    await admin.wait_for(text="1/4")
    await admin.send(texts["title_zh"])
    await admin.wait_for(text="2/4")
    await admin.send(texts["title_en"])
    await admin.wait_for(text="3/4")
    await admin.send(texts["description_zh"])
    await admin.wait_for(text="4/4")
    await admin.send(texts["description_en"])
    return await admin.wait_for(text="Preview")


async def edited_to(town: Town, message: SimMessage, words: str) -> str:
    """Wait until the bot has edited a message to say `words`; its new text."""
    chat = message.chat

    def edited() -> bool:
        current = chat.get(message.message_id)
        return current is not None and words in (current.text or "")

    await town.sb.wait_until(edited, timeout=5)
    current = chat.get(message.message_id)
    assert current is not None
    return current.text or ""


# -- /theme for everyone ----------------------------------------------------------------------


async def test_the_theme_is_shown_in_each_persons_language_with_next_months(
    town: Town,
) -> None:
    english = await theme_now(town.citizen)
    assert "Theme of the month" in english and "June 2026" in english
    assert JUNE[1] in english and "drowning and fraud prevention" in english
    assert f"Next month (July 2026): {JULY[1]}" in english
    assert JUNE[0] not in english

    chinese = await theme_now(town.grandma)
    assert "本月主题" in chinese and "2026年6月" in chinese
    assert JUNE[0] in chinese and "防溺水" in chinese
    assert f"下月（2026年7月）：{JULY[0]}" in chinese


async def test_the_month_turns_at_local_midnight(town: Town) -> None:
    """23:30 on 31 January in Beijing is January; five minutes past local midnight it is
    February, though still 31 January (16:05) in UTC."""
    town.clock.set(datetime(2027, 1, 31, 23, 30, tzinfo=SHANGHAI))
    january = await theme_now(town.citizen)
    assert "January 2027" in january
    assert "No fireworks: a green Spring Festival" in january
    assert "Next month (February 2027): Folk customs: a joyful Lantern Festival" in january

    town.clock.set(datetime(2027, 2, 1, 0, 5, tzinfo=SHANGHAI))
    february = await theme_now(town.citizen)
    assert "February 2027" in february
    assert "Folk customs: a joyful Lantern Festival" in february.splitlines()[1]
    assert "Next month (March 2027): Learn from Lei Feng, plant trees" in february
    chinese = await theme_now(town.grandma)
    assert "2027年2月" in chinese and "传承民俗 欢乐元宵" in chinese


async def test_in_a_group_the_same_answer_is_posted_once_in_ten_minutes(town: Town) -> None:
    """Anyone may ask in a group; a repeat of the very same answer soon after posts nothing
    (a group's messages are for cards), another language's answer does."""
    group, li = town.volunteers, town.vol1
    group.add_member(town.grandma)
    first = await theme_now(li, chat=group)
    assert JUNE[1] in first
    await li.send("/theme", chat=group)
    chinese = await theme_now(town.grandma, chat=group)  # handled after Li's repeat
    assert JUNE[0] in chinese
    english = [m for m in group.bot_messages() if JUNE[1] in (m.text or "")]
    assert len(english) == 1

    await town.tick(minutes=11)
    assert JUNE[1] in await theme_now(li, chat=group)
    # Words after /theme in a group earn no usage line there, only the (same) theme.
    await li.send("/theme what is it", chat=group)
    assert JUNE[0] in await theme_now(town.grandma, chat=group)
    assert not any("Usage" in (m.text or "") for m in group.bot_messages())


# -- a centre admin sets and clears a month's theme ---------------------------------------------


async def test_an_admin_sets_this_months_theme_and_everyone_sees_it(
    town: Town,
) -> None:
    admin = town.admin
    await open_bot(admin)
    preview = await fill_theme(admin, "2026-06")
    assert "theme of June 2026" in (preview.text or "")
    for text in NEW.values():
        assert text in (preview.text or "")
    assert preview.buttons == ["✅ Save", "✖️ Cancel"]
    press = await admin.press("✅ Save", message=preview)
    assert (await press.answer()).text == "Saved: the theme of June 2026."
    saved = await edited_to(town, preview, "Saved")
    assert NEW["title_en"] in saved

    shown = await theme_now(town.citizen)
    assert NEW["title_en"] in shown and NEW["description_en"] in shown
    assert JUNE[1] not in shown
    assert NEW["title_zh"] in await theme_now(town.grandma)


async def test_the_admins_theme_wins_over_the_file_until_cleared_and_the_history_stays(
    town: Town,
) -> None:
    admin = town.admin
    await open_bot(admin)
    first = await fill_theme(admin, "2026-07")
    await admin.press("✅ Save", message=first)
    await edited_to(town, first, "Saved")
    await admin.send("/theme set 2026-07")
    replacing = await admin.wait_for(text="Setting the theme of")
    assert f"Now: {NEW['title_en']} (set in the bot earlier" in (replacing.text or "")
    await admin.send("/cancel")
    await admin.wait_for(text="OK, skipped")
    second = await fill_theme(admin, "2026-07", dict(NEW, title_en="Keep cool, help out"))
    await admin.press("✅ Save", message=second)
    await edited_to(town, second, "Saved")

    assert "Next month (July 2026): Keep cool, help out" in await theme_now(town.citizen)
    services = town.bot.services
    assert services is not None
    async with services.units.for_job() as unit:
        july = await services.themes.theme_of(unit, 2026, 7, "zh")
        august = await services.themes.theme_of(unit, 2026, 8, "en")
    assert july is not None and july.set_in_bot and july.title == NEW["title_zh"]
    assert august is not None and not august.set_in_bot
    assert august.title == "Army and people, one family"

    await admin.send("/theme clear 2026-07")
    cleared = await admin.wait_for(text="is cleared")
    assert JULY[1] in (cleared.text or "")
    assert f"Next month (July 2026): {JULY[1]}" in await theme_now(town.citizen)
    await admin.send("/theme clear 2026-07")
    await admin.wait_for(text="No theme was set in the bot for July 2026")

    assert month_themes(town) == [
        (2026, 7, NEW["title_en"], admin.id, "replaced", admin.id),
        (2026, 7, "Keep cool, help out", admin.id, "cleared", admin.id),
    ]


async def test_cancel_leaves_the_theme_as_it_was(town: Town) -> None:
    admin = town.admin
    await open_bot(admin)
    preview = await fill_theme(admin, "2026-06")
    press = await admin.press("✖️ Cancel", message=preview)
    assert (await press.answer()).text == "Cancelled."
    assert "stays as it was" in await edited_to(town, preview, "Cancelled")
    assert JUNE[1] in await theme_now(town.citizen)
    assert month_themes(town) == []


async def test_only_centre_admins_set_or_clear_a_theme(town: Town) -> None:
    """A citizen and an area admin are refused politely (the district sets one theme a month
    for everyone); in a group the refusal comes in private and the group hears nothing."""
    alice = town.citizen
    await open_bot(alice, town.admin, town.vol1)
    await alice.send("/theme set 2026-07")
    await alice.wait_for(text="only the service centre's admins can set or clear")
    await alice.send("/theme clear 2026-07")
    await alice.wait_for(text="only the service centre's admins can set or clear")
    await alice.send("a summer of kindness")  # no dialog was started
    await alice.wait_for(text="did not understand")

    await town.admin.send(f"/grant {town.vol1.id} zhongxinjie")
    await town.vol1.wait_for(text="You are now an admin")
    await town.vol1.send("/theme set 2026-07")
    await town.vol1.wait_for(text="only the service centre's admins can set or clear")

    before = len(town.volunteers.bot_messages())
    await town.vol2.send("/start")
    await town.vol2.wait_for(text="Choose below")
    await town.vol2.send("/theme clear 2026-07", chat=town.volunteers)
    await town.vol2.wait_for(text="only the service centre's admins can set or clear")
    assert len(town.volunteers.bot_messages()) == before

    await town.admin.send("/theme set 2026-07", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="in your private chat with me: send /theme set 2026-07")
    assert month_themes(town) == []


async def test_a_restart_in_the_middle_of_the_dialog_loses_nothing(town: Town) -> None:
    admin = town.admin
    await open_bot(admin)
    await admin.send("/theme set 2026-08")
    await admin.wait_for(text="1/4")
    await admin.send(NEW["title_zh"])
    await admin.wait_for(text="2/4")
    await admin.send(NEW["title_en"])
    await admin.wait_for(text="3/4")

    await town.bot.crash()
    await town.bot.start()

    await admin.send(NEW["description_zh"])
    await admin.wait_for(text="4/4")
    await admin.send(NEW["description_en"])
    preview = await admin.wait_for(text="Preview")
    for text in NEW.values():
        assert text in (preview.text or "")

    await town.bot.stop()
    await town.bot.start()
    await admin.press("✅ Save", message=preview)
    await edited_to(town, preview, "Saved")
    assert [row[:3] for row in month_themes(town)] == [(2026, 8, NEW["title_en"])]


# -- bad input: one clear line, nothing lost ---------------------------------------------------


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/theme set 13-2027", "Please write the month as year-month, for example "
                               "/theme set 2026-07."),
        ("/theme set 2027-13", "Please write the month as year-month"),
        ("/theme set", "Please write the month as year-month"),
        ("/theme clear March", "for example /theme clear 2026-07."),
        ("/theme set 2026-05", "May 2026 has passed, so its theme stays as it was. Choose this "
                               "month (2026-06) or a later one."),
        ("/theme clear 2025-12", "December 2025 has passed"),
        ("/theme set 2207-03", "too far ahead: a theme can be set up to two years ahead, until "
                               "2028-06."),
        ("/theme please", "Usage: /theme shows this month's theme."),
    ],
)
async def test_a_wrong_month_or_action_is_answered_in_one_line(
    town: Town, command: str, answer: str
) -> None:
    await open_bot(town.admin)
    await town.admin.send(command)
    reply = await town.admin.wait_for(text=answer)
    assert "\n" not in (reply.text or "")
    await town.admin.send("a title typed to no dialog")
    await town.admin.wait_for(text="did not understand")  # no dialog was started


async def test_bad_answers_in_the_dialog_are_asked_again_and_lose_nothing(town: Town) -> None:
    admin = town.admin
    await open_bot(admin)
    await admin.send("/theme set 2026-07")
    await admin.wait_for(text="1/4")
    await admin.send_sticker()
    await admin.wait_for(text="Please type the title in Chinese as text.")
    await admin.send_photo(caption="照片")
    await admin.wait_for(text="Please type the title in Chinese as text.")
    await admin.send("x" * 41)
    await admin.wait_for(text="That is 41 characters: please shorten the title in Chinese to "
                              "at most 40.")
    # As Telegram counts: each of these emoji is 2, so 21 of them are 42.
    await admin.send("🌸" * 21)
    await admin.wait_for(text="That is 42 characters")
    await admin.send("第一行\n第二行")
    await admin.wait_for(text="Please keep the title in Chinese to one line.")
    await admin.send("/nonsense")
    await admin.wait_for(text="You are setting a month's theme: please type the title in "
                              "Chinese, or /cancel to stop.")
    await admin.send(NEW["title_zh"])
    await admin.wait_for(text="2/4")
    await admin.send(NEW["title_en"])
    await admin.wait_for(text="3/4")
    await admin.send("y" * 201)
    await admin.wait_for(text="please shorten the description in Chinese to at most 200")
    await admin.send(NEW["description_zh"])
    await admin.wait_for(text="4/4")
    await admin.send(NEW["description_en"])
    preview = await admin.wait_for(text="Preview")
    await admin.send("save it please")
    await admin.wait_for(text="Please press Save or Cancel under the preview")
    assert NEW["title_zh"] in (preview.text or "")


async def test_forged_stale_and_repeated_presses_change_nothing(town: Town) -> None:
    admin, alice = town.admin, town.citizen
    await open_bot(admin, alice)
    preview = await fill_theme(admin, "2026-07")
    save = preview.reply_markup["inline_keyboard"][0][0]["callback_data"]

    # Someone else presses a copy of the Save button: refused, nothing stored.
    forged = await alice.press_data(save, message=alice.private.bot_messages()[-1])
    assert (await forged.answer()).text == "This button is no longer valid."
    forged = await alice.press_data(save, message=too_old(alice.private.bot_messages()[-1]))
    assert "only the service centre's admins" in ((await forged.answer()).text or "")
    # The admin presses a Save of no dialog of theirs.
    made_up = await admin.press_data("theme:0a1b2c:save", message=too_old(preview))
    assert (await made_up.answer()).text == ("This preview is closed. To set a theme, send "
                                             "/theme set and the month.")
    assert month_themes(town) == []

    await admin.press("✅ Save", message=preview)
    await edited_to(town, preview, "Saved")
    twice = await admin.press_data(save, message=too_old(preview))
    answer = await twice.answer()
    assert answer.text == "This theme of July 2026 is saved already." and answer.show_alert
    assert len(month_themes(town)) == 1


async def test_a_dialog_that_outlives_its_month_saves_nothing(town: Town) -> None:
    """The preview of June's theme is left open overnight into July: Save is refused."""
    admin = town.admin
    await open_bot(admin)
    preview = await fill_theme(admin, "2026-06")
    town.clock.set(datetime(2026, 7, 1, 0, 1, tzinfo=SHANGHAI))
    press = await admin.press("✅ Save", message=preview)
    assert (await press.answer()).text == "Not saved: that month has passed."
    assert "June 2026 has passed" in await edited_to(town, preview, "has passed")
    assert month_themes(town) == []


# -- /reload ------------------------------------------------------------------------------------


async def test_reload_reads_the_themes_file_again_and_refuses_a_broken_one(
    town: Town, tmp_path: Path
) -> None:
    admin, path = town.admin, tmp_path / "themes.toml"
    await open_bot(admin)
    path.write_text(path.read_text("utf-8").replace(JUNE[1], "Summer of kindness"), "utf-8")
    await admin.send("/reload")
    done = await admin.wait_for(text="Reloaded")
    assert "12 monthly themes" in (done.text or "")
    assert "Summer of kindness" in await theme_now(town.citizen)

    good = path.read_text("utf-8")
    path.write_text(good.replace("month = 7\n", "month = 6\n"), "utf-8")
    await admin.send("/reload")
    refused = await admin.wait_for(text="Not reloaded")
    line = good.splitlines().index("month = 7") + 1
    assert f"themes.toml:{line}: month 6 is given twice" in (refused.text or "")
    shown = await theme_now(town.citizen)
    assert "Summer of kindness" in shown and JULY[1] in shown  # nothing changed

    # A month left out of the file has no theme (theme_of says None), as /theme says.
    path.write_text(good.split("[[theme]]\nmonth = 7\n")[0], "utf-8")
    await admin.send("/reload")
    await admin.wait_for(text="6 monthly themes")
    assert "Next month (July 2026): no theme yet." in await theme_now(town.citizen)
    services = town.bot.services
    assert services is not None
    async with services.units.for_job() as unit:
        assert await services.themes.theme_of(unit, 2026, 7, "en") is None


async def test_a_request_draft_under_the_theme_dialog_comes_back_with_its_question(
    town: Town,
) -> None:
    """An admin half-way through a request sets a theme: after Save (or Cancel) the draft is
    back, and its question is asked again rather than left unsaid."""
    admin = town.admin
    await open_bot(admin)
    first = await open_form(admin, command=True)
    await admin.press("Help for the elderly", message=first)
    await admin.wait_for(text="describe the problem")
    preview = await fill_theme(admin, "2026-08")
    await admin.press("✅ Save", message=preview)
    await admin.wait_for(text="Now, back to your unfinished request.")
    again = await admin.wait_for(text="describe the problem")
    assert again is not None

    preview = await fill_theme(admin, "2026-09")
    await admin.press("✖️ Cancel", message=preview)
    await admin.wait_for(text="Now, back to your unfinished request.")


async def test_an_admin_no_longer_of_the_centre_sees_the_dialog_end_at_cancel(
        town: Town) -> None:
    """The admin's preview of August's theme waits while the operator takes them off the
    centre's admins (a restart with the new config). Cancel is refused with a popup, and the
    preview now says the dialog ended and nothing was saved, and why; its buttons are gone
    and no dialog waits for them any more."""
    admin = town.admin
    await open_bot(admin)
    preview = await fill_theme(admin, "2026-08")
    await town.bot.stop()
    town.bot.config = dataclasses.replace(town.bot.config, admin_ids=frozenset())
    await town.bot.start()

    answer = await (await admin.press("✖️ Cancel", message=preview)).answer()
    assert answer.show_alert and "only the service centre's admins" in (answer.text or "")
    text = await edited_to(town, preview, "This theme dialog has ended")
    assert "you are no longer one. Nothing was saved." in text
    assert (admin.private.get(preview.message_id) or preview).reply_markup in (None, {})
    assert month_themes(town) == []
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT flow FROM dialogs WHERE user_id = ?",
                          (admin.id,)).fetchall() == []


async def test_an_admin_no_longer_of_the_centre_sees_the_dialog_end_at_the_next_answer(
        town: Town) -> None:
    """The admin has typed August's Chinese title when the operator takes them off the
    centre's admins. The English title they type next is not taken: the dialog ends with one
    line saying why and that nothing was saved, and no dialog waits for them any more."""
    admin = town.admin
    await open_bot(admin)
    await admin.send("/theme set 2026-08")
    await admin.wait_for(text="1/4")
    await admin.send(NEW["title_zh"])
    await admin.wait_for(text="2/4")
    await town.bot.stop()
    town.bot.config = dataclasses.replace(town.bot.config, admin_ids=frozenset())
    await town.bot.start()

    await admin.send(NEW["title_en"])
    ended = await admin.wait_for(text="This theme dialog has ended")
    assert "you are no longer one. Nothing was saved." in (ended.text or ""), ended.text
    assert month_themes(town) == []
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT flow FROM dialogs WHERE user_id = ?",
                          (admin.id,)).fetchall() == []
