"""Which group serves which category in which area (the /bind table)."""

from __future__ import annotations

from storage.repos.base import Aggregate


class AreasRepo(Aggregate):
    """Which group serves which category in which area (the /bind table)."""

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

    async def unbind_chat(self, chat_id: int) -> list[tuple[str, str]]:
        """Remove every binding of a chat (the bot is no longer in it); return the
        (category, area_id) pairs it served."""
        rows = await self._all(
            "DELETE FROM area_bindings WHERE chat_id = ? RETURNING category, area_id",
            (chat_id,))
        return sorted((row[0], row[1]) for row in rows)
