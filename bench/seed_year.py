"""The seed year: a district's year of requests replayed through the real bot, in-process.

Every request is a story people act out: a citizen files it through the form (category,
description or photo or voice, address or shared location, area, contact, confirm), a volunteer
claims the card in the group it was routed to, finishes it (note, hours), and the citizen
confirms and rates it; 0.35% are cancelled by their citizen instead. The bot is the real one
(`bot.app.run`: every handler, the poller's inbox, the outbox and its sender, the schedule's
sweep) fed real Update JSON through PTB's request seam: an in-process Bot API (`BotApi`) stands
in for HTTP, hands out the updates and answers the bot's calls, and people read the buttons the
bot actually sent. The clock is simulated: it jumps from one person's action to the next, so a
year of reference numbers, timers, quiet hours and digests passes in minutes.

Goal: 138,334 requests in <= 20 minutes on one core, zero lost or duplicated, and the year's
/stats figures equal to the replayed counts. The process pins itself to one CPU (--all-cores
does not); a smaller run projects its time to the full size.

    python -m bench.seed_year                       # the full year
    python -m bench.seed_year --requests 1000       # a quick run (under a minute)
    python -m bench.seed_year --requests 10000 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import cProfile
import csv
import heapq
import io
import itertools
import json
import logging
import math
import os
import pstats
import random
import re
import tempfile
import time
import tomllib
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from telegram.request import BaseRequest, RequestData

from bench.ptb_floor import floor_rate
from bot.app import run
from bot.areas.tree import AreaTree, load_areas
from bot.config import Config, parse_config
from bot.context import Clock
from bot.delivery.sender import Pacer
from bot.reports.periods import parse_period
from bot.wiring import Services
from sandbox.spec import ApiError, Spec, Upload, bad_request, load_spec
from storage import Database, Repo
from storage import stats as stats_sql

ROOT = Path(__file__).resolve().parent.parent
AREAS = ROOT / "sandbox" / "data" / "areas-shizhong.csv"
TOKEN = "123456:SEED-year-token"
FULL_YEAR = 138_334
GOAL_SECONDS = 20 * 60
CANCELLED_SHARE = 0.0035  # the rest, 99.65%, are completed
TEAMS = 406
TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2026
YEAR_START = datetime(YEAR, 1, 1, tzinfo=TZ).timestamp()
LAST_ARRIVAL = datetime(YEAR, 12, 27, tzinfo=TZ).timestamp()  # all closed within the year
SETUP_START = datetime(YEAR - 1, 12, 20, 9, tzinfo=TZ).timestamp()
QUARTERS = [datetime(YEAR + (m > 12), (m - 1) % 12 + 1, 1, tzinfo=TZ).timestamp()
            for m in (1, 4, 7, 10, 13)]
SWEEP_EVERY = 300.0  # simulated seconds between schedule sweeps (the bot's own: 1 s of real time)
STUCK_SECONDS = 10.0  # real seconds without progress before a waiting person gives up
REF = re.compile(r"\b(\d{4}-\d{6})\b")

# Raised for the replay (they are config, not code): the benchmark measures the loop's own
# cost, not Telegram's pacing, which bench/delivery.py measures.
FAST_DELIVERY = {"private_per_second": 30.0, "private_burst": 30, "group_per_minute": 600,
                 "global_per_second": 1000, "concurrency": 64}
# Even those bind here: the pacer counts real seconds, and one real minute of the replay holds
# a simulated week or more (a busy group's card edits alone pass 600 a real minute, and its
# next card then waits behind them). So the sender's pacer gets these thresholds, beyond the
# config's range: the same pacing code runs, it never holds a call.
BEYOND_REACH = 10**9

# How often each category is filed (the elderly and the living environment most).
CATEGORY_SHARE = {"elderly": 24, "environment": 20, "infrastructure": 14, "public_service": 10,
                  "health": 9, "children": 7, "legal": 6, "haircut": 5, "other": 4,
                  "emergency": 1}
# Requests per hour of the local day.
HOUR_WEIGHT = (0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.2, 2.0, 2.2, 2.1, 1.9, 1.4, 1.4, 1.8, 1.9,
               1.8, 1.6, 1.3, 1.2, 1.0, 0.7, 0.45, 0.3)
STARS = ((5, 70), (4, 18), (3, 7), (2, 3), (1, 2))
DESCRIPTIONS = {
    "zh": {
        "elderly": ["独居老人需要帮忙买菜和送药", "老人家里的灯坏了，需要人帮忙换灯泡",
                    "想请志愿者陪老人去医院复查"],
        "environment": ["楼道里堆满杂物，影响通行", "小区垃圾桶满了好几天没人清理",
                        "路边绿化带里有很多垃圾"],
        "infrastructure": ["路灯不亮，晚上看不见路", "下水道堵了，雨天积水严重",
                           "单元门的门禁坏了"],
        "children": ["留守儿童放学后没人辅导作业", "想为孩子找课后看护"],
        "haircut": ["卧床老人需要上门理发", "想预约爱心义剪"],
        "health": ["需要上门量血压", "想咨询慢性病用药"],
        "legal": ["和房东的押金纠纷，想咨询", "工资被拖欠，不知道怎么办"],
        "emergency": ["家里漏水很严重，需要紧急帮助", "暴雨后地下室进水"],
        "public_service": ["想咨询社保卡办理", "需要帮忙填写低保申请表"],
        "other": ["想参加社区活动，不知道怎么报名", "有一些旧衣物想捐出去"],
    },
    "en": {
        "elderly": ["An elderly neighbour living alone needs groceries and medicine",
                    "Grandpa's light is broken and he cannot change the bulb"],
        "environment": ["The stairwell is blocked with rubbish", "Bins not emptied for days"],
        "infrastructure": ["The street light is out", "The drain is blocked and floods"],
        "children": ["Children need help with homework after school"],
        "haircut": ["A bedridden neighbour needs a haircut at home"],
        "health": ["Blood pressure check at home, please"],
        "legal": ["A dispute with the landlord over the deposit"],
        "emergency": ["Water is pouring through the ceiling"],
        "public_service": ["How do I apply for a social security card?"],
        "other": ["I would like to donate old clothes"],
    },
}
COMMENTS = {"zh": ["非常感谢志愿者！", "来得很快，服务很好", "谢谢，问题解决了"],
            "en": ["Thank you so much!", "Quick and kind, thanks"]}
NOTES = {"zh": ["已处理完毕", "已送到老人家里", "已联系物业解决"],
         "en": ["All done", "Delivered to the door"]}
STREETS = ["光明路", "文化路", "建设路", "振兴路", "龙头路", "青檀路", "君山路", "府前路"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
GIVEN = "秀英桂兰玉梅建国志强丽娟明华海军红霞春生德胜"


def chinese_name(rng: random.Random) -> str:
    """A plausible Chinese name (the other years' replays name their people alike)."""
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))


def local(moment: float) -> datetime:
    """A moment in the district's time."""
    return datetime.fromtimestamp(moment, TZ)
EN_NAMES = ["Anna", "Ben", "Chris", "Dana", "Eli", "Fay", "Gus", "Hana"]

class Stuck(Exception):
    """A person waited for a message that did not come."""


class SimClock(Clock):
    """The simulated clock the bot runs on: it stands still until the driver moves it."""

    def __init__(self, start: float) -> None:
        self.t = start

    def now(self) -> float:
        """Return the simulated time."""
        return self.t


# -- people, chats and what the bot sent them --------------------------------------------------


@dataclass(eq=False)
class Person:
    """A citizen, volunteer or the admin, with what the simulation tracks about them."""

    id: int
    name: str
    language: str
    started: bool = False  # has written to the bot in private (the bot may write back)
    consented: bool = False  # has agreed to the privacy notice (shown before the first form)
    busy: bool = False  # in a multi-step dialog: their other stories wait
    open_requests: int = 0
    recent: deque[float] = field(default_factory=deque)  # requests filed in the last day
    phone: str = ""
    home: str = ""  # a volunteer's station or institute
    tasks: int = 0


@dataclass(eq=False)
class Msg:
    """A message the bot sent, as the people see it."""

    chat_id: int
    message_id: int
    text: str
    raw: dict[str, Any]
    buttons: list[tuple[str, str]]  # (label, callback_data) of its inline keyboard
    keyboard: list[dict[str, Any]]  # the reply keyboard's buttons

    def data(self, prefix: str) -> list[str]:
        """The callback data of the buttons that start with `prefix`."""
        return [d for _, d in self.buttons if d.startswith(prefix)]

    def has(self, data: str) -> bool:
        """Say whether a button carries exactly this data."""
        return any(d == data for _, d in self.buttons)


@dataclass(eq=False)
class Waiter:
    """Someone waiting for a message (or for the answer to a pressed button)."""

    chat_id: int | None
    test: Callable[[Msg], bool]
    future: asyncio.Future[Any]
    what: str
    resolved: bool = False
    consumed: bool = False
    counted: bool = False  # counted in Town.ready until the person takes it


