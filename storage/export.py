"""The SQL of /export: which requests an export holds, and their rows, read in chunks.

The rows are read on a connection of their own, opened read-only in a worker thread: the bot
keeps writing on its connection meanwhile (WAL lets one writer and many readers work at once),
and the one SELECT reads one consistent snapshot however long the export takes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

CHUNK = 1000  # rows fetched at a time: memory stays the same for ten rows or a million

# Requests created in [start, end) in the given areas (None: everywhere, with or without an
# area). The unary + keeps SQLite from using the area index, so it walks requests_by_created
# in order instead of gathering the areas' rows and sorting them.
_COHORT = "r.created_at >= ? AND r.created_at < ?"

# One row per request, in the order of the columns of bot/reports/export.py.
_ROWS = """
    SELECT r.ref, r.category, r.area_id, r.status, r.closed_how, r.cancelled_by,
           COALESCE(v.name, r.volunteer_name), r.volunteer_id, t.name_zh, t.name_en,
           r.rating, r.reopen_count,
           CASE WHEN r.on_behalf = 1 THEN 'neighbour_' || COALESCE(r.confirmed_via, 'filed') END,
           r.created_at, r.dispatched_at, r.first_claimed_at, r.first_done_at, r.confirmed_at,
           CASE WHEN r.status = 'closed' THEN r.closed_at END, r.cancelled_at
    FROM requests r
    LEFT JOIN volunteers v ON v.user_id = r.volunteer_id
    LEFT JOIN teams t ON t.id = v.team_id
    WHERE {where}
    ORDER BY r.created_at, r.id
"""


def cohort(start: float, end: float, area_ids: list[str] | None) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (on `requests r`) and its parameters for an export's requests."""
    if area_ids is None:
        return _COHORT, (start, end)
    marks = ",".join("?" * len(area_ids)) or "NULL"  # no areas: nothing matches
    return f"{_COHORT} AND +r.area_id IN ({marks})", (start, end, *area_ids)


def count_sql(start: float, end: float, area_ids: list[str] | None) -> tuple[str, tuple[Any, ...]]:
    """SQL counting the requests an export will hold."""
    where, params = cohort(start, end, area_ids)
    return f"SELECT COUNT(*) FROM requests r WHERE {where}", params


def stream_rows(
    conn: sqlite3.Connection, start: float, end: float, area_ids: list[str] | None,
    chunk: int = CHUNK,
) -> Iterator[tuple[Any, ...]]:
    """Yield the export's rows (see _ROWS) from `conn`, a read-only connection of its own
    (storage.snapshot.SnapshotReader, in a worker thread), `chunk` rows fetched at a time."""
    where, params = cohort(start, end, area_ids)
    cursor = conn.execute(_ROWS.format(where=where), params)
    try:
        while rows := cursor.fetchmany(chunk):
            yield from rows
    finally:
        cursor.close()
