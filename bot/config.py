"""Loading and validating config.toml; a wrong value stops start-up naming the key."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.activities.themes_file import Theme, ThemeError, load_themes
from bot.areas.tree import AreaError, AreaTree, load_areas
from bot.supervision.registers import (
    ProblemType,
    RegisterError,
    Registers,
    load_problem_types,
    load_registers,
)
from storage.models import API_CLIENT_IDS_BELOW

LANGUAGES = ("zh", "en")
# The severities of a supervision problem (each named in the catalogs); the config sets
# their deadlines and may leave some out.
SEVERITIES = ("urgent", "normal", "minor")
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "CIVICLOOP_WEBHOOK_SECRET"
MODES = ("polling", "webhook")
# Telegram's rule for setWebhook's secret_token (sent back in every webhook request's header).
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# The only ports Telegram posts webhooks to.
WEBHOOK_PORTS = (443, 80, 88, 8443)
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_CODE_SHAPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
POLICY_KEYS = ("claim_reminder", "escalate_after", "due_after", "rating_reminder", "auto_close")


def parse_duration(text: str) -> float:
    """Turn '45s', '30m', '2h', '3d' or '1h30m' into seconds; ValueError if it is not one."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(f"{n}{u}" for n, u in parts) != compact:
        raise ValueError(text)
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _clock_time(text: str) -> time:
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(text)
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class Policy:
    """How long each waiting state may last before the schedule acts, in seconds."""

    claim_reminder: float = 30 * 60  # unclaimed: remind the group
    escalate_after: float = 2 * 3600  # unclaimed: escalate
    due_after: float = 24 * 3600  # claimed: remind the volunteer; again as much: alert admins
    rating_reminder: float = 24 * 3600  # done: remind the citizen to answer
    auto_close: float = 72 * 3600  # done: close without confirmation


@dataclass(frozen=True)
class Schedule:
    """The clock's settings: default policy, drafts, quiet hours, reports, sweep cadence."""

    policy: Policy = field(default_factory=Policy)
    draft_nudge: float = 3600
    draft_expire: float = 24 * 3600
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    daily_digest: time = time(9, 0)
    sweep_interval: float = 1  # one indexed query: cheap enough to honour policies in seconds


class ConfigError(ValueError):
    """A config value is missing or wrong; the message names the key."""


@dataclass(frozen=True)
class Category:
    """A kind of request citizens can file, with its names and optional fixed group."""

    code: str
    names: dict[str, str]
    group_id: int | None = None
    policy: Policy = field(default_factory=Policy)
    # Words that suggest it from a description (bot/requests/suggest.py): Chinese words, and
    # English ones in lower case for English speakers.
    keywords: tuple[str, ...] = ()
    # Whether the duplicate check ([duplicates]) looks for this kind nearby: a broken lamp is
    # one problem for the street; help for one old person is never another's.
    duplicate_check: bool = True

    def name(self, language: str) -> str:
        """Return the category's name in `language`."""
        return self.names.get(language) or next(iter(self.names.values()))


@dataclass(frozen=True)
class Delivery:
    """How fast the sender may talk to Telegram."""

    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: int = 20
    global_per_second: float = 29.0
    max_attempts: int = 8
    concurrency: int = 8
    # An outage (Telegram or the network unreachable) longer than this is reported to the
    # admins once, when it is over.
    outage_report_after: float = 60.0


@dataclass(frozen=True)
class Retention:
    """How long the database keeps what it may let go of, in days (0: for ever)."""

    contact_days: int = 180  # phone, address and point of requests closed this long ago
    outbox_days: int = 30  # calls made or given up on
    timer_days: int = 30  # timers settled
    inbox_days: int = 2  # updates handled (at least one day: a replay needs them)


@dataclass(frozen=True)
class Http:
    """The operator's HTTP endpoint (/healthz, /metrics): off unless `listen` is set."""

    host: str | None = None
    port: int = 0


_CLIENT_ID_SHAPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
API_KEY_MIN = 24  # characters: a key is a shared secret, not a password to remember


@dataclass(frozen=True)
class Open311Client:
    """A channel allowed to file requests through the Open311 API (a hotline, a web form)."""

    id: str  # short and stable: it names the channel on the requests it files
    name: str
    key: str = field(repr=False)  # never in a log line or a traceback's locals

    @property
    def user_id(self) -> int:
        """The pseudo user who owns this client's requests (stable: derived from the id)."""
        digest = hashlib.sha256(f"open311:{self.id}".encode()).digest()
        return API_CLIENT_IDS_BELOW - 1 - int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Open311:
    """The Open311 GeoReport v2 API on the public web server: off unless enabled."""

    enabled: bool = False
    clients: tuple[Open311Client, ...] = ()
    # Where a posted request without a point inside the area file goes (None: the district).
    default_area: str | None = None
    # A client's requests in the last hour, at most: a runaway script (a retry loop) cannot
    # bury the volunteers' groups in cards, which Telegram lets out 20 a minute.
    max_requests_per_hour: int = 120


@dataclass(frozen=True)
class Web:
    """The public web server (`listen`): off unless set; the features it serves."""

    host: str | None = None
    port: int = 0
    open311: Open311 = field(default_factory=Open311)
    results: bool = True  # the public results page (GET /results), on while listening


