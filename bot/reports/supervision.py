"""Supervision's figures (issue 16.7): `/sstats [period] [area]` with its PNG chart, a line in
/stats, `/export problems [period] [area]` (XLSX and CSV) and the weekly supervision report.

What the figures mean, for a period P = [start, end) and a scope (an area admin's areas, by the
area of the problem's point; a centre admin's whole district):
- **Reported**: the problems reported in P, with where each stands now, and broken down by
  responsible unit (its unit now), problem type, point, area (one level below the one asked)
  and month of the report; each row also counts those of them passed by now.
- **In the period**: history entries in P — received, rectified, passed, rejected at re-check,
  more time granted — of the scope's problems, whenever they were reported.
- **Rectified on time**: of the problems whose rectification deadline (`due_at`, as it stands:
  moved by an approved extension, set again by a rejection) fell in P, or whose standing
  rectification (`rectified_at`: the round that passed, or waits for the re-check; a rejected
  round does not stand) fell in P, the share rectified by that deadline. A problem not
  rectified whose deadline has not come yet is not counted; one not rectified past it counts
  as late; a returned problem (not the unit's) is not counted. A late rectification counts in
  the period of its deadline and in that of its rectification.
- **Passed at the first re-check**: of the problems passed in P, those never rejected.
- **Median times** (lower medians): receipt → the standing rectification, over the problems
  rectified in P; report → pass, over those passed in P.
- **Overdue now**, whatever P: problems being rectified past their deadline (ref, unit, how
  long), and the count of cards not received by their receipt deadline.
- **Coverage**: the scope's points (the points file) visited in P — a visit counts once it
  was finished or reported a problem — over all of them, and per kind; per inspection group,
  its visits and problems in P and the share of its patrol points visited in P (by anyone).

Counts, not people: no inspector's or unit member's name is in any of them. An export row
links to its photos with a `t.me/<bot>?start=problem_<ref>` link: Telegram's file ids open
nothing outside the bot, so the link opens the bot, which shows the problem and sends its
before and after photos to whoever may see it (/problem's audience), in private.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot import night, ui
from bot.context import Env, days_between
from bot.i18n import Raw
from bot.people.roles import Roles
from bot.reports import charts
from bot.reports.charts import Bar, Panel
from bot.reports.periods import Period, looks_like_period, parse_period
from bot.reports.stats import Scope, Statistics
from bot.reports.tables import write_table
from bot.requests import render
from bot.schedule.jobs import Jobs
from bot.supervision.dispatch import problem_link
from bot.supervision.registers import Point, Registers
from bot.unit import ActorUnit, Unit
from storage import Job, Outgoing, Problem, Repo
from storage.models import PROBLEM_DISPATCHED, PROBLEM_PASSED, PROBLEM_RECEIVED, PROBLEM_RETURNED

ROWS_SHOWN = 8  # rows per breakdown in the text; the export has every problem
OVERDUE_SHOWN = 20
KINDS = ("road", "market", "alley", "community", "school", "other")
STATUSES = ("dispatched", "received", "rectified", "passed", "returned")
NOT_GIVEN = ""


@dataclass
class Row:
    """A breakdown row: problems reported, and how many of them are passed now."""

    reported: int = 0
    passed: int = 0


@dataclass
class GroupRow:
    """An inspection group's period: visits, problems reported, its patrol points visited."""

    name: str
    visits: int = 0
    problems: int = 0
    points: int = 0
    visited: int = 0


@dataclass
class Figures:
    """Everything /sstats, its chart and the weekly report show (see the module's docstring)."""

    reported: int = 0
    status: Counter[str] = field(default_factory=Counter)
    events: dict[str, int] = field(default_factory=dict)
    due: int = 0
    on_time: int = 0
    passed: int = 0
    first_time: int = 0
    rectify_wait: float | None = None
    pass_wait: float | None = None
    overdue: list[Problem] = field(default_factory=list)
    late_receipt: int = 0
    points: int = 0
    visited: int = 0
    visits: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind → [points, visited]
    groups: list[GroupRow] = field(default_factory=list)
    by_unit: dict[str, Row] = field(default_factory=dict)
    unit_due: dict[str, list[int]] = field(default_factory=dict)  # unit → [due, on time]
    by_type: dict[str, Row] = field(default_factory=dict)
    by_point: dict[str, Row] = field(default_factory=dict)
    by_area: dict[str, Row] = field(default_factory=dict)
    by_month: dict[str, Row] = field(default_factory=dict)

    @property
    def anything(self) -> bool:
        """Whether the period has a problem or a visit to show."""
        return bool(self.reported or self.visits or self.due or self.passed or self.events)


