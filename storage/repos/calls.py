"""Recruitment calls (招募令, loop 2): the call behind its `activities` row of kind 'call',
who it reaches in private, and how it ends. Its answers, cards, attendance and hours are the
activities' own rows (storage/repos/activities.py)."""

from __future__ import annotations

import json
from typing import Any

from storage.models import ACTIVITY_CANCELLED, ACTIVITY_CLOSED, ACTIVITY_OPEN, Call
from storage.repos.base import Aggregate

_FIELDS = ("area_id", "team_id", "title", "place", "latitude", "longitude", "starts_at",
           "ends_at", "capacity", "description", "language")


class CallsRepo(Aggregate):
    """Recruitment calls."""

    async def open(self, draft: str, admin_id: int, fields: dict[str, Any], district: bool,
                   areas: list[str], teams: list[str], silent: bool, now: float) -> int:
        """Store a call (its activity row, open for answers, and its own row); its id."""
        call_id = await self._inserted(
            f"INSERT INTO activities (kind, draft, organiser_id, leader_id, {', '.join(_FIELDS)}, "
            f"status, created_at, updated_at) VALUES ('call', ?, ?, ?, "
            f"{', '.join('?' * len(_FIELDS))}, ?, ?, ?)",
            (draft, admin_id, admin_id, *(fields[name] for name in _FIELDS), ACTIVITY_OPEN,
             now, now))
        self._write("INSERT INTO calls (activity_id, district, areas, teams, silent) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (call_id, int(district), json.dumps(areas), json.dumps(teams), int(silent)))
        return call_id

    async def call(self, call_id: int) -> Call | None:
        """A call's own row (None for an id that is no call)."""
        row = await self._one("SELECT * FROM calls WHERE activity_id = ?", (call_id,))
        return Call.from_row(row) if row is not None else None

    async def sent(self, call_id: int, roster_post: int, groups: int, people: int) -> None:
        """Record where the call went and the admin's roster message."""
        self._write("UPDATE calls SET roster_post = ?, groups = ?, people = ? "
                    "WHERE activity_id = ?", (roster_post, groups, people, call_id))

    async def mark_filled(self, call_id: int, now: float) -> bool:
        """Record that the number needed was reached; False if it had been before."""
        return await self._changed("UPDATE calls SET filled_at = ? WHERE activity_id = ? "
                                   "AND filled_at IS NULL", (now, call_id))

    async def end(self, call_id: int, outcome: str, by: int | None, reason: str | None,
                  now: float) -> bool:
        """Close ('closed', 'expired') or cancel an open call; False if it had ended."""
        status = ACTIVITY_CANCELLED if outcome == "cancelled" else ACTIVITY_CLOSED
        if not await self._changed(
                "UPDATE calls SET outcome = ?, ended_at = ?, ended_by = ? "
                "WHERE activity_id = ? AND outcome IS NULL", (outcome, now, by, call_id)):
            return False
        self._write(
            "UPDATE activities SET status = ?, updated_at = ?, closed_at = CASE WHEN ? = ? "
            "THEN ? ELSE closed_at END, cancelled_at = CASE WHEN ? = ? THEN ? "
            "ELSE cancelled_at END, cancelled_by = CASE WHEN ? = ? THEN ? ELSE cancelled_by "
            "END, cancel_reason = CASE WHEN ? = ? THEN ? ELSE cancel_reason END WHERE id = ?",
            (status, now, status, ACTIVITY_CLOSED, now, status, ACTIVITY_CANCELLED, now,
             status, ACTIVITY_CANCELLED, by, status, ACTIVITY_CANCELLED, reason, call_id))
        return True

    async def recipients(self, district: bool, area_ids: list[str], team_ids: list[str],
                         but: int) -> list[tuple[int, str]]:
        """Approved volunteers (user id, language) who opened the bot and have not blocked
        it, of these areas (by their own area or their team's) or these teams; everyone for
        the district. `but`: the admin sending it."""
        where, params = "", tuple[Any, ...]()
        if not district:
            areas = ",".join("?" * len(area_ids)) or "NULL"
            teams = ",".join("?" * len(team_ids)) or "NULL"
            where = (f"AND (v.area_id IN ({areas}) OR v.team_id IN (SELECT id FROM teams "
                     f"WHERE area_id IN ({areas})) OR v.team_id IN ({teams}))")
            params = (*area_ids, *area_ids, *team_ids)
        rows = await self._all(
            f"""
            SELECT v.user_id, u.language FROM volunteers v JOIN users u USING (user_id)
            WHERE v.status = 'approved' AND u.started = 1 AND u.blocked = 0
              AND v.user_id != ? {where}
            ORDER BY v.user_id
            """, (but, *params))
        return [(int(row[0]), row[1] or "") for row in rows]
