"""The public results page (issue 18.5): GET /results and GET /results.csv on the public web
server — what the district reports upward, for a year, in zh or en, with charts and a CSV.

The figures are /stats' own, read through the same storage queries for the whole district:
the requests received (created) in the year, and in each month, counted by where they are now
(storage.stats.cohort: received, completed, confirmed by the citizen, closed without
confirmation — auto-closed —, cancelled by the citizen or an admin, handed to a unit, open;
the completion rate leaves out those cancelled by the citizen and those handed to a unit;
the lower medians of the waits to the first claim and to the first "done"), by category
(with the same medians per category: storage.stats.category_waits);
and loop 2's activities starting in the year (held or planned, their confirmed hours, the
year's formal volunteers), by month. Counts only: no name, phone, address, place or title.

Language: `?lang=zh|en`, else the browser's Accept-Language, else zh. Year: `?year=2026`,
this year (by the injected clock) by default; anything else is a polite 400 page. A year's
figures are read at most once a minute (CACHE_SECONDS) however many ask, one reading at a
time, each query in a turn of its own at the database, so the page cannot load it; while a
reading is under way, visitors get the previous figures (up to STALE_SECONDS old) at once.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.config import LANGUAGES
from bot.context import Env
from bot.reports.activities import held_of, hours_text, tally_by_month
from bot.reports.charts import CLOSED, COLLECTED, RATE
from bot.reports.periods import EPOCH_DAY, Period, parse_period
from bot.reports.stats import Statistics
from bot.reports.tables import safe
from bot.requests import render
from bot.web import svg
from storage import stats as sql
from storage.stats import Cohort, Counts

CACHE_SECONDS = 60.0
STALE_SECONDS = 600.0  # older figures are dropped, not shown while others are read
DEFAULT_LANGUAGE = "zh"  # the district's language; en on request or by the browser's wish
FIRST_YEAR = EPOCH_DAY.year  # "all" in /stats starts here: no request is older
_YEAR = re.compile(r"^[0-9]{4}$")  # not \d: "２０２６" is no year in a link
SHOWN_INPUT = 40  # characters of a wrong year quoted back on the 400 page
# A page of our own markup only: no script, nothing fetched from elsewhere.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": f"public, max-age={int(CACHE_SECONDS)}",
    # The language follows Accept-Language when ?lang= is not given: a shared cache (the
    # reverse proxy) must keep each language apart, or serve the first visitor's to all.
    "Vary": "Accept-Language",
}
# The requests' figures, in the order of the page and the CSV.
REQUEST_FIGURES = ("received", "completed", "confirmed", "auto_closed", "cancelled_citizen",
                   "cancelled_admin", "handed", "open")
AUTO_CLOSED = "#fd8d3c"


@dataclass(frozen=True)
class Figures:
    """A year's figures, as read at `read_at`."""

    year: int
    total: Cohort
    category_waits: dict[str, tuple[float | None, float | None]]  # code: (to claim, to done)
    months: list[tuple[str, Cohort]]  # ("2026-03", its cohort), up to this month
    activities_held: int
    activities_cancelled: int
    hours: float
    formal: int
    activity_months: dict[str, tuple[int, float]]  # "2026-03": (activities, hours)
    first_year: int  # the year of the first request (the selector's first)
    read_at: float


def counts_of(counts: Counts) -> dict[str, int]:
    """The requests' figures of a cohort (or one of its rows), as /stats counts them."""
    return {"received": counts.collected, "completed": counts.closed,
            "confirmed": counts.confirmed, "auto_closed": counts.unconfirmed,
            "cancelled_citizen": counts.cancelled_by_citizen,
            "cancelled_admin": counts.cancelled_by_admin, "handed": counts.handed,
            "open": sum(counts.open.values())}