def on_time(problem: Problem, start: float, end: float, now: float) -> bool | None:
    """Whether a problem counts as rectified on time in [start, end); None: not counted there
    (see the module's docstring)."""
    if problem.due_at is None or problem.status == PROBLEM_RETURNED:
        return None
    rectified = problem.rectified_at
    if not (start <= problem.due_at < end
            or (rectified is not None and start <= rectified < end)):
        return None
    if rectified is None:
        return None if problem.due_at >= now else False
    return rectified <= problem.due_at


def lower_median(values: list[float]) -> float | None:
    """The lower median (the value at (n - 1) // 2 in order), as /stats counts its waits."""
    if not values:
        return None
    return sorted(values)[(len(values) - 1) // 2]


def tally(problems: list[Problem], events: dict[str, int], waiting: list[Problem],
          visits: list[tuple[str, int | None]], points: dict[str, Point],
          patrols: list[tuple[str, int]], groups: list[tuple[int, str]], *, start: float,
          end: float, now: float, month_of: Callable[[float], str]) -> Figures:
    """Add up a period's figures from its rows (pure: the rules live here, tested directly).

    `problems`: the scope's problems touching the period; `waiting`: the scope's problems
    not yet received or being rectified; `visits`: every counted visit of the period (those
    at points outside `points`, the scope's, are left out)."""
    found = Figures(events=dict(events))
    rectify_waits: list[float] = []
    pass_waits: list[float] = []
    for problem in problems:
        if start <= problem.reported_at < end:
            found.reported += 1
            found.status[problem.status] += 1
            passed = problem.status == PROBLEM_PASSED
            for table, key in ((found.by_unit, problem.unit_id), (found.by_type, problem.type),
                               (found.by_point, problem.point_id),
                               (found.by_area, problem.area_id or NOT_GIVEN),
                               (found.by_month, month_of(problem.reported_at))):
                tallied = table.setdefault(key, Row())
                tallied.reported += 1
                tallied.passed += passed
        counted = on_time(problem, start, end, now)
        if counted is not None:
            found.due += 1
            found.on_time += counted
            of_unit = found.unit_due.setdefault(problem.unit_id, [0, 0])
            of_unit[0] += 1
            of_unit[1] += counted
        rectified = problem.rectified_at
        if (rectified is not None and problem.received_at is not None
                and start <= rectified < end):
            rectify_waits.append(rectified - problem.received_at)
        if problem.passed_at is not None and start <= problem.passed_at < end:
            found.passed += 1
            found.first_time += problem.rejections == 0
            pass_waits.append(problem.passed_at - problem.reported_at)
    found.rectify_wait = lower_median(rectify_waits)
    found.pass_wait = lower_median(pass_waits)
    found.overdue = sorted((p for p in waiting if p.status == PROBLEM_RECEIVED
                            and p.due_at is not None and p.due_at < now),
                           key=lambda p: (p.due_at, p.ref))
    found.late_receipt = sum(1 for p in waiting if p.status == PROBLEM_DISPATCHED
                             and p.receive_due < now)

    mine = [(point_id, group) for point_id, group in visits if point_id in points]
    visited = {point_id for point_id, _ in mine}
    found.visits, found.points, found.visited = len(mine), len(points), len(visited)
    for kind in KINDS:
        of_kind = [p for p in points.values() if p.kind == kind]
        if of_kind:
            found.by_kind[kind] = [len(of_kind), sum(1 for p in of_kind if p.id in visited)]
    patrolled: dict[int, list[str]] = {}
    for point_id, group in patrols:
        if point_id in points:
            patrolled.setdefault(group, []).append(point_id)
    visits_of = Counter(group for _, group in mine)
    problems_of = Counter(p.group_id for p in problems if start <= p.reported_at < end)
    for group_id, name in groups:
        own = patrolled.get(group_id, [])
        group_row = GroupRow(name, visits_of[group_id], problems_of[group_id], len(own),
                             sum(1 for p in own if p in visited))
        if group_row.points or group_row.visits or group_row.problems:
            found.groups.append(group_row)
    return found


class SupervisionFigures:
    """/sstats, its chart, the line in /stats, /export problems and the weekly report."""

    def __init__(self, env: Env, roles: Roles, jobs: Jobs, stats: Statistics) -> None:
        self.env = env
        self.roles = roles
        self.jobs = jobs
        self.stats = stats  # its reading of [period] [area], names and durations
        jobs.register("sstats_chart", self.chart_job)
        jobs.register("problems", self.export_job)

    def registers(self) -> Registers | None:
        return self.env.config.supervision.registers

    # -- reading -----------------------------------------------------------------------------

    async def figures(self, repo: Repo, start: float, end: float,
                      area_ids: list[str] | None) -> Figures:
        """The figures of [start, end) in these areas (None: everywhere)."""
        registers = self.registers()
        assert registers is not None
        wanted = None if area_ids is None else set(area_ids)
        points = {p.id: p for p in registers.points.values()
                  if wanted is None or p.area_id in wanted}
        with repo.on_thread():  # a campaign year of problems: not on the event loop
            sup = repo.supervision
            problems = await sup.problems_touching(start, end, area_ids)
            events = await sup.event_counts(start, end, area_ids)
            waiting = await sup.problems_waiting(area_ids)
            visits = await sup.visits_between(start, end)
            patrols = await sup.patrols()
            groups = await sup.groups()
        tz = self.env.config.timezone
        return tally(problems, events, waiting, visits, points, patrols, groups, start=start,
                     end=end, now=self.env.now(),
                     month_of=lambda at: f"{datetime.fromtimestamp(at, tz):%Y-%m}")

    # -- /sstats -----------------------------------------------------------------------------

    async def sstats(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """Send a period's supervision figures in the admin's scope, then queue the chart."""
        lang = unit.language
        role = await self.roles.of(unit.repo, unit.user_id)
        if role is None:
            lines = [unit.t("admin.not_admin")]
        elif self.registers() is None:
            lines = [unit.t("supervision.off")]
        else:
            asked = self.stats.read_args(role, args, lang)
            if isinstance(asked, str):
                lines = [asked, unit.t("sstats.usage")]
            else:
                period, scope = asked
                found = await self.figures(unit.repo, period.start, period.end,
                                           scope.area_ids)
                lines = self.text(lang, period, scope, found)
                if found.reported or found.visits:
                    await self.jobs.submit(unit.repo, "sstats_chart", chat_id, unit.user_id,
                                           lang, _params(period, scope))
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    async def summary(self, unit: Unit, lang: str, period: Period,
                      scope: Scope) -> list[str]:
        """/stats's line on supervision: nothing when the period has no problem or visit."""
        if self.registers() is None:
            return []
        found = await self.figures(unit.repo, period.start, period.end, scope.area_ids)
        if not (found.reported or found.visits):
            return []
        t = self.env.t
        return [t(lang, "sstats.in_stats", count=found.reported,
                  rate=self._rate(found.on_time, found.due, lang),
                  coverage=self._rate(found.visited, found.points, lang),
                  period="" if period.label == "all" else f" {period.label}")]

    def text(self, lang: str, period: Period, scope: Scope, found: Figures, *,
             title: str | None = None, whole: bool = True) -> list[str]:
        """The figures as lines; `whole` False (the weekly report) leaves out the breakdowns
        by type, point, area and month."""
        t = self.env.t
        lines = [title or t(lang, "sstats.title", area=self.stats._names(scope.named, lang),
                              period=self.stats._period(period, lang))]
        if not found.anything and not found.overdue:
            return [*lines, t(lang, "sstats.nothing")]
        lines += [
            t(lang, "sstats.reported", count=found.reported),
            t(lang, "sstats.status_now", **{s: found.status[s] for s in STATUSES}),
            t(lang, "sstats.flow", received=found.events.get("received", 0),
              rectified=found.events.get("rectified", 0),
              passed=found.events.get("passed", 0), rejected=found.events.get("rejected", 0),
              extended=found.events.get("extension_granted", 0)),
            t(lang, "sstats.on_time", on_time=found.on_time, due=found.due,
              rate=self._rate(found.on_time, found.due, lang)),
            t(lang, "sstats.first_time", first=found.first_time, passed=found.passed,
              rate=self._rate(found.first_time, found.passed, lang)),
            t(lang, "sstats.waits", rectify=self.stats.duration(found.rectify_wait, lang),
              passed=self.stats.duration(found.pass_wait, lang)),
            *self.overdue_lines(lang, found),
            t(lang, "sstats.coverage", visited=found.visited, points=found.points,
              rate=self._rate(found.visited, found.points, lang), visits=found.visits),
            *(t(lang, "sstats.kind_line", kind=t(lang, f"sstats.kind.{kind}"), visited=n[1],
                points=n[0]) for kind, n in found.by_kind.items()),
        ]
        if found.groups:
            lines.append(t(lang, "sstats.by_group"))
            lines += [t(lang, "sstats.group_line", group=g.name, visits=g.visits,
                        problems=g.problems, visited=g.visited, points=g.points,
                        rate=self._rate(g.visited, g.points, lang)) for g in found.groups]
        if found.by_unit:
            lines.append(t(lang, "sstats.by_unit"))
            units = sorted(found.by_unit.items(), key=lambda kv: (-kv[1].reported, kv[0]))
            lines += self._limited(lang, [
                t(lang, "sstats.unit_line", name=self.unit_name(key, lang),
                  reported=row.reported, passed=row.passed,
                  on_time=self._rate(*self._unit_on_time(found, key), lang))
                for key, row in units])
        if whole:
            for title_key, table, name in (
                    ("sstats.by_type", found.by_type, self.type_name),
                    ("sstats.by_point", found.by_point, self.point_name),
                    ("sstats.by_area", self._area_rows(scope, found), self.area_name)):
                if table:
                    lines.append(t(lang, title_key))
                    ordered = sorted(table.items(), key=lambda kv: (-kv[1].reported, kv[0]))
                    lines += self._limited(lang, [
                        t(lang, "sstats.row", name=name(key, lang), reported=row.reported,
                          passed=row.passed) for key, row in ordered])
            if len(found.by_month) > 1:
                lines.append(t(lang, "sstats.by_month"))
                lines += [t(lang, "sstats.row", name=month, reported=row.reported,
                            passed=row.passed) for month, row in sorted(found.by_month.items())]
        return lines

    def overdue_lines(self, lang: str, found: Figures) -> list[str]:
        """The overdue list now, and the count of cards not received in time."""
        t, now = self.env.t, self.env.now()
        lines = [t(lang, "sstats.overdue", count=len(found.overdue))]
        lines += [t(lang, "sstats.overdue_line", ref=p.ref, unit=self.unit_name(p.unit_id, lang),
                    late=self.stats.duration(now - (p.due_at or now), lang))
                  for p in found.overdue[:OVERDUE_SHOWN]]
        if len(found.overdue) > OVERDUE_SHOWN:
            lines.append(t(lang, "sstats.more", count=len(found.overdue) - OVERDUE_SHOWN))
        if found.late_receipt:
            lines.append(t(lang, "sstats.late_receipt", count=found.late_receipt))
        return lines

    def _limited(self, lang: str, lines: list[str]) -> list[str]:
        if len(lines) <= ROWS_SHOWN:
            return lines
        return [*lines[:ROWS_SHOWN], self.env.t(lang, "sstats.more",
                                                count=len(lines) - ROWS_SHOWN)]

    def _area_rows(self, scope: Scope, found: Figures) -> dict[str, Row]:
        """The problems by area one level below the one asked (as /stats breaks requests
        down); a problem of an area not below any row counts as "not given"."""
        tree = self.env.config.areas
        rows: dict[str, Row] = {}
        for area_id, row in found.by_area.items():
            owner = NOT_GIVEN
            if tree is not None and area_id != NOT_GIVEN and area_id in tree:
                owner = next((a for a in tree.ancestry(area_id) if a in scope.rows),
                             area_id if not scope.rows else NOT_GIVEN)
            into = rows.setdefault(owner, Row())
            into.reported += row.reported
            into.passed += row.passed
        return rows

    @staticmethod
    def _unit_on_time(found: Figures, unit_id: str) -> tuple[int, int]:
        due, on = found.unit_due.get(unit_id, [0, 0])
        return on, due

    def _rate(self, part: int, whole: int, lang: str) -> str:
        if not whole:
            return self.env.t.raw(lang, "stats.none")
        return f"{100 * part / whole:.1f}%"

    # -- names -------------------------------------------------------------------------------

    def unit_name(self, unit_id: str, lang: str) -> str:
        registers = self.registers()
        found = registers.units.get(unit_id) if registers is not None else None
        return found.name(lang) if found is not None else unit_id

    def point_name(self, point_id: str, lang: str) -> str:
        registers = self.registers()
        found = registers.points.get(point_id) if registers is not None else None
        return found.name(lang) if found is not None else point_id

    def type_name(self, code: str, lang: str) -> str:
        found = self.env.config.supervision.problem_type(code)
        return found.name(lang) if found is not None else code

    def area_name(self, area_id: str, lang: str) -> str:
        if area_id == NOT_GIVEN:
            return self.env.t.raw(lang, "stats.not_given")
        return render.area_name(self.env, area_id, lang)

    # -- the chart ---------------------------------------------------------------------------

    async def chart_job(self, job: Job) -> list[Outgoing]:
        """Draw the chart a /sstats asked for and send it as a photo."""
        p, asked = job.params, job.language
        period = _period(p)
        scope = Scope(p["area_ids"], tuple(p["named"]), tuple(p["rows"]))
        async with self.env.db.reading() as repo:
            found = await self.figures(repo, period.start, period.end, scope.area_ids)
        path = self.jobs.file_path(job, "sstats.png")
        font = await asyncio.to_thread(charts.cjk_font)
        # Without a font for Chinese the chart speaks English; the text stayed in Chinese.
        lang = asked if font is not None or asked == "en" else "en"
        title, panels, words = self.chart(lang, period, scope, found)
        await asyncio.to_thread(charts.render_panels, title, panels, path, font, words)
        caption = self.env.t(asked, "sstats.chart_caption",
                             area=self.stats._names(scope.named, asked),
                             period=self.stats._period(period, asked))
        return [ui.upload(job.chat_id, "sendPhoto", str(path), "supervision.png", caption)]

    def chart(self, lang: str, period: Period, scope: Scope,
              found: Figures) -> tuple[str, list[Panel], dict[str, str]]:
        """The chart's words and panels: problems per unit (reported, passed), the on-time
        rate per unit, coverage per kind of point and per inspection group."""
        t = self.env.t

        def raw(key: str, **values: Any) -> str:  # matplotlib text, not HTML
            return t.raw(lang, key).format(**values)

        units = sorted(found.by_unit.items(), key=lambda kv: (-kv[1].reported, kv[0]))
        timely = sorted(found.unit_due.items(), key=lambda kv: (-kv[1][0], kv[0]))
        panels = [
            Panel(raw("sstats.chart.by_unit"),
                  [Bar(self.unit_name(k, lang), r.reported, r.passed) for k, r in units]),
            Panel(raw("sstats.chart.on_time"),
                  [Bar(self.unit_name(k, lang), due, on) for k, (due, on) in timely],
                  [100 * on / due if due else None for _, (due, on) in timely]),
            Panel(raw("sstats.chart.coverage"),
                  [Bar(raw(f"sstats.kind.{kind}"), n[0], n[1])
                   for kind, n in found.by_kind.items()]),
            Panel(raw("sstats.chart.groups"),
                  [Bar(g.name, g.points, g.visited) for g in found.groups]),
        ]
        title = raw("sstats.chart.title", area=self.stats._names(scope.named, lang),
                    period=self.stats._period(period, lang))
        return title, panels, {"whole": raw("sstats.chart.whole"),
                               "part": raw("sstats.chart.part")}

    # -- /export problems --------------------------------------------------------------------

    async def export(self, unit: ActorUnit, chat_id: int, args: list[str],
                     area_ids: list[str] | None, area_label: str) -> None:
        """Queue the problems' XLSX and CSV for a period (default: all time)."""
        tree, tz = self.env.config.areas, self.env.config.timezone
        if self.registers() is None:
            unit.send(ui.message(chat_id, unit.t("supervision.off")))
            return
        periods = [a for a in args if looks_like_period(a, tree)]
        period = parse_period(periods[0] if periods else "all", unit.now(), tz)
        if period is None:
            unit.send(ui.message(chat_id, unit.t("export.bad_period", word=periods[0])))
            return
        with unit.repo.on_thread():
            rows = await unit.repo.supervision.problems_touching(period.start, period.end,
                                                                 area_ids)
        count = sum(1 for p in rows if period.start <= p.reported_at < period.end)
        if not count:
            unit.send(ui.message(chat_id, unit.t("sstats.export_nothing", period=period.label,
                                                 area=area_label)))
            return
        await self.jobs.submit(unit.repo, "problems", chat_id, unit.user_id, unit.language, {
            "start": period.start, "end": period.end, "area_ids": area_ids,
            "period": period.label, "area": area_label})
        unit.send(ui.message(chat_id, unit.t("sstats.preparing", count=count,
                                             period=period.label, area=area_label)))

    async def export_job(self, job: Job) -> list[Outgoing]:
        """Write the problems' CSV and XLSX (in a worker thread) and send them."""
        p, lang = job.params, job.language
        async with self.env.db.reading() as repo:
            touching = await repo.supervision.problems_touching(p["start"], p["end"],
                                                                p["area_ids"])
            groups = dict(await repo.supervision.groups())
        rows = [x for x in touching if p["start"] <= x.reported_at < p["end"]]
        rows.sort(key=lambda x: x.ref)
        table = [[self.env.t.raw(lang, f"sstats.column.{c}") for c in COLUMNS]]
        table += [self.values(problem, groups, lang) for problem in rows]
        csv_path = self.jobs.file_path(job, "problems.csv")
        xlsx_path = self.jobs.file_path(job, "problems.xlsx")
        await asyncio.to_thread(write_table, table, csv_path, xlsx_path)
        stem = f"problems-{p['period']}".replace("..", "_")
        caption = self.env.t(lang, "sstats.export_caption", period=p["period"], area=p["area"],
                             rows=len(rows))
        return [ui.upload(job.chat_id, "sendDocument", str(xlsx_path), f"{stem}.xlsx", caption),
                ui.upload(job.chat_id, "sendDocument", str(csv_path), f"{stem}.csv", caption)]

    def values(self, problem: Problem, groups: dict[int, str], lang: str) -> list[Any]:
        """One problem's row: where, what, its dates, where it stands, counts and photos."""
        t, tz, now = self.env.t, self.env.config.timezone, self.env.now()
        registers = self.registers()
        point = registers.points.get(problem.point_id) if registers is not None else None

        def when(at: float | None) -> str:
            return "" if at is None else f"{datetime.fromtimestamp(at, tz):%Y-%m-%d %H:%M}"

        timely = ""
        if problem.due_at is not None and problem.status != PROBLEM_RETURNED:
            if problem.rectified_at is not None:
                timely = "yes" if problem.rectified_at <= problem.due_at else "no"
            elif problem.due_at < now:
                timely = "no"
        late = (days_between(problem.due_at, now, tz) if problem.status == PROBLEM_RECEIVED
                and problem.due_at is not None and problem.due_at < now else "")
        return [problem.ref, when(problem.reported_at), problem.point_id,
                self.point_name(problem.point_id, lang),
                t.raw(lang, f"sstats.kind.{point.kind}") if point is not None else "",
                self.area_name(problem.area_id, lang) if problem.area_id else "",
                problem.unit_id, self.unit_name(problem.unit_id, lang),
                self.type_name(problem.type, lang), problem.severity,
                t.raw(lang, f"dispatch.status_{problem.status}"),
                groups.get(problem.group_id, "") if problem.group_id is not None else "",
                when(problem.received_at), when(problem.due_at), when(problem.rectified_at),
                when(problem.passed_at), problem.rejections, problem.extensions,
                t.raw(lang, f"sstats.word.{timely}") if timely else "", late,
                len(problem.before_photos), len(problem.after_photos),
                problem_link(self.env, problem.ref)]

    # -- the weekly report -------------------------------------------------------------------

    async def weekly(self, unit: Unit, period: str, start: float, end: float) -> None:
        """Last week's figures and the overdue list to the admin chat (else each centre
        admin in private), in the district's language."""
        if self.registers() is None:
            return
        env, lang = self.env, self.env.config.default_language
        tz = env.config.timezone
        first = datetime.fromtimestamp(start, tz).date()
        last = datetime.fromtimestamp(end - 1, tz).date()
        shown = Period(first, last, start, end, f"{first.isoformat()}..{last.isoformat()}")
        tree = env.config.areas
        scope = Scope(None, (), () if tree is None else
                      tuple(a.id for a in tree.children(tree.root)))
        found = await self.figures(unit.repo, start, end, None)
        title = env.t(lang, "sstats.weekly_title", week=period, first=first.isoformat(),
                      last=last.isoformat())
        lines = self.text(lang, shown, scope, found, title=title, whole=False)
        # Caught up at night, it waits in private for the morning (bot/night.py).
        for chat in env.config.admin_chats():
            unit.send(night.all_at_night(env, "sstats.weekly",
                                         [ui.message(chat, part) for part in ui.chunks(lines)]))
        # Each area admin gets their areas' week too, in private and in their language, as
        # with the daily digest; areas where nothing was reported, visited or overdue: nothing.
        admins = {user_id for user_id, _ in await unit.repo.people.grant_list()
                  if user_id not in env.config.admin_ids}
        for user_id in sorted(admins):
            role = await self.roles.of(unit.repo, user_id)
            if role is None or role.centre or not role.areas:
                continue
            theirs = self.stats.default_scope(role)
            mine = await self.figures(unit.repo, start, end, theirs.area_ids)
            if not (mine.anything or mine.overdue):
                continue
            user = await unit.repo.people.user(user_id)
            their = env.t.language_for(user.language if user else None, None)
            heading = env.t(their, "report.area_title", title=Raw(env.t(
                their, "sstats.weekly_title", week=period, first=first.isoformat(),
                last=last.isoformat())), areas=self.stats._names(role.areas, their))
            mine_lines = self.text(their, shown, theirs, mine, title=heading, whole=False)
            unit.send(night.all_at_night(env, "sstats.weekly", [
                ui.message(user_id, part) for part in ui.chunks(mine_lines)]))


COLUMNS = ("ref", "reported", "point_id", "point", "kind", "area", "unit_id", "unit", "type",
           "severity", "status", "group", "received", "due", "rectified", "passed",
           "rejections", "extensions", "on_time", "days_overdue", "before_photos",
           "after_photos", "photos")


def _params(period: Period, scope: Scope) -> dict[str, Any]:
    return {"first": period.first.isoformat(), "last": period.last.isoformat(),
            "start": period.start, "end": period.end, "label": period.label,
            "area_ids": scope.area_ids, "named": list(scope.named), "rows": list(scope.rows)}


def _period(params: dict[str, Any]) -> Period:
    return Period(date.fromisoformat(params["first"]), date.fromisoformat(params["last"]),
                  params["start"], params["end"], params["label"])
