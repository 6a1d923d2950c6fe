"""The outbox: Bot API calls queued with the transaction that caused them, until sent."""

from __future__ import annotations

import json
from typing import Any

from storage.models import (
    OutboxRow,
    Outgoing,
    is_api_client,
)
from storage.repos.base import Aggregate

_QUEUE_SQL = """
    INSERT INTO outbox (chat_id, method, payload, request_id, purpose, card_id, post_id,
                        problem_post_id, honour_post_id, not_before, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING id
"""


# A call marked sent lately was queued lately: a restarted sender looks this far back in the
# outbox for the calls Telegram still counts (minutes of calls at Telegram's overall limit).
RECENT_ROWS = 20_000


# Every column that may hold a group's chat id, with the rows of it that move when the group
# becomes a supergroup (calls and jobs still to do; sent calls are history): the pending calls
# and jobs (an export's answer), a request's dispatch chat (and the card chat of its first
# version), loop 1's bindings and cards, a team's and a unit's group, the cards of activities
# and problems, and honours' announcements. tests/test_storage.py checks no chat_id column is
# left out.
GROUP_CHAT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("outbox", "chat_id", " AND status = 'pending'"),
    ("jobs", "chat_id", " AND status = 'pending'"),
    ("requests", "dispatch_chat_id", ""),
    ("requests", "card_chat_id", ""),
    ("area_bindings", "chat_id", ""),
    ("cards", "chat_id", ""),
    ("team_groups", "chat_id", ""),
    ("unit_chats", "chat_id", ""),
    ("activity_posts", "chat_id", ""),
    ("problem_posts", "chat_id", ""),
    ("honour_posts", "chat_id", ""),
    ("forum_topics", "chat_id", ""),  # a basic group has none: for completeness
)
# The cards among them, whose messages stay behind in the old group (left_behind).
CARD_TABLES = ("cards", "activity_posts", "problem_posts", "honour_posts")


# An outbox row's columns as OutboxRow holds them (prefixed `o.` where a query joins).
ROW_COLUMNS = ("id, chat_id, method, payload, request_id, purpose, attempts, not_before, "
               "card_id, post_id, problem_post_id, honour_post_id")
JOINED_ROW_COLUMNS = ", ".join(f"o.{column}" for column in ROW_COLUMNS.split(", "))


def _outbox_row(row: Any, queued: int = 1) -> OutboxRow:
    """An OutboxRow from a row read with ROW_COLUMNS (its payload parsed)."""
    return OutboxRow(id=row["id"], chat_id=row["chat_id"], method=row["method"],
                     payload=json.loads(row["payload"]), request_id=row["request_id"],
                     purpose=row["purpose"], attempts=row["attempts"],
                     not_before=row["not_before"], card_id=row["card_id"], queued=queued,
                     post_id=row["post_id"], problem_post_id=row["problem_post_id"],
                     honour_post_id=row["honour_post_id"])


# The edits of a card whose message id the sender fills in, by purpose, and the column naming
# the card: a request's (cards), an activity's or a call's (activity_posts), a problem's
# (problem_posts).
EDITED_CARD = {"card_edit": "card_id", "post_edit": "post_id",
               "problem_post_edit": "problem_post_id"}


# The postings of a card, by purpose: its table and the Outgoing field naming it.
_POSTED_CARD = {"card": ("cards", "card_id"), "post": ("activity_posts", "post_id"),
                "problem_post": ("problem_posts", "problem_post_id")}


