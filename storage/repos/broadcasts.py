"""Admin broadcasts to volunteers, awaiting a second admin's approval."""

from __future__ import annotations

from storage.models import (
    Broadcast,
)
from storage.repos.base import Aggregate


class BroadcastsRepo(Aggregate):
    """Admin broadcasts to volunteers, awaiting a second admin's approval."""

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
