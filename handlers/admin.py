"""Admin commands: groups, statistics, exports, casework, roles and moderation."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from bot.context import Who
from handlers import citizen, errors
from handlers.common import answer, callback_args, services, who

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def admins_only_in_groups(command: str, handler: Handler) -> Handler:
    """An admin command that, typed in a group by someone who is no admin, posts nothing
    there (a group takes 20 messages a minute: cards come first) and is refused in private."""

    @functools.wraps(handler)
    async def gated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is not None and user is not None and chat.type != ChatType.PRIVATE:
            svc = services(context)
            if not await svc.roles.is_admin(user.id):
                await svc.run(who(update), svc.admin.refuse_in_group, f"/{command}")
                return
        await handler(update, context)

    return gated


async def anonymous(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command sent in a group as the group itself (an anonymous admin) or as a channel:
    Telegram does not say who sent it, so it is explained in the group, not run."""
    svc = services(context)
    message = update.effective_message
    assert message is not None and message.text is not None
    command = message.text.split()[0].split("@")[0]
    # Its sender is one of Telegram's service accounts: the unit records nobody for it.
    await svc.run(who(update), svc.admin.explain_anonymous, _chat_id(update), command)


def anonymous_unless_general(words: tuple[str, ...], handler: Handler) -> Handler:
    """A command the same for anyone whose first word (one of `words`: /theme set, /ranking
    hide) is about whoever asks: sent as the group or a channel, explained as any command
    that depends on who sends it, rather than run for Telegram's account."""

    @functools.wraps(handler)
    async def gated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, args = update.effective_message, _args(context)
        if (message is not None and message.sender_chat is not None and args
                and args[0].lower() in words):
            await anonymous(update, context)
            return
        await handler(update, context)

    return gated


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