@dataclass(frozen=True)
class Webhook:
    """Webhook mode: where Telegram posts updates, where we listen, and the shared secret."""

    url: str  # the public https address given to Telegram (the reverse proxy's)
    host: str  # the address the bot listens on, behind the proxy
    port: int
    path: str  # the path served at host:port (the url's own path unless the proxy rewrites it)
    secret_token: str = field(repr=False)  # never in a log line or a traceback's locals
    max_connections: int | None = None  # None: Telegram's default (40)


@dataclass(frozen=True)
class Backups:
    """The daily backup: where, when (local time) and how many are kept (0: none made)."""

    folder: Path | None = None  # None: `backups/` beside the database
    at: time = time(3, 30)
    keep: int = 7


@dataclass(frozen=True)
class Team:
    """A volunteer team of an area, with the leader who approves its registrations."""

    id: str
    area_id: str | None
    names: dict[str, str]
    leader_id: int | None = None

    def name(self, language: str) -> str:
        """Return the team's name in `language`."""
        return self.names.get(language) or next(iter(self.names.values()))


@dataclass(frozen=True)
class Volunteering:
    """Who may claim, and how service hours are taken."""

    claim_mode: str = "open"  # 'open': any member of the group; 'registered': approved only
    ask_hours: bool = True
    max_hours: float = 12.0
    teams: tuple[Team, ...] = ()

    def team(self, team_id: str | None) -> Team | None:
        """Return a team by id, or None."""
        return next((t for t in self.teams if t.id == team_id), None)


@dataclass(frozen=True)
class Activities:
    """Loop 2, volunteer activities: the year of monthly themes from its file, and the rules
    of sign-up."""

    themes: tuple[Theme, ...] = ()
    # 'open': anyone who has opened the bot may sign up; 'registered': approved volunteers only.
    signup_mode: str = "open"
    # A volunteer may cancel their own sign-up until this long before the start.
    cancel_cutoff: float = 2 * 3600.0
    # The longest an activity may last (a typo such as 19:00 for 09:00 the next day is caught).
    max_length: float = 24 * 3600.0
    # Check-in by a shared location: this close to the activity's place (metres), from
    # `checkin_early` before the start to `checkin_late` after the end (codes and by hand too).
    checkin_radius: float = 300.0
    checkin_early: float = 3600.0
    checkin_late: float = 3600.0
    # Hours count only for a volunteer present at least this share of the activity.
    min_share: float = 0.6
    # Verified hours in a calendar year that make a registered formal volunteer (the district
    # uses 30; the national registered-volunteer rule is 20).
    formal_hours: float = 30.0
    # Cumulative hours for one to five stars.
    star_hours: tuple[float, ...] = (100.0, 300.0, 600.0, 1000.0, 1500.0)

    def theme(self, month: int) -> Theme | None:
        """The file's theme of a month (1-12), or None."""
        return next((t for t in self.themes if t.month == month), None)


@dataclass(frozen=True)
class Supervision:
    """Loop 3, supervision: the registers of inspection points and responsible units, the
    checklist of problem types, and the deadlines."""

    registers: Registers | None = None  # None: no files named, supervision is off
    types: tuple[ProblemType, ...] = ()
    # Rectification deadlines by severity (from the unit's receipt), in the buttons' order.
    deadlines: tuple[tuple[str, float], ...] = (
        ("urgent", 24 * 3600.0), ("normal", 3 * 86400.0), ("minor", 7 * 86400.0))
    # A problem the unit has not pressed Received for by then is chased on its own.
    receive_within: float = 4 * 3600.0
    # A point not visited within this long is due for a visit (patrol lists, reminders).
    coverage_period: float = 7 * 86400.0
    # A received problem's unit is reminded this long before its deadline (but not before half
    # the time given has passed); the area admins hear of it this long after it went overdue.
    remind_before: float = 86400.0
    escalate_after: float = 86400.0

    def problem_type(self, code: str) -> ProblemType | None:
        """A problem type by code, or None."""
        return next((t for t in self.types if t.code == code), None)

    def deadline(self, severity: str) -> float | None:
        """The rectification time of a severity, or None if there is no such severity."""
        return next((seconds for name, seconds in self.deadlines if name == severity), None)


@dataclass(frozen=True)
class Duplicates:
    """The duplicate check at intake: an open request of the same category this close and
    this recent is shown to a citizen, who may join it instead of filing another."""

    enabled: bool = True
    distance: float = 250.0  # metres
    max_age: float = 14 * 86400.0  # seconds since it was filed


