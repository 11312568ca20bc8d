"""`/report`: a director (their school) or the department (every school) gets a report
as an XLSX file and a chart.

    /report → which report? (buttons) → which period? (buttons; coverage has none)
    → the spreadsheet and the chart, and an entry in the audit log

The right is checked again on every press (reports.access: payloads are
client-controlled and a role may have changed since the buttons were sent). The files
are drawn in a worker thread, off the event loop. No messenger is known here.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from school_bot.shared.events import Button, OutFile, Reply
from school_bot.handlers.extensions import Extension
from school_bot.shared.i18n import N_, t
from school_bot.reports.access import Reader, report_reader
from school_bot.reports.labels import subtitle, title
from school_bot.reports.service import read_report, render_file
from school_bot.handlers.turn import Turn
from school_bot.reports.spec import REPORTS, ReportRequest, ReportTable

COMMAND = "report"
PREFIX = "rp:"
FILE_FORMAT, CHART_FORMAT = "xlsx", "png"
REPORT_LABELS = {
    "coverage": N_("👪 Parents linked"),
    "diary": N_("📒 Diary fill rate"),
    "absences": N_("🚸 Absences"),
    "delivery": N_("📨 Notification delivery"),
}
PERIODS = ((7, N_("Last 7 days")), (28, N_("Last 4 weeks")), (91, N_("Last 13 weeks")))


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain="reports", **params)


class ReportsExtension(Extension):
    command = COMMAND
    prefix = PREFIX
    listed = False  # staff only: not in the parents' command menu (but in a staff member's /help)

    def available(self, turn: Turn) -> bool:
        return turn.account.staff_id is not None

    def description(self, locale: str) -> str:
        return _t(locale, "Reports for the school or the city")

    async def _reader(self, turn: Turn) -> Reader | None:
        account = turn.account
        return await report_reader(turn.session, account.staff_id) if account.active else None

    def _refusal(self, locale: str) -> list[Reply]:
        return [Reply(text=_t(locale, "Reports are for school directors and the education department."))]

    async def start(self, turn: Turn) -> list[Reply]:
        locale = turn.locale
        if await self._reader(turn) is None:
            return self._refusal(locale)
        buttons = [[Button(_t(locale, REPORT_LABELS[name]), f"{PREFIX}{name}")] for name in REPORTS]
        return [Reply(text=_t(locale, "📊 Which report?"), buttons=buttons)]

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        locale = turn.locale
        reader = await self._reader(turn)
        if reader is None:
            return self._refusal(locale)
        name, _, days = payload.removeprefix(PREFIX).partition(":")
        if name not in REPORTS or (days and days not in {str(d) for d, _ in PERIODS}):
            return [Reply(text=_t(locale, "This button is out of date. Send /report again."))]
        if name != "coverage" and not days:
            buttons = [[Button(_t(locale, label), f"{PREFIX}{name}:{d}")] for d, label in PERIODS]
            return [Reply(text=_t(locale, "📅 For which period?"), buttons=buttons, edit=True)]
        return await self._send(turn, reader, name, int(days or 1))

    async def _send(self, turn: Turn, reader: Reader, name: str, days: int) -> list[Reply]:
        now, locale, zone = turn.now, turn.locale, turn.settings.zone
        today = now.astimezone(zone).date()
        request = ReportRequest(name, reader.school_id, today - timedelta(days=days - 1), today, now,
                                zone)
        table = await read_report(turn.session, request, [FILE_FORMAT, CHART_FORMAT],
                                  actor=reader.actor, locale=locale)
        sheet, chart = await asyncio.to_thread(_draw, table, locale)
        heading = f"📊 {title(table, locale)}\n{subtitle(table, locale)}"
        return [Reply(text=heading, file=sheet), Reply(file=chart)]


def _draw(table: ReportTable, locale: str) -> tuple[OutFile, OutFile]:
    sheet = render_file(table, FILE_FORMAT, locale)
    chart = render_file(table, CHART_FORMAT, locale)
    caption = title(table, locale)
    return OutFile(sheet.filename, sheet.content, caption), OutFile(chart.filename, chart.content, caption)


