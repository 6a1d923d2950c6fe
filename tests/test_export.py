"""The export's files: every row of a hand-built data set, period and area filters, parts
split under a size limit, and text that a spreadsheet would otherwise run as a formula."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.config import Config, parse_config
from bot.i18n import Catalogs
from bot.reports.export import (
    BOM,
    COLUMNS,
    ExportPart,
    Labels,
    export_labels,
    period_stem,
    write_export,
)
from bot.reports.periods import parse_period
from storage import Database, SnapshotReader

SHANGHAI = ZoneInfo("Asia/Shanghai")
AREAS = """id,parent_id,name_zh,name_en,lat,lon
centre,,市中区中心,District Centre,,
gm,centre,光明路街道,Guangminglu,,
gm-01,gm,光明路第1社区,Guangminglu 1,,
gm-02,gm,光明路第2社区,Guangminglu 2,,
zx,centre,中心街街道,Zhongxinjie,,
zx-01,zx,中心街第1社区,Zhongxinjie 1,,
"""
CATEGORIES = [
    {"code": "elderly", "zh": "助老服务", "en": "Help for the elderly"},
    {"code": "environment", "zh": "生活环境", "en": "Living environment"},
    {"code": "legal", "zh": "法律援助", "en": "Legal aid"},
]
LI, ZHANG, CITIZEN = 1001, 1002, 2001


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3,
       year: int = 2026) -> float:
    """A Shanghai wall-clock moment as a timestamp."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


def local(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3,
          year: int = 2026) -> datetime:
    """The same moment as the naive local time the XLSX holds."""
    return datetime(year, month, day, hour, minute, second)


def request(ref: str, category: str, area: str | None, status: str,
            events: list[tuple[str, float, int | None]], **columns: Any) -> dict[str, Any]:
    """A row for repo.requests.bulk_requests (its created_at is the first event's)."""
    created = events[0][1]
    return {"ref": ref, "citizen_id": CITIZEN, "language": "en", "category": category,
            "description": "my tap leaks", "address": "12 Jianshe Road",
            "phone": "+8613800000001", "status": status, "area_id": area,
            "created_at": created, "updated_at": created, "events": events, **columns}


# What happened, request by request (a volunteer's events name them as the actor).
DATA = [
    # Li claims at once, is done in two hours; the citizen confirms and gives 5 stars.
    request("2026-000001", "elderly", "gm-01", "closed",
            [("created", at(5, 9), CITIZEN), ("dispatched", at(5, 9), None),
             ("claimed", at(5, 9, 15), LI), ("done", at(5, 11, 0, 30), LI),
             ("confirmed", at(5, 12), CITIZEN)],
            volunteer_id=LI, volunteer_name="Li", closed_how="confirmed", rating=5,
            claimed_at=at(5, 9, 15), done_at=at(5, 11, 0, 30), closed_at=at(5, 12)),
    # Zhang (not registered, a name made to look like a formula) finishes a legal request;
    # nobody answers, so it closes without confirmation.
    request("2026-000002", "legal", "gm-02", "closed",
            [("created", at(5, 10), CITIZEN), ("dispatched", at(5, 10), None),
             ("claimed", at(5, 10, 30), ZHANG), ("done", at(5, 13), ZHANG),
             ("auto_closed", at(8, 13), None)],
            volunteer_id=ZHANG, volunteer_name='=HYPERLINK("http://x","Zh\x07ang")',
            closed_how="unconfirmed", closed_at=at(8, 13)),
    # The citizen cancels before anyone claims.
    request("2026-000003", "elderly", "zx-01", "cancelled",
            [("created", at(5, 14), CITIZEN), ("dispatched", at(5, 14), None),
             ("cancelled", at(5, 14, 20), CITIZEN)],
            cancelled_by="citizen", closed_at=at(5, 14, 20)),
    # No area given; still waiting.
    request("2026-000004", "environment", None, "dispatched",
            [("created", at(5, 23, 59, 59), CITIZEN), ("dispatched", at(5, 23, 59, 59), None)]),
    # The next day: Li is done, the citizen says no, Li takes it again.
    request("2026-000005", "elderly", "gm-01", "claimed",
            [("created", at(6, 8), CITIZEN), ("dispatched", at(6, 8), None),
             ("claimed", at(6, 8, 5), LI), ("done", at(6, 9), LI),
             ("reopened", at(6, 10), CITIZEN), ("claimed", at(6, 10, 30), LI)],
            volunteer_id=LI, volunteer_name="Li", claimed_at=at(6, 10, 30)),
    # Last year, at the district level.
    request("2025-000099", "legal", "centre", "cancelled",
            [("created", at(31, 20, month=12, year=2025), CITIZEN),
             ("dispatched", at(31, 20, month=12, year=2025), None),
             ("cancelled", at(1, 9, month=1), None)],
            cancelled_by="admin", closed_at=at(1, 9, month=1)),
]

