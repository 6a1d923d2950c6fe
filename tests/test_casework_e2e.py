"""Casework end to end: an admin's /find, /assign, /cancel, /reopen and /move on one request.

Every story runs the real bot against the sandbox Telegram over HTTP. Each admin action
answers the admin in one line where they typed, tells the citizen and the volunteer in their
own language, edits the cards, and shows up in /find's timeline with who and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import REF, card_of, claim, file_request, open_bot, open_form, refused_in_private

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
AREAS = {"areas": {"file": str(AREA_FILE)}}
REGISTERED = {"volunteers": {"claim_mode": "registered"}}
ALICE_PHONE = "+8613800000001"
GRANDMA_PHONE = "+8613800000002"
CLAIM = "🙋 Claim"
GUANGMINGLU = "Guangminglu Subdistrict Practice Institute"
GUANGMINGLU_01 = "Guangminglu Community 1 Practice Station"
GUANGMINGLU_02 = "Guangminglu Community 2 Practice Station"
ZHONGXINJIE = "Zhongxinjie Subdistrict Practice Institute"
ZHONGXINJIE_01 = "Zhongxinjie Community 1 Practice Station"


# -- small steps the stories share -----------------------------------------------------------


async def admin_says(town: Town, command: str, expect: str,
                     chat: SimChat | None = None) -> SimMessage:
    """The admin types a command (in the admin chat unless told) and reads the one answer."""
    where = chat or town.admin_chat
    await town.admin.send(command, chat=where)
    return await where.wait_for(text=expect)


async def claimed_by(town: Town, volunteer: SimUser, card: SimMessage, ref: str,
                     phone: str = ALICE_PHONE) -> SimMessage:
    """A volunteer claims a card and gets the details with the phone in private."""
    popup = await claim(volunteer, town.volunteers, card)
    assert popup.startswith("It is yours") and ref in popup, popup
    details = await volunteer.wait_for(text=ref, predicate=lambda m: phone in (m.text or ""))
    await town.sb.wait_until(lambda: f"claimed by {volunteer.first_name}" in (card.text or ""))
    return details


async def file_in_chinese(grandma: SimUser) -> str:
    """王奶奶 files a request through the form in Chinese; returns its reference."""
    await grandma.send("/start")
    await grandma.wait_for(text="请在下面选择")
    await open_form(grandma, lang="zh")
    await grandma.press("助老服务")
    await grandma.wait_for(text="请说明情况")
    await grandma.send("厨房水龙头漏水，我自己修不好。")
    await grandma.wait_for(text="在哪里")
    await grandma.send("建设路12号3栋")
    await grandma.wait_for(text="志愿者怎么联系您")
    await grandma.tap("📞 发送我的手机号")
    await grandma.wait_for(text="内容都对吗")
    await grandma.press("✅ 确认提交")
    match = REF.search((await grandma.wait_for(text="编号")).text)
    assert match
    return match.group(0)


async def file_at(citizen: SimUser, institute: str, station: str, text: str) -> str:
    """On the area tree: a citizen files an elderly-help request at a community."""
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below")
    await open_form(citizen)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem")
    await citizen.send(text)
    await citizen.wait_for(text="Where is it")
    await citizen.send("12 Jianshe Road, building 3")
    institutes = await citizen.wait_for(text="Tap your subdistrict or town first")
    await citizen.press(institute, message=institutes)
    stations = await citizen.wait_for(text=f"And which community in {institute}?")
    await citizen.press(station, message=stations)
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("📞 Share my phone number")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    match = REF.search((await citizen.wait_for(text="Reference number")).text)
    assert match
    return match.group(0)


def timeline(found: SimMessage) -> list[list[str]]:
    """The /find timeline as [time, what, who, details...] per line."""
    lines = found.text.split("Timeline", 1)[1].strip().splitlines()
    return [line.split(" · ") for line in lines]


def mentions(chat: SimChat, text: str) -> list[SimMessage]:
    """Every live bot message of a chat that contains `text`."""
    return [m for m in chat.bot_messages() if text in (m.text or "")]


async def run_sql(town: Town, work: Any) -> Any:
    """Do something straight in the database (what another admin command would do)."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.transaction() as repo:
        return await work(repo, services.env.now())


