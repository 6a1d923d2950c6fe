"""The district's shape: centre → institutes → stations, loaded from one CSV file."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ("id", "parent_id", "name_zh", "name_en", "lat", "lon")
_ID_SHAPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
EARTH_RADIUS_KM = 6371.0
MAX_CHILDREN = 90  # the citizen picks among them on one inline keyboard (100 buttons at most)


class AreaError(ValueError):
    """The area file is wrong; the message names the file, the line and the problem."""


@dataclass
class Area:
    """One node of the tree, with its names and optional coordinate."""

    id: str
    parent_id: str | None
    names: dict[str, str]
    latitude: float | None = None
    longitude: float | None = None
    children: list[str] = field(default_factory=list)
    depth: int = 0

    def name(self, language: str) -> str:
        """Return the area's name in `language`."""
        return self.names.get(language) or next(iter(self.names.values()))


class AreaTree:
    """All areas by id, with the walks routing and statistics need."""

    def __init__(self, areas: dict[str, Area], root: str) -> None:
        self.areas = areas
        self.root = root

    def __contains__(self, area_id: object) -> bool:
        return area_id in self.areas

    def __len__(self) -> int:
        return len(self.areas)

    def get(self, area_id: str) -> Area:
        """Return an area by id (KeyError if unknown)."""
        return self.areas[area_id]

    def children(self, area_id: str) -> list[Area]:
        """Return the areas directly under `area_id`, in file order."""
        return [self.areas[c] for c in self.areas[area_id].children]

    def ancestry(self, area_id: str) -> list[str]:
        """Return `area_id` and every area above it, nearest first, ending at the root."""
        chain = []
        current: str | None = area_id
        while current is not None:
            chain.append(current)
            current = self.areas[current].parent_id
        return chain

    def subtree(self, area_id: str) -> list[str]:
        """Return `area_id` and every area below it."""
        found, stack = [], [area_id]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.areas[current].children)
        return found

    def leaves(self) -> list[Area]:
        """Return the stations (areas without children)."""
        return [a for a in self.areas.values() if not a.children]

    def nearest(self, latitude: float, longitude: float, count: int) -> list[Area]:
        """Return the `count` stations nearest to a point (great-circle distance)."""
        placed = [a for a in self.leaves() if a.latitude is not None and a.longitude is not None]
        placed.sort(key=lambda a: distance_km(latitude, longitude, a.latitude or 0.0,
                                              a.longitude or 0.0))
        return placed[:count]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, by the haversine formula."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def load_areas(path: Path) -> AreaTree:
    """Read and check an area CSV (id, parent_id, name_zh, name_en, lat, lon)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AreaError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise AreaError(f"{path}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    # Each row with the file line it starts on (a quoted name may span lines).
    rows: list[tuple[int, list[str]]] = []
    start = 1
    for row in reader:
        rows.append((start, row))
        start = reader.line_num + 1
    if not rows or tuple(c.strip() for c in rows[0][1]) != COLUMNS:
        raise AreaError(f"{path}:1: the header must be {','.join(COLUMNS)}")
    areas: dict[str, Area] = {}
    lines: dict[str, int] = {}
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            raise AreaError(f"{path}:{line}: expected {len(COLUMNS)} columns, got {len(row)}")
        area_id, parent, name_zh, name_en, lat, lon = (cell.strip() for cell in row)
        if not _ID_SHAPE.match(area_id):
            raise AreaError(f"{path}:{line}: id {area_id!r} must be 1-32 of a-z 0-9 _ -")
        if area_id in areas:
            raise AreaError(f"{path}:{line}: duplicate id {area_id!r} (first on line "
                            f"{lines[area_id]})")
        if not name_zh or not name_en:
            raise AreaError(f"{path}:{line}: {area_id!r} needs both name_zh and name_en")
        latitude, longitude = _coordinate(path, line, lat, lon)
        areas[area_id] = Area(area_id, parent or None, {"zh": name_zh, "en": name_en},
                              latitude, longitude)
        lines[area_id] = line
    if not areas:
        raise AreaError(f"{path}:2: no areas below the header")
    roots = [a.id for a in areas.values() if a.parent_id is None]
    if len(roots) != 1:
        line = lines[roots[1]] if len(roots) > 1 else 2
        raise AreaError(f"{path}:{line}: there must be exactly one area without a parent (the "
                        f"centre); found {len(roots)}: {', '.join(roots) or 'none'}")
    for area in areas.values():
        if area.parent_id is not None:
            if area.parent_id not in areas:
                raise AreaError(f"{path}:{lines[area.id]}: unknown parent "
                                f"{area.parent_id!r} of {area.id!r}")
            siblings = areas[area.parent_id].children
            siblings.append(area.id)
            if len(siblings) > MAX_CHILDREN:
                raise AreaError(f"{path}:{lines[area.id]}: {area.parent_id!r} has more than "
                                f"{MAX_CHILDREN} areas under it (one screen of buttons); "
                                f"group them under another level")
    _check_acyclic(path, areas, lines, roots[0])
    return AreaTree(areas, roots[0])


def read_coordinate(lat: str, lon: str) -> tuple[float | None, float | None]:
    """A map point from two CSV cells (both empty: none); ValueError saying what is wrong
    (the area file and the supervision registers add their file and line)."""
    if not lat and not lon:
        return None, None
    try:
        latitude, longitude = float(lat), float(lon)
    except ValueError:
        raise ValueError(f"lat and lon must both be numbers or both empty "
                         f"(got {lat!r}, {lon!r})") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError(f"coordinate {latitude}, {longitude} is out of range")
    return latitude, longitude


def _coordinate(path: Path, line: int, lat: str, lon: str) -> tuple[float | None, float | None]:
    try:
        return read_coordinate(lat, lon)
    except ValueError as exc:
        raise AreaError(f"{path}:{line}: {exc}") from None


def _check_acyclic(path: Path, areas: dict[str, Area], lines: dict[str, int], root: str) -> None:
    """Every area must hang from the root; what does not is part of a cycle."""
    reached, stack = set(), [(root, 0)]
    while stack:
        current, depth = stack.pop()
        reached.add(current)
        areas[current].depth = depth
        stack.extend((child, depth + 1) for child in areas[current].children)
    stranded = sorted((lines[a], a) for a in areas if a not in reached)
    if stranded:
        line, area_id = stranded[0]
        raise AreaError(f"{path}:{line}: {area_id!r} is part of a cycle of parents")
