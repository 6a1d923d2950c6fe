"""Loop 3, supervision: the admins' commands for inspection groups, patrol points, units'
chats and the people who act for a unit; an inspector's visit; a problem's card, its re-check,
the admins' reassigning and extensions, and /problem."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers import errors
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


async def problem_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Received, Rectified, Not ours or Need more time on a unit's card."""
    svc = services(context)
    problem, action = callback_args(update)
    message = await errors.pressed_chat(update, context)  # who acts is checked by its chat
    if message is None:
        return
    copy = message.message_id if errors.pressed_copy(update) is not None else None
    await answer(update, await svc.run(who(update), svc.dispatch.on_card, int(problem), action,
                                       message.chat.id, copy))


async def recheck_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pass or Reject under an inspector's re-check."""
    svc = services(context)
    problem, action = callback_args(update)
    copy = errors.pressed_copy(update)  # in the inspector's own chat: it may be a lost one
    copy_id = copy.message_id if copy is not None and errors.own_private_chat(update) else None
    await answer(update, await svc.run(who(update), svc.dispatch.on_recheck, int(problem),
                                       action, copy_id))


async def reassign_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A unit's button under a returned problem, for the admins."""
    svc = services(context)
    problem, unit_id = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    await answer(update, await svc.run_pressed(who(update), errors.unchecked(message),
                                               svc.dispatch.on_reassign, int(problem),
                                               unit_id, message.chat.id,
                                               errors.editable_id(message)))


async def extension_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Approve or Refuse under a unit's request for more time."""
    svc = services(context)
    asked, choice = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    await answer(update, await svc.run_pressed(who(update), errors.unchecked(message),
                                               svc.dispatch.on_extension, int(asked),
                                               choice == "y", message.chat.id,
                                               errors.editable_id(message)))


async def problem(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/problem <ref>: a problem's state and history."""
    svc = services(context)
    await svc.run(who(update), svc.dispatch.show, _chat_id(update), list(context.args or []))


async def reassign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reassign <ref> <unit id>."""
    svc = services(context)
    await svc.run(who(update), svc.dispatch.reassign_command, _chat_id(update),
                  list(context.args or []))


async def redispatch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/redispatch <ref>."""
    svc = services(context)
    await svc.run(who(update), svc.dispatch.redispatch_command, _chat_id(update),
                  list(context.args or []))


async def supervision_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sstats [period] [area]: supervision's figures, then their chart."""
    svc = services(context)
    await svc.run(who(update), svc.problem_figures.sstats, _chat_id(update),
                  list(context.args or []))


async def to_problem(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/toproblem <request ref> <point id> [type] [severity]."""
    svc = services(context)
    await svc.run(who(update), svc.bridge.to_problem, _chat_id(update),
                  list(context.args or []))
