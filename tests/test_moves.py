"""A group upgraded to a supergroup (bot/moves.py): the ids the bot holds are read through the
moves noted so far. The pure part: following one id, and the config file's ids followed."""

from __future__ import annotations

from pathlib import Path

from bot.config import parse_config
from bot.moves import config_through, follow, migrated_chat, unpointed

ADMINS, VOLUNTEERS, LAWYERS = -10, -20, -30  # basic groups' ids
CONFIG = parse_config({
    "telegram": {"token": "123:abc"},
    "bot": {"admin_ids": [1], "admin_chat_id": ADMINS},
    "categories": [
        {"code": "elderly", "zh": "助老服务", "en": "Help for the elderly",
         "group_id": VOLUNTEERS},
        {"code": "environment", "zh": "生活环境", "en": "Living environment"},
        {"code": "disabled", "zh": "助残服务", "en": "Help for the disabled",
         "group_id": VOLUNTEERS},
        {"code": "legal", "zh": "法律援助", "en": "Legal aid", "group_id": LAWYERS},
    ],
}, env={}, base_dir=Path("/srv"))


def test_an_id_is_followed_to_the_chat_it_is_now() -> None:
    """An id that never moved is itself; a moved one is its supergroup's, even through a move
    noted after it (the oldest id leads to the newest); a loop of moves, which Telegram
    never makes, ends instead of spinning."""
    assert follow(-5, {}) == -5
    assert follow(-5, {-6: -1006}) == -5
    assert follow(-5, {-5: -1005}) == -1005
    assert follow(-5, {-5: -1005, -1005: -1009}) == -1009
    assert follow(-5, {-5: -1005, -1005: -5}) == -1005


def test_the_config_files_ids_are_read_through_the_moves() -> None:
    """The volunteers' group, which two categories name, is upgraded: both categories post
    in the supergroup; the lawyers' group, the category without a group and the admin chat
    stay as the file says. Then the admin chat is upgraded too."""
    moved = config_through(CONFIG, {VOLUNTEERS: -1020})
    assert [c.group_id for c in moved.categories] == [-1020, None, -1020, LAWYERS]
    assert moved.admin_chat_id == ADMINS
    both = config_through(CONFIG, {VOLUNTEERS: -1020, ADMINS: -1010})
    assert both.admin_chat_id == -1010
    assert [c.group_id for c in both.categories] == [-1020, None, -1020, LAWYERS]
    assert CONFIG.admin_chat_id == ADMINS  # the file's config is as it was
    assert [c.group_id for c in CONFIG.categories] == [VOLUNTEERS, None, VOLUNTEERS, LAWYERS]


def test_the_config_is_the_same_one_when_none_of_its_chats_moved() -> None:
    """A move of a chat the file does not name (a team's group, say) leaves the config as it
    is, the very same object; so does a config with no admin chat."""
    assert config_through(CONFIG, {-99: -1099}) is CONFIG
    no_admin_chat = parse_config({"telegram": {"token": "1:a"}, "bot": {"admin_ids": [1]},
                                  "categories": [{"code": "elderly", "zh": "助老服务",
                                                  "en": "Help for the elderly"}]},
                                 env={}, base_dir=Path("/srv"))
    assert config_through(no_admin_chat, {-99: -1099}) is no_admin_chat
    assert config_through(no_admin_chat, {-99: -1099}).admin_chat_id is None


def test_a_refusal_as_migrated_names_the_group_the_call_copies_from_when_it_goes_to_a_person(
        ) -> None:
    """Telegram's refusal does not say which chat was upgraded. A call to a group: that group.
    A call to a person (a private chat is never upgraded): the group it copies or forwards
    from, else the group its quote names; a call naming no group stays the person's."""
    assert migrated_chat(VOLUNTEERS, {"chat_id": VOLUNTEERS}) == VOLUNTEERS
    assert migrated_chat(1001, {"from_chat_id": VOLUNTEERS, "message_id": 5}) == VOLUNTEERS
    assert migrated_chat(1001, {"reply_parameters": {"chat_id": LAWYERS,
                                                     "message_id": 5}}) == LAWYERS
    assert migrated_chat(1001, {"text": "hello"}) == 1001