class OutboxRepo(Aggregate):
    """The outbox: Bot API calls queued with the transaction that caused them, until sent."""

    async def enqueue(self, messages: list[Outgoing], now: float) -> None:
        """Queue Bot API calls to be made after this transaction commits."""
        if self._session.loose:
            raise TypeError("an insert is not idempotent: it cannot travel loose")
        for m in messages:
            if is_api_client(m.chat_id):
                # An API client's request: its citizen steps (receipt, rating, reminders) have
                # nobody to reach; the auto-close timer ends them. Nothing is queued.
                continue
            not_before = now if m.not_before is None else max(now, m.not_before)
            payload = json.dumps(m.payload, ensure_ascii=False)
            self._place_card(m)
            self._session.hold_queued(
                m, _QUEUE_SQL,
                (m.chat_id, m.method, payload, m.request_id, m.purpose, m.card_id, m.post_id,
                 m.problem_post_id, m.honour_post_id, not_before, now),
                payload, not_before)

    def _place_card(self, m: Outgoing) -> None:
        """A card's posting names the forum topic it goes to: the card records it now, so
        what is said about it before it is sent goes there too (the sender records again
        where it went, General if the topic was gone)."""
        column = _POSTED_CARD.get(m.purpose)
        if column is None or not m.method.startswith("send"):
            return
        card_id = getattr(m, column[1])
        if card_id is not None:
            self._write(f"UPDATE {column[0]} SET thread_id = ? WHERE id = ?",
                        (m.payload.get("message_thread_id"), card_id))

    async def pending_outbox_head(self, now: float, limit: int) -> list[OutboxRow]:
        """Return each chat's oldest pending call, due or not (a chat's calls keep their order),
        with how many calls its chat has queued.

        A message held for quiet hours stands aside: what comes after it may go first.
        """
        rows = await self._all(
            f"""
            SELECT {JOINED_ROW_COLUMNS}, head.queued
            FROM (
                SELECT MIN(id) AS id, COUNT(*) AS queued FROM outbox
                WHERE status = 'pending' AND NOT (purpose = 'quiet' AND not_before > ?)
                GROUP BY chat_id
            ) AS head JOIN outbox AS o ON o.id = head.id
            ORDER BY o.id LIMIT ?
            """,
            (now, limit),
        )
        return [_outbox_row(row, row["queued"]) for row in rows]

    async def backlog(self) -> tuple[int, float | None]:
        """How many calls wait, and when the oldest of them was queued (None: none wait)."""
        row = await self._one(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'")
        return int(row[0]), row[1]

    async def pending_outbox(self) -> int:
        """Count calls not yet made."""
        row = await self._one("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        return int(row[0])

    async def is_pending(self, outbox_id: int) -> bool:
        """Whether a call is still waiting to be made."""
        row = await self._one("SELECT 1 FROM outbox WHERE id = ? AND status = 'pending'",
                              (outbox_id,))
        return row is not None

    async def made(self, chat_id: int, message_id: int) -> bool:
        """Whether a call the bot heard answered made this message in this chat (a message
        whose answer was lost is in no row; rows retention took are forgotten)."""
        row = await self._one(
            """
            SELECT 1 FROM outbox o, json_each(o.message_ids) made
            WHERE o.chat_id = ? AND o.status = 'sent' AND made.value = ? LIMIT 1
            """,
            (chat_id, message_id),
        )
        return row is not None

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
                              attempts = attempts + 1, payload = '{}'
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

    async def hold_until(self, outbox_id: int, not_before: float) -> None:
        """Hold a pending call until `not_before` again (quiet hours), its attempts as they
        were."""
        self._write("UPDATE outbox SET not_before = ? WHERE id = ? AND status = 'pending'",
                    (not_before, outbox_id))

    async def hold_chat(self, chat_id: int, not_before: float) -> None:
        """Hold every pending call to a chat until `not_before` (after a 429 for that chat)."""
        self._write(
            """
            UPDATE outbox SET not_before = MAX(not_before, ?)
            WHERE status = 'pending' AND chat_id = ?
            """,
            (not_before, chat_id),
        )

    async def newer_edit_queued(self, purpose: str, card_id: int, outbox_id: int) -> bool:
        """Whether a later edit of the same card (a request's, an activity's, a problem's: the
        edit's `purpose` says which) waits in the outbox: this one is then moot, the later one
        shows everything."""
        column = EDITED_CARD[purpose]
        row = await self._one(
            f"SELECT 1 FROM outbox WHERE status = 'pending' AND purpose = ? AND {column} = ? "
            "AND id > ? LIMIT 1", (purpose, card_id, outbox_id))
        return row is not None

    async def calls_on_messages(self, chat_id: int, methods: tuple[str, ...]
                                ) -> list[OutboxRow]:
        """A chat's pending calls that may name one of its messages by id: those of
        `methods`, and any that replies to a message."""
        marks = ", ".join("?" * len(methods))
        rows = await self._all(
            f"""
            SELECT {ROW_COLUMNS}
            FROM outbox
            WHERE status = 'pending' AND chat_id = ?
              AND (method IN ({marks}) OR json_type(payload, '$.reply_parameters') IS NOT NULL
                   OR json_type(payload, '$.reply_to_message_id') IS NOT NULL)
            ORDER BY id
            """,
            (chat_id, *methods),
        )
        return [_outbox_row(row) for row in rows]

    async def calls_from_chat(self, chat_id: int) -> list[OutboxRow]:
        """Other chats' pending calls that copy or forward one of this chat's messages, or
        quote one (by `from_chat_id`, or the chat of their `reply_parameters`)."""
        rows = await self._all(
            f"""
            SELECT {ROW_COLUMNS}
            FROM outbox
            WHERE status = 'pending' AND chat_id != ?
              AND (json_extract(payload, '$.from_chat_id') = ?
                   OR json_extract(payload, '$.reply_parameters.chat_id') = ?)
            ORDER BY id
            """,
            (chat_id, chat_id, chat_id),
        )
        return [_outbox_row(row) for row in rows]

    async def rewrite(self, outbox_id: int, method: str, payload: dict[str, Any]) -> None:
        """Make a pending call another one (its place in the chat's order kept)."""
        self._write("UPDATE outbox SET method = ?, payload = ? WHERE id = ? "
                    "AND status = 'pending'",
                    (method, json.dumps(payload, ensure_ascii=False), outbox_id))

    async def move_chat(self, old_chat_id: int, new_chat_id: int, now: float) -> bool:
        """Move everything kept under a group's old id to its new one, after it became a
        supergroup: the pending calls (and the chat their payload names), the pending jobs
        (an export's answer), the bindings of a category's area, of a team and of a unit, the
        cards of requests, activities and problems (left behind: their messages stay in the
        old group), a request's dispatch chat; and note the move, which the config's ids are
        read through (chat_moves). Idempotent: True the
        first time this move is noted, False when it was already."""
        first = bool(await self._all(
            "INSERT INTO chat_moves (old_chat_id, new_chat_id, moved_at) VALUES (?, ?, ?) "
            "ON CONFLICT (old_chat_id) DO NOTHING RETURNING old_chat_id",
            (old_chat_id, new_chat_id, now)))
        # A move of a chat that had moved before (never twice in Telegram, but cheap): the
        # oldest id leads to the newest.
        self._write("UPDATE chat_moves SET new_chat_id = ? WHERE new_chat_id = ?",
                    (new_chat_id, old_chat_id))
        # A card's message stays in the old group, and the supergroup numbers its own afresh:
        # the card moves "not there yet", its message id valid in no chat the bot can reach.
        for table in CARD_TABLES:
            self._write(f"UPDATE {table} SET left_behind = 1 "
                        "WHERE chat_id = ? AND message_id IS NOT NULL", (old_chat_id,))
        for table, column, only in GROUP_CHAT_COLUMNS:
            self._write(f"UPDATE {table} SET {column} = ? WHERE {column} = ?{only}",
                        (new_chat_id, old_chat_id))
        # The payload of a pending call names the chat too.
        self._write(
            """
            UPDATE outbox SET payload = json_set(payload, '$.chat_id', ?)
            WHERE status = 'pending' AND chat_id = ?
              AND json_extract(payload, '$.chat_id') = ?
            """,
            (new_chat_id, new_chat_id, old_chat_id),
        )
        return first

    async def chat_moves(self) -> dict[int, int]:
        """Every group's old id → the supergroup it became."""
        rows = await self._all("SELECT old_chat_id, new_chat_id FROM chat_moves")
        return {int(row[0]): int(row[1]) for row in rows}

    async def outbox_status_counts(self) -> dict[str, int]:
        """Count outbox calls by status (pending, sent, failed)."""
        rows = await self._all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {row[0]: int(row[1]) for row in rows}

    async def chat_queue(
        self, chat_id: int, from_id: int, limit: int
    ) -> list[tuple[OutboxRow, str]]:
        """Return a chat's pending calls from `from_id` on, in queue order, each with its
        request's reference ('' for a call about no request)."""
        rows = await self._all(
            f"""
            SELECT {JOINED_ROW_COLUMNS}, COALESCE(r.ref, '') AS ref
            FROM outbox o LEFT JOIN requests r ON r.id = o.request_id
            WHERE o.status = 'pending' AND o.chat_id = ? AND o.id >= ?
            ORDER BY o.id LIMIT ?
            """,
            (chat_id, from_id, limit),
        )
        return [(_outbox_row(row), row["ref"]) for row in rows]

    async def recently_sent(self, since: float) -> list[tuple[int, str, float, int]]:
        """(chat, method, when, messages) of each call marked sent since `since`, oldest
        first: what Telegram still counts against its limits when the sender starts. The
        rows of one combined card share their call (and its message id): counted once."""
        rows = await self._all(
            """
            SELECT chat_id, method, MIN(sent_at), message_ids FROM outbox
            WHERE id > (SELECT COALESCE(MAX(id), 0) FROM outbox) - ?
              AND status = 'sent' AND sent_at >= ?
            GROUP BY chat_id, CASE WHEN method = 'sendMessage' AND message_ids != '[]'
                                   THEN message_ids ELSE id END
            ORDER BY MIN(sent_at)
            """,
            (RECENT_ROWS, since),
        )
        return [(int(row[0]), str(row[1]), float(row[2]),
                 max(1, len(json.loads(row[3] or "[]")))) for row in rows]

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
