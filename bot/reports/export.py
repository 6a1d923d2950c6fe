"""/export: requests as XLSX and CSV (streamed, split under Telegram's upload limit).

The command answers at once and records a background job; the job reads the requests in a
worker thread, on a read-only connection of their own (Database.snapshot_reader()), and writes
both files in one pass, a chunk of rows at a time, so memory stays the same for a hundred rows
or a million. A file that would pass PART_BYTES is split into parts (requests-2026-part1.xlsx,
…)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
import os
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import ui
from bot.config import Config
from bot.context import Env, Who
from bot.i18n import Catalogs
from bot.people.roles import Role, Roles
from bot.reports.activities import ActivityFigures
from bot.reports.periods import Period, looks_like_period, parse_period
from bot.reports.supervision import SupervisionFigures
from bot.reports.tables import safe as _safe
from bot.requests import render
from bot.schedule.jobs import Jobs
from bot.unit import ActorUnit
from bot.volunteers.registration import Volunteers, volunteers_document
from storage import Outgoing, Repo, SnapshotReader
from storage.models import Job

log = logging.getLogger(__name__)

# Telegram takes files up to 50 MB from a bot; parts stop at 45 MB to keep a margin.
PART_BYTES = 45 * 1024 * 1024
EXCEL_ROWS = 1_048_575  # the rows an Excel sheet holds below its header
# An XLSX part's size is only known once zipped, so the writer compresses the sheet as it grows
# (as the zip will) every CHECK_EVERY rows and starts a new part before the next CHECK_EVERY
# rows could pass the limit; ZIP_ALLOWANCE covers the workbook's other, small members.
CHECK_EVERY = 500
ZIP_ALLOWANCE = 16 * 1024
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
BOM = b"\xef\xbb\xbf"  # so Excel reads the CSV as UTF-8 (Chinese names)

COLUMNS = ("ref", "category", "category_name", "area", "area_name", "status", "closed_how",
           "cancelled_by", "volunteer", "volunteer_id", "team", "rating", "reopened",
           "for_neighbour", "created", "dispatched", "claimed", "done", "confirmed", "closed",
           "cancelled")
FIRST_TIME = COLUMNS.index("created")
WIDTHS = (13, 16, 16, 16, 28, 16, 16, 12, 16, 12, 18, 7, 7, 16, *([20] * 7))


@dataclass(frozen=True)
class Labels:
    """The words of an export in one language: header, status words and names."""

    language: str
    header: tuple[str, ...]
    words: dict[str, str]  # status, closed_how and cancelled_by codes → words
    categories: dict[str, str]  # code → name
    areas: dict[str, str]  # id → name


def export_labels(t: Catalogs, config: Config, language: str) -> Labels:
    """The labels of an export for an admin reading `language`."""
    codes = ("dispatched", "claimed", "done", "closed", "cancelled", "confirmed", "unconfirmed",
             "citizen", "admin", "supervision", "neighbour_filed", "neighbour_phone",
             "neighbour_in_person")
    tree = config.areas
    return Labels(
        language=language,
        header=tuple(t.raw(language, f"export.column.{c}") for c in COLUMNS),
        words={code: t.raw(language, f"export.word.{code}") for code in codes},
        categories={c.code: c.name(language) for c in config.categories},
        areas={} if tree is None else {a.id: a.name(language) for a in tree.areas.values()},
    )


@dataclass(frozen=True)
class ExportPart:
    """One file written: where, the name to send it under, and what it holds."""

    path: Path
    filename: str
    kind: str  # "xlsx" or "csv"
    rows: int
    part: int
    parts: int


def write_export(
    reader: SnapshotReader,
    out_dir: Path,
    *,
    start: float,
    end: float,
    area_ids: list[str] | None,
    labels: Labels,
    tz: ZoneInfo,
    stem: str = "requests",
    prefix: str = "",
    max_bytes: int = PART_BYTES,
    max_rows: int = EXCEL_ROWS,
    check_every: int = CHECK_EVERY,
) -> list[ExportPart]:
    """Write the requests created in [start, end) in `area_ids` (None: all) as XLSX and CSV
    parts in `out_dir`, each under `max_bytes`; XLSX parts first, the rows read from `reader`
    (Database.snapshot_reader()). Sync: run it in a worker thread.

    Files are named `prefix` + `stem`.xlsx, or `stem`-part1.xlsx, … when split."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if prefix:  # files of an attempt a crash cut short
        for stale in out_dir.glob(f"{prefix}{stem}*"):
            stale.unlink(missing_ok=True)
    xlsx = _XlsxParts(out_dir, prefix, stem, labels.header, max_bytes, max_rows, check_every)
    csv_parts = _CsvParts(out_dir, prefix, stem, labels.header, max_bytes)
    try:
        for row in reader.stream_rows(start, end, area_ids):
            text, cells = _values(row, labels, tz)
            csv_parts.add(text)
            xlsx.add(cells)
        return xlsx.close() + csv_parts.close()
    except BaseException:
        # Names of volunteers: leave no half-written copies, not even openpyxl's sheet XML.
        xlsx.abort()
        csv_parts.abort()
        raise


