"""The cards a request shows in groups and admin chats, and the messages that carry them."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from storage.models import (
    DISPATCHED,
    OPEN_STATUSES,
    Card,
    Request,
)
from storage.repos.base import Aggregate

_ACTIVE_CARDS_SQL = "SELECT * FROM cards WHERE request_id = ? AND retired = 0 ORDER BY id"


_SECTIONS_SQL = """
    SELECT c.id, c.request_id, r.ref, c.shown
    FROM cards c JOIN requests r ON r.id = c.request_id
    WHERE c.chat_id = ? AND c.message_id = ? AND c.left_behind = ? AND c.shown IS NOT NULL
    ORDER BY c.id
"""


def _card_edits_sql(cards: int) -> str:
    """The queued edits of `cards` cards, oldest first."""
    return (f"SELECT id, card_id, payload FROM outbox WHERE status = 'pending' "
            f"AND method = 'editCard' AND card_id IN ({','.join('?' * cards)}) ORDER BY id")


def _card(row: Any) -> Card:
    return Card(
        id=row["id"], request_id=row["request_id"], chat_id=row["chat_id"],
        message_id=row["message_id"], kind=row["kind"], role=row["role"],
        left_behind=bool(row["left_behind"]), thread_id=row["thread_id"],
    )



class CardsRepo(Aggregate):
    """The cards a request shows in groups and admin chats, and the messages that carry them."""

    async def is_card(self, chat_id: int, message_id: int) -> bool:
        """Whether a message is a request's card."""
        row = await self._one("SELECT 1 FROM cards WHERE chat_id = ? AND message_id = ?",
                              (chat_id, message_id))
        return row is not None

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

    async def record_card_message(self, card_id: int, message_id: int, kind: str,
                                  sent_to: int, thread_id: int | None = None) -> None:
        """Remember which message shows a card posted alone, and as what ("text", "photo"),
        so later changes edit it the way it was posted, and the forum topic it went to.
        `sent_to` is the chat the call went to: if the group became a supergroup while it
        was on its way, the card has moved on and the message stayed behind (left_behind), as
        the cards posted before did."""
        self._write(
            "UPDATE cards SET message_id = ?, kind = ?, shown = NULL, "
            "left_behind = (chat_id != ?), thread_id = ? WHERE id = ?",
            (message_id, kind, sent_to, thread_id, card_id)
        )

    async def detach_cards(self, card_ids: list[int]) -> None:
        """Forget the message that showed these cards (someone deleted it, or it stayed in a
        group that became a supergroup): each is posted again on its own, and its next message
        id comes when that is sent."""
        self._write_many(
            "UPDATE cards SET message_id = NULL, shown = NULL, left_behind = 0 WHERE id = ?",
            [(card_id,) for card_id in card_ids])

    async def retire_cards(self, request_id: int) -> None:
        """Mark a request's cards as history (it is being posted afresh)."""
        self._write(
            "UPDATE cards SET retired = 1 WHERE request_id = ? AND retired = 0", (request_id,)
        )

    async def retire_card(self, card_id: int) -> None:
        """Mark one card as history: its message is gone and another card of the request
        still shows it in that chat."""
        self._write("UPDATE cards SET retired = 1 WHERE id = ?", (card_id,))

    async def show_cards(
        self, shown: dict[int, dict[str, Any]], message_id: int | None = None,
        sent_to: int | None = None, thread_id: int | None = None,
    ) -> None:
        """Remember what each card of a combined message shows (and, once it is posted,
        which message that is, in the chat `sent_to` and its forum topic `thread_id`:
        record_card_message says why)."""
        self._write_many(
            "UPDATE cards SET shown = ?, message_id = COALESCE(?, message_id), "
            "left_behind = CASE WHEN ? IS NULL THEN left_behind ELSE chat_id != ? END, "
            "thread_id = CASE WHEN ? IS NULL THEN thread_id ELSE ? END "
            "WHERE id = ?",
            [(json.dumps(part, ensure_ascii=False), message_id, message_id, sent_to,
              message_id, thread_id, card_id)
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
            # A message left in the group before it became a supergroup and one of the
            # supergroup's may share an id: the mark tells them apart.
            sections = raw.execute(_SECTIONS_SQL, (card["chat_id"], card["message_id"],
                                                   card["left_behind"])).fetchall()
            ids = tuple(row[0] for row in sections)
            edits = raw.execute(_card_edits_sql(len(ids)), ids).fetchall() if ids else []
            return card, sections, edits

        card, sections, edits = await self._trip(look)
        return (
            _card(card) if card is not None else None,
            [(row[0], row[1], row[2], json.loads(row[3])) for row in sections],
            [(row[0], row[1], json.loads(row[2])) for row in edits],
        )

    async def open_in(self, chat_id: int, category: str, level: str,
                      away_from: int | None) -> int:
        """How many open requests of a category dispatched at a level have their current
        card in a chat, posted elsewhere than its forum topic `away_from` (None: General)."""
        row = await self._one(
            f"""
            SELECT COUNT(DISTINCT r.id) FROM cards c JOIN requests r ON r.id = c.request_id
            WHERE c.chat_id = ? AND c.retired = 0 AND r.category = ?
              AND COALESCE(r.dispatch_area_id, '') = ? AND c.thread_id IS NOT ?
              AND r.status IN ({", ".join("?" for _ in OPEN_STATUSES)})
            """,
            (chat_id, category, level, away_from, *OPEN_STATUSES))
        return int(row[0]) if row is not None else 0

    async def waiting_in(self, chat_id: int) -> list[int]:
        """The requests waiting for a volunteer whose current card is in a chat."""
        rows = await self._all(
            """
            SELECT DISTINCT c.request_id FROM cards c JOIN requests r ON r.id = c.request_id
            WHERE c.chat_id = ? AND c.retired = 0 AND r.status = ?
            ORDER BY c.request_id
            """,
            (chat_id, DISPATCHED))
        return [int(row[0]) for row in rows]
