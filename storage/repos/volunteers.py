"""Volunteers, their teams and the service hours they are credited."""

from __future__ import annotations

from typing import Any

from storage.models import (
    CLOSED,
    Volunteer,
)
from storage.repos.base import Aggregate


class VolunteersRepo(Aggregate):
    """Volunteers, their teams and the service hours they are credited."""

    async def sync_team(
        self, team_id: str, area_id: str | None, name_zh: str, name_en: str,
        leader_id: int | None, now: float,
    ) -> None:
        """Create or update a team from the configured teams file."""
        self._write(
            """
            INSERT INTO teams (id, area_id, name_zh, name_en, leader_id, updated_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                area_id = excluded.area_id, name_zh = excluded.name_zh,
                name_en = excluded.name_en, leader_id = excluded.leader_id,
                updated_at = excluded.updated_at
            """,
            (team_id, area_id, name_zh, name_en, leader_id, now),
        )

    async def volunteer(self, user_id: int) -> Volunteer | None:
        """Return a person's registration, or None."""
        row = await self._one("SELECT * FROM volunteers WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        return Volunteer(row["user_id"], row["name"], row["phone"], row["area_id"],
                         row["team_id"], row["status"], row["reason"])

    async def apply(
        self, user_id: int, name: str, phone: str | None, area_id: str | None,
        team_id: str | None, now: float,
    ) -> None:
        """File (or, after a rejection, file again) a registration, pending approval."""
        self._write(
            """
            INSERT INTO volunteers (user_id, name, phone, area_id, team_id, status, applied_at)
            VALUES (?, ?, ?, ?, ?, 'pending', ?)
            ON CONFLICT (user_id) DO UPDATE SET
                name = excluded.name, phone = excluded.phone, area_id = excluded.area_id,
                team_id = excluded.team_id, status = 'pending', reason = NULL,
                decided_by = NULL, decided_at = NULL, applied_at = excluded.applied_at
            """,
            (user_id, name, phone, area_id, team_id, now),
        )

    async def decide(
        self, user_id: int, approve: bool, by: int, reason: str | None, now: float
    ) -> bool:
        """Approve or reject a pending registration; only the first decision counts."""
        return await self._changed(
            """
            UPDATE volunteers SET status = ?, reason = ?, decided_by = ?, decided_at = ?
            WHERE user_id = ? AND status = 'pending'
            """,
            ("approved" if approve else "rejected", reason, by, now, user_id),
        )

    async def record_hours(
        self, request_id: int, volunteer_id: int, hours: float, now: float
    ) -> None:
        """Note the hours a volunteer gave; they count once the request closes."""
        self._write(
            """
            INSERT INTO service_hours (request_id, volunteer_id, hours, status, recorded_at)
            VALUES (?, ?, ?, 'pending', ?)
            """,
            (request_id, volunteer_id, hours, now),
        )

    async def credit_hours(self, request_id: int, at: float) -> bool:
        """The request closed: its pending hours count now. Whether it had any."""
        return await self._rowcount(
            """
            UPDATE service_hours SET status = 'credited', credited_at = ?
            WHERE request_id = ? AND status = 'pending'
            """,
            (at, request_id),
        ) > 0

    async def withdraw_hours(self, request_id: int, now: float) -> None:
        """The request was reopened: hours not yet credited do not count."""
        self._write(
            """
            UPDATE service_hours SET status = 'withdrawn', withdrawn_at = ?
            WHERE request_id = ? AND status = 'pending'
            """,
            (now, request_id),
        )

    async def hours_of(self, user_ids: list[int], since: float) -> dict[int, tuple[float, float]]:
        """Credited hours per volunteer: (all time, since `since`)."""
        if not user_ids:
            return {}
        rows = await self._all(
            f"""
            SELECT volunteer_id, SUM(hours),
                   SUM(CASE WHEN credited_at >= ? THEN hours ELSE 0 END)
            FROM service_hours
            WHERE status = 'credited' AND volunteer_id IN ({','.join('?' * len(user_ids))})
            GROUP BY volunteer_id
            """,
            (since, *user_ids),
        )
        return {int(row[0]): (float(row[1]), float(row[2])) for row in rows}

    async def team_members(self, team_id: str) -> list[Volunteer]:
        """Return a team's approved volunteers, by name."""
        rows = await self._all(
            "SELECT * FROM volunteers WHERE team_id = ? AND status = 'approved' ORDER BY name",
            (team_id,),
        )
        return [Volunteer(r["user_id"], r["name"], r["phone"], r["area_id"], r["team_id"],
                          r["status"], r["reason"]) for r in rows]

    async def team_ranking(self, start: float, end: float, limit: int) -> list[tuple[str, float]]:
        """Teams by hours credited in [start, end), most first."""
        rows = await self._all(
            """
            SELECT v.team_id, SUM(h.hours) FROM service_hours h
            JOIN volunteers v ON v.user_id = h.volunteer_id
            WHERE h.status = 'credited' AND h.credited_at >= ? AND h.credited_at < ?
                  AND v.team_id IS NOT NULL
            GROUP BY v.team_id ORDER BY 2 DESC, 1 LIMIT ?
            """,
            (start, end, limit),
        )
        return [(str(row[0]), float(row[1])) for row in rows]

    async def station_ranking(self, start: float, end: float, limit: int) -> list[tuple[str, int]]:
        """Areas by requests closed in [start, end), most first."""
        rows = await self._all(
            """
            SELECT area_id, COUNT(*) FROM requests
            WHERE status = ? AND closed_at >= ? AND closed_at < ? AND area_id IS NOT NULL
            GROUP BY area_id ORDER BY 2 DESC, 1 LIMIT ?
            """,
            (CLOSED, start, end, limit),
        )
        return [(str(row[0]), int(row[1])) for row in rows]

    async def volunteer_rows(self) -> list[tuple[Any, ...]]:
        """Every registration with its credited hours, for export."""
        rows = await self._all(
            """
            SELECT v.user_id, v.name, v.phone, v.area_id, v.team_id, v.status,
                   COALESCE(SUM(CASE WHEN h.status = 'credited' THEN h.hours END), 0)
            FROM volunteers v LEFT JOIN service_hours h ON h.volunteer_id = v.user_id
            GROUP BY v.user_id ORDER BY v.team_id, v.name
            """
        )
        return [tuple(row) for row in rows]

    async def volunteers_in(self, area_ids: list[str] | None) -> list[tuple[int, str]]:
        """Approved volunteers (user id, language) of these areas, by their own area or their
        team's (None = everywhere)."""
        where, params = "", tuple[Any, ...]()
        if area_ids is not None:  # their own area, or their team's
            marks = ",".join("?" * len(area_ids))
            where = (f"AND (v.area_id IN ({marks}) "
                     f"OR v.team_id IN (SELECT id FROM teams WHERE area_id IN ({marks})))")
            params = tuple(area_ids) * 2
        rows = await self._all(
            f"""
            SELECT v.user_id, u.language FROM volunteers v JOIN users u USING (user_id)
            WHERE v.status = 'approved' AND u.blocked = 0 {where} ORDER BY v.user_id
            """,
            params,
        )
        return [(int(row[0]), row[1] or "") for row in rows]

    async def withdraw_all_hours(self, request_id: int, now: float) -> int:
        """An admin undid the request's outcome: its hours, pending or credited, no longer
        count. Returns how many records were withdrawn."""
        return await self._rowcount(
            """
            UPDATE service_hours SET status = 'withdrawn', withdrawn_at = ?
            WHERE request_id = ? AND status IN ('pending', 'credited')
            """,
            (now, request_id),
        )

    async def volunteer_rows_in(self, area_ids: list[str]) -> list[tuple[Any, ...]]:
        """The volunteers living in these areas with their credited hours (as volunteer_rows),
        for an area admin's export."""
        if not area_ids:
            return []
        rows = await self._all(
            f"""
            SELECT v.user_id, v.name, v.phone, v.area_id, v.team_id, v.status,
                   COALESCE(SUM(CASE WHEN h.status = 'credited' THEN h.hours END), 0)
            FROM volunteers v LEFT JOIN service_hours h ON h.volunteer_id = v.user_id
            WHERE v.area_id IN ({','.join('?' * len(area_ids))})
            GROUP BY v.user_id ORDER BY v.team_id, v.name
            """,
            tuple(area_ids),
        )
        return [tuple(row) for row in rows]
