"""Admin commands: /bind in a group, /stats."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from handlers.common import services, who


async def bind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Makes this group the volunteer group of a category."""
    chat = update.effective_chat
    assert chat is not None
    in_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    await services(context).loop.bind(who(update), chat.id, chat.title or "", in_group,
                                      list(context.args or []))


async def bindings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists which group serves which category where."""
    chat = update.effective_chat
    assert chat is not None
    await services(context).loop.list_bindings(who(update), chat.id)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the request statistics."""
    chat = update.effective_chat
    assert chat is not None
    await services(context).loop.stats(who(update), chat.id, list(context.args or []))


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends an export (/export volunteers)."""
    chat = update.effective_chat
    assert chat is not None
    await services(context).volunteers.export(who(update), chat.id, list(context.args or []))


async def find(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows one request with its timeline (/find <ref>)."""
    chat = update.effective_chat
    assert chat is not None
    await services(context).loop.find(who(update), chat.id, list(context.args or []))
