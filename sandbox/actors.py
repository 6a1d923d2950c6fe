"""The test-facing API: simulated users and chats that act and observe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .messages import SimMessage

if TYPE_CHECKING:
    from .world import World

Predicate = Callable[[SimMessage], bool]


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to a callback query."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


class Press:
    """A callback query sent by a user; await `answer()` for the bot's answerCallbackQuery."""

    # The public API takes timeout= arguments (hence the ASYNC109 exemptions in this module).

    def __init__(self, world: World, query_id: str, user: SimUser, message: SimMessage,
                 data: str):
        self._world = world
        self.query_id = query_id
        self.user = user
        self.message = message
        self.data = data

    @property
    def answered(self) -> CallbackAnswer | None:
        """The answer if the bot has answered already."""
        return self._world.callbacks[self.query_id].answer

    async def answer(self, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """Wait for the bot's answerCallbackQuery to this press."""
        record = self._world.callbacks[self.query_id]
        try:
            await self._world.wait_until(lambda: record.answer is not None, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"bot did not answer callback query {self.query_id} (data={self.data!r}) "
                f"within {timeout}s"
            ) from None
        assert record.answer is not None
        return record.answer

    def __repr__(self) -> str:
        return f"<Press {self.query_id} by {self.user.first_name} data={self.data!r}>"


class SimChat:
    """A chat as the sandbox sees it: a user's private chat with the bot, a group or supergroup."""

    def __init__(self, world: World, chat_id: int, type: str, title: str | None = None,
                 user: SimUser | None = None):
        self._world = world
        self.id = chat_id
        self.type = type
        self.title = title
        self.user = user  # the other side of a private chat
        self.members: dict[int, str] = {}
        self.messages: list[SimMessage] = []
        self.bot_status = "member"  # member | administrator | kicked | left
        self.old_ids: list[int] = []
        # A forum supergroup's topics: each live one's thread id -> the service message that
        # created it (its id is the thread's id; every message in the topic answers it).
        self.is_forum = False
        self.topics: dict[int, SimMessage] = {}
        # Closed topics: only administrators with can_manage_topics may post there, so the
        # bot (an administrator without that right unless `bot_manages_topics`) may not.
        self.closed_topics: set[int] = set()
        self.bot_manages_topics = False
        self._by_id: dict[int, SimMessage] = {}
        self._next_id = 1
        self._cursor = 0

    # ---- membership ----------------------------------------------------------------------

    def add_member(self, user: SimUser, status: str = "member") -> None:
        """Put a user into the group with a status (member, administrator, creator)."""
        if self.type == "private":
            raise ValueError("cannot add members to a private chat")
        self.members[user.id] = status
        self._world.notify()

    def remove_member(self, user: SimUser, by: SimUser | None = None) -> None:
        """A user leaves the group (or `by`, an admin, removes them): the service message, and
        a chat_member update where the bot is an administrator, as from Telegram."""
        self._world.member_leaves(self, user, by)

    def remove_bot(self, by: SimUser | None = None) -> None:
        """Kick the bot (by `by`, else the group's first admin or member): later sends to
        this chat get 403, and the bot gets a my_chat_member update, as from Telegram."""
        self._world.set_bot_status(self, "kicked", by or self._someone())
        self._world.notify()

    def add_bot(self, status: str = "member", by: SimUser | None = None) -> None:
        """(Re-)add the bot as member or administrator (a my_chat_member update too)."""
        self._world.set_bot_status(self, status, by or self._someone())

    def _someone(self) -> SimUser:
        """Who acts for the group: its first administrator, else its first member."""
        ranked = sorted(self.members.items(), key=lambda item: item[1] != "administrator")
        for user_id, _ in ranked:
            user = self._world.users.get(user_id)
            if user is not None:
                return user
        return self._world.add_user("Group admin")  # a group of nobody: its unnamed owner

    def delete(self, message: SimMessage, by: SimUser) -> None:
        """`by` deletes a message of this chat in their client, as an administrator of a group
        may delete anyone's (in a private chat with the bot, either side may): it is gone for
        everyone, and the bot hears nothing of it (Telegram tells bots of no deletions)."""
        if message.chat is not self or message.deleted or message not in self.messages:
            raise ValueError("no such message in this chat")
        if (self.type != "private" and self.members.get(by.id) not in ("administrator", "creator")
                and message.sender is not by):
            raise PermissionError(f"{by.first_name} may not delete others' messages here")
        message.deleted = True
        self._world.notify()

    def migrate(self, by: SimUser | None = None) -> int:
        """Upgrade a basic group to a supergroup with a new id (as `by`, else its first admin
        or member, did); returns the new id. The bot gets Telegram's two service messages."""
        return self._world.migrate(self, by)

    def create_topic(self, name: str, by: SimUser | None = None) -> int:
        """`by` (else the group's first admin or member) opens a topic in this forum; returns
        its message_thread_id. The bot gets the forum_topic_created service message."""
        return self._world.create_topic(self, name, by or self._someone())

    def delete_topic(self, thread_id: int) -> None:
        """An admin deletes a topic with every message in it; the bot hears nothing of it."""
        self._world.delete_topic(self, thread_id)

    def rename_topic(self, thread_id: int, name: str, by: SimUser | None = None) -> None:
        """`by` (else the group's first admin or member) renames a topic: the bot gets the
        forum_topic_edited service message, in that topic."""
        self._world.topic_event(self, thread_id, by or self._someone(), "forum_topic_edited",
                                {"name": name})

    def close_topic(self, thread_id: int, by: SimUser | None = None) -> None:
        """`by` (else the group's first admin or member) closes a topic: the bot gets the
        forum_topic_closed service message, and its sends there are refused (TOPIC_CLOSED)
        unless it may manage topics."""
        self._world.topic_event(self, thread_id, by or self._someone(), "forum_topic_closed", {})

    def reopen_topic(self, thread_id: int, by: SimUser | None = None) -> None:
        """`by` (else the group's first admin or member) reopens a closed topic."""
        self._world.topic_event(self, thread_id, by or self._someone(),
                                "forum_topic_reopened", {})

    # ---- messages ------------------------------------------------------------------------

    def get(self, message_id: int) -> SimMessage | None:
        """A live (not deleted) message of this chat by id (a supergroup's own: the messages
        of the group it was made from are numbered apart, and reached through none of its ids)."""
        msg = self._by_id.get(message_id)
        return msg if msg is not None and not msg.deleted else None

    def bot_messages(self) -> list[SimMessage]:
        """All messages the bot sent in this chat that are not deleted."""
        return [m for m in self.messages if m.from_bot and not m.deleted]

    @property
    def last_bot_message(self) -> SimMessage | None:
        """The newest live bot message, if any."""
        msgs = self.bot_messages()
        return msgs[-1] if msgs else None

    def unread(self) -> list[SimMessage]:
        """Bot messages after the read cursor."""
        return [m for m in self.messages[self._cursor:] if m.from_bot and not m.deleted]

    def mark_read(self) -> None:
        """Move the read cursor past every message so far."""
        self._cursor = len(self.messages)

    async def wait_for(self, text: str | None = None, predicate: Predicate | None = None,
                       timeout: float = 5.0) -> SimMessage:  # noqa: ASYNC109
        """Next unread bot message containing `text` (and matching `predicate`)."""

        def match(m: SimMessage) -> bool:
            if text is not None and text not in (m.text or ""):
                return False
            return predicate is None or bool(predicate(m))

        found: list[SimMessage] = []

        def scan() -> bool:
            for idx in range(self._cursor, len(self.messages)):
                m = self.messages[idx]
                if m.from_bot and not m.deleted and match(m):
                    self._cursor = idx + 1
                    found.append(m)
                    return True
            return False

        try:
            await self._world.wait_until(scan, timeout, chat=self)
        except TimeoutError:
            what = f"text containing {text!r}" if text is not None else "a message"
            if predicate is not None:
                what += " matching the predicate"
            seen = "; ".join(f"#{m.message_id} {(m.text or m.kind)[:80]!r}"
                             + (f" buttons={m.buttons}" if m.buttons else "")
                             for m in self.unread()) or "none"
            raise TimeoutError(
                f"no bot message with {what} in {self.label} within {timeout}s; "
                f"unread bot messages: {seen}"
            ) from None
        return found[0]

    @property
    def label(self) -> str:
        """Human name of the chat for messages and transcripts."""
        if self.type == "private" and self.user is not None:
            return f"private chat with {self.user.first_name}"
        return f"{self.type} {self.title!r} ({self.id})"

    def to_dict(self) -> dict[str, Any]:
        """The Chat object."""
        if self.type == "private" and self.user is not None:
            d: dict[str, Any] = {"id": self.id, "type": "private",
                                 "first_name": self.user.first_name}
            if self.user.last_name:
                d["last_name"] = self.user.last_name
            if self.user.username:
                d["username"] = self.user.username
            return d
        chat: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def __repr__(self) -> str:
        return f"<SimChat {self.label}>"


class SimUser:
    """A simulated Telegram user who can write to the bot, tap buttons and watch replies."""

    def __init__(self, world: World, user_id: int, first_name: str, last_name: str | None,
                 username: str | None, language_code: str | None, phone: str | None):
        self._world = world
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.phone = phone
        self.started = False  # wrote to the bot in private at least once
        self.blocked = False
        self.private = SimChat(world, user_id, "private", user=self)

    def to_dict(self) -> dict[str, Any]:
        """The User object."""
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    def block(self) -> None:
        """Block the bot: later sends to this user get 403."""
        self.blocked = True

    def unblock(self) -> None:
        """Unblock the bot (writing to it in private does this too)."""
        self.blocked = False

    # ---- acting --------------------------------------------------------------------------

    async def _post(self, chat: SimChat | None, kind: str, content: dict[str, Any],
                    reply_to: SimMessage | None = None, topic: int | None = None) -> SimMessage:
        msg = self._world.user_message(self, chat or self.private, kind, content, reply_to,
                                       topic=topic)
        await asyncio.sleep(0)  # let a waiting getUpdates see it
        return msg

    async def send(self, text: str, chat: SimChat | None = None,
                   reply_to: SimMessage | None = None, topic: int | None = None) -> SimMessage:
        """Send a text message (in a forum, into the topic of that message_thread_id; else its
        General topic); commands get bot_command entities."""
        content: dict[str, Any] = {"text": text}
        entities = self._world.command_entities(text)
        if entities:
            content["entities"] = entities
        return await self._post(chat, "text", content, reply_to, topic)

    async def send_as_group(self, text: str, chat: SimChat,
                            topic: int | None = None) -> SimMessage:
        """Send a text in a group as the group itself, as an anonymous admin does."""
        content: dict[str, Any] = {"text": text}
        entities = self._world.command_entities(text)
        if entities:
            content["entities"] = entities
        msg = self._world.user_message(self, chat, "text", content, as_group=True, topic=topic)
        await asyncio.sleep(0)  # let a waiting getUpdates see it
        return msg

    async def send_as_channel(self, text: str, chat: SimChat, channel: str,
                              forwarded: bool = False) -> SimMessage:
        """Send a text in a group as a channel this user runs (named `channel`): posted there
        as the channel, or (`forwarded`) a post of the channel that Telegram forwarded into
        its linked discussion group."""
        content: dict[str, Any] = {"text": text}
        entities = self._world.command_entities(text)
        if entities:
            content["entities"] = entities
        sender = {"id": -1009999000000, "type": "channel", "title": channel}
        msg = self._world.user_message(self, chat, "text", content,
                                       channel=(sender, forwarded))
        await asyncio.sleep(0)  # let a waiting getUpdates see it
        return msg

    async def edit(self, message: SimMessage, text: str) -> None:
        """Edit one of this user's sent text messages (Telegram sends edited_message)."""
        self._world.user_edit(self, message, text)
        await asyncio.sleep(0)

    async def send_photo(self, caption: str | None = None, chat: SimChat | None = None,
                         media_group_id: str | None = None) -> SimMessage:
        """Send a photo (two PhotoSize with fresh file ids)."""
        content: dict[str, Any] = {"photo": self._world.new_photo_sizes()}
        if caption:
            content["caption"] = caption
        if media_group_id:
            content["media_group_id"] = media_group_id
        return await self._post(chat, "photo", content)

    async def send_album(self, n: int = 3, caption: str | None = None,
                         chat: SimChat | None = None) -> list[SimMessage]:
        """Send n photos sharing one media_group_id (caption on the first)."""
        if not 2 <= n <= 10:
            raise ValueError("an album has 2-10 items")
        group_id = self._world.new_media_group_id()
        return [await self.send_photo(caption if i == 0 else None, chat, group_id)
                for i in range(n)]

    async def send_voice(self, duration: int = 3, chat: SimChat | None = None,
                         caption: str | None = None) -> SimMessage:
        """Send a voice note (with a caption, as Telegram allows)."""
        rec = self._world.new_file("voice", duration=duration, mime_type="audio/ogg")
        voice = {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id,
                 "duration": duration, "mime_type": "audio/ogg", "file_size": len(rec.data)}
        content: dict[str, Any] = {"voice": voice}
        if caption:
            content["caption"] = caption
        return await self._post(chat, "voice", content)

    async def send_document(self, file_name: str = "file.pdf", chat: SimChat | None = None,
                            caption: str | None = None,
                            media_group_id: str | None = None) -> SimMessage:
        """Send a document (one of an album with `media_group_id`)."""
        rec = self._world.new_file("document", file_name=file_name)
        doc = {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id,
               "file_name": file_name, "mime_type": "application/octet-stream",
               "file_size": len(rec.data)}
        content: dict[str, Any] = {"document": doc}
        if caption:
            content["caption"] = caption
        if media_group_id:
            content["media_group_id"] = media_group_id
        return await self._post(chat, "document", content)

    async def send_document_album(self, n: int = 3,
                                  chat: SimChat | None = None) -> list[SimMessage]:
        """Send n files as one album (as a phone sends photos picked "as files")."""
        if not 2 <= n <= 10:
            raise ValueError("an album has 2-10 items")
        group_id = self._world.new_media_group_id()
        return [await self.send_document(f"photo{i + 1}.jpg", chat, None, group_id)
                for i in range(n)]

    async def send_sticker(self, emoji: str = "👍", chat: SimChat | None = None) -> SimMessage:
        """Send a sticker."""
        rec = self._world.new_file("sticker")
        sticker = {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji, "file_size": len(rec.data)}
        return await self._post(chat, "sticker", {"sticker": sticker})

    async def send_location(self, latitude: float, longitude: float,
                            chat: SimChat | None = None) -> SimMessage:
        """Send a location."""
        loc = {"latitude": latitude, "longitude": longitude}
        return await self._post(chat, "location", {"location": loc})

    async def share_live_location(self, latitude: float, longitude: float,
                                  live_period: int = 900,
                                  chat: SimChat | None = None) -> SimMessage:
        """Start sharing a live location (move it with move_live_location)."""
        loc = {"latitude": latitude, "longitude": longitude, "live_period": live_period,
               "horizontal_accuracy": 20.0}
        return await self._post(chat, "location", {"location": loc})

    async def move_live_location(self, message: SimMessage, latitude: float,
                                 longitude: float) -> None:
        """The shared live location moves: Telegram sends it as an edited_message."""
        self._world.move_live_location(self, message, latitude, longitude)
        await asyncio.sleep(0)

    async def send_venue(self, latitude: float, longitude: float, title: str, address: str,
                         chat: SimChat | None = None) -> SimMessage:
        """Send a venue (carries a location too)."""
        loc = {"latitude": latitude, "longitude": longitude}
        venue = {"location": loc, "title": title, "address": address}
        return await self._post(chat, "venue", {"venue": venue, "location": loc})

    async def send_contact(self, phone: str | None = None, chat: SimChat | None = None,
                           first_name: str | None = None,
                           user_id: int | None = None) -> SimMessage:
        """Send a contact; by default one's own (user_id = self.id, phone = self.phone)."""
        own = phone is None and first_name is None
        contact: dict[str, Any] = {
            "phone_number": phone or self.phone or "+10000000000",
            "first_name": first_name or self.first_name,
        }
        if own or user_id is not None:
            contact["user_id"] = user_id if user_id is not None else self.id
        return await self._post(chat, "contact", {"contact": contact})

    async def tap(self, label: str, chat: SimChat | None = None,
                  latitude: float | None = None, longitude: float | None = None) -> SimMessage:
        """Press a reply-keyboard button of the newest bot message with a reply keyboard."""
        chat = chat or self.private
        markup: dict[str, Any] | None = None
        for m in reversed(chat.messages):
            if not m.from_bot or m.deleted or not m.reply_markup:
                continue
            if m.reply_markup.get("remove_keyboard"):
                break  # the keyboard was removed after it was shown
            if "keyboard" in m.reply_markup:
                markup = m.reply_markup
                break
        buttons = [b for row in (markup or {}).get("keyboard", []) for b in row]
        button = next((b for b in buttons if b["text"] == label), None)
        if button is None:
            raise LookupError(f"no reply-keyboard button {label!r} in {chat.label}; "
                              f"available: {[b['text'] for b in buttons]}")
        if button.get("request_location"):
            return await self.send_location(
                34.86 if latitude is None else latitude,
                117.55 if longitude is None else longitude, chat)
        if button.get("request_contact"):
            return await self.send_contact(chat=chat)
        return await self.send(label, chat)

    async def press(self, label: str, chat: SimChat | None = None,
                    message: SimMessage | None = None) -> Press:
        """Press an inline button by label (exact, else unique substring) and send the query."""
        chat = chat or (message.chat if message else self.private)
        candidates = [message] if message is not None else list(reversed(chat.bot_messages()))
        seen: list[str] = []
        target: tuple[SimMessage, dict[str, Any]] | None = None
        for m in candidates:
            buttons = _inline_buttons(m)
            seen += [b["text"] for b in buttons if b["text"] not in seen]
            exact = [b for b in buttons if b["text"] == label]
            if exact:
                target = (m, exact[0])
                break
        if target is None:
            for m in candidates:
                partial = [b for b in _inline_buttons(m) if label in b["text"]]
                if len(partial) == 1:
                    target = (m, partial[0])
                    break
                if len(partial) > 1:
                    raise LookupError(f"inline button {label!r} is ambiguous in message "
                                      f"#{m.message_id}: {[b['text'] for b in partial]}")
        if target is None:
            raise LookupError(f"no inline button {label!r} in {chat.label}; seen: {seen}")
        msg, button = target
        if "callback_data" not in button:
            raise LookupError(f"inline button {label!r} has no callback_data: {button}")
        return await self.press_data(button["callback_data"], chat, msg)

    async def press_data(self, data: str, chat: SimChat | None = None,
                         message: SimMessage | None = None) -> Press:
        """Send a callback query with arbitrary data on a message (a forged or stale press)."""
        chat = chat or (message.chat if message else self.private)
        if message is None:
            message = chat.last_bot_message
            if message is None:
                raise LookupError(f"no bot message in {chat.label} to press on")
        press = self._world.callback_query(self, message, data)
        await asyncio.sleep(0)
        return press

    async def wait_for(self, text: str | None = None, predicate: Predicate | None = None,
                       timeout: float = 5.0) -> SimMessage:  # noqa: ASYNC109
        """Next unread bot message in this user's private chat (see SimChat.wait_for)."""
        return await self.private.wait_for(text, predicate, timeout)

    def __repr__(self) -> str:
        return f"<SimUser {self.id} {self.first_name}>"


def _inline_buttons(m: SimMessage) -> list[dict[str, Any]]:
    rows = (m.reply_markup or {}).get("inline_keyboard", [])
    return [b for row in rows for b in row]
