"""Citizen requests: reference numbers, the guarded moves between states, the timeline."""

from __future__ import annotations

import json
from typing import Any

from storage.grid import cell as grid_cell
from storage.grid import cells_around, distance
from storage.models import (
    CANCELLED,
    CLAIMED,
    CLOSED,
    DISPATCHED,
    DONE,
    OPEN_STATUSES,
    Event,
    Request,
)
from storage.repos.base import Aggregate

# A request that reached a volunteer may be cancelled by its citizen until the work is done.
_CANCELLABLE = (DISPATCHED, CLAIMED)
# A neighbour may join a request while it waits for, or is in the hands of, a volunteer: a
# 'done' one waits only for its citizen's word, and a neighbour who still sees the problem
# has news for a fresh request, not a follow (docs/decisions.md, "The duplicate check").
JOINABLE = (DISPATCHED, CLAIMED)


class RequestsRepo(Aggregate):
    """Citizen requests: reference numbers, the guarded moves between states, the timeline."""

    async def next_ref(self, year: int) -> str:
        """Allocate the next reference number of the year, e.g. 2026-000123."""
        row = await self._one(
            """
            INSERT INTO ref_counters (year, last) VALUES (?, 1)
            ON CONFLICT (year) DO UPDATE SET last = last + 1
            RETURNING last
            """,
            (year,),
        )
        return f"{year}-{int(row[0]):06d}"

    async def insert_request(
        self,
        *,
        ref: str,
        citizen_id: int,
        language: str,
        category: str,
        description: str,
        photos: list[str],
        voice_file_id: str | None,
        latitude: float | None,
        longitude: float | None,
        address: str | None,
        phone: str | None,
        dispatch_chat_id: int | None,
        now: float,
    ) -> int:
        """Store a confirmed request as dispatched and return its id."""
        cell = (grid_cell(latitude, longitude)
                if latitude is not None and longitude is not None else None)
        row = await self._one(
            """
            INSERT INTO requests (ref, citizen_id, language, category, description, photos,
                                  voice_file_id, latitude, longitude, cell, address, phone,
                                  status, dispatch_chat_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """,
            (
                ref, citizen_id, language, category, description, json.dumps(photos),
                voice_file_id, latitude, longitude, cell, address, phone, DISPATCHED,
                dispatch_chat_id, now, now,
            ),
        )
        return int(row[0])

    async def request(self, request_id: int) -> Request | None:
        """Return the request with this id, or None."""
        row = await self._one("SELECT * FROM requests WHERE id = ?", (request_id,))
        return Request.from_row(row) if row else None

    async def request_by_ref(self, ref: str) -> Request | None:
        """Return the request with this reference number, or None."""
        row = await self._one("SELECT * FROM requests WHERE ref = ?", (ref,))
        return Request.from_row(row) if row else None

    async def citizen_requests(self, citizen_id: int, limit: int) -> list[Request]:
        """Return a citizen's requests, newest first."""
        rows = await self._all(
            "SELECT * FROM requests WHERE citizen_id = ? ORDER BY id DESC LIMIT ?",
            (citizen_id, limit),
        )
        return [Request.from_row(row) for row in rows]

    async def recent_addresses(self, citizen_id: int, limit: int) -> list[str]:
        """The addresses a citizen typed for their own requests, the latest first (none of a
        neighbour's: those are kept in for_address, and retention empties old ones)."""
        rows = await self._all(
            "SELECT address FROM requests WHERE citizen_id = ? AND on_behalf = 0 "
            "AND address IS NOT NULL AND address <> '' "
            "GROUP BY address ORDER BY MAX(id) DESC LIMIT ?",
            (citizen_id, limit),
        )
        return [str(row[0]) for row in rows]

    async def open_refs(self, citizen_id: int) -> list[str]:
        """The reference numbers of a citizen's requests not yet closed or cancelled."""
        rows = await self._all(
            f"SELECT ref FROM requests WHERE citizen_id = ? "
            f"AND status IN ({','.join('?' * len(OPEN_STATUSES))}) ORDER BY id",
            (citizen_id, *OPEN_STATUSES),
        )
        return [row[0] for row in rows]

    async def volunteer_tasks(self, volunteer_id: int) -> list[Request]:
        """Return the requests a volunteer has claimed and not yet finished, oldest first."""
        rows = await self._all(
            "SELECT * FROM requests WHERE volunteer_id = ? AND status = ? ORDER BY id",
            (volunteer_id, CLAIMED),
        )
        return [Request.from_row(row) for row in rows]

    async def claim(
        self, request_id: int, volunteer_id: int, name: str, now: float
    ) -> Request | None:
        """Give a dispatched request to a volunteer; exactly one concurrent caller wins and
        gets the request as claimed, the others None."""
        row = await self._one(
            """
            UPDATE requests SET status = ?, volunteer_id = ?, volunteer_name = ?,
                                claimed_at = ?, updated_at = ?, extended = 0
            WHERE id = ? AND status = ?
            RETURNING *
            """,
            (CLAIMED, volunteer_id, name, now, now, request_id, DISPATCHED),
        )
        return Request.from_row(row) if row is not None else None

    async def claimed_through(self, volunteer_id: int, chat_id: int) -> list[int]:
        """The requests a volunteer holds whose current card is in a chat (the group they
        claimed them in), by id."""
        rows = await self._all(
            """
            SELECT DISTINCT r.id FROM requests r JOIN cards c ON c.request_id = r.id
            WHERE r.status = ? AND r.volunteer_id = ? AND c.chat_id = ? AND c.retired = 0
            ORDER BY r.id
            """, (CLAIMED, volunteer_id, chat_id))
        return [int(row[0]) for row in rows]

    async def release(self, request_id: int, volunteer_id: int, now: float) -> bool:
        """Put a claimed request back up for claiming, if this volunteer holds it."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = NULL, volunteer_name = NULL,
                                claimed_at = NULL, updated_at = ?
            WHERE id = ? AND status = ? AND volunteer_id = ?
            """,
            (DISPATCHED, now, request_id, CLAIMED, volunteer_id),
        )

    async def complete(
        self, request_id: int, volunteer_id: int, note: str | None, photo: str | None, now: float
    ) -> bool:
        """Mark a claimed request done by its volunteer."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, done_note = ?, done_photo = ?, done_at = ?,
                                updated_at = ?
            WHERE id = ? AND status = ? AND volunteer_id = ?
            """,
            (DONE, note, photo, now, now, request_id, CLAIMED, volunteer_id),
        )

    async def confirm(self, request_id: int, citizen_id: int, now: float) -> bool:
        """Close a done request on its citizen's word that it is resolved."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, closed_how = 'confirmed', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND status = ? AND citizen_id = ?
            """,
            (CLOSED, now, now, request_id, DONE, citizen_id),
        )

    async def set_neighbour(
        self, request_id: int, name: str, phone: str, address: str, helper_phone: str | None
    ) -> None:
        """Mark a request as filed for a neighbour: their name, phone and address (the phone
        where the claimer's details look for one), and the helper's own number if given."""
        self._write(
            "UPDATE requests SET on_behalf = 1, for_name = ?, phone = ?, for_address = ?, "
            "helper_phone = ? WHERE id = ?",
            (name, phone, address, helper_phone, request_id),
        )

    async def confirm_for_neighbour(
        self, request_id: int, helper_id: int, via: str, now: float
    ) -> bool:
        """Close a done request filed for a neighbour on the neighbour's word, which its
        helper obtained `via` 'phone' or 'in_person'."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, closed_how = 'confirmed', closed_at = ?,
                                updated_at = ?, confirmed_via = ?
            WHERE id = ? AND status = ? AND citizen_id = ? AND on_behalf = 1
            """,
            (CLOSED, now, now, via, request_id, DONE, helper_id),
        )

    async def reopen(self, request_id: int, citizen_id: int, now: float) -> bool:
        """Send a done request back to dispatch because its citizen says it is not resolved."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = NULL, volunteer_name = NULL,
                                claimed_at = NULL, done_at = NULL, done_note = NULL,
                                done_photo = NULL, reopen_count = reopen_count + 1,
                                escalation_level = 0, overdue_since = NULL,
                                updated_at = ?
            WHERE id = ? AND status = ? AND citizen_id = ?
            """,
            (DISPATCHED, now, request_id, DONE, citizen_id),
        )

    async def cancel_by_citizen(self, request_id: int, citizen_id: int, now: float) -> bool:
        """Cancel a request its citizen no longer needs, if no work was finished on it."""
        return await self._changed(
            f"""
            UPDATE requests SET status = ?, cancelled_by = 'citizen', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND citizen_id = ? AND status IN ({",".join("?" * len(_CANCELLABLE))})
            """,
            (CANCELLED, now, now, request_id, citizen_id, *_CANCELLABLE),
        )

    async def rate(self, request_id: int, citizen_id: int, stars: int, now: float) -> bool:
        """Store the citizen's stars for a closed request, or for one handed to supervision
        whose problem passed its re-check, once."""
        return await self._changed(
            """
            UPDATE requests SET rating = ?, updated_at = ?
            WHERE id = ? AND citizen_id = ? AND rating IS NULL
              AND (status = ? OR (status = ? AND cancelled_by = 'supervision' AND EXISTS (
                   SELECT 1 FROM problems p WHERE p.request_id = requests.id
                   AND p.status = 'passed')))
            """,
            (stars, now, request_id, citizen_id, CLOSED, CANCELLED),
        )

    async def hand_over(self, request_id: int, now: float) -> bool:
        """An open request leaves the volunteers for supervision (an admin's /toproblem): it
        is 'cancelled' by 'supervision', counted apart; False if it was not open."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, cancelled_by = 'supervision', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND status IN (?, ?)
            """,
            (CANCELLED, now, now, request_id, DISPATCHED, CLAIMED),
        )

    async def add_comment(self, request_id: int, citizen_id: int, text: str, now: float) -> bool:
        """Store the citizen's comment on a rated request, once."""
        return await self._changed(
            """
            UPDATE requests SET comment = ?, updated_at = ?
            WHERE id = ? AND citizen_id = ? AND rating IS NOT NULL AND comment IS NULL
            """,
            (text, now, request_id, citizen_id),
        )

    async def add_event(
        self,
        request_id: int,
        kind: str,
        actor_id: int | None,
        now: float,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an entry to a request's timeline."""
        self._write(
            "INSERT INTO events (request_id, at, kind, actor_id, detail) VALUES (?, ?, ?, ?, ?)",
            (request_id, now, kind, actor_id, json.dumps(detail) if detail else None),
        )

    async def events(self, request_id: int) -> list[Event]:
        """Return a request's timeline, oldest first."""
        rows = await self._all(
            "SELECT * FROM events WHERE request_id = ? ORDER BY id", (request_id,)
        )
        return [
            Event(
                request_id=row["request_id"],
                at=row["at"],
                kind=row["kind"],
                actor_id=row["actor_id"],
                detail=json.loads(row["detail"]) if row["detail"] else None,
            )
            for row in rows
        ]

    async def set_overdue(self, request_id: int, since: float | None) -> None:
        """Mark (or clear) a request as having waited past its policy."""
        self._write(
            "UPDATE requests SET overdue_since = ? WHERE id = ?", (since, request_id)
        )

    async def escalate(self, request_id: int, now: float) -> bool:
        """Raise a waiting request's escalation level."""
        return await self._changed(
            """
            UPDATE requests SET escalation_level = escalation_level + 1, updated_at = ?
            WHERE id = ? AND status = ?
            """,
            (now, request_id, DISPATCHED),
        )

    async def extend(self, request_id: int, volunteer_id: int, now: float) -> bool:
        """Grant a volunteer more time on a claimed request, once."""
        return await self._changed(
            """
            UPDATE requests SET extended = 1, updated_at = ?
            WHERE id = ? AND status = ? AND volunteer_id = ? AND extended = 0
            """,
            (now, request_id, CLAIMED, volunteer_id),
        )

    async def auto_close(self, request_id: int, now: float) -> bool:
        """Close a done request its citizen never answered."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, closed_how = 'unconfirmed', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND status = ?
            """,
            (CLOSED, now, now, request_id, DONE),
        )

    async def bulk_requests(self, rows: list[dict[str, Any]]) -> None:
        """Store many finished or open requests with their timelines in one hop each.

        Each row has the `requests` columns it sets plus `events`: (kind, at, actor_id).
        """
        columns = ("ref", "citizen_id", "language", "category", "description", "address",
                   "phone", "status", "area_id", "volunteer_id", "volunteer_name",
                   "closed_how", "cancelled_by", "rating", "created_at", "updated_at",
                   "claimed_at", "done_at", "closed_at", "latitude", "longitude", "cell")
        for row in rows:
            if row.get("latitude") is not None and row.get("longitude") is not None:
                row["cell"] = grid_cell(row["latitude"], row["longitude"])
        self._write_many(
            f"INSERT INTO requests ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            [tuple(row.get(c) for c in columns) for row in rows],
        )
        refs = [row["ref"] for row in rows]
        ids: dict[str, int] = {}
        for start in range(0, len(refs), 500):
            part = refs[start:start + 500]
            found = await self._all(
                f"SELECT ref, id FROM requests WHERE ref IN ({','.join('?' * len(part))})",
                tuple(part),
            )
            ids.update({str(r[0]): int(r[1]) for r in found})
        self._write_many(
            "INSERT INTO events (request_id, at, kind, actor_id) VALUES (?, ?, ?, ?)",
            [(ids[row["ref"]], at, kind, actor)
             for row in rows for kind, at, actor in row["events"]],
        )

    async def overdue_requests(self) -> list[Request]:
        """Return open requests that waited past their policy, oldest first."""
        rows = await self._all(
            """
            SELECT * FROM requests
            WHERE overdue_since IS NOT NULL AND status IN (?, ?) ORDER BY overdue_since
            """,
            (DISPATCHED, CLAIMED),
        )
        return [Request.from_row(row) for row in rows]

    async def set_dispatch(self, request_id: int, chat_id: int, level: str) -> None:
        """Record which chat (and tree level) a request's card went to."""
        self._write(
            "UPDATE requests SET dispatch_chat_id = ?, dispatch_area_id = ? WHERE id = ?",
            (chat_id, level, request_id),
        )

    async def keep_phone_private(self, request_id: int) -> None:
        """The citizen chose that the claimer sees no phone: they talk through the bot."""
        self._write("UPDATE requests SET share_phone = 0 WHERE id = ?", (request_id,))

    async def set_area(self, request_id: int, area_id: str | None) -> None:
        """Record where a request is."""
        self._write(
            "UPDATE requests SET area_id = ? WHERE id = ?", (area_id, request_id)
        )

    async def intake_standing(self, user_id: int, since: float) -> tuple[bool, bool, int, int]:
        """Return (is an area admin, is banned, open requests, requests created since
        `since`) of a user, in one trip: what decides whether they may file one now. The
        requests they filed for neighbours are not theirs to count."""
        row = await self._one(
            """
            SELECT
                EXISTS (SELECT 1 FROM admin_grants
                        WHERE user_id = :user AND revoked_at IS NULL),
                EXISTS (SELECT 1 FROM bans WHERE user_id = :user AND lifted_at IS NULL),
                (SELECT COALESCE(SUM(status IN (:dispatched, :claimed, :done)), 0)
                 FROM requests WHERE citizen_id = :user AND on_behalf = 0),
                (SELECT COALESCE(SUM(created_at >= :since), 0)
                 FROM requests WHERE citizen_id = :user AND on_behalf = 0)
            """,
            {"user": user_id, "since": since, "dispatched": DISPATCHED, "claimed": CLAIMED,
             "done": DONE},
        )
        return bool(row[0]), bool(row[1]), int(row[2]), int(row[3])

    async def first_since(self, user_id: int, since: float) -> float | None:
        """When the user's first request created since `since` was created (None: none was);
        requests filed for neighbours are not theirs, as in intake_standing."""
        row = await self._one(
            "SELECT MIN(created_at) FROM requests WHERE citizen_id = ? AND on_behalf = 0 "
            "AND created_at >= ?", (user_id, since))
        return None if row is None or row[0] is None else float(row[0])

    async def assign(self, request_id: int, volunteer_id: int, name: str, now: float) -> bool:
        """Give a waiting or claimed request to a volunteer an admin chose."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = ?, volunteer_name = ?,
                                claimed_at = ?, updated_at = ?, extended = 0
            WHERE id = ? AND status IN (?, ?)
            """,
            (CLAIMED, volunteer_id, name, now, now, request_id, DISPATCHED, CLAIMED),
        )

    async def cancel_by_admin(self, request_id: int, now: float) -> bool:
        """Cancel an open request on an admin's word."""
        return await self._changed(
            """
            UPDATE requests SET status = ?, cancelled_by = 'admin', closed_at = ?,
                                updated_at = ?
            WHERE id = ? AND status IN (?, ?, ?)
            """,
            (CANCELLED, now, now, request_id, DISPATCHED, CLAIMED, DONE),
        )

    async def reopen_by_admin(self, request_id: int, now: float) -> bool:
        """Put a done, closed or cancelled request back to dispatch as if new: no volunteer,
        no closure, no rating, nor the ratings of neighbours who joined it (the timeline
        keeps what was): they are asked again when it closes again."""
        reopened = await self._changed(
            """
            UPDATE requests SET status = ?, volunteer_id = NULL, volunteer_name = NULL,
                                claimed_at = NULL, done_at = NULL, done_note = NULL,
                                done_photo = NULL, closed_how = NULL, cancelled_by = NULL,
                                closed_at = NULL, rating = NULL, comment = NULL, extended = 0,
                                confirmed_via = NULL,
                                reopen_count = reopen_count + 1, escalation_level = 0,
                                overdue_since = NULL, updated_at = ?
            WHERE id = ? AND status IN (?, ?, ?)
            """,
            (DISPATCHED, now, request_id, DONE, CLOSED, CANCELLED),
        )
        if reopened:
            self._write("UPDATE request_followers SET rating = NULL, rated_at = NULL "
                        "WHERE request_id = ? AND rating IS NOT NULL", (request_id,))
        return reopened

    async def move(self, request_id: int, category: str, area_id: str | None,
                   now: float) -> bool:
        """Give a waiting or claimed request another category or area, back to dispatch
        (any volunteer released) with its escalation started over."""
        return await self._changed(
            """
            UPDATE requests SET category = ?, area_id = ?, status = ?, volunteer_id = NULL,
                                volunteer_name = NULL, claimed_at = NULL, extended = 0,
                                escalation_level = 0, overdue_since = NULL, updated_at = ?
            WHERE id = ? AND status IN (?, ?)
            """,
            (category, area_id, DISPATCHED, now, request_id, DISPATCHED, CLAIMED),
        )

    async def request_refs(self) -> list[str]:
        """Every request's reference number (duplicates kept, to be counted)."""
        return [row[0] for row in await self._all("SELECT ref FROM requests")]

    # -- the duplicate check (issue 18.1) ---------------------------------------------------

    async def nearby(
        self, category: str, latitude: float, longitude: float, metres: float, since: float,
        user_id: int, limit: int,
    ) -> list[tuple[Request, float]]:
        """The open requests of a category within `metres` of a point, created since `since`,
        that `user_id` neither filed nor follows: the nearest `limit`, with their distances.

        The grid cells around the point (storage/grid.py) and the index requests_nearby
        (migration 020) make it a few index seeks, whatever the table's size."""
        cells = cells_around(latitude, longitude, metres)
        rows = await self._all(
            f"""
            SELECT * FROM requests INDEXED BY requests_nearby
            WHERE category = ? AND status IN ({",".join("?" * len(JOINABLE))})
              AND cell IN ({",".join("?" * len(cells))}) AND created_at >= ?
              AND citizen_id != ?
              AND NOT EXISTS (SELECT 1 FROM request_followers f
                              WHERE f.request_id = requests.id AND f.user_id = ?)
            """,
            (category, *JOINABLE, *cells, since, user_id, user_id),
        )
        found = []
        for row in rows:
            request = Request.from_row(row)
            assert request.latitude is not None and request.longitude is not None
            metres_away = distance(latitude, longitude, request.latitude,
                                        request.longitude)
            if metres_away <= metres:
                found.append((request, metres_away))
        found.sort(key=lambda pair: (pair[1], -pair[0].created_at))
        return found[:limit]

    async def follow(self, request_id: int, user_id: int, language: str, now: float) -> bool:
        """Make a neighbour a follower of an open request not theirs, once (their news in
        `language`); False if it is no longer open, is theirs, or they follow it already."""
        added = await self._changed(
            f"""
            INSERT INTO request_followers (request_id, user_id, language, joined_at)
            SELECT id, ?, ?, ? FROM requests
            WHERE id = ? AND status IN ({",".join("?" * len(JOINABLE))}) AND citizen_id != ?
            ON CONFLICT (request_id, user_id) DO NOTHING
            """,
            (user_id, language, now, request_id, *JOINABLE, user_id),
        )
        if added:
            self._write("UPDATE requests SET followers = followers + 1 WHERE id = ?",
                        (request_id,))
        return added

    async def follows(self, request_id: int, user_id: int) -> bool:
        """Whether a person follows a request."""
        row = await self._one(
            "SELECT 1 FROM request_followers WHERE request_id = ? AND user_id = ?",
            (request_id, user_id))
        return row is not None

    async def followers(self, request_id: int) -> list[tuple[int, str]]:
        """The followers of a request and the language each joined in, in the order they
        joined."""
        rows = await self._all(
            "SELECT user_id, language FROM request_followers WHERE request_id = ? "
            "ORDER BY joined_at, user_id", (request_id,))
        return [(int(row[0]), str(row[1])) for row in rows]

    async def rate_as_follower(self, request_id: int, user_id: int, stars: int,
                               now: float) -> bool:
        """Store a follower's own stars for a closed request, once (the citizen's rating is
        the request's; a follower's stays on their row)."""
        return await self._changed(
            """
            UPDATE request_followers SET rating = ?, rated_at = ?
            WHERE request_id = ? AND user_id = ? AND rating IS NULL
              AND EXISTS (SELECT 1 FROM requests WHERE id = ? AND status = ?)
            """,
            (stars, now, request_id, user_id, request_id, CLOSED),
        )
