"""/stats [period] [area]: figures for a period and an area, with a chart drawn in the background.

What the figures mean: they describe the **cohort of requests collected (created) in the
period** in the area's subtree, and where those requests are now. So a period's figures settle
as its requests are worked on, and every period is counted the same way. Counted apart:
collected; dispatched, claimed, done by a volunteer (each: reached at least once); closed
confirmed by the citizen; closed without confirmation; reopened (at least once); cancelled by
the citizen; cancelled by an admin; handed to supervision (/toproblem: a responsible unit's,
shown when there are any, with their own ratings); still open, by status. Completion rate =
closed ÷ (collected − cancelled by the citizen − handed to supervision), with the confirmed
share (confirmed ÷ closed) beside it.
The median waits from creation to the first claim and to the first "done" are lower medians.
Satisfaction is the average of the cohort's ratings with their spread. "Overdue now" is not
bound to the period: the open requests in the area (waiting or claimed) past their policy.
The breakdowns count collected / closed by category and by area one level below the one asked
(institutes for the district, stations for an institute); requests with no finer area count
as "not given".

Centre admins see any area (by default the whole district); area admins see their granted
areas' subtrees (by default all of them) and are refused elsewhere. The text answers at once;
the chart (per day, or per week or month past DAYS_SHOWN_BY_DAY days) is a background job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import ui
from bot.context import Env
from bot.i18n import Raw
from bot.people.roles import Role, Roles
from bot.reports import charts
from bot.reports.activities import ActivityFigures
from bot.reports.charts import Bar, Chart
from bot.reports.periods import Period, looks_like_period, parse_period, whole_time
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.schedule.jobs import Jobs
from bot.unit import ActorUnit, Unit
from storage import Outgoing, SnapshotReader
from storage import stats as sql
from storage.models import OPEN_STATUSES, Job
from storage.stats import Cohort, Counts

log = logging.getLogger(__name__)

ROWS_SHOWN = 10  # breakdown rows in the text; the chart shows a few more
DAYS_SHOWN_BY_DAY = 92  # longer periods are charted by week, past WEEKS_UNTIL days by month
WEEKS_UNTIL = 400
NOT_GIVEN = ""  # the breakdown row of requests with no (finer) area


@dataclass(frozen=True)
class Scope:
    """What a /stats counts: its areas (None: everything), the areas named in its title (none:
    the whole district) and the rows of its area breakdown."""

    area_ids: list[str] | None
    named: tuple[str, ...]
    rows: tuple[str, ...]


class Statistics:
    """Answers /stats [period] [area] with text now and a PNG chart from a background job."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, jobs: Jobs,
                 activities: ActivityFigures | None = None) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        self.jobs = jobs
        self.activities = activities  # loop 2's section, after the requests' (None: none)
        # Loop 3's line, pointing to /sstats (bot/reports/supervision.py; set by wiring).
        self.supervision: (Callable[[Unit, str, Period, Scope], Awaitable[list[str]]]
                           | None) = None
        jobs.register("chart", self.chart_job)

    # -- the command ------------------------------------------------------------------------

    async def stats(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """Send the figures for a period (default: all time) in an area (default: the
        admin's whole reach), then queue their chart."""
        t = self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        role = await self.roles.of(repo, who.user_id)
        if role is None:
            lines = [t(lang, "admin.not_admin")]
        else:
            asked = self.read_args(role, args, lang)
            if isinstance(asked, str):
                lines = [asked]
            else:
                period, scope = asked
                with repo.on_thread():  # a year of requests: not on the event loop
                    found = await sql.cohort(repo, period.start, period.end, scope.area_ids)
                lines = self.text(lang, period, scope, found)
                if self.activities is not None:
                    areas = None if scope.area_ids is None else list(scope.area_ids)
                    section = await self.activities.lines(unit, lang, period.start,
                                                          period.end, areas)
                    lines += section
                    if section:  # its chart follows the requests' one
                        await self.activities.submit_chart(unit, chat_id, lang, period.start,
                                                           period.end, areas, period.label)
                if self.supervision is not None:
                    lines += await self.supervision(unit, lang, period, scope)
                if found.total.collected:
                    await self.jobs.submit(repo, "chart", chat_id, who.user_id, lang,
                                           _params(period, scope))
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    def read_args(self, role: Role, args: list[str], lang: str) -> tuple[Period, Scope] | str:
        """Read `[period] [area]` in any order; a one-line explanation if they are wrong."""
        t, config = self.env.t, self.env.config
        tree = self.env.config.areas
        periods = [word for word in args if looks_like_period(word, tree)]
        areas = [word for word in args if not looks_like_period(word, tree)]
        if len(periods) > 1 or len(areas) > 1:
            return t(lang, "stats.usage")
        period = whole_time(self.env.now(), config.timezone)
        if periods:
            parsed = parse_period(periods[0], self.env.now(), config.timezone)
            if parsed is None:
                return t(lang, "stats.bad_period", period=periods[0])
            period = parsed
        if not areas:
            return period, self.default_scope(role)
        tree, area = config.areas, areas[0].strip().lower()
        if tree is None or area not in tree:
            return t(lang, "stats.unknown_area", area=areas[0])
        if area == tree.root and role.centre:
            return period, self.default_scope(role)
        if area == tree.root or not role.covers(area):
            return t(lang, "stats.outside", area=render.area_name(self.env, area, lang),
                     yours=self._names(role.areas, lang))
        return period, Scope(tree.subtree(area), (area,), tuple(a.id for a in tree.children(area)))

    def default_scope(self, role: Role) -> Scope:
        """A centre admin's whole district, or all of an area admin's areas."""
        tree = self.env.config.areas
        if role.centre or tree is None:
            rows = () if tree is None else tuple(a.id for a in tree.children(tree.root))
            return Scope(None, (), rows)
        if len(role.areas) == 1:
            rows = tuple(a.id for a in tree.children(role.areas[0]))
        else:
            rows = role.areas
        return Scope(role.area_ids(), role.areas, rows)

    # -- the text ---------------------------------------------------------------------------

    def text(self, lang: str, period: Period, scope: Scope, found: Cohort) -> list[str]:
        """The figures as lines of one message."""
        t, total = self.env.t, found.total
        lines = [
            t(lang, "stats.title", area=self._names(scope.named, lang),
              period=self._period(period, lang)),
            t(lang, "stats.cohort"),
            t(lang, "stats.collected", count=total.collected),
            t(lang, "stats.steps", dispatched=total.dispatched, claimed=total.claimed,
              done=total.done),
            t(lang, "stats.closed", closed=total.closed, confirmed=total.confirmed,
              unconfirmed=total.unconfirmed),
            t(lang, "stats.reopened", count=total.reopened),
            t(lang, "stats.cancelled", citizen=total.cancelled_by_citizen,
              admin=total.cancelled_by_admin),
            *self._handed(total, lang),
            *self._joined(found, lang),
            t(lang, "stats.rate", rate=self.percent(total.completion, lang),
              share=self.percent(total.confirmed_share, lang)),
            t(lang, "stats.open", count=sum(total.open.values())),
            *(t(lang, "stats.open_line", status=t(lang, f"stats.status.{status}"),
                count=total.open[status]) for status in OPEN_STATUSES),
            t(lang, "stats.waits", claim=self.duration(found.claim_wait, lang),
              done=self.duration(found.done_wait, lang)),
            self._satisfaction(total, lang),
            t(lang, "stats.overdue", count=found.overdue_now),
            *self._neighbours(found, lang),
        ]
        if found.by_category:
            lines.append(t(lang, "stats.by_category"))
            lines += self._rows(self.category_rows(found, lang), lang)
        if scope.rows:
            lines.append(t(lang, "stats.by_area"))
            lines += self._rows(self.area_rows(scope, found, lang), lang)
        return lines

    def category_rows(self, found: Cohort, lang: str) -> list[Bar]:
        """Collected and closed by category, most collected first."""
        rows = [Bar(render.category_name(self.env, code, lang), counts.collected, counts.closed)
                for code, counts in found.by_category.items()]
        return sorted(rows, key=lambda bar: (-bar.collected, bar.label))

    def area_rows(self, scope: Scope, found: Cohort, lang: str) -> list[Bar]:
        """Collected and closed by breakdown row (areas one level down), most collected
        first; requests with no finer area count as "not given"."""
        tree = self.env.config.areas
        owner: dict[str | None, str] = {}
        if tree is not None:
            for area_id in found.by_area:
                ancestry = [] if area_id is None or area_id not in tree else tree.ancestry(area_id)
                owner[area_id] = next((a for a in ancestry if a in scope.rows), NOT_GIVEN)
        totals: dict[str, list[int]] = {}
        for area_id, counts in found.by_area.items():
            row = totals.setdefault(owner.get(area_id, NOT_GIVEN), [0, 0])
            row[0] += counts.collected
            row[1] += counts.closed
        not_given = self.env.t.raw(lang, "stats.not_given")
        rows = [Bar(render.area_name(self.env, area, lang) if area != NOT_GIVEN else not_given,
                    collected, closed)
                for area, (collected, closed) in totals.items()]
        return sorted(rows, key=lambda bar: (-bar.collected, bar.label))

    def _rows(self, rows: list[Bar], lang: str) -> list[str]:
        t = self.env.t
        lines = [t(lang, "stats.row", name=bar.label, collected=bar.collected, closed=bar.closed)
                 for bar in rows[:ROWS_SHOWN]]
        if len(rows) > ROWS_SHOWN:
            lines.append(t(lang, "stats.more", count=len(rows) - ROWS_SHOWN))
        return lines

    def _handed(self, total: Counts, lang: str) -> list[str]:
        """Requests an admin handed to supervision (/toproblem), apart: neither done by
        volunteers nor cancelled, out of the completion rate's base; their ratings (of the
        unit's work) apart from the volunteers' satisfaction. Nothing when there are none."""
        if not total.handed:
            return []
        rated = sum(total.handed_ratings)
        if not rated:
            return [self.env.t(lang, "stats.handed", count=total.handed)]
        average = sum(s * n for s, n in enumerate(total.handed_ratings)) / rated
        return [self.env.t(lang, "stats.handed_rated", count=total.handed, rated=rated,
                           average=f"{average:.2f}")]

    def _joined(self, found: Cohort, lang: str) -> list[str]:
        """Neighbours who joined one of these requests at intake (the duplicate check): not
        requests, so in no count or rate above; their own ratings apart. Nothing when none."""
        if not found.joined:
            return []
        if not found.joined_rated:
            return [self.env.t(lang, "stats.joined", count=found.joined)]
        average = found.joined_stars / found.joined_rated
        return [self.env.t(lang, "stats.joined_rated", count=found.joined,
                           rated=found.joined_rated, average=f"{average:.2f}")]
    def _neighbours(self, found: Cohort, lang: str) -> list[str]:
        """Requests helpers filed for neighbours, and how the neighbours' confirmations were
        obtained (by phone, in person) apart. Nothing when there are none."""
        filed = found.neighbours
        if not filed.filed:
            return []
        return [self.env.t(lang, "stats.neighbours", count=filed.filed, phone=filed.by_phone,
                           in_person=filed.in_person, auto=filed.closed_unconfirmed)]

    def _satisfaction(self, total: Counts, lang: str) -> str:
        t = self.env.t
        average = total.satisfaction
        if average is None:
            return t(lang, "stats.satisfaction_none")
        spread = t.raw(lang, "stats.separator").join(
            t(lang, "stats.stars", stars=stars, count=total.ratings[stars])
            for stars in range(5, 0, -1))
        return t(lang, "stats.satisfaction", average=f"{average:.2f}", count=total.rated,
                 spread=Raw(spread))

    def _names(self, areas: tuple[str, ...], lang: str) -> str:
        """The areas' names as plain text (none: the whole district)."""
        t = self.env.t
        if not areas:
            return t.raw(lang, "area.district")
        return render.area_names(self.env, areas, lang)

    def _period(self, period: Period, lang: str) -> str:
        return self.env.t.raw(lang, "stats.all_time") if period.label == "all" else period.label

    def percent(self, share: float | None, lang: str) -> str:
        """A share as /stats writes it ("50.00%"), or "—" when there is no base."""
        return self.env.t(lang, "stats.none") if share is None else f"{100 * share:.2f}%"

    def duration(self, seconds: float | None, lang: str) -> str:
        """A wait the way people say it: "23 min", "5 h 12 min", "2 d 3 h"."""
        t = self.env.t
        if seconds is None:
            return t(lang, "stats.none")
        minutes = int(seconds // 60)
        if minutes < 1:
            return t(lang, "stats.under_a_minute")
        hours, minute = divmod(minutes, 60)
        if hours < 1:
            return t(lang, "stats.minutes", m=minute)
        days, hour = divmod(hours, 24)
        if days < 1:
            return t(lang, "stats.hours", h=hour, m=minute)
        return t(lang, "stats.days", d=days, h=hour)

    # -- the chart --------------------------------------------------------------------------

    async def chart_job(self, job: Job) -> list[Outgoing]:
        """Draw the chart a /stats asked for, off the event loop, and send it as a photo."""
        path = self.jobs.file_path(job, "stats.png")
        caption = await asyncio.to_thread(self.draw, job, path, self.env.db.snapshot_reader())
        return [ui.upload(job.chat_id, "sendPhoto", str(path), "stats.png", caption)]

    def draw(self, job: Job, path: Path, reader: SnapshotReader) -> str:
        """Read the figures from `reader` (a read-only connection of its own), draw them into
        `path` and return the caption (blocking: runs in a worker thread)."""
        params, config = job.params, self.env.config
        period = Period(date.fromisoformat(params["first"]), date.fromisoformat(params["last"]),
                        params["start"], params["end"], params["label"])
        scope = Scope(params["area_ids"], tuple(params["named"]), tuple(params["rows"]))
        tz = config.timezone
        offset = datetime.fromtimestamp(period.start, tz).utcoffset() or timedelta(0)
        shift = int(offset.total_seconds()) % 3600
        found, hours = reader.chart_rows(period.start, period.end, scope.area_ids, shift)
        font = charts.cjk_font()
        # Without a font for Chinese the chart speaks English; the text stayed in Chinese.
        lang = job.language if font is not None or job.language == "en" else "en"
        chart = self.chart(lang, period, scope, found, hours, shift)
        charts.render(chart, path, font)
        asked = job.language
        return self.env.t(asked, "stats.chart_caption", area=self._names(scope.named, asked),
                          period=self._period(period, asked))

    def chart(self, lang: str, period: Period, scope: Scope, found: Cohort,
              hours: list[tuple[int, int, int, int]], shift: int) -> Chart:
        """The chart's bars and words: per day (or week, or month) with the running
        completion rate, then the breakdowns."""
        t, tz = self.env.t, self.env.config.timezone
        per_day: dict[date, list[int]] = {}
        for hour, collected, closed, cancelled in hours:
            day = datetime.fromtimestamp(hour * 3600 - shift, tz).date()
            figures = per_day.setdefault(day, [0, 0, 0])
            figures[0] += collected
            figures[1] += closed
            figures[2] += cancelled
        today = datetime.fromtimestamp(self.env.now(), tz).date()
        first = min(per_day, default=today) if period.label == "all" else period.first
        last = max(min(period.last, today), first)
        span = (last - first).days + 1
        unit = ("day" if span <= DAYS_SHOWN_BY_DAY else "week" if span <= WEEKS_UNTIL
                else "month")
        buckets: dict[date, list[int]] = {}
        day = first
        while day <= last:
            figures = buckets.setdefault(_bucket(day, unit), [0, 0, 0])
            for n, value in enumerate(per_day.get(day, [0, 0, 0])):
                figures[n] += value
            day += timedelta(days=1)
        series, rates, sums = [], [], [0, 0, 0]
        for start, (collected, closed, cancelled) in buckets.items():
            series.append(Bar(start.strftime("%Y-%m" if unit == "month" else "%m-%d"),
                              collected, closed))
            sums = [sums[0] + collected, sums[1] + closed, sums[2] + cancelled]
            base = sums[0] - sums[2]
            rates.append(100 * sums[1] / base if base > 0 else None)

        def raw(key: str, **values: Any) -> str:  # matplotlib text, not HTML
            return t.raw(lang, key).format(**values)

        return Chart(
            title=raw("stats.chart.title", area=self._names(scope.named, lang),
                      period=self._period(period, lang)),
            series_title=raw(f"stats.chart.per_{unit}"),
            series=series,
            rates=rates,
            categories_title=raw("stats.chart.by_category"),
            categories=self.category_rows(found, lang),
            areas_title=raw("stats.chart.by_area"),
            areas=self.area_rows(scope, found, lang) if scope.rows else [],
            words={"collected": raw("stats.chart.collected"), "closed": raw("stats.chart.closed"),
                   "rate": raw("stats.chart.rate")},
        )



def _bucket(day: date, unit: str) -> date:
    """The first day of the day's bucket: itself, its week's Monday or its month's first."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _params(period: Period, scope: Scope) -> dict[str, Any]:
    """What the chart job needs to draw the same figures."""
    return {"first": period.first.isoformat(), "last": period.last.isoformat(),
            "start": period.start, "end": period.end, "label": period.label,
            "area_ids": scope.area_ids, "named": list(scope.named), "rows": list(scope.rows)}
