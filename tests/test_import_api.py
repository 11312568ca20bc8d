"""The API-shaped call: `ingest(session, entity, records)` with JSON values and a school scope."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from school_bot.storage.db import Database
from school_bot.storage.ingest import ENTITIES, ForeignSchoolRecord, IngestResult, Rejection, ingest
from school_bot.storage.invites import normalize_code
from school_bot.storage.models import (
    AuditEntry,
    ConsentRecord,
    Event,
    Grade,
    Guardian,
    GuardianStudent,
    InviteCode,
    School,
    Student,
)


async def seed(db: Database) -> None:
    async with db.unit_of_work() as s:
        await ingest(s, "schools", [{"school_id": "S1", "name": "Ліцей №1", "launched": True},
                                    {"school_id": "S2", "name": "Гімназія №2", "timezone": "Europe/Kyiv"}],
                     actor="seed")
        await ingest(s, "classes", [{"class_id": "C1", "school_id": "S1", "name": "5-А"},
                                    {"class_id": "C2", "school_id": "S2", "name": "6-Б"}], actor="seed")
        await ingest(s, "students",
                     [{"student_id": "P1", "class_id": "C1", "full_name": "Коваль Іван Петрович"},
                      {"student_id": "P2", "class_id": "C2", "full_name": "Бондар Ірина Олегівна"}],
                     actor="seed")


def test_entities_are_in_dependency_order() -> None:
    assert ENTITIES == ("schools", "classes", "staff", "students", "guardians", "lessons", "grades",
                        "attendance", "homework", "events")


async def test_json_values_counts_and_zero_based_rejections(db: Database) -> None:
    await seed(db)
    records: list[Any] = [  # as JSON arrives: any value, not only objects
        {"grade_id": 1, "student_id": "P1", "subject": "Математика", "date": "2025-03-10", "value": 10,
         "kind": None, "extra": [1, 2]},
        {"grade_id": "2", "student_id": "P1", "subject": "Математика", "date": "2025-03-10", "value": 12.0},
        {"grade_id": "3", "student_id": "P1", "subject": "Математика", "date": "2025-03-10", "value": 13},
        {"grade_id": "4", "student_id": "P1", "subject": "Математика", "date": "2025-03-10", "value": True},
        {"grade_id": "5", "student_id": "P1", "subject": "Математика", "date": 20250310, "value": 5},
        {"grade_id": "1", "student_id": "P1", "subject": "Математика", "date": "2025-03-10", "value": 3},
        {"grade_id": "6", "student_id": "P1", "subject": None, "date": "2025-03-10", "value": 3},
        "not an object",
    ]
    async with db.unit_of_work() as s:
        result = await ingest(s, "grades", records, actor="api:test#1")
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert result.rejected == [
        Rejection(2, "value: 13 is outside 1–12"),
        Rejection(3, "value: True is not a whole number from 1 to 12"),
        Rejection(4, "date: 20250310 is not a date (YYYY-MM-DD)"),
        Rejection(5, "duplicate grade_id '1': already at record 0"),
        Rejection(6, "subject: is required"),
        Rejection(7, "a record must be an object of fields"),
    ]
    async with db.unit_of_work() as s:
        assert {g.id: g.value for g in (await s.scalars(select(Grade))).all()} == {"1": 10, "2": 12}
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "import.batch",
                                                        AuditEntry.entity == "grades"))
        assert entry is not None and entry.actor == "api:test#1"
        assert entry.details == {"entity": "grades", "created": 2, "updated": 0, "unchanged": 0,
                                 "rejected": 6, "source": "api:test#1"}
    async with db.unit_of_work() as s:
        again = await ingest(s, "grades", records[:2], actor="api:test#1")
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, [])


async def test_a_record_of_another_school_writes_nothing(db: Database) -> None:
    await seed(db)
    records = [{"student_id": "P3", "class_id": "C1", "full_name": "Нова Учениця Іванівна"},
               {"student_id": "P4", "class_id": "C2", "full_name": "Чужий Учень Петрович"}]
    with pytest.raises(ForeignSchoolRecord) as caught:
        async with db.unit_of_work() as s:
            await ingest(s, "students", records, actor="api:s1", school_scope="S1")
    assert caught.value.index == 1 and "S2" in caught.value.reason
    async with db.unit_of_work() as s:
        assert await s.get(Student, "P3") is None
        assert await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.actor == "api:s1")) == 0


async def test_scope_forbids_moving_a_stored_record_and_rejects_unknown_refs(db: Database) -> None:
    await seed(db)
    async with db.unit_of_work() as s:  # P2 is S2's pupil: S1's key may not move it into C1
        with pytest.raises(ForeignSchoolRecord) as caught:
            await ingest(s, "students", [{"student_id": "P2", "class_id": "C1", "full_name": "X Y Z"}],
                         actor="api:s1", school_scope="S1")
    assert caught.value.index == 0
    async with db.unit_of_work() as s:  # an unknown class is rejected, not foreign
        result = await ingest(s, "students", [{"student_id": "P9", "class_id": "C9", "full_name": "X"}],
                              actor="api:s1", school_scope="S1")
    assert result.rejected == [Rejection(0, "class_id: unknown class 'C9'")]
    async with db.unit_of_work() as s:
        with pytest.raises(ForeignSchoolRecord):
            await ingest(s, "schools", [{"school_id": "S2", "name": "Захоплена"}],
                         actor="api:s1", school_scope="S1")
        result = await ingest(s, "schools", [{"school_id": "S1", "name": "Ліцей №1 ім. Шевченка"}],
                              actor="api:s1", school_scope="S1")
    assert result.updated == 1
    async with db.unit_of_work() as s:
        school = await s.get(School, "S1")
        assert school is not None and school.launched  # a field not sent keeps its value


async def test_new_guardian_without_consent_is_linked_without_personal_data(db: Database) -> None:
    await seed(db)
    async with db.unit_of_work() as s:
        result = await ingest(s, "guardians", [
            {"guardian_id": "G1", "student_id": "P1", "full_name": "Коваль Олена Іванівна",
             "phone": "050 123 45 67", "consent": False},
            {"guardian_id": "G2", "student_id": "P1", "full_name": "Коваль Петро Іванович",
             "phone": "+38 (067) 765-43-21", "consent": "так", "consent_date": "2024-09-01",
             "invite_code": "k7qf-9xbm-2d"},
        ], actor="api:s1", school_scope="S1")
    assert (result.created, result.rejected) == (2, [])
    async with db.unit_of_work() as s:
        g1, g2 = await s.get(Guardian, "G1"), await s.get(Guardian, "G2")
        assert g1 is not None and (g1.full_name, g1.phone, g1.consent) == (None, None, False)
        assert g2 is not None and (g2.full_name, g2.phone, g2.consent) == (
            "Коваль Петро Іванович", "+380677654321", True)
        assert await s.scalar(select(func.count()).select_from(GuardianStudent)) == 2
        code = await s.scalar(select(InviteCode))
        assert code is not None and code.guardian_id == "G2"
        assert code.code_hash == hashlib.sha256(normalize_code("K7QF-9XBM-2D").encode()).hexdigest()
        assert 364 <= (code.expires_at - datetime.now(UTC)).days <= 365  # IMPORTED_LIFETIME
        records = (await s.scalars(select(ConsentRecord))).all()
        assert [(r.person_id, r.consent) for r in records] == [("G2", True)]


async def test_an_event_time_without_offset_is_the_schools(db: Database) -> None:
    await seed(db)
    async with db.unit_of_work() as s:
        result = await ingest(s, "events", [
            {"event_id": "E1", "school_id": "S1", "title": "Свято", "starts_at": "2025-03-03T15:00"},
            {"event_id": "E2", "school_id": "S1", "title": "Ярмарок", "starts_at": "2025-03-03T15:00:00Z",
             "class_id": "C2"},
        ], actor="t")
    assert result.rejected == [Rejection(1, "class_id: class 'C2' is not of school 'S1'")]
    async with db.unit_of_work() as s:
        event = await s.get(Event, "E1")
        assert event is not None and event.starts_at == datetime(2025, 3, 3, 13, 0, tzinfo=UTC)


def test_results_add_up() -> None:
    total = IngestResult(1, 2, 3, [Rejection(0, "a")]) + IngestResult(1, 0, 0, [Rejection(4, "b")])
    assert (total.created, total.updated, total.unchanged, len(total.rejected)) == (2, 2, 3, 2)
    assert total.summary() == "2 created, 2 updated, 3 unchanged, 2 rejected"


async def test_a_nul_character_is_rejected_before_it_reaches_the_database(db: Database) -> None:
    """PostgreSQL cannot store U+0000 in text (found by the API's fuzz test)."""
    async with db.unit_of_work() as s:
        result = await ingest(s, "schools", [{"school_id": "S1", "name": "Школа\u0000№1"},
                                             {"school_id": "S\u00002", "name": "Школа №2"},
                                             {"school_id": "S3", "name": "Школа №3"}], actor="t")
    assert result.created == 1
    assert result.rejected == [Rejection(0, "name: contains a NUL character"),
                               Rejection(1, "school_id: contains a NUL character")]
