"""The clock: one sweep over due timers (reminders, escalation, auto-close, drafts) and reports.

Due times are rows in `timers`, written by the transitions in the same transaction as the
state change. The sweep settles each due timer with a guarded UPDATE, so two sweeps (or a sweep
racing a button press) act once, and a sweep after a long stop catches up in due order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import buttons, night, ui
from bot.context import Env
from bot.dialogs import Flow
from bot.i18n import Raw
from bot.requests import render
from bot.requests.loop import ADMIN_LEVEL, DISTRICT, RequestLoop, without_kept
from bot.schedule.backups import DailyBackup
from bot.schedule.retention import Retention
from bot.unit import Unit, Units
from storage import Dialog, Outgoing, Repo, Request, Timer, is_full
from storage.models import CLAIMED, DISPATCHED, DONE, OPEN_STATUSES

log = logging.getLogger(__name__)

BATCH = 200
MAX_ROUNDS = 50  # fired timers may chain new ones that are already due (a long stop)
ROOM = "the schedule"  # who waits for room in a full database, as the log says it
MAX_CATCH_UP_DAYS = 7
WEEKLY = "supervision_weekly"  # the reports table's kind of supervision's weekly report
OVERDUE_SHOWN = 20
RANKING_SHOWN = 5
# Reminders a citizen gets from the clock, by the message each sends: when bot/night.py says
# that waits for the morning, the timer itself moves there, so that what it says is decided
# then. (A draft's expiry is no reminder: it happens on time; only its notice waits.)
CITIZEN_REMINDERS = {"rating_reminder": "schedule.rating_reminder",
                     "draft_nudge": "schedule.draft_nudge"}
# So do a volunteer's reminders of an activity, when one falls due in quiet hours (only a
# reminder caught up after a stop does: they are set outside them); in the morning the
# activities loop sends it only if it is still true ("Soon" before the start, "Tomorrow" on a
# day before the start's; docs/decisions.md).
VOLUNTEER_REMINDERS = {"activity_day_before": "signup.remind_day",
                       "activity_hour_before": "signup.remind_hour"}
MOVED_TO_MORNING = CITIZEN_REMINDERS | VOLUNTEER_REMINDERS
# A claimer's "your task is due" that falls in quiet hours: the request is marked overdue on
# time, and the claimer told when they end, unless the admins would be alerted before then
# (docs/decisions.md); this timer, re-checked in the morning, tells them.
DUE_IN_THE_MORNING = "volunteer_due_morning"
# The admins' overdue alert at night: the admin chat hears at once; this timer, re-checked when
# quiet hours end, tells the admins in private (bot/night.py's table).
OVERDUE_IN_THE_MORNING = "volunteer_overdue_morning"
# Likewise the area admins' "it has waited too long" of a request that climbed at night.
STALLED_IN_THE_MORNING = "escalated_morning"
# Without an admin chat the centre's admins hold a request's cards in private: the night's
# claim reminder, and "it has waited too long", reach them when quiet hours end, if the
# request still waits (the cards themselves go at once, silently: bot/night.py).
CLAIM_REMINDER_IN_THE_MORNING = "claim_reminder_morning"
FLAGGED_IN_THE_MORNING = "escalated_admin_morning"
# Each of these timers asks again when quiet hours end; one that fires in them all the same
# (the bot was off from before 08:00 until the next night) moves to the next end of quiet
# hours, as a reminder does, rather than send at night or hold words that may stop being true.
IN_THE_MORNING = {DUE_IN_THE_MORNING: "schedule.volunteer_due",
                  OVERDUE_IN_THE_MORNING: "schedule.overdue_admin",
                  STALLED_IN_THE_MORNING: "schedule.escalated_area_admin",
                  CLAIM_REMINDER_IN_THE_MORNING: "schedule.claim_reminder",
                  FLAGGED_IN_THE_MORNING: "schedule.escalated_admin"}


class Schedule:
    """Runs what is due; every scheduled message goes through the outbox."""

    def __init__(self, env: Env, loop: RequestLoop, units: Units) -> None:
        self.env = env
        self.loop = loop
        self.units = units  # each timer and each report is one unit of work
        self.backups = DailyBackup(env, units)
        self.retention = Retention(env, units)
        # The periods last found all settled: the sweep runs every second, the set of due
        # periods changes once a day, so most sweeps need not ask the database about them.
        self._settled_periods: tuple[str, ...] | None = None
        # The activities loop's timers (reminders, a start) go to it (bot/wiring.py sets it:
        # this package may not import bot.activities, which imports it).
        self.activity_timers: Callable[[Unit, Timer], Awaitable[None]] | None = None
        # Supervision's timers (a problem not received in time, the reminder before its
        # deadline, the overdue notice, the escalation) go to bot/supervision/clock.py, set by
        # bot/wiring.py likewise.
        self.problem_timers: Callable[[Unit, Timer], Awaitable[None]] | None = None
        # The weekly supervision report (bot/reports/supervision.py, set by bot/wiring.py):
        # (unit, week, start, end); sent once per week with the daily digest.
        self.weekly_report: Callable[[Unit, str, float, float], Awaitable[None]] | None = None
        # The inspectors' daily reminder of the points due for a visit (ProblemClock, set by
        # bot/wiring.py likewise): once a day from daily_digest, a `reports` row of its own.
        self.patrol_reminders: Callable[[], Awaitable[None]] | None = None

    # -- quiet hours (the rule and its table: bot/night.py) ------------------------------------

    def quiet_until(self, at: float) -> float | None:
        """If `at` falls in quiet hours, return when they end; else None."""
        return night.morning(self.env, at)

    def to_citizen(
        self, key: str, chat_id: int, text: str, markup: dict[str, Any] | None = None
    ) -> Outgoing:
        """A scheduled message `key` to a person in private, as quiet hours have it."""
        return night.at_night(self.env, key, ui.message(chat_id, text, markup))

    def held(self, key: str, messages: list[Outgoing]) -> list[Outgoing]:
        """The schedule's messages `key` as quiet hours have them (those to groups at once)."""
        return night.all_at_night(self.env, key, messages)

    # -- the sweep --------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Do everything that is due, oldest first; return how many timers fired.

        While the database is full, what is due stays due (a timer is not set aside for it):
        each sweep tries again, and the log says it once (storage.Room)."""
        fired = 0
        room = self.env.db.room
        try:
            for _ in range(MAX_ROUNDS):
                now = self.env.now()
                async with self.env.db.reading() as repo:
                    due = await repo.timers.due_timers(now, BATCH)
                if not due:
                    break
                for timer in due:
                    try:
                        fired += await self._settle(timer)
                    except Exception as exc:
                        if is_full(exc):
                            raise
                        # One bad timer must not hold up every timer (and digest) after it.
                        log.exception("timer %s (%s) failed; it is set aside", timer.id,
                                      timer.kind)
                        async with self.units.for_job() as unit:
                            await unit.repo.timers.settle_timer(timer.id, "failed",
                                                                self.env.now())
        except Exception as exc:
            if not is_full(exc):
                raise
            room.refused(ROOM, exc)
            return fired  # what comes next would be refused as well
        refused = False
        for part, failed in ((self.send_reports, "sending reports failed"),
                             (self._patrol_reminders, "sending the patrol reminders failed"),
                             (self.backups.start_if_due, "could not start the daily backup"),
                             (self.retention.run_if_due, "pruning old rows failed")):
            try:
                await part()
            except Exception as exc:
                if is_full(exc):
                    room.refused(ROOM, exc)
                    refused = True
                else:
                    log.exception("%s; the next sweep tries again", failed)
        if not refused:
            room.took(ROOM)
        return fired

    async def _settle(self, timer: Timer) -> int:
        """Fire (or, in quiet hours, move) one due timer; return 1 if it fired here."""
        async with self.units.for_job() as unit:
            repo = unit.repo
            moved = MOVED_TO_MORNING.get(timer.kind) or IN_THE_MORNING.get(timer.kind)
            quiet_end = night.waits(self.env, moved) if moved is not None else None
            outcome = "deferred" if quiet_end is not None else "fired"
            if not await repo.timers.settle_timer(timer.id, outcome, self.env.now()):
                return 0  # another sweep, or a button press, got there first
            if quiet_end is not None:
                # A reminder to a citizen (or a volunteer), or a morning's re-check that
                # finds it night again, waits for morning: move it, do not hold it, so that
                # what it says is decided then.
                await repo.timers.schedule(timer.kind, quiet_end, self.env.now(),
                                           request_id=timer.request_id, user_id=timer.user_id,
                                           activity_id=timer.activity_id)
                return 0
            await self._fire(unit, timer)
            return 1

    async def _fire(self, unit: Unit, timer: Timer) -> None:
        repo = unit.repo
        if timer.activity_id is not None:
            if self.activity_timers is not None:
                await self.activity_timers(unit, timer)
            return
        if timer.problem_id is not None:
            if self.problem_timers is not None:
                await self.problem_timers(unit, timer)
            return
        if timer.request_id is None:
            await self._fire_draft(unit, timer)
            return
        request = await repo.requests.request(timer.request_id)
        if request is None:
            return
        action = {
            "claim_reminder": self._claim_reminder,
            "escalate": self._escalate,
            "volunteer_due": self._volunteer_due,
            DUE_IN_THE_MORNING: self._due_in_the_morning,
            "volunteer_overdue": self._volunteer_overdue,
            OVERDUE_IN_THE_MORNING: self._overdue_in_the_morning,
            STALLED_IN_THE_MORNING: self._stalled_in_the_morning,
            CLAIM_REMINDER_IN_THE_MORNING: self._claim_reminder_in_the_morning,
            FLAGGED_IN_THE_MORNING: self._flagged_in_the_morning,
            "rating_reminder": self._rating_reminder,
            "auto_close": self._auto_close,
        }.get(timer.kind)
        if action is None:
            log.error("timer %s has an unknown kind %r", timer.id, timer.kind)
            return
        unit.send(await action(repo, request, timer))

    async def _claim_reminder(self, repo: Repo, request: Request, timer: Timer) -> list[Outgoing]:
        """"Can someone take it?" under each of its cards: in groups at once; under a centre
        admin's card in private, at night in the morning if it still waits then."""
        if request.status != DISPATCHED:
            return []
        env = self.env
        await repo.requests.add_event(request.id, "claim_reminded", None, timer.due_at)
        reminders = await self._claim_reminders(repo, request)
        morning = night.waits(env, "schedule.claim_reminder")
        if morning is None:
            return reminders
        if any(message.chat_id > 0 for message in reminders):
            await repo.timers.schedule(CLAIM_REMINDER_IN_THE_MORNING, morning, env.now(),
                                       request_id=request.id)
        return [message for message in reminders if message.chat_id < 0]

    async def _claim_reminder_in_the_morning(self, repo: Repo, request: Request,
                                             timer: Timer) -> list[Outgoing]:
        """The night's claim reminder to the admins in private, if it still waits and has not
        climbed since (then "it has waited too long" says more)."""
        if request.status != DISPATCHED or request.overdue_since is not None:
            return []
        return self.held("schedule.claim_reminder", [
            message for message in await self._claim_reminders(repo, request)
            if message.chat_id > 0])

    async def _claim_reminders(self, repo: Repo, request: Request) -> list[Outgoing]:
        """The claim reminder as a reply to each of the request's cards."""
        env, lang = self.env, self.env.config.default_language
        text = env.t(lang, "schedule.claim_reminder", ref=request.ref,
                     category=render.category_name(env, request.category, lang))
        out = []
        reminded: set[int] = set()
        for card in await repo.cards.active_cards(request.id):
            if card.chat_id in reminded:
                continue  # a lost copy taken on there too: one reminder a chat
            reminded.add(card.chat_id)
            # In a forum, the card's topic (where it was posted, wherever its binding points
            # now): a reply whose card is gone goes without its quote, and must still land
            # where the team looks, not in General.
            message = ui.message(card.chat_id, text, render.card_markup(env, request),
                                 thread_id=card.thread_id if card.chat_id < 0 else None)
            # A card left in the group before it became a supergroup is not in the chat: its
            # id would quote another message there (or nothing).
            if card.message_id is not None and not card.left_behind:
                message.payload["reply_parameters"] = {
                    "message_id": card.message_id, "allow_sending_without_reply": True}
            out.append(message)
        return out

    async def _escalate(self, repo: Repo, request: Request, timer: Timer) -> list[Outgoing]:
        """Move a stalled request one level up the area tree (station → institute → centre →
        admin chat), re-posting its card there; climb again after another escalate_after."""
        level = request.dispatch_area_id or DISTRICT
        if request.status != DISPATCHED or (level == ADMIN_LEVEL and request.escalation_level):
            return []  # already escalated as far as it goes
        if not await repo.requests.escalate(request.id, self.env.now()):
            return []
        env = self.env
        if level == ADMIN_LEVEL:  # it went to the admins at once: flag it there, once
            next_level, target = ADMIN_LEVEL, self.loop.admin_chats()[0]
        else:
            next_level, target = await self.loop.dispatch_target(
                repo, request.category, request.area_id, above=level)
        await repo.requests.set_dispatch(request.id, target, next_level)
        await repo.requests.set_overdue(request.id, request.overdue_since or timer.due_at)
        await repo.requests.add_event(request.id, "escalated", None, timer.due_at,
                                      {"level": next_level, "chat_id": target,
                                       "step": request.escalation_level + 1})
        if next_level != ADMIN_LEVEL:
            policy = env.config.policy(request.category)
            await repo.timers.schedule("escalate", timer.due_at + policy.escalate_after, env.now(),
                                       request_id=request.id)
        request = await repo.requests.request(request.id) or request
        out = await self._escalation_cards(repo, request, next_level, target)
        if request.escalation_level == 1:  # the citizen hears it once, not at every level
            text = env.t(request.language, "schedule.escalated_citizen", ref=request.ref)
            out.append(self.to_citizen("schedule.escalated_citizen", request.citizen_id,
                                       render.citizen_text(env, request, text)))
            # So do the area's admins, in private: it is theirs to chase before it climbs on.
            # At night, in the morning, if nobody has claimed it by then (bot/night.py).
            morning = night.waits(env, "schedule.escalated_area_admin")
            if morning is None:
                out += await self._stalled_to_area_admins(repo, request)
            else:
                await repo.timers.schedule(STALLED_IN_THE_MORNING, morning, env.now(),
                                           request_id=request.id)
        return out

    async def _escalation_cards(self, repo: Repo, request: Request, level: str,
                                target: int) -> list[Outgoing]:
        """The escalated request's cards (a centre admin's in private, at night, silently:
        RequestLoop.post_card); "it has waited too long" under a card a centre admin has
        already waits for the morning, if the request still waits then (bot/night.py)."""
        env = self.env
        morning = night.waits(env, "schedule.escalated_admin")
        out: list[Outgoing] = []
        flagged = False  # a centre admin in private is to hear it has waited too long
        for message in await self.loop.escalation_cards(repo, request, level, target):
            if message.chat_id < 0 or message.purpose == "card" or morning is None:
                out.append(message)
            else:
                flagged = True
        if flagged and morning is not None:
            await repo.timers.schedule(FLAGGED_IN_THE_MORNING, morning, env.now(),
                                       request_id=request.id)
        return out

    async def _flagged_in_the_morning(self, repo: Repo, request: Request,
                                      timer: Timer) -> list[Outgoing]:
        """The night's "it has waited too long" to the centre's admins in private, under the
        cards they have, if it still waits."""
        if request.status != DISPATCHED:
            return []
        lang = self.env.config.default_language
        chats = {card.chat_id for card in await repo.cards.active_cards(request.id)}
        key = "schedule.escalated_admin"
        return self.held(key, [ui.message(chat, self.env.t(lang, key, ref=request.ref))
                               for chat in self.loop.admin_chats() if chat > 0 and chat in chats])

    async def _stalled_in_the_morning(self, repo: Repo, request: Request,
                                      timer: Timer) -> list[Outgoing]:
        """The night's "it has waited too long" to the area's admins, if it still waits."""
        if request.status != DISPATCHED:
            return []
        return await self._stalled_to_area_admins(repo, request)

    async def _stalled_to_area_admins(self, repo: Repo, request: Request) -> list[Outgoing]:
        """"It has waited too long" to the admins of the request's area, in private."""
        key = "schedule.escalated_area_admin"
        return self.held(key, await self.loop.tell_area_admins(repo, request.area_id, key,
                                                               ref=request.ref))

    async def _volunteer_due(self, repo: Repo, request: Request, timer: Timer) -> list[Outgoing]:
        if request.status != CLAIMED or request.volunteer_id is None:
            return []
        env, policy = self.env, self.env.config.policy(request.category)
        await repo.requests.set_overdue(request.id, timer.due_at)
        await repo.requests.add_event(request.id, "volunteer_reminded", None, timer.due_at)
        await repo.timers.schedule("volunteer_overdue", timer.due_at + policy.due_after, env.now(),
                                   request_id=request.id)
        morning = night.waits(env, "schedule.volunteer_due")
        if morning is not None and morning < timer.due_at + policy.due_after:
            # Nothing is lost by waiting for the morning: the admins hear of it only later.
            await repo.timers.schedule(DUE_IN_THE_MORNING, morning, env.now(),
                                       request_id=request.id, user_id=request.volunteer_id)
            return []
        # At night it goes now only so that it is there before the admins hear; it need not
        # wake the claimer for that (bot/night.py).
        return self.held("schedule.volunteer_due_before_the_admins",
                         await self._due_reminder(repo, request))

    async def _due_in_the_morning(self, repo: Repo, request: Request,
                                  timer: Timer) -> list[Outgoing]:
        """The due reminder held through quiet hours, if the same claimer still holds it."""
        if request.status != CLAIMED or request.volunteer_id != timer.user_id:
            return []
        return await self._due_reminder(repo, request)

    async def _due_reminder(self, repo: Repo, request: Request) -> list[Outgoing]:
        """"Your task is due", with Done, Release and (once) More time."""
        env = self.env
        assert request.volunteer_id is not None
        lang = await self.loop.language_of(repo, request.volunteer_id)
        rows = [[
            (env.t(lang, "task.done_button"), buttons.DONE.data(request.id)),
            (env.t(lang, "task.release_button"), buttons.RELEASE.data(request.id)),
        ]]
        if not request.extended:
            rows.append([(env.t(lang, "schedule.more_time_button"),
                          buttons.MORE_TIME.data(request.id))])
        text = env.t(lang, "schedule.volunteer_due", ref=request.ref)
        return [ui.message(request.volunteer_id, text, ui.inline(rows))]

    async def _volunteer_overdue(
        self, repo: Repo, request: Request, timer: Timer
    ) -> list[Outgoing]:
        """The admins' alert: the admin chat at once; the admins in private (area admins, and
        the centre's without an admin chat) at once by day, at night in the morning if the
        same claimer still has it overdue then (bot/night.py)."""
        if request.status != CLAIMED:
            return []
        await repo.requests.add_event(request.id, "overdue_alerted", None, timer.due_at)
        groups = self._overdue_alert(request, private=False)
        morning = night.waits(self.env, "schedule.overdue_admin")
        if morning is not None:
            await repo.timers.schedule(OVERDUE_IN_THE_MORNING, morning, self.env.now(),
                                       request_id=request.id, user_id=request.volunteer_id)
            return groups
        return groups + await self._overdue_to_people(repo, request)

    async def _overdue_in_the_morning(self, repo: Repo, request: Request,
                                      timer: Timer) -> list[Outgoing]:
        """The night's overdue alert to the admins in private, if still true: the same
        claimer holds it, still overdue (done, released or given more time: nothing)."""
        if (request.status != CLAIMED or request.volunteer_id != timer.user_id
                or request.overdue_since is None):
            return []
        return await self._overdue_to_people(repo, request)

    async def _overdue_to_people(self, repo: Repo, request: Request) -> list[Outgoing]:
        """The overdue alert to the admins in private."""
        key = "schedule.overdue_admin"
        areas = await self.loop.tell_area_admins(repo, request.area_id, key, ref=request.ref,
                                                 name=request.volunteer_name or "-")
        return self.held(key, self._overdue_alert(request, private=True) + areas)

    def _overdue_alert(self, request: Request, *, private: bool) -> list[Outgoing]:
        """The overdue alert to the admin chats: the groups, or (without one) the centre's
        admins in private."""
        text = self.env.t(self.env.config.default_language, "schedule.overdue_admin",
                          ref=request.ref, name=request.volunteer_name or "-")
        return [ui.message(chat, text) for chat in self.loop.admin_chats()
                if (chat > 0) == private]

    async def _rating_reminder(
        self, repo: Repo, request: Request, timer: Timer
    ) -> list[Outgoing]:
        if request.status != DONE:
            return []
        await repo.requests.add_event(request.id, "rating_reminded", None, timer.due_at)
        question = self.loop.resolved_question(request)
        # A neighbour's asks the helper how she confirmed it, as its buttons do.
        key = "neighbour.rating_reminder" if request.on_behalf else "schedule.rating_reminder"
        text = render.citizen_text(self.env, request, self.env.t(
            request.language, key, ref=request.ref))
        return [self.to_citizen("schedule.rating_reminder", request.citizen_id, text,
                                question.payload["reply_markup"])]

    async def _auto_close(self, repo: Repo, request: Request, timer: Timer) -> list[Outgoing]:
        now = self.env.now()
        # Stamped when it was due, so the digest of an outage's day counts it on that day.
        if request.status != DONE or not await repo.requests.auto_close(request.id, timer.due_at):
            return []
        await repo.timers.cancel_timers(now, request_id=request.id)
        # The volunteer who became a formal one by it hears it in the morning, if now is
        # quiet hours.
        formal = self.held("loop.formal_volunteer",
                           await self.loop.credit_hours(repo, request, timer.due_at))
        await repo.requests.add_event(request.id, "auto_closed", None, timer.due_at)
        closed = await repo.requests.request(request.id) or request
        out = await self.loop.card_updates(repo, closed) + formal
        text = self.env.t(request.language, "schedule.auto_closed", ref=request.ref)
        out.append(self.to_citizen("schedule.auto_closed", request.citizen_id,
                                   render.citizen_text(self.env, request, text)))
        # Neighbours who joined it hear it closed and may rate it (in the morning, if now
        # is quiet hours, as its citizen does).
        out += await self.loop.follower_news(repo, closed, "closed",
                                             night.waits(self.env, "loop.follower_closed"))
        return out

    async def _fire_draft(self, unit: Unit, timer: Timer) -> None:
        """A draft's nudge or expiry, told to the citizen; a long dialog the expired draft
        lay on is back, with its "Back to …" line and question."""
        repo, user_id = unit.repo, timer.user_id
        dialog = await repo.people.dialog(user_id) if user_id is not None else None
        if user_id is None or dialog is None:
            return
        unit.send(await self._draft_news(repo, user_id, dialog, timer))
        if timer.kind == "draft_expire" and dialog.flow == Flow.INTAKE:
            user = await repo.people.user(user_id)
            if user is not None and await repo.people.dialog(user_id) is not None:
                lang = await self.loop.language_of(repo, user_id)
                start = len(unit.outgoing)
                await self.loop.back_to_draft(unit.for_person(user, lang))
                # At night it waits for the morning, as the notice before it does.
                unit.outgoing[start:] = self.held("schedule.draft_expired",
                                                  unit.outgoing[start:])

    async def _draft_news(self, repo: Repo, user_id: int, dialog: Dialog,
                          timer: Timer) -> list[Outgoing]:
        """A draft's nudge or expiry: what to send the citizen."""
        lang = await self.loop.language_of(repo, user_id)
        t = self.env.t
        if dialog.flow != Flow.INTAKE:
            # The draft lies under other dialogs (a note, an activity being published and
            # Nearest to me on that …): no nudge now, it comes back with its clock restarted;
            # but it still expires on time, and those above it stay.
            kept = without_kept(dialog.data, (Flow.INTAKE, None))
            if kept is None:
                return []
            if timer.kind == "draft_expire":
                await repo.people.save_dialog(Dialog(user_id, dialog.flow, dialog.step, kept),
                                              self.env.now())
                return [self.to_citizen("schedule.draft_expired", user_id,
                                        t(lang, "schedule.draft_expired"))]
            return []
        if timer.kind == "draft_nudge":
            draft = dialog.data.get("id", "")
            markup = ui.inline([[
                (t(lang, "schedule.draft_continue"), buttons.FORM.data(draft, "resume", "")),
                (t(lang, "schedule.draft_discard"), buttons.FORM.data(draft, "cancel", "")),
            ]])
            out = [self.to_citizen("schedule.draft_nudge", user_id,
                                   t(lang, "schedule.draft_nudge"), markup)]
        else:
            # The long dialog the form came on (/new in the middle of a visit …) stays.
            await self.loop.pop_dialog(repo, user_id, Flow.INTAKE)
            await repo.timers.cancel_timers(self.env.now(), user_id=user_id)
            # A draft left at its place or phone had a reply keyboard up: it goes with the
            # draft, or a tap would send a location to no form.
            out = [self.to_citizen("schedule.draft_expired", user_id,
                                   t(lang, "schedule.draft_expired"), ui.REMOVE_KEYBOARD)]
        return out

    # -- reports ----------------------------------------------------------------------------

    async def _patrol_reminders(self) -> None:
        if self.patrol_reminders is not None:
            await self.patrol_reminders()

    async def send_reports(self) -> None:
        """Send the daily digests (and the monthly summary) that are due and not yet sent."""
        tz, digest_at = self.env.config.timezone, self.env.config.schedule.daily_digest
        due = reports_due(self.env.now(), tz, digest_at)
        weekly = (week_due(self.env.now(), tz, digest_at)
                  if self.weekly_report and self.env.config.supervision.registers else [])
        periods = tuple(f"{kind}:{period}" for kind, period, _, _ in due + weekly)
        if periods == self._settled_periods:
            return
        async with self.env.db.reading() as repo:
            first = await repo.figures.first_event_at()
            first_visit = await repo.supervision.first_visit_at() if weekly else None
            # A period that ended before the first request ever is not reported, nor
            # recorded: time may still be moved back to it (tests, a restored backup). The
            # same for supervision's week and the first visit ever.
            candidates = [p for p in due if first is not None and first < p[3]]
            candidates += [p for p in weekly if first_visit is not None and first_visit < p[3]]
            done = await repo.timers.reported_of([(p[0], p[1]) for p in candidates])
            wanted = [p for p in candidates if (p[0], p[1]) not in done]
        for kind, period, start, end in wanted:
            if kind == WEEKLY:
                await self._weekly(period, start, end)
            else:
                await self._report(kind, period, start, end)
        if first is not None or first_visit is not None:
            self._settled_periods = periods

    async def _weekly(self, period: str, start: float, end: float) -> None:
        """Supervision's weekly report, once: recorded in the same unit that queues it."""
        assert self.weekly_report is not None
        async with self.units.for_job() as unit:
            if await unit.repo.timers.record_report(WEEKLY, period, self.env.now()):
                await self.weekly_report(unit, period, start, end)

    async def _rankings(self, repo: Repo, lang: str, start: float, end: float) -> list[str]:
        """The month's teams by hours given and stations by requests closed."""
        env, t = self.env, self.env.t
        lines = []
        teams = await repo.volunteers.team_ranking(start, end, RANKING_SHOWN)
        if teams:
            lines.append(t(lang, "report.team_ranking"))
            for place, (team_id, hours) in enumerate(teams, start=1):
                team = env.config.volunteering.team(team_id)
                lines.append(t(lang, "report.team_line", place=place, hours=f"{hours:g}",
                               team=team.name(lang) if team else team_id))
        stations = await repo.volunteers.station_ranking(start, end, RANKING_SHOWN)
        if stations:
            lines.append(t(lang, "report.station_ranking"))
            for place, (area_id, closed) in enumerate(stations, start=1):
                lines.append(t(lang, "report.station_line", place=place, closed=closed,
                               area=render.area_name(env, area_id, lang)))
        return lines

    async def _report(self, kind: str, period: str, start: float, end: float) -> None:
        env, lang = self.env, self.env.config.default_language
        async with self.units.for_job() as unit:
            repo = unit.repo
            if not await repo.timers.record_report(kind, period, env.now()):
                return  # another sweep sent it
            # Read once: each area admin's digest picks theirs from the same list.
            overdue = await repo.requests.overdue_requests()
            lines = await self._digest(repo, lang, kind, period, start, end, overdue, None)
            assert lines is not None  # the district's is sent even on a quiet day
            text = Raw("\n".join(lines))
            # Caught up at night (a stop through the digest's hour), it waits in private for
            # the morning: what it says is the past day's and stays true (bot/night.py).
            unit.send(self.held("report.digest", [ui.message(chat, text)
                                                  for chat in self.loop.admin_chats()]))
            # Each area admin gets their areas' figures, in private and in their language.
            granted: dict[int, list[str]] = {}
            tree = env.config.areas
            for user_id, area_id in await repo.people.grant_list():
                if tree is not None and area_id in tree and user_id not in env.config.admin_ids:
                    granted.setdefault(user_id, []).append(area_id)
            for user_id, areas in granted.items():
                assert tree is not None
                scope = sorted({a for root in areas for a in tree.subtree(root)})
                their = await self.loop.language_of(repo, user_id)
                mine = await self._digest(repo, their, kind, period, start, end, overdue, scope)
                if mine is not None:
                    names = ", ".join(render.area_name(env, a, their) for a in areas)
                    mine[0] = env.t(their, "report.area_title", title=Raw(mine[0]), areas=names)
                    unit.send(night.at_night(env, "report.digest",
                                             ui.message(user_id, Raw("\n".join(mine)))))

    async def _digest(
        self, repo: Repo, lang: str, kind: str, period: str, start: float, end: float,
        overdue_now: list[Request], scope: list[str] | None,
    ) -> list[str] | None:
        """A digest's lines for the district (scope None) or some areas; None for areas
        where nothing happened and nothing is open (a quiet day sends them nothing)."""
        t = self.env.t
        counts = await repo.figures.event_counts(start, end, scope)
        statuses = await repo.figures.status_counts(scope)
        overdue = [r for r in overdue_now if scope is None or r.area_id in scope]
        still_open = sum(statuses.get(s, 0) for s in OPEN_STATUSES)
        if scope is not None and not counts and not still_open:
            return None
        lines = [
            t(lang, f"report.{kind}_title", period=period),
            t(lang, "report.counts",
              collected=counts.get("created", 0),
              confirmed=counts.get("confirmed", 0),
              unconfirmed=counts.get("auto_closed", 0),
              reopened=counts.get("reopened", 0),
              cancelled=counts.get("cancelled", 0),
              open=still_open),
        ]
        if overdue:
            refs = ", ".join(r.ref for r in overdue[:OVERDUE_SHOWN])
            more = len(overdue) - OVERDUE_SHOWN
            lines.append(t(lang, "report.overdue", count=len(overdue), refs=refs))
            if more > 0:
                lines.append(t(lang, "report.overdue_more", count=more))
        else:
            lines.append(t(lang, "report.no_overdue"))
        if kind == "monthly" and scope is None:
            lines += await self._rankings(repo, lang, start, end)
        return lines


