"""The bridge from the request loop (issue 16.8), end to end: an admin turns Alice's request
about a broken street light into a supervision problem for the Guangminglu office; the
volunteers' card says so and Claim is gone; Alice is told; the office receives and rectifies,
the inspector passes it, and Alice is asked to rate it as at the end of a request. /stats
counts the request as handed to supervision, not as the volunteers' work; the visit made for it
is no patrol. Every bad input gets one line and changes nothing; a Chinese citizen reads
Chinese.

Requests are made directly (RequestLoop.submit in one unit, with a photo), as the dispatch
tests make problems: the form has its own tests.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimUser
from storage import Request
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, supervision_town
from tests.test_night_policy_e2e import sounds
from tests.test_quiet_hours_e2e import at as quiet_at
from tests.test_quiet_hours_e2e import said
from tests.test_supervision_dispatch_e2e import cast, events, press, problem, rectify

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and the example registers."""
    return supervision_town(tmp_path)


async def request(town: Town, citizen: SimUser, *, photos: int = 1,
                  area: str = "guangminglu-01",
                  text: str = "The street light at the lane's end is broken, call 13912345678",
                  neighbour: str | None = None) -> str:
    """A request filed by `citizen` (as the form would; for `neighbour` as /forneighbour
    would), its card in the volunteers' group."""
    services = town.bot.services
    assert services is not None
    draft: dict[str, Any] = {
        "category": "elderly", "description": text, "area": area,
        "photos": [town.sb.world.new_photo_sizes()[-1]["file_id"] for _ in range(photos)]}
    if neighbour is not None:
        draft.update(neighbour=True, nb_name=neighbour, nb_phone="0632-7654321",
                     nb_address="Room 301, 8 Heping Street", nb_own=False)
    lang = citizen.language_code or "en"
    async with services.units.for_job() as unit:
        filed, out = await services.loop.submit(unit.repo, citizen.id, lang, draft)
        unit.send(out)
    services.sender.wake()
    await town.volunteers.wait_for(text=filed.ref)
    return filed.ref


async def stored(town: Town, ref: str) -> Request:
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        found = await repo.requests.request_by_ref(ref)
    assert found is not None
    return found


async def test_a_request_becomes_a_problem_is_put_right_and_the_citizen_rates_it(
    town: Town,
) -> None:
    c = await cast(town)
    await c.admin.send("/patrol G1 alley-01")
    await c.admin.wait_for(text="G1 patrols these 1 points")
    await open_bot(town.citizen)
    ref = await request(town, town.citizen)
    card = next(m for m in town.volunteers.bot_messages() if ref in (m.text or ""))
    assert "🙋 Claim" in card.buttons

    await c.admin.send(f"/toproblem {ref} alley-01 damaged-facilities urgent",
                       chat=town.admin_chat)
    done = await town.admin_chat.wait_for(text=f"Request {ref} is now supervision problem")
    pref = "D2026-00001"
    assert pref in (done.text or "") and "Guangminglu Subdistrict Office" in (done.text or "")
    told = await town.citizen.wait_for(text="went to the unit responsible for it")
    assert pref in (told.text or "") and "Guangming Lane 1" in (told.text or "")
    await town.sb.wait_until(lambda: "was handed to Guangminglu Subdistrict Office"
                             in (card.text or ""))
    assert card.buttons == []
    handed = await stored(town, ref)
    assert (handed.status, handed.cancelled_by) == ("cancelled", "supervision")

    # The office gets the citizen's photo and the card, the phone masked.
    photo = await c.office.wait_for(predicate=lambda m: m.kind == "photo")
    unit_card = await c.office.wait_for(text=pref)
    assert unit_card.message_id > photo.message_id
    assert "13912345678" not in (unit_card.text or "") and "street light" in (unit_card.text
                                                                                or "")
    assert "Damaged facilities" in (unit_card.text or "") and "Urgent" in (unit_card.text or "")
    made = await problem(town, pref)
    assert made.request_id == handed.id and made.before_photos == tuple(handed.photos)
    # The problem keeps the citizen's words with the number masked: the unit and the
    # inspectors have no business with the citizen's contact, wherever they read the note.
    assert "13912345678" not in made.note and "street light" in made.note
    await press(c.zhang, "✅ Received", unit_card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (unit_card.text or ""))
    await rectify(c.zhang, unit_card, "New lamp fitted")
    recheck = await c.li.wait_for(text=f"Re-check problem {pref}")
    assert "13912345678" not in (recheck.text or "")
    assert await press(c.li, "✅ Pass", recheck) == f"{pref} passed."

    passed = await town.citizen.wait_for(text="was put right by Guangminglu Subdistrict Office")
    assert passed.kind == "photo"  # the after photo, captioned
    stars = await town.citizen.wait_for(text=f"How would you rate how {ref} was put right")
    await town.citizen.press("⭐⭐⭐⭐", message=stars)
    await town.citizen.wait_for(text="comment")
    await town.citizen.press("Skip")
    await town.citizen.wait_for(text="Thank you")
    rated = await stored(town, ref)
    assert (rated.status, rated.rating) == ("cancelled", 4)
    assert await events(town, pref) == ["reported", "from_request", "dispatched", "received",
                                        "rectified", "passed"]

    # Nobody went to the lane: the point is still due for G1's visit.
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        assert await repo.supervision.last_visits(["alley-01"]) == {}
    # /find says where it went; /stats counts it apart, out of the completion rate.
    await c.admin.send(f"/find {ref}")
    found = await c.admin.wait_for(text=f"{ref} · handed to supervision")
    assert "handed to supervision" in (found.text or "")
    await c.admin.send("/stats")
    figures = await c.admin.wait_for(text="Handed to supervision")
    assert "Handed to supervision (a responsible unit): 1, rated 4.00 by 1" in (figures.text
                                                                               or "")
    assert "Cancelled by citizens: 0 · by admins: 0" in (figures.text or "")
    assert "Satisfaction: no ratings yet" in (figures.text or "")
    await town.citizen.send("/my")
    mine = await town.citizen.wait_for(text="Your requests")
    assert "handed to the responsible unit" in (mine.text or "")


