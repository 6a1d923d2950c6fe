"""Reads for reports, off the event loop: read-only connections of their own.

The /stats chart and /export read a period of requests that may be a year long. They do not
take a turn at the bot's connection (Database's lock would keep every update waiting, and
the engine's thread is the bot's one road to the database): each read opens its own read-only
connection to the file the Database opened, in the worker thread that calls it. WAL lets the
bot keep writing meanwhile, and each read sees one consistent snapshot however long it takes.

`Database.snapshot_reader()` hands one out; reports never learn the file's path. The SQL is
in storage/stats.py and storage/export.py."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage.export import CHUNK, stream_rows
from storage.stats import Cohort, chart_rows


class SnapshotReader:
    """Read-only reads of one database file, each on a connection of its own. Its methods
    block: call them in a worker thread (asyncio.to_thread), never on the event loop. Making
    one opens nothing, so it may be made anywhere and handed to a thread."""

    def __init__(self, path: str | Path) -> None:
        # Made absolute now (no I/O): a later change of directory does not move the file.
        self._uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self._uri, uri=True)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            yield conn
        finally:
            conn.close()

    def chart_rows(
        self, start: float, end: float, area_ids: list[str] | None, shift: int,
    ) -> tuple[Cohort, list[tuple[int, int, int, int]]]:
        """The chart's cohort and its series by hour (see storage.stats.chart_rows)."""
        with self._connect() as conn:
            return chart_rows(conn, start, end, area_ids, shift)

    def stream_rows(
        self, start: float, end: float, area_ids: list[str] | None, chunk: int = CHUNK,
    ) -> Iterator[tuple[Any, ...]]:
        """Yield the export's rows, `chunk` fetched at a time (see storage.export.stream_rows);
        the connection closes when the rows run out or the iterator is closed."""
        with self._connect() as conn:
            yield from stream_rows(conn, start, end, area_ids, chunk)
