"""The sandbox's state: users, chats, messages, files, callback queries and the update queue."""

from __future__ import annotations

import asyncio
import copy
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .actors import CallbackAnswer, Press, SimChat, SimUser
from .html import utf16_len
from .limits import Limits
from .messages import FileRecord, SimMessage

EventCallback = Callable[[str, SimChat, SimMessage | None, str], None]
_COMMAND_RE = re.compile(r"(?<![^\s])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")
_FAKE_BYTES = {
    "photo": b"\xff\xd8\xff\xe0sandbox-jpeg",
    "voice": b"OggSsandbox-voice",
    "document": b"%PDF-1.4 sandbox document",
    "sticker": b"RIFFsandbox-webp",
}
_EXT = {"photo": "jpg", "voice": "oga", "document": "pdf", "sticker": "webp"}


# Service messages: a bot in privacy mode gets them in every group it is in.
SERVICE_KINDS = frozenset({"new_chat_members", "left_chat_member", "migrate",
                           "forum_topic_created", "forum_topic_edited", "forum_topic_closed",
                           "forum_topic_reopened"})
# The colours Telegram offers a new topic's icon (createForumTopic's icon_color).
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
# Who Telegram names as the sender of a supergroup's first message, the one saying which group
# it was made from (with the supergroup itself as sender_chat).
GROUP_ANONYMOUS_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                       "username": "GroupAnonymousBot"}
# Who Telegram names as the sender of a message a channel posts in a group (as itself), and of
# a channel's post forwarded automatically into its linked discussion group.
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel",
               "username": "Channel_Bot"}
TELEGRAM = {"id": 777000, "is_bot": False, "first_name": "Telegram"}


@dataclass
class CallbackRecord:
    """A callback query waiting for (or holding) the bot's answer."""

    query_id: str
    created: float
    message: SimMessage
    answer: CallbackAnswer | None = None


