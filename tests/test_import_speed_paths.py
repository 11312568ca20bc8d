"""The CSV import's fast paths give what the plain paths give.

A big file is read a batch of lines at a time and split with `str.split` where the
csv module would give the same cells, parsed a column at a time, and written straight
to the driver. These tests feed both paths the awkward cases (quotes, fields across
lines, blank and short lines, a BOM, Windows line ends, bad values among good ones)
and compare what a user would see: the stored rows, the counts, the reasons.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.ingest import fields as f
from school_bot.storage.ingest import import_folder, ingest
from school_bot.storage.ingest.csv_folder import Chunk, _read_chunks
from school_bot.storage.models import Attendance, AuditEntry, Grade, GradeChange, Lesson
from school_bot.storage.phones import InvalidPhone, normalize_phone
from tests.support.school_files import base_folder, write


def _csv_module_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line, cells) of the records but blank lines, by the csv module, as the import used to."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    rows, line = [], reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if len(cells) == 3 or any(cell.strip() for cell in cells):
            rows.append((start, cells))
    return rows


def _lines_and_cells(chunk: Chunk) -> list[tuple[int, list[str]]]:
    """(line, cells) of each row of a chunk, which holds its cells column by column."""
    rows = zip(*chunk.cells, strict=True)
    return [(line, list(cells)) for line, cells in zip(chunk.lines, rows, strict=True)]


def _read(tmp_path: Path, text: str, chunk: int) -> list[tuple[int, list[str]]]:
    path = tmp_path / "attendance.csv"
    path.write_bytes(text.encode())
    rows = []
    for got in _read_chunks(path, "attendance", chunk):
        rows += _lines_and_cells(got)
        rows += [(r.index, ["<rejected>"]) for r in got.rejected]
    return sorted(rows)


AWKWARD = [
    "P1,L1,present\n",
    'P1,L2,"absent"\n',
    '"P1","L3","late"\n',
    'P2,L1,"a, quoted, comma"\n',
    'P2,L2,"a field\nacross lines"\n',
    'P2,L3,"across\n\nthree lines, with a blank one"\n',
    "\n",
    "   \n",
    ",,\n",
    "P3,L1\n",
    "P3,L2,present,,\n",
    "P3,L3,present,extra\n",
    'P4,L1,say ""hi""\n',
    'P4,L2,ab"c\n',
    'P4,L3,"doubled "" quote"\n',
    "P5,L1,present\r\n",
    "P5,L2,\x00nul\n",
    "P5,L3,last line without a newline",
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 100])
@pytest.mark.parametrize("seed", range(6))
def test_the_batch_reader_gives_the_csv_modules_cells_and_lines(tmp_path: Path, chunk: int,
                                                                seed: int) -> None:
    lines = AWKWARD[:-1].copy()
    random.Random(seed).shuffle(lines)
    text = "student_id,lesson_id,status\n" + "".join(lines) + AWKWARD[-1]
    expected = []
    for line, cells in _csv_module_rows(text):
        if len(cells) < 3 or any(c.strip() for c in cells[3:]):
            expected.append((line, ["<rejected>"]))
        else:
            expected.append((line, cells[:3]))
    assert _read(tmp_path, text, chunk) == sorted(expected)


def test_a_bom_and_windows_line_ends_read_as_plain_lines(tmp_path: Path) -> None:
    text = "student_id,lesson_id,status\r\n" + "".join(f"P{i},L{i},present\r\n" for i in range(50))
    path = tmp_path / "attendance.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    got = [row for chunk in _read_chunks(path, "attendance", 7) for row in _lines_and_cells(chunk)]
    assert got == [(i + 2, [f"P{i}", f"L{i}", "present"]) for i in range(50)]


def test_old_mac_line_ends_still_read(tmp_path: Path) -> None:
    path = tmp_path / "attendance.csv"
    path.write_bytes(b"student_id,lesson_id,status\rP1,L1,present\rP2,L1,absent\r")
    got = [row for chunk in _read_chunks(path, "attendance", 10) for row in _lines_and_cells(chunk)]
    assert got == [(2, ["P1", "L1", "present"]), (3, ["P2", "L1", "absent"])]


async def test_a_file_that_is_not_utf8_names_the_line_and_keeps_the_chunks_before(
        db: Database, tmp_path: Path) -> None:
    folder = base_folder(tmp_path / "data")
    body = "".join(f"P1,L{n},present\n" for n in (1, 2))
    (folder / "attendance.csv").write_bytes(
        b"student_id,lesson_id,status\n" + body.encode() + b"P2,L1,pr\xffsent\nP2,L2,present\n")
    report = await import_folder(db, folder, actor="test")
    attendance = {r.file: r for r in report.files}["attendance.csv"]
    assert attendance.error is not None and attendance.error.startswith("4: the file is not UTF-8")


# ---------------------------------------------------------------- fields


def test_the_quick_phone_reading_agrees_with_the_full_one() -> None:
    rnd = random.Random(5)
    spellings = [
        lambda d: f"0{d[:2]} {d[2:5]} {d[5:7]} {d[7:]}", lambda d: f"+380{d}",
        lambda d: f"+38 (0{d[:2]}) {d[2:5]}-{d[5:7]}-{d[7:]}", lambda d: f"380{d}",
        lambda d: f"0{d}", lambda d: f"(0{d[:2]}){d[2:5]}-{d[5:7]}-{d[7:]}", lambda d: f"+3 80{d}",
        lambda d: f"38{d}", lambda d: f"+38{d}", lambda d: f"8{d}", lambda d: f"00380{d}",
        lambda d: d, lambda d: f"+380 {d[:-1]}", lambda d: f"3800{d[:-1]}", lambda d: f"0-{d}",
        lambda d: f"(380){d}", lambda d: f"+380{d}1", lambda d: f"0{d} ",
    ]
    prefixes = ["50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99", "39",
                "44", "32", "80", "90", "89", "79", "00", "01"]
    for _ in range(3000):
        digits = rnd.choice(prefixes) + "".join(rnd.choice("0123456789") for _ in range(7))
        text = rnd.choice(spellings)(digits).strip()
        try:
            expected: object = normalize_phone(text)
        except InvalidPhone as exc:
            expected = ("rejected", str(exc))
        try:
            got: object = f.phone(text)
        except ValueError as exc:
            got = ("rejected", str(exc))
        assert got == expected, text


# ---------------------------------------------------------------- the whole path


GRADES = ("grade_id,student_id,subject,date,value,kind,teacher_id,lesson_id,comment\n"
          "G1,P1,Математика,2025-03-10,10,поточна,T1,L1,\n"
          "G2,P1,Математика,2025-03-10,13,поточна,T1,L1,\n"
          "G3,P1,Математика,2025-03-10,7.5,,,,\n"
          "G4,P9,Математика,2025-03-10,8,,,,\n"
          "G5,P1,Математика,2025-13-01,8,,,,\n"
          "G1,P2,Історія,2025-03-10,9,,,,\n"
          "G6,P2,,2025-03-10,9,,,,\n"
          "G7,P2,Історія,2025-03-10,9,,,L9,\n"
          'G8,P2,Історія, 2025-03-10 ,9,,,L2,"добре, але ""неохайно"""\n'
          "G9,P2,Історія,2025-03-10,\x00,,,L2,\n"
          f"G10,P2,{'Д' * 129},2025-03-10,9,,,L2,\n"
          "G11,P3,Історія,2025-03-11,12,,,L2,ok\n")


