"""How requests look: the group card, the claimer's details, the citizen's summaries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import buttons, ui
from bot.context import Env
from bot.i18n import day_and_time
from storage import Card, Outgoing, Request
from storage.models import DISPATCHED, is_api_client

CARD_DESCRIPTION_CHARS = 300
COMBINED_SEPARATOR = "\n\n"  # between the cards of a combined message
# Seven or more digits, maybe spaced or dashed: a phone number typed into a description.
# A phone number, or an ID card number (18 characters, the last a digit or X), typed into free
# text. Chinese is written without spaces, so what stands next to it may be any letter but a
# Latin one or a digit ("电话13800138000" is a phone number; "A1234567" is not).
# Between two digits of one: up to three of a space (the ideographic one of the Chinese IME's
# full-width mode, a word processor's no-break one), a hyphen or dash (full-width, en, em,
# minus), a dot or a bracket (full-width too), or an invisible character pasted along (a
# zero-width space, a soft hyphen): "138　0013　8000", "138－0013－8000", "138 - 0013 - 8000".
_GAP = ("[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000"  # spaces
        "\\-\u2010-\u2015\u2212\uff0d"  # hyphens and dashes
        ".\uff0e()\uff08\uff09"  # dots and brackets
        "\u00ad\u200b-\u200d\u2060\ufeff]{0,3}")  # the invisible ones
_PHONE_LIKE = re.compile(
    rf"(?<![0-9A-Za-z+])(?:\d{{17}}[\dXx]|\+?\d(?:{_GAP}\d){{6,}})(?![0-9A-Za-z])")
# What looks like one but is not: a date (2026-12-04) or a reference number (2026-000123).
_NOT_A_PHONE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{4}-\d{6}$")
# A number said in Chinese numerals, as some type it (一三八零零一三八零零零, 幺三八…), or with
# digits mixed in (138零零138零零零): seven or more in a row with a numeral among them is a
# phone number, not prose (三五成群 is four). Runs of digits alone are _PHONE_LIKE's.
_CHINESE_DIGIT = re.compile("[零〇一二三四五六七八九幺两]")
_ANY_DIGIT = "[0-9０-９零〇一二三四五六七八九幺两]"
_NUMERAL_RUN = re.compile(rf"{_ANY_DIGIT}(?:{_GAP}{_ANY_DIGIT}){{6,}}")
PHONE_MASK = "•••"


@dataclass(frozen=True)
class CardSection:
    """One request's part of a group message that lists several (a combined card)."""

    request_id: int
    ref: str
    text: str  # the card as render.card_text (or an edit with a note) made it, in HTML
    claimable: bool  # it still waits for a volunteer: it gets a Claim button


def category_name(env: Env, code: str, language: str) -> str:
    """Return a category's name, or its code if it was removed from config."""
    category = env.config.category(code)
    return category.name(language) if category else code


def area_name(env: Env, area_id: str | None, language: str) -> str:
    """Return an area's name; '' or None is the whole district."""
    tree = env.config.areas
    if not area_id:
        return env.t(language, "area.district")
    if tree is not None and area_id in tree:
        return tree.get(area_id).name(language)
    return area_id


def team_label(env: Env, team_id: str, language: str) -> str:
    """A team's name, or its id if the teams file no longer has it."""
    team = env.config.volunteering.team(team_id)
    return team.name(language) if team is not None else team_id


def area_names(env: Env, area_ids: Iterable[str], language: str, shown: int = 3) -> str:
    """Name a few areas in full and count the rest ("A, B, C and 27 more"), so a caption
    naming an admin's areas stays far inside Telegram's 1024 characters."""
    names = [area_name(env, area, language) for area in area_ids]
    listed = env.t.raw(language, "area.list_separator").join(names[:shown])
    if len(names) <= shown:
        return listed
    return env.t.raw(language, "area.and_more").format(names=listed, more=len(names) - shown)


def status_name(env: Env, status: str, language: str) -> str:
    """Return a request status in words."""
    return env.t(language, f"status.{status}")


