"""Tests for the Telegram Bot API sandbox, through a real PTB Bot and raw HTTP."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import telegram
from aiohttp import web
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.helpers import escape_markdown

from sandbox import Limits, Sandbox, SimUser
from sandbox.html import parse_html
from sandbox.markdown import parse_markdown_v2
from sandbox.spec import ApiError

TOKEN = "123456:TEST-token"


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    """A sandbox without rate limits."""
    async with Sandbox(token=TOKEN, limits=Limits.off()) as sandbox:
        yield sandbox


@pytest.fixture
async def bot(sb: Sandbox) -> AsyncIterator[telegram.Bot]:
    """A real PTB Bot pointed at the sandbox."""
    async with telegram.Bot(TOKEN, base_url=sb.base_url, base_file_url=sb.base_file_url) as b:
        yield b


@pytest.fixture
async def alice(sb: Sandbox) -> SimUser:
    """A user who has started the bot."""
    user = sb.add_user("Alice", language_code="en", phone="+8613800000001")
    await user.send("/start")
    return user


async def raw_call(sb: Sandbox, method: str, **params: Any) -> httpx.Response:
    """POST a JSON body straight to the sandbox, bypassing PTB's checks."""
    async with httpx.AsyncClient() as client:
        return await client.post(f"{sb.base_url}{sb.token}/{method}", json=params)


