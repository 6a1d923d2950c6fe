"""What volunteers do: Claim in the group, Done and Release in private, /mytasks."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import buttons
from handlers import errors
from handlers.common import answer, callback_args, pressed, services, who


async def claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claims a request; the first press wins."""
    svc = services(context)
    (request_id,) = callback_args(update)
    query = update.callback_query
    assert query is not None
    message = query.message
    chat_id = message.chat.id if message is not None else 0
    # A possible lost copy (errors.pressed_copy) that can be edited where it is (not one left
    # behind by a group's upgrade).
    pressed = errors.pressed_copy(update)
    copy = errors.editable_id(pressed) if pressed is not None else None
    result = await svc.run(who(update), svc.loop.claim, int(request_id), chat_id, copy)
    await answer(update, result)


async def release(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Gives a claimed request back."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.release, int(request_id)))


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts finishing a task: asks for an optional note."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.ask_done_note, int(request_id)))


async def skip_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Finishes a task without a note."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.intake.skip_done_note, int(request_id)))


async def my_tasks(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the volunteer's open tasks."""
    svc = services(context)
    await svc.run(who(update), svc.loop.my_tasks)


async def more_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Extends a task once when its reminder comes."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.more_time, int(request_id)))


async def details(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends a task's details again."""
    svc = services(context)
    (request_id,) = callback_args(update)
    result = await svc.run(who(update), svc.loop.resend_details, int(request_id))
    await answer(update, result)


async def hours_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes the time spent on a finished task."""
    svc = services(context)
    request_id, choice = callback_args(update)
    result = await svc.run(who(update), svc.intake.hours_button, int(request_id), choice)
    await answer(update, result)


async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts a volunteer registration (or shows the one on file)."""
    svc = services(context)
    await svc.run(who(update), svc.volunteers.join)


async def join_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes an area or team button of the registration."""
    svc = services(context)
    action, (arg,) = pressed(update)
    await answer(update, await svc.run(who(update), svc.volunteers.join_button, action,
                                                                          arg))


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Approves or rejects a registration."""
    svc = services(context)
    action, (applicant,) = pressed(update)
    result = await svc.run(who(update), svc.volunteers.decide, int(applicant),
                                                        action is buttons.APPROVE)
    await answer(update, result)


async def team(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the volunteer's team and its hours."""
    svc = services(context)
    await svc.run(who(update), svc.volunteers.my_team)


async def for_neighbour(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts (or resumes) a request form for a neighbour without a smartphone."""
    svc = services(context)
    await svc.run(who(update), svc.intake.for_neighbour)
