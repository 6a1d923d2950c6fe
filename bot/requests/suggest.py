"""The likely categories of a description, from the keywords of each category.

Chinese text is cut into words by jieba, with words.txt for its dictionary: the 60,000 most
frequent words of jieba's own (tools/make_suggest_words.py), loaded once per process. A keyword
of two or more characters is found anywhere in the text, also inside a longer word (路灯 in 路灯杆,
降压 in 降压药); a one-character keyword only when jieba cuts it out as a word of its own, so 灯
is found in 楼道的灯坏了 but not in 灯笼, nor 药 in 药店门口. English keywords match whole words
by their start (leak: leaks, leaking; under 4 letters only as themselves). A category scores the
number of its keywords found; a tie goes to the category whose words are rarer in jieba's
dictionary (剃头 says more than 老人), then to the config's order. Nothing is chosen for the
citizen: the form only puts these first. Traditional characters are read as simplified
(OpenCC's t2s), so 路燈壞了 finds 路灯. docs/decisions.md has the measured accuracy.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Category

log = logging.getLogger(__name__)

_lock = threading.Lock()  # the warm-up thread and the event loop may both ask first
_tokenizer: Any = None  # jieba.Tokenizer, imported with it on first use
_warming: threading.Thread | None = None
_simplifier: Any = None  # opencc.OpenCC, made on first use (5 ms)
_simplifier_lock = threading.Lock()
_CJK_FROM = 0x2E80  # below: no Chinese character, nothing for OpenCC to convert
_ENGLISH = re.compile(r"[a-z]")
# jieba's full dictionary weighs 73 MB and loads in a second; these 60,000 words weigh 7 MB,
# load in 0.15 s and suggest the same (docs/decisions.md).
WORDS = Path(__file__).resolve().parent / "words.txt"
_PREFIX_FROM = 4  # an English keyword this long or longer also matches longer words


def tokenizer() -> Any:
    """jieba's tokenizer on words.txt, loaded on first use (the bot warms it up in a thread
    once serving, see warm_up). jieba itself is imported here too: a district without
    keywords never loads it."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba
            # jieba tells its progress on stderr at DEBUG; the bot's log says it once.
            jieba.setLogLevel(logging.WARNING)
            loading = jieba.Tokenizer(dictionary=str(WORDS))
            loading.initialize()
            _tokenizer = loading
        return _tokenizer


def warm_up() -> float:
    """Load the dictionary now (a thread at start-up), returning the seconds it took."""
    started = time.perf_counter()
    tokenizer()
    took = time.perf_counter() - started
    log.info("category suggestion: word dictionary ready in %.2f s", took)
    return took


def warm_up_in_background(categories: tuple[Category, ...], *,
                          publishing_streets: bool = False) -> None:
    """At start-up, when some category has Chinese keywords or Open311 publishes streets
    (bot/web/open311.py cuts long street names with it): load the dictionary in a thread of
    its own (once per process), so neither the first citizen who describes nor the first
    listing waits for it, holding the event loop."""
    global _warming
    if _warming is None and (publishing_streets or any(
            not is_english(w) for c in categories for w in c.keywords)):
        _warming = threading.Thread(target=warm_up, name="jieba-warm-up", daemon=True)
        _warming.start()


def simplified() -> Any:
    """OpenCC's converter from traditional to simplified characters, made on first use."""
    global _simplifier
    with _simplifier_lock:  # not jieba's: its warm-up must not hold the event loop here
        if _simplifier is None:
            import opencc
            _simplifier = opencc.OpenCC("t2s.json")
        return _simplifier


def normal(text: str) -> str:
    """The form compared: NFKC (全角 letters and digits made plain), lower case, and in
    simplified characters (路燈壞了 is 路灯坏了: keywords are written in simplified, and some
    citizens write traditional, from Hong Kong, Taiwan or habit)."""
    plain = unicodedata.normalize("NFKC", text).lower()
    if any(ord(char) >= _CJK_FROM for char in plain):
        plain = simplified().convert(plain)
    return plain


