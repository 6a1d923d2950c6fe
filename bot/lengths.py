"""How long a text is as Telegram counts it, and whether anything in it shows.

Below the kernel, beside bot.areas: the config checks the lengths in the files it reads
(the monthly themes) before any of the kernel exists, and bot.ui shares this one function.
Imports: the standard library only.
"""

from __future__ import annotations

import unicodedata

# Letters that draw nothing, sent to make a "blank" message: the Hangul fillers and the blank
# Braille pattern (categories Lo and So, so the Z and C test alone misses them).
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def visible(text: str) -> str:
    """The text without the spaces and invisible marks around it; "" when nothing in it
    shows (a zero-width space, a direction mark or a Hangul filler alone is no answer)."""
    stripped = text.strip()
    if not any(unicodedata.category(char)[0] not in "ZC" and char not in BLANK_LETTERS
               for char in stripped):
        return ""
    return stripped


def units(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units (an emoji, or a rare CJK
    character outside the basic plane such as 𠀀, counts 2)."""
    return len(text.encode("utf-16-le")) // 2
