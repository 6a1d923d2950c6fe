"""/export end to end: an admin asks, is told how many requests at once, and receives an XLSX
and a CSV whose rows are what happened; scoping, private data and a crash mid-export.

The town runs on the full area tree of Shizhong district, as in test_areas_e2e."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from sandbox import SimChat, SimMessage
from storage import Job, Outgoing, Request
from tests.conftest import Town
from tests.flows import card_of, claim
from tests.test_areas_e2e import (
    AREA_FILE,
    GUANGMINGLU,
    GUANGMINGLU_01,
    ZHONGXINJIE,
    ZHONGXINJIE_01,
    file_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMES = ("created_at", "dispatched_at", "first_claimed_at", "first_done_at", "confirmed_at",
         "closed_at", "cancelled_at")


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """The town on the full area tree (elderly requests still go to the volunteers group)."""
    return {"areas": {"file": str(AREA_FILE)}}


# -- steps ----------------------------------------------------------------------------------


async def documents(chat: SimChat, count: int = 2) -> list[SimMessage]:
    """The next `count` documents the bot sends in a chat (the job runs in the background)."""
    return [await chat.wait_for(predicate=lambda m: m.kind == "document", timeout=20)
            for _ in range(count)]


def file_bytes(town: Town, document: SimMessage) -> bytes:
    """What the bot uploaded, as the sandbox stored it."""
    return town.sb.world.files[document.raw["document"]["file_id"]].data


def sheet_rows(data: bytes) -> list[list[Any]]:
    """Every row of an XLSX file, header first."""
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def stored(town: Town, ref: str) -> Request:
    """A request as the database holds it."""
    assert town.bot.services is not None
    async with town.bot.services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
    assert request is not None
    return request


def local(at: float | None) -> datetime | None:
    """A stored timestamp as the naive Shanghai time the XLSX shows (whole seconds)."""
    return None if at is None else datetime.fromtimestamp(int(at), SHANGHAI).replace(
        tzinfo=None)


async def solved_and_rated(town: Town, ref: str) -> None:
    """Li claims the request, is done, and the citizen confirms and gives four stars."""
    card = await card_of(town.volunteers, ref)
    await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text=ref)
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.send("Replaced the washer.")
    await town.vol1.wait_for(text="marked done")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await town.citizen.press("⭐⭐⭐⭐")
    await town.citizen.wait_for(text="add a comment")
    await town.citizen.send("Thanks!")
    await town.citizen.wait_for(text="Your request is closed")


async def cancelled_by_the_citizen(town: Town, ref: str) -> None:
    """The citizen cancels a request from /my."""
    await town.citizen.send("/my")
    await town.citizen.wait_for(text="Your requests")
    await town.citizen.press(f"✖ Cancel {ref}")
    await town.citizen.wait_for(text=f"Cancel request {ref}?")
    await town.citizen.press("Yes, cancel it")
    await town.citizen.wait_for(text=f"Request {ref} is cancelled.")


# -- stories --------------------------------------------------------------------------------


async def test_an_admin_exports_todays_requests_as_xlsx_and_csv(town: Town) -> None:
    """Three requests today: one closed and rated, one waiting, one cancelled. /export today
    in private answers with the count, then sends an XLSX and a CSV holding them."""
    await town.vol1.send("/start")
    await town.vol1.wait_for(text="Choose below")
    done = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    await solved_and_rated(town, done)
    waiting = await file_at(town.citizen, ZHONGXINJIE, ZHONGXINJIE_01,
                            category="Legal aid", text="I need advice about a contract.")
    dropped = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    await cancelled_by_the_citizen(town, dropped)

    await town.admin.send("/export today")
    today = datetime.fromtimestamp(town.clock.now(), SHANGHAI).date().isoformat()
    answer = await town.admin.wait_for(text="Requests to export: 3")
    assert f"({today} · the whole district)" in (answer.text or "")
    xlsx, table = await documents(town.admin.private)
    assert xlsx.raw["document"]["file_name"] == f"requests-{today}.xlsx"
    assert table.raw["document"]["file_name"] == f"requests-{today}.csv"
    assert xlsx.text == f"Requests · {today} · the whole district · rows: 3"

    rows = sheet_rows(file_bytes(town, xlsx))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["Reference", "Category code", "Category", "Area code", "Area",
                          "Status"]
    assert [row[0] for row in body] == [done, waiting, dropped]
    by_ref = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    first = by_ref[done]
    assert (first["Category"], first["Area code"], first["Area"]) == (
        "Help for the elderly", "guangminglu-01", GUANGMINGLU_01)
    assert (first["Status"], first["Closed how"], first["Volunteer"], first["Volunteer ID"],
            first["Rating"]) == ("closed", "confirmed by the citizen", "Li", town.vol1.id, 4)
    assert (by_ref[waiting]["Status"], by_ref[waiting]["Category code"],
            by_ref[waiting]["Area code"]) == ("waiting for a volunteer", "legal",
                                              "zhongxinjie-01")
    assert (by_ref[dropped]["Status"], by_ref[dropped]["Cancelled by"]) == (
        "cancelled", "the citizen")
    # Every lifecycle time is the database's, in Shanghai time; steps not reached are empty.
    for ref, row in zip((done, waiting, dropped), body, strict=True):
        request = await stored(town, ref)
        closed = request.closed_at if request.status == "closed" else None
        expected = [local(getattr(request, name)) for name in TIMES[:5]]
        expected += [local(closed), local(request.cancelled_at)]
        assert row[13] is None  # not filed for a neighbour
        assert row[14:] == expected
    assert body[0][14] is not None and body[0][18] is not None  # created … confirmed
    assert body[1][16:] == [None] * 5 and body[2][20] is not None

    text = file_bytes(town, table).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    assert lines[0] == header
    assert [line[0] for line in lines[1:]] == [done, waiting, dropped]
    assert lines[1][14] == body[0][14].isoformat(" ")
    assert "+8613800000001" not in text and "Jianshe" not in text  # personal data stays out


async def test_exports_are_never_posted_in_a_volunteer_group(town: Town) -> None:
    """The admin types /export in the volunteers group: refused there, nothing is sent."""
    await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    await town.admin.send("/export today", chat=town.volunteers)
    await town.volunteers.wait_for(text="Exports go only to a private chat")
    await town.admin.send("/export today", chat=town.admin_chat)  # the admin chat may
    await town.admin_chat.wait_for(text="Requests to export: 1")
    await documents(town.admin_chat)
    assert [m for m in town.volunteers.bot_messages() if m.kind == "document"] == []


async def test_bad_periods_and_areas_get_the_right_form_and_non_admins_are_refused(
    town: Town,
) -> None:
    """A malformed date, an unknown area, two periods, a citizen asking: one line each."""
    admin = town.admin
    await admin.send("/export 2026-02-30")
    reply = await admin.wait_for(text="“2026-02-30” is not a period I can read.")
    assert "Usage: /export [period] [area]" in (reply.text or "")
    await admin.send("/export month atlantis")
    reply = await admin.wait_for(text="There is no area “atlantis”")
    assert "Usage: /export" in (reply.text or "")
    await admin.send("/export today week")
    await admin.wait_for(text="Usage: /export [period] [area]")
    await admin.send("/export year")  # nothing filed yet
    await admin.wait_for(text="No requests to export for")
    await town.citizen.send("/export")
    await town.citizen.wait_for(text="only admins")
    assert town.bot.services is not None
    async with town.bot.services.env.db.reading() as repo:
        assert await repo.timers.pending_jobs() == []  # none of these queued any work


async def test_an_area_admin_exports_their_area_only(town: Town) -> None:
    """Zhang looks after Guangminglu: his export holds its request, not Zhongxinjie's, and
    asking for Zhongxinjie is refused."""
    assert town.bot.services is not None
    async with town.bot.services.env.db.transaction() as repo:
        await repo.people.grant(town.vol2.id, "guangminglu", town.admin.id, town.clock.now())
    ours = await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    await file_at(town.citizen, ZHONGXINJIE, ZHONGXINJIE_01)

    zhang = town.vol2
    await zhang.send("/export zhongxinjie")
    await zhang.wait_for(text="“zhongxinjie” is outside the areas you look after.")
    await zhang.send("/export")
    answer = await zhang.wait_for(text="Requests to export: 1")
    assert f"(all · {GUANGMINGLU})" in (answer.text or "")
    xlsx, table = await documents(zhang.private)
    assert xlsx.raw["document"]["file_name"] == "requests-all.xlsx"
    assert [row[0] for row in sheet_rows(file_bytes(town, xlsx))[1:]] == [ours]
    assert file_bytes(town, table).decode("utf-8-sig").count("\n") == 2  # header + 1 row

    await zhang.send("/export today guangminglu-01")
    await zhang.wait_for(text="Requests to export: 1")
    xlsx, _ = await documents(zhang.private)
    assert xlsx.raw["document"]["file_name"].endswith("-guangminglu-01.xlsx")

    # The centre admin sees both.
    await town.admin.send("/export")
    await town.admin.wait_for(text="Requests to export: 2")


async def test_an_export_cut_short_by_a_crash_is_sent_after_the_restart(town: Town) -> None:
    """The job is recorded before the answer; the bot dies while writing the files; the next
    start writes and sends them."""
    await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    services = town.bot.services
    assert services is not None
    started = asyncio.Event()

    async def stuck(job: Job) -> list[Outgoing]:
        started.set()
        await asyncio.Event().wait()  # as if writing a very large file
        return []

    services.jobs.register("export", stuck)
    await town.admin.send("/export today")
    await town.admin.wait_for(text="Requests to export: 1")
    async with services.env.db.reading() as repo:
        pending = await repo.timers.pending_jobs()
    assert [(job.kind, job.chat_id) for job in pending] == [("export", town.admin.id)]
    await asyncio.wait_for(started.wait(), timeout=10)
    await town.bot.crash()

    await town.bot.start()
    xlsx, table = await documents(town.admin.private)
    assert xlsx.raw["document"]["file_name"].endswith(".xlsx")
    assert table.raw["document"]["file_name"].endswith(".csv")
    assert len(sheet_rows(file_bytes(town, xlsx))) == 2
    files = Path(town.bot.config.database).parent / "files"
    await town.sb.wait_until(lambda: not any(files.iterdir()), timeout=10)  # none kept


async def test_an_area_admin_exports_the_volunteers_of_their_area_only(town: Town) -> None:
    """Zhang looks after Guangminglu: /export volunteers lists Li (Guangminglu), not the
    Zhongxinjie volunteer; in the volunteers group it is refused (phone numbers)."""
    assert town.bot.services is not None
    now = town.clock.now()
    async with town.bot.services.env.db.transaction() as repo:
        await repo.people.grant(town.vol2.id, "guangminglu", town.admin.id, now)
        await repo.people.bulk_users([town.vol1.id, town.grandma.id], now)
        await repo.volunteers.apply(
            town.vol1.id, "李明", "+8613800000003", "guangminglu-01", None, now)
        await repo.volunteers.apply(
            town.grandma.id, "王芳", "+8613800000004", "zhongxinjie-01", None, now)
    zhang = town.vol2
    await zhang.send("/export volunteers", chat=town.volunteers)
    await town.volunteers.wait_for(text="This shows phone numbers")
    await zhang.send("/export volunteers")
    document = await zhang.wait_for(predicate=lambda m: m.kind == "document")
    assert document.raw["document"]["file_name"] == "volunteers.csv"
    lines = file_bytes(town, document).decode("utf-8").strip().splitlines()
    assert lines[0] == "user_id,name,phone,area_id,team_id,status,hours"
    assert [line.split(",")[1] for line in lines[1:]] == ["李明"]
    await town.admin.send("/export volunteers")  # the centre admin: everyone
    document = await town.admin.wait_for(predicate=lambda m: m.kind == "document")
    assert file_bytes(town, document).decode("utf-8").count("\n") == 3


async def test_the_volunteers_export_has_no_phones_in_the_admin_chat(town: Town) -> None:
    """In the admin chat (a group) /export volunteers leaves the phone column out, for a
    centre admin and an area admin alike; in private the phones are there."""
    assert town.bot.services is not None
    now = town.clock.now()
    async with town.bot.services.env.db.transaction() as repo:
        await repo.people.grant(town.vol2.id, "guangminglu", town.admin.id, now)
        await repo.people.bulk_users([town.vol1.id], now)
        await repo.volunteers.apply(
            town.vol1.id, "李明", "+8613800000003", "guangminglu-01", None, now)
    town.admin_chat.add_member(town.vol2)
    for admin in (town.admin, town.vol2):
        await admin.send("/export volunteers", chat=town.admin_chat)
        document = await town.admin_chat.wait_for(predicate=lambda m: m.kind == "document")
        text = file_bytes(town, document).decode("utf-8")
        assert text.splitlines()[0] == "user_id,name,area_id,team_id,status,hours"
        assert "8613800000003" not in text and "李明" in text
        assert "No phone numbers in a group chat" in (document.text or "")
    await town.admin.send("/export volunteers")
    document = await town.admin.wait_for(predicate=lambda m: m.kind == "document")
    assert "8613800000003" in file_bytes(town, document).decode("utf-8")


async def test_an_export_file_is_read_off_the_event_loop_when_sent(
    town: Town, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An export part can be tens of megabytes: the sender reads it in a worker thread, so
    every other chat keeps being served meanwhile."""
    import threading

    readers: list[str] = []
    real = Path.read_bytes

    def watched(path: Path) -> bytes:
        if path.name.startswith("job"):
            readers.append(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", watched)
    await file_at(town.citizen, GUANGMINGLU, GUANGMINGLU_01)
    await town.admin.send("/export today")
    await documents(town.admin.private)
    assert readers and threading.main_thread().name not in readers
