"""The masked chats between a citizen and the claimer of their request, and what they relayed."""

from __future__ import annotations

from storage.models import Thread, ThreadMessage
from storage.repos.base import Aggregate


class ThreadsRepo(Aggregate):
    """One thread per claim of a request, and its messages."""

    async def open_for(self, request_id: int, citizen_id: int, volunteer_id: int,
                       claimed_at: float, now: float) -> Thread:
        """The thread of this claim of the request, made on first use."""
        self._write(
            """
            INSERT INTO threads (request_id, citizen_id, volunteer_id, claimed_at, opened_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (request_id, volunteer_id, claimed_at) DO NOTHING
            """, (request_id, citizen_id, volunteer_id, claimed_at, now))
        row = await self._one(
            "SELECT * FROM threads WHERE request_id = ? AND volunteer_id = ? AND claimed_at = ?",
            (request_id, volunteer_id, claimed_at))
        return Thread.from_row(row)

    async def thread(self, thread_id: int) -> Thread | None:
        """The thread with this id, or None."""
        row = await self._one("SELECT * FROM threads WHERE id = ?", (thread_id,))
        return Thread.from_row(row) if row else None

    async def end(self, thread_id: int, by: int, now: float) -> bool:
        """End a thread for both sides; False if it had ended already."""
        return await self._changed(
            "UPDATE threads SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL",
            (now, by, thread_id))

    async def report(self, thread_id: int, by: int, now: float) -> bool:
        """Mark a thread reported (an admin may read it now); False if it was already."""
        return await self._changed(
            "UPDATE threads SET reported_at = ?, reported_by = ? "
            "WHERE id = ? AND reported_at IS NULL", (now, by, thread_id))

    async def reported(self, request_id: int) -> list[Thread]:
        """The reported threads of a request, oldest first."""
        rows = await self._all(
            "SELECT * FROM threads WHERE request_id = ? AND reported_at IS NOT NULL ORDER BY id",
            (request_id,))
        return [Thread.from_row(row) for row in rows]

    def add_message(self, thread_id: int, sender_id: int, kind: str, text: str,
                    file_id: str | None, now: float) -> None:
        """Keep a relayed message (held: nobody reads it in the same update)."""
        self._write(
            "INSERT INTO thread_messages (thread_id, sender_id, kind, text, file_id, sent_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (thread_id, sender_id, kind, text, file_id, now))

    async def messages(self, thread_id: int) -> list[ThreadMessage]:
        """A thread's messages, in the order they were relayed."""
        rows = await self._all(
            "SELECT * FROM thread_messages WHERE thread_id = ? ORDER BY id", (thread_id,))
        return [ThreadMessage(row["id"], row["thread_id"], row["sender_id"], row["kind"],
                              row["text"], row["file_id"], row["sent_at"]) for row in rows]