def _values(row: tuple[Any, ...], labels: Labels, tz: ZoneInfo) -> tuple[list[Any], list[Any]]:
    """One request as CSV values (text) and XLSX values (numbers and local datetimes)."""
    (ref, category, area_id, status, closed_how, cancelled_by, volunteer, volunteer_id,
     team_zh, team_en, rating, reopened, neighbour, *times) = row
    words = labels.words
    team = team_en if labels.language == "en" else team_zh
    leading = [
        _safe(ref), _safe(category), _safe(labels.categories.get(category, category)),
        _safe(area_id), _safe(labels.areas.get(area_id, area_id) if area_id else None),
        words.get(status, status), words.get(closed_how, closed_how) if closed_how else None,
        words.get(cancelled_by, cancelled_by) if cancelled_by else None,
        _safe(volunteer), volunteer_id, _safe(team), rating, reopened,
        words.get(neighbour, neighbour) if neighbour else None,
    ]
    moments = [None if at is None else datetime.fromtimestamp(int(at), tz).replace(tzinfo=None)
               for at in times]
    text = ["" if v is None else v for v in leading]
    text += ["" if m is None else m.isoformat(" ") for m in moments]
    return text, [*leading, *moments]


class _CsvParts:
    """CSV parts split by the bytes written, each with the BOM and the header."""

    def __init__(self, folder: Path, prefix: str, stem: str, header: tuple[str, ...],
                 max_bytes: int) -> None:
        self.folder, self.prefix, self.stem = folder, prefix, stem
        self.header = self._encode(list(header))
        self.max_bytes = max_bytes
        self.paths: list[Path] = []
        self.counts: list[int] = []
        self._file: io.BufferedWriter | None = None
        self._written = 0

    def _encode(self, values: list[Any]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer).writerow(values)
        return buffer.getvalue().encode("utf-8")

    def _next(self) -> io.BufferedWriter:
        if self._file is not None:
            self._file.close()
        path = self.folder / f"{self.prefix}{self.stem}-part{len(self.paths) + 1}.csv"
        self.paths.append(path)
        self.counts.append(0)
        self._file = path.open("wb")
        self._file.write(BOM + self.header)
        self._written = len(BOM) + len(self.header)
        return self._file

    def add(self, values: list[Any]) -> None:
        """Write one row, in a new part if it would not fit in this one."""
        data = self._encode(values)
        file = self._file
        if file is None or (self.counts[-1] and self._written + len(data) > self.max_bytes):
            file = self._next()
        file.write(data)
        self._written += len(data)
        self.counts[-1] += 1

    def abort(self) -> None:
        """Close and delete every part written."""
        if self._file is not None:
            self._file.close()
        for path in self.paths:
            path.unlink(missing_ok=True)

    def close(self) -> list[ExportPart]:
        """Finish the last part (a header-only file if there were no rows)."""
        if self._file is None:
            self._next()
        assert self._file is not None
        self._file.close()
        return _named(self.paths, self.counts, self.prefix, self.stem, "csv")


