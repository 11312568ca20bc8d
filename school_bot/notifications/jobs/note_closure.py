"""The school's `excused` mark closes a parent's explanation as accepted, and the parent
is told once.

A note still undecided (`open`, or `document`: the teacher asked for a document) closes
when the school system marks one of its days' lessons `excused` and the pupil has no
`absent` mark left on the days it covers, up to today (school time): the decision is
the school system's (`decided_by` = `school_system`, audited), and the parent is told as
of every decision (note_decisions.tell_parent: the chat that wrote it, else the
guardian's chats; one message per note, status and chat). A note the teacher already
decided is left as it is and nobody is told again.

`close_excused_notes` runs in the caller's unit of work: the absence batches call it
(jobs/absences.py `queue_absences`), so the ingest API closes notes with the write that
brought the mark, and the periodic absence scan (the safety net) closes what a CSV
import brought. On PostgreSQL the notes are locked (`FOR UPDATE SKIP LOCKED`): a
teacher deciding the same note at that moment wins, or the scan finds it later.

`explained_days` says which of some pupils' days an accepted note covers: an alert's
follow-up that would only say "the school corrected the mark to excused" is not sent
there, since the parent is told that the explanation was accepted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.note_decisions import tell_parent
from school_bot.storage.absence_notes import SCHOOL_SYSTEM, UNDECIDED, NoteStatus, decide
from school_bot.storage.models import (
    AbsenceNote,
    Attendance,
    Lesson,
    School,
    Student,
)
from school_bot.storage.writes import on_postgresql

ACTOR = SCHOOL_SYSTEM


async def close_excused_notes(session: AsyncSession, ctx: JobContext, *,
                              students: Collection[str] | None = None) -> int:
    """Close the undecided notes (of `students` only, if given) that the school's excused
    marks settle; returns the outbox rows written."""
    wanted = sorted(set(students)) if students is not None else None
    if wanted == []:
        return 0
    excused = exists().where(
        Attendance.student_id == AbsenceNote.student_id, Attendance.status == "excused",
        Lesson.id == Attendance.lesson_id,
        Lesson.date >= AbsenceNote.first_day, Lesson.date <= AbsenceNote.last_day)
    query = (select(AbsenceNote, School.timezone, Student.full_name)
             .join(School, School.id == AbsenceNote.school_id)
             .join(Student, Student.id == AbsenceNote.student_id)
             .where(AbsenceNote.status.in_(UNDECIDED), excused)
             .order_by(AbsenceNote.id)
             .execution_options(populate_existing=True))
    if wanted is not None:
        query = query.where(AbsenceNote.student_id.in_(wanted))
    if on_postgresql(session):
        query = query.with_for_update(of=AbsenceNote, skip_locked=True)
    found = (await session.execute(query)).all()
    if not found:
        return 0
    now = ctx.now()
    todays = {row.AbsenceNote.id: now.astimezone(ctx.zone(row.timezone)).date() for row in found}
    absent = await _absent_days(session, [row.AbsenceNote for row in found])
    closing = [row for row in found
               if not any(row.AbsenceNote.first_day <= day <= min(row.AbsenceNote.last_day,
                                                                   todays[row.AbsenceNote.id])
                          for day in absent.get(row.AbsenceNote.student_id, ()))]
    written = 0
    for row in closing:
        note: AbsenceNote = row.AbsenceNote
        await decide(session, note, NoteStatus.ACCEPTED, by=SCHOOL_SYSTEM, actor=ACTOR, now=now)
        written += await tell_parent(session, note, now=now, default_locale=ctx.settings.default_locale)
    return written


async def _absent_days(session: AsyncSession, notes: Sequence[AbsenceNote]
                       ) -> dict[str, set[date]]:
    """The days with an `absent` mark of these notes' pupils, within their notes' span."""
    students = sorted({n.student_id for n in notes})
    first = min(n.first_day for n in notes)
    last = max(n.last_day for n in notes)
    rows = await session.execute(
        select(Attendance.student_id, Lesson.date).distinct()
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(Attendance.student_id.in_(students), Attendance.status == "absent",
               Lesson.date >= first, Lesson.date <= last))
    found: dict[str, set[date]] = defaultdict(set)
    for student_id, day in rows:
        found[student_id].add(day)
    return found


async def explained_days(session: AsyncSession, days: Collection[tuple[str, date]]
                         ) -> set[tuple[str, date]]:
    """Which of these (pupil, day) pairs an accepted note covers."""
    if not days:
        return set()
    students = sorted({s for s, _ in days})
    first, last = min(d for _, d in days), max(d for _, d in days)
    notes = (await session.execute(
        select(AbsenceNote.student_id, AbsenceNote.first_day, AbsenceNote.last_day)
        .where(AbsenceNote.student_id.in_(students),
               AbsenceNote.status == NoteStatus.ACCEPTED.value,
               and_(AbsenceNote.first_day <= last, AbsenceNote.last_day >= first)))).all()
    return {(s, d) for s, d in days
            if any(n.student_id == s and n.first_day <= d <= n.last_day for n in notes)}
