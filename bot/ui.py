"""Keyboards and Bot API payloads as plain dicts, checked against Telegram's limits."""

from __future__ import annotations

import html
import re
from typing import Any

from bot import buttons
from bot.lengths import units  # one length function, shared with the config's checks
from storage import Outgoing

TEXT_MAX = 4096
CAPTION_MAX = 1024

Button = tuple[str, str]  # (label, callback_data)


def inline(rows: list[list[Button]]) -> dict[str, Any]:
    """Build an InlineKeyboardMarkup from rows of (label, callback_data built by bot.buttons).

    A label is plain text (Telegram reads no HTML there), and one made by the catalog has its
    values escaped for HTML: "Water &amp; power" would show as written. It is unescaped, as
    a popup's text is, so a name shows on its button as it does in the message above."""
    return {
        "inline_keyboard": [
            [{"text": html.unescape(label), "callback_data": _registered(data)}
             for label, data in row]
            for row in rows
            if row
        ]
    }


def _registered(data: str) -> str:
    """Refuse callback data that no button kind of bot.buttons would route."""
    if buttons.parse(data) is None:
        raise ValueError(f"callback data of no known button kind: {data!r}")
    return data


def reply_keyboard(rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Build a ReplyKeyboardMarkup with big buttons that hides once used."""
    return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}


REMOVE_KEYBOARD: dict[str, Any] = {"remove_keyboard": True}


def clip(text: str, limit: int) -> str:
    """Shorten text to `limit` UTF-16 units, marking the cut (never inside a character)."""
    if units(text) <= limit:
        return text
    used, end = 0, 0
    for end, char in enumerate(text):  # noqa: B007 - `end` is read after the loop
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit - 1:
            break
    return text[:end].rstrip() + "…"


_HTML_TOKEN = re.compile(r"<[^>]*>|&#?[0-9A-Za-z]{1,8};|[^<&]|[<&]")


def clip_html(text: str, limit: int) -> str:
    """Shorten HTML text to `limit` UTF-16 units of what Telegram shows (tags count nothing,
    an entity such as &amp; one), marking the cut: never inside a tag or an entity, and every
    tag left open at the cut closed again, since Telegram refuses the text otherwise."""
    if units(text) <= limit:
        return text  # the source is never shorter than what it shows
    tokens = [match.group(0) for match in _HTML_TOKEN.finditer(text)]
    if sum(_shown(token) for token in tokens) <= limit:
        return text  # its tags made it long; what it shows fits whole
    shown = 0
    kept: list[str] = []
    open_tags: list[str] = []
    for token in tokens:
        if _is_tag(token):
            words = token[1:-1].strip().split(maxsplit=1)
            name = words[0].lower() if words else ""
            if name.startswith("/"):
                if open_tags and open_tags[-1] == name[1:]:
                    open_tags.pop()
            elif name and not token.endswith("/>"):
                open_tags.append(name)
            kept.append(token)
            continue
        if shown + _shown(token) > limit - 1:  # room for the "…"
            break
        shown += _shown(token)
        kept.append(token)
    body = "".join(kept).rstrip()
    return body + "…" + "".join(f"</{name}>" for name in reversed(open_tags))


def _is_tag(token: str) -> bool:
    return len(token) > 1 and token[0] == "<"


def _shown(token: str) -> int:
    """What an HTML token shows, in UTF-16 units: a tag nothing, an entity one character
    (two beyond the basic plane), a character itself."""
    if _is_tag(token):
        return 0
    if len(token) > 1:  # an entity
        code = token[2:-1] if token.startswith("&#") else ""
        number = (int(code[1:], 16) if code[:1] in "xX" and code[1:] else
                  int(code) if code.isdigit() else 0)
        return 2 if number > 0xFFFF else 1
    return units(token)


def message(
    chat_id: int,
    text: str,
    markup: dict[str, Any] | None = None,
    *,
    purpose: str = "notice",
    request_id: int | None = None,
    card_id: int | None = None,
    not_before: float | None = None,
    post_id: int | None = None,
    problem_post_id: int | None = None,
    honour_post_id: int | None = None,
    thread_id: int | None = None,
) -> Outgoing:
    """A sendMessage call in HTML (cut at Telegram's 4,096 units rather than refused: a
    reply that quotes a long answer back must still arrive); into a forum's topic with
    `thread_id`."""
    payload: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text if len(text) <= TEXT_MAX // 2 else clip_html(text, TEXT_MAX),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if markup is not None:
        payload["reply_markup"] = markup
    if thread_id is not None:
        payload["message_thread_id"] = thread_id
    return Outgoing(chat_id, "sendMessage", payload, purpose=purpose, request_id=request_id,
                    card_id=card_id, not_before=not_before, post_id=post_id,
                    problem_post_id=problem_post_id, honour_post_id=honour_post_id)


def photo(
    chat_id: int,
    file_id: str,
    caption: str,
    markup: dict[str, Any] | None = None,
    *,
    purpose: str = "notice",
    request_id: int | None = None,
    card_id: int | None = None,
    post_id: int | None = None,
    thread_id: int | None = None,
) -> Outgoing:
    """A sendPhoto call with an HTML caption (cut at Telegram's 1,024 units); into a forum's
    topic with `thread_id`."""
    payload: dict[str, Any] = {
        "chat_id": chat_id,
        "photo": file_id,
        "caption": (caption if len(caption) <= CAPTION_MAX // 2
                    else clip_html(caption, CAPTION_MAX)),
        "parse_mode": "HTML",
    }
    if markup is not None:
        payload["reply_markup"] = markup
    if thread_id is not None:
        payload["message_thread_id"] = thread_id
    return Outgoing(chat_id, "sendPhoto", payload, purpose=purpose, request_id=request_id,
                    card_id=card_id, post_id=post_id)


def album(chat_id: int, file_ids: list[str], caption: str = "",
          thread_id: int | None = None) -> Outgoing:
    """A sendMediaGroup call (2-10 photos) with an optional HTML caption on the first (cut at
    Telegram's 1,024 units); into a forum's topic with `thread_id`."""
    media: list[dict[str, Any]] = [{"type": "photo", "media": f} for f in file_ids]
    if caption:
        media[0].update(caption=clip_html(caption, CAPTION_MAX), parse_mode="HTML")
    payload: dict[str, Any] = {"chat_id": chat_id, "media": media}
    if thread_id is not None:
        payload["message_thread_id"] = thread_id
    return Outgoing(chat_id, "sendMediaGroup", payload)


def photos(chat_id: int, file_ids: list[str], thread_id: int | None = None) -> list[Outgoing]:
    """Send one photo, an album, or nothing (into a forum's topic with `thread_id`)."""
    if not file_ids:
        return []
    if len(file_ids) == 1:
        payload: dict[str, Any] = {"chat_id": chat_id, "photo": file_ids[0]}
        if thread_id is not None:
            payload["message_thread_id"] = thread_id
        return [Outgoing(chat_id, "sendPhoto", payload)]
    return [album(chat_id, file_ids, thread_id=thread_id)]


def voice(chat_id: int, file_id: str, caption: str = "") -> Outgoing:
    """A sendVoice call (with an optional HTML caption, cut at Telegram's 1,024 units)."""
    payload: dict[str, Any] = {"chat_id": chat_id, "voice": file_id}
    if caption:
        payload.update(caption=clip_html(caption, CAPTION_MAX), parse_mode="HTML")
    return Outgoing(chat_id, "sendVoice", payload)


def copy(chat_id: int, from_chat_id: int, message_id: int, caption: str,
         markup: dict[str, Any] | None = None) -> Outgoing:
    """A copyMessage call: the message's content without its sender (no forward header),
    its caption replaced by an HTML one (cut at Telegram's 1,024 units)."""
    payload: dict[str, Any] = {"chat_id": chat_id, "from_chat_id": from_chat_id,
                               "message_id": message_id,
                               "caption": clip_html(caption, CAPTION_MAX),
                               "parse_mode": "HTML"}
    if markup is not None:
        payload["reply_markup"] = markup
    return Outgoing(chat_id, "copyMessage", payload)


def location(chat_id: int, latitude: float, longitude: float) -> Outgoing:
    """A sendLocation call."""
    return Outgoing(
        chat_id,
        "sendLocation",
        {"chat_id": chat_id, "latitude": latitude, "longitude": longitude},
    )


def card_edit(
    chat_id: int, request_id: int, card_id: int, text: str, markup: dict[str, Any] | None
) -> Outgoing:
    """Edit a posted card; the sender fills in its message id (and text or caption)."""
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        payload["reply_markup"] = markup
    return Outgoing(chat_id, "editCard", payload, purpose="card_edit", request_id=request_id,
                    card_id=card_id)


def post_edit(chat_id: int, post_id: int, text: str, markup: dict[str, Any] | None) -> Outgoing:
    """Edit an activity's recruitment card; the sender fills in its message id (and text or
    caption). No markup takes the buttons away."""
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML",
                               "reply_markup": markup or {"inline_keyboard": []}}
    return Outgoing(chat_id, "editPost", payload, purpose="post_edit", post_id=post_id)


def problem_post_edit(chat_id: int, post_id: int, text: str,
                      markup: dict[str, Any] | None) -> Outgoing:
    """Edit a supervision problem's card; the sender fills in its message id. No markup takes
    the buttons away."""
    payload: dict[str, Any] = {"text": clip_html(text, TEXT_MAX), "parse_mode": "HTML",
                               "link_preview_options": {"is_disabled": True},
                               "reply_markup": markup or {"inline_keyboard": []}}
    return Outgoing(chat_id, "editProblemPost", payload, purpose="problem_post_edit",
                    problem_post_id=post_id)


def captioned_album(chat_id: int, items: list[tuple[str, str]]) -> Outgoing:
    """A sendMediaGroup call (2-10 photos), each photo with its own HTML caption (may be empty;
    each cut at Telegram's 1,024 units)."""
    media: list[dict[str, Any]] = []
    for file_id, caption in items:
        item: dict[str, Any] = {"type": "photo", "media": file_id}
        if caption:
            item.update(caption=clip_html(caption, CAPTION_MAX), parse_mode="HTML")
        media.append(item)
    return Outgoing(chat_id, "sendMediaGroup", {"chat_id": chat_id, "media": media})


def edit_text(chat_id: int, message_id: int | None, text: str) -> Outgoing:
    """Replace the text of a message we sent (its buttons go). With no message to edit (a
    press on a message that stayed in a group before it became a supergroup: out of reach),
    the text comes as a message of its own, so the chat still sees what became of it."""
    if message_id is None:
        return message(chat_id, text)
    return Outgoing(chat_id, "editMessageText", {"chat_id": chat_id, "message_id": message_id,
                                                 "text": clip_html(text, TEXT_MAX),
                                                 "parse_mode": "HTML"})


def edit_caption(chat_id: int, message_id: int, caption: str) -> Outgoing:
    """Replace the caption of a photo we sent (its buttons go), as edit_text does a text."""
    return Outgoing(chat_id, "editMessageCaption", {
        "chat_id": chat_id, "message_id": message_id,
        "caption": clip_html(caption, CAPTION_MAX), "parse_mode": "HTML"})


def document(chat_id: int, filename: str, text: str, caption: str) -> Outgoing:
    """Send a text file (an export) as a document; the sender uploads it."""
    payload = {"chat_id": chat_id, "caption": clip_html(caption, CAPTION_MAX),
               "parse_mode": "HTML", "document": {"filename": filename, "text": text}}
    return Outgoing(chat_id, "sendDocument", payload)


def upload(chat_id: int, method: str, path: str, filename: str, caption: str) -> Outgoing:
    """Send a file a job wrote (sendDocument or sendPhoto); the sender deletes it once sent."""
    field = {"sendDocument": "document", "sendPhoto": "photo"}[method]
    payload = {"chat_id": chat_id, "caption": clip_html(caption, CAPTION_MAX),
               "parse_mode": "HTML", field: {"path": path, "filename": filename}}
    return Outgoing(chat_id, method, payload)


def chunks(lines: list[str], limit: int = 3800) -> list[str]:
    """Join lines into as few messages as fit Telegram's 4096 characters (with room to spare);
    a line longer than a whole part is cut as the HTML it is (never inside a tag or an entity,
    its tags closed), so the part still parses."""
    parts: list[str] = []
    current = ""
    for line in lines:
        line = clip_html(line, limit)
        if current and units(current) + 1 + units(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        parts.append(current)
    return parts
