"""Texts cut to Telegram's limits (bot/ui.py), counted as Telegram counts them: UTF-16 units
of what it shows. What goes past a limit is refused by Telegram whole, so every cut must land
at or under it; and a cut says so with "…", once, after the last word kept."""

from __future__ import annotations

from bot import ui
from sandbox.html import parse_html


def shown(html: str) -> str:
    """What Telegram shows of an HTML text (the sandbox's parser; it raises on broken HTML)."""
    return parse_html(html)[0]


def test_a_plain_cut_keeps_one_unit_for_its_mark_and_drops_the_trailing_space() -> None:
    """Twenty letters cut to ten are nine and "…"; a cut just after a space does not leave
    the space before the "…"."""
    assert ui.clip("x" * 20, 10) == "x" * 9 + "…"
    assert ui.clip("x" * 10, 10) == "x" * 10
    assert ui.clip("abcdefgh   ijklmnop", 12) == "abcdefgh…"


def test_emoji_that_fit_by_characters_but_not_by_units_are_cut() -> None:
    """Eight tap emoji are 8 characters but 16 units: over a limit of 10 they are cut, in HTML
    as in plain text, never through an emoji."""
    assert ui.clip("🚰" * 8, 10) == "🚰" * 4 + "…"
    cut = ui.clip_html("🚰" * 8, 10)
    assert cut == "🚰" * 4 + "…" and ui.units(shown(cut)) <= 10
    assert ui.clip_html("<b>" + "𠀀" * 8 + "</b>", 10) == "<b>" + "𠀀" * 4 + "…</b>"


def test_an_html_cut_drops_the_trailing_space_and_counts_hex_entities_as_characters() -> None:
    """A cut after a space leaves no space before the "…"; an entity written in hex
    (&#x1F600;, an emoji: 2 units) is measured as what it shows."""
    assert ui.clip_html("<b>abcdefgh   ijklmnop</b>", 12) == "<b>abcdefgh…</b>"
    cut = ui.clip_html("&#x1F600;" * 10 + "&#x41;" * 3, 9)
    assert cut == "&#x1F600;" * 4 + "…" and ui.units(shown(cut)) == 9
    assert ui.clip_html("&#x41;" * 12, 10) == "&#x41;" * 9 + "…"


def test_a_message_or_caption_of_emoji_is_cut_to_what_telegram_takes() -> None:
    """A message of 3,000 emoji (3,000 characters, 6,000 units) and a caption of 600 (1,200
    units) are cut to 4,096 and 1,024 units: Telegram refuses anything longer."""
    text = ui.message(1, "😀" * 3000).payload["text"]
    assert ui.units(shown(text)) <= ui.TEXT_MAX and text.endswith("…")
    caption = ui.photo(1, "file", "😀" * 600).payload["caption"]
    assert ui.units(shown(caption)) <= ui.CAPTION_MAX and caption.endswith("…")
    whole = "说" * 4096  # as many units as characters: exactly the limit, sent whole
    assert ui.message(1, whole).payload["text"] == whole


def test_lines_are_joined_into_as_few_messages_as_fit() -> None:
    """Lines of 10 units each, with the newline between them, under a limit of 32: three fit
    one message (32 units exactly), the fourth starts the next."""
    lines = ["x" * 10] * 4
    assert ui.chunks(lines, limit=32) == ["\n".join(["x" * 10] * 3), "x" * 10]
    assert ui.chunks(lines, limit=31) == ["\n".join(["x" * 10] * 2)] * 2


def test_a_line_too_long_for_a_part_is_cut_as_html_and_still_parses() -> None:
    """A list line longer than a whole part (a name of ampersands, in bold) is cut where
    Telegram counts, never inside "&amp;" or before its closing tag: the part still parses."""
    line = "<b>" + "&amp;" * 50 + "</b>"
    (part,) = ui.chunks([line], limit=20)
    assert shown(part) == "&" * 19 + "…"


def test_every_caption_a_payload_carries_is_cut_to_what_telegram_takes() -> None:
    """An album's caption, each photo's caption in a captioned album, and a document's or an
    uploaded file's caption: 600 emoji (1,200 units) are cut to 1,024 units each."""
    long = "😀" * 600
    payloads = [ui.album(1, ["a", "b"], long).payload["media"][0],
                *ui.captioned_album(1, [("a", long), ("b", long)]).payload["media"],
                ui.document(1, "f.csv", "x", long).payload,
                ui.upload(1, "sendPhoto", "/tmp/x.png", "x.png", long).payload]
    for payload in payloads:
        caption = payload["caption"]
        assert ui.units(shown(caption)) <= ui.CAPTION_MAX and caption.endswith("…"), payload
