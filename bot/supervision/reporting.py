"""An inspector's visit (issue 16.3): /inspect in private picks the point (nearest first after
sharing a location, or found by name, or from the group's patrol list with the points due for
a visit first), then either "all clear" or one problem after another: its type from the
checklist, at least one before photo, a note and a severity that sets the rectification
deadline; each problem, once submitted, goes to its unit (bot/supervision/dispatch.py).

The dialog is a `dialogs` row (Flow.INSPECT), so a restart in the middle loses nothing; the
visit is a `visits` row from the moment the point is chosen, so a visit left half-way still
counts for the point's coverage.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot import buttons, ui
from bot.areas.tree import distance_km
from bot.context import Answer, Env, Said, days_between
from bot.dialogs import Flow
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.supervision.registers import Point, Registers
from bot.unit import ActorUnit
from storage import Dialog, Outgoing, Repo

NOTE_MAX = 500
PHOTOS_MAX = 6  # before photos per problem: an album of them and the after photos must fit 10
POINTS_SHOWN = 8  # point buttons at once
STEPS = ("point", "found", "type", "photos", "note", "severity", "preview")

# How a reported problem reaches its unit (Dispatch.dispatch; given in bot/wiring.py).
Dispatcher = Callable[[ActorUnit, int], Awaitable[None]]


class Reporting:
    """/inspect: a visit to a point and the problems found there."""

    def __init__(self, env: Env, loop: RequestLoop, dispatch: Dispatcher) -> None:
        self.env = env
        self.loop = loop  # its dialog helpers keep a request form under this dialog
        self.dispatch = dispatch
        loop.dropped[Flow.INSPECT] = self._dropped  # a visit dropped in any way is ended
        loop.covered[Flow.INSPECT] = self._covered  # its location button off while kept

    async def _dropped(self, repo: Repo, data: dict[str, Any]) -> None:
        """A visit's dialog is gone for good (/cancel, a new /inspect, its end): its row is
        ended too, so no visit is left open (a second end changes nothing)."""
        if data.get("visit") is not None:
            await repo.supervision.end_visit(int(data["visit"]), self.env.now())

    def registers(self) -> Registers | None:
        return self.env.config.supervision.registers

    # -- /inspect ----------------------------------------------------------------------------

    async def command(self, unit: ActorUnit) -> None:
        """Begin a visit: which point? (the group's patrol list, due points first)."""
        user_id = unit.user_id
        registers = self.registers()
        if registers is None:
            unit.send(ui.message(user_id, unit.t("supervision.off")))
            return
        group = await unit.repo.supervision.inspector_group(user_id)
        if group is None:
            unit.send(ui.message(user_id, unit.t("inspect.inspectors_only")))
            return
        # The visit begun, on top or kept under another, comes up rather than a second one.
        current = await self.loop.long_on_top(unit, Flow.INSPECT)
        if current is not None:
            unit.send(ui.message(user_id, unit.t("inspect.already")))
            unit.send(await self._ask(unit, current))
            return
        data: dict[str, Any] = {"id": secrets.token_hex(3), "group": group[0]}
        await self.loop.push_dialog(unit, Flow.INSPECT, "point", data)
        keyboard = ui.reply_keyboard([[{"text": unit.t("inspect.send_location"),
                                        "request_location": True}]])
        unit.send(ui.message(user_id, unit.t("inspect.intro", group=group[1]), keyboard))
        due = await self._patrol_list(unit, group[0])
        unit.send(self._point_choice(unit, data["id"], due, "inspect.patrol_list", None))

    async def _patrol_list(self, unit: ActorUnit, group_id: int) -> list[Point]:
        """The group's points, those not visited within the coverage period first (longest
        unvisited first), then the rest."""
        registers = self.registers()
        assert registers is not None
        mine = [point for point, group in await unit.repo.supervision.patrols()
                if group == group_id and point in registers.points]
        last = await unit.repo.supervision.last_visits(mine)
        period = self.env.config.supervision.coverage_period
        now = unit.now()
        mine.sort(key=lambda p: (now - last.get(p, 0.0) < period, last.get(p, 0.0), p))
        return [registers.points[p] for p in mine]

    def _point_choice(self, unit: ActorUnit, draft: str, points: list[Point], key: str,
                      near: tuple[float, float] | None) -> Outgoing:
        """A list of points as buttons (with the distance, after a shared location)."""
        rows = []
        for point in points[:POINTS_SHOWN]:
            label = point.name(unit.language)
            if near is not None and point.latitude is not None and point.longitude is not None:
                metres = 1000 * distance_km(near[0], near[1], point.latitude, point.longitude)
                label += " · " + self.env.t.distance(unit.language, metres)
            rows.append([(label, buttons.INSPECT.data(draft, "point", point.id))])
        if not rows:
            return ui.message(unit.user_id, unit.t("inspect.no_points"))
        return ui.message(unit.user_id, unit.t(key, count=len(points)), ui.inline(rows))

    # -- /due: the group's patrol list ---------------------------------------------------------

    async def due_command(self, unit: ActorUnit) -> None:
        """/due: the group's points not visited within the coverage period, longest unvisited
        first, each with when it was last visited; a shared location sorts them nearest first."""
        user_id = unit.user_id
        if self.registers() is None:
            unit.send(ui.message(user_id, unit.t("supervision.off")))
            return
        group = await unit.repo.supervision.inspector_group(user_id)
        if group is None:
            unit.send(ui.message(user_id, unit.t("inspect.inspectors_only")))
            return
        await self.loop.push_dialog(unit, Flow.PATROL, "location",
                                    {"group": group[0]})
        keyboard = ui.reply_keyboard([[{"text": unit.t("inspect.send_location"),
                                        "request_location": True}]])
        unit.send(await self._due_list(unit, group, None, keyboard))

    async def on_patrol_location(self, unit: ActorUnit, dialog: Dialog,
                                 said: Said) -> list[Outgoing]:
        """The location /due waits for: the same list, nearest first."""
        if said.kind != "location" or said.latitude is None or said.longitude is None:
            return [ui.message(unit.user_id, unit.t("inspect.want_location_or_cancel"))]
        await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.PATROL)
        group = await unit.repo.supervision.inspector_group(unit.user_id)
        if group is None:
            return [ui.message(unit.user_id, unit.t("inspect.inspectors_only"),
                               ui.REMOVE_KEYBOARD)]
        return [await self._due_list(unit, group, (said.latitude, said.longitude),
                                     ui.REMOVE_KEYBOARD)]

    async def _due_list(self, unit: ActorUnit, group: tuple[int, str],
                        near: tuple[float, float] | None,
                        markup: dict[str, Any] | None) -> Outgoing:
        registers = self.registers()
        assert registers is not None
        mine = [point for point, owner in await unit.repo.supervision.patrols()
                if owner == group[0] and point in registers.points]
        last = await unit.repo.supervision.last_visits(mine)
        now, period = unit.now(), self.env.config.supervision.coverage_period
        due = [registers.points[p] for p in mine if now - last.get(p, 0.0) >= period]

        def away(point: Point) -> float:
            if near is None or point.latitude is None or point.longitude is None:
                return float("inf")
            return distance_km(near[0], near[1], point.latitude, point.longitude)

        due.sort(key=lambda p: (away(p), last.get(p.id, 0.0), p.id))
        days = round(period / 86400)
        lines = [unit.t("inspect.due_title", group=group[1], count=len(due), total=len(mine),
                        days=days)]
        for point in due[:30]:
            seen = last.get(point.id)
            when = (unit.t("inspect.never") if seen is None
                    else unit.t("inspect.days_ago",
                                 count=days_between(seen, now, self.env.config.timezone)))
            distance = ""
            if near is not None and away(point) != float("inf"):
                metres = 1000 * away(point)
                distance = " · " + self.env.t.distance(unit.language, metres)
            lines.append(unit.t("inspect.due_line", point=point.name(unit.language),
                                when=when) + distance)
        if len(due) > 30:
            lines.append(unit.t("inspect.due_more", count=len(due) - 30))
        if not due:
            lines.append(unit.t("inspect.due_none"))
        return ui.message(unit.user_id, ui.clip_html("\n".join(lines), ui.TEXT_MAX), markup)

    # -- typed answers -----------------------------------------------------------------------

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A location, a name, a photo or a note, as the step asks."""
        user_id, step = unit.user_id, dialog.step
        registers = self.registers()
        if registers is None or step not in STEPS:
            await self.loop.pop_dialog(unit.repo, user_id, Flow.INSPECT)
            return [ui.message(user_id, unit.t("inspect.dialog_lost"), ui.REMOVE_KEYBOARD)]
        if not await self._still_inspector(unit, dialog.data):
            # What the visit came on top of is asked again after this line, by the caller
            # (Intake.on_message), as for any dialog a message ended.
            await self._no_longer(unit, dialog.data)
            return [ui.message(user_id, unit.t("inspect.no_longer"), ui.REMOVE_KEYBOARD)]
        if said.kind == "command":
            return [ui.message(user_id, unit.t("inspect.command_mid_dialog"))]
        if step == "point":
            return await self._find_point(unit, dialog, said)
        if step == "photos":
            return await self._photo(unit, dialog, said)
        if step == "note":
            text = said.text.strip() if said.kind == "text" else ""
            if not text:
                return [ui.message(user_id, unit.t("inspect.want_note"))]
            if ui.units(text) > NOTE_MAX:
                return [ui.message(user_id, unit.t("inspect.note_too_long",
                                                   count=ui.units(text), max=NOTE_MAX))]
            return [await self._move(unit, dialog, "severity", note=text)]
        return [ui.message(user_id, unit.t("inspect.use_buttons"))]

    async def _find_point(self, unit: ActorUnit, dialog: Dialog,
                          said: Said) -> list[Outgoing]:
        """A shared location lists the nearest points; a typed word the points it names."""
        registers = self.registers()
        assert registers is not None
        data = dialog.data
        if said.kind == "location" and said.latitude is not None and said.longitude is not None:
            near = (said.latitude, said.longitude)
            located = [p for p in registers.points.values() if p.latitude is not None]
            located.sort(key=lambda p: distance_km(near[0], near[1], p.latitude or 0.0,
                                                   p.longitude or 0.0))
            await self.loop.move_dialog(unit.repo, dialog, "point", {**data, "near": list(near)})
            return [ui.message(unit.user_id, unit.t("inspect.nearest_title"), ui.REMOVE_KEYBOARD),
                    self._point_choice(unit, data["id"], located, "inspect.nearest", near)]
        word = unicodedata.normalize("NFKC", said.text).strip().casefold()
        if said.kind != "text" or not word:
            return [ui.message(unit.user_id, unit.t("inspect.want_point"))]
        found = [p for p in registers.points.values()
                 if word == p.id or any(word in name.casefold() for name in p.names.values())]
        if not found:
            return [ui.message(unit.user_id, unit.t("inspect.no_such_point",
                                                    word=ui.clip(said.text.strip(), 50)))]
        if len(found) == 1:
            return await self._at_point(unit, dialog, found[0])
        return [self._point_choice(unit, data["id"], found, "inspect.found", None)]

    async def _photo(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A before photo (an album's arrive one by one: one answer per album)."""
        data = dialog.data
        photos = list(data.get("photos") or [])
        if said.kind == "document":
            return [ui.message(unit.user_id, unit.t("inspect.photo_not_file"))]
        if said.kind != "photo" or said.file_id is None:
            return [ui.message(unit.user_id, unit.t("inspect.want_photo"),
                               self._done_button(unit, data) if photos else None)]
        first_of_album = not said.media_group_id or said.media_group_id != data.get("album")
        if len(photos) >= PHOTOS_MAX:
            if not first_of_album:
                return []
            # The album is remembered though none of it is kept: its other photos, arriving
            # one message each, get no answer of their own (a phone sends ten at a time).
            seen = {**data, "album": said.media_group_id}
            await unit.repo.people.save_dialog(Dialog(unit.user_id, Flow.INSPECT, "photos", seen),
                                               unit.now())
            return [ui.message(unit.user_id, unit.t("inspect.photos_enough", max=PHOTOS_MAX),
                               self._done_button(unit, data))]
        photos.append(said.file_id)
        data = {**data, "photos": photos, "album": said.media_group_id}
        if said.text.strip() and not data.get("note"):
            data["note"] = _as_note(said.text)  # a caption is the note, unless one is
        await self.loop.move_dialog(unit.repo, dialog, "photos", data)
        if not first_of_album:
            return []
        return [ui.message(unit.user_id, unit.t("inspect.photo_kept", count=len(photos)),
                           self._done_button(unit, data))]

    def _done_button(self, unit: ActorUnit, data: dict[str, Any]) -> dict[str, Any]:
        return ui.inline([[(unit.t("inspect.photos_done"),
                            buttons.INSPECT.data(data["id"], "photos", ""))]])

    # -- buttons -----------------------------------------------------------------------------

    async def on_button(self, unit: ActorUnit, draft: str, action: str, arg: str) -> Answer:
        """A point, All clear, Report a problem, a type, Done with photos, a severity,
        Submit, Discard, Another problem, Finish the visit. Every press is checked against
        the dialog it claims to belong to."""
        dialog = await self.loop.pressed_form(unit, Flow.INSPECT, draft)
        if isinstance(dialog, str):  # kept under another: it waits, unchanged
            return Answer(dialog, alert=True)
        registers = self.registers()
        if dialog is None or registers is None:
            return Answer(unit.t("inspect.closed"), alert=True)
        if not await self._still_inspector(unit, dialog.data):
            back = await self._no_longer(unit, dialog.data)
            text = unit.t("inspect.no_longer")
            unit.send(ui.message(unit.user_id, text, ui.REMOVE_KEYBOARD))
            if back:  # what the visit came on top of, after the line that ends it
                await self.loop.back_to_draft(unit)
            return Answer(text, alert=True)
        data, step = dialog.data, dialog.step
        if action == "point" and step == "point" and arg in registers.points:
            unit.send(await self._at_point(unit, dialog, registers.points[arg]))
        elif action == "clear" and step == "found":
            await self._finish(unit, data)
        elif action == "report" and step in ("found", "preview"):
            unit.send(await self._move(unit, dialog, "type", photos=[], note="", album=None,
                                       type=None, severity=None))
        elif (action == "type" and step == "type"
              and self.env.config.supervision.problem_type(arg) is not None):
            unit.send(await self._move(unit, dialog, "photos", type=arg))
        elif action == "photos" and step == "photos" and data.get("photos"):
            following = "severity" if data.get("note") else "note"
            unit.send(await self._move(unit, dialog, following))
        elif (action == "sev" and step == "severity"
              and self.env.config.supervision.deadline(arg) is not None):
            unit.send(await self._move(unit, dialog, "preview", severity=arg))
        elif action == "submit" and step == "preview" and not data.get("submitted"):
            return await self._submit(unit, dialog)
        elif action == "discard" and step == "preview" and not data.get("submitted"):
            unit.send(await self._move(unit, dialog, "found", submitted=False))
            return Answer(unit.t("inspect.discarded"))
        elif action == "finish" and step in ("found", "preview"):
            await self._finish(unit, data)
        else:
            return Answer(unit.t("inspect.button_old"), alert=True)
        return Answer()

    async def _still_inspector(self, unit: ActorUnit, data: dict[str, Any]) -> bool:
        """Whether the visitor is still an inspector of the group the visit began for (an
        admin may have removed them, or moved them to another group, since)."""
        group = await unit.repo.supervision.inspector_group(unit.user_id)
        return group is not None and group[0] == data.get("group")

    async def _no_longer(self, unit: ActorUnit, data: dict[str, Any]) -> bool:
        """End the visit of someone no longer its group's inspector: what they reported so
        far stands, nothing more is. True if a dialog it came on top of is back (its
        question is the caller's to ask, after the line that tells them)."""
        if data.get("visit") is not None:
            await unit.repo.supervision.end_visit(int(data["visit"]), unit.now())
        return await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.INSPECT)

    async def _at_point(self, unit: ActorUnit, dialog: Dialog,
                        point: Point) -> list[Outgoing]:
        """The inspector is at a point: the visit starts; all clear, or a problem?"""
        data = dialog.data
        near = data.get("near") or [None, None]
        visit_id = await unit.repo.supervision.start_visit(
            point.id, unit.user_id, data.get("group"), unit.now(), near[0], near[1])
        dialog = await self.loop.move_dialog(
            unit.repo, dialog, "found", {**data, "point": point.id, "visit": visit_id,
                                         "reported": []})
        return [ui.message(unit.user_id, unit.t("inspect.at_point_title"), ui.REMOVE_KEYBOARD),
                await self._ask(unit, dialog)]

    async def _move(self, unit: ActorUnit, dialog: Dialog, step: str,
                    **changes: Any) -> Outgoing:
        """Go to `step` with `changes` kept, and ask its question."""
        moved = await self.loop.move_dialog(unit.repo, dialog, step, {**dialog.data, **changes})
        return await self._ask(unit, moved)

    async def _ask(self, unit: ActorUnit, dialog: Dialog) -> Outgoing:
        """The question of the dialog's step, with its buttons."""
        return self.question(unit.user_id, unit.language, dialog)

    def question(self, user_id: int, lang: str, dialog: Dialog) -> Outgoing:
        """The question of a visit's step in `lang`, with its buttons (also asked when the
        visit comes back after a short dialog interrupted it)."""
        data, step = dialog.data, dialog.step
        t = self.env.t
        draft = data["id"]
        registers = self.registers()
        assert registers is not None
        form = buttons.INSPECT
        point = registers.points.get(data.get("point") or "")
        where = point.name(lang) if point is not None else "—"
        if step == "point":  # with the location button, gone while another dialog was on top
            keyboard = ui.reply_keyboard([[{"text": t(lang, "inspect.send_location"),
                                            "request_location": True}]])
            return ui.message(user_id, t(lang, "inspect.want_point"), keyboard)
        if step == "found":
            count = len(data.get("reported") or [])
            rows = [[(t(lang, "inspect.report"), form.data(draft, "report", ""))]]
            rows.append([(t(lang, "inspect.all_clear") if not count
                          else t(lang, "inspect.finish"),
                          form.data(draft, "clear" if not count else "finish", ""))])
            key = "inspect.at_point" if not count else "inspect.another_or_finish"
            return ui.message(user_id, t(lang, key, point=where, count=count), ui.inline(rows))
        if step == "type":
            types = self.env.config.supervision.types
            rows = [[(k.name(lang), form.data(draft, "type", k.code)) for k in types[i:i + 2]]
                    for i in range(0, len(types), 2)]
            return ui.message(user_id, t(lang, "inspect.ask_type", point=where),
                              ui.inline(rows))
        if step == "photos":
            return ui.message(user_id, t(lang, "inspect.ask_photos", max=PHOTOS_MAX))
        if step == "note":
            return ui.message(user_id, t(lang, "inspect.ask_note", max=NOTE_MAX))
        if step == "severity":
            rows = [[(t(lang, f"inspect.severity.{name}", deadline=self._span(lang, seconds)),
                      form.data(draft, "sev", name))]
                    for name, seconds in self.env.config.supervision.deadlines]
            return ui.message(user_id, t(lang, "inspect.ask_severity"), ui.inline(rows))
        return ui.message(user_id, self._preview(lang, data), ui.inline([[
            (t(lang, "inspect.submit"), form.data(draft, "submit", "")),
            (t(lang, "inspect.discard"), form.data(draft, "discard", ""))]]))

    async def _covered(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """A visit going under another dialog while it waits for its point: the location
        button is taken off (a tap would send the location to the dialog on top), and the
        inspector told the visit waits; its question brings the button back."""
        if dialog.step != "point":
            return []
        return [ui.message(unit.user_id, unit.t("inspect.location_waits"), ui.REMOVE_KEYBOARD)]

    async def resumed(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """A visit back on top after a short dialog (/due, a re-check's reason …) ended:
        where it was, and its question again."""
        user_id, lang = unit.user_id, unit.language
        registers = self.registers()
        if registers is None or dialog.step not in STEPS:
            return []
        if not await self._still_inspector(unit, dialog.data):
            # Removed (or moved to another group) while the visit lay underneath: it ends
            # here rather than come back, and what lay under it comes back instead.
            out = [ui.message(user_id, unit.t("inspect.no_longer"), ui.REMOVE_KEYBOARD)]
            if await self._no_longer(unit, dialog.data) and self.loop.draft_question:
                out += await self.loop.draft_question(unit)
            return out
        point = registers.points.get(dialog.data.get("point") or "")
        key = "inspect.back_to_visit" if point is not None else "inspect.back_to_inspect"
        where = point.name(lang) if point is not None else ""
        return [ui.message(user_id, self.env.t(lang, key, point=where)),
                self.question(user_id, lang, dialog)]

    def _preview(self, lang: str, data: dict[str, Any]) -> str:
        """The problem as it will be sent, for the inspector to check."""
        t = self.env.t
        registers = self.registers()
        assert registers is not None
        point = registers.points[data["point"]]
        responsible = registers.units[point.unit_id]
        kind = self.env.config.supervision.problem_type(data["type"])
        seconds = self.env.config.supervision.deadline(data["severity"]) or 0.0
        return t(lang, "inspect.preview", point=point.name(lang),
                 area=render.area_name(self.env, point.area_id, lang),
                 unit=responsible.name(lang),
                 type=kind.name(lang) if kind is not None else data["type"],
                 severity=t(lang, f"inspect.severity.{data['severity']}",
                            deadline=self._span(lang, seconds)),
                 photos=len(data.get("photos") or []), note=data.get("note") or "")

    def _span(self, lang: str, seconds: float) -> str:
        """"24 h", "3 days" in `lang`."""
        if seconds % 86400 == 0:
            return self.env.t(lang, "inspect.days", count=int(seconds // 86400))
        return self.env.t(lang, "inspect.hours", count=f"{seconds / 3600:g}")

    async def _submit(self, unit: ActorUnit, dialog: Dialog) -> Answer:
        """Store the problem, send it to its unit, and offer another or the end."""
        data = dialog.data
        registers = self.registers()
        assert registers is not None
        point = registers.points.get(data.get("point") or "")
        if point is None or point.unit_id not in registers.units:
            if await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.INSPECT):
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("inspect.point_gone"), alert=True)
        repo, now = unit.repo, unit.now()
        year = datetime.fromtimestamp(now, self.env.config.timezone).year
        ref = await repo.supervision.next_problem_ref(year)
        problem_id = await repo.supervision.report(
            ref=ref, visit_id=int(data["visit"]), point_id=point.id, unit_id=point.unit_id,
            area_id=point.area_id, group_id=data.get("group"), type_code=data["type"],
            severity=data["severity"], note=data["note"], before_photos=list(data["photos"]),
            reported_by=unit.user_id, now=now,
            receive_due=now + self.env.config.supervision.receive_within)
        await self.dispatch(unit, problem_id)
        reported = [*(data.get("reported") or []), ref]
        moved = await self.loop.move_dialog(
            repo, dialog, "found", {**data, "reported": reported, "photos": [], "note": "",
                                    "type": None, "severity": None, "album": None})
        unit.send(ui.message(unit.user_id, unit.t(
            "inspect.submitted", ref=ref, unit=registers.units[point.unit_id].name(
                unit.language))))
        unit.send(await self._ask(unit, moved))
        return Answer(unit.t("inspect.submitted_toast", ref=ref))

    async def _finish(self, unit: ActorUnit, data: dict[str, Any]) -> None:
        """End the visit: all clear if nothing was reported, else the problems' references."""
        await unit.repo.supervision.end_visit(int(data["visit"]), unit.now())
        draft_back = await self.loop.pop_dialog(unit.repo, unit.user_id, Flow.INSPECT)
        registers = self.registers()
        point = registers.points.get(data["point"]) if registers is not None else None
        where = point.name(unit.language) if point is not None else data["point"]
        reported = data.get("reported") or []
        if reported:
            text = unit.t("inspect.visit_done", point=where, count=len(reported),
                          refs=", ".join(reported))
        else:
            text = unit.t("inspect.visit_clear", point=where)
        unit.send(ui.message(unit.user_id, text))
        if draft_back:
            await self.loop.back_to_draft(unit)


def _as_note(caption: str) -> str:
    """A photo's caption as the note: Telegram takes 1,024 characters for a caption, a note 500;
    one longer is cut there with "…", so the preview shows that something was left out."""
    text = caption.strip()
    return text if len(text) <= NOTE_MAX else text[:NOTE_MAX - 1].rstrip() + "…"
