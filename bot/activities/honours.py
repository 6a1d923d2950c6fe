"""Honours (issue 15.8): admins record an honour (最美志愿者 and the like: a title, a year, a
citation) on a volunteer's record, optionally announce it to the volunteer groups, and may
revoke it; /honours lists them.

Who may honour whom: a centre admin anyone the bot knows; an area admin the volunteers of
their areas (by the area they registered in, or their team's). The dialog (title, year,
citation, then a preview with Save, Save and announce, Cancel) is a `dialogs` row like every
other flow, so a restart in the middle loses nothing; every answer is checked where it is
typed and the admin's reach again at Save. An honour is never deleted: revoking keeps the
row, with who revoked it and when. The volunteer is told of both.

An announcement goes, in the district's default language, to the groups an activity of the
volunteer's team and area would reach (an area admin's), or to every volunteer group (a
centre admin's); it names the volunteer even if they hide their name in rankings (an honour
is announced on purpose, and they are told), and masks any phone number in the citation.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime
from typing import Any

from bot import buttons, night, ui
from bot.activities.board import Board
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.i18n import day_and_time
from bot.people.roles import Role, Roles
from bot.requests.loop import RequestLoop
from bot.requests.render import mask_phones
from bot.unit import ActorUnit
from storage import Dialog, Honour, Outgoing, Repo, User

STEPS = ("title", "year", "citation")
PREVIEW = "preview"
TITLE_MAX = 40
CITATION_MAX = 500
FIRST_YEAR = 2000
LISTED = 30  # honours shown by /honours (a volunteer with more is exceptional)
_YEAR = re.compile(r"^[0-9]{4}$")

# Why an announcement waiting to be sent was given up (the outbox row's error).
UNSENT = "dropped: the honour was revoked before its announcement went"


async def name_of(repo: Repo, user_id: int) -> str:
    """A volunteer's name as their honours show it (their id, if none is known)."""
    return await repo.honours.name_of(user_id) or str(user_id)


async def withdrawn(env: Env, repo: Repo, honour: Honour, chat_id: int, message_id: int
                    ) -> Outgoing:
    """The edit that makes a revoked honour's announcement say so, in the district's language
    like the announcement (the citation goes with the congratulations)."""
    text = env.t(env.config.default_language, "honours.announcement_revoked",
                 name=await name_of(repo, honour.user_id),
                 title=honour.title, year=honour.year)
    return ui.edit_text(chat_id, message_id, text)


