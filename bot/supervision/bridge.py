"""The bridge from the request loop (issue 16.8): an admin turns a citizen's request that is
really a public-space problem (a broken street light) into a supervision problem for the unit
responsible for a point, and the citizen rates the outcome once it passes its re-check.

`/toproblem <request ref> <point id> [type] [severity]`, by a centre admin or an admin of both
the request's and the point's areas, on an open request (waiting for a volunteer, or claimed):
- the request leaves the volunteers: 'cancelled' by 'supervision' (counted apart in /stats,
  neither the volunteers' work nor an admin's cancel), its clocks stopped, its cards edited to
  say where it went (no Claim), a claiming volunteer told, a 'handed_over' event;
- the problem is made as an inspector's would be (its request's photos as before photos; a
  request without a photo is refused: every problem has a before photo, and the re-check
  compares it), on a visit of the admin's marked with the request (coverage skips it: nobody
  went there), linked by `problems.request_id`, and goes to the point's unit;
- the citizen is told, in their language, which unit it went to;
- when the problem passes its re-check the citizen is told and asked for stars and a comment,
  as at the end of a request (RequestLoop.stars_question; rate() accepts a handed request once
  its problem passed).

Imports: the kernel, bot.people, bot.requests (the loop, render), the dispatch beside it,
storage.
"""

from __future__ import annotations

from datetime import datetime

from bot import night, ui
from bot.context import Env
from bot.people.roles import Roles
from bot.requests import render
from bot.requests.loop import RequestLoop
from bot.supervision.dispatch import NOTE_MAX, Dispatch
from bot.supervision.reporting import PHOTOS_MAX
from bot.unit import ActorUnit, Unit
from storage import Problem
from storage.models import CANCELLED, CLAIMED, DISPATCHED

DEFAULT_TYPE = "other"  # the type a /toproblem without one gets, if the checklist has it
DEFAULT_SEVERITY = "normal"
HANDED_BY = "supervision"  # requests.cancelled_by of a handed request


