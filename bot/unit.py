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

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.context import Env, Who
from storage import Outgoing, Repo, User


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
        """The unit of one update from `who`: recorded once, answered in their language."""
        env = self.env
        async with env.db.transaction(inline=True) as repo:
            user, language = await env.see(repo, who)
            unit = ActorUnit(env, repo, language, who=who, user=user)
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
            await unit.repo.outbox.enqueue(unit.outgoing, self.env.now())

    def _wake(self, unit: Unit) -> None:
        for remember in unit.committed:
            remember()
        # What a helper queued straight on the repository rode the same commit.
        if unit.outgoing or unit.repo.has_queued():
            self.env.wake_sender()
