"""Parents' absence explanations are personal data: erased with the guardian, and kept
no longer than the school year (SCHOOL_YEAR_START, 09-01): each deletion audited with
counts only. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from school_bot.notifications.jobs.housekeeping import purge_expired
from school_bot.notifications.note_review import tell_reviewers
from school_bot.storage.absence_notes import add_note
from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.models import AbsenceNote, AuditEntry, utc_now
from school_bot.storage.retention import school_year_start
from tests.support.notify import SCHOOL_DAY, Clock, job_context, kyiv, outbox, settings
from tests.support.school_world import SchoolWorld


async def _note(db: Database, student: str, guardian: str, first: date, last: date) -> int:
    async with db.unit_of_work() as session:
        row = await add_note(session, school_id="S1", class_id="C7A", student_id=student,
                             guardian_id=guardian, account_id=None, first_day=first,
                             last_day=last, reason="illness", note="температура, лікар",
                             in_advance=False, now=utc_now())
        return row.id


async def _notes(db: Database) -> list[int]:
    async with db.unit_of_work() as session:
        return list((await session.scalars(select(AbsenceNote.id).order_by(AbsenceNote.id))).all())


async def _audit(db: Database, action: str) -> list[AuditEntry]:
    async with db.unit_of_work() as session:
        return list((await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))).all())


async def test_erasing_a_guardian_deletes_their_notes_and_no_one_elses(db: Database) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    await world.family(2)
    teacher = await world.staff_account(world.teacher_id)
    erased = [await _note(db, "P1", "G1", SCHOOL_DAY, SCHOOL_DAY),
              await _note(db, "P1", "G1", date(2025, 3, 3), date(2025, 3, 4))]
    kept = await _note(db, "P2", "G2", SCHOOL_DAY, SCHOOL_DAY)
    async with db.unit_of_work() as session:  # the homeroom teacher got each, with the words
        for note_id in [*erased, kept]:
            note = await session.get(AbsenceNote, note_id)
            assert note is not None
            assert (await tell_reviewers(session, note, now=utc_now())).rows == 1
    async with db.unit_of_work() as session:
        report = await erase_person(session, "guardian", "G1", actor="test",
                                    reason="consent withdrawn")
    assert report.absence_notes_deleted == 2
    assert await _notes(db) == [kept]
    # the copies in the teacher's queue went with them
    assert [row.dedupe_key for row in await outbox(db, account_id=teacher)] == [
        f"absence_note:{kept}:{teacher}"]
    [entry] = await _audit(db, "person.erased")
    assert entry.details["absence_notes_deleted"] == 2
    assert "температура" not in str(entry.details)


async def test_notes_of_past_school_years_go_with_retention_audited_with_their_count(
        db: Database) -> None:
    world = await SchoolWorld(db).build()
    await world.family(1)
    last_year = await _note(db, "P1", "G1", date(2024, 5, 27), date(2024, 5, 31))
    # reaches into this school year (from 1 September 2024): kept whole
    across = await _note(db, "P1", "G1", date(2024, 8, 30), date(2024, 9, 2))
    this_year = await _note(db, "P1", "G1", SCHOOL_DAY, SCHOOL_DAY)
    assert last_year < across < this_year

    await purge_expired(job_context(db, Clock(kyiv(SCHOOL_DAY, 10))))

    assert await _notes(db) == [across, this_year]
    [entry] = await _audit(db, "retention.purged")
    assert entry.details["absence_notes"] == 1
    assert entry.details["absence_notes_before"] == "2024-09-01"
    assert "температура" not in str(entry.details)
    await purge_expired(job_context(db, Clock(kyiv(SCHOOL_DAY, 11))))  # nothing more
    assert len(await _audit(db, "retention.purged")) == 1


def test_the_school_year_starts_on_the_day_set() -> None:
    assert school_year_start(date(2025, 3, 12), (9, 1)) == date(2024, 9, 1)
    assert school_year_start(date(2025, 9, 1), (9, 1)) == date(2025, 9, 1)
    assert school_year_start(date(2025, 8, 31), (9, 1)) == date(2024, 9, 1)
    assert school_year_start(date(2025, 3, 1), (2, 29)) == date(2025, 2, 28)
    assert settings(school_year_start="08-15").school_year_start_day == (8, 15)
    for wrong in ("9/1", "13-01", "02-30", "", "09-01-2025"):
        with pytest.raises(ValidationError):
            settings(school_year_start=wrong)
