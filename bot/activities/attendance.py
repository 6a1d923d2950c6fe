"""Attendance and verified hours (issue 15.4-6): checking in and out at the venue (the
rotating QR code the organiser shows, or a location shared near the place, or by the
organiser's hand), the attendance list the organiser confirms, the hours it credits (and
hours added by hand, with a reason), a volunteer's one dispute, /hours with the year's
hours by source, star level and formal-volunteer status.

Only confirmed hours count. Hours from requests (service_hours) and from activities
(activity_hours) are kept apart and summed; crossing the year's threshold makes a registered
formal volunteer, told once.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

from bot import buttons, night, ui
from bot.activities.checkin import (
    CheckinCode,
    Purpose,
    checkin_payload,
    credited_hours,
    derive_secret,
    distance_m,
    in_window,
    payload_pattern,
    qr_png,
    verify_payload,
)
from bot.activities.publishing import Publishing
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.i18n import day_and_time
from bot.people.roles import Roles
from bot.requests.loop import RequestLoop
from bot.unit import ActorUnit, Unit
from storage import Activity, Dialog, Outgoing, Repo, Signup
from storage.models import ACTIVITY_CANCELLED, SIGNED

REASON_MAX = 200
# "2.5 I stayed to the end", "2,5 小时 我一直到结束": the hours, then the reason.
_CLAIM = re.compile(r"^\s*([0-9]{1,3}(?:[.,][0-9]{1,2})?)\s*(?:h|小时|小時|hours?)?\s*[,，:：]?"
                    r"\s*(.+)$", re.S)
_HOURS = re.compile(r"^[0-9]{1,3}(?:[.,][0-9]{1,2})?$")


class Attendance:
    """Check-in and check-out, the attendance list, hours, disputes and /hours."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles,
                 publishing: Publishing) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        self.publishing = publishing
        self.secret = derive_secret(env.config.token)
        loop.covered[Flow.CHECK_IN] = self._covered  # its location button off while kept

    async def manage(self, unit: ActorUnit, activity_id: int, action: str) -> Answer:
        """The organiser's attendance controls: the check-in or check-out code, checking in by
        hand, the attendance list to confirm."""
        activity = await unit.repo.activities.activity(activity_id)
        refusal = await self.publishing.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if activity.status == ACTIVITY_CANCELLED:  # an old control of a cancelled activity
            return Answer(unit.t("manage.already_cancelled"), alert=True)
        if action in ("qrin", "qrout"):
            return await self.show_code(unit, activity, action)
        if action == "hand":
            return await self.hand_list(unit, activity)
        return await self.confirm_view(unit, activity)

    # -- the organiser's codes ---------------------------------------------------------------

    async def show_code(self, unit: ActorUnit, activity: Activity, purpose: str) -> Answer:
        """The QR code to show at the venue (a new one each minute: New code draws it)."""
        if not self._window_open(activity, unit.now()):
            return Answer(self._window_text(unit, activity), alert=True)
        kind: Purpose = "in" if purpose == "qrin" else "out"
        payload = checkin_payload(self.secret, activity.id, unit.now(), purpose=kind)
        link = f"https://t.me/{self.env.bot_username}?start={payload}"
        caption = unit.t(f"attendance.code_{kind}", title=activity.title)
        markup = ui.inline([[(unit.t("attendance.new_code"),
                              buttons.MANAGE.data(activity.id, purpose))]])
        unit.send(Outgoing(unit.user_id, "sendPhoto", {
            "chat_id": unit.user_id, "caption": caption, "parse_mode": "HTML",
            "photo": {"base64": base64.b64encode(qr_png(link)).decode("ascii"),
                      "filename": f"checkin-{activity.id}.png"},
            "reply_markup": markup}))
        return Answer()

    def _window_open(self, activity: Activity, now: float) -> bool:
        rules = self.env.config.activities
        return activity.status != ACTIVITY_CANCELLED and in_window(
            activity.starts_at, activity.ends_at, now, early=rules.checkin_early,
            late=rules.checkin_late)

    def _window_text(self, unit: Unit, activity: Activity) -> str:
        """Why checking in is not possible now: cancelled, not yet, or over."""
        if activity.status == ACTIVITY_CANCELLED:
            return unit.t("signup.cancelled", title=activity.title)
        rules = self.env.config.activities
        if unit.now() < activity.starts_at - rules.checkin_early:
            return unit.t("attendance.not_yet", title=activity.title, opens=render_time(
                self.env, activity.starts_at - rules.checkin_early, unit.language))
        return unit.t("attendance.over", title=activity.title)

    # -- a volunteer checks in or out --------------------------------------------------------

    def is_code(self, payload: str) -> bool:
        """Whether a /start payload is a check-in or check-out code."""
        return payload_pattern.fullmatch(payload) is not None

    async def by_code(self, unit: ActorUnit, payload: str) -> None:
        """A scanned code (/start ci_… or co_…): checked, then the check-in or -out."""
        code = verify_payload(self.secret, payload, unit.now())
        if not isinstance(code, CheckinCode):
            key = "attendance.code_expired" if code == "expired" else "attendance.code_bad"
            unit.send(ui.message(unit.user_id, unit.t(key)))
            return
        unit.send(await self._record(unit, code.activity_id, code.purpose, "code"))

    async def ask_location(self, unit: ActorUnit, activity_id: int) -> Answer:
        """Check in here: the volunteer is asked for their location (a button sends it)."""
        activity = await unit.repo.activities.activity(activity_id)
        if activity is None:
            return Answer(unit.t("signup.no_such_activity"), alert=True)
        if activity.latitude is None or activity.longitude is None:
            return Answer(unit.t("attendance.no_point"), alert=True)
        if not self._window_open(activity, unit.now()):
            return Answer(self._window_text(unit, activity), alert=True)
        # Said at once, not after the location is shared: no place (a sign-up cancelled
        # since, a place on the waitlist), or checked out already.
        signup = await unit.repo.activities.signup_of(activity.id, unit.user_id)
        if signup is None or signup.status != SIGNED:
            return Answer(unit.t("attendance.not_signed", title=activity.title), alert=True)
        if signup.checked_out_at is not None:
            return Answer(unit.t("attendance.already_out", title=activity.title,
                                 at=render_clock(self.env, signup.checked_out_at)), alert=True)
        return await self._ask(unit, Flow.CHECK_IN, "location", activity)

    async def _ask(self, unit: ActorUnit, flow: Flow, step: str, activity: Activity) -> Answer:
        """Start the dialog and ask its question; a second tap while it is asking (a double
        tap) is told so, and the question is not sent again."""
        if await self.loop.asking(unit.repo, unit.user_id, flow, "activity", activity.id):
            return Answer(unit.t("common.asked_already"))
        await self.loop.push_dialog(unit, flow, step, {"activity": activity.id})
        unit.send(self._question(unit, flow, activity))
        return Answer()

    def _question(self, unit: ActorUnit, flow: str, activity: Activity) -> Outgoing:
        """Check in here's location (with its button), or a dispute's hours and reason."""
        if flow == Flow.DISPUTE:
            length = (activity.ends_at - activity.starts_at) / 3600
            return ui.message(unit.user_id, unit.t("attendance.ask_dispute",
                                                   title=activity.title, max=f"{length:g}"))
        keyboard = ui.reply_keyboard([[{"text": unit.t("attendance.send_location"),
                                        "request_location": True}]])
        return ui.message(unit.user_id, unit.t("attendance.ask_location",
                                               title=activity.title), keyboard)

    async def _covered(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """A check-in going under another dialog: its location button is taken off (a tap
        would send the location to the dialog on top), and the person told it waits; the
        question brings it back with the button when the check-in is back on top."""
        activity = await unit.repo.activities.activity(int(dialog.data["activity"]))
        title = activity.title if activity is not None else ""
        return [ui.message(unit.user_id, unit.t("attendance.check_in_waits", title=title),
                           ui.REMOVE_KEYBOARD)]

    async def asked_again(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing] | str:
        """A check-in or a dispute back on top: asked again; ended if the activity is gone."""
        activity = await unit.repo.activities.activity(int(dialog.data["activity"]))
        if activity is None or activity.status == ACTIVITY_CANCELLED:
            return unit.t("signup.no_such_activity")
        return [self._question(unit, dialog.flow, activity)]

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """The location (or not) of the check-in dialog; the dispute's hours and reason."""
        if dialog.flow == Flow.DISPUTE:
            return await self._dispute_reason(unit, dialog, said)
        if said.kind != "location" or said.latitude is None or said.longitude is None:
            return [ui.message(unit.user_id, unit.t("attendance.want_location"))]
        await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.CHECK_IN)
        activity = await unit.repo.activities.activity(int(dialog.data["activity"]))
        if activity is None or activity.latitude is None or activity.longitude is None:
            return [ui.message(unit.user_id, unit.t("signup.no_such_activity"),
                               ui.REMOVE_KEYBOARD)]
        away = distance_m(activity.latitude, activity.longitude, said.latitude, said.longitude)
        radius = self.env.config.activities.checkin_radius
        if away > radius:
            return [ui.message(unit.user_id, unit.t(
                "attendance.too_far", distance=self.env.t.distance(unit.language, away),
                radius=f"{radius:g}"),
                ui.REMOVE_KEYBOARD)]
        signup = await unit.repo.activities.signup_of(activity.id, unit.user_id)
        purpose = "out" if signup is not None and signup.checked_in_at is not None else "in"
        return await self._record(unit, activity.id, purpose, "location", ui.REMOVE_KEYBOARD)

    async def _record(self, unit: ActorUnit, activity_id: int, purpose: str, how: str,
                      markup: dict[str, Any] | None = None) -> list[Outgoing]:
        """Check a volunteer in or out of an activity they hold a place in, within its
        window; one line for whatever stands in the way."""
        repo, user_id = unit.repo, unit.user_id
        activity = await repo.activities.activity(activity_id)
        if activity is None:
            return [ui.message(user_id, unit.t("signup.no_such_activity"), markup)]
        if not self._window_open(activity, unit.now()):
            return [ui.message(user_id, self._window_text(unit, activity), markup)]
        signup = await repo.activities.signup_of(activity.id, user_id)
        if signup is None or signup.status != SIGNED:
            return [ui.message(user_id, unit.t("attendance.not_signed", title=activity.title),
                               markup)]
        if purpose == "in":
            if signup.checked_in_at is not None:
                return [ui.message(user_id, unit.t(
                    "attendance.already_in", title=activity.title,
                    at=render_clock(self.env, signup.checked_in_at)), markup)]
            await repo.activities.check_in(signup.id, how, unit.now())
            done = unit.t("attendance.checked_in", title=activity.title,
                          at=render_clock(self.env, unit.now()))
            leaving = self._out_button(unit, activity)
            if markup is None or leaving is None:
                return [ui.message(user_id, done, markup or leaving)]
            # One message cannot both take the location keyboard away and carry a button.
            return [ui.message(user_id, done, markup),
                    ui.message(user_id, unit.t("attendance.when_leaving"), leaving)]
        if signup.checked_in_at is None:
            return [ui.message(user_id, unit.t("attendance.out_before_in",
                                               title=activity.title), markup)]
        if signup.checked_out_at is not None:
            return [ui.message(user_id, unit.t(
                "attendance.already_out", title=activity.title,
                at=render_clock(self.env, signup.checked_out_at)), markup)]
        await repo.activities.check_out(signup.id, how, unit.now())
        return [ui.message(user_id, unit.t("attendance.checked_out", title=activity.title,
                                           at=render_clock(self.env, unit.now())), markup)]

    def _out_button(self, unit: Unit, activity: Activity) -> dict[str, Any] | None:
        """After a check-in, a way to check out by location (if the place is on the map)."""
        if activity.latitude is None:
            return None
        return ui.inline([[(unit.t("attendance.check_out_here"),
                            buttons.CHECK_IN_HERE.data(activity.id))]])

    # -- by the organiser's hand -------------------------------------------------------------

    async def hand_list(self, unit: ActorUnit, activity: Activity) -> Answer:
        """Everyone holding a place who has not checked in, each a button to check them in."""
        if not self._window_open(activity, unit.now()):
            return Answer(self._window_text(unit, activity), alert=True)
        people = [s for s in await unit.repo.activities.signups(activity.id)
                  if s.status == SIGNED and s.checked_in_at is None]
        if not people:
            return Answer(unit.t("attendance.all_in"), alert=True)
        rows = []
        for signup in people[:50]:
            name = await self._name(unit, signup.user_id)
            rows.append([(f"✋ {name}", buttons.HAND.data(activity.id, signup.user_id))])
        unit.send(ui.message(unit.user_id, unit.t("attendance.hand_title",
                                                  title=activity.title), ui.inline(rows)))
        return Answer()

    async def by_hand(self, unit: ActorUnit, activity_id: int, user_id: int) -> Answer:
        """The organiser checks a volunteer in by hand (they are told)."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        refusal = await self.publishing.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if not self._window_open(activity, unit.now()):
            return Answer(self._window_text(unit, activity), alert=True)
        signup = await repo.activities.signup_of(activity.id, user_id)
        name = await self._name(unit, user_id)
        if signup is None or signup.status != SIGNED:
            return Answer(unit.t("attendance.hand_not_signed", name=name), alert=True)
        if not await repo.activities.check_in(signup.id, "hand", unit.now()):
            return Answer(unit.t("attendance.hand_already", name=name), alert=True)
        lang = await self.loop.language_of(repo, user_id)
        # An evening activity's: at once, without a sound after 22:00 (bot/night.py).
        unit.send(night.at_night(self.env, "attendance.checked_in_by_hand", ui.message(
            user_id, self.env.t(lang, "attendance.checked_in_by_hand", title=activity.title,
                                at=render_clock(self.env, unit.now())))))
        return Answer(unit.t("attendance.hand_done", name=name))

    # -- the attendance list and its hours ---------------------------------------------------

    def _hours_for(self, activity: Activity, signup: Signup, now: float) -> float:
        """What a sign-up earns when the list is confirmed: someone who checked in and never
        out is taken to have stayed to the end, since the organiser confirms the list.

        A recruitment call's window runs from its sending to its deadline, and people come
        when they can: no share of it is required, and its end is the deadline or the
        confirming, whichever is first (a list confirmed at noon for a call until 18:00
        credits no afternoon that has not happened)."""
        if signup.checked_in_at is None:
            return 0.0
        if activity.is_call:
            return credited_hours(signup.checked_in_at, signup.checked_out_at,
                                  activity.starts_at, max(min(activity.ends_at, now),
                                                          activity.starts_at + 1),
                                  min_share=0.0, stayed_to_end=True)
        return credited_hours(signup.checked_in_at, signup.checked_out_at, activity.starts_at,
                              activity.ends_at, min_share=self.env.config.activities.min_share,
                              stayed_to_end=True)

    async def confirm_view(self, unit: ActorUnit, activity: Activity) -> Answer:
        """The attendance list with each person's hours and attendance rate, and Confirm."""
        if activity.confirmed_at is not None:
            return Answer(unit.t("attendance.confirmed_already"), alert=True)
        if unit.now() < activity.starts_at:
            return Answer(unit.t("attendance.confirm_not_yet"), alert=True)
        people = [s for s in await unit.repo.activities.signups(activity.id)
                  if s.status == SIGNED]
        rates = await unit.repo.activities.attendance_rates([s.user_id for s in people])
        lines = [unit.t("attendance.list_title", title=activity.title)]
        for signup in people:
            name = await self._name(unit, signup.user_id)
            held, missed = rates.get(signup.user_id, (0, 0))
            rate = (unit.t("attendance.rate", rate=round(100 * (held - missed) / held),
                           count=held) if held else unit.t("attendance.rate_new"))
            if signup.checked_in_at is None:
                lines.append(unit.t("attendance.line_absent", name=name, rate=rate))
                continue
            out = (render_clock(self.env, signup.checked_out_at)
                   if signup.checked_out_at is not None else "—")
            lines.append(unit.t("attendance.line", name=name, rate=rate,
                                at=render_clock(self.env, signup.checked_in_at), out=out,
                                hours=f"{self._hours_for(activity, signup, unit.now()):g}"))
        if not people:
            lines.append(unit.t("manage.roster_empty"))
        lines.append(unit.t("attendance.confirm_hint",
                            share=round(100 * self.env.config.activities.min_share)))
        markup = ui.inline([[(unit.t("attendance.confirm_button"),
                              buttons.CONFIRM_HOURS.data(activity.id))]])
        parts = ui.chunks(lines)
        for part in parts[:-1]:
            unit.send(ui.message(unit.user_id, part))
        unit.send(ui.message(unit.user_id, parts[-1], markup))
        return Answer()

    async def confirm(self, unit: ActorUnit, activity_id: int) -> Answer:
        """Confirm the list: hours credited, no-shows marked, each volunteer told."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        refusal = await self.publishing.manage_refusal(unit, activity)
        if refusal or activity is None:
            return Answer(refusal, alert=True)
        if activity.status == ACTIVITY_CANCELLED:  # nobody could come: nobody is a no-show
            return Answer(unit.t("manage.already_cancelled"), alert=True)
        if unit.now() < activity.starts_at:
            return Answer(unit.t("attendance.confirm_not_yet"), alert=True)
        people = [s for s in await repo.activities.signups(activity.id) if s.status == SIGNED]
        if not await repo.activities.confirm_attendance(activity.id, unit.user_id, unit.now()):
            return Answer(unit.t("attendance.confirmed_already"), alert=True)
        year = self._year_of(activity)
        credited = absent = 0
        for signup in people:
            lang = await self.loop.language_of(repo, signup.user_id)
            if signup.checked_in_at is None:
                absent += 1
                continue
            hours = self._hours_for(activity, signup, unit.now())
            if hours <= 0:
                unit.send(night.at_night(self.env, "attendance.credited", ui.message(
                    signup.user_id, self.env.t(
                        lang, "attendance.too_short_call" if activity.is_call
                        else "attendance.too_short", title=activity.title,
                        share=round(100 * self.env.config.activities.min_share)),
                    self._dispute_button(lang, activity))))
                continue
            credited += 1
            await repo.activities.credit(activity.id, signup.user_id, hours, "checkin", None,
                                         year, unit.user_id, unit.now())
            # Held at night to 08:00, its Dispute button with it (bot/night.py).
            unit.send(night.at_night(self.env, "attendance.credited", ui.message(
                signup.user_id, self.env.t(lang, "attendance.credited", title=activity.title,
                                           hours=f"{hours:g}"),
                self._dispute_button(lang, activity))))
            await self.check_formal(unit, signup.user_id, year)
        unit.send(ui.message(unit.user_id, unit.t("attendance.confirmed", title=activity.title,
                                                  credited=credited, absent=absent)))
        return Answer(unit.t("attendance.confirmed_toast"))

    def _dispute_button(self, lang: str, activity: Activity) -> dict[str, Any]:
        return ui.inline([[(self.env.t(lang, "attendance.dispute_button"),
                            buttons.DISPUTE.data(activity.id))]])

    def _year_of(self, activity: Activity) -> int:
        """The local calendar year an activity's hours count in (the year it started)."""
        return datetime.fromtimestamp(activity.starts_at, self.env.config.timezone).year

    # -- hours added by hand -----------------------------------------------------------------

    async def add_hours(self, unit: ActorUnit, args: list[str]) -> None:
        """/addhours <activity> <user> <hours> <reason>: a make-up by the organiser or an
        admin, capped at the activity's length, kept apart from hours by check-in."""
        repo, user_id = unit.repo, unit.user_id
        reason = " ".join(args[3:]).strip()
        activity = (await repo.activities.activity(int(args[0]))
                    if args and args[0].isascii() and args[0].isdigit() and len(args[0]) < 13
                    else None)
        if len(args) < 4 or not reason or not _HOURS.match(args[2]):
            unit.send(ui.message(user_id, unit.t("attendance.add_usage")))
            return
        if ui.units(reason) > REASON_MAX:  # refused, never cut
            unit.send(ui.message(user_id, unit.t("attendance.add_reason_too_long",
                                                 count=ui.units(reason), max=REASON_MAX)))
            return
        refusal = await self.publishing.manage_refusal(unit, activity)
        if refusal or activity is None:
            unit.send(ui.message(user_id, refusal))
            return
        if activity.status == ACTIVITY_CANCELLED:
            unit.send(ui.message(user_id, unit.t("manage.already_cancelled")))
            return
        person = await self.roles.find_user(repo, args[1])
        if person is None:
            unit.send(ui.message(user_id, unit.t("publish.unknown_leader",
                                                 who=ui.clip(args[1], 50))))
            return
        hours = float(args[2].replace(",", "."))
        length = (activity.ends_at - activity.starts_at) / 3600
        if not 0 < hours <= length:
            unit.send(ui.message(user_id, unit.t("attendance.add_range", max=f"{length:g}")))
            return
        if activity.starts_at > unit.now():
            unit.send(ui.message(user_id, unit.t("attendance.confirm_not_yet")))
            return
        year = self._year_of(activity)
        await repo.activities.credit(activity.id, person.user_id, hours, "manual",
                                     reason, year, user_id, unit.now())
        lang = await self.loop.language_of(repo, person.user_id)
        unit.send(night.at_night(self.env, "attendance.added_to_you", ui.message(
            person.user_id, self.env.t(lang, "attendance.added_to_you", title=activity.title,
                                       hours=f"{hours:g}", reason=reason))))
        unit.send(ui.message(user_id, unit.t("attendance.added", name=person.first_name,
                                             hours=f"{hours:g}", title=activity.title)))
        await self.check_formal(unit, person.user_id, year)

    # -- disputes ----------------------------------------------------------------------------

    async def ask_dispute(self, unit: ActorUnit, activity_id: int) -> Answer:
        """Dispute: once per activity, after its list was confirmed; the hours and a reason
        are asked for."""
        repo = unit.repo
        activity = await repo.activities.activity(activity_id)
        signup = (await repo.activities.signup_of(activity_id, unit.user_id)
                  if activity is not None else None)
        # Only someone who held a place was on the confirmed list (not one still waiting).
        if (activity is None or activity.confirmed_at is None or signup is None
                or signup.status != SIGNED):
            return Answer(unit.t("attendance.nothing_to_dispute"), alert=True)
        if await repo.activities.disputed(activity.id, unit.user_id):
            return Answer(unit.t("attendance.disputed_once"), alert=True)
        return await self._ask(unit, Flow.DISPUTE, "reason", activity)

    async def _dispute_reason(self, unit: ActorUnit, dialog: Dialog,
                              said: Said) -> list[Outgoing]:
        repo, user_id = unit.repo, unit.user_id
        activity = await repo.activities.activity(int(dialog.data["activity"]))
        if activity is None:
            await self.loop.pop_dialog(repo, user_id, Flow.DISPUTE)
            return [ui.message(user_id, unit.t("signup.no_such_activity"))]
        length = (activity.ends_at - activity.starts_at) / 3600
        match = _CLAIM.match(said.text) if said.kind == "text" else None
        claimed = float(match.group(1).replace(",", ".")) if match else 0.0
        if match is None or not 0 < claimed <= length:
            return [ui.message(user_id, unit.t("attendance.dispute_format", max=f"{length:g}"))]
        reason = " ".join(match.group(2).split())
        if ui.units(reason) > REASON_MAX:  # refused, never cut
            return [ui.message(user_id, unit.t("attendance.dispute_too_long",
                                               count=ui.units(reason), max=REASON_MAX))]
        await self.loop.pop_dialog(repo, user_id, Flow.DISPUTE)
        dispute_id = await repo.activities.open_dispute(activity.id, user_id, claimed, reason,
                                                        unit.now())
        if dispute_id is None:
            return [ui.message(user_id, unit.t("attendance.disputed_once"))]
        credited = sum(h.hours for h in await repo.activities.hours_of(activity.id, user_id))
        name = await self._name(unit, user_id)
        out = [ui.message(user_id, unit.t("attendance.dispute_sent", title=activity.title))]
        for judge in {activity.organiser_id, activity.leader_id}:
            lang = await self.loop.language_of(repo, judge)
            out.append(night.at_night(self.env, "attendance.dispute_for_you", ui.message(
                judge, self.env.t(
                    lang, "attendance.dispute_for_you", name=name, title=activity.title,
                    credited=f"{credited:g}", claimed=f"{claimed:g}", reason=reason),
                ui.inline([[(self.env.t(lang, "attendance.accept", hours=f"{claimed:g}"),
                             buttons.DECIDE_DISPUTE.data(dispute_id, "y")),
                            (self.env.t(lang, "attendance.refuse"),
                             buttons.DECIDE_DISPUTE.data(dispute_id, "n"))]]))))
        return out

    async def decide(self, unit: ActorUnit, dispute_id: int, accepted: bool) -> Answer:
        """The organiser (or an admin) accepts a dispute (its hours replace the credit) or
        refuses it; the volunteer is told either way."""
        repo = unit.repo
        dispute = await repo.activities.dispute(dispute_id)
        activity = (await repo.activities.activity(dispute["activity_id"])
                    if dispute is not None else None)
        refusal = await self.publishing.manage_refusal(unit, activity)
        if refusal or dispute is None or activity is None:
            return Answer(refusal, alert=True)
        if not await repo.activities.decide_dispute(dispute_id, accepted, unit.user_id,
                                                    unit.now()):
            return Answer(unit.t("attendance.decided_already"), alert=True)
        volunteer = int(dispute["user_id"])
        lang = await self.loop.language_of(repo, volunteer)
        if accepted:
            for row in await repo.activities.hours_of(activity.id, volunteer):
                await repo.activities.withdraw_hours(row.id, unit.now())
            year = self._year_of(activity)
            await repo.activities.credit(activity.id, volunteer, float(dispute["claimed"]),
                                         "manual", f"dispute #{dispute_id}", year,
                                         unit.user_id, unit.now())
            unit.send(night.at_night(self.env, "attendance.dispute_decided", ui.message(
                volunteer, self.env.t(lang, "attendance.dispute_accepted", title=activity.title,
                                      hours=f"{float(dispute['claimed']):g}"))))
            await self.check_formal(unit, volunteer, year)
        else:
            unit.send(night.at_night(self.env, "attendance.dispute_decided", ui.message(
                volunteer, self.env.t(lang, "attendance.dispute_refused",
                                      title=activity.title))))
        return Answer(unit.t("attendance.accepted_toast" if accepted
                             else "attendance.refused_toast"))

    # -- status ------------------------------------------------------------------------------

    async def year_hours(self, repo: Repo, user_id: int, year: int
                         ) -> tuple[float, float, float]:
        """A volunteer's confirmed hours of a year: from requests, activities by check-in,
        activities added by hand."""
        zone = self.env.config.timezone
        start = datetime(year, 1, 1, tzinfo=zone).timestamp()
        end = datetime(year + 1, 1, 1, tzinfo=zone).timestamp()
        since_start = (await repo.volunteers.hours_of([user_id], start)).get(
            user_id, (0.0, 0.0))[1]
        since_end = (await repo.volunteers.hours_of([user_id], end)).get(
            user_id, (0.0, 0.0))[1]
        by_source = await repo.activities.yearly_hours(user_id, year)
        return (since_start - since_end, by_source.get("checkin", 0.0),
                by_source.get("manual", 0.0))

    async def check_formal(self, unit: Unit, user_id: int, year: int) -> None:
        """Crossing the year's threshold makes a registered formal volunteer: told once."""
        unit.send(night.all_at_night(self.env, "loop.formal_volunteer", await self.formal_news(
            unit.repo, user_id, year, unit.now())))  # someone else's press: held at night

    async def formal_news(self, repo: Repo, user_id: int, year: int, now: float
                          ) -> list[Outgoing]:
        """Record a volunteer who crossed the year's threshold (once); the message telling
        them, or nothing."""
        total = sum(await self.year_hours(repo, user_id, year))
        threshold = self.env.config.activities.formal_hours
        if total < threshold or not await repo.activities.reach_formal(user_id, year, total,
                                                                        now):
            return []
        lang = await self.loop.language_of(repo, user_id)
        return [ui.message(user_id, self.env.t(
            lang, "attendance.formal_reached", year=year, hours=f"{threshold:g}"))]

    async def after_request_hours(self, repo: Repo, volunteer_id: int, at: float
                                  ) -> list[Outgoing]:
        """A request's hours were credited to a volunteer at `at`: they may have crossed the
        threshold of that year (hours from requests count as activities' do)."""
        year = datetime.fromtimestamp(at, self.env.config.timezone).year
        return await self.formal_news(repo, volunteer_id, year, self.env.now())

    def stars(self, lifetime: float) -> int:
        """Stars (0-5) for cumulative hours."""
        return sum(lifetime >= level for level in self.env.config.activities.star_hours)

    async def my_hours(self, unit: ActorUnit) -> None:
        """/hours: this year's hours by source, this month's and all-time, the star level and
        the formal-volunteer status."""
        repo, user_id = unit.repo, unit.user_id
        now = datetime.fromtimestamp(unit.now(), self.env.config.timezone)
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        all_requests, month_requests = (await repo.volunteers.hours_of(
            [user_id], month_start.timestamp())).get(user_id, (0.0, 0.0))
        requests_year, by_code, by_hand = await self.year_hours(repo, user_id, now.year)
        lifetime = all_requests + await repo.activities.lifetime_hours(user_id)
        year_total = requests_year + by_code + by_hand
        rules = self.env.config.activities
        lines = [unit.t("hours.mine", total=f"{all_requests:g}", month=f"{month_requests:g}"),
                 unit.t("attendance.year_line", year=now.year, total=f"{year_total:g}",
                        requests=f"{requests_year:g}", checkin=f"{by_code:g}",
                        manual=f"{by_hand:g}"),
                 unit.t("attendance.lifetime", hours=f"{lifetime:g}")]
        stars = self.stars(lifetime)
        following = next((h for h in rules.star_hours if lifetime < h), None)
        lines.append(unit.t("attendance.stars", stars="⭐" * stars if stars else "—",
                            count=stars) + (unit.t("attendance.next_star", hours=f"{following:g}")
                                            if following is not None else ""))
        if year_total >= rules.formal_hours:
            lines.append(unit.t("attendance.formal", year=now.year))
        else:
            lines.append(unit.t("attendance.formal_to_go", year=now.year,
                                more=f"{rules.formal_hours - year_total:g}",
                                hours=f"{rules.formal_hours:g}"))
        unit.send(ui.message(user_id, "\n".join(lines)))

    async def _name(self, unit: Unit, user_id: int) -> str:
        user = await unit.repo.people.user(user_id)
        return (user.first_name or str(user_id)) if user is not None else str(user_id)


def render_time(env: Env, moment: float, language: str) -> str:
    """A local date and time, the way `language` writes it."""
    zone = env.config.timezone
    return day_and_time(datetime.fromtimestamp(moment, zone), language,
                        datetime.fromtimestamp(env.now(), zone).year)


def render_clock(env: Env, moment: float) -> str:
    """A local time of day."""
    return f"{datetime.fromtimestamp(moment, env.config.timezone):%H:%M}"