async def _stored_grades(db: Database) -> list[tuple]:
    async with db.unit_of_work() as s:
        return [(g.id, g.student_id, g.subject, g.date, g.value, g.kind, g.teacher_id, g.lesson_id,
                 g.comment) for g in (await s.scalars(select(Grade).order_by(Grade.id))).all()]


async def test_csv_columns_and_api_records_store_and_reject_alike(db: Database, tmp_path: Path) -> None:
    """The same grades through the CSV import (column-wise) and through `ingest` (record
    by record): the same rows stored, the same reasons."""
    folder = base_folder(tmp_path / "data")
    write(folder, "grades.csv", GRADES)
    report = await import_folder(db, folder, actor="test")
    by_file = {r.file: r.result for r in report.files}
    csv_reasons = [(r.index - 2, r.reason) for r in by_file["grades.csv"].rejected]
    csv_rows = await _stored_grades(db)
    assert [g[0] for g in csv_rows] == ["G1", "G11", "G8"]
    assert csv_rows[2][3] == date(2025, 3, 10) and csv_rows[2][8] == 'добре, але "неохайно"'

    async with db.unit_of_work() as s:  # the API, in a fresh table: the same records
        await s.execute(Grade.__table__.delete())
    records = list(csv.DictReader(io.StringIO(GRADES)))
    async with db.unit_of_work() as s:
        result = await ingest(s, "grades", records, actor="api")
    api_reasons = [(r.index, r.reason.replace("at record 0", "at line 2")) for r in result.rejected]
    assert api_reasons == csv_reasons
    assert await _stored_grades(db) == csv_rows
    assert (result.created, by_file["grades.csv"].created) == (3, 3)