@dataclass(frozen=True)
class Config:
    """Everything civicloop needs to start."""

    token: str = field(repr=False)  # never in a log line or a traceback's locals
    base_url: str | None
    base_file_url: str | None
    poll_timeout: int
    database: Path
    default_language: str
    timezone: ZoneInfo
    admin_ids: frozenset[int]
    admin_chat_id: int | None
    categories: tuple[Category, ...]
    description_max_chars: int = 1000
    max_photos: int = 5
    # Whether a group card shows the request's first photo (a photo may show a face or a door
    # number); without it the card says how many photos the claimer will see.
    card_photo: bool = True
    max_open_requests: int = 3  # a citizen's requests not yet closed or cancelled
    max_requests_per_day: int = 10  # new requests by one citizen in 24 hours
    delivery: Delivery = field(default_factory=Delivery)
    schedule: Schedule = field(default_factory=Schedule)
    areas: AreaTree | None = None
    volunteering: Volunteering = field(default_factory=Volunteering)
    activities: Activities = field(default_factory=Activities)
    supervision: Supervision = field(default_factory=Supervision)
    backups: Backups = field(default_factory=Backups)
    http: Http = field(default_factory=Http)
    web: Web = field(default_factory=Web)
    retention: Retention = field(default_factory=Retention)
    duplicates: Duplicates = field(default_factory=Duplicates)
    mode: str = "polling"  # how updates arrive: "polling" (getUpdates) or "webhook"
    webhook: Webhook | None = None  # set in webhook mode only
    # The file it was read from (/reload reads it again); None for one built in memory.
    source: Path | None = field(default=None, repr=False, compare=False)

    def backup_folder(self) -> Path:
        """Where the daily backups go."""
        return self.backups.folder or self.database.parent / "backups"

    def category(self, code: str) -> Category | None:
        """Return the category with this code, or None."""
        return next((c for c in self.categories if c.code == code), None)

    def admin_chats(self) -> list[int]:
        """Where admin notices go: the admin chat, else every admin in private."""
        if self.admin_chat_id is not None:
            return [self.admin_chat_id]
        return sorted(self.admin_ids)

    def policy(self, code: str) -> Policy:
        """Return the schedule policy of a category (the default one if it is unknown)."""
        category = self.category(code)
        return category.policy if category else self.schedule.policy


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    """Read and validate a TOML config file; the token may come from TELEGRAM_BOT_TOKEN."""
    env = dict(os.environ) if env is None else env
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (copy config.example.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return replace(parse_config(raw, env=env, base_dir=path.parent), source=path)


def parse_config(raw: dict[str, Any], *, env: dict[str, str], base_dir: Path) -> Config:
    """Validate a parsed config mapping."""
    reader = _Reader(raw)
    telegram = reader.table("telegram")
    bot = reader.table("bot")
    limits = reader.table("limits")
    delivery = reader.table("delivery")
    schedule = _schedule(reader.table("schedule"))

    token = env.get(TOKEN_ENV) or telegram.text("token", "")
    if not token:
        raise ConfigError(f"telegram.token: missing (set {TOKEN_ENV} or telegram.token)")
    if not _TOKEN_SHAPE.match(token):
        raise ConfigError("telegram.token: does not look like a bot token (digits:letters)")

    language = bot.text("default_language", "zh")
    if language not in LANGUAGES:
        raise ConfigError(
            f"bot.default_language: must be one of {', '.join(LANGUAGES)} (got {language!r})"
        )
    tz_name = bot.text("timezone", "Asia/Shanghai")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"bot.timezone: unknown time zone {tz_name!r}") from None

    database = Path(bot.text("database", "civicloop.db"))
    if not database.is_absolute():
        database = base_dir / database
    admin_chat = bot.integer("admin_chat_id", 0)
    mode = bot.text("mode", "polling")
    if mode not in MODES:
        raise ConfigError(f"bot.mode: must be polling or webhook (got {mode!r})")

    areas_table = reader.table("areas")
    areas_file = areas_table.text("file", "")
    areas = None
    if areas_file:
        area_path = Path(areas_file)
        try:
            areas = load_areas(area_path if area_path.is_absolute() else base_dir / area_path)
        except AreaError as exc:
            raise ConfigError(f"areas.file: {exc}") from None

    config = Config(
        token=token,
        base_url=_api_url(telegram.key("base_url"), telegram.text("base_url", "")),
        base_file_url=_api_url(telegram.key("base_file_url"),
                               telegram.text("base_file_url", "")),
        poll_timeout=telegram.integer("poll_timeout", 10, low=0, high=50),
        database=database,
        default_language=language,
        timezone=timezone,
        admin_ids=frozenset(bot.integers("admin_ids")),
        admin_chat_id=admin_chat or None,
        categories=_categories(raw.get("categories"), schedule.policy),
        schedule=schedule,
        areas=areas,
        volunteering=_volunteering(reader.table("volunteers"), base_dir, areas),
        activities=_activities(reader.table("activities"), base_dir),
        supervision=_supervision(reader.table("supervision"), base_dir, areas),
        backups=_backups(reader.table("backup"), base_dir),
        http=_http(reader.table("http")),
        web=_web(reader.table("web"), base_dir, areas),
        retention=_retention(reader.table("retention")),
        duplicates=_duplicates(reader.table("duplicates")),
        mode=mode,
        webhook=_webhook(reader.table("webhook"), env, mode,
                         local_api=bool(telegram.text("base_url", ""))),
        description_max_chars=limits.integer("description_max_chars", 1000, low=50, high=3000),
        max_photos=limits.integer("max_photos", 5, low=0, high=10),
        card_photo=limits.boolean("card_photo", True),
        max_open_requests=limits.integer("max_open_requests", 3, low=1, high=1000),
        max_requests_per_day=limits.integer("max_requests_per_day", 10, low=1, high=10000),
        delivery=Delivery(
            private_per_second=delivery.number("private_per_second", 1.0, low=0.01, high=30),
            private_burst=delivery.integer("private_burst", 3, low=1, high=30),
            group_per_minute=delivery.integer("group_per_minute", 20, low=1, high=600),
            global_per_second=delivery.number("global_per_second", 29.0, low=0.1, high=1000),
            max_attempts=delivery.integer("max_attempts", 8, low=1, high=100),
            concurrency=delivery.integer("concurrency", 8, low=1, high=64),
            outage_report_after=delivery.duration("outage_report_after", 60.0),
        ),
    )
    # A typo (or a key in the wrong table) would otherwise silently leave a default in place.
    telegram.refuse_unknown(("token", "base_url", "base_file_url", "poll_timeout"))
    bot.refuse_unknown(("database", "default_language", "timezone", "admin_ids",
                        "admin_chat_id", "mode"))
    limits.refuse_unknown(("description_max_chars", "max_photos", "card_photo",
                           "max_open_requests",
                           "max_requests_per_day"))
    delivery.refuse_unknown(("private_per_second", "private_burst", "group_per_minute",
                             "global_per_second", "max_attempts", "concurrency",
                             "outage_report_after"))
    areas_table.refuse_unknown(("file",))
    unknown_tables = sorted(set(raw) - {"telegram", "bot", "limits", "delivery", "schedule",
                                        "areas", "volunteers", "categories", "backup",
                                        "http", "retention", "webhook", "activities",
                                        "supervision", "web", "duplicates"})
    if unknown_tables:
        raise ConfigError(f"{unknown_tables[0]}: unknown table")
    hook = config.webhook
    if hook is not None and config.http.host is not None \
            and (hook.host, hook.port) == (config.http.host, config.http.port):
        raise ConfigError("webhook.listen: the same address as http.listen; give each its own "
                          "port (the webhook faces the proxy, /healthz stays private)")
    public = config.web.host, config.web.port
    if config.web.host is not None and config.web.port != 0 and (
            public == (config.http.host, config.http.port)
            or (hook is not None and public == (hook.host, hook.port))):
        raise ConfigError("web.listen: the same address as http.listen or webhook.listen; "
                          "give the public web server its own port")
    if config.admin_chat_id is None and not config.admin_ids:
        raise ConfigError(
            "bot.admin_ids: name at least one admin (or set bot.admin_chat_id) so that "
            "requests without a group reach someone"
        )
    return config


