"""The supervision clock (issue 16.6): a received problem's reminder before its deadline, the
overdue notice when it passes and the escalation to the area's admins after that; and each
inspector's daily reminder of their group's points due for a visit.

- **The rectification clock** is three timers (Dispatch.start_clock writes them when a
  problem is received, rejected at re-check or given more time, calling off the earlier ones):
  `problem_remind` at `remind_before` ahead of the deadline (not in the first half of the time
  given), `problem_overdue` at the deadline, which chains `problem_escalate` `escalate_after`
  later (due from the deadline, so a long stop catches up in order). Each fires once and only
  while the problem is still being rectified with that deadline.
- **Who hears**: the unit's chat at once; its people, in private, and the admins in private
  (no admin chat, or an area admin) by day at once, in quiet hours when they end and only if
  still true: a timer of its own for the morning (`*_MORNING`, part of the clock, so a new
  deadline calls it off) asks again whether the problem is still being rectified with that
  deadline (and, for the reminder, whether the deadline is still ahead). bot/night.py has the
  rule.
- **The patrol reminder**: at `daily_digest` each inspector whose group has points not visited
  within `coverage_period` gets how many and the first few (the longest unvisited), and /due
  for the rest. Sent once a day: the day is a `reports` row ('patrol', the date) claimed in the
  same transaction as the messages, so a restart neither repeats nor skips it; a day the bot
  was off is not caught up (yesterday's patrol list is today's anyway).

Imports: the kernel, bot.requests (the loop's area admins and language, render), the dispatch
beside it, storage.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot import night, ui
from bot.context import Env
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.supervision.dispatch import (
    ESCALATE_MORNING,
    ESCALATE_TIMER,
    OVERDUE_MORNING,
    OVERDUE_TIMER,
    RECEIVE_TIMERS,
    REMIND_MORNING,
    REMIND_TIMER,
    Dispatch,
)
from bot.unit import Unit, Units
from storage import Outgoing, Problem, Repo, Timer
from storage.models import PROBLEM_RECEIVED

log = logging.getLogger(__name__)

PATROL_REPORT = "patrol"  # the reports row of a day's patrol reminders
PATROL_SHOWN = 5  # due points named in the reminder; /due lists them all


class ProblemClock:
    """Fires the problems' timers and sends the inspectors' daily patrol reminders."""

    def __init__(self, env: Env, loop: RequestLoop, dispatch: Dispatch, units: Units) -> None:
        self.env = env
        self.loop = loop
        self.dispatch = dispatch
        self.units = units
        self._patrolled: str | None = None  # the last day found settled (the sweep runs often)

    # -- the problems' timers ------------------------------------------------------------------

    async def fire(self, unit: Unit, timer: Timer) -> None:
        """A problem's timer, from the schedule's sweep."""
        if timer.kind in RECEIVE_TIMERS:
            await self.dispatch.fire(unit, timer)
            return
        action = {REMIND_TIMER: self._remind, OVERDUE_TIMER: self._overdue,
                  ESCALATE_TIMER: self._escalate, REMIND_MORNING: self._remind_in_the_morning,
                  OVERDUE_MORNING: self._overdue_in_the_morning,
                  ESCALATE_MORNING: self._escalate_in_the_morning}.get(timer.kind)
        if action is None:
            log.error("problem timer %s has an unknown kind %r", timer.id, timer.kind)
            return
        problem = await unit.repo.supervision.problem(timer.problem_id or 0)
        # Only while it is being rectified; a deadline that moved since has timers of its own
        # (and called off this one's, the morning's among them).
        if problem is None or problem.status != PROBLEM_RECEIVED or problem.due_at is None:
            return
        await action(unit, problem, timer)

    async def _remind(self, unit: Unit, problem: Problem, timer: Timer) -> None:
        due = problem.due_at or 0.0
        if due <= timer.due_at:
            return
        await self._unit_chat(unit, problem, "clock.remind_unit")
        if not await self._waits(unit, problem, "clock.remind_unit", REMIND_MORNING):
            await self._unit_people(unit, problem, "clock.remind_unit")
        await unit.repo.supervision.add_event(problem.id, "reminded", None, timer.due_at,
                                              {"what": "deadline", "due": due})

    async def _remind_in_the_morning(self, unit: Unit, problem: Problem, timer: Timer) -> None:
        """The night's "deadline near" to the unit's people, while it is still ahead (once it
        has passed, the overdue notice says more)."""
        if (problem.due_at or 0.0) <= self.env.now():
            return
        if not await self._waits(unit, problem, "clock.remind_unit", REMIND_MORNING):
            await self._unit_people(unit, problem, "clock.remind_unit")

    async def _overdue(self, unit: Unit, problem: Problem, timer: Timer) -> None:
        repo, due = unit.repo, problem.due_at or 0.0
        if abs(due - timer.due_at) > 1:  # a timer of an earlier deadline: not this one's
            return
        await self._unit_chat(unit, problem, "clock.overdue_unit")
        for chat in self.loop.admin_chats():
            if chat < 0:
                unit.send(await self._overdue_admin(repo, problem, chat))
        if not await self._waits(unit, problem, "clock.overdue_unit", OVERDUE_MORNING):
            await self._overdue_to_people(unit, problem)
        await repo.supervision.add_event(problem.id, "overdue", None, timer.due_at, {"due": due})
        await repo.timers.schedule(ESCALATE_TIMER,
                                   timer.due_at + self.env.config.supervision.escalate_after,
                                   self.env.now(), problem_id=problem.id)

    async def _overdue_in_the_morning(self, unit: Unit, problem: Problem, timer: Timer) -> None:
        """The night's overdue notice to the unit's people and the admins in private: still
        being rectified with the deadline that passed (fire checked it)."""
        if not await self._waits(unit, problem, "clock.overdue_unit", OVERDUE_MORNING):
            await self._overdue_to_people(unit, problem)

    async def _overdue_to_people(self, unit: Unit, problem: Problem) -> None:
        """The overdue notice to the unit's people and to the admins in private."""
        await self._unit_people(unit, problem, "clock.overdue_unit")
        for chat in self.loop.admin_chats():
            if chat > 0:
                unit.send(await self._overdue_admin(unit.repo, problem, chat))

    async def _overdue_admin(self, repo: Repo, problem: Problem, chat: int) -> Outgoing:
        key, lang = "clock.overdue_admins", await self._language(repo, chat)
        return self._to(key, chat, self.env.t(
            lang, key, ref=problem.ref, due=self._when(problem.due_at or 0.0, lang),
            unit=self.dispatch._unit_name(problem.unit_id, lang),
            point=self.dispatch._point_name(problem, lang)))

    async def _escalate(self, unit: Unit, problem: Problem, timer: Timer) -> None:
        """To the admins of the unit's area (else of the point's), in private, once; in quiet
        hours when they end, if it is still not put right (bot/night.py)."""
        if (problem.due_at or 0.0) >= timer.due_at:
            return
        if not await self._waits(unit, problem, "clock.escalated_area_admin", ESCALATE_MORNING):
            await self._escalate_now(unit, problem, timer.due_at)

    async def _escalate_in_the_morning(self, unit: Unit, problem: Problem, timer: Timer) -> None:
        if not await self._waits(unit, problem, "clock.escalated_area_admin", ESCALATE_MORNING):
            await self._escalate_now(unit, problem, self.env.now())

    async def _escalate_now(self, unit: Unit, problem: Problem, at: float) -> None:
        """Tell the area's admins, and note it in the history as of `at`: when it fell due,
        or the morning that told them (a problem put right overnight names no escalation)."""
        repo, due = unit.repo, problem.due_at or 0.0
        registers = self.dispatch.registers()
        responsible = registers.units.get(problem.unit_id) if registers is not None else None
        admins = await self.loop.area_admins_of(repo, responsible.area_id if responsible
                                                else None)
        if not admins:
            admins = await self.loop.area_admins_of(repo, problem.area_id)
        for user_id in admins:
            lang = await self.loop.language_of(repo, user_id)
            unit.send(self._to("clock.escalated_area_admin", user_id, self.env.t(
                lang, "clock.escalated_area_admin", ref=problem.ref, due=self._when(due, lang),
                unit=self.dispatch._unit_name(problem.unit_id, lang),
                point=self.dispatch._point_name(problem, lang))))
        await repo.supervision.add_event(problem.id, "escalated", None, at,
                                         {"to": admins, "due": due})

    # -- the inspectors' patrol reminder ---------------------------------------------------------

    async def patrol_reminders(self) -> None:
        """Today's reminders of the points due for a visit, once, from `daily_digest` on."""
        env = self.env
        now = env.now()
        local = datetime.fromtimestamp(now, env.config.timezone)
        if local.time() < env.config.schedule.daily_digest:
            return
        day = local.date().isoformat()
        if day == self._patrolled:
            return
        registers = env.config.supervision.registers
        if registers is not None:
            async with self.units.for_job() as unit:
                if await unit.repo.timers.record_report(PATROL_REPORT, day, now):
                    await self._patrol(unit, now)
        self._patrolled = day

    async def _patrol(self, unit: Unit, now: float) -> None:
        repo, env = unit.repo, self.env
        registers = env.config.supervision.registers
        assert registers is not None
        period = env.config.supervision.coverage_period
        by_group: dict[int, list[str]] = {}
        for point, group in await repo.supervision.patrols():
            if point in registers.points:
                by_group.setdefault(group, []).append(point)
        last = await repo.supervision.last_visits([p for ps in by_group.values() for p in ps])
        names = dict(await repo.supervision.groups())
        for user_id, group in await repo.supervision.inspectors():
            mine = by_group.get(group, [])
            due = sorted((p for p in mine if now - last.get(p, 0.0) >= period),
                         key=lambda p: (last.get(p, 0.0), p))
            person = await repo.people.user(user_id)
            if not due or person is None or not person.started or person.blocked:
                continue
            lang = env.t.language_for(person.language, None)
            shown = ", ".join(registers.points[p].name(lang) for p in due[:PATROL_SHOWN])
            more = len(due) - PATROL_SHOWN
            text = env.t(lang, "clock.patrol", group=names.get(group, ""), count=len(due),
                         total=len(mine), days=round(period / 86400), points=shown)
            if more > 0:
                text += "\n" + env.t(lang, "clock.patrol_more", count=more)
            unit.send(self._to("clock.patrol", user_id, text))

    # -- helpers -------------------------------------------------------------------------------

    async def _waits(self, unit: Unit, problem: Problem, key: str, kind: str) -> bool:
        """In quiet hours, if `key` waits for the morning (bot/night.py): a timer `kind` set
        for when they end, which asks again then; True if so."""
        morning = night.waits(self.env, key)
        if morning is None:
            return False
        await unit.repo.timers.schedule(kind, morning, self.env.now(), problem_id=problem.id)
        return True

    def _values(self, problem: Problem, lang: str | None = None) -> dict[str, Any]:
        return {"ref": problem.ref, "due": self._when(problem.due_at or 0.0, lang),
                "point": self.dispatch._point_name(problem, None)}

    async def _unit_chat(self, work: Unit, problem: Problem, key: str) -> None:
        """A notice to the unit's chat, at once (a group): beside the problem's card there
        (its forum topic), else in the unit's topic."""
        place = await work.repo.supervision.problem_place(problem.id, problem.unit_id)
        if place is not None:
            work.send(ui.message(place[0], self.env.t(self.env.config.default_language, key,
                                                      **self._values(problem)),
                                 thread_id=place[1]))

    async def _unit_people(self, work: Unit, problem: Problem, key: str) -> None:
        """A notice to the unit's people who opened the bot, in private."""
        repo, t = work.repo, self.env.t
        for member in await repo.supervision.members(problem.unit_id):
            person = await repo.people.user(member)
            if person is not None and person.started and not person.blocked:
                lang = t.language_for(person.language, None)
                work.send(self._to(key, member, t(lang, key, **self._values(problem, lang))))

    def _to(self, key: str, chat_id: int, text: str) -> Outgoing:
        """A group at once, a person as quiet hours have `key` (bot/night.py)."""
        return night.at_night(self.env, key, ui.message(chat_id, text))

    async def _language(self, repo: Repo, chat_id: int) -> str:
        if chat_id < 0:
            return self.env.config.default_language
        return await self.loop.language_of(repo, chat_id)

    def _when(self, moment: float, lang: str | None = None) -> str:
        """A moment as its reader writes dates (a group's: the district's language)."""
        return render.local_time(self.env, moment, lang or self.env.config.default_language)
