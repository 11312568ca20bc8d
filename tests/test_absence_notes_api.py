"""The school system reads parents' absence explanations over real HTTP:
`GET /api/v1/absence-notes?after=<cursor>&limit=<n>`, per school, paged by the cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from school_bot.storage.absence_notes import NoteStatus, add_note, decide
from school_bot.storage.db import Database
from school_bot.storage.models import AbsenceNote, utc_now
from tests.support.api import ApiServer, new_key, seed_school, serve

DAY = date(2024, 9, 2)
NOTES = "/api/v1/absence-notes"


@pytest.fixture
async def server(db: Database) -> AsyncIterator[ApiServer]:
    async with serve(db) as running:
        department = await new_key(db, None, "department sync")
        for school_id in ("1", "2"):
            await seed_school(running, department, school_id)
        yield running


async def _note(db: Database, school_id: str, words: str | None = None) -> int:
    async with db.unit_of_work() as session:
        row = await add_note(session, school_id=school_id, class_id=f"{school_id}-7A",
                             student_id=f"{school_id}-S1", guardian_id=f"{school_id}-G1",
                             account_id=None, first_day=DAY, last_day=DAY, reason="illness",
                             note=words, in_advance=False, now=utc_now())
        return row.id


async def test_a_school_reads_its_notes_after_a_cursor_page_by_page(
        server: ApiServer, db: Database) -> None:
    key = await new_key(db, "1", "diary of school 1")
    first = await _note(db, "1", "температура")
    await _note(db, "2")  # another school's: never in school 1's pages
    second, third = await _note(db, "1"), await _note(db, "1")

    page = await server.get(f"{NOTES}?limit=2", key=key)
    assert page.status == 200, page.body
    assert [n["id"] for n in page.body["notes"]] == [first, second] and page.body["more"] is True
    shown = page.body["notes"][0]
    assert shown == {**shown, "student_id": "1-S1", "class_id": "1-7A", "guardian_id": "1-G1",
                     "first_day": "2024-09-02", "last_day": "2024-09-02", "reason": "illness",
                     "note": "температура", "in_advance": False, "status": "open",
                     "decision_note": None, "decided_at": None}
    assert set(shown) == {"id", "seq", "student_id", "class_id", "guardian_id", "first_day",
                          "last_day", "reason", "note", "in_advance", "status", "decision_note",
                          "decided_at", "created_at", "updated_at"}  # no name, no phone
    cursor = page.body["next_cursor"]
    assert cursor == page.body["notes"][-1]["seq"]

    rest = await server.get(f"{NOTES}?after={cursor}&limit=2", key=key)
    assert [n["id"] for n in rest.body["notes"]] == [third] and rest.body["more"] is False
    cursor = rest.body["next_cursor"]
    empty = await server.get(f"{NOTES}?after={cursor}", key=key)
    assert empty.body == {"notes": [], "next_cursor": cursor, "more": False}

    # a decision moves the note past the cursor: it comes again, decided
    async with db.unit_of_work() as session:
        note = await session.get(AbsenceNote, first)
        assert note is not None
        await decide(session, note, NoteStatus.DECLINED, by="1-T1", actor="staff:1-T1",
                     now=utc_now(), decision_note="немає довідки")
    again = await server.get(f"{NOTES}?after={cursor}", key=key)
    [decided] = again.body["notes"]
    assert (decided["id"], decided["status"], decided["decision_note"]) == (
        first, "declined", "немає довідки")
    assert decided["decided_at"] is not None and decided["seq"] > cursor


async def test_another_schools_key_sees_none_of_them(server: ApiServer, db: Database) -> None:
    await _note(db, "1")
    other = await new_key(db, "2", "diary of school 2")
    answer = await server.get(NOTES, key=other)
    assert answer.status == 200 and answer.body["notes"] == []
    refused = await server.get(f"{NOTES}?school_id=1", key=other)
    assert refused.status == 403 and "own school" in refused.body["error"]


async def test_a_department_key_names_the_school(server: ApiServer, db: Database) -> None:
    note = await _note(db, "2")
    department = await new_key(db, None, "department reader")
    missing = await server.get(NOTES, key=department)
    assert missing.status == 400 and "school_id" in missing.body["error"]
    answer = await server.get(f"{NOTES}?school_id=2", key=department)
    assert [n["id"] for n in answer.body["notes"]] == [note]


async def test_a_bad_cursor_or_limit_is_400_with_the_reason(server: ApiServer, db: Database) -> None:
    key = await new_key(db, "1")
    for query in ("after=abc", "after=-1", "after=1.5", "after=", "limit=0", "limit=1001",
                  "after=99999999999999999999", "after=١٢"):
        answer = await server.get(f"{NOTES}?{query}", key=key)
        assert answer.status == 400, (query, answer.body)
        name = query.split("=")[0]
        assert name in answer.body["error"] and "whole number" in answer.body["error"], query


async def test_without_a_valid_key_nothing_is_read(server: ApiServer, db: Database) -> None:
    await _note(db, "1")
    assert (await server.get(NOTES)).status == 401
    assert (await server.get(NOTES, key="sk_" + "A" * 43)).status == 401