SCHEDULE_KEYS = (*POLICY_KEYS, "draft_nudge", "draft_expire", "quiet_hours", "daily_digest",
                 "sweep_interval")


TEAM_COLUMNS = ("id", "area_id", "name_zh", "name_en", "leader_id")


def _volunteering(reader: _Reader, base_dir: Path, areas: AreaTree | None) -> Volunteering:
    reader.refuse_unknown(("claim_mode", "ask_hours", "max_hours", "teams_file"))
    mode = reader.text("claim_mode", "open")
    if mode not in ("open", "registered"):
        raise ConfigError(f"volunteers.claim_mode: must be open or registered (got {mode!r})")
    ask = reader.boolean("ask_hours", True)
    teams_file = reader.text("teams_file", "")
    teams: tuple[Team, ...] = ()
    if teams_file:
        path = Path(teams_file) if Path(teams_file).is_absolute() else base_dir / teams_file
        teams = _load_teams(path, areas)
    return Volunteering(mode, ask, reader.number("max_hours", 12.0, low=0.5, high=24), teams)


def _supervision(reader: _Reader, base_dir: Path, areas: AreaTree | None) -> Supervision:
    """[supervision]: the inspection points and responsible units files, read and checked."""
    reader.refuse_unknown(("points_file", "units_file", "types_file", "deadlines",
                           "receive_within", "coverage_period", "remind_before",
                           "escalate_after"))
    points, units = reader.text("points_file", ""), reader.text("units_file", "")
    types_file = reader.text("types_file", "")
    if not points and not units and not types_file:
        return Supervision()
    if not points or not units or not types_file:
        missing = ("points_file" if not points else "units_file" if not units
                   else "types_file")
        raise ConfigError(f"{reader.key(missing)}: supervision needs all three files "
                          "(points_file, units_file and types_file)")
    paths = [Path(name) if Path(name).is_absolute() else base_dir / name
             for name in (points, units, types_file)]
    try:
        registers = load_registers(paths[0], paths[1], areas)
    except RegisterError as exc:
        raise ConfigError(f"{reader.key('points_file')}: {exc}") from None
    try:
        types = load_problem_types(paths[2])
    except RegisterError as exc:
        raise ConfigError(f"{reader.key('types_file')}: {exc}") from None
    table = reader.table("deadlines")
    deadlines = tuple((name, table.duration(name, 0.0)) for name in table._raw) or (
        Supervision.deadlines)
    unknown = [name for name, _ in deadlines if name not in SEVERITIES]
    if unknown:
        raise ConfigError(f"{reader.key('deadlines')}: {unknown[0]!r} is not a severity; "
                          f"they are {', '.join(SEVERITIES)} (like urgent = \"24h\")")
    return Supervision(registers, types, deadlines,
                       receive_within=reader.duration("receive_within", 4 * 3600.0),
                       coverage_period=reader.duration("coverage_period", 7 * 86400.0),
                       remind_before=reader.duration("remind_before", 86400.0),
                       escalate_after=reader.duration("escalate_after", 86400.0))


