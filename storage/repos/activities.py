"""Volunteer activities (loop 2): the activities, their sign-ups and waitlists, the
recruitment cards that show them in groups, and the teams' own groups. A recruitment call is
an activity of kind 'call' (storage/repos/calls.py has the rest of it): the lists of
activities leave calls out."""

from __future__ import annotations

from typing import Any

from storage.models import (
    ACTIVITY_CANCELLED,
    ACTIVITY_CLOSED,
    ACTIVITY_OPEN,
    SIGNED,
    SIGNUP_CANCELLED,
    WAITING,
    Activity,
    ActivityHours,
    ActivityPost,
    Signup,
)
from storage.repos.base import Aggregate

# An activity with how many hold a place and how many wait for one.
_WITH_COUNTS = """
    SELECT a.*,
        (SELECT COUNT(*) FROM activity_signups s
         WHERE s.activity_id = a.id AND s.status = 'signed') AS signed,
        (SELECT COUNT(*) FROM activity_signups s
         WHERE s.activity_id = a.id AND s.status = 'waiting') AS waiting
    FROM activities a
"""

_FIELDS = ("team_id", "area_id", "title", "theme_year", "theme_month", "place", "latitude",
           "longitude", "starts_at", "ends_at", "capacity", "leader_id", "poster",
           "description", "language")


def _signup(row: Any) -> Signup:
    return Signup(row["id"], row["activity_id"], row["user_id"], row["status"],
                  row["joined_at"], row["checked_in_at"], row["checked_in_how"],
                  row["checked_out_at"], row["checked_out_how"], bool(row["no_show"]))


def _hours(row: Any) -> ActivityHours:
    return ActivityHours(row["id"], row["activity_id"], row["user_id"], row["hours"],
                         row["source"], row["reason"], row["year"], row["status"])


def _post(row: Any) -> ActivityPost:
    return ActivityPost(row["id"], row["activity_id"], row["chat_id"], row["message_id"],
                        row["kind"], bool(row["left_behind"]), row["thread_id"])


