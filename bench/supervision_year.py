"""The supervision year: the model district's civilised-city campaign (loop 3) replayed through
the real bot, in-process, and /sstats compared with the replayed truth.

The harness is bench.seed_year's (`bot.app.run` fed real Update JSON through PTB's request
seam, an in-process Bot API, a simulated clock that jumps from one person's action to the
next, people who press the buttons the bot actually sent). The district: the model areas
(areas-shizhong), the model registers (sandbox/data/inspection-points-shizhong.csv, 335 points;
responsible-units-shizhong.csv, 15 units) and problem-types.example.toml. A centre admin makes
5 inspection groups of 3 inspectors each (`/inspector add`), splits the 335 points among them
by institute (`/patrol <group> area:<institute> …`) and binds each of the 15 units' group chat
(`/bind unit <id>`, typed in it); in each unit's group one person acts for the unit.

The campaign: every point visited once a week by its group (on the weekdays, by one of the
group's inspectors, a few minutes apart through the day): `/inspect`, the point picked by
typing its exact name (a choice list when the name is part of others') or by sharing its
location (nearest first), then "All clear". 261 x K problems (`--multiple K`) are found on
visits drawn at random (a visit may find two: "Another problem" without starting over), each
reported through the real dialog: Report a problem, its type, one to three before photos, a
note, a severity, the preview, Send. The unit presses Received on its card in its group (most
within the 4 h the receipt has, a few later: the bot chases them), Rectified (in private: an
after photo, then a note), and the reporting inspector re-checks from the album: 10% of the
problems are rejected once (with a reason; the unit rectifies again against the new deadline)
and then passed, the rest passed at once. About one rectification round in six comes after
its deadline, so the on-time rate is not trivially 100%.

The truth is kept beside it from the moments the people acted: problems, passed, rejected,
the events of the year, rectified on time (the standing rectification against the standing
deadline, bot/reports/supervision.py's rule), first-time pass rate, the lower medians, coverage
per kind and per group, the breakdowns by unit, type, point, area and month. At the end a
centre admin asks `/sstats 2026` and every line must equal the one the truth gives (written with
the catalog's templates); `tally()` over the database must give the same figures, and each
problem's row (status, rejections, received, deadline, rectified, passed) must equal its
replayed one.

The in-process Bot API has no flood limits: its 0 x 429 says nothing about pacing (the
delivery, storm and activities fan-out benchmarks measure that).

    python -m bench.supervision_year                 # the campaign year, 261 problems
    python -m bench.supervision_year --multiple 4    # 1,044 problems
    python -m bench.supervision_year --weeks 8       # 8 weeks (and 8/52 of the problems),
                                                     # its time projected to 52 weeks
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import html
import json
import logging
import os
import random
import re
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.seed_year import (
    AREAS,
    FAST_DELIVERY,
    ROOT,
    TZ,
    Msg,
    Person,
    Replay,
    Stuck,
    Waiter,
    chinese_name,
    has,
    has_prefix,
    local,
)
from bot.app import run
from bot.areas.tree import AreaTree, load_areas
from bot.config import Config, parse_config
from bot.i18n import Catalogs
from bot.reports.supervision import KINDS, ROWS_SHOWN, Figures, lower_median, tally
from storage import Database, Problem

TOKEN = "123456:SUP-year-token"
YEAR = 2026
WEEKS = 52
PROBLEMS = 261  # problems dispatched to units in the period the district reports
POINTS = ROOT / "sandbox" / "data" / "inspection-points-shizhong.csv"
UNITS = ROOT / "sandbox" / "data" / "responsible-units-shizhong.csv"
TYPES = ROOT / "problem-types.example.toml"
CAMPAIGN_START = datetime(YEAR, 1, 1, tzinfo=TZ).timestamp()
SETUP_START = datetime(YEAR - 1, 12, 28, 9, tzinfo=TZ).timestamp()
LAST_PROBLEM = datetime(YEAR, 12, 1, tzinfo=TZ).timestamp()  # all passed within the year
GROUPS = ("第一督导组", "第二督导组", "第三督导组", "第四督导组", "第五督导组")
INSPECTORS_PER_GROUP = 3
DEADLINES = {"urgent": 86400.0, "normal": 3 * 86400.0, "minor": 7 * 86400.0}
SEVERITY_WEIGHTS = {"urgent": 20, "normal": 55, "minor": 25}
RECEIVE_WITHIN = 4 * 3600.0
REJECT_SHARE = 0.10
LATE_SHARE = 0.16  # rectification rounds planned after their deadline
LATE_RECEIPT_SHARE = 0.05  # cards received after the 4 h the receipt has
LOCATION_SHARE = 0.3  # visits where the point is picked by sharing a location
TWO_PROBLEMS = 0.08  # problem visits that find a second problem
NOTES = ["人行道上有流动摊贩占道经营，影响行人通行。", "路边垃圾堆积未及时清运，有异味。",
         "垃圾桶满溢，垃圾暴露在外。", "墙面和电线杆上有小广告。", "护栏损坏，存在安全隐患。",
         "绿化带内有杂物和建筑垃圾。"]
AFTER_NOTES = ["已清理完毕，恢复整洁。", "已劝离摊贩并安排专人巡查。", "已清除小广告并刷白墙面。",
               "已修复护栏。", "已清运垃圾并增加清运频次。"]
REASONS = ["现场仍有残留垃圾，整改不到位。", "摊贩仍在原处经营，请加强管理。",
           "小广告只清除了一部分。"]
REF = re.compile(r"D\d{4}-\d{5,6}")
TAGS = re.compile(r"<[^>]+>")


# -- the registers, as the benchmark reads them ---------------------------------------------------


@dataclass(frozen=True)
class Spot:
    """An inspection point of the model file."""

    id: str
    name_zh: str
    kind: str
    area_id: str
    unit_id: str
    latitude: float
    longitude: float


def read_points() -> list[Spot]:
    """The model points file, in its order."""
    with POINTS.open(encoding="utf-8") as f:
        return [Spot(r["id"], r["name_zh"], r["kind"], r["area_id"], r["unit_id"],
                     float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f)]


def read_units() -> list[str]:
    """The model units file's ids, in its order."""
    with UNITS.open(encoding="utf-8") as f:
        return [r["id"] for r in csv.DictReader(f)]