def _activities(reader: _Reader, base_dir: Path) -> Activities:
    """[activities]: the themes file (relative to the config), read and checked now."""
    reader.refuse_unknown(("themes_file", "signup_mode", "cancel_cutoff", "max_length",
                           "checkin_radius", "checkin_early", "checkin_late", "min_share",
                           "formal_hours", "star_hours"))
    mode = reader.text("signup_mode", "open")
    if mode not in ("open", "registered"):
        raise ConfigError(f"{reader.key('signup_mode')}: must be open or registered "
                          f"(got {mode!r})")
    cutoff = reader.duration("cancel_cutoff", 2 * 3600.0)
    longest = reader.duration("max_length", 24 * 3600.0)
    themes_file = reader.text("themes_file", "")
    themes: tuple[Theme, ...] = ()
    if themes_file:
        path = Path(themes_file) if Path(themes_file).is_absolute() else base_dir / themes_file
        try:
            themes = load_themes(path)
        except ThemeError as exc:
            raise ConfigError(f"{reader.key('themes_file')}: {exc}") from None
    stars = reader._raw.get("star_hours", [100, 300, 600, 1000, 1500])
    if (not isinstance(stars, list) or len(stars) != 5
            or not all(isinstance(h, int | float) and not isinstance(h, bool) and h > 0
                       for h in stars)
            or sorted(stars) != stars or len(set(stars)) != 5):
        raise ConfigError(f"{reader.key('star_hours')}: must be five increasing numbers of "
                          f"hours, like [100, 300, 600, 1000, 1500] (got {stars!r})")
    return Activities(
        themes, mode, cutoff, longest,
        checkin_radius=reader.number("checkin_radius", 300, low=20, high=5000),
        checkin_early=reader.duration("checkin_early", 3600.0),
        checkin_late=reader.duration("checkin_late", 3600.0),
        min_share=reader.number("min_share", 0.6, low=0.1, high=1.0),
        formal_hours=reader.number("formal_hours", 30, low=1, high=1000),
        star_hours=tuple(float(h) for h in stars))


def _load_teams(path: Path, areas: AreaTree | None) -> tuple[Team, ...]:
    """Read teams.csv (id, area_id, name_zh, name_en, leader_id), naming file and line."""
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except FileNotFoundError:
        raise ConfigError(f"volunteers.teams_file: {path}: file not found") from None
    if not rows or tuple(c.strip() for c in rows[0]) != TEAM_COLUMNS:
        raise ConfigError(f"volunteers.teams_file: {path}:1: the header must be "
                          f"{','.join(TEAM_COLUMNS)}")
    teams: dict[str, Team] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        where = f"volunteers.teams_file: {path}:{line}"
        if len(row) != len(TEAM_COLUMNS):
            raise ConfigError(f"{where}: expected {len(TEAM_COLUMNS)} columns, got {len(row)}")
        team_id, area_id, name_zh, name_en, leader = (c.strip() for c in row)
        if not _CODE_SHAPE.match(team_id.replace("-", "_")):
            raise ConfigError(f"{where}: team id {team_id!r} must be short lowercase ASCII")
        if team_id in teams:
            raise ConfigError(f"{where}: duplicate team {team_id!r}")
        if area_id and (areas is None or area_id not in areas):
            raise ConfigError(f"{where}: unknown area {area_id!r}")
        if not name_zh or not name_en:
            raise ConfigError(f"{where}: {team_id!r} needs both name_zh and name_en")
        if leader and not (leader.isascii() and leader.isdigit() and int(leader) > 0):
            raise ConfigError(f"{where}: leader_id must be a person's Telegram user id "
                              f"(got {leader!r})")
        teams[team_id] = Team(team_id, area_id or None, {"zh": name_zh, "en": name_en},
                              int(leader) if leader else None)
    return tuple(teams.values())


def _schedule(reader: _Reader) -> Schedule:
    reader.refuse_unknown(SCHEDULE_KEYS)
    policy = _policy(reader, Policy())
    quiet = reader.text("quiet_hours", "22:00-08:00")
    start, _, end = quiet.partition("-")
    try:
        quiet_start, quiet_end = _clock_time(start), _clock_time(end)
    except ValueError:
        raise ConfigError(
            f"{reader.key('quiet_hours')}: must look like 22:00-08:00 (got {quiet!r})"
        ) from None
    digest = reader.text("daily_digest", "09:00")
    try:
        daily_digest = _clock_time(digest)
    except ValueError:
        raise ConfigError(
            f"{reader.key('daily_digest')}: must be a time like 09:00 (got {digest!r})"
        ) from None
    draft_nudge = reader.duration("draft_nudge", 3600)
    draft_expire = reader.duration("draft_expire", 24 * 3600)
    if draft_nudge >= draft_expire:
        raise ConfigError(f"{reader.key('draft_expire')}: must be longer than draft_nudge")
    return Schedule(
        policy=policy,
        draft_nudge=draft_nudge,
        draft_expire=draft_expire,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        daily_digest=daily_digest,
        sweep_interval=reader.duration("sweep_interval", 1),
    )


