"""The SQL of /stats: the requests created in a period (a cohort) counted by where they are now.

One ordered pass over the index requests_stats (migration 007) groups the cohort by area,
category and "shape" — one small integer holding the request's status, how it was closed or
cancelled, which lifecycle steps it reached and its rating — so a year of a million requests is
a few thousand groups, added up here in Python. The lower medians of the waits to the first
claim and to the first "done" are read at their offset off the indexes ordered by those waits.
The chart reads its figures and its series by hour on a connection of its own, in a worker
thread, so a long period does not hold up the bot."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from storage.models import ALL_STATUSES, CANCELLED, CLAIMED, CLOSED, DISPATCHED, OPEN_STATUSES
from storage.repo import Repo

# Must stay the expression of the index requests_stats (storage/migrations/007_stats.sql):
# SQLite serves a query from an index on an expression only when the expressions match.
SHAPE = """(CASE status WHEN 'dispatched' THEN 0 WHEN 'claimed' THEN 1 WHEN 'done' THEN 2
                         WHEN 'closed' THEN 3 ELSE 4 END)
           + 8 * (closed_how IS 'confirmed') + 16 * (cancelled_by IS 'citizen')
           + 32 * (dispatched_at IS NOT NULL) + 64 * (first_claimed_at IS NOT NULL)
           + 128 * (first_done_at IS NOT NULL) + 256 * (reopen_count > 0)
           + 512 * COALESCE(rating, 0) + 4096 * (cancelled_by IS 'supervision')"""
STATUS_BITS = 7
CONFIRMED, BY_CITIZEN, DISPATCHED_BIT, CLAIMED_BIT, DONE_BIT, REOPENED_BIT = (
    8, 16, 32, 64, 128, 256)
RATING_SHIFT = 9
RATING_BITS = 7  # 0-5 stars in bits 9-11 (migration 019 put the next bit above them)
HANDED = 4096  # handed to supervision by an admin (/toproblem, migration 019)

_COHORT = "created_at >= ? AND created_at < ?"

# Grouped in the index's order, so SQLite neither sorts nor reads the table row by row
# (it computes the output's shape from the table once per group).
_BY_SHAPE = f"""
    SELECT area_id, category, {SHAPE} AS shape, COUNT(*)
    FROM requests INDEXED BY requests_stats
    WHERE {{where}}
    GROUP BY area_id, category, shape
"""

# The lower median: the wait at offset (n - 1) // 2 in the index ordered by that wait. A step
# is never recorded before its request was created, so ">= 0" only skips the NULLs (steps not
# reached), which the index keeps first. Walking that index costs about half of it whatever the
# period, so a small cohort is rather read by creation time and its waits sorted.
SMALL_COHORT = 20_000
_WAIT = """
    SELECT {wait} FROM requests INDEXED BY {index}
    WHERE {wait} >= 0 AND {where}
    ORDER BY {wait} LIMIT 1 OFFSET ?
"""
_WAITS = {
    "claim": ("first_claimed_at - created_at", "requests_claim_wait"),
    "done": ("first_done_at - created_at", "requests_done_wait"),
}

# The same lower medians for each category at once: one sort of the cohort's waits, where a
# median by offset per category would walk the wait's index once per category (or, with
# the category not in that index, look up every row it passes).
_CATEGORY_WAIT = """
    SELECT category, wait FROM (
        SELECT category, {wait} AS wait,
               ROW_NUMBER() OVER (PARTITION BY category ORDER BY {wait}) AS n,
               COUNT(*) OVER (PARTITION BY category) AS reached
        FROM requests INDEXED BY requests_by_created
        WHERE {wait} >= 0 AND {where})
    WHERE n = (reached + 1) / 2
"""

_JOINED = """
    SELECT COUNT(*), COUNT(request_followers.rating), COALESCE(SUM(request_followers.rating), 0)
    FROM request_followers JOIN requests ON requests.id = request_followers.request_id
    WHERE {where}
"""

_OVERDUE = f"""
    SELECT COUNT(*) FROM requests
    WHERE status IN ('{DISPATCHED}', '{CLAIMED}') AND overdue_since IS NOT NULL {{areas}}
"""

# The chart's series: collected, closed and cancelled by the citizen per hour; `shift` (seconds)
# aligns the hours with the local ones in zones whose offset is not whole hours.
_BY_HOUR = f"""
    SELECT CAST((created_at + ?) / 3600 AS INTEGER) AS hour, COUNT(*),
           SUM(status = '{CLOSED}'), SUM(status = '{CANCELLED}' AND cancelled_by = 'citizen')
    FROM requests
    WHERE {{where}}
    GROUP BY hour
