"""What a write through the ingest API causes, queued in the write's own transaction.

`queue_caused(session, ctx, entity, result)` runs the notification jobs' own batches
(the same rules as the periodic scans), scoped to what the batch created or changed
(`IngestResult.written`):

* attendance: the absence alerts of those pupils (`queue_absences`), and the closing of
  their parents' explanations that `excused` marks settle (jobs/note_closure.py);
* grades: their new grades for "instant" chats and their grade changes;
* homework: for the schools of those classes, the evening homework run, if the
  school's `homework_at` has come and it has not run today (homework is told in the
  evening only);
* events: the announcement of those events.

Every batch marks its source rows (`alerted_at`, `notified_at`, ...) in the same
transaction as the outbox rows, so the periodic scans (the safety net) find nothing
left to send; on PostgreSQL both lock what they alert (`FOR UPDATE SKIP LOCKED`),
so a scan running at the same moment skips the rows this transaction handles.

`Realtime` is what the ingest API holds: the jobs' context and the process's `Wake`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.config import NotifyConfig
from school_bot.notifications.jobs import absences
from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.jobs.events import queue_publications
from school_bot.notifications.jobs.grades import BATCH as GRADES_BATCH
from school_bot.notifications.jobs.grades import queue_grade_changes, queue_new_grades
from school_bot.notifications.jobs.homework import queue_evening_homework
from school_bot.notifications.wake import QUEUED, Wake
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.ingest import IngestResult, Written
from school_bot.storage.models import School, SchoolClass

log = logging.getLogger(__name__)

SCOPE = 500  # pupils (or events) per scoped batch: far under both databases' limits

_Scoped = Callable[..., Awaitable[tuple[int, int]]]


async def queue_caused(session: AsyncSession, ctx: JobContext, entity: str,
                       result: IngestResult) -> int:
    """Queue, in the caller's unit of work, the notifications the batch's writes cause;
    returns the outbox rows written."""
    cause = _CAUSES.get(entity)
    return 0 if cause is None else await cause(session, ctx, result.written)


def may_cause(entity: str, result: IngestResult) -> bool:
    """Whether the batch wrote anything `queue_caused` looks at."""
    written = result.written
    return entity in _CAUSES and bool(written.pupils or written.classes or written.events)


async def _absences(session: AsyncSession, ctx: JobContext, written: Written) -> int:
    return await _scoped(session, ctx, absences.queue_absences, written.pupils, absences.BATCH)


async def _grades(session: AsyncSession, ctx: JobContext, written: Written) -> int:
    return (await _scoped(session, ctx, queue_new_grades, written.pupils, GRADES_BATCH)
            + await _scoped(session, ctx, queue_grade_changes, written.pupils, GRADES_BATCH))


async def _scoped(session: AsyncSession, ctx: JobContext, batch: _Scoped,
                  pupils: Collection[str], size: int) -> int:
    """`batch` for these pupils, a slice at a time, until it finds less than `size` rows."""
    wanted = sorted(pupils)
    total = 0
    for start in range(0, len(wanted), SCOPE):
        scope = wanted[start:start + SCOPE]
        while True:
            created, scanned = await batch(session, ctx, students=scope)
            total += created
            if scanned < size:
                break
    return total


async def _homework(session: AsyncSession, ctx: JobContext, written: Written) -> int:
    classes = written.classes
    if not classes:
        return 0
    schools = (await session.execute(
        select(School.id, School.timezone).distinct()
        .join(SchoolClass, SchoolClass.school_id == School.id)
        .where(SchoolClass.id.in_(sorted(classes)), School.launched.is_(True))
        .order_by(School.id))).all()
    now = ctx.now()
    total = 0
    for school in schools:
        local = now.astimezone(ctx.zone(school.timezone))
        total += await queue_evening_homework(session, ctx, school.id, local)
    return total


async def _events(session: AsyncSession, ctx: JobContext, written: Written) -> int:
    wanted = sorted(written.events)
    total = 0
    for start in range(0, len(wanted), SCOPE):
        total += await queue_publications(session, ctx, events=wanted[start:start + SCOPE])
    return total


_CAUSES: dict[str, Callable[[AsyncSession, JobContext, Written], Awaitable[int]]] = {
    "attendance": _absences, "grades": _grades, "homework": _homework, "events": _events}


@dataclass(frozen=True)
class Realtime:
    """The ingest API's part of the notifications: queue what a write causes, inside
    its transaction, and wake the dispatcher once it is committed."""

    ctx: JobContext
    wake: Wake

    @classmethod
    def build(cls, database: Database, settings: Settings, wake: Wake,
              config: NotifyConfig | None = None) -> Realtime:
        config = config or NotifyConfig.from_settings(settings)
        return cls(JobContext(database, settings, config), wake)

    async def queue(self, session: AsyncSession, entity: str, result: IngestResult) -> int:
        """Queue what the batch causes, in a savepoint of the caller's transaction: a
        database error here is logged and undone, and the write itself stands (the
        periodic scans will find its notifications). Signals the workers if anything
        was queued."""
        if not may_cause(entity, result):
            return 0
        try:
            async with session.begin_nested():
                queued = await queue_caused(session, self.ctx, entity, result)
        except SQLAlchemyError as exc:
            log.error("realtime: notifications of a %s batch left to the scans (%s)",
                      entity, type(exc).__name__)
            return 0
        if queued:
            await self.wake.signal(session, QUEUED)
        return queued

    def committed(self, queued: int) -> None:
        """After the commit: this process's dispatcher, if any, looks now."""
        if queued:
            self.wake.committed(QUEUED)
