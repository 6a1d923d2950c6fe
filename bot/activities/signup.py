"""Signing up for activities: one tap on a card (or in /activities), the waitlist when full,
cancelling one's own place until the cut-off, a freed place going to the first who waits,
the reminders before the start, and /activities.

A volunteer signs up for themself only, and must have opened the bot (reminders and the
check-in come in private); a press from someone who has not is answered with a link that
opens the bot on the activity. In 'registered' mode only approved volunteers sign up.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot import buttons, night, ui
from bot.activities import render
from bot.activities.board import Board
from bot.activities.publishing import Publishing
from bot.areas.tree import distance_km
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.requests.loop import RequestLoop
from bot.unit import ActorUnit, Unit
from storage import Activity, Dialog, Outgoing, Signup, Timer
from storage.models import ACTIVITY_CANCELLED, SIGNED, WAITING

LISTED = 8  # activities listed (each with its button) by /activities
# The /start payload of a card's link for someone who has not opened the bot yet.
START_LINK = re.compile(r"^act_([0-9]{1,12})$")


class Signups:
    """Volunteers' side of activities: sign up, wait, cancel, be reminded, list."""

    def __init__(self, env: Env, loop: RequestLoop, board: Board,
                 publishing: Publishing) -> None:
        self.env = env
        self.loop = loop
        self.board = board
        self.publishing = publishing

    def start_link(self, activity_id: int) -> str:
        """The link that opens the bot in private on an activity."""
        return f"https://t.me/{self.env.bot_username}?start=act_{activity_id}"

    # -- Sign up -----------------------------------------------------------------------------

    async def sign_up(self, unit: ActorUnit, activity_id: int,
                      pressed: tuple[int, int] | None = None) -> Answer:
        """Sign up (or join the waitlist); told in private, the cards drawn again. `pressed`:
        the card in a group it came from (chat, message)."""
        if pressed is not None and await self.board.take_on(unit, activity_id, *pressed):
            answer = await self._sign_up(unit, activity_id)
            if answer.alert:  # refused: nothing drew the cards, the copy taken on among them
                await self.board.redraw(unit, activity_id)
            return answer
        return await self._sign_up(unit, activity_id)

    async def _sign_up(self, unit: ActorUnit, activity_id: int) -> Answer:
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        if activity is None or activity.is_call:  # a call is answered with I'm in
            return Answer(unit.t("signup.no_such_activity"), alert=True)
        refusal = await self._refusal(unit, activity)
        if refusal:
            return Answer(refusal, alert=True)
        user = unit.user
        if user is None or not user.started or user.blocked:
            return Answer(unit.t("signup.open_bot_first", bot=self.env.bot_username),
                          alert=True, url=self.start_link(activity_id))
        mine = await repo.activities.signup_of(activity.id, unit.user_id)
        if mine is not None:
            return Answer(unit.t("signup.already_signed" if mine.status == SIGNED
                                 else "signup.already_waiting", title=activity.title),
                          alert=True)
        waiting = activity.places_left == 0
        await repo.activities.sign_up(activity.id, unit.user_id, waiting, unit.now())
        fresh = await self.board.redraw(unit, activity.id)
        assert fresh is not None
        unit.send(await self.confirmation(unit, fresh, WAITING if waiting else SIGNED))
        return Answer(unit.t("signup.waiting_toast" if waiting else "signup.signed_toast"))

    async def _refusal(self, unit: ActorUnit, activity: Activity) -> str:
        """Why this person cannot sign up for this activity now ('' if they can)."""
        if activity.status == ACTIVITY_CANCELLED:
            return unit.t("signup.cancelled", title=activity.title)
        if not render.signup_open(activity, unit.now()):
            return unit.t("signup.closed", title=activity.title)
        if self.env.config.activities.signup_mode == "registered":
            volunteer = await unit.repo.volunteers.volunteer(unit.user_id)
            if volunteer is None or volunteer.status != "approved":
                return unit.t("signup.registered_only")
        return ""

    async def confirmation(self, unit: ActorUnit, activity: Activity, status: str) -> Outgoing:
        """The private message after a sign-up: the details, and Cancel my sign-up."""
        theme = await self.board.theme_title(unit, activity, unit.language)
        head = unit.t("signup.signed" if status == SIGNED else "signup.waiting",
                      title=activity.title, position=activity.waiting)
        lines = [head, *render.details(self.env, activity, unit.language, theme)]
        return ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX),
                          self._quit_button(unit, activity))

    def _quit_button(self, unit: Unit, activity: Activity) -> dict[str, Any]:
        """Cancel my sign-up, and Check in here when the place is on the map."""
        rows = [[(unit.t("signup.quit_button"), buttons.QUIT.data(activity.id))]]
        if activity.latitude is not None:
            rows.append([(unit.t("attendance.check_in_here"),
                          buttons.CHECK_IN_HERE.data(activity.id))])
        return ui.inline(rows)

    async def show(self, unit: ActorUnit, activity_id: int) -> None:
        """An activity in private (a card's link): its details and Sign up."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        if activity is None or activity.is_call:
            unit.send(ui.message(unit.user_id, unit.t("signup.no_such_activity")))
            return
        mine = await repo.activities.signup_of(activity.id, unit.user_id)
        if mine is not None:
            unit.send(await self.confirmation(unit, activity, mine.status))
            return
        theme = await self.board.theme_title(unit, activity, unit.language)
        lines = render.details(self.env, activity, unit.language, theme)
        markup = None
        refusal = await self._refusal(unit, activity)
        if refusal:
            lines.append(refusal)
        else:
            markup = ui.inline([[(unit.t("signup.sign_up_here"),
                                  buttons.SIGN_UP.data(activity.id))]])
        unit.send(ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX), markup))

    # -- Cancel my sign-up -------------------------------------------------------------------

    async def ask_quit(self, unit: ActorUnit, activity_id: int) -> Answer:
        """Cancel my sign-up: asked once more, unless it is too late to cancel here."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        mine = (await repo.activities.signup_of(activity_id, unit.user_id)
                if activity is not None and not activity.is_call else None)
        if activity is None or mine is None:  # a call's answer is withdrawn on the call
            return Answer(unit.t("signup.not_signed"), alert=True)
        late = self._too_late(unit, activity, mine)
        if late:
            return Answer(late, alert=True)
        unit.send(ui.message(unit.user_id, unit.t("signup.confirm_quit", title=activity.title),
                             ui.inline([[(unit.t("signup.quit_yes"),
                                          buttons.QUIT_YES.data(activity.id))]])))
        return Answer()

    def _too_late(self, unit: Unit, activity: Activity, mine: Signup) -> str:
        """A place may be given up until the cut-off before the start (a place on the
        waitlist at any time before the start); after it, the organiser is asked."""
        cutoff = self.env.config.activities.cancel_cutoff
        now = unit.now()
        if now >= activity.starts_at or (mine.status == SIGNED
                                         and now > activity.starts_at - cutoff):
            return unit.t("signup.too_late", hours=_hours(cutoff))
        return ""

    async def quit(self, unit: ActorUnit, activity_id: int, chat_id: int,
                   message_id: int) -> Answer:
        """Yes, cancel my sign-up: the place goes to the first who waits, who is told."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        mine = (await repo.activities.signup_of(activity_id, unit.user_id)
                if activity is not None and not activity.is_call else None)
        if activity is None or mine is None:  # a call's answer is withdrawn on the call
            return Answer(unit.t("signup.not_signed"), alert=True)
        late = self._too_late(unit, activity, mine)
        if late:
            return Answer(late, alert=True)
        await repo.activities.cancel_signup(mine.id, unit.now())
        if mine.status == SIGNED and activity.status != ACTIVITY_CANCELLED:
            promoted = await repo.activities.promote_first_waiting(activity.id, unit.now())
            if promoted is not None:
                unit.send(await self._promoted(unit, activity, promoted))
        await self.board.redraw(unit, activity.id)
        unit.send(ui.edit_text(chat_id, message_id, unit.t("signup.quitted",
                                                           title=activity.title)))
        return Answer(unit.t("signup.quitted_toast"))

    async def _promoted(self, unit: Unit, activity: Activity, promoted: Signup) -> Outgoing:
        """Tell the first on the waitlist that a place is theirs, with a way to give it up."""
        lang = await self.loop.language_of(unit.repo, promoted.user_id)
        text = self.env.t(lang, "signup.promoted", title=activity.title,
                          when=render.when(self.env, activity, lang), place=activity.place)
        markup = ui.inline([[(self.env.t(lang, "signup.decline_button"),
                              buttons.QUIT.data(activity.id))]])
        # Someone else's press: at night at once, without a sound (bot/night.py).
        return night.at_night(self.env, "signup.promoted", ui.message(promoted.user_id, text,
                                                                      markup))

    # -- /activities -------------------------------------------------------------------------

    async def list_command(self, unit: ActorUnit) -> None:
        """/activities: the volunteer's own sign-ups, those they organise, and upcoming ones
        they can join (their area's first), each with its button."""
        repo, now, lang = unit.repo, unit.now(), unit.language
        out: list[Outgoing] = []
        mine = await repo.activities.signed_up_for(unit.user_id, now, LISTED)
        if mine:
            lines = [unit.t("signup.mine_title")]
            rows = []
            for activity, signup in mine:
                lines.append(render.list_line(self.env, activity, lang)
                             + ("" if signup.status == SIGNED else unit.t("signup.mine_waiting")))
                rows.append([(unit.t("signup.quit_numbered", id=activity.id),
                              buttons.QUIT.data(activity.id))])
            out.append(ui.message(unit.user_id, "\n".join(lines), ui.inline(rows)))
        organised = await repo.activities.organised_by(unit.user_id, now, LISTED)
        for activity in organised:
            out.append(ui.message(unit.user_id, unit.t("manage.controls", id=activity.id,
                                                       title=activity.title),
                                  self.publishing.controls(unit, activity)))
        joined = {activity.id for activity, _ in mine} | {a.id for a in organised}
        volunteer = await repo.volunteers.volunteer(unit.user_id)
        home = self._home_areas(volunteer.area_id if volunteer is not None else None)
        upcoming = [a for a in await repo.activities.upcoming(now, 200)
                    if a.id not in joined and render.signup_open(a, now)]
        upcoming.sort(key=lambda a: (a.area_id not in home, a.starts_at, a.id))
        if upcoming:
            lines = [unit.t("signup.upcoming_title")]
            rows = []
            for activity in upcoming[:LISTED]:
                lines.append(render.list_line(self.env, activity, lang))
                rows.append([(unit.t("signup.sign_up_numbered", id=activity.id),
                              buttons.SIGN_UP.data(activity.id))])
            out.append(ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX),
                                  ui.inline(rows)))
        if not out:
            out.append(ui.message(unit.user_id, unit.t("signup.none_upcoming")))
        unit.send(out)

    def _home_areas(self, area_id: str | None) -> set[str | None]:
        """A volunteer's station and the areas above it: their activities are listed first."""
        tree = self.env.config.areas
        if area_id is None or tree is None or area_id not in tree:
            return set()
        return set(tree.ancestry(area_id))

    # -- /events: what citizens can see ------------------------------------------------------

    async def events_command(self, unit: ActorUnit) -> None:
        """/events: upcoming activities for everyone, soonest first, with Nearest to me."""
        await self._events(unit, None)

    async def events_button(self, unit: ActorUnit, choice: str) -> Answer:
        """Nearest to me (asks for the location) or All by date."""
        if choice == "all":
            await self._events(unit, None)
            return Answer()
        await self.loop.push_dialog(unit, Flow.EVENTS, "location", {})
        keyboard = ui.reply_keyboard([[{"text": unit.t("attendance.send_location"),
                                        "request_location": True}]])
        unit.send(ui.message(unit.user_id, unit.t("events.ask_location"), keyboard))
        return Answer()

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """The location /events waits for: the activities nearest it first."""
        if said.kind != "location" or said.latitude is None or said.longitude is None:
            return [ui.message(unit.user_id, unit.t("attendance.want_location"))]
        await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.EVENTS)
        unit.send(ui.message(unit.user_id, unit.t("events.sorted_near"), ui.REMOVE_KEYBOARD))
        await self._events(unit, (said.latitude, said.longitude))
        return []

    async def _events(self, unit: ActorUnit, near: tuple[float, float] | None) -> None:
        now = unit.now()
        upcoming = [a for a in await unit.repo.activities.upcoming(now, 500)
                    if a.status != ACTIVITY_CANCELLED]
        if near is not None:
            def away(activity: Activity) -> float:
                if activity.latitude is None or activity.longitude is None:
                    return float("inf")  # no map point: after those that have one
                return distance_km(near[0], near[1], activity.latitude, activity.longitude)

            upcoming.sort(key=lambda a: (away(a), a.starts_at, a.id))
        if not upcoming:
            unit.send(ui.message(unit.user_id, unit.t("events.none")))
            return
        lines = [unit.t("events.title")]
        rows = []
        for activity in upcoming[:LISTED]:
            line = render.list_line(self.env, activity, unit.language)
            if (near is not None and activity.latitude is not None
                    and activity.longitude is not None):
                metres = 1000 * distance_km(near[0], near[1], activity.latitude,
                                            activity.longitude)
                line += unit.t("events.distance",
                               distance=self.env.t.distance(unit.language, metres))
            lines.append(line)
            rows.append([(unit.t("events.details", id=activity.id),
                          buttons.EVENT.data(activity.id))])
        rows.append([(unit.t("events.near"), buttons.EVENTS.data("near")),
                     (unit.t("events.all"), buttons.EVENTS.data("all"))])
        unit.send(ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX),
                             ui.inline(rows)))

    # -- timers ------------------------------------------------------------------------------

    async def fire(self, unit: Unit, timer: Timer) -> None:
        """A reminder before an activity (to everyone holding a place), or its start (the
        cards say it is under way and lose their button)."""
        repo = unit.repo
        activity = await repo.activities.activity(timer.activity_id or 0)
        if activity is None or activity.status == ACTIVITY_CANCELLED:
            return
        if timer.kind == "activity_start":
            await self.board.redraw(unit, activity.id)
            return
        if not self._still_timely(timer.kind, activity, unit.now()):
            return  # a reminder caught up after a stop, too late to be true
        key = "signup.remind_day" if timer.kind == "activity_day_before" else "signup.remind_hour"
        for signup in await repo.activities.signups(activity.id):
            if signup.status != SIGNED:
                continue
            lang = await self.loop.language_of(repo, signup.user_id)
            text = self.env.t(lang, key, title=activity.title,
                              when=render.when(self.env, activity, lang), place=activity.place)
            message = night.at_night(self.env, key, ui.message(signup.user_id, text))
            if timer.kind == "activity_hour_before" and activity.latitude is not None:
                message.payload["reply_markup"] = ui.inline([[
                    (self.env.t(lang, "attendance.check_in_here"),
                     buttons.CHECK_IN_HERE.data(activity.id))]])
            unit.send(message)

    def _still_timely(self, kind: str, activity: Activity, now: float) -> bool:
        """Whether a reminder still says something true when it fires (after a stop the
        sweep catches up late): "Soon" only before the start, "Tomorrow" only on a day before
        the start's (the hour-before reminder is the one for the day itself)."""
        if now >= activity.starts_at:
            return False
        if kind != "activity_day_before":
            return True
        zone = self.env.config.timezone
        return (datetime.fromtimestamp(now, zone).date()
                < datetime.fromtimestamp(activity.starts_at, zone).date())


def _hours(seconds: float) -> str:
    """2 → "2", 1.5 → "1.5"."""
    return f"{seconds / 3600:g}"
