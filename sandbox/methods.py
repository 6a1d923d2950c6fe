"""Bot API methods implemented over the World, strict the way Telegram is."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from .actors import CallbackAnswer, SimChat
from .html import parse_html, utf16_len
from .limits import RateLimiter
from .markdown import parse_markdown_v2
from .messages import FileRecord, SimMessage
from .spec import ApiError, Spec, Upload, bad_request
from .webhook import Hook, WebhookDelivery
from .world import SERVICE_KINDS, TOPIC_COLORS, World

Handler = Callable[[dict[str, Any], dict[str, Upload]], Awaitable[Any]]

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WRONG_FILE = "wrong file identifier/HTTP URL specified"
DELETE_WITHIN = 48 * 3600  # seconds: deleteMessage takes a message younger than this only
# Calls that create messages and therefore count against the flood limits.
MESSAGE_PRODUCING = frozenset({
    "sendMessage", "sendPhoto", "sendMediaGroup", "sendVoice", "sendDocument", "sendLocation",
    "sendVenue", "sendContact", "sendSticker", "sendAudio", "sendVideo", "sendAnimation",
    "sendVideoNote", "sendPoll", "sendDice", "copyMessage", "forwardMessage", "copyMessages",
    "forwardMessages",
})
# What copyMessage takes from the original: the content, never who sent it or where from.
CAPTIONED = ("photo", "voice", "document", "audio", "video", "animation")
COPIED = frozenset({"text", "entities", "caption", "caption_entities", "sticker", "video_note",
                    "location", "venue", "contact", "has_media_spoiler", *CAPTIONED})
WEBHOOK_ACTIVE = ("Conflict: can't use getUpdates method while webhook is active; use "
                  "deleteWebhook to delete the webhook first")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND = re.compile(r"[a-z0-9_]+")
# Telegram posts to these ports only; and to https only, which the sandbox relaxes (below).
WEBHOOK_PORTS = (443, 80, 88, 8443)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def forbidden(description: str) -> ApiError:
    """A 403 'Forbidden: ...' error."""
    return ApiError(403, f"Forbidden: {description}")


class BotApi:
    """Dispatches validated calls to method implementations."""

    def __init__(self, world: World, spec: Spec, limiter: RateLimiter):
        self.world = world
        self.spec = spec
        self.limiter = limiter
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._poll: tuple[asyncio.Task[Any], Callable[[], bool]] | None = None
        self.polls_started = 0
        self.webhook = WebhookDelivery(world)
        self._handlers: dict[str, Handler] = {
            name[len("m_"):]: getattr(self, name) for name in dir(self) if name.startswith("m_")
        }

    def supports(self, method: str) -> bool:
        """Whether the sandbox implements a (canonical) method."""
        return method in self._handlers

    async def call(self, method: str, raw: dict[str, Any], uploads: dict[str, Upload],
                   alive: Callable[[], bool] = lambda: True) -> tuple[dict[str, Any], Any]:
        """Validate and run a call; returns (validated params, result) or raises ApiError."""
        params = self.spec.validate_call(method, raw, uploads)
        handler = self._handlers.get(method)
        if handler is None:
            raise bad_request("method not supported by the sandbox")
        if method == "getUpdates":
            result = await self._get_updates(params, alive)
        else:
            result = await handler(params, uploads)
        return params, result

    # ---- helpers -------------------------------------------------------------------------

    def chat(self, chat_id: Any, for_send: bool = True) -> SimChat:
        """Resolve chat_id the way Telegram does, with its 400/403 answers."""
        world = self.world
        if isinstance(chat_id, str):
            # "@username" addresses public supergroups and channels; the sandbox has none.
            raise bad_request("chat not found")
        if chat_id in world.migrated:
            raise bad_request("group chat was upgraded to a supergroup chat",
                              {"migrate_to_chat_id": world.migrated[chat_id]})
        chat = world.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private" and chat.user is not None and for_send:
            if chat.user.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.user.started:
                raise forbidden("bot can't initiate conversation with a user")
        if chat.type != "private" and chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        if chat.type != "private" and chat.bot_status == "left" and for_send:
            raise forbidden(f"bot is not a member of the {chat.type} chat")
        return chat

    def throttle(self, chat: SimChat, edit: bool = False) -> None:
        """Apply the flood limits; raise 429 with retry_after when past one."""
        retry = self.limiter.acquire(chat.id, chat.type, edit)
        if retry:
            raise ApiError(429, f"Too Many Requests: retry after {retry}",
                           {"retry_after": retry})

    def format(self, text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None,
               caption: bool = False) -> dict[str, Any]:
        """Parse text/caption like Telegram: entities, whitespace strip, length limits."""
        key = "caption" if caption else "text"
        ents: list[dict[str, Any]] = list(entities or [])
        if parse_mode is not None:
            mode = parse_mode.lower()
            if mode == "html":
                text, ents = parse_html(text)
            elif mode == "markdownv2":
                text, ents = parse_markdown_v2(text)
            elif mode == "markdown":
                # Legacy Markdown is accepted as-is: not validated, markers not stripped.
                ents = []
            else:
                raise bad_request("unsupported parse_mode")
        stripped = text.strip()
        if stripped != text:
            lead = utf16_len(text[:len(text) - len(text.lstrip())])
            end = utf16_len(stripped)
            shifted = []
            for e in ents:
                start = max(0, e["offset"] - lead)
                stop = min(end, e["offset"] + e["length"] - lead)
                if stop > start:
                    shifted.append({**e, "offset": start, "length": stop - start})
            text, ents = stripped, shifted
        limit = self.world.limits.max_caption if caption else self.world.limits.max_text
        if not caption and not text:
            raise bad_request("message text is empty")
        # Telegram counts in UTF-16 code units, as it does entity offsets: an emoji, or a
        # CJK character beyond the basic plane (𠀀), takes two of the 4,096 or 1,024.
        if utf16_len(text) > limit:
            raise bad_request("message caption is too long" if caption else
                              "message is too long")
        out: dict[str, Any] = {}
        if text:
            out[key] = text
        if ents:
            out["caption_entities" if caption else "entities"] = ents
        return out

    def reply_target(self, chat: SimChat, params: dict[str, Any]) -> SimMessage | None:
        """The message a send replies to, per reply_parameters."""
        rp = params.get("reply_parameters")
        if not rp:
            return None
        target_chat = chat
        if rp.get("chat_id") is not None and rp["chat_id"] != chat.id:
            target_chat = self.chat(rp["chat_id"], for_send=False)
        msg = target_chat.get(rp["message_id"])
        # The spec: allow_sending_without_reply is "always False for replies in another chat
        # or forum topic", so a reply sent into a topic needs its message there.
        into_topic = chat.is_forum and params.get("message_thread_id") is not None
        if msg is None and (into_topic or target_chat is not chat
                            or not rp.get("allow_sending_without_reply")):
            raise bad_request("message to be replied not found")
        return msg

    def input_file(self, value: Any, kind: str, uploads: dict[str, Upload]) -> FileRecord:
        """A file for sending: a new upload, an attach:// part, a URL or a known file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = uploads.get(value[len("attach://"):])
            if value is None:
                raise bad_request(WRONG_FILE)
        if isinstance(value, Upload):
            if kind == "photo":
                sizes = self.world.new_photo_sizes(value.data)
                return self.world.files[sizes[-1]["file_id"]]
            return self.world.new_file(kind, value.data, file_name=value.filename,
                                       mime_type=value.content_type)
        if value.startswith(("http://", "https://")):
            # The sandbox does not fetch URLs; it pretends the download worked.
            if kind == "photo":
                return self.world.files[self.world.new_photo_sizes()[-1]["file_id"]]
            return self.world.new_file(kind, file_name=value.rsplit("/", 1)[-1])
        rec = self.world.files.get(value)
        if rec is None:
            raise bad_request(WRONG_FILE)
        if rec.kind != kind:
            raise bad_request("type of file mismatch")
        return rec

    def media_object(self, rec: FileRecord, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """The Message field for a sent file."""
        base = {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id,
                "file_size": len(rec.data)}
        if kind == "photo":
            return {"photo": rec.meta.get("sizes") or [{**base, "width": 1280, "height": 960}]}
        if kind == "voice":
            return {"voice": {**base, "duration": int(params.get("duration")
                                                      or rec.meta.get("duration") or 1),
                              "mime_type": "audio/ogg"}}
        if kind == "sticker":
            return {"sticker": {**base, "type": "regular", "width": 512, "height": 512,
                                "is_animated": False, "is_video": False}}
        if kind == "document":
            doc = {**base, "file_name": rec.meta.get("file_name") or "file",
                   "mime_type": rec.meta.get("mime_type") or "application/octet-stream"}
            return {"document": {k: v for k, v in doc.items() if v is not None}}
        if kind in ("audio", "video", "animation"):
            extra = {"duration": 1} if kind == "audio" else \
                {"width": 640, "height": 480, "duration": 1}
            return {kind: {**base, **extra}}
        raise bad_request(f"{kind} is not supported by the sandbox")

    @staticmethod
    def topic(chat: SimChat, params: dict[str, Any],
              reply_to: SimMessage | None = None) -> int | None:
        """The forum topic a send goes to. The spec gives message_thread_id "for forum
        supergroups ... only": in a forum it must name a live topic (Telegram answers "message
        thread not found" for a deleted one), in any other chat it is ignored. Without it, a
        reply goes into the topic of the message it replies to, as on Telegram (one never
        needs to name the thread to reply). A closed topic takes messages only from those
        who may manage topics: Telegram answers TOPIC_CLOSED."""
        if not chat.is_forum:
            return None
        thread_id = params.get("message_thread_id")
        if thread_id is None and reply_to is not None and reply_to.chat is chat:
            thread_id = reply_to.thread_id
        if thread_id is None:
            return None
        if thread_id not in chat.topics:
            raise bad_request("message thread not found")
        if thread_id in chat.closed_topics and not chat.bot_manages_topics:
            raise bad_request("TOPIC_CLOSED")
        return int(thread_id)

    def send(self, chat: SimChat, kind: str, content: dict[str, Any], params: dict[str, Any],
             reply_to: SimMessage | None) -> dict[str, Any]:
        """Throttle, then record a bot message and return its Message object."""
        topic = self.topic(chat, params, reply_to)
        self.throttle(chat)
        msg = self.world.bot_message(chat, kind, content, reply_to, params.get("parse_mode"),
                                     params.get("reply_markup"), topic=topic)
        return msg.raw

    def fill_required(self, type_name: str, obj: dict[str, Any],
                      flag: bool = False) -> dict[str, Any]:
        """Give every missing required field of a type a neutral value."""
        for f in self.spec.required_fields(type_name):
            if f["name"] in obj:
                continue
            t = f["types"][0]
            if t == "Boolean":
                obj[f["name"]] = flag and f["name"].startswith("can_")
            elif t in ("Integer", "Float"):
                obj[f["name"]] = 0
            elif t == "String":
                obj[f["name"]] = ""
            elif t.startswith("Array of "):
                obj[f["name"]] = []
            elif t in self.spec.types:
                obj[f["name"]] = self.fill_required(t, {}, flag)
        return obj

    # ---- updates & bot -------------------------------------------------------------------

    async def _get_updates(self, params: dict[str, Any],
                           alive: Callable[[], bool]) -> list[dict[str, Any]]:
        if self.webhook.hook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        if self._poll is not None and not self._poll[0].done():
            task, other_alive = self._poll
            if other_alive():
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make "
                                    "sure that only one bot instance is running")
            task.cancel()  # its client went away (killed bot); let the new poller in
        current = asyncio.current_task()
        assert current is not None
        self._poll = (current, alive)
        self.polls_started += 1
        try:
            limit = params.get("limit", 100)
            if not 1 <= limit <= 100:
                raise bad_request("limit must be between 1 and 100")
            if "allowed_updates" in params:
                self.world.allowed_updates = params["allowed_updates"] or None
            if "offset" in params:
                self.world.confirm(params["offset"])
            timeout = max(0, params.get("timeout", 0))
            if timeout and not self.world.pending(limit):
                with contextlib.suppress(TimeoutError):
                    await self.world.wait_until(lambda: bool(self.world.pending(limit)),
                                                timeout)
            return self.world.pending(limit)
        finally:
            if self._poll is not None and self._poll[0] is current:
                self._poll = None

    async def m_getUpdates(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Handled by _get_updates (needs the connection state)."""
        raise AssertionError("unreachable")

    async def m_getMe(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """The bot's User."""
        return {**self.world.bot_user(), "can_join_groups": True,
                "can_read_all_group_messages": not self.world.privacy_mode,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    async def m_setWebhook(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Set (or with an empty url remove) the webhook; deliveries start at once."""
        url = p["url"]
        if not url:
            return await self.m_deleteWebhook(p, u)
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise bad_request("bad webhook: Invalid port specified") from None
        # Telegram requires https. The sandbox also takes http to this machine (a bot under
        # test listens on localhost without TLS); real Telegram would refuse that.
        local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
        if not local:
            if parts.scheme != "https" or not parts.hostname:
                raise bad_request("bad webhook: HTTPS url must be provided for webhook")
            if port is not None and port not in WEBHOOK_PORTS:
                raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, "
                                  "443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise bad_request("secret token contains unallowed characters")
        connections = p.get("max_connections", 40)
        if not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if "allowed_updates" in p:
            self.world.allowed_updates = p["allowed_updates"] or None
        if p.get("drop_pending_updates"):
            self.world.updates.clear()
        await self.webhook.set(Hook(url=url, secret_token=secret, max_connections=connections))
        return True

    async def m_deleteWebhook(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Remove the webhook (getUpdates works again); optionally drop pending updates."""
        await self.webhook.delete()
        if p.get("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def m_getWebhookInfo(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """The webhook's address, the updates waiting and the last delivery error."""
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self.world.pending(100_000))}
        hook = self.webhook.hook
        if hook is None:
            return info
        info.update(url=hook.url, max_connections=hook.max_connections)
        if self.world.allowed_updates:
            info["allowed_updates"] = list(self.world.allowed_updates)
        if hook.last_error_date is not None:
            info.update(last_error_date=hook.last_error_date,
                        last_error_message=hook.last_error_message)
        return info

    async def m_logOut(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Accepted."""
        return True

    async def m_close(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Accepted."""
        return True

    @staticmethod
    def _commands_key(p: dict[str, Any]) -> str:
        return json.dumps([p.get("scope") or {"type": "default"}, p.get("language_code", "")],
                          sort_keys=True)

    def _scope_chat(self, p: dict[str, Any]) -> None:
        """A scope that names a person's private chat: Telegram knows that chat only once
        they have opened the bot; before, "chat not found". (Groups are not checked here.)"""
        scope = p.get("scope") or {}
        if scope.get("type") not in ("chat", "chat_administrators", "chat_member"):
            return
        user = self.world.users.get(scope.get("chat_id"))  # type: ignore[arg-type]
        if user is not None and not user.started:
            raise bad_request("chat not found")

    async def m_setMyCommands(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Store commands per scope and language, checked as Telegram checks them (TDLib trims
        each and drops a leading "/"; the server takes a-z, 0-9 and _ only)."""
        self._scope_chat(p)
        commands = []
        for entry in p["commands"]:
            command = entry["command"].strip().removeprefix("/")
            description = entry["description"].strip()
            if not command:
                raise bad_request("command must be non-empty")
            if len(command) > 32:
                raise bad_request("command length must not exceed 32")
            if not description:
                raise bad_request("command description must be non-empty")
            if len(description) > 256:
                raise bad_request("command description length must not exceed 256")
            if not _COMMAND.fullmatch(command):
                raise bad_request("BOT_COMMAND_INVALID")
            commands.append({"command": command, "description": description})
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        self.commands[self._commands_key(p)] = commands
        return True

    async def m_getMyCommands(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Commands for a scope and language."""
        self._scope_chat(p)
        return self.commands.get(self._commands_key(p), [])

    async def m_deleteMyCommands(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Forget commands for a scope and language."""
        self._scope_chat(p)
        self.commands.pop(self._commands_key(p), None)
        return True

    async def m_setChatMenuButton(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Store the menu button."""
        self.menu_buttons[p.get("chat_id")] = p.get("menu_button") or {"type": "default"}
        return True

    async def m_getChatMenuButton(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """The stored menu button."""
        return self.menu_buttons.get(p.get("chat_id"), {"type": "default"})

    # ---- sending -------------------------------------------------------------------------

    async def m_sendMessage(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send text."""
        chat = self.chat(p["chat_id"])
        content = self.format(p["text"], p.get("parse_mode"), p.get("entities"))
        return self.send(chat, "text", content, p, self.reply_target(chat, p))

    async def _send_file(self, p: dict[str, Any], u: dict[str, Upload], kind: str) -> Any:
        chat = self.chat(p["chat_id"])
        content = self.format(p.get("caption", ""), p.get("parse_mode"),
                              p.get("caption_entities"), caption=True)
        reply_to = self.reply_target(chat, p)
        rec = self.input_file(p[kind], kind, u)
        content.update(self.media_object(rec, kind, p))
        return self.send(chat, kind, content, p, reply_to)

    async def m_sendPhoto(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send a photo."""
        return await self._send_file(p, u, "photo")

    async def m_sendVoice(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send a voice note."""
        return await self._send_file(p, u, "voice")

    async def m_sendDocument(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send a document."""
        return await self._send_file(p, u, "document")

    async def m_sendSticker(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send a sticker."""
        chat = self.chat(p["chat_id"])
        reply_to = self.reply_target(chat, p)
        content = self.media_object(self.input_file(p["sticker"], "sticker", u), "sticker", p)
        return self.send(chat, "sticker", content, p, reply_to)

    async def m_sendMediaGroup(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send an album of 2-10 items sharing a media_group_id."""
        chat = self.chat(p["chat_id"])
        media = p["media"]
        if len(media) < 2:
            raise bad_request("media group must contain 2-10 items")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        reply_to = self.reply_target(chat, p)
        prepared = []
        for item in media:
            content = self.format(item.get("caption", ""), item.get("parse_mode"),
                                  item.get("caption_entities"), caption=True)
            rec = self.input_file(item["media"], item["type"], u)
            content.update(self.media_object(rec, item["type"], item))
            prepared.append((item["type"], content))
        topic = self.topic(chat, p, reply_to)
        # One album counts once against the flood limits.
        self.throttle(chat)
        group_id = self.world.new_media_group_id()
        return [self.world.bot_message(chat, kind, {**content, "media_group_id": group_id},
                                       reply_to, p.get("parse_mode"), None, topic=topic).raw
                for kind, content in prepared]

    async def m_sendLocation(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send a location."""
        chat = self.chat(p["chat_id"])
        _check_coordinates(p["latitude"], p["longitude"])
        loc = {"latitude": p["latitude"], "longitude": p["longitude"]}
        return self.send(chat, "location", {"location": loc}, p, self.reply_target(chat, p))

    async def m_sendVenue(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send a venue."""
        chat = self.chat(p["chat_id"])
        _check_coordinates(p["latitude"], p["longitude"])
        loc = {"latitude": p["latitude"], "longitude": p["longitude"]}
        venue = {"location": loc, "title": p["title"], "address": p["address"]}
        return self.send(chat, "venue", {"venue": venue, "location": loc}, p,
                         self.reply_target(chat, p))

    async def m_sendContact(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Send a contact."""
        chat = self.chat(p["chat_id"])
        contact = {k: p[k] for k in ("phone_number", "first_name", "last_name", "vcard")
                   if k in p}
        return self.send(chat, "contact", {"contact": contact}, p, self.reply_target(chat, p))

    async def m_copyMessage(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Copy a message: its content without its sender, a forward header or its album; a
        new caption replaces a media message's own (ignored for text, as Telegram does)."""
        chat = self.chat(p["chat_id"])
        source = self.chat(p["from_chat_id"], for_send=False)
        original = source.get(p["message_id"])
        if original is None:
            raise bad_request("message to copy not found")
        if original.kind in SERVICE_KINDS:
            raise bad_request("message can't be copied")
        content = {key: value for key, value in original.raw.items() if key in COPIED}
        media = any(key in content for key in CAPTIONED)
        if media and "caption" in p:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self.format(p["caption"], p.get("parse_mode"),
                                       p.get("caption_entities"), caption=True))
        message = self.send(chat, original.kind, content, p, self.reply_target(chat, p))
        return {"message_id": message["message_id"]}

    async def m_sendChatAction(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Accept a chat action after the usual chat checks."""
        self.chat(p["chat_id"])
        return True

    # ---- editing -------------------------------------------------------------------------

    def _editable(self, p: dict[str, Any]) -> tuple[SimChat, SimMessage]:
        if "inline_message_id" in p:
            raise bad_request("inline messages are not supported by the sandbox")
        if "chat_id" not in p or "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self.chat(p["chat_id"])
        msg = chat.get(p["message_id"])
        if msg is None:
            # Nor is a message posted before the group became a supergroup: it stays in the
            # old, deactivated group (which refuses every call), and its id names nothing in
            # the supergroup, or another message (chat.get: numbered afresh).
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: SimChat, msg: SimMessage, content: dict[str, Any] | None,
                    markup: dict[str, Any] | None, keys: tuple[str, str]) -> dict[str, Any]:
        current_inline = msg.reply_markup if msg.reply_markup and \
            "inline_keyboard" in msg.reply_markup else None
        if content is not None:
            old = {k: msg.raw[k] for k in keys if k in msg.raw}
            same_content = old == content
        else:
            same_content = True
        if same_content and markup == current_inline:
            raise bad_request(NOT_MODIFIED)
        self.throttle(chat, edit=True)
        if content is not None and not same_content:
            msg.history.append(msg.text or "")
            for k in keys:
                msg.raw.pop(k, None)
            msg.raw.update(content)
        if current_inline is not None or markup is not None or msg.reply_markup is None:
            # An edit without reply_markup removes the inline keyboard, as on Telegram.
            msg._markup = markup
            if markup is None:
                msg.raw.pop("reply_markup", None)
            else:
                msg.raw["reply_markup"] = markup
        msg.raw["edit_date"] = int(self.world.clock())
        msg.edits += 1
        self.world.emit("bot_edit", chat, msg, msg.text or msg.kind)
        self.world.notify()
        return msg.raw

    async def m_editMessageText(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Edit a bot text message."""
        chat, msg = self._editable(p)
        if "text" not in msg.raw:
            raise bad_request("there is no text in the message to edit")
        content = self.format(p["text"], p.get("parse_mode"), p.get("entities"))
        if p.get("parse_mode"):
            msg.parse_mode = p["parse_mode"]
        return self._apply_edit(chat, msg, content, p.get("reply_markup"), ("text", "entities"))

    async def m_editMessageCaption(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Edit a bot media message's caption."""
        chat, msg = self._editable(p)
        if msg.kind not in ("photo", "document", "voice", "audio", "video", "animation"):
            raise bad_request("there is no caption in the message to edit")
        content = self.format(p.get("caption", ""), p.get("parse_mode"),
                              p.get("caption_entities"), caption=True)
        return self._apply_edit(chat, msg, content, p.get("reply_markup"),
                                ("caption", "caption_entities"))

    async def m_editMessageReplyMarkup(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Replace or remove a bot message's inline keyboard."""
        chat, msg = self._editable(p)
        if msg.reply_markup and "inline_keyboard" not in msg.reply_markup:
            raise bad_request("message can't be edited")
        return self._apply_edit(chat, msg, None, p.get("reply_markup"), ("", ""))

    async def m_deleteMessage(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Delete a message."""
        chat = self.chat(p["chat_id"], for_send=False)
        self._delete(chat, p["message_id"])
        return True

    async def m_deleteMessages(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Delete several messages; unknown ones are skipped like Telegram does."""
        chat = self.chat(p["chat_id"], for_send=False)
        if not 1 <= len(p["message_ids"]) <= 100:
            raise bad_request("message_ids must contain 1-100 items")
        for mid in p["message_ids"]:
            if chat.get(mid) is not None:
                self._delete(chat, mid)
        return True

    def _delete(self, chat: SimChat, message_id: int) -> None:
        msg = chat.get(message_id)
        if msg is None:
            raise bad_request("message to delete not found")
        if chat.type != "private" and not msg.from_bot and chat.bot_status != "administrator":
            raise bad_request("message can't be deleted")
        # The spec: only a message sent less than 48 hours ago, and never the service
        # message of a forum topic's creation.
        if self.world.clock() - msg.date >= DELETE_WITHIN or msg.kind == "forum_topic_created":
            raise bad_request("message can't be deleted")
        msg.deleted = True
        self.world.emit("bot_delete", chat, msg, msg.text or msg.kind)
        self.world.notify()

    async def m_setMessageReaction(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Accept a reaction on an existing message."""
        chat = self.chat(p["chat_id"], for_send=False)
        if chat.get(p["message_id"]) is None:
            raise bad_request("message to react not found")
        return True

    # ---- callbacks -----------------------------------------------------------------------

    async def m_answerCallbackQuery(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Answer a press once, within the timeout."""
        record = self.world.callbacks.get(p["callback_query_id"])
        now = asyncio.get_running_loop().time()
        if record is None or record.answer is not None or \
                now - record.created > self.world.limits.callback_answer_timeout:
            raise bad_request(QUERY_TOO_OLD)
        text = p.get("text")
        if text is not None and utf16_len(text) > self.world.limits.max_answer_text:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = CallbackAnswer(text=text, show_alert=bool(p.get("show_alert")),
                                       url=p.get("url"), cache_time=p.get("cache_time"))
        self.world.emit("callback_answer", record.message.chat, record.message,
                        text or "")
        self.world.notify()
        return True

    # ---- forum topics --------------------------------------------------------------------

    def _forum(self, p: dict[str, Any], right: str) -> SimChat:
        """The forum a topic call is about, where the bot is an administrator."""
        chat = self.chat(p["chat_id"])
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if chat.bot_status != "administrator":
            raise bad_request(f"not enough rights to {right}")
        return chat

    async def m_createForumTopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Open a topic in a forum where the bot is an administrator."""
        chat = self._forum(p, "create a topic")
        name = p["name"]
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        color = p.get("icon_color", TOPIC_COLORS[0])
        if color not in TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        self.throttle(chat)
        thread_id = self.world.create_topic(chat, name, None, color)
        return {"message_thread_id": thread_id, "name": name, "icon_color": color}

    def _live_topic(self, p: dict[str, Any], right: str) -> tuple[SimChat, int]:
        """The forum and the live topic a topic call names."""
        chat = self._forum(p, right)
        if p["message_thread_id"] not in chat.topics:
            raise bad_request("TOPIC_ID_INVALID")
        return chat, int(p["message_thread_id"])

    async def m_editForumTopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Rename a topic (the bot must be an administrator): the forum_topic_edited service
        message, in the topic."""
        chat, thread_id = self._live_topic(p, "edit a topic")
        name = p.get("name") or ""
        if len(name) > 128:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        if name:
            self.world.topic_event(chat, thread_id, None, "forum_topic_edited", {"name": name})
        return True

    async def m_closeForumTopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Close a topic (the bot must be an administrator)."""
        chat, thread_id = self._live_topic(p, "close a topic")
        if thread_id in chat.closed_topics:
            raise bad_request("TOPIC_NOT_MODIFIED")
        self.world.topic_event(chat, thread_id, None, "forum_topic_closed", {})
        return True

    async def m_reopenForumTopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Reopen a closed topic (the bot must be an administrator)."""
        chat, thread_id = self._live_topic(p, "reopen a topic")
        if thread_id not in chat.closed_topics:
            raise bad_request("TOPIC_NOT_MODIFIED")
        self.world.topic_event(chat, thread_id, None, "forum_topic_reopened", {})
        return True

    async def m_deleteForumTopic(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Delete a topic with its messages (the bot must be an administrator)."""
        chat = self._forum(p, "delete a topic")
        if p["message_thread_id"] not in chat.topics:
            raise bad_request("TOPIC_ID_INVALID")
        self.world.delete_topic(chat, p["message_thread_id"])
        return True

    # ---- chats and files -----------------------------------------------------------------

    async def m_getChat(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """ChatFullInfo of a chat."""
        chat = self.chat(p["chat_id"], for_send=False)
        info = {**chat.to_dict(), "accent_color_id": 0, "max_reaction_count": 11}
        return self.fill_required("ChatFullInfo", info)

    def _member(self, chat: SimChat, user_id: int) -> dict[str, Any]:
        world = self.world
        if user_id == world.bot_id:
            user, status = world.bot_user(), chat.bot_status
        elif user_id in world.users:
            user = world.users[user_id].to_dict()
            if chat.type == "private":
                status = "member" if chat.id == user_id else "left"
            else:
                status = chat.members.get(user_id, "left")
        else:
            raise bad_request("user not found")
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            obj = {"status": "administrator", "user": user, "can_be_edited": False,
                   "is_anonymous": False}
            return self.fill_required("ChatMemberAdministrator", obj, flag=True)
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": status if status in ("member", "left") else "member", "user": user}

    async def m_getChatMember(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """A ChatMember for a user in a chat."""
        chat = self.chat(p["chat_id"], for_send=False)
        return self._member(chat, p["user_id"])

    async def m_getChatAdministrators(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Creator and administrators of a group (the bot included if admin)."""
        chat = self.chat(p["chat_id"], for_send=False)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = [uid for uid, st in chat.members.items() if st in ("creator", "administrator")]
        if chat.bot_status == "administrator":
            ids.append(self.world.bot_id)
        return [self._member(chat, uid) for uid in ids]

    async def m_getChatMemberCount(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """Number of members (users plus the bot)."""
        chat = self.chat(p["chat_id"], for_send=False)
        return 2 if chat.type == "private" else len(chat.members) + 1

    async def m_getFile(self, p: dict[str, Any], u: dict[str, Upload]) -> Any:
        """File info with a file_path to download from base_file_url."""
        rec = self.world.files.get(p["file_id"])
        if rec is None:
            raise bad_request(WRONG_FILE)
        return {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id,
                "file_size": len(rec.data), "file_path": rec.file_path}


def _check_coordinates(lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request("wrong coordinates")