@dataclass(frozen=True)
class Answered:
    """The bot's answer to a pressed button."""

    text: str
    alert: bool


class Town:
    """The people, their chats, and the bookkeeping that lets the driver know when all is quiet
    (no update unhandled, nothing to send, nobody about to act)."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.waiters: dict[int | None, list[Waiter]] = {}
        self.answers: dict[str, Waiter] = {}
        self.expecting = 0  # waiters not yet resolved
        self.ready = 0  # resolved (or woken) but the person has not acted on it yet
        self.progress = 0  # anything happened: a message sent, an update fetched
        self.changed = asyncio.Event()
        self.heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self.seq = itertools.count()
        self.people: dict[int, Person] = {}
        self.groups: dict[int, str] = {}
        self.message_ids: dict[int, int] = {}
        self.failures: list[str] = []

    def poke(self) -> None:
        """Tell the driver something changed."""
        if not self.changed.is_set():
            self.changed.set()

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count up per chat (the user's and the bot's share one sequence)."""
        self.message_ids[chat_id] = self.message_ids.get(chat_id, 0) + 1
        return self.message_ids[chat_id]

    # -- waiting --------------------------------------------------------------------------

    def expect(self, chat_id: int | None, test: Callable[[Msg], bool], what: str) -> Waiter:
        """Start waiting for a message to `chat_id` (None: any group) that passes `test`.
        Register before acting, so the answer cannot slip by."""
        waiter = Waiter(chat_id, test, asyncio.get_running_loop().create_future(), what)
        self.waiters.setdefault(chat_id, []).append(waiter)
        self.expecting += 1
        return waiter

    def expect_answer(self, query_id: str) -> Waiter:
        """Wait for the answer to a pressed button."""
        waiter = Waiter(None, lambda _: True, asyncio.get_running_loop().create_future(),
                        f"answer to {query_id}")
        self.answers[query_id] = waiter
        self.expecting += 1
        return waiter

    def _resolve(self, waiter: Waiter, value: Any = None, error: Exception | None = None) -> None:
        waiter.resolved = True
        self.expecting -= 1
        if error is not None:
            # A failure is not waited for: the story may be elsewhere (between two steps)
            # and will find it when it looks.
            waiter.future.set_exception(error)
        else:
            waiter.counted = True
            self.ready += 1
            waiter.future.set_result(value)
        self.poke()

    async def get(self, waiter: Waiter) -> Any:
        """The awaited message (or answer), once it comes."""
        try:
            return await waiter.future
        finally:
            if not waiter.consumed:
                waiter.consumed = True
                if waiter.counted:
                    self.ready -= 1

    def drop(self, waiter: Waiter) -> None:
        """Stop waiting (a story ended early): keep the books straight."""
        if waiter.consumed:
            return
        waiter.consumed = True
        if waiter.resolved:
            if waiter.counted:
                self.ready -= 1
            waiter.future.exception()  # retrieved: no "exception never retrieved" warning
            return
        self.expecting -= 1
        waiting = self.waiters.get(waiter.chat_id, [])
        if waiter in waiting:
            waiting.remove(waiter)
        for key, value in list(self.answers.items()):
            if value is waiter:
                del self.answers[key]
        waiter.future.cancel()

    def give_up(self) -> int:
        """Fail every waiter (nothing is coming): their stories record what was missing."""
        count = 0
        for waiting in self.waiters.values():
            for waiter in waiting:
                self._resolve(waiter, error=Stuck(waiter.what))
                count += 1
            waiting.clear()
        for waiter in list(self.answers.values()):
            self._resolve(waiter, error=Stuck(waiter.what))
            count += 1
        self.answers.clear()
        return count

    def delivered(self, msg: Msg) -> None:
        """The bot sent a message: hand it to whoever waits for it."""
        self.progress += 1
        for key in (msg.chat_id, None) if msg.chat_id < 0 else (msg.chat_id,):
            waiting = self.waiters.get(key)
            if not waiting:
                continue
            for waiter in waiting:
                if waiter.test(msg):
                    waiting.remove(waiter)
                    self._resolve(waiter, msg)
                    return

    def answered(self, query_id: str, text: str, alert: bool) -> None:
        """The bot answered a pressed button."""
        self.progress += 1
        waiter = self.answers.pop(query_id, None)
        if waiter is not None:
            self._resolve(waiter, Answered(text, alert))

    # -- simulated time -------------------------------------------------------------------

    async def after(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass for this person."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.heap, (self.clock.t + max(seconds, 0.001), next(self.seq), future))
        self.poke()
        await future
        self.ready -= 1


# -- the Bot API, in-process -------------------------------------------------------------------


class BotApi(BaseRequest):
    """PTB's request seam answered in-process: getUpdates hands out the people's updates, and
    every call the bot makes is answered the way Telegram would (a Message with a fresh id),
    and shown to the people it was meant for."""

    BOT: ClassVar[dict[str, Any]] = {"id": 7_000_000_001, "is_bot": True,
                                     "first_name": "Civicloop", "username": "civicloop_bot"}

    def __init__(self, town: Town, spec: Spec | None = None) -> None:
        self.town = town
        self.spec = spec
        self.pending: deque[dict[str, Any]] = deque()
        self.update_ids = itertools.count(1)
        self.last_update_id = 0
        self.handed_out = 0  # highest update id the bot has fetched
        self.polling = False  # the bot waits in getUpdates with nothing left to handle
        self._news = asyncio.Event()
        self.calls: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.updates = 0
        self.query_ids = itertools.count(1)
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda p: self.BOT,
            "sendMessage": self._send_message,
            "sendPhoto": lambda p: self._send_media(p, "photo"),
            "sendVoice": lambda p: self._send_media(p, "voice"),
            "sendDocument": lambda p: self._send_media(p, "document"),
            "sendLocation": self._send_location,
            "sendMediaGroup": self._send_media_group,
            "editMessageText": self._edit,
            "editMessageCaption": self._edit,
            "editMessageReplyMarkup": self._edit,
            "answerCallbackQuery": self._answer,
            "setMyCommands": lambda p: True,
            "deleteMyCommands": lambda p: True,
            "sendChatAction": lambda p: True,
            # At start a polling bot checks that no webhook is set (one would make
            # getUpdates answer 409).
            "getWebhookInfo": lambda p: {"url": "", "has_custom_certificate": False,
                                         "pending_update_count": 0},
            "deleteWebhook": lambda p: True,
        }

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout of its own."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    # -- updates from the people ----------------------------------------------------------

    def inject(self, update: dict[str, Any]) -> int:
        """Queue an update for the bot's next getUpdates."""
        update_id = next(self.update_ids)
        update["update_id"] = update_id
        self.pending.append(update)
        self.last_update_id = update_id
        self.updates += 1
        self._news.set()
        self.town.poke()
        return update_id

    @property
    def caught_up(self) -> bool:
        """The bot has handled every update and waits for more."""
        return self.polling and not self.pending

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        if offset is not None:
            while self.pending and self.pending[0]["update_id"] < int(offset):
                self.pending.popleft()  # confirmed: handled (the poller asks past them)
        if not self.pending:
            self._news.clear()
            self.polling = True
            self.town.poke()
            try:
                await asyncio.wait_for(self._news.wait(), timeout=float(params.get("timeout", 0)))
            except TimeoutError:
                return []
            finally:
                self.polling = False
        limit = int(params.get("limit", 100))
        batch = list(itertools.islice(self.pending, limit))
        self.town.progress += 1
        return batch

    # -- calls from the bot ---------------------------------------------------------------

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call."""
        name = url.rsplit("/", 1)[-1]
        self.calls[name] += 1
        params = request_data.parameters if request_data is not None else {}
        try:
            if self.spec is not None and request_data is not None:
                self._validate(name, request_data)
            if name == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                answer = self._methods.get(name)
                if answer is None:
                    raise bad_request(f"method {name} is not answered by the seed-year Bot API")
                result = answer(params)
        except ApiError as exc:
            self.refused[f"{name}: {exc.description}"[:120]] += 1
            return exc.code, json.dumps(exc.to_dict()).encode()
        return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()

    def _validate(self, name: str, request_data: RequestData) -> None:
        """Check the call against the Bot API spec, as the sandbox does (with --validate)."""
        assert self.spec is not None
        if self.spec.method_name(name) is None:
            raise bad_request(f"unknown method {name}")
        uploads = {key: Upload(key, None, None, b"") for key in request_data.multipart_data}
        self.spec.validate_call(name, request_data.json_parameters, uploads)

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat = int(chat_id)
        if chat < 0:
            if chat not in self.town.groups:
                raise bad_request("chat not found")
            return {"id": chat, "type": "supergroup", "title": self.town.groups[chat]}
        person = self.town.people.get(chat)
        if person is None:
            raise bad_request("chat not found")
        if not person.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return {"id": chat, "type": "private", "first_name": person.name}

    def _post(self, params: dict[str, Any], content: dict[str, Any], text: str) -> dict[str, Any]:
        """Make the Message Telegram returns, and show it to the people waiting on it."""
        chat = self._chat(params["chat_id"])
        message_id = self.town.next_message_id(chat["id"])
        raw: dict[str, Any] = {"message_id": message_id, "from": self.BOT, "chat": chat,
                               "date": int(self.town.clock.t), **content}
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        buttons: list[tuple[str, str]] = []
        keyboard: list[dict[str, Any]] = []
        if isinstance(markup, dict):
            if "inline_keyboard" in markup:
                raw["reply_markup"] = markup
                buttons = [(b["text"], b.get("callback_data", ""))
                           for row in markup["inline_keyboard"] for b in row]
            keyboard = [b for row in markup.get("keyboard", []) for b in row]
        self.town.delivered(Msg(chat["id"], message_id, text, raw, buttons, keyboard))
        return raw

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params["text"])
        return self._post(params, {"text": text}, text)

    def _file(self, kind: str, value: Any) -> dict[str, Any]:
        file_id = value if isinstance(value, str) and value else f"upload-{kind}"
        if kind == "photo":
            return {"photo": [{"file_id": file_id, "file_unique_id": file_id[-16:],
                               "width": 1280, "height": 960}]}
        if kind == "voice":
            return {"voice": {"file_id": file_id, "file_unique_id": file_id[-16:],
                              "duration": 12}}
        return {"document": {"file_id": file_id, "file_unique_id": file_id[-16:]}}

    def _send_media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        caption = str(params.get("caption") or "")
        content = self._file(kind, params.get(kind))
        if caption:
            content["caption"] = caption
        return self._post(params, content, caption)

    def _send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._post(params, {"location": location}, "")

    def _send_media_group(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        media = params["media"]
        if isinstance(media, str):
            media = json.loads(media)
        group = f"album{next(self.query_ids)}"
        return [self._post(params, {**self._file("photo", m.get("media")),
                                    "media_group_id": group}, str(m.get("caption") or ""))
                for m in media]

    def _edit(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"])
        message: dict[str, Any] = {"message_id": int(params["message_id"]), "from": self.BOT,
                                   "chat": chat, "date": int(self.town.clock.t),
                                   "edit_date": int(self.town.clock.t)}
        if "text" in params:
            message["text"] = params["text"]
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.town.progress += 1
        return message

    def _answer(self, params: dict[str, Any]) -> bool:
        self.town.answered(str(params["callback_query_id"]), str(params.get("text") or ""),
                           bool(params.get("show_alert")))
        return True


# -- what people do -----------------------------------------------------------------------------


class People:
    """Turns what a person does into the Update JSON Telegram would send."""

    def __init__(self, town: Town, api: BotApi) -> None:
        self.town = town
        self.api = api

    def _user(self, person: Person) -> dict[str, Any]:
        return {"id": person.id, "is_bot": False, "first_name": person.name,
                "language_code": person.language}

    def _chat(self, person: Person, chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": self.town.groups[chat_id]}
        return {"id": chat_id, "type": "private", "first_name": person.name}

    def send(self, person: Person, content: dict[str, Any], chat_id: int | None = None) -> None:
        """The person sends a message (in private unless a group is named)."""
        chat = person.id if chat_id is None else chat_id
        if chat > 0:
            person.started = True
        message = {"message_id": self.town.next_message_id(chat), "from": self._user(person),
                   "chat": self._chat(person, chat), "date": int(self.town.clock.t), **content}
        self.api.inject({"message": message})

    def say(self, person: Person, text: str, chat_id: int | None = None) -> None:
        """The person types a text (a command gets its bot_command entity, as Telegram adds)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self.send(person, content, chat_id)

    def press(self, person: Person, msg: Msg, data: str) -> Waiter:
        """The person presses a button of a message the bot sent; returns the answer's waiter."""
        if not msg.has(data):
            raise Stuck(f"no button {data!r} on message {msg.message_id} in {msg.chat_id}")
        query_id = f"q{next(self.api.query_ids)}"
        waiter = self.town.expect_answer(query_id)
        self.api.inject({"callback_query": {
            "id": query_id, "from": self._user(person), "message": msg.raw,
            "chat_instance": f"ci{msg.chat_id}", "data": data,
        }})
        return waiter