def local_time(env: Env, timestamp: float, language: str | None = None) -> str:
    """Format a timestamp in the configured time zone, the way `language` writes dates (ISO
    when no reader's language is known: logs, operators)."""
    zone = env.config.timezone
    local = datetime.fromtimestamp(timestamp, zone)
    if language is None:
        return local.strftime("%Y-%m-%d %H:%M")
    return day_and_time(local, language, datetime.fromtimestamp(env.now(), zone).year)


def where_summary(env: Env, request: Request, language: str) -> str:
    """Say roughly where: the community, never the exact address (only the claimer sees it)."""
    if request.address:
        detail = env.t(language, "card.address_given")
    elif request.latitude is not None:
        detail = env.t(language, "card.location_shared")
    else:
        detail = env.t(language, "card.no_location")
    if request.area_id:
        return f"{area_name(env, request.area_id, language)} · {detail}"
    return detail


def mask_phones(text: str) -> str:
    """Hide phone and ID card numbers a citizen typed into free text that groups will see."""
    masked = _PHONE_LIKE.sub(
        lambda m: m.group(0) if _NOT_A_PHONE.match(m.group(0)) else PHONE_MASK, text)
    return _NUMERAL_RUN.sub(
        lambda m: PHONE_MASK if _CHINESE_DIGIT.search(m.group(0)) else m.group(0), masked)


def card_text(env: Env, request: Request, role: str = "dispatch") -> str:
    """Render the group card: reference, category, rough place, description, media counts."""
    lang = env.config.default_language
    t = env.t
    lines = [
        t(lang, f"card.header.{request.status}", ref=request.ref,
          name=request.volunteer_name or ""),
        t(lang, "card.category", category=category_name(env, request.category, lang)),
        t(lang, "card.where", where=where_summary(env, request, lang)),
    ]
    if request.description:
        lines.append(
            t(lang, "card.description",
              text=ui.clip(mask_phones(request.description), CARD_DESCRIPTION_CHARS))
        )
    media = []
    if request.photos:
        media.append(t(lang, "card.photos", count=len(request.photos)))
    if request.voice_file_id:
        media.append(t(lang, "card.voice"))
    if media:
        lines.append(" · ".join(media))
    if request.followers:  # neighbours who joined it at intake: more people wait for it
        lines.append(t(lang, "card.neighbours", count=request.followers))
    if request.on_behalf:
        lines.append(t(lang, "neighbour.card"))
    if request.reopen_count and request.status == DISPATCHED:
        lines.append(t(lang, "card.reopened", count=request.reopen_count))
    if role == "escalation" and request.status == DISPATCHED:
        lines.insert(0, t(lang, "card.escalated"))
    return "\n".join(lines)


def card_markup(env: Env, request: Request) -> dict[str, Any] | None:
    """Return the Claim button while the request waits for a volunteer."""
    if request.status != DISPATCHED:
        return None
    return claim_markup(env, request.id)


def claim_markup(env: Env, request_id: int) -> dict[str, Any]:
    """A card's Claim button."""
    label = env.t(env.config.default_language, "card.claim_button")
    return ui.inline([[(label, buttons.CLAIM.data(request_id))]])


def card_kind(env: Env, request: Request) -> str:
    """A request with photos is shown as a photo with a caption (if the config lets groups see
    photos), else as text."""
    return "photo" if request.photos and env.config.card_photo else "text"


def new_card(env: Env, request: Request, card: Card, topic: int | None = None) -> Outgoing:
    """Post a registered card, as a photo with caption when there are photos (in the forum
    topic its binding names, if any)."""
    text = card_text(env, request, card.role)  # bounded: the description is cut to 300
    markup = card_markup(env, request)
    if card.kind == "photo":
        return ui.photo(card.chat_id, request.photos[0], text, markup, purpose="card",
                        request_id=request.id, card_id=card.id, thread_id=topic)
    return ui.message(card.chat_id, text, markup, purpose="card", request_id=request.id,
                      card_id=card.id, thread_id=topic)


