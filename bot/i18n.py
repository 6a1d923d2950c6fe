"""The zh and en message catalogs, and the one function that turns a key into a user's words."""

from __future__ import annotations

import html
import string
import tomllib
from datetime import datetime
from importlib import resources
from typing import Any

from bot.config import LANGUAGES


class Raw(str):
    """A value already safe for HTML (markup we built ourselves); not escaped again."""

    __slots__ = ()


class Catalogs:
    """Messages keyed like `intake.ask_category`, one catalog per language."""

    def __init__(self, catalogs: dict[str, dict[str, str]], default: str) -> None:
        self._catalogs = catalogs
        self.default = default

    @classmethod
    def load(cls, default: str = "zh") -> Catalogs:
        """Load the catalogs shipped in bot/locales: `zh.toml` and its parts (`zh-admin.toml`
        and the like), which may not define a key twice."""
        catalogs: dict[str, dict[str, str]] = {}
        files = sorted(resources.files("bot.locales").iterdir(), key=lambda f: f.name)
        for language in LANGUAGES:
            catalog: dict[str, str] = {}
            for file in files:
                stem = file.name.removesuffix(".toml")
                if not file.name.endswith(".toml") or stem.split("-")[0] != language:
                    continue
                part = _flatten(tomllib.loads(file.read_text("utf-8")))
                twice = sorted(set(part) & set(catalog))
                if twice:
                    raise ValueError(f"bot/locales/{file.name} defines {twice[0]} again")
                catalog.update(part)
            catalogs[language] = catalog
        return cls(catalogs, default)

    def keys(self, language: str) -> set[str]:
        """Return every key of one catalog (for completeness checks)."""
        return set(self._catalogs[language])

    def raw(self, language: str, key: str) -> str:
        """Return a catalog entry as written, placeholders unfilled."""
        catalog = self._catalogs.get(language) or self._catalogs[self.default]
        return catalog.get(key) or self._catalogs[self.default][key]

    def __call__(self, language: str, key: str, **values: Any) -> str:
        """Return message `key` in `language`, with values HTML-escaped unless Raw."""
        template = self.raw(language, key)
        safe = {
            name: value if isinstance(value, Raw) else html.escape(str(value), quote=False)
            for name, value in values.items()
        }
        return template.format(**safe)

    def distance(self, language: str, metres: float) -> str:
        """"850 米", "5.2 公里" in Chinese; "850 m", "5.2 km" in English."""
        if metres < 1000:
            return self(language, "units.metres", m=f"{metres:.0f}")
        return self(language, "units.km", km=f"{metres / 1000:.1f}")

    def all_labels(self, key: str) -> set[str]:
        """Return the message `key` in every language (to recognise a tapped button)."""
        return {catalog[key] for catalog in self._catalogs.values()}

    def language_for(self, chosen: str | None, telegram_code: str | None) -> str:
        """Pick the user's language: their choice, else Telegram's hint, else the default."""
        if chosen in self._catalogs:
            return str(chosen)
        code = (telegram_code or "").lower().split("-")[0]
        return code if code in self._catalogs else self.default


WEEKDAYS_ZH = "一二三四五六日"


def day_and_time(local: datetime, language: str, this_year: int, clock: bool = True) -> str:
    """A local moment as a reader of `language` reads it: "6月10日 周三 14:00" in Chinese (the
    year only when it is not this one, "2027年1月1日 周五 09:00"), "2026-06-10 14:00" else."""
    if language != "zh":
        return f"{local:%Y-%m-%d %H:%M}" if clock else f"{local:%Y-%m-%d}"
    year = "" if local.year == this_year else f"{local.year}年"
    day = f"{year}{local.month}月{local.day}日 周{WEEKDAYS_ZH[local.weekday()]}"
    return f"{day} {local:%H:%M}" if clock else day


def placeholders(template: str) -> set[str]:
    """Return the names of the {placeholders} in a catalog entry."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = str(value)
    return flat