"""


@dataclass
class Counts:
    """The counters of some requests of a cohort, each counted apart."""

    collected: int = 0
    dispatched: int = 0
    claimed: int = 0
    done: int = 0  # a volunteer said done at least once
    confirmed: int = 0  # closed, confirmed by the citizen
    unconfirmed: int = 0  # closed without the citizen's confirmation
    reopened: int = 0
    cancelled_by_citizen: int = 0
    cancelled_by_admin: int = 0
    handed: int = 0  # handed to supervision (a responsible unit), not the volunteers' work
    open: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPEN_STATUSES, 0))
    ratings: list[int] = field(default_factory=lambda: [0] * 6)  # [-, 1★, …, 5★]
    # The ratings of handed requests rate a unit's work: kept out of the volunteers' figures.
    handed_ratings: list[int] = field(default_factory=lambda: [0] * 6)

    @property
    def closed(self) -> int:
        """Closed requests, confirmed or not."""
        return self.confirmed + self.unconfirmed

    @property
    def completion(self) -> float | None:
        """Closed ÷ (collected − cancelled by the citizen − handed to supervision), or None
        when nothing counts."""
        base = self.collected - self.cancelled_by_citizen - self.handed
        return self.closed / base if base > 0 else None

    @property
    def confirmed_share(self) -> float | None:
        """Confirmed ÷ closed, or None when nothing is closed."""
        return self.confirmed / self.closed if self.closed else None

    @property
    def rated(self) -> int:
        """How many requests carry a rating."""
        return sum(self.ratings)

    @property
    def satisfaction(self) -> float | None:
        """The average rating, or None when nobody rated."""
        rated = self.rated
        return sum(stars * n for stars, n in enumerate(self.ratings)) / rated if rated else None

    def add(self, shape: int, count: int) -> None:
        """Count `count` requests of one shape (see SHAPE)."""
        status = ALL_STATUSES[shape & STATUS_BITS]
        self.collected += count
        self.dispatched += count if shape & DISPATCHED_BIT else 0
        self.claimed += count if shape & CLAIMED_BIT else 0
        self.done += count if shape & DONE_BIT else 0
        self.reopened += count if shape & REOPENED_BIT else 0
        if status == CLOSED:
            if shape & CONFIRMED:
                self.confirmed += count
            else:
                self.unconfirmed += count
        elif status == CANCELLED:
            if shape & HANDED:
                self.handed += count
            elif shape & BY_CITIZEN:
                self.cancelled_by_citizen += count
            else:
                self.cancelled_by_admin += count
        else:
            self.open[status] += count
        stars = (shape >> RATING_SHIFT) & RATING_BITS
        if stars:
            (self.handed_ratings if shape & HANDED else self.ratings)[stars] += count


# The cohort's requests filed for a neighbour (migration 021), off their own partial index:
# how many, and how their helpers obtained the neighbours' confirmations.
_NEIGHBOURS = f"""
    SELECT COUNT(*), COALESCE(SUM(confirmed_via IS 'phone'), 0),
           COALESCE(SUM(confirmed_via IS 'in_person'), 0),
           COALESCE(SUM(status = '{CLOSED}' AND confirmed_via IS NULL), 0)
    FROM requests INDEXED BY requests_on_behalf
    WHERE on_behalf = 1 AND {{where}}
"""


@dataclass(frozen=True)
class Neighbours:
    """A cohort's requests filed by helpers for neighbours, and how each was confirmed."""

    filed: int = 0
    by_phone: int = 0  # the helper confirmed with the neighbour by phone (电话确认)
    in_person: int = 0  # … in person (当面确认)
    closed_unconfirmed: int = 0  # closed without the neighbour's word (auto-closed)


@dataclass
class Cohort:
    """The requests created in a period in some areas, and where they are now."""

    total: Counts
    by_category: dict[str, Counts]
    by_area: dict[str | None, Counts]  # by the request's own area id (None: not given)
    claim_wait: float | None  # lower median seconds from creation to the first claim
    done_wait: float | None  # … and to the first "done"
    overdue_now: int  # open requests past their policy in these areas, whenever created
    # Neighbours who joined one of these requests at intake instead of filing their own (the
    # duplicate check): not requests, so counted on a line of their own, in no rate.
    joined: int = 0
    joined_rated: int = 0  # … who rated it at its close, their own stars kept apart
    joined_stars: int = 0  # the sum of those stars
    neighbours: Neighbours = field(default_factory=Neighbours)  # filed for a neighbour


def _where(start: float, end: float, area_ids: list[str] | None) -> tuple[str, list[Any]]:
    if area_ids is None:
        return _COHORT, [start, end]
    return f"{_COHORT} AND area_id IN ({_marks(area_ids)})", [start, end, *area_ids]


