"""Loop 2, volunteer activities: so far the month's theme (/theme and its Save / Cancel)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from handlers import errors
from handlers.common import answer, callback_args, services, who


async def theme(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the month's theme; /theme set|clear YYYY-MM for centre admins."""
    svc = services(context)
    chat = update.effective_chat
    assert chat is not None
    await svc.run(who(update), svc.themes.command, chat.id, chat.type == ChatType.PRIVATE,
                  list(context.args or []))


async def theme_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Save or Cancel under a month theme's preview."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    draft, action = callback_args(update)
    message = query.message
    if message is None:  # too old for Telegram to tell us where it was
        await errors.stale_button(update, context)
        return
    result = await svc.run(who(update), svc.themes.decide, draft, action == "save",
                           message.chat.id, message.message_id)
    await answer(update, result)
