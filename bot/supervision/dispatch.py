"""A reported problem's way to its responsible unit and back (issue 16.4-5): the unit's card,
Received, Rectified, Not ours and Need more time; the admins' reassigning and extensions; the
inspector's re-check that passes or rejects it; /problem, its history.

- **The card** goes to the unit's bound chat: the before photo(s) first (one photo, or an album),
  then the card as a text message with the buttons, so every card is one kind of message and
  is edited in place as the problem moves (a `problem_posts` row; the sender records its
  message id and coalesces its edits, as it does an activity's card). Each person named to act
  for the unit (`/unitmember`) who has opened the bot gets the same card in private, with the
  same buttons, kept up to date the same way. A unit with no chat gets nothing: the admins are
  told, and the problem goes to the unit's chat by itself once it is bound (or `/reassign`).
- **Who acts for the unit**: anyone pressing in the unit's own chat (an admin bound it to the
  unit), and the unit's named members anywhere. Someone else gets one line naming the unit.
- **Received** starts the rectification clock (the severity's deadline from now). Until then
  the receipt has its own deadline (`receive_within` from the card's arrival): past it, the
  unit's chat is reminded and the admins are told, once.
- **Rectified**, **Not ours** and **Need more time** each open a short dialog in private with
  whoever pressed (a `dialogs` row, so a restart loses nothing): after photos (at least one, as
  photos, not files) then a note; a reason; a reason then a date. Not ours goes to the admins
  with a button per unit (or `/reassign <ref> <unit>`); more time to the admins with Approve
  and Refuse.
- **The re-check** goes to the reporting inspector (while they inspect for the problem's
  group), else to every inspector of the group: the before and after photos as one album,
  then Pass and Reject (a reason, in a short dialog). Only an inspector of that group may
  decide; a rejection sends the problem back to the unit with the severity's deadline again.
- **The rectification clock** (start_clock): the reminder before the deadline and the overdue
  notice, rewritten when the deadline is set or moves; bot/supervision/clock.py fires them.

Every change is a `problem_events` row (the history /problem shows). Imports: the kernel,
bot.people, bot.requests (its dialog helpers and the phone mask), storage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any

from bot import buttons, night, ui
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.people.roles import Roles
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.supervision.registers import Registers
from bot.unit import ActorUnit, Unit, pressed_in
from storage import Dialog, Outgoing, Problem, Repo, Timer
from storage.models import (
    PROBLEM_DISPATCHED,
    PROBLEM_PASSED,
    PROBLEM_RECEIVED,
    PROBLEM_RECTIFIED,
    PROBLEM_RETURNED,
)

log = logging.getLogger(__name__)

RECEIVE_TIMER = "problem_receive"  # the unit has not pressed Received in time
# Its notice to the admins in private (no admin chat) that fell in quiet hours: sent when they
# end if the problem still waits for Received (bot/night.py); called off with the receipt's.
RECEIVE_MORNING = "problem_receive_morning"
RECEIVE_TIMERS = (RECEIVE_TIMER, RECEIVE_MORNING)
# The rectification clock (issue 16.6; bot/supervision/clock.py fires them): a reminder before
# the deadline, the overdue notice at it, the area admins after a further escalate_after.
REMIND_TIMER = "problem_remind"
OVERDUE_TIMER = "problem_overdue"
ESCALATE_TIMER = "problem_escalate"
# What each of them tells people in private that fell in quiet hours: sent when they end, if
# still true (bot/supervision/clock.py). Part of the clock, so a new deadline calls them off.
REMIND_MORNING = "problem_remind_morning"
OVERDUE_MORNING = "problem_overdue_morning"
ESCALATE_MORNING = "problem_escalate_morning"
CLOCK_TIMERS = (REMIND_TIMER, OVERDUE_TIMER, ESCALATE_TIMER,
                REMIND_MORNING, OVERDUE_MORNING, ESCALATE_MORNING)
AFTER_MAX = 4  # after photos: with at most 6 before photos, the re-check album fits 10
NOTE_MAX = 500
REASON_MAX = 300
EXTENSION_MAX_DAYS = 90
UNIT_BUTTONS = 20  # units offered to reassign a returned problem to (the command takes any)
_DATE = re.compile(r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
                   r"(?:\s+(\d{1,2})\s*[:：]\s*(\d{2}))?$")
_FLOWS = (Flow.RECTIFY, Flow.NOT_OURS, Flow.EXTEND, Flow.REJECT_RECHECK)
# A problem's link (an export's "photos" column): /start problem_D2026-00001 in private.
START_LINK = re.compile(r"^problem_(D\d{4}-\d{5,6})$", re.IGNORECASE)


def problem_link(env: Env, ref: str) -> str:
    """A link a person can open: the bot shows them the problem and sends its photos, if they
    may see it (Telegram's file ids open nothing outside the bot)."""
    return f"https://t.me/{env.bot_username}?start=problem_{ref}"


class Dispatch:
    """Sends each problem to its unit, runs the unit's answers and the re-check."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles) -> None:
        self.env = env
        self.loop = loop  # its dialog helpers keep a request form under these short dialogs
        self.roles = roles
        # A problem made from a citizen's request passed: the citizen hears and rates it
        # (Bridge.passed; set by bot/wiring.py, as bridge.py sits above this module).
        self.passed: Callable[[Unit, Problem], Awaitable[None]] | None = None

    def registers(self) -> Registers | None:
        return self.env.config.supervision.registers

    def short_flows(self) -> dict[str, Callable[[ActorUnit, Dialog, Said],
                                                Awaitable[list[Outgoing]]]]:
        """The private dialogs this service answers (the private router takes them)."""
        return dict.fromkeys(_FLOWS, self.on_message)

    def asked_again(self) -> dict[str, Callable[[ActorUnit, Dialog],
                                                Awaitable[list[Outgoing] | str]]]:
        """Those dialogs' questions again, when one is back on top (the private router)."""
        return dict.fromkeys(_FLOWS, self._again)

    # -- sending a problem to its unit ---------------------------------------------------------

    async def dispatch(self, unit: Unit, problem_id: int) -> None:
        """Send a just reported (or reassigned) problem to its unit's chat and people; with no
        chat bound, tell the admins instead."""
        repo = unit.repo
        problem = await repo.supervision.problem(problem_id)
        if problem is None:
            return
        place = await repo.supervision.unit_place(problem.unit_id)
        if place is None:
            await repo.supervision.add_event(problem.id, "dispatched", None, unit.now(),
                                             {"unit": problem.unit_id, "chat": None})
            await self._tell_admins(unit, "dispatch.no_chat", ref=problem.ref,
                                    unit=self._unit_name(problem.unit_id, None),
                                    id=problem.unit_id, point=self._point_name(problem, None),
                                    note=render.mask_phones(problem.note))
            return
        await self._post_cards(unit, problem, place, restart_clock=False)

    async def unit_bound(self, unit: Unit, unit_id: str) -> None:
        """A unit's chat was just bound: what waited for it goes there now. A problem that
        never reached the unit gets its cards (and its receipt's clock from now); one that did
        (its card in the group the unit had before, the bot removed from it or another group
        bound instead; or only its members' copies, the group having refused the card) gets
        its card here, its clock as it was, and an old group's card is no longer redrawn:
        presses there no longer act for the unit."""
        repo = unit.repo
        place = await repo.supervision.unit_place(unit_id)
        if place is None:
            return
        chat, topic = place
        lang = self.env.config.default_language
        for problem_id in await repo.supervision.carded_elsewhere(unit_id, chat):
            problem = await repo.supervision.problem(problem_id)
            if problem is None:
                continue
            await repo.supervision.end_group_posts(problem.id, chat, unit.now())
            await self._post_card(unit, problem, chat, lang, topic)
            await repo.supervision.add_event(problem.id, "dispatched", None, unit.now(),
                                             {"unit": unit_id, "chat": chat, "members": 0})
        for problem_id in await repo.supervision.waiting_without_card(unit_id):
            problem = await repo.supervision.problem(problem_id)
            if problem is not None:
                await self._post_cards(unit, problem, place, restart_clock=True)

    async def _post_cards(self, unit: Unit, problem: Problem, place: tuple[int, int | None],
                          *, restart_clock: bool) -> None:
        """The before photos and the card, to the unit's chat (its forum topic, if bound in
        one) and its people; the receipt's clock (from now if `restart_clock`, else as
        reported) while it waits for Received."""
        chat, topic = place
        repo, now = unit.repo, unit.now()
        await repo.supervision.end_posts(problem.id, "unit", now)  # an earlier unit's cards
        if problem.status == PROBLEM_DISPATCHED:
            if restart_clock:
                await repo.supervision.start_receive_clock(
                    problem.id, now + self.env.config.supervision.receive_within)
                fresh = await repo.supervision.problem(problem.id)
                assert fresh is not None
                problem = fresh
            await repo.timers.cancel_timers(now, problem_id=problem.id, kinds=RECEIVE_TIMERS)
            await repo.timers.schedule(RECEIVE_TIMER, problem.receive_due, now,
                                       problem_id=problem.id)
        targets: list[tuple[int, str, int | None]] = [
            (chat, self.env.config.default_language, topic)]
        for member in await repo.supervision.members(problem.unit_id):
            lang = await self._reachable(repo, member)
            if lang is not None:
                targets.append((member, lang, None))
        for target, lang, thread in targets:
            await self._post_card(unit, problem, target, lang, thread)
        await repo.supervision.add_event(problem.id, "dispatched", None, now,
                                         {"unit": problem.unit_id, "chat": chat,
                                          "members": len(targets) - 1})

    async def _reachable(self, repo: Repo, user_id: int) -> str | None:
        """The language of someone the bot may write to (they opened it, never blocked it)."""
        person = await repo.people.user(user_id)
        if person is None or not person.started or person.blocked:
            return None
        return self.env.t.language_for(person.language, None)

    async def _post_card(self, unit: Unit, problem: Problem, target: int, lang: str,
                         topic: int | None = None) -> None:
        """The before photos and the unit's card, to one chat (into its forum `topic`), the
        card redrawn with the rest (to a person, as quiet hours have it: bot/night.py)."""
        repo = unit.repo
        post_id = await repo.supervision.add_post(problem.id, target, "unit", unit.now())
        text, markup = await self._card(repo, problem, lang)
        unit.send(night.all_at_night(self.env, "dispatch.card", [
            *ui.photos(target, list(problem.before_photos), topic),
            ui.message(target, text, markup, purpose="problem_post", problem_post_id=post_id,
                       thread_id=topic)]))

    async def member_changed(self, unit: Unit, unit_id: str, user_id: int, added: bool) -> None:
        """Someone named to act for a unit gets a copy of each card waiting on it; someone
        no longer acting for it keeps theirs as they are, no longer redrawn."""
        repo = unit.repo
        if not added:
            await repo.supervision.end_posts_in(unit_id, user_id, unit.now())
            return
        lang = await self._reachable(repo, user_id)
        if lang is None:
            return
        for problem_id in await repo.supervision.carded_open(unit_id):
            problem = await repo.supervision.problem(problem_id)
            if problem is not None:
                await self._post_card(unit, problem, user_id, lang)

    # -- the cards -----------------------------------------------------------------------------

    async def _card(self, repo: Repo, problem: Problem,
                    lang: str) -> tuple[str, dict[str, Any] | None]:
        """The unit's card in `lang` (the note's phone numbers masked) and its buttons."""
        t = self.env.t
        lines = [t(lang, "dispatch.card_title", ref=problem.ref), *self._facts(problem, lang)]
        lines.append(t(lang, "dispatch.card_note", note=render.mask_phones(problem.note)))
        lines.append(t(lang, "dispatch.card_photos", count=len(problem.before_photos)))
        lines += await self._state(repo, problem, lang)
        lines.append(t(lang, "dispatch.card_history", ref=problem.ref))
        rows: list[list[ui.Button]] = []
        if problem.status == PROBLEM_DISPATCHED:
            rows = [[(t(lang, "dispatch.received"), buttons.PROBLEM.data(problem.id, "recv")),
                     (t(lang, "dispatch.not_ours"), buttons.PROBLEM.data(problem.id, "notours"))]]
        elif problem.status == PROBLEM_RECEIVED:
            rows = [[(t(lang, "dispatch.rectified"), buttons.PROBLEM.data(problem.id, "fixed"))],
                    [(t(lang, "dispatch.more_time"), buttons.PROBLEM.data(problem.id, "more")),
                     (t(lang, "dispatch.not_ours"), buttons.PROBLEM.data(problem.id, "notours"))]]
        return "\n".join(lines), ui.inline(rows) if rows else None

    def _facts(self, problem: Problem, lang: str) -> list[str]:
        """Where, for whom, what and how urgent."""
        t = self.env.t
        kind = self.env.config.supervision.problem_type(problem.type)
        return [
            t(lang, "dispatch.card_point", point=self._point_name(problem, lang),
              area=self._area_name(problem.area_id, lang)),
            t(lang, "dispatch.card_unit", unit=self._unit_name(problem.unit_id, lang)),
            t(lang, "dispatch.card_type", type=kind.name(lang) if kind else problem.type,
              severity=self._severity(problem.severity, lang)),
        ]

    async def _state(self, repo: Repo, problem: Problem, lang: str) -> list[str]:
        """Where the problem stands, with the reasons that matter to the unit."""
        t = self.env.t
        history = await repo.supervision.history(problem.id)

        def last(kind: str) -> dict[str, Any]:
            return next((d for _, k, _, d in reversed(history) if k == kind), {})

        lines = []
        if problem.status == PROBLEM_DISPATCHED:
            lines.append(t(lang, "dispatch.state_dispatched",
                           by=self._when(problem.receive_due, lang)))
        elif problem.status == PROBLEM_RECEIVED:
            lines.append(t(lang, "dispatch.state_received",
                           name=await self._name(repo, problem.received_by),
                           due=self._when(problem.due_at or 0, lang)))
        elif problem.status == PROBLEM_RECTIFIED:
            lines.append(t(lang, "dispatch.state_rectified",
                           at=self._when(problem.rectified_at or 0, lang)))
        elif problem.status == PROBLEM_PASSED:
            lines.append(t(lang, "dispatch.state_passed",
                           at=self._when(problem.passed_at or 0, lang)))
        elif problem.status == PROBLEM_RETURNED:
            lines.append(t(lang, "dispatch.state_returned",
                           reason=render.mask_phones(last("returned").get("reason", ""))))
        if problem.rejections:
            lines.append(t(lang, "dispatch.card_rejections", count=problem.rejections,
                           reason=render.mask_phones(last("rejected").get("reason", ""))))
        if problem.extensions:
            lines.append(t(lang, "dispatch.card_extensions", count=problem.extensions))
        return lines

    async def _recheck_card(self, repo: Repo, problem: Problem,
                            lang: str) -> tuple[str, dict[str, Any] | None]:
        """The inspector's re-check: what was found and what the unit did; Pass and Reject
        while it waits."""
        t = self.env.t
        lines = [t(lang, "recheck.title", ref=problem.ref), *self._facts(problem, lang),
                 t(lang, "recheck.found", note=problem.note)]
        history = await repo.supervision.history(problem.id)
        fixed: dict[str, Any] = next((d for _, k, _, d in reversed(history)
                                      if k == "rectified"), {})
        lines.append(t(lang, "recheck.done", note=fixed.get("note", ""),
                       before=len(problem.before_photos), after=len(fixed.get("photos", []))))
        decided = next(((k, who, d) for _, k, who, d in reversed(history)
                        if k in ("passed", "rejected")), None)
        markup = None
        if problem.status == PROBLEM_RECTIFIED:
            lines.append(t(lang, "recheck.question"))
            markup = ui.inline([[(t(lang, "recheck.pass"), buttons.RECHECK.data(problem.id,
                                                                                "pass")),
                                 (t(lang, "recheck.reject"), buttons.RECHECK.data(problem.id,
                                                                                  "reject"))]])
        elif decided is not None:
            kind, who, detail = decided
            lines.append(t(lang, f"recheck.was_{kind}", name=await self._name(repo, who),
                           reason=detail.get("reason", "")))
        return "\n".join(lines), markup

    async def redraw(self, unit: Unit, problem_id: int) -> None:
        """Queue the current state of every card of a problem still drawn."""
        repo = unit.repo
        problem = await repo.supervision.problem(problem_id)
        if problem is None:
            return
        for post in await repo.supervision.posts(problem.id):
            lang = await self._language(repo, post.chat_id)
            if post.role == "recheck":
                text, markup = await self._recheck_card(repo, problem, lang)
            else:
                text, markup = await self._card(repo, problem, lang)
            unit.send(ui.problem_post_edit(post.chat_id, post.id, text, markup))

    # -- the unit's buttons --------------------------------------------------------------------

    async def on_card(self, unit: ActorUnit, problem_id: int, action: str,
                      chat_id: int, message_id: int | None = None) -> Answer:
        """Received, Rectified, Not ours or Need more time on a unit's card (`message_id`)."""
        answer = await self._on_card(unit, problem_id, action, chat_id)
        if message_id is not None:
            await self._lost_copy(unit, problem_id, chat_id, message_id)
        return answer

    async def _lost_copy(self, unit: ActorUnit, problem_id: int, chat_id: int,
                         message_id: int, role: str = "unit") -> None:
        """A press on a copy of the card the bot does not know (its post went, but the answer
        was lost to a crash or a broken line, and it was posted again): the copy is taken on
        as one more of the problem's cards of `role` in that chat (the unit's card, or the
        inspector's re-check), shown as it is now and redrawn with the others from then on
        (else it kept the state it was pressed in for ever)."""
        repo = unit.repo
        if await repo.supervision.is_post(chat_id, message_id):
            return
        if any(post.chat_id == chat_id and post.message_id is None
               for post in await repo.supervision.posts(problem_id)):
            return  # its card there is being posted: this may be it, its id not yet written
        problem = await repo.supervision.problem(problem_id)
        if problem is None:
            return
        post_id = await repo.supervision.add_post(problem.id, chat_id, role, unit.now())
        await repo.supervision.record_post_message(post_id, message_id, chat_id,
                                                   pressed_in(unit, chat_id))
        lang = await self._language(repo, chat_id)
        text, markup = (await self._recheck_card(repo, problem, lang) if role == "recheck"
                        else await self._card(repo, problem, lang))
        unit.send(ui.problem_post_edit(chat_id, post_id, text, markup))

    async def _on_card(self, unit: ActorUnit, problem_id: int, action: str,
                       chat_id: int) -> Answer:
        repo = unit.repo
        problem = await repo.supervision.problem(problem_id)
        if problem is None:
            return Answer(unit.t("dispatch.no_such_problem"), alert=True)
        if not await self._acts_for(repo, unit.user_id, problem, chat_id):
            return Answer(unit.t("dispatch.not_your_unit", ref=problem.ref,
                                 unit=self._unit_name(problem.unit_id, unit.language)),
                          alert=True)
        allowed = {"recv": (PROBLEM_DISPATCHED,), "fixed": (PROBLEM_RECEIVED,),
                   "more": (PROBLEM_RECEIVED,),
                   "notours": (PROBLEM_DISPATCHED, PROBLEM_RECEIVED)}[action]
        if problem.status not in allowed:
            return Answer(self._stale(unit, problem), alert=True)
        if action == "recv":
            return await self._receive(unit, problem)
        user = unit.user
        if user is None or not user.started or user.blocked:
            return Answer(unit.t("dispatch.open_bot_first", bot=self.env.bot_username),
                          alert=True, url=f"https://t.me/{self.env.bot_username}")
        flow, step = {"fixed": (Flow.RECTIFY, "photos"), "notours": (Flow.NOT_OURS, "reason"),
                      "more": (Flow.EXTEND, "reason")}[action]
        data: dict[str, Any] = {"problem": problem.id, "unit": problem.unit_id}
        if flow != Flow.RECTIFY and await self.loop.asking(repo, unit.user_id, flow, "problem",
                                                           problem.id):
            return Answer(unit.t("dispatch.see_private"))  # a double tap: asked once
        if flow == Flow.RECTIFY:
            # Rectified pressed again on the same problem starts its dialog afresh but for the
            # after photos already sent (and a caption with them): they are the work done.
            before = await self.loop.kept(repo, unit.user_id, Flow.RECTIFY, problem.id)
            if before is not None and before.get("unit") == problem.unit_id:
                data.update({key: before[key] for key in ("photos", "caption")
                             if before.get(key)})
        await self.loop.push_dialog(unit, flow, step, data)
        unit.send(self._question(unit, Dialog(unit.user_id, flow, step, data), problem))
        return Answer(unit.t("dispatch.see_private"))

    def _question(self, unit: ActorUnit, dialog: Dialog, problem: Problem) -> list[Outgoing]:
        """What a unit's or an inspector's dialog asks at its step (with the after photos
        kept so far)."""
        user_id, ref = unit.user_id, problem.ref
        if dialog.flow == Flow.EXTEND and dialog.step == "date":
            due = self._when(problem.due_at or 0, unit.language)
            return [ui.message(user_id, unit.t("dispatch.ask_extension_date", ref=ref,
                                               due=due))]
        key = {Flow.RECTIFY: "dispatch.ask_after", Flow.NOT_OURS: "dispatch.ask_return_reason",
               Flow.EXTEND: "dispatch.ask_extension_reason",
               Flow.REJECT_RECHECK: "recheck.ask_reason"}[Flow(dialog.flow)]
        out = [ui.message(user_id, unit.t(key, ref=ref, max=AFTER_MAX))]
        photos = len(dialog.data.get("photos") or [])
        if photos:
            out.append(ui.message(user_id, unit.t("dispatch.after_kept", count=photos)))
        return out

    async def _again(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing] | str:
        """One of those dialogs back on top: its question again; ended if the problem moved
        on meanwhile (rectified, returned, reassigned, decided)."""
        problem = await unit.repo.supervision.problem(int(dialog.data.get("problem") or 0))
        if problem is None or not self._still_wanted(dialog, problem):
            return unit.t("dispatch.no_longer", ref=problem.ref if problem else "?")
        return self._question(unit, dialog, problem)

    @staticmethod
    def _still_wanted(dialog: Dialog, problem: Problem) -> bool:
        """Whether the problem is still where the dialog about it can act on it."""
        wanted = {Flow.RECTIFY: (PROBLEM_RECEIVED,), Flow.EXTEND: (PROBLEM_RECEIVED,),
                  Flow.NOT_OURS: (PROBLEM_DISPATCHED, PROBLEM_RECEIVED),
                  Flow.REJECT_RECHECK: (PROBLEM_RECTIFIED,)}.get(Flow(dialog.flow), ())
        return problem.status in wanted and (dialog.flow == Flow.REJECT_RECHECK
                                             or problem.unit_id == dialog.data.get("unit"))

    async def _receive(self, unit: ActorUnit, problem: Problem) -> Answer:
        repo, now = unit.repo, unit.now()
        due = now + self._deadline(problem.severity)
        if not await repo.supervision.receive(problem.id, unit.user_id, now, due):
            return Answer(self._stale(unit, problem), alert=True)
        await repo.timers.cancel_timers(now, problem_id=problem.id, kinds=RECEIVE_TIMERS)
        await self.start_clock(repo, problem.id, now, due)
        await repo.supervision.add_event(problem.id, "received", unit.user_id, now,
                                         {"due": due})
        await self.redraw(unit, problem.id)
        return Answer(unit.t("dispatch.received_toast", ref=problem.ref,
                             due=self._when(due, unit.language)))

    async def _acts_for(self, repo: Repo, user_id: int, problem: Problem, chat_id: int) -> bool:
        """Anyone in the unit's own chat, and its named members anywhere."""
        if chat_id < 0 and chat_id == await repo.supervision.unit_chat(problem.unit_id):
            return True
        return user_id in await repo.supervision.members(problem.unit_id)

    def _stale(self, unit: Unit, problem: Problem) -> str:
        return unit.t("dispatch.stale", ref=problem.ref,
                      state=unit.t(f"dispatch.status_{problem.status}"))

    # -- the short dialogs -----------------------------------------------------------------------

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A private message in one of the dialogs above."""
        repo, user_id = unit.repo, unit.user_id
        problem = await repo.supervision.problem(int(dialog.data.get("problem") or 0))
        if said.kind == "command":
            return [ui.message(user_id, unit.t("dispatch.command_mid_dialog"))]
        if problem is None or not self._still_wanted(dialog, problem):
            await self.loop.pop_dialog(repo, user_id, dialog.flow)
            return [ui.message(user_id, unit.t("dispatch.no_longer",
                                               ref=problem.ref if problem else "?"))]
        if dialog.flow == Flow.RECTIFY:
            return await self._after_photos(unit, dialog, problem, said)
        if said.kind != "text" or len(said.text.strip()) < 2:
            key = ("dispatch.want_date" if dialog.step == "date" else "dispatch.want_reason")
            return [ui.message(user_id, unit.t(key))]
        text = " ".join(said.text.split())
        if dialog.step == "reason" and ui.units(text) > REASON_MAX:  # refused, never cut
            return [ui.message(user_id, unit.t("dispatch.reason_too_long",
                                               count=ui.units(text), max=REASON_MAX))]
        if dialog.flow == Flow.NOT_OURS:
            return await self._not_ours(unit, problem, text)
        if dialog.flow == Flow.REJECT_RECHECK:
            return await self._reject(unit, problem, text)
        if dialog.step == "reason":
            dated = await self.loop.move_dialog(repo, dialog, "date",
                                                {**dialog.data, "reason": text})
            return self._question(unit, dated, problem)
        return await self._extension_date(unit, dialog, problem, text)

    async def _after_photos(self, unit: ActorUnit, dialog: Dialog, problem: Problem,
                            said: Said) -> list[Outgoing]:
        """After photos (as photos, at least one), then a note that sends it for re-check."""
        repo, user_id = unit.repo, unit.user_id
        data = dict(dialog.data)
        photos = list(data.get("photos") or [])
        if said.kind == "document":
            return [ui.message(user_id, unit.t("dispatch.after_not_file"))]
        if said.kind == "photo":
            first_of_album = said.media_group_id is None or said.media_group_id != data.get(
                "album")
            data["album"] = said.media_group_id
            if len(photos) >= AFTER_MAX:
                await self.loop.move_dialog(repo, dialog, "photos", data)
                return ([ui.message(user_id, unit.t("dispatch.after_enough", max=AFTER_MAX))]
                        if first_of_album else [])
            photos.append(said.file_id)
            data["photos"] = photos
            caption = " ".join(said.text.split())
            # A caption begins the note; one longer than a whole note (Telegram takes 1,024
            # for a caption) is not kept, or every note typed after it would be refused.
            long_caption = len(caption) > NOTE_MAX
            if caption and not long_caption:
                data["caption"] = caption
            await self.loop.move_dialog(repo, dialog, "photos", data)
            if not first_of_album:
                return []  # one acknowledgement per album is enough
            if long_caption:
                return [ui.message(user_id, unit.t("dispatch.after_caption_too_long",
                                                   count=len(photos), length=len(caption),
                                                   max=NOTE_MAX))]
            return [ui.message(user_id, unit.t("dispatch.after_kept", count=len(photos)))]
        if not photos:
            return [ui.message(user_id, unit.t("dispatch.after_first"))]
        if said.kind != "text" or not said.text.strip():
            return [ui.message(user_id, unit.t("dispatch.want_note"))]
        note = " ".join(said.text.split())
        # The photo's caption begins the note when both fit a note; else the typed note is
        # taken alone (the caption stays on the photo), never refused for words not typed.
        if data.get("caption") and len(data["caption"]) + 1 + len(note) <= NOTE_MAX:
            note = f"{data['caption']} {note}"
        if len(note) > NOTE_MAX:
            return [ui.message(user_id, unit.t("dispatch.note_too_long", count=len(note),
                                               max=NOTE_MAX))]
        return await self._rectified(unit, problem, photos, note)

    async def _rectified(self, unit: ActorUnit, problem: Problem, photos: list[str],
                         note: str) -> list[Outgoing]:
        repo, now, user_id = unit.repo, unit.now(), unit.user_id
        await self.loop.pop_dialog(repo, user_id, Flow.RECTIFY)
        if not await repo.supervision.rectify(problem.id, photos, note, now):
            return [ui.message(user_id, unit.t("dispatch.no_longer", ref=problem.ref))]
        await repo.timers.cancel_timers(now, problem_id=problem.id)
        await repo.supervision.add_event(problem.id, "rectified", user_id, now,
                                         {"photos": photos, "note": note})
        await self.redraw(unit, problem.id)
        fresh = await repo.supervision.problem(problem.id)
        assert fresh is not None
        await self._send_recheck(unit, fresh)
        return [ui.message(user_id, unit.t("dispatch.rectified_sent", ref=problem.ref))]

    async def _not_ours(self, unit: ActorUnit, problem: Problem, reason: str) -> list[Outgoing]:
        repo, now, user_id = unit.repo, unit.now(), unit.user_id
        await self.loop.pop_dialog(repo, user_id, Flow.NOT_OURS)
        if not await repo.supervision.return_problem(problem.id):
            return [ui.message(user_id, unit.t("dispatch.no_longer", ref=problem.ref))]
        await repo.timers.cancel_timers(now, problem_id=problem.id)
        await repo.supervision.add_event(problem.id, "returned", user_id, now,
                                         {"unit": problem.unit_id, "reason": reason})
        await self.redraw(unit, problem.id)
        await repo.supervision.end_posts(problem.id, "unit", now)
        registers = self.registers()
        others = [u for u in registers.units.values() if u.id != problem.unit_id] \
            if registers is not None else []
        for chat in self.env.config.admin_chats():
            lang = await self._language(repo, chat)
            rows = [[(u.name(lang), buttons.REASSIGN.data(problem.id, u.id))]
                    for u in others[:UNIT_BUTTONS]]
            unit.send(night.at_night(self.env, "dispatch.returned_admins", ui.message(
                chat, self.env.t(lang, "dispatch.returned_admins", ref=problem.ref,
                                 reason=render.mask_phones(reason),
                                 unit=self._unit_name(problem.unit_id, lang),
                                 point=self._point_name(problem, lang)), ui.inline(rows))))
        return [ui.message(user_id, unit.t("dispatch.returned_done", ref=problem.ref))]

    async def _extension_date(self, unit: ActorUnit, dialog: Dialog, problem: Problem,
                              text: str) -> list[Outgoing]:
        repo, now, user_id = unit.repo, unit.now(), unit.user_id
        until = self._parse_date(text, now)
        if until is None:
            return [ui.message(user_id, unit.t("dispatch.want_date"))]
        if until <= now:
            return [ui.message(user_id, unit.t("dispatch.date_past",
                                               date=self._when(until, unit.language)))]
        if until <= (problem.due_at or now):
            due_then = self._when(problem.due_at or now, unit.language)
            return [ui.message(user_id, unit.t("dispatch.date_before_due", due=due_then))]
        if until > now + EXTENSION_MAX_DAYS * 86400:
            return [ui.message(user_id, unit.t("dispatch.date_too_far",
                                               days=EXTENSION_MAX_DAYS))]
        await self.loop.pop_dialog(repo, user_id, Flow.EXTEND)
        reason = str(dialog.data.get("reason") or "")
        asked = await repo.supervision.ask_extension(problem.id, user_id, now, until, reason,
                                                     problem.unit_id, problem.due_at)
        name = await self._name(repo, user_id)
        for chat in self.env.config.admin_chats():
            lang = await self._language(repo, chat)
            unit.send(night.at_night(self.env, "dispatch.extension_admins", ui.message(
                chat, self.env.t(
                    lang, "dispatch.extension_admins", ref=problem.ref, name=name,
                    reason=render.mask_phones(reason),
                    unit=self._unit_name(problem.unit_id, lang),
                    due=self._when(problem.due_at or 0, lang), until=self._when(until, lang)),
                ui.inline([[
                    (self.env.t(lang, "dispatch.approve"), buttons.EXTENSION.data(asked, "y")),
                    (self.env.t(lang, "dispatch.refuse"),
                     buttons.EXTENSION.data(asked, "n"))]]))))
        return [ui.message(user_id, unit.t("dispatch.extension_asked", ref=problem.ref,
                                           until=self._when(until, unit.language)))]

    def _parse_date(self, text: str, now: float) -> float | None:
        """2026-06-20, 6-20, 6月20日, with an optional 18:00: a local moment (a day alone
        means its end, 23:59). Without a year, this year's date, or next year's when this
        year's has passed (or does not exist: 2-29) and next year's is within reach: "1-8"
        asked on 28 December is the coming 8 January."""
        match = _DATE.match(text.strip())
        if match is None:
            return None
        zone = self.env.config.timezone
        this_year = datetime.fromtimestamp(now, zone).year
        years = [int(match.group(1))] if match.group(1) else [this_year, this_year + 1]
        hour, minute = (int(match.group(4)), int(match.group(5))) if match.group(4) else (23, 59)
        found = []
        for year in years:
            try:
                day = date(year, int(match.group(2)), int(match.group(3)))
                found.append(datetime.combine(day, time(hour, minute), tzinfo=zone).timestamp())
            except ValueError:  # 2-30, 25:00; 2-29 of a year that has none
                continue
        reach = now + EXTENSION_MAX_DAYS * 86400
        # The first that can be granted; else the first, refused with the reason it has.
        return next((m for m in found if now < m <= reach), found[0] if found else None)

    # -- the admins: reassigning, extensions, sending again ----------------------------------

    async def _admin_of(self, unit: ActorUnit, problem: Problem) -> bool:
        """A centre admin, or an admin of the problem's area."""
        role = await self.roles.of(unit.repo, unit.user_id)
        return role is not None and role.covers(problem.area_id)

    async def on_reassign(self, unit: ActorUnit, problem_id: int, unit_id: str, chat_id: int,
                          message_id: int | None) -> Answer:
        """A unit's button under a returned problem: it goes to that unit (the list says so;
        `message_id` None: it is out of reach, and a message says it instead)."""
        problem = await unit.repo.supervision.problem(problem_id)
        if problem is None:
            return Answer(unit.t("dispatch.no_such_problem"), alert=True)
        done, text = await self._reassign(unit, problem, unit_id, (PROBLEM_RETURNED,),
                                          others_only=True)
        if not done:
            return Answer(text, alert=True)
        unit.send(ui.edit_text(chat_id, message_id, text))
        return Answer(unit.t("dispatch.done_toast"))

    async def reassign_command(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/reassign <ref> <unit id>: a returned (or never received) problem to another unit."""
        if len(args) != 2:
            unit.send(ui.message(chat_id, unit.t("dispatch.reassign_usage")))
            return
        problem = await unit.repo.supervision.problem_by_ref(args[0])
        if problem is None:
            unit.send(ui.message(chat_id, unit.t("dispatch.no_such_ref", ref=args[0])))
            return
        _, text = await self._reassign(unit, problem, args[1].lower(),
                                       (PROBLEM_RETURNED, PROBLEM_DISPATCHED))
        unit.send(ui.message(chat_id, text))

    async def _reassign(self, unit: ActorUnit, problem: Problem, unit_id: str,
                        movable: tuple[str, ...], *, others_only: bool = False
                        ) -> tuple[bool, str]:
        """Give a problem to another unit: a returned one (the admins' buttons, which offer
        only the units that did not return it: `others_only`), or also one never received
        (the command: e.g. its unit has no chat; an admin who overrules a unit's Not ours
        may send it back there by name)."""
        repo, now = unit.repo, unit.now()
        registers = self.registers()
        if not await self._admin_of(unit, problem):
            return False, unit.t("dispatch.admins_only", ref=problem.ref)
        if registers is None or unit_id not in registers.units:
            return False, unit.t("supervision.no_such_unit", unit=unit_id)
        if problem.status not in movable:
            return False, self._stale(unit, problem)
        if others_only and unit_id == problem.unit_id:  # no such button: forged
            return False, unit.t("dispatch.returned_by", ref=problem.ref,
                                 unit=self._unit_name(unit_id, unit.language))
        if unit_id == problem.unit_id and problem.status == PROBLEM_DISPATCHED:
            return False, unit.t("dispatch.same_unit", ref=problem.ref,
                                 unit=self._unit_name(unit_id, unit.language))
        was = problem.unit_id
        receive_due = now + self.env.config.supervision.receive_within
        if not await repo.supervision.reassign(problem.id, unit_id, receive_due):
            return False, self._stale(unit, problem)
        await repo.supervision.end_posts(problem.id, "unit", now)
        await repo.timers.cancel_timers(now, problem_id=problem.id)
        await repo.supervision.add_event(problem.id, "reassigned", unit.user_id, now,
                                         {"from": was, "to": unit_id})
        await self.dispatch(unit, problem.id)
        return True, unit.t("dispatch.reassigned", ref=problem.ref,
                            unit=self._unit_name(unit_id, unit.language),
                            name=await self._name(repo, unit.user_id))

    async def on_extension(self, unit: ActorUnit, asked_id: int, approve: bool, chat_id: int,
                           message_id: int | None) -> Answer:
        """Approve or Refuse under a unit's request for more time (the request says what was
        decided; `message_id` None: it is out of reach, and a message says it instead)."""
        repo, now = unit.repo, unit.now()
        asked = await repo.supervision.event(asked_id)
        problem = (await repo.supervision.problem(asked[0])
                   if asked is not None and asked[1] == "extension_asked" else None)
        if asked is None or problem is None:
            return Answer(unit.t("dispatch.no_such_problem"), alert=True)
        if not await self._admin_of(unit, problem):
            return Answer(unit.t("dispatch.admins_only", ref=problem.ref), alert=True)
        detail = asked[3]
        # Asked by another unit, or against a deadline that has moved since (a rejection, a
        # reassignment, another extension): that request no longer stands.
        stale = (detail.get("unit", problem.unit_id) != problem.unit_id
                 or detail.get("due", problem.due_at) != problem.due_at)
        if (await repo.supervision.extension_decided(asked_id)
                or problem.status != PROBLEM_RECEIVED or stale):
            return Answer(unit.t("dispatch.extension_decided", ref=problem.ref), alert=True)
        until = float(asked[3]["until"])
        name = await self._name(repo, unit.user_id)
        if approve:
            await repo.supervision.extend(problem.id, until)
            await self.start_clock(repo, problem.id, now, until)  # the reminders move too
            await repo.supervision.add_event(problem.id, "extension_granted", unit.user_id, now,
                                             {"asked": asked_id, "until": until,
                                              "was": problem.due_at})
            await self.redraw(unit, problem.id)
            await self._tell_unit(unit, problem, "dispatch.extension_granted_unit",
                                  ref=problem.ref, until=self._when(until))
            text = unit.t("dispatch.extension_granted", ref=problem.ref, name=name,
                          until=self._when(until, unit.language))
        else:
            await repo.supervision.add_event(problem.id, "extension_refused", unit.user_id, now,
                                             {"asked": asked_id})
            await self._tell_unit(unit, problem, "dispatch.extension_refused_unit",
                                  ref=problem.ref, due=self._when(problem.due_at or 0))
            text = unit.t("dispatch.extension_refused", ref=problem.ref, name=name)
        unit.send(ui.edit_text(chat_id, message_id, text))
        return Answer(unit.t("dispatch.done_toast"))

    async def redispatch_command(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/redispatch <ref>: the unit's card (or the inspector's re-check) sent afresh, e.g.
        after the unit's chat changed."""
        if len(args) != 1:
            unit.send(ui.message(chat_id, unit.t("dispatch.redispatch_usage")))
            return
        repo = unit.repo
        problem = await repo.supervision.problem_by_ref(args[0])
        if problem is None:
            unit.send(ui.message(chat_id, unit.t("dispatch.no_such_ref", ref=args[0])))
            return
        if not await self._admin_of(unit, problem):
            unit.send(ui.message(chat_id, unit.t("dispatch.admins_only", ref=problem.ref)))
            return
        name = self._unit_name(problem.unit_id, unit.language)
        if problem.status == PROBLEM_RECTIFIED:
            await repo.supervision.end_posts(problem.id, "recheck", unit.now())
            sent = await self._send_recheck(unit, problem)
            key = "dispatch.recheck_again" if sent else "dispatch.no_inspector_here"
        elif problem.status in (PROBLEM_DISPATCHED, PROBLEM_RECEIVED):
            place = await repo.supervision.unit_place(problem.unit_id)
            if place is None:
                key = "dispatch.still_no_chat"
            else:
                await self._post_cards(unit, problem, place,
                                       restart_clock=problem.status == PROBLEM_DISPATCHED)
                key = "dispatch.redispatched"
        else:
            key = "dispatch.nothing_to_send"
        unit.send(ui.message(chat_id, unit.t(key, ref=problem.ref, unit=name, id=problem.unit_id,
                                             state=unit.t(f"dispatch.status_{problem.status}"))))

    # -- the re-check ------------------------------------------------------------------------

    async def _inspectors_for(self, repo: Repo, problem: Problem) -> list[int]:
        """Who re-checks: the reporter while they inspect for the problem's group, else every
        inspector of that group."""
        group = await repo.supervision.inspector_group(problem.reported_by)
        if group is not None and (problem.group_id is None or group[0] == problem.group_id):
            return [problem.reported_by]
        if problem.group_id is None:
            return []
        return [user for user, of in await repo.supervision.inspectors()
                if of == problem.group_id]

    async def _may_recheck(self, repo: Repo, user_id: int, problem: Problem) -> bool:
        """An inspector of the problem's group (any inspector, for a problem of no group)."""
        group = await repo.supervision.inspector_group(user_id)
        return group is not None and (problem.group_id is None or group[0] == problem.group_id)

    async def _send_recheck(self, unit: Unit, problem: Problem) -> bool:
        """The before and after photos as one album, then Pass and Reject, to each who
        re-checks; with nobody to, the admins are told. True if it went to someone."""
        repo, now = unit.repo, unit.now()
        targets = await self._inspectors_for(repo, problem)
        if not targets:
            await self._tell_admins(unit, "dispatch.no_inspector", ref=problem.ref)
            return False
        for target in targets:
            lang = await self._language(repo, target)
            before = [(f, self.env.t(lang, "recheck.before") if n == 0 else "")
                      for n, f in enumerate(problem.before_photos)]
            after = [(f, self.env.t(lang, "recheck.after") if n == 0 else "")
                     for n, f in enumerate(problem.after_photos)]
            post_id = await repo.supervision.add_post(problem.id, target, "recheck", now)
            text, markup = await self._recheck_card(repo, problem, lang)
            unit.send(night.all_at_night(self.env, "recheck.card", [
                ui.captioned_album(target, (before + after)[:10]),
                ui.message(target, text, markup, purpose="problem_post",
                           problem_post_id=post_id)]))
        return True

    async def on_recheck(self, unit: ActorUnit, problem_id: int, action: str,
                         message_id: int | None = None) -> Answer:
        """Pass or Reject under a re-check (`message_id`, in the inspector's private chat)."""
        answer = await self._on_recheck(unit, problem_id, action)
        if message_id is not None:
            await self._lost_copy(unit, problem_id, unit.user_id, message_id, role="recheck")
        return answer

    async def _on_recheck(self, unit: ActorUnit, problem_id: int, action: str) -> Answer:
        repo, now = unit.repo, unit.now()
        problem = await repo.supervision.problem(problem_id)
        if problem is None:
            return Answer(unit.t("dispatch.no_such_problem"), alert=True)
        if not await self._may_recheck(repo, unit.user_id, problem):
            return Answer(unit.t("recheck.not_inspector", ref=problem.ref), alert=True)
        if problem.status != PROBLEM_RECTIFIED:
            return Answer(unit.t("recheck.decided", ref=problem.ref,
                                 state=unit.t(f"dispatch.status_{problem.status}")),
                          alert=True)
        if action == "reject":
            if await self.loop.asking(repo, unit.user_id, Flow.REJECT_RECHECK, "problem",
                                      problem.id):
                return Answer(unit.t("common.asked_already"))  # a double tap: asked once
            data = {"problem": problem.id}
            await self.loop.push_dialog(unit, Flow.REJECT_RECHECK, "reason", data)
            unit.send(self._question(
                unit, Dialog(unit.user_id, Flow.REJECT_RECHECK, "reason", data), problem))
            return Answer()
        if not await repo.supervision.pass_problem(problem.id, unit.user_id, now):
            return Answer(unit.t("recheck.decided", ref=problem.ref,
                                 state=unit.t("dispatch.status_passed")), alert=True)
        await repo.timers.cancel_timers(now, problem_id=problem.id)
        await repo.supervision.add_event(problem.id, "passed", unit.user_id, now)
        await self.redraw(unit, problem.id)
        await repo.supervision.end_posts(problem.id, "recheck", now)
        await self._tell_unit(unit, problem, "recheck.passed_unit", ref=problem.ref,
                              point=self._point_name(problem, None))
        if problem.request_id is not None and self.passed is not None:
            passed = await repo.supervision.problem(problem.id)
            assert passed is not None
            await self.passed(unit, passed)
        return Answer(unit.t("recheck.passed_toast", ref=problem.ref))

    async def _reject(self, unit: ActorUnit, problem: Problem, reason: str) -> list[Outgoing]:
        repo, now, user_id = unit.repo, unit.now(), unit.user_id
        await self.loop.pop_dialog(repo, user_id, Flow.REJECT_RECHECK)
        if not await self._may_recheck(repo, user_id, problem):
            return [ui.message(user_id, unit.t("recheck.not_inspector", ref=problem.ref))]
        due = now + self._deadline(problem.severity)
        if not await repo.supervision.reject(problem.id, due):
            return [ui.message(user_id, unit.t("dispatch.no_longer", ref=problem.ref))]
        await self.start_clock(repo, problem.id, now, due)  # a fresh cycle of reminders
        await repo.supervision.add_event(problem.id, "rejected", user_id, now,
                                         {"reason": reason, "due": due})
        await self.redraw(unit, problem.id)
        await repo.supervision.end_posts(problem.id, "recheck", now)
        await self._tell_unit(unit, problem, "recheck.rejected_unit", ref=problem.ref,
                              reason=render.mask_phones(reason), due=self._when(due))
        return [ui.message(user_id, unit.t("recheck.rejected_done", ref=problem.ref,
                                           due=self._when(due, unit.language)))]

    # -- the clock ---------------------------------------------------------------------------

    async def start_clock(self, repo: Repo, problem_id: int, start: float, due: float) -> None:
        """The rectification clock from `start` to `due` (received, rejected, extended): the
        reminder, the overdue notice and its escalation, any earlier ones called off."""
        now = self.env.now()
        supervision = self.env.config.supervision
        await repo.timers.cancel_timers(now, problem_id=problem_id, kinds=CLOCK_TIMERS)
        # `remind_before` ahead of the deadline, but not in the first half of the time given.
        remind = max(due - supervision.remind_before, start + (due - start) / 2)
        if remind > now:
            await repo.timers.schedule(REMIND_TIMER, remind, now, problem_id=problem_id)
        await repo.timers.schedule(OVERDUE_TIMER, due, now, problem_id=problem_id)

    async def fire(self, unit: Unit, timer: Timer) -> None:
        """A problem's timer (the schedule's sweep hands it over): a receipt not made in time
        reminds the unit's chat and tells the admins, once (in private, not in quiet hours:
        when they end, if it still waits)."""
        repo = unit.repo
        problem = await repo.supervision.problem(timer.problem_id or 0)
        if timer.kind not in RECEIVE_TIMERS:
            log.error("problem timer %s has an unknown kind %r", timer.id, timer.kind)
            return
        if problem is None or problem.status != PROBLEM_DISPATCHED:
            return
        if timer.kind == RECEIVE_MORNING:
            await self._receive_late(unit, problem)
            return
        lang = self.env.config.default_language
        # Beside the problem's card (a unit bound again elsewhere in its group left it).
        place = await repo.supervision.problem_place(problem.id, problem.unit_id)
        if place is not None:
            unit.send(ui.message(place[0], self.env.t(lang, "dispatch.receive_reminder",
                                                      ref=problem.ref,
                                                      point=self._point_name(problem, lang)),
                                 thread_id=place[1]))
        await self._receive_late(unit, problem)
        await repo.supervision.add_event(problem.id, "reminded", None, unit.now(),
                                         {"what": "receive"})

    async def _receive_late(self, unit: Unit, problem: Problem) -> None:
        """"Not received in time" to the admins: the admin chat at once; the admins in private
        by day, else a timer for the morning that asks again (bot/night.py)."""
        key = "dispatch.receive_late"
        if self.env.config.admin_chat_id is None:
            morning = night.waits(self.env, key)
            if morning is not None:
                await unit.repo.timers.schedule(RECEIVE_MORNING, morning, self.env.now(),
                                                problem_id=problem.id)
                return
        await self._tell_admins(unit, key, ref=problem.ref,
                                unit=self._unit_name(problem.unit_id, None),
                                since=self._when(problem.reported_at))

    # -- /problem ----------------------------------------------------------------------------

    async def show(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/problem <ref>: where a problem stands and its whole history, for the admins, its
        reporter, the inspectors of its group and the unit's people."""
        repo = unit.repo
        if len(args) != 1:
            unit.send(ui.message(chat_id, unit.t("dispatch.problem_usage")))
            return
        problem = await repo.supervision.problem_by_ref(args[0])
        if problem is None:
            unit.send(ui.message(chat_id, unit.t("dispatch.no_such_ref", ref=args[0])))
            return
        seen = await self._may_see(unit, problem, chat_id)
        if seen is None:
            unit.send(ui.message(chat_id, unit.t("dispatch.not_yours_to_see", ref=problem.ref)))
            return
        admin, inspector = seen
        lang = unit.language
        # Notes and reasons as written for the admins and inspectors in private only: typed
        # in a group (the admin chat too), the phone numbers in them are masked.
        whole = (admin or inspector) and chat_id == unit.user_id
        lines = [unit.t("dispatch.problem_title", ref=problem.ref,
                        state=unit.t(f"dispatch.status_{problem.status}")),
                 *self._facts(problem, lang),
                 unit.t("dispatch.card_note",
                        note=problem.note if whole else render.mask_phones(problem.note)),
                 *await self._state(repo, problem, lang),
                 unit.t("dispatch.history_title")]
        for at, kind, actor, detail in await repo.supervision.history(problem.id):
            lines.append(await self._event_line(unit, at, kind, actor, detail, whole))
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    async def _may_see(self, unit: ActorUnit, problem: Problem,
                       chat_id: int) -> tuple[bool, bool] | None:
        """Who may see a problem: (an admin of its area, one of its inspectors), or None for
        someone who may not (neither, nor acting for its unit)."""
        repo = unit.repo
        admin = await self._admin_of(unit, problem)
        inspector = (unit.user_id == problem.reported_by
                     or await self._may_recheck(repo, unit.user_id, problem))
        if admin or inspector or await self._acts_for(repo, unit.user_id, problem, chat_id):
            return admin, inspector
        return None

    async def from_link(self, unit: ActorUnit, payload: str) -> bool:
        """/start problem_<ref> (an export's link): the problem and its before and after
        photos, in private, to whoever may see it; False if the payload is not such a link."""
        match = START_LINK.match(payload)
        if match is None:
            return False
        await self.show(unit, unit.user_id, [match.group(1)])
        problem = await unit.repo.supervision.problem_by_ref(match.group(1))
        if problem is None or await self._may_see(unit, problem, unit.user_id) is None:
            return True
        lang = unit.language
        items = [(f, self.env.t(lang, "recheck.before") if n == 0 else "")
                 for n, f in enumerate(problem.before_photos)]
        items += [(f, self.env.t(lang, "recheck.after") if n == 0 else "")
                  for n, f in enumerate(problem.after_photos)]
        for start in range(0, len(items), 10):
            chunk = items[start:start + 10]
            if len(chunk) == 1:
                unit.send(ui.photo(unit.user_id, chunk[0][0], chunk[0][1]))
            else:
                unit.send(ui.captioned_album(unit.user_id, chunk))
        return True

    async def _event_line(self, unit: ActorUnit, at: float, kind: str, actor: int | None,
                          detail: dict[str, Any], whole: bool) -> str:
        key = f"dispatch.event.{kind}"
        if kind == "dispatched" and detail.get("chat") is None:
            key = "dispatch.event.held"
        if kind == "reminded" and detail.get("what") == "deadline":
            key = "dispatch.event.reminded_deadline"
        if key not in self.env.t.keys(unit.language):
            key = "dispatch.event.other"
        values: dict[str, Any] = {
            "kind": kind, "who": await self._name(unit.repo, actor) if actor else "",
            "reason": detail.get("reason", "") if whole else render.mask_phones(
                str(detail.get("reason", ""))),
            "note": detail.get("note", "") if whole else render.mask_phones(
                str(detail.get("note", ""))),
            "photos": len(detail.get("photos", [])),
            "unit": self._unit_name(str(detail.get("unit") or detail.get("to") or ""),
                                    unit.language),
            "was": self._unit_name(str(detail.get("from") or ""), unit.language),
            "until": (self._when(float(detail["until"]), unit.language)
                      if detail.get("until") else ""),
            "due": (self._when(float(detail["due"]), unit.language)
                    if detail.get("due") else ""),
            "request": detail.get("request", ""),
            "members": detail.get("members", 0)}
        return unit.t("dispatch.event_line", at=self._when(at, unit.language),
                      what=unit.t(key, **values).strip())

    # -- helpers -----------------------------------------------------------------------------

    async def _tell_unit(self, work: Unit, problem: Problem, key: str, /,
                         **values: Any) -> None:
        """A notice to the unit's chat (its topic) and, in private, to its people who opened
        the bot (as quiet hours have `key`: bot/night.py)."""
        repo = work.repo
        # Beside the problem's card (a unit bound again elsewhere in its group left it).
        place = await repo.supervision.problem_place(problem.id, problem.unit_id)
        if place is not None:
            work.send(ui.message(place[0], self.env.t(self.env.config.default_language, key,
                                                      **values), thread_id=place[1]))
        for member in await repo.supervision.members(problem.unit_id):
            person = await repo.people.user(member)
            if person is not None and person.started and not person.blocked:
                lang = self.env.t.language_for(person.language, None)
                work.send(night.at_night(self.env, key,
                                         ui.message(member, self.env.t(lang, key, **values))))

    async def _tell_admins(self, work: Unit, key: str, /, **values: Any) -> None:
        """A notice to the admin chat, else to each centre admin in private (as quiet hours
        have `key`: bot/night.py)."""
        for chat in self.env.config.admin_chats():
            lang = await self._language(work.repo, chat)
            work.send(night.at_night(self.env, key,
                                     ui.message(chat, self.env.t(lang, key, **values))))

    async def _language(self, repo: Repo, chat_id: int) -> str:
        """A person's language in private; a group's is the district's."""
        if chat_id < 0:
            return self.env.config.default_language
        return await self.loop.language_of(repo, chat_id)

    def _deadline(self, severity: str) -> float:
        """The rectification time of a severity (one the config dropped since: the longest)."""
        supervision = self.env.config.supervision
        found = supervision.deadline(severity)
        return found if found is not None else max(s for _, s in supervision.deadlines)

    def _severity(self, severity: str, lang: str) -> str:
        seconds = self._deadline(severity)
        span = (self.env.t(lang, "inspect.days", count=int(seconds // 86400))
                if seconds % 86400 == 0 else
                self.env.t(lang, "inspect.hours", count=f"{seconds / 3600:g}"))
        return self.env.t(lang, f"inspect.severity.{severity}", deadline=span)

    def _when(self, moment: float, lang: str | None = None) -> str:
        """A moment as its reader writes dates (a group's: the district's language)."""
        return render.local_time(self.env, moment, lang or self.env.config.default_language)

    def _point_name(self, problem: Problem, lang: str | None) -> str:
        registers = self.registers()
        point = registers.points.get(problem.point_id) if registers is not None else None
        return point.name(lang or self.env.config.default_language) if point else problem.point_id

    def _unit_name(self, unit_id: str, lang: str | None) -> str:
        registers = self.registers()
        found = registers.units.get(unit_id) if registers is not None else None
        return found.name(lang or self.env.config.default_language) if found else unit_id

    def _area_name(self, area_id: str | None, lang: str) -> str:
        tree = self.env.config.areas
        if tree is None or area_id is None or area_id not in tree:
            return area_id or "—"
        return tree.get(area_id).name(lang)

    async def _name(self, repo: Repo, user_id: int | None) -> str:
        if user_id is None:
            return "—"
        user = await repo.people.user(user_id)
        return user.first_name if user is not None else str(user_id)
