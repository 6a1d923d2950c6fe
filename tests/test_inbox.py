"""The inbox hands the handlers a button press's message cut down to where it is, and the
pressed button alone when the message carries it: the rest of the keyboard and the text stay
in the stored update, and out of PTB's parsing."""

from __future__ import annotations

import json
from typing import Any

from telegram import Bot, Message, Update

from bot.delivery.inbox import slim_press

BOT = Bot("123456:TEST-token")
CHAT = {"id": 1001, "type": "private", "first_name": "王奶奶"}
KEYBOARD = {"inline_keyboard": [[{"text": "🙋 Claim", "callback_data": "claim:7"},
                                 {"text": "Details", "callback_data": "details:7"}]]}


def press(message: dict[str, Any]) -> dict[str, Any]:
    """An update of a press on `message`."""
    return {"update_id": 9, "callback_query": {
        "id": "q1", "from": {"id": 1001, "is_bot": False, "first_name": "王奶奶"},
        "chat_instance": "c", "data": "claim:7", "message": message}}


def test_a_press_keeps_where_its_message_is_and_drops_the_rest() -> None:
    raw = press({"message_id": 55, "chat": CHAT, "date": 1_780_000_000, "text": "卡片 " * 500,
                 "entities": [{"type": "bold", "offset": 0, "length": 2}],
                 "reply_markup": KEYBOARD, "message_thread_id": 3})
    stored = json.dumps(raw)
    update = Update.de_json(slim_press(raw), BOT)
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    assert (query.message.chat.id, query.message.message_id) == (1001, 55)
    assert query.message.message_thread_id == 3
    assert query.message.text is None and query.message.entities == ()
    markup = query.message.reply_markup  # the pressed button alone: it is this message's own
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["claim:7"]]
    assert (query.data, update.effective_user and update.effective_user.id) == ("claim:7", 1001)
    assert json.dumps(raw) == stored  # what the inbox stored is not changed


def test_a_press_forged_on_a_message_without_that_button_keeps_no_keyboard() -> None:
    """Callback data the message has no button for (a client can send any): no keyboard is
    handed on, so nothing takes the message for that button's own."""
    raw = press({"message_id": 55, "chat": CHAT, "date": 1_780_000_000,
                 "reply_markup": {"inline_keyboard": [[{"text": "Sign up",
                                                        "callback_data": "asign:3"}]]}})
    update = Update.de_json(slim_press(raw), BOT)
    assert update.callback_query is not None
    assert isinstance(update.callback_query.message, Message)
    assert update.callback_query.message.reply_markup is None


def test_a_message_no_longer_accessible_stays_so() -> None:
    """Telegram's date 0 for a message too old to show: kept, so PTB still says so."""
    update = Update.de_json(slim_press(press({"message_id": 55, "chat": CHAT, "date": 0})),
                            BOT)
    assert update.callback_query is not None and update.callback_query.message is not None
    assert update.callback_query.message.is_accessible is False


def test_other_updates_pass_as_they_came() -> None:
    message = {"update_id": 10, "message": {
        "message_id": 56, "chat": CHAT, "date": 1_780_000_000, "text": "/start",
        "reply_to_message": {"message_id": 55, "chat": CHAT, "date": 1_780_000_000,
                             "reply_markup": KEYBOARD}}}
    assert slim_press(message) is message
    inline = press({"message_id": 55, "chat": CHAT, "date": 1})
    del inline["callback_query"]["message"]  # a press on an inline-mode message has none
    assert slim_press(inline) is inline