def assert_clean(town: Town) -> None:
    """Telegram never had to slow the bot down and refused none of its calls."""
    assert town.sb.count_429 == 0, town.sb.errors
    assert town.sb.errors == []


# -- /assign ---------------------------------------------------------------------------------


async def test_assign_gives_a_waiting_request_to_a_volunteer(town: Town) -> None:
    """Nobody has claimed Alice's request. The admin assigns it to Li by his id, with a
    reason: the admin gets one line, Li gets the details with the phone exactly as if he had
    claimed it, the card names Li and loses Claim, Alice is told a volunteer took it, and
    /find shows who assigned it, to whom and why."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)

    await admin_says(town, f"/assign {ref} {town.vol1.id} she asked for Li",
                     f"✅ {ref} is assigned to Li.")
    await town.vol1.wait_for(text=f"An admin has given you request {ref}")
    details = await town.vol1.wait_for(text=f"You took {ref}")
    assert ALICE_PHONE in details.text and "12 Jianshe Road" in details.text
    assert details.buttons == ["✅ Done", "↩️ Release", "💬 Message the citizen"]
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or "") and not card.buttons)
    await town.citizen.wait_for(text=f"a volunteer has taken your request {ref}")

    # Li works it like any claim: Done goes through.
    await town.vol1.press("✅ Done", message=details)
    await town.vol1.wait_for(text="Write a short note")

    await town.admin.send(f"/find {ref}", chat=town.admin_chat)
    found = await town.admin_chat.wait_for(text="Timeline")
    assigned = next(line for line in timeline(found) if line[1] == "assigned by an admin")
    assert assigned[2:] == ["Admin", "to Li", "reason: she asked for Li"]

    # An admin who reads Chinese reads the timeline's times the Chinese way.
    await town.admin.send("/lang")
    await town.admin.press("中文", message=await town.admin.wait_for(text="Choose your language"))
    await town.admin.wait_for(text="语言已设置为中文")
    await town.admin.send(f"/find {ref}")
    chinese = await town.admin.wait_for(text="办理记录")
    assert "6月10日 周三 10:00 · " in (chinese.text or "")
    assert "2026-06-10" not in (chinese.text or "")
    assert_clean(town)


async def test_reassigning_a_claimed_request_tells_the_volunteer_who_had_it(town: Town) -> None:
    """Li has claimed Alice's request but the admin gives it to Wang by @username. Li is told
    it went to someone else, Wang gets the details, the card names Wang, and Alice hears it
    was passed on. Assigning it to Wang again changes nothing and says so."""
    wang = town.sb.add_user("Wang", language_code="en", username="wang_helps")
    town.volunteers.add_member(wang)
    await open_bot(town.vol1, wang)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await claimed_by(town, town.vol1, card, ref)

    await admin_says(town, f"/assign {ref} @Wang_Helps", f"✅ {ref} is assigned to Wang.")
    await town.vol1.wait_for(text=f"An admin has given {ref} to another volunteer")
    await wang.wait_for(text=ref, predicate=lambda m: ALICE_PHONE in (m.text or ""))
    await town.sb.wait_until(lambda: "claimed by Wang" in (card.text or "") and not card.buttons)
    await town.citizen.wait_for(text=f"Your request {ref} has been passed to another volunteer")

    await admin_says(town, f"/assign {ref} @wang_helps", f"{ref} is already Wang's.")
    assert len(mentions(wang.private, f"You took {ref}")) == 1
    # Li's buttons no longer work on it.
    press = await town.vol1.press("↩️ Release", message=mentions(town.vol1.private,
                                                                 f"You took {ref}")[0])
    assert "not (or no longer) yours" in ((await press.answer()).text or "")
    assert_clean(town)


async def test_assigning_someone_who_never_opened_the_bot_is_refused(town: Town) -> None:
    """Zhang presses Claim without ever having opened the bot, so the bot knows him but may
    not write to him: assigning him is refused with what to do, and the request stays open.
    A person the bot never saw is refused too, and so is Li once he is banned."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    press = await town.vol2.press(CLAIM, chat=town.volunteers, message=card)
    assert "open the bot first" in ((await press.answer()).text or "")

    refusal = await admin_says(town, f"/assign {ref} {town.vol2.id}",
                               "Zhang has not opened the bot in private")
    assert f"@{town.sb.bot_username}" in refusal.text
    await admin_says(town, f"/assign {ref} 987654", "I do not know 987654.")
    await admin_says(town, f"/assign {ref} @nobody_here", "I do not know @nobody_here.")

    async def ban_li(repo: Any, now: float) -> None:
        await repo.people.ban(town.vol1.id, "abusive", town.admin.id, now)

    await open_bot(town.vol1)
    await run_sql(town, ban_li)
    await admin_says(town, f"/assign {ref} {town.vol1.id}", "Li is banned")
    assert mentions(town.vol1.private, ref) == []
    assert card.buttons == [CLAIM] and "waiting for a volunteer" in card.text
    assert mentions(town.vol2.private, ref) == []
    assert mentions(town.citizen.private, "a volunteer has taken") == []
    assert_clean(town)


