"""The data contract's way in: the CSV folder import (and, below, the API-shaped call).

Every test runs on SQLite and PostgreSQL through the `db` fixture.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.demo import generate_demo_data
from school_bot.storage.ingest import import_folder
from school_bot.storage.models import (
    Attendance,
    AuditEntry,
    Event,
    Grade,
    GradeChange,
    Guardian,
    GuardianStudent,
    Homework,
    Lesson,
    School,
    SchoolClass,
    Staff,
    Student,
)
from tests.support.school_files import LESSONS, SCHOOLS, base_folder, write

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2025, 3, 14)


async def count(db: Database, model: type) -> int:
    async with db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    generate_demo_data(folder, schools=2, students=12, seed=7, today=TODAY, weeks=1)
    return folder


async def test_round_trip_counts_per_table_match_the_files(db: Database, demo_folder: Path) -> None:
    report = await import_folder(db, demo_folder, actor="test")
    assert report.ok, report.problems()
    files = {name: csv_rows(demo_folder / f"{name}.csv") for name in (
        "schools", "classes", "staff", "students", "guardians", "lessons", "grades",
        "attendance", "homework", "events")}
    assert report.total.created == sum(len(rows) for rows in files.values())
    for model, name in ((School, "schools"), (SchoolClass, "classes"), (Staff, "staff"),
                        (Student, "students"), (GuardianStudent, "guardians"), (Lesson, "lessons"),
                        (Grade, "grades"), (Attendance, "attendance"), (Homework, "homework"),
                        (Event, "events")):
        assert await count(db, model) == len(files[name]), name
    assert await count(db, Guardian) == len({row["guardian_id"] for row in files["guardians"]})


async def test_second_import_changes_nothing(db: Database, demo_folder: Path) -> None:
    await import_folder(db, demo_folder, actor="test")
    again = await import_folder(db, demo_folder, actor="test")
    assert (again.total.created, again.total.updated, len(again.total.rejected)) == (0, 0, 0)
    assert again.total.unchanged > 0
    assert await count(db, GradeChange) == 0


async def test_consent_no_keeps_the_link_but_no_name_or_phone(db: Database, demo_folder: Path) -> None:
    await import_folder(db, demo_folder, actor="test")
    rows = [r for r in csv_rows(demo_folder / "guardians.csv") if r["consent"].lower() in ("no", "ні")]
    assert rows
    async with db.unit_of_work() as s:
        for row in rows:
            guardian = await s.get(Guardian, row["guardian_id"])
            assert guardian is not None and not guardian.consent
            assert guardian.full_name is None and guardian.phone is None
            assert await s.get(GuardianStudent, (row["guardian_id"], row["student_id"])) is not None


async def test_bad_rows_are_reported_by_file_and_line_and_good_rows_kept(
        db: Database, tmp_path: Path) -> None:
    folder = base_folder(tmp_path / "data")
    write(folder, "grades.csv",
          "grade_id,student_id,subject,date,value,kind,teacher_id,lesson_id,comment\n"
          "G1,P1,Математика,2025-03-10,10,поточна,T1,L1,\n"        # 2 good
          "G2,P1,Математика,2025-03-10,13,поточна,T1,L1,\n"        # 3 value too high
          "G3,P1,Математика,2025-03-10,7.5,,,,\n"                  # 4 not whole
          "G4,P9,Математика,2025-03-10,8,,,,\n"                    # 5 unknown pupil
          "G5,P1,Математика,2025-13-01,8,,,,\n"                    # 6 bad date
          "G1,P2,Історія,2025-03-10,9,,,,\n"                       # 7 duplicate id
          "G6,P2,,2025-03-10,9,,,,\n"                              # 8 subject blank
          "G7,P2,Історія,2025-03-10,9,,,L9,\n"                     # 9 unknown lesson
          "G8,P2,Історія,2025-03-10,9,,,L2,\n")                    # 10 good
    write(folder, "attendance.csv",
          "student_id,lesson_id,status\nP1,L1,absent\nP2,L1,sick\nP2,L1,present\nP2,L1,late\n")
    write(folder, "lessons.csv", LESSONS + "L3,C1,Фізика,T3,2025-03-10,9:40,10:25,3,\n"
          "L4,C1,Фізика,T3,2025-03-10,25:00,10:25,4,\nL5,C1,Фізика,T3,2025-03-10,10:40,10:00,5,\n")
    write(folder, "staff.csv", "staff_id,school_id,full_name,phone,role,consent\n"
          "T1,S1,Шевченко Тарас Григорович,050 123 45 67,teacher,yes\n"
          "T2,S1,Франко Іван Якович,12345,teacher,yes\n"
          "T3,S1,Леся Українка,050 765 43 21,janitor,yes\n"
          "T4,S9,Петренко Петро Петрович,050 111 22 33,teacher,yes\n"
          "T5,S1,Петренко Ольга Петрівна,050 111 22 44,teacher,maybe\n")
    write(folder, "schools.csv", SCHOOLS + "S3,Школа №3,no,Europe/Atlantis\n")
    report = await import_folder(db, folder, actor="test")
    assert report.problems() == [
        "schools.csv:4: timezone: 'Europe/Atlantis' is not a known time zone",
        "staff.csv:3: phone: not a valid phone number",
        "staff.csv:4: role: 'janitor' is not one of teacher, director, admin, department",
        "staff.csv:5: school_id: unknown school 'S9'",
        "staff.csv:6: consent: 'maybe' is not yes/no, true/false, 1/0 or так/ні",
        "lessons.csv:5: starts_at: '25:00' is not a time (HH:MM)",
        "lessons.csv:6: ends_at: is not after starts_at",
        "grades.csv:3: value: 13 is outside 1–12",
        "grades.csv:4: value: '7.5' is not a whole number from 1 to 12",
        "grades.csv:5: student_id: unknown pupil 'P9'",
        "grades.csv:6: date: '2025-13-01' is not a date (YYYY-MM-DD)",
        "grades.csv:7: duplicate grade_id 'G1': already at line 2",
        "grades.csv:8: subject: is required",
        "grades.csv:9: lesson_id: unknown lesson 'L9'",
        "attendance.csv:3: status: 'sick' is not one of present, absent, late, excused",
        "attendance.csv:5: duplicate student_id 'P2', lesson_id 'L1': already at line 4",
    ]
    by_file = {r.file: r.result for r in report.files}
    assert (by_file["grades.csv"].created, len(by_file["grades.csv"].rejected)) == (2, 7)
    assert (by_file["lessons.csv"].created, len(by_file["lessons.csv"].rejected)) == (3, 2)
    async with db.unit_of_work() as s:
        assert set(await s.scalars(select(Grade.id))) == {"G1", "G8"}
        assert (await s.get_one(Lesson, "L3")).starts_at.hour == 9
        assert set(await s.scalars(select(Staff.id))) == {"T1"}


async def test_a_missing_required_column_rejects_the_whole_file(db: Database, tmp_path: Path) -> None:
    folder = base_folder(tmp_path / "data")
    write(folder, "grades.csv",
          "grade_id,student_id,subject,date,kind\nG1,P1,Математика,2025-03-10,поточна\n")
    report = await import_folder(db, folder, actor="test")
    assert report.problems() == [
        "grades.csv:1: missing required column: value (the file is not imported)"]
    assert not report.ok
    assert await count(db, Grade) == 0
    assert await count(db, Lesson) == 2  # the other files are imported


async def test_bom_extra_columns_and_any_column_order(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    write(folder, "schools.csv", "timezone,note,name,school_id\nEurope/Kyiv,x,Ліцей №1,S1\n", bom=True)
    write(folder, "classes.csv", "name,class_id,school_id\n5-А,C1,S1\n", bom=True)
    report = await import_folder(db, folder, actor="test")
    assert report.ok and report.total.created == 2
    async with db.unit_of_work() as s:
        school = await s.get(School, "S1")
        assert school is not None and school.name == "Ліцей №1" and not school.launched
        assert (await s.get_one(SchoolClass, "C1")).school_id == "S1"


@pytest.mark.parametrize("spellings", [("yes", "no"), ("true", "false"), ("1", "0"), ("так", "ні"),
                                       ("YES", "No"), ("Так", "НІ"), (" True ", " FALSE ")])
async def test_booleans_in_every_spelling(db: Database, tmp_path: Path, spellings: tuple[str, str]) -> None:
    yes, no = spellings
    folder = tmp_path / "data"
    write(folder, "schools.csv", f"school_id,name,launched\nS1,A,{yes}\nS2,B,{no}\n")
    report = await import_folder(db, folder, actor="test")
    assert report.ok, report.problems()
    async with db.unit_of_work() as s:
        assert (await s.get_one(School, "S1")).launched is True
        assert (await s.get_one(School, "S2")).launched is False


async def test_phone_spellings_are_stored_as_e164(db: Database, tmp_path: Path) -> None:
    folder = base_folder(tmp_path / "data")
    spellings = ["050 123 45 67", "+38 (050) 123-45-67", "380501234567", "0501234567",
                 "+380501234567", "(050)123-45-67"]
    write(folder, "guardians.csv", "guardian_id,student_id,full_name,phone,consent\n" + "".join(
        f"G{i},P1,Коваленко Марія Іванівна,\"{phone}\",yes\n" for i, phone in enumerate(spellings)))
    report = await import_folder(db, folder, actor="test")
    assert report.ok, report.problems()
    async with db.unit_of_work() as s:
        assert set(await s.scalars(select(Guardian.phone))) == {"+380501234567"}


async def test_school_launch_is_stamped_and_audited(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    write(folder, "schools.csv", "school_id,name,launched\nS1,A,no\n")
    await import_folder(db, folder, actor="test")
    async with db.unit_of_work() as s:
        assert (await s.get_one(School, "S1")).launched_at is None
    write(folder, "schools.csv", "school_id,name,launched\nS1,A,yes\n")
    report = await import_folder(db, folder, actor="test")
    assert report.total.updated == 1
    async with db.unit_of_work() as s:
        assert (await s.get_one(School, "S1")).launched_at is not None
        launches = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "school.launched"))).all()
        assert [(e.school_id, e.entity_id) for e in launches] == [("S1", "S1")]


# ---------------------------------------------------------------- consent, history, audit


def guardian_file(folder: Path, consent: str, phone: str = "050 123 45 67",
                  name: str = "Коваленко Марія Іванівна") -> None:
    write(folder, "guardians.csv", "guardian_id,student_id,full_name,phone,consent,consent_date\n"
          f"G1,P1,{name},{phone},{consent},2024-09-01\nG1,P2,{name},{phone},{consent},2024-09-01\n")


async def test_consent_withdrawn_erases_and_renewed_consent_refills(db: Database, tmp_path: Path) -> None:
    folder = base_folder(tmp_path / "data")
    guardian_file(folder, "yes")
    assert (await import_folder(db, folder, actor="test")).total.created == 2 + 2 + 3 + 2 + 2
    guardian_file(folder, "no")
    report = await import_folder(db, folder, actor="test")
    guardians = {r.file: r.result for r in report.files}["guardians.csv"]
    assert (guardians.updated, guardians.unchanged) == (1, 1)
    async with db.unit_of_work() as s:
        guardian = await s.get(Guardian, "G1")
        assert guardian is not None and guardian.full_name is None and guardian.phone is None
        assert not guardian.consent and guardian.erased_at is not None
        assert await s.scalar(select(func.count()).select_from(GuardianStudent)) == 2
        actions = list(await s.scalars(select(AuditEntry.action)))
        assert "person.erased" in actions
    assert (await import_folder(db, folder, actor="test")).total.updated == 0  # stays erased, quietly
    guardian_file(folder, "так", phone="+380671112233")
    await import_folder(db, folder, actor="test")
    async with db.unit_of_work() as s:
        guardian = await s.get(Guardian, "G1", populate_existing=True)
        assert guardian is not None and guardian.consent
        assert (guardian.full_name, guardian.phone) == ("Коваленко Марія Іванівна", "+380671112233")
        assert guardian.erased_at is None


async def test_erased_phone_leaves_no_bytes_in_the_sqlite_file(sqlite_db_url: str, tmp_path: Path) -> None:
    db = Database.connect(sqlite_db_url)
    folder = base_folder(tmp_path / "data")
    guardian_file(folder, "yes", phone="050 987 65 43", name="Ткаченко Оксана Петрівна")
    await import_folder(db, folder, actor="test")
    guardian_file(folder, "no", phone="050 987 65 43", name="Ткаченко Оксана Петрівна")
    await import_folder(db, folder, actor="test")
    await db.dispose()
    path = Path(sqlite_db_url.split("///", 1)[1])
    for file in (path, Path(f"{path}-wal")):
        if file.exists():
            blob = file.read_bytes()
            assert b"+380509876543" not in blob and b"380509876543" not in blob, file.name
            assert "Ткаченко Оксана".encode() not in blob, file.name


async def test_grade_change_keeps_history_and_is_audited(db: Database, tmp_path: Path) -> None:
    folder = base_folder(tmp_path / "data")
    header = "grade_id,student_id,subject,date,value\n"
    write(folder, "grades.csv", header + "G1,P1,Математика,2025-03-10,7\nG2,P1,Математика,2025-03-11,8\n")
    await import_folder(db, folder, actor="first")
    write(folder, "grades.csv", header + "G1,P1,Математика,2025-03-10,9\nG2,P1,Математика,2025-03-11,8\n")
    report = await import_folder(db, folder, actor="import:teacher")
    assert {r.file: r.result for r in report.files}["grades.csv"].updated == 1
    async with db.unit_of_work() as s:
        changes = (await s.scalars(select(GradeChange))).all()
        assert [(c.grade_id, c.old_value, c.new_value, c.changed_by) for c in changes] == [
            ("G1", 7, 9, "import:teacher")]
        entries = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "grade.changed"))).all()
        assert [(e.entity, e.entity_id, e.details, e.school_id) for e in entries] == [
            ("grade", "G1", {"old": 7, "new": 9}, "S1")]
        assert (await s.get_one(Grade, "G1")).value == 9


async def test_import_is_audited_and_the_chain_verifies(db: Database, demo_folder: Path) -> None:
    report = await import_folder(db, demo_folder, actor="import:test")
    async with db.unit_of_work() as s:
        batches = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "import.batch"))).all()
        assert {e.details["entity"] for e in batches} == {r.file.removesuffix(".csv") for r in report.files}
        grades = [e for e in batches if e.entity == "grades"]
        assert sum(e.details["created"] for e in grades) == {
            r.file: r.result for r in report.files}["grades.csv"].created
        assert all(e.actor == "import:test" and e.details["source"] == "import:test" for e in batches)
        assert (await audit.verify_chain(s)).ok
        for entry in (await s.scalars(select(AuditEntry))).all():
            assert "+380" not in str(entry.details)


async def test_attendance_change_realerts_only_a_new_absence(db: Database, tmp_path: Path) -> None:
    folder = base_folder(tmp_path / "data")
    header = "student_id,lesson_id,status\n"
    write(folder, "attendance.csv", header + "P1,L1,absent\nP2,L1,present\nP1,L2,absent\n")
    await import_folder(db, folder, actor="test")
    async with db.unit_of_work() as s:  # the alert job has run
        for row in (await s.scalars(select(Attendance))).all():
            row.alerted_at = row.updated_at
    write(folder, "attendance.csv", header + "P1,L1,excused\nP2,L1,absent\nP1,L2,absent\n")
    report = await import_folder(db, folder, actor="test")
    assert (report.total.updated, report.total.unchanged) == (2, 2 + 2 + 3 + 2 + 1)
    async with db.unit_of_work() as s:
        marks = (await s.scalars(select(Attendance))).all()
        alerted = {(a.student_id, a.lesson_id): a.alerted_at for a in marks}
        assert alerted[("P1", "L1")] is not None  # became excused: no new alert
        assert alerted[("P2", "L1")] is None  # a new absence: alert again
        assert alerted[("P1", "L2")] is not None  # unchanged
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.changed"))
        assert entry is not None and entry.details == {"changes": [
            {"student_id": "P1", "lesson_id": "L1", "old": "absent", "new": "excused"},
            {"student_id": "P2", "lesson_id": "L1", "old": "present", "new": "absent"}], "more": 0}


# ---------------------------------------------------------------- the command line


def test_cli_import_prints_counts_and_rejections_and_exits_1(db: Database, db_url: str,
                                                             tmp_path: Path) -> None:
    """`db` empties the PostgreSQL database; the command runs in a process of its own."""
    folder = base_folder(tmp_path / "data")
    write(folder, "grades.csv", "grade_id,student_id,subject,date,value\n"
          "G1,P1,Математика,2025-03-10,10\nG2,P1,Математика,2025-03-10,0\n")
    env = {**os.environ, "DATABASE_URL": db_url}
    run = subprocess.run([sys.executable, "run_bot.py", "import", str(folder)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert "schools.csv   2 created, 0 updated, 0 unchanged, 0 rejected" in lines
    assert "grades.csv    1 created, 0 updated, 0 unchanged, 1 rejected" in lines
    assert "grades.csv:3: value: 0 is outside 1–12" in lines
    assert lines[-1] == "total: 10 created, 0 updated, 0 unchanged, 1 rejected"

    write(folder, "grades.csv", "grade_id,student_id,subject,date,value\nG1,P1,Математика,2025-03-10,10\n")
    again = subprocess.run([sys.executable, "run_bot.py", "import", str(folder)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == "total: 0 created, 0 updated, 10 unchanged, 0 rejected"

    missing = subprocess.run([sys.executable, "run_bot.py", "import", str(tmp_path / "nowhere")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"import: {tmp_path / 'nowhere'} is not a folder"


async def test_a_first_load_that_meets_a_stored_record_falls_back_to_comparing(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty table at the start of a file skips the lookups; a record written in the
    meantime (by the API) turns them back on instead of failing the import."""
    folder = tmp_path / "data"
    write(folder, "schools.csv", "school_id,name\nS1,A\n")
    await import_folder(db, folder, actor="test")
    monkeypatch.setattr("school_bot.storage.ingest.pipeline.Ingestor.table_is_empty",
                        lambda self, session: _true())
    write(folder, "schools.csv", "school_id,name\nS2,B\nS1,A\n")
    report = await import_folder(db, folder, actor="test")
    assert report.ok and (report.total.created, report.total.unchanged) == (1, 1)


async def _true() -> bool:
    return True
