"""Loop 2, volunteer activities: the theme, publishing, sign-up, the organisers' controls,
recruitment calls, rankings, honours and the service record."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.context import Answer
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
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.themes.decide, draft, action == "save",
                                   message.chat.id, message.message_id)
    await answer(update, result)


async def publish(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/publish: an organiser's dialog that publishes an activity."""
    svc = services(context)
    await svc.run(who(update), svc.publishing.command)


async def publish_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of the publishing dialog (a team, Skip, Publish, Cancel …)."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    draft, action, arg = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.publishing.on_button, draft, action, arg,
                                   message.chat.id, message.message_id)
    await answer(update, result)


async def manage_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An organiser's control: who signed up, close or reopen sign-up, cancel."""
    svc = services(context)
    activity, action = callback_args(update)
    service = (svc.attendance.manage if action in ("qrin", "qrout", "hand", "confirm")
               else svc.publishing.manage)
    result = await svc.run(who(update), service, int(activity), action)
    await answer(update, result)


async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Yes or No under "Cancel this activity?"."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    activity, choice = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.publishing.cancel, int(activity), choice == "y",
                                   message.chat.id, message.message_id)
    await answer(update, result)


async def activities_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/activities: my sign-ups, what I organise, and upcoming activities to join."""
    svc = services(context)
    await svc.run(who(update), svc.signups.list_command)


async def sign_up_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sign up on a recruitment card (in a group) or under an activity (in private)."""
    svc = services(context)
    (activity,) = callback_args(update)
    copy = errors.pressed_copy(update)
    pressed = (None if copy is None or copy.chat.type == ChatType.PRIVATE
               else (copy.chat.id, copy.message_id))  # a card in a group
    result = await svc.run(who(update), svc.signups.sign_up, int(activity), pressed)
    await answer(update, result)


async def quit_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancel my sign-up (or decline a place from the waitlist): asked once more."""
    svc = services(context)
    (activity,) = callback_args(update)
    result = await svc.run(who(update), svc.signups.ask_quit, int(activity))
    await answer(update, result)


async def quit_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Yes, cancel my sign-up."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    (activity,) = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.signups.quit, int(activity), message.chat.id,
                                   message.message_id)
    await answer(update, result)


async def hours(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/hours: this year's hours by source, all-time, stars, formal-volunteer status."""
    svc = services(context)
    await svc.run(who(update), svc.attendance.my_hours)


async def add_hours(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/addhours <activity> <user> <hours> <reason>: a make-up credited by hand."""
    svc = services(context)
    await svc.run(who(update), svc.attendance.add_hours, list(context.args or []))


async def check_in_here(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Check in (or out) here: the volunteer is asked for their location."""
    svc = services(context)
    (activity,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.attendance.ask_location,
                                       int(activity)))


async def hand_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The organiser checks a volunteer in by hand."""
    svc = services(context)
    activity, user = callback_args(update)
    await answer(update, await svc.run(who(update), svc.attendance.by_hand, int(activity),
                                       int(user)))


async def confirm_hours(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The organiser confirms the attendance list and its hours."""
    svc = services(context)
    (activity,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.attendance.confirm, int(activity)))


async def dispute_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A volunteer disputes their hours of an activity (once)."""
    svc = services(context)
    (activity,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.attendance.ask_dispute,
                                       int(activity)))


async def decide_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The organiser accepts or refuses a dispute."""
    svc = services(context)
    dispute, choice = callback_args(update)
    await answer(update, await svc.run(who(update), svc.attendance.decide, int(dispute),
                                       choice == "y"))


async def events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/events: upcoming activities anyone can see, nearest first after sharing a location."""
    svc = services(context)
    await svc.run(who(update), svc.signups.events_command)


async def events_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Nearest to me, or All by date, under /events."""
    svc = services(context)
    (choice,) = callback_args(update)
    await answer(update, await svc.run(who(update), svc.signups.events_button, choice))


async def event_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One activity's details (with Sign up) from /events."""
    svc = services(context)
    (activity,) = callback_args(update)
    await svc.run(who(update), svc.signups.show, int(activity))
    await answer(update, Answer())


async def edit_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Which detail of a published activity to change."""
    svc = services(context)
    activity, field = callback_args(update)
    await answer(update, await svc.run(who(update), svc.publishing.edit_field, int(activity),
                                       field))


async def call(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/call: an admin's dialog that sends a recruitment call."""
    svc = services(context)
    await svc.run(who(update), svc.calls.command)


async def call_form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of the call dialog (a number, an area, a team, Done, Send, Cancel …)."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    draft, action, arg = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.calls.on_button, draft, action, arg,
                                   message.chat.id, message.message_id)
    await answer(update, result)


async def im_in_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """I'm in, on a call's card in a group or its copy in private."""
    svc = services(context)
    (call_id,) = callback_args(update)
    copy = errors.pressed_copy(update)
    pressed = (None if copy is None or copy.chat.type == ChatType.PRIVATE
               else (copy.chat.id, copy.message_id))  # a card in a group
    await answer(update, await svc.run(who(update), svc.calls.respond, int(call_id), pressed))


async def cant_come_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Can't come after all: a responder withdraws their answer to a call."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    (call_id,) = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    await answer(update, await svc.run_pressed(who(update), errors.unchecked(message),
                                               svc.calls.withdraw, int(call_id),
                                               message.chat.id, message.message_id))


async def call_manage_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The admin closes a call, or asks to cancel it."""
    svc = services(context)
    call_id, action = callback_args(update)
    await answer(update, await svc.run(who(update), svc.calls.manage, int(call_id), action))


async def call_cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Yes or No under "Cancel this call?"."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    call_id, choice = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    await answer(update, await svc.run_pressed(who(update), errors.unchecked(message),
                                               svc.calls.cancel, int(call_id),
                                               choice == "y", message.chat.id, message.message_id))


async def ranking(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ranking [month|year] [YYYY-MM|YYYY]: volunteers and teams by verified hours; hide, show."""
    svc = services(context)
    chat = update.effective_chat
    assert chat is not None
    await svc.run(who(update), svc.rankings.command, chat.id, chat.type == ChatType.PRIVATE,
                  list(context.args or []))


async def honour(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/honour <user>: an admin's dialog that records an honour on a volunteer's record."""
    svc = services(context)
    await svc.run(who(update), svc.honours.command, list(context.args or []))


async def honours(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/honours [user]: one's own honours, or (admins) someone's."""
    svc = services(context)
    await svc.run(who(update), svc.honours.list_command, list(context.args or []))


async def honour_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A year, Save, Save and announce or Cancel under an honour's form."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    draft, action, arg = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.honours.on_button, draft, action, arg,
                                   message.chat.id, message.message_id)
    await answer(update, result)


async def revoke_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Revoke an honour: asked once more, then Yes or No."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    honour_id, choice = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.honours.revoke, int(honour_id), choice,
                                   message.chat.id, message.message_id)
    await answer(update, result)


async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/record: the volunteer's service record as a PNG, with its verification code."""
    svc = services(context)
    await svc.run(who(update), svc.records.record)


async def verify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/verify <code>: an admin checks a service record's verification code."""
    svc = services(context)
    await svc.run(who(update), svc.records.verify, list(context.args or []))
