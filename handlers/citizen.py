"""What citizens say in private: /start, the request form, their list, rating."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import Answer
from handlers.common import answer, callback_args, said, services, who


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets the user with the main menu (a deep link may carry a claim)."""
    svc = services(context)
    payload = context.args[0] if context.args else ""
    await svc.run(who(update), svc.intake.start, payload)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explains how the bot works."""
    svc = services(context)
    await svc.run(who(update), svc.intake.help)


async def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offers the languages."""
    svc = services(context)
    await svc.run(who(update), svc.intake.choose_language)


async def new_request(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts (or resumes) the request form."""
    svc = services(context)
    await svc.run(who(update), svc.intake.new_request)


async def my_requests(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the citizen's requests."""
    svc = services(context)
    await svc.run(who(update), svc.loop.my_requests)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drops the unfinished form."""
    svc = services(context)
    await svc.run(who(update), svc.intake.cancel_command)


async def message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Feeds any other private message to the conversation the user is in; a reply to a
    relayed message goes to its masked chat."""
    svc = services(context)
    assert update.effective_message is not None
    what = said(update.effective_message)
    if what.reply_thread is not None:
        await svc.run(who(update), svc.relay.on_reply, what)
        return
    await svc.run(who(update), svc.intake.on_message, what)


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Opens a main-menu entry."""
    (choice,) = callback_args(update)
    svc, person = services(context), who(update)
    if choice == "new":
        await svc.run(person, svc.intake.new_request)
    elif choice == "my":
        await svc.run(person, svc.loop.my_requests)
    else:
        await svc.run(person, svc.intake.help)
    await answer(update, Answer())


async def language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Switches the language."""
    svc = services(context)
    (language,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.intake.set_language, language))


async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handles a button of the request form."""
    svc = services(context)
    draft_id, action, arg = callback_args(update)
    result = await svc.run(who(update), svc.intake.on_button, draft_id, action, arg)
    await answer(update, result)


async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks to confirm cancelling a request from the list."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.ask_cancel, int(request_id)))


async def cancel_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancels the request."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.cancel, int(request_id)))


async def cancel_declined(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keeps the request."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.keep, int(request_id)))


async def resolved_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes Yes or No to "Is it resolved?"."""
    request_id, yes_no = callback_args(update)
    svc = services(context)
    await answer(update, await svc.run(who(update), svc.loop.resolved, int(request_id),
                                       yes_no == "y"))


async def star_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stores the stars given."""
    svc = services(context)
    request_id, stars = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.rate, int(request_id),
                                                           int(stars)))


async def follower_star_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stores the stars a neighbour who joined a request gives it."""
    svc = services(context)
    request_id, stars = callback_args(update)
    await answer(update, await svc.run(who(update), svc.loop.rate_as_follower,
                                       int(request_id), int(stars)))


async def skip_comment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Finishes rating without a comment."""
    svc = services(context)
    (request_id,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.intake.skip_comment, int(request_id)))


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explains that editing a sent message does not change the request."""
    svc = services(context)
    assert update.edited_message is not None
    await svc.run(who(update), svc.intake.explain_edit, said(update.edited_message))


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Points someone who typed a private-chat command in a group to the private chat."""
    svc = services(context)
    chat = update.effective_chat
    assert chat is not None
    await svc.run(who(update), svc.intake.point_to_private, chat.id)


async def mydata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the user everything held about them."""
    svc = services(context)
    await svc.run(who(update), svc.personal.show)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks the user to confirm clearing their data."""
    svc = services(context)
    await svc.run(who(update), svc.personal.ask_forget)


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes Yes or No to /forget."""
    (choice,) = callback_args(update)
    svc = services(context)
    await answer(update, await svc.run(who(update), svc.personal.forget, choice == "y"))



async def consent_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes I agree or Not now to the privacy notice."""
    (choice,) = callback_args(update)
    svc = services(context)
    await answer(update, await svc.run(who(update), svc.intake.consent, choice == "y"))


async def vouch_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes a helper's word that their neighbour confirmed it, by phone or in person."""
    request_id, via = callback_args(update)
    svc = services(context)
    await answer(update, await svc.run(who(update), svc.loop.confirm_for_neighbour,
                                       int(request_id), via))


async def chat_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Opens the masked chat of a request (Message the volunteer / the citizen)."""
    (request_id,) = callback_args(update)
    svc = services(context)
    await answer(update, await svc.run(who(update), svc.relay.open, int(request_id)))


async def thread_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Takes Reply, End chat or Report on a masked chat (and their confirmations)."""
    thread_id, action = callback_args(update)
    svc = services(context)
    await answer(update, await svc.run(who(update), svc.relay.press, int(thread_id), action))

