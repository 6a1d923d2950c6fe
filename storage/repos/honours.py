"""Honours, leaderboards and service records (loop 2): the honours on volunteers' records,
the names hidden from rankings, the month's or year's ranking of volunteers and teams by
verified hours, the facts a service record states, and the records issued."""

from __future__ import annotations

from typing import Any

from storage.models import Honour, IssuedRecord, Ranked
from storage.repos.base import Aggregate

# Every verified hour of a period, one row per credit: a request's hours by when they were
# credited, an activity's confirmed hours by when the activity started. Parameters: the
# period's start and end, twice.
_HOURS = """
    WITH credits (user_id, hours) AS (
        SELECT volunteer_id, hours FROM service_hours
        WHERE status = 'credited' AND credited_at >= ? AND credited_at < ?
        UNION ALL
        SELECT h.user_id, h.hours FROM activity_hours h JOIN activities a ON a.id = h.activity_id
        WHERE h.status = 'confirmed' AND a.starts_at >= ? AND a.starts_at < ?
    )
"""
# A volunteer's name as rankings and records show it: the name they registered with, else
# their Telegram first name ('' once /forget cleared both).
_NAME = "COALESCE(NULLIF(v.name, ''), u.first_name, '')"


def _honour(row: Any) -> Honour:
    return Honour(row["id"], row["user_id"], row["title"], row["year"], row["citation"],
                  row["awarded_by"], row["awarded_at"], row["announced_at"], row["revoked_by"],
                  row["revoked_at"])