@pytest.mark.parametrize("town_settings", [REGISTERED], ids=["registered"])
async def test_only_approved_volunteers_can_be_assigned_in_registered_mode(town: Town) -> None:
    """Only registered volunteers may take requests here. Li has opened the bot but is not
    approved: assigning him is refused with a clear message. Once his registration is
    approved, the same /assign goes through."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)

    await admin_says(town, f"/assign {ref} {town.vol1.id}", "Li is not an approved volunteer")
    assert card.buttons == [CLAIM]

    async def approve(repo: Any, now: float) -> None:
        await repo.volunteers.apply(town.vol1.id, "李明", None, None, None, now)
        await repo.volunteers.decide(town.vol1.id, True, town.admin.id, None, now)

    await run_sql(town, approve)
    await admin_says(town, f"/assign {ref} {town.vol1.id}", f"✅ {ref} is assigned to Li.")
    await town.vol1.wait_for(text=ref, predicate=lambda m: ALICE_PHONE in (m.text or ""))
    assert_clean(town)


# -- /cancel ---------------------------------------------------------------------------------


async def test_cancel_with_a_reason_tells_grandma_in_chinese_and_li_in_english(
    town: Town,
) -> None:
    """Li is on 王奶奶's request when the admin cancels it as a duplicate. 王奶奶 reads the
    reason in Chinese, Li in English; the card says an admin cancelled it; /find shows the
    admin and the reason. Without a reason, /cancel only shows its usage; a second cancel is
    refused; and 王奶奶 cannot reopen it herself."""
    await open_bot(town.vol1)
    ref = await file_in_chinese(town.grandma)
    card = await card_of(town.volunteers, ref)
    await claimed_by(town, town.vol1, card, ref, phone=GRANDMA_PHONE)

    usage = await admin_says(town, f"/cancel {ref}", "Usage: /cancel <reference> <reason>")
    assert "e.g. /cancel 2026-000123" in usage.text
    assert "cancelled" not in card.text

    await admin_says(town, f"/cancel {ref} 重复提交 duplicate of an earlier one",
                     f"✖️ {ref} is cancelled; the citizen was told the reason.")
    told = await town.grandma.wait_for(text=f"您的诉求 {ref} 已被服务中心取消")
    assert "原因：重复提交 duplicate of an earlier one" in told.text
    await town.vol1.wait_for(text=f"An admin cancelled {ref} (重复提交 duplicate of an")
    await town.sb.wait_until(lambda: f"{ref} · cancelled by an admin" in (card.text or ""))
    assert not card.buttons and "cancelled by the citizen" not in card.text

    await town.admin.send(f"/find {ref}", chat=town.admin_chat)
    found = await town.admin_chat.wait_for(text=f"{ref} · cancelled")
    assert timeline(found)[-1][1:] == ["cancelled by an admin", "Admin",
                                       "reason: 重复提交 duplicate of an earlier one"]

    await admin_says(town, f"/cancel {ref} again", f"{ref} is cancelled: only open requests")
    await town.grandma.send(f"/reopen {ref} 还是漏水")
    await town.grandma.wait_for(text="只有管理员可以这样做")
    assert_clean(town)


async def test_a_citizen_typing_cancel_with_their_reference_gets_the_confirmation(
    town: Town,
) -> None:
    """Alice types /cancel with her request's reference: she gets the same Yes/No question as
    the Cancel button, and Yes cancels it. 王奶奶 typing Alice's reference is told only admins
    can do that, and nothing of Alice's request is shown to her."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)

    await town.grandma.send(f"/cancel {ref} not mine")
    refusal = await town.grandma.wait_for(text="只有管理员")
    assert ref not in refusal.text

    await town.citizen.send(f"/cancel {ref}")
    question = await town.citizen.wait_for(text=f"Cancel request {ref}?")
    assert question.buttons == ["Yes, cancel it", "No, keep it"]
    await town.citizen.press("Yes, cancel it", message=question)
    await town.citizen.wait_for(text=f"Request {ref} is cancelled")
    await town.sb.wait_until(lambda: "cancelled by the citizen" in (card.text or ""))

    await town.citizen.send(f"/cancel {ref}")
    await town.citizen.wait_for(text="can no longer be cancelled")
    assert_clean(town)