async def test_a_helper_is_asked_for_the_neighbours_stars_when_the_fix_passes(
        town: Town) -> None:
    """Alice filed the broken light for 王阿姨: once the office's fix passes, Alice hears it
    marked as her neighbour's and is asked how many stars 王阿姨 gives, not for her own."""
    c = await cast(town)
    await c.admin.send("/patrol G1 alley-01")
    await c.admin.wait_for(text="G1 patrols these 1 points")
    await open_bot(town.citizen)
    ref = await request(town, town.citizen, neighbour="王阿姨")
    await c.admin.send(f"/toproblem {ref} alley-01 damaged-facilities urgent",
                       chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"Request {ref} is now supervision problem")
    unit_card = await c.office.wait_for(text="D2026-00001")
    await press(c.zhang, "✅ Received", unit_card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (unit_card.text or ""))
    await rectify(c.zhang, unit_card, "New lamp fitted")
    recheck = await c.li.wait_for(text="Re-check problem D2026-00001")
    await press(c.li, "✅ Pass", recheck)

    passed = await town.citizen.wait_for(text="was put right by")
    assert "For 王阿姨" in (passed.text or "")
    stars = await town.citizen.wait_for(text="How many stars does your neighbour give how "
                                             f"{ref} was put right?")
    assert "For 王阿姨" in (stars.text or "")
    await town.citizen.press("⭐⭐⭐⭐⭐", message=stars)
    await town.citizen.wait_for(text="comment")
    assert (await stored(town, ref)).rating == 5


async def test_every_bad_toproblem_gets_one_line_and_changes_nothing(town: Town) -> None:
    c = await cast(town)
    await open_bot(town.citizen)
    ref = await request(town, town.citizen)
    bare = await request(town, town.citizen, photos=0, text="A pothole")
    zhong = await request(town, town.citizen, area="zhongxinjie-01")
    admin, chat = c.admin, town.admin_chat

    async def answer(command: str, expected: str, who: SimUser = admin) -> None:
        await who.send(command, chat=chat if who is admin else None)
        await (town.admin_chat if who is admin else who).wait_for(text=expected)

    await answer("/toproblem", "Usage: /toproblem")
    await answer(f"/toproblem {ref}", "Usage: /toproblem")
    await answer("/toproblem 2026-999999 alley-01", "No request has the reference 2026-999999")
    await answer(f"/toproblem {ref} nowhere-01", "There is no inspection point “nowhere-01”")
    await answer(f"/toproblem {ref} alley-01 mud", "“mud” is neither a problem type")
    await answer(f"/toproblem {bare} alley-01", f"Request {bare} has no photo")
    await answer(f"/toproblem {ref} alley-01", "citizen was told")
    await answer(f"/toproblem {ref} alley-01",
                 f"Request {ref} is handed to supervision (a responsible unit): only")
    # Nor can it go back to the volunteers: the unit does it and the inspector checks it.
    await answer(f"/reopen {ref} still broken", f"{ref} was handed to a responsible unit")
    # An area admin of Guangminglu: not a request of Zhongxinjie, not a point there.
    liming = town.sb.add_user("Liming", language_code="en", username="liming")
    await open_bot(liming)
    await admin.send("/grant @liming guangminglu")
    await liming.wait_for(text="You are now an admin")
    await answer(f"/toproblem {zhong} alley-01", f"{zhong} is not in your area", liming)
    other = await request(town, town.citizen)
    await answer(f"/toproblem {other} school-01",
                 "Zhongxinjie Experimental Primary School is not in your area", liming)
    await answer(f"/toproblem {other} alley-01", "Sorry, only admins", town.citizen)
    for untouched in (bare, zhong, other):
        assert (await stored(town, untouched)).status == "dispatched"
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        assert (await repo.supervision.problem_by_ref("D2026-00002")) is None


