"""Loop 3, supervision: the admins' commands for inspection groups, patrol points, units'
chats and the people who act for a unit."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.common import answer, callback_args, services, who


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


async def inspector(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/inspector add <user> <group> | remove <user>."""
    svc = services(context)
    await svc.run(who(update), svc.supervision.inspector, _chat_id(update),
                  list(context.args or []))


async def inspectors(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/inspectors: the groups, their inspectors and their points."""
    svc = services(context)
    await svc.run(who(update), svc.supervision.list_inspectors, _chat_id(update))


async def patrol(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/patrol <group> <points, area:<id>, kind:<kind> or all>."""
    svc = services(context)
    await svc.run(who(update), svc.supervision.patrol, _chat_id(update),
                  list(context.args or []))


async def unit_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unitmember add|remove <unit> <user>."""
    svc = services(context)
    await svc.run(who(update), svc.supervision.member, _chat_id(update),
                  list(context.args or []))


async def units(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/units: each responsible unit, its chat, its people and its points."""
    svc = services(context)
    await svc.run(who(update), svc.supervision.list_units, _chat_id(update))


async def inspect(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/inspect: an inspector's visit to a point."""
    svc = services(context)
    await svc.run(who(update), svc.reporting.command)


async def inspect_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of the visit: a point, a type, a severity, Submit …"""
    svc = services(context)
    draft, action, arg = callback_args(update)
    await answer(update, await svc.run(who(update), svc.reporting.on_button, draft, action, arg))


async def due(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/due: the group's points due for a visit."""
    svc = services(context)
    await svc.run(who(update), svc.reporting.due_command)
