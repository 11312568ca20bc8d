"""Parents' explanations of absences (`AbsenceNote`): the writes every door shares.

Each write — a new note, a teacher's decision, the school system's `excused` mark —
takes the next value of the `absence_notes` counter as the note's `seq`, so the school
system's reader (`GET /api/v1/absence-notes?after=<seq>`) sees every change once, in
commit order (storage/counters.py). Decisions are staff (or system) actions on a
pupil's record: each goes to the audit log, without the parent's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage import audit
from school_bot.storage.counters import next_value
from school_bot.storage.models import AbsenceNote

COUNTER = "absence_notes"
NOTE_MAX_CHARS = 300
SCHOOL_SYSTEM = "school_system"  # `decided_by` when the school's excused mark closed a note


class NoteStatus(StrEnum):
    OPEN = "open"            # waiting for the homeroom teacher
    DOCUMENT = "document"    # the teacher asked for a document brought to school; undecided
    ACCEPTED = "accepted"
    DECLINED = "declined"


# the outbox rows about one note start their dedupe keys so (`{id}`: the note's id): the
# reviewers' copies with the parent's words (notifications/note_review.py) and the
# decisions told to the parent, the school's closure among them (note_decisions.py);
# erasure deletes them with the notes
OUTBOX_KEYS = ("absence_note:{id}:", "note:{id}:")

UNDECIDED = (NoteStatus.OPEN.value, NoteStatus.DOCUMENT.value)
FINAL = (NoteStatus.ACCEPTED.value, NoteStatus.DECLINED.value)


async def add_note(session: AsyncSession, *, school_id: str, class_id: str, student_id: str,
                   guardian_id: str, account_id: int | None, first_day: date, last_day: date,
                   reason: str, note: str | None, in_advance: bool, now: datetime) -> AbsenceNote:
    """A parent's new explanation, open, in the caller's unit of work."""
    if last_day < first_day:
        raise ValueError("last_day before first_day")
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX_CHARS:
        raise ValueError(f"a note is at most {NOTE_MAX_CHARS} characters")
    row = AbsenceNote(
        seq=await next_value(session, COUNTER), school_id=school_id, class_id=class_id,
        student_id=student_id, guardian_id=guardian_id, account_id=account_id,
        first_day=first_day, last_day=last_day, reason=reason, note=text,
        in_advance=in_advance, status=NoteStatus.OPEN.value, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return row


async def decide(session: AsyncSession, note: AbsenceNote, status: NoteStatus, *, by: str,
                 actor: str, now: datetime, decision_note: str | None = None) -> None:
    """Record a decision (or the request for a document) on a note: `by` is the staff id
    (or SCHOOL_SYSTEM), `actor` the audit log's actor. The caller has checked that `by`
    may decide this note and that it is still undecided."""
    if status is NoteStatus.OPEN:
        raise ValueError("a decision cannot reopen a note")
    note.seq = await next_value(session, COUNTER)
    note.status = status.value
    note.decided_by = by
    note.decision_note = (decision_note or "").strip() or None
    note.updated_at = now
    if status.value in FINAL:
        note.decided_at = now
    await audit.record(session, actor=actor, action=f"absence_note.{status.value}",
                       school_id=note.school_id, entity="absence_note", entity_id=str(note.id),
                       details={"student_id": note.student_id, "class_id": note.class_id,
                                "first_day": note.first_day.isoformat(),
                                "last_day": note.last_day.isoformat()})
    await session.flush()


async def covering(session: AsyncSession, student_id: str, first_day: date,
                   last_day: date | None = None) -> Sequence[AbsenceNote]:
    """The pupil's notes that cover any day of `first_day`..`last_day`, oldest first."""
    last = last_day or first_day
    return (await session.scalars(
        select(AbsenceNote).where(and_(AbsenceNote.student_id == student_id,
                                       AbsenceNote.first_day <= last,
                                       AbsenceNote.last_day >= first_day))
        .order_by(AbsenceNote.id))).all()


async def changed_after(session: AsyncSession, school_id: str, after: int,
                        limit: int) -> Sequence[AbsenceNote]:
    """The school's notes written or decided after cursor `after`, in `seq` order."""
    return (await session.scalars(
        select(AbsenceNote).where(AbsenceNote.school_id == school_id, AbsenceNote.seq > after)
        .order_by(AbsenceNote.seq).limit(limit))).all()