# -- /reopen ---------------------------------------------------------------------------------


async def test_reopen_a_closed_request_posts_a_fresh_card_anyone_can_claim(town: Town) -> None:
    """Li finished Alice's request and she confirmed it, but she calls the centre: it is not
    fixed. The admin reopens it with the reason: a fresh card with Claim appears in the
    volunteers group, the old one is marked, Alice and Li are told, Li's hours for it no
    longer count, and Zhang claims it. Reopening a request that is still open is refused."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    old_card = await card_of(town.volunteers, ref)
    details = await claimed_by(town, town.vol1, old_card, ref)
    await town.vol1.press("✅ Done", message=details)
    await town.vol1.press("Skip", message=await town.vol1.wait_for(text="Write a short note"))
    await town.citizen.wait_for(text=f"Is your request {ref} resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await town.sb.wait_until(lambda: f"{ref}" in (old_card.text or "")
                             and "closed" in (old_card.text or ""))


    async def credit_li_two_hours(repo: Any, now: float) -> dict[int, Any]:
        request = await repo.requests.request_by_ref(ref)
        await repo.volunteers.record_hours(request.id, town.vol1.id, 2.0, now)
        await repo.volunteers.credit_hours(request.id, now)
        return await repo.volunteers.hours_of([town.vol1.id], 0)

    async def li_hours(repo: Any, now: float) -> dict[int, Any]:
        return await repo.volunteers.hours_of([town.vol1.id], 0)

    assert await run_sql(town, credit_li_two_hours) == {town.vol1.id: (2.0, 2.0)}
    await admin_says(town, f"/reopen {ref} the tap leaks again",
                     f"🔁 {ref} is reopened and posted to the volunteers again.")
    assert await run_sql(town, li_hours) == {}  # the outcome is undone, and its hours
    new_card = await town.volunteers.wait_for(
        text=ref, predicate=lambda m: m.message_id > old_card.message_id and bool(m.buttons))
    assert new_card.buttons == [CLAIM] and "Reopened 1 time" in new_card.text
    await town.sb.wait_until(lambda: "Reopened by an admin" in (old_card.text or ""))
    assert not old_card.buttons
    told = await town.citizen.wait_for(text=f"Your request {ref} was reopened")
    assert "Reason: the tap leaks again" in told.text
    await town.vol1.wait_for(text=f"An admin reopened {ref}, which you worked on")

    await claimed_by(town, town.vol2, new_card, ref)
    await admin_says(town, f"/reopen {ref} why not",
                     f"{ref} is claimed, in progress: only a done, closed or cancelled")

    await town.admin.send(f"/find {ref}", chat=town.admin_chat)
    found = await town.admin_chat.wait_for(text=f"{ref} · claimed, in progress")
    kinds = [line[1] for line in timeline(found)]
    at = kinds.index("reopened by an admin")
    assert kinds[at + 1:] == ["posted to volunteers", "claimed"]
    assert timeline(found)[at][2:] == ["Admin", "reason: the tap leaks again"]
    assert_clean(town)


# -- /move -----------------------------------------------------------------------------------


async def test_move_to_another_category_reposts_in_that_categorys_group(town: Town) -> None:
    """Alice filed under elderly help but it is a legal matter, and Li has claimed it. The
    admin binds a lawyers' group and moves the request to legal aid: the card goes up there
    with Claim, the old card says where it went, Li is released and told, Alice is told the
    new category. Moving it to where it already is, or to something unknown, is explained."""
    lawyers = town.sb.add_group("Lawyers")
    lawyers.add_member(town.admin, status="administrator")
    await admin_says(town, "/bind legal", "This group now receives requests for Legal aid",
                     chat=lawyers)
    await open_bot(town.vol1)
    ref = await file_request(town.citizen, text="My landlord keeps my deposit.")
    old_card = await card_of(town.volunteers, ref)
    await claimed_by(town, town.vol1, old_card, ref)

    await admin_says(town, f"/move {ref} legal",
                     f"➡️ {ref} moved from Help for the elderly to Legal aid")
    card = await card_of(lawyers, ref)
    assert card.buttons == [CLAIM] and "Legal aid" in card.text
    await town.sb.wait_until(lambda: "Moved to Legal aid" in (old_card.text or ""))
    assert not old_card.buttons
    await town.vol1.wait_for(text=f"An admin moved {ref} to Legal aid")
    await town.citizen.wait_for(text=f"Your request {ref} now belongs to Legal aid")

    await admin_says(town, f"/move {ref} LEGAL", f"{ref} is already in Legal aid.")
    unknown = await admin_says(town, f"/move {ref} plumbing",
                               "There is no category or area plumbing.")
    assert "elderly, environment, legal" in unknown.text

    await town.vol1.send("/mytasks")
    await town.vol1.wait_for(text="You have no open tasks.")
    await town.admin.send(f"/find {ref}", chat=town.admin_chat)
    found = await town.admin_chat.wait_for(text="Timeline")
    moved = next(line for line in timeline(found) if line[1] == "moved")
    assert moved[2:] == ["Admin", "Help for the elderly → Legal aid"]
    assert_clean(town)


# -- bad input and who may ---------------------------------------------------------------


async def test_unknown_references_garbage_and_non_admins_get_one_line(town: Town) -> None:
    """An unknown reference is named with the command's usage; a forged argument gets only
    the usage; each command without arguments shows its usage; Li, no admin, is refused in
    the group and in private; /find never shows personal data in a volunteer group."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)

    none = await admin_says(town, f"/assign 2026-999999 {town.vol1.id}",
                            "No request has the reference 2026-999999.")
    assert "Usage: /assign" in none.text
    forged = await admin_says(town, "/assign ../../etc x", "Usage: /assign")
    assert "No request" not in forged.text
    await admin_says(town, "/reopen 2026-999999 because", "No request has the reference")
    await admin_says(town, "/reopen", "Usage: /reopen <reference> <reason>")
    await admin_says(town, f"/move {ref}", "Usage: /move <reference> <category or area id>")
    await admin_says(town, "/move <b>x</b> legal", "Usage: /move")
    await admin_says(town, "/find x'; DROP TABLE requests", "Usage: /find")
    await admin_says(town, f"/cancel {ref} " + "x" * 600, "keep the reason under 500")

    await refused_in_private(town.vol1, town.volunteers, f"/assign {ref} {town.vol1.id}")
    await town.vol1.send(f"/cancel {ref} mine now")
    await town.vol1.wait_for(text="only admins can do this")
    await town.vol1.send(f"/move {ref} legal")
    await town.vol1.wait_for(text="only admins can do this")
    await town.admin.send(f"/find {ref}", chat=town.volunteers)
    await town.volunteers.wait_for(text="This shows phone numbers")

    assert card.buttons == [CLAIM] and "waiting for a volunteer" in card.text
    assert mentions(town.citizen.private, "cancelled") == []
    assert_clean(town)


