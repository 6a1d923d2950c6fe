"""Supervision's figures end to end (issue 16.7): a known week of problems and visits, and
/sstats equal to it exactly, with its chart; an area admin's scope, in Chinese; /stats's line
pointing to /sstats; /export problems (one row per problem, its dates, counts and the link to
its photos, which opens them for someone who may see them only); the weekly report in the
admin chat, once, not twice across a restart.

The problems are made directly through SupervisionRepo's transitions in `units.for_job()`
units, at chosen moments (the dispatch flows that make these rows are tested in
test_supervision_dispatch_e2e.py); the inspectors and their patrols through the commands.

The week 2026-W24 (Monday 8 June to Sunday 14 June), seen on Wednesday 10 June 10:00:
- P1 alley-01 (Guangminglu office, G1): reported Mon 09:00, received 10:00, due Thu 10:00,
  rectified Tue 10:00, passed Tue 12:00 — on time, passed at the first re-check.
- P2 market-01 (Market Regulation, G1): reported Mon 10:00, received 11:00, due Mon 12:00,
  never rectified — late, overdue now by 1 d 22 h.
- P3 school-01 (Education, G2): reported Mon 12:00, received 13:00, due Tue 13:00, rectified
  Tue 12:00, rejected Tue 14:00 (due again Fri 14:00), rectified Wed 08:00, passed Wed 09:00
  — on time against the standing deadline, one rejection.
- P4 road-002 (Urban Management, G2): reported Tue 09:00, never received (receipt due 13:00).
- P5 community-guangminglu-02 (Guangminglu office, G1): reported Tue 10:00, received 11:00,
  due Wed 11:00, more time granted to Sat 11:00 — still in time: not counted for on time.
- P6 alley-01, reported 20 May (not in the week), received then, due Tue 08:00, rectified
  Tue 09:00 — late, counted in the week (its deadline and its rectification fell in it).
Visits that count: the five problems' and two all-clear ones (road-001, G1;
community-zhongxinjie-01, G2); an abandoned visit to community-guangminglu-01 does not count.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot, supervision_town

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3600.0
PERIOD = "2026-06-08..2026-06-14"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and the example registers."""
    return supervision_town(tmp_path)


def at(month: int, day: int, hour: int) -> float:
    """A moment of 2026, Shanghai time."""
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI).timestamp()


async def make(town: Town, inspector: SimUser, point: str, type_code: str, reported: float, *,
               received: float | None = None, due: float | None = None,
               rounds: tuple[tuple[float, float | None, float | None], ...] = (),
               extended: float | None = None, passed: float | None = None) -> str:
    """A problem reported at `reported` and moved along its life at the moments given:
    `rounds` are (rectified, rejected or None, the new deadline) each; its reference."""
    services = town.bot.services
    assert services is not None
    registers = services.env.config.supervision.registers
    assert registers is not None
    spot = registers.points[point]
    photo = town.sb.world.new_photo_sizes()[-1]["file_id"]
    async with services.units.for_job() as unit:
        sup = unit.repo.supervision
        group = await sup.inspector_group(inspector.id)
        group_id = group[0] if group else None
        visit = await sup.start_visit(point, inspector.id, group_id, reported)
        ref = await sup.next_problem_ref(2026)
        problem = await sup.report(
            ref=ref, visit_id=visit, point_id=point, unit_id=spot.unit_id,
            area_id=spot.area_id, group_id=group_id, type_code=type_code, severity="normal",
            note="found", before_photos=[photo], reported_by=inspector.id, now=reported,
            receive_due=reported + 4 * HOUR)
        await sup.add_event(problem, "dispatched", None, reported, {"unit": spot.unit_id})
        if received is not None and due is not None:
            assert await sup.receive(problem, 7, received, due)
            await sup.add_event(problem, "received", 7, received)
        for rectified, rejected, again in rounds:
            after = town.sb.world.new_photo_sizes()[-1]["file_id"]
            assert await sup.rectify(problem, [after], "done", rectified)
            await sup.add_event(problem, "rectified", 7, rectified, {"photos": [after]})
            if rejected is not None and again is not None:
                assert await sup.reject(problem, again)
                await sup.add_event(problem, "rejected", inspector.id, rejected)
        if extended is not None:
            assert await sup.extend(problem, extended)
            await sup.add_event(problem, "extension_granted", 1, at(6, 9, 12))
        if passed is not None:
            assert await sup.pass_problem(problem, inspector.id, passed)
            await sup.add_event(problem, "passed", inspector.id, passed)
    return ref


