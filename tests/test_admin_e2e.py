"""The admin console's own commands, end to end: a centre admin makes area admins, bans a
citizen who abuses the service, and sends a message to an area's volunteers; citizens meet the
intake limits; every role sees its own command menu.

The town runs on the full synthetic tree of Shizhong district.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimUser
from storage import Database, Outgoing
from tests.conftest import SHANGHAI, Town
from tests.flows import REF, eventually, long_as, open_bot, open_form, too_old
from tests.test_activities_e2e import all_sent
from tests.test_areas_e2e import start_request
from tests.test_quiet_hours_e2e import at, said, sounds

AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
GUANGMINGLU = "Guangminglu Subdistrict Practice Institute"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """The tree, and intake limits small enough to meet in a story."""
    return {"areas": {"file": str(AREA_FILE)},
            "limits": {"max_open_requests": 2, "max_requests_per_day": 3}}


def menu(town: Town, scope: dict[str, Any], language: str = "") -> list[str]:
    """The command names the sandbox holds for a scope (and language)."""
    key = json.dumps([scope, language], sort_keys=True)
    return [c["command"] for c in town.sb.api.commands.get(key, [])]


async def known_user(town: Town, name: str, username: str, language: str = "en") -> SimUser:
    """Someone who has opened the bot, so admins can name them by @username."""
    user = town.sb.add_user(name, language_code=language, username=username)
    await user.send("/start")
    await user.wait_for(text="Choose below" if language == "en" else "请在下面选择")
    return user


async def approved_volunteer(town: Town, user: SimUser, area: str) -> None:
    """A volunteer of `area` whose registration an admin approved (as /join would leave it)."""
    assert town.bot.services is not None
    env = town.bot.services.env
    async with env.db.transaction() as repo:
        await repo.volunteers.apply(user.id, user.first_name, None, area, None, env.now())
        assert await repo.volunteers.decide(user.id, True, town.admin.id, None, env.now())


async def fill_form(citizen: SimUser) -> None:
    """A citizen fills the form for Guangminglu Community 1, up to the Confirm question."""
    await start_request(citizen, "Help for the elderly", "The stairs light is broken.")
    await citizen.send("5 Guangming Road")
    await citizen.wait_for(text="Which community")
    await citizen.press(GUANGMINGLU)
    await citizen.wait_for(text="which community in")
    await citizen.press("Guangminglu Community 1 Practice Station")
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("Skip")
    await citizen.wait_for(text="Is everything correct?")


async def file_request(citizen: SimUser) -> str:
    """A citizen files a request in Guangminglu Community 1 and returns its reference."""
    await fill_form(citizen)
    await citizen.press("✅ Confirm and send")
    receipt = await citizen.wait_for(text="Reference number")
    match = REF.search(receipt.text)
    assert match, receipt.text
    return match.group(0)


# -- area admins -----------------------------------------------------------------------------


async def test_a_centre_admin_grants_an_area_and_the_new_admin_is_told_and_gets_the_menu(
    town: Town,
) -> None:
    liming = await known_user(town, "Liming", "liming")
    await town.admin.send("/grant @liming guangminglu")
    await town.admin.wait_for(text=f"Liming ({liming.id}) is now an admin of {GUANGMINGLU}")
    await liming.wait_for(text=f"You are now an admin of {GUANGMINGLU}")
    private = {"type": "chat", "chat_id": liming.id}
    await town.sb.wait_until(lambda: "stats" in menu(town, private), timeout=5)
    assert "grant" not in menu(town, private)  # an area admin cannot make admins

    await town.admin.send("/admins")
    listing = await town.admin.wait_for(text="Admins")
    assert f"Liming ({liming.id}) — {GUANGMINGLU}" in listing.text
    assert "the whole district (centre)" in listing.text

    await town.admin.send(f"/grant {liming.id} guangminglu")
    await town.admin.wait_for(text="is already an admin of")

    await town.admin.send("/revoke @liming")
    await town.admin.wait_for(text=f"Liming ({liming.id}) is no longer an admin of any area")
    await liming.wait_for(text="You are no longer an admin")
    await town.sb.wait_until(lambda: menu(town, private) == [], timeout=5)


async def test_an_area_admin_cannot_grant_and_bad_grants_are_explained(town: Town) -> None:
    liming = await known_user(town, "Liming", "liming")
    await town.admin.send("/grant @liming guangminglu")
    await liming.wait_for(text="You are now an admin")

    await liming.send("/grant @liming zhongxinjie")
    await liming.wait_for(text="only the service centre's admins")
    await town.admin.send("/grant")
    await town.admin.wait_for(text="Usage: /grant <user id or @username> <area id>")
    await town.admin.send("/grant @nobody guangminglu")
    await town.admin.wait_for(text="I do not know @nobody")
    await town.admin.send("/grant @liming atlantis")
    await town.admin.wait_for(text="There is no area atlantis")
    await town.admin.send(f"/grant {town.admin.id} guangminglu")
    await town.admin.wait_for(text="is a centre admin already")
    await town.citizen.send("/grant @liming guangminglu")
    await town.citizen.wait_for(text="only the service centre's admins")


# -- bans and intake limits ------------------------------------------------------------------


async def test_a_banned_citizen_is_refused_politely_and_their_requests_stay(town: Town) -> None:
    await town.grandma.send("/start")
    await town.grandma.wait_for(text="请在下面选择")
    ref = await file_request(town.citizen)

    await town.admin.send(f"/ban {town.citizen.id} repeated fake requests")
    await town.admin.wait_for(text="is banned: repeated fake requests")
    await town.admin.send(f"/ban {town.grandma.id}")
    await town.admin.wait_for(text="Usage: /ban")
    await town.admin.send(f"/ban {town.admin.id} no reason at all")
    await town.admin.wait_for(text="is an admin and cannot be banned")
    # 201 as Telegram counts them (🚫 counts 2): over 200; 200 exactly is taken below.
    await town.admin.send(f"/ban {town.grandma.id} " + long_as("🚫 spam", 201))
    await town.admin.wait_for(text="The reason is 201 characters long; at most 200")

    await town.citizen.send("/new")
    await town.citizen.wait_for(text="you cannot file new requests at the moment")
    await town.admin.send(f"/find {ref}")
    await town.admin.wait_for(text=ref)  # the request is still there for the admins

    await town.admin.send(f"/ban {town.grandma.id} " + long_as("恶意骚扰", 200))
    await town.admin.wait_for(text="is banned")
    await town.grandma.send("/new")
    await town.grandma.wait_for(text="您目前不能提交新的求助")

    await town.admin.send(f"/unban {town.citizen.id}")
    await town.admin.wait_for(text="may file requests again")
    await open_form(town.citizen, command=True)


async def test_a_ban_during_the_form_stops_the_request_at_confirm_and_keeps_the_draft(
    town: Town,
) -> None:
    await fill_form(town.citizen)

    await town.admin.send(f"/ban {town.citizen.id} spam")
    await town.admin.wait_for(text="is banned")
    await town.citizen.press("✅ Confirm and send")
    await town.citizen.wait_for(text="you cannot file new requests")
    assert not any("Reference number" in (m.text or "")
                   for m in town.citizen.private.bot_messages())
    assert town.volunteers.last_bot_message is None  # nothing was dispatched

    await town.admin.send(f"/unban {town.citizen.id}")
    await town.admin.wait_for(text="may file requests again")
    await town.citizen.press("✅ Confirm and send")  # the draft was kept
    await town.citizen.wait_for(text="Reference number")


async def cancel_from_my_requests(citizen: SimUser, ref: str) -> None:
    """The citizen cancels a request from My requests, confirming."""
    await citizen.send("/my")
    listing = await citizen.wait_for(text=ref)
    await citizen.press(f"✖ Cancel {ref}", message=listing)
    await citizen.wait_for(text=f"Cancel request {ref}?")
    await citizen.press("Yes, cancel it")
    await citizen.wait_for(text=f"Request {ref} is cancelled.")


async def test_the_intake_limits_answer_with_a_clear_message(town: Town) -> None:
    first = await file_request(town.citizen)
    second = await file_request(town.citizen)
    await town.citizen.send("/new")
    await town.citizen.wait_for(text="You already have 2 requests in progress")

    # Cancelling one makes room; the daily limit (3 in 24 hours) still counts it.
    await cancel_from_my_requests(town.citizen, first)
    third = await file_request(town.citizen)
    await town.citizen.send("/new")
    await town.citizen.wait_for(text="You already have 2 requests in progress")
    await cancel_from_my_requests(town.citizen, second)
    await cancel_from_my_requests(town.citizen, third)
    await town.citizen.send("/new")
    await town.citizen.wait_for(text="You have filed 3 requests in the last 24 hours")
    await town.tick(hours=25)
    await open_form(town.citizen, command=True)


# -- broadcasts ------------------------------------------------------------------------------


async def test_a_broadcast_is_previewed_then_sent_to_the_areas_volunteers_only(
    town: Town,
) -> None:
    wang = await known_user(town, "老王", "laowang", language="zh")
    far = await known_user(town, "Far", "faraway")
    await approved_volunteer(town, wang, "guangminglu-01")
    await approved_volunteer(town, far, "zhongxinjie-01")

    await town.admin.send("/broadcast guangminglu Training on Saturday at 9:00 <bring ID>")
    preview = await town.admin.wait_for(text="Preview")
    assert f"to 1 volunteers in {GUANGMINGLU}" in preview.text
    assert "Training on Saturday at 9:00 <bring ID>" in preview.text
    send_data = preview.reply_markup["inline_keyboard"][0][0]["callback_data"]
    await town.admin.press("✅ Send", message=preview)
    told = await wang.wait_for(text="服务中心通知")
    assert "Training on Saturday at 9:00 <bring ID>" in told.text
    await town.sb.wait_until(
        lambda: "Sent to 1 volunteers" in (getattr(town.admin.private.get(preview.message_id),
                                                   "text", "") or ""), timeout=5)
    assert not any("Training" in (m.text or "") for m in far.private.bot_messages())

    # A second Send (a replayed press on the same preview) sends nothing more.
    press = await town.admin.press_data(send_data, message=too_old(preview))
    assert "already sent" in ((await press.answer()).text or "")
    assert sum("Training" in (m.text or "") for m in wang.private.bot_messages()) == 1


async def test_a_volunteer_who_blocked_the_bot_is_left_out_until_they_come_back(
    town: Town,
) -> None:
    """Wang and Zhao volunteer in Guangminglu. Wang blocks the bot; a broadcast to both is
    refused for him by Telegram, and from then on he is no longer counted: the next
    broadcast goes to 1 volunteer. Once Wang opens the bot again he is counted again."""
    wang = await known_user(town, "Wang", "wang")
    zhao = await known_user(town, "Zhao", "zhao")
    await approved_volunteer(town, wang, "guangminglu-01")
    await approved_volunteer(town, zhao, "guangminglu-02")
    wang.block()

    await town.admin.send("/broadcast guangminglu Training on Saturday at 9:00")
    preview = await town.admin.wait_for(text="to 2 volunteers")
    await town.admin.press("✅ Send", message=preview)
    await zhao.wait_for(text="Training on Saturday")
    await town.sb.wait_until(
        lambda: ("sendMessage", "Forbidden: bot was blocked by the user") in town.sb.errors)

    async def refused_noted() -> bool:  # the refusal's bookkeeping follows its answer
        assert town.bot.services is not None
        async with town.bot.services.env.db.reading() as repo:
            known = await repo.people.user(wang.id)
        return known is not None and known.blocked

    async def preview_counts() -> str:
        await town.admin.send("/broadcast guangminglu Bring gloves")
        preview = await town.admin.wait_for(text="Bring gloves")
        shown = preview.text or ""
        await town.admin.press("✖️ Cancel", message=preview)
        await town.sb.wait_until(lambda: "nothing was sent" in (preview.text or ""))
        return shown

    await eventually(refused_noted)
    assert f"to 1 volunteers in {GUANGMINGLU}" in await preview_counts()
    await wang.send("/start")
    await wang.wait_for(text="Choose below")
    assert f"to 2 volunteers in {GUANGMINGLU}" in await preview_counts()


async def test_broadcasts_are_scoped_cancellable_and_explained(town: Town) -> None:
    liming = await known_user(town, "Liming", "liming")
    wang = await known_user(town, "Wang", "wang")
    await approved_volunteer(town, wang, "guangminglu-02")
    await town.admin.send("/grant @liming guangminglu")
    await liming.wait_for(text="You are now an admin")

    await liming.send("/broadcast zhongxinjie Hello")
    await liming.wait_for(text="zhongxinjie is not an area you can send to")
    await liming.send("/broadcast guangminglu")
    await liming.wait_for(text="Usage: /broadcast")
    await liming.send("/broadcast zhongxinjie-01 x")
    await liming.wait_for(text="is not an area you can send to")
    await liming.send("/broadcast guangminglu-02 Meeting moved to Sunday")
    preview = await liming.wait_for(text="to 1 volunteers")
    await liming.press("✖️ Cancel", message=preview)
    await town.sb.wait_until(
        lambda: "nothing was sent" in (getattr(liming.private.get(preview.message_id), "text",
                                               "") or ""), timeout=5)
    assert not any("Meeting" in (m.text or "") for m in wang.private.bot_messages())
    await town.citizen.send("/broadcast guangminglu hi")
    await town.citizen.wait_for(text="only admins can do this")


# -- menus -----------------------------------------------------------------------------------


async def test_each_role_sees_its_own_command_menu(town: Town) -> None:
    citizen_menu = menu(town, {"type": "all_private_chats"})
    assert "new" in citizen_menu and "stats" not in citizen_menu
    assert menu(town, {"type": "all_chat_administrators"}) == ["bind", "bindings", "stats"]
    admin_chat = menu(town, {"type": "chat", "chat_id": town.admin_chat.id})
    assert "export" in admin_chat and "new" not in admin_chat
    centre = {"type": "chat", "chat_id": town.admin.id}
    await open_bot(town.admin)  # a person's own menu is set once they have opened the bot
    await town.sb.wait_until(lambda: "ban" in menu(town, centre), timeout=5)
    assert menu(town, {"type": "all_private_chats"}, "zh") == citizen_menu  # in Chinese too


def menu_calls(town: Town, user: SimUser) -> list[Any]:
    """What Telegram answered each setMyCommands for that person's own chat."""
    return [answer for _, params, answer in town.sb.calls_to("setMyCommands")
            if params.get("scope") == {"type": "chat", "chat_id": user.id}]


