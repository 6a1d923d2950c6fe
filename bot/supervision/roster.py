"""Who does what in supervision (issue 16.2): inspection groups and their inspectors, the
points each group patrols, the group chat of each responsible unit, and the named people who
act for a unit. All of it is the admins' to set; every change is kept with who and when.

- `/inspector add <user> <group>` and `/inspector remove <user>`: centre admins (the district
  runs its inspection groups); a group is made the first time it is named.
- `/patrol <group> <what>`: which points a group patrols — point ids, `area:<id>` (the area
  and the areas below it), `kind:<road|market|…>` or `all`; a point another group patrolled
  moves. Centre admins.
- `/inspectors`: the groups, their inspectors and how many points each patrols, and how many
  points no group patrols yet.
- `/bind unit <id>`, typed in the unit's group: its chat (a centre admin, or an admin of the
  unit's area). `/unitmember add|remove <unit> <user>`: someone who acts for the unit in
  private (the same admins). `/units`: every unit, its chat, its people and its points.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot import night, ui
from bot.context import Env
from bot.people.menus import CommandMenus
from bot.people.roles import Role, Roles
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.supervision.registers import KINDS, Registers
from bot.unit import ActorUnit, Unit, cards_stay, topic_to_bind
from storage import Outgoing

GROUP_NAME = re.compile(r"^\S{1,20}$")


class SupervisionRoster:
    """Inspectors, patrol points, unit chats and unit members."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, menus: CommandMenus) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        self.menus = menus  # an inspector's or unit member's commands change with the role
        # Called once a unit's chat is bound, so what waited for it goes there
        # (Dispatch.unit_bound; set by bot/wiring.py, as dispatch.py sits beside this module).
        self.unit_bound: Callable[[Unit, str], Awaitable[None]] | None = None
        # Called when someone starts or stops acting for a unit, so their private copies of
        # its cards follow (Dispatch.member_changed; set by bot/wiring.py).
        self.member_changed: Callable[[Unit, str, int, bool], Awaitable[None]] | None = None

    def registers(self) -> Registers | None:
        """The points and units files, as last (re)loaded; None: supervision is off."""
        return self.env.config.supervision.registers

    def _off(self, unit: ActorUnit, chat_id: int) -> bool:
        """Say so and return True when no registers are configured."""
        if self.registers() is None:
            unit.send(ui.message(chat_id, unit.t("supervision.off")))
            return True
        return False

    # -- inspectors --------------------------------------------------------------------------

    async def inspector(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/inspector add <user> <group> | remove <user>."""
        if self._off(unit, chat_id):
            return
        if not self.roles.is_centre(unit.user_id):
            unit.send(ui.message(chat_id, unit.t("roles.centre_only")))
            return
        action = args[0].lower() if args else ""
        if not ((action == "add" and len(args) == 3) or (action == "remove" and len(args) == 2)):
            unit.send(ui.message(chat_id, unit.t("supervision.inspector_usage")))
            return
        repo, now = unit.repo, unit.now()
        person = await self.roles.find_user(repo, args[1])
        if person is None:
            unit.send(ui.message(chat_id, unit.t("roles.unknown_user", user=args[1])))
            return
        lang = await self.loop.language_of(repo, person.user_id)
        if action == "remove":
            if not await repo.supervision.revoke_inspector(person.user_id, unit.user_id, now):
                unit.send(ui.message(chat_id, unit.t("supervision.not_inspector",
                                                     name=person.first_name)))
                return
            unit.send(ui.message(chat_id, unit.t("supervision.inspector_removed",
                                                 name=person.first_name)))
            unit.send(self._told(ui.message(person.user_id,
                                            self.env.t(lang, "supervision.you_no_longer"))))
            unit.send(await self.menus.for_user(repo, person.user_id))
            return
        name = args[2]
        if not GROUP_NAME.match(name):
            unit.send(ui.message(chat_id, unit.t("supervision.bad_group_name")))
            return
        group_id = await repo.supervision.group_named(name)
        lines = []
        if group_id is None:
            group_id = await repo.supervision.create_group(name, unit.user_id, now)
            lines.append(unit.t("supervision.group_made", group=name))
        current = await repo.supervision.inspector_group(person.user_id)
        if current is not None and current[0] == group_id:
            unit.send(ui.message(chat_id, unit.t("supervision.already_inspector",
                                                 name=person.first_name, group=current[1])))
            return
        await repo.supervision.add_inspector(person.user_id, group_id, unit.user_id, now)
        group = current[1] if current is not None else ""
        lines.append(unit.t("supervision.inspector_moved" if current else
                            "supervision.inspector_added", name=person.first_name,
                            group=await self._group_name(unit, group_id), before=group))
        unit.send(ui.message(chat_id, "\n".join(lines)))
        unit.send(self._told(ui.message(person.user_id, self.env.t(
            lang, "supervision.you_are_inspector",
            group=await self._group_name(unit, group_id)))))
        unit.send(await self.menus.for_user(repo, person.user_id))

    def _told(self, message: Outgoing) -> Outgoing:
        """A person told of their new (or ended) role by an admin's command: held at night to
        08:00 (bot/night.py)."""
        return night.at_night(self.env, "roster.told", message)

    async def _group_name(self, unit: ActorUnit, group_id: int) -> str:
        return dict(await unit.repo.supervision.groups()).get(group_id, str(group_id))

    async def list_inspectors(self, unit: ActorUnit, chat_id: int) -> None:
        """/inspectors: each group with its inspectors and how many points it patrols."""
        if self._off(unit, chat_id):
            return
        role = await self.roles.of(unit.repo, unit.user_id)
        if role is None:
            unit.send(ui.message(chat_id, unit.t("admin.not_admin")))
            return
        registers = self.registers()
        assert registers is not None
        repo = unit.repo
        groups = await repo.supervision.groups()
        inspectors = await repo.supervision.inspectors()
        patrols = [(point, group) for point, group in await repo.supervision.patrols()
                   if point in registers.points]  # a point gone from the file counts no more
        lines = [unit.t("supervision.inspectors_title")]
        for group_id, name in groups:
            people = []
            for user_id, member_of in inspectors:
                if member_of == group_id:
                    user = await repo.people.user(user_id)
                    people.append(user.first_name if user else str(user_id))
            lines.append(unit.t("supervision.group_line", group=name,
                                points=sum(g == group_id for _, g in patrols),
                                people=", ".join(people) or "—"))
        if not groups:
            lines.append(unit.t("supervision.no_groups"))
        lines.append(unit.t("supervision.unpatrolled",
                            count=len(registers.points) - len(patrols),
                            total=len(registers.points)))
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    # -- patrol points -----------------------------------------------------------------------

    async def patrol(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/patrol <group> <what>…: the points a group patrols from now on."""
        if self._off(unit, chat_id):
            return
        if not self.roles.is_centre(unit.user_id):
            unit.send(ui.message(chat_id, unit.t("roles.centre_only")))
            return
        if len(args) < 2:
            unit.send(ui.message(chat_id, unit.t("supervision.patrol_usage")))
            return
        repo = unit.repo
        group_id = await repo.supervision.group_named(args[0])
        if group_id is None:
            unit.send(ui.message(chat_id, unit.t("supervision.no_such_group", group=args[0])))
            return
        chosen = self._select(args[1:])
        if isinstance(chosen, str):
            unit.send(ui.message(chat_id, unit.t("supervision.bad_selector", word=chosen)))
            return
        moved = await repo.supervision.assign_points(chosen, group_id, unit.user_id,
                                                     unit.now())
        unit.send(ui.message(chat_id, unit.t(
            "supervision.patrol_done", count=len(chosen), changed=moved,
            group=await self._group_name(unit, group_id))))

    def _select(self, words: list[str]) -> list[str] | str:
        """The point ids the words name, in register order; the first word that names none."""
        registers = self.registers()
        assert registers is not None
        tree = self.env.config.areas
        chosen: set[str] = set()
        for word in words:
            key = word.lower()
            if key == "all":
                chosen |= set(registers.points)
            elif key.startswith("kind:") and key[5:] in KINDS:
                chosen |= {p.id for p in registers.points.values() if p.kind == key[5:]}
            elif key.startswith("area:") and tree is not None and key[5:] in tree:
                below = set(tree.subtree(key[5:]))
                chosen |= {p.id for p in registers.points.values() if p.area_id in below}
            elif key in registers.points:
                chosen.add(key)
            else:
                return word
        return [point for point in registers.points if point in chosen]

    # -- units -------------------------------------------------------------------------------

    async def _may_manage_unit(self, unit: ActorUnit, unit_id: str) -> tuple[Role | None, bool]:
        """A centre admin any unit; an area admin the units of their areas."""
        registers = self.registers()
        assert registers is not None
        role = await self.roles.of(unit.repo, unit.user_id)
        responsible = registers.units.get(unit_id)
        allowed = role is not None and responsible is not None and (
            role.centre or (responsible.area_id is not None and role.covers(responsible.area_id)))
        return role, allowed

    async def bind_unit(self, unit: ActorUnit, chat_id: int, chat_title: str,
                        chat_is_group: bool, unit_id: str) -> None:
        """/bind unit <id>, in the unit's group (or a topic of it): problems for the unit are
        posted there."""
        if self._off(unit, chat_id):
            return
        registers = self.registers()
        assert registers is not None
        responsible = registers.units.get(unit_id.lower())
        if not chat_is_group:
            text = unit.t("supervision.bind_in_group")
        elif responsible is None:
            text = unit.t("supervision.no_such_unit", unit=unit_id)
        elif not (await self._may_manage_unit(unit, responsible.id))[1]:
            text = unit.t("supervision.unit_not_yours", unit=responsible.name(unit.language))
        else:
            # Typed in a forum's topic: the unit's problems go to that topic, not General.
            topic = await topic_to_bind(unit, chat_id)
            before = await unit.repo.supervision.unit_binding(responsible.id)
            await unit.repo.supervision.bind_unit(responsible.id, chat_id, chat_title,
                                                  unit.user_id, unit.now(),
                                                  topic.thread_id if topic else None,
                                                  topic.name if topic else "")
            name = responsible.name(unit.language)
            stay = await cards_stay(unit, before, chat_id, topic.thread_id if topic else None,
                                    lambda away: unit.repo.supervision.open_cards_in(
                                        responsible.id, chat_id, away))
            unit.send(ui.message(chat_id, (unit.t(
                "supervision.unit_bound_topic", unit=name, topic=topic.name or topic.thread_id)
                if topic else unit.t("supervision.unit_bound", unit=name)) + stay))
            if self.unit_bound is not None:  # its problems that waited for a chat come now
                await self.unit_bound(unit, responsible.id)
            return
        unit.send(ui.message(chat_id, text))

    async def member(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/unitmember add|remove <unit> <user>: someone who acts for a unit in private."""
        if self._off(unit, chat_id):
            return
        registers = self.registers()
        assert registers is not None
        action = args[0].lower() if args else ""
        if action not in ("add", "remove") or len(args) != 3:
            unit.send(ui.message(chat_id, unit.t("supervision.member_usage")))
            return
        responsible = registers.units.get(args[1].lower())
        if responsible is None:
            unit.send(ui.message(chat_id, unit.t("supervision.no_such_unit", unit=args[1])))
            return
        role, allowed = await self._may_manage_unit(unit, responsible.id)
        if not allowed:
            key = "admin.not_admin" if role is None else "supervision.unit_not_yours"
            unit.send(ui.message(chat_id, unit.t(key, unit=responsible.name(unit.language))))
            return
        repo, now = unit.repo, unit.now()
        person = await self.roles.find_user(repo, args[2])
        if person is None:
            unit.send(ui.message(chat_id, unit.t("roles.unknown_user", user=args[2])))
            return
        lang = await self.loop.language_of(repo, person.user_id)
        name = responsible.name(unit.language)
        if action == "add":
            if not await repo.supervision.add_member(responsible.id, person.user_id,
                                                     unit.user_id, now):
                unit.send(ui.message(chat_id, unit.t("supervision.member_already",
                                                     name=person.first_name, unit=name)))
                return
            unit.send(ui.message(chat_id, unit.t("supervision.member_added",
                                                 name=person.first_name, unit=name)))
            unit.send(self._told(ui.message(person.user_id, self.env.t(
                lang, "supervision.you_act_for", unit=responsible.name(lang)))))
            unit.send(await self.menus.for_user(repo, person.user_id))
            if self.member_changed is not None:
                await self.member_changed(unit, responsible.id, person.user_id, True)
            return
        if not await repo.supervision.remove_member(responsible.id, person.user_id,
                                                    unit.user_id, now):
            unit.send(ui.message(chat_id, unit.t("supervision.member_not",
                                                 name=person.first_name, unit=name)))
            return
        unit.send(ui.message(chat_id, unit.t("supervision.member_removed",
                                             name=person.first_name, unit=name)))
        unit.send(self._told(ui.message(person.user_id, self.env.t(
            lang, "supervision.you_no_longer_act", unit=responsible.name(lang)))))
        unit.send(await self.menus.for_user(repo, person.user_id))
        if self.member_changed is not None:
            await self.member_changed(unit, responsible.id, person.user_id, False)

    async def list_units(self, unit: ActorUnit, chat_id: int) -> None:
        """/units: each unit (an area admin: of their areas) with its chat (and topic), its
        people and how many points it answers for; those without a chat first, since nothing
        reaches them."""
        if self._off(unit, chat_id):
            return
        role = await self.roles.of(unit.repo, unit.user_id)
        if role is None:
            unit.send(ui.message(chat_id, unit.t("admin.not_admin")))
            return
        registers = self.registers()
        assert registers is not None
        chats = await unit.repo.supervision.unit_chats()
        shown = [u for u in registers.units.values()
                 if role.centre or (u.area_id is not None and role.covers(u.area_id))]
        shown.sort(key=lambda u: (u.id in chats, u.id))
        lines = [unit.t("supervision.units_title")]
        for responsible in shown:
            members = await unit.repo.supervision.members(responsible.id)
            place = chats.get(responsible.id)
            key = ("supervision.unit_line_no_chat" if place is None
                   else "supervision.unit_topic_line" if place[2] is not None
                   else "supervision.unit_line")
            # Where its cards go, named as /bindings names a category's: group › topic.
            where = {"chat": place[1] or str(place[0]), "topic": place[2]} if place else {}
            lines.append(unit.t(
                key, unit=responsible.name(unit.language), id=responsible.id,
                area=render.area_name(self.env, responsible.area_id, unit.language),
                points=len(registers.points_of(responsible.id)), people=len(members),
                **where))
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])