class World:
    """Everything the fake Telegram knows, shared by the HTTP API and the test-facing actors."""

    def __init__(self, bot_id: int, bot_username: str, bot_name: str, limits: Limits,
                 privacy_mode: bool = True, clock: Callable[[], float] = time.time):
        self.bot_id = bot_id
        self.clock = clock  # the dates Telegram stamps on messages; tests pass their own
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.limits = limits
        self.privacy_mode = privacy_mode
        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, SimChat] = {}
        self.migrated: dict[int, int] = {}
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.listeners: list[EventCallback] = []
        self.allowed_updates: list[str] | None = None
        self._user_ids = itertools.count(1001)
        self._supergroup_ids = itertools.count(1)
        self._group_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self.last_update_id = 0  # the newest update queued for the bot (ids count from 1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._media_groups = itertools.count(1)
        # Each waiter's future, settled by the next change (or its own timer): those waiting
        # on any change, and those waiting for a bot message in one chat (by the chat object:
        # a group that becomes a supergroup keeps it, not its id).
        self._waiters: set[asyncio.Future[None]] = set()
        self._chat_waiters: dict[int, set[asyncio.Future[None]]] = {}

    # ---- change notification -------------------------------------------------------------

    def notify(self) -> None:
        """Wake everyone waiting for a state change."""
        waiters, self._waiters = self._waiters, set()
        for chat_waiters in self._chat_waiters.values():
            waiters |= chat_waiters
        self._chat_waiters = {}
        for waiter in waiters:
            _wake(waiter)

    def notify_chat(self, chat: SimChat) -> None:
        """A bot message in `chat`: wake those waiting on any change, and on that chat."""
        waiters, self._waiters = self._waiters, set()
        waiters |= self._chat_waiters.pop(id(chat), set())
        for waiter in waiters:
            _wake(waiter)

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float,  # noqa: ASYNC109
        chat: SimChat | None = None,
    ) -> None:
        """Return once condition() holds; checks on every change and at least every 10 ms.
        With `chat`, the condition looks at that chat's bot messages only: it is checked when
        one comes (or any other change notify() announces) and at least every 100 ms.

        A waiter is a future and a timer, not a task: benchmarks run a hundred of them against
        every call the bot makes, so waking them all at every message would cost the bot's
        share of a single process more than the bot itself (bench/loop.py).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        every = 0.01 if chat is None else 0.1
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            waiter: asyncio.Future[None] = loop.create_future()
            waiters = (self._waiters if chat is None
                       else self._chat_waiters.setdefault(id(chat), set()))
            waiters.add(waiter)
            timer = loop.call_later(min(remaining, every), _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiters.discard(waiter)
                if chat is not None:
                    self._chat_waiters.get(id(chat), set()).discard(waiter)

    def emit(self, kind: str, chat: SimChat, message: SimMessage | None, detail: str) -> None:
        """Tell on_event listeners about something that happened."""
        for cb in list(self.listeners):
            cb(kind, chat, message, detail)

    # ---- users and chats -----------------------------------------------------------------

    def add_user(self, first_name: str, language_code: str | None = "en",
                 phone: str | None = None, username: str | None = None,
                 last_name: str | None = None) -> SimUser:
        """Create a user (ids auto-increment from 1001)."""
        user = SimUser(self, next(self._user_ids), first_name, last_name, username,
                       language_code, phone)
        self.users[user.id] = user
        self.chats[user.id] = user.private
        return user

    def add_group(self, title: str, type: str = "supergroup", forum: bool = False) -> SimChat:
        """Create a group with the bot as a member (supergroup ids like -1001000000001); a
        forum (a supergroup with topics) with `forum`."""
        if forum and type != "supergroup":
            raise ValueError("only a supergroup can be a forum")
        if type == "supergroup":
            chat_id = -1001000000000 - next(self._supergroup_ids)
        elif type == "group":
            chat_id = -4000000000 - next(self._group_ids)
        else:
            raise ValueError("type must be 'group' or 'supergroup'")
        chat = SimChat(self, chat_id, type, title=title)
        chat.is_forum = forum
        self.chats[chat_id] = chat
        return chat

    def create_topic(self, chat: SimChat, name: str, by: SimUser | None,
                     icon_color: int = TOPIC_COLORS[0]) -> int:
        """Open a topic in a forum, as `by` (None: the bot) did: the forum_topic_created
        service message, whose id is the topic's message_thread_id, and which every message
        in the topic then answers (reply_to_message), as on Telegram. A person's reaches the
        bot (a service message); the bot's own does not."""
        if not chat.is_forum:
            raise ValueError(f"{chat.label} is not a forum")
        thread_id = chat._next_id
        content = {"message_thread_id": thread_id, "is_topic_message": True,
                   "forum_topic_created": {"name": name, "icon_color": icon_color}}
        msg = self._new_message(chat, by, "forum_topic_created", content,
                                from_bot=by is None)
        chat.topics[thread_id] = msg
        if by is not None:
            self._deliver(chat, msg)
        self.notify()
        return thread_id

    def topic_event(self, chat: SimChat, thread_id: int, by: SimUser | None, kind: str,
                    detail: dict[str, Any]) -> None:
        """A topic renamed (forum_topic_edited), closed or reopened, as `by` (None: the bot)
        did it: the service message in that topic, which reaches the bot if a person's."""
        if thread_id not in chat.topics:
            raise ValueError(f"no topic {thread_id} in {chat.label}")
        if kind == "forum_topic_closed":
            chat.closed_topics.add(thread_id)
        elif kind == "forum_topic_reopened":
            chat.closed_topics.discard(thread_id)
        msg = self._new_message(chat, by, kind, {kind: detail}, from_bot=by is None,
                                topic=thread_id)
        if by is not None:
            self._deliver(chat, msg)
        self.notify()

    def delete_topic(self, chat: SimChat, thread_id: int) -> None:
        """Delete a forum's topic and every message in it (Telegram tells bots nothing)."""
        if chat.topics.pop(thread_id, None) is None:
            raise ValueError(f"no topic {thread_id} in {chat.label}")
        chat.closed_topics.discard(thread_id)
        for msg in chat.messages:
            if msg.thread_id == thread_id:
                msg.deleted = True
        self.notify()

    def migrate(self, chat: SimChat, by: SimUser | None = None) -> int:
        """Upgrade a basic group in place to a supergroup with a new id, as `by` (else the
        group's first admin or member) did it. As Telegram does, two service messages: in the
        old group, from `by`, its `migrate_to_chat_id`; in the supergroup, from the anonymous
        group bot with the supergroup as sender_chat, its `migrate_from_chat_id`. Messages
        posted before keep the old group in their `chat` (a press on one says so) and stay in
        it, out of reach through the supergroup's id: the supergroup numbers its own messages
        afresh from 1 (its first, the `migrate_from_chat_id` message), so an old message's id
        names another message there, or none yet."""
        if chat.type != "group":
            raise ValueError("only a basic group can be migrated")
        by = by or chat._someone()
        old_id = chat.id
        new_id = -1001000000000 - next(self._supergroup_ids)
        service = self._new_message(chat, by, "migrate", {"migrate_to_chat_id": new_id})
        self._deliver(chat, service)
        chat.old_ids.append(old_id)
        chat.id, chat.type = new_id, "supergroup"
        chat._by_id, chat._next_id = {}, 1  # the old group's messages stay in chat.messages
        self.chats[new_id] = chat
        self.migrated[old_id] = new_id
        service = self._new_message(chat, None, "migrate", {"migrate_from_chat_id": old_id})
        service.raw["from"] = dict(GROUP_ANONYMOUS_BOT)
        service.raw["sender_chat"] = chat.to_dict()
        self._deliver(chat, service)
        self.notify()
        return new_id

    def set_bot_status(self, chat: SimChat, status: str, by: SimUser) -> None:
        """Someone removes the bot from a group ("kicked", "left") or adds it back
        ("member", "administrator"): a my_chat_member update, as Telegram sends."""
        old = chat.bot_status
        chat.bot_status = status
        self.enqueue("my_chat_member", {
            "chat": chat.to_dict(), "from": by.to_dict(), "date": int(self.clock()),
            "old_chat_member": self._bot_member(old),
            "new_chat_member": self._bot_member(status),
        })

    def member_leaves(self, chat: SimChat, user: SimUser, by: SimUser | None) -> None:
        """A member leaves a group, or `by` removes them: every member sees the service
        message (privacy mode lets it through); a chat_member update comes only where the bot
        is an administrator, and only if the bot asked for that kind (allowed_updates)."""
        old = chat.members.pop(user.id, None)
        if old is None:
            return
        actor = by or user
        msg = self._new_message(chat, actor, "left_chat_member",
                                {"left_chat_member": user.to_dict()})
        self._deliver(chat, msg)
        if chat.bot_status == "administrator":
            self.enqueue("chat_member", {
                "chat": chat.to_dict(), "from": actor.to_dict(), "date": int(self.clock()),
                "old_chat_member": self._member(old, user.to_dict()),
                "new_chat_member": self._member("kicked" if by else "left", user.to_dict()),
            })
        self.notify()

    def _bot_member(self, status: str) -> dict[str, Any]:
        """The bot as a ChatMember of the given status, with the fields that kind requires."""
        return self._member(status, self.bot_user())

    @staticmethod
    def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
        """A ChatMember of the given status, with the fields that kind requires."""
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True)
            for right in ("can_delete_messages", "can_manage_video_chats",
                          "can_restrict_members", "can_promote_members", "can_change_info",
                          "can_invite_users", "can_post_stories", "can_edit_stories",
                          "can_delete_stories"):
                member[right] = False
        return member

    def bot_user(self) -> dict[str, Any]:
        """The bot's User object."""
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name,
                "username": self.bot_username}

    # ---- messages ------------------------------------------------------------------------

    def _new_message(self, chat: SimChat, sender: SimUser | None, kind: str,
                     content: dict[str, Any], reply_to: SimMessage | None = None,
                     from_bot: bool = False, parse_mode: str | None = None,
                     markup: dict[str, Any] | None = None,
                     topic: int | None = None) -> SimMessage:
        raw: dict[str, Any] = {"message_id": chat._next_id, "date": int(self.clock())}
        chat._next_id += 1
        if topic is not None:
            # In a topic: its thread id, and (unless it answers another) the topic's first
            # message as the one it replies to, as Telegram marks every message there.
            raw.update(message_thread_id=topic, is_topic_message=True)
            reply_to = reply_to or chat.topics[topic]
        elif reply_to is not None and chat.type == "supergroup":
            # A reply outside any topic (a supergroup's thread, or a forum's General): Telegram
            # gives it the thread of the message it answers, without is_topic_message.
            raw["message_thread_id"] = reply_to.raw.get("message_thread_id",
                                                        reply_to.message_id)
        if from_bot:
            raw["from"] = self.bot_user()
        elif sender is not None:
            raw["from"] = sender.to_dict()
        raw["chat"] = chat.to_dict()
        if reply_to is not None:
            quoted = {k: v for k, v in reply_to.raw.items() if k != "reply_to_message"}
            raw["reply_to_message"] = quoted
        raw.update(content)
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup  # only inline keyboards are part of a Message
        msg = SimMessage(chat=chat, raw=raw, kind=kind, from_bot=from_bot, sender=sender,
                         parse_mode=parse_mode, _markup=markup)
        chat.messages.append(msg)
        chat._by_id[msg.message_id] = msg
        return msg

    def bot_message(self, chat: SimChat, kind: str, content: dict[str, Any],
                    reply_to: SimMessage | None, parse_mode: str | None,
                    markup: dict[str, Any] | None, topic: int | None = None) -> SimMessage:
        """Record a message the bot sent (into a forum's topic, with its thread id)."""
        msg = self._new_message(chat, None, kind, content, reply_to, from_bot=True,
                                parse_mode=parse_mode, markup=markup, topic=topic)
        self.emit("bot_message", chat, msg, msg.text or kind)
        self.notify_chat(chat)
        return msg

    def user_message(self, user: SimUser, chat: SimChat, kind: str, content: dict[str, Any],
                     reply_to: SimMessage | None = None, as_group: bool = False,
                     topic: int | None = None,
                     channel: tuple[dict[str, Any], bool] | None = None) -> SimMessage:
        """Record a user's message and queue the update if the bot may see it. With
        `as_group`, an anonymous admin's: Telegram names the group as its sender (sender_chat)
        and the anonymous group bot as its `from`, never the admin. With `channel` (the
        channel's Chat, and whether its post was forwarded automatically), a channel's: the
        channel as its sender, Channel_Bot as its `from`, or Telegram (777000) for a post
        forwarded into the channel's discussion group. With `topic`, written in that topic of
        a forum."""
        if topic is not None and topic not in chat.topics:
            raise ValueError(f"no topic {topic} in {chat.label}")
        if chat.type == "private":
            if chat is not user.private:
                raise ValueError(f"{user.first_name} cannot write in {chat.label}")
            user.started, user.blocked = True, False
        elif user.id not in chat.members:
            chat.members[user.id] = "member"
        if as_group and chat.members.get(user.id) not in ("administrator", "creator"):
            raise ValueError(f"only an admin of {chat.label} can write as the group")
        msg = self._new_message(chat, user, kind, content, reply_to, topic=topic)
        if as_group:
            msg.raw["from"] = dict(GROUP_ANONYMOUS_BOT)
            msg.raw["sender_chat"] = chat.to_dict()
        if channel is not None:
            sender_chat, forwarded = channel
            msg.raw["from"] = dict(TELEGRAM if forwarded else CHANNEL_BOT)
            msg.raw["sender_chat"] = dict(sender_chat)
            if forwarded:
                msg.raw["is_automatic_forward"] = True
        self._deliver(chat, msg)
        self.emit("user_message", chat, msg, msg.text or kind)
        self.notify()
        return msg

    def user_edit(self, user: SimUser, msg: SimMessage, text: str) -> None:
        """A user edits the text of a message they sent: an edited_message update."""
        if msg.sender is not user or msg.kind != "text":
            raise ValueError("a user can edit only their own text messages")
        msg.raw["text"] = text
        msg.raw["edit_date"] = int(self.clock())
        entities = self.command_entities(text)
        if entities:
            msg.raw["entities"] = entities
        else:
            msg.raw.pop("entities", None)
        if msg.chat.type == "private" or msg.chat.bot_status == "administrator":
            self.enqueue("edited_message", dict(msg.raw))
        self.emit("user_message", msg.chat, msg, f"(edited) {text}")
        self.notify()

    def move_live_location(self, user: SimUser, msg: SimMessage, latitude: float,
                           longitude: float) -> None:
        """A user's live location moves: an edited_message with the new point."""
        location = msg.raw.get("location")
        if msg.sender is not user or not location or "live_period" not in location:
            raise ValueError("only a user's own live location can move")
        msg.raw["location"] = {**location, "latitude": latitude, "longitude": longitude}
        msg.raw["edit_date"] = int(self.clock())
        if msg.chat.type == "private" or msg.chat.bot_status == "administrator":
            self.enqueue("edited_message", dict(msg.raw))
        self.emit("user_message", msg.chat, msg, "(live location moved)")
        self.notify()

    def _deliver(self, chat: SimChat, msg: SimMessage) -> None:
        if chat.type == "private":
            self.enqueue("message", msg.raw)
            return
        if chat.bot_status not in ("member", "administrator"):
            return
        if self.privacy_mode and chat.bot_status != "administrator" \
                and not self._privacy_allows(msg):
            return
        self.enqueue("message", msg.raw)

    def _privacy_allows(self, msg: SimMessage) -> bool:
        """Group privacy mode: commands, replies to the bot and service messages only."""
        if msg.sender is None or msg.kind in SERVICE_KINDS:
            return True
        reply = msg.raw.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == self.bot_id:
            return True
        text = msg.raw.get("text") or ""
        for ent in msg.raw.get("entities", []):
            if ent["type"] == "bot_command":
                command = text[ent["offset"]:ent["offset"] + ent["length"]]
                _, _, target = command.partition("@")
                if not target or target.lower() == self.bot_username.lower():
                    return True
        return False

    def command_entities(self, text: str) -> list[dict[str, Any]]:
        """bot_command entities for every /command in the text (UTF-16 offsets)."""
        return [{"type": "bot_command", "offset": utf16_len(text[:m.start()]),
                 "length": utf16_len(m.group(0))} for m in _COMMAND_RE.finditer(text)]

    # ---- updates -------------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        """Append an update for the bot (a snapshot: later edits do not change it)."""
        self.last_update_id = next(self._update_ids)
        update = {"update_id": self.last_update_id, kind: copy.deepcopy(payload)}
        self.updates.append(update)
        self.notify()

    def confirm(self, offset: int) -> None:
        """Forget updates below offset (getUpdates' confirmation)."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def pending(self, limit: int) -> list[dict[str, Any]]:
        """Unconfirmed updates of the allowed kinds, oldest first."""
        allowed = self.allowed_updates
        if allowed:
            ups = [u for u in self.updates if any(k in u for k in allowed)]
        else:
            # Telegram leaves out these kinds unless explicitly asked for.
            hidden = ("chat_member", "message_reaction", "message_reaction_count")
            ups = [u for u in self.updates if not any(k in u for k in hidden)]
        return ups[:limit]

    # ---- callback queries ----------------------------------------------------------------

    def callback_query(self, user: SimUser, message: SimMessage, data: str) -> Press:
        """Queue a callback_query update for a press on a message."""
        query_id = f"{next(self._query_ids)}{secrets.randbelow(10**9):09d}"
        loop = asyncio.get_running_loop()
        self.callbacks[query_id] = CallbackRecord(query_id, loop.time(), message)
        chat = message.chat
        if user.id not in chat.members and chat.type != "private":
            chat.members[user.id] = "member"
        self.enqueue("callback_query", {
            "id": query_id, "from": user.to_dict(), "message": message.raw,
            "chat_instance": str(abs(chat.id) * 7 + 13), "data": data,
        })
        self.emit("user_press", chat, message, data)
        return Press(self, query_id, user, message, data)

    # ---- files ---------------------------------------------------------------------------

    def new_file(self, kind: str, data: bytes | None = None, **meta: Any) -> FileRecord:
        """Register a file and give it fresh file_id / file_unique_id."""
        n = next(self._file_ids)
        file_id = f"SBX{kind[:2].upper()}{n:06d}{secrets.token_hex(6)}"
        ext = _EXT.get(kind, "bin")
        rec = FileRecord(file_id=file_id, file_unique_id=f"U{n:06d}", kind=kind,
                         data=data if data is not None else _FAKE_BYTES.get(kind, b"sandbox"),
                         file_path=f"{kind}s/file_{n}.{ext}", meta=meta)
        self.files[file_id] = rec
        self.files_by_path[rec.file_path] = rec
        return rec

    def new_photo_sizes(self, data: bytes | None = None) -> list[dict[str, Any]]:
        """Two PhotoSize objects (thumbnail and full size) with fresh files."""
        sizes: list[dict[str, Any]] = []
        for w, h in ((90, 67), (1280, 960)):
            rec = self.new_file("photo", data, width=w, height=h)
            # Every size knows the whole photo, so a bot re-sending any file_id gets all sizes.
            rec.meta["sizes"] = sizes
            sizes.append({"file_id": rec.file_id, "file_unique_id": rec.file_unique_id,
                          "file_size": len(rec.data), "width": w, "height": h})
        return sizes

    def new_media_group_id(self) -> str:
        """A fresh media_group_id."""
        return f"1{next(self._media_groups):017d}"


def _wake(waiter: asyncio.Future[None]) -> None:
    """Settle a waiter's future once (a change and its timer may both come)."""
    if not waiter.done():
        waiter.set_result(None)