def is_english(word: str) -> bool:
    """An English keyword: ASCII letters, digits and spaces (else it is cut as Chinese)."""
    return word.isascii()


def english_pattern(word: str) -> re.Pattern[str]:
    """An English keyword as a whole word (or words) by its start: leak finds leaking."""
    body = r"\s+".join(re.escape(part) for part in word.split())
    end = "" if len(word) >= _PREFIX_FROM else r"(?![a-z])"
    return re.compile(rf"(?<![a-z]){body}{end}")


def rarity(word: str) -> float:
    """How rare a word is in jieba's dictionary (its inverse frequency, log scale); a word
    it does not have counts as the rarest."""
    tk = tokenizer()
    return math.log(tk.total / max(tk.FREQ.get(word) or 1, 1))


@dataclass(frozen=True)
class _Keyword:
    """One keyword ready to match, with its category and weight."""

    word: str
    index: int  # of its category in the config's order
    rarity: float
    english: re.Pattern[str] | None  # None: a Chinese keyword


_compiled: tuple[tuple[Category, ...], tuple[_Keyword, ...]] | None = None


def _keywords(categories: tuple[Category, ...]) -> tuple[_Keyword, ...]:
    """The keywords of these categories, compiled once per config (a /reload gives a new
    tuple of categories, so a new set)."""
    global _compiled
    if _compiled is not None and _compiled[0] is categories:
        return _compiled[1]
    # jieba's dictionary is a Chinese one: an English keyword weighs by its words (a rare
    # Chinese word weighs about 10), so "gas smell" says more than "smell".
    keywords = tuple(
        _Keyword(word, index, 10.0 * len(word.split()) if is_english(word) else rarity(word),
                 english_pattern(word) if is_english(word) else None)
        for index, category in enumerate(categories) for word in category.keywords)
    _compiled = (categories, keywords)
    return keywords


Found = Callable[[str, str, set[str]], bool]


def in_text(word: str, plain: str, cut: set[str]) -> bool:
    """The rule for a Chinese keyword: a word of its own if one character, else anywhere."""
    return word in cut if len(word) == 1 else word in plain


def words(text: str) -> set[str]:
    """The words of a text as jieba cuts it (no guessing at words its dictionary lacks), with
    the dictionary words inside the long ones (search mode)."""
    return {w for w in tokenizer().lcut_for_search(normal(text), HMM=False) if w.strip()}


def rank(categories: tuple[Category, ...], text: str, found: Found = in_text) -> list[str]:
    """The codes of the categories whose keywords the text has, the likeliest first."""
    keywords = _keywords(categories)
    if not keywords:
        return []  # a config without keywords: no dictionary to load, nothing to suggest
    plain = normal(text)
    cut = words(text) if any(k.english is None for k in keywords) else set()
    english = bool(_ENGLISH.search(plain))
    count = [0] * len(categories)
    weight = [0.0] * len(categories)
    for keyword in keywords:
        if keyword.english is not None:
            hit = english and keyword.english.search(plain) is not None
        else:
            hit = found(keyword.word, plain, cut)
        if hit:
            count[keyword.index] += 1
            weight[keyword.index] += keyword.rarity
    likely = [i for i in range(len(categories)) if count[i]]
    likely.sort(key=lambda i: (-count[i], -weight[i]))  # stable: then the config's order
    return [categories[i].code for i in likely]


def has_words(text: str) -> bool:
    """Whether a text says anything: a letter or a digit, not only emoji (👍, 🙏) and marks."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def named(categories: Sequence[Category], text: str) -> Category | None:
    """The category whose name (in any language) the text is, give or take spaces, case and
    a full stop: a button's label typed instead of tapped."""
    said = " ".join(normal(text).strip().rstrip("。.!！").split())
    for category in categories:
        if any(" ".join(normal(name).split()) == said for name in category.names.values()):
            return category
    return None


def order(categories: Sequence[Category], likely: Sequence[str]) -> list[Category]:
    """The categories with the likely ones first (in their order), then the rest as listed."""
    first = [c for code in likely for c in categories if c.code == code]
    return first + [c for c in categories if c.code not in likely]