def inline(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    """An inline keyboard with one callback button per row."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in buttons])


# ---- protocol strictness ----------------------------------------------------------------------


async def test_unknown_method_is_404(sb: Sandbox) -> None:
    resp = await raw_call(sb, "sendMassage", chat_id=1, text="x")
    assert resp.status_code == 404
    assert resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_method_names_are_case_insensitive_and_token_checked(sb: Sandbox) -> None:
    resp = await raw_call(sb, "GETME")
    assert resp.status_code == 200
    assert resp.json()["result"]["username"] == "civicloop_test_bot"
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{sb.base_url}999:nope/getMe")
    assert wrong.status_code == 401


async def test_unknown_parameter_is_400(sb: Sandbox, alice: SimUser) -> None:
    resp = await raw_call(sb, "sendMessage", chat_id=alice.id, text="hi", colour="red")
    assert resp.status_code == 400
    assert resp.json()["description"] == "Bad Request: unknown parameter colour"


async def test_missing_required_fields_are_400(sb: Sandbox, alice: SimUser) -> None:
    no_text = await raw_call(sb, "sendMessage", chat_id=alice.id)
    no_chat = await raw_call(sb, "sendMessage", text="hi")
    assert no_text.status_code == 400
    assert no_text.json()["description"] == "Bad Request: message text is empty"
    assert no_chat.json()["description"] == "Bad Request: chat_id is empty"


async def test_wrong_types_are_400(sb: Sandbox, alice: SimUser) -> None:
    bad_int = await raw_call(sb, "editMessageText", chat_id=alice.id, message_id="abc", text="x")
    assert bad_int.status_code == 400
    assert "message_id" in bad_int.json()["description"]
    async with httpx.AsyncClient() as client:
        bad_json = await client.post(
            f"{sb.base_url}{sb.token}/sendMessage",
            data={"chat_id": str(alice.id), "text": "hi", "reply_markup": "{not json"})
    assert bad_json.status_code == 400
    assert "can't parse reply_markup" in bad_json.json()["description"]


async def test_reply_markup_is_validated_recursively(sb: Sandbox, alice: SimUser) -> None:
    two_actions = {"inline_keyboard": [[{"text": "A", "callback_data": "a", "url": "https://x"}]]}
    no_action = {"inline_keyboard": [[{"text": "A"}]]}
    unknown = {"inline_keyboard": [[{"text": "A", "callback_data": "a", "colour": 1}]]}
    too_many = {"inline_keyboard": [[{"text": str(i), "callback_data": str(i)}
                                     for i in range(8)] for _ in range(13)]}
    for markup in (two_actions, no_action, unknown, too_many):
        resp = await raw_call(sb, "sendMessage", chat_id=alice.id, text="x", reply_markup=markup)
        assert resp.status_code == 400, markup
    ok = await raw_call(sb, "sendMessage", chat_id=alice.id, text="x",
                        reply_markup={"keyboard": [[{"text": "Go", "request_location": True}]]})
    assert ok.status_code == 200


async def test_text_length_limit(bot: telegram.Bot, alice: SimUser) -> None:
    sent = await bot.send_message(alice.id, "a" * 4096)
    assert len(sent.text) == 4096
    with pytest.raises(BadRequest, match=r"too long"):
        await bot.send_message(alice.id, "a" * 4097)
    # The limit applies after entity parsing: tags do not count.
    ok = await bot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert len(ok.text) == 4096
    with pytest.raises(BadRequest, match=r"text is empty"):
        await bot.send_message(alice.id, "   ")


async def test_caption_length_limit(bot: telegram.Bot, alice: SimUser) -> None:
    photo = await alice.send_photo()
    with pytest.raises(BadRequest, match=r"caption is too long"):
        await bot.send_photo(alice.id, photo.file_ids[-1], caption="c" * 1025)
    sent = await bot.send_photo(alice.id, photo.file_ids[-1], caption="c" * 1024)
    assert sent.caption == "c" * 1024


async def test_lengths_are_counted_in_utf16_units_as_telegram_counts_them(
        bot: telegram.Bot, sb: Sandbox, alice: SimUser) -> None:
    """An emoji, or a CJK character beyond the basic plane, is one character but two units:
    2,048 of them fill a message, one more is refused; likewise a caption at 512, and a
    popup's 200 units at 100."""
    sent = await bot.send_message(alice.id, "😀" * 2048)
    assert sent.text == "😀" * 2048
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(alice.id, "𠀀" * 2048 + "a")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.edit_message_text("😀" * 2049, chat_id=alice.id, message_id=sent.message_id)
    photo = await alice.send_photo()
    with pytest.raises(BadRequest, match=r"caption is too long"):
        await bot.send_photo(alice.id, photo.file_ids[-1], caption="😀" * 513)
    ok = await bot.send_photo(alice.id, photo.file_ids[-1], caption="😀" * 512)
    assert ok.caption == "😀" * 512
    await bot.send_message(alice.id, "x", reply_markup=inline(("A", "a")))
    press = await alice.press("A")
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await bot.answer_callback_query(press.query_id, text="😀" * 101)
    await bot.answer_callback_query(press.query_id, text="😀" * 100)


@pytest.mark.parametrize(("command", "description", "error"), [
    ("", "Start", "command must be non-empty"),
    ("/", "Start", "command must be non-empty"),
    ("a" * 33, "Start", "command length must not exceed 32"),
    ("start", " ", "command description must be non-empty"),
    ("start", "d" * 257, "command description length must not exceed 256"),
    ("Start", "Start", "BOT_COMMAND_INVALID"),
    ("new-request", "New", "BOT_COMMAND_INVALID"),
    ("新建", "New", "BOT_COMMAND_INVALID"),
])
async def test_set_my_commands_refuses_what_telegram_refuses(
        sb: Sandbox, command: str, description: str, error: str) -> None:
    """A command is 1-32 of a-z, 0-9 and _ (after a leading "/"), its description 1-256
    characters (trimmed); Telegram refuses the whole menu for one bad entry."""
    good = {"command": "start", "description": "Start"}
    resp = await raw_call(sb, "setMyCommands",
                          commands=[good, {"command": command, "description": description}])
    assert resp.status_code == 400 and resp.json()["description"] == f"Bad Request: {error}"
    assert (await raw_call(sb, "getMyCommands")).json()["result"] == []


async def test_set_my_commands_takes_a_hundred_at_most(sb: Sandbox) -> None:
    """A hundred commands fit a menu (a leading "/" dropped, as Telegram does); 101 do not."""
    menu = [{"command": f"/c{i}", "description": "d" * 256} for i in range(101)]
    resp = await raw_call(sb, "setMyCommands", commands=menu)
    assert resp.json()["description"] == "Bad Request: BOT_COMMANDS_TOO_MUCH"
    assert (await raw_call(sb, "setMyCommands", commands=menu[:100])).status_code == 200
    stored = (await raw_call(sb, "getMyCommands")).json()["result"]
    assert len(stored) == 100 and stored[0]["command"] == "c0"


async def test_a_persons_own_menu_needs_them_to_have_opened_the_bot(
    sb: Sandbox, alice: SimUser,
) -> None:
    """Telegram knows a person's chat once they have opened the bot: before that, a menu
    scoped to it is refused "chat not found" (set, read or deleted); after, it is kept."""
    bob = sb.add_user("Bob", language_code="en")
    menu = [{"command": "stats", "description": "Figures"}]
    for who, known in ((bob, False), (alice, True)):
        scope = {"type": "chat", "chat_id": who.id}
        for method, extra in (("setMyCommands", {"commands": menu}), ("getMyCommands", {}),
                              ("deleteMyCommands", {})):
            resp = await raw_call(sb, method, scope=scope, **extra)
            if known:
                assert resp.status_code == 200, resp.json()
            else:
                assert resp.json()["description"] == "Bad Request: chat not found"


async def test_callback_data_limit_is_in_bytes(bot: telegram.Bot, alice: SimUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(alice.id, "x", reply_markup=inline(("A", "认" * 22)))  # 66 bytes
    sent = await bot.send_message(alice.id, "x", reply_markup=inline(("A", "认" * 21)))
    assert sent.reply_markup is not None
    assert alice.private.last_bot_message is not None
    assert alice.private.last_bot_message.button_data == {"A": "认" * 21}


@pytest.mark.parametrize("text", [
    "a < b", "fish & chips", "<b>bold", "<b><i>x</b></i>", "<blink>x</blink>", "x</b>",
    '<span class="x">s</span>', "<a>link</a>", "&nbsp;", "<br>",
])
def test_bad_html_is_refused(text: str) -> None:
    with pytest.raises(ApiError, match=r"can't parse entities") as info:
        parse_html(text)
    assert info.value.code == 400


def test_good_html_gives_visible_text_and_utf16_entities() -> None:
    text, entities = parse_html(
        '😀 <b>Ref</b> &lt;A-1&gt; &amp; <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x</code></pre> &#20013;<tg-spoiler>s</tg-spoiler>')
    assert text == "😀 Ref <A-1> & link x 中s"
    bold = next(e for e in entities if e["type"] == "bold")
    assert bold == {"type": "bold", "offset": 3, "length": 3}  # the emoji is 2 UTF-16 units
    link = next(e for e in entities if e["type"] == "text_link")
    assert link["url"] == "https://x.org/?a=1&b=2"
    pre = next(e for e in entities if e["type"] == "pre")
    assert pre["language"] == "python"


def test_entities_inside_code_are_dropped_not_refused() -> None:
    text, entities = parse_html("<code><b>x</b></code>")
    assert (text, entities) == ("x", [{"type": "code", "offset": 0, "length": 1}])


@pytest.mark.parametrize("text", ["Ref A-1", "Done.", "*bold", "[x](y", "a|b", "(1)"])
def test_bad_markdown_v2_is_refused(text: str) -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        parse_markdown_v2(text)


def test_escaped_markdown_v2_gives_visible_text() -> None:
    user_text = "A-1. (ok)! _x_ [y]"
    text, entities = parse_markdown_v2(f"*Ref* {escape_markdown(user_text, version=2)}")
    assert text == f"Ref {user_text}"
    assert entities == [{"type": "bold", "offset": 0, "length": 3}]


async def test_html_through_the_api(bot: telegram.Bot, sb: Sandbox, alice: SimUser) -> None:
    with pytest.raises(BadRequest, match=r"parse entities"):
        await bot.send_message(alice.id, "Ref <A-1>", parse_mode="HTML")
    await bot.send_message(alice.id, "<b>Ref</b> &lt;A-1&gt;", parse_mode="HTML")
    msg = await alice.wait_for(text="Ref")
    assert msg.text == "Ref <A-1>"
    assert msg.parse_mode == "HTML"
    assert sb.errors[-1][0] == "sendMessage"


# ---- chats and users ------------------------------------------------------------------------


async def test_403_for_never_started_and_blocked_users(bot: telegram.Bot, sb: Sandbox) -> None:
    bob = sb.add_user("Bob")
    with pytest.raises(Forbidden, match=r"can't initiate conversation"):
        await bot.send_message(bob.id, "hello")
    await bob.send("hi")
    assert (await bot.send_message(bob.id, "hello")).text == "hello"
    bob.block()
    with pytest.raises(Forbidden, match=r"blocked by the user"):
        await bot.send_message(bob.id, "hello again")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "nobody")


async def test_group_migration_and_kick(bot: telegram.Bot, sb: Sandbox) -> None:
    group = sb.add_group("Old group", type="group")
    owner = sb.add_user("Owner")
    group.add_member(owner, status="administrator")
    old_id = group.id
    for _ in range(3):
        await bot.send_message(old_id, "talk before the card")
    card = await bot.send_message(old_id, "a card posted before the upgrade")
    new_id = group.migrate()
    # Telegram's two service messages: in the old group from whoever upgraded it, in the
    # supergroup from the anonymous group bot on behalf of the supergroup.
    told = [u.message for u in await bot.get_updates(timeout=0)]
    assert [(m.chat.id, m.chat.type, m.migrate_to_chat_id, m.migrate_from_chat_id)
            for m in told] == [(old_id, "group", new_id, None),
                               (new_id, "supergroup", None, old_id)]
    assert told[0].from_user.id == owner.id
    assert told[1].from_user.username == "GroupAnonymousBot"
    assert told[1].sender_chat.id == new_id
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(old_id, "hi")
    assert info.value.new_chat_id == new_id
    assert (await bot.send_message(new_id, "hi")).chat.type == "supergroup"
    # The group's messages stay in the old, deactivated group: not there to edit through
    # the supergroup's id, and the old id refuses every call.
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("edited", chat_id=new_id, message_id=card.message_id)
    with pytest.raises(ChatMigrated):
        await bot.edit_message_text("edited", chat_id=old_id, message_id=card.message_id)
    # The supergroup numbers its messages afresh: its first is the migrate_from_chat_id one,
    # so the bot's messages there come to carry the ids the group's had, and an edit by the
    # old card's id reaches the supergroup's message of that id, not the card.
    assert told[1].message_id == 1
    while (sent := await bot.send_message(new_id, "later")).message_id < card.message_id:
        pass
    assert sent.message_id == card.message_id
    edited = await bot.edit_message_text("edited", chat_id=new_id, message_id=card.message_id)
    assert edited.text == "edited" and card.text == "a card posted before the upgrade"
    assert group.get(card.message_id) is not None and group.get(card.message_id).text == "edited"
    group.remove_bot()
    with pytest.raises(Forbidden, match=r"kicked from the supergroup chat"):
        await bot.send_message(new_id, "still there?")


async def test_group_privacy_mode(bot: telegram.Bot, sb: Sandbox) -> None:
    vol = sb.add_user("王伟", language_code="zh")
    group = sb.add_group("Elderly volunteers")
    group.add_member(vol)
    await vol.send("just chatting", chat=group)
    await vol.send("/bind@other_bot x", chat=group)
    await vol.send("/bind@civicloop_test_bot elderly", chat=group)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == ["/bind@civicloop_test_bot elderly"]
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.entities[0].length == len("/bind@civicloop_test_bot")


async def test_get_chat_member_and_admins(bot: telegram.Bot, sb: Sandbox) -> None:
    vol, boss = sb.add_user("Vol"), sb.add_user("Boss")
    group = sb.add_group("G")
    group.add_member(vol)
    group.add_member(boss, status="administrator")
    assert (await bot.get_chat_member(group.id, vol.id)).status == "member"
    assert (await bot.get_chat_member(group.id, sb.add_user("Out").id)).status == "left"
    admins = await bot.get_chat_administrators(group.id)
    assert [a.user.id for a in admins] == [boss.id]


# ---- flood limits ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_past_group_limit() -> None:
    limits = Limits(group_per_minute=3, group_window=60.0)
    async with Sandbox(token=TOKEN, limits=limits) as sb, \
            telegram.Bot(TOKEN, base_url=sb.base_url) as bot:
        group = sb.add_group("Busy")
        for i in range(3):
            await bot.send_message(group.id, f"card {i}")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(group.id, "one too many")
        retry = info.value.retry_after
        seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else retry
        assert seconds >= 1 and seconds <= 60  # whole seconds until the window frees
        assert sb.count_429 == 1
        body = sb.calls[-1][2]
        assert body["error_code"] == 429
        assert body["parameters"]["retry_after"] == seconds
        assert body["description"] == f"Too Many Requests: retry after {int(seconds)}"
        # Calls that do not produce messages are not limited.
        assert (await bot.get_chat(group.id)).title == "Busy"
        assert len(group.bot_messages()) == 3


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_private_bucket_and_edit_window() -> None:
    limits = Limits(private_burst=2, private_per_second=0.5, group_edits_per_minute=1)
    async with Sandbox(token=TOKEN, limits=limits) as sb, \
            telegram.Bot(TOKEN, base_url=sb.base_url) as bot:
        alice = sb.add_user("Alice")
        await alice.send("/start")
        await bot.send_message(alice.id, "1")
        await bot.send_message(alice.id, "2")
        with pytest.raises(RetryAfter):
            await bot.send_message(alice.id, "3")
        group = sb.add_group("G")
        card = await bot.send_message(group.id, "card")
        await bot.edit_message_text("card v2", group.id, card.message_id)
        with pytest.raises(RetryAfter):
            await bot.edit_message_text("card v3", group.id, card.message_id)
        assert sb.count_429 == 2
        assert group.messages[-1].text == "card v2"


async def test_limits_off_allows_bursts(bot: telegram.Bot, sb: Sandbox) -> None:
    group = sb.add_group("G")
    for i in range(40):
        await bot.send_message(group.id, f"m{i}")
    assert sb.count_429 == 0
    assert len(group.bot_messages()) == 40


# ---- updates --------------------------------------------------------------------------------


async def test_get_updates_long_poll_and_offset(bot: telegram.Bot, sb: Sandbox) -> None:
    alice = sb.add_user("Alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await sb.wait_until(lambda: bool(sb.api._poll))  # the long poll is being held
    assert not poll.done()
    await alice.send("I need help")
    updates = await asyncio.wait_for(poll, 3)
    assert [u.message.text for u in updates] == ["I need help"]
    # Unconfirmed updates are delivered again (a restarted bot gets them) ...
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    # ... until an offset confirms them.
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert sb.updates == []


async def test_get_updates_limit_and_allowed_updates(bot: telegram.Bot, sb: Sandbox) -> None:
    alice = sb.add_user("Alice")
    for i in range(3):
        await alice.send(f"m{i}")
    assert len(await bot.get_updates(limit=2)) == 2
    resp = await raw_call(sb, "getUpdates", limit=101)
    assert resp.status_code == 400
    assert await bot.get_updates(allowed_updates=["callback_query"]) == ()


async def test_second_concurrent_get_updates_is_409(bot: telegram.Bot, sb: Sandbox) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await sb.wait_until(lambda: bool(sb.api._poll))
    resp = await raw_call(sb, "getUpdates", timeout=0)
    assert resp.status_code == 409
    assert resp.json()["description"].startswith("Conflict: terminated by other getUpdates")
    poll.cancel()
    # A poller whose client went away does not block the next one.
    await sb.wait_until(lambda: not sb.api._poll, timeout=3)
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(asyncio.CancelledError):
        await poll


# ---- buttons and callbacks ------------------------------------------------------------------


async def test_press_and_answer_round_trip(bot: telegram.Bot, sb: Sandbox) -> None:
    vol = sb.add_user("王伟", language_code="zh")
    group = sb.add_group("Volunteers")
    group.add_member(vol)
    card = await bot.send_message(group.id, "New request #7",
                                  reply_markup=inline(("Claim", "claim:7")))
    press = await vol.press("Claim", chat=group)
    updates = await bot.get_updates(timeout=1)
    query = updates[-1].callback_query
    assert query.data == "claim:7"
    assert query.message.message_id == card.message_id
    assert query.from_user.id == vol.id
    assert await query.answer("Claimed!", show_alert=True)
    answer = await press.answer(timeout=2)
    assert (answer.text, answer.show_alert) == ("Claimed!", True)
    with pytest.raises(BadRequest, match=r"[Qq]uery is too old"):
        await query.answer("again")


async def test_press_errors_and_forged_data(sb: Sandbox, bot: telegram.Bot,
                                            alice: SimUser) -> None:
    await bot.send_message(alice.id, "Pick", reply_markup=inline(("Done ✅", "done:1"),
                                                                  ("Release", "rel:1")))
    with pytest.raises(LookupError, match=r"Release"):
        await alice.press("Cancel")
    press = await alice.press("Done")  # unique substring
    assert press.data == "done:1"
    forged = await alice.press_data("claim:99")
    assert forged.data == "claim:99"
    with pytest.raises(TimeoutError, match=r"did not answer"):
        await forged.answer(timeout=0.05)


async def test_late_answer_is_refused() -> None:
    async with Sandbox(token=TOKEN, limits=Limits.off(callback_answer_timeout=0.0)) as sb, \
            telegram.Bot(TOKEN, base_url=sb.base_url) as bot:
        alice = sb.add_user("Alice")
        await alice.send("/start")
        await bot.send_message(alice.id, "x", reply_markup=inline(("A", "a")))
        press = await alice.press("A")
        with pytest.raises(BadRequest, match=r"[Qq]uery is too old"):
            await bot.answer_callback_query(press.query_id)
        assert press.answered is None


async def test_tap_reply_keyboard(bot: telegram.Bot, alice: SimUser) -> None:
    kb = ReplyKeyboardMarkup([[KeyboardButton("Share my location", request_location=True)],
                              [KeyboardButton("Share contact", request_contact=True)],
                              [KeyboardButton("Skip")]])
    await bot.send_message(alice.id, "Where?", reply_markup=kb)
    loc = await alice.tap("Share my location", latitude=34.86, longitude=117.55)
    contact = await alice.tap("Share contact")
    skip = await alice.tap("Skip")
    assert loc.location == (34.86, 117.55)
    assert contact.raw["contact"] == {"phone_number": "+8613800000001", "first_name": "Alice",
                                      "user_id": alice.id}
    assert (skip.kind, skip.text) == ("text", "Skip")
    with pytest.raises(LookupError, match=r"Skip"):
        await alice.tap("Nope")


# ---- edits, deletes, replies, files --------------------------------------------------------


async def test_edits(bot: telegram.Bot, sb: Sandbox, alice: SimUser) -> None:
    sent = await bot.send_message(alice.id, "Open", reply_markup=inline(("Claim", "c:1")))
    with pytest.raises(BadRequest, match=r"[Mm]essage is not modified"):
        await bot.edit_message_text("Open", alice.id, sent.message_id,
                                    reply_markup=inline(("Claim", "c:1")))
    await bot.edit_message_text("Claimed by Wang", alice.id, sent.message_id)
    msg = alice.private.get(sent.message_id)
    assert msg is not None
    assert (msg.text, msg.edits, msg.history, msg.buttons) == ("Claimed by Wang", 1, ["Open"], [])
    with pytest.raises(BadRequest, match=r"[Mm]essage to edit not found"):
        await bot.edit_message_text("x", alice.id, 9999)
    photo = await bot.send_photo(alice.id, (await alice.send_photo()).file_ids[0], caption="c")
    with pytest.raises(BadRequest, match=r"no text in the message to edit"):
        await bot.edit_message_text("x", alice.id, photo.message_id)
    edited = await bot.edit_message_caption(alice.id, photo.message_id, caption="new")
    assert edited.caption == "new"
    await bot.delete_message(alice.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"[Mm]essage to delete not found"):
        await bot.delete_message(alice.id, sent.message_id)


async def test_reply_parameters(bot: telegram.Bot, alice: SimUser) -> None:
    question = await alice.send("question")
    reply = await bot.send_message(alice.id, "answer",
                                   reply_parameters=ReplyParameters(question.message_id))
    assert reply.reply_to_message.text == "question"
    with pytest.raises(BadRequest, match=r"replied not found"):
        await bot.send_message(alice.id, "x", reply_parameters=ReplyParameters(9999))
    ok = await bot.send_message(alice.id, "x", reply_parameters=ReplyParameters(
        9999, allow_sending_without_reply=True))
    assert ok.reply_to_message is None


async def test_files(bot: telegram.Bot, sb: Sandbox, alice: SimUser) -> None:
    album = await alice.send_album(n=3, caption="damage")
    assert len({m.media_group_id for m in album}) == 1
    assert album[0].text == "damage" and album[1].text is None
    file = await bot.get_file(album[0].file_ids[-1])
    assert await file.download_as_bytearray()
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(alice.id, "not-a-file-id")
    voice = await alice.send_voice(duration=4)
    with pytest.raises(BadRequest, match=r"(?i)type of file mismatch"):
        await bot.send_photo(alice.id, voice.file_ids[0])
    uploaded = await bot.send_document(alice.id, b"%PDF report", filename="r.pdf")
    data = await (await bot.get_file(uploaded.document.file_id)).download_as_bytearray()
    assert bytes(data) == b"%PDF report"
    media = [telegram.InputMediaPhoto(album[0].file_ids[-1])]
    with pytest.raises(BadRequest):
        await bot.send_media_group(alice.id, media)
    sent = await bot.send_media_group(alice.id, media * 2)
    assert len(sent) == 2 and sent[0].media_group_id == sent[1].media_group_id


async def test_copy_message_carries_the_content_but_not_who_sent_it(
    bot: telegram.Bot, sb: Sandbox, alice: SimUser,
) -> None:
    """copyMessage, as Telegram's: a user's photo copied to another chat keeps its file but
    names neither its sender nor its chat (no forward header), the new caption replaces the
    old, and a text is copied as it is (a caption given is ignored); a message that is not
    there, or a service message, cannot be copied."""
    bob = sb.add_user("Bob", language_code="en", username="bob_b")
    await bob.send("/start")
    photo = await alice.send_photo(caption="old caption", media_group_id="77")
    copied = await bot.copy_message(bob.id, alice.id, photo.message_id,
                                    caption="<b>From a neighbour</b>", parse_mode="HTML")
    got = bob.private.get(copied.message_id)
    assert got is not None and got.kind == "photo" and got.file_ids == photo.file_ids
    assert got.text == "From a neighbour" and got.entities[0]["type"] == "bold"
    assert got.raw["from"]["id"] == sb.world.bot_id and got.raw["chat"]["id"] == bob.id
    assert "Alice" not in str(got.raw) and str(alice.id) not in str(got.raw)
    assert not {"forward_origin", "forward_from", "media_group_id"} & set(got.raw)
    text = await alice.send("plain words")
    again = await bot.copy_message(bob.id, alice.id, text.message_id, caption="ignored")
    assert bob.private.get(again.message_id).text == "plain words"  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(bob.id, alice.id, 9999)
    group = sb.add_group("Neighbours")
    group.add_member(alice)
    sb.world.member_leaves(group, alice, None)
    left = group.messages[-1]
    with pytest.raises(BadRequest, match=r"(?i)can.t be copied"):
        await bot.copy_message(bob.id, group.id, left.message_id)


# ---- observing ------------------------------------------------------------------------------


async def test_wait_for_reads_in_order_and_times_out_helpfully(
        bot: telegram.Bot, alice: SimUser) -> None:
    await bot.send_message(alice.id, "Choose a category")
    await bot.send_message(alice.id, "Your reference is A-17")
    msg = await alice.wait_for(text="reference", timeout=1)
    assert msg.text == "Your reference is A-17"
    with pytest.raises(TimeoutError) as info:
        await alice.wait_for(text="reference", timeout=0.05)  # already read
    assert "reference" in str(info.value)
    await bot.send_message(alice.id, "Thanks")
    with pytest.raises(TimeoutError, match=r"unread bot messages: #\d+ 'Thanks'"):
        await alice.wait_for(predicate=lambda m: m.kind == "photo", timeout=0.05)


async def test_events_and_calls_are_recorded(bot: telegram.Bot, sb: Sandbox) -> None:
    events: list[tuple[str, str]] = []
    sb.on_event(lambda kind, chat, msg, detail: events.append((kind, detail)))
    alice = sb.add_user("Alice")
    await alice.send("hi")
    await bot.send_message(alice.id, "hello")
    assert events == [("user_message", "hi"), ("bot_message", "hello")]
    method, params, result = sb.calls[-1]
    assert (method, params["text"], result["text"]) == ("sendMessage", "hello", "hello")


# ---- a real Application ---------------------------------------------------------------------


async def test_real_application_round_trip(sb: Sandbox) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "Welcome <b>back</b>", parse_mode="HTML", reply_markup=inline(("Help", "help")))

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Helping")
        await query.edit_message_text("Help is on the way")

    app = Application.builder().token(TOKEN).base_url(sb.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_press))
    alice = sb.add_user("Alice")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await alice.send("/start")
            welcome = await alice.wait_for(text="Welcome back", timeout=5)
            press = await alice.press("Help")
            assert (await press.answer(timeout=5)).text == "Helping"
            await sb.wait_until(lambda: welcome.text == "Help is on the way", timeout=5)
            assert welcome.buttons == []
        finally:
            await app.updater.stop()
            await app.stop()
    assert not [e for e in sb.errors if e[0] != "getUpdates"]


