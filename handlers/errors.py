"""The last line of defence: stale buttons, and errors nobody else caught."""

from __future__ import annotations

import contextlib
import logging

from telegram import MaybeInaccessibleMessage, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import Answer
from handlers.common import answer, services, who
from storage import is_full

log = logging.getLogger(__name__)


async def pressed_message(update: Update, context: ContextTypes.DEFAULT_TYPE
                          ) -> MaybeInaccessibleMessage | None:
    """The message under a pressed button, or None once the presser has been told the
    button is too old (Telegram no longer says where it was)."""
    query = update.callback_query
    assert query is not None
    if query.message is None:
        await stale_button(update, context)
    return query.message


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
