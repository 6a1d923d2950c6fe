"""A Chinese-speaking citizen and volunteer go through the request loop and an activity's
sign-up, and nothing they are shown (message, button, popup, command menu) has an English
word in it; an English-speaking one sees no Chinese beyond what people typed or configured."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import REF, ROOT, open_form

TEAMS = """id,area_id,name_zh,name_en,leader_id
guangming-red,guangminglu,光明路红马甲服务队,Guangminglu Red Vest Team,{leader}
"""
# What a Chinese screen may still show in Latin letters: commands and the bot's @name (they
# are typed as they are), request references, and units.
ALLOWED = {"km", "QR", "English"}  # /lang names each language in its own words
CODES = ["zh-hans", "zh-CN", "zh-TW", "zh-HK", None]


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """A district whose default language is Chinese, with themes and one team."""
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS.format(leader=1003), encoding="utf-8")
    return {"default_language": "zh", "activities": {"themes_file": "themes.toml"},
            "areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


def latin_words(text: str, bot_username: str) -> list[str]:
    """The Latin-letter words of a text that a Chinese reader should not meet."""
    text = re.sub(r"<[^>]+>", "", text)  # our own markup
    text = text.replace("@" + bot_username, "")
    text = re.sub(r"/[a-z_]+", "", text)  # commands are typed as they are
    text = REF.sub("", text)
    return [w for w in re.findall(r"[A-Za-z]+", text) if w not in ALLOWED]


def han(text: str) -> list[str]:
    """The Chinese characters of a text."""
    return re.findall(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]", text)


def shown_to(town: Town, chats: set[int]) -> list[str]:
    """Every text, caption and button label the bot sent or edited into these chats, and every
    popup it answered to a press made on a message in them."""
    seen: list[str] = []
    for method, params, _ in town.sb.calls:
        if method == "answerCallbackQuery":
            record = town.sb.world.callbacks.get(params["callback_query_id"])
            if record is not None and record.message.chat.id in chats:
                seen.append(params.get("text") or "")
            continue
        if params.get("chat_id") not in chats:
            continue
        seen += [params.get("text") or "", params.get("caption") or ""]
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []) + \
                (markup or {}).get("keyboard", []):
            seen += [b if isinstance(b, str) else b["text"] for b in row]
    return [s for s in seen if s]


def menus(town: Town, language: str) -> list[str]:
    """The descriptions of every command menu set for a language ("" is the default)."""
    found: list[str] = []
    for method, params, _ in town.sb.calls:
        if method == "setMyCommands" and params.get("language_code", "") == language:
            commands = params["commands"]
            if isinstance(commands, str):
                commands = json.loads(commands)
            found += [c["description"] for c in commands]
    return found


async def file_in_chinese(citizen: SimUser, address: str = "建设路12号3号楼") -> str:
    """The citizen files a request through the Chinese form, pressing all the way."""
    await citizen.send("/start")
    await citizen.wait_for(text="请在下面选择")
    await open_form(citizen, lang="zh")
    await citizen.press("助老服务")
    await citizen.wait_for(text="请说明情况")
    await citizen.send("厨房水龙头漏水，我自己修不好。")
    await citizen.wait_for(text="在哪里")
    await citizen.send(address)
    await citizen.wait_for(text="属于哪个社区")
    await citizen.press("光明路街道新时代文明实践所")
    await citizen.wait_for(text="的哪个社区")
    await citizen.press("光明路第1社区实践站")
    await citizen.wait_for(text="志愿者怎么联系您")
    await citizen.tap("📞 发送我的手机号")
    await citizen.wait_for(text="内容都对吗")
    await citizen.press("✅ 确认提交")
    receipt = await citizen.wait_for(text="编号")
    found = REF.search(receipt.text or "")
    assert found
    return found.group(0)


async def loop_and_signup(town: Town, citizen: SimUser, helper: SimUser,
                          group: SimChat) -> None:
    """The whole request loop, /my, then the citizen signs up for an activity."""
    await helper.send("/start")
    await helper.wait_for(text="请在下面选择")
    ref = await file_in_chinese(citizen)
    card = await group.wait_for(text=ref)
    await (await helper.press("🙋 接单", chat=group, message=card)).answer()
    await helper.wait_for(text="您已接单")
    await citizen.wait_for(text="已有志愿者接了")
    await helper.press("✅ 办结")
    await helper.wait_for(text="请给群众写一句说明")
    await helper.press("跳过")
    await helper.wait_for(text="已标记为办结")
    await citizen.wait_for(text="解决了吗")
    await citizen.press("👍 已解决")
    await citizen.wait_for(text="打个分")
    await citizen.press("⭐⭐⭐⭐⭐")
    await citizen.wait_for(text="还有什么想说")
    await citizen.press("跳过")
    await citizen.wait_for(text="感谢您的评价")
    await citizen.send("/my")
    await citizen.wait_for(text="我的诉求")
    await citizen.send("/help")
    await citizen.wait_for(text="使用方法")

    # An activity published (in English, by its English-speaking leader) is signed up for.
    await publish(town.vol1, "2026-06-13 09:00")
    activity = await group.wait_for(text="植树活动")
    group.add_member(citizen)
    await (await citizen.press("🙋 我要报名", chat=group, message=activity)).answer()
    await citizen.wait_for(text="植树活动")
    await citizen.send("/events")
    await citizen.wait_for(text="植树活动")
    await citizen.send("/cancel")
    await citizen.wait_for()


async def publish(leader: SimUser, start: str) -> None:
    """The English-speaking team leader publishes 植树活动 at `start`, 09:00 to 11:30."""
    await leader.send("/start")
    await leader.wait_for(text="Choose below")
    await leader.send("/publish")
    await leader.wait_for(text="1/")
    await leader.send("植树活动")
    await leader.wait_for(text="/12")
    await leader.send("光明公园东门")
    await leader.wait_for(text="5/12")
    await leader.send_location(34.855, 117.570)
    await leader.wait_for(text="6/12")
    await leader.send(start)
    await leader.wait_for(text="7/12")
    await leader.send("11:30")
    await leader.wait_for(text="8/12")
    await leader.send("5")
    await leader.wait_for(text="9/12")
    await leader.press("🙋 I lead it")
    await leader.wait_for(text="10/12")
    await leader.press("No theme")
    await leader.wait_for(text="11/12")
    await leader.press("Skip ⏭")
    await leader.wait_for(text="12/12")
    await leader.send("挖坑、种树、浇水。")
    preview = await leader.wait_for(text="Preview")
    await leader.press("✅ Publish", message=preview)


@pytest.mark.parametrize("code", CODES)
async def test_a_chinese_speaker_never_meets_an_english_word(town: Town, code: str | None
                                                            ) -> None:
    citizen, helper = town.grandma, town.vol2
    citizen.language_code = code
    helper.language_code = code
    helper.first_name = "张师傅"
    await loop_and_signup(town, citizen, helper, town.volunteers)

    username = town.sb.world.bot_username
    leaks = {text: latin_words(text, username)
             for text in shown_to(town, {citizen.id, helper.id, town.volunteers.id})}
    assert {text: words for text, words in leaks.items() if words} == {}
    menu = menus(town, "zh") + menus(town, "")
    assert menu and [m for m in menu if latin_words(m, username)] == []


async def test_an_english_speaker_never_meets_a_chinese_character(town: Town) -> None:
    citizen = town.citizen
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below")
    await open_form(citizen)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem")
    await citizen.send("My kitchen tap is leaking.")
    await citizen.wait_for(text="Where is it")
    await citizen.send("12 Jianshe Road")
    await citizen.wait_for(text="Which community")
    await citizen.press("Guangminglu Subdistrict Institute")
    await citizen.wait_for(text="which community in")
    await citizen.press("Guangminglu Community 1 Station")
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("📞 Share my phone number")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    await citizen.wait_for(text="Reference number")
    await citizen.send("/my")
    await citizen.wait_for(text="Your requests")
    await citizen.send("/help")
    await citizen.wait_for()
    for command in ("/theme", "/events", "/mydata", "/join"):
        await citizen.send(command)
        await citizen.wait_for()
    await citizen.send("/cancel")
    await citizen.wait_for()

    leaks = {text: han(text) for text in shown_to(town, {citizen.id})}
    assert {text: chars for text, chars in leaks.items() if chars} == {}
    menu = menus(town, "en")
    assert menu and [m for m in menu if han(m)] == []


async def test_dates_shown_in_chinese_are_beijing_days_with_weekdays_on_new_years_eve(
    town: Town,
) -> None:
    """At 23:50 Beijing on 31 December (15:50 UTC), a request filed now is dated 31 December,
    a Thursday, and an activity the next morning is 1 January 2027, a Friday."""
    town.clock.set(datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI))
    citizen = town.grandma
    await file_in_chinese(citizen)
    await citizen.send("/my")
    mine = await citizen.wait_for(text="我的诉求")
    assert "12月31日 周四 23:50" in (mine.text or "")

    await publish(town.vol1, "2027-01-01 09:00")
    card = await town.volunteers.wait_for(text="植树活动")
    assert "🕘 2027年1月1日 周五 09:00–11:30" in (card.text or "")
    town.volunteers.add_member(citizen)
    await (await citizen.press("🙋 我要报名", chat=town.volunteers, message=card)).answer()
    signed = await citizen.wait_for(text="您已报名")
    assert "2027年1月1日 周五 09:00–11:30" in (signed.text or "")
    await citizen.send("/events")
    listing = await citizen.wait_for(text="植树活动")
    assert "2027年1月1日 周五 09:00" in (listing.text or "")
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b", (listing.text or ""))


def keyboard_up(chat: SimChat) -> bool:
    """Whether a reply keyboard is still up in a chat: the newest bot message that set or
    removed one set it (a deleted message's keyboard stays on the screen)."""
    for message in reversed(chat.messages):
        markup = message.reply_markup or {} if message.from_bot else {}
        if markup.get("remove_keyboard"):
            return False
        if "keyboard" in markup:
            assert markup.get("resize_keyboard"), markup  # big buttons, not half the screen
            return True
    return False


async def test_no_reply_keyboard_is_left_up_after_a_dialog_ends_or_is_cancelled(
    town: Town,
) -> None:
    citizen = town.grandma
    citizen.language_code = "zh-CN"
    chat = citizen.private

    # The form, cancelled at its place (a location button) and at its phone.
    await citizen.send("/start")
    await citizen.wait_for(text="请在下面选择")
    for leave in ("/cancel", "✖ 取消"):
        await open_form(citizen, lang="zh")
        await citizen.press("助老服务")
        await citizen.wait_for(text="请说明情况")
        await citizen.send("楼道灯坏了。")
        await citizen.wait_for(text="在哪里")
        assert keyboard_up(chat)
        if leave == "/cancel":
            await citizen.send("/cancel")
        else:
            await citizen.send("建设路12号")
            await citizen.wait_for(text="属于哪个社区")
            await citizen.press("我不确定")
            await citizen.wait_for(text="志愿者怎么联系您")
            assert keyboard_up(chat)
            await citizen.press(leave)
        await citizen.wait_for(text="已取消填写")
        assert not keyboard_up(chat), leave

    # Filed: the phone's button is gone with the summary.
    await file_in_chinese(citizen)
    assert not keyboard_up(chat)

    # /events, nearest to me: a location button, then cancelled, then answered.
    await publish(town.vol1, "2026-06-13 09:00")
    await town.volunteers.wait_for(text="植树活动")
    for leave in ("/cancel", "location"):
        await citizen.send("/events")
        listing = await citizen.wait_for(text="植树活动")
        await citizen.press("📍 离我最近", message=listing)
        await citizen.wait_for(text="离您最近的活动排在前面")
        assert keyboard_up(chat)
        if leave == "/cancel":
            await citizen.send("/cancel")
            await citizen.wait_for()
        else:
            await citizen.tap("📍 发送我的位置", latitude=34.90, longitude=117.57)
            nearest = await citizen.wait_for(text="距您")
            # 5 km away, as a Chinese reader says it.
            assert "距您 5.0 公里" in (nearest.text or ""), nearest.text
        await town.sb.wait_until(lambda: not keyboard_up(chat))

    # Checking in on the day: the location button, then cancelled.
    card = town.volunteers.bot_messages()[-1]
    town.volunteers.add_member(citizen)
    await (await citizen.press("🙋 我要报名", chat=town.volunteers, message=card)).answer()
    signed = await citizen.wait_for(text="您已报名")
    town.clock.set(datetime(2026, 6, 13, 8, 55, tzinfo=SHANGHAI))
    await citizen.press("📍 现场签到", message=signed)
    await citizen.wait_for(text="请点下面的按钮发送您的位置")
    assert keyboard_up(chat)
    await citizen.send("/cancel")
    await citizen.wait_for()
    await town.sb.wait_until(lambda: not keyboard_up(chat))

    # Registration as a volunteer, left at its phone.
    await citizen.send("/join")
    await citizen.wait_for(text="请输入您的姓名")
    await citizen.send("王秀英")
    await citizen.wait_for(text="发送您的手机号")
    assert keyboard_up(chat)
    await citizen.send("/cancel")
    await citizen.wait_for()
    await town.sb.wait_until(lambda: not keyboard_up(chat))


def reply_buttons(chat: SimChat) -> list[str]:
    """The labels of the reply keyboard now up in a chat."""
    for message in reversed(chat.messages):
        markup = message.reply_markup or {} if message.from_bot else {}
        if "keyboard" in markup:
            return [b["text"] for row in markup["keyboard"] for b in row]
    return []


async def test_a_citizen_taps_the_address_she_gave_last_time_instead_of_typing_it(
    town: Town,
) -> None:
    citizen = town.grandma
    # One address too long for a button's line (it stays typed), then her usual one.
    await file_in_chinese(citizen, "建设路12号3号楼" + "东侧" * 30)
    await file_in_chinese(citizen)  # at 建设路12号3号楼

    await open_form(citizen, lang="zh")
    await citizen.press("生活环境")
    await citizen.wait_for(text="请说明情况")
    await citizen.send("楼下垃圾没人清理。")
    await citizen.wait_for(text="在哪里")
    assert reply_buttons(citizen.private) == ["📍 发送我的位置", "🏠 建设路12号3号楼"]
    await citizen.tap("🏠 建设路12号3号楼")
    await citizen.wait_for(text="属于哪个社区")
    await citizen.press("我不确定")
    await citizen.wait_for(text="志愿者怎么联系您")
    await citizen.tap("📞 发送我的手机号")
    summary = await citizen.wait_for(text="内容都对吗")
    assert "🏠 地址：建设路12号3号楼" in (summary.text or "")
    assert "🏠 建设路" not in (summary.text or "")


async def test_a_chinese_speaker_registers_as_a_volunteer_and_looks_around_in_chinese(
    town: Town,
) -> None:
    person = town.grandma
    person.language_code = "zh-TW"
    await person.send("/start")
    await person.wait_for(text="请在下面选择")
    for command, answer in (("/theme", ""), ("/mydata", ""), ("/events", ""), ("/my", ""),
                            ("/lang", "请选择语言")):
        await person.send(command)
        await person.wait_for(text=answer or None)
    await person.press("中文")
    await person.wait_for(text="语言已设置为中文")
    await person.send("/join")
    await person.wait_for(text="请输入您的姓名")
    await person.send("王秀英")
    await person.wait_for(text="发送您的手机号")
    await person.tap("📞 发送我的手机号")
    await person.wait_for(text="哪个区域服务")
    await person.press("光明路街道新时代文明实践所")
    await person.wait_for(text="哪个社区")
    await person.press("光明路第1社区实践站")
    await person.wait_for(text="加入哪支队伍")
    await person.press("光明路红马甲服务队")
    await person.wait_for(text="登记已提交")
    review = await town.admin_chat.wait_for(text="新的志愿者登记")
    await town.admin.press("✅ 通过", chat=town.admin_chat, message=review)
    await person.wait_for(text="登记已通过")
    for command in ("/hours", "/mytasks", "/team", "/help", "/mydata"):
        await person.send(command)
        await person.wait_for()

    username = town.sb.world.bot_username
    leaks = {text: latin_words(text, username) for text in shown_to(town, {person.id})}
    assert {text: words for text, words in leaks.items() if words} == {}
    personal = [c for c in town.sb.calls if c[0] == "setMyCommands"
                and (c[1].get("scope") or {}).get("chat_id") == person.id]
    assert personal and all(not latin_words(entry["description"], username)
                            for entry in personal[-1][1]["commands"])


async def test_a_draft_that_expires_at_its_location_button_takes_the_button_away(
    town: Town,
) -> None:
    citizen = town.grandma
    await citizen.send("/start")
    await citizen.wait_for(text="请在下面选择")
    await open_form(citizen, lang="zh")
    await citizen.press("助老服务")
    await citizen.wait_for(text="请说明情况")
    await citizen.send("楼道灯坏了。")
    await citizen.wait_for(text="在哪里")
    assert keyboard_up(citizen.private)
    await town.tick(hours=25)
    await citizen.wait_for(text="已自动作废")
    await town.sb.wait_until(lambda: not keyboard_up(citizen.private))
