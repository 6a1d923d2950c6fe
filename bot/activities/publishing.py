"""Publishing an activity: the organiser's guided dialog in private, the preview, and the
recruitment cards it posts; then closing sign-up and cancelling.

Who may publish: a centre admin for any team, an area admin for the teams of their areas, a
team leader (teams file, `leader_id`) for their own team. The dialog is a `dialogs` row like
every other flow, so a restart in the middle loses nothing; every answer is checked where it
is typed, with one line saying what is wrong, and checked again at Publish (a preview left
overnight may have a start that has passed).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import buttons, night, ui
from bot.activities import render
from bot.activities.board import Board
from bot.activities.themes import MonthThemes
from bot.config import Team
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.people.roles import Roles
from bot.requests.loop import RequestLoop
from bot.unit import ActorUnit, Unit, cards_stay, topic_to_bind
from storage import Activity, Dialog, Outgoing
from storage.models import ACTIVITY_CANCELLED, ACTIVITY_CLOSED, ACTIVITY_OPEN

# The questions, in order; each is the key its answer is kept under.
STEPS = ("title", "team", "area", "place", "point", "start", "end", "capacity", "leader",
         "theme", "poster", "description")
PREVIEW = "preview"
TITLE_MAX = 60
PLACE_MAX = 100
DESCRIPTION_MAX = 1000
CAPACITY_MAX = 10_000
CAPACITIES = (10, 20, 30, 50)  # the buttons; any other number is typed
TEAM_BUTTONS = 8  # more teams than this are found by typing part of the name
QUARTER_HOUR = 900.0
DAYS_AHEAD = 366  # an activity more than a year ahead is taken for a typo
OVERNIGHT = 12 * 3600.0  # a bare end before the start is after midnight within this
ECHO_MAX = 50  # what a reply quotes back of a typed answer it could not use
# 2027-03-05 09:00, 2027/3/5 9:00, 3-5 9:00, 3月5日 9点, 2027年3月5日 9:30 (after NFKC, so
# full-width digits and colons typed with a Chinese keyboard count too).
_MOMENT = re.compile(r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?\s*"
                     r"(\d{1,2})\s*(?:[:点时]\s*(\d{1,2})?\s*分?)?$")
_CLOCK = re.compile(r"^(\d{1,2})\s*(?:[:点时]\s*(\d{1,2})?\s*分?)?$")
_NUMBER = re.compile(r"^[0-9]{1,6}$")


class Publishing:
    """The organisers' side of activities: publish, close sign-up, cancel."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, themes: MonthThemes,
                 board: Board, quiet_until: Callable[[float], float | None]) -> None:
        self.env = env
        self.quiet_until = quiet_until  # the schedule's quiet hours
        self.loop = loop  # its dialog helpers keep a request form under this dialog
        self.roles = roles
        self.themes = themes
        self.board = board
        # The calls to a team still open, posted in its group just bound (bot/wiring.py sets
        # it to Calls.post_in_team_group: calls.py imports this module).
        self.open_calls_to: Callable[[Unit, str, int], Awaitable[None]] | None = None

    # -- who may publish for which team ------------------------------------------------------

    async def teams_for(self, unit: Unit, user_id: int) -> list[Team]:
        """The teams this person may publish for."""
        teams = list(self.env.config.volunteering.teams)
        if self.roles.is_centre(user_id):
            return teams
        role = await self.roles.of(unit.repo, user_id)
        return [team for team in teams if team.leader_id == user_id
                or (role is not None and team.area_id is not None and role.covers(team.area_id))]

    async def may_manage(self, unit: Unit, user_id: int, activity: Activity) -> bool:
        """A centre admin, an area admin of its area, the on-site leader someone else named,
        and the organiser while their role still reaches it: a role is read at every press,
        since one taken back must not keep the buttons it handed out."""
        if self.roles.is_centre(user_id):
            return True
        role = await self.roles.of(unit.repo, user_id)
        if role is not None and activity.area_id is not None and role.covers(activity.area_id):
            return True
        if activity.is_call:  # its leader is the admin who sent it: their role decides
            call = await unit.repo.calls.call(activity.id)
            return (user_id == activity.organiser_id and call is not None
                    and await self.reaches(unit, user_id, call.district, call.areas, call.teams))
        if user_id == activity.leader_id != activity.organiser_id:
            return True  # named for the day by the organiser, and nothing else takes it back
        return user_id == activity.organiser_id and await self.may_publish(
            unit, user_id, activity.team_id, activity.area_id)

    async def manage_refusal(self, unit: ActorUnit, activity: Activity | None) -> str:
        """Why the presser may not manage this activity or call now ('' if they may): an
        organiser who lost the role is told so, anyone else that it is not theirs."""
        if activity is not None and await self.may_manage(unit, unit.user_id, activity):
            return ""
        if activity is None or unit.user_id != activity.organiser_id:
            return unit.t("manage.not_yours")
        if activity.is_call:
            return unit.t("calls.no_longer_yours", id=activity.id)
        return unit.t("manage.no_longer_yours", title=activity.title)

    async def may_publish(self, unit: Unit, user_id: int, team_id: str,
                          area_id: str | None) -> bool:
        """Whether this person may publish for this team in this area now."""
        if team_id not in {t.id for t in await self.teams_for(unit, user_id)}:
            return False
        return await self.area_allowed(unit, user_id, area_id)

    async def _still_allowed(self, unit: ActorUnit, data: dict[str, Any]) -> bool:
        """Whether a publishing dialog's author may still publish what it holds so far: for
        its team in its area once chosen, for its team once that is, else for some team."""
        if "area" in data:
            return await self.may_publish(unit, unit.user_id, data["team"], data["area"])
        teams = {team.id for team in await self.teams_for(unit, unit.user_id)}
        return data["team"] in teams if "team" in data else bool(teams)

    async def reaches(self, unit: Unit, user_id: int, district: bool, areas: Sequence[str],
                      teams: Sequence[str]) -> bool:
        """Whether this admin's role now reaches a call's whole audience (the district: a
        centre admin's only)."""
        role = await self.roles.of(unit.repo, user_id)
        if role is None or role.centre:
            return role is not None
        mine = {t.id for t in await self.teams_for(unit, user_id)}
        return (not district and all(role.covers(area) for area in areas)
                and all(team in mine for team in teams))

    async def bind_team(self, unit: ActorUnit, chat_id: int, chat_title: str,
                        chat_is_group: bool, team_id: str) -> None:
        """/bind team <id>, typed in a group: it becomes the team's own group, where its
        activities are posted (a centre admin for any team, an area admin for their areas')."""
        team = self.env.config.volunteering.team(team_id.lower())
        role = await self.roles.of(unit.repo, unit.user_id)
        if not chat_is_group:
            text = unit.t("publish.bind_in_group")
        elif team is None:
            text = unit.t("publish.bind_unknown_team", team=team_id, teams=", ".join(
                t.id for t in self.env.config.volunteering.teams) or "—")
        elif role is None or not (role.centre or (team.area_id is not None
                                                  and role.covers(team.area_id))):
            text = unit.t("publish.bind_not_yours", team=team.name(unit.language))
        else:
            # Typed in a forum's topic: the team's cards go to that topic, not General.
            topic = await topic_to_bind(unit, chat_id)
            before = await unit.repo.activities.team_place(team.id)
            await unit.repo.activities.bind_team(team.id, chat_id, chat_title, unit.user_id,
                                                 unit.now(), topic.thread_id if topic else None,
                                                 topic.name if topic else "")
            name = team.name(unit.language)
            stay = await cards_stay(unit, before, chat_id, topic.thread_id if topic else None,
                                    lambda away: unit.repo.activities.open_with_card_in(
                                        team.id, chat_id, unit.now(), away))
            unit.send(ui.message(chat_id, (unit.t(
                "publish.bound_team_topic", team=name, topic=topic.name or topic.thread_id)
                if topic else unit.t("publish.bound_team", team=name)) + stay))
            # The team's activities still taking sign-ups come to its group now (one that
            # lost the bot had them; a first group never did).
            for activity in await unit.repo.activities.open_without_card_in(
                    team.id, chat_id, unit.now()):
                await self.board.post_in(unit, activity,
                                         [(chat_id, topic.thread_id if topic else None)])
            if self.open_calls_to is not None:  # and the recruitment calls to it still open
                await self.open_calls_to(unit, team.id, chat_id)
            return
        unit.send(ui.message(chat_id, text))

    # -- /publish ----------------------------------------------------------------------------

    async def command(self, unit: ActorUnit) -> None:
        """/publish: start the dialog (a request form in progress is kept under it)."""
        user_id = unit.user_id
        teams = await self.teams_for(unit, user_id)
        if not teams:
            key = ("publish.no_teams" if not self.env.config.volunteering.teams
                   else "publish.not_allowed")
            unit.send(ui.message(user_id, unit.t(key)))
            return
        if await self.loop.form_again(unit, Flow.PUBLISH, "/publish"):
            return  # the one begun is kept, never replaced by a blank one
        data: dict[str, Any] = {"id": secrets.token_hex(3)}
        await self.loop.push_dialog(unit, Flow.PUBLISH, STEPS[0], data)
        unit.send(ui.message(user_id, "\n".join(
            [unit.t("publish.intro", steps=len(STEPS)), self._question(unit, "title")])))

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A typed answer (or a photo, or a location) of the dialog: checked, kept, and the
        next question asked."""
        user_id, step = unit.user_id, dialog.step
        if step == PREVIEW:
            return [ui.message(user_id, unit.t("publish.use_buttons"))]
        if step not in STEPS:  # a step no version of this dialog has: start again cleanly
            await self.loop.pop_dialog(unit.repo, user_id, Flow.PUBLISH)
            return [ui.message(user_id, unit.t("publish.dialog_lost"))]
        if said.kind == "command":
            return [ui.message(user_id, unit.t("publish.command_mid_dialog"))]
        if not await self._still_allowed(unit, dialog.data):
            # A role taken back (or narrowed) mid-dialog: it ends at the next answer, as the
            # preview's Publish would end it, rather than take answers it can never publish.
            await self.loop.pop_dialog(unit.repo, user_id, Flow.PUBLISH)
            key = "publish.ended_not_allowed" if "team" in dialog.data else "publish.ended_no_role"
            return [ui.message(user_id, unit.t(key))]
        album = dialog.data.get("poster_album")
        if said.kind == "photo" and album and said.media_group_id == album:
            return []  # the rest of the poster's album: one poster is enough, said once
        answer = await self._read(unit, dialog, step, said)
        if isinstance(answer, str):  # what is wrong, and the question again
            return [ui.message(user_id, answer, self._step_buttons(unit, dialog, step))]
        return await self._advance(unit, dialog, answer)

    async def on_button(self, unit: ActorUnit, draft: str, action: str, arg: str,
                        chat_id: int, message_id: int) -> Answer:
        """A button of the dialog: a team, an area, a capacity, Me, a theme, Skip, Publish,
        Cancel. A press is never trusted: the dialog, its step and the choice are checked."""
        user_id = unit.user_id
        dialog = await self.loop.pressed_form(unit, Flow.PUBLISH, draft)
        if isinstance(dialog, str):  # kept under another: it waits, unchanged
            return Answer(dialog, alert=True)
        if dialog is None:
            published = await unit.repo.activities.published_from(draft, user_id)
            if published is not None:
                return Answer(unit.t("publish.already_published", id=published.id), alert=True)
            return Answer(unit.t("publish.form_closed"), alert=True)
        step = dialog.step
        if action == "cancel":
            draft_back = await self.loop.pop_dialog(unit.repo, user_id, Flow.PUBLISH)
            unit.send(ui.message(user_id, unit.t("publish.cancelled")))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("publish.cancelled_toast"))
        if action == "publish" and step == PREVIEW:
            return await self._publish(unit, dialog, chat_id, message_id)
        if not await self._still_allowed(unit, dialog.data):  # a step's button, as typed
            draft_back = await self.loop.pop_dialog(unit.repo, user_id, Flow.PUBLISH)
            key = "publish.ended_not_allowed" if "team" in dialog.data else "publish.ended_no_role"
            unit.send(ui.message(user_id, unit.t(key)))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("publish.not_yours_now"), alert=True)
        choice: dict[str, Any] | None = None
        if action == "team" and step == "team":
            team = next((t for t in await self.teams_for(unit, user_id) if t.id == arg), None)
            choice = {"team": team.id} if team is not None else None
        elif action == "area" and step == "area":
            choice = {"area": arg or None} if await self._area_allowed(unit, arg or None) else None
        elif action == "skip" and step in ("point", "poster"):
            choice = {"point": None} if step == "point" else {"poster": None}
        elif action == "cap" and step == "capacity" and _NUMBER.match(arg):
            choice = {"capacity": int(arg)} if 0 < int(arg) <= CAPACITY_MAX else None
        elif action == "me" and step == "leader":
            choice = {"leader": user_id, "leader_name": unit.who.first_name}
        elif action == "theme" and step == "theme" and arg in ("y", "n"):
            choice = {"theme": arg == "y"}
        if choice is None:
            return Answer(unit.t("publish.button_old"), alert=True)
        unit.send(await self._advance(unit, dialog, choice))
        return Answer()

    # -- reading the answers -----------------------------------------------------------------

    async def _read(self, unit: ActorUnit, dialog: Dialog, step: str,
                    said: Said) -> dict[str, Any] | str:
        """The answer of `step` as data to keep, or the one line that says what is wrong."""
        text = unicodedata.normalize("NFKC", said.text).strip() if said.kind == "text" else ""
        if step == "point":
            if said.kind == "location" and said.latitude is not None:
                return {"point": [said.latitude, said.longitude]}
            return unit.t("publish.want_location")
        if step == "poster":
            if said.kind == "photo" and said.file_id:
                poster: dict[str, Any] = {"poster": said.file_id,
                                          "poster_album": said.media_group_id}
                caption = said.text.strip()
                if caption and ui.units(caption) <= DESCRIPTION_MAX:
                    poster["description"] = caption  # the caption says what the poster shows
                return poster
            return unit.t("publish.want_photo")
        if said.kind != "text" or not text:
            return unit.t("publish.want_text", what=unit.t(f"publish.what.{step}"))
        if step in ("title", "place"):
            limit = TITLE_MAX if step == "title" else PLACE_MAX
            if "\n" in text:
                return unit.t("publish.one_line", what=unit.t(f"publish.what.{step}"))
            if ui.units(text) > limit:
                return unit.t("publish.too_long", what=unit.t(f"publish.what.{step}"),
                              count=ui.units(text), max=limit)
            return {step: text}
        if step == "description":
            if ui.units(text) > DESCRIPTION_MAX:
                return unit.t("publish.too_long", what=unit.t("publish.what.description"),
                              count=ui.units(text), max=DESCRIPTION_MAX)
            return {"description": text}
        if step == "team":
            return await self._find_team(unit, text)
        if step == "area":
            return await self._find_area(unit, text)
        if step == "start":
            return self._read_start(unit, text)
        if step == "end":
            return self._read_end(unit, dialog, text)
        if step == "capacity":
            if not _NUMBER.match(text) or not 0 < int(text) <= CAPACITY_MAX:
                return unit.t("publish.bad_capacity", max=CAPACITY_MAX)
            return {"capacity": int(text)}
        if step == "leader":
            person = await self.roles.find_user(unit.repo, text)
            if person is None or not person.started:
                return unit.t("publish.unknown_leader", who=ui.clip(text, ECHO_MAX))
            return {"leader": person.user_id, "leader_name": person.first_name}
        return unit.t("publish.use_buttons")  # theme: buttons only

    async def _find_team(self, unit: ActorUnit, text: str) -> dict[str, Any] | str:
        word = text.casefold()
        teams = await self.teams_for(unit, unit.user_id)
        exact = [t for t in teams if t.id.casefold() == word
                 or any(n.casefold() == word for n in t.names.values())]
        found = exact or [t for t in teams if word in t.id.casefold()
                          or any(word in n.casefold() for n in t.names.values())]
        if len(found) == 1:
            return {"team": found[0].id}
        if not found:
            return unit.t("publish.no_such_team", word=ui.clip(text, ECHO_MAX))
        return unit.t("publish.several_teams", count=len(found))

    async def _find_area(self, unit: ActorUnit, text: str) -> dict[str, Any] | str:
        tree = self.env.config.areas
        word = text.casefold()
        if tree is None:
            return unit.t("publish.use_buttons")
        found = [a.id for a in tree.areas.values()
                 if a.id.casefold() == word or any(n.casefold() == word for n in a.names.values())]
        if not found:
            return unit.t("publish.no_such_area", word=ui.clip(text, ECHO_MAX))
        if not await self._area_allowed(unit, found[0]):
            return unit.t("publish.area_not_yours", area=render.area_name(
                self.env, found[0], unit.language))
        return {"area": found[0]}

    async def _area_allowed(self, unit: ActorUnit, area_id: str | None) -> bool:
        return await self.area_allowed(unit, unit.user_id, area_id)

    async def area_allowed(self, unit: Unit, user_id: int, area_id: str | None) -> bool:
        """A centre admin: any area, or the whole district; an area admin: their areas; a
        team leader: their team's area only."""
        tree = self.env.config.areas
        if area_id is not None and (tree is None or area_id not in tree):
            return False
        if self.roles.is_centre(user_id):
            return True
        role = await self.roles.of(unit.repo, user_id)
        if role is not None and area_id is not None and role.covers(area_id):
            return True
        teams = [t for t in await self.teams_for(unit, user_id) if t.leader_id == user_id]
        return any(t.area_id == area_id for t in teams)

    def _read_start(self, unit: ActorUnit, text: str) -> dict[str, Any] | str:
        moment = self._moment(text)
        if moment is None:
            return unit.t("publish.bad_time", example=self._example(unit.now()))
        if moment <= unit.now():
            return unit.t("publish.start_past")
        if moment > unit.now() + DAYS_AHEAD * 86400:
            return unit.t("publish.start_too_far")
        return {"start": moment}

    def _read_end(self, unit: ActorUnit, dialog: Dialog, text: str) -> dict[str, Any] | str:
        start = float(dialog.data["start"])
        zone = self.env.config.timezone
        clock = _CLOCK.match(text)
        if clock is not None:
            hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
            if hour > 23 or minute > 59:
                return unit.t("publish.bad_end")
            at = datetime.fromtimestamp(start, zone).replace(hour=hour, minute=minute)
            # A time on the clock before the start's is the next day's when that makes a
            # night's activity (22:00 to 00:30 on New Year's Eve); else a slip, refused below.
            after_midnight = datetime.combine(at.date() + timedelta(days=1), at.time(),
                                              tzinfo=zone).timestamp()
            same_day = at.timestamp()
            end: float | None = (after_midnight if same_day <= start
                                 and after_midnight - start <= OVERNIGHT else same_day)
        else:
            end = self._moment(text, near=start)
        if end is None:
            return unit.t("publish.bad_end")
        if end <= start:
            return unit.t("publish.end_before_start", start=render_time(self.env, start))
        longest = self.env.config.activities.max_length
        if end - start > longest:
            return unit.t("publish.too_long_activity", hours=round(longest / 3600))
        return {"end": end}

    def read_moment(self, text: str) -> float | None:
        """A local date and time typed in one of the usual ways (recruitment calls' too)."""
        return self._moment(text)

    def _moment(self, text: str, near: float | None = None) -> float | None:
        """A local date and time typed in one of the usual ways; without a year, the next
        such date from now (or from `near`)."""
        match = _MOMENT.match(text)
        if match is None:
            return None
        year, month, day, hour, minute = (int(g) if g else None for g in match.groups())
        assert month is not None and day is not None and hour is not None
        zone = self.env.config.timezone
        base = datetime.fromtimestamp(near if near is not None else self.env.now(), zone)
        try:
            moment = datetime(year or base.year, month, day, hour, minute or 0, tzinfo=zone)
        except ValueError:  # 2月30日, 25:00; or 2-29 in a year without one: next year's?
            if year is not None:
                return None
            try:
                moment = datetime(base.year + 1, month, day, hour, minute or 0, tzinfo=zone)
            except ValueError:
                return None
        if year is None and moment < base - timedelta(days=1):
            try:
                moment = moment.replace(year=moment.year + 1)
            except ValueError:  # 29 February
                return None
        return moment.timestamp()

    def _example(self, now: float) -> str:
        """Tomorrow at nine, as an example of what to type."""
        day = datetime.fromtimestamp(now, self.env.config.timezone) + timedelta(days=1)
        return f"{day:%Y-%m-%d} 09:00"

    # -- moving on ---------------------------------------------------------------------------

    async def _advance(self, unit: ActorUnit, dialog: Dialog,
                       answer: dict[str, Any]) -> list[Outgoing]:
        """Keep the answer, skip the steps that have only one possible answer, and ask the
        next question (or show the preview)."""
        data = {**dialog.data, **answer}
        step = _after(dialog.step)
        if data.get("again"):  # only the start was asked again (see _publish)
            step = "end" if dialog.step == "start" and not self._end_fits(data) else PREVIEW
            if step == PREVIEW:
                del data["again"]
        while step != PREVIEW:
            automatic = await self._only_answer(unit, data, step)
            if automatic is None:
                break
            data.update(automatic)
            step = _after(step)
        dialog = await self.loop.move_dialog(unit.repo, dialog, step, data)
        if step == PREVIEW:
            return [await self._preview(unit, data)]
        return [ui.message(unit.user_id, self._question(unit, step),
                           await self._buttons(unit, dialog, step))]

    def _end_fits(self, data: dict[str, Any]) -> bool:
        """The end given still comes after the start, and not too long after it."""
        start, end = float(data["start"]), float(data["end"])
        return start < end <= start + self.env.config.activities.max_length

    async def resumed(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """The dialog back on top after one that came in its middle (Nearest to me, a
        check-in …) ended: which activity, and its question (or preview) again."""
        data, step = dialog.data, dialog.step
        if step != PREVIEW and step not in STEPS:
            return []
        title = data.get("title")
        back = ui.message(unit.user_id, unit.t("publish.back_titled", title=title) if title
                          else unit.t("publish.back"))
        if step == PREVIEW:
            return [back, await self._preview(unit, data)]
        return [back, ui.message(unit.user_id, self._question(unit, step),
                                 await self._buttons(unit, dialog, step))]

    async def _only_answer(self, unit: ActorUnit, data: dict[str, Any],
                           step: str) -> dict[str, Any] | None:
        """The answer a step has when there is no choice: one team; a team leader's area."""
        if step == "team":
            teams = await self.teams_for(unit, unit.user_id)
            return {"team": teams[0].id} if len(teams) == 1 else None
        if step == "area":
            team = self.env.config.volunteering.team(data.get("team"))
            tree = self.env.config.areas
            if tree is None:
                return {"area": None}
            role = await self.roles.of(unit.repo, unit.user_id)
            if role is None and team is not None:  # a team leader: their team's area
                return {"area": team.area_id}
        if step == "theme":
            month = self._month_of(data)
            theme = await self.themes.theme_of(unit, *month, unit.language)
            return {"theme": False} if theme is None else None
        if step == "description" and data.get("description"):
            return {"description": data["description"]}  # the poster's caption
        return None

    def _question(self, unit: ActorUnit, step: str) -> str:
        """The question of one step, with its number."""
        values: dict[str, Any] = {"step": STEPS.index(step) + 1, "steps": len(STEPS)}
        if step == "start":
            values["example"] = self._example(unit.now())
        if step in ("title", "place", "description"):
            values["max"] = {"title": TITLE_MAX, "place": PLACE_MAX,
                             "description": DESCRIPTION_MAX}[step]
        return unit.t(f"publish.ask.{step}", **values)

    def _step_buttons(self, unit: ActorUnit, dialog: Dialog, step: str) -> dict[str, Any] | None:
        """The buttons that go with a question asked again (those that need no reading)."""
        draft = dialog.data["id"]
        if step in ("point", "poster"):
            return ui.inline([[(unit.t("publish.skip"),
                                buttons.ACTIVITY_FORM.data(draft, "skip", ""))]])
        if step == "capacity":
            return self._capacity_buttons(draft)
        return None

    async def _buttons(self, unit: ActorUnit, dialog: Dialog, step: str) -> dict[str, Any] | None:
        """The buttons of a question."""
        draft, data = dialog.data["id"], dialog.data
        form = buttons.ACTIVITY_FORM
        if step == "team":
            teams = (await self.teams_for(unit, unit.user_id))[:TEAM_BUTTONS]
            return ui.inline([[(t.name(unit.language), form.data(draft, "team", t.id))]
                              for t in teams])
        if step == "area":
            rows = []
            team = self.env.config.volunteering.team(data.get("team"))
            if team is not None and team.area_id and await self._area_allowed(unit, team.area_id):
                rows.append([(render.area_name(self.env, team.area_id, unit.language),
                              form.data(draft, "area", team.area_id))])
            if self.roles.is_centre(unit.user_id):
                rows.append([(unit.t("publish.whole_district"), form.data(draft, "area", ""))])
            return ui.inline(rows) if rows else None
        if step == "capacity":
            return self._capacity_buttons(draft)
        if step == "leader":
            return ui.inline([[(unit.t("publish.leader_me"), form.data(draft, "me", ""))]])
        if step == "theme":
            month = self._month_of(data)
            theme = await self.themes.theme_of(unit, *month, unit.language)
            title = theme.title if theme is not None else ""
            return ui.inline([[(unit.t("publish.theme_yes", title=title),
                                form.data(draft, "theme", "y"))],
                              [(unit.t("publish.theme_no"), form.data(draft, "theme", "n"))]])
        return self._step_buttons(unit, dialog, step)

    def _capacity_buttons(self, draft: str) -> dict[str, Any]:
        return ui.inline([[(str(n), buttons.ACTIVITY_FORM.data(draft, "cap", str(n)))
                           for n in CAPACITIES]])

    def _month_of(self, data: dict[str, Any]) -> tuple[int, int]:
        """The month the activity starts in: its theme is that month's."""
        start = datetime.fromtimestamp(float(data["start"]), self.env.config.timezone)
        return start.year, start.month

    # -- preview and publish -----------------------------------------------------------------

    def _fields(self, data: dict[str, Any], language: str) -> dict[str, Any]:
        """The activity's columns from the dialog's answers."""
        point = data.get("point") or [None, None]
        year, month = self._month_of(data) if data.get("theme") else (None, None)
        return {"team_id": data["team"], "area_id": data.get("area"), "title": data["title"],
                "theme_year": year, "theme_month": month, "place": data["place"],
                "latitude": point[0], "longitude": point[1], "starts_at": float(data["start"]),
                "ends_at": float(data["end"]), "capacity": int(data["capacity"]),
                "leader_id": int(data["leader"]), "poster": data.get("poster"),
                "description": data["description"], "language": language}

    def _as_activity(self, data: dict[str, Any], language: str, user_id: int) -> Activity:
        """The activity as it would be published (for the preview)."""
        return Activity(id=0, draft=data["id"], organiser_id=user_id, status=ACTIVITY_OPEN,
                        created_at=0.0, **self._fields(data, language))

    async def _preview(self, unit: ActorUnit, data: dict[str, Any]) -> Outgoing:
        """Everything the volunteers will see, with who leads on site, and Publish / Cancel."""
        activity = self._as_activity(data, unit.language, unit.user_id)
        theme = await self.board.theme_title(unit, activity, unit.language)
        lines = [unit.t("publish.preview_title")]
        lines += render.details(self.env, activity, unit.language, theme)
        lines.append(unit.t("publish.preview_leader", name=data.get("leader_name") or "—"))
        if data.get("point"):
            lines.append(unit.t("publish.preview_point"))
        if data.get("poster"):
            lines.append(unit.t("publish.preview_poster"))
        draft = data["id"]
        keyboard = ui.inline([[
            (unit.t("publish.publish"), buttons.ACTIVITY_FORM.data(draft, "publish", "")),
            (unit.t("publish.cancel"), buttons.ACTIVITY_FORM.data(draft, "cancel", "")),
        ]])
        return ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX), keyboard)

    async def _publish(self, unit: ActorUnit, dialog: Dialog, chat_id: int,
                       message_id: int) -> Answer:
        """Store the activity, post its cards, set its reminders; the preview becomes the
        organiser's controls."""
        data = dialog.data
        if float(data["start"]) <= unit.now():  # the preview outlived the start
            # Only the start is asked again (and the end, if the new start passes it): the
            # rest was answered and still holds, so the preview comes straight back.
            await self.loop.move_dialog(unit.repo, dialog, "start", {**data, "again": True})
            unit.send(ui.message(unit.user_id, "\n".join(
                [unit.t("publish.start_past"), self._question(unit, "start")])))
            return Answer(unit.t("publish.not_published"), alert=True)
        if self.env.config.volunteering.team(data["team"]) is None:  # gone from the file
            draft_back = await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.PUBLISH)
            unit.send(ui.message(unit.user_id, unit.t("publish.team_gone")))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("publish.not_published"), alert=True)
        if not await self.may_publish(unit, unit.user_id, data["team"], data.get("area")):
            # A role taken back (or narrowed) since the preview: the dialog ends, and the
            # preview says so, so no Publish is left that looks as if it might still work.
            draft_back = await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.PUBLISH)
            unit.send(ui.edit_text(chat_id, message_id, unit.t("publish.ended_not_allowed")))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("publish.not_yours_now"), alert=True)
        repo = unit.repo
        activity_id = await repo.activities.publish(
            data["id"], unit.user_id, self._fields(data, unit.language), unit.now())
        draft_back = await self.loop.pop_dialog(repo, unit.user_id, Flow.PUBLISH)
        activity = await repo.activities.activity(activity_id)
        assert activity is not None
        groups = await self.board.post(unit, activity)
        await self.schedule_reminders(unit, activity)
        key = "publish.published" if groups else "publish.published_nowhere"
        unit.send(ui.edit_text(chat_id, message_id, unit.t(key, id=activity_id,
                                                           title=activity.title,
                                                           groups=groups)))
        unit.send(ui.message(unit.user_id, unit.t("manage.controls", id=activity_id,
                                                  title=activity.title),
                             self.controls(unit, activity)))
        if draft_back:
            await self.loop.back_to_draft(unit)
        return Answer(unit.t("publish.published_toast"))

    async def schedule_reminders(self, unit: Unit, activity: Activity) -> None:
        """The day-before and hour-before reminders, and the start (when sign-up ends). A
        reminder due in quiet hours goes before they begin instead: held until morning, the
        hour-before reminder of a 7:30 start would come after it. The day-before reminder says
        "Tomorrow", so it keeps to the day before the start's day (see _day_before)."""
        now, start = unit.now(), activity.starts_at
        for kind, due in (("activity_day_before", self._day_before(start)),
                          ("activity_hour_before", self._before_quiet_hours(start - 3600.0))):
            if due > now:
                await unit.repo.timers.schedule(kind, due, now, activity_id=activity.id)
        if start > now:
            await unit.repo.timers.schedule("activity_start", start, now, activity_id=activity.id)

    def _day_before(self, start: float) -> float:
        """A day before `start`; in quiet hours, the edge of them that is still on the local
        day before the start's: before they begin (a 23:00 start: 21:45 the evening before),
        else when they end (a 07:30 start: 08:00 the morning before, not 21:45 two evenings
        before, which would say "Tomorrow" a day early)."""
        due = start - 86400.0
        if self.quiet_until(due) is None:
            return due
        zone = self.env.config.timezone
        eve = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
        earlier = self._before_quiet_hours(due)
        if datetime.fromtimestamp(earlier, zone).date() == eve:
            return earlier
        later = self.quiet_until(due)
        if later is not None and later < start \
                and datetime.fromtimestamp(later, zone).date() == eve:
            return later
        return earlier

    def _before_quiet_hours(self, due: float) -> float:
        """`due`, or if it falls in quiet hours the last quarter hour before they began."""
        moment, limit = due, due - 86400
        while self.quiet_until(moment) is not None and moment > limit:
            moment -= QUARTER_HOUR
        return moment

    # -- the organiser's controls ------------------------------------------------------------

    def controls(self, unit: Unit, activity: Activity) -> dict[str, Any] | None:
        """Who signed up · Close (or reopen) sign-up · Cancel the activity."""
        if activity.status == ACTIVITY_CANCELLED:
            return None
        manage = buttons.MANAGE
        toggle = ("open", "manage.reopen") if activity.status == ACTIVITY_CLOSED else (
            "close", "manage.close")
        return ui.inline([
            [(unit.t("manage.list"), manage.data(activity.id, "list")),
             (unit.t("manage.hand"), manage.data(activity.id, "hand"))],
            [(unit.t("manage.code_in"), manage.data(activity.id, "qrin")),
             (unit.t("manage.code_out"), manage.data(activity.id, "qrout"))],
            [(unit.t("manage.confirm"), manage.data(activity.id, "confirm")),
             (unit.t("manage.edit"), manage.data(activity.id, "edit"))],
            [(unit.t(toggle[1]), manage.data(activity.id, toggle[0])),
             (unit.t("manage.cancel"), manage.data(activity.id, "cancel"))],
        ])

    async def manage(self, unit: ActorUnit, activity_id: int, action: str) -> Answer:
        """A button of the organiser's controls."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        refusal = await self.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if activity.is_call:  # a call has controls of its own (bot/activities/calls.py)
            return Answer(unit.t("calls.use_call_controls"), alert=True)
        if action == "list":
            unit.send(await self.roster(unit, activity))
            return Answer()
        if activity.status == ACTIVITY_CANCELLED:
            return Answer(unit.t("manage.already_cancelled"), alert=True)
        if action == "edit":
            fields = ("title", "place", "time", "capacity", "description")
            unit.send(ui.message(unit.user_id, unit.t("edit.which", title=activity.title),
                                 ui.inline([[(unit.t(f"edit.field.{name}"),
                                              buttons.EDIT_FIELD.data(activity.id, name))]
                                            for name in fields])))
            return Answer()
        if action == "cancel":
            if activity.confirmed_at is not None:
                return Answer(unit.t("manage.took_place", title=activity.title), alert=True)
            signed = activity.signed + activity.waiting
            unit.send(ui.message(unit.user_id, unit.t(
                "manage.confirm_cancel", title=activity.title, count=signed), ui.inline([[
                    (unit.t("manage.cancel_yes"), buttons.CANCEL_ACTIVITY.data(activity.id, "y")),
                    (unit.t("manage.cancel_no"), buttons.CANCEL_ACTIVITY.data(activity.id, "n")),
                ]])))
            return Answer()
        changed = (await repo.activities.close_signup(activity.id, unit.now()) if action == "close"
                   else await repo.activities.reopen_signup(activity.id, unit.now()))
        if not changed:
            return Answer(unit.t(f"manage.already_{action}"), alert=True)
        fresh = await self.board.redraw(unit, activity.id)
        assert fresh is not None
        unit.send(ui.message(unit.user_id, unit.t(f"manage.done_{action}", title=activity.title),
                             self.controls(unit, fresh)))
        return Answer(unit.t(f"manage.toast_{action}"))

    async def cancel(self, unit: ActorUnit, activity_id: int, confirmed: bool, chat_id: int,
                     message_id: int) -> Answer:
        """Yes or No under "Cancel this activity?": everyone signed up or waiting is told."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        refusal = await self.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if activity.is_call:
            return Answer(unit.t("calls.use_call_controls"), alert=True)
        if not confirmed:
            unit.send(ui.edit_text(chat_id, message_id, unit.t("manage.kept",
                                                               title=activity.title)))
            return Answer()
        if activity.confirmed_at is not None:  # Yes under a question asked before that
            return Answer(unit.t("manage.took_place", title=activity.title), alert=True)
        reason = unit.t("manage.cancel_reason", name=unit.who.first_name)
        if not await repo.activities.cancel(activity.id, unit.user_id, reason, unit.now()):
            return Answer(unit.t("manage.already_cancelled"), alert=True)
        people = await repo.activities.signups(activity.id)
        for signup in people:
            lang = await self.loop.language_of(repo, signup.user_id)
            unit.send(night.at_night(self.env, "manage.cancelled_notice", ui.message(
                signup.user_id, self.env.t(lang, "manage.cancelled_notice",
                                           title=activity.title,
                                           when=render.when(self.env, activity, lang)))))
        await repo.timers.cancel_timers(unit.now(), activity_id=activity.id)
        await self.board.redraw(unit, activity.id)
        unit.send(ui.edit_text(chat_id, message_id, unit.t(
            "manage.cancelled", title=activity.title, count=len(people))))
        return Answer(unit.t("manage.cancelled_toast"))

    # -- editing a published activity --------------------------------------------------------

    async def edit_field(self, unit: ActorUnit, activity_id: int, field: str) -> Answer:
        """Change one detail: the new value is asked for (the time: the start, then the end)."""
        activity = await unit.repo.activities.activity(activity_id)
        refusal = await self.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if activity.status == ACTIVITY_CANCELLED:
            return Answer(unit.t("manage.already_cancelled"), alert=True)
        if unit.now() >= activity.starts_at:
            return Answer(unit.t("edit.started"), alert=True)
        step = "start" if field == "time" else field
        await self.loop.push_dialog(unit, Flow.EDIT_ACTIVITY, step,
                                    {"activity": activity.id, "id": secrets.token_hex(3)})
        unit.send(self._edit_question(unit, activity, step))
        return Answer()

    def _edit_question(self, unit: ActorUnit, activity: Activity, step: str) -> Outgoing:
        """The new value of one detail of the activity it names."""
        values: dict[str, Any] = {"example": self._example(unit.now()), "max": {
            "title": TITLE_MAX, "place": PLACE_MAX, "description": DESCRIPTION_MAX}.get(step, 0)}
        return ui.message(unit.user_id, unit.t(f"edit.ask.{step}", title=activity.title,
                                               **values))

    def _end_question(self, unit: ActorUnit, activity: Activity, start: float) -> Outgoing:
        """The end of a new time, offered at the same length after the new start."""
        length = activity.ends_at - activity.starts_at
        return ui.message(unit.user_id, unit.t("edit.ask.end", title=activity.title,
                                               same=render_time(self.env, start + length)))

    async def edit_again(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing] | str:
        """A change of a detail back on top: its question again; ended if the activity is
        no longer the organiser's to change (cancelled, started)."""
        activity = await unit.repo.activities.activity(int(dialog.data["activity"]))
        if (activity is None or activity.status == ACTIVITY_CANCELLED
                or not await self.may_manage(unit, unit.user_id, activity)):
            return unit.t("manage.not_yours")
        if unit.now() >= activity.starts_at:
            return unit.t("edit.started")
        if dialog.step == "end":
            return [self._end_question(unit, activity, float(dialog.data["start"]))]
        return [self._edit_question(unit, activity, dialog.step)]

    async def on_edit(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """The new value of the detail being changed: checked like the publishing dialog's
        answers, then applied; everyone signed up or waiting is told what changed."""
        repo, user_id = unit.repo, unit.user_id
        if said.kind == "command":
            return [ui.message(user_id, unit.t("edit.command_mid_dialog"))]
        activity = await repo.activities.activity(int(dialog.data["activity"]))
        refusal = await self.manage_refusal(unit, activity)
        if refusal or activity is None or activity.status == ACTIVITY_CANCELLED:
            await self.loop.pop_dialog(repo, user_id, Flow.EDIT_ACTIVITY)
            return [ui.message(user_id, refusal or unit.t("manage.already_cancelled"))]
        answer = await self._read(unit, dialog, dialog.step, said)
        if isinstance(answer, str):
            return [ui.message(user_id, answer)]
        if dialog.step == "start":  # the end comes next, read against the new start
            await self.loop.move_dialog(repo, dialog, "end", {**dialog.data, **answer})
            return [self._end_question(unit, activity, float(answer["start"]))]
        await self.loop.pop_dialog(repo, user_id, Flow.EDIT_ACTIVITY)
        changes = {**dialog.data, **answer}
        if "end" in changes:
            fields = {"starts_at": float(changes["start"]), "ends_at": float(changes["end"])}
            before = render.when(self.env, activity)
        else:
            name = dialog.step
            fields = {name: changes[name]}
            before = str(getattr(activity, name))
        await repo.activities.change(activity.id, fields, unit.now())
        changed = await repo.activities.activity(activity.id)
        assert changed is not None
        if "starts_at" in fields:  # the reminders follow the new time
            await repo.timers.cancel_timers(unit.now(), activity_id=activity.id)
            await self.schedule_reminders(unit, changed)
        if "capacity" in fields:  # more places: those waiting move up, in order
            for _ in range(changed.places_left):
                promoted = await repo.activities.promote_first_waiting(activity.id, unit.now())
                if promoted is None:
                    break
                lang = await self.loop.language_of(repo, promoted.user_id)
                unit.send(night.at_night(self.env, "signup.promoted", ui.message(
                    promoted.user_id, self.env.t(lang, "signup.promoted", title=changed.title,
                                                 when=render.when(self.env, changed, lang),
                                                 place=changed.place))))
            changed = await repo.activities.activity(activity.id) or changed
        after = (render.when(self.env, changed) if "starts_at" in fields
                 else str(fields[next(iter(fields))]))
        label_key = "time" if "starts_at" in fields else next(iter(fields))
        for signup in await repo.activities.signups(activity.id):
            lang = await self.loop.language_of(repo, signup.user_id)
            if "starts_at" in fields:  # each reads the times the way their language writes
                before = render.when(self.env, activity, lang)
                after = render.when(self.env, changed, lang)
            unit.send(night.at_night(self.env, "edit.changed_notice", ui.message(
                signup.user_id, self.env.t(
                    lang, "edit.changed_notice", title=changed.title,
                    what=self.env.t(lang, f"edit.field.{label_key}"),
                    before=ui.clip(before, 300), after=ui.clip(after, 300)))))
        await self.board.redraw(unit, activity.id)
        return [ui.message(user_id, unit.t("edit.done", title=changed.title,
                                           count=changed.signed + changed.waiting),
                           self.controls(unit, changed))]

    async def roster(self, unit: ActorUnit, activity: Activity) -> list[Outgoing]:
        """Who holds a place and who waits, in the order they came (names only)."""
        lines = [unit.t("manage.roster_title", title=activity.title,
                        places=render.places(self.env, activity, unit.language))]
        people = await unit.repo.activities.signups(activity.id)
        if not people:
            lines.append(unit.t("manage.roster_empty"))
        waiting = 0
        for number, signup in enumerate(people, 1):
            user = await unit.repo.people.user(signup.user_id)
            name = user.first_name if user is not None else str(signup.user_id)
            if user is not None and user.username:
                name = f"{name} (@{user.username})"
            if signup.status == "waiting":
                waiting += 1
                lines.append(unit.t("manage.roster_waiting", n=waiting, name=name))
            else:
                lines.append(unit.t("manage.roster_line", n=number, name=name))
        return [ui.message(unit.user_id, chunk) for chunk in ui.chunks(lines)]


def _after(step: str) -> str:
    """The step after `step` (the preview after the last question)."""
    return STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else PREVIEW


def render_time(env: Env, moment: float) -> str:
    """A local date and time, as the dialog shows it back."""
    return f"{datetime.fromtimestamp(moment, env.config.timezone):%Y-%m-%d %H:%M}"
