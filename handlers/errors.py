"""The last line of defence: stale buttons, and errors nobody else caught."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import MaybeInaccessibleMessage, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import Answer
from bot.delivery.inbox import LEFT_BEHIND
from handlers.common import answer, services, who
from storage import is_full

log = logging.getLogger(__name__)


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def on_its_own_message(handler: Handler) -> Handler:
    """A button kind's handler, reached only by a press of data that belongs to the message
    it was pressed on; anything else is told the button is no longer valid, and nothing is
    read or written.

    A client can send any callback data (another id, another kind's) on any message it can
    see. Telegram sends the message under the press with its keyboard as it is now, and the
    inbox keeps the pressed button of it when it is there (delivery/inbox.py `slim_press`):
    a press whose data is not on its message was never a button the bot showed there, or was
    taken off it (a double tap after the first one's answer, an old form). A message too old
    for Telegram to send with the press (inaccessible: no keyboard to look at) cannot be
    checked here: its handler's own rules apply (`pressed_message`, and the services check
    every right again)."""

    async def gated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        message = query.message
        if message is None or (message.is_accessible and not carries_pressed_button(update)):
            await stale_button(update, context)
            return
        await handler(update, context)

    gated.__name__ = gated.__qualname__ = getattr(handler, "__name__", "gated")
    gated.__doc__ = handler.__doc__
    return gated


def unchecked(message: MaybeInaccessibleMessage) -> tuple[int, int] | None:
    """The chat and id of a pressed message whose keyboard could not be looked at (too old
    for Telegram to send): the unit of work checks it is no message the bot redraws
    (Services.run_pressed); None for one seen to carry the pressed button."""
    return None if message.is_accessible else (message.chat.id, message.message_id)


async def pressed_chat(update: Update, context: ContextTypes.DEFAULT_TYPE
                       ) -> MaybeInaccessibleMessage | None:
    """The message under a pressed button, for where it was pressed only (never to edit), or
    None once the presser has been told the button is too old (Telegram no longer says
    where it was)."""
    query = update.callback_query
    assert query is not None
    if query.message is None:
        await stale_button(update, context)
    return query.message


async def pressed_message(update: Update, context: ContextTypes.DEFAULT_TYPE
                          ) -> MaybeInaccessibleMessage | None:
    """The message under a pressed button, for a service that edits it; or None once the
    presser has been told the button is no longer valid.

    A client can send any callback data on any message it can see, so the message a press
    names is the button's own only when it carries that very button (on_its_own_message has
    checked it did). A message Telegram no longer sends with the press (it is some days old:
    date 0, no keyboard to look at) is taken only in the presser's own private chat (nobody
    else sees what changes there) and in the admin chat, where the admins' buttons wait
    that long (a unit's request for more time, a returned problem); the unit of work then
    refuses it on a message the bot redraws from what is stored (a call's roster, a card:
    Services.run_pressed with `unchecked`), and every service behind it checks the
    presser's rights again. A press anywhere else, a group's card above all, goes no
    further: a card changes only when it is redrawn from what is stored."""
    query = update.callback_query
    assert query is not None
    message = query.message
    if message is None or not (carries_pressed_button(update) or own_private_chat(update)
                               or too_old_in_admin_chat(update, context)):
        await stale_button(update, context)
        return None
    return message


def editable_id(message: MaybeInaccessibleMessage) -> int | None:
    """The id by which a service edits the pressed message; None for a message that stayed
    in a group before it became a supergroup (out of reach, and its id may name another
    message there): the service's words then come as a message of their own (ui.edit_text)."""
    return None if message.api_kwargs.get(LEFT_BEHIND) else message.message_id


def own_private_chat(update: Update) -> bool:
    """Whether the press came from the presser's own private chat with the bot."""
    query = update.callback_query
    assert query is not None
    message = query.message
    return (message is not None and message.chat.type == ChatType.PRIVATE
            and message.chat.id == query.from_user.id)


def too_old_in_admin_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the press came on a message of the admin chat that Telegram no longer shows
    (an inaccessible message: what it carries cannot be checked)."""
    query = update.callback_query
    assert query is not None
    message = query.message
    admin_chat = services(context).env.config.admin_chat_id
    return (message is not None and not message.is_accessible
            and admin_chat is not None and message.chat.id == admin_chat)


def pressed_copy(update: Update) -> Message | None:
    """The message pressed, when it is seen to carry the very button pressed: only then may it
    be a lost copy of a card to take on (a message too old to be looked at may be any message
    of the bot in that chat, which taking it on would overwrite)."""
    query = update.callback_query
    message = query.message if query is not None else None
    return message if isinstance(message, Message) and carries_pressed_button(update) else None


def carries_pressed_button(update: Update) -> bool:
    """Whether the pressed data is a button of the message it was pressed on, as Telegram
    sent that message with the press (the inbox keeps that one button of its keyboard)."""
    query = update.callback_query
    assert query is not None
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    if markup is None or not query.data:
        return False
    return any(button.callback_data == query.data
               for row in markup.inline_keyboard for button in row)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers a button whose data we do not recognise (old or forged) politely."""
    svc = services(context)
    lang = await svc.intake.language_of(who(update))
    await answer(update, Answer(svc.env.t(lang, "common.stale"), alert=True))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs the error and tells the user, in their language, that we could not do it."""
    if context.error is not None and is_full(context.error):
        # Nothing was kept, and nothing could be queued to say so: the poller handles the
        # update again once there is room (and the log says the database is full, once).
        log.debug("update %s waits: database is full", getattr(update, "update_id", "?"))
        return
    log.error("update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_user is None:
        return
    svc = services(context)
    lang = await svc.intake.language_of(who(update))
    text = svc.env.t(lang, "common.error")
    if update.callback_query is not None:
        with contextlib.suppress(BadRequest):  # already answered, or too old to answer
            await update.callback_query.answer(text, show_alert=True)
    elif update.effective_chat is not None and update.effective_chat.type == "private":
        await svc.notify(update.effective_chat.id, text)
