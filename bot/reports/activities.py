"""The activities' figures (issue 15.9): in /stats, a section on loop 2 for the same period
and scope (activities held and cancelled, places, sign-ups, attendance, no-shows, verified
hours, formal volunteers, and the activities by month, theme, area and team); and
`/export activities [period] [area]`, a CSV and an XLSX of every activity with its figures.

An area admin sees the activities of their areas; those of the whole district (no area) are
the centre admins'. Names of volunteers are in neither: these are counts.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import ui
from bot.activities import render as activity_render
from bot.activities.themes import MonthThemes
from bot.context import Env
from bot.reports import charts
from bot.reports.periods import Period, looks_like_period, parse_period
from bot.reports.tables import write_table
from bot.requests import render
from bot.schedule.jobs import Jobs
from bot.unit import ActorUnit, Unit
from storage import Job, Outgoing

ROWS_SHOWN = 8  # per breakdown in /stats; the export has everything


class ActivityFigures:
    """Loop 2's part of /stats, and /export activities."""

    def __init__(self, env: Env, themes: MonthThemes, jobs: Jobs) -> None:
        self.env = env
        self.themes = themes
        self.jobs = jobs
        jobs.register("activities", self.export_job)
        jobs.register("activities_chart", self.chart_job)

    async def lines(self, unit: Unit, lang: str, start: float, end: float,
                    area_ids: list[str] | None) -> list[str]:
        """The activities section of /stats; nothing when no activity falls in the period
        and nobody is a formal volunteer of its year (hours of requests alone make one)."""
        with unit.repo.on_thread():  # a year of activities: not on the event loop
            rows = await unit.repo.activities.figures(start, end, area_ids)
        t = self.env.t
        year = datetime.fromtimestamp(min(unit.now(), end - 1), self.env.config.timezone).year
        formal_count = await unit.repo.activities.formal_count(year, area_ids)
        formal = t(lang, "activity_stats.formal", year=year, count=formal_count)
        if not rows:
            return [t(lang, "activity_stats.title"), formal] if formal_count else []
        held = held_of(rows)
        confirmed = [r for r in held if r["confirmed_at"] is not None]
        signed = sum(r["signed"] for r in confirmed)
        attended = sum(r["attended"] for r in confirmed)
        calls = sum(1 for r in held if r["kind"] == "call")  # counted with the rest, named apart
        lines = [
            t(lang, "activity_stats.title"),
            t(lang, "activity_stats.held", held=len(held), cancelled=len(rows) - len(held),
              confirmed=len(confirmed)),
            *([t(lang, "activity_stats.calls", calls=calls)] if calls else []),
            t(lang, "activity_stats.signups", places=sum(r["capacity"] for r in held),
              signed=sum(r["signed"] for r in held), waiting=sum(r["waiting"] for r in held)),
            t(lang, "activity_stats.attendance", attended=attended, signed=signed,
              rate=f"{100 * attended / signed:.1f}%" if signed else "—",
              no_shows=sum(r["no_shows"] for r in confirmed)),
            t(lang, "activity_stats.hours", hours=hours_text(sum(r["hours"] for r in held))),
            formal,
        ]
        tz = self.env.config.timezone
        by_month = tally_by_month(held, tz)
        by_theme = _tally(held, lambda r: (r["theme_year"], r["theme_month"]))
        by_area = _tally(held, lambda r: r["area_id"])
        by_team = _tally(held, lambda r: r["team_id"])
        lines.append(t(lang, "activity_stats.by_month"))
        lines += self._rows(lang, ((month, *n) for month, n in sorted(by_month.items())))
        lines.append(t(lang, "activity_stats.by_theme"))
        themed = []
        for key, n in by_theme.items():
            themed.append((await self._theme(unit, key, lang), *n))
        lines += self._rows(lang, sorted(themed, key=lambda row: (-row[1], row[0])))
        lines.append(t(lang, "activity_stats.by_area"))
        lines += self._rows(lang, sorted(
            ((render.area_name(self.env, key, lang) if key else t(lang, "export.district"), *n)
             for key, n in by_area.items()), key=lambda row: (-row[1], row[0])))
        lines.append(t(lang, "activity_stats.by_team"))
        lines += self._rows(lang, sorted(
            ((activity_render.team_name(self.env, key, lang), *n) for key, n in by_team.items()),
            key=lambda row: (-row[1], row[0])))
        return lines

    # -- the chart ---------------------------------------------------------------------------

    async def submit_chart(self, unit: ActorUnit, chat_id: int, lang: str, start: float,
                           end: float, area_ids: list[str] | None, label: str) -> None:
        """Queue the activities' chart of a /stats that had activities to show."""
        await self.jobs.submit(unit.repo, "activities_chart", chat_id, unit.user_id, lang,
                               {"start": start, "end": end, "area_ids": area_ids,
                                "label": label})

    async def chart_job(self, job: Job) -> list[Outgoing]:
        """Draw who signed up and who came, by month, theme, area and team, as a photo."""
        p, asked = job.params, job.language
        async with self.env.db.reading() as repo:
            rows = await repo.activities.figures(p["start"], p["end"], p["area_ids"])
            held = held_of(rows)
            themes = {}
            for row in held:
                key = (row["theme_year"], row["theme_month"])
                if key[0] is not None and key not in themes:
                    shown = await self.themes.in_months(repo, [key], asked)
                    themes[key] = shown[key].title if key in shown else f"{key[0]}-{key[1]:02d}"
        font = await asyncio.to_thread(charts.cjk_font)
        lang = asked if font is not None or asked == "en" else "en"
        t, tz = self.env.t, self.env.config.timezone

        def raw(key: str, **values: Any) -> str:  # matplotlib text, not HTML
            return t.raw(lang, key).format(**values)

        def bars(key: Any, name: Any) -> list[charts.Bar]:
            signed: Counter[Any] = Counter()
            came: Counter[Any] = Counter()
            for row in held:
                signed[key(row)] += row["signed"]
                came[key(row)] += row["attended"]
            return [charts.Bar(name(k), signed[k], came[k])
                    for k in sorted(signed, key=lambda k: (-signed[k], str(k)))]

        def month(row: Any) -> str:
            return f"{datetime.fromtimestamp(row['starts_at'], tz):%Y-%m}"

        panels = [
            charts.Panel(raw("activity_stats.chart.by_month"),
                         sorted(bars(month, str), key=lambda b: b.label)),
            charts.Panel(raw("activity_stats.chart.by_theme"),
                         bars(lambda r: (r["theme_year"], r["theme_month"]),
                              lambda k: themes.get(k) or raw("activity_stats.no_theme"))),
            charts.Panel(raw("activity_stats.chart.by_area"),
                         bars(lambda r: r["area_id"],
                              lambda k: render.area_name(self.env, k, lang) if k
                              else raw("export.district"))),
            charts.Panel(raw("activity_stats.chart.by_team"),
                         bars(lambda r: r["team_id"],
                              lambda k: activity_render.team_name(self.env, k, lang))),
        ]
        path = self.jobs.file_path(job, "activities.png")
        title = raw("activity_stats.chart.title", period=p["label"])
        words = {"whole": raw("activity_stats.chart.signed"),
                 "part": raw("activity_stats.chart.came")}
        await asyncio.to_thread(charts.render_panels, title, panels, path, font, words)
        caption = self.env.t(asked, "activity_stats.chart_caption", period=p["label"])
        return [ui.upload(job.chat_id, "sendPhoto", str(path), "activities.png", caption)]

    def _rows(self, lang: str, rows: Iterable[tuple[str, int, float]]) -> list[str]:
        listed = list(rows)
        out = [self.env.t(lang, "activity_stats.row", name=name, count=count,
                          hours=hours_text(hours)) for name, count, hours in listed[:ROWS_SHOWN]]
        if len(listed) > ROWS_SHOWN:
            out.append(self.env.t(lang, "activity_stats.more", count=len(listed) - ROWS_SHOWN))
        return out

    async def _theme(self, unit: Unit, key: tuple[int | None, int | None], lang: str) -> str:
        """A theme's title, or "no theme"."""
        year, month = key
        if year is None or month is None:
            return self.env.t(lang, "activity_stats.no_theme")
        theme = await self.themes.theme_of(unit, year, month, lang)
        return theme.title if theme is not None else f"{year}-{month:02d}"

    # -- /export activities ------------------------------------------------------------------

    async def export(self, unit: ActorUnit, chat_id: int, args: list[str],
                     area_ids: list[str] | None, area_label: str) -> None:
        """Queue the activities' CSV and XLSX for a period (default: all time)."""
        lang, tz = unit.language, self.env.config.timezone
        tree = self.env.config.areas
        periods = [a for a in args if looks_like_period(a, tree)]
        period: Period | None = parse_period(periods[0] if periods else "all", unit.now(), tz)
        if period is None:
            unit.send(ui.message(chat_id, unit.t("export.bad_period", word=periods[0])))
            return
        with unit.repo.on_thread():
            rows = await unit.repo.activities.figures(period.start, period.end, area_ids)
        if not rows:
            unit.send(ui.message(chat_id, unit.t("export.nothing", period=period.label,
                                                 area=area_label)))
            return
        await self.jobs.submit(unit.repo, "activities", chat_id, unit.user_id, lang, {
            "start": period.start, "end": period.end, "area_ids": area_ids,
            "period": period.label, "area": area_label})
        unit.send(ui.message(chat_id, unit.t("activity_stats.preparing", count=len(rows),
                                             period=period.label, area=area_label)))

    async def export_job(self, job: Job) -> list[Outgoing]:
        """Write the activities' CSV and XLSX (in a worker thread) and send them."""
        p, lang = job.params, job.language
        async with self.env.db.reading() as repo:
            rows = await repo.activities.figures(p["start"], p["end"], p["area_ids"])
            themes: dict[tuple[int, int], str] = {}
            for row in rows:
                key = (row["theme_year"], row["theme_month"])
                if key[0] is not None and key not in themes:
                    shown = await self.themes.in_months(repo, [key], lang)
                    themes[key] = shown[key].title if key in shown else f"{key[0]}-{key[1]:02d}"
        table = [self._header(lang)] + [self._values(row, themes, lang) for row in rows]
        csv_path = self.jobs.file_path(job, "activities.csv")
        xlsx_path = self.jobs.file_path(job, "activities.xlsx")
        await asyncio.to_thread(write_table, table, csv_path, xlsx_path)
        stem = f"activities-{p['period']}".replace("..", "_")
        caption = self.env.t(lang, "activity_stats.caption", period=p["period"], area=p["area"],
                             rows=len(rows))
        return [ui.upload(job.chat_id, "sendDocument", str(xlsx_path), f"{stem}.xlsx", caption),
                ui.upload(job.chat_id, "sendDocument", str(csv_path), f"{stem}.csv", caption)]

    def _header(self, lang: str) -> list[str]:
        return [self.env.t(lang, f"activity_stats.column.{name}") for name in _COLUMNS]

    def _values(self, row: Any, themes: dict[tuple[int, int], str], lang: str) -> list[Any]:
        tz = self.env.config.timezone
        key = (row["theme_year"], row["theme_month"])
        return [row["id"], self.env.t(lang, f"activity_stats.kind.{row['kind']}"),
                row["title"], activity_render.team_name(self.env, row["team_id"], lang),
                render.area_name(self.env, row["area_id"], lang) if row["area_id"]
                else self.env.t(lang, "export.district"),
                themes.get(key, ""), row["place"],
                f"{datetime.fromtimestamp(row['starts_at'], tz):%Y-%m-%d %H:%M}",
                f"{datetime.fromtimestamp(row['ends_at'], tz):%Y-%m-%d %H:%M}",
                self.env.t(lang, f"activity_stats.status.{row['status']}"), row["capacity"],
                row["signed"], row["waiting"], row["attended"], row["no_shows"],
                float(row["hours"]),
                self.env.t(lang, "activity_stats.yes" if row["confirmed_at"] else
                           "activity_stats.no")]


