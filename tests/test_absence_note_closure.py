"""The school's `excused` mark closes a parent's open explanation as accepted, and the
parent is told once: posted through the ingest API (closed in the write's transaction)
or imported from a CSV file (closed by the absence scan), delivered to the fake Bot API
and the fake Viber server over real HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from school_bot.storage.absence_notes import SCHOOL_SYSTEM, NoteStatus, add_note, decide
from school_bot.storage.db import Database
from school_bot.storage.ingest import import_folder
from school_bot.storage.models import AbsenceNote, AuditEntry, utc_now
from tests.support.api import settings_for
from tests.support.notify import outbox
from tests.test_absence_alert_updates import PARENT_CHAT, VIBER_PARENT, on_telegram, on_viber

CLOSED = "пояснення прийнято"


def _today(db: Database) -> date:
    return datetime.now(UTC).astimezone(settings_for(db).zone).date()


async def _open_note(db: Database) -> int:
    """Taras's guardian explains today (the rig's pupil 1-S1 of school 1)."""
    today = _today(db)
    async with db.unit_of_work() as session:
        row = await add_note(session, school_id="1", class_id="1-7A", student_id="1-S1",
                             guardian_id="1-G1", account_id=None, first_day=today,
                             last_day=today, reason="illness", note="температура",
                             in_advance=False, now=utc_now())
        return row.id


async def _note(db: Database, note_id: int) -> AbsenceNote:
    async with db.unit_of_work() as session:
        note = await session.get(AbsenceNote, note_id)
        assert note is not None
        return note


async def test_excused_posted_through_the_api_closes_the_note_and_tells_the_parent_once(
        db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        note_id = await _open_note(db)
        await day.mark("1-L1", "excused")
        await day.mark("1-L1", "excused")  # the school system posts it again
        await day.scan_and_deliver()
        await day.scan_and_deliver()
        shown = telegram.messages_to(PARENT_CHAT)
    told = [text for text in shown if CLOSED in text]
    assert len(told) == 1
    assert "Тарас" in told[0] and "поважну" in told[0]
    note = await _note(db, note_id)
    assert (note.status, note.decided_by) == ("accepted", SCHOOL_SYSTEM)
    assert note.decided_at is not None
    async with db.unit_of_work() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "absence_note.accepted"))).one()
    assert entry.actor == SCHOOL_SYSTEM and "температура" not in str(entry.details)


async def test_on_viber_the_excused_mark_makes_one_message_not_a_correction_and_an_answer(
        db: Database) -> None:
    async with on_viber(db) as (day, viber):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        await _open_note(db)
        await day.mark("1-L1", "excused")
        await day.scan_and_deliver()
        first, answer = viber.messages_to(VIBER_PARENT)
    assert "Математика (1)" in first
    assert CLOSED in answer and "відмітки про відсутність" not in answer
    assert [r.kind for r in await outbox(db)] == ["absence", "absence_note_decision"]


async def test_a_note_stays_open_while_another_lesson_of_its_days_is_still_absent(
        db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.mark("1-L3", "absent")
        note_id = await _open_note(db)
        await day.mark("1-L1", "excused")
        await day.scan_and_deliver()
        assert (await _note(db, note_id)).status == "open"
        assert not [t for t in telegram.messages_to(PARENT_CHAT) if CLOSED in t]
        await day.mark("1-L3", "excused")
        await day.scan_and_deliver()
        assert len([t for t in telegram.messages_to(PARENT_CHAT) if CLOSED in t]) == 1
    assert (await _note(db, note_id)).status == "accepted"


async def test_a_note_the_teacher_accepted_is_not_told_again(db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        note_id = await _open_note(db)
        async with db.unit_of_work() as session:
            note = await session.get(AbsenceNote, note_id)
            assert note is not None
            await decide(session, note, NoteStatus.ACCEPTED, by="1-T1", actor="staff:1-T1",
                         now=utc_now())
        await day.mark("1-L1", "excused")
        await day.scan_and_deliver()
        assert not [t for t in telegram.messages_to(PARENT_CHAT) if CLOSED in t]
    assert (await _note(db, note_id)).decided_by == "1-T1"
    assert "absence_note_closed" not in [r.kind for r in await outbox(db)]


async def test_excused_imported_from_a_csv_file_is_closed_by_the_absence_scan(
        db: Database, tmp_path: Path) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        note_id = await _open_note(db)
        (tmp_path / "attendance.csv").write_text(
            "student_id,lesson_id,status\n1-S1,1-L1,excused\n", encoding="utf-8")
        report = await import_folder(db, tmp_path, actor="import:test")
        assert report.total.updated == 1
        assert (await _note(db, note_id)).status == "open"  # the scan's to close
        await day.scan_and_deliver()
        await day.scan_and_deliver()
        told = [t for t in telegram.messages_to(PARENT_CHAT) if CLOSED in t]
    assert len(told) == 1
    assert (await _note(db, note_id)).status == "accepted"