def has(data: str) -> Callable[[Msg], bool]:
    """A message carrying a button with exactly this data."""
    return lambda m: m.has(data)


def has_prefix(prefix: str, contains: str = "") -> Callable[[Msg], bool]:
    """A message carrying a button whose data starts with `prefix` (and contains `contains`)."""
    return lambda m: any(d.startswith(prefix) and contains in d for _, d in m.buttons)


def keyboard_with(kind: str) -> Callable[[Msg], bool]:
    """A message with a reply keyboard asking for a location or a contact."""
    return lambda m: any(b.get(kind) for b in m.keyboard)


def anything(_: Msg) -> bool:
    """Any message."""
    return True


# -- the district ------------------------------------------------------------------------------


@dataclass
class District:
    """Groups, bindings, teams and the pools of people."""

    tree: AreaTree
    institutes: list[str]
    stations: list[str]
    station_weights: list[float]  # cumulative
    centre_group: int
    institute_groups: dict[str, int]
    station_groups: dict[str, int]
    admin_chat: int
    admin: Person
    volunteers: list[Person] = field(default_factory=list)
    members: dict[int, list[Person]] = field(default_factory=dict)
    citizens: list[Person] = field(default_factory=list)
    citizen_weights: list[float] = field(default_factory=list)


def volunteer_count(requests: int) -> int:
    """About one volunteer per 110 requests a year, three per team at most, 20 at least."""
    return min(3 * TEAMS, max(20, requests // 110))


def write_teams(path: Path, tree: AreaTree, count: int) -> int:
    """Write a teams CSV with `count` teams: four per institute, the rest over the stations."""
    institutes = [a.id for a in tree.children(tree.root)]
    stations = [s.id for s in tree.leaves()]
    rows: list[tuple[str, str, str, str, str]] = []
    for area in institutes:
        for n in range(4):
            name = tree.get(area).names
            rows.append((f"t_{area}_{n + 1}", area, f"{name['zh']}志愿服务{n + 1}队",
                         f"{name['en']} volunteer team {n + 1}", ""))
    n = 0
    while len(rows) < count:
        area = stations[n % len(stations)]
        number = n // len(stations) + 1
        name = tree.get(area).names
        rows.append((f"t_{area}_{number}".replace("-", "_"), area,
                     f"{name['zh'].replace('新时代文明实践站', '')}志愿服务{number}队",
                     f"{name['en'].replace(' Practice Station', '')} team {number}", ""))
        n += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "area_id", "name_zh", "name_en", "leader_id"])
    writer.writerows(rows[:count])
    path.write_text(buffer.getvalue(), "utf-8")
    return len(rows[:count])


def make_config(folder: Path, admin: int, admin_chat: int) -> Config:
    """config.example.toml's categories and schedule, our area tree and teams, fast delivery."""
    example = tomllib.loads((ROOT / "config.example.toml").read_text("utf-8"))
    schedule = dict(example.get("schedule", {}))
    # The driver runs the sweep as simulated time passes; the bot's own periodic sweep (once
    # a second of real time) would fire at random points of the simulated year.
    schedule["sweep_interval"] = "24h"
    raw = {
        "telegram": {"token": TOKEN, "poll_timeout": 5},
        "bot": {"database": str(folder / "civicloop.db"), "default_language": "zh",
                "timezone": "Asia/Shanghai", "admin_ids": [admin], "admin_chat_id": admin_chat},
        "areas": {"file": str(AREAS)},
        "volunteers": {"claim_mode": "open", "ask_hours": True, "max_hours": 12,
                       "teams_file": str(folder / "teams.csv")},
        "limits": dict(example.get("limits", {})),
        "delivery": FAST_DELIVERY,
        "schedule": schedule,
        "categories": example["categories"],
        # The check at the end counts every call and every phone: nothing pruned, no daily
        # copies of a database that grows all year.
        "retention": {"outbox_days": 0, "timer_days": 0, "contact_days": 0},
        "backup": {"keep": 0},
        # The seed year's people file every request they mean to (its truth counts them);
        # a third share a point near their station, which the duplicate check (issue 18.1,
        # measured apart by bench/duplicates.py) would offer to join instead.
        "duplicates": {"enabled": False},
    }
    return parse_config(raw, env={}, base_dir=folder)


# -- the replay ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the people did, counted as they did it."""

    filed: int = 0
    completed: int = 0
    cancelled: int = 0
    cancelled_after_claim: int = 0
    reopened: int = 0
    released: int = 0
    stars: Counter[int] = field(default_factory=Counter)
    comments: int = 0
    photos: int = 0
    voices: int = 0
    locations: int = 0
    misrouted: int = 0
    refs: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


