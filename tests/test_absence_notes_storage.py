"""Absence notes in storage: every change gets the next cursor value, in commit order."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import select

from school_bot.storage import audit
from school_bot.storage.absence_notes import NoteStatus, add_note, changed_after, covering, decide
from school_bot.storage.db import Database
from school_bot.storage.models import AbsenceNote, AuditEntry, utc_now
from tests.support.world import World, guardian, school, school_class, student

MONDAY = date(2026, 12, 7)


async def _world(db: Database) -> None:
    await World(db).add(
        school("s1", "School 1"), school_class("c1", "s1", "5-А"),
        student("p1", "c1", "Коваль Ольга"),
        guardian("g1", "Коваль Ірина", "+380501112233", children=["p1"]))


async def _note(db: Database, *, last_day: date = MONDAY, note: str | None = None) -> int:
    async with db.unit_of_work() as session:
        row = await add_note(session, school_id="s1", class_id="c1", student_id="p1",
                             guardian_id="g1", account_id=None, first_day=MONDAY,
                             last_day=last_day, reason="illness", note=note, in_advance=False,
                             now=utc_now())
        return row.id


async def test_each_change_moves_the_note_past_the_cursor(db: Database) -> None:
    await _world(db)
    first, second = await _note(db, note=" temperature "), await _note(db)
    async with db.unit_of_work() as session:
        seen = await changed_after(session, "s1", 0, 10)
        assert [n.id for n in seen] == [first, second]
        assert seen[0].note == "temperature" and seen[0].status == "open"
        cursor = seen[-1].seq
        note = await session.get(AbsenceNote, first)
        assert note is not None
        await decide(session, note, NoteStatus.ACCEPTED, by="t1", actor="staff:t1", now=utc_now())
    async with db.unit_of_work() as session:
        later = await changed_after(session, "s1", cursor, 10)
        assert [(n.id, n.status) for n in later] == [(first, "accepted")]
        assert await changed_after(session, "other", 0, 10) == []
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "absence_note.accepted"))).one()
        assert entry.actor == "staff:t1" and "temperature" not in str(entry.details)
        assert (await audit.verify_chain(session)).ok


async def test_covering_finds_notes_by_any_day_of_their_range(db: Database) -> None:
    await _world(db)
    ranged = await _note(db, last_day=date(2026, 12, 9))
    async with db.unit_of_work() as session:
        assert [n.id for n in await covering(session, "p1", date(2026, 12, 9))] == [ranged]
        assert [n.id for n in await covering(session, "p1", date(2026, 12, 1), date(2026, 12, 7))] == [ranged]
        assert await covering(session, "p1", date(2026, 12, 10)) == []


async def test_a_note_longer_than_300_characters_is_refused(db: Database) -> None:
    await _world(db)
    with pytest.raises(ValueError, match="300"):
        await _note(db, note="x" * 301)


async def test_concurrent_writers_take_distinct_ordered_values(db: Database) -> None:
    await _world(db)
    ids = await asyncio.gather(*(_note(db) for _ in range(8)))
    async with db.unit_of_work() as session:
        notes = await changed_after(session, "s1", 0, 100)
    assert sorted(n.id for n in notes) == sorted(ids)
    assert [n.seq for n in notes] == list(range(1, 9))