def combined_card(env: Env, sections: list[CardSection]) -> tuple[str, dict[str, Any] | None]:
    """Render a group message listing several requests: their cards one after another, and a
    "Claim <ref>" button for each one still waiting (the same callback as a single card's).

    Should edits have grown it past Telegram's 4096 units (names, notes), the settled
    requests shrink to their header line, then all of them: the buttons still work.
    """
    lang = env.config.default_language
    text = COMBINED_SEPARATOR.join(section.text for section in sections)
    if ui.units(text) > ui.TEXT_MAX:
        text = COMBINED_SEPARATOR.join(
            section.text if section.claimable else _first_line(section.text)
            for section in sections)
    if ui.units(text) > ui.TEXT_MAX:
        text = COMBINED_SEPARATOR.join(_first_line(section.text) for section in sections)
    rows = [[(env.t(lang, "card.claim_ref_button", ref=section.ref),
              buttons.CLAIM.data(section.request_id))]
            for section in sections if section.claimable]
    return text, ui.inline(rows) if rows else None


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def card_update(env: Env, request: Request, card: Card, note: str = "") -> Outgoing:
    """Edit a posted card to show the request's current state (and an optional note)."""
    text = card_text(env, request, card.role) + (f"\n{note}" if note else "")
    markup = card_markup(env, request) if not note else None
    return ui.card_edit(card.chat_id, request.id, card.id, text, markup)


def task_buttons(
    env: Env, request: Request, language: str, *, details: bool = False
) -> dict[str, Any]:
    """Done and Release buttons for the volunteer holding a request, Message the citizen (the
    masked chat), and Details in lists."""
    rows = [[
        (env.t(language, "task.done_button"), buttons.DONE.data(request.id)),
        (env.t(language, "task.release_button"), buttons.RELEASE.data(request.id)),
    ]]
    if not is_api_client(request.citizen_id):  # a hotline's caller has no chat to reach
        rows.append([(env.t(language, "relay.message_citizen"), buttons.CHAT.data(request.id))])
    if details:
        rows.append([(env.t(language, "task.details_button"), buttons.DETAILS.data(request.id))])
    return ui.inline(rows)


def task_details(env: Env, request: Request, chat_id: int, language: str) -> list[Outgoing]:
    """Everything the claimer needs: media, the place on a map, then the text with buttons."""
    t = env.t
    out = ui.photos(chat_id, request.photos)
    if request.voice_file_id:
        out.append(ui.voice(chat_id, request.voice_file_id))
    if request.latitude is not None and request.longitude is not None:
        out.append(ui.location(chat_id, request.latitude, request.longitude))
    lines = [
        t(language, "task.header", ref=request.ref),
        t(language, "card.category", category=category_name(env, request.category, language)),
    ]
    at = len(lines)  # the description's place: it is fitted to what follows it
    if request.on_behalf:  # filed for a neighbour: the person to call and visit is theirs
        lines.append(t(language, "neighbour.task_for", name=request.for_name or "-",
                       address=request.for_address or "-"))
        if request.helper_phone:  # the helper chose to be reachable too
            lines.append(t(language, "neighbour.task_helper", phone=request.helper_phone))
    if request.address:
        lines.append(t(language, "task.address", address=request.address))
    elif request.latitude is not None:
        lines.append(t(language, "task.location_above"))
    phone = request.phone or t(language, "task.no_phone")
    if request.phone and not request.share_phone:  # the citizen chose the masked chat only
        phone = t(language, "relay.phone_hidden")
    lines.append(t(language, "task.phone", phone=phone))
    lines.append(t(language, "task.next_steps"))
    if request.description:
        lines.insert(at, description_line(env, language, request.description, lines))
    out.append(ui.message(chat_id, "\n".join(lines), task_buttons(env, request, language)))
    return out


