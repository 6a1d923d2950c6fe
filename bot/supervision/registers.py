"""The registers of supervision: inspection points and the units responsible for them, each
from a CSV file named in the config, checked at start and at /reload like the area file.

Points: `id,name_zh,name_en,kind,area_id,unit_id,road_chief,lat,lon` — kind is road, market,
alley, community, school or other; the area is one of the area file's, the unit one of the
units file's; the road chief (路长, a name) is for roads and optional; the map point is
optional but gives the inspector "nearest first". Units: `id,name_zh,name_en,area_id,
contact_id` — the contact is the Telegram user id of who acts for the unit (optional: the
unit's group chat is bound in the bot). Every mistake stops start-up naming the file and line.

Below the kernel, like bot.areas: it imports only the standard library and bot.areas.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.areas.tree import AreaTree, read_coordinate

POINT_COLUMNS = ("id", "name_zh", "name_en", "kind", "area_id", "unit_id", "road_chief",
                 "lat", "lon")
UNIT_COLUMNS = ("id", "name_zh", "name_en", "area_id", "contact_id")
KINDS = ("road", "market", "alley", "community", "school", "other")
NAME_MAX = 60
_ID_SHAPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_USER_ID = re.compile(r"^[1-9][0-9]{0,15}$")


class RegisterError(ValueError):
    """A mistake in a register file, naming the file and line."""


@dataclass(frozen=True)
class Unit:
    """A responsible unit (责任单位): a sub-district office, a bureau, a market's manager."""

    id: str
    names: dict[str, str]
    area_id: str | None
    contact_id: int | None

    def name(self, language: str) -> str:
        """The unit's name in `language`."""
        return self.names.get(language) or self.names["zh"]


@dataclass(frozen=True)
class Point:
    """A registered inspection point: a road, a market, an alley, a community, a school."""

    id: str
    names: dict[str, str]
    kind: str
    area_id: str
    unit_id: str
    road_chief: str | None
    latitude: float | None
    longitude: float | None

    def name(self, language: str) -> str:
        """The point's name in `language`."""
        return self.names.get(language) or self.names["zh"]


@dataclass(frozen=True)
class ProblemType:
    """One entry of the inspectors' checklist (street vending, piled rubbish, …)."""

    code: str
    names: dict[str, str]

    def name(self, language: str) -> str:
        """The type's name in `language`."""
        return self.names.get(language) or self.names["zh"]


TYPE_NAME_MAX = 30
TYPES_MAX = 100  # the inspector picks one on a single inline keyboard: Telegram's 100 buttons


def load_problem_types(path: Path) -> tuple[ProblemType, ...]:
    """Read and check the problem types file (TOML, one [[type]] each: code, zh, en)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegisterError(f"{path}: file not found") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegisterError(f"{path}: {exc}") from None
    headers = [n + 1 for n, line in enumerate(text.splitlines())
               if line.strip().replace(" ", "") == "[[type]]"]
    entries = raw.get("type")
    if set(raw) - {"type"} or not isinstance(entries, list) or not entries:
        raise RegisterError(f"{path}:1: the file holds [[type]] tables only, at least one")
    found: dict[str, ProblemType] = {}
    for n, entry in enumerate(entries):
        line = headers[n] if n < len(headers) else 1
        if not isinstance(entry, dict) or set(entry) != {"code", "zh", "en"}:
            raise RegisterError(f"{path}:{line}: a [[type]] has exactly code, zh and en")
        code, zh, en = entry["code"], entry["zh"], entry["en"]
        if not isinstance(code, str) or not _ID_SHAPE.match(code):
            raise RegisterError(f"{path}:{line}: code {code!r} must be 1-32 of a-z 0-9 _ -")
        if code in found:
            raise RegisterError(f"{path}:{line}: duplicate code {code!r}")
        for name in (zh, en):
            if not isinstance(name, str) or not name.strip() or len(name) > TYPE_NAME_MAX:
                raise RegisterError(f"{path}:{line}: {code!r} needs zh and en names of 1-"
                                    f"{TYPE_NAME_MAX} characters")
        found[code] = ProblemType(code, {"zh": zh.strip(), "en": en.strip()})
    if len(found) > TYPES_MAX:
        raise RegisterError(f"{path}: {len(found)} types, at most {TYPES_MAX} (the inspector "
                            "picks one among buttons on one message)")
    return tuple(found.values())


@dataclass(frozen=True)
class Registers:
    """The points and units, looked up by id."""

    points: dict[str, Point]
    units: dict[str, Unit]

    def points_of(self, unit_id: str) -> list[Point]:
        """The points a unit is responsible for."""
        return [p for p in self.points.values() if p.unit_id == unit_id]


def load_registers(points_path: Path, units_path: Path, areas: AreaTree | None) -> Registers:
    """Read and check both files (the units first: points name them)."""
    if areas is None:
        raise RegisterError(f"{points_path}: inspection points need the area file "
                            "([areas] file): each point belongs to an area")
    units = _load_units(units_path, areas)
    return Registers(_load_points(points_path, areas, units), units)


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """The rows below the header with the line each starts on (a quoted cell may span
    lines); the header checked."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RegisterError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise RegisterError(f"{path}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    header = True
    for row in reader:
        line, start = start, reader.line_num + 1
        if header:
            if tuple(cell.strip() for cell in row) != columns:
                raise RegisterError(f"{path}:1: the header must be {','.join(columns)}")
            header = False
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise RegisterError(f"{path}:{line}: expected {len(columns)} columns, got "
                                f"{len(row)}")
        yield line, [cell.strip() for cell in row]
    if header:
        raise RegisterError(f"{path}:1: the header must be {','.join(columns)}")


