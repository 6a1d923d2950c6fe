"""Small tables written as CSV and XLSX for the exports of loops 2 and 3 (the requests'
export, with its parts and sizes, is bot/reports/export.py's)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

# Characters XML 1.0 cannot hold (openpyxl refuses them): control characters but tab and
# the line breaks.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe(value: Any) -> Any:
    """A cell fit for a spreadsheet: text with no control characters and never read as a
    formula (a leading =, +, -, @, tab or return is quoted); other values as they are."""
    if not isinstance(value, str) or not value:
        return value
    value = ILLEGAL_XML.sub("", value)
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_table(table: list[list[Any]], csv_path: Path, xlsx_path: Path) -> None:
    """The same table as CSV (UTF-8 with a BOM, so Excel reads the Chinese) and XLSX
    (blocking: run it in a worker thread)."""
    from openpyxl import Workbook  # loaded when an export is first written, not at start

    out = io.StringIO()
    writer = csv.writer(out)
    for values in table:
        writer.writerow([safe(v) for v in values])
    csv_path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for values in table:
        sheet.append([safe(v) for v in values])
    book.save(xlsx_path)