class ResultsPage:
    """Serves /results and /results.csv from figures cached for CACHE_SECONDS."""

    def __init__(self, env: Env, stats: Statistics) -> None:
        self.env = env
        self.stats = stats  # /stats' way of writing rates and waits
        self._cache: dict[int, Figures] = {}
        self._reading = asyncio.Lock()

    def routes(self) -> list[web.RouteDef]:
        """The page's routes, unless `[web] results = false`."""
        if not self.env.config.web.results:
            return []
        return [web.get("/results", self.page), web.get("/results.csv", self.csv)]

    # -- the requests ------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        """The page for the asked year, or a 400 page naming what was wrong."""
        lang = language_of(request)
        year = self.year_of(request)
        if isinstance(year, str):
            return self._refusal(lang, year)
        figures = await self.figures(year)
        return web.Response(text=self.html(lang, figures), content_type="text/html",
                            charset="utf-8", headers=HEADERS)

    async def csv(self, request: web.Request) -> web.Response:
        """The same figures as CSV (UTF-8 with a BOM, so Excel reads the Chinese)."""
        lang = language_of(request)
        year = self.year_of(request)
        if isinstance(year, str):
            return self._refusal(lang, year)
        figures = await self.figures(year)
        out = io.StringIO()
        writer = csv.writer(out)
        for row in self.table(lang, figures):
            writer.writerow([safe(value) for value in row])
        return web.Response(
            body=("\ufeff" + out.getvalue()).encode("utf-8"),
            headers={**HEADERS, "Content-Type": "text/csv; charset=utf-8",
                     "Content-Disposition": f'attachment; filename="results-{year}.csv"'})

    def year_of(self, request: web.Request) -> int | str:
        """The asked year (this one by default), or the wrong input as asked."""
        this_year = self.env.local_year()
        asked = request.query.get("year", "").strip()
        if not asked:
            return this_year
        if _YEAR.match(asked) and FIRST_YEAR <= int(asked) <= this_year:
            return int(asked)
        return asked[:SHOWN_INPUT]

    # -- the figures -------------------------------------------------------------------------

    async def figures(self, year: int) -> Figures:
        """The year's figures, read again when older than CACHE_SECONDS; one reading at a
        time, so a burst of visitors costs one. While one is under way, whoever finds older
        figures gets them at once (a year of a million requests takes seconds to read)."""
        cached = self._fresh(year)
        if cached is not None:
            return cached
        stale = self._stale(year)
        if stale is not None and self._reading.locked():
            return stale
        async with self._reading:
            cached = self._fresh(year)  # read meanwhile by whoever held the lock
            if cached is not None:
                return cached
            figures = await self._read(year)
            now = self.env.now()
            self._cache = {y: f for y, f in self._cache.items()
                           if 0 <= now - f.read_at < STALE_SECONDS}
            self._cache[year] = figures
            return figures

    def _stale(self, year: int) -> Figures | None:
        found = self._cache.get(year)
        if found is not None and 0 <= self.env.now() - found.read_at < STALE_SECONDS:
            return found
        return None

    def _fresh(self, year: int) -> Figures | None:
        found = self._cache.get(year)
        if found is not None and 0 <= self.env.now() - found.read_at < CACHE_SECONDS:
            return found
        return None

    async def _read(self, year: int) -> Figures:
        """Read the year through /stats' queries, each in a turn of its own (updates go on
        between them) and on the database thread (a year is no work for the event loop)."""
        env, now = self.env, self.env.now()
        tz = env.config.timezone
        whole = _period(str(year), now, env)
        today = datetime.fromtimestamp(now, tz).date()
        last_month = 12 if year < today.year else today.month
        total = await self._cohort(whole)
        async with env.db.reading() as repo:
            with repo.on_thread():
                waits = await sql.category_waits(repo, whole.start, whole.end, None)
        months = []
        for month in range(1, last_month + 1):
            label = f"{year}-{month:02d}"
            months.append((label, await self._cohort(_period(label, now, env))))
        async with env.db.reading() as repo:
            with repo.on_thread():
                rows = await repo.activities.figures(whole.start, whole.end, None)
                formal = await repo.activities.formal_count(year, None)
                first = await sql.first_created(repo)
        held = held_of(rows)
        first_year = datetime.fromtimestamp(first, tz).year if first is not None else year
        return Figures(year=year, total=total, category_waits=waits, months=months,
                       activities_held=len(held), activities_cancelled=len(rows) - len(held),
                       hours=sum(float(r["hours"]) for r in held), formal=formal,
                       activity_months=tally_by_month(held, tz),
                       first_year=max(FIRST_YEAR, min(first_year, year)), read_at=now)

    async def _cohort(self, period: Period) -> Cohort:
        async with self.env.db.reading() as repo:
            with repo.on_thread():
                return await sql.cohort(repo, period.start, period.end, None)

    # -- the page ----------------------------------------------------------------------------

    def html(self, lang: str, f: Figures) -> str:
        """The whole page: the year's summary, requests by month and category, activities."""
        t = self.env.t
        total = f.total.total
        parts = [
            self._head(lang, t(lang, "results.title", year=f.year)),
            '<header>', self._languages(lang, f.year),
            f'<h1>{t(lang, "results.heading", year=f.year)}</h1>',
            self._selector(lang, f), '</header>',
            '<main>',
            f'<section id="requests"><h2>{t(lang, "results.requests")}</h2>',
            f'<p class="note">{t(lang, "results.intro")}</p>',
            self._summary(lang, total, f.total),
            f'<p class="note">{t(lang, "results.rate_note")}</p>',
        ]
        if total.collected:
            parts += [self._month_chart(lang, f), self._month_table(lang, f),
                      self._category_chart(lang, f.total), self._category_table(lang, f)]
        else:
            parts.append(f'<p class="empty">{t(lang, "results.no_requests")}</p>')
        parts += ['</section>', self._activities(lang, f), '</main>', self._foot(lang, f),
                  '</body></html>']
        return "\n".join(parts)

    def _head(self, lang: str, title: str) -> str:
        html_lang = "zh-CN" if lang == "zh" else "en"
        return (f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{title}</title><style>{STYLE}</style></head><body>')

    def _link(self, lang: str, year: int, path: str = "/results") -> str:
        return html.escape(f"{path}?{urlencode({'year': year, 'lang': lang})}")

    def _languages(self, lang: str, year: int) -> str:
        """Links to the page in each language, the current one marked."""
        links = []
        for other in LANGUAGES:
            name = self.env.t(lang, f"results.language.{other}")
            if other == lang:
                links.append(f'<strong aria-current="page">{name}</strong>')
            else:
                links.append(f'<a href="{self._link(other, year)}" lang="{other}" '
                             f'hreflang="{other}">{name}</a>')
        return f'<nav class="languages">{" · ".join(links)}</nav>'

    def _selector(self, lang: str, f: Figures) -> str:
        """The year selector: a plain form (no script), a big button."""
        t = self.env.t
        this_year = self.env.local_year()
        options = "".join(
            f'<option value="{y}"{" selected" if y == f.year else ""}>{y}</option>'
            for y in range(this_year, f.first_year - 1, -1))
        return (f'<form method="get" action="/results" class="year">'
                f'<input type="hidden" name="lang" value="{lang}">'
                f'<label for="year">{t(lang, "results.year")}</label> '
                f'<select id="year" name="year">{options}</select> '
                f'<button type="submit">{t(lang, "results.show")}</button></form>')

    def _summary(self, lang: str, counts: Counts, cohort: Cohort) -> str:
        """The year's figures as big numbers, each marked with data-figure."""
        t = self.env.t
        values = counts_of(counts)
        cells = [(name, str(values[name]), t(lang, f"results.figure.{name}"))
                 for name in REQUEST_FIGURES]
        cells += [
            ("rate", self.stats.percent(counts.completion, lang), t(lang, "results.figure.rate")),
            ("confirmed_share", self.stats.percent(counts.confirmed_share, lang),
             t(lang, "results.figure.confirmed_share")),
            ("claim_wait", self.stats.duration(cohort.claim_wait, lang),
             t(lang, "results.figure.claim_wait")),
            ("done_wait", self.stats.duration(cohort.done_wait, lang),
             t(lang, "results.figure.done_wait")),
            ("satisfaction", self._satisfaction(lang, counts),
             t(lang, "results.figure.satisfaction")),
        ]
        return self._cards("year", cells)

    @staticmethod
    def _cards(prefix: str, cells: list[tuple[str, str, str]]) -> str:
        items = "".join(
            f'<div class="figure"><dt>{label}</dt>'
            f'<dd data-figure="{prefix}.{name}">{value}</dd></div>'
            for name, value, label in cells)
        return f'<dl class="figures">{items}</dl>'

    def _satisfaction(self, lang: str, counts: Counts) -> str:
        average = counts.satisfaction
        if average is None:
            return self.env.t(lang, "stats.none")
        return self.env.t(lang, "results.satisfaction", average=f"{average:.2f}",
                          count=counts.rated)

    def _month_chart(self, lang: str, f: Figures) -> str:
        t = self.env.t.raw
        names = t(lang, "results.months").split()
        labels = [names[int(month[5:]) - 1] for month, _ in f.months]
        return svg.columns(
            t(lang, "results.chart.months"), labels,
            svg.Series(t(lang, "results.figure.received"), COLLECTED,
                       [c.total.collected for _, c in f.months]),
            [svg.Series(t(lang, "results.figure.confirmed"), CLOSED,
                        [c.total.confirmed for _, c in f.months]),
             svg.Series(t(lang, "results.figure.auto_closed"), AUTO_CLOSED,
                        [c.total.unconfirmed for _, c in f.months])],
            shown=lambda value: f"{value:g}")

    def _month_table(self, lang: str, f: Figures) -> str:
        head = [*(f"results.figure.{n}" for n in ("received", "completed", "confirmed",
                                                   "auto_closed", "rate", "claim_wait",
                                                   "done_wait"))]
        body = []
        for month, cohort in f.months:
            counts, shown = cohort.total, counts_of(cohort.total)
            body.append((month, [
                ("received", str(shown["received"])), ("completed", str(shown["completed"])),
                ("confirmed", str(shown["confirmed"])),
                ("auto_closed", str(shown["auto_closed"])),
                ("rate", self.stats.percent(counts.completion, lang)),
                ("claim_wait", self.stats.duration(cohort.claim_wait, lang)),
                ("done_wait", self.stats.duration(cohort.done_wait, lang))]))
        return self._table(lang, "months", "results.by_month", "results.month", head, body)

    def _category_rows(self, lang: str, cohort: Cohort) -> list[tuple[str, Counts]]:
        """Categories by name, most received first (as /stats lists them)."""
        return [(name, counts) for name, _, counts in self._categories(lang, cohort)]

    def _categories(self, lang: str, cohort: Cohort) -> list[tuple[str, str, Counts]]:
        """(name, code, counts) of each category, most received first."""
        rows = [(render.category_name(self.env, code, lang), code, counts)
                for code, counts in cohort.by_category.items()]
        return sorted(rows, key=lambda row: (-row[2].collected, row[0]))

    def _category_chart(self, lang: str, cohort: Cohort) -> str:
        t = self.env.t.raw
        rows = self._category_rows(lang, cohort)
        return svg.rows(
            t(lang, "results.chart.categories"), [name for name, _ in rows],
            svg.Series(t(lang, "results.figure.received"), COLLECTED,
                       [c.collected for _, c in rows]),
            [svg.Series(t(lang, "results.figure.confirmed"), CLOSED,
                        [c.confirmed for _, c in rows]),
             svg.Series(t(lang, "results.figure.auto_closed"), AUTO_CLOSED,
                        [c.unconfirmed for _, c in rows])])

    def _category_table(self, lang: str, f: Figures) -> str:
        head = [f"results.figure.{n}" for n in ("received", "completed", "confirmed",
                                                 "auto_closed", "rate", "claim_wait",
                                                 "done_wait")]
        body = []
        for name, code, counts in self._categories(lang, f.total):
            shown = counts_of(counts)
            claim, done = f.category_waits.get(code, (None, None))
            body.append((html.escape(name), [
                *((n, str(shown[n])) for n in ("received", "completed", "confirmed",
                                               "auto_closed")),
                ("rate", self.stats.percent(counts.completion, lang)),
                ("claim_wait", self.stats.duration(claim, lang)),
                ("done_wait", self.stats.duration(done, lang))]))
        return self._table(lang, "categories", "results.by_category", "results.category",
                           head, body)

    def _table(self, lang: str, name: str, title: str, first: str, head: list[str],
               body: list[tuple[str, list[tuple[str, str]]]]) -> str:
        """A table whose cells carry data-figure (their figure) and rows data-row."""
        t = self.env.t
        heads = "".join(f'<th scope="col">{t(lang, key)}</th>' for key in head)
        rows = "".join(
            f'<tr data-row="{label}"><th scope="row">{label}</th>'
            + "".join(f'<td data-figure="{figure}">{value}</td>' for figure, value in cells)
            + "</tr>" for label, cells in body)
        return (f'<h3>{t(lang, title)}</h3><div class="scroll"><table id="{name}">'
                f'<thead><tr><th scope="col">{t(lang, first)}</th>{heads}</tr></thead>'
                f'<tbody>{rows}</tbody></table></div>')

    # -- the activities ----------------------------------------------------------------------

    def _activities(self, lang: str, f: Figures) -> str:
        t = self.env.t
        cells = [("held", str(f.activities_held), t(lang, "results.figure.held")),
                 ("cancelled", str(f.activities_cancelled),
                  t(lang, "results.figure.cancelled")),
                 ("hours", hours_text(f.hours), t(lang, "results.figure.hours")),
                 ("formal", str(f.formal), t(lang, "results.figure.formal", year=f.year))]
        parts = [f'<section id="activities"><h2>{t(lang, "results.activities")}</h2>',
                 f'<p class="note">{t(lang, "results.activities_note")}</p>',
                 self._cards("activities", cells)]
        if f.activity_months:
            raw = self.env.t.raw
            names = raw(lang, "results.months").split()
            held = activity_months(f)
            months = list(held)
            parts.append(svg.columns(
                raw(lang, "results.chart.activities"),
                [names[int(month[5:]) - 1] for month in months],
                svg.Series(raw(lang, "results.figure.hours"), RATE,
                           [held[m][1] for m in months]), [],
                shown=hours_text,
                notes=[raw(lang, "results.activities_count").format(count=held[m][0])
                       for m in months]))
            body = [(month, [("held", str(held[month][0])),
                             ("hours", hours_text(held[month][1]))]) for month in months]
            parts.append(self._table(lang, "activity-months", "results.by_month",
                                     "results.month",
                                     ["results.figure.held", "results.figure.hours"], body))
        else:
            parts.append(f'<p class="empty">{t(lang, "results.no_activities")}</p>')
        parts.append("</section>")
        return "".join(parts)

    def _foot(self, lang: str, f: Figures) -> str:
        t, tz = self.env.t, self.env.config.timezone
        read = datetime.fromtimestamp(f.read_at, tz)
        return (f'<footer><p><a class="button" href="{self._link(lang, f.year, "/results.csv")}"'
                f' download>{t(lang, "results.download")}</a></p>'
                f'<p class="note">{t(lang, "results.as_of", time=f"{read:%Y-%m-%d %H:%M}")}</p>'
                f'<p class="note">{t(lang, "results.privacy")}</p></footer>')

    def _refusal(self, lang: str, asked: str) -> web.Response:
        """A polite 400 page in the reader's language, with the way back."""
        t, this_year = self.env.t, self.env.local_year()
        why = t(lang, "results.bad_year", year=asked, first=FIRST_YEAR, last=this_year)
        body = "\n".join([
            self._head(lang, t(lang, "results.bad_title")),
            '<header>', self._languages(lang, this_year), '</header><main>',
            f'<h1>{t(lang, "results.bad_title")}</h1>',
            f'<p class="refusal">{why}</p>',
            f'<p><a class="button" href="{self._link(lang, this_year)}">'
            f'{t(lang, "results.back")}</a></p></main></body></html>'])
        return web.Response(text=body, status=400, content_type="text/html", charset="utf-8",
                            headers={**HEADERS, "Cache-Control": "no-store"})

    # -- the CSV -----------------------------------------------------------------------------

    def table(self, lang: str, f: Figures) -> list[list[Any]]:
        """The CSV's rows: year, section, row, figure, value — one figure a line, so a
        spreadsheet filters and pivots it; waits in minutes, rates in percent."""
        t = self.env.t.raw
        rows: list[list[Any]] = [[t(lang, f"results.csv.column.{c}")
                                  for c in ("year", "section", "row", "figure", "value")]]

        def add(section: str, row: str, counts: Counts,
                waits: tuple[float | None, float | None]) -> None:
            shown = counts_of(counts)
            figures: list[tuple[str, Any]] = [(name, shown[name]) for name in REQUEST_FIGURES]
            figures += [("rate", _share(counts.completion)),
                        ("confirmed_share", _share(counts.confirmed_share)),
                        ("claim_wait_minutes", _minutes(waits[0])),
                        ("done_wait_minutes", _minutes(waits[1]))]
            for name, value in figures:
                rows.append([f.year, t(lang, f"results.csv.section.{section}"), row,
                             t(lang, f"results.csv.figure.{name}"), value])

        add("year", str(f.year), f.total.total, (f.total.claim_wait, f.total.done_wait))
        for month, cohort in f.months:
            add("month", month, cohort.total, (cohort.claim_wait, cohort.done_wait))
        for name, code, counts in self._categories(lang, f.total):
            add("category", name, counts, f.category_waits.get(code, (None, None)))
        section = t(lang, "results.csv.section.activities")
        for name, value in (("held", f.activities_held), ("cancelled", f.activities_cancelled),
                            ("hours", hours_text(f.hours)), ("formal", f.formal)):
            rows.append([f.year, section, str(f.year), t(lang, f"results.csv.figure.{name}"),
                         value])
        section = t(lang, "results.csv.section.activity_month")
        for month, (count, hours) in activity_months(f).items():
            rows.append([f.year, section, month, t(lang, "results.csv.figure.held"), count])
            rows.append([f.year, section, month, t(lang, "results.csv.figure.hours"),
                         hours_text(hours)])
        return rows


def activity_months(f: Figures) -> dict[str, tuple[int, float]]:
    """Activities and hours for every month so far (as the requests' months: a month without
    activities shows as such) and any later month with activities planned."""
    months = sorted({month for month, _ in f.months} | set(f.activity_months))
    return {month: f.activity_months.get(month, (0, 0.0)) for month in months}


def language_of(request: web.Request) -> str:
    """`?lang=`, else the first of our languages the browser accepts (by its weights), else
    zh."""
    asked = request.query.get("lang", "").strip().lower()
    if asked in LANGUAGES:
        return asked
    wishes: list[tuple[float, int, str]] = []
    for index, item in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                weight = float(match.group(1))
            except ValueError:
                weight = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and weight > 0:
            wishes.append((-weight, index, code))
    return min(wishes)[2] if wishes else DEFAULT_LANGUAGE


def _period(word: str, now: float, env: Env) -> Period:
    period = parse_period(word, now, env.config.timezone)
    assert period is not None, word  # a year or a month we checked or built
    return period


def _share(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.2f}"


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0 auto;
max-width:1000px;padding:16px;font-size:18px;line-height:1.5;color:#222;background:#fff}
h1{font-size:1.7em;margin:.3em 0}h2{font-size:1.35em;border-bottom:2px solid #2171b5;
padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.1em;margin-top:1.4em}
.languages{text-align:right;font-size:1.05em}.languages a,.languages strong{padding:.3em .6em}
form.year{display:flex;gap:.6em;align-items:center;flex-wrap:wrap}
select,button,.button{font-size:1.1em;padding:.45em 1em;border-radius:8px}
button,.button{background:#2171b5;color:#fff;border:0;text-decoration:none;display:inline-block}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px;margin:0}
.figure{border:1px solid #ccd;border-radius:10px;padding:.6em .8em;background:#f6f9fc}
.figure dt{font-size:.9em;color:#444}.figure dd{margin:0;font-size:1.5em;font-weight:bold}
.note{color:#555;font-size:.92em}.empty{font-style:italic}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.95em}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:right;white-space:nowrap}
thead th{white-space:normal;vertical-align:bottom}
th[scope=row],thead th:first-child{text-align:left}
svg.chart{width:100%;height:auto;margin-top:1em}
.refusal{font-size:1.2em}footer{margin-top:2em}
"""
