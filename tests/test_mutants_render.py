"""How cards and captions read, where mutation testing (`make mutate`) found no story."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import ui
from bot.config import parse_config
from bot.context import Env
from bot.i18n import Catalogs
from bot.requests import render
from storage import Card, Outgoing
from tests.conftest import CATEGORIES, TOKEN

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
STATIONS = [f"zhongxinjie-0{n}" for n in range(1, 6)]


def a_district(tmp_path: Path, **settings: Any) -> Env:
    """English by default, Chinese too, on the Shizhong area tree (no database needed);
    `settings` adds config tables (or replaces the area tree)."""
    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [1]},
        "categories": CATEGORIES,
        "areas": {"file": str(AREA_FILE)},
        **settings,
    }, env={}, base_dir=tmp_path)
    db: Any = None  # rendering never reads the database
    return Env(db=db, config=config, t=Catalogs.load("en"))


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """English by default, Chinese too, on the Shizhong area tree (no database needed)."""
    return a_district(tmp_path)


@pytest.mark.parametrize("count, caption", [
    (1, "Zhongxinjie Community 1 Practice Station"),
    (3, "Zhongxinjie Community 1 Practice Station, Zhongxinjie Community 2 Practice Station, "
        "Zhongxinjie Community 3 Practice Station"),
    (4, "Zhongxinjie Community 1 Practice Station, Zhongxinjie Community 2 Practice Station, "
        "Zhongxinjie Community 3 Practice Station and 1 more"),
    (5, "Zhongxinjie Community 1 Practice Station, Zhongxinjie Community 2 Practice Station, "
        "Zhongxinjie Community 3 Practice Station and 2 more"),
])
def test_a_caption_names_three_areas_and_counts_the_rest(
    env: Env, count: int, caption: str
) -> None:
    assert render.area_names(env, STATIONS[:count], "en") == caption


def test_a_chinese_caption_uses_chinese_punctuation_and_counting(env: Env) -> None:
    names = render.area_names(env, STATIONS[:4], "zh")
    assert names == ("中心街第1社区新时代文明实践站、中心街第2社区新时代文明实践站、"
                     "中心街第3社区新时代文明实践站等1个片区")


def section(request_id: int, claimable: bool, body: str) -> render.CardSection:
    text = f"📌 Request 2026-00000{request_id}\nCategory: shopping\n{body}"
    return render.CardSection(request_id, f"2026-00000{request_id}", text, claimable)


def test_a_combined_message_that_outgrew_telegram_shrinks_settled_cards_to_their_header(
    env: Env,
) -> None:
    """Two settled requests with long notes push the message past 4096 units: they keep
    only their first line, the waiting one stays whole with its Claim button."""
    waiting = section(3, True, "x " * 500)
    sections = [section(1, False, "note " * 500), section(2, False, "note " * 500), waiting]
    text, markup = render.combined_card(env, sections)
    assert text == "\n\n".join(["📌 Request 2026-000001", "📌 Request 2026-000002",
                                waiting.text])
    assert markup is not None
    assert [[button["text"] for button in row] for row in markup["inline_keyboard"]] == [
        ["🙋 Claim 2026-000003"]]


def test_when_even_that_is_too_long_every_card_shrinks_to_its_header(env: Env) -> None:
    sections = [section(n, True, "word " * 900) for n in (1, 2)]
    text, markup = render.combined_card(env, sections)
    assert text == "📌 Request 2026-000001\n\n📌 Request 2026-000002"
    assert ui.units(text) <= ui.TEXT_MAX
    assert markup is not None and len(markup["inline_keyboard"]) == 2


def grandmas_request(**changes: Any) -> Any:
    """Grandma Wang's request, filed at 23:45 on 31 December 2026 in Shanghai."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from storage import Request

    filed = datetime(2026, 12, 31, 23, 45, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    fields: dict[str, Any] = dict(
        id=7, ref="2026-000123", citizen_id=500, language="zh", category="elderly",
        description="帮忙买菜", photos=[], voice_file_id=None, latitude=None, longitude=None,
        address=None, phone=None, status="claimed", dispatch_chat_id=-100, card_chat_id=None,
        card_message_id=None, card_kind=None, volunteer_id=600, volunteer_name="Li",
        done_note=None, done_photo=None, rating=None, comment=None, closed_how=None,
        cancelled_by=None, reopen_count=0, created_at=filed, updated_at=filed)
    fields.update(changes)
    return Request(**fields)


def test_a_line_of_my_requests_reads_in_the_citizens_language_at_local_time(env: Env) -> None:
    """The list line: reference, category, state and the local date and time, in Chinese for
    Grandma Wang (the Chinese way, with the weekday), in English for Alice; the time is
    Shanghai's, not the machine's."""
    request = grandmas_request()
    assert render.request_line(env, request, "zh") == (
        "• <b>2026-000123</b> · 助老服务 · 志愿者办理中 · 12月31日 周四 23:45")
    assert render.request_line(env, request, "en") == (
        "• <b>2026-000123</b> · Help for the elderly · a volunteer is on it · 2026-12-31 23:45")


def test_the_whole_district_has_its_name_in_each_language(env: Env) -> None:
    assert render.area_name(env, None, "zh") != render.area_name(env, None, "en")
    assert render.area_name(env, None, "zh") == env.t("zh", "area.district")


@pytest.mark.parametrize("typed, shown", [
    ("电话13800138000请联系", "电话•••请联系"),  # Chinese runs straight into the digits
    ("我的身份证号11010519491231002X", "我的身份证号•••"),  # an ID card number ending in X
    ("身份证110105194912310021，谢谢", "身份证•••，谢谢"),
    ("房间1201，电话0632-1234567", "房间1201，电话•••"),
    ("call +86 138 0013 8000 now", "call ••• now"),
    ("门牌号12号楼3单元", "门牌号12号楼3单元"),  # short numbers stay
    ("编号2026-000123，2026-12-04", "编号2026-000123，2026-12-04"),  # a reference and a date
    ("room A1234567", "room A1234567"),  # part of a code, not a number of its own
    ("电话一三八零零一三八零零零找我", "电话•••找我"),  # said in Chinese numerals
    ("打幺三八 零零一三 八零零零", "打•••"),
    ("三五成群，一二三四五六", "三五成群，一二三四五六"),  # prose, and six in a row
    ("电话138零零138零零零", "电话•••"),  # digits and numerals mixed in one number
    ("2026年6月10日下午3点", "2026年6月10日下午3点"),  # a date in words stays
    # The IME's full-width mode, a word processor's paste, a spaced hyphen:
    ("电话138\u30000013\u30008000", "电话•••"), ("电话138－0013－8000", "电话•••"),
    ("tel 138\u20130013\u20138000.", "tel •••."), ("tel 138\u200b0013\u200b8000", "tel •••"),
    ("tel 138 - 0013 - 8000", "tel •••"), ("电话（0632）1234567", "电话（•••"),
    ("打一三八　零零一三　八零零零", "打•••"),
    ("3栋 2单元 501室，约 10 - 12 点", "3栋 2单元 501室，约 10 - 12 点"),  # short numbers stay
    # Seven is enough (a local landline), in digits or in numerals:
    ("座机8765432", "座机•••"), ("座机八七六五四三二", "座机•••"),
    ("身份证11010519491231002x", "身份证•••"),  # the X typed small
    ("code 1234567AB", "code 1234567AB"),  # a code that goes on in letters is no number
    # The IME's full-width digits among numerals; 〇 for zero; a no-break space between:
    ("电话１３８零零１３８零零零", "电话•••"), ("电话138〇〇138〇〇〇", "电话•••"),
    ("tel 138\u00a00013\u00a08000", "tel •••"),
])
def test_phone_and_id_numbers_typed_into_a_description_are_masked(typed: str, shown: str) -> None:
    assert render.mask_phones(typed) == shown


def test_a_combined_card_of_exactly_telegrams_limit_is_kept_whole(env: Env) -> None:
    """4,096 UTF-16 units is allowed: nothing is shortened at the limit, only past it."""
    header = "2026-000001 · Help for the elderly\n"
    body = "长" * (ui.TEXT_MAX - ui.units(header) * 2 - ui.units(render.COMBINED_SEPARATOR)
                  - ui.units("2026-000002 · Legal aid\n"))
    sections = [render.CardSection(1, "2026-000001", header + body, claimable=False),
                render.CardSection(2, "2026-000002", "2026-000002 · Legal aid\n" + header,
                                   claimable=True)]
    whole = render.COMBINED_SEPARATOR.join(s.text for s in sections)
    assert ui.units(whole) == ui.TEXT_MAX
    text, _ = render.combined_card(env, sections)
    assert text == whole
    one_more = [sections[0], render.CardSection(2, "2026-000002", sections[1].text + "!",
                                                claimable=True)]
    shrunk, _ = render.combined_card(env, one_more)
    assert shrunk.startswith("2026-000001 · Help for the elderly" + render.COMBINED_SEPARATOR)


def test_a_combined_card_with_every_request_claimed_has_no_keyboard(env: Env) -> None:
    """No Claim button left: no keyboard at all (an edit then removes the old buttons)."""
    sections = [render.CardSection(n, f"2026-00000{n}", f"2026-00000{n} · claimed", False)
                for n in (1, 2)]
    _, markup = render.combined_card(env, sections)
    assert markup is None
    _, markup = render.combined_card(env, [*sections, render.CardSection(3, "2026-000003",
                                                                         "waiting", True)])
    assert markup == ui.inline([[("🙋 Claim 2026-000003", "claim:3")]])


CLAIMER = 600  # Li, who took Grandma Wang's request (grandmas_request's volunteer_id)


def labels(markup: dict[str, Any] | None) -> list[list[str]]:
    assert markup is not None
    return [[button["text"] for button in row] for row in markup["inline_keyboard"]]


def test_the_claimer_gets_the_photos_voice_and_map_point_in_private_then_the_text(
    env: Env,
) -> None:
    """Grandma Wang sent two photos, a voice message and a map point, no address and no
    phone. Li, reading Chinese, gets all of it in his private chat and nowhere else: the
    album, the voice, the point at her exact coordinates, then the text, which points him
    to the map and says no phone was given, with Done and Release."""
    request = grandmas_request(photos=["photo-1", "photo-2"], voice_file_id="voice-1",
                               latitude=34.8612, longitude=117.5534)
    out = render.task_details(env, request, CLAIMER, "zh")
    assert [(o.chat_id, o.method) for o in out] == [
        (CLAIMER, "sendMediaGroup"), (CLAIMER, "sendVoice"), (CLAIMER, "sendLocation"),
        (CLAIMER, "sendMessage")]
    assert all(o.payload["chat_id"] == CLAIMER for o in out)
    assert [m["media"] for m in out[0].payload["media"]] == ["photo-1", "photo-2"]
    assert out[1].payload["voice"] == "voice-1"
    assert out[2].payload == {"chat_id": CLAIMER, "latitude": 34.8612, "longitude": 117.5534}
    assert out[3].payload["text"] == "\n".join([
        "🙋 <b>您已接单 2026-000123</b>",
        "类别：助老服务",
        "📝 帮忙买菜",
        "📍 位置见上方地图。",
        "📞 电话：未提供",
        "办完后请点「<b>办结</b>」。如果办不了，请点「<b>退回</b>」，让其他人来接。",
    ])
    assert labels(out[3].payload["reply_markup"]) == [["✅ 办结", "↩️ 退回"], ["💬 给居民留言"]]


@pytest.mark.parametrize("language, text", [
    ("zh", ["🙋 <b>您已接单 2026-000123</b>", "类别：助老服务", "📝 帮忙买菜",
            "🏠 地址：建设路12号3号楼", "📞 电话：+8613800000002",
            "办完后请点「<b>办结</b>」。如果办不了，请点「<b>退回</b>」，让其他人来接。"]),
    ("en", ["🙋 <b>You took 2026-000123</b>", "Category: Help for the elderly", "📝 帮忙买菜",
            "🏠 Address: 建设路12号3号楼", "📞 Phone: +8613800000002",
            "When you have finished, press <b>Done</b>. If you cannot do it, press "
            "<b>Release</b> so someone else can."]),
])
def test_the_claimer_reads_the_address_and_phone_in_their_own_language(
    env: Env, language: str, text: list[str]
) -> None:
    """Grandma Wang gave her address, her phone and a map point. The claimer, in Chinese or
    in English, gets the point on the map and then the whole address and phone number in
    words of their language (the category's name too); no "see the map" line, as the
    address says where."""
    request = grandmas_request(address="建设路12号3号楼", phone="+8613800000002",
                               latitude=34.8612, longitude=117.5534)
    out = render.task_details(env, request, CLAIMER, language)
    assert [(o.chat_id, o.method) for o in out] == [(CLAIMER, "sendLocation"),
                                                   (CLAIMER, "sendMessage")]
    assert out[1].payload["text"] == "\n".join(text)


def test_a_chinese_volunteers_task_list_has_its_details_button_in_chinese(env: Env) -> None:
    """In /mytasks each task has Done, Release, Message the citizen and Details, all in the
    volunteer's words."""
    markup = render.task_buttons(env, grandmas_request(), "zh", details=True)
    assert labels(markup) == [["✅ 办结", "↩️ 退回"], ["💬 给居民留言"], ["📄 详情"]]
    assert markup["inline_keyboard"][1][0]["callback_data"] == "chat:7"
    assert markup["inline_keyboard"][2][0]["callback_data"] == "details:7"


def test_the_claimer_reads_a_kept_private_phone_as_a_pointer_to_the_masked_chat(
    env: Env,
) -> None:
    """Grandma Wang gave her phone but chose that the claimer does not see it: the task says
    so and offers Message the citizen. A hotline caller's request (an Open311 client's pseudo
    user, whom no chat reaches) has no such button."""
    request = grandmas_request(phone="+8613800000002", share_phone=0)
    text = render.task_details(env, request, CLAIMER, "en")[-1].payload["text"]
    assert "+8613800000002" not in text
    assert "📞 Phone: kept private by the citizen: press 💬 Message the citizen" in text
    hotline = grandmas_request(citizen_id=-(2**53) - 7)
    assert labels(render.task_buttons(env, hotline, "en")) == [["✅ Done", "↩️ Release"]]
    assert labels(render.task_buttons(env, request, "en"))[1] == ["💬 Message the citizen"]


def test_an_edited_card_keeps_what_it_was_posted_as(env: Env) -> None:
    """Li released Grandma Wang's request, so its cards are edited back to waiting: the one
    in the admin chat, posted when the request was escalated, still says so above the rest;
    the group's card has no such line and nothing after its text; both offer Claim again.
    An edit with a note (the request was cancelled, say) adds the note on a line of its own
    and takes the button away."""
    request = grandmas_request(status="dispatched", volunteer_id=None, volunteer_name=None)
    group_card = Card(id=1, request_id=7, chat_id=-100, message_id=11, kind="text",
                      role="dispatch")
    admin_card = Card(id=2, request_id=7, chat_id=-900, message_id=12, kind="text",
                      role="escalation")
    text = render.card_text(env, request)
    claim_again = ui.inline([[("🙋 Claim", "claim:7")]])
    assert render.card_update(env, request, group_card).payload == {
        "text": text, "parse_mode": "HTML", "reply_markup": claim_again}
    edit = render.card_update(env, request, admin_card)
    assert edit.payload == {
        "text": "⚠️ <b>Escalated</b>: no volunteer has claimed this yet.\n" + text,
        "parse_mode": "HTML", "reply_markup": claim_again}
    # It names the chat, the request and the card, so the sender finds the message to edit.
    assert (edit.chat_id, edit.method, edit.purpose, edit.request_id, edit.card_id) == (
        -900, "editCard", "card_edit", 7, 2)
    noted = render.card_update(env, request, group_card, note="Cancelled by an admin.")
    assert noted.payload == {"text": text + "\nCancelled by an admin.", "parse_mode": "HTML"}


WAITING = dict(status="dispatched", volunteer_id=None, volunteer_name=None)
ESCALATED = "⚠️ <b>Escalated</b>: no volunteer has claimed this yet."
CLAIM_7 = {"inline_keyboard": [[{"text": "🙋 Claim", "callback_data": "claim:7"}]]}


def everything_given(**changes: Any) -> Any:
    """Grandma Wang's request, waiting, with all she could give: her station, her address
    and phone, a phone number typed into the text, two photos and a voice message; the
    citizen has sent it back twice as not resolved."""
    return grandmas_request(**{**WAITING, **dict(
        area_id="zhongxinjie-01", address="建设路12号3号楼", phone="+8613800000002",
        description="帮忙买菜，电话13800138000", photos=["photo-1", "photo-2"],
        voice_file_id="voice-1", latitude=34.8612, longitude=117.5534, reopen_count=2),
        **changes})


def test_a_group_card_says_roughly_where_and_hides_the_address_and_phone(env: Env) -> None:
    """The volunteers' group reads Grandma Wang's card in the district's language: her
    station and that an address was given (not the address), her text with the typed
    number masked, what media came and that it came back twice. Her address, her phone and
    the typed number appear nowhere. Where the request climbed, the card says so first."""
    request = everything_given()
    text = render.card_text(env, request)
    assert text == "\n".join([
        "🆕 <b>2026-000123</b> · waiting for a volunteer",
        "Category: Help for the elderly",
        "📍 Zhongxinjie Community 1 Practice Station · address given (for the volunteer who "
        "claims)",
        "📝 帮忙买菜，电话•••",
        "🖼 2 photo(s) · 🎤 voice message",
        "🔁 Reopened 2 time(s): the citizen says it is not resolved yet.",
    ])
    for secret in ("建设路", "+8613800000002", "13800138000", "34.86", "117.55"):
        assert secret not in text
    assert render.card_text(env, request, "escalation") == f"{ESCALATED}\n{text}"


def test_a_claimed_card_names_the_claimer_and_no_longer_asks_for_one(env: Env) -> None:
    """Once Li has it, the card (in the group or where it climbed) says it is claimed by
    Li: no "Escalated", no "Reopened", no media line when none came; a place never given
    says so."""
    request = grandmas_request(reopen_count=1)
    expected = "\n".join([
        "🙋 <b>2026-000123</b> · claimed by Li",
        "Category: Help for the elderly",
        "📍 place not given",
        "📝 帮忙买菜",
    ])
    assert render.card_text(env, request) == expected
    assert render.card_text(env, request, "escalation") == expected


def test_a_card_with_one_kind_of_media_lists_only_that(env: Env) -> None:
    assert render.card_text(env, everything_given(photos=[], reopen_count=0)).endswith(
        "\n📝 帮忙买菜，电话•••\n🎤 voice message")
    assert render.card_text(env, everything_given(voice_file_id=None, reopen_count=0)).endswith(
        "\n📝 帮忙买菜，电话•••\n🖼 2 photo(s)")


@pytest.mark.parametrize("language, address, point, nothing", [
    ("en", "Zhongxinjie Community 1 Practice Station · address given (for the volunteer who "
           "claims)", "location shared (for the volunteer who claims)", "place not given"),
    ("zh", "中心街第1社区新时代文明实践站 · 已填写地址（接单后可见）", "已发送位置（接单后可见）",
     "未提供地点"),
])
def test_where_is_said_roughly_in_the_language_asked(
    env: Env, language: str, address: str, point: str, nothing: str
) -> None:
    """An address given (at a station), a point shared (no area), or nothing: said in
    words, never the address or the coordinates."""
    assert render.where_summary(env, everything_given(), language) == address
    assert render.where_summary(env, everything_given(address=None, area_id=None),
                                language) == point
    assert render.where_summary(env, grandmas_request(), language) == nothing


def test_an_area_or_category_gone_from_the_config_is_shown_by_its_code(
    env: Env, tmp_path: Path
) -> None:
    """After a /reload removed them, old requests still name their area and category by
    their codes; a district without an area tree too."""
    assert render.area_name(env, "closed-station", "en") == "closed-station"
    assert render.area_name(a_district(tmp_path, areas={}), "zhongxinjie-01", "zh") == (
        "zhongxinjie-01")
    assert render.category_name(env, "plumbing", "zh") == "plumbing"


def test_a_new_card_is_the_first_photo_with_its_caption_where_groups_see_photos(
    env: Env, tmp_path: Path
) -> None:
    """A request with photos is posted as its first photo, the card as its caption, with
    Claim; where the district keeps photos from groups (card_photo = false), and for a
    request without photos, it is a text message. Either way it names its request and
    card, so later edits find it."""
    request = everything_given()
    caption = render.card_text(env, request)
    assert render.card_kind(env, request) == "photo"
    photo_card = Card(id=3, request_id=7, chat_id=-100, message_id=None, kind="photo",
                      role="dispatch")
    assert render.new_card(env, request, photo_card) == Outgoing(
        -100, "sendPhoto", {"chat_id": -100, "photo": "photo-1", "caption": caption,
                            "parse_mode": "HTML", "reply_markup": CLAIM_7},
        purpose="card", request_id=7, card_id=3)

    no_photos = a_district(tmp_path, limits={"card_photo": False})
    assert render.card_kind(no_photos, request) == "text"
    assert render.card_kind(env, everything_given(photos=[])) == "text"
    text_card = Card(id=4, request_id=7, chat_id=-101, message_id=None, kind="text",
                     role="escalation")
    assert render.new_card(no_photos, request, text_card) == Outgoing(
        -101, "sendMessage", {"chat_id": -101, "text": f"{ESCALATED}\n{caption}",
                              "parse_mode": "HTML", "link_preview_options": {"is_disabled": True},
                              "reply_markup": CLAIM_7},
        purpose="card", request_id=7, card_id=4)
    claimed = render.new_card(env, grandmas_request(), text_card)
    assert "reply_markup" not in claimed.payload  # nothing left to claim


def test_the_summary_before_sending_shows_the_citizen_all_she_gave(env: Env) -> None:
    """Before she confirms, Grandma Wang reads in Chinese everything she is sending: the
    category, her text, the media, her station, her address and her phone."""
    draft = {"category": "elderly", "description": "帮忙买菜", "photos": ["photo-1", "photo-2"],
             "voice": "voice-1", "area": "zhongxinjie-01", "address": "建设路12号3号楼",
             "latitude": 34.8612, "longitude": 117.5534, "phone": "+8613800000002"}
    assert render.draft_summary(env, draft, "zh") == "\n".join([
        "<b>您的诉求</b>",
        "类别：助老服务",
        "📝 帮忙买菜",
        "🖼 2 张照片 · 🎤 语音",
        "🏘 中心街第1社区新时代文明实践站",
        "🏠 地址：建设路12号3号楼",
        "📞 电话：+8613800000002",
        "（接单的志愿者能看到您的电话）",
        "内容都对吗？",
    ])


def test_a_summary_says_what_was_not_given(env: Env) -> None:
    """Alice chose her station and shared a point on the map for a legal-aid request, and
    gave nothing else: the summary says there is no text and no phone, names the station
    and says her location was shared. Grandma Wang sent only a voice message and a point:
    the same, in Chinese."""
    point = {"latitude": 34.8612, "longitude": 117.5534}
    draft = {"category": "legal", "area": "zhongxinjie-01", **point}
    assert render.draft_summary(env, draft, "en") == "\n".join([
        "<b>Your request</b>",
        "Category: Legal aid",
        "📝 (no text)",
        "🏘 Zhongxinjie Community 1 Practice Station",
        "📍 location shared (for the volunteer who claims)",
        "📞 Phone: not given",
        "Is everything correct?",
    ])
    draft = {"category": "legal", "voice": "voice-1", **point}
    assert render.draft_summary(env, draft, "zh") == "\n".join([
        "<b>您的诉求</b>", "类别：法律援助", "📝 （无文字）", "🎤 语音",
        "📍 已发送位置（接单后可见）", "📞 电话：未提供", "内容都对吗？"])
