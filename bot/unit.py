"""One unit of work per update: one transaction, the sender recorded once, what it causes queued
with the commit, the sender woken once after it.

A handler opens the unit (`async with units.for_update(who) as unit`) and hands it to the
service; the service reads and writes through `unit.repo`, answers in `unit.lang` and queues
messages with `unit.send(...)`, and has no transaction code of its own. If the service raises,
nothing it wrote or queued is kept. A scheduled job opens `units.for_job()`, the same without a
person behind it.

Imports: the kernel (bot.context) and storage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from bot.context import SERVICE_ACCOUNTS, Env, Topic, Who
from storage import Outgoing, Repo, User

# What a group's cards are: posted where their binding says (its topic, or General), never
# where the command that caused them was typed.
CARDS = frozenset({"card", "post", "problem_post", "honour_post"})


@dataclass
class Unit:
    """The work of one update or one job: its repository, its clock and its outgoing mail."""

    env: Env
    repo: Repo
    language: str
    outgoing: list[Outgoing] = field(default_factory=list)
    # What a service remembers in memory of this update (who was answered when): done once
    # the commit holds, so an update run again (a refused commit) answers again.
    committed: list[Callable[[], None]] = field(default_factory=list)
    # The forum topic the update came from: the unit's answers to that chat go there.
    topic: Topic | None = None

    def now(self) -> float:
        """The clock's current time."""
        return self.env.now()

    def t(self, key: str, **values: object) -> str:
        """A catalog text in the unit's language."""
        return self.env.t(self.language, key, **values)

    def after_commit(self, remember: Callable[[], None]) -> None:
        """Run `remember` once this unit's transaction has committed (never if it does not)."""
        self.committed.append(remember)

    def for_person(self, user: User, language: str) -> ActorUnit:
        """This unit's work done for a person (a job bringing back their dialog): the same
        transaction and outgoing mail, answered in their language."""
        return ActorUnit(self.env, self.repo, language, self.outgoing, self.committed,
                         who=Who(user.user_id, user.first_name or ""), user=user)

    def send(self, *messages: Outgoing | Iterable[Outgoing]) -> None:
        """Queue messages; they reach the outbox with the commit, or not at all."""
        for item in messages:
            if isinstance(item, Outgoing):
                self.outgoing.append(item)
            else:
                self.outgoing.extend(item)


@dataclass
class ActorUnit(Unit):
    """A unit with a person behind it: who sent the update, as recorded in this transaction."""

    who: Who = field(default=Who(0, ""))
    user: User | None = None

    @property
    def user_id(self) -> int:
        """The sender's Telegram id."""
        return self.who.user_id


class Units:
    """Opens units of work on the environment's database."""

    def __init__(self, env: Env) -> None:
        self.env = env

    @asynccontextmanager
    async def for_update(self, who: Who) -> AsyncIterator[ActorUnit]:
        """The unit of one update from `who`: recorded once, answered in their language (one
        of Telegram's service accounts, sent as a group or a channel: not recorded, answered
        in the district's language)."""
        env = self.env
        async with env.db.transaction(inline=True) as repo:
            user: User | None
            if who.user_id in SERVICE_ACCOUNTS:
                user, language = None, env.config.default_language
            else:
                user, language = await env.see(repo, who)
            unit = ActorUnit(env, repo, language, topic=who.topic, who=who, user=user)
            yield unit
            await self._queue(unit)
        self._wake(unit)

    @asynccontextmanager
    async def for_job(self) -> AsyncIterator[Unit]:
        """The unit of a scheduled job (a timer, a report): no person, the default language."""
        env = self.env
        async with env.db.transaction() as repo:
            unit = Unit(env, repo, env.config.default_language)
            yield unit
            await self._queue(unit)
        self._wake(unit)

    async def _queue(self, unit: Unit) -> None:
        if unit.outgoing:
            out = [in_topic(unit.topic, message) for message in unit.outgoing]
            await unit.repo.outbox.enqueue(out, self.env.now())

    def _wake(self, unit: Unit) -> None:
        for remember in unit.committed:
            remember()
        # What a helper queued straight on the repository rode the same commit.
        if unit.outgoing or unit.repo.has_queued():
            self.env.wake_sender()


async def cards_stay(unit: Unit, before: tuple[int, int | None, str] | None, chat_id: int,
                     topic_id: int | None,
                     open_cards: Callable[[int | None], Awaitable[int]]) -> str:
    """A /bind moving a binding from one place of a group to another (General and a topic,
    or two topics): the line saying its open cards in the group that are not in the new
    place (how many: `open_cards(topic_id)`, each card recording the topic it was posted in)
    stay where they are, "" if it did not move within the group or has none. Cards are not
    moved: each keeps its buttons and its redraws where it is, and the admin is told so, to
    tell the volunteers."""
    if before is None or before[0] != chat_id or before[1] == topic_id:
        return ""
    count = await open_cards(topic_id)
    return "\n" + unit.t("common.cards_stay", count=count) if count else ""


async def topic_to_bind(unit: Unit, chat_id: int) -> Topic | None:
    """The forum topic of `chat_id` a /bind was typed in (None: General, or elsewhere), with
    its newest name: as the bot last saw it made or renamed, else as the update's quote of the
    topic's first message says (that is its name when made; a message typed as a reply
    quotes the reply's message instead, and names nothing)."""
    topic = unit.topic
    if topic is None or topic.chat_id != chat_id:
        return None
    seen = await unit.repo.areas.topic_name(chat_id, topic.thread_id)
    return replace(topic, name=seen) if seen else topic


def pressed_in(unit: Unit, chat_id: int) -> int | None:
    """The forum topic of `chat_id` the update came from (a press on a message there): where
    a copy pressed there lies. None in General, in private, or for another chat."""
    topic = unit.topic
    return topic.thread_id if topic is not None and topic.chat_id == chat_id else None


def in_topic(topic: Topic | None, message: Outgoing) -> Outgoing:
    """A new message to the chat of the update's topic goes to that topic, unless it names
    a topic itself or is a card. One place for every service: they answer "the chat", and
    a person who typed a command in a topic reads the answer there, not in General."""
    if (topic is None or message.chat_id != topic.chat_id or message.purpose in CARDS
            or not (message.method.startswith("send") or message.method == "copyMessage")
            or "message_thread_id" in message.payload):
        return message
    return replace(message, payload={**message.payload, "message_thread_id": topic.thread_id})