class _XlsxParts:
    """XLSX parts from openpyxl's write-only workbook, split by rows and by zipped size."""

    def __init__(self, folder: Path, prefix: str, stem: str, header: tuple[str, ...],
                 max_bytes: int, max_rows: int, check_every: int) -> None:
        self.folder, self.prefix, self.stem = folder, prefix, stem
        self.header = header
        self.max_bytes, self.max_rows, self.check_every = max_bytes, max_rows, check_every
        self.paths: list[Path] = []
        self.counts: list[int] = []
        self._book: Any = None
        self._sheet: Any = None
        self._meter: _DeflateMeter | None = None
        # openpyxl (and numpy under it) loads when an export is first written, not at start:
        # it is a third of the bot's start-up time and a quarter of its memory.
        from openpyxl.cell import WriteOnlyCell
        self._cell = WriteOnlyCell

    def _next(self) -> None:
        self._save()
        self.paths.append(self.folder / f"{self.prefix}{self.stem}-part{len(self.paths) + 1}.xlsx")
        self.counts.append(0)
        from openpyxl import Workbook
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet()
        for column, width in enumerate(WIDTHS, start=1):  # must come before the first row
            self._sheet.column_dimensions[get_column_letter(column)].width = width
        self._sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for title in self.header:
            cell = self._cell(self._sheet, value=title)
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)
        self._meter = _DeflateMeter(Path(self._sheet._writer.out))

    def _full(self) -> bool:
        rows = self.counts[-1]
        if rows >= self.max_rows:
            return True
        if rows % self.check_every or self._meter is None:
            return False
        zipped = self._meter.measure()
        # The next check comes check_every rows later: leave room for twice the rows so far
        # on average, so an unlucky run of long names cannot push the part over.
        ahead = 2 * zipped * self.check_every // max(rows, 1)
        return zipped + ahead + ZIP_ALLOWANCE > self.max_bytes

    def add(self, values: list[Any]) -> None:
        """Write one row, in a new part if this one is full."""
        if self._sheet is None or self._full():
            self._next()
        cells = values[:FIRST_TIME]
        for moment in values[FIRST_TIME:]:
            if moment is None:
                cells.append(None)
            else:
                cell = self._cell(self._sheet, value=moment)
                cell.number_format = TIME_FORMAT
                cells.append(cell)
        self._sheet.append(cells)
        self.counts[-1] += 1

    def _save(self) -> None:
        if self._book is None:
            return
        path = self.paths[-1]
        self._book.save(path)
        self._book = self._sheet = self._meter = None
        size = path.stat().st_size
        if size > self.max_bytes:  # the checks above should make this impossible
            log.error("export part %s is %s bytes, over the %s limit", path.name, size,
                      self.max_bytes)

    def abort(self) -> None:
        """Drop the part being written (and its temporary sheet) and delete every part."""
        if self._sheet is not None:
            with contextlib.suppress(Exception):  # already failing: clean up what we can
                self._sheet.close()  # ends its XML stream, which would complain when dropped
                self._sheet._writer.cleanup()
        if self._meter is not None:
            self._meter.path.unlink(missing_ok=True)
        self._book = self._sheet = self._meter = None
        for path in self.paths:
            path.unlink(missing_ok=True)

    def close(self) -> list[ExportPart]:
        """Save the last part (a header-only file if there were no rows)."""
        if self._book is None and not self.paths:
            self._next()
        self._save()
        return _named(self.paths, self.counts, self.prefix, self.stem, "xlsx")