def _retention(reader: _Reader) -> Retention:
    retention = Retention(
        contact_days=reader.integer("contact_days", 180, low=0, high=36500),
        outbox_days=reader.integer("outbox_days", 30, low=0, high=36500),
        timer_days=reader.integer("timer_days", 30, low=0, high=36500),
        inbox_days=reader.integer("inbox_days", 2, low=1, high=36500),
    )
    reader.refuse_unknown(("contact_days", "outbox_days", "timer_days", "inbox_days"))
    return retention


def _duplicates(reader: _Reader) -> Duplicates:
    """[duplicates]: whether intake looks for the same problem reported nearby, how near and
    how recent."""
    reader.refuse_unknown(("enabled", "distance_m", "max_age_days"))
    return Duplicates(
        enabled=reader.boolean("enabled", True),
        distance=reader.number("distance_m", 250.0, low=10, high=5000),
        max_age=reader.number("max_age_days", 14.0, low=0.04, high=365) * 86400.0,
    )


def _http(reader: _Reader) -> Http:
    listen = reader.text("listen", "")
    reader.refuse_unknown(("listen",))
    if not listen:
        return Http()
    host, port = _address(reader.key("listen"), listen, "127.0.0.1:9090")
    return Http(host=host, port=port)


def _web(reader: _Reader, base_dir: Path, areas: AreaTree | None) -> Web:
    """[web]: the public web server's address, the results page, and [web.open311]."""
    listen = reader.text("listen", "")
    results = reader.boolean("results", True)
    reader.refuse_unknown(("listen", "open311", "results"))
    open311 = _open311(reader.table("open311"), base_dir, areas)
    if not listen:
        return Web(open311=open311, results=results)
    host, port = _address(reader.key("listen"), listen, "0.0.0.0:8080")
    return Web(host=host, port=port, open311=open311, results=results)


def _open311(reader: _Reader, base_dir: Path, areas: AreaTree | None) -> Open311:
    """[web.open311]: on or off, the default area, and the clients with their API keys
    (inline, or in a clients_file kept out of the repository and readable by the bot only)."""
    reader.refuse_unknown(("enabled", "clients", "clients_file", "default_area",
                           "max_requests_per_hour"))
    default_area = reader.text("default_area", "") or None
    if default_area is not None and (areas is None or default_area not in areas):
        raise ConfigError(f"{reader.key('default_area')}: unknown area {default_area!r} "
                          "(an id from the area file)")
    entries: list[tuple[str, Any]] = [(reader.key("clients"), c)
                                      for c in _client_list(reader.key("clients"),
                                                            reader._raw.get("clients", []))]
    clients_file = reader.text("clients_file", "")
    if clients_file:
        path = Path(clients_file) if Path(clients_file).is_absolute() else base_dir / clients_file
        key = f"{reader.key('clients_file')}: {path}"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{key}: file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{key}: not valid TOML: {exc}") from None
        if set(raw) - {"clients"}:
            raise ConfigError(f"{key}: only a clients list may be there")
        entries += [(f"{key}: clients", c) for c in _client_list(key, raw.get("clients", []))]
    clients: list[Open311Client] = []
    for key, entry in entries:
        extra = sorted(set(entry) - {"id", "name", "key"})
        if extra:
            raise ConfigError(f"{key}: unknown key {extra[0]!r} (a client has id, name and key)")
        client_id, name, secret = (entry.get(k) for k in ("id", "name", "key"))
        if not isinstance(client_id, str) or not _CLIENT_ID_SHAPE.match(client_id):
            raise ConfigError(f"{key}: a client's id must be short lowercase ASCII, like "
                              f"\"hotline\" (got {client_id!r})")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{key}: client {client_id!r} needs a name")
        if not isinstance(secret, str) or len(secret.strip()) < API_KEY_MIN \
                or secret.strip().upper().startswith("CHANGE-ME"):
            raise ConfigError(f"{key}: client {client_id!r} needs a key of at least {API_KEY_MIN} "
                              "random characters (e.g. `openssl rand -hex 24`)")
        client = Open311Client(client_id, name.strip(), secret.strip())
        for other in clients:
            if other.id == client.id or other.user_id == client.user_id:
                raise ConfigError(f"{key}: client {client_id!r} is given twice")
            if other.key == client.key:
                raise ConfigError(f"{key}: clients {other.id!r} and {client_id!r} share a key; "
                                  "give each its own")
        clients.append(client)
    return Open311(enabled=reader.boolean("enabled", False), clients=tuple(clients),
                   default_area=default_area,
                   max_requests_per_hour=reader.integer("max_requests_per_hour", 120, low=1,
                                                        high=10000))


