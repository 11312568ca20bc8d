"""A report read, audited and rendered: the one path for the command line and the bot."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.reports.queries import run_report
from school_bot.reports.render import render
from school_bot.reports.spec import FORMATS, ReportRequest, ReportTable
from school_bot.storage import audit


@dataclass(frozen=True)
class ReportFile:
    filename: str
    content: bytes


async def read_report(session: AsyncSession, request: ReportRequest, formats: Sequence[str], *,
                      actor: str, locale: str) -> ReportTable:
    """Run the report's query and record, in the same transaction, that it was read."""
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats are {', '.join(FORMATS)}")
    table = await run_report(session, request)
    details = {"report": request.report, "scope": request.scope, "from": request.start.isoformat(),
               "to": request.end.isoformat(), "format": "+".join(formats), "lang": locale,
               "rows": len(table.rows)}
    if table.kept_from is not None:  # the messages before it were no longer kept
        details["kept_from"] = table.kept_from.isoformat()
    await audit.record(session, actor=actor, action="report.generated", school_id=request.school_id,
                       entity="report", entity_id=request.report, details=details)
    return table


def filename(request: ReportRequest, fmt: str) -> str:
    scope = re.sub(r"[^A-Za-z0-9_-]+", "_", request.school_id) if request.school_id else "all"
    period = request.end.isoformat() if request.snapshot else f"{request.start}_{request.end}"
    return f"{request.report}-{scope}-{period}.{fmt}"


def render_file(table: ReportTable, fmt: str, locale: str) -> ReportFile:
    return ReportFile(filename(table.request, fmt), render(table, fmt, locale))
