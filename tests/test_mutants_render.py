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
from tests.conftest import CATEGORIES, TOKEN

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
STATIONS = [f"zhongxinjie-0{n}" for n in range(1, 6)]


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """English by default, Chinese too, on the Shizhong area tree (no database needed)."""
    config = parse_config({
        "telegram": {"token": TOKEN},
        "bot": {"database": "civicloop.db", "default_language": "en", "admin_ids": [1]},
        "categories": CATEGORIES,
        "areas": {"file": str(AREA_FILE)},
    }, env={}, base_dir=tmp_path)
    db: Any = None  # rendering never reads the database
    return Env(db=db, config=config, t=Catalogs.load("en"))


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
    Grandma Wang, in English for Alice; the time is Shanghai's, not the machine's."""
    request = grandmas_request()
    assert render.request_line(env, request, "zh") == (
        "• <b>2026-000123</b> · 助老服务 · 志愿者办理中 · 2026-12-31 23:45")
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
    assert labels(out[3].payload["reply_markup"]) == [["✅ 办结", "↩️ 退回"]]


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
    """In /mytasks each task has Done, Release and Details, all in the volunteer's words."""
    markup = render.task_buttons(env, grandmas_request(), "zh", details=True)
    assert labels(markup) == [["✅ 办结", "↩️ 退回"], ["📄 详情"]]
    assert markup["inline_keyboard"][1][0]["callback_data"] == "details:7"
