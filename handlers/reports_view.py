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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.events import Button, OutFile, Reply
from handlers.extensions import Extension
from handlers.i18n import N_, normalize_locale, t
from reports.access import Reader, report_reader
from reports.labels import subtitle, title
from reports.service import read_report, render_file
from reports.spec import REPORTS, ReportRequest, ReportTable
from storage.models import Account
from storage.settings import Settings

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

    def __init__(self, settings: Settings, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))

    def available(self, account: Account) -> bool:
        return account.staff_id is not None

    def description(self, locale: str) -> str:
        return _t(locale, "Reports for the school or the city")

    def _locale(self, account: Account) -> str:
        return normalize_locale(account.language, self.settings.default_locale)

    async def _reader(self, session: AsyncSession, account: Account) -> Reader | None:
        return await report_reader(session, account.staff_id) if account.active else None

    def _refusal(self, locale: str) -> list[Reply]:
        return [Reply(text=_t(locale, "Reports are for school directors and the education department."))]

    async def start(self, session: AsyncSession, account: Account) -> list[Reply]:
        locale = self._locale(account)
        if await self._reader(session, account) is None:
            return self._refusal(locale)
        buttons = [[Button(_t(locale, REPORT_LABELS[name]), f"{PREFIX}{name}")] for name in REPORTS]
        return [Reply(text=_t(locale, "📊 Which report?"), buttons=buttons)]

    async def press(self, session: AsyncSession, account: Account, payload: str) -> list[Reply]:
        locale = self._locale(account)
        reader = await self._reader(session, account)
        if reader is None:
            return self._refusal(locale)
        name, _, days = payload.removeprefix(PREFIX).partition(":")
        if name not in REPORTS or (days and days not in {str(d) for d, _ in PERIODS}):
            return [Reply(text=_t(locale, "This button is out of date. Send /report again."))]
        if name != "coverage" and not days:
            buttons = [[Button(_t(locale, label), f"{PREFIX}{name}:{d}")] for d, label in PERIODS]
            return [Reply(text=_t(locale, "📅 For which period?"), buttons=buttons, edit=True)]
        return await self._send(session, reader, locale, name, int(days or 1))

    async def _send(self, session: AsyncSession, reader: Reader, locale: str, name: str,
                    days: int) -> list[Reply]:
        now = self.clock()
        today = now.astimezone(self.settings.zone).date()
        request = ReportRequest(name, reader.school_id, today - timedelta(days=days - 1), today, now,
                                self.settings.zone)
        table = await read_report(session, request, [FILE_FORMAT, CHART_FORMAT], actor=reader.actor,
                                  locale=locale)
        sheet, chart = await asyncio.to_thread(_draw, table, locale)
        heading = f"📊 {title(table, locale)}\n{subtitle(table, locale)}"
        return [Reply(text=heading, file=sheet), Reply(file=chart)]


def _draw(table: ReportTable, locale: str) -> tuple[OutFile, OutFile]:
    sheet = render_file(table, FILE_FORMAT, locale)
    chart = render_file(table, CHART_FORMAT, locale)
    caption = title(table, locale)
    return OutFile(sheet.filename, sheet.content, caption), OutFile(chart.filename, chart.content, caption)


def build(settings: Settings) -> ReportsExtension:
    return ReportsExtension(settings)