def test_calls_of_other_chats_naming_the_group_are_unpointed() -> None:
    """Queued for a person: a copy or forward of the upgraded group's message is moot; a
    quote of it goes; a quote of another chat, and a copy from another group, stay."""
    group, alice = VOLUNTEERS, 1001
    named = {"chat_id": alice, "from_chat_id": group, "message_id": 5}
    assert unpointed("copyMessage", named, group, alice) is None
    assert unpointed("forwardMessage", named, group, alice) is None
    quoted = {"chat_id": alice, "text": "hi",
              "reply_parameters": {"chat_id": group, "message_id": 5}}
    assert unpointed("sendMessage", quoted, group, alice) == (
        "sendMessage", {"chat_id": alice, "text": "hi"})
    own = {"chat_id": alice, "text": "hi", "reply_parameters": {"message_id": 5}}
    assert unpointed("sendMessage", own, group, alice) == ("sendMessage", own)
    elsewhere = {"chat_id": alice, "from_chat_id": LAWYERS, "message_id": 5}
    assert unpointed("copyMessage", elsewhere, group, alice) == ("copyMessage", elsewhere)


def test_a_call_queued_for_the_group_names_none_of_its_messages_after_the_move() -> None:
    """What the outbox held for the group when it became a supergroup, call by call: a
    delete of one or of several of its messages, or a change of a message's buttons, is
    moot; an unpin without a message (the latest pinned, wherever) still makes sense; an
    edit of words becomes a message of those words with the edit's buttons and formatting,
    and an edit that only takes a caption away says nothing; a reply loses its quote of the
    group's message, but keeps one of a message in another chat."""
    chat = {"chat_id": ADMINS}
    assert unpointed("deleteMessage", {**chat, "message_id": 7}, ADMINS) is None
    assert unpointed("deleteMessages", {**chat, "message_ids": [7, 8]}, ADMINS) is None
    assert unpointed("editMessageReplyMarkup", {**chat, "message_id": 7}, ADMINS) is None
    assert unpointed("unpinAllChatMessages", chat, ADMINS) == ("unpinAllChatMessages", chat)
    assert unpointed("unpinChatMessage", chat, ADMINS) == ("unpinChatMessage", chat)
    buttons = {"inline_keyboard": [[{"text": "认领", "callback_data": "c:1"}]]}
    bold = [{"type": "bold", "offset": 0, "length": 2}]
    assert unpointed("editMessageCaption", {
        **chat, "message_id": 7, "caption": "已认领", "caption_entities": bold,
        "reply_markup": buttons}, ADMINS) == ("sendMessage", {
            **chat, "text": "已认领", "entities": bold, "reply_markup": buttons})
    assert unpointed("editMessageCaption", {**chat, "message_id": 7, "caption": ""},
                     ADMINS) is None
    assert unpointed("editMessageText", {**chat, "message_id": 7, "text": "已完成"},
                     ADMINS) == ("sendMessage", {**chat, "text": "已完成"})
    quote_here = {"message_id": 7}
    quote_there = {"message_id": 7, "chat_id": LAWYERS}
    assert unpointed("sendMessage", {**chat, "text": "提醒", "reply_parameters": quote_here},
                     ADMINS) == ("sendMessage", {**chat, "text": "提醒"})
    assert unpointed("sendMessage", {**chat, "text": "提醒", "reply_parameters": quote_there},
                     ADMINS) == ("sendMessage", {**chat, "text": "提醒",
                                                 "reply_parameters": quote_there})
    assert unpointed("sendMessage", {**chat, "text": "提醒", "reply_to_message_id": 7,
                                     "allow_sending_without_reply": True},
                     ADMINS) == ("sendMessage", {**chat, "text": "提醒"})