def read_types() -> list[str]:
    """The problem types' codes, in the file's order."""
    return [t["code"] for t in tomllib.loads(TYPES.read_text("utf-8"))["type"]]


# -- the plan and the truth -----------------------------------------------------------------------


@dataclass(eq=False)
class Round:
    """One rectification round as planned: late or not, and rejected at its re-check or not."""

    late: bool
    rejected: bool


@dataclass(eq=False)
class Trouble:
    """A problem as planned and as it went."""

    index: int
    spot: Spot
    type: str
    severity: str
    photos: int
    late_receipt: bool
    rounds: list[Round]
    inspector: Person | None = None
    group: int = 0  # the group's index
    ref: str = ""
    problem_id: int = 0
    reported_at: float = 0.0
    received_at: float | None = None
    due_at: float | None = None
    rectified_at: float | None = None
    passed_at: float | None = None
    rejections: int = 0
    rectified_events: int = 0


@dataclass(eq=False)
class Visit:
    """One inspector's visit to one point, and the problems it finds there."""

    at: float
    group: int
    inspector: Person
    spot: Spot
    troubles: list[Trouble] = field(default_factory=list)
    counted: bool = False  # finished, or reported a problem: it counts for coverage


@dataclass
class Truth:
    """What the people did, kept as they did it."""

    visits: int = 0
    all_clear: int = 0
    by_location: int = 0
    by_name: int = 0
    by_list: int = 0  # a typed name matched several points: picked from the list
    reported: int = 0
    received: int = 0
    late_receipts: int = 0
    rectified: int = 0
    rejected: int = 0
    passed: int = 0
    lost: list[str] = field(default_factory=list)


