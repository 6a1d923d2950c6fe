"""Loop 3, supervision: inspection groups, inspectors, the points each group patrols, the
units' group chats and the people who act for a unit."""

from __future__ import annotations

import json
from typing import Any

from storage.models import (
    PROBLEM_DISPATCHED,
    PROBLEM_PASSED,
    PROBLEM_RECEIVED,
    PROBLEM_RECTIFIED,
    PROBLEM_RETURNED,
    Problem,
    ProblemPost,
    Visit,
)
from storage.repos.base import Aggregate


def _post(row: Any) -> ProblemPost:
    return ProblemPost(row["id"], row["problem_id"], row["chat_id"], row["message_id"],
                       row["role"], row["ended_at"], bool(row["left_behind"]),
                       row["thread_id"])


def _visit(row: Any) -> Visit:
    return Visit(row["id"], row["point_id"], row["inspector_id"], row["group_id"],
                 row["started_at"], row["ended_at"], bool(row["all_clear"]), row["problems"])


class SupervisionRepo(Aggregate):
    """Who inspects, which group patrols which point, and who acts for a unit."""

    # -- groups and inspectors ---------------------------------------------------------------

    async def group_named(self, name: str) -> int | None:
        """The id of the inspection group of this name (any case), if there is one."""
        row = await self._one("SELECT id FROM inspection_groups WHERE name = ? COLLATE NOCASE",
                              (name,))
        return int(row[0]) if row is not None else None

    async def create_group(self, name: str, by: int, now: float) -> int:
        """A new inspection group; its id."""
        return await self._inserted(
            "INSERT INTO inspection_groups (name, created_by, created_at) VALUES (?, ?, ?)",
            (name, by, now))

    async def groups(self) -> list[tuple[int, str]]:
        """Every group (id, name), in the order they were made."""
        rows = await self._all("SELECT id, name FROM inspection_groups ORDER BY id")
        return [(int(row[0]), row[1]) for row in rows]

    async def inspector_group(self, user_id: int) -> tuple[int, str] | None:
        """The group (id, name) a person inspects for, if they are an inspector."""
        row = await self._one(
            "SELECT g.id, g.name FROM inspectors i JOIN inspection_groups g ON g.id = i.group_id "
            "WHERE i.user_id = ? AND i.revoked_at IS NULL", (user_id,))
        return (int(row[0]), row[1]) if row is not None else None

    async def add_inspector(self, user_id: int, group_id: int, by: int, now: float) -> None:
        """Make someone an inspector of a group (ending their membership of another)."""
        self._write("UPDATE inspectors SET revoked_by = ?, revoked_at = ? "
                    "WHERE user_id = ? AND revoked_at IS NULL", (by, now, user_id))
        self._write("INSERT INTO inspectors (user_id, group_id, granted_by, granted_at) "
                    "VALUES (?, ?, ?, ?)", (user_id, group_id, by, now))

    async def revoke_inspector(self, user_id: int, by: int, now: float) -> bool:
        """End someone's inspector role; False if they had none."""
        return await self._changed(
            "UPDATE inspectors SET revoked_by = ?, revoked_at = ? "
            "WHERE user_id = ? AND revoked_at IS NULL", (by, now, user_id))

    async def inspectors(self) -> list[tuple[int, int]]:
        """Every active inspector (user id, group id)."""
        rows = await self._all("SELECT user_id, group_id FROM inspectors "
                               "WHERE revoked_at IS NULL ORDER BY group_id, granted_at")
        return [(int(row[0]), int(row[1])) for row in rows]

    # -- patrol points -----------------------------------------------------------------------

    async def assign_points(self, point_ids: list[str], group_id: int, by: int,
                            now: float) -> int:
        """Give points to a group (a point another group patrolled moves, its history kept);
        how many changed hands."""
        current = dict(await self.patrols(point_ids))
        moving = [p for p in point_ids if current.get(p) != group_id]
        if not moving:
            return 0
        marks = ",".join("?" * len(moving))
        self._write(f"UPDATE patrol_points SET ended_at = ? WHERE ended_at IS NULL "
                    f"AND point_id IN ({marks})", (now, *moving))
        self._write_many("INSERT INTO patrol_points (point_id, group_id, assigned_by, "
                         "assigned_at) VALUES (?, ?, ?, ?)",
                         [(point, group_id, by, now) for point in moving])
        return len(moving)

    async def patrols(self, point_ids: list[str] | None = None) -> list[tuple[str, int]]:
        """Which group patrols each point (point id, group id), of these points or all."""
        if point_ids is None:
            rows = await self._all("SELECT point_id, group_id FROM patrol_points "
                                   "WHERE ended_at IS NULL")
        elif not point_ids:
            return []
        else:
            rows = await self._all(
                "SELECT point_id, group_id FROM patrol_points WHERE ended_at IS NULL "
                f"AND point_id IN ({','.join('?' * len(point_ids))})", tuple(point_ids))
        return [(row[0], int(row[1])) for row in rows]

    # -- units -------------------------------------------------------------------------------

    async def bind_unit(self, unit_id: str, chat_id: int, title: str, by: int,
                        now: float, topic_id: int | None = None, topic_name: str = "") -> None:
        """Make a group (one of its forum topics, with `topic_id`) the unit's own chat
        (binding another replaces it)."""
        self._write(
            "INSERT INTO unit_chats (unit_id, chat_id, chat_title, bound_by, bound_at, "
            "topic_id, topic_name) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (unit_id) DO UPDATE "
            "SET chat_id = excluded.chat_id, chat_title = excluded.chat_title, "
            "bound_by = excluded.bound_by, bound_at = excluded.bound_at, "
            "topic_id = excluded.topic_id, topic_name = excluded.topic_name",
            (unit_id, chat_id, title, by, now, topic_id, topic_name or None))

    async def unit_chat(self, unit_id: str) -> int | None:
        """A unit's group chat, if bound."""
        row = await self._one("SELECT chat_id FROM unit_chats WHERE unit_id = ?", (unit_id,))
        return int(row[0]) if row is not None else None

    async def unit_place(self, unit_id: str) -> tuple[int, int | None] | None:
        """A unit's group chat and the forum topic in it (None: General), if bound."""
        row = await self._one("SELECT chat_id, topic_id FROM unit_chats WHERE unit_id = ?",
                              (unit_id,))
        if row is None:
            return None
        return int(row[0]), int(row[1]) if row[1] is not None else None

    async def problem_place(self, problem_id: int,
                            unit_id: str) -> tuple[int, int | None] | None:
        """Where to say something about a problem in its unit's chat: the chat, and the forum
        topic its card there was posted in (the unit's topic if it has no card there; None:
        General), if the unit has a chat. A unit bound again in another topic of its group
        leaves its open cards where they were, and what is said about one goes beside it."""
        row = await self._one(
            "SELECT u.chat_id, CASE WHEN EXISTS (SELECT 1 FROM problem_posts pp "
            "  WHERE pp.problem_id = ? AND pp.chat_id = u.chat_id AND pp.role = 'unit' "
            "    AND pp.ended_at IS NULL) "
            "THEN (SELECT pp.thread_id FROM problem_posts pp WHERE pp.problem_id = ? "
            "  AND pp.chat_id = u.chat_id AND pp.role = 'unit' AND pp.ended_at IS NULL "
            "  ORDER BY pp.id DESC LIMIT 1) "
            "ELSE u.topic_id END FROM unit_chats u WHERE u.unit_id = ?",
            (problem_id, problem_id, unit_id))
        if row is None:
            return None
        return int(row[0]), int(row[1]) if row[1] is not None else None

    async def unit_binding(self, unit_id: str) -> tuple[int, int | None, str] | None:
        """Where a unit's cards go: its chat, the forum topic (None: General) and the topic's
        name (its thread id if unnamed); None if it has no chat."""
        row = await self._one(
            "SELECT chat_id, topic_id, COALESCE(topic_name, CAST(topic_id AS TEXT), '') "
            "FROM unit_chats WHERE unit_id = ?", (unit_id,))
        if row is None:
            return None
        return int(row[0]), int(row[1]) if row[1] is not None else None, row[2]

    async def open_cards_in(self, unit_id: str, chat_id: int, away_from: int | None) -> int:
        """How many of a unit's open problems (not passed, not returned) have their current
        unit card in a chat, posted elsewhere than its forum topic `away_from` (None:
        General)."""
        row = await self._one(
            "SELECT COUNT(DISTINCT p.id) FROM problems p JOIN problem_posts pp "
            "ON pp.problem_id = p.id WHERE pp.chat_id = ? AND pp.role = 'unit' "
            "AND pp.ended_at IS NULL AND p.unit_id = ? AND p.status IN (?, ?, ?) "
            "AND pp.thread_id IS NOT ?",
            (chat_id, unit_id, PROBLEM_DISPATCHED, PROBLEM_RECEIVED, PROBLEM_RECTIFIED,
             away_from))
        return int(row[0]) if row is not None else 0

    async def forget_unit_topic(self, chat_id: int,
                                topic_id: int) -> list[tuple[str, str, str]]:
        """A chat's topic is gone: the units bound to it fall back to General. Return the
        (unit_id, chat title, topic name) of each, [] if none was left."""
        return await self._forget_topic(
            "unit_chats", "unit_id", chat_id, topic_id)

    async def unit_chats(self) -> dict[str, tuple[int, str, str | None]]:
        """Every bound unit chat: its id, its title, and the name of the forum topic the
        unit is bound in (None: the chat itself, or a forum's General)."""
        rows = await self._all(
            "SELECT unit_id, chat_id, COALESCE(chat_title, ''), CASE WHEN topic_id IS NULL "
            "THEN NULL ELSE COALESCE(NULLIF(topic_name, ''), CAST(topic_id AS TEXT)) END "
            "FROM unit_chats")
        return {row[0]: (int(row[1]), row[2], row[3]) for row in rows}

    async def unbind_unit_chat(self, chat_id: int) -> list[str]:
        """Forget a group as any unit's chat (the bot left it); the units it served."""
        rows = await self._all("DELETE FROM unit_chats WHERE chat_id = ? RETURNING unit_id",
                               (chat_id,))
        return [row[0] for row in rows]

    async def add_member(self, unit_id: str, user_id: int, by: int, now: float) -> bool:
        """Someone acts for a unit from now; False if they did already."""
        return await self._changed(
            "INSERT OR IGNORE INTO unit_members (unit_id, user_id, added_by, added_at) "
            "VALUES (?, ?, ?, ?)", (unit_id, user_id, by, now))

    async def remove_member(self, unit_id: str, user_id: int, by: int, now: float) -> bool:
        """Someone no longer acts for a unit; False if they did not."""
        return await self._changed(
            "UPDATE unit_members SET removed_by = ?, removed_at = ? "
            "WHERE unit_id = ? AND user_id = ? AND removed_at IS NULL",
            (by, now, unit_id, user_id))

    async def members(self, unit_id: str) -> list[int]:
        """Who acts for a unit."""
        rows = await self._all("SELECT user_id FROM unit_members WHERE unit_id = ? "
                               "AND removed_at IS NULL ORDER BY added_at", (unit_id,))
        return [int(row[0]) for row in rows]

    async def units_of(self, user_id: int) -> list[str]:
        """The units a person acts for."""
        rows = await self._all("SELECT unit_id FROM unit_members WHERE user_id = ? "
                               "AND removed_at IS NULL ORDER BY unit_id", (user_id,))
        return [row[0] for row in rows]

    # -- visits ------------------------------------------------------------------------------

    async def start_visit(self, point_id: str, inspector_id: int, group_id: int | None,
                          now: float, latitude: float | None = None,
                          longitude: float | None = None) -> int:
        """An inspector arrives at a point; the visit's id."""
        return await self._inserted(
            "INSERT INTO visits (point_id, inspector_id, group_id, started_at, latitude, "
            "longitude) VALUES (?, ?, ?, ?, ?, ?)",
            (point_id, inspector_id, group_id, now, latitude, longitude))

    async def visit(self, visit_id: int) -> Visit | None:
        """A visit by id."""
        row = await self._one("SELECT * FROM visits WHERE id = ?", (visit_id,))
        return _visit(row) if row is not None else None

    async def end_visit(self, visit_id: int, now: float) -> bool:
        """The visit is over: all clear if it found no problem; False if it had ended."""
        return await self._changed(
            "UPDATE visits SET ended_at = ?, all_clear = (problems = 0) "
            "WHERE id = ? AND ended_at IS NULL", (now, visit_id))

    async def request_visit(self, point_id: str, admin_id: int, group_id: int | None,
                            request_id: int, now: float) -> int:
        """The visit a problem made from a citizen's request stands on (an admin's, ended at
        once; nobody went there, so coverage skips it); its id."""
        return await self._inserted(
            "INSERT INTO visits (point_id, inspector_id, group_id, started_at, ended_at, "
            "request_id) VALUES (?, ?, ?, ?, ?, ?)",
            (point_id, admin_id, group_id, now, now, request_id))

    async def last_visits(self, point_ids: list[str]) -> dict[str, float]:
        """When each of these points (or all) was last visited (on the ground: not the
        visits made for a citizen's request)."""
        rows = await self._all("SELECT point_id, MAX(started_at) FROM visits "
                               "WHERE request_id IS NULL GROUP BY point_id")
        wanted = set(point_ids)
        return {row[0]: float(row[1]) for row in rows if row[0] in wanted}

    # -- problems ----------------------------------------------------------------------------

    async def next_problem_ref(self, year: int) -> str:
        """The next problem reference of the year, e.g. D2026-00017."""
        row = await self._one("SELECT COUNT(*) FROM problems WHERE ref LIKE ?",
                              (f"D{year}-%",))
        return f"D{year}-{int(row[0]) + 1:05d}"

    async def report(self, *, ref: str, visit_id: int, point_id: str, unit_id: str,
                     area_id: str | None, group_id: int | None, type_code: str, severity: str,
                     note: str, before_photos: list[str], reported_by: int, now: float,
                     receive_due: float, request_id: int | None = None) -> int:
        """Store a reported problem (sent to its unit) and count it on its visit; its id."""
        problem_id = await self._inserted(
            "INSERT INTO problems (ref, visit_id, point_id, unit_id, area_id, group_id, type, "
            "severity, note, before_photos, status, reported_by, reported_at, receive_due, "
            "request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ref, visit_id, point_id, unit_id, area_id, group_id, type_code, severity, note,
             json.dumps(before_photos), PROBLEM_DISPATCHED, reported_by, now, receive_due,
             request_id))
        self._write("UPDATE visits SET problems = problems + 1 WHERE id = ?", (visit_id,))
        await self.add_event(problem_id, "reported", reported_by, now)
        return problem_id

    async def problem(self, problem_id: int) -> Problem | None:
        """A problem by id."""
        row = await self._one("SELECT * FROM problems WHERE id = ?", (problem_id,))
        return Problem.from_row(row) if row is not None else None

    async def problem_by_ref(self, ref: str) -> Problem | None:
        """A problem by its reference (any case)."""
        row = await self._one("SELECT * FROM problems WHERE ref = ? COLLATE NOCASE", (ref,))
        return Problem.from_row(row) if row is not None else None

    async def problem_of_request(self, request_id: int) -> Problem | None:
        """The problem a citizen's request was turned into, if any."""
        row = await self._one("SELECT * FROM problems WHERE request_id = ? ORDER BY id DESC "
                              "LIMIT 1", (request_id,))
        return Problem.from_row(row) if row is not None else None

    async def problems_of_visit(self, visit_id: int) -> list[Problem]:
        """The problems reported on a visit, in order."""
        rows = await self._all("SELECT * FROM problems WHERE visit_id = ? ORDER BY id",
                               (visit_id,))
        return [Problem.from_row(row) for row in rows]

    async def add_event(self, problem_id: int, kind: str, actor_id: int | None, at: float,
                        detail: dict[str, Any] | None = None) -> None:
        """One entry of a problem's history."""
        self._write("INSERT INTO problem_events (problem_id, at, kind, actor_id, detail) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (problem_id, at, kind, actor_id, json.dumps(detail or {},
                                                                ensure_ascii=False)))

    async def history(self, problem_id: int
                      ) -> list[tuple[float, str, int | None, dict[str, Any]]]:
        """A problem's history, oldest first: (when, what, who, details)."""
        rows = await self._all("SELECT at, kind, actor_id, detail FROM problem_events "
                               "WHERE problem_id = ? ORDER BY at, id", (problem_id,))
        return [(row[0], row[1], row[2], json.loads(row[3])) for row in rows]

    async def event(self, event_id: int) -> tuple[int, str, int | None, dict[str, Any]] | None:
        """One entry of a problem's history: (problem, what, who, details)."""
        row = await self._one("SELECT problem_id, kind, actor_id, detail FROM problem_events "
                              "WHERE id = ?", (event_id,))
        return (int(row[0]), row[1], row[2], json.loads(row[3])) if row is not None else None

    async def ask_extension(self, problem_id: int, by: int, now: float, until: float,
                            reason: str, unit_id: str = "", due_at: float | None = None) -> int:
        """A unit asks for more time: the history's entry, whose id the admins' buttons name
        (with the unit and the deadline it was asked against, so a stale request is known)."""
        return await self._inserted(
            "INSERT INTO problem_events (problem_id, at, kind, actor_id, detail) "
            "VALUES (?, ?, 'extension_asked', ?, ?)",
            (problem_id, now, by, json.dumps({"until": until, "reason": reason,
                                              "unit": unit_id, "due": due_at},
                                             ensure_ascii=False)))

    async def extension_decided(self, asked_id: int) -> bool:
        """Whether an admin already granted or refused this request for more time."""
        row = await self._one(
            "SELECT 1 FROM problem_events WHERE kind IN ('extension_granted', "
            "'extension_refused') AND json_extract(detail, '$.asked') = ? LIMIT 1", (asked_id,))
        return row is not None

    # -- the problem's life (each guarded by the status it leaves) -----------------------------

    async def start_receive_clock(self, problem_id: int, receive_due: float) -> None:
        """The card reached the unit: it has until then to press Received."""
        self._write("UPDATE problems SET receive_due = ? WHERE id = ?", (receive_due, problem_id))

    async def receive(self, problem_id: int, by: int, now: float, due_at: float) -> bool:
        """The unit takes the problem: the rectification clock runs to `due_at`."""
        return await self._changed(
            "UPDATE problems SET status = ?, received_at = ?, received_by = ?, due_at = ? "
            "WHERE id = ? AND status = ?",
            (PROBLEM_RECEIVED, now, by, due_at, problem_id, PROBLEM_DISPATCHED))

    async def rectify(self, problem_id: int, photos: list[str], note: str, now: float) -> bool:
        """The unit says it is put right, with after photos and a note: the re-check waits."""
        return await self._changed(
            "UPDATE problems SET status = ?, after_photos = ?, rectify_note = ?, "
            "rectified_at = ? WHERE id = ? AND status = ?",
            (PROBLEM_RECTIFIED, json.dumps(photos), note, now, problem_id, PROBLEM_RECEIVED))

    async def pass_problem(self, problem_id: int, by: int, now: float) -> bool:
        """The re-check passes it: final."""
        return await self._changed(
            "UPDATE problems SET status = ?, passed_at = ?, passed_by = ? "
            "WHERE id = ? AND status = ?",
            (PROBLEM_PASSED, now, by, problem_id, PROBLEM_RECTIFIED))

    async def reject(self, problem_id: int, due_at: float) -> bool:
        """The re-check rejects it: back to the unit with a new deadline, counted (the after
        photos of the rejected round stay in the history's 'rectified' entry)."""
        return await self._changed(
            "UPDATE problems SET status = ?, due_at = ?, rejections = rejections + 1, "
            "after_photos = '[]', rectify_note = NULL, rectified_at = NULL "
            "WHERE id = ? AND status = ?",
            (PROBLEM_RECEIVED, due_at, problem_id, PROBLEM_RECTIFIED))

    async def return_problem(self, problem_id: int) -> bool:
        """The unit says it is not theirs: the admins reassign it."""
        return await self._changed(
            "UPDATE problems SET status = ? WHERE id = ? AND status IN (?, ?)",
            (PROBLEM_RETURNED, problem_id, PROBLEM_DISPATCHED, PROBLEM_RECEIVED))

    async def reassign(self, problem_id: int, unit_id: str, receive_due: float) -> bool:
        """A returned (or never received) problem goes to another unit, which must receive it
        anew."""
        return await self._changed(
            "UPDATE problems SET status = ?, unit_id = ?, receive_due = ?, received_at = NULL, "
            "received_by = NULL, due_at = NULL WHERE id = ? AND status IN (?, ?)",
            (PROBLEM_DISPATCHED, unit_id, receive_due, problem_id, PROBLEM_RETURNED,
             PROBLEM_DISPATCHED))

    async def extend(self, problem_id: int, until: float) -> bool:
        """An admin grants more time: the deadline moves, counted."""
        return await self._changed(
            "UPDATE problems SET due_at = ?, extensions = extensions + 1 "
            "WHERE id = ? AND status = ?", (until, problem_id, PROBLEM_RECEIVED))

    async def waiting_without_card(self, unit_id: str) -> list[int]:
        """A unit's problems sent while it had no chat: waiting, with no card of the unit's."""
        rows = await self._all(
            "SELECT p.id FROM problems p WHERE p.unit_id = ? AND p.status = ? AND NOT EXISTS "
            "(SELECT 1 FROM problem_posts c WHERE c.problem_id = p.id AND c.role = 'unit' "
            "AND c.ended_at IS NULL) ORDER BY p.id", (unit_id, PROBLEM_DISPATCHED))
        return [int(row[0]) for row in rows]

    async def carded_open(self, unit_id: str) -> list[int]:
        """A unit's problems that wait for it (to be received or rectified) with a card of
        the unit's out: those a member named now should get a copy of."""
        rows = await self._all(
            "SELECT p.id FROM problems p WHERE p.unit_id = ? AND p.status IN (?, ?) AND EXISTS "
            "(SELECT 1 FROM problem_posts c WHERE c.problem_id = p.id AND c.role = 'unit' "
            "AND c.ended_at IS NULL) ORDER BY p.id",
            (unit_id, PROBLEM_DISPATCHED, PROBLEM_RECEIVED))
        return [int(row[0]) for row in rows]

    async def carded_elsewhere(self, unit_id: str, chat_id: int) -> list[int]:
        """A unit's problems that wait for it (to be received or rectified) with a card of the
        unit's out (in a group it had before, or a member's copy) but none in `chat_id` (the
        unit's chat now)."""
        rows = await self._all(
            "SELECT p.id FROM problems p WHERE p.unit_id = ? AND p.status IN (?, ?) AND EXISTS "
            "(SELECT 1 FROM problem_posts c WHERE c.problem_id = p.id AND c.role = 'unit' "
            "AND c.ended_at IS NULL) AND NOT EXISTS "
            "(SELECT 1 FROM problem_posts c WHERE c.problem_id = p.id AND c.role = 'unit' "
            "AND c.ended_at IS NULL AND c.chat_id = ?) ORDER BY p.id",
            (unit_id, PROBLEM_DISPATCHED, PROBLEM_RECEIVED, chat_id))
        return [int(row[0]) for row in rows]

    async def end_post(self, post_id: int, now: float) -> None:
        """Stop redrawing one card (it could not be posted)."""
        self._write("UPDATE problem_posts SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                    (now, post_id))

    async def end_group_posts(self, problem_id: int, keep_chat: int, now: float) -> None:
        """Stop redrawing a problem's unit cards in groups other than `keep_chat` (a group the
        unit no longer has); the copies in private stay."""
        self._write("UPDATE problem_posts SET ended_at = ? WHERE problem_id = ? AND role = 'unit' "
                    "AND ended_at IS NULL AND chat_id < 0 AND chat_id != ?",
                    (now, problem_id, keep_chat))

    async def end_posts_in(self, unit_id: str, chat_id: int, now: float) -> None:
        """Stop redrawing the unit's cards in one chat (a member no longer acting for it)."""
        self._write("UPDATE problem_posts SET ended_at = ? WHERE chat_id = ? AND role = 'unit' "
                    "AND ended_at IS NULL AND problem_id IN "
                    "(SELECT id FROM problems WHERE unit_id = ?)", (now, chat_id, unit_id))

    # -- figures (issue 16.7): plain rows, added up by bot/reports/supervision.py -------------

    async def problems_touching(self, start: float, end: float,
                                area_ids: list[str] | None) -> list[Problem]:
        """The problems of these areas (None: all) reported, due, rectified or passed in
        [start, end), in reference order."""
        where, params = _in_areas(area_ids)
        rows = await self._all(
            "SELECT * FROM problems WHERE (reported_at >= ? AND reported_at < ? "
            "OR due_at >= ? AND due_at < ? OR rectified_at >= ? AND rectified_at < ? "
            f"OR passed_at >= ? AND passed_at < ?){where} ORDER BY reported_at, id",
            (start, end) * 4 + params)
        return [Problem.from_row(row) for row in rows]

    async def problems_waiting(self, area_ids: list[str] | None) -> list[Problem]:
        """The problems of these areas (None: all) not yet received or being rectified."""
        where, params = _in_areas(area_ids)
        rows = await self._all(f"SELECT * FROM problems WHERE status IN (?, ?){where} "
                               "ORDER BY due_at, receive_due, id",
                               (PROBLEM_DISPATCHED, PROBLEM_RECEIVED, *params))
        return [Problem.from_row(row) for row in rows]

    async def event_counts(self, start: float, end: float,
                           area_ids: list[str] | None) -> dict[str, int]:
        """How many history entries of each kind the problems of these areas had in
        [start, end) (rejected, extension_granted, ...)."""
        where, params = _in_areas(area_ids, "p.")
        rows = await self._all(
            "SELECT e.kind, COUNT(*) FROM problem_events e JOIN problems p "
            f"ON p.id = e.problem_id WHERE e.at >= ? AND e.at < ?{where} GROUP BY e.kind",
            (start, end, *params))
        return {row[0]: int(row[1]) for row in rows}

    async def visits_between(self, start: float, end: float) -> list[tuple[str, int | None]]:
        """The visits begun in [start, end) that count (finished, or with a problem
        reported; on the ground: not those made for a citizen's request): (point id, group
        id) each."""
        rows = await self._all(
            "SELECT point_id, group_id FROM visits WHERE started_at >= ? AND started_at < ? "
            "AND (ended_at IS NOT NULL OR problems > 0) AND request_id IS NULL ORDER BY id",
            (start, end))
        return [(row[0], None if row[1] is None else int(row[1])) for row in rows]

    async def first_visit_at(self) -> float | None:
        """When the first visit ever began (None: supervision has not started)."""
        row = await self._one("SELECT MIN(started_at) FROM visits")
        return None if row is None or row[0] is None else float(row[0])

    # -- cards ---------------------------------------------------------------------------------

    async def add_post(self, problem_id: int, chat_id: int, role: str, now: float) -> int:
        """Register a problem's card about to be sent; its message id comes when sent."""
        return await self._inserted(
            "INSERT INTO problem_posts (problem_id, chat_id, role, created_at) "
            "VALUES (?, ?, ?, ?)", (problem_id, chat_id, role, now))

    async def posts(self, problem_id: int) -> list[ProblemPost]:
        """A problem's cards still drawn (not ended), oldest first."""
        rows = await self._all("SELECT * FROM problem_posts WHERE problem_id = ? "
                               "AND ended_at IS NULL ORDER BY id", (problem_id,))
        return [_post(row) for row in rows]

    async def is_post(self, chat_id: int, message_id: int) -> bool:
        """Whether a message is a problem's card (the re-check's in private among them)."""
        row = await self._one("SELECT 1 FROM problem_posts WHERE chat_id = ? AND message_id = ?",
                              (chat_id, message_id))
        return row is not None

    async def post(self, post_id: int) -> ProblemPost | None:
        """One card of a problem (ended or not)."""
        row = await self._one("SELECT * FROM problem_posts WHERE id = ?", (post_id,))
        return _post(row) if row is not None else None

    async def end_posts(self, problem_id: int, role: str, now: float) -> None:
        """Stop redrawing a problem's cards of a role (they keep what they last showed)."""
        self._write("UPDATE problem_posts SET ended_at = ? WHERE problem_id = ? AND role = ? "
                    "AND ended_at IS NULL", (now, problem_id, role))

    async def record_post_message(self, post_id: int, message_id: int, sent_to: int,
                                  thread_id: int | None = None) -> None:
        """The message a problem's card went out as, in the chat `sent_to` and its forum
        topic `thread_id` (cards.record_card_message says why that matters)."""
        self._write("UPDATE problem_posts SET message_id = ?, left_behind = (chat_id != ?), "
                    "thread_id = ? WHERE id = ?", (message_id, sent_to, thread_id, post_id))


def _in_areas(area_ids: list[str] | None, prefix: str = "") -> tuple[str, tuple[str, ...]]:
    """The `AND area_id IN (...)` of a scope (None: no condition) and its parameters."""
    if area_ids is None:
        return "", ()
    if not area_ids:
        return " AND 0", ()
    return f" AND {prefix}area_id IN ({','.join('?' * len(area_ids))})", tuple(area_ids)