def _client_list(key: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        raise ConfigError(f"{key}: must be a list of clients like "
                          "{ id = \"hotline\", name = \"12345\", key = \"…\" }")
    return value


def _address(key: str, listen: str, example: str) -> tuple[str, int]:
    """Split host:port (an IPv6 host in brackets), naming `key` if it is not one."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{key}: must look like {example} (got {listen!r})")
    return host.strip("[]"), int(port)


WEBHOOK_KEYS = ("url", "listen", "path", "secret_token", "max_connections")


def _webhook(reader: _Reader, env: dict[str, str], mode: str, *, local_api: bool
             ) -> Webhook | None:
    """Read [webhook]: every value given is checked; in webhook mode url, listen and a secret
    are required. `local_api`: a local Bot API server, which posts to any port."""
    reader.refuse_unknown(WEBHOOK_KEYS)
    url = reader.text("url", "")
    if url:
        _webhook_url(reader.key("url"), url, local_api)
    listen = reader.text("listen", "")
    host, port = "", 0
    if listen:
        host, port = _address(reader.key("listen"), listen, "127.0.0.1:8443")
        if port == 0:
            # Telegram is given a fixed address: the proxy must know where to forward.
            raise ConfigError(f"{reader.key('listen')}: needs a fixed port (got {listen!r})")
    path = reader.text("path", "")
    if path and (not path.startswith("/") or any(c in path for c in "?# ")):
        raise ConfigError(f"{reader.key('path')}: must be a path like /telegram/webhook "
                          f"(got {path!r})")
    max_connections = (reader.integer("max_connections", 40, low=1, high=100)
                       if "max_connections" in reader else None)
    # The secret comes from the environment first, so it need not sit in a file.
    secret, secret_key = env.get(WEBHOOK_SECRET_ENV, "").strip(), WEBHOOK_SECRET_ENV
    if not secret:
        secret, secret_key = reader.text("secret_token", ""), reader.key("secret_token")
    if secret and not _SECRET_SHAPE.match(secret):
        # Never echo the secret: the message goes to the terminal and the journal.
        raise ConfigError(f"{secret_key}: must be 1-256 characters, each A-Z, a-z, 0-9, _ or -"
                          f" (Telegram's rule; got {len(secret)} characters)")
    if mode != "webhook":
        return None
    if not url:
        raise ConfigError(f"{reader.key('url')}: missing (webhook mode needs the public "
                          "https address Telegram posts to)")
    if not listen:
        raise ConfigError(f"{reader.key('listen')}: missing (webhook mode needs the address "
                          "the proxy forwards to, e.g. 127.0.0.1:8443)")
    if not secret:
        raise ConfigError(f"{reader.key('secret_token')}: missing (set {WEBHOOK_SECRET_ENV} "
                          "or webhook.secret_token): without it anyone could post updates")
    return Webhook(url=url, host=host, port=port, path=path or urlsplit(url).path or "/",
                   secret_token=secret, max_connections=max_connections)


def _webhook_url(key: str, url: str, local_api: bool) -> None:
    """Telegram posts only to https, on its four ports; http is allowed to this machine only
    (the sandbox of the tests, or a local Bot API server)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{key}: not a URL (got {url[:60]!r})") from None
    if parts.fragment or not parts.hostname:
        raise ConfigError(f"{key}: must be an address like https://bot.example.org/telegram "
                          f"(got {url[:60]!r})")
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return
    if parts.scheme != "https":
        raise ConfigError(f"{key}: must be an https:// address (http:// only for localhost), "
                          f"got {url[:60]!r}")
    if port is not None and port not in WEBHOOK_PORTS and not local_api:
        raise ConfigError(f"{key}: Telegram posts only to ports 443, 80, 88 or 8443 "
                          f"(got {port})")


def _backups(reader: _Reader, base_dir: Path) -> Backups:
    folder = reader.text("folder", "")
    at = reader.text("at", "03:30")
    try:
        at_time = _clock_time(at)
    except ValueError:
        raise ConfigError(f"{reader.key('at')}: must be a time like 03:30 (got {at!r})") from None
    path = Path(folder) if folder else None
    if path is not None and not path.is_absolute():
        path = base_dir / path
    backups = Backups(folder=path, at=at_time, keep=reader.integer("keep", 7, low=0, high=3650))
    reader.refuse_unknown(("folder", "at", "keep"))
    return backups


def _policy(reader: _Reader, defaults: Policy) -> Policy:
    """Read the policy keys of a table, falling back to `defaults`."""
    values = {key: reader.duration(key, getattr(defaults, key)) for key in POLICY_KEYS}
    policy = Policy(**values)
    if policy.claim_reminder >= policy.escalate_after:
        raise ConfigError(f"{reader.key('escalate_after')}: must be longer than claim_reminder")
    if policy.rating_reminder >= policy.auto_close:
        raise ConfigError(f"{reader.key('auto_close')}: must be longer than rating_reminder")
    return policy


# The form's first question offers every category, and Cancel, as buttons of one message;
# Telegram takes 100 buttons at most.
CATEGORIES_MAX = 99


def _categories(raw: Any, default_policy: Policy) -> tuple[Category, ...]:
    if raw is None:
        raise ConfigError("categories: missing (add at least one [[categories]] table)")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("categories: must be a non-empty list of [[categories]] tables")
    if len(raw) > CATEGORIES_MAX:
        raise ConfigError(f"categories: {len(raw)} categories, at most {CATEGORIES_MAX} (the "
                          "form offers each as a button on one message)")
    seen: set[str] = set()
    result = []
    for index, item in enumerate(raw):
        key = f"categories[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{key}: must be a table")
        reader = _Reader(item, prefix=key)
        code = reader.text("code", "")
        if not _CODE_SHAPE.match(code):
            raise ConfigError(
                f"{key}.code: must be 1-32 lowercase letters, digits or _ (got {code!r})"
            )
        if code in seen:
            raise ConfigError(f"{key}.code: duplicate category {code!r}")
        seen.add(code)
        names = {lang: reader.text(lang, "") for lang in LANGUAGES}
        for lang, name in names.items():
            if not name.strip():
                raise ConfigError(f"{key}.{lang}: missing the {lang} name of {code!r}")
            if len(name) > 40:
                raise ConfigError(f"{key}.{lang}: longer than 40 characters")
        group = reader.integer("group_id", 0)
        unknown = set(item) - {"code", "group_id", "keywords", "duplicate_check", *LANGUAGES,
                               *POLICY_KEYS}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}: unknown key")
        policy = _policy(reader, default_policy)
        result.append(Category(code=code, names=names, group_id=group or None, policy=policy,
                               keywords=_keywords(item.get("keywords", []), f"{key}.keywords"),
                               duplicate_check=reader.boolean("duplicate_check", True)))
    return tuple(result)


