"""Telegram-style parsing of parse_mode=HTML text into visible text and entities."""

from __future__ import annotations

import re
from typing import Any

from .spec import ApiError, bad_request

_TAG_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{1,8}));")
_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(
    r"\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?"
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _error(src: str, pos: int, what: str) -> ApiError:
    offset = len(src[:pos].encode("utf-8"))
    return bad_request(f"can't parse entities: {what} at byte offset {offset}")


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (visible text, entities) or raise a 400 "can't parse entities" ApiError."""
    out: list[str] = []
    out_len = 0  # UTF-16 length of the visible text so far
    stack: list[tuple[str, int, dict[str, Any], int]] = []  # tag, start, entity, source pos
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "&":
            m = _ENTITY_RE.match(src, i)
            decoded: str | None = None
            if m and m.group(3):
                decoded = _NAMED.get(m.group(3).lower())
            elif m:
                code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
                decoded = chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000 \
                    else None
            if decoded is None or m is None:
                raise _error(src, i, "character '&' must be escaped as &amp;")
            out.append(decoded)
            out_len += utf16_len(decoded)
            i = m.end()
        elif ch == "<":
            if src.startswith("</", i):
                m = _NAME_RE.match(src, i + 2)
                close = src.find(">", i)
                if not m or close < 0 or src[m.end():close].strip():
                    raise _error(src, i, "unclosed end tag")
                tag = m.group(0).lower()
                if not stack:
                    raise _error(src, i, f'unexpected end tag "{tag}"')
                open_tag, start, entity, _ = stack.pop()
                if open_tag != tag:
                    raise _error(src, i, f'unmatched end tag, expected "</{open_tag}>", '
                                 f'found "</{tag}>"')
                if out_len > start and not entity.pop("_drop", False):
                    entity["offset"], entity["length"] = start, out_len - start
                    entities.append(entity)
                i = close + 1
            else:
                m = _NAME_RE.match(src, i + 1)
                if not m:
                    raise _error(src, i, "character '<' must be escaped as &lt;")
                tag = m.group(0).lower()
                if tag not in _TAG_ENTITY:
                    raise _error(src, i, f'unsupported start tag "{tag}"')
                close = src.find(">", m.end())
                if close < 0:
                    raise _error(src, i, f'unclosed start tag "{tag}"')
                attrs = _parse_attrs(src[m.end():close].rstrip("/"))
                if attrs is None:
                    raise _error(src, i, f'invalid attributes in start tag "{tag}"')
                entity = _entity_for(tag, attrs, stack, src, i)
                stack.append((tag, out_len, entity, i))
                i = close + 1
        else:
            # Copy a run of plain text at once.
            j = i + 1
            while j < n and src[j] not in "<&":
                j += 1
            # A bare '>' is tolerated by Telegram and stays as text.
            chunk = src[i:j]
            out.append(chunk)
            out_len += utf16_len(chunk)
            i = j
    if stack:
        tag, _, _, pos = stack[-1]
        raise _error(src, pos, f'can\'t find end tag corresponding to start tag "{tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_attrs(text: str) -> dict[str, str] | None:
    attrs: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _ATTR_RE.match(text, pos)
        if not m or m.end() == pos:
            return None
        value = next((g for g in m.groups()[1:] if g is not None), "")
        attrs[m.group(1).lower()] = _unescape_attr(value)
        pos = m.end()
    return attrs


def _unescape_attr(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(3):
            return _NAMED.get(m.group(3).lower(), m.group(0))
        return chr(int(m.group(1)) if m.group(1) else int(m.group(2), 16))

    return _ENTITY_RE.sub(repl, value)


def _entity_for(
    tag: str, attrs: dict[str, str], stack: list[tuple[str, int, dict[str, Any], int]],
    src: str, pos: int,
) -> dict[str, Any]:
    kind = _TAG_ENTITY[tag]
    entity: dict[str, Any] = {"type": kind}
    if any(t in ("code", "pre") for t, *_ in stack) and not (tag == "code" and stack[-1][0] ==
                                                            "pre"):
        # Entities can't be nested in code/pre; Telegram drops them rather than failing.
        entity["_drop"] = True
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise _error(src, pos, 'tag "span" must have class "tg-spoiler"')
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            raise _error(src, pos, 'tag "a" must have attribute "href"')
        entity["url"] = href
    if tag == "tg-emoji":
        if not attrs.get("emoji-id"):
            raise _error(src, pos, 'tag "tg-emoji" must have attribute "emoji-id"')
        entity["custom_emoji_id"] = attrs["emoji-id"]
    if tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    if tag == "code" and stack and stack[-1][0] == "pre":
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1][2]["language"] = lang[len("language-"):]
        entity["_drop"] = True  # <pre><code> is one pre entity
    return entity
