"""What citizens say in private: /start, the request form, their list, rating."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import Answer
from handlers.common import answer, callback_args, said, services, who


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets the user with the main menu (a deep link may carry a claim)."""
    payload = context.args[0] if context.args else ""
    await services(context).intake.start(who(update), payload)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explains how the bot works."""
    await services(context).intake.help(who(update))


async def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offers the languages."""
    await services(context).intake.choose_language(who(update))


async def new_request(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts (or resumes) the request form."""
    await services(context).intake.new_request(who(update))


async def my_requests(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the citizen's requests."""
    await services(context).loop.my_requests(who(update))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drops the unfinished form."""
    await services(context).intake.cancel_command(who(update))


async def message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Feeds any other private message to the conversation the user is in."""
    assert update.effective_message is not None
    await services(context).intake.on_message(who(update), said(update.effective_message))


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Opens a main-menu entry."""
    (choice,) = callback_args(update)
    svc, person = services(context), who(update)
    if choice == "new":
        await svc.intake.new_request(person)
    elif choice == "my":
        await svc.loop.my_requests(person)
    else:
        await svc.intake.help(person)
    await answer(update, Answer())


async def language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Switches the language."""
    (language,) = callback_args(update)
    await answer(update, await services(context).intake.set_language(who(update), language))


async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handles a button of the request form."""
    draft_id, action, arg = callback_args(update)
    result = await services(context).intake.on_button(who(update), draft_id, action, arg)
    await answer(update, result)


async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks to confirm cancelling a request from the list."""
    (request_id,) = callback_args(update)
    await answer(update, await services(context).loop.ask_cancel(who(update), int(request_id)))


async def cancel_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancels the request."""
    (request_id,) = callback_args(update)
    await answer(update, await services(context).loop.cancel(who(update), int(request_id)))


async def cancel_declined(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keeps the request."""
    await answer(update, Answer())


async def resolved_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes Yes or No to "Is it resolved?"."""
    request_id, yes_no = callback_args(update)
    loop = services(context).loop
    await answer(update, await loop.resolved(who(update), int(request_id), yes_no == "y"))


async def star_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stores the stars given."""
    request_id, stars = callback_args(update)
    await answer(update, await services(context).loop.rate(who(update), int(request_id),
                                                           int(stars)))


async def skip_comment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Finishes rating without a comment."""
    (request_id,) = callback_args(update)
    await answer(update, await services(context).intake.skip_comment(who(update),
                                                                     int(request_id)))


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explains that editing a sent message does not change the request."""
    await services(context).intake.explain_edit(who(update))


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Points someone who typed a private-chat command in a group to the private chat."""
    chat = update.effective_chat
    assert chat is not None
    await services(context).intake.point_to_private(who(update), chat.id)