async def visit(town: Town, inspector: SimUser, point: str, when: float, *,
                finished: bool = True) -> None:
    """A visit with no problem: all clear when finished, else abandoned."""
    services = town.bot.services
    assert services is not None
    async with services.units.for_job() as unit:
        sup = unit.repo.supervision
        group = await sup.inspector_group(inspector.id)
        visit_id = await sup.start_visit(point, inspector.id, group[0] if group else None, when)
        if finished:
            assert await sup.end_visit(visit_id, when + 600)


async def the_week(town: Town) -> list[str]:
    """Two groups with their patrols, then the week's problems and visits; their refs."""
    admin, li, zhang = town.admin, town.vol1, town.vol2
    await open_bot(admin, li, zhang)
    for person, group, area in ((li, "G1", "guangminglu"), (zhang, "G2", "zhongxinjie")):
        await admin.send(f"/inspector add {person.id} {group}")
        await admin.wait_for(text=f"now inspects for {group}")
        await admin.send(f"/patrol {group} area:{area}")
        await admin.wait_for(text=f"{group} patrols these")
    refs = [
        await make(town, li, "alley-01", "street-vending", at(6, 8, 9), received=at(6, 8, 10),
                   due=at(6, 11, 10), rounds=((at(6, 9, 10), None, None),),
                   passed=at(6, 9, 12)),
        await make(town, li, "market-01", "piled-rubbish", at(6, 8, 10),
                   received=at(6, 8, 11), due=at(6, 8, 12)),
        await make(town, zhang, "school-01", "street-vending", at(6, 8, 12),
                   received=at(6, 8, 13), due=at(6, 9, 13),
                   rounds=((at(6, 9, 12), at(6, 9, 14), at(6, 12, 14)),
                           (at(6, 10, 8), None, None)), passed=at(6, 10, 9)),
        await make(town, zhang, "road-002", "exposed-waste", at(6, 9, 9)),
        await make(town, li, "community-guangminglu-02", "street-vending", at(6, 9, 10),
                   received=at(6, 9, 11), due=at(6, 10, 11), extended=at(6, 13, 11)),
        await make(town, li, "alley-01", "piled-rubbish", at(5, 20, 9), received=at(5, 20, 10),
                   due=at(6, 9, 8), rounds=((at(6, 9, 9), None, None),)),
    ]
    await visit(town, li, "road-001", at(6, 9, 15))
    await visit(town, zhang, "community-zhongxinjie-01", at(6, 9, 16))
    await visit(town, li, "community-guangminglu-01", at(6, 9, 17), finished=False)
    return refs