class Honours:
    """Honours on volunteers' records: the admins' dialog, announcing, revoking, /honours."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, board: Board) -> None:
        self.env = env
        self.loop = loop  # its dialog helpers keep a request form under this dialog
        self.roles = roles
        self.board = board

    # -- who may honour whom -----------------------------------------------------------------

    async def _areas_of(self, repo: Repo, user_id: int) -> tuple[str | None, str | None]:
        """A volunteer's team and area (their own, else their team's)."""
        volunteer = await repo.volunteers.volunteer(user_id)
        if volunteer is None:
            return None, None
        team = self.env.config.volunteering.team(volunteer.team_id)
        return volunteer.team_id, volunteer.area_id or (team.area_id if team else None)

    async def _may_honour(self, repo: Repo, role: Role | None, user_id: int) -> bool:
        """A centre admin anyone; an area admin the volunteers of their areas."""
        if role is None:
            return False
        if role.centre:
            return True
        _, area = await self._areas_of(repo, user_id)
        return area is not None and role.covers(area)

    async def _person(self, unit: ActorUnit, word: str) -> User | str:
        """The user a word names (id or @username) whom the sender may honour, or the line
        that says why not."""
        role = await self.roles.of(unit.repo, unit.user_id)
        if role is None:
            return unit.t("honours.admins_only")
        person = await self.roles.find_user(unit.repo, word)
        if person is None:
            return unit.t("honours.unknown_person", who=word)
        if not await self._may_honour(unit.repo, role, person.user_id):
            name = await name_of(unit.repo, person.user_id)
            return unit.t("honours.not_your_area", name=name)
        return person

    # -- /honour <user>: the dialog ----------------------------------------------------------

    async def command(self, unit: ActorUnit, args: list[str]) -> None:
        """/honour <id or @username>: start recording an honour on their record."""
        user_id = unit.user_id
        if await self.roles.of(unit.repo, user_id) is None:
            unit.send(ui.message(user_id, unit.t("honours.admins_only")))
            return
        # The honour begun is kept, whoever is named now: its line names whose it is.
        if await self.loop.form_again(unit, Flow.HONOUR, "/honour"):
            return
        if len(args) != 1:
            unit.send(ui.message(user_id, unit.t("honours.usage")))
            return
        person = await self._person(unit, args[0])
        if isinstance(person, str):
            unit.send(ui.message(user_id, person))
            return
        name = await name_of(unit.repo, person.user_id)
        data = {"id": secrets.token_hex(3), "user": person.user_id, "name": name}
        await self.loop.push_dialog(unit, Flow.HONOUR, STEPS[0], data)
        unit.send(ui.message(user_id, "\n".join(
            [unit.t("honours.intro", name=name), self._question(unit, "title")])))

    def _question(self, unit: ActorUnit, step: str) -> str:
        year = self._year_now()
        return unit.t(f"honours.ask.{step}", step=STEPS.index(step) + 1, steps=len(STEPS),
                      max=TITLE_MAX if step == "title" else CITATION_MAX, year=year)

    def _year_now(self) -> int:
        return datetime.fromtimestamp(self.env.now(), self.env.config.timezone).year

    def _year_buttons(self, unit: ActorUnit, draft: str) -> dict[str, Any]:
        year = self._year_now()
        return ui.inline([[(str(y), buttons.HONOUR_FORM.data(draft, "year", y))
                           for y in (year, year - 1)]])

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A typed answer of the dialog: checked, kept, and the next question (or the
        preview) asked."""
        user_id, step = unit.user_id, dialog.step
        if step == PREVIEW:
            return [ui.message(user_id, unit.t("honours.use_buttons"))]
        if step not in STEPS:  # a step no version of this dialog has: start again cleanly
            await self.loop.pop_dialog(unit.repo, user_id, Flow.HONOUR)
            return [ui.message(user_id, unit.t("honours.dialog_lost"))]
        if said.kind == "command":
            return [ui.message(user_id, unit.t("honours.command_mid_dialog"))]
        if await self.roles.of(unit.repo, user_id) is None:
            # No admin any more: the dialog ends at this answer, as Save would end it. An
            # admin of other areas goes on: Save keeps the preview for a grant given back.
            await self.loop.pop_dialog(unit.repo, user_id, Flow.HONOUR)
            return [ui.message(user_id, unit.t("honours.ended_not_allowed",
                                               name=dialog.data["name"]))]
        text = unicodedata.normalize("NFKC", said.text).strip() if said.kind == "text" else ""
        what = unit.t(f"honours.what.{step}")
        markup = self._year_buttons(unit, dialog.data["id"]) if step == "year" else None
        if not text:
            return [ui.message(user_id, unit.t("honours.want_text", what=what), markup)]
        if step == "year":
            year = int(text) if _YEAR.match(text) else 0
            if not FIRST_YEAR <= year <= self._year_now():
                return [ui.message(user_id, unit.t("honours.bad_year", first=FIRST_YEAR,
                                                   last=self._year_now()), markup)]
            return await self._advance(unit, dialog, {"year": year})
        limit = TITLE_MAX if step == "title" else CITATION_MAX
        if step == "title" and "\n" in text:
            return [ui.message(user_id, unit.t("honours.one_line", what=what))]
        if ui.units(text) > limit:
            return [ui.message(user_id, unit.t("honours.too_long", what=what,
                                               count=ui.units(text), max=limit))]
        return await self._advance(unit, dialog, {step: text})

    async def _advance(self, unit: ActorUnit, dialog: Dialog,
                       answer: dict[str, Any]) -> list[Outgoing]:
        """Keep an answer and ask the next question, or show the preview."""
        data = {**dialog.data, **answer}
        following = (STEPS[STEPS.index(dialog.step) + 1] if dialog.step != STEPS[-1]
                     else PREVIEW)
        await self.loop.move_dialog(unit.repo, dialog, following, data)
        return [self._ask(unit, following, data)]

    async def resumed(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """The dialog back on top after one that came in its middle (Nearest to me, a
        check-in …) ended: whose honour it is, and its question (or preview) again."""
        if dialog.step != PREVIEW and dialog.step not in STEPS:
            return []
        return [ui.message(unit.user_id, unit.t("honours.back", name=dialog.data["name"])),
                self._ask(unit, dialog.step, dialog.data)]

    def _ask(self, unit: ActorUnit, step: str, data: dict[str, Any]) -> Outgoing:
        """The question of a step, with its buttons, or the preview with Save and Cancel."""
        if step == "year":
            return ui.message(unit.user_id, self._question(unit, step),
                              self._year_buttons(unit, data["id"]))
        if step != PREVIEW:
            return ui.message(unit.user_id, self._question(unit, step))
        form = buttons.HONOUR_FORM
        keyboard = ui.inline([
            [(unit.t("honours.save"), form.data(data["id"], "save", "")),
             (unit.t("honours.save_announce"), form.data(data["id"], "announce", ""))],
            [(unit.t("honours.cancel"), form.data(data["id"], "cancel", ""))]])
        return ui.message(unit.user_id, self._preview(unit, data), keyboard)

    def _preview(self, unit: ActorUnit, data: dict[str, Any]) -> str:
        return unit.t("honours.preview", name=data["name"], title=data["title"],
                      year=data["year"], citation=data["citation"])

    async def on_button(self, unit: ActorUnit, draft: str, action: str, arg: str,
                        chat_id: int, message_id: int) -> Answer:
        """A year, Save, Save and announce, Cancel. A press is never trusted: the person,
        the dialog it belongs to, its step and the admin's reach are checked again."""
        repo, user_id = unit.repo, unit.user_id
        dialog = await self.loop.pressed_form(unit, Flow.HONOUR, draft)
        if isinstance(dialog, str):  # kept under another: it waits, unchanged
            return Answer(dialog, alert=True)
        if dialog is None:
            saved = await repo.honours.saved_by(draft, user_id)
            if saved is not None:  # a second press of the same Save
                return Answer(unit.t("honours.already_saved", title=saved.title), alert=True)
            return Answer(unit.t("honours.form_closed"), alert=True)
        if action == "cancel":
            draft_back = await self.loop.pop_dialog(repo, user_id, Flow.HONOUR)
            unit.send(ui.message(user_id, unit.t("honours.cancelled")))
            if draft_back:  # a request form the dialog interrupted: its question again
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("honours.cancelled_toast"))
        if action == "year" and await self.roles.of(repo, user_id) is None:
            ended = unit.t("honours.ended_not_allowed", name=dialog.data["name"])
            draft_back = await self.loop.pop_dialog(repo, user_id, Flow.HONOUR)
            unit.send(ui.message(user_id, ended))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(ended, alert=True)
        if action == "year":
            year = int(arg) if _YEAR.match(arg) else 0
            if dialog.step != "year" or not FIRST_YEAR <= year <= self._year_now():
                return Answer(unit.t("honours.button_old"), alert=True)
            unit.send(await self._advance(unit, dialog, {"year": year}))
            return Answer()
        if dialog.step != PREVIEW:
            return Answer(unit.t("honours.button_old"), alert=True)
        data = dialog.data
        role = await self.roles.of(repo, user_id)
        if not await self._may_honour(repo, role, int(data["user"])):
            refused = Answer(unit.t("honours.not_your_area", name=data["name"]), alert=True)
            if role is not None:
                # Still an admin, of other areas: a grant taken back meanwhile may come back,
                # so the preview stays, to be saved then (or cancelled); what was typed is not
                # lost to a refusal.
                return refused
            # No admin any more: the dialog ends, and the preview says so, and why.
            draft_back = await self.loop.pop_dialog(repo, user_id, Flow.HONOUR)
            unit.send(ui.edit_text(chat_id, message_id, "\n\n".join([
                self._preview(unit, data), unit.t("honours.ended_not_allowed",
                                                  name=data["name"])])))
            if draft_back:  # a request form the dialog interrupted: its question again
                await self.loop.back_to_draft(unit)
            return refused
        draft_back = await self.loop.pop_dialog(repo, user_id, Flow.HONOUR)
        answer = await self._save(unit, role, action == "announce", data, chat_id, message_id)
        if draft_back:  # a request form the dialog interrupted: its question again
            await self.loop.back_to_draft(unit)
        return answer

    async def _save(self, unit: ActorUnit, role: Role | None, announce: bool,
                    data: dict[str, Any], chat_id: int, message_id: int) -> Answer:
        """Record the honour of a preview; the volunteer is told, the groups if announced."""
        repo, user_id, volunteer = unit.repo, unit.user_id, int(data["user"])
        honour_id = await repo.honours.award(data["id"], volunteer, data["title"],
                                             int(data["year"]), data["citation"], user_id,
                                             unit.now(), announce)
        if honour_id is None:
            return Answer(unit.t("honours.already_saved", title=data["title"]), alert=True)
        lang = await self.loop.language_of(repo, volunteer)
        unit.send(night.at_night(self.env, "honours.told", ui.message(volunteer, self.env.t(
            lang, "honours.told", title=data["title"], year=data["year"],
            citation=data["citation"]))))  # held at night (bot/night.py)
        groups = 0
        if announce:
            assert role is not None
            groups = await self._announce(unit, role, volunteer, honour_id, data)
        done = (unit.t("honours.saved_announced", groups=groups) if announce
                else unit.t("honours.saved"))
        unit.send(ui.edit_text(chat_id, message_id, f"{self._preview(unit, data)}\n\n{done}"))
        return Answer(unit.t("honours.saved_toast"))

    async def _announce(self, unit: ActorUnit, role: Role, volunteer: int, honour_id: int,
                        data: dict[str, Any]) -> int:
        """Post the honour to the volunteer groups (each announcement kept, so that revoking
        the honour can say so there); how many groups."""
        repo = unit.repo
        team, area = (None, None) if role.centre else await self._areas_of(repo, volunteer)
        chats = await self.board.groups_for(repo, [area], [team] if team else [])
        lang = self.env.config.default_language
        text = self.env.t(lang, "honours.announcement", name=data["name"], title=data["title"],
                          year=data["year"], citation=mask_phones(data["citation"]))
        for chat, topic in chats:
            post_id = await repo.honours.add_post(honour_id, chat, unit.now())
            unit.send(ui.message(chat, text, purpose="honour_post", honour_post_id=post_id,
                                 thread_id=topic))
        return len(chats)

    # -- /honours [user], revoking -----------------------------------------------------------

    async def list_command(self, unit: ActorUnit, args: list[str]) -> None:
        """/honours: one's own honours; /honours <user>: an admin's look at someone's (with
        the revoked ones, and Revoke under each standing one)."""
        repo, user_id = unit.repo, unit.user_id
        if len(args) > 1:
            unit.send(ui.message(user_id, unit.t("honours.list_usage")))
            return
        if not args:
            honours = await repo.honours.honours_of(user_id)
            lines = [unit.t("honours.mine_title")]
            lines += [self._line(unit, h) for h in honours[-LISTED:]]
            if not honours:
                lines.append(unit.t("honours.mine_none"))
            unit.send([ui.message(user_id, part) for part in ui.chunks(lines)])
            return
        person = await self._person(unit, args[0])
        if isinstance(person, str):
            unit.send(ui.message(user_id, person))
            return
        name = await name_of(repo, person.user_id)
        every = await repo.honours.all_honours_of(person.user_id)
        if not every:
            unit.send(ui.message(user_id, unit.t("honours.theirs_none", name=name)))
            return
        lines = [unit.t("honours.theirs_title", name=name)]
        rows = []
        for honour in every[-LISTED:]:
            revoker = (await name_of(repo, honour.revoked_by)
                       if honour.revoked_by is not None else "")
            lines.append(self._line(unit, honour, revoker))
            if honour.revoked_at is None:
                rows.append([(unit.t("honours.revoke_button", id=honour.id),
                              buttons.REVOKE_HONOUR.data(honour.id, "ask"))])
        unit.send(ui.message(user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX),
                             ui.inline(rows) if rows else None))

    def _line(self, unit: ActorUnit, honour: Honour, revoker: str = "") -> str:
        """"#3 最美志愿者 (2026): citation", and who revoked it when, if revoked."""
        line = unit.t("honours.line", id=honour.id, title=honour.title, year=honour.year,
                      citation=honour.citation)
        if honour.revoked_at is not None:
            when = datetime.fromtimestamp(honour.revoked_at, self.env.config.timezone)
            line += unit.t("honours.revoked_note", by=revoker, when=day_and_time(
                when, unit.language, self.env.local_year(), clock=False))
        return line

    async def revoke(self, unit: ActorUnit, honour_id: int, choice: str, chat_id: int,
                     message_id: int) -> Answer:
        """Revoke: asked once more; Yes keeps the row, marked revoked; the volunteer is
        told."""
        repo, user_id = unit.repo, unit.user_id
        honour = await repo.honours.honour(honour_id)
        role = await self.roles.of(repo, user_id)
        if honour is None or not await self._may_honour(repo, role, honour.user_id):
            return Answer(unit.t("honours.not_yours"), alert=True)
        if honour.revoked_at is not None:
            return Answer(unit.t("honours.already_revoked"), alert=True)
        if choice == "ask":
            unit.send(ui.message(user_id, unit.t("honours.confirm_revoke", title=honour.title,
                                                 year=honour.year), ui.inline([[
                (unit.t("honours.revoke_yes"), buttons.REVOKE_HONOUR.data(honour.id, "y")),
                (unit.t("honours.revoke_no"), buttons.REVOKE_HONOUR.data(honour.id, "n"))]])))
            return Answer()
        if choice == "n":
            unit.send(ui.edit_text(chat_id, message_id, unit.t("honours.kept",
                                                               title=honour.title)))
            return Answer()
        if not await repo.honours.revoke(honour.id, user_id, unit.now()):
            return Answer(unit.t("honours.already_revoked"), alert=True)
        lang = await self.loop.language_of(repo, honour.user_id)
        unit.send(night.at_night(self.env, "honours.revoked_told", ui.message(
            honour.user_id, self.env.t(lang, "honours.revoked_told", title=honour.title,
                                       year=honour.year))))
        # Its announcements no longer congratulate anyone: each one sent says it was revoked,
        # and one still waiting to go (Telegram asked the bot to wait) never goes.
        await repo.honours.drop_unsent_posts(honour.id, UNSENT, unit.now())
        for chat, message in await repo.honours.posts(honour.id):
            unit.send(await withdrawn(self.env, repo, honour, chat, message))
        unit.send(ui.edit_text(chat_id, message_id, unit.t("honours.revoked",
                                                           title=honour.title)))
        return Answer(unit.t("honours.revoked_toast"))