def reports_due(at: float, tz: ZoneInfo, digest_at: time) -> list[tuple[str, str, float, float]]:
    """The reports that should have gone out by `at`, as (kind, period, start, end).

    A day's digest is due at `digest_at` (local) the next day; the last MAX_CATCH_UP_DAYS
    days' digests are listed, oldest first (older ones are not caught up). A month's summary
    is due with the first digest of the next month."""
    local = datetime.fromtimestamp(at, tz)
    digest_passed = local.time() >= digest_at
    newest = local.date() - timedelta(days=1 if digest_passed else 2)
    due: list[tuple[str, str, float, float]] = []
    for back in range(MAX_CATCH_UP_DAYS - 1, -1, -1):
        day = newest - timedelta(days=back)
        due.append(("daily", day.isoformat(), _midnight(day, tz),
                    _midnight(day + timedelta(days=1), tz)))
    this_month = local.date().replace(day=1)
    if local.date() > this_month or digest_passed:
        previous = (this_month - timedelta(days=1)).replace(day=1)
        due.append(("monthly", previous.strftime("%Y-%m"), _midnight(previous, tz),
                    _midnight(this_month, tz)))
    return due


def week_due(at: float, tz: ZoneInfo, digest_at: time) -> list[tuple[str, str, float, float]]:
    """The week whose supervision report should have gone out by `at`: the last whole week
    (Monday to Sunday, local), due with Monday's digest; as (kind, ISO week, start, end). Only
    the latest week is listed: after a long stop, the report catches up on that one."""
    local = datetime.fromtimestamp(at, tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local.date() == monday and local.time() < digest_at:
        monday -= timedelta(days=7)
    first = monday - timedelta(days=7)
    year, week, _ = first.isocalendar()
    return [(WEEKLY, f"{year}-W{week:02d}", _midnight(first, tz), _midnight(monday, tz))]


def _midnight(day: date, tz: ZoneInfo) -> float:
    """The timestamp of a day's start in the configured time zone."""
    return datetime.combine(day, datetime.min.time(), tz).timestamp()