class SupervisionYear(Replay):
    """The campaign year, on seed_year's Replay (its clock, people, driver and Bot API)."""

    def __init__(self, weeks: int, multiple: int, seed: int, validate: bool) -> None:
        super().__init__(0, seed, validate)
        self.weeks = weeks
        self.problem_count = max(1, round(PROBLEMS * multiple * weeks / WEEKS))
        self.clock.t = SETUP_START
        self.last_sweep = SETUP_START
        self.t = Catalogs.load("zh")
        self.tree: AreaTree = load_areas(AREAS)
        self.spots = read_points()
        self.unit_ids = read_units()
        self.types = read_types()
        self.admin = self.person(900_001, "Centre admin", "en")
        self.admin_chat = -1_001_999_999_999
        self.town.groups[self.admin_chat] = "市中区创城督导管理群"
        self.inspectors: list[list[Person]] = []
        self.patrols: dict[int, list[str]] = {}  # group index → its institutes
        self.group_of_spot: dict[str, int] = {}
        self.unit_chats: dict[str, int] = {}
        self.unit_people: dict[str, Person] = {}
        self.visits: list[Visit] = []
        self.troubles: list[Trouble] = []
        self.truth = Truth()
        self.cards: dict[str, Msg] = {}  # ref → the unit's card (edited in place)
        self.posted: dict[tuple[int, int], Msg] = {}  # the cards, by chat and message id
        self.photo_ids = 0
        self.capturing: list[Msg] | None = None

    # -- texts the people recognise --------------------------------------------------------

    def says(self, key: str, language: str = "zh") -> Callable[[Msg], bool]:
        """A message written from the catalog's `key`: each of its fixed parts, in order."""
        parts = [p for p in re.split(r"\{[^}]*\}", self.t.raw(language, key)) if p]

        def test(m: Msg) -> bool:
            at = 0
            for part in parts:
                at = m.text.find(part, at)
                if at < 0:
                    return False
                at += len(part)
            return True

        return test

    def institute(self, area_id: str) -> str:
        """The institute (a child of the root) an area is in."""
        return next(a for a in self.tree.ancestry(area_id) if self.tree.get(a).parent_id
                    == self.tree.root)

    # -- the district and the plan ------------------------------------------------------------

    def build_config(self, folder: Path) -> Config:
        """config.example.toml's categories and schedule, the model district's areas and
        registers, the example problem types, fast delivery (the loop is measured here)."""
        example = tomllib.loads((ROOT / "config.example.toml").read_text("utf-8"))
        schedule = dict(example.get("schedule", {}))
        schedule["sweep_interval"] = "24h"  # the driver sweeps as simulated time passes
        raw = {
            "telegram": {"token": TOKEN, "poll_timeout": 5},
            "bot": {"database": str(folder / "civicloop.db"), "default_language": "zh",
                    "timezone": "Asia/Shanghai", "admin_ids": [self.admin.id],
                    "admin_chat_id": self.admin_chat},
            "areas": {"file": str(AREAS)},
            "supervision": {"points_file": str(POINTS), "units_file": str(UNITS),
                            "types_file": str(TYPES), "receive_within": "4h",
                            "coverage_period": "7d",
                            "deadlines": {"urgent": "24h", "normal": "3d", "minor": "7d"}},
            "limits": dict(example.get("limits", {})),
            "delivery": FAST_DELIVERY,
            "schedule": schedule,
            "categories": example["categories"],
            "retention": {"outbox_days": 0, "timer_days": 0, "contact_days": 0},
            "backup": {"keep": 0},
        }
        return parse_config(raw, env={}, base_dir=folder)

    def people_and_groups(self) -> None:
        """The inspectors, the institutes each group patrols (even shares of the points), the
        units' chats and the person acting for each."""
        rng = random.Random(self.seed + 1)
        for g in range(len(GROUPS)):
            self.inspectors.append([self.person(4_000_000 + 10 * g + n, chinese_name(rng), "zh")
                                    for n in range(INSPECTORS_PER_GROUP)])
        per_institute = Counter(self.institute(s.area_id) for s in self.spots)
        load = [0] * len(GROUPS)
        for institute, count in sorted(per_institute.items(), key=lambda kv: (-kv[1], kv[0])):
            g = min(range(len(GROUPS)), key=lambda i: (load[i], i))
            load[g] += count
            self.patrols.setdefault(g, []).append(institute)
        owner = {i: g for g, institutes in self.patrols.items() for i in institutes}
        self.group_of_spot = {s.id: owner[self.institute(s.area_id)] for s in self.spots}
        for n, unit_id in enumerate(self.unit_ids):
            chat = -1_003_000_000_000 - n
            self.unit_chats[unit_id] = chat
            self.town.groups[chat] = f"{unit_id} 创城整改工作群"
            self.unit_people[unit_id] = self.person(6_000_000 + n, chinese_name(rng), "zh")

    def plan(self) -> None:
        """Each week every point once, on a weekday, by one of its group's inspectors; then the
        problems, on visits drawn at random, with their rounds."""
        rng = random.Random(self.seed)
        for week in range(self.weeks):
            start = CAMPAIGN_START + week * 7 * 86400
            workdays = [start + d * 86400 for d in range(7)
                        if local(start + d * 86400).weekday() < 5]
            for g in range(len(GROUPS)):
                mine = [s for s in self.spots if self.group_of_spot[s.id] == g]
                rng.shuffle(mine)
                people = self.inspectors[g]
                for n, spot in enumerate(mine):
                    day = workdays[n % len(workdays)]
                    inspector = people[(n // len(workdays)) % len(people)]
                    slot = n // (len(workdays) * len(people))
                    at = (day + 8.5 * 3600 + slot * rng.uniform(35, 50) * 60
                          + rng.uniform(0, 10) * 60)
                    self.visits.append(Visit(at, g, inspector, spot))
        self.visits.sort(key=lambda v: v.at)
        eligible = [v for v in self.visits if v.at < LAST_PROBLEM]
        rejected = set(rng.sample(range(self.problem_count),
                                  round(self.problem_count * REJECT_SHARE)))
        severities = list(SEVERITY_WEIGHTS)
        weights = list(SEVERITY_WEIGHTS.values())
        index = 0
        while index < self.problem_count:
            visit = rng.choice(eligible)
            if visit.troubles:
                continue
            found = 2 if rng.random() < TWO_PROBLEMS and index + 1 < self.problem_count else 1
            for _ in range(found):
                rounds = [Round(rng.random() < LATE_SHARE, index in rejected)]
                if index in rejected:
                    rounds.append(Round(rng.random() < LATE_SHARE, False))
                trouble = Trouble(index, visit.spot, rng.choice(self.types),
                                  rng.choices(severities, weights)[0], rng.choice((1, 1, 2, 3)),
                                  rng.random() < LATE_RECEIPT_SHARE, rounds,
                                  visit.inspector, visit.group)
                visit.troubles.append(trouble)
                self.troubles.append(trouble)
                index += 1

    # -- watching what the bot sends ------------------------------------------------------------

    def watch(self) -> None:
        """Keep the units' cards as they arrive and as they are edited (people press the buttons
        a card shows now); capture the admin's private messages while asked to."""
        delivered = self.town.delivered

        def seen(msg: Msg) -> None:
            if msg.data("prob:"):
                found = REF.search(msg.text)
                if found is not None and msg.chat_id < 0:
                    self.cards[found.group(0)] = msg
                self.posted[(msg.chat_id, msg.message_id)] = msg
            if self.capturing is not None and msg.chat_id == self.admin.id:
                self.capturing.append(msg)
            delivered(msg)

        self.town.delivered = seen  # type: ignore[method-assign]
        api = self.api
        edit = api._edit

        def edited(params: dict[str, Any]) -> dict[str, Any]:
            result = edit(params)
            msg = self.posted.get((int(params["chat_id"]), int(params["message_id"])))
            if msg is not None:
                markup = params.get("reply_markup")
                if isinstance(markup, str):
                    markup = json.loads(markup)
                if "text" in params:
                    msg.text = str(params["text"])
                    msg.raw["text"] = msg.text
                if isinstance(markup, dict) and "inline_keyboard" in markup:
                    msg.raw["reply_markup"] = markup
                    msg.buttons = [(b["text"], b.get("callback_data", ""))
                                   for row in markup["inline_keyboard"] for b in row]
                else:
                    msg.raw.pop("reply_markup", None)
                    msg.buttons = []
            return result

        for method in ("editMessageText", "editMessageCaption", "editMessageReplyMarkup"):
            api._methods[method] = edited

    def photo(self, kind: str) -> dict[str, Any]:
        """A photo as Telegram delivers it, with a file id of its own."""
        self.photo_ids += 1
        file_id = f"AgAC{kind}{self.photo_ids:08d}"
        return {"photo": [{"file_id": file_id, "file_unique_id": file_id[-12:],
                           "width": 1280, "height": 960}]}

    # -- setting up, as the admin would -----------------------------------------------------------

    async def set_up(self) -> None:
        """Everyone opens the bot; the admin makes the groups and their inspectors, the patrols,
        and binds each unit's chat."""
        town, people, admin = self.town, self.people, self.admin
        everyone = [admin, *(p for g in self.inspectors for p in g), *self.unit_people.values()]
        for person in everyone:
            with self.story() as wait:
                greeting = wait(person.id, has("menu:new"), "greeting")
                people.say(person, "/start")
                await town.get(greeting)
            await town.after(self.rng.uniform(5, 30))
        for g, group in enumerate(GROUPS):
            for inspector in self.inspectors[g]:
                with self.story() as wait:
                    told = wait(inspector.id, self.says("supervision.you_are_inspector"),
                                "you are an inspector")
                    people.say(admin, f"/inspector add {inspector.id} {group}")
                    await town.get(told)
                await town.after(self.rng.uniform(10, 30))
            areas = " ".join(f"area:{a}" for a in self.patrols[g])
            with self.story() as wait:
                done = wait(admin.id, self.says("supervision.patrol_done", "en"), "patrol done")
                people.say(admin, f"/patrol {group} {areas}")
                await town.get(done)
            await town.after(self.rng.uniform(10, 30))
        for unit_id, chat in self.unit_chats.items():
            with self.story() as wait:
                bound = wait(chat, self.says("supervision.unit_bound", "en"), f"{unit_id} bound")
                people.say(admin, f"/bind unit {unit_id}", chat)
                await town.get(bound)
            await town.after(self.rng.uniform(10, 30))

    # -- a visit ----------------------------------------------------------------------------------

    async def visit(self, visit: Visit) -> None:
        """/inspect, the point by name or location, All clear or the problems found; then each
        problem's way through its unit and the re-check."""
        rng = random.Random(self.seed * 1_000_003 + int(visit.at))
        inspector = visit.inspector
        try:
            with self.story() as wait:
                await self.free(inspector, rng)
                try:
                    await self.inspect(visit, rng, wait)
                finally:
                    inspector.busy = False
                if visit.troubles:
                    await asyncio.gather(*(self.follow(t, wait) for t in visit.troubles))
        except Stuck as exc:
            self.truth.lost.append(f"visit to {visit.spot.id} at {local(visit.at):%m-%d %H:%M}:"
                                   f" {exc}")

    async def inspect(self, visit: Visit, rng: random.Random,
                      wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """The inspector's dialog, from /inspect to All clear or Finish."""
        town, people, me = self.town, self.people, visit.inspector
        spot = visit.spot
        listed = wait(me.id, has_prefix("insp:", ":point:"), "the patrol list")
        people.say(me, "/inspect")
        await town.get(listed)
        await town.after(rng.uniform(10, 40))
        found = wait(me.id, lambda m: bool(m.data("insp:")) and (
            has_prefix("insp:", ":clear:")(m) or has_prefix("insp:", ":point:")(m)),
            "the point found")
        if rng.random() < LOCATION_SHARE:
            people.send(me, {"location": {"latitude": spot.latitude,
                                          "longitude": spot.longitude}})
            how = "location"
        else:
            people.say(me, spot.name_zh)
            how = "name"
        question = await town.get(found)
        if not has_prefix("insp:", ":clear:")(question):
            button = next((d for d in question.data("insp:") if d.endswith(f":point:{spot.id}")),
                          None)
            if button is None:
                raise Stuck(f"{spot.id} is not among the points offered")
            await town.after(rng.uniform(3, 10))
            # (a waiter is registered just before the action: the driver moves the clock only
            # once nobody waits for the bot)
            asked = wait(me.id, has_prefix("insp:", ":clear:"), "all clear or a problem?")
            await self.pressed(me, question, button)
            question = await town.get(asked)
            if how == "name":
                how = "list"
        self.truth.by_location += how == "location"
        self.truth.by_name += how == "name"
        self.truth.by_list += how == "list"
        await town.after(rng.uniform(60, 300))
        if not visit.troubles:
            done = wait(me.id, self.says("inspect.visit_clear"), "visit recorded")
            await self.pressed(me, question, self.button(question, ":clear:"))
            await town.get(done)
            self.truth.visits += 1
            self.truth.all_clear += 1
            visit.counted = True
            return
        for trouble in visit.troubles:
            question = await self.report(visit, trouble, question, rng, wait)
        done = wait(me.id, self.says("inspect.visit_done"), "visit finished")
        await self.pressed(me, question, self.button(question, ":finish:"))
        await town.get(done)
        self.truth.visits += 1
        visit.counted = True

    def button(self, msg: Msg, part: str, prefix: str = "insp:") -> str:
        """The data of the message's button that contains `part`."""
        found = next((d for d in msg.data(prefix) if part in d), None)
        if found is None:
            raise Stuck(f"no {part} button on {msg.text[:60]!r}")
        return found

    async def pressed(self, person: Person, msg: Msg, data: str) -> str:
        """Press a button; the answer's text (a refusal is a Stuck)."""
        answer = await self.town.get(self.people.press(person, msg, data))
        if answer.alert:
            raise Stuck(f"{data} refused: {answer.text}")
        return str(answer.text)

    async def report(self, visit: Visit, trouble: Trouble, question: Msg, rng: random.Random,
                     wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> Msg:
        """One problem through the dialog: type, before photos, note, severity, Send. The
        question after it (another problem, or finish)."""
        town, people, me = self.town, self.people, visit.inspector
        types = wait(me.id, has_prefix("insp:", ":type:"), "problem types")
        await self.pressed(me, question, self.button(question, ":report:"))
        asked = await town.get(types)
        await town.after(rng.uniform(5, 20))
        photos = wait(me.id, self.says("inspect.ask_photos"), "before photos?")
        await self.pressed(me, asked, self.button(asked, f":type:{trouble.type}"))
        await town.get(photos)
        kept: Msg | None = None
        for _ in range(trouble.photos):
            await town.after(rng.uniform(10, 40))
            got = wait(me.id, has_prefix("insp:", ":photos:"), "photo kept")
            people.send(me, self.photo("b"))
            kept = await town.get(got)
        assert kept is not None
        await town.after(rng.uniform(3, 10))
        note = wait(me.id, self.says("inspect.ask_note"), "note?")
        await self.pressed(me, kept, self.button(kept, ":photos:"))
        await town.get(note)
        await town.after(rng.uniform(20, 90))
        severity = wait(me.id, has_prefix("insp:", ":sev:"), "severity?")
        people.say(me, rng.choice(NOTES))
        asked = await town.get(severity)
        await town.after(rng.uniform(3, 10))
        preview = wait(me.id, has_prefix("insp:", ":submit:"), "preview")
        await self.pressed(me, asked, self.button(asked, f":sev:{trouble.severity}"))
        shown = await town.get(preview)
        await town.after(rng.uniform(5, 20))
        after = wait(me.id, has_prefix("insp:", ":finish:"), "another or finish")
        toast = await self.pressed(me, shown, self.button(shown, ":submit:"))
        ref = REF.search(toast)
        if ref is None:
            raise Stuck(f"Send answered {toast!r}")
        trouble.ref, trouble.reported_at = ref.group(0), self.clock.t
        self.truth.reported += 1
        question = await town.get(after)
        await town.after(rng.uniform(10, 60))
        return question

    # -- the unit and the re-check -------------------------------------------------------------

    async def follow(self, trouble: Trouble,
                     wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """Received, then each round: Rectified (after photo, note) and the re-check."""
        rng = random.Random(self.seed * 7_919 + trouble.index)
        town = self.town
        unit_id = trouble.spot.unit_id
        acting = self.unit_people[unit_id]
        if trouble.late_receipt:
            delay = rng.uniform(4.5, 9) * 3600
        else:
            delay = rng.uniform(0.2, 3.5) * 3600
        await town.after(self.daytime(trouble.reported_at + delay, rng) - self.clock.t)
        card = self.cards.get(trouble.ref)
        if card is None:
            raise Stuck(f"the card of {trouble.ref} never reached its unit")
        trouble.problem_id = int(card.data("prob:")[0].split(":")[1])
        await self.pressed(acting, card, f"prob:{trouble.problem_id}:recv")
        trouble.received_at = self.clock.t
        trouble.due_at = self.clock.t + DEADLINES[trouble.severity]
        self.truth.received += 1
        self.truth.late_receipts += self.clock.t > trouble.reported_at + RECEIVE_WITHIN
        for plan in trouble.rounds:
            assert trouble.due_at is not None
            start = self.clock.t
            span = trouble.due_at - start
            if plan.late:
                target = trouble.due_at + rng.uniform(0.1, 1.5) * 86400
            else:
                target = start + rng.uniform(0.15, 0.85) * span
            await town.after(self.daytime(target, rng) - self.clock.t)
            recheck = await self.rectify(trouble, acting, rng, wait)
            await town.after(self.daytime(self.clock.t + rng.uniform(1, 30) * 3600, rng)
                             - self.clock.t)
            await self.recheck(trouble, recheck, plan.rejected, rng, wait)

    async def rectify(self, trouble: Trouble, acting: Person, rng: random.Random,
                      wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> Msg:
        """Rectified on the card, then an after photo and a note in private; the re-check card
        the inspector gets."""
        town, people = self.town, self.people
        await self.free(acting, rng)
        try:
            card = self.cards[trouble.ref]
            asked = wait(acting.id, self.says("dispatch.ask_after"), "after photos?")
            await self.pressed(acting, card, f"prob:{trouble.problem_id}:fixed")
            await town.get(asked)
            await town.after(rng.uniform(20, 120))
            kept = wait(acting.id, self.says("dispatch.after_kept"), "after photo kept")
            people.send(acting, self.photo("a"))
            await town.get(kept)
            await town.after(rng.uniform(20, 90))
            assert trouble.inspector is not None
            recheck = wait(trouble.inspector.id, has(f"recheck:{trouble.problem_id}:pass"),
                           "the re-check")
            sent = wait(acting.id, self.says("dispatch.rectified_sent"), "sent for re-check")
            people.say(acting, rng.choice(AFTER_NOTES))
            await town.get(sent)
            trouble.rectified_at = self.clock.t
            trouble.rectified_events += 1
            self.truth.rectified += 1
            return await town.get(recheck)
        finally:
            acting.busy = False

    async def recheck(self, trouble: Trouble, card: Msg, reject: bool, rng: random.Random,
                      wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """Pass, or Reject with a reason (the unit rectifies again against a new deadline)."""
        town, people, me = self.town, self.people, trouble.inspector
        assert me is not None
        pid = trouble.problem_id
        if not reject:
            await self.pressed(me, card, f"recheck:{pid}:pass")
            trouble.passed_at = self.clock.t
            self.truth.passed += 1
            return
        await self.free(me, rng)
        try:
            asked = wait(me.id, self.says("recheck.ask_reason"), "why rejected?")
            await self.pressed(me, card, f"recheck:{pid}:reject")
            await town.get(asked)
            await town.after(rng.uniform(20, 90))
            done = wait(me.id, self.says("recheck.rejected_done"), "rejected")
            people.say(me, rng.choice(REASONS))
            await town.get(done)
        finally:
            me.busy = False
        trouble.rejections += 1
        trouble.due_at = self.clock.t + DEADLINES[trouble.severity]
        trouble.rectified_at = None
        self.truth.rejected += 1

    # -- the whole run ----------------------------------------------------------------------------

    async def run_year(self, folder: Path) -> dict[str, Any]:
        """Start the bot, set the campaign up, replay it, ask /sstats; the figures."""
        self.people_and_groups()
        self.plan()
        self.watch()
        config = self.config = self.build_config(folder)
        figures: dict[str, Any] = {}
        stop = asyncio.Event()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        bot = asyncio.create_task(run(config, stop, self.clock, self.on_ready, self.api))
        while self.services is None:
            if bot.done():
                await bot
            await asyncio.sleep(0.01)
        await self.settle()
        figures["start_s"] = time.perf_counter() - wall0

        async def setup(_: int) -> None:
            try:
                await self.set_up()
            except Stuck as exc:
                self.truth.lost.append(f"setup: {exc}")

        await self.drive([self.clock.t], setup)
        figures["setup_s"] = time.perf_counter() - wall0 - figures["start_s"]
        figures["setup_updates"] = self.api.updates
        calls0 = self.calls()
        cpu1, wall1, updates1 = time.process_time(), time.perf_counter(), self.api.updates

        async def spawn(index: int) -> None:
            await self.visit(self.visits[index])

        await self.drive([v.at for v in self.visits], spawn)
        figures["replay_s"] = time.perf_counter() - wall1
        figures["replay_cpu_s"] = time.process_time() - cpu1
        figures["replay_updates"] = self.api.updates - updates1
        figures["replay_calls"] = self.calls() - calls0
        end = max(self.clock.t, datetime(YEAR, 12, 31, 18, tzinfo=TZ).timestamp())
        await self.advance(end)
        await self.sweep()
        figures["now"] = self.clock.t
        figures["sstats"] = await self.sstats()
        await self.drain()
        stop.set()
        await bot
        figures["wall_s"] = time.perf_counter() - wall0
        figures["cpu_s"] = time.process_time() - cpu0
        figures["updates"] = self.api.updates
        figures["calls"] = self.calls()
        figures["messages"] = sum(self.api.calls[m] for m in (
            "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendLocation"))
        figures["refused"] = dict(self.api.refused)
        figures["429"] = sum(n for what, n in self.api.refused.items() if "Too Many" in what)
        return figures

    def calls(self) -> int:
        """Bot API calls so far, getUpdates apart."""
        return sum(n for m, n in self.api.calls.items() if m != "getUpdates")

    async def sstats(self) -> list[str]:
        """The centre admin asks /sstats 2026 in private; its text's lines (every part)."""
        self.capturing = []
        with self.story() as wait:
            reply = wait(self.admin.id, lambda m: "Supervision" in m.text, "/sstats reply")
            self.people.say(self.admin, f"/sstats {YEAR}")
            try:
                await asyncio.wait_for(self.town.get(reply), timeout=120)
            except TimeoutError:
                return []
            await self.settle()
        texts = [m.text for m in self.capturing if "text" in m.raw]
        self.capturing = None
        return [plain(line) for text in texts for line in text.splitlines()]

    # -- the truth, as /sstats must show it -------------------------------------------------------

    def expected(self, now: float) -> list[str]:
        """The lines of /sstats 2026 for a centre admin in English, from the replayed truth
        (the catalog's templates, the rules of bot/reports/supervision.py's docstring)."""
        t, lang = self.t, "en"
        start = CAMPAIGN_START
        stop = datetime(YEAR + 1, 1, 1, tzinfo=TZ).timestamp()
        done = [x for x in self.troubles if x.ref]
        reported = [x for x in done if start <= x.reported_at < stop]
        passed = [x for x in done if x.passed_at is not None and start <= x.passed_at < stop]
        counted = [x for x in done if x.due_at is not None and (
            start <= x.due_at < stop or (x.rectified_at is not None
                                         and start <= x.rectified_at < stop))
            and not (x.rectified_at is None and x.due_at >= now)]
        on_time = [x for x in counted if x.rectified_at is not None
                   and x.rectified_at <= (x.due_at or 0)]
        status = Counter("passed" if x.passed_at is not None else
                         "rectified" if x.rectified_at is not None else
                         "received" if x.received_at is not None else "dispatched"
                         for x in reported)
        rectify = lower_median([x.rectified_at - x.received_at for x in done
                                if x.rectified_at is not None and x.received_at is not None
                                and start <= x.rectified_at < stop])
        to_pass = lower_median([x.passed_at - x.reported_at for x in passed
                                if x.passed_at is not None])

        def rate(part: int, whole: int) -> str:
            return f"{100 * part / whole:.1f}%" if whole else t.raw(lang, "stats.none")

        def duration(seconds: float | None) -> str:
            if seconds is None:
                return t(lang, "stats.none")
            minutes = int(seconds // 60)
            hours, minute = divmod(minutes, 60)
            days, hour = divmod(hours, 24)
            if minutes < 1:
                return t(lang, "stats.under_a_minute")
            if hours < 1:
                return t(lang, "stats.minutes", m=minute)
            if days < 1:
                return t(lang, "stats.hours", h=hour, m=minute)
            return t(lang, "stats.days", d=days, h=hour)

        counted_visits = [v for v in self.visits if v.counted and start <= v.at < stop]
        visited = {v.spot.id for v in counted_visits}
        lines = [
            t(lang, "sstats.title", area=t.raw(lang, "area.district"),
              period=f"{YEAR}-01-01..{YEAR}-12-31"),
            t(lang, "sstats.reported", count=len(reported)),
            t(lang, "sstats.status_now", dispatched=status["dispatched"],
              received=status["received"], rectified=status["rectified"],
              passed=status["passed"], returned=0),
            t(lang, "sstats.flow", received=self.truth.received,
              rectified=sum(x.rectified_events for x in done), passed=len(passed),
              rejected=sum(x.rejections for x in done), extended=0),
            t(lang, "sstats.on_time", on_time=len(on_time), due=len(counted),
              rate=rate(len(on_time), len(counted))),
            t(lang, "sstats.first_time", first=sum(x.rejections == 0 for x in passed),
              passed=len(passed), rate=rate(sum(x.rejections == 0 for x in passed),
                                            len(passed))),
            t(lang, "sstats.waits", rectify=duration(rectify), passed=duration(to_pass)),
        ]
        overdue = sorted((x for x in done if x.received_at is not None and x.rectified_at is None
                          and x.due_at is not None and x.due_at < now),
                         key=lambda x: (x.due_at, x.ref))
        lines.append(t(lang, "sstats.overdue", count=len(overdue)))
        if overdue:
            lines.append("(overdue lines are not replayed)")
        lines.append(t(lang, "sstats.coverage", visited=len(visited), points=len(self.spots),
                       rate=rate(len(visited), len(self.spots)), visits=len(counted_visits)))
        for kind in KINDS:
            of_kind = [s for s in self.spots if s.kind == kind]
            if of_kind:
                lines.append(t(lang, "sstats.kind_line", kind=t(lang, f"sstats.kind.{kind}"),
                               visited=sum(s.id in visited for s in of_kind),
                               points=len(of_kind)))
        lines.append(t(lang, "sstats.by_group"))
        for g, name in enumerate(GROUPS):
            own = [s.id for s in self.spots if self.group_of_spot[s.id] == g]
            seen = sum(p in visited for p in own)
            lines.append(t(lang, "sstats.group_line", group=name,
                           visits=sum(v.group == g for v in counted_visits),
                           problems=sum(x.group == g for x in reported), visited=seen,
                           points=len(own), rate=rate(seen, len(own))))
        names = self.names()

        def rows(key: Callable[[Trouble], str], name: Callable[[str], str],
                 extra: Callable[[str], dict[str, Any]] | None = None,
                 template: str = "sstats.row", limited: bool = True) -> list[str]:
            table: dict[str, list[int]] = {}
            for x in reported:
                row = table.setdefault(key(x), [0, 0])
                row[0] += 1
                row[1] += x.passed_at is not None
            order = sorted(table.items(), key=lambda kv: (-kv[1][0], kv[0]))
            out = [t(lang, template, name=name(k), reported=r[0], passed=r[1],
                     **(extra(k) if extra else {})) for k, r in order]
            if limited and len(out) > ROWS_SHOWN:
                out = [*out[:ROWS_SHOWN], t(lang, "sstats.more", count=len(out) - ROWS_SHOWN)]
            return out

        def unit_rate(unit_id: str) -> dict[str, Any]:
            mine = [x for x in counted if x.spot.unit_id == unit_id]
            return {"on_time": rate(sum(x in on_time for x in mine), len(mine))}

        if reported:
            lines.append(t(lang, "sstats.by_unit"))
            lines += rows(lambda x: x.spot.unit_id, names["unit"], unit_rate,
                          "sstats.unit_line")
            lines.append(t(lang, "sstats.by_type"))
            lines += rows(lambda x: x.type, names["type"])
            lines.append(t(lang, "sstats.by_point"))
            lines += rows(lambda x: x.spot.id, names["point"])
            lines.append(t(lang, "sstats.by_area"))
            lines += rows(lambda x: self.institute(x.spot.area_id), names["area"])
            months = {local(x.reported_at).strftime("%Y-%m") for x in reported}
            if len(months) > 1:
                lines.append(t(lang, "sstats.by_month"))
                table = rows(lambda x: local(x.reported_at).strftime("%Y-%m"), str,
                             limited=False)
                lines += sorted(table)
        return [plain(line) for line in lines]

    def names(self) -> dict[str, Callable[[str], str]]:
        """English names of the units, types, points and areas, from their files."""
        with UNITS.open(encoding="utf-8") as f:
            units = {r["id"]: r["name_en"] for r in csv.DictReader(f)}
        with POINTS.open(encoding="utf-8") as f:
            points = {r["id"]: r["name_en"] for r in csv.DictReader(f)}
        types = {t["code"]: t["en"] for t in tomllib.loads(TYPES.read_text("utf-8"))["type"]}
        return {"unit": units.__getitem__, "point": points.__getitem__,
                "type": types.__getitem__,
                "area": lambda a: self.tree.get(a).name("en")}


def plain(text: str) -> str:
    """A line as a person reads it: no HTML tags, entities unescaped, no trailing space."""
    return html.unescape(TAGS.sub("", text)).rstrip()


# -- checking the database ------------------------------------------------------------------------


async def check_database(path: Path, year: SupervisionYear, now: float) -> dict[str, Any]:
    """tally() over the database's rows against the truth, and each problem's row."""
    db = await Database.open(path)
    start = CAMPAIGN_START
    stop = datetime(YEAR + 1, 1, 1, tzinfo=TZ).timestamp()
    try:
        async with db.reading() as repo:
            sup = repo.supervision
            problems = await sup.problems_touching(start, stop, None)
            events = await sup.event_counts(start, stop, None)
            waiting = await sup.problems_waiting(None)
            visits = await sup.visits_between(start, stop)
            patrols = await sup.patrols()
            groups = await sup.groups()
            outbox = await repo.outbox.outbox_status_counts()
    finally:
        await db.close()
    assert year.config is not None
    registers = year.config.supervision.registers
    assert registers is not None
    found = tally(problems, events, waiting, visits, registers.points, patrols, groups,
                  start=start, end=stop, now=now,
                  month_of=lambda at: local(at).strftime("%Y-%m"))
    wrong: list[str] = []
    by_ref: dict[str, Problem] = {p.ref: p for p in problems}
    done = [x for x in year.troubles if x.ref]
    for x in done:
        row = by_ref.get(x.ref)
        if row is None:
            wrong.append(f"{x.ref}: not in the database")
            continue
        expected = ("passed" if x.passed_at is not None else "rectified", x.rejections,
                    x.spot.id, x.spot.unit_id, x.type, x.severity, len(row.before_photos),
                    x.reported_at, x.received_at, x.due_at, x.rectified_at, x.passed_at)
        got = (row.status, row.rejections, row.point_id, row.unit_id, row.type, row.severity,
               x.photos, row.reported_at, row.received_at, row.due_at, row.rectified_at,
               row.passed_at)
        if got != expected:
            wrong.append(f"{x.ref}: {got} != {expected}")
    if len(by_ref) != len(done):
        wrong.append(f"{len(by_ref)} problems in the database, {len(done)} reported")
    wrong += compare_tally(found, year, done)
    return {"problems": len(by_ref), "visits": found.visits, "wrong": wrong,
            "outbox": outbox, "figures": found}


def compare_tally(found: Figures, year: SupervisionYear, done: list[Trouble]) -> list[str]:
    """The headline figures of tally() against the truth."""
    counted = [v for v in year.visits if v.counted]
    on_time = sum(x.rectified_at is not None and x.due_at is not None
                  and x.rectified_at <= x.due_at for x in done)
    expected = {"reported": len(done), "passed": sum(x.passed_at is not None for x in done),
                "first_time": sum(x.passed_at is not None and x.rejections == 0 for x in done),
                "due": len(done), "on_time": on_time, "visits": len(counted),
                "visited": len({v.spot.id for v in counted}), "points": len(year.spots),
                "rejected": sum(x.rejections for x in done)}
    got = {"reported": found.reported, "passed": found.passed, "first_time": found.first_time,
           "due": found.due, "on_time": found.on_time, "visits": found.visits,
           "visited": found.visited, "points": found.points,
           "rejected": found.events.get("rejected", 0)}
    return [f"tally {k}: {got[k]} != {v}" for k, v in expected.items() if got[k] != v]


# -- the report -----------------------------------------------------------------------------------


def report(year: SupervisionYear, f: dict[str, Any], check: dict[str, Any]) -> dict[str, Any]:
    """Print the figures; what the summary needs."""
    t = year.truth
    done = [x for x in year.troubles if x.ref]
    late = sum(x.rectified_at is not None and x.due_at is not None and x.rectified_at > x.due_at
               for x in done)
    print(f"district: {len(year.spots)} points, {len(year.unit_ids)} units (each group chat "
          f"bound with /bind unit, one person acting in it), {len(GROUPS)} inspection groups of "
          f"{INSPECTORS_PER_GROUP} (/inspector add), patrols by institute (/patrol)")
    print(f"replayed: {year.weeks} weeks; {t.visits:,} visits ({t.all_clear:,} all clear; "
          f"point by name {t.by_name:,}, from a list after its name {t.by_list:,}, by location "
          f"{t.by_location:,}); {t.reported:,} problems reported of {year.problem_count:,} "
          f"planned, {t.received:,} received ({t.late_receipts} after the 4 h), "
          f"{t.rectified:,} rectifications, {t.rejected} rejected once, {t.passed:,} passed; "
          f"{late} standing rectifications after their deadline")
    print(f"setup: bot start {f['start_s']:.1f} s, {f['setup_updates']:,} updates in "
          f"{f['setup_s']:.1f} s")
    updates, seconds = f["replay_updates"], f["replay_s"]
    print(f"replay: {seconds:.1f} s wall, {f['replay_cpu_s']:.1f} s CPU, {updates:,} updates "
          f"({updates / max(seconds, 1e-9):.0f}/s), {f['replay_calls']:,} Bot API calls")
    print(f"Bot API calls by the bot: {f['calls']:,} (getUpdates apart): "
          + ", ".join(f"{m} {c:,}" for m, c in year.api.calls.most_common()
                      if c and m != "getUpdates"))
    print(f"messages sent: {f['messages']:,}; 429s received: {f['429']} (the in-process API "
          f"has no flood limits: this says nothing about pacing)")
    if f["refused"]:
        print(f"calls refused: {f['refused']}")
    print(f"whole run: {f['wall_s']:.1f} s wall, {f['cpu_s']:.1f} s CPU, "
          f"{f['updates']:,} updates")
    outbox = check["outbox"]
    print(f"outbox: {outbox.get('sent', 0):,} sent, {outbox.get('pending', 0)} pending, "
          f"{outbox.get('failed', 0)} failed")
    wrong = check["wrong"]
    print(f"database: {check['problems']:,} problems, {check['visits']:,} counted visits; "
          f"rows and tally() equal to the replayed ones: {'yes' if not wrong else 'NO'}")
    for line in wrong[:10]:
        print(f"WRONG: {line}")
    expected = year.expected(f["now"])
    shown = f["sstats"]
    differ = [(n, a, b) for n, (a, b) in enumerate(zip(shown, expected, strict=False))
              if a != b]
    same = not differ and len(shown) == len(expected)
    for n, a, b in differ[:10]:
        print(f"DIFFERS line {n + 1}: shown {a!r}, replayed {b!r}")
    if len(shown) != len(expected):
        print(f"DIFFERS: {len(shown)} lines shown, {len(expected)} replayed")
    print(f"/sstats {YEAR} ({len(shown)} lines) equals the replayed truth line by line: "
          f"{'yes' if same else 'NO'}")
    for line in expected[1:7]:
        print(f"  {line}")
    for line in t.lost[:10]:
        print(f"LOST: {line}")
    projected = projection(year.weeks, f)
    return {"match": same, "correct": same and not wrong and not t.lost
            and t.reported == year.problem_count and not outbox.get("pending")
            and not outbox.get("failed") and not f["refused"], "projected": projected}


def projection(weeks: int, f: dict[str, Any]) -> float:
    """The whole run's time at 52 weeks: the replay grows with the weeks."""
    if weeks == WEEKS:
        return float(f["wall_s"])
    return f["wall_s"] - f["replay_s"] + f["replay_s"] * WEEKS / weeks


def main() -> None:
    """Parse, run the campaign, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--multiple", type=int, default=1, help="261 x K problems in a year")
    parser.add_argument("--weeks", type=int, default=WEEKS,
                        help="a shorter campaign (and its share of the problems)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--validate", action="store_true",
                        help="check every Bot API call against the spec (slower)")
    args = parser.parse_args()
    if not 1 <= args.weeks <= WEEKS or args.multiple < 1:
        parser.error(f"--weeks is 1-{WEEKS}, --multiple at least 1")
    logging.basicConfig(level=logging.ERROR)
    year = SupervisionYear(args.weeks, args.multiple, args.seed, args.validate)
    with tempfile.TemporaryDirectory() as folder:
        f = asyncio.run(year.run_year(Path(folder)))
        check = asyncio.run(check_database(Path(folder) / "civicloop.db", year, f["now"]))
    r = report(year, f, check)
    scale = ("" if args.weeks == WEEKS
             else f", projected {r['projected']:,.0f} s for {WEEKS} weeks")
    print(f"supervision year: {args.weeks} weeks, {year.truth.visits:,} visits, "
          f"{year.truth.reported:,} problems ({year.truth.rejected} rejected once), "
          f"{f['updates']:,} updates in {f['wall_s']:.0f} s ({f['cpu_s']:.0f} s CPU{scale}), "
          f"429s {f['429']}, stats match: {'yes' if r['match'] else 'NO'} -> "
          f"{'goal met' if r['correct'] else 'GOAL MISSED'}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
