"""The request lifecycle: dispatch, claim, release, done, resolved?, rating, cancel."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard

from bot import buttons, night, ui
from bot.context import Answer, Env, Who
from bot.dialogs import LOOKUPS, Flow, subject
from bot.people.roles import Role
from bot.requests import render
from bot.unit import ActorUnit, cards_stay, topic_to_bind
from storage import Card, Dialog, Outgoing, Repo, Request, User
from storage.models import CLAIMED, DISPATCHED
from storage.repos.requests import JOINABLE

MY_REQUESTS_SHOWN = 10
DISTRICT = ""  # the binding level that covers the whole district
ADMIN_LEVEL = "!admin"  # past the top of the tree: the admin chat
CAPTION_NOTE_CHARS = 400  # even in 2-unit characters, well inside a 1024-unit caption

# How long an "open the bot, then claim" link holds after the Claim press that gave it.
CLAIM_LINK_TTL = 15 * 60


# A question to the citizen and its form for a helper who asks their neighbour.
NEIGHBOURS_STARS = {"rate.ask_stars": "neighbour.ask_stars",
                    "bridge.ask_stars": "neighbour.ask_fix_stars"}


class RequestLoop:
    """Moves requests through their states; each move is one transaction with its messages."""

    def __init__(self, env: Env) -> None:
        self.env = env
        # The question of the dialog a short one's end brought back: a request draft's, a
        # visit's, an activity's being published … (Intake.resume_draft).
        self.draft_question: Callable[[ActorUnit], Awaitable[list[Outgoing]]] | None = None
        # What follows a request's hours credited to its volunteer (by id) at a moment: the year's
        # formal-volunteer threshold, which loop 2 keeps (Attendance.after_request_hours).
        self.hours_credited: (Callable[[Repo, int, float], Awaitable[list[Outgoing]]]
                              | None) = None
        # What a long dialog leaves behind when it is dropped for good (ended, cancelled, or
        # begun afresh over its older copy), by flow: a visit's row is ended
        # (Reporting registers it); given the dialog's data.
        self.dropped: dict[str, Callable[[Repo, dict[str, Any]], Awaitable[None]]] = {}
        # What the dialog on top says as another goes over it, by flow, given the dialog: a
        # reply keyboard (a check-in's location button, the request form's location and
        # phone steps, a visit's location, registration's phone) is taken off the screen,
        # since a tap would send a location or a phone to the dialog on top; its question
        # brings it back. Each service registers its own.
        self.covered: dict[str, Callable[[ActorUnit, Dialog],
                                         Awaitable[list[Outgoing]]]] = {}

    # -- routing ----------------------------------------------------------------------------

    def levels(self, area_id: str | None) -> list[str]:
        """The tree levels a request climbs: its station, the institute, then the district
        ('' stands for the whole district, bound without an area or at the centre)."""
        tree = self.env.config.areas
        if tree is None or area_id is None or area_id not in tree:
            return [DISTRICT]
        return [*tree.ancestry(area_id)[:-1], DISTRICT]

    async def dispatch_target(
        self, repo: Repo, category: str, area_id: str | None, above: str | None = None
    ) -> tuple[str, int]:
        """Pick (level, chat) for a request: the group bound to its category nearest its area,
        else the district's group (a /bind, else config), else the admin chat.

        With `above`, only levels above that one count (escalation climbs one at a time).
        """
        levels = self.levels(area_id)
        if above is not None:
            # A level that left the area file has the district (always in levels) above it.
            levels = levels[levels.index(above) + 1:] if above in levels else [DISTRICT]
        bindings = await repo.areas.bindings()
        for level in levels:
            chat = bindings.get((category, level))
            if chat is None and level == DISTRICT:
                configured = self.env.config.category(category)
                chat = configured.group_id if configured else None
            if chat is not None:
                return level, chat
        return ADMIN_LEVEL, self.admin_chats()[0]

    def admin_chats(self) -> list[int]:
        """Where admin notices go: the admin chat, else every admin in private."""
        return self.env.config.admin_chats()

    def card_chats(self, level: str, chat_id: int) -> list[int]:
        """Where a request's cards go at a level: the chat dispatch_target chose; past the top
        of the tree, the admin chat, or without one every centre admin in private (each may
        act on it, and every change edits all of its cards)."""
        return self.admin_chats() if level == ADMIN_LEVEL else [chat_id]

    async def area_admins_of(self, repo: Repo, area_id: str | None) -> list[int]:
        """The area admins whose areas hold `area_id`, in private: they hear of its trouble
        as the centre does in the admin chat (a centre admin is told there, not twice)."""
        tree = self.env.config.areas
        if tree is None or area_id is None or area_id not in tree:
            return []
        centre = self.env.config.admin_ids
        return [user_id for user_id in await repo.people.admins_of_areas(tree.ancestry(area_id))
                if user_id not in centre]

    async def tell_area_admins(
        self, repo: Repo, area_id: str | None, key: str, **values: Any
    ) -> list[Outgoing]:
        """A notice to each area admin of `area_id`, in their own language."""
        out = []
        for user_id in await self.area_admins_of(repo, area_id):
            lang = await self.language_of(repo, user_id)
            out.append(ui.message(user_id, self.env.t(lang, key, **values)))
        return out

    def is_admin(self, user_id: int) -> bool:
        """Say whether a user is one of the configured admins."""
        return user_id in self.env.config.admin_ids

    async def language_of(self, repo: Repo, user_id: int) -> str:
        """Return the language a known user reads."""
        user = await repo.people.user(user_id)
        return self.env.t.language_for(user.language if user else None, None)

    def news(self, message: Outgoing) -> Outgoing:
        """A request's news that someone's act sends another person in private (the citizen,
        the claimer, a neighbour who joined): at night at once, without a sound (bot/night.py)."""
        return night.at_night(self.env, "loop.news", message)

    async def _admin_notice(self, key: str, **values: Any) -> list[Outgoing]:
        """A notice `key` to the admin chat, or without one to each centre admin in private
        as quiet hours have it (bot/night.py)."""
        lang = self.env.config.default_language
        return night.all_at_night(self.env, key, [ui.message(chat, self.env.t(lang, key, **values))
                                                  for chat in self.admin_chats()])

    # -- 点单 order → 派单 dispatch ---------------------------------------------------------

    async def submit(
        self, repo: Repo, citizen_id: int, language: str, draft: dict[str, Any]
    ) -> tuple[Request, list[Outgoing]]:
        """Store a confirmed draft as a request; return it with its receipt and its cards."""
        now = self.env.now()
        category = draft["category"]
        area_id = draft.get("area")
        level, chat_id = await self.dispatch_target(repo, category, area_id)
        ref = await repo.requests.next_ref(self.env.local_year())
        request_id = await repo.requests.insert_request(
            ref=ref,
            citizen_id=citizen_id,
            language=language,
            category=category,
            description=draft.get("description") or "",
            photos=list(draft.get("photos") or []),
            voice_file_id=draft.get("voice"),
            latitude=draft.get("latitude"),
            longitude=draft.get("longitude"),
            address=draft.get("address"),
            phone=draft.get("phone"),
            dispatch_chat_id=chat_id,
            now=now,
        )
        await repo.requests.set_area(request_id, area_id)
        if draft.get("neighbour"):  # filed by a helper: the neighbour's contact, not theirs
            await repo.requests.set_neighbour(request_id, draft["nb_name"], draft["nb_phone"],
                                              draft["nb_address"], draft.get("nb_own"))
        if draft.get("phone") and draft.get("share_phone") is False:
            await repo.requests.keep_phone_private(request_id)  # the masked chat only
        await repo.requests.set_dispatch(request_id, chat_id, level)
        await repo.requests.add_event(request_id, "created", citizen_id, now, {"area": area_id})
        await repo.requests.add_event(request_id, "dispatched", None, now,
                                      {"chat_id": chat_id, "level": level})
        await self._await_claim(repo, request_id, category, now)
        request = await repo.requests.request(request_id)
        assert request is not None
        t = self.env.t
        cards = [await self.post_card(repo, request, chat)
                 for chat in self.card_chats(level, chat_id)]
        receipt = ui.message(citizen_id, render.citizen_text(
            self.env, request, t(language, "intake.receipt", ref=ref)),
            self.citizen_menu(language))
        return request, [receipt, *cards]

    async def post_card(
        self, repo: Repo, request: Request, chat_id: int, role: str = "dispatch"
    ) -> Outgoing:
        """Register a card for the request in a chat and return the call that posts it (in
        the forum topic the request's binding at its level names, if it was bound in one; to
        a centre admin in private, without an admin chat, as quiet hours have it)."""
        kind = render.card_kind(self.env, request)
        card_id = await repo.cards.add_card(request.id, chat_id, kind, role, self.env.now())
        card = await repo.cards.card(card_id)
        assert card is not None
        topic = await repo.areas.topic_of(request.category, request.dispatch_area_id or DISTRICT,
                                          chat_id)
        message = render.new_card(self.env, request, card, topic)
        return night.at_night(self.env, "loop.admin_card", message)

    async def escalation_cards(
        self, repo: Repo, request: Request, level: str, chat_id: int
    ) -> list[Outgoing]:
        """An escalated request's card in each chat of its new level (past the top: the admin
        chat, or each centre admin in private); a chat that shows it already is told that it
        has waited too long."""
        # Each chat that shows it, with the forum topic its card was posted in.
        shown = {card.chat_id: card.thread_id
                 for card in await repo.cards.active_cards(request.id)}
        lang = self.env.config.default_language
        return [
            await self.post_card(repo, request, chat, role="escalation") if chat not in shown
            # Said where the card is: in a forum, its topic (General is not where they look).
            else ui.message(chat, self.env.t(lang, "schedule.escalated_admin", ref=request.ref),
                            thread_id=shown[chat] if chat < 0 else None)
            for chat in self.card_chats(level, chat_id)
        ]

    async def card_updates(
        self, repo: Repo, request: Request, cards: list[Card] | None = None
    ) -> list[Outgoing]:
        """Edit every card of the request's current round (`cards`, if already read) to show
        its state."""
        if cards is None:
            cards = await repo.cards.active_cards(request.id)
        return [render.card_update(self.env, request, card) for card in cards]

    async def _await_claim(self, repo: Repo, request_id: int, category: str, since: float) -> None:
        """Start the unclaimed clock: a reminder to the group, then escalation."""
        now, policy = self.env.now(), self.env.config.policy(category)
        await self.stop_clocks(repo, request_id)
        await repo.timers.schedule("claim_reminder", since + policy.claim_reminder, now,
                                   request_id=request_id)
        await repo.timers.schedule(
            "escalate", since + policy.escalate_after, now, request_id=request_id)

    async def stop_clocks(self, repo: Repo, request_id: int) -> None:
        """Call off every pending timer of a request: its state changed."""
        await repo.timers.cancel_timers(self.env.now(), request_id=request_id)
        await repo.requests.set_overdue(request_id, None)

    def citizen_menu(self, language: str) -> dict[str, Any]:
        """The main menu: New request · My requests · Help."""
        t = self.env.t
        return ui.inline([
            [(t(language, "menu.new"), buttons.MENU.data("new"))],
            [(t(language, "menu.my"), buttons.MENU.data("my")),
             (t(language, "menu.help"), buttons.MENU.data("help"))],
        ])

    # -- 接单 accept ------------------------------------------------------------------------

    async def may_help(self, repo: Repo, user_id: int) -> bool:
        """Whether someone may file requests for neighbours (帮办员): an approved volunteer,
        a centre admin or an area admin (station staff)."""
        if self.is_admin(user_id):
            return True
        record = await repo.volunteers.volunteer(user_id)
        if record is not None and record.status == "approved":
            return True
        area_admin, _, _, _ = await repo.requests.intake_standing(user_id, self.env.now())
        return area_admin

    async def may_claim(self, repo: Repo, user_id: int) -> bool:
        """In 'registered' mode only approved volunteers (and admins) may claim."""
        if self.env.config.volunteering.claim_mode == "open" or self.is_admin(user_id):
            return True
        record = await repo.volunteers.volunteer(user_id)
        return record is not None and record.status == "approved"

    def claim_token(self, request_id: int, card_id: int, user_id: int, expires: int) -> str:
        """Sign a claim link for one person, one card of one request and a deadline, so
        nobody can forge one, widen it to another round of the request, or keep it."""
        key = hashlib.sha256(f"civicloop-claim:{self.env.config.token}".encode()).digest()
        message = f"{request_id}:{card_id}:{user_id}:{expires}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:12]

    def claim_link(self, request_id: int, card_id: int, user_id: int) -> str:
        """The 'open the bot, then claim' link for someone who pressed Claim on a card
        before ever opening the bot (a start payload: at most 64 of A-Z a-z 0-9 _ -)."""
        expires = int(self.env.now() + CLAIM_LINK_TTL)
        token = self.claim_token(request_id, card_id, user_id, expires)
        payload = f"claim_{request_id}_{card_id}_{expires}_{token}"
        return f"https://t.me/{self.env.bot_username}?start={payload}"

    async def claim(self, unit: ActorUnit, request_id: int, chat_id: int | None,
                    copy: int | None = None) -> Answer:
        """Give the request to the first volunteer who presses Claim on one of its cards.

        `chat_id` is where Claim was pressed; None means a signed claim link was followed.
        `copy` is the pressed message's id when it was seen to carry that very Claim button:
        a lost copy of the card, if the bot does not know it.
        """
        assert unit.user is not None
        answer, out = await self.claim_in(unit.repo, unit.user, unit.language, unit.who,
                                          request_id, chat_id)
        if chat_id is not None and copy is not None:
            out += await self._lost_copy(unit.repo, request_id, chat_id, copy)
        unit.send(out)
        return answer

    async def _lost_copy(self, repo: Repo, request_id: int, chat_id: int,
                         message_id: int) -> list[Outgoing]:
        """A press on a copy of the card the bot does not know (its post went, but the answer
        was lost to a crash or a broken line, and it was posted again): the copy is taken on
        as one more card of the request's round in that chat, in the role of the card the bot
        knows there, drawn as the request stands now (the claim's own redraw read the cards
        before it) and redrawn with the others to the end. Before, it kept the state it was
        pressed in for ever, or its Claim button if nobody pressed it."""
        if await repo.cards.is_card(chat_id, message_id):
            return []  # one the bot draws (alone, or a section of a combined message)
        if await repo.outbox.made(chat_id, message_id):
            return []  # one it heard of: a claim reminder, which carries Claim too
        request = await repo.requests.request(request_id)
        if request is None:
            return []
        known = [card for card in await repo.cards.active_cards(request_id)
                 if card.chat_id == chat_id and not card.left_behind]
        if not known or any(card.message_id is None for card in known):
            return []  # no card of this round here, or one being posted: this may be it
        # Posted as the card it copies (the pressed message comes without its content):
        # a section of a combined message the lost one may have been is drawn alone.
        kind = known[0].kind
        card_id = await repo.cards.add_card(request_id, chat_id, kind, known[0].role,
                                            self.env.now())
        await repo.cards.record_card_message(card_id, message_id, kind, chat_id,
                                             known[0].thread_id)
        card = await repo.cards.card(card_id)
        assert card is not None
        return [render.card_update(self.env, request, card)]

    async def claim_in(
        self, repo: Repo, user: User, lang: str, who: Who, request_id: int,
        chat_id: int | None,
    ) -> tuple[Answer, list[Outgoing]]:
        """The claim, inside the caller's transaction: the answer to show the presser and the
        messages to queue with it (none when the claim is refused)."""
        env, t = self.env, self.env.t
        request, cards, banned = await repo.cards.request_for_claim(request_id, who.user_id)
        if request is None:
            return Answer(t(lang, "claim.unknown"), alert=True), []
        if chat_id is not None and chat_id not in {card.chat_id for card in cards}:
            return Answer(t(lang, "common.stale"), alert=True), []  # forged: no card here
        if request.status == CLAIMED and request.volunteer_id == who.user_id:
            # Theirs already (a repeated press, or the answer got lost): send it again.
            return (Answer(t(lang, "claim.already_yours", ref=request.ref)),
                    render.task_details(env, request, who.user_id, lang))
        if request.status != DISPATCHED:
            key = "claim.taken" if request.status == CLAIMED else "claim.not_open"
            return Answer(t(lang, key), alert=True), []
        if not user.started or user.blocked:
            # Telegram lets a bot write only to people who opened it; ask them to, and
            # keep the request open for whoever can take it now.
            card = next(card for card in cards if card.chat_id == chat_id) if chat_id else None
            if card is None:
                return Answer(t(lang, "claim.open_bot_first", bot=env.bot_username), True), []
            url = self.claim_link(request_id, card.id, who.user_id)
            return Answer(t(lang, "claim.open_bot_first", bot=env.bot_username), True, url), []
        if banned:
            return Answer(t(lang, "moderation.claim_banned"), alert=True), []
        if not await self.may_claim(repo, who.user_id):
            url = f"https://t.me/{env.bot_username}?start=join"
            return Answer(t(lang, "claim.register_first"), True, url), []
        now = env.now()
        claimed = await repo.requests.claim(request_id, who.user_id, who.first_name, now)
        if claimed is None:
            return Answer(t(lang, "claim.taken"), alert=True), []
        request = claimed
        await repo.requests.add_event(request_id, "claimed", who.user_id, now)
        await self.stop_clocks(repo, request_id)
        due_after = env.config.policy(request.category).due_after
        await repo.timers.schedule("volunteer_due", now + due_after, now, request_id=request_id)
        out = await self.card_updates(repo, request, cards)
        out += render.task_details(env, request, who.user_id, lang)
        # A neighbour's: the claimer calls her, not the helper; a kept phone: nobody calls.
        told = render.claimed_key(request)
        out.append(self.news(ui.message(request.citizen_id, render.citizen_text(
            env, request, t(request.language, told, ref=request.ref)),
            render.citizen_chat_markup(env, request))))
        out += await self.follower_news(repo, request, "claimed")
        return Answer(t(lang, "claim.won", ref=request.ref)), out

    async def claim_from_link(
        self, repo: Repo, user: User, lang: str, who: Who, request_id: int, card_id: int,
        expires: int, token: str,
    ) -> list[Outgoing]:
        """Finish a claim that began with a signed 'open the bot' link, inside the caller's
        transaction (the /start that followed it): what to queue, the outcome told. The link
        holds only for its card's round of the request (not after a move, a re-dispatch or
        an escalation elsewhere) and for CLAIM_LINK_TTL after the press."""
        expected = self.claim_token(request_id, card_id, who.user_id, expires)
        if not hmac.compare_digest(token, expected):
            return []  # not a link we gave this person: the greeting is all they get
        t = self.env.t
        if self.env.now() > expires:
            return [ui.message(who.user_id, t(lang, "claim.link_expired"))]
        card = next((card for card in await repo.cards.active_cards(request_id)
                     if card.id == card_id), None)
        if card is None:  # that card's round is over: the request moved on
            return [ui.message(who.user_id, t(lang, "claim.link_stale"))]
        answer, out = await self.claim_in(repo, user, lang, who, request_id, card.chat_id)
        if answer.alert:
            out.append(ui.message(who.user_id, answer.text))
        return out

    async def release(self, unit: ActorUnit, request_id: int) -> Answer:
        """Put a claimed request back up for claiming."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        released = await self._put_back(repo, request_id, who.user_id, env.now())
        if released is None:
            return Answer(t(lang, "task.not_yours"), alert=True)
        request, out = released
        out.append(ui.message(who.user_id, t(lang, "task.released", ref=request.ref)))
        unit.send(out)
        return Answer(t(lang, "task.released_toast"))

    async def _put_back(
        self, repo: Repo, request_id: int, volunteer_id: int, now: float,
        detail: dict[str, Any] | None = None,
    ) -> tuple[Request, list[Outgoing]] | None:
        """Put a request its volunteer holds back up for claiming: the timeline, the unclaimed
        clock, its cards and a word to the citizen. None if they do not hold it."""
        if not await repo.requests.release(request_id, volunteer_id, now):
            return None
        await repo.requests.add_event(request_id, "released", volunteer_id, now, detail)
        request = await repo.requests.request(request_id)
        assert request is not None
        await self._await_claim(repo, request_id, request.category, now)
        out = await self.card_updates(repo, request)
        text = self.env.t(request.language, "citizen.released", ref=request.ref)
        out.append(self.news(ui.message(request.citizen_id,
                                        render.citizen_text(self.env, request, text))))
        out += await self.follower_news(repo, request, "waiting")
        return request, out

    async def member_left(self, unit: ActorUnit, chat_id: int, title: str, member: Who) -> None:
        """A volunteer left a group (or was removed): the tasks they claimed there are put
        back up for claiming, as if they had pressed Release; they and each citizen are told.
        Telegram may tell it twice (a service message and a chat_member update): the second
        finds nothing left to release."""
        env, t, repo = self.env, self.env.t, unit.repo
        now = env.now()
        out: list[Outgoing] = []
        held = await repo.requests.claimed_through(member.user_id, chat_id)
        lang = await self.language_of(repo, member.user_id) if held else ""
        for request_id in held:
            released = await self._put_back(repo, request_id, member.user_id, now,
                                            {"left_group": chat_id})
            if released is None:
                continue
            request, put_back = released
            out += put_back
            out.append(self.news(ui.message(member.user_id, t(
                lang, "task.released_on_leaving", ref=request.ref, group=title))))
        unit.send(out)

    async def ask_done_note(self, unit: ActorUnit, request_id: int) -> Answer:
        """Start the Done step: ask the volunteer for an optional note or photo."""
        t = self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        request = await repo.requests.request(request_id)
        if not _held_by(request, who):
            return Answer(t(lang, "task.not_yours"), alert=True)
        if await self.asking(repo, who.user_id, Flow.DONE_NOTE, "request_id", request_id):
            return Answer(t(lang, "common.asked_already"))  # a double tap: asked once
        await self.push_dialog(unit, Flow.DONE_NOTE, "note",
                               {"request_id": request_id})
        unit.send(self.note_question(lang, who.user_id, request))
        return Answer()

    def note_question(self, lang: str, user_id: int, request: Request) -> Outgoing:
        """Ask the volunteer for a closing note or photo, with Skip."""
        t = self.env.t
        skip = ui.inline([[(t(lang, "common.skip"),
                            buttons.DONE_WITHOUT_NOTE.data(request.id))]])
        return ui.message(user_id, t(lang, "task.ask_note", ref=request.ref), skip)

    def holds(self, request: Request, user_id: int) -> bool:
        """Whether this person is the volunteer working on the request right now."""
        return request.status == CLAIMED and request.volunteer_id == user_id

    async def finish_done(
        self, repo: Repo, who: Who, lang: str, request_id: int, note: str | None,
        photo: str | None, hours: float | None = None,
    ) -> tuple[bool, list[Outgoing]]:
        """Mark the request done with the volunteer's note (and the hours given, counted once
        it closes); ask the citizen if it is resolved. Whether it was done, and what to send."""
        env, t = self.env, self.env.t
        now = env.now()
        await self.pop_dialog(repo, who.user_id, Flow.DONE_NOTE)
        if not await repo.requests.complete(request_id, who.user_id, note, photo, now):
            return False, [ui.message(who.user_id, t(lang, "task.not_yours"))]
        if hours:
            await repo.volunteers.record_hours(request_id, who.user_id, hours, now)
        await repo.requests.add_event(request_id, "done", who.user_id, now,
                                      {"note": bool(note), "photo": bool(photo), "hours": hours})
        request = await repo.requests.request(request_id)
        assert request is not None
        policy = env.config.policy(request.category)
        await self.stop_clocks(repo, request_id)
        await repo.timers.schedule("rating_reminder", now + policy.rating_reminder, now,
                                   request_id=request_id)
        await repo.timers.schedule(
            "auto_close", now + policy.auto_close, now, request_id=request_id)
        out = await self.card_updates(repo, request)
        out.append(ui.message(who.user_id, t(lang, "task.done_thanks", ref=request.ref)))
        clang = request.language
        done_text = t(clang, "citizen.done", ref=request.ref)
        if note:
            # A caption holds 1024 UTF-16 units: shorten the note itself, before escaping.
            shown = ui.clip(note, CAPTION_NOTE_CHARS) if photo else note
            done_text += "\n" + t(clang, "citizen.done_note", note=shown)
        done_text = render.citizen_text(env, request, done_text)
        if photo:
            out.append(self.news(ui.photo(request.citizen_id, photo, done_text)))
        else:
            out.append(self.news(ui.message(request.citizen_id, done_text)))
        out.append(self.news(self.resolved_question(request)))
        out += await self.follower_news(repo, request, "done")
        return True, out

    def resolved_question(self, request: Request) -> Outgoing:
        """Ask the citizen whether the request is resolved, with Yes / No; a helper, to ask
        their neighbour and say how: by phone, in person, or not resolved."""
        t, lang = self.env.t, request.language
        if request.on_behalf:
            keyboard = ui.inline([
                [(t(lang, "neighbour.by_phone"), buttons.VOUCH.data(request.id, "phone"))],
                [(t(lang, "neighbour.in_person"),
                  buttons.VOUCH.data(request.id, "in_person"))],
                [(t(lang, "rate.no"), buttons.RESOLVED.data(request.id, "n"))],
            ])
            text = t(lang, "neighbour.question", ref=request.ref)
            return ui.message(request.citizen_id, render.citizen_text(self.env, request, text),
                              keyboard)
        keyboard = ui.inline([[
            (t(lang, "rate.yes"), buttons.RESOLVED.data(request.id, "y")),
            (t(lang, "rate.no"), buttons.RESOLVED.data(request.id, "n")),
        ]])
        return ui.message(request.citizen_id, t(lang, "rate.question", ref=request.ref), keyboard)

    def stars_question(self, request: Request, lang: str | None = None,
                       key: str = "rate.ask_stars") -> Outgoing:
        """Ask the citizen to rate the outcome, one to five stars (then a comment)."""
        stars = ui.inline([[
            ("⭐" * n, buttons.STARS.data(request.id, n)) for n in range(1, 6)
        ]])
        if request.on_behalf:  # the neighbour's rating, which the helper gives
            key = NEIGHBOURS_STARS.get(key, key)
        return ui.message(request.citizen_id, render.citizen_text(
            self.env, request, self.env.t(lang or request.language, key, ref=request.ref)),
            stars)

    async def resend_details(self, unit: ActorUnit, request_id: int) -> Answer:
        """Send the holder of a task its details again (phone, place, media)."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        request = await repo.requests.request(request_id)
        if not _held_by(request, who):
            return Answer(t(lang, "task.not_yours"), alert=True)
        unit.send(render.task_details(env, request, who.user_id, lang))
        return Answer()

    async def more_time(self, unit: ActorUnit, request_id: int) -> Answer:
        """Give the volunteer one more period before the next reminder (once per request)."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        now = env.now()
        request = await repo.requests.request(request_id)
        if not _held_by(request, who):
            return Answer(t(lang, "task.not_yours"), alert=True)
        if not await repo.requests.extend(request_id, who.user_id, now):
            return Answer(t(lang, "schedule.already_extended"), alert=True)
        due_after = env.config.policy(request.category).due_after
        # "The same period again": from when it was due, or from now if pressed early.
        due = max(now, (request.claimed_at or now) + due_after) + due_after
        await self.stop_clocks(repo, request_id)
        await repo.timers.schedule("volunteer_due", due, now, request_id=request_id)
        await repo.requests.add_event(request_id, "extended", who.user_id, now)
        text = t(lang, "schedule.extended", ref=request.ref,
                 until=render.local_time(env, due, lang))
        unit.send([ui.message(who.user_id, text)])
        return Answer(t(lang, "schedule.extended_toast"))

    async def my_tasks(self, unit: ActorUnit) -> None:
        """List the volunteer's open tasks with their buttons."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        tasks = await repo.requests.volunteer_tasks(who.user_id)
        if not tasks:
            out = [ui.message(who.user_id, t(lang, "task.none"))]
        else:
            out = [ui.message(who.user_id, t(lang, "task.list_title", count=len(tasks)))]
            for request in tasks[:MY_REQUESTS_SHOWN]:
                text = render.request_line(env, request, lang)
                out.append(ui.message(who.user_id, text,
                                      render.task_buttons(env, request, lang, details=True)))
        unit.send(out)

    # -- 评单 rate --------------------------------------------------------------------------

    async def resolved(self, unit: ActorUnit, request_id: int, yes: bool) -> Answer:
        """Close the request (Yes, then ask for stars) or reopen and re-dispatch it (No)."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        now = env.now()
        request = await repo.requests.request(request_id)
        if request is None or request.citizen_id != who.user_id:
            return Answer(t(lang, "common.not_yours"), alert=True)
        if yes and request.on_behalf:  # a neighbour's: the helper says how they confirmed
            return Answer(t(lang, "common.stale"), alert=True)
        if yes:
            if not await repo.requests.confirm(request_id, who.user_id, now):
                return Answer(t(lang, "rate.already_answered"), alert=True)
            await repo.requests.add_event(request_id, "confirmed", who.user_id, now)
            await self._confirmed(unit, request_id)
        else:
            if not await repo.requests.reopen(request_id, who.user_id, now):
                return Answer(t(lang, "rate.already_answered"), alert=True)
            out = await self._redispatch(repo, request, now)
            unit.send(out)
        return Answer(t(lang, "common.thanks"))

    async def confirm_for_neighbour(self, unit: ActorUnit, request_id: int, via: str) -> Answer:
        """Close a neighbour's request on their word, which the helper obtained `via` phone or
        in person (kept apart in the statistics); then ask for the neighbour's stars."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        now = env.now()
        request = await repo.requests.request(request_id)
        if request is None or request.citizen_id != who.user_id or not request.on_behalf:
            return Answer(t(lang, "common.not_yours"), alert=True)
        if via not in ("phone", "in_person"):
            return Answer(t(lang, "common.stale"), alert=True)
        if not await repo.requests.confirm_for_neighbour(request_id, who.user_id, via, now):
            return Answer(t(lang, "rate.already_answered"), alert=True)
        await repo.requests.add_event(request_id, "confirmed", who.user_id, now, {"via": via})
        await self._confirmed(unit, request_id)
        return Answer(t(lang, f"neighbour.confirmed_{via}"))

    async def _confirmed(self, unit: ActorUnit, request_id: int) -> None:
        """What follows a citizen's (or a helper's) "resolved": the hours credited, the clocks
        stopped, the card redrawn, the stars asked for, those who joined it told."""
        repo, now = unit.repo, self.env.now()
        await self.stop_clocks(repo, request_id)
        closed = await repo.requests.request(request_id)
        assert closed is not None
        # "You are a formal volunteer now" to the claimer: held at night (bot/night.py).
        unit.send(night.all_at_night(self.env, "loop.formal_volunteer",
                                     await self.credit_hours(repo, closed, now)))
        unit.send(await self.card_updates(repo, closed))
        unit.send(self.stars_question(closed, unit.language))
        unit.send(await self.follower_news(repo, closed, "closed"))

    async def credit_hours(self, repo: Repo, request: Request, at: float) -> list[Outgoing]:
        """Credit the hours given for a request (closed at `at`), and say what follows."""
        credited = await repo.volunteers.credit_hours(request.id, at)
        if not credited or self.hours_credited is None or request.volunteer_id is None:
            return []  # no hours given (none asked, or skipped): no threshold crossed
        return await self.hours_credited(repo, request.volunteer_id, at)

    async def _redispatch(self, repo: Repo, before: Request, now: float) -> list[Outgoing]:
        t = self.env.t
        await repo.volunteers.withdraw_hours(before.id, now)
        await repo.requests.add_event(before.id, "reopened", before.citizen_id, now,
                                      {"volunteer_id": before.volunteer_id})
        # The old cards are history: mark them, and post a fresh card with a Claim button.
        note = t(self.env.config.default_language, "card.reopened_note")
        _, old_cards, fresh = await self.post_afresh(repo, before.id, now)
        out = [render.card_update(self.env, before, card, note) for card in old_cards]
        out += fresh
        out.append(ui.message(before.citizen_id, render.citizen_text(
            self.env, before, t(before.language, "citizen.reopened", ref=before.ref))))
        out += await self.follower_news(repo, before, "waiting")
        if before.volunteer_id is not None:
            vlang = await self.language_of(repo, before.volunteer_id)
            out.append(self.news(ui.message(before.volunteer_id,
                                            t(vlang, "task.reopened_by_citizen", ref=before.ref))))
        out += await self._admin_notice("admin.reopened", ref=before.ref,
                                        name=before.volunteer_name or "-")
        return out

    async def post_afresh(
        self, repo: Repo, request_id: int, now: float
    ) -> tuple[Request, list[Card], list[Outgoing]]:
        """Dispatch a request again (reopened, or moved by an admin): retire its cards and
        register a fresh one, with Claim, in the group its category and area point to now
        (past the top: one per admin chat); the unclaimed clocks start over. Returns the
        request, the retired cards (for the caller to edit into history) and the calls that
        post the fresh cards.

        The caller has already put the request back to dispatched and logged why."""
        request = await repo.requests.request(request_id)
        assert request is not None
        level, chat_id = await self.dispatch_target(repo, request.category, request.area_id)
        await repo.requests.set_dispatch(request_id, chat_id, level)
        await repo.requests.add_event(request_id, "dispatched", None, now,
                                      {"chat_id": chat_id, "level": level})
        await self._await_claim(repo, request_id, request.category, now)
        request = await repo.requests.request(request_id)
        assert request is not None
        old_cards = await repo.cards.active_cards(request_id)
        await repo.cards.retire_cards(request_id)
        fresh = [await self.post_card(repo, request, chat)
                 for chat in self.card_chats(level, chat_id)]
        return request, old_cards, fresh

    async def group_membership(
        self, unit: ActorUnit, chat_id: int, title: str, status: str
    ) -> None:
        """The bot was removed from a group, or added to one (Telegram's my_chat_member).
        Removed: the group's bindings go, the requests waiting there are posted again where
        their category and area now point (up the tree, or the admins), and the admins are
        told once, with what the group served. Added: the admins are told it can be bound."""
        env, repo = self.env, unit.repo
        lang, t = env.config.default_language, env.t
        by = unit.who.first_name or str(unit.user_id)
        if status in ("member", "administrator"):
            unit.send(await self._admin_notice("admin.group_added", title=title, name=by))
            return
        if status not in ("left", "kicked"):
            return
        served = await repo.areas.unbind_chat(chat_id)
        teams = await repo.activities.unbind_team_chat(chat_id)  # a team's own group
        units = await repo.supervision.unbind_unit_chat(chat_id)  # a unit's chat
        now = env.now()
        out: list[Outgoing] = []
        waiting = await repo.cards.waiting_in(chat_id)
        for request_id in waiting:
            await repo.requests.add_event(request_id, "group_lost", unit.user_id, now,
                                          {"chat_id": chat_id})
            request, old_cards, fresh = await self.post_afresh(repo, request_id, now)
            note = t(lang, "card.reposted_note")
            out += [render.card_update(env, request, card, note) for card in old_cards
                    if card.chat_id != chat_id]  # the lost group can no longer be edited
            out += fresh
        names = ", ".join(
            f"{render.category_name(env, code, lang)} "
            f"({render.area_name(env, area or None, lang)})"
            for code, area in served) or t(lang, "admin.group_served_nothing")
        unit.send(out)
        unit.send(await self._admin_notice("admin.group_lost", title=title, name=by,
                                           served=names, count=len(waiting)))
        # A team's or a unit's group lost: its activities' and problems' cards can no longer
        # reach it; the admins are told which, to bind another (/bind team, /bind unit).
        if teams or units:
            registers = env.config.supervision.registers
            lost = [render.team_label(env, team, lang) for team in teams] + [
                registers.units[u].name(lang) if registers and u in registers.units else u
                for u in units]
            unit.send(await self._admin_notice("admin.group_lost_roles", title=title,
                                               roles=", ".join(lost)))

    async def rate(self, unit: ActorUnit, request_id: int, stars: int) -> Answer:
        """Store 1-5 stars and ask for an optional comment."""
        env, t = self.env, self.env.t
        if not 1 <= stars <= 5:
            return Answer(t(self.env.config.default_language, "common.stale"), alert=True)
        repo, lang, who = unit.repo, unit.language, unit.who
        now = env.now()
        if not await repo.requests.rate(request_id, who.user_id, stars, now):
            return Answer(t(lang, "rate.already_rated"), alert=True)
        await repo.requests.add_event(request_id, "rated", who.user_id, now, {"stars": stars})
        await self.push_dialog(unit, Flow.COMMENT, "text",
                               {"request_id": request_id})
        request = await repo.requests.request(request_id)
        assert request is not None  # just rated
        unit.send(self._comment_question(lang, who.user_id, request))
        return Answer(t(lang, "rate.stars_saved", stars=stars))

    def _comment_question(self, lang: str, user_id: int, request: Request) -> Outgoing:
        t = self.env.t
        skip = ui.inline([[(t(lang, "common.skip"), buttons.NO_COMMENT.data(request.id))]])
        return ui.message(user_id, t(lang, "rate.ask_comment", ref=request.ref), skip)

    async def comment_again(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing] | str:
        """A comment after rating back on top: asked again, with Skip (a request erased
        meanwhile: nothing to comment on, it ends quietly)."""
        request = await unit.repo.requests.request(int(dialog.data["request_id"]))
        if request is None:
            return ""
        return [self._comment_question(unit.language, unit.user_id, request)]

    async def finish_comment(
        self, repo: Repo, who: Who, lang: str, request_id: int, text: str | None
    ) -> list[Outgoing]:
        """Store the optional comment; what to say to the citizen."""
        now = self.env.now()
        await self.pop_dialog(repo, who.user_id, Flow.COMMENT)
        if text is not None:
            if not await repo.requests.add_comment(request_id, who.user_id, text, now):
                return [ui.message(who.user_id, self.env.t(lang, "common.stale"))]
            await repo.requests.add_event(request_id, "commented", who.user_id, now)
        return [ui.message(who.user_id, self.env.t(lang, "rate.thanks"),
                           self.citizen_menu(lang))]

    # -- neighbours who joined (the duplicate check at intake, issue 18.1) ------------------

    async def join(self, repo: Repo, who: Who, lang: str,
                   request_id: int) -> tuple[str, list[Outgoing]]:
        """A neighbour joins an open request instead of filing the same problem again: they
        follow it and it counts one more on its cards. The outcome ('joined'; 'gone': it is
        no longer open; 'refused': unknown, theirs, or followed already) and what to send."""
        t, now = self.env.t, self.env.now()
        request = await repo.requests.request(request_id)
        if (request is None or request.citizen_id == who.user_id
                or await repo.requests.follows(request_id, who.user_id)):
            return "refused", []
        if request.status not in JOINABLE:
            return "gone", [ui.message(who.user_id, t(
                lang, f"follow.gone.{_shown_status(request)}", ref=request.ref))]
        if not await repo.requests.follow(request_id, who.user_id, lang, now):
            return "refused", []
        await repo.requests.add_event(request_id, "joined", who.user_id, now)
        joined = await repo.requests.request(request_id)
        assert joined is not None
        out = await self.card_updates(repo, joined)
        # The form's reply keyboard (Share my location) goes, then the menu comes back.
        out += [ui.message(who.user_id, t(lang, "follow.joined", ref=joined.ref,
                                          status=render.status_name(self.env, joined.status,
                                                                    lang)),
                           ui.REMOVE_KEYBOARD),
                ui.message(who.user_id, t(lang, "menu.title"), self.citizen_menu(lang))]
        return "joined", out

    async def follower_news(self, repo: Repo, request: Request, what: str,
                            not_before: float | None = None) -> list[Outgoing]:
        """Tell each neighbour who joined the request what became of it, in their language:
        the reference and the category only, never who claimed it or the citizen's details;
        a closed request asks for their own stars. `not_before`: held for quiet hours."""
        if not request.followers:
            return []  # most requests have none: no read for them
        env, out = self.env, []
        for user_id, lang in await repo.requests.followers(request.id):
            markup = None
            if what == "closed":
                markup = ui.inline([[("⭐" * n, buttons.FOLLOW_STARS.data(request.id, n))
                                     for n in range(1, 6)]])
            text = env.t(lang, f"follow.{what}", ref=request.ref,
                         category=render.category_name(env, request.category, lang))
            if not_before is not None:  # held for the morning already: it rings then
                out.append(ui.message(user_id, text, markup, purpose="quiet",
                                      not_before=not_before))
            else:
                out.append(self.news(ui.message(user_id, text, markup)))
        return out

    async def rate_as_follower(self, unit: ActorUnit, request_id: int, stars: int) -> Answer:
        """Store a neighbour's own stars for a request they joined, once it is closed."""
        if not 1 <= stars <= 5:
            return Answer(unit.t("common.stale"), alert=True)
        now = self.env.now()
        if not await unit.repo.requests.rate_as_follower(request_id, unit.user_id, stars, now):
            return Answer(unit.t("follow.not_rated"), alert=True)
        await unit.repo.requests.add_event(request_id, "follower_rated", unit.user_id, now,
                                           {"stars": stars})
        unit.send(ui.message(unit.user_id, unit.t("follow.rated", stars=stars),
                             self.citizen_menu(unit.language)))
        return Answer(unit.t("rate.stars_saved", stars=stars))

    # -- cancel and lists ------------------------------------------------------------------

    async def my_requests(self, unit: ActorUnit) -> None:
        """List the citizen's requests, newest first, with Cancel on the open ones."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        requests = await repo.requests.citizen_requests(who.user_id, MY_REQUESTS_SHOWN)
        if not requests:
            out = [ui.message(who.user_id, t(lang, "my.none"), self.citizen_menu(lang))]
        else:
            lines = [t(lang, "my.title")] + [
                render.request_line(env, r, lang) for r in requests
            ]
            rows = [
                [(t(lang, "my.cancel_button", ref=r.ref), buttons.CANCEL.data(r.id))]
                for r in requests
                if r.status in (DISPATCHED, CLAIMED)
            ]
            markup = ui.inline(rows) if rows else None
            out = [ui.message(who.user_id, "\n".join(lines), markup)]
        unit.send(out)

    async def ask_cancel(self, unit: ActorUnit, request_id: int) -> Answer:
        """Ask the citizen to confirm cancelling a request."""
        repo, lang, who = unit.repo, unit.language, unit.who
        answer, out = await self.ask_cancel_in(repo, who, lang, request_id)
        unit.send(out)
        return answer

    async def ask_cancel_in(
        self, repo: Repo, who: Who, lang: str, request_id: int
    ) -> tuple[Answer, list[Outgoing]]:
        """The Cancel confirmation, inside the caller's transaction: the answer to show and
        the messages to queue with it."""
        t = self.env.t
        request = await repo.requests.request(request_id)
        if request is None or request.citizen_id != who.user_id:
            return Answer(t(lang, "common.not_yours"), alert=True), []
        if request.status not in (DISPATCHED, CLAIMED):
            return Answer(t(lang, "my.cannot_cancel"), alert=True), []
        keyboard = ui.inline([[
            (t(lang, "my.cancel_yes"), buttons.CANCEL_YES.data(request_id)),
            (t(lang, "my.cancel_no"), buttons.CANCEL_NO.data(request_id)),
        ]])
        text = t(lang, "my.cancel_confirm", ref=request.ref)
        return Answer(), [ui.message(who.user_id, text, keyboard)]

    async def keep(self, unit: ActorUnit, request_id: int) -> Answer:
        """No, keep it: said back, so the tap is seen to land; a request no longer open has
        nothing to keep (the confirmation stays under a request cancelled since)."""
        t, lang = self.env.t, unit.language
        request = await unit.repo.requests.request(request_id)
        if request is None or request.citizen_id != unit.user_id:
            return Answer(t(lang, "common.not_yours"), alert=True)
        if request.status not in (DISPATCHED, CLAIMED):
            return Answer(t(lang, "my.kept_closed", ref=request.ref), alert=True)
        return Answer(t(lang, "my.kept_toast", ref=request.ref))

    async def cancel(self, unit: ActorUnit, request_id: int) -> Answer:
        """Cancel the citizen's request; the group card and any volunteer are told."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        before = await repo.requests.request(request_id)
        now = env.now()
        if before is None or before.citizen_id != who.user_id:
            return Answer(t(lang, "common.not_yours"), alert=True)
        if not await repo.requests.cancel_by_citizen(request_id, who.user_id, now):
            return Answer(t(lang, "my.cannot_cancel"), alert=True)
        await repo.requests.add_event(request_id, "cancelled", who.user_id, now, {"by": "citizen"})
        await self.stop_clocks(repo, request_id)
        request = await repo.requests.request(request_id)
        assert request is not None
        out = await self.card_updates(repo, request)
        out.append(ui.message(who.user_id, t(lang, "my.cancelled", ref=request.ref),
                              self.citizen_menu(lang)))
        out += await self.follower_news(repo, request, "cancelled")
        if before.volunteer_id is not None:
            vlang = await self.language_of(repo, before.volunteer_id)
            out.append(self.news(ui.message(before.volunteer_id, t(
                vlang, "task.cancelled_by_citizen", ref=request.ref))))
        unit.send(out)
        return Answer(t(lang, "my.cancelled_toast"))

    # -- admin ------------------------------------------------------------------------------

    async def bind(
        self, unit: ActorUnit, chat_id: int, chat_title: str, chat_is_group: bool,
        args: list[str], role: Role | None,
    ) -> None:
        """Make the group where an admin typed /bind <category> [area] the volunteer group of
        that category in that area (the whole district without one: centre admins only; an
        area admin binds inside their areas)."""
        env, t, tree = self.env, self.env.t, self.env.config.areas
        codes = ", ".join(c.code for c in env.config.categories)
        repo, lang, who = unit.repo, unit.language, unit.who
        area = args[1].lower() if len(args) == 2 else None
        if role is None:
            text = t(lang, "admin.not_admin")
        elif not chat_is_group:
            text = t(lang, "admin.bind_in_group")
        elif len(args) not in (1, 2) or env.config.category(args[0].lower()) is None:
            text = t(lang, "admin.bind_usage", codes=codes)
        elif area is not None and (tree is None or area not in tree):
            text = t(lang, "admin.unknown_area", area=area)
        elif not role.centre and (area is None or (tree is not None and area == tree.root)
                                  or not role.covers(area)):
            text = t(lang, "admin.bind_outside_areas", areas=", ".join(
                render.area_name(env, a, lang) for a in role.areas))
        else:
            code = args[0].lower()
            level = DISTRICT if area is None or (tree and area == tree.root) else area
            # Typed in a forum's topic: the cards go to that topic (unit.topic), not General.
            topic = await topic_to_bind(unit, chat_id)
            before = await repo.areas.place(code, level)
            await repo.areas.bind(code, level, chat_id, chat_title, who.user_id, env.now(),
                                  topic.thread_id if topic else None,
                                  topic.name if topic else "")
            names = {"category": render.category_name(env, code, lang),
                     "area": render.area_name(env, level, lang)}
            text = (t(lang, "admin.bound_topic", topic=topic.name or topic.thread_id, **names)
                    if topic else t(lang, "admin.bound", **names))
            text += await cards_stay(unit, before, chat_id, topic.thread_id if topic else None,
                                     lambda away: repo.cards.open_in(chat_id, code, level, away))
        unit.send([ui.message(chat_id, text)])

    async def list_bindings(self, unit: ActorUnit, chat_id: int, role: Role | None) -> None:
        """List which group serves which category where (an area admin: in their areas)."""
        env, t = self.env, self.env.t
        repo, lang = unit.repo, unit.language
        lines = [t(lang, "admin.not_admin")]
        if role is not None:
            lines = [t(lang, "admin.bindings_title")]
            for code, level, chat, title, topic in await repo.areas.binding_list():
                if not role.centre and not role.covers(level):
                    continue
                names = {"category": render.category_name(env, code, lang),
                         "area": render.area_name(env, level, lang), "chat": title or str(chat)}
                lines.append(t(lang, "admin.binding_topic_line", topic=topic, **names) if topic
                             else t(lang, "admin.binding_line", **names))
            for category in env.config.categories if role.centre else []:
                if category.group_id:
                    lines.append(t(lang, "admin.binding_config_line",
                                   category=category.name(lang), chat=category.group_id))
            if len(lines) == 1:
                lines.append(t(lang, "admin.no_bindings"))
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    # -- short dialogs that interrupt a draft -----------------------------------------------

    async def push_dialog(
        self, unit: ActorUnit, flow: Flow, step: str, data: dict[str, Any]
    ) -> None:
        """Start a dialog on top of the ones the person is in, keeping them underneath (a
        request draft, a visit, an activity being published, after photos half sent, a Done
        note …) so nothing begun is lost: each comes back when the one above it ends. A
        lookup on top (LOOKUPS) is replaced; the same dialog about the same thing started
        again starts afresh."""
        repo, user_id = unit.repo, unit.user_id
        current = await repo.people.dialog(user_id)
        await self._cover(unit, current, subject(flow, data))
        # The same dialog started again starts afresh wherever the old one lay: it does not
        # come back later (to be sent twice), and the stack holds each dialog once.
        new = subject(flow, data)
        kept = _without(_kept_under(current), new)
        if current is not None:
            stays = {subject(layer["flow"], layer["data"]) for layer in _layers(kept)}
            for layer in _layers(_as_layer(current)):
                if subject(layer["flow"], layer["data"]) not in stays:
                    await self._drop(repo, layer)
        if kept is not None:
            data = {**data, "resume": kept}
        await repo.people.save_dialog(Dialog(user_id, flow, step, data), self.env.now())

    async def move_dialog(self, repo: Repo, dialog: Dialog, step: str,
                          data: dict[str, Any]) -> Dialog:
        """The dialog on top moved to a step with new data; what is kept under it stays
        under it, whatever `data` holds (a step never drops the stack)."""
        moved = Dialog(dialog.user_id, dialog.flow, step, _over(data, dialog.data.get("resume")))
        await repo.people.save_dialog(moved, self.env.now())
        return moved

    async def kept(self, repo: Repo, user_id: int, flow: Flow,
                   about: Any) -> dict[str, Any] | None:
        """The data of the person's dialog of that flow about that thing, on top or kept
        under others (without what lies under it); None if they are in no such dialog."""
        current = await repo.people.dialog(user_id)
        if current is None:
            return None
        found = next((layer for layer in _layers(_as_layer(current))
                      if subject(layer["flow"], layer["data"]) == (flow, about)), None)
        if found is None:
            return None
        return _over(found["data"], None)

    async def bring_up(self, unit: ActorUnit, flow: Flow, about: Any,
                       step: str) -> Dialog | None:
        """The person's dialog of that flow about that thing at that step, brought to the top
        if it lies under others (they stay, under it now: the one that was on top comes back
        when it ends); None if they are in no such dialog. A button of a kept short dialog
        (the note's Skip, the hours, the comment's Skip) finishes it this way: the press
        names the dialog and what it does, so nothing is guessed."""
        repo, user_id = unit.repo, unit.user_id
        current = await repo.people.dialog(user_id)
        if current is None:
            return None
        which = (flow, about)
        layers = _layers(_as_layer(current))
        found = next((layer for layer in layers
                      if subject(layer["flow"], layer["data"]) == which), None)
        if found is None or found["step"] != step:
            return None
        if found is layers[0]:
            return current  # on top already
        await self._cover(unit, current, which)
        dialog = Dialog(user_id, flow, step,
                        _over(found["data"], _without(_kept_under(current), which)))
        await repo.people.save_dialog(dialog, self.env.now())
        return dialog

    async def draft_on_top(self, unit: ActorUnit) -> Dialog | None:
        """The request form the person has begun, brought to the top of their dialogs if a
        long one lies over it (what lay on it stays, under it now); None if they have none.
        /new and /forneighbour resume it there rather than drop what it came under."""
        dialog = await self.long_on_top(unit, Flow.INTAKE)
        if dialog is not None:
            await self.restart_draft_clock(unit.repo, unit.user_id)
        return dialog

    async def long_on_top(self, unit: ActorUnit, flow: Flow) -> Dialog | None:
        """The long dialog of that flow the person has begun (a request form, an activity
        being published, a call …), brought to the top if others lie over it (they stay,
        under it now); None if they have none. Its command typed again resumes it there
        rather than start a blank one over the kept one: /cancel drops it, to start afresh."""
        repo, user_id = unit.repo, unit.user_id
        current = await repo.people.dialog(user_id)
        if current is None or current.flow == flow:
            return current
        kept = next((layer for layer in _layers(current.data.get("resume"))
                     if layer["flow"] == flow), None)
        if kept is None:
            return None
        await self._cover(unit, current, (flow, None))
        dialog = Dialog(user_id, flow, kept["step"],
                        _over(kept["data"], _without(_kept_under(current), (flow, None))))
        await repo.people.save_dialog(dialog, self.env.now())
        return dialog

    async def pressed_form(self, unit: ActorUnit, flow: Flow,
                           form_id: str | None) -> Dialog | str | None:
        """The long form a button was pressed under (its id, None for a registration): the
        dialog if it is on top (a lookup over it gives way, as to anything begun); the line
        saying what to finish first if it is kept under another, and nothing changes (a
        step of it would leave it on top in the middle of what the person is doing); None
        if the person is in no such form."""
        repo, user_id = unit.repo, unit.user_id
        current = await repo.people.dialog(user_id)
        if current is None:
            return None
        layers = _layers(_as_layer(current))
        at = next((i for i, layer in enumerate(layers) if layer["flow"] == flow
                   and layer["data"].get("id") == form_id), None)
        if at is None:
            return None
        if at == 0:
            return current
        if all(layer["flow"] in LOOKUPS for layer in layers[:at]):
            await self._cover(unit, current, (flow, form_id))
            found = layers[at]
            dialog = Dialog(user_id, flow, found["step"], found["data"])
            await repo.people.save_dialog(dialog, self.env.now())
            return dialog
        return unit.t("common.finish_first", top=unit.t(f"dialog.{current.flow}"),
                      form=unit.t(f"dialog.{flow}"))

    async def form_again(self, unit: ActorUnit, flow: Flow, command: str) -> bool:
        """A long form's command typed while the person has one begun: that one on top, with
        a line saying how to start afresh and its question again; False if they have none."""
        if await self.long_on_top(unit, flow) is None:
            return False
        unit.send(ui.message(unit.user_id, unit.t("common.form_kept", command=command)))
        await self.back_to_draft(unit)
        return True

    async def _cover(self, unit: ActorUnit, current: Dialog | None,
                     coming: tuple[str, Any]) -> None:
        """The dialog on top is about to lie under another (not begun again itself), or a
        lookup on top to give way: what it says as it goes."""
        if current is None or subject(current.flow, current.data) == coming:
            return
        if current.flow in LOOKUPS:
            # A lookup gives way for good: its location button goes with it, or a later tap
            # would send the location to whatever dialog is on top then.
            unit.send(ui.message(unit.user_id, unit.t("common.location_not_needed"),
                                 ui.REMOVE_KEYBOARD))
            return
        hook = self.covered.get(current.flow)
        if hook is not None:
            unit.send(await hook(unit, current))

    async def _drop(self, repo: Repo, layer: dict[str, Any]) -> None:
        """A dialog dropped for good: what it leaves behind is closed (a visit's row)."""
        hook = self.dropped.get(layer["flow"])
        if hook is not None:
            await hook(repo, layer["data"])

    async def asking(self, repo: Repo, user_id: int, flow: Flow, key: str, value: Any) -> bool:
        """Whether this dialog, about this (`data[key]` is `value`), is on top: its question
        was just asked, and a second tap of the button that asks it (a double tap) must not
        start it afresh and ask again (it answers common.asked_already instead)."""
        current = await repo.people.dialog(user_id)
        return (current is not None and current.flow == flow
                and current.data.get(key) == value)

    async def pop_dialog(self, repo: Repo, user_id: int, flow: str) -> bool:
        """End a dialog and bring back the one it interrupted, if any; True if one is back
        (its question should be asked again: back_to_draft)."""
        current = await repo.people.dialog(user_id)
        if current is None or current.flow != flow:
            return False
        await self._drop(repo, _as_layer(current))
        resume = current.data.get("resume")
        if resume:
            await repo.people.save_dialog(
                Dialog(user_id, resume["flow"], resume["step"], resume["data"]), self.env.now()
            )
            if resume["flow"] == Flow.INTAKE:
                await self.restart_draft_clock(repo, user_id)
            return True
        await repo.people.end_dialog(user_id)
        return False

    async def back_to_draft(self, unit: ActorUnit) -> None:
        """Ask the question of the dialog that a dialog's end brought back (its own asker,
        which bot/wiring.py sets: the forms live above this module)."""
        if self.draft_question is not None:
            unit.send(await self.draft_question(unit))

    async def restart_draft_clock(self, repo: Repo, user_id: int) -> None:
        """A draft was just touched: nudge if it idles, expire it later."""
        now, schedule = self.env.now(), self.env.config.schedule
        await repo.timers.cancel_timers(now, user_id=user_id)
        await repo.timers.schedule("draft_nudge", now + schedule.draft_nudge, now, user_id=user_id)
        await repo.timers.schedule(
            "draft_expire", now + schedule.draft_expire, now, user_id=user_id)


def _as_layer(dialog: Dialog) -> dict[str, Any]:
    """A dialog as a layer of a stack of kept dialogs (the top one)."""
    return {"flow": dialog.flow, "step": dialog.step, "data": dialog.data}


def _layers(layer: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The layers of a stack of kept dialogs, top first."""
    found = []
    while layer:
        found.append(layer)
        layer = layer["data"].get("resume")
    return found


def depth(dialog: Dialog | None) -> int:
    """How many dialogs the person is in: the one on top and those kept under it."""
    return len(_layers(_as_layer(dialog))) if dialog is not None else 0


def _kept_under(current: Dialog | None) -> dict[str, Any] | None:
    """The stack a dialog begun now goes on: all the person is in, but a lookup on top."""
    if current is None:
        return None
    return current.data.get("resume") if current.flow in LOOKUPS else _as_layer(current)


def _without(layer: dict[str, Any] | None, which: tuple[str, Any]) -> dict[str, Any] | None:
    """A stack of kept dialogs (a "resume" value) without the layers of that flow and
    subject; what lay under a layer taken out moves up."""
    if not layer:
        return None
    below = _without(layer["data"].get("resume"), which)
    if subject(layer["flow"], layer["data"]) == which:
        return below
    return {**layer, "data": _over(layer["data"], below)}


def _over(data: dict[str, Any], under: dict[str, Any] | None) -> dict[str, Any]:
    """A dialog's own data (what it kept under it dropped), with `under` kept under it."""
    own = {k: v for k, v in data.items() if k != "resume"}
    if under:
        own["resume"] = under
    return own


def without_kept(data: dict[str, Any], which: tuple[str, Any]) -> dict[str, Any] | None:
    """A dialog's data with the dialogs kept under it of that flow and subject taken out
    (what lay under them moves up); None if none was kept."""
    stack = data.get("resume")
    rest = _without(stack, which)
    return None if rest == stack else _over(data, rest)


def _shown_status(request: Request) -> str:
    """A request's status as its people read it: one handed to supervision is 'handed'."""
    return "handed" if request.cancelled_by == "supervision" else request.status


def _held_by(request: Request | None, who: Who) -> TypeGuard[Request]:
    """Say whether `who` is the volunteer working on this request right now."""
    return (request is not None and request.status == CLAIMED
            and request.volunteer_id == who.user_id)