async def cohort(repo: Repo, start: float, end: float, area_ids: list[str] | None) -> Cohort:
    """Count the requests created in [start, end) in `area_ids` (None: everywhere, with or
    without an area), with the medians of their waits and the areas' overdue requests now."""
    where, params = _where(start, end, area_ids)
    # Repo's helpers run the SQL: this module is the statistics part of the storage layer.
    shapes = await repo._all(_BY_SHAPE.format(where=where), tuple(params))
    found = _fold(shapes)
    total = found.total
    found.claim_wait = await _lower_median(repo, "claim", where, params, total.claimed,
                                           total.collected)
    found.done_wait = await _lower_median(repo, "done", where, params, total.done,
                                          total.collected)
    areas = "" if area_ids is None else f"AND area_id IN ({_marks(area_ids)})"
    overdue = await repo._one(_OVERDUE.format(areas=areas), tuple(area_ids or ()))
    found.overdue_now = int(overdue[0])
    joined = await repo._one(_JOINED.format(where=where), tuple(params))
    found.joined, found.joined_rated, found.joined_stars = (int(n) for n in joined)
    filed = await repo._one(_NEIGHBOURS.format(where=where), tuple(params))
    found.neighbours = Neighbours(*(int(n) for n in filed))
    return found


def _fold(rows: list[Any]) -> Cohort:
    """Add up the (area, category, shape, count) groups (the waits and overdue left unset)."""
    # Summed by plain keys first: thousands of groups share a few dozen shapes per category.
    shapes: Counter[int] = Counter()
    category_shapes: Counter[tuple[str, int]] = Counter()
    area_shapes: Counter[tuple[str | None, int]] = Counter()
    for area_id, category, shape, count in rows:
        shapes[shape] += count
        category_shapes[category, shape] += count
        area_shapes[area_id, shape] += count
    total = Counts()
    for shape, count in shapes.items():
        total.add(shape, count)
    by_category: dict[str, Counts] = {}
    for (category, shape), count in category_shapes.items():
        by_category.setdefault(category, Counts()).add(shape, count)
    by_area: dict[str | None, Counts] = {}
    for (area_id, shape), count in area_shapes.items():
        by_area.setdefault(area_id, Counts()).add(shape, count)
    return Cohort(total, by_category, by_area, claim_wait=None, done_wait=None, overdue_now=0)


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values)) or "NULL"  # no values: nothing matches


async def _lower_median(repo: Repo, name: str, where: str, params: list[Any], count: int,
                        collected: int) -> float | None:
    if count == 0:
        return None
    wait, index = _WAITS[name]
    if collected <= SMALL_COHORT:
        index = "requests_by_created"
    row = await repo._one(_WAIT.format(wait=wait, index=index, where=where),
                          (*params, (count - 1) // 2))
    return None if row is None else float(row[0])


def chart_rows(
    conn: sqlite3.Connection, start: float, end: float, area_ids: list[str] | None, shift: int,
) -> tuple[Cohort, list[tuple[int, int, int, int]]]:
    """The cohort (without waits) and its series by hour — (hour, collected, closed, cancelled
    by the citizen), hour h starting at h * 3600 - shift — read in one snapshot on `conn`, a
    read-only connection of its own (storage.snapshot.SnapshotReader, in a worker thread; the
    bot keeps its connection meanwhile)."""
    conn.execute("BEGIN")  # one snapshot for both queries
    try:
        where, params = _where(start, end, area_ids)
        shapes = conn.execute(_BY_SHAPE.format(where=where), params).fetchall()
        hours = conn.execute(_BY_HOUR.format(where=where), [shift, *params]).fetchall()
    finally:
        conn.rollback()
    return (_fold(shapes),
            [(int(h), int(n), int(closed), int(cancelled)) for h, n, closed, cancelled in hours])


async def first_created(repo: Repo) -> float | None:
    """When the first request was created (None: none yet), off the index by creation time."""
    row = await repo._one("SELECT MIN(created_at) FROM requests")
    return None if row is None or row[0] is None else float(row[0])


async def category_waits(repo: Repo, start: float, end: float, area_ids: list[str] | None
                         ) -> dict[str, tuple[float | None, float | None]]:
    """The lower medians of the waits to the first claim and to the first "done" of the
    cohort's requests in each category, as `cohort` takes them for the whole cohort (None: no
    request of the category reached that step)."""
    where, params = _where(start, end, area_ids)
    found: dict[str, list[float | None]] = {}
    for index, name in enumerate(("claim", "done")):
        wait, _ = _WAITS[name]
        rows = await repo._all(_CATEGORY_WAIT.format(wait=wait, where=where), tuple(params))
        for category, median in rows:
            found.setdefault(str(category), [None, None])[index] = float(median)
    return {category: (claim, done) for category, (claim, done) in found.items()}
