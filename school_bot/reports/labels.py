"""What a report says in the reader's language: titles, the scope and period, headers, and
the outbox's kinds in words (the `reports` catalog)."""

from __future__ import annotations

from typing import Any

from school_bot.reports.queries import KIND_LABELS
from school_bot.reports.spec import ReportTable
from school_bot.shared.i18n import N_, t

TITLES = {
    "coverage": N_("Parents linked to the bot"),
    "diary": N_("Diary fill rate by teacher"),
    "absences": N_("Absences by class and week"),
    "delivery": N_("Notification delivery"),
}


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain="reports", **params)


def title(table: ReportTable, locale: str) -> str:
    return _t(locale, TITLES[table.request.report])


def subtitle(table: ReportTable, locale: str) -> str:
    """Whose and when: `School No. 3, 01.03.2025–14.03.2025` / `all schools, as of ...`;
    a period that reaches back past what is still kept says from which day it counts."""
    request = table.request
    who = table.school_name or _t(locale, "all schools")
    start, end = request.start.strftime("%d.%m.%Y"), request.end.strftime("%d.%m.%Y")
    if request.snapshot:
        return _t(locale, "{who}, as of {day}", who=who, day=end)
    if table.kept_from is not None and table.kept_from > request.end:
        return _t(locale, "{who}, {start}–{end}: messages of this period are no longer kept",
                  who=who, start=start, end=end)
    if table.kept_from is not None:
        return _t(locale, "{who}, {start}–{end} (earlier messages are no longer kept)",
                  who=who, start=table.kept_from.strftime("%d.%m.%Y"), end=end)
    return _t(locale, "{who}, {start}–{end}", who=who, start=start, end=end)


def headers(table: ReportTable, locale: str) -> list[str]:
    return [_t(locale, column.label) for column in table.columns]


def shown_rows(table: ReportTable, locale: str) -> list[list[Any]]:
    """The rows with codes (the outbox's kinds) in words; values keep their types."""
    codes = [i for i, column in enumerate(table.columns) if column.kind == "code"]
    if not codes:
        return [list(row) for row in table.rows]
    shown = []
    for row in table.rows:
        values = list(row)
        for i in codes:
            values[i] = _t(locale, KIND_LABELS[values[i]]) if values[i] in KIND_LABELS else values[i]
        shown.append(values)
    return shown