def _id_and_names(path: Path, line: int, row_id: str, name_zh: str, name_en: str,
                  seen: dict[str, int]) -> dict[str, str]:
    if not _ID_SHAPE.match(row_id):
        raise RegisterError(f"{path}:{line}: id {row_id!r} must be 1-32 of a-z 0-9 _ -")
    if row_id in seen:
        raise RegisterError(f"{path}:{line}: duplicate id {row_id!r} (first on line "
                            f"{seen[row_id]})")
    if not name_zh or not name_en:
        raise RegisterError(f"{path}:{line}: {row_id!r} needs both name_zh and name_en")
    for name in (name_zh, name_en):
        if len(name) > NAME_MAX:
            raise RegisterError(f"{path}:{line}: the name {name[:20]!r}… is longer than "
                                f"{NAME_MAX} characters")
    seen[row_id] = line
    return {"zh": name_zh, "en": name_en}


def _load_units(path: Path, areas: AreaTree) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    seen: dict[str, int] = {}
    for line, (unit_id, name_zh, name_en, area_id, contact) in _rows(path, UNIT_COLUMNS):
        names = _id_and_names(path, line, unit_id, name_zh, name_en, seen)
        if area_id and area_id not in areas:
            raise RegisterError(f"{path}:{line}: unknown area {area_id!r} of unit {unit_id!r}")
        if contact and not _USER_ID.match(contact):
            raise RegisterError(f"{path}:{line}: contact_id {contact!r} must be a Telegram "
                                "user id (digits) or empty")
        units[unit_id] = Unit(unit_id, names, area_id or None, int(contact) if contact else None)
    if not units:
        raise RegisterError(f"{path}:2: no units below the header")
    return units


def _load_points(path: Path, areas: AreaTree, units: dict[str, Unit]) -> dict[str, Point]:
    points: dict[str, Point] = {}
    seen: dict[str, int] = {}
    for line, cells in _rows(path, POINT_COLUMNS):
        point_id, name_zh, name_en, kind, area_id, unit_id, chief, lat, lon = cells
        names = _id_and_names(path, line, point_id, name_zh, name_en, seen)
        if kind not in KINDS:
            raise RegisterError(f"{path}:{line}: kind {kind!r} must be one of "
                                f"{', '.join(KINDS)}")
        if area_id not in areas:
            raise RegisterError(f"{path}:{line}: unknown area {area_id!r} of point "
                                f"{point_id!r}")
        if unit_id not in units:
            raise RegisterError(f"{path}:{line}: unknown unit {unit_id!r} of point "
                                f"{point_id!r} (the units file has no such id)")
        if chief and kind != "road":
            raise RegisterError(f"{path}:{line}: only a road has a road chief ({point_id!r} "
                                f"is a {kind})")
        latitude, longitude = _coordinate(path, line, lat, lon)
        points[point_id] = Point(point_id, names, kind, area_id, unit_id, chief or None,
                                 latitude, longitude)
    if not points:
        raise RegisterError(f"{path}:2: no points below the header")
    return points


def _coordinate(path: Path, line: int, lat: str, lon: str) -> tuple[float | None, float | None]:
    try:
        return read_coordinate(lat, lon)
    except ValueError as exc:
        raise RegisterError(f"{path}:{line}: {exc}") from None
