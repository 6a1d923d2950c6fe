"""What volunteers do: Claim in the group, Done and Release in private, /mytasks."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import buttons
from handlers.common import answer, callback_args, pressed, services, who


async def claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claims a request; the first press wins."""
    (request_id,) = callback_args(update)
    query = update.callback_query
    assert query is not None
    chat_id = query.message.chat.id if query.message is not None else 0
    result = await services(context).loop.claim(who(update), int(request_id), chat_id)
    await answer(update, result)


async def release(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Gives a claimed request back."""
    (request_id,) = callback_args(update)
    await answer(update, await services(context).loop.release(who(update), int(request_id)))


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts finishing a task: asks for an optional note."""
    (request_id,) = callback_args(update)
    await answer(update, await services(context).loop.ask_done_note(who(update),
                                                                    int(request_id)))


async def skip_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Finishes a task without a note."""
    (request_id,) = callback_args(update)
    await answer(update, await services(context).intake.skip_done_note(who(update),
                                                                       int(request_id)))


async def my_tasks(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the volunteer's open tasks."""
    await services(context).loop.my_tasks(who(update))


async def more_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Extends a task once when its reminder comes."""
    (request_id,) = callback_args(update)
    await answer(update, await services(context).loop.more_time(who(update), int(request_id)))


async def details(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends a task's details again."""
    (request_id,) = callback_args(update)
    result = await services(context).loop.resend_details(who(update), int(request_id))
    await answer(update, result)


async def hours_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes the time spent on a finished task."""
    request_id, choice = callback_args(update)
    result = await services(context).intake.hours_button(who(update), int(request_id), choice)
    await answer(update, result)


async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts a volunteer registration (or shows the one on file)."""
    await services(context).volunteers.join(who(update))


async def join_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes an area or team button of the registration."""
    action, (arg,) = pressed(update)
    await answer(update, await services(context).volunteers.join_button(who(update), action,
                                                                          arg))


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Approves or rejects a registration."""
    action, (applicant,) = pressed(update)
    result = await services(context).volunteers.decide(who(update), int(applicant),
                                                        action is buttons.APPROVE)
    await answer(update, result)


async def hours(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the volunteer's credited hours."""
    await services(context).volunteers.my_hours(who(update))


async def team(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the volunteer's team and its hours."""
    await services(context).volunteers.my_team(who(update))
