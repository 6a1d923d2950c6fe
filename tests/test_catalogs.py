"""The zh and en catalogs are complete, consistent, and valid Telegram HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import LANGUAGES
from bot.i18n import Catalogs, Raw, placeholders
from sandbox.html import parse_html

CATALOGS = Catalogs.load("en")
ROOT = Path(__file__).resolve().parent.parent


def test_both_catalogs_have_the_same_keys() -> None:
    """Every message exists in Chinese and in English."""
    assert CATALOGS.keys("zh") == CATALOGS.keys("en")
    assert len(CATALOGS.keys("en")) > 100


@pytest.mark.parametrize("key", sorted(CATALOGS.keys("en")))
def test_each_message_has_the_same_placeholders_in_both_languages(key: str) -> None:
    """A translation never drops or invents a value the code fills in."""
    assert placeholders(CATALOGS.raw("zh", key)) == placeholders(CATALOGS.raw("en", key))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_valid_telegram_html_even_with_hostile_values(language: str) -> None:
    """Filled with markup-breaking user text, every message still parses as Telegram HTML."""
    hostile = "<b>&amp; </i> & < > \" '"
    for key in CATALOGS.keys(language):
        values = {name: hostile for name in placeholders(CATALOGS.raw(language, key))}
        text = CATALOGS(language, key, **values)
        visible, _ = parse_html(text)  # raises ApiError like Telegram's "can't parse entities"
        if values:
            assert hostile in visible, key


def test_raw_values_are_not_escaped_twice() -> None:
    """Markup the code built itself passes through unchanged."""
    text = CATALOGS("en", "card.where", where=Raw("<i>near</i>"))
    assert "<i>near</i>" in text


def test_language_choice_prefers_the_users_choice_then_telegram_then_default() -> None:
    """A user's /lang wins; else Telegram's language code; else the default."""
    assert CATALOGS.language_for("zh", "en-US") == "zh"
    assert CATALOGS.language_for(None, "zh-hans") == "zh"
    assert CATALOGS.language_for(None, "fr") == "en"
    assert CATALOGS.language_for("xx", None) == "en"


def test_no_user_visible_text_is_written_outside_the_catalogs() -> None:
    """Product code sends words only through the catalogs (no literal text= or answer text)."""
    offenders = []
    pattern = re.compile(r"""(text|caption)\s*=\s*f?["'][^"']*[A-Za-z\u4e00-\u9fff]{3}""")
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