async def test_conflict_error_type_in_ptb(bot: telegram.Bot, sb: Sandbox) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await sb.wait_until(lambda: bool(sb.api._poll))
    async with telegram.Bot(TOKEN, base_url=sb.base_url) as other:
        with pytest.raises(Conflict):
            await other.get_updates(timeout=0)
    await sb.add_user("Zed").send("wake up")
    assert len(await asyncio.wait_for(poll, 3)) == 1


def test_output_self_check_finds_missing_fields(sb: Sandbox) -> None:
    good = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}
    assert sb.spec.check_output("Message", good) == []
    problems = sb.spec.check_output("Message", {"message_id": 1, "chat": {"id": 1}, "form": 2})
    assert any("date" in p for p in problems)
    assert any("'type'" in p for p in problems)
    assert any("'form'" in p for p in problems)


async def test_unsupported_spec_method_is_loud(sb: Sandbox, alice: SimUser) -> None:
    resp = await raw_call(sb, "sendPoll", chat_id=alice.id, question="q",
                          options=[{"text": "a"}, {"text": "b"}])
    assert resp.status_code == 400
    assert resp.json()["description"] == "Bad Request: method not supported by the sandbox"
    bad = await raw_call(sb, "sendPoll", chat_id=alice.id)
    assert "question is empty" in bad.json()["description"]  # still validated first


