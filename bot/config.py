"""Loading and validating config.toml; a wrong value stops start-up naming the key."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("zh", "en")
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_CODE_SHAPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class ConfigError(ValueError):
    """A config value is missing or wrong; the message names the key."""


@dataclass(frozen=True)
class Category:
    """A kind of request citizens can file, with its names and optional fixed group."""

    code: str
    names: dict[str, str]
    group_id: int | None = None

    def name(self, language: str) -> str:
        """Return the category's name in `language`."""
        return self.names.get(language) or next(iter(self.names.values()))


@dataclass(frozen=True)
class Delivery:
    """How fast the sender may talk to Telegram."""

    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: int = 20
    global_per_second: float = 25.0
    max_attempts: int = 8
    concurrency: int = 8


@dataclass(frozen=True)
class Config:
    """Everything civicloop needs to start."""

    token: str
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
    delivery: Delivery = field(default_factory=Delivery)

    def category(self, code: str) -> Category | None:
        """Return the category with this code, or None."""
        return next((c for c in self.categories if c.code == code), None)


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
    return parse_config(raw, env=env, base_dir=path.parent)


def parse_config(raw: dict[str, Any], *, env: dict[str, str], base_dir: Path) -> Config:
    """Validate a parsed config mapping."""
    reader = _Reader(raw)
    telegram = reader.table("telegram")
    bot = reader.table("bot")
    limits = reader.table("limits")
    delivery = reader.table("delivery")

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

    config = Config(
        token=token,
        base_url=telegram.text("base_url", "") or None,
        base_file_url=telegram.text("base_file_url", "") or None,
        poll_timeout=telegram.integer("poll_timeout", 10, low=0, high=50),
        database=database,
        default_language=language,
        timezone=timezone,
        admin_ids=frozenset(bot.integers("admin_ids")),
        admin_chat_id=admin_chat or None,
        categories=_categories(raw.get("categories")),
        description_max_chars=limits.integer("description_max_chars", 1000, low=50, high=3000),
        max_photos=limits.integer("max_photos", 5, low=0, high=10),
        delivery=Delivery(
            private_per_second=delivery.number("private_per_second", 1.0, low=0.01, high=30),
            private_burst=delivery.integer("private_burst", 3, low=1, high=30),
            group_per_minute=delivery.integer("group_per_minute", 20, low=1, high=600),
            global_per_second=delivery.number("global_per_second", 25.0, low=0.1, high=1000),
            max_attempts=delivery.integer("max_attempts", 8, low=1, high=100),
            concurrency=delivery.integer("concurrency", 8, low=1, high=64),
        ),
    )
    if config.admin_chat_id is None and not config.admin_ids:
        raise ConfigError(
            "bot.admin_ids: name at least one admin (or set bot.admin_chat_id) so that "
            "requests without a group reach someone"
        )
    return config


def _categories(raw: Any) -> tuple[Category, ...]:
    if raw is None:
        raise ConfigError("categories: missing (add at least one [[categories]] table)")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("categories: must be a non-empty list of [[categories]] tables")
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
        unknown = set(item) - {"code", "group_id", *LANGUAGES}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}: unknown key")
        result.append(Category(code=code, names=names, group_id=group or None))
    return tuple(result)


class _Reader:
    """Typed access to one TOML table, raising ConfigError with the full key."""

    def __init__(self, raw: dict[str, Any], prefix: str = "") -> None:
        self._raw = raw
        self._prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self._prefix}.{name}" if self._prefix else name

    def table(self, name: str) -> _Reader:
        value = self._raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self._key(name)}: must be a table")
        return _Reader(value, self._key(name))

    def text(self, name: str, default: str) -> str:
        value = self._raw.get(name, default)
        if not isinstance(value, str):
            raise ConfigError(f"{self._key(name)}: must be a string (got {value!r})")
        return value.strip()

    def integer(
        self, name: str, default: int, *, low: int | None = None, high: int | None = None
    ) -> int:
        value = self._raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self._key(name)}: must be a whole number (got {value!r})")
        self._check_range(name, value, low, high)
        return value

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = self._raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self._key(name)}: must be a number (got {value!r})")
        self._check_range(name, value, low, high)
        return float(value)

    def integers(self, name: str) -> list[int]:
        value = self._raw.get(name, [])
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(f"{self._key(name)}: must be a list of Telegram user ids")
        return value

    def _check_range(
        self, name: str, value: float, low: float | None, high: float | None
    ) -> None:
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(
                f"{self._key(name)}: must be between {low} and {high} (got {value!r})"
            )
