"""The masked chat (issue 18.3): a citizen and the volunteer holding their request talk
through the bot, neither learning the other's Telegram account.

A thread belongs to one claim of a request (a new claimer gets a fresh one) and is open while
the request is held by that claimer, or done and waiting for the citizen's answer, and
nobody pressed End chat or Report. Its state is read from the request on every use, so no
transition of the loop has to close it. Text is sent again under a header naming the side
("From the volunteer (request 2026-000123)"); photos and voice messages go by copyMessage,
which carries no sender and no forward header, with the header as their caption. What is
relayed is kept (threads, thread_messages) so that an admin can read a reported thread
(/thread <ref>); the retention pass deletes it with the request's contact details.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot import buttons, night, ui
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.people.roles import Roles
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.unit import ActorUnit
from storage import Dialog, Outgoing, Request, Thread
from storage.models import CLAIMED, DONE, is_api_client

RELAYED = ("text", "photo", "voice")
# A thread stays open while the work is done but not yet confirmed: the citizen may still
# ask the volunteer about it before answering "Is it resolved?".
LIVE_STATUSES = (CLAIMED, DONE)
MEDIA_SHOWN = 20  # photos and voice messages /thread sends at most, per thread
TRANSCRIPT_ROOM = 3000  # of a message's text on one line of /thread (ui.chunks: 3,800 a part)
_REF = re.compile(r"^\d{4}-\d{6,9}$")


class Relay:
    """Opens, relays, ends and reports masked chats; shows a reported one to an admin."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles

    def short_flows(self) -> dict[str, Callable[[ActorUnit, Dialog, Said],
                                                Awaitable[list[Outgoing]]]]:
        """The private-chat dialog this service answers (bot/requests/intake.py routes it)."""
        return {Flow.RELAY: self.on_message}

    def asked_again(self) -> dict[str, Callable[[ActorUnit, Dialog],
                                                Awaitable[list[Outgoing] | str]]]:
        """Writing mode back on top after a dialog that came in its middle."""
        return {Flow.RELAY: self._again}

    async def _again(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing] | str:
        """Who the person is writing to again, with End chat and Report; a thread closed
        meanwhile ends quietly (both sides were told when it closed)."""
        thread = await unit.repo.threads.thread(int(dialog.data["thread_id"]))
        request = (await unit.repo.requests.request(thread.request_id)
                   if thread is not None else None)
        if thread is None or request is None or not _live(thread, request):
            return ""
        return [self._writing_to(unit, thread, request)]

    # -- opening --------------------------------------------------------------------------

    async def open(self, unit: ActorUnit, request_id: int) -> Answer:
        """Message the volunteer / the citizen: start writing in the request's thread."""
        repo = unit.repo
        request = await repo.requests.request(request_id)
        if request is None or unit.user_id not in (request.citizen_id, request.volunteer_id):
            # A claimer's old task after a release, or a forged press.
            key = "common.not_yours" if request is None else "task.not_yours"
            return Answer(unit.t(key), alert=True)
        if is_api_client(request.citizen_id):  # filed by the hotline or the web: no chat
            return Answer(unit.t("relay.no_chat"), alert=True)
        if (request.status not in LIVE_STATUSES or request.volunteer_id is None
                or request.claimed_at is None):
            return Answer(unit.t("relay.closed", ref=request.ref), alert=True)
        thread = await repo.threads.open_for(request.id, request.citizen_id,
                                             request.volunteer_id, request.claimed_at,
                                             unit.now())
        if thread.ended_at is not None:
            return Answer(unit.t("relay.closed", ref=request.ref), alert=True)
        await self._enter(unit, thread, request)
        return Answer()

    async def _enter(self, unit: ActorUnit, thread: Thread, request: Request) -> None:
        """Put the user in the thread's writing mode and say so, with End chat and Report."""
        await self.loop.push_dialog(unit, Flow.RELAY, "write",
                                    {"thread_id": thread.id})
        unit.send(self._writing_to(unit, thread, request))

    def _writing_to(self, unit: ActorUnit, thread: Thread, request: Request) -> Outgoing:
        to = "volunteer" if unit.user_id == thread.citizen_id else "citizen"
        return ui.message(unit.user_id, unit.t(f"relay.writing_to_{to}", ref=request.ref),
                          self._controls(unit.language, thread.id))

    # -- relaying -------------------------------------------------------------------------

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A message typed in writing mode goes to the other side of the thread."""
        return await self._pass_on(unit, int(dialog.data["thread_id"]), said, dialog)

    async def on_reply(self, unit: ActorUnit, said: Said) -> None:
        """A reply to a relayed message goes to that message's thread, whatever dialog the
        sender is in (a form underneath stays as it was)."""
        assert said.reply_thread is not None
        writing = await self._writing_in(unit)
        unit.send(await self._pass_on(unit, said.reply_thread, said, None))
        if writing is not None and await self._writing_in(unit) != writing:
            await self.loop.back_to_draft(unit)  # that thread was closed: its mode ended

    async def _pass_on(self, unit: ActorUnit, thread_id: int, said: Said,
                       dialog: Dialog | None) -> list[Outgoing]:
        repo, me, now = unit.repo, unit.user_id, unit.now()
        thread = await repo.threads.thread(thread_id)
        if thread is None or me not in (thread.citizen_id, thread.volunteer_id):
            await self._leave(unit, thread_id)
            return [ui.message(me, unit.t("common.not_yours"))]
        request = await repo.requests.request(thread.request_id)
        assert request is not None
        if not _live(thread, request):
            await self._leave(unit, thread.id)
            return [ui.message(me, unit.t("relay.closed", ref=request.ref))]
        if said.kind not in RELAYED or said.message_id is None or (
                said.kind == "text" and not said.text.strip()):
            return [ui.message(me, unit.t("relay.only_these"))]
        side, other = (("citizen", thread.volunteer_id) if me == thread.citizen_id
                       else ("volunteer", thread.citizen_id))
        olang = await self._language(unit, other, request)
        header = self.env.t(olang, f"relay.from_{side}", ref=request.ref)
        markup = self._controls(olang, thread.id, reply=True)
        # The header takes room Telegram's limits (4,096 for a text, 1,024 for a caption)
        # left to the sender: what does not fit follows in texts of its own, never cut off.
        text_room = ui.TEXT_MAX - ui.units(header) - 1
        rest = said.text
        relayed: list[Outgoing] = []
        if said.kind != "text":  # copied, not forwarded: no sender, no forward header
            first, rest = _split(said.text, ui.CAPTION_MAX - ui.units(header) - 1)
            caption = header + (f"\n{_escape(first)}" if first else "")
            relayed.append(ui.copy(other, me, said.message_id, caption, markup))
        while rest:
            part, rest = _split(rest, text_room)
            relayed.append(ui.message(other, f"{header}\n{_escape(part)}", markup))
        # Passed on at once (the other side may be awake and waiting), but at night without a
        # sound: an elderly citizen is not woken by a volunteer's late note (bot/night.py).
        relayed = night.all_at_night(self.env, "relay.message", relayed)
        repo.threads.add_message(thread.id, me, said.kind, said.text, said.file_id, now)
        out = relayed
        # One acknowledgement per album: its photos arrive as messages of their own.
        album = said.media_group_id
        if album is None or dialog is None or dialog.data.get("album") != album:
            to = "volunteer" if side == "citizen" else "citizen"
            out.append(ui.message(me, unit.t(f"relay.sent_to_{to}")))
        if album is not None and dialog is not None and dialog.data.get("album") != album:
            await self.loop.move_dialog(repo, dialog, dialog.step,
                                        {**dialog.data, "album": album})
        return out

    async def _writing_in(self, unit: ActorUnit) -> int | None:
        """The thread the user is writing in, if any."""
        dialog = await unit.repo.people.dialog(unit.user_id)
        if dialog is None or dialog.flow != Flow.RELAY:
            return None
        return int(dialog.data["thread_id"])

    async def _leave(self, unit: ActorUnit, thread_id: int) -> bool:
        """Leave writing mode if the user is writing in this thread; True if a request form
        it interrupted is back (its question is to be asked again)."""
        if await self._writing_in(unit) != thread_id:
            return False
        return await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.RELAY)

    # -- the thread's buttons -------------------------------------------------------------

    async def press(self, unit: ActorUnit, thread_id: int, action: str) -> Answer:
        """Reply, End chat, Report (each confirmed), or No under a confirmation."""
        repo = unit.repo
        thread = await repo.threads.thread(thread_id)
        if thread is None or unit.user_id not in (thread.citizen_id, thread.volunteer_id):
            return Answer(unit.t("common.not_yours"), alert=True)
        request = await repo.requests.request(thread.request_id)
        assert request is not None
        live = _live(thread, request)
        if action == "keep":
            return Answer(unit.t("relay.kept_toast"))
        if action in ("report", "reportok"):
            if thread.reported_at is not None:
                return Answer(unit.t("relay.already_reported"), alert=True)
            if action == "report":
                unit.send(self._confirm(unit, thread.id, "report", request.ref))
                return Answer()
            return await self._report(unit, thread, request, live)
        if not live:
            await self._leave(unit, thread.id)
            return Answer(unit.t("relay.closed", ref=request.ref), alert=True)
        if action == "reply":
            await self._enter(unit, thread, request)
            return Answer()
        if action == "end":
            unit.send(self._confirm(unit, thread.id, "end", request.ref))
            return Answer()
        await repo.threads.end(thread.id, unit.user_id, unit.now())  # endok
        unit.send(await self._ended(unit, thread, request))
        if await self._leave(unit, thread.id):
            await self.loop.back_to_draft(unit)
        return Answer(unit.t("relay.ended_toast"))

    def _confirm(self, unit: ActorUnit, thread_id: int, what: str, ref: str) -> Outgoing:
        """Ask "End this chat?" or "Report this chat?", with Yes and No."""
        keyboard = ui.inline([
            [(unit.t(f"relay.{what}_yes"), buttons.THREAD.data(thread_id, f"{what}ok"))],
            [(unit.t("relay.keep"), buttons.THREAD.data(thread_id, "keep"))]])
        return ui.message(unit.user_id, unit.t(f"relay.{what}_confirm", ref=ref), keyboard)

    async def _ended(self, unit: ActorUnit, thread: Thread,
                     request: Request) -> list[Outgoing]:
        """Both sides are told the thread ended (the other side, at night, without a sound)."""
        out = []
        for person in (thread.citizen_id, thread.volunteer_id):
            message = ui.message(person, self.env.t(
                await self._language(unit, person, request), "relay.ended", ref=request.ref))
            out.append(message if person == unit.user_id
                       else night.at_night(self.env, "relay.ended", message))
        return out

    async def _language(self, unit: ActorUnit, person: int, request: Request) -> str:
        """The language to write to a side in: the presser's own, the citizen's request's
        (as every notice about it), a volunteer's chosen one."""
        if person == unit.user_id:
            return unit.language
        if person == request.citizen_id:
            return request.language
        return await self.loop.language_of(unit.repo, person)

    async def _report(self, unit: ActorUnit, thread: Thread, request: Request,
                      live: bool) -> Answer:
        """Mark the thread reported and end it; the admins (the centre's chat and the
        request's area admins) are told how to read it."""
        repo, now = unit.repo, unit.now()
        if not await repo.threads.report(thread.id, unit.user_id, now):
            return Answer(unit.t("relay.already_reported"), alert=True)
        await repo.requests.add_event(request.id, "chat_reported", unit.user_id, now,
                                      {"thread_id": thread.id})
        side = "citizen" if unit.user_id == thread.citizen_id else "volunteer"
        lang = self.env.config.default_language
        notice = {"ref": request.ref, "side": self.env.t(lang, f"relay.side_{side}")}
        out = [ui.message(chat, self.env.t(lang, "relay.reported_admin", **notice))
               for chat in self.loop.admin_chats()]
        for user_id in await self.loop.area_admins_of(repo, request.area_id):
            alang = await self.loop.language_of(repo, user_id)
            out.append(ui.message(user_id, self.env.t(
                alang, "relay.reported_admin", ref=request.ref,
                side=self.env.t(alang, f"relay.side_{side}"))))
        # To the admins in private at night, silently (bot/night.py); the thanks answers.
        out = night.all_at_night(self.env, "relay.reported_admin", out)
        out.append(ui.message(unit.user_id, unit.t("relay.reported_thanks", ref=request.ref)))
        if live and await repo.threads.end(thread.id, unit.user_id, now):
            ended = await self._ended(unit, thread, request)
            out += [message for message in ended if message.chat_id != unit.user_id]
        unit.send(out)
        if await self._leave(unit, thread.id):
            await self.loop.back_to_draft(unit)
        return Answer(unit.t("relay.reported_toast"))

    def _controls(self, lang: str, thread_id: int, *, reply: bool = False) -> dict[str, Any]:
        """End chat and Report (under Reply, on a relayed message)."""
        t = self.env.t
        rows = [[(t(lang, "relay.reply_button"), buttons.THREAD.data(thread_id, "reply"))]] \
            if reply else []
        rows.append([(t(lang, "relay.end_button"), buttons.THREAD.data(thread_id, "end")),
                     (t(lang, "relay.report_button"), buttons.THREAD.data(thread_id, "report"))])
        return ui.inline(rows)

    # -- an admin reads a reported thread -------------------------------------------------

    async def read(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/thread <ref>: the reported threads of a request, for the centre's admins and the
        request's area admins, in private only (handlers/routes.py): what two people wrote
        may hold a phone or an address, and the admin chat is a group."""
        repo, t = unit.repo, unit.t
        role = await self.roles.of(repo, unit.user_id)
        ref = args[0].strip().lstrip("#") if len(args) == 1 else ""
        request = await repo.requests.request_by_ref(ref) if _REF.match(ref) else None
        if role is None:
            text = t("admin.not_admin")
        elif not _REF.match(ref):
            text = t("relay.thread_usage")
        elif request is None:
            text = t("admin.find_none", ref=ref)
        elif not role.covers(request.area_id):
            text = t("casework.outside_area", ref=ref)
        else:
            threads = await repo.threads.reported(request.id)
            if not threads:
                text = t("relay.thread_none", ref=ref)
            else:
                for thread in threads:
                    unit.send(await self._transcript(unit, chat_id, thread, request))
                return
        unit.send(ui.message(chat_id, text))

    async def _transcript(self, unit: ActorUnit, chat_id: int, thread: Thread,
                          request: Request) -> list[Outgoing]:
        """One reported thread: its lines of text, then its photos and voice messages."""
        env, t = self.env, unit.t
        messages = await unit.repo.threads.messages(thread.id)

        def side(user_id: int | None) -> str:
            return t("relay.side_citizen" if user_id == thread.citizen_id
                     else "relay.side_volunteer")

        lines = [t("relay.thread_title", ref=request.ref, side=side(thread.reported_by),
                   date=render.local_time(env, thread.reported_at or 0.0, unit.language),
                   count=len(messages))]
        media: list[Outgoing] = []
        for number, message in enumerate(messages, 1):
            when = render.local_time(env, message.sent_at, unit.language)
            kind = "" if message.kind == "text" else t(f"relay.thread_{message.kind}", n=number)
            # A message as long as Telegram allows does not fit one line of a transcript
            # part: the rest follows on lines of its own, so the admin reads all of it.
            first, rest = _split(message.text, TRANSCRIPT_ROOM)
            lines.append(t("relay.thread_line", n=number, time=when,
                           side=side(message.sender_id),
                           text=" ".join(filter(None, (kind, first)))))
            while rest:
                part, rest = _split(rest, TRANSCRIPT_ROOM)
                lines.append(_escape(part))
            if message.file_id and len(media) < MEDIA_SHOWN:
                caption = t("relay.thread_caption", n=number, side=side(message.sender_id),
                            time=when)
                media.append(ui.photo(chat_id, message.file_id, caption)
                             if message.kind == "photo"
                             else ui.voice(chat_id, message.file_id, caption))
        if not messages:
            lines.append(t("relay.thread_empty"))
        return [*(ui.message(chat_id, part) for part in ui.chunks(lines)), *media]


def _live(thread: Thread, request: Request) -> bool:
    """Whether messages still pass: not ended, and the request still held in this claim."""
    return (thread.ended_at is None and request.status in LIVE_STATUSES
            and request.volunteer_id == thread.volunteer_id
            and request.claimed_at == thread.claimed_at)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _split(text: str, room: int) -> tuple[str, str]:
    """The longest head of `text` whose escaped HTML fits `room` UTF-16 units (cut after a
    space or a line break near the end, if there is one), and the rest."""
    if ui.units(_escape(text)) <= room:
        return text, ""
    used, end = 0, 0
    for end, char in enumerate(text):  # noqa: B007 - `end` is read after the loop
        used += ui.units(_escape(char))
        if used > room:
            break
    space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
    if space > end - 200 and space > 0:  # a word is not cut in two, when words there are
        end = space + 1
    return text[:end], text[end:]
