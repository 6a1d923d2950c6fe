"""The admin console's own commands: area admins (/grant, /revoke, /admins), bans (/ban,
/unban), and broadcasts to an area's volunteers (/broadcast, previewed before it goes)."""

from __future__ import annotations

from bot import buttons, night, ui
from bot.config import ConfigError
from bot.console.reload import ConfigReloader
from bot.context import Answer, Env
from bot.people.menus import CommandMenus
from bot.people.roles import Role, Roles
from bot.requests import render
from bot.requests.loop import DISTRICT, RequestLoop
from bot.unit import ActorUnit, Unit
from storage import Outgoing, User

REASON_MAX = 200
BROADCAST_MAX = 3500  # with the header, well inside Telegram's 4096 characters


# A refused admin command in a group is answered in private at most this often per person.
REFUSAL_EVERY = 600.0
REFUSALS_KEPT = 10_000

class AdminConsole:
    """Roles, moderation and broadcasts; every decision is stored with who made it."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, menus: CommandMenus,
                 reloader: ConfigReloader) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        self.menus = menus
        self.reloader = reloader
        # Who was last told they may not use admin commands in a group, and when.
        self._refused: dict[int, float] = {}
        # Which groups were last told that a command sent as the group cannot run, and when.
        self._anonymous: dict[int, float] = {}

    def _reply(self, unit: Unit, chat_id: int, lines: list[str]) -> None:
        """Answer in the chat the command came from, in as many messages as it takes."""
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    async def refuse_in_group(self, unit: ActorUnit, command: str) -> None:
        """Someone who is no admin typed an admin command in a group: the group hears
        nothing (its 20 messages a minute are for cards), and they are told in private,
        once per REFUSAL_EVERY, if they have opened the bot."""
        now = self.env.now()
        last = self._refused.get(unit.user_id)
        if last is not None and now - last < REFUSAL_EVERY:
            return
        if len(self._refused) > REFUSALS_KEPT:  # forget the old ones: memory stays bounded
            self._refused = {u: at for u, at in self._refused.items()
                             if now - at < REFUSAL_EVERY}
        unit.after_commit(lambda: self._refused.__setitem__(unit.user_id, now))
        if unit.user is not None and unit.user.started and not unit.user.blocked:
            unit.send(ui.message(unit.user_id, unit.t("admin.not_admin_group", command=command)))

    async def explain_anonymous(self, unit: Unit, chat_id: int, command: str) -> None:
        """A command sent as the group (an anonymous admin) or a channel: say in the group,
        at most once per REFUSAL_EVERY there, why it was not run and what to do."""
        now = self.env.now()
        last = self._anonymous.get(chat_id)
        if last is not None and now - last < REFUSAL_EVERY:
            return
        if len(self._anonymous) > REFUSALS_KEPT:
            self._anonymous = {c: at for c, at in self._anonymous.items()
                               if now - at < REFUSAL_EVERY}
        unit.after_commit(lambda: self._anonymous.__setitem__(chat_id, now))
        unit.send(ui.message(chat_id, unit.t("admin.anonymous", command=command)))

    def _name(self, user: User) -> str:
        return f"{user.first_name or user.user_id} ({user.user_id})"

    # -- the configuration -------------------------------------------------------------------

    async def topic_named(self, unit: Unit, chat_id: int, thread_id: int, name: str) -> None:
        """A forum topic was made or renamed: its name is kept, and the categories, teams and
        units bound to it show it (/bindings, /units, the notice that it is gone). Nothing is
        said: a rename is the group's own business."""
        await unit.repo.areas.name_topic(chat_id, thread_id, name[:128])

    async def reload(self, unit: ActorUnit, chat_id: int) -> None:
        """/reload: read the teams, areas, categories and themes again (centre admins, in
        private or the admin chat); a broken file is refused and the running configuration
        stays."""
        if not self.roles.is_centre(unit.user_id):
            self._reply(unit, chat_id, [unit.t("roles.centre_only")])
            return
        try:
            done = await self.reloader.reload(unit.repo)
        except ConfigError as exc:
            self._reply(unit, chat_id, [unit.t("admin.reload_refused", error=str(exc))])
            return
        lines = [unit.t("admin.reloaded", areas=done.areas, categories=done.categories,
                        teams=done.teams, themes=done.themes)]
        if done.restart_needed:
            lines.append(unit.t("admin.reload_restart", sections=", ".join(done.restart_needed)))
        self._reply(unit, chat_id, lines)

    # -- area admins -------------------------------------------------------------------------

    async def grant(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/grant <user> <area>: make someone an admin of an area (centre admins only)."""
        env, t, tree = self.env, self.env.t, self.env.config.areas
        repo, lang, who = unit.repo, unit.language, unit.who
        target = await self.roles.find_user(repo, args[0]) if len(args) == 2 else None
        area = args[1].lower() if len(args) == 2 else ""
        out: list[Outgoing] = []
        if not self.roles.is_centre(who.user_id):
            lines = [t(lang, "roles.centre_only")]
        elif len(args) != 2:
            lines = [t(lang, "roles.grant_usage")]
        elif tree is None or area not in tree or area == tree.root:
            lines = [t(lang, "admin.unknown_area", area=args[1]), t(lang, "roles.grant_usage")]
        elif target is None:
            lines = [t(lang, "roles.unknown_user", user=args[0])]
        elif self.roles.is_centre(target.user_id):
            lines = [t(lang, "roles.is_centre", name=self._name(target))]
        elif not await repo.people.grant(target.user_id, area, who.user_id, env.now()):
            lines = [t(lang, "roles.already", name=self._name(target),
                       area=render.area_name(env, area, lang))]
        else:
            lines = [t(lang, "roles.granted", name=self._name(target),
                       area=render.area_name(env, area, lang))]
            tlang = env.t.language_for(target.language, None)
            out.append(night.at_night(env, "roles.told", ui.message(target.user_id, t(
                tlang, "roles.you_are_admin", area=render.area_name(env, area, tlang)))))
            out += await self.menus.for_user(repo, target.user_id)
        self._reply(unit, chat_id, lines)
        unit.send(out)

    async def revoke(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/revoke <user> [area]: end someone's area admin role (one area, or all)."""
        env, t, tree = self.env, self.env.t, self.env.config.areas
        repo, lang, who = unit.repo, unit.language, unit.who
        target = await self.roles.find_user(repo, args[0]) if len(args) in (1, 2) else None
        area = args[1].lower() if len(args) == 2 else None
        out: list[Outgoing] = []
        if not self.roles.is_centre(who.user_id):
            lines = [t(lang, "roles.centre_only")]
        elif len(args) not in (1, 2):
            lines = [t(lang, "roles.revoke_usage")]
        elif area is not None and (tree is None or area not in tree):
            lines = [t(lang, "admin.unknown_area", area=args[1]),
                     t(lang, "roles.revoke_usage")]
        elif target is None:
            lines = [t(lang, "roles.unknown_user", user=args[0])]
        elif not await repo.people.revoke(target.user_id, area, who.user_id, env.now()):
            lines = [t(lang, "roles.not_granted", name=self._name(target))]
        else:
            where = render.area_name(env, area, lang) if area else t(lang, "roles.any_area")
            lines = [t(lang, "roles.revoked", name=self._name(target), area=where)]
            tlang = env.t.language_for(target.language, None)
            twhere = render.area_name(env, area, tlang) if area else t(tlang, "roles.any_area")
            out.append(night.at_night(env, "roles.told", ui.message(
                target.user_id, t(tlang, "roles.you_are_no_longer", area=twhere))))
            out += await self.menus.for_user(repo, target.user_id)
        self._reply(unit, chat_id, lines)
        unit.send(out)

    async def bind(self, unit: ActorUnit, chat_id: int, chat_title: str, chat_is_group: bool,
                   args: list[str]) -> None:
        """/bind <category> [area]: a centre admin anywhere, an area admin in their areas."""
        role = await self.roles.of(unit.repo, unit.user_id)
        await self.loop.bind(unit, chat_id, chat_title, chat_is_group, args, role)

    async def list_bindings(self, unit: ActorUnit, chat_id: int) -> None:
        """/bindings: which group serves which category where, within the admin's reach."""
        role = await self.roles.of(unit.repo, unit.user_id)
        await self.loop.list_bindings(unit, chat_id, role)

    async def list_admins(self, unit: ActorUnit, chat_id: int) -> None:
        """/admins: the centre admins and every area admin with their areas."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        role = await self.roles.of(repo, who.user_id)
        if role is None:
            self._reply(unit, chat_id, [t(lang, "admin.not_admin")])
        else:
            lines = [t(lang, "roles.admins_title")]
            for admin_id in sorted(env.config.admin_ids):
                user = await repo.people.user(admin_id)
                lines.append(t(lang, "roles.centre_line",
                               name=self._name(user) if user else str(admin_id)))
            # An area admin sees the admins of their own areas, not everyone's.
            grants = [(user_id, area) for user_id, area in await repo.people.grant_list()
                      if role.covers(area)]
            for user_id, area in grants:
                user = await repo.people.user(user_id)
                lines.append(t(lang, "roles.area_line",
                               name=self._name(user) if user else str(user_id),
                               area=render.area_name(env, area, lang)))
            if not grants:
                lines.append(t(lang, "roles.no_area_admins"))
            self._reply(unit, chat_id, lines)

    # -- bans --------------------------------------------------------------------------------

    async def ban(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/ban <user> <reason>: refuse a citizen's new requests (centre admins only)."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        target = await self.roles.find_user(repo, args[0]) if len(args) >= 2 else None
        reason = " ".join(args[1:])
        if not self.roles.is_centre(who.user_id):
            lines = [t(lang, "roles.centre_only")]
        elif len(args) < 2:
            lines = [t(lang, "moderation.ban_usage")]
        elif ui.units(reason) > REASON_MAX:  # refused, never cut
            lines = [t(lang, "moderation.reason_too_long", count=ui.units(reason),
                       max=REASON_MAX)]
        elif target is None:
            lines = [t(lang, "roles.unknown_user", user=args[0])]
        elif await self.roles.of(repo, target.user_id) is not None:
            lines = [t(lang, "moderation.cannot_ban_admin", name=self._name(target))]
        elif not await repo.people.ban(target.user_id, reason, who.user_id, env.now()):
            lines = [t(lang, "moderation.already_banned", name=self._name(target))]
        else:
            lines = [t(lang, "moderation.banned", name=self._name(target), reason=reason)]
        self._reply(unit, chat_id, lines)

    async def unban(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/unban <user>: lift a ban (the record of it stays)."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        target = await self.roles.find_user(repo, args[0]) if len(args) == 1 else None
        if not self.roles.is_centre(who.user_id):
            lines = [t(lang, "roles.centre_only")]
        elif len(args) != 1:
            lines = [t(lang, "moderation.unban_usage")]
        elif target is None:
            lines = [t(lang, "roles.unknown_user", user=args[0])]
        elif not await repo.people.unban(target.user_id, who.user_id, env.now()):
            lines = [t(lang, "moderation.not_banned", name=self._name(target))]
        else:
            lines = [t(lang, "moderation.unbanned", name=self._name(target))]
        self._reply(unit, chat_id, lines)

    # -- broadcasts --------------------------------------------------------------------------

    async def broadcast(self, unit: ActorUnit, chat_id: int, text: str) -> None:
        """/broadcast <area> <text>: preview a message to the area's volunteers, with Send and
        Cancel for its author."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        role = await self.roles.of(repo, who.user_id)
        parts = text.split(None, 2)  # "/broadcast", the area, the text (lines kept)
        body = parts[2].strip() if len(parts) == 3 else ""
        area = self._broadcast_area(role, parts[1]) if role and len(parts) >= 2 else None
        if role is None:
            self._reply(unit, chat_id, [t(lang, "admin.not_admin")])
        elif not body:
            self._reply(unit, chat_id, [t(lang, "broadcast.usage")])
        elif area is None:
            self._reply(unit, chat_id, [t(lang, "broadcast.outside", area=parts[1]),
                                              t(lang, "broadcast.usage")])
        elif ui.units(body) > BROADCAST_MAX:
            self._reply(unit, chat_id, [t(lang, "broadcast.too_long",
                                                max=BROADCAST_MAX, count=ui.units(body))])
        else:
            recipients = await repo.volunteers.volunteers_in(self._subtree(area))
            name = render.area_name(env, area, lang)
            if not recipients:
                self._reply(unit, chat_id, [t(lang, "broadcast.nobody", area=name)])
            else:
                broadcast_id = await repo.broadcasts.add_broadcast(
                    who.user_id, area, body, env.now())
                keyboard = ui.inline([[
                    (t(lang, "broadcast.send"), buttons.BROADCAST.data(broadcast_id, "send")),
                    (t(lang, "broadcast.cancel"),
                     buttons.BROADCAST.data(broadcast_id, "cancel")),
                ]])
                preview = t(lang, "broadcast.preview", count=len(recipients), area=name,
                            text=body)
                unit.send([ui.message(chat_id, preview, keyboard)])

    def _broadcast_area(self, role: Role, word: str) -> str | None:
        """The area a broadcast goes to: any area in reach; the whole district for centre
        admins (the tree's root, or 'all' when there is no tree)."""
        tree = self.env.config.areas
        if role.centre and (word.lower() == "all" or (tree is not None
                                                      and word.lower() == tree.root)):
            return DISTRICT
        area = self.roles.area_arg(role, word)
        return DISTRICT if tree is not None and area == tree.root else area

    def _subtree(self, area: str) -> list[str] | None:
        tree = self.env.config.areas
        if tree is None or area == DISTRICT:
            return None  # every volunteer
        return tree.subtree(area)

    async def decide_broadcast(
        self, unit: ActorUnit, broadcast_id: int, send: bool, chat_id: int,
        message_id: int | None,
    ) -> Answer:
        """Send (queued through the outbox, paced like every message) or cancel a broadcast;
        only its author decides, once. The preview says what became of it (`message_id`
        None: it is out of reach, and a message says it instead)."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        draft = await repo.broadcasts.broadcast(broadcast_id)
        if draft is None or draft.author_id != who.user_id:
            return Answer(t(lang, "common.stale"), alert=True)
        role = await self.roles.of(repo, who.user_id)
        if role is None or (draft.area_id != DISTRICT and not role.covers(draft.area_id)) \
                or (draft.area_id == DISTRICT and not role.centre):
            return Answer(t(lang, "broadcast.no_longer"), alert=True)  # revoked since
        if draft.status != "draft":
            return Answer(t(lang, "broadcast.already", status=t(lang, f"broadcast.status_"
                                                                f"{draft.status}")),
                          alert=True)
        recipients = (await repo.volunteers.volunteers_in(self._subtree(draft.area_id))
                      if send else [])
        status = "sent" if send else "cancelled"
        decided = await repo.broadcasts.decide_broadcast(
            broadcast_id, status, len(recipients), env.now())
        if not decided:
            return Answer(t(lang, "common.stale"), alert=True)
        out = []
        for user_id, user_language in recipients:
            vlang = env.t.language_for(user_language or None, None)
            # At night at once, without a sound, as a call is (bot/night.py).
            out.append(night.at_night(env, "broadcast.message", ui.message(
                user_id, t(vlang, "broadcast.message",
                           area=render.area_name(env, draft.area_id, vlang), text=draft.text))))
        key = "broadcast.sent" if send else "broadcast.cancelled"
        preview = t(lang, "broadcast.preview", count=len(recipients), area=render.area_name(
            env, draft.area_id, lang), text=draft.text)
        out.append(ui.edit_text(chat_id, message_id,
                                f"{preview}\n\n{t(lang, key, count=len(recipients))}"))
        unit.send(out)
        return Answer(t(lang, key, count=len(recipients)))