async def test_a_role_given_before_someone_opened_the_bot_brings_its_menu_at_their_start(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """Zhang types /new in the volunteers' group but has never opened the bot, so Telegram
    knows no chat with him. The centre admin makes him an area admin: no menu is sent where
    it could only be refused. When Zhang first writes /start, he gets the area admin's
    menu, not the citizens'. So does the centre admin, whom start-up found in the same
    state."""
    zhang, centre = town.vol2, town.admin
    await zhang.send("/new", chat=town.volunteers)
    await town.volunteers.wait_for(text="private chat")
    await centre.send(f"/grant {zhang.id} guangminglu", chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"Zhang ({zhang.id}) is now an admin of")
    await all_sent(town)
    assert menu_calls(town, zhang) == [] and menu_calls(town, centre) == []

    await open_bot(zhang)
    private = {"type": "chat", "chat_id": zhang.id}
    await town.sb.wait_until(lambda: "stats" in menu(town, private), timeout=5)
    assert "grant" not in menu(town, private)
    await open_bot(centre)
    await town.sb.wait_until(
        lambda: "grant" in menu(town, {"type": "chat", "chat_id": centre.id}), timeout=5)
    assert [e for e in town.sb.errors if "MyCommands" in e[0]] == []
    assert [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING or r.exc_info] == []


async def test_a_menu_telegram_cannot_place_is_given_up_quietly(
    town: Town, caplog: pytest.LogCaptureFixture,
) -> None:
    """A menu call already queued for Zhang, who has never opened the bot (a grant from an
    older version, say): Telegram answers "chat not found". The bot gives it up at once,
    without a second try, an error or a traceback; his /start sets it later."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.transaction() as repo:
        await repo.outbox.enqueue([Outgoing(town.vol2.id, "setMyCommands", {
            "commands": [{"command": "stats", "description": "Figures"}],
            "scope": {"type": "chat", "chat_id": town.vol2.id}})], services.env.now())
    await town.sb.wait_until(lambda: menu_calls(town, town.vol2) != [], timeout=5)
    await all_sent(town)
    await town.tick(seconds=61)
    await all_sent(town)
    assert len(menu_calls(town, town.vol2)) == 1
    assert "chat not found" in json.dumps(menu_calls(town, town.vol2))
    assert [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING or r.exc_info] == []


# -- what a review found ---------------------------------------------------------------------


async def test_an_impossible_user_id_or_year_gets_one_line_not_a_traceback(town: Town) -> None:
    await town.admin.send("/ban 99999999999999999999 spam", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="I do not know 99999999999999999999")
    await town.admin.send("/stats 9999", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="/stats")
    assert all("error" not in (m.text or "").lower()
               for m in town.admin_chat.bot_messages())


async def test_a_citizens_cancel_with_words_still_leaves_the_form(town: Town) -> None:
    await open_form(town.citizen, command=True)
    await town.citizen.send("/cancel now please")
    await town.citizen.wait_for(text="The request form was cancelled")


async def test_an_area_admin_sees_their_own_bindings_and_admins_only(town: Town) -> None:
    liming = await known_user(town, "Liming", "liming")
    other = await known_user(town, "Other", "other")
    for user, area in ((liming, "guangminglu"), (other, "zhongxinjie")):
        await town.admin.send(f"/grant @{user.username} {area}")
        await user.wait_for(text="You are now an admin")
    group = town.sb.add_group("Guangminglu elderly")
    group.add_member(town.admin, status="administrator")
    await town.admin.send("/bind elderly guangminglu-01", chat=group)
    await group.wait_for(text="This group now receives requests")

    await liming.send("/bindings")
    listing = await liming.wait_for(text="Guangminglu Community 1")
    assert "Elderly volunteers" not in listing.text  # the district's group is the centre's
    await liming.send("/admins")
    admins = await liming.wait_for(text="Admins")
    assert "Liming" in admins.text and "Other" not in admins.text


async def test_a_job_that_keeps_killing_the_bot_is_given_up_and_the_asker_told(
    town: Town,
) -> None:
    await town.bot.stop()
    db = await Database.open(town.bot.config.database)
    try:
        async with db.transaction() as repo:
            params = {"start": 0, "end": 4e9, "area_ids": None, "stem": "requests-all",
                      "period": "all", "area": "the whole district"}  # a job that would work
            job = await repo.timers.add_job(
                "export", town.admin_chat.id, town.admin.id, "en", params, town.clock.now())
            for _ in range(3):  # three starts, each died while exporting
                await repo.timers.start_job(job)
    finally:
        await db.close()
    await town.bot.start()
    await town.admin_chat.wait_for(text="could not be prepared")
    assert not [m for m in town.admin_chat.bot_messages() if m.kind == "document"]


async def test_supervision_commands_say_it_is_not_set_up_without_its_files(town: Town) -> None:
    """A district that names no registers has no loop 3: its commands say so in one line."""
    await open_bot(town.admin)
    for command in ("/inspectors", "/units", "/patrol G1 all"):
        await town.admin.send(command)
        await town.admin.wait_for(text="Supervision is not set up")


@pytest.mark.parametrize(("moment", "sound"), [
    (datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI), False),
    (datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 10, 15, 0, tzinfo=SHANGHAI), True),
], ids=["23:30", "new year's eve 23:50", "day 15:00"])
async def test_a_broadcast_sent_at_night_reaches_the_volunteers_without_a_sound(
        town: Town, moment: datetime, sound: bool) -> None:
    """The admin sends a broadcast at `moment`: Wang reads it at once, woken by day only."""
    wang = await known_user(town, "Wang", "wang")
    await approved_volunteer(town, wang, "guangminglu-01")
    town.clock.set(moment)
    await town.admin.send("/broadcast guangminglu Training on Saturday at 9:00")
    preview = await town.admin.wait_for(text="Preview")
    await town.admin.press("✅ Send", message=preview)
    await wang.wait_for(text="Training on Saturday")
    assert sounds(town, wang, "Training on Saturday") == [sound]


async def test_an_area_admin_granted_at_night_is_told_at_08_00(town: Town) -> None:
    """The admin grants Liming his area at 23:30: Liming reads it at 08:00, not then."""
    liming = await known_user(town, "Liming", "liming")
    town.clock.set(datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI))
    await town.admin.send("/grant @liming guangminglu")
    await town.admin.wait_for(text="is now an admin of")
    await at(town, datetime(2026, 6, 11, 7, 59, tzinfo=SHANGHAI))
    assert said(liming, "You are now an admin") == []
    await at(town, datetime(2026, 6, 11, 8, 0, 1, tzinfo=SHANGHAI))
    await liming.wait_for(text="You are now an admin")
