"""The year of monthly themes (一月一主题), read from its TOML file.

One `[[theme]]` table a month: `month` (1-12), `title_zh`, `title_en`, `description_zh`,
`description_en`. Every mistake is refused naming the file and the line, as the area file's are.
Below the kernel, like bot.areas: the config validates the file through this module at start
and at /reload, so it imports only the standard library and bot.lengths.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.lengths import units, visible

# The languages a theme is written in: the file's keys name them, as the area file's columns do.
THEME_LANGUAGES = ("zh", "en")
# As Telegram counts (UTF-16 units). A title heads a card and labels a button; the
# description is the one line under it.
TITLE_MAX = 40
DESCRIPTION_MAX = 200
TEXT_KEYS = tuple(f"{part}_{language}" for part in ("title", "description")
                  for language in THEME_LANGUAGES)
KEYS = ("month", *TEXT_KEYS)
_HEADER = re.compile(r"^\s*\[\[\s*theme\s*\]\]")
_TOML_LINE = re.compile(r"at line (\d+)")

Problem = Literal["empty", "lines", "long"]


class ThemeError(ValueError):
    """The themes file is wrong; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Theme:
    """One month's theme in both languages."""

    month: int
    titles: dict[str, str]
    descriptions: dict[str, str]

    def title(self, language: str) -> str:
        """The title in `language` (both are always present)."""
        return self.titles.get(language) or self.titles[THEME_LANGUAGES[0]]

    def description(self, language: str) -> str:
        """The one-line description in `language`."""
        return self.descriptions.get(language) or self.descriptions[THEME_LANGUAGES[0]]


def text_problem(text: str, limit: int) -> Problem | None:
    """What is wrong with a title or a description, if anything: the file and the bot's
    dialog apply the same rules."""
    if not visible(text):  # a zero-width space or a Hangul filler alone shows nothing
        return "empty"
    if "\n" in text.strip() or "\r" in text.strip():
        return "lines"
    if units(text.strip()) > limit:
        return "long"
    return None


def limit_of(key: str) -> int:
    """The longest a text of this key may be."""
    return TITLE_MAX if key.startswith("title") else DESCRIPTION_MAX


def load_themes(path: Path) -> tuple[Theme, ...]:
    """Read and check a themes file; the themes in month order (a month may be missing: the
    bot then says none is set, and an admin may set one)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ThemeError(f"{path}: file not found") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        where = f"{path}:{found.group(1)}" if found else str(path)
        raise ThemeError(f"{where}: not valid TOML: {exc}") from None
    lines = text.splitlines()
    for key in raw:
        if key != "theme":
            raise ThemeError(f"{path}:{_line_of(lines, key, 0, len(lines))}: unknown key "
                             f"{key!r} (each month is a [[theme]] table)")
    entries = raw.get("theme", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ThemeError(f"{path}:1: each month must be a [[theme]] table")
    headers = [n for n, line in enumerate(lines) if _HEADER.match(line)]
    if len(headers) != len(entries):  # written some other way (inline tables): no lines
        headers = [0] * len(entries)
    bounds = [*headers[1:], len(lines)]
    seen: dict[int, int] = {}
    themes: list[Theme] = []
    for entry, start, end in zip(entries, headers, bounds, strict=True):
        themes.append(_theme(path, entry, lines, start, end, seen))
    return tuple(sorted(themes, key=lambda theme: theme.month))


def _theme(path: Path, entry: dict[str, Any], lines: list[str], start: int, end: int,
           seen: dict[int, int]) -> Theme:
    """One [[theme]] table, checked; `seen` holds the months read so far, by line."""

    def where(key: str | None) -> str:
        line = _line_of(lines, key, start, end) if key else start + 1
        return f"{path}:{line}"

    for key in entry:
        if key not in KEYS:
            raise ThemeError(f"{where(key)}: unknown key {key!r} (a theme has "
                             f"{', '.join(KEYS)})")
    month = entry.get("month")
    if month is None:
        raise ThemeError(f"{where(None)}: this theme has no month (month = 1 to 12)")
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ThemeError(f"{where('month')}: month must be a whole number from 1 to 12 "
                         f"(got {month!r})")
    if month in seen:
        raise ThemeError(f"{where('month')}: month {month} is given twice (also at line "
                         f"{seen[month]})")
    seen[month] = _line_of(lines, "month", start, end)
    texts: dict[str, str] = {}
    for key in TEXT_KEYS:
        value = entry.get(key)
        if value is None:
            raise ThemeError(f"{where(None)}: month {month} has no {key} (every theme needs "
                             f"{', '.join(TEXT_KEYS)})")
        if not isinstance(value, str):
            raise ThemeError(f"{where(key)}: {key} must be a string (got {value!r})")
        problem = text_problem(value, limit_of(key))
        if problem == "empty":
            raise ThemeError(f"{where(key)}: {key} of month {month} is empty")
        if problem == "lines":
            raise ThemeError(f"{where(key)}: {key} of month {month} must be one line")
        if problem == "long":
            raise ThemeError(f"{where(key)}: {key} of month {month} is {units(value.strip())} "
                             f"characters long, at most {limit_of(key)} (as Telegram counts: "
                             "an emoji is 2)")
        texts[key] = value.strip()
    return Theme(month, {lang: texts[f"title_{lang}"] for lang in THEME_LANGUAGES},
                 {lang: texts[f"description_{lang}"] for lang in THEME_LANGUAGES})


def _line_of(lines: list[str], key: str, start: int, end: int) -> int:
    """The 1-based line where `key =` is written between two headers (else the first)."""
    pattern = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\s*[=\]]")  # a key or a table
    for number in range(start, end):
        if pattern.match(lines[number]):
            return number + 1
    return start + 1
