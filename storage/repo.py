"""Every SQL statement of civicloop, as methods named for what they do."""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import aiosqlite

from storage.export import count_sql
from storage.models import (
    CANCELLED,
    CLAIMED,
    CLOSED,
    DISPATCHED,
    DONE,
    Broadcast,
    Card,
    Dialog,
    Event,
    Job,
    OutboxRow,
    Outgoing,
    Request,
    Timer,
    User,
    Volunteer,
)


async def on_database_thread(
    conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], Any]
) -> Any:
    """Run `work` with the raw sqlite3 connection on aiosqlite's thread, in one trip."""
    # aiosqlite queues one callable per call; Connection._execute and ._conn are how its own
    # execute() does it. tests/test_storage.py fails at once if a new aiosqlite moves them.
    return await conn._execute(lambda: work(conn._conn))


_DIALOG_SQL = "SELECT * FROM dialogs WHERE user_id = ?"
_ACTIVE_CARDS_SQL = "SELECT * FROM cards WHERE request_id = ? AND retired = 0 ORDER BY id"
_SECTIONS_SQL = """
    SELECT c.id, c.request_id, r.ref, c.shown
    FROM cards c JOIN requests r ON r.id = c.request_id
    WHERE c.chat_id = ? AND c.message_id = ? AND c.shown IS NOT NULL
    ORDER BY c.id
"""


def _card_edits_sql(cards: int) -> str:
    """The queued edits of `cards` cards, oldest first."""
    return (f"SELECT id, card_id, payload FROM outbox WHERE status = 'pending' "
            f"AND method = 'editCard' AND card_id IN ({','.join('?' * cards)}) ORDER BY id")


# A request that reached a volunteer may be cancelled by its citizen until the work is done.
_CANCELLABLE = (DISPATCHED, CLAIMED)


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


@dataclass(frozen=True)
class Known:
    """A user as the database holds them, with the conversation they are in: its flow, step
    and data as stored (JSON, so nobody can change it in place); None: in none."""

    user: User
    dialog: tuple[str, str, str] | None


