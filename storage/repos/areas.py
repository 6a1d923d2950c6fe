"""Which group serves which category in which area (the /bind table)."""

from __future__ import annotations

from storage.repos.base import Aggregate


class AreasRepo(Aggregate):
    """Which group serves which category in which area (the /bind table)."""

    async def bind(
        self, category: str, area_id: str, chat_id: int, title: str, by: int, now: float,
        topic_id: int | None = None, topic_name: str = "",
    ) -> None:
        """Make a chat (one of its forum topics, with `topic_id`) the volunteer group of a
        category in an area ('' = the district)."""
        self._write(
            """
            INSERT INTO area_bindings (category, area_id, chat_id, chat_title, bound_by,
                                       bound_at, topic_id, topic_name)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (category, area_id) DO UPDATE SET
                chat_id = excluded.chat_id, chat_title = excluded.chat_title,
                bound_by = excluded.bound_by, bound_at = excluded.bound_at,
                topic_id = excluded.topic_id, topic_name = excluded.topic_name
            """,
            (category, area_id, chat_id, title, by, now, topic_id, topic_name or None),
        )

    async def name_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        """A forum topic was made or renamed: remember its name, and give it to every place
        bound to it (a category's, a team's, a unit's), which /bindings, /units and the
        notice that it is gone show."""
        self._write("INSERT INTO forum_topics (chat_id, thread_id, name) VALUES (?, ?, ?) "
                    "ON CONFLICT (chat_id, thread_id) DO UPDATE SET name = excluded.name",
                    (chat_id, thread_id, name))
        for table in ("area_bindings", "team_groups", "unit_chats"):
            self._write(f"UPDATE {table} SET topic_name = ? WHERE chat_id = ? AND topic_id = ?",
                        (name, chat_id, thread_id))

    async def topic_name(self, chat_id: int, thread_id: int) -> str:
        """A forum topic's name as last seen made or renamed, "" if never seen."""
        row = await self._one("SELECT name FROM forum_topics WHERE chat_id = ? "
                              "AND thread_id = ?", (chat_id, thread_id))
        return str(row[0]) if row is not None else ""

    async def binding_list(self) -> list[tuple[str, str, int, str, str]]:
        """Return (category, area_id, chat_id, chat title, topic) for every binding, sorted;
        the topic is its name (its thread id if unnamed), '' for none."""
        rows = await self._all(
            "SELECT category, area_id, chat_id, COALESCE(chat_title, ''), "
            "COALESCE(topic_name, CAST(topic_id AS TEXT), '') FROM area_bindings "
            "ORDER BY category, area_id"
        )
        return [(row[0], row[1], int(row[2]), row[3], row[4]) for row in rows]

    async def place(self, category: str, area_id: str) -> tuple[int, int | None, str] | None:
        """Where a category's cards at a level go: the chat, its forum topic (None: none, or
        General) and the topic's name (its thread id if unnamed); None if unbound."""
        row = await self._one(
            "SELECT chat_id, topic_id, COALESCE(topic_name, CAST(topic_id AS TEXT), '') "
            "FROM area_bindings WHERE category = ? AND area_id = ?", (category, area_id))
        if row is None:
            return None
        return int(row[0]), int(row[1]) if row[1] is not None else None, row[2]

    async def topic_of(self, category: str, area_id: str, chat_id: int) -> int | None:
        """The forum topic a category's cards at a level go to in that chat, if bound in one."""
        row = await self._one(
            "SELECT topic_id FROM area_bindings WHERE category = ? AND area_id = ? "
            "AND chat_id = ?", (category, area_id, chat_id))
        return int(row[0]) if row and row[0] is not None else None

    async def forget_topic(
        self, chat_id: int, topic_id: int
    ) -> list[tuple[str, str, str, str]]:
        """A chat's topic is gone: its bindings there fall back to the General topic. Return
        the (category, area_id, chat title, topic name) of each, [] if none was left."""
        return await self._forget_topic(
            "area_bindings", "category, area_id", chat_id, topic_id)

    async def bindings(self) -> dict[tuple[str, str], int]:
        """Return every binding: (category, area_id) → chat."""
        rows = await self._all("SELECT category, area_id, chat_id FROM area_bindings")
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def binding_places(self) -> dict[tuple[str, str], tuple[int, int | None]]:
        """Return every binding: (category, area_id) → (chat, its forum topic; None:
        General)."""
        rows = await self._all("SELECT category, area_id, chat_id, topic_id FROM area_bindings")
        return {(row[0], row[1]): (int(row[2]), int(row[3]) if row[3] is not None else None)
                for row in rows}

    async def unbind_chat(self, chat_id: int) -> list[tuple[str, str]]:
        """Remove every binding of a chat (the bot is no longer in it); return the
        (category, area_id) pairs it served."""
        rows = await self._all(
            "DELETE FROM area_bindings WHERE chat_id = ? RETURNING category, area_id",
            (chat_id,))
        return sorted((row[0], row[1]) for row in rows)
