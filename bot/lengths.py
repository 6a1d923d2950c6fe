"""How long a text is as Telegram counts it.

Below the kernel, beside bot.areas: the config checks the lengths in the files it reads
(the monthly themes) before any of the kernel exists, and bot.ui shares this one function.
Imports: the standard library only.
"""

from __future__ import annotations


def units(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units (an emoji, or a rare CJK
    character outside the basic plane such as 𠀀, counts 2)."""
    return len(text.encode("utf-16-le")) // 2