async def test_sstats_equals_the_known_week_and_the_chart_follows(town: Town) -> None:
    refs = await the_week(town)
    admin = town.admin
    await admin.send(f"/sstats {PERIOD}")
    shown = await admin.wait_for(text="Supervision ·")
    assert (shown.text or "").splitlines() == [
        f"🕵️ Supervision · the whole district · {PERIOD}",
        "Problems reported: 5",
        "  now: waiting for Received 1 · being rectified 2 · waiting for the re-check 0 · "
        "passed 2 · returned 0",
        "In the period: received 4 · rectified 4 · passed 2 · rejected at re-check 1 · "
        "more time granted 1",
        "Rectified on time: 2 of 4 (50.0%)",
        "Passed at the first re-check: 1 of 2 (50.0%)",
        "Median time: received → rectified 1 d 19 h · reported → passed 1 d 3 h",
        "⏰ Overdue now: 1",
        f"  • {refs[1]} · District Market Regulation Bureau · 1 d 22 h overdue",
        "Cards not received in time now: 1",
        "📍 Points visited: 7 of 8 (87.5%) · visits: 7",
        "  • Roads: 2 of 2",
        "  • Markets: 1 of 1",
        "  • Back alleys: 1 of 1",
        "  • Communities: 2 of 3",
        "  • Schools: 1 of 1",
        "By inspection group:",
        "  • G1: 4 visits · 3 problems · its points visited 4 of 5 (80.0%)",
        "  • G2: 3 visits · 2 problems · its points visited 3 of 3 (100.0%)",
        "By responsible unit (reported · passed · on time):",
        "  • Guangminglu Subdistrict Office: 2 · 1 · 50.0%",
        "  • District Education and Sports Bureau: 1 · 1 · 100.0%",
        "  • District Market Regulation Bureau: 1 · 0 · 0.0%",
        "  • District Urban Management Bureau: 1 · 0 · —",
        "By problem type (reported · passed):",
        "  • Street vending: 3 · 2",
        "  • Exposed waste: 1 · 0",
        "  • Piled rubbish: 1 · 0",
        "By point (reported · passed):",
        "  • Guangming Lane 1: 1 · 1",
        "  • Guangminglu Community 2: 1 · 0",
        "  • Guangminglu Farmers' Market: 1 · 0",
        "  • Zhongxin Street: 1 · 0",
        "  • Zhongxinjie Experimental Primary School: 1 · 1",
        "By area (reported · passed):",
        "  • Guangminglu Subdistrict Institute: 3 · 1",
        "  • Zhongxinjie Subdistrict Institute: 2 · 1",
    ]
    photo = await admin.wait_for(predicate=lambda m: m.kind == "photo"
                                 and m.message_id > shown.message_id, timeout=30)
    assert (photo.text or "").startswith("📊 Supervision")
    assert bytes(town.sb.world.files[photo.file_ids[-1]].data).startswith(PNG_SIGNATURE)

    # /stats for the same period points to /sstats with the headline figures.
    await admin.send(f"/stats {PERIOD}")
    stats = await admin.wait_for(text="🕵️ Supervision: 5 problems")
    assert ("🕵️ Supervision: 5 problems reported · rectified on time 50.0% · points visited "
            f"87.5%. More: /sstats {PERIOD}") in (stats.text or "")
    assert town.sb.count_429 == 0 and town.sb.errors == []


async def test_an_area_admin_sees_their_areas_only_in_chinese(town: Town) -> None:
    await the_week(town)
    grandma = town.grandma
    await grandma.send("/start")
    await grandma.wait_for(text="选择")
    await town.admin.send(f"/grant {grandma.id} zhongxinjie")
    await town.admin.wait_for(text="is now an admin")
    await grandma.send(f"/sstats {PERIOD}")
    shown = await grandma.wait_for(text="督导统计")
    lines = (shown.text or "").splitlines()
    assert lines[0] == f"🕵️ 督导统计 · 中心街街道新时代文明实践所 · {PERIOD}"
    for line in ("上报问题：2", "按期整改：1 / 1（100.0%）", "一次复核通过：0 / 1（0.0%）",
                 "⏰ 目前超期：0", "目前未按时接收：1", "📍 点位巡查：3 / 3（100.0%）· 巡查 3 次",
                 "  • G2：巡查 3 次 · 问题 2 个 · 负责点位已巡查 3 / 3（100.0%）",
                 "  • 区教育和体育局：1 · 1 · 100.0%", "  • 区综合行政执法局：1 · 0 · —"):
        assert line in lines, line
    assert not any("光明" in line for line in lines)
    await grandma.send("/sstats guangminglu")
    refused = await grandma.wait_for(text="不在您管理的区域")
    assert "中心街" in (refused.text or "")


