"""A pytest plugin for mutation runs (tools/mutate.py loads it): the fastest tests first.

mutmut runs the tests that cover a mutated function with -x, in no particular order; a
mutant that a unit test kills in milliseconds may otherwise wait behind a minute of end-to-end
stories. The durations are the ones mutmut measured (mutants/mutmut-stats.json, read from
mutants/, where mutmut runs pytest); a test it has not measured yet goes first.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def durations() -> dict[str, float]:
    try:
        data = json.loads(Path("mutmut-stats.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.get("duration_by_test", {}).items()}


def pytest_collection_modifyitems(items: list[Any]) -> None:
    known = durations()
    items.sort(key=lambda item: known.get(item.nodeid, 0.0))