class Bridge:
    """/toproblem, and the citizen's part at the end."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles, dispatch: Dispatch) -> None:
        self.env = env
        self.loop = loop
        self.roles = roles
        self.dispatch = dispatch

    async def to_problem(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """/toproblem <request ref> <point id> [type] [severity]."""
        unit.send(ui.message(chat_id, await self._to_problem(unit, args)))

    async def _to_problem(self, unit: ActorUnit, args: list[str]) -> str:
        """Do it, or say in one line why not; the admin's answer."""
        env, repo, t = self.env, unit.repo, unit.t
        registers = env.config.supervision.registers
        if registers is None:
            return t("supervision.off")
        role = await self.roles.of(repo, unit.user_id)
        if role is None:
            return t("admin.not_admin")
        if not 2 <= len(args) <= 4:
            return t("bridge.usage")
        ref = args[0].strip().lstrip("#")
        request = await repo.requests.request_by_ref(ref)
        if request is None:
            return t("bridge.no_request", ref=ref)
        point = registers.points.get(args[1].strip().lower())
        if point is None:
            return t("bridge.no_point", point=args[1])
        supervision = env.config.supervision
        codes = [kind.code for kind in supervision.types]
        type_code = DEFAULT_TYPE if DEFAULT_TYPE in codes else codes[0]
        severities = [name for name, _ in supervision.deadlines]
        severity = (DEFAULT_SEVERITY if DEFAULT_SEVERITY in severities
                    else severities[len(severities) // 2])
        for word in (w.strip().lower() for w in args[2:]):
            if word in codes:
                type_code = word
            elif word in severities:
                severity = word
            else:
                return t("bridge.bad_word", word=word, types=", ".join(codes),
                         severities=", ".join(severities))
        if not role.covers(request.area_id):
            return t("casework.outside_area", ref=request.ref)
        if not role.covers(point.area_id):
            return t("bridge.point_outside", point=point.name(unit.language))
        gone = request.status == CANCELLED and request.cancelled_by == HANDED_BY
        status = t(f"admin.status_any.{'handed' if gone else request.status}")
        if request.status not in (DISPATCHED, CLAIMED):
            return t("bridge.not_open", ref=request.ref, status=status)
        if not request.photos:
            return t("bridge.no_photo", ref=request.ref)
        now = unit.now()
        if not await repo.requests.hand_over(request.id, now):
            return t("bridge.not_open", ref=request.ref, status=status)
        patrols = dict(await repo.supervision.patrols([point.id]))
        group_id = patrols.get(point.id)
        visit = await repo.supervision.request_visit(point.id, unit.user_id, group_id,
                                                     request.id, now)
        problem_ref = await repo.supervision.next_problem_ref(
            datetime.fromtimestamp(now, env.config.timezone).year)
        # The citizen's words, their phone numbers masked: the problem goes to the unit and to
        # inspectors, who have no business with the citizen's contact.
        note = ui.clip(render.mask_phones(request.description)
                       or render.category_name(env, request.category, env.config.default_language),
                       NOTE_MAX)
        problem_id = await repo.supervision.report(
            ref=problem_ref, visit_id=visit, point_id=point.id, unit_id=point.unit_id,
            area_id=point.area_id, group_id=group_id, type_code=type_code, severity=severity,
            # At most as many before photos as an inspector's report holds, so the re-check's
            # album (before and after, at most 10) keeps the unit's after photos.
            note=note, before_photos=list(request.photos)[:PHOTOS_MAX],
            reported_by=unit.user_id, now=now,
            receive_due=now + supervision.receive_within, request_id=request.id)
        await repo.supervision.add_event(problem_id, "from_request", unit.user_id, now,
                                         {"request": request.ref})
        await repo.requests.add_event(request.id, "handed_over", unit.user_id, now,
                                      {"problem": problem_ref, "point": point.id,
                                       "unit": point.unit_id})
        await self.loop.stop_clocks(repo, request.id)
        handed = await repo.requests.request(request.id)
        assert handed is not None
        group_lang = env.config.default_language
        responsible = registers.units[point.unit_id]
        header = env.t(group_lang, "bridge.card_handed", ref=request.ref,
                       unit=responsible.name(group_lang))
        for card in await repo.cards.active_cards(request.id):
            text = render.card_text(env, handed, card.role)
            text = "\n".join([header, *text.split("\n")[1:]])
            unit.send(ui.card_edit(card.chat_id, request.id, card.id, text, None))
        if request.status == CLAIMED and request.volunteer_id is not None:
            vlang = await self.loop.language_of(repo, request.volunteer_id)
            unit.send(night.at_night(env, "casework.news", ui.message(
                request.volunteer_id, env.t(vlang, "bridge.volunteer_handed", ref=request.ref,
                                            unit=responsible.name(vlang)))))
        clang = request.language
        unit.send(night.at_night(env, "casework.news", ui.message(
            request.citizen_id, render.citizen_text(env, request, env.t(
                clang, "bridge.citizen_handed", ref=request.ref, unit=responsible.name(clang),
                point=point.name(clang), problem=problem_ref)))))
        unit.send(await self.loop.follower_news(repo, handed, "handed"))
        await self.dispatch.dispatch(unit, problem_id)
        return t("bridge.done", ref=request.ref, problem=problem_ref,
                 unit=responsible.name(unit.language), point=point.name(unit.language))

    async def passed(self, unit: Unit, problem: Problem) -> None:
        """A problem made from a request passed its re-check: the citizen hears, with the
        after photo, and is asked to rate the outcome (still handed: an admin may have sent
        the request back to the volunteers meanwhile, and then it ends there)."""
        repo, env = unit.repo, self.env
        request = await repo.requests.request(problem.request_id or 0)
        if (request is None or request.status != CANCELLED
                or request.cancelled_by != HANDED_BY):
            return
        await repo.requests.add_event(request.id, "supervision_passed", None, unit.now(),
                                      {"problem": problem.ref})
        lang = request.language
        text = render.citizen_text(env, request, env.t(
            lang, "bridge.citizen_passed", ref=request.ref,
            unit=self.dispatch._unit_name(problem.unit_id, lang)))
        # The inspector's press: at night the citizen reads it, and is asked for stars, at
        # 08:00 (bot/night.py).
        told = (ui.photo(request.citizen_id, problem.after_photos[0], text)
                if problem.after_photos else ui.message(request.citizen_id, text))
        unit.send(night.all_at_night(env, "bridge.passed", [
            told, self.loop.stars_question(request, key="bridge.ask_stars")]))
