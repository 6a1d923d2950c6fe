"""The activities year: the model district's year of volunteer activities replayed through the
real bot, in-process, and one district-wide activity published to 400 groups at once.

The year (bench.seed_year's harness: `bot.app.run` fed real Update JSON through PTB's request
seam, an in-process Bot API, a simulated clock that jumps from one person's action to the
next, people who press the buttons the bot actually sent): 406 teams, each with a leader, over
the district's 11 institutes and 158 stations, one volunteer group bound per institute and per
station, the example themes. 1,600 activities, even shares of the months, in the daytime, 1-4 h
long, 10-60 places. Each is published by its team leader through the real /publish dialog
(title, place, map point, start, end, places, "I lead it", the month's theme, no poster, a
description, Publish), and its cards go to the groups of its area. Volunteers (drawn from the
district's 82,939: only those who act become users; a core of regulars comes often) open the
bot and press Sign up on a card; when it is full they join the waitlist; some cancel, and the
first who waits is promoted (the bot says so, and the benchmark checks who). At the venue most
check in: by the rotating code (the organiser presses "Check-in code" and the bot draws the QR
image; the volunteer's /start payload is computed with checkin_payload() for the moment they
scan, which is what the QR shown then holds, instead of decoding the image), by sharing their
location, or by the organiser's hand; some check out (code or location), some leave early, a
few never come. After the end the organiser confirms the attendance list.

The truth is kept beside it: every sign-up's fate, and the hours each presence earns by
credited_hours' rule, summed per volunteer (a formal volunteer: >= 30 h in the year). At the end
a centre admin asks /stats 2026, and "Verified hours" and "Registered formal volunteers of 2026"
must show exactly those figures; each activity's sign-ups, attendance, no-shows and hours in
the database must equal the replayed ones too.

The fan-out (--fanout, or after the year by default): the sandbox over HTTP with Telegram's
real limits (30 messages a second overall, 20 a minute per group), 400 bound groups, and a
centre admin publishing one activity of the whole district. Measured: the time from pressing
Publish until the last of the 400 cards is in its group, against the physical minimum of
400 / 30 per second; and the 429s (goal: <= 1.10 x, 0 x 429).

Goal: the year's /stats figures and every activity's figures equal the replayed ones, nothing
lost, nothing left unsent; the fan-out within 1.10 x its physical minimum with 0 x 429. The
year's time is reported (and projected from a smaller run) without a goal of its own: the
issue names none.

    python -m bench.activities_year                     # the full year, then the fan-out
    python -m bench.activities_year --activities 100    # a quick run, projected to 1,600
    python -m bench.activities_year --fanout            # the fan-out alone
    python -m bench.activities_year --year-only --activities 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import itertools
import logging
import math
import os
import random
import re
import tempfile
import time
import tomllib
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
    keyboard_with,
    local,
    write_teams,
)
from bot.activities.checkin import checkin_payload, credited_hours, derive_secret
from bot.app import run
from bot.areas.tree import AreaTree, load_areas
from bot.config import Config, parse_config
from bot.i18n import Catalogs
from storage import Database

TOKEN = "123456:ACT-year-token"
FULL_YEAR = 1_600  # activities
TEAMS = 406
POOL = 82_939  # registered volunteers of the district
YEAR = 2026
THEMES = ROOT / "themes.example.toml"
SETUP_START = datetime(YEAR - 1, 12, 1, 9, tzinfo=TZ).timestamp()
FORMAL_HOURS = 30.0
MIN_SHARE = 0.6
# The people: a core of regulars (they come to about one activity in a hundred of the year's,
# three of them to each activity on average), everyone else drawn from the pool.
REGULARS = 300
REGULAR_SLOTS = 3.0  # regulars per activity, on average
DEMAND_MEAN = 12.0  # people who press Sign up on an activity, on average
CANCEL_SHARE = 0.06
NO_SHOW_SHARE = 0.07
LATE_SHARE = 0.04  # arrive so late that less than 60% is left (credited 0)
CHECKOUT_SHARE = 0.30
EARLY_LEAVE_SHARE = 0.20  # of those who check out
LENGTHS = ((1.0, 1), (1.5, 2), (2.0, 4), (2.5, 3), (3.0, 3), (3.5, 2), (4.0, 2))
CAPACITIES = (10, 10, 12, 15, 20, 20, 25, 30, 30, 40, 50, 60)
STARTS = ((8, 0), (8, 30), (9, 0), (9, 0), (9, 30), (10, 0), (14, 0), (14, 30), (15, 0),
          (19, 0))
TITLES = ["社区环境整治", "关爱空巢老人", "爱心义剪", "文明交通劝导", "垃圾分类宣传", "义务植树",
          "青少年课业辅导", "政策宣讲进社区", "清洁家园", "敬老院慰问", "防诈骗宣传", "图书整理"]
PLACES = ["社区服务中心门口", "社区广场", "文化活动室", "敬老院", "小区北门", "公园东门"]
# The fan-out.
FANOUT_GROUPS = 400
TELEGRAM_PER_SECOND = 30
FANOUT_GOAL = 1.10


# -- the plan of the year -----------------------------------------------------------------------


@dataclass(eq=False)
class Intent:
    """One volunteer's part in one activity: what they mean to do, and what came of it."""

    person: Person
    signup_at: float
    cancel_at: float | None
    checkin: str  # "code", "location", "hand", or "" (a no-show)
    checkin_at: float
    checkout: str  # "code", "location" or ""
    checkout_at: float
    status: str = ""  # "signed", "waiting", "cancelled" as the bot should have it
    promoted: bool = False
    confirmation: Msg | None = None  # the private message after signing up
    leaving: Msg | None = None  # the message with "Check out here"
    checked_in: float | None = None
    checked_out: float | None = None


@dataclass(eq=False)
class Plan:
    """One activity of the year."""

    index: int
    team_id: str
    area_id: str
    leader: Person
    latitude: float
    longitude: float
    start: float
    end: float
    capacity: int
    publish_at: float
    title: str
    place: str
    intents: list[Intent] = field(default_factory=list)
    activity_id: int = 0
    controls: Msg | None = None
    published: bool = False
    confirmed: bool = False


