"""Timers (reminders, escalations, deadlines), background jobs and the reports already sent."""

from __future__ import annotations

import json
from typing import Any

from storage.models import (
    Job,
    Timer,
)
from storage.repos.base import Aggregate


class TimersRepo(Aggregate):
    """Timers (reminders, escalations, deadlines), background jobs and the reports already sent."""

    async def schedule(
        self,
        kind: str,
        due_at: float,
        now: float,
        *,
        request_id: int | None = None,
        user_id: int | None = None,
        activity_id: int | None = None,
        problem_id: int | None = None,
    ) -> None:
        """Ask the schedule to do `kind` at `due_at`."""
        self._write(
            """
            INSERT INTO timers (kind, request_id, user_id, activity_id, problem_id, due_at,
                                created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            (kind, request_id, user_id, activity_id, problem_id, due_at, now),
        )

    async def cancel_timers(
        self,
        now: float,
        *,
        request_id: int | None = None,
        user_id: int | None = None,
        activity_id: int | None = None,
        problem_id: int | None = None,
        kinds: tuple[str, ...] = (),
    ) -> None:
        """Call off pending timers of a request, an activity, a supervision problem or a
        user's draft, optionally of some kinds."""
        owner, value = _owner(request_id, activity_id, problem_id, user_id)
        kind_filter = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
        self._write(
            f"""
            UPDATE timers SET done_at = ?, outcome = 'cancelled'
            WHERE {owner} AND done_at IS NULL{kind_filter}
            """,
            (now, value, *kinds),
        )

    async def due_timers(self, now: float, limit: int) -> list[Timer]:
        """Return pending timers due by `now`, earliest first."""
        rows = await self._all(
            """
            SELECT id, kind, request_id, user_id, due_at, activity_id, problem_id FROM timers
            WHERE done_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?
            """,
            (now, limit),
        )
        return [Timer(*row) for row in rows]

    async def settle_timer(self, timer_id: int, outcome: str, now: float) -> bool:
        """Mark a timer fired (or skipped); only one of two racing sweeps gets True."""
        return await self._changed(
            "UPDATE timers SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL",
            (now, outcome, timer_id),
        )

    async def pending_timers(
        self, *, request_id: int | None = None, user_id: int | None = None,
        activity_id: int | None = None, problem_id: int | None = None,
    ) -> list[Timer]:
        """Return the pending timers of a request, an activity, a supervision problem or a
        user, earliest first."""
        owner, value = _owner(request_id, activity_id, problem_id, user_id)
        rows = await self._all(
            f"""
            SELECT id, kind, request_id, user_id, due_at, activity_id, problem_id FROM timers
            WHERE {owner} AND done_at IS NULL ORDER BY due_at, id
            """,
            (value,),
        )
        return [Timer(*row) for row in rows]

    async def reported_of(self, periods: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Return which of these (kind, period) reports were already sent, in one trip."""
        if not periods:
            return set()
        marks = ",".join("(?, ?)" for _ in periods)
        rows = await self._all(
            f"SELECT kind, period FROM reports WHERE (kind, period) IN (VALUES {marks})",
            tuple(value for pair in periods for value in pair),
        )
        return {(str(row[0]), str(row[1])) for row in rows}

    async def record_report(self, kind: str, period: str, now: float) -> bool:
        """Claim a period's report; False if it was already sent (two sweeps raced)."""
        return await self._changed(
            "INSERT OR IGNORE INTO reports (kind, period, sent_at) VALUES (?, ?, ?)",
            (kind, period, now),
        )

    async def add_job(
        self, kind: str, chat_id: int, user_id: int, language: str, params: dict[str, Any],
        now: float,
    ) -> int:
        """Record a background job; return its id."""
        return await self._inserted(
            "INSERT INTO jobs (kind, chat_id, user_id, language, params, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (kind, chat_id, user_id, language, json.dumps(params), now),
        )

    async def pending_jobs(self) -> list[Job]:
        """Return the jobs still to do, oldest first."""
        rows = await self._all("SELECT * FROM jobs WHERE status = 'pending' ORDER BY id")
        return [Job(row["id"], row["kind"], row["chat_id"], row["user_id"], row["language"],
                    json.loads(row["params"]), row["attempts"]) for row in rows]

    async def start_job(self, job_id: int) -> int:
        """Count an attempt at a job; return the attempts so far."""
        row = await self._one(
            "UPDATE jobs SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", (job_id,)
        )
        return int(row[0])

    async def finish_job(self, job_id: int, now: float, error: str | None = None) -> None:
        """Mark a job done (or failed, with the reason)."""
        self._write(
            "UPDATE jobs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            ("failed" if error else "done", now, error, job_id),
        )


def _owner(request_id: int | None, activity_id: int | None, problem_id: int | None,
           user_id: int | None) -> tuple[str, int | None]:
    """The condition (one placeholder) and value that name a timer's owner: the first of them
    given. A person's own timers (a draft's) are those of no request, activity or problem: a
    request's timer that names its claimer (the due reminder or the admins' alert held for
    the morning) stays the request's, and a draft's clock restarting does not call it off."""
    if request_id is not None:
        return "request_id = ?", request_id
    if activity_id is not None:
        return "activity_id = ?", activity_id
    if problem_id is not None:
        return "problem_id = ?", problem_id
    return ("user_id = ? AND request_id IS NULL AND activity_id IS NULL"
            " AND problem_id IS NULL"), user_id
