"""The session of one unit of work: its trips to the database, and its repositories.

A unit of work reaches the tables through one repository per aggregate, each in
storage/repos/: `repo.requests`, `repo.cards`, `repo.people`, `repo.volunteers`,
`repo.outbox`, `repo.inbox`, `repo.timers`, `repo.areas`, `repo.broadcasts`, `repo.figures`,
`repo.themes`, `repo.activities`, `repo.calls`, `repo.honours`,
`repo.supervision`, `repo.open311`.
They share this session, which holds back writes nobody reads until the next statement that
must answer, so one update costs one trip per read (see Repo).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from storage.engine import Engine, is_full
from storage.models import (
    OutboxRow,
    Outgoing,
)
from storage.repos.activities import ActivitiesRepo
from storage.repos.areas import AreasRepo
from storage.repos.base import Held, Repository
from storage.repos.broadcasts import BroadcastsRepo
from storage.repos.calls import CallsRepo
from storage.repos.cards import CardsRepo
from storage.repos.figures import FiguresRepo
from storage.repos.honours import HonoursRepo
from storage.repos.inbox import InboxRepo
from storage.repos.open311 import Open311Repo
from storage.repos.outbox import OutboxRepo
from storage.repos.people import Known, KnownUsers, PeopleRepo
from storage.repos.requests import RequestsRepo
from storage.repos.retention import RetentionRepo
from storage.repos.supervision import SupervisionRepo
from storage.repos.themes import ThemesRepo
from storage.repos.threads import ThreadsRepo
from storage.repos.timers import TimersRepo
from storage.repos.volunteers import VolunteersRepo


class Repo:
    """Queries over one connection; the caller owns the transaction around them.

    Each trip to the database thread (storage/engine.py) costs a thread hand-off, far more
    than the statement. So writes whose result nobody reads are held back and go with the
    next statement that must answer (or with the COMMIT): a unit of work takes as many trips
    as it has reads.
    """

    requests = Repository(RequestsRepo)
    cards = Repository(CardsRepo)
    people = Repository(PeopleRepo)
    volunteers = Repository(VolunteersRepo)
    outbox = Repository(OutboxRepo)
    inbox = Repository(InboxRepo)
    timers = Repository(TimersRepo)
    areas = Repository(AreasRepo)
    broadcasts = Repository(BroadcastsRepo)
    figures = Repository(FiguresRepo)
    retention = Repository(RetentionRepo)
    themes = Repository(ThemesRepo)
    activities = Repository(ActivitiesRepo)
    supervision = Repository(SupervisionRepo)
    calls = Repository(CallsRepo)
    honours = Repository(HonoursRepo)
    open311 = Repository(Open311Repo)
    threads = Repository(ThreadsRepo)

    def __init__(
        self,
        engine: Engine,
        *,
        carried: list[Held] | None = None,
        give_back: Callable[[list[Held], Held | None], None] | None = None,
        loose: bool = False,
        known: KnownUsers | None = None,
        inline: bool = False,
    ) -> None:
        self._engine = engine
        # Whether this session's short trips may run on the event loop's thread (Engine.run):
        # its owner keeps it to small reads and writes, as an update's unit of work does.
        self._inline = inline
        self._held: list[Held] = list(carried or [])
        self._give_back = give_back
        self._loose = loose
        self._known = known
        # What this unit saw or wrote of users and their conversations (None: changed in a
        # way not tracked here); it reaches KnownUsers if the unit commits.
        self.news: dict[int, Known | None] = {}
        # What this unit queued: the calls and the outbox ids their trip hands back.
        self._queued: list[tuple[Outgoing, str, float, list[Any]]] = []
        # Inside a write transaction, loose writes it carried wait for its COMMIT; if it
        # rolls back instead, they go back in line.
        self._in_transaction = False
        self._loose_carried: list[Held] = []

    @property
    def loose(self) -> bool:
        """Whether this session's writes travel loose (Database.later)."""
        return self._loose

    def hold_queued(self, message: Outgoing, sql: str, params: tuple[Any, ...],
                    payload: str, not_before: float) -> None:
        """Hold the INSERT of a queued call; its id comes back with the trip that makes it,
        and the call is offered to the sender after the commit (see queued)."""
        ids: list[Any] = []
        self._held.append(Held(sql, params, sink=ids))
        self._queued.append((message, payload, not_before, ids))

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Hold a write back until the next trip; its failure aborts the unit of work then."""
        self._held.append(Held(sql, params, loose=self._loose))

    def _write_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Hold back one write run once per row."""
        self._held.append(Held(sql, list(rows), many=True, loose=self._loose))

    def begin(self) -> None:
        """Open the write transaction with the first trip; the loose writes carried along go
        inside it, so the unit and they make one commit (one append to the WAL) together."""
        self._held.insert(0, Held("BEGIN IMMEDIATE", ()))
        self._in_transaction = True

    def take_held(self) -> list[Held]:
        """Hand over the held writes (to be carried by another unit of work's trip)."""
        held, self._held = self._held, []
        return held

    def discard_held(self) -> None:
        """Forget the held writes (their transaction is being rolled back); loose ones go
        back to wait for the next trip, those it carried already too (through no fault of
        theirs)."""
        carried, self._loose_carried = self._loose_carried, []
        self._restore(carried + self.take_held())

    def _restore(self, held: list[Held], culprit: Held | None = None) -> None:
        """Loose writes not done go back in line; only the one whose own statement failed
        (`culprit`) counts a failed try: the others were rolled back, or never ran."""
        loose = [h for h in held if h.loose]
        if loose and self._give_back is not None:
            self._give_back(loose, culprit)

    @contextmanager
    def on_thread(self) -> Iterator[None]:
        """Run the trips inside on the database thread even in an inline session: a read
        that may take long (a year's statistics, a ranking of every volunteer) must not
        stop the event loop, which goes on polling and sending meanwhile."""
        inline, self._inline = self._inline, False
        try:
            yield
        finally:
            self._inline = inline

    async def flush(self, then: str | None = None) -> None:
        """Run the held writes now, and `then` after them (a COMMIT), in one trip."""
        if self._held or then is not None:
            await self._trip(lambda raw: raw.execute(then) if then else None,
                             ends=then is not None)

    async def _trip(self, work: Callable[[sqlite3.Connection], Any], ends: bool = False) -> Any:
        """One trip to the database thread: the held writes, then `work` (which ends the
        transaction if `ends`)."""
        held = self.take_held()
        # Outside a transaction, several loose writes at the head commit together.
        grouped = 0
        if not self._in_transaction:
            while grouped < len(held) and held[grouped].loose:
                grouped += 1
            if grouped < 2:
                grouped = 0

        failed: list[Held] = []  # the held write whose statement raised, if one did

        def run(raw: sqlite3.Connection) -> Any:
            if grouped:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    _execute(raw, held[:grouped], failed)
                    raw.execute("COMMIT")
                except BaseException:
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                    raise
            _execute(raw, held[grouped:], failed)
            return work(raw)

        # Nothing of it syncs to disk or waits for a lock: inside the write transaction (BEGIN
        # IMMEDIATE included: only this connection writes), short of its COMMIT; outside,
        # reads with no write before them (a write there commits on its own).
        inline = self._inline and not grouped and not ends and (
            self._in_transaction or not held)
        try:
            result = await self._engine.run(run, inline=inline)
        except BaseException as exc:
            # A full database refuses every write alike: none of them counts a failed try.
            self._restore(held, failed[0] if failed and not is_full(exc) else None)
            raise
        if self._in_transaction:
            self._loose_carried.extend(h for h in held if h.loose)
        return result

    async def _one(self, sql: str, params: Any = ()) -> Any:
        return await self._trip(lambda raw: raw.execute(sql, params).fetchone())

    async def _all(self, sql: str, params: Any = ()) -> list[Any]:
        return await self._trip(lambda raw: raw.execute(sql, params).fetchall())  # type: ignore[no-any-return]

    async def _rowcount(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run a write now and return how many rows it changed."""
        return await self._trip(lambda raw: raw.execute(sql, params).rowcount)  # type: ignore[no-any-return]

    async def _changed(self, sql: str, params: tuple[Any, ...]) -> bool:
        """Run an UPDATE guarded by its WHERE clause and say whether it changed a row."""
        return await self._rowcount(sql, params) == 1

    async def _inserted(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run an INSERT now and return the new row's id."""
        return await self._trip(lambda raw: raw.execute(sql, params).lastrowid or 0)  # type: ignore[no-any-return]

    def knows(self, user_id: int) -> Known | None:
        """What this unit, or else the committed past, knows of a user."""
        if user_id in self.news:
            return self.news[user_id]
        return self._known.get(user_id) if self._known is not None else None

    def has_queued(self) -> bool:
        """Whether this unit queued any call (without building the rows)."""
        return bool(self._queued)

    def queued(self) -> list[OutboxRow]:
        """The calls this unit queued, as outbox rows (once the trips carrying them are made)."""
        # The payload as stored, so the call is the one a read after a restart would make.
        return [
            OutboxRow(id=int(ids[0][0]), chat_id=m.chat_id, method=m.method,
                      payload=json.loads(payload), request_id=m.request_id, purpose=m.purpose,
                      attempts=0, not_before=not_before, card_id=m.card_id,
                      post_id=m.post_id, problem_post_id=m.problem_post_id,
                      honour_post_id=m.honour_post_id)
            for m, payload, not_before, ids in self._queued if ids
        ]







































































































def _execute(raw: sqlite3.Connection, held: list[Held], failed: list[Held]) -> None:
    """Run held writes in order, each RETURNING's rows to its sink; the one that raises is
    put in `failed`."""
    for h in held:
        try:
            if h.many:
                raw.executemany(h.sql, h.params)
            elif h.sink is not None:
                h.sink.extend(raw.execute(h.sql, h.params).fetchall())
            else:
                raw.execute(h.sql, h.params)
        except BaseException:
            failed.append(h)
            raise
