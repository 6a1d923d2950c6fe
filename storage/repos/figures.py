"""Counts for /stats, exports, health and benchmarks, over the live connection."""

from __future__ import annotations

from storage.export import count_sql
from storage.repos.base import Aggregate


class FiguresRepo(Aggregate):
    """Counts for /stats, exports, health and benchmarks, over the live connection."""

    async def journal_mode(self) -> str:
        """Return SQLite's journal mode for this connection ('wal' once opened)."""
        row = await self._one("PRAGMA journal_mode")
        return str(row[0])

    async def status_counts(self, area_ids: list[str] | None = None) -> dict[str, int]:
        """Count requests by status, optionally in some areas only."""
        if area_ids is None:
            rows = await self._all("SELECT status, COUNT(*) FROM requests GROUP BY status")
        else:
            marks = ", ".join("?" * len(area_ids))
            rows = await self._all(
                f"SELECT status, COUNT(*) FROM requests WHERE area_id IN ({marks}) "
                f"GROUP BY status", tuple(area_ids))
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

    async def database_bytes(self) -> int:
        """The size of the database file(s) in bytes, as SQLite counts pages."""
        count = await self._one("PRAGMA page_count")
        size = await self._one("PRAGMA page_size")
        return int(count[0]) * int(size[0])

    async def first_event_at(self) -> float | None:
        """Return when the first request event happened, or None on a fresh database."""
        row = await self._one("SELECT MIN(at) FROM events")
        return None if row is None or row[0] is None else float(row[0])

    async def event_counts(
        self, start: float, end: float, area_ids: list[str] | None = None
    ) -> dict[str, int]:
        """Count timeline events by kind in [start, end), optionally of requests in some
        areas only."""
        if area_ids is None:
            rows = await self._all(
                "SELECT kind, COUNT(*) FROM events WHERE at >= ? AND at < ? GROUP BY kind",
                (start, end),
            )
        else:
            marks = ", ".join("?" * len(area_ids))
            rows = await self._all(
                f"SELECT e.kind, COUNT(*) FROM events e JOIN requests r ON r.id = e.request_id "
                f"WHERE e.at >= ? AND e.at < ? AND r.area_id IN ({marks}) GROUP BY e.kind",
                (start, end, *area_ids),
            )
        return {str(row[0]): int(row[1]) for row in rows}

    async def export_count(self, start: float, end: float, area_ids: list[str] | None) -> int:
        """How many requests an export of [start, end) in these areas (None: all) holds."""
        sql, params = count_sql(start, end, area_ids)
        row = await self._one(sql, params)
        return int(row[0])
