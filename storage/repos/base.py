"""What every repository shares: the unit's session (storage/repo.py), reached through
the few calls a repository may make on it (Session).

Imports: storage.models only; the session is described here as a protocol, so the
repositories never import the module that builds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, overload

from storage.models import Outgoing


@dataclass(frozen=True)
class Held:
    """A write waiting for the next trip to the database thread."""

    sql: str
    params: Any
    many: bool = False
    # Carried by whatever trip goes next (inside its transaction, or with other loose writes
    # in one of their own); idempotent, so a trip that fails, or a transaction that rolls
    # back, gives it back to be carried again.
    loose: bool = False
    # Where the rows its RETURNING clause gives go, once its trip is made.
    sink: list[Any] | None = None
    tries: int = 0  # failed trips so far (loose writes only)


class Session(Protocol):
    """What a repository uses of its unit's session (storage.repo.Repo)."""

    news: dict[int, Any]  # users seen or changed by this unit (see storage.repos.people)

    @property
    def loose(self) -> bool: ...

    def knows(self, user_id: int) -> Any: ...
    def hold_queued(self, message: Outgoing, sql: str, params: tuple[Any, ...],
                    payload: str, not_before: float) -> None: ...
    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> None: ...
    def _write_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None: ...
    async def _trip(self, work: Callable[[Any], Any]) -> Any: ...
    async def _one(self, sql: str, params: Any = ()) -> Any: ...
    async def _all(self, sql: str, params: Any = ()) -> list[Any]: ...
    async def _rowcount(self, sql: str, params: tuple[Any, ...]) -> int: ...
    async def _changed(self, sql: str, params: tuple[Any, ...]) -> bool: ...
    async def _inserted(self, sql: str, params: tuple[Any, ...]) -> int: ...


class Aggregate:
    """A repository: the SQL of one aggregate (requests, people, the outbox …), run on the
    session of the unit of work it belongs to. It holds no state of its own."""

    def __init__(self, session: Session) -> None:
        self._session = session
        # Bound once: these run on every statement.
        self._write = session._write
        self._write_many = session._write_many
        self._trip = session._trip
        self._one = session._one
        self._all = session._all
        self._rowcount = session._rowcount
        self._changed = session._changed
        self._inserted = session._inserted

    async def _forget_topic(self, table: str, keys: str, chat_id: int,
                            topic_id: int) -> list[tuple[Any, ...]]:
        """A chat's forum topic is gone: the places of `table` (area_bindings, team_groups,
        unit_chats) bound to it fall back to General. Return, sorted, (`keys`…, chat title,
        topic name) of each: [] if none was left."""
        rows = await self._all(
            f"SELECT {keys}, COALESCE(chat_title, ''), "
            f"COALESCE(topic_name, CAST(topic_id AS TEXT)) FROM {table} "
            "WHERE chat_id = ? AND topic_id = ?", (chat_id, topic_id))
        self._write(f"UPDATE {table} SET topic_id = NULL, topic_name = NULL "
                    "WHERE chat_id = ? AND topic_id = ?", (chat_id, topic_id))
        return sorted(tuple(row) for row in rows)


A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    """A session's repository of one aggregate, made on first use and kept for the session:
    a unit of work touches two or three of them, and sessions are made by the thousand (every
    update, every sender turn), so building all of them each time would cost more than a
    statement."""

    def __init__(self, make: type[A]) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, session: None, owner: type) -> Repository[A]: ...
    @overload
    def __get__(self, session: Session, owner: type) -> A: ...
    def __get__(self, session: Session | None, owner: type) -> Repository[A] | A:
        if session is None:
            return self
        made = self.make(session)
        # A non-data descriptor: from now on the instance's own attribute answers.
        session.__dict__[self.name] = made
        return made

