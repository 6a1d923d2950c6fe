"""How often the category suggestion is right, on the labelled descriptions in tests/data.

    .venv/bin/python tools/suggest_accuracy.py [--misses tune|held|all] [--config FILE]

Prints top-1 and top-3 accuracy (the right category first, or among the first three) on the
whole set, the tuning half, the held-out half and the late rows (mixed Chinese and English,
written after the keywords, never tuned on), with the keywords of config.example.toml;
then the same with two other rules for finding a Chinese keyword, for comparison: anywhere
(one character too), and only as one of jieba's words.
--misses lists the descriptions of that part whose category was not first. Tune keywords on
the tuning half only: the held-out half is the honest figure.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from bot.config import Category, categories_in
from bot.requests import suggest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "category_descriptions.csv"


def labelled(path: Path = DATA) -> list[tuple[str, str, str]]:
    """(text, expected code, half) for each labelled description."""
    with path.open(encoding="utf-8", newline="") as file:
        return [(row["text"], row["category"], row["half"]) for row in csv.DictReader(file)]


def accuracy(categories: tuple[Category, ...], rows: list[tuple[str, str, str]],
             found: suggest.Found = suggest.in_text) -> tuple[float, float]:
    """Top-1 and top-3 accuracy on the rows, with a rule for finding a Chinese keyword."""
    top1 = top3 = 0
    for text, expected, _ in rows:
        ranked = suggest.rank(categories, text, found)
        top1 += ranked[:1] == [expected]
        top3 += expected in ranked[:3]
    return top1 / len(rows), top3 / len(rows)


def by_substring(word: str, plain: str, cut: set[str]) -> bool:
    """For comparison: every Chinese keyword found anywhere, one character too."""
    return word in plain


def by_word(word: str, plain: str, cut: set[str]) -> bool:
    """For comparison: every Chinese keyword only as one of jieba's words."""
    return word in cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", choices=("tune", "held", "late", "all"))
    parser.add_argument("--config", type=Path, default=ROOT / "config.example.toml")
    args = parser.parse_args()
    categories = categories_in(args.config)
    rows = labelled()
    print(f"dictionary loaded in {suggest.warm_up():.2f} s")
    halves = {"all": rows, **{half: [r for r in rows if r[2] == half]
                              for half in ("tune", "held", "late")}}
    rules = (("as shipped", suggest.in_text), ("substrings", by_substring),
             ("jieba words", by_word))
    for name, rule in rules:
        for half, part in halves.items():
            top1, top3 = accuracy(categories, part, rule)
            print(f"{name:12} {half:5} n={len(part):3}  top-1 {top1:6.1%}  top-3 {top3:6.1%}")
    started = time.perf_counter()
    for text, _, _ in rows:
        suggest.rank(categories, text)
    each = (time.perf_counter() - started) / len(rows)
    print(f"per suggestion: {each * 1000:.3f} ms")
    if args.misses:
        for text, expected, half in halves[args.misses]:
            ranked = suggest.rank(categories, text)
            if ranked[:1] != [expected]:
                print(f"{half:4} want {expected:15} got {','.join(ranked[:3]) or '-':35} {text}")


if __name__ == "__main__":
    main()