async def test_the_export_has_a_row_per_problem_and_its_link_opens_the_photos(
    town: Town,
) -> None:
    refs = await the_week(town)
    admin = town.admin
    await admin.send(f"/export problems {PERIOD}")
    await admin.wait_for(text="Problems to export: 5")
    csv_file = await admin.wait_for(
        predicate=lambda m: m.kind == "document" and (m.raw["document"]["file_name"]
                                                      .endswith(".csv")), timeout=15)
    assert csv_file.raw["document"]["file_name"] == "problems-2026-06-08_2026-06-14.csv"
    content = bytes(town.sb.world.files[csv_file.raw["document"]["file_id"]].data)
    header, *rows = content.decode("utf-8-sig").splitlines()
    assert header == ("Reference,Reported,Point id,Point,Kind,Area,Unit id,Responsible unit,"
                      "Problem type,Severity,Status,Inspection group,Received,Deadline,"
                      "Rectified,Passed,Rejections,Extensions,On time,Days overdue,"
                      "Before photos,After photos,Photos (open in Telegram)")
    assert [row.split(",")[0] for row in rows] == refs[:5]
    bot_name = town.bot.services.env.bot_username if town.bot.services else ""
    assert rows[2] == (
        f"{refs[2]},2026-06-08 12:00,school-01,Zhongxinjie Experimental Primary School,"
        "Schools,Zhongxinjie Subdistrict Institute,education,"
        "District Education and Sports Bureau,Street vending,normal,passed,G2,"
        "2026-06-08 13:00,2026-06-12 14:00,2026-06-10 08:00,2026-06-10 09:00,1,0,yes,,1,1,"
        f"https://t.me/{bot_name}?start=problem_{refs[2]}")
    # P2 was due Monday 12:00 and it is Wednesday 10:00: two days overdue by the calendar
    assert rows[1].split(",")[16:22] == ["0", "0", "no", "2", "1", "0"]
    assert rows[3].split(",")[10:20] == ["waiting for Received", "G2", *[""] * 4, "0", "0",
                                         "", ""]
    xlsx = next(m for m in admin.private.bot_messages() if m.kind == "document"
                and m.raw["document"]["file_name"].endswith(".xlsx"))  # sent before the CSV
    assert bytes(town.sb.world.files[xlsx.raw["document"]["file_id"]].data)[:2] == b"PK"

    # The link: the admin gets the problem and its before and after photos, in private.
    await admin.send(f"/start problem_{refs[2]}")
    await admin.wait_for(text=f"Problem {refs[2]}: passed")
    album = await admin.wait_for(predicate=lambda m: m.media_group_id is not None)
    assert album.text == "Before"
    assert len([m for m in admin.private.bot_messages()
                if m.media_group_id == album.media_group_id]) == 2  # before, after
    # Someone who may not see it (an inspector of another group) gets one line, no photo.
    before = len(town.vol1.private.bot_messages())
    await town.vol1.send(f"/start problem_{refs[2]}")
    await town.vol1.wait_for(text="is for the admins, its inspectors and its unit only")
    assert not any(m.kind == "photo" or m.media_group_id
                   for m in town.vol1.private.bot_messages()[before:])


async def test_days_overdue_count_beijing_calendar_days_not_24_hour_spans(town: Town) -> None:
    """A problem due at 23:30 on 1 December, exported at 00:10 on 9 December, is eight days
    overdue for the reader (the 1st to the 9th), though 7 days and 40 minutes have passed."""
    admin, li = town.admin, town.vol1
    await open_bot(admin, li)
    await admin.send(f"/inspector add {li.id} G1")
    await admin.wait_for(text="now inspects for G1")
    due = datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI).timestamp()
    ref = await make(town, li, "market-01", "piled-rubbish", due - 2 * HOUR,
                     received=due - HOUR, due=due)
    town.clock.set(datetime(2026, 12, 9, 0, 10, tzinfo=SHANGHAI))
    await admin.send("/export problems 2026-12-01..2026-12-09")
    csv_file = await admin.wait_for(
        predicate=lambda m: m.kind == "document" and (m.raw["document"]["file_name"]
                                                      .endswith(".csv")), timeout=15)
    content = bytes(town.sb.world.files[csv_file.raw["document"]["file_id"]].data)
    _, row = content.decode("utf-8-sig").splitlines()
    assert row.startswith(ref) and row.split(",")[18:20] == ["no", "8"]


