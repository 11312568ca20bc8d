"""Bringing the alerts of some pupils' days up to date, in the caller's unit of work.

Each guardian's chat of a pupil with a new absence gets an alert row; the alert rows of
the days are locked (FOR UPDATE on PostgreSQL) and only then are the days' marks read,
so two writers of the same pupil's day (an ingest and the scan) take turns and the
second sees what the first committed. Each alert is then brought up to date
(jobs/absence_alert.py).

An alert's latest outbox row is locked too, so the dispatcher does not claim a row
being rewritten; one the dispatcher holds at that moment (it is claiming or recording
it) is skipped and counts as gone out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.jobs.absence_alert import Chat, Latest, Mark, PupilDay, bring_up_to_date
from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.jobs.note_reminders import LOOKBACK_DAYS as REMINDER_LOOKBACK_DAYS
from school_bot.notifications.outbox import OutboxStatus
from school_bot.notifications.recipients import guardian_accounts
from school_bot.storage.models import AbsenceAlert, Account, Attendance, Lesson, OutboxMessage
from school_bot.storage.writes import on_postgresql, upsert

SLICE = 500  # pupils (or rows) per statement


async def keep_alerts_current(session: AsyncSession, ctx: JobContext, days: Sequence[PupilDay],
                              fresh: Collection[tuple[str, date]], *, now: datetime) -> int:
    """Bring every chat's alert of these pupils' days up to date; a day in `fresh` (a new
    absence) gets an alert in each of its guardians' chats. Returns outbox rows written."""
    if not days:
        return 0
    await _open_alerts(session, [d for d in days if (d.student_id, d.day) in fresh])
    alerts = await _locked_alerts(session, days)
    if not alerts:
        return 0
    marks = await _marks(session, days)
    latest = await _latest_rows(session, [a.AbsenceAlert.latest_id for a in alerts], now)
    by_key = {(d.student_id, d.day): d for d in days}
    window = timedelta(seconds=ctx.config.absence_followup_window)
    written = 0
    for found in alerts:
        alert: AbsenceAlert = found.AbsenceAlert
        key = (alert.student_id, alert.day)
        chat = Chat(ctx.locale(found.language), found.platform in ctx.config.absence_edit_platforms)
        written += await bring_up_to_date(
            session, alert, chat, by_key[key], marks.get(key, []),
            latest.get(alert.latest_id) if alert.latest_id is not None else None,
            now=now, window=window)
    return written


async def forget_past_alerts(session: AsyncSession, before: date) -> None:
    """Alerts of days no change is told about any more; one whose evening reminder has
    not been decided on yet (jobs/note_reminders.py) is kept until its lookback ends."""
    await session.execute(delete(AbsenceAlert).where(
        AbsenceAlert.day < before,
        or_(AbsenceAlert.reminded_at.is_not(None),
            AbsenceAlert.day < before - timedelta(days=REMINDER_LOOKBACK_DAYS)))
        .execution_options(synchronize_session=False))


def _slices(days: Sequence[PupilDay]) -> list[tuple[list[str], list[date]]]:
    """The days' pupils in slices, each with every day's date (a superset of the pairs:
    callers keep the pairs they asked for)."""
    students = sorted({d.student_id for d in days})
    dates = sorted({d.day for d in days})
    return [(students[start:start + SLICE], dates) for start in range(0, len(students), SLICE)]


async def _open_alerts(session: AsyncSession, days: Sequence[PupilDay]) -> None:
    """An (empty) alert in each chat of each pupil's guardians, unless it has one."""
    recipients = await guardian_accounts(session, {d.student_id for d in days})
    rows = sorted({(d.student_id, d.day, person.account_id)
                   for d in days for person in recipients.get(d.student_id, [])})
    insert = upsert(session, AbsenceAlert)
    for start in range(0, len(rows), SLICE):
        await session.execute(
            insert.values([{"student_id": s, "day": d, "account_id": a, "lessons": [],
                            "corrected": [], "told": [], "rows": 0}
                           for s, d, a in rows[start:start + SLICE]])
            .on_conflict_do_nothing(index_elements=["student_id", "day", "account_id"]))


async def _locked_alerts(session: AsyncSession, days: Sequence[PupilDay]) -> list[Row[Any]]:
    """The alerts of these days with their chats' platform and language, locked."""
    wanted = {(d.student_id, d.day) for d in days}
    found: list[Row[Any]] = []
    for students, dates in _slices(days):
        query = (select(AbsenceAlert, Account.platform, Account.language)
                 .join(Account, Account.id == AbsenceAlert.account_id)
                 .where(AbsenceAlert.student_id.in_(students), AbsenceAlert.day.in_(dates))
                 .order_by(AbsenceAlert.id)
                 .execution_options(populate_existing=True))
        if on_postgresql(session):
            query = query.with_for_update(of=AbsenceAlert)
        found += [row for row in await session.execute(query)
                  if (row.AbsenceAlert.student_id, row.AbsenceAlert.day) in wanted]
    return found


async def _marks(session: AsyncSession, days: Sequence[PupilDay]) -> dict[tuple[str, date], list[Mark]]:
    """Every mark of these pupils' days, in the order of the lessons."""
    found: dict[tuple[str, date], list[Mark]] = defaultdict(list)
    for students, dates in _slices(days):
        rows = await session.execute(
            select(Attendance.student_id, Attendance.lesson_id, Attendance.status, Lesson.date,
                   Lesson.subject, Lesson.number)
            .join(Lesson, Lesson.id == Attendance.lesson_id)
            .where(Attendance.student_id.in_(students), Lesson.date.in_(dates))
            .order_by(Attendance.student_id, Lesson.date, Lesson.starts_at, Lesson.number,
                      Lesson.id))
        for row in rows:
            found[(row.student_id, row.date)].append(
                Mark(row.lesson_id, row.subject, row.number, row.status))
    return found


async def _latest_rows(session: AsyncSession, ids: Sequence[int | None], now: datetime
                       ) -> dict[int, Latest]:
    """The alerts' latest outbox rows, locked; one the dispatcher holds is "sending"."""
    wanted = sorted({i for i in ids if i is not None})
    found: dict[int, Latest] = {}
    for start in range(0, len(wanted), SLICE):
        chunk = wanted[start:start + SLICE]
        query = (select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.sent_at,
                        OutboxMessage.payload, OutboxMessage.next_attempt_at)
                 .where(OutboxMessage.id.in_(chunk)).order_by(OutboxMessage.id))
        if on_postgresql(session):
            query = query.with_for_update(skip_locked=True)
        rows = {row.id: row for row in await session.execute(query)}
        held = await _existing(session, set(chunk) - set(rows)) if on_postgresql(session) else set()
        found.update((i, Latest(i, r.status, r.sent_at, r.payload or {}, r.next_attempt_at))
                     for i, r in rows.items())
        found.update((i, Latest(i, OutboxStatus.SENDING, None, {}, now)) for i in held)
    return found


async def _existing(session: AsyncSession, ids: set[int]) -> set[int]:
    """Which of these outbox rows exist (the others were purged)."""
    if not ids:
        return set()
    return set((await session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.id.in_(sorted(ids))))).all())
