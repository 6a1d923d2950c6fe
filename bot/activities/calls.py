"""Recruitment calls (招募令, issue 15.7): an admin's urgent call for people, answered with
one tap, its roster live in the admin's chat, closed or cancelled by the admin or by its
deadline, and the hours of those who came credited like an activity's.

An admin (a centre admin anywhere, an area admin within their areas) writes it in a short
dialog in private (a `dialogs` row, so a restart loses nothing): what, where (and a map
point), how many people, until when, and to whom (areas, the whole district for a centre
admin, teams). Send posts its card in the volunteer groups of those areas and the teams' own
groups, with I'm in and how many have answered of how many needed, and sends it in private to
the approved volunteers of those areas and teams who have opened the bot. An urgent call is
not held for quiet hours; sent in them, it goes without a sound (docs/decisions.md), and so
do the admin's "filled", a reserve's "now needed" and the "called off" sent in them
(bot/night.py).

A call is an activity of kind 'call' (migration 014): its answers are sign-ups, its cards and
the admin's roster are activity posts the sender edits (a burst of answers costs each one
edit), and its attendance (check-in by hand or by location, the list the admin confirms) and
hours are the activities' own, so /hours and the formal-volunteer threshold count them.
Answers beyond the number needed are taken as reserves.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot import buttons, night, ui
from bot.activities.board import Board, Place
from bot.activities.publishing import CAPACITY_MAX, Publishing
from bot.config import Team
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.i18n import day_and_time
from bot.people.roles import Role, Roles
from bot.requests.loop import RequestLoop
from bot.requests.render import area_name, mask_phones
from bot.unit import ActorUnit, Unit
from storage import Activity, Call, Dialog, Outgoing, Timer
from storage.models import ACTIVITY_CANCELLED, ACTIVITY_OPEN

STEPS = ("what", "place", "point", "needed", "until", "audience")
PREVIEW = "preview"
WHAT_MAX = 300
TITLE_MAX = 60
PLACE_MAX = 100
NEEDED = (5, 10, 20, 50)  # the buttons; any other number is typed
DAYS_AHEAD = 7  # a call stands for a week at most: what is further ahead is an activity
TONIGHT = 12 * 3600.0  # a bare time already past today is tonight's within this
CHOICES = 10  # area and team buttons shown; more are found by typing a name
ROSTER_SHOWN = 100  # names in the admin's roster message; the rest are counted
END_TIMER = "call_end"
# The /start payload of a card's link for someone who has not opened the bot yet.
START_LINK = re.compile(r"^call_([0-9]{1,12})$")
_NUMBER = re.compile(r"^[0-9]{1,6}$")
_CLOCK = re.compile(r"^(\d{1,2})\s*(?:[:点时]\s*(\d{1,2})?\s*分?)?$")


class Calls:
    """Recruitment calls: the admin's dialog, I'm in, the live roster, close and cancel."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, board: Board,
                 publishing: Publishing, quiet_until: Callable[[float], float | None],
                 activity_timers: Callable[[Unit, Timer], Awaitable[None]]) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        self.board = board  # where cards go (the volunteer groups of areas, teams' groups)
        self.publishing = publishing  # who may manage; reading a typed date and time
        self.quiet_until = quiet_until  # the schedule's quiet hours
        self.activity_timers = activity_timers  # the timers of activities proper

    def start_link(self, call_id: int) -> str:
        """The link that opens the bot in private on a call."""
        return f"https://t.me/{self.env.bot_username}?start=call_{call_id}"

    # -- /call: the admin's dialog -----------------------------------------------------------

    async def command(self, unit: ActorUnit) -> None:
        """/call: start the dialog (a request form in progress is kept under it)."""
        role = await self.roles.of(unit.repo, unit.user_id)
        if role is None:
            unit.send(ui.message(unit.user_id, unit.t("calls.not_allowed")))
            return
        if await self.loop.form_again(unit, Flow.CALL, "/call"):
            return  # the one begun is kept, never replaced by a blank one
        data: dict[str, Any] = {"id": secrets.token_hex(3), "district": role.centre,
                                "areas": [] if role.centre else list(role.areas), "teams": []}
        await self.loop.push_dialog(unit, Flow.CALL, STEPS[0], data)
        unit.send(ui.message(unit.user_id, "\n".join(
            [unit.t("calls.intro"), self._question(unit, "what")])))

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A typed answer (or a location) of the dialog: checked, kept, the next question."""
        user_id, step = unit.user_id, dialog.step
        if step == PREVIEW:
            return [ui.message(user_id, unit.t("calls.use_buttons"))]
        if step not in STEPS:
            await self.loop.pop_dialog(unit.repo, user_id, Flow.CALL)
            return [ui.message(user_id, unit.t("calls.dialog_lost"))]
        if said.kind == "command":
            return [ui.message(user_id, unit.t("calls.command_mid_dialog"))]
        ended = await self._ended_by_role(unit, dialog.data)
        if ended:  # a role taken back (or narrowed) mid-dialog: Send would refuse it too
            await self.loop.pop_dialog(unit.repo, user_id, Flow.CALL)
            return [ui.message(user_id, ended)]
        if step == "audience":
            return await self._typed_audience(unit, dialog, said)
        answer = self._read(unit, step, said)
        if isinstance(answer, str):
            return [ui.message(user_id, answer, self._buttons(unit, dialog.data, step))]
        return await self._advance(unit, dialog, answer)

    async def _ended_by_role(self, unit: ActorUnit, data: dict[str, Any]) -> str:
        """Why a call's dialog ends now ('' if its author may still send what it holds): no
        admin any more, or a role narrowed below the audience chosen so far."""
        if await self.roles.of(unit.repo, unit.user_id) is None:
            return unit.t("calls.ended_no_role")
        if not await self.publishing.reaches(unit, unit.user_id, bool(data["district"]),
                                             data["areas"], data["teams"]):
            return unit.t("calls.ended_not_sent", who=self._audience(unit, data))
        return ""

    def _read(self, unit: ActorUnit, step: str, said: Said) -> dict[str, Any] | str:
        """The answer of `step` as data to keep, or the one line that says what is wrong."""
        if step == "point":
            if said.kind == "location" and said.latitude is not None:
                return {"point": [said.latitude, said.longitude]}
            return unit.t("calls.want_location")
        text = unicodedata.normalize("NFKC", said.text).strip() if said.kind == "text" else ""
        if not text:
            return unit.t("calls.want_text")
        if step == "what":
            if ui.units(text) > WHAT_MAX:
                return unit.t("calls.too_long", count=ui.units(text), max=WHAT_MAX)
            return {"what": text}
        if step == "place":
            if "\n" in text or ui.units(text) > PLACE_MAX:
                return unit.t("calls.bad_place", max=PLACE_MAX)
            return {"place": text}
        if step == "needed":
            if not _NUMBER.match(text) or not 0 < int(text) <= CAPACITY_MAX:
                return unit.t("calls.bad_needed", max=CAPACITY_MAX)
            return {"needed": int(text)}
        return self._read_until(unit, text)

    def _read_until(self, unit: ActorUnit, text: str) -> dict[str, Any] | str:
        """A time today or tonight ("18:00", "01:00" at 22:00) or a date and time; in the
        future, within a week."""
        now = unit.now()
        zone = self.env.config.timezone
        clock = _CLOCK.match(text)
        until: float | None
        if clock is not None:
            hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
            if hour > 23 or minute > 59:
                return unit.t("calls.bad_until", example=self._example(now))
            today = datetime.fromtimestamp(now, zone)
            at = today.replace(hour=hour, minute=minute, second=0, microsecond=0)
            until = at.timestamp()
            # Past today's, it is tonight's after midnight if that comes within TONIGHT (the
            # question's own example at 22:00 is 01:00); else a slip, refused as past.
            tonight = datetime.combine(at.date() + timedelta(days=1), at.time(),
                                       tzinfo=zone).timestamp()
            if until <= now < tonight <= now + TONIGHT:
                until = tonight
        else:
            until = self.publishing.read_moment(text)
        if until is None:
            return unit.t("calls.bad_until", example=self._example(now))
        if until <= now:
            return unit.t("calls.until_past", until=self._time(until, now, unit.language),
                          now=self._time(now, now, unit.language))
        if until - now > DAYS_AHEAD * 86400:
            return unit.t("calls.until_far", days=DAYS_AHEAD)
        return {"until": until}

    def _example(self, now: float) -> str:
        """Three hours from now, rounded to the hour, as an example of what to type."""
        later = datetime.fromtimestamp(now + 3 * 3600, self.env.config.timezone)
        return f"{later:%H}:00"

    def _time(self, moment: float, now: float, language: str) -> str:
        """"18:00" today, "2026-06-12 18:00" another day (local time; "6月12日 周五 18:00" in
        Chinese)."""
        zone = self.env.config.timezone
        local = datetime.fromtimestamp(moment, zone)
        today = datetime.fromtimestamp(now, zone)
        if local.date() == today.date():
            return f"{local:%H:%M}"
        return day_and_time(local, language, today.year)

    async def _advance(self, unit: ActorUnit, dialog: Dialog,
                       answer: dict[str, Any]) -> list[Outgoing]:
        """Keep the answer and ask the next question (or show the preview)."""
        data = {**dialog.data, **answer}
        step = STEPS[STEPS.index(dialog.step) + 1] if dialog.step != STEPS[-1] else PREVIEW
        await self.loop.move_dialog(unit.repo, dialog, step, data)
        if step == PREVIEW:
            return [await self._preview(unit, data)]
        if step == "audience":
            return [await self._audience_message(unit, data)]
        return [ui.message(unit.user_id, self._question(unit, step),
                           self._buttons(unit, data, step))]

    async def resumed(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """The dialog back on top after one that came in its middle (Nearest to me, an
        honour begun and cancelled …) ended: that it is the call, and its question (or
        preview) again."""
        data, step = dialog.data, dialog.step
        if step != PREVIEW and step not in STEPS:
            return []
        back = ui.message(unit.user_id, unit.t("calls.back"))
        if step == PREVIEW:
            return [back, await self._preview(unit, data)]
        if step == "audience":
            if await self.roles.of(unit.repo, unit.user_id) is None:  # no longer an admin
                return [back]
            return [back, await self._audience_message(unit, data)]
        return [back, ui.message(unit.user_id, self._question(unit, step),
                                 self._buttons(unit, data, step))]

    def _question(self, unit: Unit, step: str) -> str:
        values: dict[str, Any] = {"step": STEPS.index(step) + 1, "steps": len(STEPS)}
        if step == "until":
            values["example"] = self._example(unit.now())
        if step == "what":
            values["max"] = WHAT_MAX
        return unit.t(f"calls.ask.{step}", **values)

    def _buttons(self, unit: Unit, data: dict[str, Any], step: str) -> dict[str, Any] | None:
        draft, form = data["id"], buttons.CALL_FORM
        if step == "point":
            return ui.inline([[(unit.t("calls.skip"), form.data(draft, "skip", ""))]])
        if step == "needed":
            return ui.inline([[(str(n), form.data(draft, "need", str(n))) for n in NEEDED]])
        return None

    # -- to whom -----------------------------------------------------------------------------

    async def _choices(self, unit: ActorUnit, role: Role) -> tuple[list[str], list[Team]]:
        """The areas and teams this admin may call, as buttons offer them."""
        tree = self.env.config.areas
        if role.centre:
            areas = [a.id for a in tree.children(tree.root)] if tree is not None else []
        else:
            areas = list(role.areas)
        return areas, await self.publishing.teams_for(unit, unit.user_id)

    async def _audience_message(self, unit: ActorUnit, data: dict[str, Any],
                                edit: tuple[int, int] | None = None) -> Outgoing:
        """To whom: the areas (or the whole district) and teams, each a button that toggles,
        and Done."""
        role = await self.roles.of(unit.repo, unit.user_id)
        assert role is not None
        areas, teams = await self._choices(unit, role)
        draft, form, lang = data["id"], buttons.CALL_FORM, unit.language
        chosen_areas, chosen_teams = set(data["areas"]), set(data["teams"])
        rows: list[list[tuple[str, str]]] = []
        if role.centre:
            mark = "✅" if data["district"] else "▫️"
            rows.append([(f"{mark} {unit.t('calls.whole_district')}",
                          form.data(draft, "all", ""))])
        shown_areas = areas[:CHOICES] + [a for a in chosen_areas if a not in areas[:CHOICES]]
        for area in shown_areas:
            mark = "✅" if area in chosen_areas else "▫️"
            rows.append([(f"{mark} {area_name(self.env, area, lang)}",
                          form.data(draft, "area", area))])
        shown_teams = teams[:CHOICES] + [t for t in teams[CHOICES:] if t.id in chosen_teams]
        for team in shown_teams:
            mark = "✅" if team.id in chosen_teams else "▫️"
            rows.append([(f"{mark} 👥 {team.name(lang)}", form.data(draft, "team", team.id))])
        rows.append([(unit.t("calls.audience_done"), form.data(draft, "done", ""))])
        text = "\n".join([self._question(unit, "audience"),
                          unit.t("calls.audience_now", who=self._audience(unit, data))])
        markup = ui.inline(rows)
        if edit is not None:
            return Outgoing(edit[0], "editMessageText", {
                "chat_id": edit[0], "message_id": edit[1], "text": text, "parse_mode": "HTML",
                "reply_markup": markup})
        return ui.message(unit.user_id, text, markup)

    def _audience(self, unit: Unit, data: dict[str, Any]) -> str:
        """"The whole district; team: Red Vest" in words."""
        lang = unit.language
        parts = []
        if data["district"]:
            parts.append(unit.t("calls.whole_district"))
        parts += [area_name(self.env, area, lang) for area in data["areas"]]
        for team_id in data["teams"]:
            team = self.env.config.volunteering.team(team_id)
            parts.append("👥 " + (team.name(lang) if team is not None else team_id))
        return "; ".join(parts) if parts else unit.t("calls.nobody_yet")

    async def _toggle(self, unit: ActorUnit, data: dict[str, Any], kind: str,
                      value: str) -> dict[str, Any] | None:
        """The audience with one area, team or the whole district chosen or unchosen; None
        if this admin may not choose it."""
        role = await self.roles.of(unit.repo, unit.user_id)
        if role is None:
            return None
        data = {**data, "areas": list(data["areas"]), "teams": list(data["teams"])}
        tree = self.env.config.areas
        if kind == "all":
            if not role.centre:
                return None
            data["district"] = not data["district"]
            if data["district"]:
                data["areas"] = []  # the district holds every area
        elif kind == "area":
            if tree is None or value not in tree or not role.covers(value):
                return None
            if value in data["areas"]:
                data["areas"].remove(value)
            else:
                data["areas"].append(value)
                data["district"] = False
        else:
            if value not in {t.id for t in await self.publishing.teams_for(unit,
                                                                          unit.user_id)}:
                return None
            if value in data["teams"]:
                data["teams"].remove(value)
            else:
                data["teams"].append(value)
        return data

    async def _typed_audience(self, unit: ActorUnit, dialog: Dialog,
                              said: Said) -> list[Outgoing]:
        """An area or team typed by name (or id) is chosen or unchosen like its button."""
        text = unicodedata.normalize("NFKC", said.text).strip().casefold() if (
            said.kind == "text") else ""
        tree = self.env.config.areas
        found: tuple[str, str] | None = None
        if text and tree is not None:
            area = next((a.id for a in tree.areas.values() if a.id.casefold() == text
                         or any(n.casefold() == text for n in a.names.values())), None)
            found = ("area", area) if area is not None else None
        if text and found is None:
            team = next((t.id for t in self.env.config.volunteering.teams
                         if t.id.casefold() == text
                         or any(n.casefold() == text for n in t.names.values())), None)
            found = ("team", team) if team is not None else None
        if found is None:
            return [ui.message(unit.user_id, unit.t("calls.no_such_audience",
                                                    word=said.text[:50]))]
        data = await self._toggle(unit, dialog.data, *found)
        if data is None:
            return [ui.message(unit.user_id, unit.t("calls.audience_not_yours",
                                                    word=said.text[:50]))]
        await self.loop.move_dialog(unit.repo, dialog, "audience", data)
        return [await self._audience_message(unit, data)]

    # -- the buttons of the dialog -----------------------------------------------------------

    async def on_button(self, unit: ActorUnit, draft: str, action: str, arg: str,
                        chat_id: int, message_id: int) -> Answer:
        """Skip, a number, an area, a team, the whole district, Done, Send, Cancel: the
        dialog, its step and the choice are checked, never trusted."""
        user_id = unit.user_id
        dialog = await self.loop.pressed_form(unit, Flow.CALL, draft)
        if isinstance(dialog, str):  # kept under another: it waits, unchanged
            return Answer(dialog, alert=True)
        if dialog is None:
            sent = await unit.repo.activities.published_from(draft, user_id)
            if sent is not None:
                return Answer(unit.t("calls.already_sent", id=sent.id), alert=True)
            return Answer(unit.t("calls.form_closed"), alert=True)
        step, data = dialog.step, dialog.data
        if action == "cancel":
            draft_back = await self.loop.pop_dialog(unit.repo, user_id, Flow.CALL)
            unit.send(ui.edit_text(chat_id, message_id, unit.t("calls.cancelled_draft")))
            if draft_back:  # a request form the call interrupted: its question again
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("calls.cancelled_toast"))
        if action == "send" and step == PREVIEW:
            return await self._send(unit, dialog, chat_id, message_id)
        ended = await self._ended_by_role(unit, data)
        if ended:  # a step's button, as a typed answer
            draft_back = await self.loop.pop_dialog(unit.repo, user_id, Flow.CALL)
            unit.send(ui.message(user_id, ended))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("calls.not_sent_reach"), alert=True)
        if action in ("all", "area", "team") and step == "audience":
            chosen = await self._toggle(unit, data, action, arg)
            if chosen is None:
                return Answer(unit.t("calls.button_old"), alert=True)
            await self.loop.move_dialog(unit.repo, dialog, step, chosen)
            unit.send(await self._audience_message(unit, chosen, (chat_id, message_id)))
            return Answer()
        if action == "done" and step == "audience":
            if not (data["district"] or data["areas"] or data["teams"]):
                return Answer(unit.t("calls.choose_someone"), alert=True)
            unit.send(await self._advance(unit, dialog, {}))
            return Answer()
        choice: dict[str, Any] | None = None
        if action == "skip" and step == "point":
            choice = {"point": None}
        elif action == "need" and step == "needed" and _NUMBER.match(arg):
            choice = {"needed": int(arg)} if 0 < int(arg) <= CAPACITY_MAX else None
        if choice is None:
            return Answer(unit.t("calls.button_old"), alert=True)
        unit.send(await self._advance(unit, dialog, choice))
        return Answer()

    # -- preview and send --------------------------------------------------------------------

    async def _targets(self, unit: Unit, data: dict[str, Any],
                       user_id: int) -> tuple[list[Place], list[tuple[int, str]]]:
        """The groups the call's card goes to (each with its forum topic), and the volunteers
        it goes to in private."""
        tree = self.env.config.areas
        area_ids: list[str | None] = [None] if data["district"] else list(data["areas"])
        groups = await self.board.groups_for(unit.repo, area_ids, list(data["teams"]))
        below = sorted({a for area in data["areas"] if tree is not None and area in tree
                        for a in tree.subtree(area)})
        people = await unit.repo.calls.recipients(bool(data["district"]), below,
                                                  list(data["teams"]), user_id)
        return groups, people

    async def _preview(self, unit: ActorUnit, data: dict[str, Any]) -> Outgoing:
        """The call as volunteers will see it, to whom, how many messages, Send / Cancel."""
        groups, people = await self._targets(unit, data, unit.user_id)
        lines = [unit.t("calls.preview_title"), *self._lines(
            unit.language, data["what"], data["place"], float(data["until"]),
            int(data["needed"]), unit.now())]
        if data.get("point"):
            lines.append(unit.t("calls.preview_point"))
        lines.append(unit.t("calls.preview_to", who=self._audience(unit, data)))
        total = len(groups) + len(people)
        rate = self.env.config.delivery.global_per_second
        lines.append(unit.t("calls.preview_reach", groups=len(groups), people=len(people),
                            minutes=max(1, round(total / rate / 60 + 0.5))))
        if self.quiet_until(unit.now()) is not None:
            lines.append(unit.t("calls.preview_quiet"))
        draft = data["id"]
        return ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX), ui.inline([[
            (unit.t("calls.send"), buttons.CALL_FORM.data(draft, "send", "")),
            (unit.t("calls.cancel"), buttons.CALL_FORM.data(draft, "cancel", "")),
        ]]))

    def _lines(self, lang: str, what: str, place: str, until: float, needed: int,
               now: float) -> list[str]:
        """What, where, until when and how many: the lines every view of a call shares."""
        t = self.env.t
        return [t(lang, "calls.card_what", what=mask_phones(what)),
                t(lang, "calls.card_place", place=mask_phones(place)),
                t(lang, "calls.card_until", until=self._time(until, now, lang)),
                t(lang, "calls.card_needed", needed=needed)]

    async def _send(self, unit: ActorUnit, dialog: Dialog, chat_id: int,
                    message_id: int) -> Answer:
        """Store the call, post its cards, send it in private, set its deadline; the preview
        becomes what was sent and the admin gets the live roster."""
        data, repo, now, user_id = dialog.data, unit.repo, unit.now(), unit.user_id
        if not await self.publishing.reaches(unit, user_id, bool(data["district"]),
                                             data["areas"], data["teams"]):
            # A role taken back (or narrowed) since the preview: the dialog ends, and the
            # preview says so, so no Send is left that looks as if it might still work.
            draft_back = await self.loop.pop_dialog(repo, user_id, Flow.CALL)
            unit.send(ui.edit_text(chat_id, message_id, unit.t(
                "calls.ended_not_sent", who=self._audience(unit, data))))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("calls.not_sent_reach"), alert=True)
        if float(data["until"]) <= now:  # the preview outlived the deadline
            await self.loop.move_dialog(repo, dialog, "until", data)
            unit.send(ui.message(user_id, "\n".join(
                [unit.t("calls.until_passed"), self._question(unit, "until")])))
            return Answer(unit.t("calls.not_sent"), alert=True)
        groups, people = await self._targets(unit, data, user_id)
        silent = self.quiet_until(now) is not None
        point = data.get("point") or [None, None]
        areas = list(data["areas"])
        fields = {"area_id": areas[0] if len(areas) == 1 and not data["district"] else None,
                  "team_id": data["teams"][0] if data["teams"] else "",
                  "title": ui.clip(" ".join(data["what"].split()), TITLE_MAX),
                  "place": data["place"], "latitude": point[0], "longitude": point[1],
                  "starts_at": now, "ends_at": float(data["until"]),
                  "capacity": int(data["needed"]), "description": data["what"],
                  "language": unit.language}
        call_id = await repo.calls.open(data["id"], user_id, fields, bool(data["district"]),
                                        areas, list(data["teams"]), silent, now)
        draft_back = await self.loop.pop_dialog(repo, user_id, Flow.CALL)
        activity = await repo.activities.activity(call_id)
        assert activity is not None
        text, markup = self.card(activity, now)
        for chat, topic in groups:
            post_id = await repo.activities.add_post(call_id, chat, "text", now)
            unit.send(night.at_night(self.env, "calls.sent", ui.message(
                chat, text, markup, purpose="post", post_id=post_id, thread_id=topic)))
        for person, lang in people:
            unit.send(night.at_night(self.env, "calls.sent", self._private_copy(
                activity, lang or unit.language, now, person)))
        roster_post = await repo.activities.add_post(call_id, user_id, "text", now)
        await repo.calls.sent(call_id, roster_post, len(groups), len(people))
        call = await repo.calls.call(call_id)
        assert call is not None
        roster, controls = await self._roster(unit, activity, call)
        unit.send(ui.edit_text(chat_id, message_id, unit.t(
            "calls.sent", id=call_id, groups=len(groups), people=len(people))))
        unit.send(ui.message(user_id, roster, controls, purpose="post", post_id=roster_post))
        await repo.timers.schedule(END_TIMER, float(data["until"]), now, activity_id=call_id)
        if draft_back:
            await self.loop.back_to_draft(unit)
        return Answer(unit.t("calls.sent_toast"))

    def _private_copy(self, activity: Activity, lang: str, now: float,
                      person: int) -> Outgoing:
        """The call as a volunteer gets it in private, with I'm in."""
        lines = [self.env.t(lang, "calls.card_header", id=activity.id),
                 *self._lines(lang, activity.description, activity.place, activity.ends_at,
                              activity.capacity, now)]
        return ui.message(person, "\n".join(lines), ui.inline([[
            (self.env.t(lang, "calls.im_in_private"), buttons.CALL_IN.data(activity.id))]]))

    # -- the card in groups, the roster in the admin's chat ----------------------------------

    async def post_in_team_group(self, unit: Unit, team_id: str, chat_id: int) -> None:
        """A team's group just bound: the cards of the calls to the team still open come
        there (once: a group that has a call's card is not sent another)."""
        now = unit.now()
        for activity in await unit.repo.activities.open_calls_without_card_in(team_id, chat_id,
                                                                              now):
            text, markup = self.card(activity, now)
            post_id = await unit.repo.activities.add_post(activity.id, chat_id, "text", now)
            unit.send(ui.message(chat_id, text, markup, purpose="post", post_id=post_id,
                                 thread_id=await unit.repo.activities.team_topic(
                                     chat_id, [team_id])))

    def card(self, activity: Activity, now: float) -> tuple[str, dict[str, Any] | None]:
        """The card as groups see it (the district's language): how many have answered of
        how many needed, and I'm in while the call is open. No names: those are the
        admin's."""
        lang = self.env.config.default_language
        t = self.env.t
        lines = [t(lang, "calls.card_header", id=activity.id),
                 *self._lines(lang, activity.description, activity.place, activity.ends_at,
                              activity.capacity, now),
                 t(lang, "calls.card_answered", answered=activity.signed,
                   needed=activity.capacity)]
        status = self._status_line(lang, activity)
        if status:
            lines.append(status)
        if not self._open(activity, now):
            return "\n".join(lines), None
        return "\n".join(lines), ui.inline([[(t(lang, "calls.im_in", answered=activity.signed,
                                                 needed=activity.capacity),
                                               buttons.CALL_IN.data(activity.id))]])

    def _status_line(self, lang: str, activity: Activity) -> str:
        t = self.env.t
        if activity.status == ACTIVITY_CANCELLED:
            return t(lang, "calls.card_cancelled")
        if activity.status != ACTIVITY_OPEN:
            return t(lang, "calls.card_closed")
        if activity.signed >= activity.capacity:
            return t(lang, "calls.card_filled")
        return ""

    @staticmethod
    def _open(activity: Activity, now: float) -> bool:
        return activity.status == ACTIVITY_OPEN and now < activity.ends_at

    async def _roster(self, unit: Unit, activity: Activity,
                      call: Call) -> tuple[str, dict[str, Any] | None]:
        """The admin's live roster: who answered, in order, those beyond the number needed
        as reserves; the controls under it."""
        admin = activity.organiser_id
        lang = await self.loop.language_of(unit.repo, admin)
        t = self.env.t
        lines = [t(lang, "calls.roster_title", id=activity.id, what=activity.title),
                 t(lang, "calls.roster_count", answered=activity.signed,
                   needed=activity.capacity, groups=call.groups, people=call.people)]
        status = self._status_line(lang, activity)
        if status:
            lines.append(status)
        answers = await unit.repo.activities.signups(activity.id)
        if not answers:
            lines.append(t(lang, "calls.roster_empty"))
        for number, answer in enumerate(answers[:ROSTER_SHOWN], 1):
            if number == activity.capacity + 1:
                lines.append(t(lang, "calls.roster_reserves"))
            user = await unit.repo.people.user(answer.user_id)
            name = user.first_name if user is not None and user.first_name else str(
                answer.user_id)
            if user is not None and user.username:
                name = f"{name} (@{user.username})"
            lines.append(t(lang, "calls.roster_line", n=number, name=name,
                           at=self._time(answer.joined_at, unit.now(), lang)))
        if len(answers) > ROSTER_SHOWN:
            lines.append(t(lang, "calls.roster_more", more=len(answers) - ROSTER_SHOWN))
        return ui.clip_html("\n".join(lines), ui.TEXT_MAX), self._controls(lang, activity)

    def _controls(self, lang: str, activity: Activity) -> dict[str, Any] | None:
        """Check in by hand and confirm the hours (the activities' own controls); close and
        cancel while it is open."""
        if activity.status == ACTIVITY_CANCELLED:
            return None
        t, manage = self.env.t, buttons.MANAGE
        rows = [[(t(lang, "manage.hand"), manage.data(activity.id, "hand")),
                 (t(lang, "manage.confirm"), manage.data(activity.id, "confirm"))]]
        if activity.status == ACTIVITY_OPEN:
            rows.append([(t(lang, "calls.close"), buttons.CALL_MANAGE.data(activity.id, "close")),
                         (t(lang, "calls.cancel_call"),
                          buttons.CALL_MANAGE.data(activity.id, "cancel"))])
        return ui.inline(rows)

    async def redraw(self, unit: Unit, call_id: int) -> None:
        """Queue the current state of the call's cards and the admin's roster (the sender
        skips an edit that a later one of the same message makes moot)."""
        activity = await unit.repo.activities.activity(call_id)
        call = await unit.repo.calls.call(call_id)
        if activity is None or call is None:
            return
        text, markup = self.card(activity, unit.now())
        for post in await unit.repo.activities.posts(call_id):
            if post.id == call.roster_post:
                roster, controls = await self._roster(unit, activity, call)
                unit.send(ui.post_edit(post.chat_id, post.id, roster, controls))
            else:
                unit.send(ui.post_edit(post.chat_id, post.id, text, markup))

    # -- I'm in, and Can't come after all ----------------------------------------------------

    async def _call(self, unit: Unit, call_id: int) -> Activity | None:
        activity = await unit.repo.activities.activity(call_id)
        return activity if activity is not None and activity.is_call else None

    async def respond(self, unit: ActorUnit, call_id: int,
                      pressed: tuple[int, int] | None = None) -> Answer:
        """I'm in: one tap; told in private with the details, the cards and roster redrawn.
        `pressed`: the card in a group it came from (chat, message), seen to carry the
        button."""
        taken = (await self.board.take_on(unit, call_id, *pressed, call=True)
                 if pressed is not None else None)
        answer = await self._respond(unit, call_id)
        activity = await self._call(unit, call_id)
        if pressed is not None and taken is not None and answer.alert and activity is not None:
            text, markup = self.card(activity, unit.now())  # refused: nothing drew this copy
            unit.send(ui.post_edit(pressed[0], taken, text, markup))
        return answer

    async def _respond(self, unit: ActorUnit, call_id: int) -> Answer:
        repo = unit.repo
        activity = await self._call(unit, call_id)
        if activity is None:
            return Answer(unit.t("calls.no_such_call"), alert=True)
        refusal = await self._refusal(unit, activity)
        if refusal:
            return Answer(refusal, alert=True)
        user = unit.user
        if user is None or not user.started or user.blocked:
            return Answer(unit.t("calls.open_bot_first", bot=self.env.bot_username),
                          alert=True, url=self.start_link(call_id))
        if await repo.activities.signup_of(call_id, unit.user_id) is not None:
            return Answer(unit.t("calls.already_in", id=call_id), alert=True)
        await repo.activities.sign_up(call_id, unit.user_id, False, unit.now())
        fresh = await repo.activities.activity(call_id)
        assert fresh is not None
        if fresh.signed >= fresh.capacity and await repo.calls.mark_filled(call_id, unit.now()):
            lang = await self.loop.language_of(repo, fresh.organiser_id)
            # Someone else's press: at night it must not wake the admin (bot/night.py).
            unit.send(night.at_night(self.env, "calls.filled_notice", ui.message(
                fresh.organiser_id, self.env.t(lang, "calls.filled_notice", id=call_id,
                                               what=fresh.title, needed=fresh.capacity))))
        await self.redraw(unit, call_id)
        unit.send(self._confirmation(unit, fresh, fresh.signed))
        return Answer(unit.t("calls.in_toast"))

    async def _refusal(self, unit: ActorUnit, activity: Activity) -> str:
        """Why this person cannot answer this call now ('' if they can)."""
        if activity.status == ACTIVITY_CANCELLED:
            return unit.t("calls.was_cancelled", id=activity.id)
        if not self._open(activity, unit.now()):
            return unit.t("calls.is_closed", id=activity.id)
        if self.env.config.activities.signup_mode == "registered":
            volunteer = await unit.repo.volunteers.volunteer(unit.user_id)
            if volunteer is None or volunteer.status != "approved":
                return unit.t("signup.registered_only")
        return ""

    def _confirmation(self, unit: ActorUnit, activity: Activity, number: int) -> list[Outgoing]:
        """The private message after I'm in: the details, where they stand, Can't come after
        all (and Check in here, with the map point, when the place is on the map)."""
        if number <= activity.capacity:
            head = unit.t("calls.you_are_in", id=activity.id, n=number,
                          needed=activity.capacity)
        else:
            head = unit.t("calls.you_are_reserve", id=activity.id, n=number - activity.capacity,
                          needed=activity.capacity)
        lines = [head, *self._lines(unit.language, activity.description, activity.place,
                                    activity.ends_at, activity.capacity, unit.now()),
                 unit.t("calls.check_in_hint")]
        rows = [[(unit.t("calls.cant_come"), buttons.CALL_OUT.data(activity.id))]]
        out = []
        if activity.latitude is not None and activity.longitude is not None:
            rows.append([(unit.t("attendance.check_in_here"),
                          buttons.CHECK_IN_HERE.data(activity.id))])
            out.append(ui.location(unit.user_id, activity.latitude, activity.longitude))
        out.insert(0, ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX),
                                 ui.inline(rows)))
        return out

    async def show(self, unit: ActorUnit, call_id: int) -> None:
        """A call in private (a card's link): its details and I'm in (or where one stands)."""
        repo = unit.repo
        activity = await self._call(unit, call_id)
        if activity is None:
            unit.send(ui.message(unit.user_id, unit.t("calls.no_such_call")))
            return
        mine = await repo.activities.signup_of(call_id, unit.user_id)
        if mine is not None:
            answers = await repo.activities.signups(call_id)
            number = next(n for n, a in enumerate(answers, 1) if a.user_id == unit.user_id)
            unit.send(self._confirmation(unit, activity, number))
            return
        refusal = await self._refusal(unit, activity)
        if refusal:
            unit.send(ui.message(unit.user_id, refusal))
            return
        unit.send(self._private_copy(activity, unit.language, unit.now(), unit.user_id))

    async def withdraw(self, unit: ActorUnit, call_id: int, chat_id: int,
                       message_id: int) -> Answer:
        """Can't come after all: the answer is withdrawn, the first reserve (if one moves up
        into the number needed) is told, the cards and roster redrawn."""
        repo = unit.repo
        activity = await self._call(unit, call_id)
        mine = (await repo.activities.signup_of(call_id, unit.user_id)
                if activity is not None else None)
        if activity is None or mine is None:
            return Answer(unit.t("calls.not_in"), alert=True)
        if activity.status == ACTIVITY_CANCELLED:
            return Answer(unit.t("calls.was_cancelled", id=call_id), alert=True)
        if activity.confirmed_at is not None or unit.now() >= activity.ends_at:
            # Past its deadline nobody is needed any more (a reserve is not called up for
            # it), and a no-show's answer stays on the confirmed list.
            return Answer(unit.t("calls.over_already", id=call_id), alert=True)
        if mine.checked_in_at is not None:
            return Answer(unit.t("calls.checked_in_already"), alert=True)
        before = await repo.activities.signups(call_id)
        position = next(n for n, a in enumerate(before, 1) if a.id == mine.id)
        await repo.activities.cancel_signup(mine.id, unit.now())
        if position <= activity.capacity < len(before):
            moved = before[activity.capacity]  # the first reserve, now within the number
            lang = await self.loop.language_of(repo, moved.user_id)
            unit.send(night.at_night(self.env, "calls.moved_up", ui.message(
                moved.user_id, self.env.t(lang, "calls.moved_up", id=call_id,
                                          what=activity.title, place=activity.place))))
        await self.redraw(unit, call_id)
        unit.send(ui.edit_text(chat_id, message_id, unit.t("calls.withdrawn", id=call_id,
                                                           what=activity.title)))
        return Answer(unit.t("calls.withdrawn_toast"))

    # -- the admin's controls ----------------------------------------------------------------

    async def manage(self, unit: ActorUnit, call_id: int, action: str) -> Answer:
        """Close the call (enough people, or no more wanted), or ask before cancelling it."""
        activity = await self._call(unit, call_id)
        refusal = await self.publishing.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if activity.status != ACTIVITY_OPEN:
            return Answer(unit.t("calls.ended_already", id=call_id), alert=True)
        if action == "cancel":
            choice = buttons.CALL_CANCEL
            unit.send(ui.message(unit.user_id, unit.t(
                "calls.confirm_cancel", id=call_id, what=activity.title, count=activity.signed),
                ui.inline([[(unit.t("calls.cancel_yes"), choice.data(call_id, "y")),
                            (unit.t("calls.cancel_no"), choice.data(call_id, "n"))]])))
            return Answer()
        await self._end(unit, activity, "closed", unit.user_id)
        unit.send(ui.message(unit.user_id, unit.t("calls.closed_done", id=call_id,
                                                  answered=activity.signed)))
        return Answer(unit.t("calls.closed_toast"))

    async def cancel(self, unit: ActorUnit, call_id: int, confirmed: bool, chat_id: int,
                     message_id: int) -> Answer:
        """Yes or No under "Cancel this call?": everyone who answered is told not to come."""
        repo = unit.repo
        activity = await self._call(unit, call_id)
        refusal = await self.publishing.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if not confirmed:
            unit.send(ui.edit_text(chat_id, message_id, unit.t("calls.kept", id=call_id)))
            return Answer()
        answers = await repo.activities.signups(call_id)
        if not await self._end(unit, activity, "cancelled", unit.user_id):
            return Answer(unit.t("calls.ended_already", id=call_id), alert=True)
        for answer in answers:
            lang = await self.loop.language_of(repo, answer.user_id)
            unit.send(night.at_night(self.env, "calls.cancelled_notice", ui.message(
                answer.user_id, self.env.t(lang, "calls.cancelled_notice", id=call_id,
                                           what=activity.title))))
        unit.send(ui.edit_text(chat_id, message_id, unit.t(
            "calls.cancelled", id=call_id, count=len(answers))))
        return Answer(unit.t("calls.cancelled_call_toast"))

    async def _end(self, unit: Unit, activity: Activity, outcome: str, by: int | None) -> bool:
        """Close, expire or cancel the call: its cards lose I'm in; False if it had ended."""
        reason = (self.env.t(activity.language, "calls.cancel_reason")
                  if outcome == "cancelled" else None)
        if not await unit.repo.calls.end(activity.id, outcome, by, reason, unit.now()):
            return False
        await unit.repo.timers.cancel_timers(unit.now(), activity_id=activity.id)
        await self.redraw(unit, activity.id)
        return True

    # -- the deadline ------------------------------------------------------------------------

    async def fire(self, unit: Unit, timer: Timer) -> None:
        """A timer of loop 2: a call's deadline closes it (the admin is told how it went);
        every other goes to the activities'."""
        if timer.kind != END_TIMER:
            await self.activity_timers(unit, timer)
            return
        activity = await self._call(unit, timer.activity_id or 0)
        if activity is None or activity.status != ACTIVITY_OPEN:
            return
        if not await self._end(unit, activity, "expired", None):
            return
        lang = await self.loop.language_of(unit.repo, activity.organiser_id)
        # How it went can wait for the morning: the call is over and nothing the admin does
        # next (the attendance list) is due before then. The roster says it at once, quietly.
        unit.send(night.at_night(self.env, "calls.expired_notice", ui.message(
            activity.organiser_id, self.env.t(
                lang, "calls.expired_notice", id=activity.id, what=activity.title,
                answered=activity.signed, needed=activity.capacity))))