class Replay:
    """Drives the simulated year: one person's action at a time, then waits until the bot has
    handled it and sent everything it queued, then moves the clock to the next action."""

    def __init__(self, requests: int, seed: int, validate: bool) -> None:
        self.requests = requests
        self.rng = random.Random(seed)
        self.seed = seed
        self.clock = SimClock(SETUP_START)
        self.town = Town(self.clock)
        self.api = BotApi(self.town, load_spec() if validate else None)
        self.people = People(self.town, self.api)
        self.services: Services | None = None
        self.tally = Tally()
        self.pumping = 0
        self.sweeps = 0
        self.sweep_seconds = 0.0
        self.last_sweep = SETUP_START
        self.stories: set[asyncio.Task[None]] = set()
        self.config: Config | None = None
        self.cancel_at: set[int] = set()
        # (real time, updates, requests filed) when the clock entered each quarter: does the
        # loop slow down as the year's data grows?
        self.quarters: list[tuple[float, int, int]] = []

    # -- the bot's state, watched -------------------------------------------------------

    def on_ready(self, services: Services) -> None:
        """Called by bot.app.run once serving: watch the sender so the driver knows when all
        queued calls are made (the sender has no public 'idle' state to ask)."""
        self.services = services
        sender = services.sender
        sender.pacer = Pacer(replace(
            services.env.config.delivery, private_per_second=BEYOND_REACH,
            private_burst=BEYOND_REACH, group_per_minute=BEYOND_REACH,
            global_per_second=BEYOND_REACH))
        pump = sender.pump

        async def watched_pump() -> float:
            self.pumping += 1
            try:
                return await pump()
            finally:
                self.pumping -= 1
                self.town.poke()

        sender.pump = watched_pump  # type: ignore[method-assign]

    def bot_idle(self) -> bool:
        """Every update handled, nothing queued to send now, no call in flight."""
        services = self.services
        if services is None or not self.api.caught_up or self.pumping:
            return False
        sender = services.sender
        return not sender._tasks and not sender._wake.is_set()

    async def settle(self) -> None:
        """Wait until the bot is idle and every person has acted on what they got."""
        town = self.town
        seen, since = -1, time.monotonic()
        while True:
            if town.ready == 0 and self.bot_idle():
                if town.expecting == 0:
                    return
                if town.progress != seen:
                    seen, since = town.progress, time.monotonic()
                elif time.monotonic() - since > STUCK_SECONDS:
                    town.give_up()  # their stories record what never came
                    continue
            town.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(town.changed.wait(), timeout=1.0)

    async def sweep(self) -> None:
        """Run the schedule's sweep now, as its timer would, and deliver what it queued."""
        assert self.services is not None
        began = time.perf_counter()
        await self.services.schedule.sweep()
        self.services.sender.wake()
        await self.settle()
        self.sweep_seconds += time.perf_counter() - began
        self.sweeps += 1
        self.last_sweep = self.clock.t

    async def advance(self, moment: float) -> None:
        """Move the clock to `moment`, sweeping on the way when a sweep is due."""
        if moment <= self.clock.t:
            return
        quarter = QUARTERS[len(self.quarters)] if len(self.quarters) < len(QUARTERS) else None
        if quarter is not None and moment >= quarter:
            self.quarters.append((time.perf_counter(), self.api.updates, self.tally.filed))
        if moment - self.last_sweep >= SWEEP_EVERY:
            self.clock.t = moment
            await self.sweep()
        self.clock.t = moment

    async def drive(self, arrivals: list[float],
                    spawn: Callable[[int], Awaitable[None]]) -> None:
        """Act out every scheduled action (and start each story at its arrival) in time order."""
        town, index = self.town, 0
        while True:
            await self.settle()
            next_wake = town.heap[0][0] if town.heap else math.inf
            next_arrival = arrivals[index] if index < len(arrivals) else math.inf
            if next_wake == math.inf and next_arrival == math.inf:
                break
            if next_arrival <= next_wake:
                await self.advance(next_arrival)
                self._start(spawn(index))
                index += 1
            else:
                await self.advance(next_wake)
                _, _, future = heapq.heappop(town.heap)
                town.ready += 1
                future.set_result(None)
        if self.stories:
            await asyncio.gather(*self.stories)

    def _start(self, story: Awaitable[None]) -> None:
        self.town.ready += 1

        async def begin() -> None:
            self.town.ready -= 1
            await story

        task = asyncio.create_task(begin())
        self.stories.add(task)
        task.add_done_callback(self.stories.discard)

    # -- the district, set up by its people ---------------------------------------------------

    def district(self, config: Config) -> District:
        """Create the groups and people (their Telegram accounts; the bot learns of them as
        they write)."""
        tree = config.areas
        assert tree is not None
        rng = self.rng
        institutes = [a.id for a in tree.children(tree.root)]
        stations = [s.id for s in tree.leaves()]
        groups = itertools.count(1)

        def group(title: str) -> int:
            chat_id = -1_001_000_000_000 - next(groups)
            self.town.groups[chat_id] = title
            return chat_id

        admin_chat = config.admin_chat_id
        assert admin_chat is not None
        self.town.groups[admin_chat] = "市中区文明实践中心管理群"
        admin = self.person(900_001, "中心管理员", "zh")
        centre = group("市中区志愿服务总群")
        institute_groups = {i: group(f"{tree.get(i).names['zh']}志愿者群") for i in institutes}
        # The first two stations of each institute run their own groups for the busiest two
        # categories; their other requests go to the institute's group.
        station_groups = {s.id: group(f"{s.names['zh']}志愿者群")
                          for i in institutes for s in tree.children(i)[:2]}
        # Some stations are much busier than others.
        weights = [1 / (n + 3) ** 0.7 for n in range(len(stations))]
        rng.shuffle(weights)
        district = District(tree, institutes, stations, list(itertools.accumulate(weights)),
                            centre, institute_groups,
                            station_groups, admin_chat, admin)
        volunteers = volunteer_count(self.requests)
        for n in range(volunteers):
            institute = institutes[n % len(institutes)]
            children = tree.children(institute)
            home = rng.choice(children).id if rng.random() < 0.8 else institute
            person = self.person(2_000_000 + n, self.name(rng, "zh"), "zh")
            person.home, person.phone = home, f"+86139{n:08d}"
            district.volunteers.append(person)
            district.members.setdefault(institute_groups[institute], []).append(person)
            if home in station_groups:
                district.members.setdefault(station_groups[home], []).append(person)
            district.members.setdefault(centre, []).append(person)
        for station, chat in station_groups.items():
            if chat not in district.members:  # nobody lives there: the institute's people help
                parent = tree.get(station).parent_id or ""
                district.members[chat] = district.members[institute_groups[parent]]
        citizens = max(10, round(self.requests * 0.36))
        for n in range(citizens):
            language = "en" if rng.random() < 0.1 else "zh"
            person = self.person(1_000_000 + n, self.name(rng, language), language)
            person.phone = f"+86138{n:08d}"
            district.citizens.append(person)
        # A few people ask for help often (the elderly above all); most once or twice a year.
        raw = [1 / (n + 10) ** 0.9 for n in range(citizens)]
        district.citizen_weights = list(itertools.accumulate(raw))
        return district

    def person(self, user_id: int, name: str, language: str) -> Person:
        """Create a Telegram account."""
        person = Person(user_id, name, language)
        self.town.people[user_id] = person
        return person

    @staticmethod
    def name(rng: random.Random, language: str) -> str:
        """A plausible first name."""
        if language == "en":
            return rng.choice(EN_NAMES)
        return chinese_name(rng)

    async def setup(self, district: District) -> None:
        """Bind the groups and register the volunteers, through the bot, as people would."""
        config = self.config
        assert config is not None
        admin, town, people = district.admin, self.town, self.people
        with self.story() as wait:
            greeting = wait(admin.id, has("menu:new"), "admin greeting")
            people.say(admin, "/start")
            await town.get(greeting)
        binds: list[tuple[int, str]] = []
        codes = [c.code for c in config.categories]
        binds += [(district.centre_group, f"/bind {code}") for code in codes]
        binds += [(chat, f"/bind {code} {institute}")
                  for institute, chat in district.institute_groups.items() for code in codes]
        binds += [(chat, f"/bind {code} {station}")
                  for station, chat in district.station_groups.items()
                  for code in ("elderly", "environment")]

        async def bind_all() -> None:
            for chat, command in binds:
                with self.story() as wait:
                    reply = wait(chat, anything, f"reply to {command}")
                    people.say(admin, command, chat)
                    await town.get(reply)
                await town.after(self.rng.uniform(5, 20))

        gaps = sorted(self.rng.uniform(0, 10 * 86400) for _ in district.volunteers)
        starts = [self.clock.t, *(self.clock.t + 3600 + g for g in gaps)]
        volunteers = district.volunteers

        async def spawn(index: int) -> None:
            if index == 0:
                await bind_all()
            else:
                await self.register(district, volunteers[index - 1])

        await self.drive(starts, spawn)

    async def register(self, district: District, volunteer: Person) -> None:
        """A volunteer opens the bot and registers (/join); the admin approves in the admin
        chat."""
        town, people, rng = self.town, self.people, self.rng
        tree = district.tree
        try:
            with self.story() as wait:
                greeting = wait(volunteer.id, has("menu:new"), "greeting")
                people.say(volunteer, "/start")
                await town.get(greeting)
                await town.after(rng.uniform(5, 30))
                ask_name = wait(volunteer.id, anything, "join: name question")
                people.say(volunteer, "/join")
                await town.get(ask_name)
                await town.after(rng.uniform(5, 20))
                ask_phone = wait(volunteer.id, keyboard_with("request_contact"), "join: phone")
                people.say(volunteer, volunteer.name)
                await town.get(ask_phone)
                await town.after(rng.uniform(3, 10))
                institutes = wait(volunteer.id, has_prefix("jinst:"), "join: area question")
                people.send(volunteer, {"contact": {"phone_number": volunteer.phone,
                                                    "first_name": volunteer.name,
                                                    "user_id": volunteer.id}})
                area_question = await town.get(institutes)
                chain = tree.ancestry(volunteer.home)
                institute = chain[-2]
                await town.after(rng.uniform(3, 10))
                stations = wait(volunteer.id, has_prefix("jarea:"), "join: station question")
                await town.get(people.press(volunteer, area_question, f"jinst:{institute}"))
                station_question = await town.get(stations)
                await town.after(rng.uniform(3, 10))
                teams = wait(volunteer.id, has_prefix("jteam:"), "join: team question")
                await town.get(people.press(volunteer, station_question,
                                            f"jarea:{volunteer.home}"))
                team_question = await town.get(teams)
                offered = [d for d in team_question.data("jteam:") if d != "jteam:-"]
                mine = [d for d in offered if volunteer.home.replace("-", "_") in d]
                choice = rng.choice(mine or offered or ["jteam:-"])
                await town.after(rng.uniform(3, 15))
                review = wait(district.admin_chat, has(f"vapprove:{volunteer.id}"), "review")
                await town.get(people.press(volunteer, team_question, choice))
                card = await town.get(review)
                await town.after(rng.uniform(60, 3600))
                approved = wait(volunteer.id, anything, "approval")
                await town.get(people.press(district.admin, card, f"vapprove:{volunteer.id}"))
                await town.get(approved)
        except Stuck as exc:
            self.tally.lost.append(f"volunteer {volunteer.id}: {exc}")

    # -- a request's story --------------------------------------------------------------------

    @contextmanager
    def story(self) -> Iterator[Callable[[int | None, Callable[[Msg], bool], str], Waiter]]:
        """Register waiters for one story; drop the ones left over when it ends."""
        mine: list[Waiter] = []

        def wait(chat_id: int | None, test: Callable[[Msg], bool], what: str) -> Waiter:
            waiter = self.town.expect(chat_id, test, what)
            mine.append(waiter)
            return waiter

        try:
            yield wait
        finally:
            for waiter in mine:
                self.town.drop(waiter)

    def pick_citizen(self, district: District, rng: random.Random) -> Person:
        """Someone free to file now: not mid-dialog, under the intake limits."""
        now = self.clock.t
        total = district.citizen_weights[-1]
        for _ in range(50):
            index = bisect.bisect(district.citizen_weights, rng.random() * total)
            person = district.citizens[min(index, len(district.citizens) - 1)]
            while person.recent and person.recent[0] < now - 86400:
                person.recent.popleft()
            if not person.busy and person.open_requests < 2 and len(person.recent) < 5:
                return person
        return next(p for p in district.citizens if not p.busy and p.open_requests == 0)

    async def free(self, person: Person, rng: random.Random) -> None:
        """Wait until the person is out of their other dialogs, then hold them."""
        while person.busy:
            await self.town.after(rng.uniform(60, 300))
        person.busy = True

    @staticmethod
    def daytime(moment: float, rng: random.Random) -> float:
        """People answer in the daytime: a night-time action moves to the morning."""
        local = datetime.fromtimestamp(moment, TZ)
        if local.hour >= 23 or local.hour < 7:
            day = local.date() + timedelta(days=1 if local.hour >= 23 else 0)
            morning = datetime(day.year, day.month, day.day, 7, tzinfo=TZ).timestamp()
            return morning + rng.uniform(0, 3 * 3600)
        return moment

    async def request(self, district: District, index: int) -> None:
        """One request, from the first tap to the last star (or a cancel)."""
        rng = random.Random(self.seed * 1_000_003 + index)
        town, people, tally = self.town, self.people, self.tally
        citizen = self.pick_citizen(district, rng)
        citizen.busy = True
        ref = "?"
        try:
            with self.story() as wait:
                ref, request_id, card = await self.file(district, citizen, rng, wait)
                if index in self.cancel_at and rng.random() < 0.7:
                    await town.after(rng.uniform(180, 1500))
                    await self.cancel(citizen, request_id, ref, rng, wait)
                    return
                volunteer, task = await self.claim(district, card, request_id, rng, wait)
                if index in self.cancel_at:
                    await town.after(rng.uniform(1800, 3 * 3600))
                    await self.cancel(citizen, request_id, ref, rng, wait)
                    tally.cancelled_after_claim += 1
                    volunteer.tasks -= 1
                    return
                if rng.random() < 0.01:  # given back; someone else takes it
                    await town.after(rng.uniform(1200, 5400))
                    answer = await town.get(people.press(volunteer, task, f"release:{request_id}"))
                    if answer.alert:
                        raise Stuck(f"release refused: {answer.text}")
                    tally.released += 1
                    volunteer.tasks -= 1
                    volunteer, task = await self.claim(district, card, request_id, rng, wait)
                question = await self.finish(volunteer, citizen, task, request_id, rng, wait)
                if rng.random() < 0.005:  # "not resolved": it goes round again
                    question = await self.reopen(district, citizen, question, request_id, rng,
                                                 wait)
                await self.rate(citizen, question, request_id, rng, wait)
                tally.completed += 1
        except Stuck as exc:
            tally.lost.append(f"request {index} ({ref}): {exc}")
        finally:
            citizen.busy = False

    async def file(
        self, district: District, citizen: Person, rng: random.Random,
        wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter],
    ) -> tuple[str, int, Msg]:
        """The form, start to Confirm; returns the ref, the request id and its card."""
        town, people, tally, tree = self.town, self.people, self.tally, district.tree
        lang = citizen.language
        me = citizen.id
        pause = rng.uniform

        def first_question() -> Waiter:
            # The first form of all comes after the privacy notice, agreed to with a button.
            if not citizen.consented:
                return wait(me, has("consent:y"), "privacy notice")
            return wait(me, has_prefix("in:", ":cat:"), "category question")

        if not citizen.started or rng.random() < 0.3:
            greeting = wait(me, has("menu:new"), "greeting")
            people.say(citizen, "/start")
            menu = await town.get(greeting)
            await town.after(pause(3, 10))
            first = first_question()
            await town.get(people.press(citizen, menu, "menu:new"))
        else:
            first = first_question()
            people.say(citizen, "/new")
        question = await town.get(first)
        if not citizen.consented:
            await town.after(pause(10, 30))  # reading it
            categories = wait(me, has_prefix("in:", ":cat:"), "category question")
            await town.get(people.press(citizen, question, "consent:y"))
            citizen.consented = True
            question = await town.get(categories)
        draft = question.data("in:")[0].split(":")[1]
        code = rng.choices(list(CATEGORY_SHARE), weights=list(CATEGORY_SHARE.values()))[0]
        await town.after(pause(5, 15))
        described = wait(me, has(f"in:{draft}:cancel:"), "description question")
        await town.get(people.press(citizen, question, f"in:{draft}:cat:{code}"))
        await town.get(described)
        await town.after(pause(30, 120))
        description = rng.choice(DESCRIPTIONS[lang][code])
        kind = rng.random()
        if kind < 0.12:
            location_question = wait(me, keyboard_with("request_location"), "location question")
            tally.photos += 1
            file_id = f"AgACAgUAAxkBAAI{rng.getrandbits(64):016x}"
            people.send(citizen, {"photo": [
                {"file_id": file_id + "s", "file_unique_id": file_id[-12:] + "s", "width": 90,
                 "height": 67},
                {"file_id": file_id, "file_unique_id": file_id[-12:], "width": 1280,
                 "height": 960}], "caption": description})
        elif kind < 0.15:
            tally.voices += 1
            next_prompt = wait(me, has(f"in:{draft}:next:"), "voice received")
            voice = f"AwACAgUAAxkBAAI{rng.getrandbits(64):016x}"
            people.send(citizen, {"voice": {"file_id": voice, "file_unique_id": voice[-12:],
                                            "duration": rng.randrange(5, 40)}})
            prompt = await town.get(next_prompt)
            await town.after(pause(3, 10))
            location_question = wait(me, keyboard_with("request_location"), "location question")
            await town.get(people.press(citizen, prompt, f"in:{draft}:next:"))
        else:
            location_question = wait(me, keyboard_with("request_location"), "location question")
            people.say(citizen, description)
        await town.get(location_question)
        await town.after(pause(10, 40))
        # Where: mostly a station, some a whole institute, a few are not sure.
        where = rng.random()
        weights = district.station_weights
        station = district.stations[min(bisect.bisect(weights, rng.random() * weights[-1]),
                                        len(district.stations) - 1)]
        institute = tree.get(station).parent_id or ""
        area = station if where < 0.85 else institute if where < 0.95 else ""
        area_question = wait(me, has_prefix(f"in:{draft}:", ":area:"), "area question")
        node = tree.get(station)
        if rng.random() < 0.3 and node.latitude is not None and node.longitude is not None:
            tally.locations += 1
            people.send(citizen, {"location": {
                "latitude": node.latitude + rng.uniform(-0.0008, 0.0008),
                "longitude": node.longitude + rng.uniform(-0.0008, 0.0008)}})
        else:
            street, number = rng.choice(STREETS), rng.randrange(1, 300)
            people.say(citizen, f"{street} {number} 号 {rng.randrange(1, 6)} 单元")
        asked = await town.get(area_question)
        await town.after(pause(5, 15))
        choice = f"in:{draft}:area:{area}"
        if not asked.has(choice):
            if not asked.has(f"in:{draft}:inst:{institute}"):  # the nearest list: go to all
                institutes = wait(me, has(f"in:{draft}:inst:{institute}"), "institutes")
                await town.get(people.press(citizen, asked, f"in:{draft}:areas:"))
                asked = await town.get(institutes)
                await town.after(pause(3, 10))
            stations = wait(me, has(choice), "stations")
            await town.get(people.press(citizen, asked, f"in:{draft}:inst:{institute}"))
            asked = await town.get(stations)
            await town.after(pause(3, 10))
        contact_question = wait(me, keyboard_with("request_contact"), "contact question")
        await town.get(people.press(citizen, asked, choice))
        contact = await town.get(contact_question)
        await town.after(pause(5, 15))
        summary_question = wait(me, has(f"in:{draft}:confirm:"), "summary")
        how = rng.random()
        if how < 0.55:
            people.send(citizen, {"contact": {"phone_number": citizen.phone,
                                              "first_name": citizen.name, "user_id": me}})
        elif how < 0.9:
            skip = next(b["text"] for b in contact.keyboard if not b.get("request_contact"))
            people.say(citizen, skip)
        else:
            people.say(citizen, citizen.phone)
        summary = await town.get(summary_question)
        await town.after(pause(5, 20))
        receipt = wait(me, lambda m: REF.search(m.text) is not None and m.has("menu:new"),
                       "receipt")
        posted = wait(None, has_prefix("claim:"), "card")
        await town.get(people.press(citizen, summary, f"in:{draft}:confirm:"))
        found = REF.search((await town.get(receipt)).text)
        assert found is not None
        ref = found.group(1)
        card = await town.get(posted)
        if ref not in card.text:
            raise Stuck(f"the card that came was not {ref}'s")
        request_id = int(card.data("claim:")[0].split(":")[1])
        expected = self.route(district, code, area)
        if card.chat_id != expected:
            tally.misrouted += 1
        tally.filed += 1
        tally.refs.append(ref)
        citizen.open_requests += 1
        citizen.recent.append(self.clock.t)
        citizen.busy = False
        return ref, request_id, card

    def route(self, district: District, code: str, area: str) -> int:
        """Where the bindings made at setup send a request."""
        if area in district.station_groups and code in ("elderly", "environment"):
            return district.station_groups[area]
        if area:
            institute = district.tree.ancestry(area)[-2]
            return district.institute_groups[institute]
        return district.centre_group

    async def claim(
        self, district: District, card: Msg, request_id: int, rng: random.Random,
        wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter],
    ) -> tuple[Person, Msg]:
        """A member of the card's group takes it, in their own time."""
        town = self.town
        delay = min(rng.lognormvariate(math.log(600), 0.9), 3 * 3600)
        moment = self.daytime(self.clock.t + delay, rng)
        await town.after(moment - self.clock.t)
        members = district.members.get(card.chat_id) or district.volunteers
        volunteer = min(rng.sample(members, min(3, len(members))), key=lambda v: v.tasks)
        task_message = wait(volunteer.id, has(f"done:{request_id}"), "task details")
        answer = await town.get(self.people.press(volunteer, card, f"claim:{request_id}"))
        if answer.alert:
            raise Stuck(f"claim refused: {answer.text}")
        volunteer.tasks += 1
        return volunteer, await town.get(task_message)

    async def finish(
        self, volunteer: Person, citizen: Person, task: Msg, request_id: int,
        rng: random.Random, wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter],
    ) -> Msg:
        """Done, a note or not, the hours; returns the citizen's "resolved?" question."""
        town, people, me = self.town, self.people, volunteer.id
        delay = min(rng.lognormvariate(math.log(3 * 3600), 0.8), 30 * 3600)
        await town.after(self.daytime(self.clock.t + delay, rng) - self.clock.t)
        await self.free(volunteer, rng)
        try:
            note_question = wait(me, has(f"donenote:{request_id}"), "note question")
            await town.get(people.press(volunteer, task, f"done:{request_id}"))
            asked = await town.get(note_question)
            await town.after(rng.uniform(10, 60))
            hours_question = wait(me, has_prefix(f"hours:{request_id}:"), "hours question")
            if rng.random() < 0.3:
                people.say(volunteer, rng.choice(NOTES[volunteer.language]))
            else:
                await town.get(people.press(volunteer, asked, f"donenote:{request_id}"))
            hours = await town.get(hours_question)
            await town.after(rng.uniform(3, 10))
            if rng.random() < 0.03:
                typed = wait(me, anything, "hours to type")
                await town.get(people.press(volunteer, hours, f"hours:{request_id}:other"))
                await town.get(typed)
                await town.after(rng.uniform(5, 15))
                question = wait(citizen.id, has(f"resolved:{request_id}:y"), "resolved?")
                thanks = wait(me, anything, "done thanks")
                people.say(volunteer, "1.5")
            else:
                choice = rng.choices(["0.5", "1", "2", "3"], weights=[2, 5, 3, 1])[0]
                question = wait(citizen.id, has(f"resolved:{request_id}:y"), "resolved?")
                thanks = wait(me, anything, "done thanks")
                await town.get(people.press(volunteer, hours, f"hours:{request_id}:{choice}"))
            await town.get(thanks)
        finally:
            volunteer.busy = False
        volunteer.tasks -= 1
        return await town.get(question)

    async def reopen(
        self, district: District, citizen: Person, question: Msg, request_id: int,
        rng: random.Random, wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter],
    ) -> Msg:
        """The citizen says it is not resolved: a fresh card, another round, a new question."""
        town = self.town
        await town.after(self.daytime(self.clock.t + rng.uniform(600, 7200), rng)
                         - self.clock.t)
        fresh = wait(None, has(f"claim:{request_id}"), "card after reopening")
        answer = await town.get(self.people.press(citizen, question, f"resolved:{request_id}:n"))
        if answer.alert:
            raise Stuck(f"'not resolved' refused: {answer.text}")
        self.tally.reopened += 1
        card = await town.get(fresh)
        volunteer, task = await self.claim(district, card, request_id, rng, wait)
        return await self.finish(volunteer, citizen, task, request_id, rng, wait)

    async def rate(
        self, citizen: Person, question: Msg, request_id: int, rng: random.Random,
        wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter],
    ) -> None:
        """Yes, resolved; the stars; a comment or Skip."""
        town, people, me = self.town, self.people, citizen.id
        delay = min(rng.lognormvariate(math.log(3600), 1.2), 60 * 3600)
        await town.after(self.daytime(self.clock.t + delay, rng) - self.clock.t)
        await self.free(citizen, rng)
        try:
            stars_question = wait(me, has_prefix(f"star:{request_id}:"), "stars question")
            answer = await town.get(people.press(citizen, question, f"resolved:{request_id}:y"))
            if answer.alert:
                raise Stuck(f"'resolved' refused: {answer.text}")
            asked = await town.get(stars_question)
            await town.after(rng.uniform(5, 20))
            stars = rng.choices([s for s, _ in STARS], weights=[w for _, w in STARS])[0]
            comment_question = wait(me, has(f"nocomment:{request_id}"), "comment question")
            await town.get(people.press(citizen, asked, f"star:{request_id}:{stars}"))
            self.tally.stars[stars] += 1
            comment = await town.get(comment_question)
            await town.after(rng.uniform(10, 90))
            thanks = wait(me, has("menu:new"), "thanks")
            if rng.random() < 0.25:
                self.tally.comments += 1
                people.say(citizen, rng.choice(COMMENTS[citizen.language]))
            else:
                await town.get(people.press(citizen, comment, f"nocomment:{request_id}"))
            await town.get(thanks)
        finally:
            citizen.busy = False
            citizen.open_requests -= 1

    async def cancel(
        self, citizen: Person, request_id: int, ref: str, rng: random.Random,
        wait: Callable[[int | None, Callable[[Msg], bool], str], Waiter],
    ) -> None:
        """/my, Cancel on the request, Yes."""
        town, people, me = self.town, self.people, citizen.id
        await self.free(citizen, rng)
        try:
            listing = wait(me, has(f"cancel:{request_id}"), "my requests")
            people.say(citizen, "/my")
            mine = await town.get(listing)
            await town.after(rng.uniform(5, 20))
            confirm = wait(me, has(f"cancelok:{request_id}"), "cancel confirmation")
            await town.get(people.press(citizen, mine, f"cancel:{request_id}"))
            asked = await town.get(confirm)
            await town.after(rng.uniform(3, 10))
            told = wait(me, lambda m: ref in m.text, "cancelled")
            answer = await town.get(people.press(citizen, asked, f"cancelok:{request_id}"))
            if answer.alert:
                raise Stuck(f"cancel refused: {answer.text}")
            await town.get(told)
            self.tally.cancelled += 1
        finally:
            citizen.busy = False
            citizen.open_requests -= 1

    # -- the whole run ------------------------------------------------------------------------

    def arrivals(self) -> list[float]:
        """When each request is filed: every day of the year, more by day than by night."""
        rng = random.Random(self.seed + 1)
        days = (LAST_ARRIVAL - YEAR_START) / 86400
        hours = list(range(24))
        moments = []
        for _ in range(self.requests):
            day = int(rng.random() * days)
            hour = rng.choices(hours, weights=HOUR_WEIGHT)[0]
            local = datetime.fromtimestamp(YEAR_START, TZ) + timedelta(days=day)
            start = local.replace(hour=hour).timestamp()
            moments.append(start + rng.random() * 3600)
        moments.sort()
        return moments

    async def run(self, folder: Path) -> dict[str, Any]:
        """Start the bot, set the district up, replay the year, stop; return the figures."""
        admin_chat = -1_001_999_999_999
        tree = load_areas(AREAS)
        teams = write_teams(folder / "teams.csv", tree, TEAMS)
        config = self.config = make_config(folder, 900_001, admin_chat)
        district = self.district(config)
        # A small run still cancels one, so every path is walked.
        cancelled = round(self.requests * CANCELLED_SHARE) or min(1, self.requests // 20)
        self.cancel_at = set(random.Random(self.seed + 2).sample(range(self.requests),
                                                                 cancelled))
        figures: dict[str, Any] = {"requests": self.requests, "teams": teams,
                                   "volunteers": len(district.volunteers),
                                   "citizens": len(district.citizens),
                                   "groups": len(self.town.groups)}
        stop = asyncio.Event()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        bot = asyncio.create_task(run(config, stop, self.clock, self.on_ready, self.api))
        while self.services is None:
            if bot.done():
                await bot  # it failed to start: show why
            await asyncio.sleep(0.01)
        await self.settle()
        figures["start_s"] = time.perf_counter() - wall0
        await self.setup(district)
        figures["setup_s"] = time.perf_counter() - wall0 - figures["start_s"]
        figures["setup_updates"] = self.api.updates
        engine = self.services.env.db.engine
        hops0 = engine.trips
        cpu1, wall1, updates1, sweeps1 = (time.process_time(), time.perf_counter(),
                                          self.api.updates, self.sweeps)

        async def spawn(index: int) -> None:
            await self.request(district, index)

        await self.drive(self.arrivals(), spawn)
        figures["replay_s"] = time.perf_counter() - wall1
        figures["replay_cpu_s"] = time.process_time() - cpu1
        figures["replay_updates"] = self.api.updates - updates1
        figures["replay_sweeps"] = self.sweeps - sweeps1
        figures["replay_hops"] = engine.trips - hops0
        marks = [*self.quarters, (time.perf_counter(), self.api.updates, self.tally.filed)]
        figures["quarters"] = [
            ((u1 - u0) / (t1 - t0), (r1 - r0) / (t1 - t0))
            for (t0, u0, r0), (t1, u1, r1) in itertools.pairwise(marks[:5]) if t1 > t0]
        # Past the year's end: the last timers and digests, and morning for held messages.
        for days in (1, 2, 3, 4, 5, 6):
            await self.advance(datetime(YEAR + 1, 1, days, 10, tzinfo=TZ).timestamp())
            await self.sweep()
        figures["stats_text"] = await self.ask_stats(district)
        await self.drain()
        stop.set()
        await bot
        figures["wall_s"] = time.perf_counter() - wall0
        figures["cpu_s"] = time.process_time() - cpu0
        figures["updates"] = self.api.updates
        figures["calls"] = sum(n for m, n in self.api.calls.items() if m != "getUpdates")
        figures["sweeps"] = self.sweeps
        figures["sweep_s"] = self.sweep_seconds
        figures["refused"] = dict(self.api.refused)
        return figures

    async def drain(self) -> None:
        """Wait (two minutes at most) until no background job is pending and nothing is left
        to send (the chart of the last /stats, a message held for quiet hours, due now)."""
        assert self.services is not None
        env, deadline = self.services.env, time.monotonic() + 120
        while time.monotonic() < deadline:
            async with env.db.reading() as repo:
                jobs = await repo.timers.pending_jobs()
                due = await repo.outbox.pending_outbox_head(env.now(), 1)
            if not jobs and not due and self.bot_idle():
                return
            self.services.sender.wake()
            await asyncio.sleep(0.05)

    async def ask_stats(self, district: District) -> str:
        """The admin asks /stats for the year in the admin chat, as they would."""
        town = self.town
        with self.story() as wait:
            reply = wait(district.admin_chat, lambda m: bool(m.text), "/stats reply")
            self.people.say(district.admin, f"/stats {YEAR}", district.admin_chat)
            try:
                msg: Msg = await asyncio.wait_for(town.get(reply), timeout=60)
            except TimeoutError:
                return ""
            await self.settle()  # the chart, if one comes, is sent before the bot stops
            return msg.text


# -- checking the year ---------------------------------------------------------------------------


async def verify(path: Path, tally: Tally, requests: int) -> dict[str, Any]:
    """Count what the database holds and compare it with what the people did."""
    db = await Database.open(path)
    try:
        async with db.reading() as repo:
            tally_rows = await repo.figures.tally()
            refs = await repo.requests.request_refs()
            outbox = await repo.outbox.outbox_status_counts()
            year_figures = await year_stats(repo)
    finally:
        await db.close()
    unique = set(refs)
    numbers = sorted(int(r.split("-")[1]) for r in unique if r.startswith(f"{YEAR}-"))
    contiguous = numbers == list(range(1, len(numbers) + 1))

    def count(status: str | None = None, how: str | None = None, by: str | None = None) -> int:
        return sum(n for (s, h, b), n in tally_rows.items()
                   if status in (None, s) and how in (None, h) and by in (None, b))

    collected = count()
    by_citizen = count("cancelled", by="citizen")
    closed = count("closed")
    base = collected - by_citizen
    found = {"collected": collected, "closed_confirmed": count("closed", "confirmed"),
             "closed": closed, "cancelled_by_citizen": by_citizen,
             "completion_rate": round(100 * closed / base, 2) if base else 0.0}
    expected = {"collected": tally.filed, "closed_confirmed": tally.completed,
                "closed": tally.completed, "cancelled_by_citizen": tally.cancelled,
                "completion_rate": round(100 * tally.completed / max(1, tally.filed
                                                                     - tally.cancelled), 2)}
    return {
        "in_db": len(refs), "unique_refs": len(unique), "contiguous": contiguous,
        "lost": requests - len(unique), "duplicated": len(refs) - len(unique),
        "first_ref": f"{YEAR}-{numbers[0]:06d}" if numbers else "-",
        "last_ref": f"{YEAR}-{numbers[-1]:06d}" if numbers else "-",
        "outbox": outbox, "found": found, "expected": expected,
        "tally_match": found == expected, "year_figures": year_figures,
        "year_expected": stats_expected(tally),
        "stats_match": found == expected and year_figures == stats_expected(tally),
    }


async def year_stats(repo: Repo) -> dict[str, Any]:
    """The figures /stats gives for the year: the cohort of requests created in it."""
    period = parse_period(str(YEAR), YEAR_START, TZ)
    assert period is not None
    total = (await stats_sql.cohort(repo, period.start, period.end, None)).total
    completion = total.completion
    return {"collected": total.collected, "closed_confirmed": total.confirmed,
            "closed": total.closed, "cancelled_by_citizen": total.cancelled_by_citizen,
            "completion_rate": round(100 * completion, 2) if completion is not None else 0.0,
            "unconfirmed": total.unconfirmed, "cancelled_by_admin": total.cancelled_by_admin,
            "reopened": total.reopened, "ratings": {n: total.ratings[n] for n in range(1, 6)},
            "still_open": sum(total.open.values())}


def stats_expected(tally: Tally) -> dict[str, Any]:
    """The same figures, from what the people did."""
    return {"collected": tally.filed, "closed_confirmed": tally.completed,
            "closed": tally.completed, "cancelled_by_citizen": tally.cancelled,
            "completion_rate": round(100 * tally.completed / max(1, tally.filed
                                                                 - tally.cancelled), 2),
            "unconfirmed": 0, "cancelled_by_admin": 0, "reopened": tally.reopened,
            "ratings": {n: tally.stars[n] for n in range(1, 6)}, "still_open": 0}


def print_profile(profile: cProfile.Profile) -> None:
    """The top functions by own time and by cumulative time."""
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(key).print_stats(25)
        lines = out.getvalue().splitlines()
        start = next((n for n, line in enumerate(lines) if "ncalls" in line), 0)
        print(f"profile, top 25 by {key}:")
        print("\n".join(lines[start:start + 26]))


def main() -> None:
    """Parse the size, replay, verify, print the figures and the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=FULL_YEAR)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--validate", action="store_true",
                        help="check every Bot API call against the spec (slower)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the run")
    parser.add_argument("--all-cores", action="store_true",
                        help="do not pin the process to one CPU (the goal is for one core)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    cpus = os.sched_getaffinity(0)
    if not args.all_cores:
        # Before any thread starts (the database thread inherits it): the goal is for one core, and
        # the bot's many hops to the database thread cost more across two.
        os.sched_setaffinity(0, {min(cpus)})
    used = f"all {len(cpus)}" if args.all_cores else f"one (cpu {min(cpus)})"
    print(f"cores: {used} of {len(cpus)}")
    replay = Replay(args.requests, args.seed, args.validate)
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as folder:
        if profile is not None:
            profile.enable()
        f = asyncio.run(replay.run(Path(folder)))
        if profile is not None:
            profile.disable()
        check = asyncio.run(verify(Path(folder) / "civicloop.db", replay.tally, args.requests))
    f["floor"] = ptb_floor(replay, f)
    report(args.requests, replay, f, check)
    if profile is not None:
        print_profile(profile)
    summary(args.requests, replay, f, check)


def ptb_floor(replay: Replay, f: dict[str, Any]) -> dict[str, float]:
    """PTB alone on this harness with the replay's mix of updates and calls (bench.ptb_floor):
    what the year would take with no bot logic at all."""
    calls = replay.api.calls
    updates = max(1, f["updates"])
    presses = calls["answerCallbackQuery"] / updates
    messages = sum(n for m, n in calls.items()
                   if m not in ("getUpdates", "answerCallbackQuery")) / updates
    rate = asyncio.run(floor_rate(min(20_000, f["replay_updates"]), presses, messages))
    year_updates = f["replay_updates"] / max(1, replay.tally.filed) * FULL_YEAR
    return {"rate": rate, "presses": presses, "messages": messages,
            "year_updates": year_updates, "year_s": year_updates / rate}


def report(requests: int, replay: Replay, f: dict[str, Any], check: dict[str, Any]) -> None:
    """Print the figures."""
    t = replay.tally
    print(f"district: {f['groups']} groups (1 centre, 11 institutes, 22 stations, the admin "
          f"chat), {f['teams']} teams, {f['volunteers']} volunteers registered through /join, "
          f"{f['citizens']} citizens")
    print(f"delivery limits raised for the replay ([delivery] {FAST_DELIVERY}, and the pacer's "
          f"thresholds beyond reach: it counts real seconds, and a real minute here holds a "
          f"simulated week): the benchmark measures the loop, not Telegram's pacing "
          f"(bench.delivery does that)")
    print(f"setup: bot start {f['start_s']:.1f} s, binds and registrations "
          f"{f['setup_updates']:,} updates in {f['setup_s']:.1f} s")
    print(f"replayed: {t.filed:,} requests filed over {YEAR} ({t.completed:,} completed, "
          f"{t.cancelled:,} cancelled by their citizen, {t.cancelled_after_claim} of them after "
          f"a claim; {t.reopened} reopened once, {t.released} released; {t.photos:,} with a "
          f"photo, {t.voices:,} by voice, {t.locations:,} with a shared location; "
          f"{t.comments:,} comments; misrouted {t.misrouted})")
    updates, seconds = f["replay_updates"], f["replay_s"]
    print(f"replay: {seconds:.1f} s wall, {f['replay_cpu_s']:.1f} s CPU (process), "
          f"{t.filed / seconds:.1f} requests/s, {updates / seconds:.0f} updates/s "
          f"({updates:,} updates, {updates / max(1, t.filed):.1f} per request)")
    print("by quarter of the year: " + ", ".join(
        f"Q{n} {updates_s:.0f} updates/s ({requests_s:.1f} req/s)"
        for n, (updates_s, requests_s) in enumerate(f["quarters"], start=1)))
    print(f"database: {f['replay_hops']:,} trips to the database thread, "
          f"{f['replay_hops'] / max(1, updates):.1f} per update (sweeps and sends included)")
    print(f"schedule: {f['sweeps']:,} sweeps (one per {SWEEP_EVERY:.0f} simulated s at most), "
          f"{f['sweep_s']:.1f} s including what they sent")
    print(f"Bot API calls by the bot: {f['calls']:,} "
          + ", ".join(f"{m} {n:,}" for m, n in replay.api.calls.most_common() if n))
    if f["refused"]:
        print(f"calls refused: {f['refused']}")
    print(f"whole run: {f['wall_s']:.1f} s wall, {f['cpu_s']:.1f} s CPU, "
          f"{f['updates']:,} updates")
    print(f"requests in the database: {check['in_db']:,} of {requests:,} replayed; refs "
          f"{check['first_ref']}..{check['last_ref']} unique and contiguous: "
          f"{'yes' if check['contiguous'] and not check['duplicated'] else 'NO'}")
    outbox = check["outbox"]
    print(f"outbox: {outbox.get('sent', 0):,} sent, {outbox.get('pending', 0)} pending, "
          f"{outbox.get('failed', 0)} failed")
    print(f"year figures (repo.tally): {check['found']}")
    print(f"replayed counts:           {check['expected']} -> match: "
          f"{'yes' if check['tally_match'] else 'NO'}")
    print(f"/stats figures for {YEAR} (storage.stats.cohort): {check['year_figures']}")
    print(f"replayed:                           {check['year_expected']} -> match: "
          f"{'yes' if check['year_figures'] == check['year_expected'] else 'NO'}")
    if f["stats_text"]:
        lines = re.sub(r"<[^>]+>", "", f["stats_text"]).splitlines()
        print(f"/stats {YEAR}, as the admin chat got it (first lines):\n  "
              + "\n  ".join(lines[:13]))
    floor = f["floor"]
    print(f"PTB floor (bench.ptb_floor: PTB alone on this harness, no database, handlers that "
          f"only answer; same mix: {floor['presses']:.0%} presses, {floor['messages']:.2f} "
          f"messages per update): {floor['rate']:,.0f} updates/s, so "
          f"{floor['year_s']:,.0f} s for the year's {floor['year_updates']:,.0f} updates "
          f"before any bot logic (the goal is {GOAL_SECONDS} s)")
    for line in t.lost[:10]:
        print(f"LOST: {line}")


def summary(requests: int, replay: Replay, f: dict[str, Any], check: dict[str, Any]) -> None:
    """The one line last."""
    outbox = check["outbox"]
    correct = (check["lost"] == 0 and check["duplicated"] == 0 and check["contiguous"]
               and check["stats_match"] and not replay.tally.lost
               and not outbox.get("pending") and not outbox.get("failed"))
    seconds = f["wall_s"]
    projected = projection(requests, f)
    scale = "" if requests == FULL_YEAR else f", projected {projected:,.0f} s for {FULL_YEAR:,}"
    ok = correct and projected <= GOAL_SECONDS
    print(f"seed year: {requests} requests, {f['updates']:,} updates in {seconds:.0f} s "
          f"({requests / f['replay_s']:.0f} req/s{scale}), lost {check['lost']}, duplicated "
          f"{check['duplicated']}, stats match: {'yes' if check['stats_match'] else 'NO'} "
          f"(goal <= {GOAL_SECONDS} s on one core) -> {'goal met' if ok else 'GOAL MISSED'}")


def projection(requests: int, f: dict[str, Any]) -> float:
    """The whole run's time at the full size: the setup grows with the volunteers, the replay
    with the requests (a lower bound: the database grows too)."""
    if requests == FULL_YEAR:
        return float(f["wall_s"])
    volunteers = volunteer_count(FULL_YEAR)
    rest = f["wall_s"] - f["start_s"] - f["setup_s"] - f["replay_s"]
    return (f["start_s"] + f["setup_s"] * volunteers / f["volunteers"]
            + f["replay_s"] * FULL_YEAR / requests + rest)


if __name__ == "__main__":
    main()