async def test_a_chinese_citizen_is_told_in_chinese(town: Town) -> None:
    await cast(town)
    await town.grandma.send("/start")
    await town.grandma.wait_for(text="请在下面选择")
    ref = await request(town, town.grandma, text="路灯坏了")
    await town.admin.send(f"/toproblem {ref} alley-01", chat=town.admin_chat)
    told = await town.grandma.wait_for(text="已转责任单位 光明路街道办事处 办理")
    assert "光明巷1号" in (told.text or "")
    made = await problem(town, "D2026-00001")
    assert (made.type, made.severity, made.note) == ("other", "normal", "路灯坏了")


@pytest.mark.parametrize(("moment", "sound"), [
    (datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 11, 2, 0, tzinfo=SHANGHAI), False),
    (datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI), False),
    (datetime(2026, 6, 10, 15, 0, tzinfo=SHANGHAI), True),
], ids=["23:30", "02:00", "new year's eve 23:50", "day 15:00"])
async def test_a_request_handed_over_at_night_tells_its_citizen_without_a_sound(
        town: Town, moment: datetime, sound: bool) -> None:
    """The admin on duty hands Alice's request to the unit at `moment`: Alice is told at
    once, without a sound at night (bot/night.py's "casework.news")."""
    c = await cast(town)
    await open_bot(town.citizen)
    town.clock.set(moment)
    ref = await request(town, town.citizen)
    await c.admin.send(f"/toproblem {ref} alley-01 damaged-facilities urgent",
                       chat=town.admin_chat)
    await town.citizen.wait_for(text="went to the unit responsible for it")
    assert sounds(town, town.citizen.id, "went to the unit responsible for it") == [sound]


async def test_a_fix_passed_at_night_is_told_to_the_citizen_at_08_00(town: Town) -> None:
    """The inspector passes the office's fix of Alice's street light at 23:30: Alice, asleep,
    reads that it was put right, and is asked for her stars, at 08:00."""
    c = await cast(town)
    await c.admin.send("/patrol G1 alley-01")
    await c.admin.wait_for(text="G1 patrols these 1 points")
    await open_bot(town.citizen)
    ref = await request(town, town.citizen)
    await c.admin.send(f"/toproblem {ref} alley-01 damaged-facilities urgent",
                       chat=town.admin_chat)
    await town.admin_chat.wait_for(text=f"Request {ref} is now supervision problem")
    pref = "D2026-00001"
    unit_card = await c.office.wait_for(text=pref)
    await press(c.zhang, "✅ Received", unit_card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (unit_card.text or ""))
    await rectify(c.zhang, unit_card, "New lamp fitted")
    recheck = await c.li.wait_for(text=f"Re-check problem {pref}")
    town.clock.set(datetime(2026, 6, 10, 23, 30, tzinfo=SHANGHAI))
    assert await press(c.li, "✅ Pass", recheck) == f"{pref} passed."
    await quiet_at(town, datetime(2026, 6, 11, 7, 59, tzinfo=SHANGHAI))
    assert said(town.citizen, "was put right") == []

    await quiet_at(town, datetime(2026, 6, 11, 8, 0, 1, tzinfo=SHANGHAI))
    await town.citizen.wait_for(text="was put right by Guangminglu Subdistrict Office")
    stars = await town.citizen.wait_for(text=f"How would you rate how {ref} was put right")
    await town.citizen.press("⭐⭐⭐⭐", message=stars)
    await town.citizen.wait_for(text="comment")