def _args(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    return list(context.args or [])


async def bind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Makes this group the volunteer group of a category (or, /bind team <id>, a team's own
    group, where its activities are posted)."""
    svc = services(context)
    chat = update.effective_chat
    assert chat is not None
    in_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    args = _args(context)
    if len(args) == 2 and args[0].lower() == "unit":
        await svc.run(who(update), svc.supervision.bind_unit, chat.id, chat.title or "",
                      in_group, args[1])
        return
    if len(args) == 2 and args[0].lower() == "team":
        await svc.run(who(update), svc.publishing.bind_team, chat.id, chat.title or "",
                      in_group, args[1])
        return
    await svc.run(who(update), svc.admin.bind, chat.id, chat.title or "", in_group, args)


async def bindings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists which group serves which category where."""
    svc = services(context)
    await svc.run(who(update), svc.admin.list_bindings, _chat_id(update))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the statistics of a period and area, then a chart."""
    svc = services(context)
    await svc.run(who(update), svc.stats.stats, _chat_id(update), _args(context))


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends an export of requests (XLSX and CSV) or of volunteers."""
    svc = services(context)
    await svc.run(who(update), svc.exports.export, _chat_id(update), _args(context))


async def find(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows one request with its timeline (/find <ref>)."""
    svc = services(context)
    await svc.run(who(update), svc.casework.find, _chat_id(update), _args(context))


async def thread(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows a reported masked chat of a request (/thread <ref>)."""
    svc = services(context)
    await svc.run(who(update), svc.relay.read, _chat_id(update), _args(context))


async def assign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Gives a request to a volunteer (/assign <ref> <volunteer>)."""
    svc = services(context)
    await svc.run(who(update), svc.casework.assign, _chat_id(update), _args(context))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel <ref> <reason> cancels a request; a bare /cancel in private leaves the form."""
    svc = services(context)
    chat = update.effective_chat
    if not context.args and chat is not None:
        if chat.type == ChatType.PRIVATE:
            await citizen.cancel(update, context)
        else:
            await citizen.in_group(update, context)
        return
    await svc.run(who(update), svc.casework.cancel, _chat_id(update), _args(context))


async def reopen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reopens a request and dispatches it again (/reopen <ref> <reason>)."""
    svc = services(context)
    await svc.run(who(update), svc.casework.reopen, _chat_id(update), _args(context))


async def move(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Moves a request to another category or area (/move <ref> <category|area>)."""
    svc = services(context)
    await svc.run(who(update), svc.casework.move, _chat_id(update), _args(context))


async def grant(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Makes someone an admin of an area (/grant <user> <area>)."""
    svc = services(context)
    await svc.run(who(update), svc.admin.grant, _chat_id(update), _args(context))


async def revoke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ends someone's area admin role (/revoke <user> [area])."""
    svc = services(context)
    await svc.run(who(update), svc.admin.revoke, _chat_id(update), _args(context))


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reads the teams, areas, categories and monthly themes again."""
    svc = services(context)
    await svc.run(who(update), svc.admin.reload, _chat_id(update))


async def admins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lists the centre admins and the area admins."""
    svc = services(context)
    await svc.run(who(update), svc.admin.list_admins, _chat_id(update))


async def ban(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Bans a user from filing requests (/ban <user> <reason>)."""
    svc = services(context)
    await svc.run(who(update), svc.admin.ban, _chat_id(update), _args(context))


async def unban(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lifts a ban (/unban <user>)."""
    svc = services(context)
    await svc.run(who(update), svc.admin.unban, _chat_id(update), _args(context))


async def broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Previews a message to an area's volunteers (/broadcast <area> <text>)."""
    svc = services(context)
    message = update.effective_message
    text = message.text if message and message.text else ""
    await svc.run(who(update), svc.admin.broadcast, _chat_id(update), text)


async def broadcast_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send or Cancel under a broadcast preview."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    broadcast_id, action = callback_args(update)
    message = await errors.pressed_message(update, context)
    if message is None:
        return
    result = await svc.run_pressed(who(update), errors.unchecked(message),
                                   svc.admin.decide_broadcast, int(broadcast_id),
                                   action == "send", message.chat.id, errors.editable_id(message))
    await answer(update, result)


async def member_left(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Someone left a group, or was removed: from a service message or a chat_member update
    (Telegram sends the second only where the bot is an administrator)."""
    chat = update.effective_chat
    change, message = update.chat_member, update.effective_message
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    if change is not None:
        if change.new_chat_member.status not in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
            return  # joined, promoted, restricted: nothing to release
        person = change.new_chat_member.user
    elif message is not None and message.left_chat_member is not None:
        person = message.left_chat_member
    else:
        return
    if person.is_bot:
        return  # the bot itself comes as my_chat_member; other bots hold no tasks
    svc = services(context)
    member = Who(person.id, person.first_name or "", person.username, person.language_code,
                 False)
    await svc.run(who(update), svc.loop.member_left, chat.id, chat.title or "", member)


async def topic_named(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A forum topic was made or renamed (its service message): the name is remembered for
    the places bound to it. No person is recorded: it is the chat's news, not a request."""
    message = update.effective_message
    if message is None or message.message_thread_id is None:
        return
    made, edited = message.forum_topic_created, message.forum_topic_edited
    name = made.name if made is not None else edited.name if edited is not None else None
    if not name:  # an icon changed, the name kept
        return
    svc = services(context)
    async with svc.units.for_job() as unit:
        await svc.admin.topic_named(unit, message.chat.id, message.message_thread_id, name)


async def group_upgraded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: the service message in the old group (migrate_to_chat_id)
    or in the supergroup (migrate_from_chat_id), whichever comes (bot/moves.py). No person is
    recorded: the second comes from Telegram's anonymous group bot."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    svc = services(context)
    async with svc.units.for_job() as unit:
        await svc.moves.group_upgraded(unit, old, new)


async def chat_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was added to, or removed from, a group."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return  # a person blocking or unblocking the bot: the sender learns it on its own
    svc = services(context)
    await svc.run(who(update), svc.loop.group_membership, change.chat.id,
                  change.chat.title or "", change.new_chat_member.status)
