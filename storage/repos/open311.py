"""What the Open311 API reads and writes: its clients' pseudo users, and requests as published.

A client's requests are ordinary requests (storage/repos/requests.py) owned by its pseudo user;
the channel and the client's media_url ride on the request's `open311` timeline event, so no
column is added for the few requests that come this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.models import CANCELLED, CLOSED, OPEN_STATUSES, Request
from storage.repos.base import Aggregate

OPEN311_EVENT = "open311"  # the timeline entry of a request filed through the API
CLOSED_STATUSES = (CLOSED, CANCELLED)

_PUBLISHED_SQL = f"""
    SELECT r.*,
           (SELECT json_extract(e.detail, '$.media_url') FROM events e
            WHERE e.request_id = r.id AND e.kind = '{OPEN311_EVENT}'
            ORDER BY e.id LIMIT 1) AS media_url,
           EXISTS (SELECT 1 FROM events e
                   WHERE e.request_id = r.id AND e.kind = '{OPEN311_EVENT}') AS via_api,
           (SELECT MIN(t.due_at) FROM timers t
            WHERE t.request_id = r.id AND t.kind = 'volunteer_due'
              AND t.done_at IS NULL) AS expected_at
    FROM requests r
"""


@dataclass(frozen=True)
class Published:
    """A request with what the API adds to it: the client's media link and the due time."""

    request: Request
    media_url: str | None
    expected_at: float | None  # the claimer's due time while claimed
    via_api: bool = False  # filed by a client of the API, not by a citizen in Telegram


class Open311Repo(Aggregate):
    """The Open311 API's clients and its view of requests."""

    async def client_user(self, user_id: int, name: str, now: float) -> None:
        """Make sure a client's pseudo user exists (it never started the bot: nobody writes
        to it), named as the config names the client."""
        self._session.news[user_id] = None
        self._write(
            """
            INSERT INTO users (user_id, first_name, started, created_at, updated_at)
            VALUES (?, ?, 0, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name
            """,
            (user_id, name, now, now))

    async def by_refs(self, refs: list[str]) -> list[Published]:
        """The requests with these references, newest first (unknown ones left out)."""
        marks = ", ".join("?" * len(refs))
        rows = await self._all(
            f"{_PUBLISHED_SQL} WHERE r.ref IN ({marks}) ORDER BY r.created_at DESC, r.id DESC",
            tuple(refs))
        return [_published(row) for row in rows]

    async def search(
        self, *, categories: list[str], since: float, until: float, open_: bool | None,
        limit: int,
    ) -> list[Published]:
        """Requests made in [since, until], newest first, at most `limit`: of these categories
        (all if empty), open or closed (either if None)."""
        where = ["r.created_at >= ?", "r.created_at <= ?"]
        params: list[Any] = [since, until]
        if categories:
            where.append(f"r.category IN ({', '.join('?' * len(categories))})")
            params += categories
        if open_ is not None:
            statuses = OPEN_STATUSES if open_ else CLOSED_STATUSES
            where.append(f"r.status IN ({', '.join('?' * len(statuses))})")
            params += statuses
        rows = await self._all(
            f"{_PUBLISHED_SQL} WHERE {' AND '.join(where)} "
            "ORDER BY r.created_at DESC, r.id DESC LIMIT ?", (*params, limit))
        return [_published(row) for row in rows]


def _published(row: Any) -> Published:
    return Published(Request.from_row(row), row["media_url"], row["expected_at"],
                     bool(row["via_api"]))