# The rows the English export must hold, in order (created first to last).
EXPECTED = [
    ["2025-000099", "legal", "Legal aid", "centre", "District Centre", "cancelled", None,
     "an admin", None, None, None, None, 0, None,
     local(31, 20, month=12, year=2025), local(31, 20, month=12, year=2025), None, None, None,
     None, local(1, 9, month=1)],
    ["2026-000001", "elderly", "Help for the elderly", "gm-01", "Guangminglu 1", "closed",
     "confirmed by the citizen", None, "李明", LI, "Blue Sky Team", 5, 0,
     "for a neighbour, confirmed by phone",
     local(5, 9), local(5, 9), local(5, 9, 15), local(5, 11, 0, 30), local(5, 12),
     local(5, 12), None],
    ["2026-000002", "legal", "Legal aid", "gm-02", "Guangminglu 2", "closed",
     "without confirmation", None, """'=HYPERLINK("http://x","Zhang")""", ZHANG, None, None, 0,
     "for a neighbour",
     local(5, 10), local(5, 10), local(5, 10, 30), local(5, 13), None, local(8, 13), None],
    ["2026-000003", "elderly", "Help for the elderly", "zx-01", "Zhongxinjie 1", "cancelled",
     None, "the citizen", None, None, None, None, 0, None,
     local(5, 14), local(5, 14), None, None, None, None, local(5, 14, 20)],
    ["2026-000004", "environment", "Living environment", None, None,
     "waiting for a volunteer", None, None, None, None, None, None, 0, None,
     local(5, 23, 59, 59), local(5, 23, 59, 59), None, None, None, None, None],
    ["2026-000005", "elderly", "Help for the elderly", "gm-01", "Guangminglu 1", "in progress",
     None, None, "李明", LI, "Blue Sky Team", None, 1, None,
     local(6, 8), local(6, 8), local(6, 8, 5), local(6, 9), None, None, None],
]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Three categories and a small area tree (two institutes, three stations)."""
    (tmp_path / "areas.csv").write_text(AREAS, "utf-8")
    raw = {"telegram": {"token": "123:abc"}, "bot": {"admin_ids": [1]},
           "categories": CATEGORIES, "areas": {"file": "areas.csv"}}
    return parse_config(raw, env={}, base_dir=tmp_path)


@pytest.fixture
async def db_path(tmp_path: Path) -> AsyncIterator[Path]:
    """DATA in a database: Li registered in the Blue Sky Team, Zhang not registered."""
    path = tmp_path / "civicloop.db"
    db = await Database.open(path)
    try:
        async with db.transaction() as repo:
            await repo.people.bulk_users([LI, ZHANG, CITIZEN], at(1, 0))
            await repo.volunteers.sync_team(
                "blue", "gm", "蓝天志愿服务队", "Blue Sky Team", None, at(1, 0))
            repo._write(
                "INSERT INTO volunteers (user_id, name, area_id, team_id, status, applied_at) "
                "VALUES (?, '李明', 'gm-01', 'blue', 'approved', ?)", (LI, at(1, 0)))
            await repo.requests.bulk_requests(DATA)
            # The reopen is counted by the loop, not by bulk loading.
            repo._write(
                "UPDATE requests SET reopen_count = 1 WHERE ref = '2026-000005'")
            # Two were filed by a helper for a neighbour (migration 021): the first one's
            # confirmation came by phone, the second closed without one.
            repo._write(
                "UPDATE requests SET on_behalf = 1, for_name = '王阿姨', "
                "for_address = '8 Heping Street', confirmed_via = CASE ref "
                "WHEN '2026-000001' THEN 'phone' END "
                "WHERE ref IN ('2026-000001', '2026-000002')")
        yield path
    finally:
        await db.close()


def export(db_path: Path, out: Path, config: Config, language: str = "en",
           period: str = "all", area_ids: list[str] | None = None,
           **limits: Any) -> list[ExportPart]:
    """Run write_export for a period word, as the job does."""
    found = parse_period(period, at(29, 12, month=11), SHANGHAI)
    assert found is not None
    return write_export(SnapshotReader(db_path), out, start=found.start, end=found.end,
                        area_ids=area_ids,
                        labels=export_labels(Catalogs.load("zh"), config, language),
                        tz=SHANGHAI, stem="requests", **limits)


def xlsx_rows(part: ExportPart) -> tuple[list[Any], list[list[Any]]]:
    """The header and the rows of an XLSX part."""
    sheet = load_workbook(part.path).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def csv_rows(part: ExportPart) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV part (which starts with the UTF-8 BOM)."""
    data = part.path.read_bytes()
    assert data.startswith(BOM)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def temporary_sheets() -> set[Path]:
    """The sheets openpyxl is writing (temporary files)."""
    return set(Path(tempfile.gettempdir()).glob("openpyxl.*"))


