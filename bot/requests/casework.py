"""Casework on one request by an admin: /find, /assign, /cancel, /reopen, /move.

Each action is one transaction: the request changes, an event records who did it and why,
the cards, the citizen and the volunteer are told (each in their language), and the admin
gets one line back in the chat they typed in. Area admins act only within their areas.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import night, ui
from bot.context import Env, Who
from bot.people.roles import Role, Roles
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.unit import ActorUnit
from storage import Card, Event, Outgoing, Repo, Request
from storage.models import CANCELLED, CLAIMED, CLOSED, DISPATCHED, DONE, OPEN_STATUSES

REF = re.compile(r"\d{4}-\d{6,9}")  # 2026-000123 (more digits once a year passes a million)
REASON_MAX = 500  # the reason goes into one-line messages; keep them well inside 4096
ASSIGNABLE = (DISPATCHED, CLAIMED)
MOVABLE = (DISPATCHED, CLAIMED)  # a done request waits for its citizen, not for a group
REOPENABLE = (DONE, CLOSED, CANCELLED)


@dataclass(frozen=True)
class Actor:
    """The admin acting: who, with what reach, reading which language, typing where."""

    who: Who
    role: Role
    lang: str
    chat_id: int


Action = Callable[[Repo, Actor, list[str]], Awaitable[list[Outgoing]]]


_REF = re.compile(r"^\d{4}-\d{6}$")  # a reference number, e.g. 2026-000123


class Casework:
    """Admin actions on single requests, each an event with who and why."""

    def __init__(
        self, env: Env, loop: RequestLoop, roles: Roles,
        leave_form: Callable[[ActorUnit], Awaitable[None]] | None = None,
    ) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        # A citizen's "/cancel now" leaves the form (Intake.cancel_command), in the same unit.
        self.leave_form = leave_form

    # -- the commands -----------------------------------------------------------------------

    async def find(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/find <ref>: the request with everything about it and its full timeline (in
        private or the admin chat only, since it shows the phone and the address)."""
        t = self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        role = await self.roles.of(repo, who.user_id)
        if role is None:
            lines = [t(lang, "admin.not_admin")]
        elif not self.roles.may_see_private_data(who, chat_id):
            lines = [t(lang, "admin.private_data_only")]
        elif len(args) != 1:
            lines = [t(lang, "admin.find_usage")]
        else:
            actor = Actor(who, role, lang, chat_id)
            found = await self._request(repo, actor, args[0],
                                        t(lang, "admin.find_usage"))
            lines = [found] if isinstance(found, str) else await self._details(
                repo, found, lang, private=chat_id == who.user_id)
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    async def assign(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/assign <ref> <volunteer> [reason]: give an open request to a volunteer."""
        await self._act(unit, chat_id, args, self._assign)

    async def cancel(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/cancel <ref> <reason>: cancel an open request. A citizen who types /cancel with
        the reference of their own request in private gets the Cancel confirmation; with
        anything else after it ("/cancel now") they leave the form, as with a bare /cancel."""
        env = self.env
        repo, lang, who = unit.repo, unit.language, unit.who
        role = await self.roles.of(repo, who.user_id)
        if role is not None:
            out = self._told(await self._cancel(repo, Actor(who, role, lang, chat_id), args),
                             chat_id)
        else:
            own = await self._own_request(repo, who, chat_id, args)
            if (own is None and chat_id == who.user_id and not _REF.match(args[0])
                    and self.leave_form is not None):
                await self.leave_form(unit)  # "/cancel now": not a reference
                return
            if own is None:
                out = [ui.message(chat_id, env.t(lang, "admin.not_admin"))]
            else:  # the Cancel confirmation, as the button would give it
                answer, out = await self.loop.ask_cancel_in(repo, who, lang, own)
                if answer.alert:  # not cancellable (any more): say why
                    out = [ui.message(who.user_id, answer.text)]
        unit.send(out)

    async def reopen(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/reopen <ref> <reason>: send a done, closed or cancelled request out again."""
        await self._act(unit, chat_id, args, self._reopen)

    async def move(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/move <ref> <category|area> [reason]: re-dispatch to another category or area."""
        await self._act(unit, chat_id, args, self._move)

    # -- the actions ------------------------------------------------------------------------

    async def _assign(self, repo: Repo, actor: Actor, args: list[str]) -> list[Outgoing]:
        env, t, lang = self.env, self.env.t, actor.lang
        found = await self._request_with_reason(repo, actor, args,
                                                t(lang, "casework.usage_assign"), 2)
        if isinstance(found, list):
            return found
        before, reason = found
        if before.status not in ASSIGNABLE:
            return self._say(actor, t(lang, "casework.assign_not_open", ref=before.ref,
                                      status=self._status(before, lang)))
        user = await self.roles.find_user(repo, args[1])
        if user is None:
            return self._say(actor, t(lang, "casework.unknown_user", who=args[1]))
        name = user.first_name or str(user.user_id)
        if before.status == CLAIMED and before.volunteer_id == user.user_id:
            return self._say(actor, t(lang, "casework.already_theirs", ref=before.ref,
                                      name=name))
        if not user.started or user.blocked:
            # Telegram lets a bot write only to people who opened it: the details would
            # never arrive, and the request would sit with someone who cannot see it.
            return self._say(actor, t(lang, "casework.must_open_bot", name=name,
                                      bot=env.bot_username))
        if await repo.people.ban_reason(user.user_id) is not None:  # a ban stops claims too
            return self._say(actor, t(lang, "casework.assignee_banned", name=name))
        if not await self.loop.may_claim(repo, user.user_id):
            return self._say(actor, t(lang, "casework.not_volunteer", name=name))
        now = env.now()
        if not await repo.requests.assign(before.id, user.user_id, name, now):
            return self._say(actor, t(lang, "casework.assign_not_open", ref=before.ref,
                                      status=self._status(before, lang)))
        detail: dict[str, Any] = {"volunteer_id": user.user_id}
        previous = before.volunteer_id if before.status == CLAIMED else None
        if previous is not None:
            detail["previous_id"] = previous
        if reason:
            detail["reason"] = reason
        await repo.requests.add_event(before.id, "assigned", actor.who.user_id, now, detail)
        # The clocks of a claim: the volunteer's due time, nothing about waiting any more.
        await self.loop.stop_clocks(repo, before.id)
        due_after = env.config.policy(before.category).due_after
        await repo.timers.schedule("volunteer_due", now + due_after, now, request_id=before.id)
        request = await repo.requests.request(before.id)
        assert request is not None
        out = await self.loop.card_updates(repo, request)
        vlang = await self.loop.language_of(repo, user.user_id)
        out.append(ui.message(user.user_id, t(vlang, "casework.assigned_to_you",
                                              ref=request.ref)))
        out += render.task_details(env, request, user.user_id, vlang)
        if previous is not None:
            plang = await self.loop.language_of(repo, previous)
            out.append(ui.message(previous, t(plang, "casework.reassigned_volunteer",
                                              ref=request.ref)))
        citizen_key = render.claimed_key(request, reassigned=previous is not None)
        out.append(ui.message(request.citizen_id, render.citizen_text(
            env, request, t(request.language, citizen_key, ref=request.ref)),
            render.citizen_chat_markup(env, request)))  # a fresh thread
        if previous is None:  # a neighbour who joined hears it taken once, not every change
            out += await self.loop.follower_news(repo, request, "claimed")
        return out + self._say(actor, t(lang, "casework.assigned", ref=request.ref, name=name))

    async def _request_with_reason(
        self, repo: Repo, actor: Actor, args: list[str], usage: str, reason_from: int = 1
    ) -> tuple[Request, str] | list[Outgoing]:
        """Read `<ref> <…> [reason]` (at least two words; the reason starts at word
        `reason_from`): the request and the reason, or the one-line answer saying what is
        wrong."""
        t, lang = self.env.t, actor.lang
        if len(args) < 2:
            return self._say(actor, usage)
        found = await self._request(repo, actor, args[0], usage)
        if isinstance(found, str):
            return self._say(actor, found)
        reason = _reason(args[reason_from:])
        if len(reason) > REASON_MAX:
            return self._say(actor, t(lang, "casework.reason_too_long", max=REASON_MAX))
        return found, reason

    async def _cancel(self, repo: Repo, actor: Actor, args: list[str]) -> list[Outgoing]:
        env, t, lang = self.env, self.env.t, actor.lang
        found = await self._request_with_reason(repo, actor, args,
                                                t(lang, "casework.usage_cancel"))
        if isinstance(found, list):
            return found
        before, reason = found
        now = env.now()
        cancelled = (before.status in OPEN_STATUSES
                     and await repo.requests.cancel_by_admin(before.id, now))
        if not cancelled:
            return self._say(actor, t(lang, "casework.cancel_not_open", ref=before.ref,
                                      status=self._status(before, lang)))
        await repo.requests.add_event(before.id, "cancelled", actor.who.user_id, now,
                                      {"by": "admin", "reason": reason})
        await self.loop.stop_clocks(repo, before.id)
        # A done request's hours never count now.
        await repo.volunteers.withdraw_hours(before.id, now)
        request = await repo.requests.request(before.id)
        assert request is not None
        cards = await repo.cards.active_cards(request.id)
        out = [self._card_edit(request, card) for card in cards]
        out.append(ui.message(request.citizen_id, render.citizen_text(env, request, t(
            request.language, "casework.citizen_cancelled", ref=request.ref, reason=reason))))
        out += await self.loop.follower_news(repo, request, "cancelled")
        if before.volunteer_id is not None:
            vlang = await self.loop.language_of(repo, before.volunteer_id)
            out.append(ui.message(before.volunteer_id, t(vlang, "casework.volunteer_cancelled",
                                                         ref=request.ref, reason=reason)))
        return out + self._say(actor, t(lang, "casework.cancelled", ref=request.ref))

    async def _reopen(self, repo: Repo, actor: Actor, args: list[str]) -> list[Outgoing]:
        env, t, lang = self.env, self.env.t, actor.lang
        found = await self._request_with_reason(repo, actor, args,
                                                t(lang, "casework.usage_reopen"))
        if isinstance(found, list):
            return found
        before, reason = found
        if before.status == CANCELLED and before.cancelled_by == "supervision":
            # Handed to a responsible unit (/toproblem): the unit rectifies it and the citizen
            # rates it at the re-check; volunteers taking it up again would do the work twice.
            return self._say(actor, t(lang, "casework.reopen_handed", ref=before.ref))
        now = env.now()
        reopened = (before.status in REOPENABLE
                    and await repo.requests.reopen_by_admin(before.id, now))
        if not reopened:
            return self._say(actor, t(lang, "casework.reopen_not_closed", ref=before.ref,
                                      status=self._status(before, lang)))
        # The outcome is undone, so are the hours it earned (they count again if the new
        # round closes with hours of its own).
        await repo.volunteers.withdraw_all_hours(before.id, now)
        detail: dict[str, Any] = {"by": "admin", "reason": reason, "status": before.status,
                                  "volunteer_id": before.volunteer_id}
        if before.rating is not None:  # the request row forgets them; the timeline does not
            detail.update(rating=before.rating, comment=before.comment)
        await repo.requests.add_event(before.id, "reopened", actor.who.user_id, now, detail)
        request, old_cards, fresh = await self.loop.post_afresh(repo, before.id, now)
        note = t(env.config.default_language, "casework.card_reopened")
        out = [self._card_edit(before, card, note) for card in old_cards]
        out += fresh
        out.append(ui.message(request.citizen_id, render.citizen_text(env, request, t(
            request.language, "casework.citizen_reopened", ref=request.ref, reason=reason))))
        out += await self.loop.follower_news(repo, request, "waiting")
        if before.volunteer_id is not None:
            vlang = await self.loop.language_of(repo, before.volunteer_id)
            out.append(ui.message(before.volunteer_id, t(vlang, "casework.volunteer_reopened",
                                                         ref=request.ref, reason=reason)))
        return out + self._say(actor, t(lang, "casework.reopened", ref=request.ref))

    async def _move(self, repo: Repo, actor: Actor, args: list[str]) -> list[Outgoing]:
        env, t, lang = self.env, self.env.t, actor.lang
        codes = ", ".join(c.code for c in env.config.categories)
        usage = t(lang, "casework.usage_move", codes=codes)
        found = await self._request_with_reason(repo, actor, args, usage, 2)
        if isinstance(found, list):
            return found
        before, reason = found
        if before.status not in MOVABLE:
            return self._say(actor, t(lang, "casework.move_not_open", ref=before.ref,
                                      status=self._status(before, lang)))
        target = args[1].strip().lower()
        tree = env.config.areas
        category, area = before.category, before.area_id
        if env.config.category(target) is not None:
            what, category = "category", target
        elif tree is not None and target in tree:
            reach = self.roles.area_arg(actor.role, target)
            if reach is None:
                return self._say(actor, t(lang, "casework.move_outside", target=args[1]))
            # The root is the whole district, stored as no area (as /bind does).
            what, area = "area", (None if reach == tree.root else reach)
        else:
            return self._say(actor, t(lang, "casework.move_unknown", target=args[1],
                                      codes=codes))
        old, new = ((before.category, category) if what == "category"
                    else (before.area_id, area))
        if old == new:
            return self._say(actor, t(lang, "casework.move_same", ref=before.ref,
                                      name=self._place(what, new, lang)))
        now = env.now()
        if not await repo.requests.move(before.id, category, area, now):
            return self._say(actor, t(lang, "casework.move_not_open", ref=before.ref,
                                      status=self._status(before, lang)))
        detail: dict[str, Any] = {"what": what, "from": old, "to": new}
        if before.status == CLAIMED:
            detail["volunteer_id"] = before.volunteer_id
        if reason:
            detail["reason"] = reason
        await repo.requests.add_event(before.id, "moved", actor.who.user_id, now, detail)
        request, old_cards, fresh = await self.loop.post_afresh(repo, before.id, now)
        group_lang = env.config.default_language
        note = t(group_lang, "casework.card_moved", name=self._place(what, new, group_lang))
        out = [self._card_edit(before, card, note) for card in old_cards]
        out += fresh
        if before.status == CLAIMED and before.volunteer_id is not None:
            vlang = await self.loop.language_of(repo, before.volunteer_id)
            out.append(ui.message(before.volunteer_id, t(
                vlang, "casework.volunteer_moved", ref=request.ref,
                name=self._place(what, new, vlang))))
        out.append(ui.message(request.citizen_id, render.citizen_text(env, request, t(
            request.language, "casework.citizen_moved", ref=request.ref,
            name=self._place(what, new, request.language)))))
        return out + self._say(actor, t(lang, "casework.moved", ref=request.ref,
                                        old=self._place(what, old, lang),
                                        new=self._place(what, new, lang)))

    # -- shared steps -----------------------------------------------------------------------

    async def _act(self, unit: ActorUnit, chat_id: int, args: list[str], action: Action) -> None:
        """Run one admin action in one transaction and queue everything it says."""
        env = self.env
        repo, lang, who = unit.repo, unit.language, unit.who
        role = await self.roles.of(repo, who.user_id)
        if role is None:
            out = [ui.message(chat_id, env.t(lang, "admin.not_admin"))]
        else:
            out = self._told(await action(repo, Actor(who, role, lang, chat_id), args), chat_id)
        unit.send(out)

    def _told(self, out: list[Outgoing], chat_id: int) -> list[Outgoing]:
        """An admin action's messages, what it tells the volunteers and the citizen concerned
        at night at once without a sound (bot/night.py); the admin's answer and the cards as
        ever."""
        return [night.at_night(self.env, "casework.news", message)
                if message.purpose == "notice" and message.chat_id != chat_id else message
                for message in out]

    async def _request(
        self, repo: Repo, actor: Actor, word: str, usage: str
    ) -> Request | str:
        """The request a reference names, if the admin may act on it; else what to say
        (`usage` is the command's usage line)."""
        t, lang = self.env.t, actor.lang
        ref = word.strip().lstrip("#")
        if not REF.fullmatch(ref):
            return usage
        request = await repo.requests.request_by_ref(ref)
        if request is None:
            return f"{t(lang, 'admin.find_none', ref=ref)}\n{usage}"
        if not actor.role.covers(request.area_id):
            # Not "no such request": an area admin should know to ask the centre.
            return t(lang, "casework.outside_area", ref=ref)
        return request

    async def _own_request(
        self, repo: Repo, who: Who, chat_id: int, args: list[str]
    ) -> int | None:
        """The id of the citizen's own request named by `/cancel <ref>` in private, or None."""
        if chat_id != who.user_id or not args or not REF.fullmatch(args[0].strip().lstrip("#")):
            return None
        request = await repo.requests.request_by_ref(args[0].strip().lstrip("#"))
        if request is None or request.citizen_id != who.user_id:
            return None
        return request.id

    def _say(self, actor: Actor, text: str) -> list[Outgoing]:
        """The admin's answer, in the chat they typed in."""
        return [ui.message(actor.chat_id, text)]

    def _status(self, request: Request, lang: str) -> str:
        handed = request.status == CANCELLED and request.cancelled_by == "supervision"
        return self.env.t(lang, f"admin.status_any.{'handed' if handed else request.status}")

    def _place(self, what: str, value: str | None, lang: str) -> str:
        """Name a category or an area (None: the whole district) in a language."""
        if what == "category":
            return render.category_name(self.env, value or "", lang)
        return render.area_name(self.env, value, lang)

    def _card_edit(self, request: Request, card: Card, note: str = "") -> Outgoing:
        """Edit a card to show the request (with a note that ends its Claim button). A card
        cancelled by an admin says so; the shared card header speaks of the citizen."""
        env = self.env
        text = render.card_text(env, request, card.role)
        if request.status == CANCELLED and request.cancelled_by == "admin":
            header = env.t(env.config.default_language, "casework.card_cancelled",
                           ref=request.ref)
            text = "\n".join([header, *text.split("\n")[1:]])
        if note:
            text += f"\n{note}"
        markup = None if note else render.card_markup(env, request)
        return ui.card_edit(card.chat_id, request.id, card.id, text, markup)

    # -- /find ------------------------------------------------------------------------------

    async def _details(
        self, repo: Repo, request: Request, lang: str, private: bool
    ) -> list[str]:
        """The request as /find shows it: its fields, then a timeline of who did what.

        The phone and the address only in the admin's private chat, never in a group."""
        env, t = self.env, self.env.t
        description = request.description or "-"
        lines = [
            t(lang, "admin.find_title", ref=request.ref, status=self._status(request, lang)),
            t(lang, "card.category", category=render.category_name(env, request.category, lang)),
            t(lang, "intake.summary_area", area=render.area_name(env, request.area_id, lang)),
            t(lang, "card.description",
              text=description if private else render.mask_phones(description)),
        ]
        if private:
            if request.on_behalf:  # filed by a helper: the neighbour's, as the claimer sees
                lines.append(t(lang, "neighbour.task_for", name=request.for_name or "-",
                               address=request.for_address or "-"))
                if request.helper_phone:
                    lines.append(t(lang, "neighbour.task_helper", phone=request.helper_phone))
            lines += [t(lang, "task.address", address=request.address or "-"),
                      t(lang, "task.phone", phone=request.phone or "-")]
        else:
            lines.append(t(lang, "admin.find_contact_in_private", ref=request.ref))
        if request.on_behalf:
            lines.append(t(lang, "neighbour.card"))
        if request.volunteer_name:
            lines.append(t(lang, "admin.find_volunteer", name=request.volunteer_name))
        if request.rating:
            lines.append(t(lang, "admin.find_rating", stars=request.rating,
                           comment=request.comment or "-"))
        lines.append(t(lang, "admin.find_timeline"))
        names: dict[int, str] = {}
        for event in await repo.requests.events(request.id):
            who = (await self._name(repo, event.actor_id, names) if event.actor_id
                   else t(lang, "admin.system"))
            line = t(lang, "admin.find_event", at=render.local_time(env, event.at, lang),
                     kind=self._event_label(event, lang), who=who)
            detail = await self._event_detail(repo, event, lang, names)
            lines.append(f"{line} · {detail}" if detail else line)
        return lines

    def _event_label(self, event: Event, lang: str) -> str:
        """What happened, in words; an admin's cancel or reopen says it was an admin."""
        t, keys = self.env.t, self.env.t.keys(lang)
        by = (event.detail or {}).get("by")
        if event.kind in ("cancelled", "reopened") and by in ("admin", "citizen"):
            special = f"casework.event_{event.kind}_{by}"
            if special in keys:
                return t(lang, special)
        key = f"event.{event.kind}"
        return t(lang, key) if key in keys else event.kind  # a kind added later still shows

    async def _event_detail(
        self, repo: Repo, event: Event, lang: str, names: dict[int, str]
    ) -> str:
        """The why and the what of an event: to whom, from where to where, the reason."""
        t, detail = self.env.t, event.detail or {}
        parts = []
        if event.kind == "assigned" and detail.get("volunteer_id"):
            name = await self._name(repo, int(detail["volunteer_id"]), names)
            parts.append(t(lang, "casework.detail_to", name=name))
        if event.kind == "moved":
            what = str(detail.get("what", "category"))
            parts.append(t(lang, "casework.detail_moved",
                           old=self._place(what, detail.get("from"), lang),
                           new=self._place(what, detail.get("to"), lang)))
        if event.kind == "confirmed" and detail.get("via") in ("phone", "in_person"):
            parts.append(t(lang, f"neighbour.detail_{detail['via']}"))  # a helper's word
        if event.kind == "rated" and detail.get("stars"):
            parts.append(t(lang, "casework.detail_stars", stars=detail["stars"]))
        if detail.get("reason"):
            parts.append(t(lang, "casework.detail_reason", reason=detail["reason"]))
        return " · ".join(parts)

    async def _name(self, repo: Repo, user_id: int, names: dict[int, str]) -> str:
        """A person's first name as the bot knows it (or their id), looked up once."""
        if user_id not in names:
            user = await repo.people.user(user_id)
            names[user_id] = (user.first_name if user and user.first_name else str(user_id))
        return names[user_id]


def _reason(words: list[str]) -> str:
    """The free text after a command's arguments, as one line."""
    return " ".join(word.strip() for word in words if word.strip())
