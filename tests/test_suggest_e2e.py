"""Category suggestion end to end: at the form's first step a citizen may just say what is
wrong; the words are kept as the description, the likely category comes first (starred), the
citizen still chooses, and the form goes on to the place. The town has the example config's
ten categories and their keywords."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config import categories_in
from sandbox import SimMessage, SimUser
from tests.conftest import Town, to_toml
from tests.flows import eventually, open_form

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
ZH = [c.names["zh"] for c in categories_in(EXAMPLE)]
EN = [c.names["en"] for c in categories_in(EXAMPLE)]


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """The example config's categories, with their keywords."""
    with EXAMPLE.open("rb") as file:
        return {"categories": tomllib.load(file)["categories"]}


async def draft_of(town: Town, person: SimUser) -> Any:
    """The request draft the bot keeps for a person."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        return await repo.people.dialog(person.id)


async def told(person: SimUser, note: str, question: str) -> SimMessage:
    """After a description at the first step: a one-line note, then the question again."""
    said = await person.wait_for(text=note)
    assert len(said.text or "") < 130, said.text
    return await person.wait_for(text=question)


def rest(labels: list[str], *first: str) -> list[str]:
    """The usual order without the ones brought forward."""
    return [label for label in labels if label not in first]


async def test_grandma_just_says_what_is_wrong_and_the_likely_category_comes_first(
        town: Town) -> None:
    """王奶奶 types what is wrong instead of choosing: her words are kept, 基础设施 comes
    first and starred, the other likely one next, the rest in the usual order; nothing is
    chosen for her. She taps the star and the form asks where (step 3: the description is
    answered), takes a photo there too, and her request carries her words, the photo and the
    category she chose."""
    grandma = town.grandma
    first = await open_form(grandma, command=True, lang="zh")
    assert "或者直接用几句话告诉我们出了什么问题" in (first.text or "")
    words = "楼道的灯坏了好几天了，晚上老人下楼看不见"
    await grandma.send(words)
    again = await told(grandma, "看起来是「基础设施」", "第 1 步，共 4 步。")
    # 老人 makes 助老服务 likely too: it comes next, then the others as usual.
    assert again.buttons == ["⭐ 建议：基础设施", "助老服务", *rest(ZH, "基础设施", "助老服务"),
                             "✖ 取消"]
    draft = await draft_of(town, grandma)
    assert draft.step == "category" and draft.data["description"] == words
    assert "category" not in draft.data  # the bot chose nothing

    await grandma.press("⭐ 建议：基础设施", message=again)
    await grandma.wait_for(text="第 3 步，共 4 步。")
    assert not [m for m in grandma.private.bot_messages() if "第 2 步" in (m.text or "")]
    await grandma.send_photo()
    await told(grandma, "照片已添加（第 1 张，最多 5 张）", "第 3 步，共 4 步。")
    await grandma.send("建设路12号3单元")
    await grandma.wait_for(text="第 4 步，共 4 步。")
    await grandma.tap("跳过")
    summary = await grandma.wait_for(text="内容都对吗？")
    assert words in (summary.text or "") and "基础设施" in (summary.text or "")
    assert "🖼 1 " in (summary.text or "")  # the photo joined the description
    await grandma.press("✅ 确认提交", message=summary)
    await grandma.wait_for(text="编号")
    # Infrastructure has no group in this town: its card goes to the admins.
    card = await town.admin_chat.wait_for(text=words[:8])
    assert "Infrastructure" in (card.text or "")
    await eventually(lambda: no_draft(town, grandma))


async def test_grandma_writes_in_traditional_characters_and_still_gets_the_suggestion(
        town: Town) -> None:
    """王奶奶 writes as she learnt to, in traditional characters: 路燈 is read as 路灯, so
    基础设施 comes first and starred; her words are kept as she wrote them."""
    grandma = town.grandma
    await open_form(grandma, command=True, lang="zh")
    words = "樓下的路燈壞了，晚上看不見"
    await grandma.send(words)
    again = await told(grandma, "看起来是「基础设施」", "第 1 步，共 4 步。")
    assert again.buttons[0] == "⭐ 建议：基础设施"
    draft = await draft_of(town, grandma)
    assert draft.data["description"] == words


async def no_draft(town: Town, person: SimUser) -> bool:
    """The draft is gone (sent or dropped)."""
    return await draft_of(town, person) is None


async def test_no_keyword_brings_the_usual_order_and_one_line_saying_so(town: Town) -> None:
    """Alice's words match no keyword: one line says so, the buttons come in the usual order
    without a star; her words are still kept, and choosing goes on to the place."""
    alice = town.citizen
    await open_form(alice, command=True)
    await alice.send("Something happened, please come quickly to see")
    again = await told(alice, "we could not tell which kind it is", "Step 1 of 4")
    assert again.buttons == [*EN, "✖ Cancel"]
    await alice.press("Legal aid", message=again)
    await alice.wait_for(text="Step 3 of 4")
    draft = await draft_of(town, alice)
    assert draft.data["description"] == "Something happened, please come quickly to see"
    assert draft.data["category"] == "legal"


async def test_alice_describes_in_english_and_may_choose_another_category(
        town: Town) -> None:
    """In English: the lift is broken, so Infrastructure is starred; Alice adds a second
    message (kept with the first), then chooses another category than the star: it is hers."""
    alice = town.citizen
    await open_form(alice, command=True)
    await alice.send("The elevator in building 3 is broken again")
    again = await told(alice, "It sounds like Infrastructure", "Step 1 of 4")
    assert again.buttons[0] == "⭐ Suggested: Infrastructure"
    await alice.send("my mother is 85 and lives alone on the 7th floor")
    again = await told(alice, "Noted", "Step 1 of 4")
    assert again.buttons[0].startswith("⭐ Suggested: ")
    assert set(again.buttons[1:3]) & {"Infrastructure", "Help for the elderly"}
    await alice.press("Help for the elderly", message=again)
    await alice.wait_for(text="Step 3 of 4")
    draft = await draft_of(town, alice)
    assert draft.data["description"] == ("The elevator in building 3 is broken again\n"
                                         "my mother is 85 and lives alone on the 7th floor")
    assert draft.data["category"] == "elderly"


async def test_a_voice_message_is_kept_and_its_caption_suggests(town: Town) -> None:
    """A voice message with a caption at the first step: the caption suggests 爱心义剪 and
    the voice is kept; a voice message alone is kept too, with the usual order."""
    grandma = town.grandma
    await open_form(grandma, command=True, lang="zh")
    await grandma.send_voice(caption="想请师傅上门理发")
    again = await told(grandma, "看起来是「爱心义剪」", "第 1 步，共 4 步。")
    assert again.buttons[0] == "⭐ 建议：爱心义剪"
    draft = await draft_of(town, grandma)
    assert draft.data["voice"] and draft.data["description"] == "想请师傅上门理发"
    await grandma.send("/cancel")
    await grandma.wait_for(text="已取消填写")

    await open_form(grandma, command=True, lang="zh")
    await grandma.send_voice()
    again = await told(grandma, "已收到，不用再发一遍", "第 1 步，共 4 步。")
    assert again.buttons == [*ZH, "✖ 取消"]
    await grandma.press("助老服务", message=again)
    await grandma.wait_for(text="第 3 步，共 4 步。")


async def test_a_sticker_or_an_essay_at_the_first_step_is_turned_away(town: Town) -> None:
    """A sticker is no description: use the buttons. Words past the description limit are
    refused with the limit, and nothing is kept."""
    alice = town.citizen
    await open_form(alice, command=True)
    await alice.send_sticker()
    await told(alice, "Please use the buttons below.", "Step 1 of 4")
    await alice.send("x" * 1001)
    await told(alice, "That text is too long (1001 characters)", "Step 1 of 4")
    draft = await draft_of(town, alice)
    assert not draft.data.get("description")


async def test_a_new_description_from_the_summary_offers_a_better_category(
        town: Town) -> None:
    """Alice chose Legal aid and described her deposit: the summary offers nothing. She
    changes the description to a leaking pipe: the summary offers ⭐ Change to:
    Infrastructure, and one tap changes the category."""
    alice = town.citizen
    question = await open_form(alice, command=True)
    await alice.press("Legal aid", message=question)
    await alice.wait_for(text="Step 2 of 4")
    await alice.send("My landlord keeps my deposit")
    await alice.wait_for(text="Step 3 of 4")
    await alice.send("12 Jianshe Road")
    await alice.wait_for(text="Step 4 of 4")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert not [b for b in summary.buttons if b.startswith("⭐")]  # it fits: nothing offered

    await alice.press("✏️ Edit", message=summary)
    fields = await alice.wait_for(text="What would you like to change?")
    await alice.press("Description", message=fields)
    await alice.wait_for(text="describe the problem")
    await alice.send("The water pipe in the kitchen is leaking")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "sounds more like Infrastructure" in (summary.text or "")
    assert summary.buttons[0] == "⭐ Change to: Infrastructure"
    await alice.press("⭐ Change to: Infrastructure", message=summary)
    summary = await alice.wait_for(text="Is everything correct?")
    assert "Infrastructure" in (summary.text or "")
    assert not [b for b in summary.buttons if b.startswith("⭐")]
    draft = await draft_of(town, alice)
    assert draft.data["category"] == "infrastructure"


async def test_a_restart_keeps_the_words_and_a_forged_offer_changes_nothing(
        town: Town) -> None:
    """Alice says what is wrong, the bot restarts: /new brings the same question back with
    the star, her words kept. At the summary, an offer pressed for an unknown category or
    at another step is refused politely, and the category stays."""
    alice = town.citizen
    await open_form(alice, command=True)
    await alice.send("The pipe under the sink is leaking")
    await told(alice, "It sounds like Infrastructure", "Step 1 of 4")
    await town.bot.stop()
    await town.bot.start()
    await alice.send("/new")
    again = await alice.wait_for(text="Step 1 of 4")
    assert again.buttons[0] == "⭐ Suggested: Infrastructure"
    draft_id = again.button_data["⭐ Suggested: Infrastructure"].split(":")[1]
    forged = await alice.press_data(f"in:{draft_id}:recat:infrastructure", message=again)
    assert (await forged.answer()).show_alert  # no summary yet: nothing to change

    await alice.press("⭐ Suggested: Infrastructure", message=again)
    await alice.wait_for(text="Step 3 of 4")
    await alice.send("12 Jianshe Road")
    await alice.wait_for(text="Step 4 of 4")
    await alice.tap("Skip")
    summary = await alice.wait_for(text="Is everything correct?")
    assert "The pipe under the sink is leaking" in (summary.text or "")
    forged = await alice.press_data(f"in:{draft_id}:recat:nosuch", message=summary)
    assert (await forged.answer()).show_alert
    draft = await draft_of(town, alice)
    assert draft.step == "confirm" and draft.data["category"] == "infrastructure"


async def test_an_album_with_a_caption_at_the_first_step_is_answered_once(
        town: Town) -> None:
    """王奶奶 sends three photos with a caption instead of choosing: one note and one question
    come back, the caption suggests 生活环境, and all three photos are in the draft."""
    grandma = town.grandma
    await open_form(grandma, command=True, lang="zh")
    await grandma.send_album(3, caption="楼下垃圾桶满了好几天没人清")
    again = await told(grandma, "看起来是「生活环境」", "第 1 步，共 4 步。")
    assert again.buttons[0] == "⭐ 建议：生活环境"

    async def three_photos() -> bool:
        draft = await draft_of(town, grandma)
        return len(draft.data["photos"]) == 3

    await eventually(three_photos)
    await grandma.press("⭐ 建议：生活环境", message=again)
    await grandma.wait_for(text="第 3 步，共 4 步。")
    notes = [m for m in grandma.private.bot_messages() if "看起来是" in (m.text or "")]
    assert len(notes) == 1


async def test_reloaded_keywords_change_the_suggestion_and_bad_ones_are_refused(
        town: Town) -> None:
    """A centre admin adds 水龙头 to 生活环境's keywords with a mistake (a word twice): /reload
    refuses it naming the key, and the suggestion stays. Fixed, /reload takes it: the same
    words now bring 生活环境 first."""
    grandma, admin = town.grandma, town.admin
    source = town.bot.config.source
    assert source is not None

    def add_keywords(*words: str) -> None:
        raw = tomllib.loads(source.read_text("utf-8"))
        environment = next(c for c in raw["categories"] if c["code"] == "environment")
        environment["keywords"] = [*environment["keywords"], *words]
        source.write_text(to_toml(raw), "utf-8")

    async def first_button(words: str) -> str:
        await open_form(grandma, command=True, lang="zh")
        await grandma.send(words)
        again = await grandma.wait_for(text="第 1 步，共 4 步。")
        await grandma.send("/cancel")
        await grandma.wait_for(text="已取消填写")
        return again.buttons[0]

    await admin.send("/start")
    await admin.wait_for(text="Choose below")
    assert await first_button("院子里的水龙头一直开着没人关") == "生活环境"  # no keyword yet
    add_keywords("水龙头", "水龙头")
    await admin.send("/reload")
    refused = await admin.wait_for(text="Not reloaded")
    assert "keywords" in (refused.text or "") and "listed twice" in (refused.text or "")
    assert await first_button("院子里的水龙头一直开着没人关") == "生活环境"

    source.write_text(source.read_text("utf-8").replace('"水龙头", "水龙头"', '"水龙头"'),
                      "utf-8")
    await admin.send("/reload")
    await admin.wait_for(text="Reloaded")
    assert await first_button("院子里的水龙头一直开着没人关") == "⭐ 建议：生活环境"


async def test_typing_a_categorys_name_at_the_first_step_chooses_it(town: Town) -> None:
    """王奶奶 types the label she sees on a button (基础设施) rather than tapping it: that is her
    choice, not her description — the form asks step 2, what is wrong, and her request carries
    what she then says; Alice types "legal aid." in English, likewise."""
    grandma = town.grandma
    await open_form(grandma, command=True, lang="zh")
    await grandma.send(" 基础设施 ")
    await grandma.wait_for(text="第 2 步，共 4 步。")
    await grandma.send("楼道的灯坏了")
    await grandma.wait_for(text="第 3 步，共 4 步。")
    draft = await draft_of(town, grandma)
    assert (draft.data["category"], draft.data["description"]) == ("infrastructure",
                                                                   "楼道的灯坏了")
    alice = town.citizen
    await open_form(alice, command=True)
    await alice.send("legal aid.")
    await alice.wait_for(text="Step 2 of 4")
    draft = await draft_of(town, alice)
    assert draft.data["category"] == "legal" and not draft.data.get("description")


async def test_an_emoji_or_a_question_mark_at_the_first_step_is_no_description(
        town: Town) -> None:
    """👍 or 🙏, or a lone ？, as many elderly people answer: no words, so not kept as the
    description (the description step would then be skipped and the volunteers' card say "👍");
    the buttons are pointed to, and after the tap step 2 asks what is wrong."""
    grandma = town.grandma
    first = await open_form(grandma, command=True, lang="zh")
    for junk in ("👍🙏", "？", "😭 !!"):
        await grandma.send(junk)
        again = await told(grandma, "请使用下面的按钮。", "第 1 步，共 4 步。")
    assert again.buttons == first.buttons
    draft = await draft_of(town, grandma)
    assert not draft.data.get("description") and not draft.data.get("told")
    await grandma.press("基础设施", message=again)
    await grandma.wait_for(text="第 2 步，共 4 步。")