def categories_in(path: Path) -> tuple[Category, ...]:
    """The categories of a config file alone, checked as at start-up (the suggester's
    measurements read config.example.toml's)."""
    with path.open("rb") as file:
        raw = tomllib.load(file)
    return _categories(raw.get("categories"), Policy())


KEYWORD_MAX = 20  # characters: a word or a short phrase, not a sentence


def _keywords(raw: Any, key: str) -> tuple[str, ...]:
    """A category's keywords: a list of distinct words, English ones kept in lower case."""
    if not isinstance(raw, list):
        raise ConfigError(f'{key}: must be a list of words, like ["路灯", "street light"]')
    words: list[str] = []
    for index, word in enumerate(raw):
        if not isinstance(word, str) or not word.strip():
            raise ConfigError(f"{key}[{index}]: must be a non-empty word (got {word!r})")
        # The suggester compares in NFKC lower case (全角 ＡＢＣ is ABC): so must the file.
        word = unicodedata.normalize("NFKC", " ".join(word.split())).lower()
        if len(word) > KEYWORD_MAX:
            raise ConfigError(f"{key}[{index}]: longer than {KEYWORD_MAX} characters")
        if not any(ch.isalnum() for ch in word):
            raise ConfigError(f"{key}[{index}]: must contain a letter or a character "
                              f"(got {word!r})")
        if word in words:
            raise ConfigError(f"{key}[{index}]: {word!r} is listed twice")
        words.append(word)
    return tuple(words)


class _Reader:
    """Typed access to one TOML table, raising ConfigError with the full key."""

    def __init__(self, raw: dict[str, Any], prefix: str = "") -> None:
        self._raw = raw
        self._prefix = prefix

    def key(self, name: str) -> str:
        """Return the full dotted name of a key in this table."""
        return f"{self._prefix}.{name}" if self._prefix else name

    def boolean(self, name: str, default: bool) -> bool:
        """Read true or false."""
        value = self._raw.get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.key(name)}: must be true or false (got {value!r})")
        return value

    def refuse_unknown(self, known: tuple[str, ...]) -> None:
        """Stop at a key this table does not have (a typo would silently use a default)."""
        unknown = sorted(set(self._raw) - set(known))
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key")

    def duration(self, name: str, default: float) -> float:
        """Read a duration written like 45s, 30m, 2h or 3d; it must be positive."""
        value = self._raw.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ConfigError(f"{self.key(name)}: must be a duration like \"30m\" (got {value!r})")
        try:
            seconds = parse_duration(value)
        except ValueError:
            raise ConfigError(
                f"{self.key(name)}: must be a duration like 45s, 30m, 2h or 3d (got {value!r})"
            ) from None
        if seconds <= 0:
            raise ConfigError(f"{self.key(name)}: must be longer than zero (got {value!r})")
        return seconds

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def table(self, name: str) -> _Reader:
        value = self._raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self.key(name)}: must be a table")
        return _Reader(value, self.key(name))

    def text(self, name: str, default: str) -> str:
        value = self._raw.get(name, default)
        if not isinstance(value, str):
            raise ConfigError(f"{self.key(name)}: must be a string (got {value!r})")
        return value.strip()

    def integer(
        self, name: str, default: int, *, low: int | None = None, high: int | None = None
    ) -> int:
        value = self._raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.key(name)}: must be a whole number (got {value!r})")
        self._check_range(name, value, low, high)
        return value

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = self._raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.key(name)}: must be a number (got {value!r})")
        self._check_range(name, value, low, high)
        return float(value)

    def integers(self, name: str) -> list[int]:
        value = self._raw.get(name, [])
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(f"{self.key(name)}: must be a list of Telegram user ids")
        return value

    def _check_range(
        self, name: str, value: float, low: float | None, high: float | None
    ) -> None:
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(
                f"{self.key(name)}: must be between {low} and {high} (got {value!r})"
            )


_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _api_url(key: str, url: str) -> str | None:
    """A Bot API address: https, or http only to this machine (a local Bot API server or the
    sandbox). The token travels in every request's path, so plain http elsewhere would show it
    to the network."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return url
    raise ConfigError(f"{key}: must be an https:// address (http:// only for localhost), "
                      f"got {url.split('?')[0][:60]!r}")
