"""Telegram-style parsing of parse_mode=MarkdownV2 into visible text and entities."""

# A faithful-enough subset: the escaping rules (the usual source of "can't parse entities"),
# bold/italic/underline/strikethrough/spoiler, inline code, pre blocks, links, custom emoji and
# line blockquotes. Legacy "Markdown" is accepted without validation.

from __future__ import annotations

from typing import Any

from .html import utf16_len
from .spec import ApiError, bad_request

RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough",
            "||": "spoiler"}
_NAMES = {"bold": "Bold", "italic": "Italic", "underline": "Underline",
          "strikethrough": "Strikethrough", "spoiler": "Spoiler", "text_link": "TextUrl",
          "custom_emoji": "CustomEmoji"}


def _error(src: str, pos: int, what: str) -> ApiError:
    offset = len(src[:pos].encode("utf-8"))
    return bad_request(f"can't parse entities: {what} at byte offset {offset}")


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (visible text, entities) or raise a 400 "can't parse entities" ApiError."""
    out: list[str] = []
    olen = 0
    stack: list[tuple[str, int, int]] = []  # marker, visible start, source position
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    quote_start: int | None = None

    def emit(text: str) -> None:
        nonlocal olen
        out.append(text)
        olen += utf16_len(text)

    while i < n:
        c = src[i]
        at_line_start = i == 0 or src[i - 1] == "\n"
        if c == "\\":
            if i + 1 < n and 1 <= ord(src[i + 1]) <= 126:
                emit(src[i + 1])
                i += 2
                continue
            raise _error(src, i, "character '\\' must be followed by an escaped character")
        if c == "\n" and quote_start is not None and not src.startswith(">", i + 1):
            entities.append({"type": "blockquote", "offset": quote_start,
                             "length": olen - quote_start})
            quote_start = None
        if c == ">" and at_line_start:
            if quote_start is None:
                quote_start = olen
            i += 1
            continue
        if c == "`":
            fence = "```" if src.startswith("```", i) else "`"
            end, body = _scan_code(src, i + len(fence), fence)
            if end < 0:
                kind = "Pre" if fence == "```" else "Code"
                raise _error(src, i, f"can't find end of {kind} entity")
            entity: dict[str, Any] = {"type": "pre" if fence == "```" else "code"}
            if fence == "```" and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    entity["language"], body = first, rest
            start = olen
            emit(body)
            if olen > start:
                entities.append({**entity, "offset": start, "length": olen - start})
            i = end + len(fence)
            continue
        if c == "!" and src.startswith("![", i):
            stack.append(("![", olen, i))
            i += 2
            continue
        if c == "[":
            stack.append(("[", olen, i))
            i += 1
            continue
        if c == "]":
            if not stack or stack[-1][0] not in ("[", "!["):
                raise _error(src, i, "character ']' is reserved and must be escaped with the "
                             "preceding '\\'")
            marker, start, _ = stack.pop()
            if not src.startswith("(", i + 1):
                raise _error(src, i, "can't find end of a URL")
            end, url = _scan_code(src, i + 2, ")")
            if end < 0:
                raise _error(src, i, "can't find end of a URL")
            if olen > start:
                if marker == "![":
                    entities.append({"type": "custom_emoji", "offset": start,
                                     "length": olen - start,
                                     "custom_emoji_id": url.rpartition("id=")[2]})
                else:
                    entities.append({"type": "text_link", "offset": start,
                                     "length": olen - start, "url": url})
            i = end + 1
            continue
        token = src[i:i + 2] if src[i:i + 2] in ("__", "||") else c
        if token in _MARKERS:
            if stack and stack[-1][0] == token:
                _, start, _ = stack.pop()
                if olen > start:
                    entities.append({"type": _MARKERS[token], "offset": start,
                                     "length": olen - start})
            else:
                stack.append((token, olen, i))
            i += len(token)
            continue
        if c in RESERVED:
            raise _error(src, i, f"character '{c}' is reserved and must be escaped with the "
                         "preceding '\\'")
        emit(c)
        i += 1
    if quote_start is not None and olen > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start,
                         "length": olen - quote_start})
    if stack:
        marker, _, pos = stack[-1]
        kind = {"[": "TextUrl", "![": "CustomEmoji"}.get(marker) or _NAMES[_MARKERS[marker]]
        raise _error(src, pos, f"can't find end of {kind} entity")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _scan_code(src: str, i: int, closer: str) -> tuple[int, str]:
    """Scan code/pre/URL content where only the closer and '\\' need escaping."""
    body: list[str] = []
    n = len(src)
    while i < n:
        if src[i] == "\\" and i + 1 < n:
            body.append(src[i + 1])
            i += 2
            continue
        if src.startswith(closer, i):
            return i, "".join(body)
        body.append(src[i])
        i += 1
    return -1, ""