@dataclass
class Truth:
    """What should be credited, as the people did it."""

    signups: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    promoted: int = 0
    by_code: int = 0
    by_location: int = 0
    by_hand: int = 0
    checkouts: int = 0
    no_shows: int = 0
    under_share: int = 0
    hours: float = 0.0
    per_person: dict[int, float] = field(default_factory=dict)
    formal: int = 0
    lost: list[str] = field(default_factory=list)


class ActivityYear(Replay):
    """The year's activities, on seed_year's Replay (its clock, people, driver and Bot API)."""

    def __init__(self, activities: int, seed: int, validate: bool) -> None:
        super().__init__(0, seed, validate)
        self.activities = activities
        self.clock.t = SETUP_START
        self.last_sweep = SETUP_START
        self.plans: list[Plan] = []
        self.truth = Truth()
        self.t = Catalogs.load("zh")
        self.secret = derive_secret(TOKEN)
        self.admin: Person | None = None
        self.area_groups: dict[str, int] = {}
        self.pool: dict[int, Person] = {}
        self.leaders: dict[str, Person] = {}
        self.qr_codes = 0
        self.cards: dict[int, list[Msg]] = {}  # activity id → its cards as posted

    # -- texts the people recognise --------------------------------------------------------

    def opening(self, key: str, language: str = "zh") -> str:
        """The start of a message of the catalog, up to its first placeholder."""
        return self.t.raw(language, key).split("{")[0]

    def says(self, key: str, language: str = "zh") -> Callable[[Msg], bool]:
        """A message that starts as the catalog's `key` does."""
        head = self.opening(key, language)
        return lambda m: m.text.startswith(head)

    # -- the district ------------------------------------------------------------------------

    def build_config(self, folder: Path, admin: int, admin_chat: int) -> Config:
        """config.example.toml's categories and schedule, the district's areas and teams, the
        example themes, and fast delivery (as the seed year: the loop is measured here, the
        pacing by the fan-out)."""
        example = tomllib.loads((ROOT / "config.example.toml").read_text("utf-8"))
        schedule = dict(example.get("schedule", {}))
        schedule["sweep_interval"] = "24h"  # the driver sweeps as simulated time passes
        raw = {
            "telegram": {"token": TOKEN, "poll_timeout": 5},
            "bot": {"database": str(folder / "civicloop.db"), "default_language": "zh",
                    "timezone": "Asia/Shanghai", "admin_ids": [admin],
                    "admin_chat_id": admin_chat},
            "areas": {"file": str(AREAS)},
            "volunteers": {"claim_mode": "open", "teams_file": str(folder / "teams.csv")},
            "activities": {"themes_file": str(THEMES), "formal_hours": FORMAL_HOURS,
                           "min_share": MIN_SHARE},
            "limits": dict(example.get("limits", {})),
            "delivery": FAST_DELIVERY,
            "schedule": schedule,
            "categories": example["categories"],
            "retention": {"outbox_days": 0, "timer_days": 0, "contact_days": 0},
            "backup": {"keep": 0},
        }
        return parse_config(raw, env={}, base_dir=folder)

    def write_teams(self, path: Path, tree: AreaTree) -> list[tuple[str, str]]:
        """seed_year's 406 teams (four per institute, the rest over the stations), each with a
        leader; their (id, area)."""
        write_teams(path, tree, TEAMS)
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(rows[0])
        teams = []
        rng = random.Random(self.seed + 5)
        for n, row in enumerate(rows[1:]):
            leader = self.person(3_000_000 + n, chinese_name(rng), "zh")
            self.leaders[row[0]] = leader
            writer.writerow([*row[:4], leader.id])
            teams.append((row[0], row[1]))
        path.write_text(out.getvalue(), "utf-8")
        return teams

    def groups(self, tree: AreaTree) -> None:
        """One volunteer group per institute and per station."""
        for n, area in enumerate(a for a in tree.areas.values() if a.id != tree.root):
            chat = -1_002_000_000_000 - n
            self.town.groups[chat] = f"{area.names['zh']}志愿者群"
            self.area_groups[area.id] = chat

    def volunteer(self, number: int, rng: random.Random) -> Person:
        """The pool's volunteer `number` (a Telegram account once they act)."""
        person = self.pool.get(number)
        if person is None:
            person = self.person(5_000_000 + number, chinese_name(rng), "zh")
            self.pool[number] = person
        return person

    def plan(self, teams: list[tuple[str, str]], tree: AreaTree) -> None:
        """The year: when each activity is, who publishes it, who signs up and what each does."""
        rng = random.Random(self.seed)
        n = self.activities
        months = [n // 12 + (1 if m < n % 12 else 0) for m in range(12)]
        regulars = max(3, round(REGULARS * n / FULL_YEAR))
        busy: dict[int, list[tuple[float, float]]] = {}

        def free(number: int, start: float, end: float) -> bool:
            return all(e + 3600 <= start or end + 3600 <= s for s, e in busy.get(number, []))

        index = 0
        for month, count in enumerate(months, start=1):
            days = (datetime(YEAR + (month == 12), month % 12 + 1, 1, tzinfo=TZ)
                    - datetime(YEAR, month, 1, tzinfo=TZ)).days
            starts = []
            for _ in range(count):
                hour, minute = rng.choice(STARTS)
                day = rng.randrange(1, days + (0 if month == 12 else 1))  # not on 31 Dec
                starts.append(datetime(YEAR, month, day, hour, minute, tzinfo=TZ).timestamp())
            for start in sorted(starts):
                team_id, area_id = rng.choice(teams)
                node = tree.get(area_id)
                length = rng.choices([h for h, _ in LENGTHS], weights=[w for _, w in LENGTHS])[0]
                publish = start - rng.uniform(4, 12) * 86400
                moment = local(publish)
                publish = moment.replace(hour=rng.randrange(9, 21),
                                         minute=rng.randrange(60)).timestamp()
                plan = Plan(index, team_id, area_id, self.leaders[team_id],
                            (node.latitude or 34.86) + rng.uniform(-0.003, 0.003),
                            (node.longitude or 117.55) + rng.uniform(-0.003, 0.003),
                            start, start + length * 3600, rng.choice(CAPACITIES), publish,
                            f"{rng.choice(TITLES)}（第{index + 1}场）", rng.choice(PLACES))
                demand = max(2, min(plan.capacity + 8,
                                    round(rng.lognormvariate(math.log(DEMAND_MEAN), 0.45))))
                chosen: list[int] = []
                slots = sum(rng.random() < REGULAR_SLOTS / 6 for _ in range(6))
                for number in rng.sample(range(regulars), min(regulars, slots * 2)):
                    if len(chosen) < slots and free(number, plan.start, plan.end):
                        chosen.append(number)
                while len(chosen) < demand:
                    number = rng.randrange(regulars, POOL)
                    if number not in chosen and free(number, plan.start, plan.end):
                        chosen.append(number)
                for number in chosen:
                    busy.setdefault(number, []).append((plan.start, plan.end))
                    plan.intents.append(self.intent(plan, self.volunteer(number, rng), rng))
                plan.intents.sort(key=lambda i: i.signup_at)
                self.plans.append(plan)
                index += 1

    def intent(self, plan: Plan, person: Person, rng: random.Random) -> Intent:
        """What one volunteer does about one activity."""
        opens = plan.publish_at + 3600
        closes = plan.start - 3 * 3600
        signup = opens + (closes - opens) * rng.random() ** 1.5
        signup = min(self.daytime(signup, rng), closes)
        cancel = None
        if rng.random() < CANCEL_SHARE:
            cancel = signup + rng.uniform(0.1, 1.0) * (plan.start - 2.5 * 3600 - signup)
        length = plan.end - plan.start
        how = rng.random()
        if how < NO_SHOW_SHARE:
            return Intent(person, signup, cancel, "", 0.0, "", 0.0)
        checkin = rng.choices(["code", "location", "hand"], weights=[60, 33, 7])[0]
        if rng.random() < LATE_SHARE:
            arrive = plan.start + rng.uniform(0.25, 0.55) * length
        else:
            arrive = plan.start + max(-50 * 60, min(25 * 60, rng.gauss(-8 * 60, 9 * 60)))
        checkout, leave = "", 0.0
        if checkin != "hand" and rng.random() < CHECKOUT_SHARE:
            checkout = rng.choice(["code", "location"])
            if rng.random() < EARLY_LEAVE_SHARE:
                leave = arrive + rng.uniform(0.3, 0.8) * length
            else:
                leave = plan.end + max(-20 * 60, min(30 * 60, rng.gauss(0, 6 * 60)))
            leave = max(leave, arrive + 600)
        return Intent(person, signup, cancel, checkin, arrive, checkout, leave)

    def planned_hours(self) -> float:
        """The hours the plan would credit if everyone did as planned (for tuning only)."""
        total = 0.0
        for plan in self.plans:
            for intent in plan.intents[:plan.capacity]:
                if intent.cancel_at is None and intent.checkin:
                    total += credited_hours(intent.checkin_at, intent.checkout_at or None,
                                            plan.start, plan.end, min_share=MIN_SHARE,
                                            stayed_to_end=True)
        return total

    # -- setting up: the admin binds the groups ---------------------------------------------

    async def bind_groups(self, admin: Person) -> None:
        """The admin opens the bot and binds each area's group (/bind other <area>)."""
        town, people = self.town, self.people
        with self.story() as wait:
            greeting = wait(admin.id, has("menu:new"), "admin greeting")
            people.say(admin, "/start")
            await town.get(greeting)
        for area, chat in self.area_groups.items():
            with self.story() as wait:
                reply = wait(chat, lambda m: bool(m.text), f"reply to /bind in {area}")
                people.say(admin, f"/bind other {area}", chat)
                await town.get(reply)
            await town.after(self.rng.uniform(5, 20))

    async def open_bot(self, person: Person,
                       wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """The person's first /start."""
        if person.started:
            return
        greeting = wait(person.id, has("menu:new"), "greeting")
        self.people.say(person, "/start")
        await self.town.get(greeting)
        await self.town.after(self.rng.uniform(5, 30))

    # -- one activity's story -------------------------------------------------------------------

    async def activity(self, plan: Plan) -> None:
        """Publish, sign-ups and cancellations, the day, the confirmation."""
        rng = random.Random(self.seed * 1_000_003 + plan.index)
        try:
            with self.story() as wait:
                await self.publish(plan, rng, wait)
                events: list[tuple[float, int, str, Intent | None]] = []
                for n, one in enumerate(plan.intents):
                    events.append((one.signup_at, n, "signup", one))
                    if one.cancel_at is not None:
                        events.append((one.cancel_at, n, "cancel", one))
                    if one.checkin:
                        events.append((one.checkin_at, n, "in", one))
                    if one.checkout:
                        events.append((one.checkout_at, n, "out", one))
                codes_in = [i.checkin_at for i in plan.intents if i.checkin == "code"]
                codes_out = [i.checkout_at for i in plan.intents if i.checkout == "code"]
                if codes_in:
                    events.append((max(plan.start - 3540, min(codes_in) - 60), -1, "qrin", None))
                if codes_out:
                    events.append((min(codes_out) - 60, -1, "qrout", None))
                confirm = plan.end + rng.uniform(15, 120) * 60
                events.append((self.daytime(confirm, rng), len(plan.intents), "confirm", None))
                events.sort(key=lambda e: (e[0], e[1]))
                for moment, _, kind, intent in events:
                    await self.town.after(moment - self.clock.t)
                    await self.act(plan, kind, intent, wait)
        except Stuck as exc:
            self.truth.lost.append(f"activity {plan.index} (#{plan.activity_id}): {exc}")

    async def act(self, plan: Plan, kind: str, intent: Intent | None,
                  wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """One step of the activity's story."""
        if kind == "qrin" or kind == "qrout":
            await self.show_code(plan, "qrin" if kind == "qrin" else "qrout", wait)
        elif kind == "confirm":
            await self.confirm(plan, wait)
        elif intent is not None and kind == "signup":
            await self.sign_up(plan, intent, wait)
        elif intent is not None and kind == "cancel" and intent.status in ("signed", "waiting"):
            await self.quit(plan, intent, wait)
        elif intent is not None and kind == "in" and intent.status == "signed":
            await self.check_in(plan, intent, wait)
        elif (intent is not None and kind == "out" and intent.checked_in is not None
              and intent.leaving is not None):
            await self.check_out(plan, intent, wait)

    async def publish(self, plan: Plan, rng: random.Random,
                      wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """The team leader's /publish, step by step, as tests/test_activities_e2e.py walks it:
        title, (one team, its area: nothing to choose) place, map point, start, end, places,
        I lead it, the month's theme, no poster, a description; Publish."""
        town, people, leader = self.town, self.people, plan.leader
        me = leader.id
        await self.free(leader, rng)
        try:
            await self.open_bot(leader, wait)

            async def answer(text: str | None, test: Callable[[Msg], bool], what: str,
                             location: tuple[float, float] | None = None) -> Msg:
                asked = wait(me, test, what)
                if location is not None:
                    people.send(leader, {"location": {"latitude": location[0],
                                                      "longitude": location[1]}})
                else:
                    assert text is not None
                    people.say(leader, text)
                msg: Msg = await town.get(asked)
                await town.after(rng.uniform(8, 40))
                return msg

            def step(number: int) -> Callable[[Msg], bool]:
                return lambda m: f"{number}/12" in m.text

            start, end = local(plan.start), local(plan.end)
            await answer("/publish", step(1), "publish: title question")
            await answer(plan.title, step(4), "publish: place question")
            await answer(plan.place, step(5), "publish: map point question")
            await answer(None, step(6), "publish: start question",
                         (plan.latitude, plan.longitude))
            await answer(f"{start:%Y-%m-%d %H:%M}", step(7), "publish: end question")
            capacity = await answer(f"{end:%H:%M}", step(8), "publish: places question")
            button = next((d for d in capacity.data("act:")
                           if d.endswith(f":cap:{plan.capacity}")), None)
            leader_question = wait(me, has_prefix("act:", ":me:"), "publish: leader question")
            if button is not None:
                await town.get(people.press(leader, capacity, button))
            else:
                people.say(leader, str(plan.capacity))
            asked = await town.get(leader_question)
            await town.after(rng.uniform(3, 10))
            theme = wait(me, has_prefix("act:", ":theme:y"), "publish: theme question")
            await town.get(people.press(leader, asked, asked.data("act:")[0]))
            asked = await town.get(theme)
            await town.after(rng.uniform(3, 10))
            poster = wait(me, has_prefix("act:", ":skip:"), "publish: poster question")
            await town.get(people.press(leader, asked, asked.data("act:")[0]))
            asked = await town.get(poster)
            await town.after(rng.uniform(3, 10))
            description = wait(me, step(12), "publish: description question")
            await town.get(people.press(leader, asked, asked.data("act:")[0]))
            await town.get(description)
            await town.after(rng.uniform(20, 90))
            preview = await answer("欢迎大家报名参加！请穿志愿者马甲，自带水杯。",
                                   has_prefix("act:", ":publish:"), "preview")
            controls = wait(me, has_prefix("aman:", ":list"), "the organiser's controls")
            publish = next(d for d in preview.data("act:") if ":publish:" in d)
            answered = await town.get(people.press(leader, preview, publish))
            if answered.alert:
                raise Stuck(f"publish refused: {answered.text}")
            plan.controls = await town.get(controls)
            plan.activity_id = int(plan.controls.data("aman:")[0].split(":")[1])
            plan.published = True
        finally:
            leader.busy = False

    def card(self, plan: Plan) -> Msg:
        """One of the activity's cards in a group, as posted."""
        cards = self.cards.get(plan.activity_id)
        if not cards:
            raise Stuck(f"no card of activity #{plan.activity_id} reached a group")
        return cards[0]

    async def sign_up(self, plan: Plan, intent: Intent,
                      wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """Sign up from the card in a group (the waitlist when full): told in private."""
        town, person, aid = self.town, intent.person, plan.activity_id
        await self.open_bot(person, wait)
        signed = sum(i.status == "signed" for i in plan.intents)
        full = signed >= plan.capacity
        told = wait(person.id, has(f"aquit:{aid}"), "sign-up confirmation")
        answer = await town.get(self.people.press(person, self.card(plan), f"asign:{aid}"))
        expected = self.t("zh", "signup.waiting_toast" if full else "signup.signed_toast")
        if answer.alert or answer.text != expected:
            raise Stuck(f"sign-up answered {answer.text!r}, expected {expected!r}")
        intent.confirmation = await town.get(told)
        intent.status = "waiting" if full else "signed"
        self.truth.signups += 1
        self.truth.waitlisted += full

    async def quit(self, plan: Plan, intent: Intent,
                     wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """Cancel my sign-up, Yes: the place goes to the first who waits, who is told."""
        town, people, person, aid = self.town, self.people, intent.person, plan.activity_id
        assert intent.confirmation is not None
        asked = wait(person.id, has(f"aquitok:{aid}"), "cancel: are you sure?")
        await town.get(people.press(person, intent.confirmation, f"aquit:{aid}"))
        question = await town.get(asked)
        await town.after(self.rng.uniform(3, 15))
        first = next((i for i in plan.intents if i.status == "waiting"), None)
        promoted = None
        if intent.status == "signed" and first is not None:
            promoted = wait(first.person.id, self.says("signup.promoted"), "promoted")
        answer = await town.get(people.press(person, question, f"aquitok:{aid}"))
        if answer.alert:
            raise Stuck(f"cancel refused: {answer.text}")
        if promoted is not None and first is not None:
            await town.get(promoted)
            first.status, first.promoted = "signed", True
            self.truth.promoted += 1
        intent.status = "cancelled"
        self.truth.cancelled += 1

    async def show_code(self, plan: Plan, which: str,
                        wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """The organiser presses Check-in code (or Check-out code): the bot draws the QR."""
        assert plan.controls is not None
        leader, aid = plan.leader, plan.activity_id
        photo = wait(leader.id, has(f"aman:{aid}:{which}"), "the QR code")
        answer = await self.town.get(self.people.press(leader, plan.controls,
                                                       f"aman:{aid}:{which}"))
        if answer.alert:
            raise Stuck(f"{which} refused: {answer.text}")
        await self.town.get(photo)
        self.qr_codes += 1

    async def check_in(self, plan: Plan, intent: Intent,
                       wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """By the code on the screen, by location, or by the organiser's hand."""
        town, people, person, aid = self.town, self.people, intent.person, plan.activity_id
        how = intent.checkin
        if how == "location" and (intent.confirmation is None
                                  or not intent.confirmation.has(f"aloc:{aid}")):
            how = "code"  # promoted: the message that told them has no Check in here
        shown: Msg | None = None
        if how == "hand":
            assert plan.controls is not None
            listing = wait(plan.leader.id, has_prefix(f"ahand:{aid}:"), "hand list")
            await town.get(people.press(plan.leader, plan.controls, f"aman:{aid}:hand"))
            shown = await town.get(listing)
            await town.after(self.rng.uniform(2, 8))
            if not shown.has(f"ahand:{aid}:{person.id}"):
                how = "code"  # the list shows 50 names: this one is further down, so by code
        if how == "hand":
            assert shown is not None
            told = wait(person.id, self.says("attendance.checked_in_by_hand"), "by hand")
            answer = await town.get(people.press(plan.leader, shown, f"ahand:{aid}:{person.id}"))
            if answer.alert:
                raise Stuck(f"check-in by hand refused: {answer.text}")
            await town.get(told)
            self.truth.by_hand += 1
        elif how == "location":
            await self.free(person, self.rng)
            try:
                assert intent.confirmation is not None
                asked = wait(person.id, keyboard_with("request_location"), "location question")
                await town.get(people.press(person, intent.confirmation, f"aloc:{aid}"))
                await town.get(asked)
                await town.after(self.rng.uniform(3, 10))
                done = wait(person.id, self.says("attendance.checked_in"), "checked in")
                leaving = wait(person.id, has(f"aloc:{aid}"), "when you leave")
                people.send(person, {"location": self.near(plan)})
                await town.get(done)
                intent.leaving = await town.get(leaving)
            finally:
                person.busy = False
            self.truth.by_location += 1
        else:
            payload = checkin_payload(self.secret, aid, self.clock.t)
            done = wait(person.id, has(f"aloc:{aid}"), "checked in")
            people.say(person, f"/start {payload}")
            msg = await town.get(done)
            if not self.says("attendance.checked_in")(msg):
                raise Stuck(f"code check-in answered {msg.text[:80]!r}")
            intent.leaving = msg
            self.truth.by_code += 1
        intent.checked_in = self.clock.t

    async def check_out(self, plan: Plan, intent: Intent,
                        wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """By the check-out code, or by location from "Check out here"."""
        town, people, person, aid = self.town, self.people, intent.person, plan.activity_id
        if intent.checkout == "code":
            done = wait(person.id, self.says("attendance.checked_out"), "checked out")
            payload = checkin_payload(self.secret, aid, self.clock.t, purpose="out")
            people.say(person, f"/start {payload}")
            await town.get(done)
        else:
            await self.free(person, self.rng)
            try:
                assert intent.leaving is not None
                asked = wait(person.id, keyboard_with("request_location"), "location question")
                await town.get(people.press(person, intent.leaving, f"aloc:{aid}"))
                await town.get(asked)
                await town.after(self.rng.uniform(3, 10))
                done = wait(person.id, self.says("attendance.checked_out"), "checked out")
                people.send(person, {"location": self.near(plan)})
                await town.get(done)
            finally:
                person.busy = False
        intent.checked_out = self.clock.t
        self.truth.checkouts += 1

    def near(self, plan: Plan) -> dict[str, float]:
        """A location at the venue (within 100 m of its map point)."""
        return {"latitude": plan.latitude + self.rng.uniform(-0.0006, 0.0006),
                "longitude": plan.longitude + self.rng.uniform(-0.0006, 0.0006)}

    async def confirm(self, plan: Plan,
                      wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter]) -> None:
        """Attendance and hours, Confirm: the hours are credited, the no-shows marked."""
        assert plan.controls is not None
        town, people, leader, aid = self.town, self.people, plan.leader, plan.activity_id
        await self.free(leader, self.rng)
        try:
            listing = wait(leader.id, has(f"aconf:{aid}"), "attendance list")
            await town.get(people.press(leader, plan.controls, f"aman:{aid}:confirm"))
            shown = await town.get(listing)
            await town.after(self.rng.uniform(20, 120))
            done = wait(leader.id, self.says("attendance.confirmed"), "confirmed")
            answer = await town.get(people.press(leader, shown, f"aconf:{aid}"))
            if answer.alert:
                raise Stuck(f"confirm refused: {answer.text}")
            await town.get(done)
        finally:
            leader.busy = False
        plan.confirmed = True
        for intent in plan.intents:
            if intent.status != "signed":
                continue
            if intent.checked_in is None:
                self.truth.no_shows += 1
                continue
            hours = credited_hours(intent.checked_in, intent.checked_out, plan.start, plan.end,
                                   min_share=MIN_SHARE, stayed_to_end=True)
            self.truth.under_share += hours == 0
            self.truth.hours += hours
            person = intent.person.id
            self.truth.per_person[person] = self.truth.per_person.get(person, 0.0) + hours

    # -- the whole run ---------------------------------------------------------------------------

    def watch_cards(self) -> None:
        """Keep each activity's cards as they reach the groups (people press them there)."""
        delivered = self.town.delivered

        def seen(msg: Msg) -> None:
            if msg.chat_id < 0:
                for data in msg.data("asign:"):
                    self.cards.setdefault(int(data.split(":")[1]), []).append(msg)
            delivered(msg)

        self.town.delivered = seen  # type: ignore[method-assign]

    async def run_year(self, folder: Path) -> dict[str, Any]:
        """Start the bot, set the district up, replay the year, ask /stats; the figures."""
        admin_chat = -1_001_999_999_999
        tree = load_areas(AREAS)
        teams = self.write_teams(folder / "teams.csv", tree)
        config = self.config = self.config_for(folder, admin_chat)
        self.town.groups[admin_chat] = "市中区文明实践中心管理群"
        self.groups(tree)
        self.plan(teams, tree)
        self.watch_cards()
        figures: dict[str, Any] = {"planned_hours": self.planned_hours(),
                                   "groups": len(self.area_groups), "teams": len(teams)}
        stop = asyncio.Event()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        bot = asyncio.create_task(run(config, stop, self.clock, self.on_ready, self.api))
        while self.services is None:
            if bot.done():
                await bot
            await asyncio.sleep(0.01)
        await self.settle()
        figures["start_s"] = time.perf_counter() - wall0
        admin = self.admin
        assert admin is not None

        async def setup(_: int) -> None:
            await self.bind_groups(admin)

        await self.drive([self.clock.t], setup)
        figures["setup_s"] = time.perf_counter() - wall0 - figures["start_s"]
        figures["setup_updates"] = self.api.updates
        calls0 = sum(n for m, n in self.api.calls.items() if m != "getUpdates")
        cpu1, wall1, updates1 = time.process_time(), time.perf_counter(), self.api.updates
        plans = sorted(self.plans, key=lambda p: p.publish_at)

        async def spawn(index: int) -> None:
            await self.activity(plans[index])

        await self.drive([p.publish_at for p in plans], spawn)
        figures["replay_s"] = time.perf_counter() - wall1
        figures["replay_cpu_s"] = time.process_time() - cpu1
        figures["replay_updates"] = self.api.updates - updates1
        figures["replay_calls"] = (sum(n for m, n in self.api.calls.items() if m != "getUpdates")
                                   - calls0)
        for day in (2, 3):
            await self.advance(datetime(YEAR + 1, 1, day, 10, tzinfo=TZ).timestamp())
            await self.sweep()
        figures["stats_text"] = await self.stats(admin)
        await self.drain()
        stop.set()
        await bot
        figures["wall_s"] = time.perf_counter() - wall0
        figures["cpu_s"] = time.process_time() - cpu0
        figures["updates"] = self.api.updates
        figures["calls"] = sum(n for m, n in self.api.calls.items() if m != "getUpdates")
        figures["messages"] = sum(self.api.calls[m] for m in (
            "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendLocation"))
        figures["refused"] = dict(self.api.refused)
        people = self.truth.per_person
        self.truth.formal = sum(h >= FORMAL_HOURS for h in people.values())
        return figures

    def config_for(self, folder: Path, admin_chat: int) -> Config:
        """The config (the admin is created once)."""
        if self.admin is None:
            self.admin = self.person(900_001, "Centre admin", "en")
        return self.build_config(folder, self.admin.id, admin_chat)

    async def stats(self, admin: Person) -> str:
        """The centre admin asks /stats 2026 in private, as they would."""
        with self.story() as wait:
            reply = wait(admin.id, lambda m: "Verified hours" in m.text, "/stats reply")
            self.people.say(admin, f"/stats {YEAR}")
            try:
                msg: Msg = await asyncio.wait_for(self.town.get(reply), timeout=120)
            except TimeoutError:
                return ""
            await self.settle()
            return msg.text


async def check_database(path: Path, year: ActivityYear) -> dict[str, Any]:
    """Each activity's figures in the database against the replayed ones."""
    db = await Database.open(path)
    try:
        async with db.reading() as repo:
            start = datetime(YEAR, 1, 1, tzinfo=TZ).timestamp()
            end = datetime(YEAR + 1, 1, 1, tzinfo=TZ).timestamp()
            rows = {row["id"]: row for row in await repo.activities.figures(start, end, None)}
            outbox = await repo.outbox.outbox_status_counts()
    finally:
        await db.close()
    wrong: list[str] = []
    for plan in year.plans:
        row = rows.get(plan.activity_id)
        if row is None:
            wrong.append(f"activity {plan.index}: not in the database")
            continue
        signed = [i for i in plan.intents if i.status == "signed"]
        hours = sum(credited_hours(i.checked_in, i.checked_out, plan.start, plan.end,
                                   min_share=MIN_SHARE, stayed_to_end=True)
                    for i in signed if i.checked_in is not None)
        expected = (plan.capacity, len(signed), sum(i.status == "waiting" for i in plan.intents),
                    sum(i.checked_in is not None for i in signed),
                    sum(i.checked_in is None for i in signed), hours,
                    plan.start, plan.end)
        found = (row["capacity"], row["signed"], row["waiting"], row["attended"],
                 row["no_shows"], float(row["hours"]), row["starts_at"], row["ends_at"])
        if found != expected:
            wrong.append(f"activity {plan.index} (#{plan.activity_id}): {found} != {expected}")
    return {"activities": len(rows), "wrong": wrong, "outbox": outbox}


def hours_text(hours: float) -> str:
    """Hours as /stats writes them (quarters: at most two decimals)."""
    return f"{hours:.2f}".rstrip("0").rstrip(".")


# -- the fan-out ----------------------------------------------------------------------------------


async def fanout(groups: int) -> dict[str, Any]:
    """One activity of the whole district, published to `groups` bound groups at once, with
    the sandbox enforcing Telegram's limits."""
    from bench import bench_clock
    from sandbox import Limits, Sandbox, SimChat, SimMessage

    token = "123456:FANOUT-token"
    tree = load_areas(AREAS)
    areas = [a.id for a in tree.areas.values()]
    codes = [f"c{n}" for n in range(math.ceil(groups / len(areas)))]
    pairs = list(itertools.product(codes, areas))[:groups]
    async with Sandbox(token=token, limits=Limits()) as sb:
        admin = sb.add_user("Admin")
        chats = [sb.add_group(f"group {n}") for n in range(groups)]
        ids = {chat.id for chat in chats}
        arrived: dict[int, float] = {}
        private: list[float] = []

        def seen(kind: str, chat: SimChat, message: SimMessage | None, detail: str) -> None:
            if kind != "bot_message" or message is None:
                return
            if chat.id in ids and chat.id not in arrived:
                arrived[chat.id] = time.monotonic()
            elif chat.id not in ids:
                private.append(time.monotonic())

        sb.on_event(seen)
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "teams.csv").write_text(
                "id,area_id,name_zh,name_en,leader_id\n"
                "district,centre,区志愿服务总队,District volunteer corps,\n", "utf-8")
            config = parse_config({
                "telegram": {"token": token, "base_url": sb.base_url, "poll_timeout": 1},
                "bot": {"admin_ids": [admin.id], "default_language": "en",
                        "database": "fanout.db"},
                "areas": {"file": str(AREAS)},
                "volunteers": {"teams_file": "teams.csv"},
                "activities": {"themes_file": str(THEMES)},
                "categories": [{"code": code, "zh": f"类别{n}", "en": f"Category {n}"}
                               for n, code in enumerate(codes)],
            }, env={}, base_dir=Path(folder))
            db = await Database.open(config.database)
            async with db.transaction() as repo:
                for (code, area), chat in zip(pairs, chats, strict=True):
                    await repo.areas.bind(code, area, chat.id, chat.title or "", admin.id,
                                          bench_clock().now())
            await db.close()
            stop = asyncio.Event()
            bot = asyncio.create_task(run(config, stop, bench_clock()))
            await sb.wait_until(lambda: sb.polls_started > 0, timeout=30)
            await admin.send("/start")
            await admin.wait_for(text="")
            preview = await fanout_preview(admin)
            await asyncio.sleep(2.0)  # the dialog's own messages leave the overall window
            private.clear()
            began = time.monotonic()
            await admin.press("✅ Publish", message=preview)
            with_timeout = 60 + groups / TELEGRAM_PER_SECOND * 3
            with contextlib.suppress(TimeoutError):
                await sb.wait_until(lambda: len(arrived) >= groups, timeout=with_timeout)
            stop.set()
            await bot
    last = max(arrived.values(), default=began) - began
    minimum = groups / TELEGRAM_PER_SECOND
    return {"groups": groups, "reached": len(arrived), "last": last, "minimum": minimum,
            "strict_minimum": (groups - TELEGRAM_PER_SECOND) / TELEGRAM_PER_SECOND,
            "ratio": last / minimum, "429": sb.count_429,
            "private": len(private)}


async def fanout_preview(admin: Any) -> Any:
    """A centre admin's /publish up to the preview: the whole district, 200 places."""

    def asks(*steps: int) -> Callable[[Any], bool]:
        return lambda m: any(f"{n}/12" in (m.text or "") for n in steps)

    await admin.send("/publish")
    await admin.wait_for(predicate=asks(1))
    await admin.send("District clean-up day")
    area = await admin.wait_for(predicate=asks(3, 4))
    if "3/12" in (area.text or ""):  # an admin chooses the area: the whole district
        await admin.press(_label(area, lambda d: d.startswith("act:") and d.endswith(":area:")),
                          message=area)
        await admin.wait_for(predicate=asks(4))
    await admin.send("Every community's square")
    point = await admin.wait_for(predicate=asks(5))
    await admin.press(_label(point, lambda d: ":skip:" in d), message=point)
    await admin.wait_for(predicate=asks(6))
    await admin.send("2026-06-20 09:00")
    await admin.wait_for(predicate=asks(7))
    await admin.send("11:00")
    await admin.wait_for(predicate=asks(8))
    await admin.send("200")
    leader = await admin.wait_for(predicate=asks(9))
    await admin.press(_label(leader, lambda d: ":me:" in d), message=leader)
    theme = await admin.wait_for(predicate=asks(10))
    await admin.press(_label(theme, lambda d: d.endswith(":theme:y")), message=theme)
    poster = await admin.wait_for(predicate=asks(11))
    await admin.press(_label(poster, lambda d: ":skip:" in d), message=poster)
    await admin.wait_for(predicate=asks(12))
    await admin.send("Gloves and bags at every square.")
    return await admin.wait_for(text="Preview")


def _label(message: Any, test: Callable[[str], bool]) -> str:
    """The label of the message's button whose data passes `test`."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    for button in (b for row in rows for b in row):
        if test(str(button.get("callback_data", ""))):
            return str(button["text"])
    raise LookupError(f"no such button on {message.text!r}")


# -- the report -----------------------------------------------------------------------------------


def report_year(year: ActivityYear, f: dict[str, Any], check: dict[str, Any]) -> dict[str, Any]:
    """Print the year's figures; what the summary needs."""
    t = year.truth
    n = year.activities
    people = len(t.per_person)
    print(f"district: {f['teams']} teams (a leader each), {f['groups']} volunteer groups "
          f"(one per institute and station, /bind other <area>), the example themes; "
          f"{len(year.pool):,} volunteers of the pool of {POOL:,} acted "
          f"({max(3, round(REGULARS * n / FULL_YEAR))} of them regulars)")
    print(f"replayed: {n:,} activities published through /publish "
          f"({sum(p.published for p in year.plans):,} published, "
          f"{sum(p.confirmed for p in year.plans):,} confirmed); {t.signups:,} sign-ups "
          f"({t.waitlisted:,} to the waitlist, {t.cancelled:,} cancelled, {t.promoted:,} "
          f"promoted from the waitlist); check-ins {t.by_code:,} by code ({year.qr_codes:,} QR "
          f"codes shown), {t.by_location:,} by location, {t.by_hand:,} by hand; "
          f"{t.checkouts:,} check-outs; {t.no_shows:,} no-shows; {t.under_share:,} under 60%")
    print(f"truth: {hours_text(t.hours)} h credited to {people:,} volunteers "
          f"(planned {f['planned_hours']:,.0f} h); formal volunteers of {YEAR} (>= "
          f"{FORMAL_HOURS:g} h): {t.formal}")
    updates, seconds = f["replay_updates"], f["replay_s"]
    print(f"setup: bot start {f['start_s']:.1f} s, {f['setup_updates']:,} updates "
          f"(binds) in {f['setup_s']:.1f} s")
    print(f"replay: {seconds:.1f} s wall, {f['replay_cpu_s']:.1f} s CPU, {updates:,} updates "
          f"({updates / max(seconds, 1e-9):.0f}/s, {updates / max(1, n):.0f} per activity), "
          f"{f['replay_calls']:,} Bot API calls")
    print(f"Bot API calls by the bot: {f['calls']:,} (getUpdates apart): "
          + ", ".join(f"{m} {c:,}" for m, c in year.api.calls.most_common()
                      if c and m != "getUpdates"))
    print(f"messages sent: {f['messages']:,}; 429s received: 0 (the in-process API has no "
          f"limits; the fan-out below measures pacing)")
    if f["refused"]:
        print(f"calls refused: {f['refused']}")
    print(f"whole run: {f['wall_s']:.1f} s wall, {f['cpu_s']:.1f} s CPU, "
          f"{f['updates']:,} updates")
    outbox = check["outbox"]
    print(f"outbox: {outbox.get('sent', 0):,} sent, {outbox.get('pending', 0)} pending, "
          f"{outbox.get('failed', 0)} failed")
    wrong = check["wrong"]
    print(f"activities in the database: {check['activities']:,}; figures equal to the "
          f"replayed ones: {'yes' if not wrong else f'NO ({len(wrong)})'}")
    for line in wrong[:10]:
        print(f"WRONG: {line}")
    text = re.sub(r"<[^>]+>", "", f["stats_text"])
    hours_line = f"Verified hours: {hours_text(t.hours)} h"
    formal_line = f"Registered formal volunteers of {YEAR}: {t.formal}"
    shown = [line.strip() for line in text.splitlines()]
    found_hours = next((s for s in shown if s.startswith("Verified hours")), "(none)")
    found_formal = next((s for s in shown if s.startswith("Registered formal")), "(none)")
    number = re.fullmatch(r"Verified hours: ([0-9.]+) h", found_hours)
    # The number itself must equal the sum (a rounded figure would not), and the line read so.
    stats_match = (number is not None and float(number.group(1)) == t.hours
                   and found_hours == hours_line and found_formal == formal_line)
    print(f"/stats {YEAR}: \"{found_hours}\", \"{found_formal}\"; replayed: \"{hours_line}\", "
          f"\"{formal_line}\" -> match: {'yes' if stats_match else 'NO'}")
    for line in t.lost[:10]:
        print(f"LOST: {line}")
    projected = projection(n, f)
    return {"stats_match": stats_match, "correct": stats_match and not wrong and not t.lost
            and not outbox.get("pending") and not outbox.get("failed"),
            "projected": projected}


def projection(activities: int, f: dict[str, Any]) -> float:
    """The whole run's time at 1,600 activities: the replay grows with the activities."""
    if activities == FULL_YEAR:
        return float(f["wall_s"])
    rest = f["wall_s"] - f["replay_s"]
    return rest + f["replay_s"] * FULL_YEAR / activities


def main() -> None:
    """Parse, run the year and the fan-out, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=FULL_YEAR)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--groups", type=int, default=FANOUT_GROUPS)
    parser.add_argument("--fanout", action="store_true", help="the fan-out alone")
    parser.add_argument("--year-only", action="store_true", help="the year alone")
    parser.add_argument("--validate", action="store_true",
                        help="check every Bot API call against the spec (slower)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    parts = []
    ok = True
    if not args.fanout:
        year = ActivityYear(args.activities, args.seed, args.validate)
        with tempfile.TemporaryDirectory() as folder:
            f = asyncio.run(year.run_year(Path(folder)))
            check = asyncio.run(check_database(Path(folder) / "civicloop.db", year))
        y = report_year(year, f, check)
        scale = ("" if args.activities == FULL_YEAR
                 else f", projected {y['projected']:,.0f} s for {FULL_YEAR:,}")
        parts.append(f"{args.activities} activities, {f['updates']:,} updates in "
                     f"{f['wall_s']:.0f} s ({f['cpu_s']:.0f} s CPU{scale}), "
                     f"{hours_text(year.truth.hours)} h, {year.truth.formal} formal, "
                     f"stats match: {'yes' if y['stats_match'] else 'NO'}")
        ok = ok and y["correct"]
    if not args.year_only:
        g = asyncio.run(fanout(args.groups))
        print(f"fan-out: 1 activity of the whole district to {g['groups']} groups: "
              f"{g['reached']} reached, the last {g['last']:.2f} s after Publish; physical "
              f"minimum {g['minimum']:.2f} s ({g['groups']} / {TELEGRAM_PER_SECOND} per s; "
              f"{g['strict_minimum']:.2f} s if the first second's 30 go at once) -> ratio "
              f"{g['ratio']:.3f} (goal <= {FANOUT_GOAL:.2f}); {g['private']} private messages "
              f"meanwhile; 429s: {g['429']}")
        parts.append(f"fan-out {g['reached']}/{g['groups']} in {g['last']:.1f} s, ratio "
                     f"{g['ratio']:.3f}, 429s {g['429']}")
        ok = ok and g["reached"] == g["groups"] and g["429"] == 0 and g["ratio"] <= FANOUT_GOAL
    print(f"activities year: {'; '.join(parts)} -> {'goal met' if ok else 'GOAL MISSED'}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
