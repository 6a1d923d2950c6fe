"""The citizen's guided conversation (点单) and the router for every typed message in private."""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot import buttons, ui
from bot.activities import calls as recruitment
from bot.activities.attendance import Attendance
from bot.activities.calls import Calls
from bot.activities.honours import Honours
from bot.activities.publishing import Publishing
from bot.activities.signup import START_LINK, Signups
from bot.activities.themes import MonthThemes
from bot.config import LANGUAGES, Category
from bot.context import Answer, Env, Said, Who, days_between
from bot.dialogs import ALBUMS, Flow
from bot.i18n import Raw
from bot.lengths import visible
from bot.people.menus import CommandMenus
from bot.requests import render, suggest
from bot.requests.loop import RequestLoop, depth
from bot.requests.personal import NOTICE_VERSION, privacy_notice
from bot.supervision.reporting import Reporting
from bot.unit import ActorUnit
from bot.volunteers.registration import Volunteers
from storage import Dialog, Outgoing, Repo, Request

STEPS = ("category", "description", "location", "area", "contact", "confirm")
EDITABLE = ("category", "description", "location", "area", "contact")
# A draft filed for a neighbour asks for their name, phone and address instead of the
# helper's own contact, then whether the claimer may have the helper's number too
# (Intake.for_neighbour).
NEIGHBOUR_STEPS = ("nb_name", "nb_phone", "nb_address", "nb_own")
NAME_MAX = 40
NEAREST_OFFERED = 4
ALBUMS_KEPT = 10_000  # people whose last album is remembered (see Intake._answered_album)
SIMILAR_SHOWN = 3  # the duplicate check shows at most the nearest three
HOUR_CHOICES = ("0.5", "1", "2", "3")
ADDRESS_MIN, ADDRESS_MAX = 2, 300
# How many of a citizen's earlier addresses the place step offers as buttons.
RECENT_ADDRESSES = 2
RECENT_ADDRESS_UNITS = 60
COMMENT_MAX = 1000
DAY = 24 * 3600.0  # the intake limit counts requests filed in the last 24 hours
_CLAIM_LINK = re.compile(r"^claim_([0-9]{1,12})_([0-9]{1,12})_([0-9]{1,11})_([0-9a-f]{12})$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,19}$")