async def test_the_weekly_report_goes_once_even_across_a_restart(town: Town) -> None:
    refs = await the_week(town)
    town.clock.set(datetime(2026, 6, 15, 9, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=1)
    report = await town.admin_chat.wait_for(text="2026-W24")
    lines = (report.text or "").splitlines()
    assert lines[0] == "🕵️ Weekly supervision report · 2026-W24 (2026-06-08 to 2026-06-14)"
    # P5's deadline (Saturday) has passed unrectified by Monday: it counts now, late.
    for line in ("Problems reported: 5", "Rectified on time: 2 of 5 (40.0%)",
                 "Passed at the first re-check: 1 of 2 (50.0%)", "⏰ Overdue now: 2",
                 f"  • {refs[1]} · District Market Regulation Bureau · 6 d 21 h overdue",
                 f"  • {refs[4]} · Guangminglu Subdistrict Office · 1 d 22 h overdue",
                 "📍 Points visited: 7 of 8 (87.5%) · visits: 7",
                 "  • G1: 4 visits · 3 problems · its points visited 4 of 5 (80.0%)"):
        assert line in lines, line
    assert not any(line.startswith("By point") for line in lines)  # the weekly is shorter

    await town.bot.stop()
    await town.bot.start()
    await town.tick(minutes=5)
    await town.tick(hours=1)
    weekly = [m for m in town.admin_chat.bot_messages() if "2026-W24" in (m.text or "")]
    assert len(weekly) == 1


async def test_an_area_admin_gets_their_areas_week_in_their_language(town: Town) -> None:
    """Grandma, admin of Zhongxinjie, reads Chinese: her week has its two problems and none of
    Guangminglu's; an admin of an area with nothing in the week gets no report."""
    await the_week(town)
    grandma, quiet = town.grandma, town.vol2
    for person, area in ((grandma, "zhongxinjie"), (quiet, "zhongxinjie-02")):
        await person.send("/start")
        await person.wait_for(text="")
        await town.admin.send(f"/grant {person.id} {area}")
        await town.admin.wait_for(text="is now an admin", timeout=5)
    town.clock.set(datetime(2026, 6, 15, 9, 0, 30, tzinfo=SHANGHAI))
    await town.tick(seconds=1)
    await town.admin_chat.wait_for(text="2026-W24")
    mine = await grandma.wait_for(text="督导周报")
    lines = (mine.text or "").splitlines()
    assert lines[0] == ("🕵️ 督导周报 · 2026-W24（2026-06-08 至 2026-06-14） · "
                        "中心街街道新时代文明实践所")
    assert "上报问题：2" in lines
    assert not any("光明" in line for line in lines)
    await town.tick(minutes=5)
    assert not any("W24" in (m.text or "") for m in quiet.private.bot_messages())


def test_the_weekly_report_is_due_with_mondays_digest() -> None:
    """Before Monday's digest time the week before last is the one due; from it, last week;
    on Sunday night still the week before."""
    from datetime import time

    from bot.schedule.sweep import week_due

    def due(moment: datetime) -> str:
        return week_due(moment.timestamp(), SHANGHAI, time(9, 0))[0][1]

    assert due(datetime(2026, 6, 15, 8, 59, tzinfo=SHANGHAI)) == "2026-W23"
    assert due(datetime(2026, 6, 15, 9, 0, tzinfo=SHANGHAI)) == "2026-W24"
    assert due(datetime(2026, 6, 21, 23, 59, tzinfo=SHANGHAI)) == "2026-W24"
    kind, _, start, end = week_due(at(6, 16, 9), SHANGHAI, time(9, 0))[0]
    assert (kind, start, end) == ("supervision_weekly", at(6, 8, 0), at(6, 15, 0))
