"""The inbox: every update as Telegram sent it, until handled."""

from __future__ import annotations

from storage.repos.base import Aggregate


class InboxRepo(Aggregate):
    """The inbox: every update as Telegram sent it, until handled."""

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

    async def prune_inbox(self, before: float) -> int:
        """Drop handled updates older than `before` (they are transport, not records); return
        how many went."""
        return await self._rowcount(
            "DELETE FROM inbox WHERE processed_at IS NOT NULL AND received_at < ?", (before,)
        )