@pytest.mark.parametrize("town_settings", [AREAS], ids=["areas"])
async def test_an_area_admin_acts_inside_their_area_only(town: Town) -> None:
    """Zhang is made admin of Guangminglu. He finds and cancels a Guangminglu request and
    moves another within Guangminglu; a Zhongxinjie request is not in his area: /find,
    /cancel and /assign say so, and he may not move his own requests out of his area."""
    zhang = town.vol2
    await open_bot(zhang, town.vol1)

    async def grant(repo: Any, now: float) -> None:
        await repo.people.grant(zhang.id, "guangminglu", town.admin.id, now)

    await run_sql(town, grant)
    at_01 = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01, "The tap drips.")
    at_01_again = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01, "The lift stops.")
    elsewhere = await file_at(town.citizen, ZHONGXINJIE, ZHONGXINJIE_01, "The door sticks.")
    for ref in (at_01, at_01_again, elsewhere):
        await card_of(town.volunteers, ref)

    await zhang.send(f"/find {elsewhere}")
    refusal = await zhang.wait_for(text=f"{elsewhere} is not in your area.")
    assert ALICE_PHONE not in refusal.text and "service centre" in refusal.text
    await zhang.send(f"/cancel {elsewhere} not needed")
    await zhang.wait_for(text=f"{elsewhere} is not in your area.")
    await zhang.send(f"/assign {elsewhere} {town.vol1.id}")
    await zhang.wait_for(text=f"{elsewhere} is not in your area.")
    await zhang.send(f"/move {at_01_again} zhongxinjie-01")
    await zhang.wait_for(text="zhongxinjie-01 is not in your area.")

    await zhang.send(f"/find {at_01}")
    found = await zhang.wait_for(text=f"{at_01} · waiting for a volunteer")
    assert ALICE_PHONE in found.text and GUANGMINGLU_01 in found.text
    await zhang.send(f"/cancel {at_01} solved by the neighbours")
    await zhang.wait_for(text=f"✖️ {at_01} is cancelled")
    await town.citizen.wait_for(text=f"Your request {at_01} was cancelled by the service centre")
    await zhang.send(f"/move {at_01_again} guangminglu-02")
    await zhang.wait_for(text=f"➡️ {at_01_again} moved from {GUANGMINGLU_01} to {GUANGMINGLU_02}")
    moved = await town.volunteers.wait_for(
        text=at_01_again, predicate=lambda m: GUANGMINGLU_02 in (m.text or ""))
    assert moved.buttons == [CLAIM]
    await town.citizen.wait_for(text=f"Your request {at_01_again} now belongs to {GUANGMINGLU_02}")

    # The centre admin reaches everywhere.
    await admin_says(town, f"/cancel {elsewhere} duplicate", f"✖️ {elsewhere} is cancelled")
    assert_clean(town)
