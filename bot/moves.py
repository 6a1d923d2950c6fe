"""A group that became a supergroup: its new chat id, wherever the bot keeps the old one.

Telegram upgrades a basic group to a supergroup (past 200 members, or when an admin turns on
a setting only a supergroup has) and its chat id changes. The bot learns it from either of
the upgrade's two service messages (handlers/admin.py: `migrate_to_chat_id` in the old group,
`migrate_from_chat_id` in the supergroup), or, had it missed both, from a call to the old id
that Telegram refuses (bot/delivery/sender.py, ChatMigrated). Either way the same move:

- in the caller's transaction, everything stored under the old id moves to the new one and
  the move is noted (storage: `outbox.move_chat`, the table chat_moves), once: a second
  message, or a refusal after a message, finds it done; the queued calls that name one of the
  group's messages by its id (which stayed in the old group) stop naming it first
  (`unpointed`);
- once that commits, the process follows it too: the ids the config file names (`[bot]
  admin_chat_id`, a category's `group_id`) are read through the moves (at every start as
  well), and a press on a message posted in the group before the upgrade, which Telegram
  sends with the old group's id, is read as a press in the supergroup (delivery/inbox.py);
- the first time, if the file names the old id, the admins are told in the admin chat to
  put the new id in the file, and the log says so (at every start, until the file is fixed);
  if it was the admin chat, its command menu is queued for the new id in the same transaction
  (a menu scoped to a chat names it by id; the start sets it again from the config).

Imports: the kernel (config, context, night, ui, unit) and storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bot import night, ui
from bot.config import Config
from bot.context import Env
from bot.unit import Unit
from storage import Outgoing, Repo

log = logging.getLogger(__name__)

# The calls that only act on one message of the chat by its id (a delete, a change of its
# buttons, …), and the edits of a message's words by the field that holds them. A message of
# the group stayed in the old group, and the supergroup numbers its own afresh: the id names
# another message there, or none yet.
ON_A_MESSAGE = ("deleteMessage", "deleteMessages", "editMessageReplyMarkup",
                "editMessageMedia", "editMessageLiveLocation", "stopMessageLiveLocation",
                "stopPoll", "pinChatMessage", "unpinChatMessage", "setMessageReaction")
WORDS = {"editMessageText": ("text", "entities"),
         "editMessageCaption": ("caption", "caption_entities")}
# The calls that take one of a chat's messages (or several) elsewhere by its id: from the old
# group that id names a message out of reach, or another one of the supergroup.
FROM_A_CHAT = ("copyMessage", "copyMessages", "forwardMessage", "forwardMessages")
DROPPED = "dropped: its message stayed in the group before it became a supergroup"


def follow(chat_id: int, moves: Mapping[int, int]) -> int:
    """The id a chat has now (the supergroup's, if the group was upgraded)."""
    seen = {chat_id}
    while chat_id in moves and moves[chat_id] not in seen:
        chat_id = moves[chat_id]
        seen.add(chat_id)
    return chat_id


def unpointed(method: str, payload: dict[str, Any], old_chat_id: int,
              chat_id: int | None = None) -> tuple[str, dict[str, Any]] | None:
    """A call queued for `chat_id` (by default the group that became a supergroup) made to
    name none of the group's messages: an edit of a message's words becomes a message of
    those words (with the buttons the edit gave it), as a press on a message left behind does
    (ui.edit_text), so the chat still sees what became of it; a send that replies to one of
    them goes without its quote (from any chat's queue); a call that only acts on one of them
    (a delete, a change of its buttons), or copies or forwards one of them anywhere, is moot:
    None. Any other call comes back as it was."""
    own = chat_id is None or chat_id == old_chat_id
    if method in FROM_A_CHAT and payload.get("from_chat_id") == old_chat_id:
        return None
    if not own:
        quoted = payload.get("reply_parameters")
        if isinstance(quoted, dict) and quoted.get("chat_id") == old_chat_id:
            return method, {key: value for key, value in payload.items()
                            if key != "reply_parameters"}
        return method, payload
    if method in ON_A_MESSAGE and ("message_id" in payload or "message_ids" in payload):
        return None
    if method in WORDS and "message_id" in payload:
        words, entities = WORDS[method]
        if not payload.get(words):
            return None  # a caption taken away: nothing to say
        message = {key: value for key, value in payload.items()
                   if key not in ("message_id", words, entities)}
        message["text"] = payload[words]
        if entities in payload:
            message["entities"] = payload[entities]
        return "sendMessage", message
    quoted = payload.get("reply_parameters")
    if isinstance(quoted, dict) and quoted.get("chat_id", old_chat_id) == old_chat_id:
        payload = {key: value for key, value in payload.items() if key != "reply_parameters"}
    if "reply_to_message_id" in payload:
        payload = {key: value for key, value in payload.items()
                   if key not in ("reply_to_message_id", "allow_sending_without_reply")}
    return method, payload


def migrated_chat(chat_id: int, payload: dict[str, Any]) -> int:
    """Which chat of a call Telegram refused as upgraded to a supergroup (ChatMigrated does
    not say): the chat it goes to, unless that is a person's, whom no upgrade moves; then the
    group it copies or forwards from, or quotes."""
    if chat_id < 0:
        return chat_id
    quoted = payload.get("reply_parameters")
    for named in (payload.get("from_chat_id"),
                  quoted.get("chat_id") if isinstance(quoted, dict) else None):
        if isinstance(named, int) and named < 0:
            return named
    return chat_id


def config_through(config: Config, moves: Mapping[int, int]) -> Config:
    """The config with the chats it names (the admin chat, each category's group) read
    through the moves: the same config when none of them moved."""
    admin = config.admin_chat_id
    moved_admin = follow(admin, moves) if admin is not None else None
    categories = tuple(
        replace(c, group_id=follow(c.group_id, moves)) if c.group_id else c
        for c in config.categories)
    if moved_admin == admin and categories == config.categories:
        return config
    return replace(config, admin_chat_id=moved_admin, categories=categories)


class ChatMoves:
    """Moves what the bot keeps of a group to its supergroup id, in storage and in memory."""

    def __init__(self, env: Env) -> None:
        self.env = env
        # The admin chat's menu for a chat id, as calls to queue: the composition root gives
        # the command menus' (bot/people, above this module), none until then.
        self.admin_chat_menu: Callable[[int], list[Outgoing]] = lambda chat_id: []
        # Told when a move has committed: the sender forgets the calls it read before, some
        # of which the move rewrote or dropped (bot/delivery/sender.py).
        self.on_followed: Callable[[], None] = lambda: None

    async def load(self, repo: Repo) -> None:
        """At start: the moves noted before, followed by the config read from the file."""
        moves = await repo.outbox.chat_moves()
        self.env.moved_chats.update(moves)
        self._follow_in_config()

    async def move(self, repo: Repo, old_chat_id: int, new_chat_id: int) -> list[Outgoing]:
        """Move everything under `old_chat_id` to `new_chat_id` in `repo`'s transaction; what
        to queue with it (the first time, if the file names the old id: the admins' notice,
        and the admin chat's menu if it was the admin chat). Call `followed` once the
        transaction has committed."""
        env = self.env
        await self._unpoint(repo, old_chat_id)
        first = await repo.outbox.move_chat(old_chat_id, new_chat_id, env.now())
        if not first:
            return []
        config, lang = env.config, env.config.default_language
        notices: list[str] = []
        menu: list[Outgoing] = []
        if config.admin_chat_id == old_chat_id:
            notices.append(env.t(lang, "moves.admin_chat", old=old_chat_id, new=new_chat_id))
            menu = self.admin_chat_menu(new_chat_id)
        for category in config.categories:
            if category.group_id == old_chat_id:
                notices.append(env.t(lang, "moves.category_group", category=category.name(lang),
                                     code=category.code, old=old_chat_id, new=new_chat_id))
        admin_chats = [follow(chat, {old_chat_id: new_chat_id}) for chat in config.admin_chats()]
        # Without an admin chat the admins read it in private: a fix for the file, it waits
        # for the morning in quiet hours (bot/night.py).
        return menu + night.all_at_night(env, "moves.category_group", [
            ui.message(chat, text) for chat in admin_chats for text in notices])

    async def _unpoint(self, repo: Repo, old_chat_id: int) -> None:
        """The calls queued for the group that name one of its messages by id, and those
        queued for other chats that copy, forward or quote one of them, unpointed before they
        move: rewritten, or dropped (failed, saying why)."""
        now, dropped, rewritten = self.env.now(), 0, 0
        rows = [*await repo.outbox.calls_on_messages(old_chat_id, ON_A_MESSAGE + tuple(WORDS)
                                                     + FROM_A_CHAT),
                *await repo.outbox.calls_from_chat(old_chat_id)]
        for row in rows:
            call = unpointed(row.method, row.payload, old_chat_id, row.chat_id)
            if call is None:
                await repo.outbox.mark_failed(row.id, DROPPED, now)
                dropped += 1
            elif call != (row.method, row.payload):
                await repo.outbox.rewrite(row.id, *call)
                rewritten += 1
        if dropped or rewritten:
            log.info("chat %s: %s queued calls on its messages rewritten, %s dropped",
                     old_chat_id, rewritten, dropped)

    def followed(self, old_chat_id: int, new_chat_id: int) -> None:
        """The move has committed: the process uses the new id from now on."""
        self.on_followed()
        if self.env.moved_chats.get(old_chat_id) == new_chat_id:
            return
        log.info("chat %s became the supergroup %s: moved", old_chat_id, new_chat_id)
        self.env.moved_chats[old_chat_id] = new_chat_id
        self._follow_in_config()

    def _follow_in_config(self) -> None:
        env = self.env
        before = env.config
        env.config = config_through(before, env.moved_chats)
        where = before.source or "the config file"
        if before.admin_chat_id != env.config.admin_chat_id:
            log.warning("the admin chat %s is now the supergroup %s, which the bot uses: set "
                        "[bot] admin_chat_id = %s in %s", before.admin_chat_id,
                        env.config.admin_chat_id, env.config.admin_chat_id, where)
        for was, now in zip(before.categories, env.config.categories, strict=True):
            if was.group_id != now.group_id:
                log.warning("the group %s of category %s is now the supergroup %s, which the "
                            "bot uses: set its group_id = %s in %s", was.group_id, was.code,
                            now.group_id, now.group_id, where)

    async def group_upgraded(self, unit: Unit, old_chat_id: int, new_chat_id: int) -> None:
        """A service message of the upgrade (either; in any order, or again): the move."""
        unit.send(await self.move(unit.repo, old_chat_id, new_chat_id))
        unit.after_commit(lambda: self.followed(old_chat_id, new_chat_id))
