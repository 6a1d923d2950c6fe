"""Mutation testing of civicloop's core (`make mutate`, issue 19; see docs/decisions.md).

mutmut (configured in pyproject.toml's [tool.mutmut]) mutates the core modules; this script
names which of their functions count, area by area, runs mutmut on them and prints the
score per area. It reads mutmut's own results in mutants/, so `--score` prints the figures of
the last run without running anything.

    python tools/mutate.py                   # every area, then the score; mutants
                                             # already killed are not run again
    python tools/mutate.py --all             # run them all again
    python tools/mutate.py periods claim     # some areas only
    python tools/mutate.py --score           # the score of what has run
    python tools/mutate.py --survivors       # the mutants that lived, to look at with
                                             # `mutmut show NAME`
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

# Mutant names are module.function__mutmut_N; a method is module.xǁClassǁname (the `?`
# below stands for the ǁ) and a module function module.x_name.
AREAS: dict[str, list[str]] = {
    # Periods named in commands: today, week, 2026-03, ranges.
    "periods": ["bot.reports.periods.*"],
    # Quiet hours, and a due timer deferred to the morning or fired.
    "clock": [
        "bot.schedule.sweep.x_quiet_until__mutmut_*",
        "bot.schedule.sweep.x?Schedule?quiet_until__mutmut_*",
        "bot.schedule.sweep.x?Schedule?to_citizen__mutmut_*",
        "bot.schedule.sweep.x?Schedule?_settle__mutmut_*",
    ],
    # What cards and messages show (and leave out: a phone, an address).
    "render": ["bot.requests.render.*"],
    # Claim, from the button to the guarded UPDATE, and the dispatch it follows.
    "claim": [
        "bot.requests.loop.x?RequestLoop?may_claim__mutmut_*",
        "bot.requests.loop.x?RequestLoop?claim_token__mutmut_*",
        "bot.requests.loop.x?RequestLoop?claim__mutmut_*",
        "bot.requests.loop.x?RequestLoop?claim_from_link__mutmut_*",
        "bot.requests.loop.x?RequestLoop?claim_in__mutmut_*",
        "bot.requests.loop.x?RequestLoop?_await_claim__mutmut_*",
        "bot.requests.loop.x?RequestLoop?stop_clocks__mutmut_*",
        "storage.repos.requests.x?RequestsRepo?claim__mutmut_*",
    ],
    # The sweep over due timers (every end-to-end story runs it: the slowest area).
    "timers": [
        "bot.schedule.sweep.x?Schedule?sweep__mutmut_*",
        "bot.schedule.sweep.x?Schedule?_fire__mutmut_*",
    ],
    # A stalled request climbing the area tree, and the routing it uses.
    "escalation": [
        "bot.schedule.sweep.x?Schedule?_escalate__mutmut_*",
        "bot.requests.loop.x?RequestLoop?levels__mutmut_*",
        "bot.requests.loop.x?RequestLoop?dispatch_target__mutmut_*",
        "bot.requests.loop.x?RequestLoop?admin_chats__mutmut_*",
        "bot.requests.loop.x?RequestLoop?card_chats__mutmut_*",
        "bot.requests.loop.x?RequestLoop?post_card__mutmut_*",
        "storage.repos.requests.x?RequestsRepo?escalate__mutmut_*",
    ],
    # /stats: the counts, shares and durations, and the queries behind them.
    "stats": ["bot.reports.stats.*", "storage.stats.*"],
}

MUTANTS = Path("mutants")
MUTMUT = Path(sys.executable).with_name("mutmut")
# The tests of a mutant run fastest first (tools/mutmut_fast_first.py): a killed mutant dies
# sooner. Only the order changes, never a verdict.
FAST_FIRST = {**os.environ, "PYTEST_PLUGINS": "tools.mutmut_fast_first"}
DETECTED = {"killed", "timeout", "caught by type check"}


def status_of(exit_code: int | None) -> str:
    """mutmut's name for a mutant's outcome."""
    from mutmut.stats import status_by_exit_code

    return str(status_by_exit_code[exit_code])


def results() -> dict[str, int | None]:
    """Every mutant mutmut has generated, with its exit code (None: not run yet)."""
    found: dict[str, int | None] = {}
    for meta in MUTANTS.rglob("*.py.meta"):
        found.update(json.loads(meta.read_text("utf-8"))["exit_code_by_key"])
    return found


def to_run(areas: list[str], everything: bool = False) -> list[str]:
    """What to ask mutmut for: the areas' patterns on a first run (or with `everything`);
    after that only the mutants not yet killed, by name. (mutmut runs every mutant a pattern
    names again; it keeps a killed mutant's verdict until its function changes, and then
    forgets it: such a mutant is not checked, and so run again here.)"""
    patterns = [pattern for area in areas for pattern in AREAS[area]]
    if everything:
        return patterns
    if stale():
        # A core module changed since its mutants were made: let mutmut make them anew (on
        # the way it runs one cheap mutant), so the names below are the current ones.
        subprocess.run([str(MUTMUT), "run", "bot.reports.periods.x_looks_like_period__mutmut_1"],
                       check=False, stdout=subprocess.DEVNULL, env=FAST_FIRST)
    found = results()
    names = [name for name, code in found.items()
             if any(in_area(name, area) for area in areas) and status_of(code) not in DETECTED]
    if not any(in_area(name, area) for name in found for area in areas):
        return patterns  # nothing generated yet
    # Nothing left to run: one known killed mutant keeps mutmut from running them all.
    return names or [next(name for name in found if any(in_area(name, a) for a in areas))]


def stale() -> bool:
    """Whether a mutated module changed after mutmut last made its mutants."""
    import tomllib

    config = tomllib.loads(Path("pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]
    return any((MUTANTS / path).exists()
               and Path(path).stat().st_mtime > (MUTANTS / path).stat().st_mtime
               for path in config["only_mutate"])


def in_area(name: str, area: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in AREAS[area])


def score(areas: list[str]) -> int:
    """Print mutants total/killed/survived/timeout per area and the score; return 1 if any
    mutant of these areas lived (or was not run), else 0."""
    found = results()
    if not found:
        print("no mutants yet: run `make mutate` first")
        return 1
    print(f"{'area':<12}{'total':>7}{'killed':>8}{'timeout':>9}{'survived':>10}"
          f"{'other':>7}{'score':>8}")
    sums = [0, 0, 0, 0, 0]
    lived = 0
    for area in areas:
        statuses = [status_of(code) for name, code in found.items() if in_area(name, area)]
        killed = sum(s in ("killed", "caught by type check") for s in statuses)
        timeout = statuses.count("timeout")
        survived = statuses.count("survived")
        other = len(statuses) - killed - timeout - survived  # no tests, not checked, …
        row = [len(statuses), killed, timeout, survived, other]
        sums = [a + b for a, b in zip(sums, row, strict=True)]
        lived += survived + other
        print(f"{area:<12}" + "".join(f"{n:>{w}}" for n, w in zip(row, (7, 8, 9, 10, 7),
                                                                   strict=True))
              + f"{_percent(killed + timeout, len(statuses)):>8}")
    print(f"{'all':<12}" + "".join(f"{n:>{w}}" for n, w in zip(sums, (7, 8, 9, 10, 7),
                                                               strict=True))
          + f"{_percent(sums[1] + sums[2], sums[0]):>8}")
    print("score = (killed + timeout) / total; `python tools/mutate.py --survivors` lists "
          "the rest, `mutmut show NAME` shows one")
    return 1 if lived else 0


def survivors(areas: list[str]) -> None:
    for name, code in sorted(results().items()):
        status = status_of(code)
        if status not in DETECTED and any(in_area(name, area) for area in areas):
            print(f"{status:<12} {name}")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("areas", nargs="*", metavar="AREA",
                        help=f"some of: {', '.join(AREAS)} (default: all)")
    parser.add_argument("--score", action="store_true", help="print the score, run nothing")
    parser.add_argument("--survivors", action="store_true", help="list the mutants that lived")
    parser.add_argument("--all", action="store_true",
                        help="run every mutant again, not only those not yet killed")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()
    areas = args.areas or list(AREAS)
    if unknown := [area for area in areas if area not in AREAS]:
        parser.error(f"unknown area {', '.join(unknown)}; the areas are {', '.join(AREAS)}")
    if args.survivors:
        survivors(areas)
        return 0
    if not args.score:
        # mutmut's own exit code says nothing about the score: the table below does.
        subprocess.run([str(MUTMUT), "run", "--max-children", str(args.max_children),
                        *to_run(areas, everything=args.all)], check=False, env=FAST_FIRST)
    score(areas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
