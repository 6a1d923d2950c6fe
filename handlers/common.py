"""Turning Telegram updates into the plain values the services take."""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, cast

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError
from telegram.ext import ContextTypes

from bot import buttons, ui
from bot.context import Answer, Said, Topic, Who
from bot.delivery.transport import post_plain
from bot.lengths import visible

if TYPE_CHECKING:
    from bot.wiring import Services

log = logging.getLogger(__name__)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """Return the services the composition root put into bot_data."""
    return cast("Services", context.bot_data["services"])


def who(update: Update) -> Who:
    """Return the person behind an update."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None
    private = chat is not None and chat.type == ChatType.PRIVATE
    return Who(user.id, user.first_name or "", user.username, user.language_code, private,
               topic(update))


def topic(update: Update) -> Topic | None:
    """The forum topic the update's message is in (a command typed there, a button pressed
    on a message there), or None: another chat, or a forum's General topic."""
    chat, message = update.effective_chat, update.message
    if update.callback_query is not None and isinstance(update.callback_query.message, Message):
        message = update.callback_query.message  # not one too old to see (inaccessible)
    if (chat is None or not chat.is_forum or message is None or not message.is_topic_message
            or message.message_thread_id is None):
        return None
    # Every message in a topic answers its first one, which names it.
    first = message.reply_to_message
    created = first.forum_topic_created if first is not None else None
    return Topic(chat.id, message.message_thread_id, created.name if created else "")


def said(message: Message) -> Said:
    """Reduce a private message to what the conversation needs. A text or caption in which
    nothing shows (zero-width spaces, a Hangul filler) is no text: every step that wants one
    then asks again, as for an empty one, rather than keep an invisible name or title."""
    caption = _shown(message.caption or "")
    at, thread = message.message_id, reply_thread(message)
    if message.text is not None:
        kind = "command" if message.text.startswith("/") else "text"
        return Said(kind, text=_shown(message.text), message_id=at, reply_thread=thread)
    if message.photo:
        return Said("photo", text=caption, file_id=message.photo[-1].file_id,
                    media_group_id=message.media_group_id, message_id=at, reply_thread=thread)
    if message.voice is not None:
        return Said("voice", text=caption, file_id=message.voice.file_id, message_id=at,
                    reply_thread=thread)
    if message.location is not None:
        return Said("location", latitude=message.location.latitude,
                    longitude=message.location.longitude, reply_thread=thread)
    if message.contact is not None:
        return Said("contact", phone=message.contact.phone_number,
                    contact_user_id=message.contact.user_id, reply_thread=thread)
    if message.sticker is not None:
        return Said("sticker", reply_thread=thread)
    # Files and videos come in albums too: the album is said, so that one answer does.
    if message.document is not None:
        return Said("document", text=caption, media_group_id=message.media_group_id,
                    reply_thread=thread)
    return Said("other", text=caption, media_group_id=message.media_group_id,
                reply_thread=thread)


def _shown(text: str) -> str:
    """The text as sent, or "" if nothing in it shows."""
    return text if visible(text) else ""


def reply_thread(message: Message) -> int | None:
    """The masked chat of the bot's message this one replies to (a relayed message carries
    its thread's buttons), or None. The service checks the thread is the sender's."""
    quoted = message.reply_to_message
    if quoted is None or quoted.reply_markup is None:
        return None
    for row in quoted.reply_markup.inline_keyboard:
        for button in row:
            args = buttons.THREAD.parse(str(button.callback_data or ""))
            if args is not None:
                return int(args[0])
    return None


def pressed(update: Update) -> tuple[buttons.ButtonKind, list[str]]:
    """The pressed button's kind and arguments (the Application routed it by its pattern)."""
    query = update.callback_query
    assert query is not None
    parsed = buttons.parse(query.data)
    assert parsed is not None, "routed by a pattern of bot.buttons"
    return parsed[0], list(parsed[1])


def callback_args(update: Update) -> list[str]:
    """The pressed button's arguments (after its prefix)."""
    return pressed(update)[1]


# Telegram's limit for a popup's text; over it the whole answer is refused.
POPUP_MAX = 200


def popup(text: str) -> str:
    """A service's answer text as a popup shows it: plain text, not HTML (the catalog escaped
    the values it filled in, for messages: "Tea &amp; talk" would show as typed there, and
    literally here), cut to Telegram's 200 characters (escaping can triple a title's length)."""
    return ui.clip(html.unescape(text), POPUP_MAX)


async def answer(update: Update, result: Answer) -> None:
    """Answer the pressed button with the service's toast or alert."""
    query = update.callback_query
    assert query is not None
    # Straight through the transport (as the sender's calls go), not PTB's Bot layer: every
    # press makes this call, and its parameters are plain.
    params = {"callback_query_id": query.id, "text": popup(result.text) or None,
              "show_alert": True if result.alert else None, "url": result.url}
    try:
        await post_plain(query.get_bot(), "answerCallbackQuery", params)
    except BadRequest as exc:
        # The work is done and saved; a press replayed after a restart is simply too old
        # to answer, which must not turn into an error message.
        if "query is too old" not in exc.message.lower():
            raise
    except NetworkError as exc:
        # The same when Telegram cannot be reached just then (bench/drills.py's outage): the
        # press goes unanswered, and the messages it caused wait in the outbox. An error
        # handler's "something went wrong" would be untrue.
        log.warning("a button press went unanswered (%s); its work is done", exc.message)
