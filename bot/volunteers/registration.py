"""Volunteers: registration with approval (/join), hours (/hours, /team) and the export."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from bot import buttons, night, ui
from bot.context import Answer, Env, Said, Who
from bot.dialogs import Flow
from bot.people.menus import CommandMenus
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.unit import ActorUnit
from storage import Dialog, Outgoing, Repo

NAME_MAX = 40
REASON_MAX = 300  # a rejection reason, told to the applicant in one message
TEAMS_OFFERED = 90  # an inline keyboard holds 100 buttons
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,19}$")


class Volunteers:
    """Registrations, their approval, and the hours volunteers have given."""

    def __init__(self, env: Env, loop: RequestLoop, menus: CommandMenus | None = None) -> None:
        self.env = env
        self.loop = loop
        self.menus = menus  # an approved volunteer gets the volunteer's command menu
        loop.covered[Flow.JOIN] = self._covered  # the phone button off while kept

    async def sync_teams(self) -> None:
        """Bring the teams table in line with the configured teams file."""
        async with self.env.db.transaction() as repo:
            await self.sync_teams_in(repo)

    async def sync_teams_in(self, repo: Repo) -> None:
        """sync_teams inside the caller's transaction (a /reload's unit of work)."""
        for team in self.env.config.volunteering.teams:
            await repo.volunteers.sync_team(
                team.id, team.area_id, team.names["zh"], team.names["en"], team.leader_id,
                self.env.now())

    # -- /join ------------------------------------------------------------------------------

    async def join(self, unit: ActorUnit) -> None:
        """Start a registration, or show the one already on file."""
        unit.send(await self.join_in(unit))

    async def join_in(self, unit: ActorUnit) -> list[Outgoing]:
        """/join inside the caller's transaction: the messages to queue."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        record = await repo.volunteers.volunteer(who.user_id)
        if record is not None and record.status != "rejected":
            team = env.config.volunteering.team(record.team_id)
            text = t(lang, "join.record", name=record.name,
                     status=t(lang, f"join.status.{record.status}"),
                     area=render.area_name(env, record.area_id or "", lang),
                     team=team.name(lang) if team else t(lang, "join.no_team"))
            return [ui.message(who.user_id, text)]
        kept = await self.loop.long_on_top(unit, Flow.JOIN)
        if kept is not None:  # the one begun is kept, never replaced by a blank one
            return [ui.message(who.user_id, t(lang, "common.form_kept", command="/join")),
                    *await self.resumed(unit, kept)]
        await self.loop.push_dialog(unit, Flow.JOIN, "name", {})
        return [ui.message(who.user_id, t(lang, "join.ask_name"))]

    async def on_message(
        self, repo: Repo, who: Who, lang: str, dialog: Dialog, said: Said
    ) -> list[Outgoing]:
        """Take the typed answers of the registration (name, phone) or a rejection reason."""
        t, text = self.env.t, said.text.strip()
        if dialog.flow == Flow.REJECT_REASON:
            if said.kind != "text" or not text:
                return [ui.message(who.user_id, t(lang, "join.want_reason"))]
            if ui.units(text) > REASON_MAX:  # refused, never cut
                return [ui.message(who.user_id, t(lang, "join.reason_too_long",
                                                  count=ui.units(text), max=REASON_MAX))]
            return await self._decide(repo, who, lang, int(dialog.data["applicant"]), False,
                                      text)
        if dialog.step == "name":
            too_long = ui.units(text) > NAME_MAX  # as Telegram counts: an emoji is 2
            if said.kind != "text" or not text or too_long or text.startswith("/"):
                return [ui.message(who.user_id, t(lang, "join.want_name", max=NAME_MAX))]
            await self.loop.move_dialog(repo, dialog, "phone", {**dialog.data, "name": text})
            keyboard = ui.reply_keyboard([
                [{"text": t(lang, "intake.share_phone"), "request_contact": True}]])
            return [ui.message(who.user_id, t(lang, "join.ask_phone"), keyboard)]
        if dialog.step == "phone":
            if said.kind == "contact" and said.contact_user_id == who.user_id:
                phone = said.phone
            elif said.kind == "text" and _PHONE.match(text):
                phone = text
            else:
                return [ui.message(who.user_id, t(lang, "join.want_phone"))]
            data = {**dialog.data, "phone": phone}
            return [ui.message(who.user_id, t(lang, "join.thanks_phone"), ui.REMOVE_KEYBOARD),
                    *await self._next_after_phone(repo, dialog, lang, data)]
        return [ui.message(who.user_id, t(lang, "intake.use_buttons"))]

    async def _next_after_phone(
        self, repo: Repo, dialog: Dialog, lang: str, data: dict[str, Any]
    ) -> list[Outgoing]:
        """The registration moved on from its phone: the area question, or the team's."""
        if self.env.config.areas is None:
            return await self._ask_team(repo, dialog, lang, data)
        await self.loop.move_dialog(repo, dialog, "area", data)
        return [self._area_question(dialog.user_id, lang)]

    def _area_question(self, user_id: int, lang: str) -> Outgoing:
        tree = self.env.config.areas
        assert tree is not None
        rows = _pairs([(i.name(lang), buttons.JOIN_INSTITUTE.data(i.id))
                       for i in tree.children(tree.root)])
        return ui.message(user_id, self.env.t(lang, "join.ask_area"), ui.inline(rows))

    async def _ask_team(
        self, repo: Repo, dialog: Dialog, lang: str, data: dict[str, Any]
    ) -> list[Outgoing]:
        """The registration moved on to its team: the teams near the area chosen."""
        await self.loop.move_dialog(repo, dialog, "team", data)
        return [self._team_question(dialog.user_id, lang, data)]

    def _team_question(self, user_id: int, lang: str, data: dict[str, Any]) -> Outgoing:
        tree, teams = self.env.config.areas, self.env.config.volunteering.teams
        area = data.get("area")
        near = None
        if tree and area:
            # The institute's whole subtree: a volunteer may join any team nearby.
            institute = tree.ancestry(area)[-2] if len(tree.ancestry(area)) > 1 else area
            near = set(tree.ancestry(area) + tree.subtree(institute))
        offered = [team for team in teams
                   if near is None or team.area_id is None or team.area_id in near]
        rows = [[(team.name(lang), buttons.JOIN_TEAM.data(team.id))]
                for team in offered[:TEAMS_OFFERED]]
        rows.append([(self.env.t(lang, "join.no_team"), buttons.JOIN_TEAM.data("-"))])
        return ui.message(user_id, self.env.t(lang, "join.ask_team"), ui.inline(rows))

    async def resumed(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """A registration back on top after a dialog that came in its middle (Nearest to me,
        a request's note …) ended: that it is the registration, and its question again."""
        user_id, lang, t = unit.user_id, unit.language, self.env.t
        back = ui.message(user_id, t(lang, "join.back"))
        if dialog.step == "name":
            return [back, ui.message(user_id, t(lang, "join.ask_name"))]
        if dialog.step == "phone":
            keyboard = ui.reply_keyboard([
                [{"text": t(lang, "intake.share_phone"), "request_contact": True}]])
            return [back, ui.message(user_id, t(lang, "join.ask_phone"), keyboard)]
        if dialog.step == "area" and self.env.config.areas is not None:
            return [back, self._area_question(user_id, lang)]
        if dialog.step == "team":
            return [back, self._team_question(user_id, lang, dialog.data)]
        return []

    async def _covered(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """A registration going under another dialog at its phone: the share button is taken
        off (a tap would send the phone to the dialog on top), and the person told it waits;
        its question brings the button back."""
        if dialog.step != "phone":
            return []
        return [ui.message(unit.user_id, unit.t("join.phone_waits"), ui.REMOVE_KEYBOARD)]

    async def join_button(self, unit: ActorUnit, action: buttons.ButtonKind, arg: str) -> Answer:
        """Institute, station and team buttons of the registration."""
        env, t, tree = self.env, self.env.t, self.env.config.areas
        repo, lang, who = unit.repo, unit.language, unit.who
        dialog = await self.loop.pressed_form(unit, Flow.JOIN, None)
        if isinstance(dialog, str):  # kept under another: it waits, unchanged
            return Answer(dialog, alert=True)
        if dialog is None:
            return Answer(t(lang, "intake.form_closed"), alert=True)
        if action is buttons.JOIN_INSTITUTE and dialog.step == "area" and tree and arg in tree:
            rows = _pairs([(s.name(lang), buttons.JOIN_AREA.data(s.id))
                           for s in tree.children(arg)])
            rows.append([(tree.get(arg).name(lang), buttons.JOIN_AREA.data(arg))])
            out = [ui.message(who.user_id, t(lang, "join.ask_station"), ui.inline(rows))]
        elif action is buttons.JOIN_AREA and dialog.step == "area" and tree and arg in tree:
            out = await self._ask_team(repo, dialog, lang, {**dialog.data, "area": arg})
        elif action is buttons.JOIN_TEAM and dialog.step == "team" and (
            arg == "-" or env.config.volunteering.team(arg) is not None
        ):
            out = await self._submit(repo, who, lang, {**dialog.data,
                                                       "team": None if arg == "-" else arg})
            unit.send(out)
            await self.loop.back_to_draft(unit)  # what the registration came on top of
            return Answer()
        else:
            return Answer(t(lang, "common.stale"), alert=True)
        unit.send(out)
        return Answer()

    async def _submit(
        self, repo: Repo, who: Who, lang: str, data: dict[str, Any]
    ) -> list[Outgoing]:
        env, t = self.env, self.env.t
        await repo.volunteers.apply(who.user_id, data["name"], data.get("phone"), data.get("area"),
                                    data.get("team"), env.now())
        await self.loop.pop_dialog(repo, who.user_id, Flow.JOIN)
        team = env.config.volunteering.team(data.get("team"))
        # The leader decides; the admins see it too, so nothing waits on a leader who never
        # opened the bot.
        approvers = self.loop.admin_chats()
        # The area admins of the applicant's area decide too (in private), and the leader.
        for user_id in await self.loop.area_admins_of(repo, data.get("area")):
            if user_id not in approvers:
                approvers = [user_id, *approvers]
        if team and team.leader_id and team.leader_id not in approvers:
            approvers = [team.leader_id, *approvers]
        out = [ui.message(who.user_id, t(lang, "join.submitted"))]
        for chat in approvers:
            # A person reads it in their own language; a group in the district's.
            chat_lang = (await self.loop.language_of(repo, chat) if chat > 0
                         else env.config.default_language)
            # The applicant's phone goes to an approver in private, never to a group.
            phone = ((data.get("phone") or "-") if chat > 0
                     else t(chat_lang, "join.phone_hidden"))
            review = t(chat_lang, "join.review", name=data["name"], phone=phone,
                       area=render.area_name(env, data.get("area") or "", chat_lang),
                       team=team.name(chat_lang) if team else t(chat_lang, "join.no_team"))
            keyboard = ui.inline([[
                (t(chat_lang, "join.approve"), buttons.APPROVE.data(who.user_id)),
                (t(chat_lang, "join.reject"), buttons.REJECT.data(who.user_id)),
            ]])
            # At night, in private: at once (it is theirs to decide) but without a sound.
            out.append(night.at_night(env, "join.review", ui.message(chat, review, keyboard)))
        return out

    # -- approval ---------------------------------------------------------------------------

    async def decide(self, unit: ActorUnit, applicant: int, approve: bool) -> Answer:
        """Approve at once; a rejection first asks the approver for the reason."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        record = await repo.volunteers.volunteer(applicant)
        if record is None or record.status != "pending":
            return Answer(t(lang, "join.already_decided"), alert=True)
        if not await self._may_decide(repo, who.user_id, record.team_id, record.area_id):
            return Answer(t(lang, "admin.not_admin"), alert=True)
        if approve:
            out = await self._decide(repo, who, lang, applicant, True, None)
        else:
            user = await repo.people.user(who.user_id)
            if user is None or not user.started or user.blocked:
                # The reason is asked in private: without it, their next private message
                # would become the reason.
                url = f"https://t.me/{env.bot_username}?start=help"
                return Answer(t(lang, "claim.open_bot_first", bot=env.bot_username), True,
                              url)
            if await self.loop.asking(repo, who.user_id, Flow.REJECT_REASON, "applicant",
                                      applicant):
                return Answer(t(lang, "common.asked_already"))
            await self.loop.push_dialog(unit, Flow.REJECT_REASON, "reason",
                                        {"applicant": applicant})
            out = [ui.message(who.user_id, t(lang, "join.ask_reason", name=record.name))]
        unit.send(out)
        return Answer()

    async def reason_again(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing] | str:
        """A rejection's reason back on top: asked again; ended if the application was
        decided meanwhile (by another approver)."""
        record = await unit.repo.volunteers.volunteer(int(dialog.data["applicant"]))
        if record is None or record.status != "pending":
            return unit.t("join.already_decided")
        return [ui.message(unit.user_id, unit.t("join.ask_reason", name=record.name))]

    async def _may_decide(
        self, repo: Repo, user_id: int, team_id: str | None, area_id: str | None
    ) -> bool:
        """A centre admin, the team's leader, or an area admin of the applicant's area."""
        team = self.env.config.volunteering.team(team_id)
        if self.loop.is_admin(user_id) or (team is not None and team.leader_id == user_id):
            return True
        return user_id in await self.loop.area_admins_of(repo, area_id)

    async def _decide(
        self, repo: Repo, who: Who, lang: str, applicant: int, approve: bool,
        reason: str | None,
    ) -> list[Outgoing]:
        env, t = self.env, self.env.t
        if approve is False:
            await self.loop.pop_dialog(repo, who.user_id, Flow.REJECT_REASON)
        if not await repo.volunteers.decide(applicant, approve, who.user_id, reason, env.now()):
            return [ui.message(who.user_id, t(lang, "join.already_decided"))]
        alang = await self.loop.language_of(repo, applicant)
        if approve:
            told = t(alang, "join.approved")
        else:
            told = t(alang, "join.rejected", reason=reason or "-")
        key = "join.done_approved" if approve else "join.done_rejected"
        record = await repo.volunteers.volunteer(applicant)
        # At night at once, without a sound: news of the applicant's own ask (bot/night.py).
        out = [night.at_night(env, "join.decided", ui.message(applicant, told)),
               ui.message(who.user_id, t(lang, key, name=record.name if record else "?"))]
        if approve and self.menus is not None:
            out += await self.menus.for_user(repo, applicant)
        return out

    # -- hours ------------------------------------------------------------------------------

    def _month_start(self) -> float:
        local = datetime.fromtimestamp(self.env.now(), self.env.config.timezone)
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()

    async def my_team(self, unit: ActorUnit) -> None:
        """Show the volunteer's team: its totals and each member's hours."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        record = await repo.volunteers.volunteer(who.user_id)
        team = env.config.volunteering.team(record.team_id if record else None)
        if record is None or record.status != "approved" or team is None:
            text = t(lang, "hours.no_team")
        else:
            members = await repo.volunteers.team_members(team.id)
            hours = await repo.volunteers.hours_of(
                [m.user_id for m in members], self._month_start())
            lines = [t(lang, "hours.team_title", team=team.name(lang),
                       total=f"{sum(h[0] for h in hours.values()):g}",
                       month=f"{sum(h[1] for h in hours.values()):g}")]
            for member in members:
                total, month = hours.get(member.user_id, (0.0, 0.0))
                lines.append(t(lang, "hours.member", name=member.name, total=f"{total:g}",
                               month=f"{month:g}"))
            unit.send([ui.message(who.user_id, part) for part in ui.chunks(lines)])
            return
        unit.send([ui.message(who.user_id, text)])

    async def export(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/export volunteers: a CSV of every registration and its credited hours (centre
        admins); with phone numbers only in the admin's private chat, never in a group."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        if not self.loop.is_admin(who.user_id):
            out = [ui.message(chat_id, t(lang, "admin.not_admin"))]
        elif chat_id != who.user_id and chat_id not in self.loop.admin_chats():
            # Names and ids go only to private chats and the admin chat.
            out = [ui.message(chat_id, t(lang, "admin.private_data_only"))]
        elif args != ["volunteers"]:
            out = [ui.message(chat_id, t(lang, "export.usage"))]
        else:
            rows = await repo.volunteers.volunteer_rows()
            out = [volunteers_document(env, chat_id, lang, rows,
                                       phones=chat_id == who.user_id)]
        unit.send(out)


def _pairs(row: list[ui.Button]) -> list[list[ui.Button]]:
    return [row[i:i + 2] for i in range(0, len(row), 2)]


VOLUNTEER_COLUMNS = ("user_id", "name", "phone", "area_id", "team_id", "status", "hours")


def volunteers_document(
    env: Env, chat_id: int, lang: str, rows: list[tuple[Any, ...]], *, phones: bool
) -> Outgoing:
    """The volunteers' CSV (rows as Repo.volunteer_rows gives them). Without `phones` the
    phone column is left out: a group chat (even the admin chat) never gets phone numbers."""
    keep = [i for i, column in enumerate(VOLUNTEER_COLUMNS) if phones or column != "phone"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([VOLUNTEER_COLUMNS[i] for i in keep])
    writer.writerows([[_cell(row[i]) for i in keep] for row in rows])
    caption = env.t(lang, "export.volunteers", count=len(rows))
    if not phones:
        caption += "\n" + env.t(lang, "export.volunteers_no_phones")
    return ui.document(chat_id, "volunteers.csv", buffer.getvalue(), caption)


def _cell(value: object) -> object:
    """Keep a spreadsheet from running text as a formula (=, +, -, @, tab or CR first)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
