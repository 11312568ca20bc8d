"""The four reports' figures on the small city whose every count is known
(tests/support/city.py, the `city` fixture), on both databases.

School A has classes 5-А (three pupils), 10-А (one) and 11-А (none); school B has 7-Б.
"Now" is Friday 14 March 2025, 12:00 in Kyiv. Every expected figure below is counted by
hand from the city's rows; the comments say which rows make it.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from run_bot import main
from school_bot.reports.queries import run_report
from school_bot.reports.service import read_report, render_file
from school_bot.reports.spec import ReportRequest
from school_bot.storage.absence_notes import SCHOOL_SYSTEM, NoteStatus, add_note, decide
from school_bot.storage.db import Database
from school_bot.storage.models import AuditEntry
from tests.support.city import GUARDIAN_NAMES, GUARDIAN_PHONES, KYIV, NOW


def request(report: str, school: str | None, start: date = date(2025, 3, 10),
            end: date = date(2025, 3, 14)) -> ReportRequest:
    return ReportRequest(report, school, start, end, NOW, KYIV)


async def rows_of(database: Database, req: ReportRequest) -> list[tuple[object, ...]]:
    async with database.unit_of_work() as session:
        return (await run_report(session, req)).rows


# ---------------------------------------------------------------- figures


async def test_coverage_counts_parents_per_class(city: Database) -> None:
    assert await rows_of(city, request("coverage", "sa")) == [
        # 5-А: g1 g2 g3 g4; consent all but g3; Telegram g1 g2 (g4's chat blocked the bot);
        # Viber g2; not linked g3 and g4 (a console chat is no messenger)
        ("Школа А", "5-А", 4, 3, 2, 1, 2),
        ("Школа А", "10-А", 1, 1, 0, 0, 1),  # g4
        ("Школа А", "11-А", 0, 0, 0, 0, 0),  # no pupils yet
    ]
    assert await rows_of(city, request("coverage", None)) == [
        ("Школа А", "5-А", 4, 3, 2, 1, 2), ("Школа А", "10-А", 1, 1, 0, 0, 1),
        ("Школа А", "11-А", 0, 0, 0, 0, 0),
        ("Школа Б", "7-Б", 2, 2, 2, 0, 0),  # g1 and g5
    ]


async def test_diary_counts_ended_lessons_per_teacher(city: Database) -> None:
    assert await rows_of(city, request("diary", "sa")) == [
        # t9 has no staff row: shown by id. L9: marked, topic, complete
        ("Школа А", "#t9", 1, 1, 1, 100.0, 0),
        # t1: L1 L2 L3 L4 (L5 has not ended at noon, L6 and L10 are outside the period);
        # attendance L1 L2 L4; topic L1 L4 (L3's is blank); both L1 L4; reminded L2 L3
        ("Школа А", "Коваль Ірина Петрівна", 4, 3, 2, 50.0, 2),
        ("Школа А", "Мельник Олег Іванович", 1, 0, 1, 0.0, 0),  # L7
    ]
    # Lessons after now never count, however far the period runs.
    wide = await rows_of(city, request("diary", "sa", end=date(2025, 3, 31)))
    assert ("Школа А", "Коваль Ірина Петрівна", 4, 3, 2, 50.0, 2) in wide
    assert await rows_of(city, request("diary", "sb")) == [
        ("Школа Б", "Бойко Анна Сергіївна", 1, 1, 1, 100.0, 0)]


async def test_absences_per_class_and_iso_week(city: Database) -> None:
    rows = await rows_of(city, request("absences", "sa", start=date(2025, 3, 3), end=date(2025, 3, 17)))
    # then: pupil-days absent or excused, the shares explained / accepted / declined (no
    # notes here: 0 of them; none where no day is absent), the median hours to a decision
    assert rows == [
        ("Школа А", "5-А", "2025-W10", date(2025, 3, 3), 1, 0, 1, 1, 0.0, 0.0, 0.0, None),   # L6
        # L1 L2: p1 on the 10th and the 11th, p2 on the 10th
        ("Школа А", "5-А", "2025-W11", date(2025, 3, 10), 2, 1, 1, 3, 0.0, 0.0, 0.0, None),
        ("Школа А", "10-А", "2025-W11", date(2025, 3, 10), 0, 1, 0, 1, 0.0, 0.0, 0.0, None),  # L11, a Sunday
        ("Школа А", "10-А", "2025-W12", date(2025, 3, 17), 0, 0, 1, 0, None, None, None, None),  # L12
    ]
    assert await rows_of(city, request("absences", None)) == [
        ("Школа А", "5-А", "2025-W11", date(2025, 3, 10), 2, 1, 1, 3, 0.0, 0.0, 0.0, None),
        ("Школа Б", "7-Б", "2025-W11", date(2025, 3, 10), 1, 0, 0, 1, 0.0, 0.0, 0.0, None),
    ]


async def test_absences_show_the_shares_parents_explained_and_the_median_time_to_decide(
        city: Database) -> None:
    async def note(student: str, guardian: str, first: date, last: date, status: NoteStatus | None,
                   hours: float, by: str = "t1") -> None:
        written = datetime(first.year, first.month, first.day, 7, tzinfo=UTC)
        async with city.unit_of_work() as session:
            row = await add_note(session, school_id="sa", class_id="a5", student_id=student,
                                 guardian_id=guardian, account_id=None, first_day=first,
                                 last_day=last, reason="illness", note=None, in_advance=False,
                                 now=written)
            if status is not None:
                await decide(session, row, status, by=by, actor=f"staff:{by}",
                             now=written + timedelta(hours=hours))

    await note("p1", "g1", date(2025, 3, 10), date(2025, 3, 11), NoteStatus.ACCEPTED, 4)
    await note("p2", "g2", date(2025, 3, 10), date(2025, 3, 10), NoteStatus.DECLINED, 2)
    # a note the school's excused mark closed is no teacher's decision: not in the median
    await note("p3", "g3", date(2025, 3, 12), date(2025, 3, 12), NoteStatus.ACCEPTED, 50,
               by=SCHOOL_SYSTEM)
    rows = await rows_of(city, request("absences", "sa"))
    # 5-А, week 11: p1 on the 10th and 11th (accepted), p2 on the 10th (declined): all 3
    # explained, 2 of 3 accepted, 1 of 3 declined; decided after 4 and 2 hours
    assert rows[0] == ("Школа А", "5-А", "2025-W11", date(2025, 3, 10), 2, 1, 1,
                       3, 100.0, 66.7, 33.3, 3.0)
    assert len(rows) == 1  # 10-А's excused Sunday is after the period
    async with city.unit_of_work() as session:
        table = await read_report(session, request("absences", "sa"), ["csv"], actor="t", locale="uk")
    text = render_file(table, "csv", "uk").content.decode("utf-8-sig").splitlines()
    assert text[0].endswith('"Пояснено, %","Прийнято, %","Відхилено, %",'
                            "Медіана годин до рішення")
    assert text[1].endswith(",3,100.0,66.7,33.3,3.0")


async def test_delivery_by_kind_within_the_period_in_kyiv_time(city: Database) -> None:
    #        kind, total, queued, sent, delivered, seen, not shown, retry, blocked, dead
    assert await rows_of(city, request("delivery", "sa")) == [
        # 1 sent, 2 delivered (1 seen), 12 sent but not shown, 4 blocked; not 11
        ("absence", 5, 0, 4, 2, 1, 1, 0, 1, 0),
        ("diary_reminder", 1, 0, 1, 0, 0, 0, 0, 0, 0),
        ("grades", 4, 2, 0, 0, 0, 0, 1, 0, 1),  # queued + sending, retry, dead
    ]
    assert await rows_of(city, request("delivery", "sb")) == [("absence", 2, 0, 2, 0, 0, 0, 0, 0, 0)]
    every = await rows_of(city, request("delivery", None))
    assert [row[:2] for row in every] == [("absence", 6), ("diary_reminder", 1), ("grades", 4)]


async def test_an_unknown_school_is_refused(city: Database) -> None:
    with pytest.raises(LookupError):
        await rows_of(city, request("coverage", "nope"))


# ---------------------------------------------------------------- files, scope, audit


async def test_a_directors_report_holds_only_their_school(city: Database) -> None:
    for report in ("coverage", "diary", "absences"):
        async with city.unit_of_work() as session:
            table = await read_report(session, request(report, "sb"), ["csv"], actor="staff:t3", locale="uk")
        text = render_file(table, "csv", "uk").content.decode("utf-8-sig")
        assert "Школа Б" in text
        assert "Школа А" not in text and "5-А" not in text and "Коваль" not in text


async def test_a_report_about_parents_has_counts_not_names_or_phones(city: Database) -> None:
    async with city.unit_of_work() as session:
        table = await read_report(session, request("coverage", None), ["csv", "xlsx"], actor="t", locale="uk")
    csv_text = render_file(table, "csv", "uk").content.decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(render_file(table, "xlsx", "uk").content)).active
    assert sheet is not None
    cells = " ".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    for text in (csv_text, cells):
        for secret in (*GUARDIAN_NAMES, *GUARDIAN_PHONES, *(p[-9:] for p in GUARDIAN_PHONES)):
            assert secret not in text


async def test_every_report_is_audited(city: Database) -> None:
    async with city.unit_of_work() as session:
        await read_report(session, request("diary", "sa"), ["xlsx", "png"], actor="staff:d1", locale="en")
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated"))
    assert entry is not None
    assert (entry.actor, entry.school_id, entry.entity, entry.entity_id) == (
        "staff:d1", "sa", "report", "diary")
    assert entry.details == {"report": "diary", "scope": "school:sa", "from": "2025-03-10",
                             "to": "2025-03-14", "format": "xlsx+png", "lang": "en", "rows": 3}


async def test_the_command_writes_the_file_and_the_audit_entry(
        city: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", city.url)
    status = await asyncio.to_thread(main, [
        "report", "absences", "--school", "sa", "--from", "2025-03-03", "--to", "2025-03-17",
        "--format", "xlsx", "--out", f"{tmp_path}/", "--lang", "en"])
    assert status == 0
    path = tmp_path / "absences-sa-2025-03-03_2025-03-17.xlsx"
    assert f"4 rows: {path}" in capsys.readouterr().out
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == [
        "School", "Class", "Week", "Week of", "Unexcused", "Excused", "Late", "Days absent",
        "Explained, %", "Accepted, %", "Declined, %", "Median hours to a decision"]
    assert [c.value for c in sheet[3]][:3] == ["Школа А", "5-А", "2025-W11"] and sheet["E3"].value == 2
    async with city.unit_of_work() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated"))
    assert entry is not None and entry.actor.startswith("cli") and entry.details["format"] == "xlsx"


async def test_the_command_refuses_an_unknown_school_and_audits_nothing(
        city: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", city.url)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert await asyncio.to_thread(main, ["report", "coverage", "--school", "nope"]) == 2
    assert "no school" in capsys.readouterr().err
    assert list(here.iterdir()) == []
    async with city.unit_of_work() as session:
        assert await session.scalar(select(AuditEntry)) is None