def description_line(env: Env, language: str, description: str, others: list[str]) -> str:
    """The description's line of a message with `others` around it, the description cut
    (with "…") so that the whole is one message Telegram takes: the lines after it (where,
    whom to call, what next) are never the part cut off at 4,096. Measured in the HTML of
    the others, which is never shorter than what it shows."""
    empty = env.t(language, "card.description", text="")
    room = ui.TEXT_MAX - ui.units(empty) - sum(ui.units(line) + 1 for line in others)
    return env.t(language, "card.description", text=ui.clip(description, max(room, 1)))


def citizen_text(env: Env, request: Request, text: str) -> str:
    """A message to whoever filed the request; to a helper who filed it for a neighbour it
    starts with whose it is ("为 王阿姨 报的事"), in the request's language."""
    if not request.on_behalf:
        return text
    name = request.for_name or env.t(request.language, "neighbour.someone")
    return env.t(request.language, "neighbour.mark", name=name) + "\n" + text


def citizen_chat_markup(env: Env, request: Request) -> dict[str, Any]:
    """The big Message the volunteer button under the citizen's "claimed" notice."""
    label = env.t(request.language, "relay.message_volunteer")
    return ui.inline([[(label, buttons.CHAT.data(request.id))]])


def claimed_key(request: Request, *, reassigned: bool = False) -> str:
    """The catalog key of the citizen's "a volunteer has taken it" (or "passed to another
    volunteer"): the claimer calls a neighbour, not the helper who filed for her, and
    cannot call a citizen who kept the phone private or gave none (they write through the
    bot)."""
    if request.on_behalf:
        return "neighbour.reassigned" if reassigned else "neighbour.claimed"
    if not request.phone:
        return "relay.reassigned_no_phone" if reassigned else "relay.claimed_no_phone"
    if not request.share_phone:
        return "relay.reassigned_masked" if reassigned else "relay.claimed_masked"
    return "casework.citizen_reassigned" if reassigned else "citizen.claimed"


def request_line(env: Env, request: Request, language: str) -> str:
    """One line of a citizen's request list."""
    return env.t(
        language,
        "my.line",
        ref=request.ref,
        category=category_name(env, request.category, language),
        status=status_name(env, "handed" if request.cancelled_by == "supervision"
                           else request.status, language),
        date=local_time(env, request.created_at, language),
    )


def draft_summary(env: Env, draft: dict[str, Any], language: str) -> str:
    """Show a citizen what they are about to send."""
    t = env.t
    lines = [t(language, "intake.summary_title")]
    lines.append(
        t(language, "card.category",
          category=category_name(env, draft.get("category", ""), language))
    )
    description = draft.get("description") or t(language, "intake.summary_no_text")
    at = len(lines)  # the description's place: it is fitted to what follows it
    extras = []
    if draft.get("photos"):
        extras.append(t(language, "card.photos", count=len(draft["photos"])))
    if draft.get("voice"):
        extras.append(t(language, "card.voice"))
    if extras:
        lines.append(" · ".join(extras))
    if draft.get("area"):
        lines.append(t(language, "intake.summary_area",
                       area=area_name(env, draft["area"], language)))
    if draft.get("address"):
        lines.append(t(language, "task.address", address=draft["address"]))
    elif draft.get("latitude") is not None:
        lines.append(t(language, "card.where", where=t(language, "card.location_shared")))
    if draft.get("neighbour"):
        lines.append(t(language, "neighbour.summary", name=draft.get("nb_name") or "",
                       phone=draft.get("nb_phone") or "", address=draft.get("nb_address") or ""))
        lines.append(t(language, "neighbour.summary_own",
                       phone=draft.get("nb_own") or t(language, "neighbour.own_not_given")))
    else:
        phone = draft.get("phone") or t(language, "intake.summary_no_phone")
        lines.append(t(language, "task.phone", phone=phone))
        if draft.get("phone"):
            shown = "shown" if draft.get("share_phone", True) else "hidden"
            lines.append(t(language, f"relay.summary_phone_{shown}"))
    lines.append(t(language, "intake.summary_question"))
    lines.insert(at, description_line(env, language, description, lines))
    return "\n".join(lines)