class KnownUsers:
    """The users who spoke lately, as last committed: a form step needs no trip to learn who
    is writing and where they stand. Only this process writes the database, and a unit of
    work's news goes in only once it has committed (Database does that)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._known: OrderedDict[int, Known] = OrderedDict()

    def get(self, user_id: int) -> Known | None:
        """What is known of the user, if anything."""
        known = self._known.get(user_id)
        if known is not None:
            self._known.move_to_end(user_id)
        return known

    def learn(self, news: dict[int, Known | None]) -> None:
        """Take in what a committed unit of work saw or wrote (None: forget the user)."""
        for user_id, known in news.items():
            if known is None:
                self._known.pop(user_id, None)
                continue
            self._known[user_id] = known
            self._known.move_to_end(user_id)
        while len(self._known) > self.capacity:
            self._known.popitem(last=False)

    def forget(self, user_ids: Iterable[int]) -> None:
        """Drop users whose rows a failed unit of work may have left otherwise."""
        for user_id in user_ids:
            self._known.pop(user_id, None)


class Repo:
    """Queries over one connection; the caller owns the transaction around them.

    Each trip to aiosqlite's thread costs a thread hand-off, far more than the statement.
    So writes whose result nobody reads are held back and go with the next statement that
    must answer (or with the COMMIT): a unit of work takes as many trips as it has reads.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        carried: list[Held] | None = None,
        give_back: Callable[[list[Held], Held | None], None] | None = None,
        loose: bool = False,
        known: KnownUsers | None = None,
    ) -> None:
        self._conn = conn
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

    async def flush(self, then: str | None = None) -> None:
        """Run the held writes now, and `then` after them, in one trip."""
        if self._held or then is not None:
            await self._trip(lambda raw: raw.execute(then) if then else None)

    async def _trip(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """One trip to the database thread: the held writes, then `work`."""
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

        try:
            result = await on_database_thread(self._conn, run)
        except BaseException:
            self._restore(held, failed[0] if failed else None)
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

    async def journal_mode(self) -> str:
        """Return SQLite's journal mode for this connection ('wal' once opened)."""
        row = await self._one("PRAGMA journal_mode")
        return str(row[0])

    # -- users ------------------------------------------------------------------------------

    async def see_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None,
        language: str,
        now: float,
        *,
        private: bool,
    ) -> User:
        """Record that a user spoke; a private message means the bot may now write to them."""
        upsert = """
            INSERT INTO users (user_id, first_name, username, language, started, blocked,
                               created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 0, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                first_name = excluded.first_name,
                username = excluded.username,
                started = MAX(users.started, excluded.started),
                blocked = CASE WHEN excluded.started = 1 THEN 0 ELSE users.blocked END,
                updated_at = excluded.updated_at
            RETURNING user_id, first_name, username, language, started, blocked
            """
        params = (user_id, first_name, username, language, int(private), now, now)
        known = self._knows(user_id)
        if known is not None and _unchanged(known.user, first_name, username, private):
            # The upsert would change nothing but the time: that write needs no answer.
            self._write("UPDATE users SET updated_at = ? WHERE user_id = ?", (now, user_id))
            return known.user

        def see(raw: sqlite3.Connection) -> tuple[Any, Any]:
            user = raw.execute(upsert, params).fetchone()
            # The conversation they are in comes along: a form step reads it next.
            dialog = raw.execute(_DIALOG_SQL, (user_id,)).fetchone()
            return user, dialog

        row, dialog_row = await self._trip(see)
        user = _user(row)
        stored = ((dialog_row["flow"], dialog_row["step"], dialog_row["data"])
                  if dialog_row is not None else None)
        self.news[user_id] = Known(user, stored)
        return user

    def _knows(self, user_id: int) -> Known | None:
        """What this unit, or else the committed past, knows of a user."""
        if user_id in self.news:
            return self.news[user_id]
        return self._known.get(user_id) if self._known is not None else None

    async def user(self, user_id: int) -> User | None:
        """Return the user, or None if the bot never saw them."""
        row = await self._one("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return _user(row) if row is not None else None

    async def set_language(self, user_id: int, language: str, now: float) -> None:
        """Remember the language a user chose."""
        self.news[user_id] = None
        self._write(
            "UPDATE users SET language = ?, updated_at = ? WHERE user_id = ?",
            (language, now, user_id),
        )

    async def mark_blocked(self, user_id: int, now: float) -> None:
        """Note that Telegram refuses messages to this user until they write again."""
        self.news[user_id] = None
        self._write(
            "UPDATE users SET blocked = 1, updated_at = ? WHERE user_id = ?", (now, user_id)
        )

    # -- requests ---------------------------------------------------------------------------

    async def next_ref(self, year: int) -> str:
        """Allocate the next reference number of the year, e.g. 2026-000123."""
        row = await self._one(
            """
            INSERT INTO ref_counters (year, last) VALUES (?, 1)
            ON CONFLICT (year) DO UPDATE SET last = last + 1
            RETURNING last
            """,
            (year,),
        )
        return f"{year}-{int(row[0]):06d}"

    async def insert_request(
        self,
        *,
        ref: str,
        citizen_id: int,
        language: str,
        category: str,
        description: str,
        photos: list[str],
        voice_file_id: str | None,
        latitude: float | None,
        longitude: float | None,
        address: str | None,
        phone: str | None,
        dispatch_chat_id: int | None,
        now: float,
    ) -> int:
        """Store a confirmed request as dispatched and return its id."""
        row = await self._one(
            """
            INSERT INTO requests (ref, citizen_id, language, category, description, photos,
                                  voice_file_id, latitude, longitude, address, phone, status,
                                  dispatch_chat_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """,
            (
                ref, citizen_id, language, category, description, json.dumps(photos),
                voice_file_id, latitude, longitude, address, phone, DISPATCHED,
                dispatch_chat_id, now, now,
            ),
        )
        return int(row[0])

    async def request(self, request_id: int) -> Request | None:
        """Return the request with this id, or None."""
        row = await self._one("SELECT * FROM requests WHERE id = ?", (request_id,))
        return Request.from_row(row) if row else None

    async def request_by_ref(self, ref: str) -> Request | None:
        """Return the request with this reference number, or None."""
        row = await self._one("SELECT * FROM requests WHERE ref = ?", (ref,))
        return Request.from_row(row) if row else None

    async def citizen_requests(self, citizen_id: int, limit: int) -> list[Request]:
        """Return a citizen's requests, newest first."""
        rows = await self._all(
            "SELECT * FROM requests WHERE citizen_id = ? ORDER BY id DESC LIMIT ?",
            (citizen_id, limit),
        )
        return [Request.from_row(row) for row in rows]

    async def volunteer_tasks(self, volunteer_id: int) -> list[Request]:
        """Return the requests a volunteer has claimed and not yet finished, oldest first."""
        rows = await self._all(
            "SELECT * FROM requests WHERE volunteer_id = ? AND status = ? ORDER BY id",
            (volunteer_id, CLAIMED),
        )
        return [Request.from_row(row) for row in rows]

    async def claim(
        self, request_id: int, volunteer_id: int, name: str, now: float
    ) -> Request | None:
        """Give a dispatched request to a volunteer; exactly one concurrent caller wins and
        gets the request as claimed, the others None."""
        row = await self._one(
            """
            UPDATE requests SET status = ?, volunteer_id = ?, volunteer_name = ?,
                                claimed_at = ?, updated_at = ?, extended = 0
            WHERE id = ? AND status = ?
            RETURNING *
            """,
            (CLAIMED, volunteer_id, name, now, now, request_id, DISPATCHED),
        )
        return Request.from_row(row) if row is not None else None

    async def release(self, request_id: int, volunteer_id: int, now: float) -> bool:
        """Put a claimed request back up for claiming, if this volunteer holds it."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = NULL, volunteer_name = NULL,
                                claimed_at = NULL, updated_at = ?
            WHERE id = ? AND status = ? AND volunteer_id = ?
            """,
            (DISPATCHED, now, request_id, CLAIMED, volunteer_id),
        )

    async def complete(
        self, request_id: int, volunteer_id: int, note: str | None, photo: str | None, now: float
    ) -> bool:
        """Mark a claimed request done by its volunteer."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, done_note = ?, done_photo = ?, done_at = ?,
                                updated_at = ?
            WHERE id = ? AND status = ? AND volunteer_id = ?
            """,
            (DONE, note, photo, now, now, request_id, CLAIMED, volunteer_id),
        )

    async def confirm(self, request_id: int, citizen_id: int, now: float) -> bool:
        """Close a done request on its citizen's word that it is resolved."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, closed_how = 'confirmed', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND status = ? AND citizen_id = ?
            """,
            (CLOSED, now, now, request_id, DONE, citizen_id),
        )

    async def reopen(self, request_id: int, citizen_id: int, now: float) -> bool:
        """Send a done request back to dispatch because its citizen says it is not resolved."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = NULL, volunteer_name = NULL,
                                claimed_at = NULL, done_at = NULL, done_note = NULL,
                                done_photo = NULL, reopen_count = reopen_count + 1,
                                escalation_level = 0, overdue_since = NULL,
                                updated_at = ?
            WHERE id = ? AND status = ? AND citizen_id = ?
            """,
            (DISPATCHED, now, request_id, DONE, citizen_id),
        )

    async def cancel_by_citizen(self, request_id: int, citizen_id: int, now: float) -> bool:
        """Cancel a request its citizen no longer needs, if no work was finished on it."""
        return await self._changed(
            f"""
            UPDATE requests SET status = ?, cancelled_by = 'citizen', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND citizen_id = ? AND status IN ({",".join("?" * len(_CANCELLABLE))})
            """,
            (CANCELLED, now, now, request_id, citizen_id, *_CANCELLABLE),
        )

    async def rate(self, request_id: int, citizen_id: int, stars: int, now: float) -> bool:
        """Store the citizen's stars for a closed request, once."""
        return await self._changed(
            """
            UPDATE requests SET rating = ?, updated_at = ?
            WHERE id = ? AND citizen_id = ? AND status = ? AND rating IS NULL
            """,
            (stars, now, request_id, citizen_id, CLOSED),
        )

    async def add_comment(self, request_id: int, citizen_id: int, text: str, now: float) -> bool:
        """Store the citizen's comment on a rated request, once."""
        return await self._changed(
            """
            UPDATE requests SET comment = ?, updated_at = ?
            WHERE id = ? AND citizen_id = ? AND rating IS NOT NULL AND comment IS NULL
            """,
            (text, now, request_id, citizen_id),
        )

    async def add_card(
        self, request_id: int, chat_id: int, kind: str, role: str, now: float
    ) -> int:
        """Register a card about to be posted; its message id comes when it is sent."""
        row = await self._one(
            """
            INSERT INTO cards (request_id, chat_id, kind, role, created_at)
            VALUES (?, ?, ?, ?, ?) RETURNING id
            """,
            (request_id, chat_id, kind, role, now),
        )
        return int(row[0])

    async def card(self, card_id: int) -> Card | None:
        """Return a card by id."""
        row = await self._one("SELECT * FROM cards WHERE id = ?", (card_id,))
        return _card(row) if row else None

    async def request_for_claim(
        self, request_id: int, user_id: int
    ) -> tuple[Request | None, list[Card], bool]:
        """Return the request, its current cards and whether `user_id` is banned, in one
        trip: all a Claim press needs to judge."""

        def look(raw: sqlite3.Connection) -> tuple[Any, list[Any], Any]:
            return (
                raw.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone(),
                raw.execute(_ACTIVE_CARDS_SQL, (request_id,)).fetchall(),
                raw.execute("SELECT 1 FROM bans WHERE user_id = ? AND lifted_at IS NULL",
                            (user_id,)).fetchone(),
            )

        request, cards, banned = await self._trip(look)
        return (Request.from_row(request) if request else None,
                [_card(row) for row in cards], banned is not None)

    async def active_cards(self, request_id: int) -> list[Card]:
        """Return the cards of a request's current round, oldest first."""
        rows = await self._all(_ACTIVE_CARDS_SQL, (request_id,))
        return [_card(row) for row in rows]

    async def record_card_message(self, card_id: int, message_id: int) -> None:
        """Remember which message shows a card, so later changes can edit it."""
        self._write(
            "UPDATE cards SET message_id = ? WHERE id = ?", (message_id, card_id)
        )

    async def retire_cards(self, request_id: int) -> None:
        """Mark a request's cards as history (it is being posted afresh)."""
        self._write(
            "UPDATE cards SET retired = 1 WHERE request_id = ? AND retired = 0", (request_id,)
        )

    async def add_event(
        self,
        request_id: int,
        kind: str,
        actor_id: int | None,
        now: float,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an entry to a request's timeline."""
        self._write(
            "INSERT INTO events (request_id, at, kind, actor_id, detail) VALUES (?, ?, ?, ?, ?)",
            (request_id, now, kind, actor_id, json.dumps(detail) if detail else None),
        )

    async def events(self, request_id: int) -> list[Event]:
        """Return a request's timeline, oldest first."""
        rows = await self._all(
            "SELECT * FROM events WHERE request_id = ? ORDER BY id", (request_id,)
        )
        return [
            Event(
                request_id=row["request_id"],
                at=row["at"],
                kind=row["kind"],
                actor_id=row["actor_id"],
                detail=json.loads(row["detail"]) if row["detail"] else None,
            )
            for row in rows
        ]

    async def status_counts(self) -> dict[str, int]:
        """Count requests by status."""
        rows = await self._all("SELECT status, COUNT(*) FROM requests GROUP BY status")
        return {row[0]: int(row[1]) for row in rows}

    async def tally(self, area_ids: list[str] | None = None) -> dict[tuple[str, str, str], int]:
        """Count requests by (status, how closed, who cancelled), optionally in some areas."""
        where, params = "", tuple[str, ...]()
        if area_ids is not None:
            where = f"WHERE area_id IN ({','.join('?' * len(area_ids))})"
            params = tuple(area_ids)
        # Grouped by the bare columns, in index order, so the covering index answers alone.
        rows = await self._all(
            f"""
            SELECT status, closed_how, cancelled_by, COUNT(*)
            FROM requests {where} GROUP BY status, closed_how, cancelled_by
            """,
            params,
        )
        return {(row[0], row[1] or "", row[2] or ""): int(row[3]) for row in rows}

    # -- outbox -----------------------------------------------------------------------------

    async def enqueue(self, messages: list[Outgoing], now: float) -> None:
        """Queue Bot API calls to be made after this transaction commits."""
        if self._loose:
            raise TypeError("an insert is not idempotent: it cannot travel loose")
        for m in messages:
            not_before = now if m.not_before is None else max(now, m.not_before)
            payload = json.dumps(m.payload, ensure_ascii=False)
            ids: list[Any] = []
            self._held.append(Held(
                """
                INSERT INTO outbox (chat_id, method, payload, request_id, purpose, card_id,
                                    not_before, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING id
                """,
                (m.chat_id, m.method, payload, m.request_id, m.purpose, m.card_id, not_before,
                 now),
                sink=ids,
            ))
            self._queued.append((m, payload, not_before, ids))

    def has_queued(self) -> bool:
        """Whether this unit queued any call (without building the rows)."""
        return bool(self._queued)

    def queued(self) -> list[OutboxRow]:
        """The calls this unit queued, as outbox rows (once the trips carrying them are made)."""
        # The payload as stored, so the call is the one a read after a restart would make.
        return [
            OutboxRow(id=int(ids[0][0]), chat_id=m.chat_id, method=m.method,
                      payload=json.loads(payload), request_id=m.request_id, purpose=m.purpose,
                      attempts=0, not_before=not_before, card_id=m.card_id)
            for m, payload, not_before, ids in self._queued if ids
        ]

    async def pending_outbox_head(self, now: float, limit: int) -> list[OutboxRow]:
        """Return each chat's oldest pending call, due or not (a chat's calls keep their order),
        with how many calls its chat has queued.

        A message held for quiet hours stands aside: what comes after it may go first.
        """
        rows = await self._all(
            """
            SELECT o.id, o.chat_id, o.method, o.payload, o.request_id, o.purpose, o.attempts,
                   o.not_before, o.card_id, head.queued
            FROM (
                SELECT MIN(id) AS id, COUNT(*) AS queued FROM outbox
                WHERE status = 'pending' AND NOT (purpose = 'quiet' AND not_before > ?)
                GROUP BY chat_id
            ) AS head JOIN outbox AS o ON o.id = head.id
            ORDER BY o.id LIMIT ?
            """,
            (now, limit),
        )
        return [
            OutboxRow(
                id=row["id"],
                chat_id=row["chat_id"],
                method=row["method"],
                payload=json.loads(row["payload"]),
                request_id=row["request_id"],
                purpose=row["purpose"],
                attempts=row["attempts"],
                not_before=row["not_before"],
                card_id=row["card_id"],
                queued=row["queued"],
            )
            for row in rows
        ]

    async def pending_outbox(self) -> int:
        """Count calls not yet made."""
        row = await self._one("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        return int(row[0])

    async def mark_sent(self, outbox_id: int, message_ids: list[int], now: float) -> None:
        """Record that a call succeeded and which messages it made (once: a repeat of the
        same mark changes nothing, so it may travel as a loose write)."""
        self._write(
            """
            UPDATE outbox SET status = 'sent', sent_at = ?, message_ids = ?,
                              attempts = attempts + 1, payload = '{}'
            WHERE id = ? AND status = 'pending'
            """,
            (now, json.dumps(message_ids), outbox_id),
        )

    async def mark_failed(self, outbox_id: int, error: str, now: float) -> None:
        """Give up on a call, keeping the reason."""
        self._write(
            """
            UPDATE outbox SET status = 'failed', last_error = ?, sent_at = ?,
                              attempts = attempts + 1
            WHERE id = ?
            """,
            (error[:500], now, outbox_id),
        )

    async def retry_later(self, outbox_id: int, not_before: float, error: str) -> None:
        """Try a call again at `not_before`."""
        self._write(
            """
            UPDATE outbox SET not_before = ?, last_error = ?, attempts = attempts + 1
            WHERE id = ?
            """,
            (not_before, error[:500], outbox_id),
        )

    async def hold_chat(self, chat_id: int, not_before: float) -> None:
        """Hold every pending call to a chat until `not_before` (after a 429 for that chat)."""
        self._write(
            """
            UPDATE outbox SET not_before = MAX(not_before, ?)
            WHERE status = 'pending' AND chat_id = ?
            """,
            (not_before, chat_id),
        )

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Point pending calls and bindings at a group's new id after it became a supergroup."""
        self._write(
            "UPDATE outbox SET chat_id = ? WHERE status = 'pending' AND chat_id = ?",
            (new_chat_id, old_chat_id),
        )
        # The payload names the chat too; rewrite it for the pending rows just moved.
        self._write(
            """
            UPDATE outbox SET payload = json_set(payload, '$.chat_id', ?)
            WHERE status = 'pending' AND chat_id = ?
            """,
            (new_chat_id, new_chat_id),
        )
        self._write(
            "UPDATE area_bindings SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
        )
        self._write(
            "UPDATE requests SET dispatch_chat_id = ? WHERE dispatch_chat_id = ?",
            (new_chat_id, old_chat_id),
        )
        self._write(
            "UPDATE cards SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
        )

    # -- timers -----------------------------------------------------------------------------

    async def schedule(
        self,
        kind: str,
        due_at: float,
        now: float,
        *,
        request_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        """Ask the schedule to do `kind` at `due_at`."""
        self._write(
            """
            INSERT INTO timers (kind, request_id, user_id, due_at, created_at)
            VALUES (?, ?, ?, ?, ?)
            """,
            (kind, request_id, user_id, due_at, now),
        )

    async def cancel_timers(
        self,
        now: float,
        *,
        request_id: int | None = None,
        user_id: int | None = None,
        kinds: tuple[str, ...] = (),
    ) -> None:
        """Call off pending timers of a request (or a user's draft), optionally of some kinds."""
        column, value = ("request_id", request_id) if request_id is not None else (
            "user_id", user_id)
        kind_filter = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
        self._write(
            f"""
            UPDATE timers SET done_at = ?, outcome = 'cancelled'
            WHERE {column} = ? AND done_at IS NULL{kind_filter}
            """,
            (now, value, *kinds),
        )

    async def due_timers(self, now: float, limit: int) -> list[Timer]:
        """Return pending timers due by `now`, earliest first."""
        rows = await self._all(
            """
            SELECT id, kind, request_id, user_id, due_at FROM timers
            WHERE done_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?
            """,
            (now, limit),
        )
        return [Timer(row[0], row[1], row[2], row[3], row[4]) for row in rows]

    async def settle_timer(self, timer_id: int, outcome: str, now: float) -> bool:
        """Mark a timer fired (or skipped); only one of two racing sweeps gets True."""
        return await self._changed(
            "UPDATE timers SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL",
            (now, outcome, timer_id),
        )

    async def pending_timers(
        self, *, request_id: int | None = None, user_id: int | None = None
    ) -> list[Timer]:
        """Return the pending timers of a request or user, earliest first."""
        column, value = ("request_id", request_id) if request_id is not None else (
            "user_id", user_id)
        rows = await self._all(
            f"""
            SELECT id, kind, request_id, user_id, due_at FROM timers
            WHERE {column} = ? AND done_at IS NULL ORDER BY due_at, id
            """,
            (value,),
        )
        return [Timer(row[0], row[1], row[2], row[3], row[4]) for row in rows]

    async def set_overdue(self, request_id: int, since: float | None) -> None:
        """Mark (or clear) a request as having waited past its policy."""
        self._write(
            "UPDATE requests SET overdue_since = ? WHERE id = ?", (since, request_id)
        )

    async def escalate(self, request_id: int, now: float) -> bool:
        """Raise a waiting request's escalation level."""
        return await self._changed(
            """
            UPDATE requests SET escalation_level = escalation_level + 1, updated_at = ?
            WHERE id = ? AND status = ?
            """,
            (now, request_id, DISPATCHED),
        )

    async def extend(self, request_id: int, volunteer_id: int, now: float) -> bool:
        """Grant a volunteer more time on a claimed request, once."""
        return await self._changed(
            """
            UPDATE requests SET extended = 1, updated_at = ?
            WHERE id = ? AND status = ? AND volunteer_id = ? AND extended = 0
            """,
            (now, request_id, CLAIMED, volunteer_id),
        )

    async def auto_close(self, request_id: int, now: float) -> bool:
        """Close a done request its citizen never answered."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, closed_how = 'unconfirmed', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND status = ?
            """,
            (CLOSED, now, now, request_id, DONE),
        )

    # -- volunteers and hours ---------------------------------------------------------------

    async def sync_team(
        self, team_id: str, area_id: str | None, name_zh: str, name_en: str,
        leader_id: int | None, now: float,
    ) -> None:
        """Create or update a team from the configured teams file."""
        self._write(
            """
            INSERT INTO teams (id, area_id, name_zh, name_en, leader_id, updated_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                area_id = excluded.area_id, name_zh = excluded.name_zh,
                name_en = excluded.name_en, leader_id = excluded.leader_id,
                updated_at = excluded.updated_at
            """,
            (team_id, area_id, name_zh, name_en, leader_id, now),
        )

    async def volunteer(self, user_id: int) -> Volunteer | None:
        """Return a person's registration, or None."""
        row = await self._one("SELECT * FROM volunteers WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        return Volunteer(row["user_id"], row["name"], row["phone"], row["area_id"],
                         row["team_id"], row["status"], row["reason"])

    async def apply(
        self, user_id: int, name: str, phone: str | None, area_id: str | None,
        team_id: str | None, now: float,
    ) -> None:
        """File (or, after a rejection, file again) a registration, pending approval."""
        self._write(
            """
            INSERT INTO volunteers (user_id, name, phone, area_id, team_id, status, applied_at)
            VALUES (?, ?, ?, ?, ?, 'pending', ?)
            ON CONFLICT (user_id) DO UPDATE SET
                name = excluded.name, phone = excluded.phone, area_id = excluded.area_id,
                team_id = excluded.team_id, status = 'pending', reason = NULL,
                decided_by = NULL, decided_at = NULL, applied_at = excluded.applied_at
            """,
            (user_id, name, phone, area_id, team_id, now),
        )

    async def decide(
        self, user_id: int, approve: bool, by: int, reason: str | None, now: float
    ) -> bool:
        """Approve or reject a pending registration; only the first decision counts."""
        return await self._changed(
            """
            UPDATE volunteers SET status = ?, reason = ?, decided_by = ?, decided_at = ?
            WHERE user_id = ? AND status = 'pending'
            """,
            ("approved" if approve else "rejected", reason, by, now, user_id),
        )

    async def record_hours(
        self, request_id: int, volunteer_id: int, hours: float, now: float
    ) -> None:
        """Note the hours a volunteer gave; they count once the request closes."""
        self._write(
            """
            INSERT INTO service_hours (request_id, volunteer_id, hours, status, recorded_at)
            VALUES (?, ?, ?, 'pending', ?)
            """,
            (request_id, volunteer_id, hours, now),
        )

    async def credit_hours(self, request_id: int, at: float) -> None:
        """The request closed: its pending hours count now."""
        self._write(
            """
            UPDATE service_hours SET status = 'credited', credited_at = ?
            WHERE request_id = ? AND status = 'pending'
            """,
            (at, request_id),
        )

    async def withdraw_hours(self, request_id: int, now: float) -> None:
        """The request was reopened: hours not yet credited do not count."""
        self._write(
            """
            UPDATE service_hours SET status = 'withdrawn', withdrawn_at = ?
            WHERE request_id = ? AND status = 'pending'
            """,
            (now, request_id),
        )

    async def hours_of(self, user_ids: list[int], since: float) -> dict[int, tuple[float, float]]:
        """Credited hours per volunteer: (all time, since `since`)."""
        if not user_ids:
            return {}
        rows = await self._all(
            f"""
            SELECT volunteer_id, SUM(hours),
                   SUM(CASE WHEN credited_at >= ? THEN hours ELSE 0 END)
            FROM service_hours
            WHERE status = 'credited' AND volunteer_id IN ({','.join('?' * len(user_ids))})
            GROUP BY volunteer_id
            """,
            (since, *user_ids),
        )
        return {int(row[0]): (float(row[1]), float(row[2])) for row in rows}

    async def team_members(self, team_id: str) -> list[Volunteer]:
        """Return a team's approved volunteers, by name."""
        rows = await self._all(
            "SELECT * FROM volunteers WHERE team_id = ? AND status = 'approved' ORDER BY name",
            (team_id,),
        )
        return [Volunteer(r["user_id"], r["name"], r["phone"], r["area_id"], r["team_id"],
                          r["status"], r["reason"]) for r in rows]

    async def team_ranking(self, start: float, end: float, limit: int) -> list[tuple[str, float]]:
        """Teams by hours credited in [start, end), most first."""
        rows = await self._all(
            """
            SELECT v.team_id, SUM(h.hours) FROM service_hours h
            JOIN volunteers v ON v.user_id = h.volunteer_id
            WHERE h.status = 'credited' AND h.credited_at >= ? AND h.credited_at < ?
                  AND v.team_id IS NOT NULL
            GROUP BY v.team_id ORDER BY 2 DESC, 1 LIMIT ?
            """,
            (start, end, limit),
        )
        return [(str(row[0]), float(row[1])) for row in rows]

    async def station_ranking(self, start: float, end: float, limit: int) -> list[tuple[str, int]]:
        """Areas by requests closed in [start, end), most first."""
        rows = await self._all(
            """
            SELECT area_id, COUNT(*) FROM requests
            WHERE status = ? AND closed_at >= ? AND closed_at < ? AND area_id IS NOT NULL
            GROUP BY area_id ORDER BY 2 DESC, 1 LIMIT ?
            """,
            (CLOSED, start, end, limit),
        )
        return [(str(row[0]), int(row[1])) for row in rows]

    async def volunteer_rows(self) -> list[tuple[Any, ...]]:
        """Every registration with its credited hours, for export."""
        rows = await self._all(
            """
            SELECT v.user_id, v.name, v.phone, v.area_id, v.team_id, v.status,
                   COALESCE(SUM(CASE WHEN h.status = 'credited' THEN h.hours END), 0)
            FROM volunteers v LEFT JOIN service_hours h ON h.volunteer_id = v.user_id
            GROUP BY v.user_id ORDER BY v.team_id, v.name
            """
        )
        return [tuple(row) for row in rows]

    # -- bulk loading (imports, benchmarks) -------------------------------------------------

    async def bulk_users(self, user_ids: list[int], now: float) -> None:
        """Make sure these people exist (imports, benchmarks)."""
        self._write_many(
            "INSERT OR IGNORE INTO users (user_id, started, created_at, updated_at) "
            "VALUES (?, 1, ?, ?)",
            [(user_id, now, now) for user_id in user_ids],
        )

    async def bulk_requests(self, rows: list[dict[str, Any]]) -> None:
        """Store many finished or open requests with their timelines in one hop each.

        Each row has the `requests` columns it sets plus `events`: (kind, at, actor_id).
        """
        columns = ("ref", "citizen_id", "language", "category", "description", "address",
                   "phone", "status", "area_id", "volunteer_id", "volunteer_name",
                   "closed_how", "cancelled_by", "rating", "created_at", "updated_at",
                   "claimed_at", "done_at", "closed_at")
        self._write_many(
            f"INSERT INTO requests ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            [tuple(row.get(c) for c in columns) for row in rows],
        )
        refs = [row["ref"] for row in rows]
        ids: dict[str, int] = {}
        for start in range(0, len(refs), 500):
            part = refs[start:start + 500]
            found = await self._all(
                f"SELECT ref, id FROM requests WHERE ref IN ({','.join('?' * len(part))})",
                tuple(part),
            )
            ids.update({str(r[0]): int(r[1]) for r in found})
        self._write_many(
            "INSERT INTO events (request_id, at, kind, actor_id) VALUES (?, ?, ?, ?)",
            [(ids[row["ref"]], at, kind, actor)
             for row in rows for kind, at, actor in row["events"]],
        )

    async def database_bytes(self) -> int:
        """The size of the database file(s) in bytes, as SQLite counts pages."""
        count = await self._one("PRAGMA page_count")
        size = await self._one("PRAGMA page_size")
        return int(count[0]) * int(size[0])

    # -- reports ----------------------------------------------------------------------------

    async def reported_of(self, periods: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Return which of these (kind, period) reports were already sent, in one trip."""
        if not periods:
            return set()
        marks = ",".join("(?, ?)" for _ in periods)
        rows = await self._all(
            f"SELECT kind, period FROM reports WHERE (kind, period) IN (VALUES {marks})",
            tuple(value for pair in periods for value in pair),
        )
        return {(str(row[0]), str(row[1])) for row in rows}

    async def record_report(self, kind: str, period: str, now: float) -> bool:
        """Claim a period's report; False if it was already sent (two sweeps raced)."""
        return await self._changed(
            "INSERT OR IGNORE INTO reports (kind, period, sent_at) VALUES (?, ?, ?)",
            (kind, period, now),
        )

    async def first_event_at(self) -> float | None:
        """Return when the first request event happened, or None on a fresh database."""
        row = await self._one("SELECT MIN(at) FROM events")
        return None if row is None or row[0] is None else float(row[0])

    async def event_counts(self, start: float, end: float) -> dict[str, int]:
        """Count timeline events by kind in [start, end)."""
        rows = await self._all(
            "SELECT kind, COUNT(*) FROM events WHERE at >= ? AND at < ? GROUP BY kind",
            (start, end),
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def overdue_requests(self) -> list[Request]:
        """Return open requests that waited past their policy, oldest first."""
        rows = await self._all(
            """
            SELECT * FROM requests
            WHERE overdue_since IS NOT NULL AND status IN (?, ?) ORDER BY overdue_since
            """,
            (DISPATCHED, CLAIMED),
        )
        return [Request.from_row(row) for row in rows]

    # -- dialogs ----------------------------------------------------------------------------

    async def dialog(self, user_id: int) -> Dialog | None:
        """Return the conversation a user is in, or None."""
        known = self._knows(user_id)
        if known is not None:  # read along with see_user, or written since
            if known.dialog is None:
                return None
            flow, step, data = known.dialog
            return Dialog(user_id=user_id, flow=flow, step=step, data=json.loads(data))
        row = await self._one(_DIALOG_SQL, (user_id,))
        if row is None:
            return None
        return Dialog(user_id=row["user_id"], flow=row["flow"], step=row["step"],
                      data=json.loads(row["data"]))

    async def save_dialog(self, dialog: Dialog, now: float) -> None:
        """Store where a user stands in a conversation."""
        data = json.dumps(dialog.data, ensure_ascii=False)
        self._note_dialog(dialog.user_id, (dialog.flow, dialog.step, data))
        self._write(
            """
            INSERT INTO dialogs (user_id, flow, step, data, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                flow = excluded.flow, step = excluded.step, data = excluded.data,
                updated_at = excluded.updated_at
            """,
            (dialog.user_id, dialog.flow, dialog.step, data, now),
        )

    async def end_dialog(self, user_id: int) -> None:
        """Forget a finished or abandoned conversation."""
        self._note_dialog(user_id, None)
        self._write("DELETE FROM dialogs WHERE user_id = ?", (user_id,))

    def _note_dialog(self, user_id: int, dialog: tuple[str, str, str] | None) -> None:
        """Keep what a user's conversation now is, if the user is known here."""
        known = self._knows(user_id)
        self.news[user_id] = replace(known, dialog=dialog) if known is not None else None

    # -- bindings ---------------------------------------------------------------------------

    async def bind(
        self, category: str, area_id: str, chat_id: int, title: str, by: int, now: float
    ) -> None:
        """Make a chat the volunteer group of a category in an area ('' = the district)."""
        self._write(
            """
            INSERT INTO area_bindings (category, area_id, chat_id, chat_title, bound_by,
                                       bound_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (category, area_id) DO UPDATE SET
                chat_id = excluded.chat_id, chat_title = excluded.chat_title,
                bound_by = excluded.bound_by, bound_at = excluded.bound_at
            """,
            (category, area_id, chat_id, title, by, now),
        )

    async def binding_list(self) -> list[tuple[str, str, int, str]]:
        """Return (category, area_id, chat_id, chat title) for every binding, sorted."""
        rows = await self._all(
            "SELECT category, area_id, chat_id, COALESCE(chat_title, '') FROM area_bindings "
            "ORDER BY category, area_id"
        )
        return [(row[0], row[1], int(row[2]), row[3]) for row in rows]

    async def bindings(self) -> dict[tuple[str, str], int]:
        """Return every binding: (category, area_id) → chat."""
        rows = await self._all("SELECT category, area_id, chat_id FROM area_bindings")
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def set_dispatch(self, request_id: int, chat_id: int, level: str) -> None:
        """Record which chat (and tree level) a request's card went to."""
        self._write(
            "UPDATE requests SET dispatch_chat_id = ?, dispatch_area_id = ? WHERE id = ?",
            (chat_id, level, request_id),
        )

    async def set_area(self, request_id: int, area_id: str | None) -> None:
        """Record where a request is."""
        self._write(
            "UPDATE requests SET area_id = ? WHERE id = ?", (area_id, request_id)
        )

    # -- inbox ------------------------------------------------------------------------------

    async def save_updates(self, updates: list[tuple[int, str]], now: float) -> list[int]:
        """Store fetched updates before they are confirmed; return the ids not seen before."""
        fresh = []
        for update_id, payload in updates:
            # update_id may start over after a week of silence: an id older than the 24 h
            # Telegram keeps updates is a new update, not a repeat.
            row = await self._one(
                """
                INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)
                ON CONFLICT (update_id) DO UPDATE SET
                    payload = excluded.payload, received_at = excluded.received_at,
                    processed_at = NULL
                WHERE inbox.received_at < ? - 86400
                RETURNING update_id
                """,
                (update_id, payload, now, now),
            )
            if row is not None:
                fresh.append(update_id)
        return fresh

    async def store_update(self, update_id: int, payload: str, now: float) -> None:
        """Store a fetched update known to be new (Telegram sends nothing twice once an offset
        confirmed it), without waiting for an answer."""
        self._write(
            """
            INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)
            ON CONFLICT (update_id) DO UPDATE SET
                payload = excluded.payload, received_at = excluded.received_at,
                processed_at = NULL
            WHERE inbox.received_at < ? - 86400
            """,
            (update_id, payload, now, now),
        )

    async def unprocessed_updates(self) -> list[tuple[int, str]]:
        """Return stored updates not yet handled, in order."""
        rows = await self._all(
            "SELECT update_id, payload FROM inbox WHERE processed_at IS NULL ORDER BY update_id"
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    async def mark_processed(self, update_id: int, now: float) -> None:
        """Note that an update has been handled (the first time counts)."""
        self._write(
            "UPDATE inbox SET processed_at = ? WHERE update_id = ? AND processed_at IS NULL",
            (now, update_id),
        )

    async def inbox(self) -> dict[int, bool]:
        """Every stored update id and whether it was handled (for checks and tests)."""
        rows = await self._all("SELECT update_id, processed_at IS NOT NULL FROM inbox")
        return {int(row[0]): bool(row[1]) for row in rows}

    async def prune_inbox(self, before: float) -> None:
        """Drop handled updates older than `before`; they are transport, not records."""
        self._write(
            "DELETE FROM inbox WHERE processed_at IS NOT NULL AND received_at < ?", (before,)
        )


    # -- admin console: roles, bans, jobs, broadcasts ---------------------------------------

    async def user_by_username(self, username: str) -> User | None:
        """Find a user the bot has seen by their @username (case-insensitive)."""
        row = await self._one(
            "SELECT * FROM users WHERE username = ? COLLATE NOCASE ORDER BY updated_at DESC",
            (username,),
        )
        return _user(row) if row else None

    async def granted_areas(self, user_id: int) -> list[str]:
        """Return the areas a user is an admin of (grants not revoked)."""
        rows = await self._all(
            "SELECT area_id FROM admin_grants WHERE user_id = ? AND revoked_at IS NULL "
            "ORDER BY area_id",
            (user_id,),
        )
        return [str(row[0]) for row in rows]

    async def grant(self, user_id: int, area_id: str, by: int, now: float) -> bool:
        """Make a user an admin of an area; False if they already were."""
        return await self._changed(
            """
            INSERT INTO admin_grants (user_id, area_id, granted_by, granted_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """,
            (user_id, area_id, by, now),
        )

    async def revoke(self, user_id: int, area_id: str | None, by: int, now: float) -> int:
        """End a user's admin grants (one area, or all); return how many ended."""
        sql = ("UPDATE admin_grants SET revoked_by = ?, revoked_at = ? "
               "WHERE user_id = ? AND revoked_at IS NULL")
        params: tuple[Any, ...] = (by, now, user_id)
        if area_id is not None:
            sql += " AND area_id = ?"
            params += (area_id,)
        return await self._rowcount(sql, params)

    async def grant_list(self) -> list[tuple[int, str]]:
        """Every active grant as (user id, area id)."""
        rows = await self._all(
            "SELECT user_id, area_id FROM admin_grants WHERE revoked_at IS NULL "
            "ORDER BY area_id, user_id"
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    async def ban(self, user_id: int, reason: str, by: int, now: float) -> bool:
        """Ban a user; False if they already are."""
        return await self._changed(
            "INSERT INTO bans (user_id, reason, banned_by, banned_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (user_id, reason, by, now),
        )

    async def unban(self, user_id: int, by: int, now: float) -> bool:
        """Lift a user's ban (the record stays); False if they were not banned."""
        return await self._changed(
            "UPDATE bans SET lifted_by = ?, lifted_at = ? WHERE user_id = ? AND lifted_at IS NULL",
            (by, now, user_id),
        )

    async def ban_reason(self, user_id: int) -> str | None:
        """Return why a user is banned, or None if they are not."""
        row = await self._one(
            "SELECT reason FROM bans WHERE user_id = ? AND lifted_at IS NULL", (user_id,)
        )
        return None if row is None else str(row[0])

    async def intake_standing(self, user_id: int, since: float) -> tuple[bool, bool, int, int]:
        """Return (is an area admin, is banned, open requests, requests created since
        `since`) of a user, in one trip: what decides whether they may file one now."""
        row = await self._one(
            """
            SELECT
                EXISTS (SELECT 1 FROM admin_grants
                        WHERE user_id = :user AND revoked_at IS NULL),
                EXISTS (SELECT 1 FROM bans WHERE user_id = :user AND lifted_at IS NULL),
                (SELECT COALESCE(SUM(status IN (:dispatched, :claimed, :done)), 0)
                 FROM requests WHERE citizen_id = :user),
                (SELECT COALESCE(SUM(created_at >= :since), 0)
                 FROM requests WHERE citizen_id = :user)
            """,
            {"user": user_id, "since": since, "dispatched": DISPATCHED, "claimed": CLAIMED,
             "done": DONE},
        )
        return bool(row[0]), bool(row[1]), int(row[2]), int(row[3])

    async def add_job(
        self, kind: str, chat_id: int, user_id: int, language: str, params: dict[str, Any],
        now: float,
    ) -> int:
        """Record a background job; return its id."""
        return await self._inserted(
            "INSERT INTO jobs (kind, chat_id, user_id, language, params, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (kind, chat_id, user_id, language, json.dumps(params), now),
        )

    async def pending_jobs(self) -> list[Job]:
        """Return the jobs still to do, oldest first."""
        rows = await self._all("SELECT * FROM jobs WHERE status = 'pending' ORDER BY id")
        return [Job(row["id"], row["kind"], row["chat_id"], row["user_id"], row["language"],
                    json.loads(row["params"]), row["attempts"]) for row in rows]

    async def start_job(self, job_id: int) -> int:
        """Count an attempt at a job; return the attempts so far."""
        row = await self._one(
            "UPDATE jobs SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", (job_id,)
        )
        return int(row[0])

    async def finish_job(self, job_id: int, now: float, error: str | None = None) -> None:
        """Mark a job done (or failed, with the reason)."""
        self._write(
            "UPDATE jobs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            ("failed" if error else "done", now, error, job_id),
        )

    async def add_broadcast(self, author_id: int, area_id: str, text: str, now: float) -> int:
        """Store a broadcast draft; return its id."""
        return await self._inserted(
            "INSERT INTO broadcasts (author_id, area_id, text, created_at) VALUES (?, ?, ?, ?)",
            (author_id, area_id, text, now),
        )

    async def broadcast(self, broadcast_id: int) -> Broadcast | None:
        """Return a broadcast by id."""
        row = await self._one("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        if row is None:
            return None
        return Broadcast(row["id"], row["author_id"], row["area_id"], row["text"], row["status"],
                         row["recipients"])

    async def decide_broadcast(
        self, broadcast_id: int, status: str, recipients: int | None, now: float
    ) -> bool:
        """Send or cancel a draft broadcast, once."""
        return await self._changed(
            "UPDATE broadcasts SET status = ?, recipients = ?, decided_at = ? "
            "WHERE id = ? AND status = 'draft'",
            (status, recipients, now, broadcast_id),
        )

    async def volunteers_in(self, area_ids: list[str] | None) -> list[tuple[int, str]]:
        """Approved volunteers (user id, language) of these areas, by their own area or their
        team's (None = everywhere)."""
        where, params = "", tuple[Any, ...]()
        if area_ids is not None:  # their own area, or their team's
            marks = ",".join("?" * len(area_ids))
            where = (f"AND (v.area_id IN ({marks}) "
                     f"OR v.team_id IN (SELECT id FROM teams WHERE area_id IN ({marks})))")
            params = tuple(area_ids) * 2
        rows = await self._all(
            f"""
            SELECT v.user_id, u.language FROM volunteers v JOIN users u USING (user_id)
            WHERE v.status = 'approved' AND u.blocked = 0 {where} ORDER BY v.user_id
            """,
            params,
        )
        return [(int(row[0]), row[1] or "") for row in rows]

    # -- casework: an admin's /assign, /cancel, /reopen, /move ------------------------------

    async def assign(self, request_id: int, volunteer_id: int, name: str, now: float) -> bool:
        """Give a waiting or claimed request to a volunteer an admin chose."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = ?, volunteer_name = ?,
                                claimed_at = ?, updated_at = ?, extended = 0
            WHERE id = ? AND status IN (?, ?)
            """,
            (CLAIMED, volunteer_id, name, now, now, request_id, DISPATCHED, CLAIMED),
        )

    async def cancel_by_admin(self, request_id: int, now: float) -> bool:
        """Cancel an open request on an admin's word."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, cancelled_by = 'admin', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND status IN (?, ?, ?)
            """,
            (CANCELLED, now, now, request_id, DISPATCHED, CLAIMED, DONE),
        )

    async def reopen_by_admin(self, request_id: int, now: float) -> bool:
        """Put a done, closed or cancelled request back to dispatch as if new: no volunteer,
        no closure, no rating (the timeline keeps what was)."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = NULL, volunteer_name = NULL,
                                claimed_at = NULL, done_at = NULL, done_note = NULL,
                                done_photo = NULL, closed_how = NULL, cancelled_by = NULL,
                                closed_at = NULL, rating = NULL, comment = NULL, extended = 0,
                                reopen_count = reopen_count + 1, escalation_level = 0,
                                overdue_since = NULL, updated_at = ?
            WHERE id = ? AND status IN (?, ?, ?)
            """,
            (DISPATCHED, now, request_id, DONE, CLOSED, CANCELLED),
        )

    async def move(self, request_id: int, category: str, area_id: str | None,
                   now: float) -> bool:
        """Give a waiting or claimed request another category or area, back to dispatch
        (any volunteer released) with its escalation started over."""
        return await self._changed(
            """
            UPDATE requests SET category = ?, area_id = ?, status = ?, volunteer_id = NULL,
                                volunteer_name = NULL, claimed_at = NULL, extended = 0,
                                escalation_level = 0, overdue_since = NULL, updated_at = ?
            WHERE id = ? AND status IN (?, ?)
            """,
            (category, area_id, DISPATCHED, now, request_id, DISPATCHED, CLAIMED),
        )

    async def withdraw_all_hours(self, request_id: int, now: float) -> int:
        """An admin undid the request's outcome: its hours, pending or credited, no longer
        count. Returns how many records were withdrawn."""
        return await self._rowcount(
            """
            UPDATE service_hours SET status = 'withdrawn', withdrawn_at = ?
            WHERE request_id = ? AND status IN ('pending', 'credited')
            """,
            (now, request_id),
        )


    # -- exports ----------------------------------------------------------------------------

    async def export_count(self, start: float, end: float, area_ids: list[str] | None) -> int:
        """How many requests an export of [start, end) in these areas (None: all) holds."""
        sql, params = count_sql(start, end, area_ids)
        row = await self._one(sql, params)
        return int(row[0])

    async def volunteer_rows_in(self, area_ids: list[str]) -> list[tuple[Any, ...]]:
        """The volunteers living in these areas with their credited hours (as volunteer_rows),
        for an area admin's export."""
        if not area_ids:
            return []
        rows = await self._all(
            f"""
            SELECT v.user_id, v.name, v.phone, v.area_id, v.team_id, v.status,
                   COALESCE(SUM(CASE WHEN h.status = 'credited' THEN h.hours END), 0)
            FROM volunteers v LEFT JOIN service_hours h ON h.volunteer_id = v.user_id
            WHERE v.area_id IN ({','.join('?' * len(area_ids))})
            GROUP BY v.user_id ORDER BY v.team_id, v.name
            """,
            tuple(area_ids),
        )
        return [tuple(row) for row in rows]

    # -- benchmark checks (bench/seed_year.py) ----------------------------------------------

    async def request_refs(self) -> list[str]:
        """Every request's reference number (duplicates kept, to be counted)."""
        return [row[0] for row in await self._all("SELECT ref FROM requests")]

    async def outbox_status_counts(self) -> dict[str, int]:
        """Count outbox calls by status (pending, sent, failed)."""
        rows = await self._all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {row[0]: int(row[1]) for row in rows}

    # -- combined cards: one group message listing several requests (bot/delivery/sender.py) --

    async def chat_queue(
        self, chat_id: int, from_id: int, limit: int
    ) -> list[tuple[OutboxRow, str]]:
        """Return a chat's pending calls from `from_id` on, in queue order, each with its
        request's reference ('' for a call about no request)."""
        rows = await self._all(
            """
            SELECT o.id, o.chat_id, o.method, o.payload, o.request_id, o.purpose, o.attempts,
                   o.not_before, o.card_id, COALESCE(r.ref, '') AS ref
            FROM outbox o LEFT JOIN requests r ON r.id = o.request_id
            WHERE o.status = 'pending' AND o.chat_id = ? AND o.id >= ?
            ORDER BY o.id LIMIT ?
            """,
            (chat_id, from_id, limit),
        )
        return [
            (OutboxRow(id=row["id"], chat_id=row["chat_id"], method=row["method"],
                       payload=json.loads(row["payload"]), request_id=row["request_id"],
                       purpose=row["purpose"], attempts=row["attempts"],
                       not_before=row["not_before"], card_id=row["card_id"]),
             row["ref"])
            for row in rows
        ]

    async def mark_all_sent(self, outbox_ids: list[int], message_ids: list[int],
                            now: float) -> None:
        """Record that one call delivered all these rows (a combined card, coalesced edits)."""
        self._write_many(
            """
            UPDATE outbox SET status = 'sent', sent_at = ?, message_ids = ?,
                              attempts = attempts + 1, payload = '{}'
            WHERE id = ?
            """,
            [(now, json.dumps(message_ids), outbox_id) for outbox_id in outbox_ids],
        )

    async def show_cards(
        self, shown: dict[int, dict[str, Any]], message_id: int | None = None
    ) -> None:
        """Remember what each card of a combined message shows (and, once it is posted,
        which message that is)."""
        self._write_many(
            "UPDATE cards SET shown = ?, message_id = COALESCE(?, message_id) WHERE id = ?",
            [(json.dumps(part, ensure_ascii=False), message_id, card_id)
             for card_id, part in shown.items()],
        )

    async def card_on_screen(self, card_id: int) -> tuple[
        Card | None,
        list[tuple[int, int, str, dict[str, Any]]],
        list[tuple[int, int, dict[str, Any]]],
    ]:
        """Return a card, the sections of the combined message it is part of, each as (card
        id, request id, ref, what it shows) and [] for a card posted alone, and those cards'
        queued edits as (outbox id, card id, payload), oldest first: all in one trip."""

        def look(raw: sqlite3.Connection) -> tuple[Any, list[Any], list[Any]]:
            card = raw.execute("SELECT * FROM cards WHERE id = ?", (card_id,)).fetchone()
            if card is None or card["message_id"] is None:
                return card, [], []
            sections = raw.execute(_SECTIONS_SQL, (card["chat_id"], card["message_id"])).fetchall()
            ids = tuple(row[0] for row in sections)
            edits = raw.execute(_card_edits_sql(len(ids)), ids).fetchall() if ids else []
            return card, sections, edits

        card, sections, edits = await self._trip(look)
        return (
            _card(card) if card is not None else None,
            [(row[0], row[1], row[2], json.loads(row[3])) for row in sections],
            [(row[0], row[1], json.loads(row[2])) for row in edits],
        )


def _card(row: Any) -> Card:
    return Card(
        id=row["id"], request_id=row["request_id"], chat_id=row["chat_id"],
        message_id=row["message_id"], kind=row["kind"], role=row["role"],
    )


def _user(row: Any) -> User:
    return User(
        user_id=row["user_id"], first_name=row["first_name"], username=row["username"],
        language=row["language"], started=bool(row["started"]), blocked=bool(row["blocked"]),
    )


def _unchanged(user: User, first_name: str, username: str | None, private: bool) -> bool:
    """Say whether seeing the user again would leave their row as it is (but the time)."""
    return (user.first_name == first_name and user.username == username
            and (not private or (user.started and not user.blocked)))


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