class _DeflateMeter:
    """Follows the sheet's growing XML file and deflates it as the zip will, to tell how big
    the saved part is so far (a little over: each measure flushes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read = 0
        self._zipped = 0
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)

    def measure(self) -> int:
        """Deflate what was written since the last measure; return the bytes so far."""
        with self.path.open("rb") as file:
            file.seek(self._read)
            while chunk := file.read(1 << 20):
                self._read += len(chunk)
                self._zipped += len(self._deflate.compress(chunk))
        self._zipped += len(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        return self._zipped


def _named(paths: list[Path], counts: list[int], prefix: str, stem: str,
           kind: str) -> list[ExportPart]:
    """Name the parts; a single part loses its -part1 suffix."""
    if len(paths) == 1:
        single = paths[0].with_name(f"{prefix}{stem}.{kind}")
        os.replace(paths[0], single)
        paths[0] = single
    return [ExportPart(path, path.name.removeprefix(prefix), kind, count, n, len(paths))
            for n, (path, count) in enumerate(zip(paths, counts, strict=True), start=1)]


def period_stem(period: Period) -> str:
    """A short file name for a period: 2026, 2026-03, 2026-03-05, all, or a range."""
    first, last = period.first, period.last
    if period.label == "all":
        return "all"
    if first == last:
        return first.isoformat()
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) \
            and first.year == last.year:
        return str(first.year)
    if first.day == 1 and (first.year, first.month) == (last.year, last.month) \
            and (last + timedelta(days=1)).day == 1:
        return first.isoformat()[:7]
    return f"{first.isoformat()}_{last.isoformat()}"


class Exports:
    """Answers /export [period] [area] and /export volunteers."""

    def __init__(self, env: Env, roles: Roles, jobs: Jobs, volunteers: Volunteers,
                 activities: ActivityFigures,
                 supervision: SupervisionFigures | None = None) -> None:
        self.env = env
        self.roles = roles
        self.jobs = jobs
        self.volunteers = volunteers
        self.activities = activities  # /export activities
        self.supervision = supervision  # /export problems
        jobs.register("export", self.export_job)

    async def export(self, unit: ActorUnit, chat_id: int, args: list[str]) -> None:
        """Queue an export of requests (answering with how many at once), or send the
        volunteers' CSV."""
        if [a.lower() for a in args] in (["volunteers"], ["志愿者"]):
            role = await self.roles.of(unit.repo, unit.user_id)
            if role is None or role.centre:  # the volunteers' service answers and refuses
                await self.volunteers.export(unit, chat_id, ["volunteers"])
                return
            await self._area_volunteers(unit, chat_id, role)
            return
        if args and args[0].lower() in ("activities", "活动"):
            await self._activities(unit, chat_id, args[1:])
            return
        if args and args[0].lower() in ("problems", "问题", "督导"):
            await self._activities(unit, chat_id, args[1:], problems=True)
            return
        repo, lang, who = unit.repo, unit.language, unit.who
        text = await self._queue(repo, who, chat_id, args, lang)
        unit.send([ui.message(chat_id, text)])

    async def _activities(self, unit: ActorUnit, chat_id: int, args: list[str], *,
                          problems: bool = False) -> None:
        """/export activities [period] [area] (or /export problems, supervision's): within
        the admin's reach, like requests."""
        lang, tree = unit.language, self.env.config.areas
        role = await self.roles.of(unit.repo, unit.user_id)
        if role is None:
            unit.send(ui.message(chat_id, unit.t("admin.not_admin")))
            return
        places = [a for a in args if not looks_like_period(a, tree)]
        if len(places) > 1 or len(args) - len(places) > 1:
            usage = "sstats.export_usage" if problems else "activity_stats.usage"
            unit.send(ui.message(chat_id, unit.t(usage)))
            return
        area: str | None = None
        if places:
            area, refusal = self._area(role, places[0], lang)
            if refusal:
                unit.send(ui.message(chat_id, refusal))
                return
        area_ids, label = self._scope(role, area, lang)
        periods = [a for a in args if looks_like_period(a, tree)]
        if problems and self.supervision is not None:
            await self.supervision.export(unit, chat_id, periods, area_ids, label)
            return
        await self.activities.export(unit, chat_id, periods, area_ids, label)

    async def _queue(self, repo: Repo, who: Who, chat_id: int, args: list[str],
                     lang: str) -> str:
        """Check the command, record the job; return the answer."""
        t, tz = self.env.t, self.env.config.timezone
        role = await self.roles.of(repo, who.user_id)
        if role is None:
            return t(lang, "admin.not_admin")
        if not self.roles.may_see_private_data(who, chat_id):
            return t(lang, "export.private_only")
        tree = self.env.config.areas
        periods = [a for a in args if looks_like_period(a, tree)]
        places = [a for a in args if not looks_like_period(a, tree)]
        if len(periods) > 1 or len(places) > 1:
            return t(lang, "export.usage")
        period = parse_period(periods[0] if periods else "all", self.env.now(), tz)
        if period is None:
            return t(lang, "export.bad_period", word=periods[0]) + "\n" + t(lang, "export.usage")
        area: str | None = None
        if places:
            area, refusal = self._area(role, places[0], lang)
            if refusal:
                return refusal
        area_ids, area_label = self._scope(role, area, lang)
        with repo.on_thread():  # counting a year of requests: not on the event loop
            count = await repo.figures.export_count(period.start, period.end, area_ids)
        if count == 0:
            return t(lang, "export.nothing", period=period.label, area=area_label)
        stem = f"requests-{period_stem(period)}" + (f"-{area}" if area else "")
        await self.jobs.submit(repo, "export", chat_id, who.user_id, lang, {
            "start": period.start, "end": period.end, "area_ids": area_ids, "stem": stem,
            "period": period.label, "area": area_label,
        })
        return t(lang, "export.preparing", count=f"{count:,}", period=period.label,
                 area=area_label)

    def _area(self, role: Role, word: str, lang: str) -> tuple[str | None, str | None]:
        """The area a word names, or a refusal: unknown, or outside the admin's reach."""
        t, tree = self.env.t, self.env.config.areas
        area = self.roles.area_arg(role, word)
        if area is not None:
            return area, None
        if tree is None or word.strip().lower() not in tree:
            return None, t(lang, "export.unknown_area", word=word) + "\n" + t(lang, "export.usage")
        return None, t(lang, "export.outside", word=word)

    def _scope(self, role: Role, area: str | None, lang: str) -> tuple[list[str] | None, str]:
        """The area ids to export (None: everything) and how to name them."""
        t, tree = self.env.t, self.env.config.areas
        if area is not None and tree is not None and (area != tree.root or not role.centre):
            return sorted(tree.subtree(area)), tree.get(area).name(lang)
        if role.centre:
            return None, t(lang, "export.district")
        assert tree is not None  # an area admin exists only with an area tree
        return role.area_ids(), render.area_names(self.env, role.areas, lang)

    async def export_job(self, job: Job) -> list[Outgoing]:
        """Write the files in a worker thread; return them as documents to send."""
        t, config, p = self.env.t, self.env.config, job.params
        first = self.jobs.file_path(job, "")  # job<id>-: the jobs' folder and this job's prefix
        reader = self.env.db.snapshot_reader()
        parts = await asyncio.to_thread(
            write_export, reader, first.parent, start=p["start"], end=p["end"],
            area_ids=p["area_ids"], labels=export_labels(t, config, job.language),
            tz=config.timezone, stem=p["stem"], prefix=first.name,
        )
        return [ui.upload(job.chat_id, "sendDocument", str(part.path), part.filename,
                          _caption(t, job.language, p, part))
                for part in parts]

    async def _area_volunteers(self, unit: ActorUnit, chat_id: int, role: Role) -> None:
        """/export volunteers for an area admin: the volunteers of their areas only."""
        env, t = self.env, self.env.t
        repo, lang, who = unit.repo, unit.language, unit.who
        if not self.roles.may_see_private_data(who, chat_id):
            out = ui.message(chat_id, t(lang, "admin.private_data_only"))
        else:
            rows = await repo.volunteers.volunteer_rows_in(role.area_ids() or [])
            # Phone numbers only in the admin's private chat, never in a group.
            out = volunteers_document(env, chat_id, lang, rows,
                                      phones=chat_id == who.user_id)
        unit.send([out])


def _caption(t: Catalogs, lang: str, params: dict[str, Any], part: ExportPart) -> str:
    values = {"period": params["period"], "area": params["area"], "rows": f"{part.rows:,}"}
    if part.parts == 1:
        return t(lang, "export.caption", **values)
    return t(lang, "export.caption_part", part=part.part, parts=part.parts, **values)
