"""Users, their conversations (dialogs), roles granted and bans."""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from storage.models import (
    Dialog,
    User,
)
from storage.repos.base import Aggregate

_DIALOG_SQL = "SELECT * FROM dialogs WHERE user_id = ?"


def _user(row: Any) -> User:
    return User(
        user_id=row["user_id"], first_name=row["first_name"], username=row["username"],
        language=row["language"], started=bool(row["started"]), blocked=bool(row["blocked"]),
        consent=row["consent_version"],
    )


def _unchanged(user: User, first_name: str, username: str | None, private: bool) -> bool:
    """Say whether seeing the user again would leave their row as it is (but the time)."""
    return (user.first_name == first_name and user.username == username
            and (not private or (user.started and not user.blocked)))



@dataclass(frozen=True)
class Known:
    """A user as the database holds them, with the conversation they are in: its flow, step
    and data as stored (JSON, so nobody can change it in place); None: in none."""

    user: User
    dialog: tuple[str, str, str] | None


class KnownUsers:
    """The users who spoke lately, as last committed: a form step needs no trip to learn who
    is writing and where they stand. Only this process writes the database, and a unit of
    work's news goes in only once it has committed (Database does that)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._known: OrderedDict[int, Known] = OrderedDict()

    def get(self, user_id: int) -> Known | None:
        """What is known of the user, if anything."""
        known = self._known.get(user_id)
        if known is not None:
            self._known.move_to_end(user_id)
        return known

    def learn(self, news: dict[int, Known | None]) -> None:
        """Take in what a committed unit of work saw or wrote (None: forget the user)."""
        for user_id, known in news.items():
            if known is None:
                self._known.pop(user_id, None)
                continue
            self._known[user_id] = known
            self._known.move_to_end(user_id)
        while len(self._known) > self.capacity:
            self._known.popitem(last=False)

    def forget(self, user_ids: Iterable[int]) -> None:
        """Drop users whose rows a failed unit of work may have left otherwise."""
        for user_id in user_ids:
            self._known.pop(user_id, None)


class PeopleRepo(Aggregate):
    """Users, their conversations (dialogs), roles granted and bans."""

    async def see_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None,
        language: str,
        now: float,
        *,
        private: bool,
    ) -> User:
        """Record that a user spoke; a private message means the bot may now write to them."""
        upsert = """
            INSERT INTO users (user_id, first_name, username, language, started, blocked,
                               created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 0, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                first_name = excluded.first_name,
                username = excluded.username,
                started = MAX(users.started, excluded.started),
                blocked = CASE WHEN excluded.started = 1 THEN 0 ELSE users.blocked END,
                updated_at = excluded.updated_at
            RETURNING user_id, first_name, username, language, started, blocked,
                      consent_version
            """
        params = (user_id, first_name, username, language, int(private), now, now)
        known = self._session.knows(user_id)
        if known is not None and _unchanged(known.user, first_name, username, private):
            # The upsert would change nothing but the time: that write needs no answer.
            self._write("UPDATE users SET updated_at = ? WHERE user_id = ?", (now, user_id))
            return known.user

        def see(raw: sqlite3.Connection) -> tuple[Any, Any]:
            user = raw.execute(upsert, params).fetchone()
            # The conversation they are in comes along: a form step reads it next.
            dialog = raw.execute(_DIALOG_SQL, (user_id,)).fetchone()
            return user, dialog

        row, dialog_row = await self._trip(see)
        user = _user(row)
        stored = ((dialog_row["flow"], dialog_row["step"], dialog_row["data"])
                  if dialog_row is not None else None)
        self._session.news[user_id] = Known(user, stored)
        return user

    async def user(self, user_id: int) -> User | None:
        """Return the user, or None if the bot never saw them."""
        row = await self._one("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return _user(row) if row is not None else None

    async def set_language(self, user_id: int, language: str, now: float) -> None:
        """Remember the language a user chose."""
        self._session.news[user_id] = None
        self._write(
            "UPDATE users SET language = ?, updated_at = ? WHERE user_id = ?",
            (language, now, user_id),
        )

    async def record_consent(self, user_id: int, version: int, now: float) -> None:
        """Remember that a user agreed to this version of the privacy notice."""
        self._session.news[user_id] = None
        self._write(
            "UPDATE users SET consent_version = ?, consented_at = ?, updated_at = ? "
            "WHERE user_id = ?", (version, now, now, user_id))

    async def mark_blocked(self, user_id: int, now: float) -> None:
        """Note that Telegram refuses messages to this user until they write again."""
        self._session.news[user_id] = None
        self._write(
            "UPDATE users SET blocked = 1, updated_at = ? WHERE user_id = ?", (now, user_id)
        )

    async def bulk_users(self, user_ids: list[int], now: float) -> None:
        """Make sure these people exist (imports, benchmarks)."""
        self._write_many(
            "INSERT OR IGNORE INTO users (user_id, started, created_at, updated_at) "
            "VALUES (?, 1, ?, ?)",
            [(user_id, now, now) for user_id in user_ids],
        )

    async def dialog(self, user_id: int) -> Dialog | None:
        """Return the conversation a user is in, or None."""
        known = self._session.knows(user_id)
        if known is not None:  # read along with see_user, or written since
            if known.dialog is None:
                return None
            flow, step, data = known.dialog
            return Dialog(user_id=user_id, flow=flow, step=step, data=json.loads(data))
        row = await self._one(_DIALOG_SQL, (user_id,))
        if row is None:
            return None
        return Dialog(user_id=row["user_id"], flow=row["flow"], step=row["step"],
                      data=json.loads(row["data"]))

    async def save_dialog(self, dialog: Dialog, now: float) -> None:
        """Store where a user stands in a conversation."""
        data = json.dumps(dialog.data, ensure_ascii=False)
        self._note_dialog(dialog.user_id, (dialog.flow, dialog.step, data))
        self._write(
            """
            INSERT INTO dialogs (user_id, flow, step, data, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                flow = excluded.flow, step = excluded.step, data = excluded.data,
                updated_at = excluded.updated_at
            """,
            (dialog.user_id, dialog.flow, dialog.step, data, now),
        )

    async def end_dialog(self, user_id: int) -> None:
        """Forget a finished or abandoned conversation."""
        self._note_dialog(user_id, None)
        self._write("DELETE FROM dialogs WHERE user_id = ?", (user_id,))

    def _note_dialog(self, user_id: int, dialog: tuple[str, str, str] | None) -> None:
        """Keep what a user's conversation now is, if the user is known here."""
        known = self._session.knows(user_id)
        self._session.news[user_id] = replace(known, dialog=dialog) if known is not None else None

    async def user_by_username(self, username: str) -> User | None:
        """Find a user the bot has seen by their @username (case-insensitive)."""
        row = await self._one(
            "SELECT * FROM users WHERE username = ? COLLATE NOCASE ORDER BY updated_at DESC",
            (username,),
        )
        return _user(row) if row else None

    async def granted_areas(self, user_id: int) -> list[str]:
        """Return the areas a user is an admin of (grants not revoked)."""
        rows = await self._all(
            "SELECT area_id FROM admin_grants WHERE user_id = ? AND revoked_at IS NULL "
            "ORDER BY area_id",
            (user_id,),
        )
        return [str(row[0]) for row in rows]

    async def grant(self, user_id: int, area_id: str, by: int, now: float) -> bool:
        """Make a user an admin of an area; False if they already were."""
        return await self._changed(
            """
            INSERT INTO admin_grants (user_id, area_id, granted_by, granted_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """,
            (user_id, area_id, by, now),
        )

    async def revoke(self, user_id: int, area_id: str | None, by: int, now: float) -> int:
        """End a user's admin grants (one area, or all); return how many ended."""
        sql = ("UPDATE admin_grants SET revoked_by = ?, revoked_at = ? "
               "WHERE user_id = ? AND revoked_at IS NULL")
        params: tuple[Any, ...] = (by, now, user_id)
        if area_id is not None:
            sql += " AND area_id = ?"
            params += (area_id,)
        return await self._rowcount(sql, params)

    async def admins_of_areas(self, area_ids: list[str]) -> list[int]:
        """The area admins granted any of these areas (grants not revoked), by id."""
        if not area_ids:
            return []
        marks = ", ".join("?" * len(area_ids))
        rows = await self._all(
            f"SELECT DISTINCT user_id FROM admin_grants WHERE revoked_at IS NULL "
            f"AND area_id IN ({marks}) ORDER BY user_id", tuple(area_ids))
        return [int(row[0]) for row in rows]

    async def grant_list(self) -> list[tuple[int, str]]:
        """Every active grant as (user id, area id)."""
        rows = await self._all(
            "SELECT user_id, area_id FROM admin_grants WHERE revoked_at IS NULL "
            "ORDER BY area_id, user_id"
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    async def ban(self, user_id: int, reason: str, by: int, now: float) -> bool:
        """Ban a user; False if they already are."""
        return await self._changed(
            "INSERT INTO bans (user_id, reason, banned_by, banned_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (user_id, reason, by, now),
        )

    async def unban(self, user_id: int, by: int, now: float) -> bool:
        """Lift a user's ban (the record stays); False if they were not banned."""
        return await self._changed(
            "UPDATE bans SET lifted_by = ?, lifted_at = ? WHERE user_id = ? AND lifted_at IS NULL",
            (by, now, user_id),
        )

    async def ban_reason(self, user_id: int) -> str | None:
        """Return why a user is banned, or None if they are not."""
        row = await self._one(
            "SELECT reason FROM bans WHERE user_id = ? AND lifted_at IS NULL", (user_id,)
        )
        return None if row is None else str(row[0])

    async def everything_about(self, user_id: int) -> dict[str, Any]:
        """Every row that names a person: their profile, their volunteer record, the requests
        they filed, their sign-ups for activities, their honours, whether rankings hide their
        name, the service records issued to them, the requests they joined, what they wrote
        in masked chats (for /mydata)."""
        user = await self._one("SELECT * FROM users WHERE user_id = ?", (user_id,))
        volunteer = await self._one("SELECT * FROM volunteers WHERE user_id = ?", (user_id,))
        requests = await self._all(
            "SELECT * FROM requests WHERE citizen_id = ? ORDER BY id", (user_id,))
        signups = await self._all(
            "SELECT s.activity_id, a.title, a.starts_at, s.status, s.joined_at, s.changed_at "
            "FROM activity_signups s JOIN activities a ON a.id = s.activity_id "
            "WHERE s.user_id = ? ORDER BY s.id", (user_id,))
        honours = await self._all(
            "SELECT id, title, year, citation, awarded_at, announced_at, revoked_at "
            "FROM honours WHERE user_id = ? ORDER BY id", (user_id,))
        hidden = await self._one("SELECT hidden, changed_at FROM ranking_names "
                                 "WHERE user_id = ?", (user_id,))
        records = await self._all("SELECT code, issued_at FROM service_records "
                                  "WHERE user_id = ? ORDER BY issued_at", (user_id,))
        followed = await self._all(
            "SELECT r.ref, f.joined_at, f.rating, f.rated_at FROM request_followers f "
            "JOIN requests r ON r.id = f.request_id WHERE f.user_id = ? ORDER BY f.joined_at",
            (user_id,))
        chats = await self._all(
            "SELECT r.ref, m.kind, m.text, m.sent_at FROM thread_messages m "
            "JOIN threads t ON t.id = m.thread_id JOIN requests r ON r.id = t.request_id "
            "WHERE m.sender_id = ? ORDER BY m.id", (user_id,))
        return {"user": dict(user) if user else None,
                "volunteer": dict(volunteer) if volunteer else None,
                "requests": [dict(row) for row in requests],
                "activity_signups": [dict(row) for row in signups],
                "honours": [dict(row) for row in honours],
                "ranking_name": dict(hidden) if hidden else None,
                "service_records": [dict(row) for row in records],
                "followed_requests": [dict(row) for row in followed],
                "chat_messages": [dict(row) for row in chats]}

    async def forget(self, user_id: int) -> int:
        """Remove what names a person (/forget): their requests keep their category, area,
        times and outcome, so every statistic stays; return how many requests were cleared."""
        self._session.news[user_id] = None
        cleared = await self._rowcount(
            """
            UPDATE requests SET description = '', photos = '[]', voice_file_id = NULL,
                                latitude = NULL, longitude = NULL, cell = NULL,
                                address = NULL, phone = NULL, comment = NULL,
                                for_name = NULL, for_address = NULL, helper_phone = NULL
            WHERE citizen_id = ?
            """, (user_id,))
        self._write("UPDATE requests SET volunteer_name = '' WHERE volunteer_id = ?", (user_id,))
        # Their agreement goes too: should they come back, the notice comes first again.
        self._write("UPDATE users SET first_name = '', username = NULL, consent_version = 0, "
                    "consented_at = NULL WHERE user_id = ?", (user_id,))
        self._write("UPDATE volunteers SET name = '', phone = NULL WHERE user_id = ?",
                    (user_id,))
        self._write("DELETE FROM dialogs WHERE user_id = ?", (user_id,))
        # What either side wrote in their masked chats may name them (migration 022). A
        # reported chat stays until the retention pass takes it with the request's contact
        # details: the one reported must not wipe what an admin was asked to read.
        self._write("DELETE FROM thread_messages WHERE thread_id IN (SELECT id FROM threads "
                    "WHERE (citizen_id = ? OR volunteer_id = ?) AND reported_at IS NULL)",
                    (user_id, user_id))
        return cleared