_COLUMNS = ("id", "kind", "title", "team", "area", "theme", "place", "starts", "ends", "status",
            "capacity", "signed", "waiting", "attended", "no_shows", "hours", "confirmed")


def hours_text(hours: float) -> str:
    """Hours as /stats writes them: every quarter hour shown (a year's 39,268.75 h is not
    "39268.8", as the six significant digits of :g would have it), no trailing zeros."""
    return f"{hours:.2f}".rstrip("0").rstrip(".")


def held_of(rows: list[Any]) -> list[Any]:
    """The activities held or planned (not cancelled) among `figures` rows: what /stats
    counts as held, and whose confirmed hours it adds up."""
    return [r for r in rows if r["status"] != "cancelled"]


def tally_by_month(held: list[Any], tz: ZoneInfo) -> dict[str, tuple[int, float]]:
    """Activities and confirmed hours by the local month ("2026-03") they start in."""
    return _tally(held, lambda r: f"{datetime.fromtimestamp(r['starts_at'], tz):%Y-%m}")


def _tally(rows: list[Any], key: Any) -> dict[Any, tuple[int, float]]:
    """Activities and hours per key."""
    counts: Counter[Any] = Counter()
    hours: defaultdict[Any, float] = defaultdict(float)
    for row in rows:
        counts[key(row)] += 1
        hours[key(row)] += float(row["hours"])
    return {k: (counts[k], hours[k]) for k in counts}