class Intake:
    """Walks a citizen through category → description → location → contact → confirm."""

    def __init__(self, env: Env, loop: RequestLoop, volunteers: Volunteers,
                 themes: MonthThemes, publishing: Publishing, signups: Signups,
                 attendance: Attendance, calls: Calls, honours: Honours,
                 reporting: Reporting, menus: CommandMenus) -> None:
        self.env = env
        self.menus = menus  # /start sets the person's own menu (see start)
        self.loop = loop
        self.volunteers = volunteers
        self.themes = themes  # a centre admin's dialog that sets a month's theme
        self.publishing = publishing  # an organiser's dialog that publishes an activity
        self.signups = signups  # a card's link opens the bot on its activity
        self.attendance = attendance  # a check-in code scanned at the venue
        self.calls = calls  # an admin's recruitment call; a call card's link
        self.reporting = reporting  # an inspector's visit, back after a short dialog
        # A supervision problem's link (/start problem_<ref>, an export's photos column):
        # bot/supervision/dispatch.py answers it, set by bot/wiring.py; False: not its link.
        self.problem_link: Callable[[ActorUnit, str], Awaitable[bool]] | None = None
        # Per person, the album whose first photo came last, and the dialog step it found
        # (flow, step; None: no dialog): see _answered_album. Kept in memory: an album's
        # photos come within a second, and a restart between two of them costs one extra
        # answer at worst. With the first photo's message id: the same message handled again
        # (its unit refused, the disk full) is that first photo still, not one more.
        self._albums: OrderedDict[
            int, tuple[str, tuple[str, str] | None, int | None]] = OrderedDict()
        # The dialogs of other services, by flow: each answers a private message; the
        # dialog one came in the middle of comes back when it ends (on_message).
        self.short_flows: dict[str, Callable[[ActorUnit, Dialog, Said],
                                             Awaitable[list[Outgoing]]]] = {
            Flow.THEME: themes.on_message, Flow.PUBLISH: publishing.on_message,
            Flow.EDIT_ACTIVITY: publishing.on_edit, Flow.CHECK_IN: attendance.on_message,
            Flow.DISPUTE: attendance.on_message, Flow.EVENTS: signups.on_message,
            Flow.CALL: calls.on_message, Flow.HONOUR: honours.on_message,
            Flow.INSPECT: reporting.on_message, Flow.PATROL: reporting.on_patrol_location}
        # The long dialogs other than the request form, by flow: where one was and its
        # question again, when it is back on top after a dialog that came in its middle.
        self.resumed: dict[str, Callable[[ActorUnit, Dialog], Awaitable[list[Outgoing]]]] = {
            Flow.JOIN: volunteers.resumed, Flow.INSPECT: reporting.resumed,
            Flow.THEME: themes.resumed, Flow.PUBLISH: publishing.resumed,
            Flow.CALL: calls.resumed, Flow.HONOUR: honours.resumed}
        # The short dialogs, by flow: their question again when one is back on top after a
        # dialog that came in its middle (under the one line they share); a text instead
        # says why it ended meanwhile ("": nothing to say), and what lay under it is back.
        self.asked_again: dict[str, Callable[[ActorUnit, Dialog],
                                             Awaitable[list[Outgoing] | str]]] = {
            Flow.DONE_NOTE: self._done_note_again, Flow.COMMENT: loop.comment_again,
            Flow.REJECT_REASON: volunteers.reason_again,
            Flow.CHECK_IN: attendance.asked_again, Flow.DISPUTE: attendance.asked_again,
            Flow.EDIT_ACTIVITY: publishing.edit_again}
        loop.covered[Flow.INTAKE] = self._covered  # its reply keyboard off while kept

    # -- entry points -----------------------------------------------------------------------

    async def start(self, unit: ActorUnit, payload: str) -> None:
        """Greet the user with the menu; a claim link finishes the claim it started, a join
        link starts the registration: all in one transaction, so a crash cannot keep the
        greeting and lose the claim."""
        t = self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        user = unit.user
        assert user is not None
        draft = await repo.people.dialog(who.user_id)
        out = [ui.message(who.user_id, t(lang, "start.greeting", name=who.first_name),
                          self.loop.citizen_menu(lang))]
        if draft is not None and draft.flow == Flow.INTAKE:
            out.append(ui.message(who.user_id, t(lang, "start.draft_waiting")))
        # A role given before the person ever opened the bot had no chat to set its menu in
        # (see CommandMenus.for_user): it is set now. A citizen has no menu of their own.
        out += [call for call in await self.menus.for_user(repo, who.user_id)
                if call.method == "setMyCommands"]
        link = _CLAIM_LINK.match(payload)
        activity = START_LINK.match(payload)
        if activity:
            unit.send(out)
            await self.signups.show(unit, int(activity.group(1)))
            return
        call = recruitment.START_LINK.match(payload)
        if call:
            unit.send(out)
            await self.calls.show(unit, int(call.group(1)))
            return
        if (payload.lower().startswith("problem_") and self.problem_link is not None
                and await self.problem_link(unit, payload)):
            return
        if self.attendance.is_code(payload):  # scanned at the venue: just the check-in
            await self.attendance.by_code(unit, payload)
            return
        if payload == "join":
            out += await self.volunteers.join_in(unit)
        elif link:
            out += await self.loop.claim_from_link(
                repo, user, lang, who, int(link.group(1)), int(link.group(2)),
                int(link.group(3)), link.group(4))
        unit.send(out)

    async def help(self, unit: ActorUnit) -> None:
        """Explain what the bot does and how to use it."""
        await self._reply(unit, "help.text", menu=True)

    async def explain_edit(self, unit: ActorUnit, said: Said) -> None:
        """Say that edits are not applied, and how to change an answer. A live location
        moving is not an edit anyone typed: while the form holds a point, the point follows
        it, quietly; otherwise it is ignored, quietly (Telegram sends one every few seconds)."""
        if said.kind != "location":
            await self._reply(unit, "common.edit_ignored")
            return
        dialog = await unit.repo.people.dialog(unit.user_id)
        if (dialog is not None and dialog.flow == Flow.INTAKE
                and dialog.data.get("latitude") is not None
                and said.latitude is not None and said.longitude is not None):
            await self.loop.move_dialog(unit.repo, dialog, dialog.step, {
                **dialog.data, "latitude": said.latitude, "longitude": said.longitude})

    async def point_to_private(self, unit: ActorUnit, chat_id: int) -> None:
        """Answer a private-chat command typed in a group with a link to the private chat."""
        env = self.env
        lang = unit.language
        text = env.t(lang, "common.use_private", bot=env.bot_username)
        unit.send([ui.message(chat_id, text)])

    async def language_of(self, who: Who) -> str:
        """Return the language to answer a person in (their /lang choice first)."""
        async with self.env.db.reading() as repo:
            user = await repo.people.user(who.user_id)
        return self.env.t.language_for(user.language if user else None, who.telegram_language)

    async def choose_language(self, unit: ActorUnit) -> None:
        """Offer the languages."""
        env = self.env
        lang, who = unit.language, unit.who
        keyboard = ui.inline([[("中文", buttons.LANGUAGE.data("zh")),
                               ("English", buttons.LANGUAGE.data("en"))]])
        unit.send([ui.message(who.user_id, env.t(lang, "lang.choose"), keyboard)])

    async def set_language(self, unit: ActorUnit, language: str) -> Answer:
        """Remember the chosen language and answer in it."""
        env = self.env
        if language not in LANGUAGES:
            return Answer(unit.t("common.stale"), alert=True)
        await unit.repo.people.set_language(unit.user_id, language, env.now())
        unit.language = language
        unit.send(ui.message(unit.user_id, unit.t("lang.set"),
                             self.loop.citizen_menu(language)))
        return Answer()

    async def new_request(self, unit: ActorUnit) -> None:
        """Start a new request, or pick up the unfinished one where the citizen left it."""
        repo, lang, who = unit.repo, unit.language, unit.who
        # The draft begun, if any, rather than a blank one; what it comes on (a visit, an
        # activity being published, a Done note …) is kept under it, back when it is sent.
        dialog = await self.loop.draft_on_top(unit)
        if dialog is None:
            refusal = await self.refusal(repo, who.user_id, lang)
            if refusal is not None:
                unit.send([ui.message(who.user_id, refusal)])
                return
            if unit.user is None or unit.user.consent < NOTICE_VERSION:
                # Nothing is asked, and nothing saved, before they know what and agree.
                unit.send(privacy_notice(self.env, lang, who.user_id))
                return
            dialog = await self._begin(unit, {})
        unit.send(self._ask(dialog, lang))

    async def _begin(self, unit: ActorUnit, data: dict[str, Any]) -> Dialog:
        """A blank request form on top of the long dialog the person is in, if any."""
        repo, user_id = unit.repo, unit.user_id
        if not data.get("neighbour"):
            # Most come back about the same home: its address is a button at the place step.
            # One too long for a button's line is left to be typed (or shared as a location).
            recent = await repo.requests.recent_addresses(user_id, RECENT_ADDRESSES)
            data = {"recent": [a for a in recent if ui.units(a) <= RECENT_ADDRESS_UNITS],
                    **data}
        await self.loop.push_dialog(unit, Flow.INTAKE, "category",
                                    {"id": secrets.token_hex(3), "photos": [], **data})
        await self.loop.restart_draft_clock(repo, user_id)
        dialog = await repo.people.dialog(user_id)
        assert dialog is not None
        return dialog

    async def for_neighbour(self, unit: ActorUnit) -> None:
        """Start a request form for a neighbour without a smartphone (helpers only: approved
        volunteers and admins), or pick up the neighbour's draft where it was left."""
        repo, lang, who = unit.repo, unit.language, unit.who
        dialog = await self.loop.draft_on_top(unit)
        if dialog is not None:  # one draft at a time: this one comes back first
            key = "neighbour.draft_waiting" if dialog.data.get("neighbour") else (
                "neighbour.own_draft_first")
            unit.send([ui.message(who.user_id, unit.t(key)), *self._ask(dialog, lang)])
            return
        refusal = await self.helper_refusal(repo, who.user_id, lang)
        if refusal is not None:
            unit.send([ui.message(who.user_id, refusal, self.loop.citizen_menu(lang))])
            return
        dialog = await self._begin(unit, {"neighbour": True})
        unit.send([ui.message(who.user_id, unit.t("neighbour.intro")), *self._ask(dialog, lang)])

    async def helper_refusal(self, repo: Repo, user_id: int, lang: str) -> str | None:
        """Say why this person may not file for a neighbour (no helper, or banned), or None.
        The intake limits do not apply: they stop one citizen flooding the volunteers, and a
        helper files for many people."""
        if not await self.loop.may_help(repo, user_id):
            return self.env.t(lang, "neighbour.not_helper")
        _, banned, _, _ = await repo.requests.intake_standing(user_id, self.env.now())
        return self.env.t(lang, "moderation.citizen_banned") if banned else None

    async def consent(self, unit: ActorUnit, yes: bool) -> Answer:
        """Take the answer to the privacy notice: I agree starts the form, Not now saves
        nothing and says how to come back."""
        if not yes:
            unit.send([ui.message(unit.user_id, unit.t("privacy.declined")),
                       ui.message(unit.user_id, unit.t("menu.title"),
                                  self.loop.citizen_menu(unit.language))])
            return Answer()
        if unit.user is None or unit.user.consent < NOTICE_VERSION:
            await unit.repo.people.record_consent(unit.user_id, NOTICE_VERSION, self.env.now())
            unit.user = replace(unit.user, consent=NOTICE_VERSION) if unit.user else None
        await self.new_request(unit)  # a second press of an old notice resumes the draft
        return Answer(unit.t("privacy.agreed_toast"))

    async def refusal(self, repo: Repo, user_id: int, lang: str) -> str | None:
        """Say why this citizen may not file a request now (banned, or over an intake limit),
        or None if they may. Admins are never limited."""
        env, t = self.env, self.env.t
        if self.loop.is_admin(user_id):
            return None
        area_admin, banned, open_now, last_day = await repo.requests.intake_standing(
            user_id, env.now() - DAY)
        if area_admin:
            return None
        if banned:
            return t(lang, "moderation.citizen_banned")
        if open_now >= env.config.max_open_requests:
            return t(lang, "moderation.too_many_open", count=open_now)
        if last_day >= env.config.max_requests_per_day:
            return t(lang, "moderation.too_many_today", count=last_day)
        return None

    async def cancel_command(self, unit: ActorUnit) -> None:
        """Drop the unfinished draft (or short dialog) on /cancel."""
        env = self.env
        repo, lang, who = unit.repo, unit.language, unit.who
        dialog = await repo.people.dialog(who.user_id)
        if dialog is not None and dialog.flow != Flow.INTAKE:
            # /cancel ends the short dialog only; an interrupted draft comes back (its
            # question brings back its own reply keyboard, if any: a check-in's location
            # button, say, is not left on screen for nothing).
            await self.loop.pop_dialog(repo, who.user_id, dialog.flow)
            out = [ui.message(who.user_id, env.t(lang, "common.skipped"), ui.REMOVE_KEYBOARD)]
            out += await self.resume_draft(unit)
            unit.send(out)
            return
        key = "intake.cancelled" if dialog is not None else "intake.nothing_to_cancel"
        unit.send(ui.message(who.user_id, env.t(lang, key), ui.REMOVE_KEYBOARD))
        unit.send(await self._end(unit) or [ui.message(
            who.user_id, env.t(lang, "menu.title"), self.loop.citizen_menu(lang))])

    async def on_message(self, unit: ActorUnit, said: Said) -> None:
        """Route a private message to the conversation the user is in."""
        env = self.env
        repo, lang, who = unit.repo, unit.language, unit.who
        dialog = await repo.people.dialog(who.user_id)
        if self._answered_album(who.user_id, dialog, said):
            return
        if dialog is None:
            out = [ui.message(who.user_id, env.t(lang, "common.not_understood"),
                              self.loop.citizen_menu(lang))]
        elif dialog.flow == Flow.INTAKE:
            out = await self._intake_step(repo, dialog, lang, said)
        elif dialog.flow == Flow.DONE_NOTE:
            out = await self._done_note(repo, who, lang, dialog, said)
        elif dialog.flow == Flow.COMMENT:
            out = await self._comment(repo, who, lang, dialog, said)
        elif dialog.flow in (Flow.JOIN, Flow.REJECT_REASON):
            if said.kind == "command":
                out = [ui.message(who.user_id, env.t(lang, "join.command_mid_form"))]
            else:
                out = await self.volunteers.on_message(repo, who, lang, dialog, said)
        elif dialog.flow in self.short_flows:
            out = await self.short_flows[dialog.flow](unit, dialog, said)
        else:
            await repo.people.end_dialog(who.user_id)  # a flow no longer known
            await repo.timers.cancel_timers(env.now(), user_id=who.user_id)
            out = [ui.message(who.user_id, env.t(lang, "common.not_understood"),
                              self.loop.citizen_menu(lang))]
        if dialog is not None and dialog.flow != Flow.INTAKE:
            # A dialog that ended brought back the one it came in the middle of (a request
            # draft, a visit, after photos half sent …): ask its question again. A dialog's
            # own answers are not that, nor one that began another on top.
            top = await repo.people.dialog(who.user_id)
            if top is not None and depth(top) < depth(dialog):
                out += await self.resume_draft(unit)
        unit.send(out)

    def _answered_album(self, user_id: int, dialog: Dialog | None, said: Said) -> bool:
        """Whether a photo is one of an album whose first item has had the answer it needs.

        A phone sends a pick of photos as an album, one message each. The dialogs that take
        photos (ALBUMS) collect an album's whole, at the step its first photo found (the form
        across its steps, too). Elsewhere the first photo is the whole answer (a closing
        note, a poster: the dialog moves on) or none (a comment is typed: it is said once),
        and the others, met by the next question, by no dialog ("I did not understand") or
        by the same words again, would each be answered. They are let go quietly instead, as
        are an album's files and videos after its first item ("send it as a photo", once)."""
        if not said.media_group_id:
            return False
        where = (dialog.flow, dialog.step) if dialog is not None else None
        seen = self._albums.get(user_id)
        if (seen is not None and seen[0] == said.media_group_id
                and (said.message_id is None or said.message_id != seen[2])):
            first = seen[1]
            if said.kind != "photo":  # photos sent as files, videos: no dialog takes them
                return True
            if first is None or where is None or first[0] != where[0]:
                return True  # another dialog, or none, than the first photo found
            return first[0] not in ALBUMS or (first != where and first[0] != Flow.INTAKE)
        if seen is not None and seen[0] == said.media_group_id:
            return False  # its first photo again: answered as the first, remembered already
        self._albums[user_id] = (said.media_group_id, where, said.message_id)
        self._albums.move_to_end(user_id)
        while len(self._albums) > ALBUMS_KEPT:
            self._albums.popitem(last=False)
        return False

    async def on_button(self, unit: ActorUnit, draft_id: str, action: str, arg: str) -> Answer:
        """Handle a button of the intake form: category, Next, Confirm, Edit, Cancel."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        dialog = await self.loop.pressed_form(unit, Flow.INTAKE, draft_id)
        if isinstance(dialog, str):  # kept under another: it waits, unchanged
            return Answer(dialog, alert=True)
        if dialog is None:
            return Answer(t(lang, "intake.form_closed"), alert=True)
        stored = dialog
        out: list[Outgoing] = []
        answer = Answer()
        if action == "cat" and dialog.step == "category" and env.config.category(arg):
            unit.send(await self._chosen(repo, dialog, lang, arg))
            return answer
        elif action == "join" and dialog.step == "similar" and _offered(dialog, arg):
            outcome, out = await self.loop.join(repo, who, lang, int(arg))
            if outcome == "refused":  # theirs, or followed already: no list offers those
                return Answer(t(lang, "common.stale"), alert=True)
            if outcome == "joined":
                unit.send(out)
                unit.send(await self._end(unit))
                return Answer(t(lang, "follow.joined_toast"))
            dialog = _past_similar(dialog)  # closed meanwhile: one line, and the form goes on
        elif action == "goon" and dialog.step == "similar":
            dialog = _past_similar(dialog)
        elif action == "next" and dialog.step == "description":
            if not _has_description(dialog.data):
                return Answer(t(lang, "intake.describe_first"), alert=True)
            dialog = self._advance(dialog)
        elif action == "area" and dialog.step == "area" and self._known_area(arg):
            dialog = self._advance(dialog, area=arg or None)
        elif action == "inst" and dialog.step == "area" and self._is_institute(arg):
            unit.send(self._ask_area(dialog, lang, arg))
            return answer
        elif action == "areas" and dialog.step == "area":
            dialog = Dialog(dialog.user_id, Flow.INTAKE, "area", {**dialog.data, "far": True})
        elif action == "skip" and dialog.step == "contact":
            dialog = self._advance(dialog, phone=None)
        elif action == "confirm" and dialog.step == "confirm":
            refuse = self.helper_refusal if dialog.data.get("neighbour") else self.refusal
            refusal = await refuse(repo, who.user_id, lang)
            if refusal is not None:  # banned, or over a limit, since the form began
                unit.send([ui.message(who.user_id, refusal)])
                return Answer()  # the draft stays, for when the limit allows
            request, out = await self.loop.submit(repo, who.user_id, lang, dialog.data)
            unit.send(out)
            unit.send(await self._end(unit))  # what the form came on, if any, is back
            return Answer(t(lang, "intake.sent_toast", ref=request.ref))
        elif action == "recat" and dialog.step == "confirm" and env.config.category(arg):
            # The summary's offer after a new description: the citizen took it (another
            # category: the duplicate check looks again, if the place is a point).
            dialog = await self._similar(repo, Dialog(
                dialog.user_id, Flow.INTAKE, "confirm",
                {**dialog.data, "category": arg, "recheck": False}))
        elif action == "phone" and dialog.step == "confirm" and dialog.data.get("phone"):
            # Whether the claimer sees the phone, or the two talk through the bot only.
            dialog = Dialog(dialog.user_id, Flow.INTAKE, "confirm",
                            {**dialog.data, "share_phone": arg != "n"})
        elif action == "edit" and dialog.step == "confirm":
            dialog = Dialog(dialog.user_id, Flow.INTAKE, "edit", dialog.data)
        elif action == "field" and dialog.step == "edit" and arg in self.editable(dialog.data):
            data = {**dialog.data, "editing": True}
            if arg == "description":
                # The summary then says if the new words point to another category.
                data.update(description="", photos=[], voice=None, recheck=True)
            if arg == "location" and "area" in self.steps():
                # A new place may be in another community: ask that again after it.
                data.update(editing=False, then_confirm=True, area=None)
            dialog = Dialog(dialog.user_id, Flow.INTAKE, arg, data)
        elif action == "resume":
            pass  # the nudge's Continue: ask the current question again
        elif action == "back" and dialog.step == "edit":
            dialog = Dialog(dialog.user_id, Flow.INTAKE, "confirm", dialog.data)
        elif action == "cancel":
            unit.send(ui.message(who.user_id, t(lang, "intake.cancelled"), ui.REMOVE_KEYBOARD))
            unit.send(await self._end(unit) or [ui.message(
                who.user_id, t(lang, "menu.title"), self.loop.citizen_menu(lang))])
            return Answer(t(lang, "intake.cancelled_toast"))
        else:
            return Answer(t(lang, "common.stale"), alert=True)
        await self._save(repo, stored, dialog)
        out += self._ask(dialog, lang)
        unit.send(out)
        return answer

    # -- the form ---------------------------------------------------------------------------

    async def resume_draft(self, unit: ActorUnit) -> list[Outgoing]:
        """If an interrupted request draft (or another dialog: a registration, a visit, an
        activity being published, after photos half sent, a Done note …) is back on top, say
        so and ask its question again."""
        user_id, lang = unit.user_id, unit.language
        dialog = await unit.repo.people.dialog(user_id)
        if dialog is None:
            return []
        if dialog.flow != Flow.INTAKE:
            resumed = self.resumed.get(dialog.flow)
            if resumed is not None:
                return await resumed(unit, dialog)
            again = self.asked_again.get(dialog.flow)
            question = await again(unit, dialog) if again is not None else []
            if isinstance(question, str):  # what it was about moved on: it ends here
                await self.loop.pop_dialog(unit.repo, user_id, dialog.flow)
                said = [ui.message(user_id, question)] if question else []
                return said + await self.resume_draft(unit)
            if not question:
                return []
            return [ui.message(user_id, unit.t("common.back_to_dialog")), *question]
        return [ui.message(user_id, self.env.t(lang, "intake.back_to_draft")),
                *self._ask(dialog, lang)]

    async def _covered(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """A form going under another dialog at a step with a reply keyboard (the place, a
        phone, a neighbour's address): the keyboard is taken off, since a tap would answer
        the dialog on top, and the person told the form waits; its question brings it back."""
        key = _WAITS.get(dialog.step)
        if key is None or (dialog.step == "nb_address" and not dialog.data.get("address")):
            return []
        return [ui.message(unit.user_id, unit.t(key), ui.REMOVE_KEYBOARD)]

    def _is_institute(self, area_id: str) -> bool:
        """An institute button names an area right under the centre."""
        tree = self.env.config.areas
        return (tree is not None and area_id in tree
                and tree.get(area_id).parent_id == tree.root)

    def _known_area(self, area_id: str) -> bool:
        """An area button names an area of the tree, or '' (not sure)."""
        tree = self.env.config.areas
        return tree is not None and (area_id == "" or area_id in tree)

    async def _save(self, repo: Repo, stored: Dialog, dialog: Dialog) -> None:
        """Store the draft as it now is, moved on from `stored` (the form as this update
        found it) by the loop, which keeps what lies under it; and restart its clock: a
        nudge if it idles, expiry later."""
        await self.loop.move_dialog(repo, stored, dialog.step, dialog.data)
        await self.loop.restart_draft_clock(repo, dialog.user_id)

    async def _end(self, unit: ActorUnit) -> list[Outgoing]:
        """Forget the draft (sent or dropped) and its clock; the long dialog it came on, if
        any, is back: its "Back to …" line and question."""
        await unit.repo.timers.cancel_timers(self.env.now(), user_id=unit.user_id)
        if await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.INTAKE):
            return await self.resume_draft(unit)
        return []

    def steps(self, draft: dict[str, Any] | None = None) -> tuple[str, ...]:
        """The form's steps; the area step only when the district has an area tree; a
        neighbour's draft asks for the neighbour's name, phone and address, not a contact."""
        steps = STEPS if self.env.config.areas is not None else tuple(
            s for s in STEPS if s != "area")
        if draft and draft.get("neighbour"):
            at = steps.index("contact")
            steps = (*steps[:at], *NEIGHBOUR_STEPS, *steps[at + 1:])
        return steps

    def editable(self, draft: dict[str, Any] | None = None) -> tuple[str, ...]:
        """The fields the citizen may change from the summary."""
        return tuple(s for s in (*EDITABLE, *NEIGHBOUR_STEPS) if s in self.steps(draft))

    def _advance(self, dialog: Dialog, **changes: Any) -> Dialog:
        """Store changes and move to the next step (or back to the summary when editing)."""
        data = {**dialog.data, **changes}
        if data.get("editing"):
            return Dialog(dialog.user_id, Flow.INTAKE, "confirm", {**data, "editing": False})
        if data.get("then_confirm") and dialog.step == "area":
            return Dialog(dialog.user_id, Flow.INTAKE, "confirm", {**data, "then_confirm": False})
        steps = self.steps(data)
        following = steps[steps.index(dialog.step) + 1]
        return Dialog(dialog.user_id, Flow.INTAKE, following, data)

    def _question(self, lang: str, step: str, key: str, draft: dict[str, Any] | None = None,
                  **values: Any) -> str:
        """A step's question, numbered (Step 2 of 5) among the steps of `draft`."""
        questions = self.steps(draft)[:-1]  # the summary is no question
        number = self.env.t(lang, "intake.step", n=questions.index(step) + 1,
                            total=len(questions))
        question = self.env.t(lang, key, **values)
        return self.env.t(lang, "intake.numbered", step=Raw(number), question=Raw(question))

    def _ask(self, dialog: Dialog, lang: str) -> list[Outgoing]:
        """The question for the dialog's current step, with its buttons."""
        t, chat, draft = self.env.t, dialog.user_id, dialog.data["id"]

        def button(label_key: str, action: str, arg: str = "") -> ui.Button:
            return t(lang, label_key), buttons.FORM.data(draft, action, arg)

        if dialog.step == "category":
            # With a description already told, the likely categories come first, the
            # likeliest on a row of its own, starred; the citizen still taps.
            categories = self.env.config.categories
            described = dialog.data.get("description") or ""
            likely = suggest.rank(categories, described) if described else []
            ordered = suggest.order(categories, likely)
            rows: list[list[ui.Button]] = []
            if likely:
                top = ordered.pop(0)
                rows.append([(t(lang, "intake.suggested", name=top.name(lang)),
                              buttons.FORM.data(draft, "cat", top.code))])
            choices = [(c.name(lang), buttons.FORM.data(draft, "cat", c.code))
                       for c in ordered]
            rows += [choices[i:i + 2] for i in range(0, len(choices), 2)]
            rows.append([button("common.cancel", "cancel")])
            question = self._question(lang, "category", "intake.ask_category", dialog.data)
            return [ui.message(chat, question, ui.inline(rows))]
        if dialog.step == "description":
            markup = ui.inline([[button("common.cancel", "cancel")]])
            question = self._question(lang, "description", "intake.ask_description",
                                      dialog.data, max=self.env.config.max_photos)
            return [ui.message(chat, question, markup)]
        if dialog.step == "location":
            keyboard = ui.reply_keyboard([
                [{"text": t(lang, "intake.share_location"), "request_location": True}],
                *([{"text": t(lang, "intake.recent_address", address=Raw(address))}]
                  for address in dialog.data.get("recent", [])),
            ])
            question = self._question(lang, "location", "intake.ask_location", dialog.data)
            return [ui.message(chat, question, keyboard)]
        if dialog.step == "area":
            return self._ask_area(dialog, lang, None)
        if dialog.step == "contact":
            keyboard = ui.reply_keyboard([
                [{"text": t(lang, "intake.share_phone"), "request_contact": True}],
                [{"text": t(lang, "common.skip")}],
            ])
            question = self._question(lang, "contact", "intake.ask_contact")
            return [ui.message(chat, question, keyboard)]
        if dialog.step == "similar":
            return self._ask_similar(dialog, lang)
        if dialog.step in NEIGHBOUR_STEPS:
            return [self._ask_neighbour(dialog, lang)]
        if dialog.step == "edit":
            rows = [[button(f"intake.field.{name}", "field", name)]
                    for name in self.editable(dialog.data)]
            rows.append([button("common.back", "back")])
            return [ui.message(chat, t(lang, "intake.ask_field"), ui.inline(rows))]
        # confirm: first take away the reply keyboard, then show the summary with buttons.
        summary = render.draft_summary(self.env, dialog.data, lang)
        rows = [
            [button("intake.confirm", "confirm")],
            [button("intake.edit", "edit"), button("common.cancel", "cancel")],
        ]
        if dialog.data.get("phone"):  # whether the claimer sees it (the masked chat)
            rows.insert(1, [button("relay.hide_phone", "phone", "n")
                            if dialog.data.get("share_phone", True)
                            else button("relay.show_phone", "phone", "y")])
        other = self._better_category(dialog.data)
        if other is not None:
            summary += "\n\n" + t(lang, "intake.recheck", name=other.name(lang))
            rows.insert(0, [(t(lang, "intake.change_to", name=other.name(lang)),
                             buttons.FORM.data(draft, "recat", other.code))])
        markup = ui.inline(rows)
        return [
            ui.message(chat, t(lang, "intake.almost_done"), ui.REMOVE_KEYBOARD),
            ui.message(chat, summary, markup),
        ]

    def _recent_address(self, data: dict[str, Any], text: str) -> str | None:
        """The earlier address whose button (in either language) was tapped, if one was."""
        for address in data.get("recent", []):
            labels = {self.env.t(lang, "intake.recent_address", address=Raw(address))
                      for lang in LANGUAGES}
            if text in {visible(label) for label in labels}:
                return str(address)
        return None

    def _better_category(self, data: dict[str, Any]) -> Category | None:
        """The likeliest category of a description changed from the summary, if the chosen
        one is not among the likely ones at all."""
        described = data.get("description") or ""
        if not data.get("recheck") or not described:
            return None
        categories = self.env.config.categories
        likely = suggest.rank(categories, described)
        if not likely or data.get("category") in likely:
            return None
        return self.env.config.category(likely[0])

    def _ask_area(self, dialog: Dialog, lang: str, institute: str | None) -> list[Outgoing]:
        """Ask for the community in two taps at most: institute, then station. A shared
        location brings the nearest stations first."""
        tree = self.env.config.areas
        assert tree is not None
        t, chat, draft = self.env.t, dialog.user_id, dialog.data["id"]

        def area_button(area_id: str, label: str) -> ui.Button:
            return label, buttons.FORM.data(draft, "area", area_id)

        def pairs(row: list[ui.Button]) -> list[list[ui.Button]]:
            return [row[i:i + 2] for i in range(0, len(row), 2)]

        latitude, longitude = dialog.data.get("latitude"), dialog.data.get("longitude")
        if institute is not None:
            area = tree.get(institute)
            rows = pairs([area_button(s.id, s.name(lang)) for s in tree.children(institute)])
            rows.append([area_button(institute, t(lang, "intake.whole_institute",
                                                  area=area.name(lang)))])
            rows.append([(t(lang, "common.back"), buttons.FORM.data(draft, "areas", ""))])
            text = t(lang, "intake.ask_station", area=area.name(lang))
        elif latitude is not None and longitude is not None and not dialog.data.get("far"):
            near = tree.nearest(latitude, longitude, NEAREST_OFFERED)
            rows = [[area_button(s.id, s.name(lang))] for s in near]
            rows.append([(t(lang, "intake.other_area"),
                          buttons.FORM.data(draft, "areas", ""))])
            text = self._question(lang, "area", "intake.ask_area_near", dialog.data)
        else:
            rows = pairs([(i.name(lang), buttons.FORM.data(draft, "inst", i.id))
                          for i in tree.children(tree.root)])
            text = self._question(lang, "area", "intake.ask_area", dialog.data)
        rows.append([area_button("", t(lang, "intake.not_sure"))])
        return [ui.message(chat, text, ui.inline(rows))]

    async def _similar(self, repo: Repo, dialog: Dialog) -> Dialog:
        """The duplicate check: once the draft has its category and a map point, open
        requests of that category nearby and recent (config [duplicates]) are offered before
        the form goes on; the draft keeps what it shows, so the question can be asked again."""
        config, data = self.env.config, dialog.data
        latitude, longitude = data.get("latitude"), data.get("longitude")
        category = data.get("category")
        kind = config.category(category) if category else None
        if not config.duplicates.enabled or latitude is None or longitude is None \
                or kind is None or not kind.duplicate_check:
            return dialog
        near = await repo.requests.nearby(
            kind.code, latitude, longitude, config.duplicates.distance,
            self.env.now() - config.duplicates.max_age, dialog.user_id, SIMILAR_SHOWN)
        if not near:
            return dialog
        # Its photo only where the groups see photos too (limits.card_photo); never its
        # description, address or citizen: the distance, the age and the status say enough.
        shown = [{"id": request.id, "m": round(metres), "at": request.created_at,
                  "status": request.status,
                  "photo": request.photos[0] if request.photos and config.card_photo
                  else None}
                 for request, metres in near]
        return Dialog(dialog.user_id, Flow.INTAKE, "similar",
                      {**data, "similar": shown, "after": dialog.step})

    def _ask_similar(self, dialog: Dialog, lang: str) -> list[Outgoing]:
        """Show the requests found nearby, each with its own Join button, then Go on."""
        t, chat, draft = self.env.t, dialog.user_id, dialog.data["id"]
        out = [ui.message(chat, t(lang, "similar.title"))]
        for found in dialog.data["similar"]:
            text = t(lang, "similar.entry", distance=self._metres(lang, found["m"]),
                     age=self._age(lang, found["at"]),
                     status=render.status_name(self.env, found["status"], lang))
            join = ui.inline([[(t(lang, "similar.join"),
                                buttons.FORM.data(draft, "join", found["id"]))]])
            out.append(ui.photo(chat, found["photo"], text, join) if found["photo"]
                       else ui.message(chat, text, join))
        out.append(ui.message(chat, t(lang, "similar.go_on"), ui.inline([
            [(t(lang, "similar.go_on_button"), buttons.FORM.data(draft, "goon", ""))],
            [(t(lang, "common.cancel"), buttons.FORM.data(draft, "cancel", ""))]])))
        return out

    def _metres(self, lang: str, metres: int) -> str:
        """A distance as people say it: to the nearest 10 m (at least 10)."""
        return self.env.t(lang, "similar.metres", m=max(10, round(metres, -1)))

    def _age(self, lang: str, at: float) -> str:
        """How long ago: just now, hours, or days."""
        now = self.env.now()
        seconds = now - at
        if seconds < 3600:
            return self.env.t(lang, "similar.just_now")
        if seconds < DAY:
            return self.env.t(lang, "similar.hours_ago", h=int(seconds // 3600))
        # days as the reader counts them: the 1st at 23:30 is 3 days before the 4th at 00:10
        return self.env.t(lang, "similar.days_ago",
                          d=days_between(at, now, self.env.config.timezone))

    def _again(self, dialog: Dialog, lang: str, key: str, **values: Any) -> list[Outgoing]:
        """Say what was wrong with the input, then ask the same question again."""
        return [ui.message(dialog.user_id, self.env.t(lang, key, **values)),
                *self._ask(dialog, lang)]

    async def _intake_step(
        self, repo: Repo, dialog: Dialog, lang: str, said: Said
    ) -> list[Outgoing]:
        """Take one message as the answer to the current step, or explain and ask again."""
        stored, step, data, config = dialog, dialog.step, dialog.data, self.env.config
        if said.kind == "command":
            return self._again(dialog, lang, "intake.command_mid_form")
        # Photos of an album arrive one message each; ones that trail past the step that
        # took the album's caption still belong to the description.
        if (
            said.kind == "photo" and step != "description" and said.media_group_id
            and said.media_group_id == data.get("media_group")
        ):
            if len(data["photos"]) < config.max_photos:
                data["photos"].append(said.file_id)
                await self._save(repo, stored, dialog)
            return []
        if step == "description":
            return await self._description(repo, dialog, lang, said)
        if step == "location":
            if said.kind == "photo" and data.get("told"):
                return await self._photo_at_location(repo, dialog, lang, said)
            if said.kind == "location":
                dialog = await self._similar(repo, self._advance(
                    dialog, latitude=said.latitude, longitude=said.longitude, address=None))
            elif said.kind == "text" and visible(said.text):
                address = self._recent_address(data, visible(said.text)) or visible(said.text)
                if len(address) > ADDRESS_MAX:
                    return self._again(dialog, lang, "intake.address_too_long", max=ADDRESS_MAX)
                if len(address) < ADDRESS_MIN:
                    return self._again(dialog, lang, "intake.address_too_short")
                dialog = self._advance(dialog, address=address, latitude=None, longitude=None)
            else:
                return self._again(dialog, lang, "intake.want_location")
        elif step == "contact":
            if said.kind == "contact":
                if said.contact_user_id != dialog.user_id:
                    return self._again(dialog, lang, "intake.own_contact_only")
                dialog = self._advance(dialog, phone=said.phone)
            elif said.kind == "text" and said.text.strip() in self.env.t.all_labels(
                "common.skip"
            ):
                dialog = self._advance(dialog, phone=None)
            elif said.kind == "text" and _PHONE.match(said.text.strip()):
                dialog = self._advance(dialog, phone=said.text.strip())
            else:
                return self._again(dialog, lang, "intake.want_contact")
        elif step in NEIGHBOUR_STEPS:
            answer = self._neighbour_answer(dialog, said)
            if isinstance(answer, str):
                limit = ADDRESS_MAX if answer == "intake.address_too_long" else NAME_MAX
                return self._again(dialog, lang, answer, max=limit)
            dialog = self._advance(dialog, **answer)
        elif step == "category":
            return await self._told_at_category(repo, dialog, lang, said)
        else:  # confirm or edit: only the buttons answer these
            return self._again(dialog, lang, "intake.use_buttons")
        await self._save(repo, stored, dialog)
        return self._ask(dialog, lang)

    def _ask_neighbour(self, dialog: Dialog, lang: str) -> Outgoing:
        """Ask for the neighbour's name, phone or address: typed (a phone also as a contact
        card from the helper's address book); their address may be the place given above."""
        step, t = dialog.step, self.env.t
        question = self._question(lang, step, f"neighbour.ask_{step[3:]}", dialog.data)
        markup: dict[str, Any] = ui.REMOVE_KEYBOARD  # the location step's keyboard goes
        if step == "nb_address" and dialog.data.get("address"):
            markup = ui.reply_keyboard([[{"text": t(lang, "neighbour.same_place")}]])
        if step == "nb_own":  # not shared unless they choose
            markup = ui.reply_keyboard([
                [{"text": t(lang, "neighbour.own_share"), "request_contact": True}],
                [{"text": t(lang, "neighbour.own_keep")}],
            ])
        return ui.message(dialog.user_id, question, markup)

    def _neighbour_answer(self, dialog: Dialog, said: Said) -> dict[str, Any] | str:
        """The neighbour's name, phone or address from one message, or the catalog key of
        what to say instead (then the question is asked again)."""
        step, text = dialog.step, said.text.strip()
        if step == "nb_own":  # the helper's own number, as the contact step takes it
            if said.kind == "contact" and said.phone:
                if said.contact_user_id != dialog.user_id:
                    return "intake.own_contact_only"
                return {"nb_own": said.phone}
            if said.kind == "text" and text in self.env.t.all_labels("neighbour.own_keep"):
                return {"nb_own": None}
            if said.kind == "text" and _PHONE.match(text):
                return {"nb_own": text}
            return "neighbour.want_own"
        if step == "nb_phone":
            if said.kind == "contact" and said.phone:
                if said.contact_user_id == dialog.user_id:  # the helper's own number
                    return "neighbour.not_your_phone"
                return {"nb_phone": said.phone}
            if said.kind == "text" and _PHONE.match(text):
                return {"nb_phone": text}
            return "neighbour.want_phone" if said.kind != "text" or not text else (
                "neighbour.bad_phone")
        if said.kind != "text" or not text:
            return "neighbour.want_name" if step == "nb_name" else "neighbour.want_address"
        if step == "nb_name":
            return {"nb_name": text} if ui.units(text) <= NAME_MAX else "neighbour.name_too_long"
        if text in self.env.t.all_labels("neighbour.same_place") and dialog.data.get("address"):
            return {"nb_address": dialog.data["address"]}
        if len(text) > ADDRESS_MAX:
            return "intake.address_too_long"
        if len(text) < ADDRESS_MIN:
            return "intake.address_too_short"
        return {"nb_address": text}

    async def _description(
        self, repo: Repo, dialog: Dialog, lang: str, said: Said
    ) -> list[Outgoing]:
        """Collect text, a voice message or up to N photos for the description."""
        stored, data, config = dialog, dict(dialog.data), self.env.config
        limit = config.description_max_chars
        text = visible(said.text)
        if said.kind not in ("text", "photo", "voice"):
            return self._again(dialog, lang, "intake.want_description")
        if text and ui.units(text) > limit:  # counted as Telegram counts: emoji count 2
            return self._again(dialog, lang, "intake.too_long", max=limit,
                               length=ui.units(text))
        if said.kind == "photo":
            photos = list(data.get("photos") or [])
            first_of_album = said.media_group_id != data.get("media_group")
            if len(photos) >= config.max_photos:
                data["media_group"] = said.media_group_id
                dialog = Dialog(dialog.user_id, Flow.INTAKE, "description", data)
                await self._save(repo, stored, dialog)
                if said.media_group_id and not first_of_album:
                    return []
                return [self._next_prompt(dialog, lang, "intake.too_many_photos",
                                          max=config.max_photos)]
            photos.append(said.file_id)
            data.update(photos=photos, media_group=said.media_group_id)
            if text:
                data["description"] = text
                dialog = self._advance(Dialog(dialog.user_id, Flow.INTAKE, "description", data))
                await self._save(repo, stored, dialog)
                return self._ask(dialog, lang)
            dialog = Dialog(dialog.user_id, Flow.INTAKE, "description", data)
            await self._save(repo, stored, dialog)
            if said.media_group_id and not first_of_album:
                return []  # one acknowledgement per album is enough
            return [self._next_prompt(dialog, lang, "intake.photo_received",
                                      count=len(photos), max=config.max_photos)]
        if said.kind == "voice":
            data["voice"] = said.file_id
            dialog = Dialog(dialog.user_id, Flow.INTAKE, "description", data)
            await self._save(repo, stored, dialog)
            return [self._next_prompt(dialog, lang, "intake.voice_received")]
        if not text:
            return self._again(dialog, lang, "intake.want_description")
        dialog = self._advance(dialog, description=text)
        await self._save(repo, stored, dialog)
        return self._ask(dialog, lang)

    async def _chosen(self, repo: Repo, dialog: Dialog, lang: str, code: str
                      ) -> list[Outgoing]:
        """The category chosen (tapped, or its name typed): on to the description, or past it
        to the place when it was told at the category step."""
        stored = dialog
        dialog = self._advance(dialog, category=code, recheck=False)
        if dialog.step == "description" and _has_description(dialog.data):
            dialog = self._advance(dialog)  # told at the category step: on to the place
        # Changed from the summary, with a point already given: look again.
        dialog = await self._similar(repo, dialog)
        await self._save(repo, stored, dialog)
        return self._ask(dialog, lang)

    async def _told_at_category(
        self, repo: Repo, dialog: Dialog, lang: str, said: Said
    ) -> list[Outgoing]:
        """Keep words (a voice message, a photo, their caption) said instead of a category as
        the description, and ask again with the likely categories first."""
        stored, data, config = dialog, dict(dialog.data), self.env.config
        text = said.text.strip()
        named = suggest.named(config.categories, text) if said.kind == "text" else None
        if named is not None and not data.get("editing"):
            # The label of a button, typed (as many elderly people do): their choice, as a
            # tap on it would be, not a description.
            return await self._chosen(repo, dialog, lang, named.code)
        # Nothing is chosen for the citizen; once they choose, the description step is
        # skipped. Changing only the category from the summary, the buttons answer.
        if (data.get("editing") or said.kind not in ("text", "voice", "photo")
                or (said.kind == "text" and not suggest.has_words(text))):
            return self._again(dialog, lang, "intake.use_buttons")
        before = data.get("description") or ""
        # A second message adds to the first: an old person may say it in two goes.
        described = f"{before}\n{text}" if before and text else before or text
        limit = config.description_max_chars
        if ui.units(described) > limit:
            return self._again(dialog, lang, "intake.too_long", max=limit,
                               length=ui.units(described))
        if said.kind == "voice":
            data["voice"] = said.file_id
        elif said.kind == "photo":
            # An album's other photos are added quietly by _intake_step (its media group).
            photos = list(data.get("photos") or [])
            if len(photos) < config.max_photos:
                photos.append(said.file_id)
            data.update(photos=photos, media_group=said.media_group_id)
        data.update(description=described, told=True)
        dialog = Dialog(dialog.user_id, Flow.INTAKE, "category", data)
        await self._save(repo, stored, dialog)
        likely = suggest.rank(config.categories, described) if described else []
        if likely:
            top = config.category(likely[0])
            assert top is not None
            return self._again(dialog, lang, "intake.told_likely", name=top.name(lang))
        return self._again(dialog, lang,
                           "intake.told_unsure" if described else "intake.told_media")

    async def _photo_at_location(
        self, repo: Repo, dialog: Dialog, lang: str, said: Said
    ) -> list[Outgoing]:
        """Add a photo (and its caption) sent at the place's step of a draft described at the
        category step, whose description step, where photos come, was skipped."""
        stored, data, config = dialog, dict(dialog.data), self.env.config
        photos = list(data.get("photos") or [])
        if len(photos) >= config.max_photos:
            return self._again(dialog, lang, "intake.photos_full", max=config.max_photos)
        caption = said.text.strip()
        if caption:
            before = data.get("description") or ""
            described = f"{before}\n{caption}" if before else caption
            if ui.units(described) > config.description_max_chars:
                return self._again(dialog, lang, "intake.too_long",
                                   max=config.description_max_chars,
                                   length=ui.units(described))
            data["description"] = described
        photos.append(said.file_id)  # an album's others: quietly, by _intake_step
        data.update(photos=photos, media_group=said.media_group_id)
        dialog = Dialog(dialog.user_id, Flow.INTAKE, "location", data)
        await self._save(repo, stored, dialog)
        return self._again(dialog, lang, "intake.photo_added", count=len(photos),
                           max=config.max_photos)

    def _next_prompt(self, dialog: Dialog, lang: str, key: str, **values: Any) -> Outgoing:
        """Acknowledge media with a Next button, so more can be added first."""
        t, draft = self.env.t, dialog.data["id"]
        markup = ui.inline([
            [(t(lang, "intake.next"), buttons.FORM.data(draft, "next", ""))],
            [(t(lang, "common.cancel"), buttons.FORM.data(draft, "cancel", ""))],
        ])
        return ui.message(dialog.user_id, t(lang, key, **values), markup)

    # -- short dialogs ----------------------------------------------------------------------

    async def _done_note(
        self, repo: Repo, who: Who, lang: str, dialog: Dialog, said: Said
    ) -> list[Outgoing]:
        """Take the volunteer's closing note or photo (or, at the hours step, a number)."""
        if dialog.step == "hours":
            return await self._other_hours(repo, who, lang, dialog, said)
        text = said.text.strip()
        if said.kind not in ("text", "photo") or (said.kind == "text" and not text):
            return [ui.message(who.user_id, self.env.t(lang, "task.want_note"))]
        if ui.units(text) > self.env.config.description_max_chars:
            return [ui.message(who.user_id, self.env.t(
                lang, "intake.too_long", max=self.env.config.description_max_chars,
                length=ui.units(text)))]
        photo = said.file_id if said.kind == "photo" else None
        return await self._after_note(repo, who, lang, dialog, text or None, photo)

    async def _after_note(
        self, repo: Repo, who: Who, lang: str, dialog: Dialog, note: str | None,
        photo: str | None,
    ) -> list[Outgoing]:
        """With the note taken, ask for the time spent (if hours are counted), else finish."""
        request_id = int(dialog.data["request_id"])
        if not self.env.config.volunteering.ask_hours:
            _, out = await self.loop.finish_done(repo, who, lang, request_id, note, photo)
            return out
        request = await repo.requests.request(request_id)
        if request is None:  # erased meanwhile: finishing says it is no longer theirs
            _, out = await self.loop.finish_done(repo, who, lang, request_id, note, photo)
            return out
        await self.loop.move_dialog(repo, dialog, "hours",
                                    {**dialog.data, "note": note, "photo": photo})
        return [self._hours_question(who.user_id, lang, request)]

    async def _done_note_again(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing] | str:
        """A Done note back on top: the note (with Skip), or the hours, asked again; ended
        if the task is no longer the volunteer's (released, reassigned, cancelled)."""
        request = await unit.repo.requests.request(int(dialog.data["request_id"]))
        if request is None or not self.loop.holds(request, unit.user_id):
            return unit.t("task.not_yours")
        if dialog.step == "hours":
            return [self._hours_question(unit.user_id, unit.language, request)]
        return [self.loop.note_question(unit.language, unit.user_id, request)]

    def _hours_question(self, chat_id: int, lang: str, request: Request) -> Outgoing:
        """How long the task took, with the usual choices and Other."""
        t, maximum = self.env.t, self.env.config.volunteering.max_hours
        choices = [(t(lang, "hours.choice", hours=h), buttons.HOURS.data(request.id, h))
                   for h in HOUR_CHOICES if float(h) <= maximum]
        rows = [choices[:2], choices[2:],
                [(t(lang, "hours.other"), buttons.HOURS.data(request.id, "other"))]]
        return ui.message(chat_id, t(lang, "hours.ask", ref=request.ref), ui.inline(rows))

    async def _other_hours(
        self, repo: Repo, who: Who, lang: str, dialog: Dialog, said: Said
    ) -> list[Outgoing]:
        """Take a typed number of hours, within the allowed range."""
        maximum = self.env.config.volunteering.max_hours
        try:
            hours = float(said.text.strip().replace(",", ".").rstrip("hH小时 "))
        except ValueError:
            hours = -1.0
        if not 0 < hours <= maximum or said.kind != "text":
            return [ui.message(who.user_id, self.env.t(lang, "hours.out_of_range",
                                                       max=f"{maximum:g}"))]
        return await self._finish_with_hours(repo, who, lang, dialog, hours)

    async def _finish_with_hours(
        self, repo: Repo, who: Who, lang: str, dialog: Dialog, hours: float
    ) -> list[Outgoing]:
        request_id = int(dialog.data["request_id"])
        _, out = await self.loop.finish_done(repo, who, lang, request_id, dialog.data.get("note"),
                                             dialog.data.get("photo"), hours)
        return out

    async def hours_button(self, unit: ActorUnit, request_id: int, choice: str) -> Answer:
        """Take the time spent from a button; "other" asks for a typed number."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        dialog = None
        if choice == "other" or (choice in HOUR_CHOICES
                                 and float(choice) <= env.config.volunteering.max_hours):
            dialog = await self.loop.bring_up(unit, Flow.DONE_NOTE, request_id, "hours")
        if dialog is None:
            return Answer(t(lang, "common.stale"), alert=True)
        if choice == "other":
            maximum = env.config.volunteering.max_hours
            out = [ui.message(who.user_id, t(lang, "hours.type", max=f"{maximum:g}"))]
        else:
            out = await self._finish_with_hours(repo, who, lang, dialog, float(choice))
            out += await self.resume_draft(unit)  # what the note came in the middle of
        unit.send(out)
        return Answer()

    async def _comment(
        self, repo: Repo, who: Who, lang: str, dialog: Dialog, said: Said
    ) -> list[Outgoing]:
        """Take the citizen's optional comment after rating."""
        text = said.text.strip()
        if said.kind != "text" or not text:
            return [ui.message(who.user_id, self.env.t(lang, "rate.want_comment"))]
        if ui.units(text) > COMMENT_MAX:
            return [ui.message(who.user_id, self.env.t(
                lang, "intake.too_long", max=COMMENT_MAX, length=ui.units(text)))]
        return await self.loop.finish_comment(repo, who, lang, int(dialog.data["request_id"]),
                                              text)

    async def skip_done_note(self, unit: ActorUnit, request_id: int) -> Answer:
        """Finish Done without a note."""
        env = self.env
        repo, lang, who = unit.repo, unit.language, unit.who
        # A note kept under another dialog is brought up and finished: what was on top comes
        # back after it (at once, or after the hours).
        dialog = await self.loop.bring_up(unit, Flow.DONE_NOTE, request_id, "note")
        if dialog is None:
            return Answer(env.t(lang, "common.stale"), alert=True)
        unit.send(await self._after_note(repo, who, lang, dialog, None, None))
        if depth(await repo.people.dialog(who.user_id)) < depth(dialog):
            unit.send(await self.resume_draft(unit))  # the note was all there was to ask
        return Answer()

    async def skip_comment(self, unit: ActorUnit, request_id: int) -> Answer:
        """Finish rating without a comment."""
        env = self.env
        repo, lang, who = unit.repo, unit.language, unit.who
        # A comment kept under another dialog is finished too; what was on top comes back.
        dialog = await self.loop.bring_up(unit, Flow.COMMENT, request_id, "text")
        if dialog is None:
            return Answer(env.t(lang, "common.stale"), alert=True)
        unit.send(await self.loop.finish_comment(repo, who, lang, request_id, None))
        unit.send(await self.resume_draft(unit))
        return Answer()

    async def _reply(self, unit: ActorUnit, key: str, *, menu: bool = False) -> None:
        markup = self.loop.citizen_menu(unit.language) if menu else None
        unit.send(ui.message(unit.user_id, unit.t(key), markup))


# The form's steps that ask with a reply keyboard, and what is said when it goes under another.
_WAITS = {"location": "intake.location_waits", "contact": "intake.phone_waits",
          "nb_own": "intake.phone_waits", "nb_address": "intake.address_waits"}


def _offered(dialog: Dialog, arg: str) -> bool:
    """Whether a Join press names one of the requests this draft was shown."""
    return arg.isdigit() and any(found["id"] == int(arg) for found in dialog.data["similar"])


def _past_similar(dialog: Dialog) -> Dialog:
    """The draft past the duplicate check: at the step it was going to."""
    data = {k: v for k, v in dialog.data.items() if k not in ("similar", "after")}
    return Dialog(dialog.user_id, Flow.INTAKE, dialog.data["after"], data)


def _has_description(data: dict[str, Any]) -> bool:
    return bool(data.get("description") or data.get("photos") or data.get("voice"))