class ActivitiesRepo(Aggregate):
    """Activities, sign-ups, waitlists and recruitment cards."""

    # -- the activity ------------------------------------------------------------------------

    async def publish(self, draft: str, organiser_id: int, fields: dict[str, Any],
                      now: float) -> int:
        """Store a published activity (open for sign-up); its id."""
        return await self._inserted(
            f"INSERT INTO activities (draft, organiser_id, {', '.join(_FIELDS)}, status, "
            f"created_at, updated_at) VALUES (?, ?, {', '.join('?' * len(_FIELDS))}, ?, ?, ?)",
            (draft, organiser_id, *(fields.get(name) for name in _FIELDS), ACTIVITY_OPEN,
             now, now))

    async def activity(self, activity_id: int) -> Activity | None:
        """An activity with its counts of places taken and people waiting."""
        row = await self._one(f"{_WITH_COUNTS} WHERE a.id = ?", (activity_id,))
        return Activity.from_row(row) if row is not None else None

    async def published_from(self, draft: str, organiser_id: int) -> Activity | None:
        """The activity a dialog (its draft id) of this organiser published, if any."""
        row = await self._one(f"{_WITH_COUNTS} WHERE a.draft = ? AND a.organiser_id = ?",
                              (draft, organiser_id))
        return Activity.from_row(row) if row is not None else None

    async def change(self, activity_id: int, fields: dict[str, Any], now: float) -> None:
        """Change details of an activity (title, place, time, capacity, description)."""
        allowed = {"title", "place", "starts_at", "ends_at", "capacity", "description"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"not a detail that can change: {sorted(set(fields) - allowed)}")
        columns = ", ".join(f"{name} = ?" for name in fields)
        self._write(f"UPDATE activities SET {columns}, updated_at = ? WHERE id = ?",
                    (*fields.values(), now, activity_id))

    async def close_signup(self, activity_id: int, now: float) -> bool:
        """Close an open activity's sign-up; False if it was not open."""
        return await self._changed(
            "UPDATE activities SET status = ?, closed_at = ?, updated_at = ? "
            "WHERE id = ? AND status = ?",
            (ACTIVITY_CLOSED, now, now, activity_id, ACTIVITY_OPEN))

    async def reopen_signup(self, activity_id: int, now: float) -> bool:
        """Open a closed activity's sign-up again; False if it was not closed."""
        return await self._changed(
            "UPDATE activities SET status = ?, closed_at = NULL, updated_at = ? "
            "WHERE id = ? AND status = ?",
            (ACTIVITY_OPEN, now, activity_id, ACTIVITY_CLOSED))

    async def cancel(self, activity_id: int, by: int, reason: str, now: float) -> bool:
        """Cancel an activity (the sign-ups stay, for the record); False if it already was."""
        return await self._changed(
            "UPDATE activities SET status = ?, cancelled_at = ?, cancelled_by = ?, "
            "cancel_reason = ?, updated_at = ? WHERE id = ? AND status != ?",
            (ACTIVITY_CANCELLED, now, by, reason, now, activity_id, ACTIVITY_CANCELLED))

    async def upcoming(self, now: float, limit: int) -> list[Activity]:
        """Activities not cancelled that have not ended yet, soonest first."""
        rows = await self._all(
            f"{_WITH_COUNTS} WHERE a.kind = 'activity' AND a.status != ? AND a.ends_at > ? "
            "ORDER BY a.starts_at, a.id LIMIT ?", (ACTIVITY_CANCELLED, now, limit))
        return [Activity.from_row(row) for row in rows]

    async def organised_by(self, user_id: int, now: float, limit: int) -> list[Activity]:
        """Activities this person organises or leads on site that have not ended."""
        rows = await self._all(
            f"{_WITH_COUNTS} WHERE (a.organiser_id = ? OR a.leader_id = ?) AND a.ends_at > ? "
            "AND a.kind = 'activity' "
            "ORDER BY a.starts_at, a.id LIMIT ?", (user_id, user_id, now, limit))
        return [Activity.from_row(row) for row in rows]

    # -- sign-ups ----------------------------------------------------------------------------

    async def signup_of(self, activity_id: int, user_id: int) -> Signup | None:
        """A volunteer's current sign-up (holding a place or waiting), if any."""
        row = await self._one(
            "SELECT * FROM activity_signups WHERE activity_id = ? AND user_id = ? "
            "AND status IN (?, ?)", (activity_id, user_id, SIGNED, WAITING))
        return _signup(row) if row is not None else None

    async def sign_up(self, activity_id: int, user_id: int, waiting: bool, now: float) -> bool:
        """Sign a volunteer up (or put them on the waitlist); False if they already are."""
        return await self._changed(
            "INSERT OR IGNORE INTO activity_signups (activity_id, user_id, status, joined_at, "
            "changed_at) VALUES (?, ?, ?, ?, ?)",
            (activity_id, user_id, WAITING if waiting else SIGNED, now, now))

    async def cancel_signup(self, signup_id: int, now: float) -> bool:
        """End a sign-up or a place on the waitlist; False if it had ended already."""
        return await self._changed(
            "UPDATE activity_signups SET status = ?, changed_at = ? "
            "WHERE id = ? AND status IN (?, ?)",
            (SIGNUP_CANCELLED, now, signup_id, SIGNED, WAITING))

    async def promote_first_waiting(self, activity_id: int, now: float) -> Signup | None:
        """Give a free place to the first on the waitlist; who got it (None: nobody waits)."""
        row = await self._one(
            "UPDATE activity_signups SET status = ?, promoted_at = ?, changed_at = ? "
            "WHERE id = (SELECT id FROM activity_signups WHERE activity_id = ? AND status = ? "
            "ORDER BY joined_at, id LIMIT 1) RETURNING *",
            (SIGNED, now, now, activity_id, WAITING))
        return _signup(row) if row is not None else None

    async def signups(self, activity_id: int) -> list[Signup]:
        """Everyone holding a place or waiting for one, in the order they came."""
        rows = await self._all(
            "SELECT * FROM activity_signups WHERE activity_id = ? AND status IN (?, ?) "
            "ORDER BY status = 'waiting', joined_at, id", (activity_id, SIGNED, WAITING))
        return [_signup(row) for row in rows]

    async def signed_up_for(self, user_id: int, now: float, limit: int
                            ) -> list[tuple[Activity, Signup]]:
        """The activities a volunteer holds a place in or waits for that have not ended."""
        rows = await self._all(
            f"{_WITH_COUNTS} JOIN activity_signups m ON m.activity_id = a.id "
            "WHERE m.user_id = ? AND m.status IN (?, ?) AND a.ends_at > ? AND a.kind = 'activity' "
            "ORDER BY a.starts_at, a.id LIMIT ?", (user_id, SIGNED, WAITING, now, limit))
        mine = await self._all(
            "SELECT * FROM activity_signups WHERE user_id = ? AND status IN (?, ?)",
            (user_id, SIGNED, WAITING))
        by_activity = {row["activity_id"]: _signup(row) for row in mine}
        return [(Activity.from_row(row), by_activity[row["id"]]) for row in rows
                if row["id"] in by_activity]

    # -- check-in and attendance -------------------------------------------------------------

    async def check_in(self, signup_id: int, how: str, now: float) -> bool:
        """Record a check-in; False if this sign-up had checked in already."""
        return await self._changed(
            "UPDATE activity_signups SET checked_in_at = ?, checked_in_how = ?, changed_at = ? "
            "WHERE id = ? AND checked_in_at IS NULL AND status = ?",
            (now, how, now, signup_id, SIGNED))

    async def check_out(self, signup_id: int, how: str, now: float) -> bool:
        """Record a check-out; False if not checked in, or checked out already."""
        return await self._changed(
            "UPDATE activity_signups SET checked_out_at = ?, checked_out_how = ?, "
            "changed_at = ? WHERE id = ? AND checked_in_at IS NOT NULL "
            "AND checked_out_at IS NULL", (now, how, now, signup_id))

    async def confirm_attendance(self, activity_id: int, by: int, now: float) -> bool:
        """Mark the attendance list confirmed and everyone signed who never checked in a
        no-show; False if it was confirmed already (or the activity is cancelled)."""
        if not await self._changed(
                "UPDATE activities SET confirmed_at = ?, confirmed_by = ?, updated_at = ? "
                "WHERE id = ? AND confirmed_at IS NULL AND status != ?",
                (now, by, now, activity_id, ACTIVITY_CANCELLED)):
            return False
        self._write("UPDATE activity_signups SET no_show = 1, changed_at = ? "
                    "WHERE activity_id = ? AND status = ? AND checked_in_at IS NULL",
                    (now, activity_id, SIGNED))
        return True

    async def attendance_rates(self, user_ids: list[int]) -> dict[int, tuple[int, int]]:
        """Per volunteer: (activities confirmed they held a place in, no-shows among them)."""
        if not user_ids:
            return {}
        rows = await self._all(
            "SELECT s.user_id, COUNT(*), SUM(s.no_show) FROM activity_signups s "
            "JOIN activities a ON a.id = s.activity_id WHERE a.confirmed_at IS NOT NULL "
            f"AND s.status = 'signed' AND s.user_id IN ({','.join('?' * len(user_ids))}) "
            "GROUP BY s.user_id", tuple(user_ids))
        return {row[0]: (int(row[1]), int(row[2] or 0)) for row in rows}

    # -- hours -------------------------------------------------------------------------------

    async def credit(self, activity_id: int, user_id: int, hours: float, source: str,
                     reason: str | None, year: int, by: int, now: float) -> int:
        """Credit confirmed hours; the row's id."""
        return await self._inserted(
            "INSERT INTO activity_hours (activity_id, user_id, hours, source, reason, year, "
            "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (activity_id, user_id, hours, source, reason, year, by, now))

    async def hours_of(self, activity_id: int, user_id: int) -> list[ActivityHours]:
        """A volunteer's confirmed hours for one activity."""
        rows = await self._all(
            "SELECT * FROM activity_hours WHERE activity_id = ? AND user_id = ? "
            "AND status = 'confirmed' ORDER BY id", (activity_id, user_id))
        return [_hours(row) for row in rows]

    async def withdraw_hours(self, hours_id: int, now: float) -> None:
        """Withdraw a credit (a dispute replaced it); the row stays."""
        self._write("UPDATE activity_hours SET status = 'withdrawn', withdrawn_at = ? "
                    "WHERE id = ? AND status = 'confirmed'", (now, hours_id))

    async def yearly_hours(self, user_id: int, year: int) -> dict[str, float]:
        """A volunteer's confirmed activity hours of a year by source."""
        rows = await self._all(
            "SELECT source, SUM(hours) FROM activity_hours WHERE user_id = ? AND year = ? "
            "AND status = 'confirmed' GROUP BY source", (user_id, year))
        return {row[0]: float(row[1]) for row in rows}

    async def lifetime_hours(self, user_id: int) -> float:
        """A volunteer's confirmed activity hours of all years."""
        row = await self._one("SELECT COALESCE(SUM(hours), 0) FROM activity_hours "
                              "WHERE user_id = ? AND status = 'confirmed'", (user_id,))
        return float(row[0])

    async def attended(self, user_id: int, limit: int) -> list[tuple[Activity, float]]:
        """The activities a volunteer was credited for, newest first, with their hours."""
        rows = await self._all(
            f"{_WITH_COUNTS} JOIN (SELECT activity_id, SUM(hours) AS credited FROM "
            "activity_hours WHERE user_id = ? AND status = 'confirmed' GROUP BY activity_id) h "
            "ON h.activity_id = a.id ORDER BY a.starts_at DESC LIMIT ?", (user_id, limit))
        return [(Activity.from_row(row), float(row["credited"])) for row in rows]

    # -- disputes ----------------------------------------------------------------------------

    async def open_dispute(self, activity_id: int, user_id: int, claimed: float, reason: str,
                           now: float) -> int | None:
        """A volunteer's one dispute of an activity's hours; None if they disputed before."""
        row = await self._one(
            "INSERT OR IGNORE INTO hour_disputes (activity_id, user_id, claimed, reason, "
            "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (activity_id, user_id, claimed, reason, now))
        return int(row[0]) if row is not None else None

    async def disputed(self, activity_id: int, user_id: int) -> bool:
        """Whether the volunteer has disputed this activity's hours (once is all)."""
        return await self._one("SELECT 1 FROM hour_disputes WHERE activity_id = ? "
                               "AND user_id = ?", (activity_id, user_id)) is not None

    async def dispute(self, dispute_id: int) -> Any:
        """A dispute row."""
        return await self._one("SELECT * FROM hour_disputes WHERE id = ?", (dispute_id,))

    async def decide_dispute(self, dispute_id: int, accepted: bool, by: int, now: float) -> bool:
        """Accept or refuse an open dispute; False if it was decided already."""
        return await self._changed(
            "UPDATE hour_disputes SET status = ?, decided_by = ?, decided_at = ? "
            "WHERE id = ? AND status = 'open'",
            ("accepted" if accepted else "refused", by, now, dispute_id))

    # -- formal volunteers -------------------------------------------------------------------

    async def reach_formal(self, user_id: int, year: int, hours: float, now: float) -> bool:
        """Record that a volunteer reached the year's threshold; False if they had."""
        return await self._changed(
            "INSERT OR IGNORE INTO formal_volunteers (user_id, year, hours, reached_at) "
            "VALUES (?, ?, ?, ?)", (user_id, year, hours, now))

    async def formal_in(self, user_id: int, year: int) -> bool:
        """Whether a volunteer is a formal volunteer of `year`."""
        return await self._one("SELECT 1 FROM formal_volunteers WHERE user_id = ? AND year = ?",
                               (user_id, year)) is not None

    # -- figures (/stats, /export activities) -----------------------------------------------

    async def figures(self, start: float, end: float, area_ids: list[str] | None
                      ) -> list[Any]:
        """Every activity starting in [start, end) within `area_ids` (None: all, those of the
        whole district included), with its sign-ups, attendance, no-shows and confirmed
        hours."""
        where = ""
        params: tuple[Any, ...] = (start, end)
        if area_ids is not None:
            where = f" AND a.area_id IN ({','.join('?' * len(area_ids))})"
            params += tuple(area_ids)
        return await self._all(
            "SELECT a.id, a.kind, a.title, a.status, a.capacity, a.team_id, a.area_id, "
            "a.theme_year, a.theme_month, a.starts_at, a.ends_at, a.confirmed_at, a.place, "
            "(SELECT COUNT(*) FROM activity_signups s WHERE s.activity_id = a.id "
            " AND s.status = 'signed') AS signed, "
            "(SELECT COUNT(*) FROM activity_signups s WHERE s.activity_id = a.id "
            " AND s.status = 'waiting') AS waiting, "
            "(SELECT COUNT(*) FROM activity_signups s WHERE s.activity_id = a.id "
            " AND s.status = 'signed' AND s.checked_in_at IS NOT NULL) AS attended, "
            "(SELECT COUNT(*) FROM activity_signups s WHERE s.activity_id = a.id "
            " AND s.no_show = 1) AS no_shows, "
            "(SELECT COALESCE(SUM(h.hours), 0) FROM activity_hours h "
            " WHERE h.activity_id = a.id AND h.status = 'confirmed') AS hours "
            f"FROM activities a WHERE a.starts_at >= ? AND a.starts_at < ?{where} "
            "ORDER BY a.starts_at, a.id", params)

    async def formal_count(self, year: int, area_ids: list[str] | None) -> int:
        """How many volunteers are formal volunteers of `year` (of these areas: by the area
        they registered in)."""
        if area_ids is None:
            row = await self._one("SELECT COUNT(*) FROM formal_volunteers WHERE year = ?",
                                  (year,))
        else:
            row = await self._one(
                "SELECT COUNT(*) FROM formal_volunteers f JOIN volunteers v "
                "ON v.user_id = f.user_id WHERE f.year = ? "
                f"AND v.area_id IN ({','.join('?' * len(area_ids))})", (year, *area_ids))
        return int(row[0])

    # -- recruitment cards -------------------------------------------------------------------

    async def open_without_card_in(self, team_id: str, chat_id: int,
                                   now: float) -> list[Activity]:
        """A team's activities still taking sign-ups (open, not started) with no card in
        `chat_id` (the team's group, just bound), soonest first."""
        rows = await self._all(
            f"{_WITH_COUNTS} WHERE a.kind = 'activity' AND a.team_id = ? AND a.status = ? "
            "AND a.starts_at > ? AND NOT EXISTS (SELECT 1 FROM activity_posts p "
            "WHERE p.activity_id = a.id AND p.chat_id = ?) ORDER BY a.starts_at, a.id",
            (team_id, ACTIVITY_OPEN, now, chat_id))
        return [Activity.from_row(row) for row in rows]

    async def team_place(self, team_id: str) -> tuple[int, int | None, str] | None:
        """Where a team's cards go: its group, the forum topic (None: General) and the
        topic's name (its thread id if unnamed); None if it has no group."""
        row = await self._one(
            "SELECT chat_id, topic_id, COALESCE(topic_name, CAST(topic_id AS TEXT), '') "
            "FROM team_groups WHERE team_id = ?", (team_id,))
        if row is None:
            return None
        return int(row[0]), int(row[1]) if row[1] is not None else None, row[2]

    async def open_with_card_in(self, team_id: str, chat_id: int, now: float,
                                away_from: int | None) -> int:
        """How many of a team's activities still taking sign-ups have a card in a chat,
        posted elsewhere than its forum topic `away_from` (None: General)."""
        row = await self._one(
            "SELECT COUNT(*) FROM activities a WHERE a.kind = 'activity' AND a.team_id = ? "
            "AND a.status = ? AND a.starts_at > ? AND EXISTS (SELECT 1 FROM activity_posts p "
            "WHERE p.activity_id = a.id AND p.chat_id = ? AND p.thread_id IS NOT ?)",
            (team_id, ACTIVITY_OPEN, now, chat_id, away_from))
        return int(row[0]) if row is not None else 0

    async def open_calls_without_card_in(self, team_id: str, chat_id: int,
                                         now: float) -> list[Activity]:
        """The recruitment calls to a team still open (not closed, before their deadline)
        with no card in `chat_id` (the team's group, just bound), oldest first."""
        rows = await self._all(
            f"{_WITH_COUNTS} JOIN calls c ON c.activity_id = a.id "
            "WHERE a.kind = 'call' AND a.status = ? AND a.ends_at > ? "
            "AND EXISTS (SELECT 1 FROM json_each(c.teams) WHERE json_each.value = ?) "
            "AND NOT EXISTS (SELECT 1 FROM activity_posts p "
            "WHERE p.activity_id = a.id AND p.chat_id = ?) ORDER BY a.id",
            (ACTIVITY_OPEN, now, team_id, chat_id))
        return [Activity.from_row(row) for row in rows]

    async def add_post(self, activity_id: int, chat_id: int, kind: str, now: float) -> int:
        """Register a recruitment card about to be posted; its message id comes when sent."""
        return await self._inserted(
            "INSERT INTO activity_posts (activity_id, chat_id, kind, created_at) "
            "VALUES (?, ?, ?, ?)", (activity_id, chat_id, kind, now))

    async def posts(self, activity_id: int) -> list[ActivityPost]:
        """An activity's recruitment cards."""
        rows = await self._all("SELECT * FROM activity_posts WHERE activity_id = ? ORDER BY id",
                               (activity_id,))
        return [_post(row) for row in rows]

    async def post(self, post_id: int) -> ActivityPost | None:
        """One recruitment card."""
        row = await self._one("SELECT * FROM activity_posts WHERE id = ?", (post_id,))
        return _post(row) if row is not None else None

    async def is_post(self, chat_id: int, message_id: int) -> bool:
        """Whether a message is an activity's or a call's card (or a call's roster)."""
        row = await self._one("SELECT 1 FROM activity_posts WHERE chat_id = ? AND message_id = ?",
                              (chat_id, message_id))
        return row is not None

    async def record_post_message(self, post_id: int, message_id: int, kind: str,
                                  sent_to: int, thread_id: int | None = None) -> None:
        """The message a recruitment card went out as, and as what ("text", "photo"), in the
        chat `sent_to` and its forum topic `thread_id` (cards.record_card_message says why
        that matters)."""
        self._write("UPDATE activity_posts SET message_id = ?, kind = ?, left_behind = "
                    "(chat_id != ?), thread_id = ? WHERE id = ?",
                    (message_id, kind, sent_to, thread_id, post_id))

    # -- teams' groups -----------------------------------------------------------------------

    async def bind_team(self, team_id: str, chat_id: int, chat_title: str, by: int,
                        now: float, topic_id: int | None = None, topic_name: str = "") -> None:
        """Make a group (one of its forum topics, with `topic_id`) the team's own (a team has
        one; binding another replaces it)."""
        self._write(
            "INSERT INTO team_groups (team_id, chat_id, chat_title, bound_by, bound_at, "
            "topic_id, topic_name) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id) DO UPDATE "
            "SET chat_id = excluded.chat_id, chat_title = excluded.chat_title, "
            "bound_by = excluded.bound_by, bound_at = excluded.bound_at, "
            "topic_id = excluded.topic_id, topic_name = excluded.topic_name",
            (team_id, chat_id, chat_title, by, now, topic_id, topic_name or None))

    async def team_topic(self, chat_id: int, team_ids: list[str]) -> int | None:
        """The forum topic of the first of these teams whose own group `chat_id` is, if it was
        bound in one (a chat that is no team's own group: None, its General topic)."""
        for team_id in team_ids:
            row = await self._one("SELECT topic_id FROM team_groups WHERE team_id = ? "
                                  "AND chat_id = ?", (team_id, chat_id))
            if row is not None and row[0] is not None:
                return int(row[0])
        return None

    async def forget_team_topic(self, chat_id: int, topic_id: int) -> list[tuple[str, str, str]]:
        """A chat's topic is gone: the teams bound to it fall back to General. Return the
        (team_id, chat title, topic name) of each, [] if none was left."""
        return await self._forget_topic(
            "team_groups", "team_id", chat_id, topic_id)

    async def team_group(self, team_id: str) -> int | None:
        """The team's own group, if one is bound."""
        row = await self._one("SELECT chat_id FROM team_groups WHERE team_id = ?", (team_id,))
        return int(row[0]) if row is not None else None

    async def unbind_team_chat(self, chat_id: int) -> list[str]:
        """Forget a group as any team's own (the bot left it); the teams it served."""
        rows = await self._all("DELETE FROM team_groups WHERE chat_id = ? RETURNING team_id",
                               (chat_id,))
        return [row[0] for row in rows]
