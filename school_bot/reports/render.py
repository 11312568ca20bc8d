"""A report table as a file an office opens: CSV or XLSX (and, through reports.charts, a
PNG chart), with headers in the reader's language."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from school_bot.reports.charts import to_png
from school_bot.reports.labels import _t, headers, shown_rows, subtitle, title
from school_bot.reports.spec import ReportTable

MAX_WIDTH = 80
SHEET_NAME_LIMIT = 31  # Excel's


# ---------------------------------------------------------------- CSV


def to_csv(table: ReportTable, locale: str) -> bytes:
    """Comma-separated, a header row, UTF-8 with a BOM (Excel then reads Cyrillic right)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers(table, locale))
    writer.writerows(
        [value.isoformat() if isinstance(value, date) else value for value in row]
        for row in shown_rows(table, locale)
    )
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- XLSX

# Whole numbers need no format (Excel shows them as they are); only these are set per cell.
NUMBER_FORMATS = {"percent": "0.0", "decimal": "0.0", "date": "yyyy-mm-dd"}


def to_xlsx(table: ReportTable, locale: str) -> bytes:
    """Bold, frozen header row; columns as wide as their content; numbers stay numbers.

    openpyxl's write-only mode: rows are streamed out, not kept as cell objects.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    names, rows = headers(table, locale), shown_rows(table, locale)
    widths = [len(name) for name in names]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(_shown(value)))
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title(table, locale)[:SHEET_NAME_LIMIT])
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(width + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{len(rows) + 1}"
    bold = Font(bold=True)
    header = []
    for name in names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = [NUMBER_FORMATS.get(c.kind) for c in table.columns]
    formatted = [(i, fmt) for i, fmt in enumerate(formats) if fmt]
    for row in rows:
        for i, fmt in formatted:
            cell = WriteOnlyCell(sheet, value=row[i])
            cell.number_format = fmt
            row[i] = cell
        sheet.append(row)
    about = book.create_sheet(_t(locale, "About")[:SHEET_NAME_LIMIT])
    about.column_dimensions["A"].width = min(max(len(title(table, locale)), 20) + 2, MAX_WIDTH * 2)
    for line in (title(table, locale), subtitle(table, locale)):
        about.append([line])
    book.properties.title = f"{title(table, locale)} — {subtitle(table, locale)}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _shown(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


RENDERERS = {"csv": to_csv, "xlsx": to_xlsx, "png": to_png}


def render(table: ReportTable, fmt: str, locale: str) -> bytes:
    return RENDERERS[fmt](table, locale)