async def test_a_resync_that_changes_a_few_rows_takes_the_usual_rules(db: Database, tmp_path: Path) -> None:
    """Among thousands of unchanged rows (compared column-wise), the few changed ones
    still get their history, re-alerts and audit entries."""
    folder = base_folder(tmp_path / "data")
    lessons = "".join(f"L{n},C1,Математика,T1,2025-03-{10 + n % 5:02d},08:30,09:15,1,Тема {n}\n"
                      for n in range(3, 400))
    write(folder, "lessons.csv", "lesson_id,class_id,subject,teacher_id,date,starts_at,ends_at,number,topic\n"
          "L1,C1,Математика,T1,2025-03-10,08:30,09:15,1,Дроби\nL2,C1,Історія,T2,2025-03-10,09:25,10:10,2,\n"
          + lessons)
    header = "grade_id,student_id,subject,date,value\n"
    grades = [f"G{n},P{1 + n % 2},Математика,2025-03-10,{1 + n % 12}\n" for n in range(3000)]
    marks = [f"P{1 + n % 2},L{n // 2 + 1},{'absent' if n % 7 == 0 else 'present'}\n" for n in range(700)]
    write(folder, "grades.csv", header + "".join(grades))
    write(folder, "attendance.csv", "student_id,lesson_id,status\n" + "".join(marks))
    first = await import_folder(db, folder, actor="first")
    assert first.ok, first.problems()
    async with db.unit_of_work() as s:  # the alert job has run
        for row in (await s.scalars(select(Attendance))).all():
            row.alerted_at = row.updated_at
    grades[1234] = "G1234,P1,Математика,2025-03-10,12\n"  # was 11
    marks[8] = "P1,L5,absent\n"  # was present
    marks[14] = "P1,L8,excused\n"  # was absent
    write(folder, "grades.csv", header + "".join(grades))
    write(folder, "attendance.csv", "student_id,lesson_id,status\n" + "".join(marks))
    again = await import_folder(db, folder, actor="second")
    by_file = {r.file: r.result for r in again.files}
    assert (by_file["grades.csv"].updated, by_file["grades.csv"].unchanged) == (1, 2999)
    assert (by_file["attendance.csv"].updated, by_file["attendance.csv"].unchanged) == (2, 698)
    assert by_file["lessons.csv"].summary() == "0 created, 0 updated, 399 unchanged, 0 rejected"
    async with db.unit_of_work() as s:
        changes = (await s.scalars(select(GradeChange))).all()
        assert [(c.grade_id, c.old_value, c.new_value, c.changed_by) for c in changes] == [
            ("G1234", 11, 12, "second")]
        marks_now = {(a.student_id, a.lesson_id): a for a in (await s.scalars(select(Attendance))).all()}
        assert marks_now[("P1", "L5")].alerted_at is None and marks_now[("P1", "L5")].status == "absent"
        assert marks_now[("P1", "L8")].alerted_at is not None
        assert marks_now[("P1", "L1")].alerted_at is not None
        actions = [e.action for e in (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()]
        assert actions.count("grade.changed") == 1 and actions.count("attendance.changed") == 1
        assert (await audit.verify_chain(s)).ok
        assert (await s.get_one(Lesson, "L399")).topic == "Тема 399"


async def test_chunks_of_a_big_file_are_committed_and_audited_each(db: Database, tmp_path: Path) -> None:
    from school_bot.storage.ingest import import_file

    await import_folder(db, base_folder(tmp_path / "data"), actor="test")
    header = "grade_id,student_id,subject,date,value\n"
    path = write(tmp_path / "big", "grades.csv", header + "".join(
        f"G{n},P1,Математика,2025-03-10,{1 + n % 12}\n" for n in range(250)) + "G7,P1,Х,2025-03-10,5\n")
    report = await import_file(db, path, "grades", actor="test", chunk=100)
    assert report.result.summary() == "250 created, 0 updated, 0 unchanged, 1 rejected"
    assert report.problems() == ["grades.csv:252: duplicate grade_id 'G7': already at line 9"]
    async with db.unit_of_work() as s:
        batches = (await s.scalars(select(AuditEntry).where(AuditEntry.entity == "grades")
                                   .order_by(AuditEntry.id))).all()
        assert [b.details["lines"] for b in batches] == [[2, 101], [102, 201], [202, 252]]
        assert [b.details["created"] for b in batches] == [100, 100, 50]
