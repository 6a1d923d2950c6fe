"""Write bot/requests/words.txt: the category suggestion's word list, the 60,000 most frequent
words of jieba's own dictionary (MIT licence, like jieba).

    .venv/bin/python tools/make_suggest_words.py

jieba's full dictionary (349,046 words) costs the bot 73 MB and a second to load; these
60,000 cost 7 MB and 0.15 s and give the same accuracy on every part of the labelled set
(docs/decisions.md). jieba reads `word frequency` lines and allows no comment, so the file
says nothing of where it comes from: this script and the decisions do.
"""

from __future__ import annotations

import heapq
from pathlib import Path

import jieba

KEEP = 60_000
OUT = Path(__file__).resolve().parent.parent / "bot" / "requests" / "words.txt"


def main() -> None:
    source = Path(jieba.__file__).parent / "dict.txt"
    lines = source.read_text("utf-8").splitlines()
    # The most frequent KEEP, ties broken by the order of the file; written in that order.
    kept = set(heapq.nlargest(KEEP, range(len(lines)),
                              key=lambda i: (int(lines[i].split()[1]), -i)))
    words = [" ".join(lines[i].split()[:2]) for i in range(len(lines)) if i in kept]
    OUT.write_text("\n".join(words) + "\n", "utf-8")
    print(f"{len(words)} of {len(lines)} words -> {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