async def test_killed_poller_does_not_block_a_restarted_bot(sb: Sandbox,
                                                            bot: telegram.Bot) -> None:
    code = "import httpx, sys; httpx.post(sys.argv[1], json={'timeout': 30}, timeout=60)"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, f"{sb.base_url}{sb.token}/getUpdates")
    try:
        await sb.wait_until(lambda: bool(sb.api._poll), timeout=10)
    finally:
        proc.kill()  # a hard crash in the middle of a long poll
        await proc.wait()
    await sb.wait_until(lambda: sb.api._poll is None, timeout=5)
    await sb.add_user("Alice").send("after the restart")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates] == ["after the restart"]


# ---- webhooks -------------------------------------------------------------------------------


class Receiver:
    """A bot's webhook endpoint for the sandbox to post to: it records each post and answers
    with the statuses it is given (then 200), one post at a time or it notices."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.posts: list[tuple[dict[str, Any], str | None]] = []
        self.in_flight = 0
        self.most_at_once = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            await asyncio.sleep(0.01)  # an answer takes a moment: a second post would overlap
            self.posts.append((await request.json(),
                               request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
            return web.Response(status=self.statuses.pop(0) if self.statuses else 200)
        finally:
            self.in_flight -= 1


@pytest.mark.parametrize(("url", "error"), [
    ("http://example.org/hook", "HTTPS url must be provided"),
    ("https://example.org:8080/hook", "only on ports 80, 88, 443 or 8443"),
    ("ftp://127.0.0.1/hook", "HTTPS url must be provided"),
])
async def test_set_webhook_refuses_what_telegram_refuses(bot: telegram.Bot, url: str,
                                                         error: str) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):  # PTB recapitalises it
        await bot.set_webhook(url)


@pytest.mark.parametrize("secret", ["has:colon", "with space", "x" * 257, "ключ"])
async def test_set_webhook_refuses_a_secret_token_telegram_refuses(
    bot: telegram.Bot, sb: Sandbox, secret: str,
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://example.org/hook", secret_token=secret)
    assert sb.webhook.hook is None


async def test_set_webhook_checks_max_connections(bot: telegram.Bot) -> None:
    for connections in (0, 101):
        with pytest.raises(BadRequest, match="max_connections"):
            await bot.set_webhook("https://example.org/hook", max_connections=connections)


async def test_while_a_webhook_is_set_get_updates_is_409_until_it_is_deleted(
    bot: telegram.Bot, sb: Sandbox,
) -> None:
    """Telegram's own words, and nothing is lost by the switch back."""
    async with Receiver([503] * 1000) as receiver:
        await bot.set_webhook(receiver.url, secret_token="s3cret", max_connections=5,
                              allowed_updates=["message"])
        await sb.add_user("Alice").send("kept for later")
        await sb.wait_until(lambda: sb.webhook.hook is not None
                            and sb.webhook.hook.last_error_message is not None)
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is "
                                           "active; use deleteWebhook to delete the webhook "
                                           "first"):
            await bot.get_updates(timeout=0)
        info = await bot.get_webhook_info()
        assert info.url == receiver.url and info.pending_update_count == 1
        assert info.max_connections == 5 and info.allowed_updates == ("message",)
        assert info.last_error_message == ("Wrong response from the webhook: 503 Service "
                                           "Unavailable")
        assert info.last_error_date is not None
        assert await bot.delete_webhook(drop_pending_updates=False)
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 1
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["kept for later"]