def as_text(row: list[Any]) -> list[str]:
    """An expected XLSX row as the CSV writes it."""
    return ["" if v is None else v.isoformat(" ") if isinstance(v, datetime) else str(v)
            for v in row]


# -- the rows -------------------------------------------------------------------------------


async def test_every_row_of_the_xlsx_and_the_csv_is_what_happened(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """One row per request, oldest first: lifecycle times in Shanghai time, the closed time
    only for closed requests, the team of a registered volunteer, no phones or addresses."""
    parts = export(db_path, tmp_path / "out", config)
    assert [(p.filename, p.kind, p.rows, p.part, p.parts) for p in parts] == [
        ("requests.xlsx", "xlsx", 6, 1, 1), ("requests.csv", "csv", 6, 1, 1)]
    header, rows = xlsx_rows(parts[0])
    assert header == ["Reference", "Category code", "Category", "Area code", "Area", "Status",
                      "Closed how", "Cancelled by", "Volunteer", "Volunteer ID", "Team",
                      "Rating", "Times reopened", "For a neighbour", "Created", "Dispatched",
                      "Claimed", "Done", "Confirmed", "Closed", "Cancelled"]
    assert len(header) == len(COLUMNS)
    assert rows == EXPECTED
    csv_header, text = csv_rows(parts[1])
    assert csv_header == header
    assert text == [as_text(row) for row in EXPECTED]
    assert text[1][14:17] == ["2026-03-05 09:00:00", "2026-03-05 09:00:00",
                              "2026-03-05 09:15:00"]
    everything = parts[0].path.read_bytes() + parts[1].path.read_bytes()
    assert b"8613800000001" not in everything and b"Jianshe" not in everything
    assert "王阿姨".encode() not in everything and b"Heping" not in everything


async def test_the_chinese_export_names_everything_in_chinese(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """An admin reading Chinese gets Chinese headers, words, categories, areas and teams."""
    parts = export(db_path, tmp_path / "out", config, language="zh")
    header, rows = xlsx_rows(parts[0])
    assert header[:6] == ["编号", "类别代码", "类别", "区域编号", "区域", "状态"]
    assert rows[1][:11] == ["2026-000001", "elderly", "助老服务", "gm-01", "光明路第1社区",
                            "已关闭", "群众确认", None, "李明", LI, "蓝天志愿服务队"]
    _, text = csv_rows(parts[1])
    assert text[3][5:8] == ["已取消", "", "群众"]


async def test_the_rows_agree_with_the_database_and_the_count(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """Read back against the requests table itself: refs, statuses, ratings, and the count the
    command announces."""
    parts = export(db_path, tmp_path / "out", config)
    _, rows = xlsx_rows(parts[0])
    db = await Database.open(db_path)
    try:
        async with db.reading() as repo:
            for row in rows:
                stored = await repo.requests.request_by_ref(row[0])
                assert stored is not None
                assert (row[1], row[3], row[9], row[11]) == (
                    stored.category, stored.area_id, stored.volunteer_id, stored.rating)
            assert await repo.figures.export_count(0, 2e9, None) == len(rows)
            assert await repo.figures.export_count(0, 2e9, ["gm", "gm-01", "gm-02"]) == 3
    finally:
        await db.close()


async def test_the_database_reader_reads_beside_a_unit_of_work(db_path: Path) -> None:
    """Database.snapshot_reader() reads in a worker thread while a transaction holds the bot's
    turn with a write done but not committed: it waits for neither the lock nor the write, and
    sees what was committed. A database in memory has no file to hand out."""
    db = await Database.open(db_path)
    try:
        reader = db.snapshot_reader()
        async with db.transaction() as repo:
            repo._write("UPDATE requests SET category = 'other'")
            assert (await repo._one("SELECT COUNT(*) FROM requests WHERE category = 'other'")
                    )[0] == len(DATA)  # written on the bot's connection, not yet committed
            rows = await asyncio.wait_for(
                asyncio.to_thread(lambda: list(reader.stream_rows(0, 2e9, None))), 10)
            cohort, hours = await asyncio.wait_for(
                asyncio.to_thread(reader.chart_rows, 0, 2e9, None, 0), 10)
        assert [r[:2] for r in rows] == [tuple(e[:2]) for e in EXPECTED]
        assert cohort.total.collected == len(DATA) == sum(h[1] for h in hours)
        assert "other" not in cohort.by_category
    finally:
        await db.close()
    memory = await Database.open(":memory:")
    try:
        with pytest.raises(RuntimeError, match="in memory"):
            memory.snapshot_reader()
    finally:
        await memory.close()


# -- filters --------------------------------------------------------------------------------


async def test_a_period_holds_the_requests_created_in_it(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """5 March holds the four created that day (one at 23:59:59), whenever they closed."""
    parts = export(db_path, tmp_path / "day", config, period="2026-03-05")
    _, rows = xlsx_rows(parts[0])
    assert [r[0] for r in rows] == ["2026-000001", "2026-000002", "2026-000003", "2026-000004"]
    parts = export(db_path, tmp_path / "year", config, period="2025")
    assert [r[0] for r in xlsx_rows(parts[0])[1]] == ["2025-000099"]


async def test_an_area_holds_its_subtree_only(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """Guangminglu and its stations; a request with no area belongs to no area."""
    assert config.areas is not None
    parts = export(db_path, tmp_path / "gm", config, area_ids=config.areas.subtree("gm"))
    _, rows = xlsx_rows(parts[0])
    assert [r[0] for r in rows] == ["2026-000001", "2026-000002", "2026-000005"]
    _, text = csv_rows(parts[1])
    assert [r[0] for r in text] == ["2026-000001", "2026-000002", "2026-000005"]
    parts = export(db_path, tmp_path / "none", config, area_ids=[])
    assert [p.rows for p in parts] == [0, 0]
    header, rows = xlsx_rows(parts[0])
    assert rows == [] and header[0] == "Reference"  # an empty export still has its header


# -- parts ----------------------------------------------------------------------------------


async def test_xlsx_parts_split_by_rows_and_csv_parts_by_bytes(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """Two rows per XLSX part and about two rows' bytes per CSV part: every part has the
    header, none passes the limit, and together they hold every row in order."""
    one_row = len(",".join(as_text(EXPECTED[1])).encode()) + 2
    header_bytes = len(BOM) + len(",".join(export_labels(
        Catalogs.load("zh"), config, "en").header).encode()) + 2
    limit = header_bytes + 2 * one_row + 10
    parts = export(db_path, tmp_path / "out", config, max_rows=2, max_bytes=limit)
    xlsx = [p for p in parts if p.kind == "xlsx"]
    csvs = [p for p in parts if p.kind == "csv"]
    assert [p.filename for p in xlsx] == [f"requests-part{n}.xlsx" for n in (1, 2, 3)]
    assert [(p.rows, p.part, p.parts) for p in xlsx] == [(2, 1, 3), (2, 2, 3), (2, 3, 3)]
    assert [row for p in xlsx for row in xlsx_rows(p)[1]] == EXPECTED
    assert len(csvs) >= 3
    assert [p.filename for p in csvs] == [f"requests-part{n}.csv"
                                          for n in range(1, len(csvs) + 1)]
    assert all(p.path.stat().st_size <= limit for p in csvs)
    assert [row for p in csvs for row in csv_rows(p)[1]] == [as_text(r) for r in EXPECTED]


async def test_xlsx_parts_stay_under_a_byte_limit(tmp_path: Path, config: Config) -> None:
    """3,000 requests with a 60 KB limit: several parts, each under it, none wasted."""
    db = await Database.open(tmp_path / "many.db")
    rng = random.Random(5)
    rows = []
    for n in range(3000):
        created = at(1, 0) + n * 60
        volunteer = 1000 + rng.randrange(50)
        rows.append(request(f"2026-{n + 1:06d}", rng.choice(["elderly", "legal"]),
                            rng.choice(["gm-01", "gm-02", "zx-01"]), "closed",
                            [("created", created, CITIZEN), ("dispatched", created, None),
                             ("claimed", created + rng.randrange(3600), volunteer),
                             ("done", created + 7200, volunteer),
                             ("confirmed", created + 9000, CITIZEN)],
                            volunteer_id=volunteer, volunteer_name=f"志愿者{volunteer}",
                            closed_how="confirmed", rating=rng.randrange(1, 6),
                            closed_at=created + 9000))
    try:
        async with db.transaction() as repo:
            await repo.people.bulk_users([CITIZEN, *range(1000, 1050)], at(1, 0))
            await repo.requests.bulk_requests(rows)
    finally:
        await db.close()
    limit = 60_000
    parts = export(tmp_path / "many.db", tmp_path / "out", config, max_bytes=limit,
                   check_every=20)
    xlsx = [p for p in parts if p.kind == "xlsx"]
    sizes = [p.path.stat().st_size for p in xlsx]
    assert len(xlsx) >= 3 and max(sizes) <= limit
    assert min(sizes[:-1]) > limit // 2  # split near the limit, not far below it
    refs = [row[0] for p in xlsx for row in xlsx_rows(p)[1]]
    assert refs == [f"2026-{n + 1:06d}" for n in range(3000)]
    assert sum(p.rows for p in parts if p.kind == "csv") == 3000


async def test_files_left_by_an_interrupted_attempt_are_replaced(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """A job that runs again after a crash leaves only this run's files behind."""
    out = tmp_path / "files"
    out.mkdir()
    (out / "job7-requests-part3.xlsx").write_bytes(b"half written")
    (out / "job8-requests.xlsx").write_bytes(b"another job's")
    found = parse_period("all", at(29, 12, month=11), SHANGHAI)
    assert found is not None
    labels: Labels = export_labels(Catalogs.load("zh"), config, "en")
    parts = write_export(SnapshotReader(db_path), out, start=found.start, end=found.end,
                         area_ids=None, labels=labels, tz=SHANGHAI, stem="requests",
                         prefix="job7-")
    assert sorted(p.name for p in out.iterdir()) == [
        "job7-requests.csv", "job7-requests.xlsx", "job8-requests.xlsx"]
    assert [p.filename for p in parts] == ["requests.xlsx", "requests.csv"]


async def test_a_failed_export_leaves_no_files_behind(
    db_path: Path, tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job fails half way (the disk is full, say): no part is left, not even openpyxl's
    temporary sheet, since the rows name volunteers."""
    import bot.reports.export

    real = bot.reports.export._values
    seen: list[int] = []
    sheets: list[Path] = []

    def failing(*args: Any) -> Any:
        seen.append(1)
        if len(seen) == 4:
            sheets.extend(temporary_sheets())
            raise OSError("No space left on device")
        return real(*args)

    before = temporary_sheets()
    monkeypatch.setattr(bot.reports.export, "_values", failing)
    with pytest.raises(OSError, match="No space"):
        export(db_path, tmp_path / "out", config, max_rows=2)
    assert list((tmp_path / "out").iterdir()) == []
    assert temporary_sheets() == before
    assert set(sheets) - before  # there was a temporary sheet while it ran


# -- formulas and names ---------------------------------------------------------------------


async def test_text_that_looks_like_a_formula_stays_text(
    db_path: Path, tmp_path: Path, config: Config,
) -> None:
    """A volunteer named '=HYPERLINK(…)' is shown as text in both files, never run; a control
    character (which would break the XLSX) is dropped."""
    parts = export(db_path, tmp_path / "out", config)
    sheet = load_workbook(parts[0].path).active
    assert sheet is not None
    cell = sheet.cell(row=4, column=COLUMNS.index("volunteer") + 1)  # header, 2025, 2026-1
    assert cell.data_type == "s"
    assert cell.value == """'=HYPERLINK("http://x","Zhang")"""
    _, text = csv_rows(parts[1])
    assert text[2][COLUMNS.index("volunteer")].startswith("'=")


def test_file_names_say_the_period() -> None:
    """requests-2026, -2026-03, -2026-03-05, -all, or the range's two days."""
    now = at(29, 12, month=11)
    stems = {}
    for word in ("2026", "2026-03", "2026-02", "2026-03-05", "all", "2026-03-01..2026-03-15",
                 "2026-01-01..2026-12-31", "month"):
        found = parse_period(word, now, SHANGHAI)
        assert found is not None
        stems[word] = period_stem(found)
    assert stems == {
        "2026": "2026", "2026-03": "2026-03", "2026-02": "2026-02",
        "2026-03-05": "2026-03-05", "all": "all",
        "2026-03-01..2026-03-15": "2026-03-01_2026-03-15",
        "2026-01-01..2026-12-31": "2026", "month": "2026-11-01_2026-11-29",
    }
