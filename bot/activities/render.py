"""How activities look: the recruitment card in groups, the line in a list, the details a
volunteer sees in private.

Group cards are in the district's default language, as request cards are; what the organiser
typed (title, place, description) is shown as typed. Everything typed is escaped by the
catalogs (bot/i18n.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import buttons, ui
from bot.context import Env
from bot.i18n import day_and_time
from bot.requests.render import area_name, mask_phones, team_label
from storage import Activity
from storage.models import ACTIVITY_CANCELLED, ACTIVITY_CLOSED

CARD_DESCRIPTION_CHARS = 300


def team_name(env: Env, team_id: str, language: str) -> str:
    """A team's name, or its id if the teams file no longer has it."""
    return team_label(env, team_id, language)


def when(env: Env, activity: Activity, language: str | None = None) -> str:
    """"2027-03-05 09:00–11:30" in the district's time zone (both dates if it ends later); in
    Chinese "3月5日 周五 09:00–11:30" (a weekday is what an elderly reader goes by)."""
    zone = env.config.timezone
    start = datetime.fromtimestamp(activity.starts_at, zone)
    end = datetime.fromtimestamp(activity.ends_at, zone)
    year = datetime.fromtimestamp(env.now(), zone).year
    lang = language or env.config.default_language
    first = day_and_time(start, lang, year)
    if start.date() == end.date():
        return f"{first}–{end:%H:%M}"
    return f"{first} – {day_and_time(end, lang, year)}"


def signup_open(activity: Activity, now: float) -> bool:
    """Whether the activity takes sign-ups now (open, and not started yet)."""
    return (activity.status not in (ACTIVITY_CLOSED, ACTIVITY_CANCELLED)
            and now < activity.starts_at)


def places(env: Env, activity: Activity, language: str) -> str:
    """"Signed up 12 of 20, 8 places left" or "Full (20); 3 on the waitlist"."""
    if activity.places_left:
        return env.t(language, "activities.places", signed=activity.signed,
                     capacity=activity.capacity, left=activity.places_left)
    return env.t(language, "activities.places_full", capacity=activity.capacity,
                 waiting=activity.waiting)


def details(env: Env, activity: Activity, language: str, theme: str | None,
            description_chars: int = 0) -> list[str]:
    """The lines every view of an activity shares, in `language`."""
    t = env.t
    # What the organiser typed is shown to groups and to anyone in /events: a phone number
    # typed into it (someone's at the place, say) is masked, as in the description.
    lines = [t(language, "activities.card_title", title=mask_phones(activity.title))]
    if theme:
        lines.append(t(language, "activities.card_theme", theme=theme))
    team = team_name(env, activity.team_id, language)
    if activity.area_id:
        lines.append(t(language, "activities.card_team_area", team=team,
                       area=area_name(env, activity.area_id, language)))
    else:
        lines.append(t(language, "activities.card_team", team=team))
    lines.append(t(language, "activities.card_place", place=mask_phones(activity.place)))
    lines.append(t(language, "activities.card_when", when=when(env, activity, language)))
    lines.append(places(env, activity, language))
    description = mask_phones(activity.description)
    if description_chars:
        description = ui.clip(description, description_chars)
    lines.append(t(language, "activities.card_description", text=description))
    return lines


def card_text(env: Env, activity: Activity, theme: str | None, now: float) -> str:
    """The recruitment card as groups see it."""
    lang = env.config.default_language
    lines = details(env, activity, lang, theme, CARD_DESCRIPTION_CHARS)
    lines.insert(0, env.t(lang, "activities.card_header"))
    if activity.status == ACTIVITY_CANCELLED:
        lines.append(env.t(lang, "activities.card_cancelled",
                           reason=activity.cancel_reason or "—"))
    elif activity.status == ACTIVITY_CLOSED:
        lines.append(env.t(lang, "activities.card_closed"))
    elif now >= activity.starts_at:
        lines.append(env.t(lang, "activities.card_started"))
    return "\n".join(lines)


def card_markup(env: Env, activity: Activity, now: float) -> dict[str, Any] | None:
    """Sign up (with the places left), or join the waitlist when full; nothing once closed."""
    if not signup_open(activity, now):
        return None
    lang = env.config.default_language
    if activity.places_left:
        label = env.t(lang, "activities.sign_up_button", left=activity.places_left)
    else:
        label = env.t(lang, "activities.waitlist_button", waiting=activity.waiting)
    return ui.inline([[(label, buttons.SIGN_UP.data(activity.id))]])


def list_line(env: Env, activity: Activity, language: str) -> str:
    """One activity in a list: when, title, where, places."""
    zone = env.config.timezone
    start = datetime.fromtimestamp(activity.starts_at, zone)
    shown = (day_and_time(start, language, datetime.fromtimestamp(env.now(), zone).year)
             if language == "zh" else f"{start:%m-%d %H:%M}")
    return env.t(language, "activities.list_line", id=activity.id, when=shown,
                 title=mask_phones(activity.title), place=mask_phones(activity.place),
                 places=places(env, activity, language))