async def test_the_webhook_gets_updates_one_at_a_time_in_order_with_the_secret(
    bot: telegram.Bot, sb: Sandbox,
) -> None:
    """Posted in update_id order, never two at once, the secret in the header; a 500 is
    posted again (and later ones wait for it), a 200 confirms."""
    alice, bob = sb.add_user("Alice"), sb.add_user("Bob")
    async with Receiver([500, 500]) as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret-token_A")
        for n in range(3):
            await alice.send(f"a{n}")
            await bob.send(f"b{n}")
        await sb.wait_until(lambda: len(receiver.posts) == 8 and not sb.updates)
    ids = [update["update_id"] for update, _ in receiver.posts]
    assert ids[0] == ids[1] == ids[2] and ids[2:] == sorted(set(ids))  # the first, 3 times
    assert [update["message"]["text"] for update, _ in receiver.posts[2:]] == [
        "a0", "b0", "a1", "b1", "a2", "b2"]
    assert {secret for _, secret in receiver.posts} == {"s3cret-token_A"}
    assert receiver.most_at_once == 1
    assert [a.status for a in sb.webhook.attempts] == [500, 500, 200, 200, 200, 200, 200, 200]


async def test_an_unreachable_webhook_is_retried_until_it_answers(
    bot: telegram.Bot, sb: Sandbox,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook")  # nobody listens there
    await sb.add_user("Alice").send("hello?")
    await sb.wait_until(lambda: len(sb.webhook.attempts) >= 2)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused" and info.pending_update_count == 1
    async with Receiver() as receiver:
        await bot.set_webhook(receiver.url)  # at once, whatever the backoff had reached
        await sb.wait_until(lambda: len(receiver.posts) == 1)
    assert receiver.posts[0][1] is None  # no secret set, no header
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_forum_topics(bot: telegram.Bot, sb: Sandbox) -> None:
    """A forum supergroup: a person's topic and the bot's; what is written in a topic carries
    its thread id and answers its first message; the bot's message_thread_id puts a message
    in that topic, a deleted topic's is refused, a chat without topics ignores it."""
    owner = sb.add_user("Owner")
    forum = sb.add_group("Teams", forum=True)
    forum.add_member(owner, status="administrator")
    repairs = forum.create_topic("Repairs", by=owner)
    await owner.send("/bind elderly", chat=forum, topic=repairs)
    await owner.send("/help", chat=forum)  # in the General topic
    created, in_topic, in_general = (u.message for u in await bot.get_updates(timeout=0))
    assert created.forum_topic_created.name == "Repairs"
    assert created.message_thread_id == repairs and created.chat.is_forum
    assert (in_topic.is_topic_message, in_topic.message_thread_id) == (True, repairs)
    assert in_topic.reply_to_message.forum_topic_created.name == "Repairs"
    assert (in_general.is_topic_message, in_general.message_thread_id) == (None, None)
    assert (await bot.get_chat(forum.id)).is_forum

    text = await bot.send_message(forum.id, "in Repairs", message_thread_id=repairs)
    photo = await bot.send_photo(forum.id, b"\xff\xd8\xffjpeg", caption="also in Repairs",
                                 message_thread_id=repairs)
    general = await bot.send_message(forum.id, "in General")
    assert (text.message_thread_id, text.is_topic_message) == (repairs, True)
    assert photo.message_thread_id == repairs
    assert general.message_thread_id is None
    assert [m.thread_id for m in forum.bot_messages()] == [repairs, repairs, None]
    # Editing needs no thread: the message stays where it is.
    await bot.edit_message_text("in Repairs, edited", chat_id=forum.id,
                                message_id=text.message_id)
    assert forum.get(text.message_id).thread_id == repairs

    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(forum.id, "nowhere", message_thread_id=9999)
    forum.delete_topic(repairs)
    assert forum.get(text.message_id) is None
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(forum.id, "to a deleted topic", message_thread_id=repairs)

    # The bot opens a topic only as an administrator of a forum.
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.create_forum_topic(forum.id, "Bot's")
    forum.add_bot("administrator", by=owner)
    topic = await bot.create_forum_topic(forum.id, "Bot's")
    assert (await bot.send_message(forum.id, "here", message_thread_id=topic.message_thread_id)
            ).message_thread_id == topic.message_thread_id
    plain = sb.add_group("Plain supergroup")
    plain.add_bot("administrator", by=owner)
    with pytest.raises(BadRequest, match=r"(?i)the chat is not a forum"):
        await bot.create_forum_topic(plain.id, "No topics here")
    # Elsewhere the spec's "for forum supergroups only" holds: the thread id is ignored.
    for chat in (plain, sb.add_group("Basic", type="group")):
        sent = await bot.send_message(chat.id, "no topics", message_thread_id=repairs)
        assert sent.message_thread_id is None and chat.last_bot_message.thread_id is None


async def test_forum_replies_closed_topics_and_renames(bot: telegram.Bot, sb: Sandbox) -> None:
    """As on Telegram: a reply with no thread id goes into the topic of the message it
    answers; a reply sent into a topic needs its message there, whatever
    allow_sending_without_reply says (the spec: "always False for ... forum topic"), while one
    to a message gone, with no thread, goes to General. A closed topic refuses the bot's sends
    (TOPIC_CLOSED) until it is reopened, or if the bot may manage topics; closing, reopening
    and renaming reach the bot as service messages in the topic."""
    owner = sb.add_user("Owner")
    forum = sb.add_group("Teams", forum=True)
    forum.add_member(owner, status="administrator")
    repairs = forum.create_topic("Repairs", by=owner)
    card = await bot.send_message(forum.id, "a card", message_thread_id=repairs)
    reply = await bot.send_message(forum.id, "under it", reply_to_message_id=card.message_id)
    assert reply.message_thread_id == repairs and forum.last_bot_message.thread_id == repairs
    assert reply.reply_to_message.message_id == card.message_id

    forum.delete(forum.get(card.message_id), by=owner)
    gone = telegram.ReplyParameters(card.message_id, allow_sending_without_reply=True)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(forum.id, "in the topic", message_thread_id=repairs,
                               reply_parameters=gone)
    general = await bot.send_message(forum.id, "no thread", reply_parameters=gone)
    assert general.message_thread_id is None and general.reply_to_message is None

    forum.close_topic(repairs, by=owner)
    with pytest.raises(BadRequest, match=r"(?i)topic_closed"):
        await bot.send_message(forum.id, "closed", message_thread_id=repairs)
    forum.rename_topic(repairs, "Repairs and odd jobs", by=owner)
    forum.reopen_topic(repairs, by=owner)
    assert (await bot.send_message(forum.id, "open again", message_thread_id=repairs)
            ).message_thread_id == repairs
    created, closed, renamed, reopened = (u.message for u in await bot.get_updates(timeout=0))
    assert created.forum_topic_created is not None
    assert closed.forum_topic_closed is not None and closed.message_thread_id == repairs
    assert renamed.forum_topic_edited.name == "Repairs and odd jobs"
    assert renamed.message_thread_id == repairs and renamed.is_topic_message
    assert reopened.forum_topic_reopened is not None

    forum.add_bot("administrator", by=owner)
    await bot.close_forum_topic(forum.id, repairs)
    with pytest.raises(BadRequest, match=r"(?i)topic_closed"):
        await bot.send_message(forum.id, "closed", message_thread_id=repairs)
    forum.bot_manages_topics = True
    assert (await bot.send_message(forum.id, "may manage", message_thread_id=repairs)
            ).message_thread_id == repairs
    await bot.reopen_forum_topic(forum.id, repairs)
    await bot.edit_forum_topic(forum.id, repairs, name="Odd jobs")
    assert forum.last_bot_message.raw["forum_topic_edited"] == {"name": "Odd jobs"}

async def test_a_message_older_than_48_hours_cannot_be_deleted() -> None:
    """The spec: deleteMessage takes a message sent less than 48 hours ago, and never the
    service message that opened a forum topic."""
    now = [1_780_000_000.0]
    async with Sandbox(token=TOKEN, limits=Limits.off(), clock=lambda: now[0]) as sb, \
            telegram.Bot(TOKEN, base_url=sb.base_url) as bot:
        alice = sb.add_user("Alice")
        await alice.send("/start")
        young = await bot.send_message(alice.id, "young")
        old = await bot.send_message(alice.id, "old")
        now[0] += 48 * 3600 - 1
        assert await bot.delete_message(alice.id, young.message_id)
        now[0] += 1
        with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
            await bot.delete_message(alice.id, old.message_id)
        forum = sb.add_group("Forum", forum=True)
        forum.bot_status = "administrator"
        thread_id = sb.world.create_topic(forum, "Cards", None, 0x6FB9F0)
        with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
            await bot.delete_message(forum.id, thread_id)