class HonoursRepo(Aggregate):
    """Honours, hidden names, rankings, and the service records issued."""

    # -- honours -----------------------------------------------------------------------------

    async def award(self, draft: str, user_id: int, title: str, year: int, citation: str,
                    by: int, now: float, announced: bool) -> int | None:
        """Record an honour; its id (None: this dialog saved one already)."""
        row = await self._one(
            "INSERT OR IGNORE INTO honours (draft, user_id, title, year, citation, awarded_by, "
            "awarded_at, announced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (draft, user_id, title, year, citation, by, now, now if announced else None))
        return int(row[0]) if row is not None else None

    async def add_post(self, honour_id: int, chat_id: int, now: float) -> int:
        """An announcement of an honour in a group, before it is sent; its id."""
        return await self._inserted(
            "INSERT INTO honour_posts (honour_id, chat_id, created_at) VALUES (?, ?, ?)",
            (honour_id, chat_id, now))

    async def record_post_message(self, post_id: int, message_id: int, sent_to: int) -> None:
        """The message an announcement went out as, in the chat `sent_to`
        (cards.record_card_message says why that matters)."""
        self._write("UPDATE honour_posts SET message_id = ?, left_behind = (chat_id != ?) "
                    "WHERE id = ?", (message_id, sent_to, post_id))

    async def revoked_honour_of_post(self, post_id: int) -> Honour | None:
        """The honour of an announcement, if it has been revoked."""
        row = await self._one(
            "SELECT h.* FROM honour_posts p JOIN honours h ON h.id = p.honour_id "
            "WHERE p.id = ? AND h.revoked_at IS NOT NULL", (post_id,))
        return _honour(row) if row is not None else None

    async def drop_unsent_posts(self, honour_id: int, reason: str, now: float) -> int:
        """Give up the honour's announcements still waiting to be sent (failed, saying why);
        how many."""
        rows = await self._all(
            """
            UPDATE outbox SET status = 'failed', last_error = ?, sent_at = ?,
                              attempts = attempts + 1, payload = '{}'
            WHERE status = 'pending' AND honour_post_id IN (
                SELECT id FROM honour_posts WHERE honour_id = ?)
            RETURNING id
            """, (reason, now, honour_id))
        return len(rows)

    async def posts(self, honour_id: int) -> list[tuple[int, int]]:
        """Where an honour's announcements stand: (chat, message), those sent (and not left
        behind in a group that became a supergroup, whose numbering is new)."""
        rows = await self._all(
            "SELECT chat_id, message_id FROM honour_posts WHERE honour_id = ? "
            "AND message_id IS NOT NULL AND NOT left_behind ORDER BY id", (honour_id,))
        return [(int(row[0]), int(row[1])) for row in rows]

    async def saved_by(self, draft: str, by: int) -> Honour | None:
        """The honour a dialog (its draft id) of this admin saved, if it saved one."""
        row = await self._one("SELECT * FROM honours WHERE draft = ? AND awarded_by = ?",
                              (draft, by))
        return _honour(row) if row is not None else None

    async def honour(self, honour_id: int) -> Honour | None:
        """One honour, revoked or not."""
        row = await self._one("SELECT * FROM honours WHERE id = ?", (honour_id,))
        return _honour(row) if row is not None else None

    async def honours_of(self, user_id: int, as_of: float | None = None) -> list[Honour]:
        """A volunteer's honours not revoked (as they stood at `as_of`, if given: awarded by
        then, and not revoked since), by year then as awarded."""
        as_of = float("inf") if as_of is None else as_of
        rows = await self._all(
            "SELECT * FROM honours WHERE user_id = ? AND awarded_at <= ? AND revoked_at IS NULL "
            "ORDER BY year, id", (user_id, as_of))
        return [_honour(row) for row in rows]

    async def all_honours_of(self, user_id: int) -> list[Honour]:
        """A volunteer's honours, the revoked ones too, by year then as awarded."""
        rows = await self._all("SELECT * FROM honours WHERE user_id = ? ORDER BY year, id",
                               (user_id,))
        return [_honour(row) for row in rows]

    async def revoke(self, honour_id: int, by: int, now: float) -> bool:
        """Revoke an honour (the row stays, with who and when); False if it was already."""
        return await self._changed(
            "UPDATE honours SET revoked_by = ?, revoked_at = ? "
            "WHERE id = ? AND revoked_at IS NULL", (by, now, honour_id))

    # -- names in rankings -------------------------------------------------------------------

    async def set_hidden(self, user_id: int, hidden: bool, now: float) -> bool:
        """Hide (or show again) a volunteer's name in rankings; False if it already was."""
        return await self._changed(
            "INSERT INTO ranking_names (user_id, hidden, changed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET hidden = excluded.hidden, "
            "changed_at = excluded.changed_at WHERE ranking_names.hidden != excluded.hidden",
            (user_id, int(hidden), now))

    async def hidden(self, user_id: int) -> bool:
        """Whether a volunteer hides their name in rankings."""
        row = await self._one("SELECT hidden FROM ranking_names WHERE user_id = ?", (user_id,))
        return row is not None and bool(row[0])

    # -- rankings ----------------------------------------------------------------------------

    async def volunteer_ranking(self, start: float, end: float, top: int,
                                user_id: int) -> tuple[list[Ranked], Ranked | None, int]:
        """The volunteers with the most verified hours in [start, end): the first `top`
        places, the asker's own row (None: no hours), and how many volunteers have hours."""
        rows = await self._all(
            f"""{_HOURS},
            totals (user_id, hours) AS (SELECT user_id, SUM(hours) FROM credits GROUP BY user_id),
            ranked AS (SELECT user_id, hours, RANK() OVER (ORDER BY hours DESC) AS place,
                              COUNT(*) OVER () AS counted FROM totals)
            SELECT r.place, r.user_id, r.hours, r.counted, {_NAME} AS name,
                   COALESCE(n.hidden, 0) AS hidden
            FROM ranked r LEFT JOIN volunteers v ON v.user_id = r.user_id
            LEFT JOIN users u ON u.user_id = r.user_id
            LEFT JOIN ranking_names n ON n.user_id = r.user_id
            WHERE r.place <= ? OR r.user_id = ? ORDER BY r.place, r.user_id
            """, (start, end, start, end, top, user_id))
        found = [Ranked(int(row["place"]), str(row["user_id"]), float(row["hours"]),
                        row["name"], bool(row["hidden"])) for row in rows]
        mine = next((r for r in found if r.key == str(user_id)), None)
        counted = int(rows[0]["counted"]) if rows else 0
        return [r for r in found if r.place <= top], mine, counted

    async def team_ranking(self, start: float, end: float, top: int,
                           team_id: str | None) -> tuple[list[Ranked], Ranked | None, int]:
        """The teams whose members have the most verified hours in [start, end) (a member
        is a registered volunteer of the team): the first `top` places, the asker's team's
        row, and how many teams have hours."""
        rows = await self._all(
            f"""{_HOURS},
            totals (team_id, hours) AS (
                SELECT v.team_id, SUM(c.hours) FROM credits c
                JOIN volunteers v ON v.user_id = c.user_id
                WHERE v.team_id IS NOT NULL AND v.status = 'approved' GROUP BY v.team_id),
            ranked AS (SELECT team_id, hours, RANK() OVER (ORDER BY hours DESC) AS place,
                              COUNT(*) OVER () AS counted FROM totals)
            SELECT place, team_id, hours, counted FROM ranked
            WHERE place <= ? OR team_id = ? ORDER BY place, team_id
            """, (start, end, start, end, top, team_id))
        found = [Ranked(int(row["place"]), str(row["team_id"]), float(row["hours"]))
                 for row in rows]
        mine = next((r for r in found if r.key == team_id), None)
        counted = int(rows[0]["counted"]) if rows else 0
        return [r for r in found if r.place <= top], mine, counted

    async def name_of(self, user_id: int) -> str:
        """A volunteer's name as rankings and records show it ('' if none is known)."""
        row = await self._one(
            f"SELECT {_NAME} FROM users u LEFT JOIN volunteers v ON v.user_id = u.user_id "
            "WHERE u.user_id = ?", (user_id,))
        return str(row[0]) if row is not None else ""

    # -- what a service record states --------------------------------------------------------

    async def request_credits(self, user_id: int, as_of: float) -> list[tuple[float, float]]:
        """A volunteer's credited request hours by then: (credited at, hours)."""
        rows = await self._all(
            "SELECT credited_at, hours FROM service_hours WHERE volunteer_id = ? "
            "AND status = 'credited' AND credited_at <= ? ORDER BY credited_at, id",
            (user_id, as_of))
        return [(float(row[0]), float(row[1])) for row in rows]

    async def activity_credits(self, user_id: int, as_of: float
                               ) -> list[tuple[int, str, float, int, float]]:
        """A volunteer's confirmed activity hours recorded by then, one row per activity:
        (activity id, title, its start, the year they count in, hours), oldest first."""
        rows = await self._all(
            "SELECT a.id, a.title, a.starts_at, h.year, SUM(h.hours) FROM activity_hours h "
            "JOIN activities a ON a.id = h.activity_id WHERE h.user_id = ? "
            "AND h.status = 'confirmed' AND h.recorded_at <= ? "
            "GROUP BY a.id, h.year ORDER BY a.starts_at, a.id", (user_id, as_of))
        return [(int(row[0]), str(row[1]), float(row[2]), int(row[3]), float(row[4]))
                for row in rows]

    # -- records issued ----------------------------------------------------------------------

    async def issue_record(self, record: IssuedRecord) -> None:
        """Keep an issued record's code, owner, moment and content hash."""
        self._write("INSERT OR IGNORE INTO service_records (code, user_id, issued_at, "
                    "content_hash) VALUES (?, ?, ?, ?)",
                    (record.code, record.user_id, record.issued_at, record.content_hash))

    async def issued(self, code: str) -> IssuedRecord | None:
        """The record issued with this code, if any."""
        row = await self._one("SELECT * FROM service_records WHERE code = ?", (code,))
        if row is None:
            return None
        return IssuedRecord(row["code"], int(row["user_id"]), float(row["issued_at"]),
                            row["content_hash"])
