"""The grid that finds requests near a point: cells of 1/400 degree, as migration 020."""

from __future__ import annotations

import math

CELLS_PER_DEGREE = 400  # a cell is 1/400 degree: about 280 m north-south
ROW = 1_000_000  # a cell is row * ROW + column (|column| < 72,000, far below ROW)
EARTH_RADIUS = 6_371_000.0  # metres


def cell(latitude: float, longitude: float) -> int:
    """The cell of a point (the same number migration 020's SQL gives)."""
    return (math.floor(latitude * CELLS_PER_DEGREE) * ROW
            + math.floor(longitude * CELLS_PER_DEGREE))


def cells_around(latitude: float, longitude: float, metres: float) -> list[int]:
    """Every cell that meets the square of side 2 × `metres` around a point (so every point
    within `metres` of it lies in one of them)."""
    dlat = math.degrees(metres / EARTH_RADIUS)
    # Near the poles a degree of longitude shrinks to nothing: cap the span at the whole circle.
    shrink = max(math.cos(math.radians(latitude)), 1e-6)
    dlon = min(math.degrees(metres / (EARTH_RADIUS * shrink)), 180.0)
    rows = range(math.floor((latitude - dlat) * CELLS_PER_DEGREE),
                 math.floor((latitude + dlat) * CELLS_PER_DEGREE) + 1)
    columns = range(math.floor((longitude - dlon) * CELLS_PER_DEGREE),
                    math.floor((longitude + dlon) * CELLS_PER_DEGREE) + 1)
    return [row * ROW + column for row in rows for column in columns]


def distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points on the Earth (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(h)))
