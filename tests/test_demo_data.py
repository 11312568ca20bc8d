"""The demo-data generator writes the data contract's folder, deterministically and realistically."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from school_bot.storage.demo import (
    BOYS,
    GIRLS,
    OPERATOR_CODES,
    DemoSummary,
    csv_field,
    generate_demo_data,
    main,
)
from school_bot.storage.phones import normalize_phone

TODAY = date(2024, 10, 16)  # a Wednesday
FILES = ("schools.csv", "classes.csv", "staff.csv", "students.csv", "guardians.csv",
         "lessons.csv", "grades.csv", "attendance.csv", "homework.csv", "events.csv")
# data-format.md: every column of each file (the required ones are checked for values).
COLUMNS = {
    "schools.csv": ("school_id", "name", "launched", "timezone"),
    "classes.csv": ("class_id", "school_id", "name", "homeroom_teacher_id"),
    "staff.csv": ("staff_id", "school_id", "full_name", "phone", "role", "consent"),
    "students.csv": ("student_id", "class_id", "full_name"),
    "guardians.csv": ("guardian_id", "student_id", "full_name", "phone", "consent",
                      "consent_date", "invite_code"),
    "lessons.csv": ("lesson_id", "class_id", "subject", "teacher_id", "date", "starts_at",
                    "ends_at", "number", "topic"),
    "grades.csv": ("grade_id", "student_id", "subject", "date", "value", "kind", "teacher_id",
                   "lesson_id", "comment"),
    "attendance.csv": ("student_id", "lesson_id", "status"),
    "homework.csv": ("homework_id", "class_id", "subject", "due_date", "text", "teacher_id"),
    "events.csv": ("event_id", "school_id", "title", "starts_at", "class_id", "description"),
}
REQUIRED = {
    "schools.csv": ("school_id", "name"),
    "classes.csv": ("class_id", "school_id", "name"),
    "staff.csv": ("staff_id", "school_id", "full_name", "phone", "role"),
    "students.csv": ("student_id", "class_id", "full_name"),
    "guardians.csv": ("guardian_id", "student_id", "full_name", "phone", "consent"),
    "lessons.csv": ("lesson_id", "class_id", "subject", "teacher_id", "date", "starts_at",
                    "ends_at"),
    "grades.csv": ("grade_id", "student_id", "subject", "date", "value"),
    "attendance.csv": ("student_id", "lesson_id", "status"),
    "homework.csv": ("homework_id", "class_id", "subject", "due_date", "text"),
    "events.csv": ("event_id", "school_id", "title", "starts_at"),
}
UNIQUE_KEYS = {
    "schools.csv": ("school_id",), "classes.csv": ("class_id",), "staff.csv": ("staff_id",),
    "students.csv": ("student_id",), "guardians.csv": ("guardian_id", "student_id"),
    "lessons.csv": ("lesson_id",), "grades.csv": ("grade_id",),
    "attendance.csv": ("student_id", "lesson_id"), "homework.csv": ("homework_id",),
    "events.csv": ("event_id",),
}
YES, NO = {"yes", "так", "true", "1"}, {"no", "ні", "false", "0"}


class Folder:
    """A generated folder, its summary, and its files read as dicts."""

    def __init__(self, path: Path, summary: DemoSummary) -> None:
        self.path, self.summary = path, summary
        self._rows: dict[str, list[dict[str, str]]] = {}

    def rows(self, name: str) -> list[dict[str, str]]:
        if name not in self._rows:
            with open(self.path / name, encoding="utf-8", newline="") as handle:
                self._rows[name] = list(csv.DictReader(handle))
        return self._rows[name]

    def by_id(self, name: str, key: str) -> dict[str, dict[str, str]]:
        return {row[key]: row for row in self.rows(name)}


def _generate(path: Path, **kwargs: Any) -> Folder:
    return Folder(path, generate_demo_data(path, **kwargs))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return _generate(tmp_path_factory.mktemp("demo"), schools=3, students=60, seed=7,
                     today=TODAY, weeks=2)


@pytest.fixture(scope="module")
def marks_folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return _generate(tmp_path_factory.mktemp("marks"), schools=2, students=40, seed=3,
                     today=TODAY, weeks=2, full_attendance=False)


def _file_bytes(path: Path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in FILES}


def _e164(phone: str) -> str:
    return normalize_phone(phone)


def _school_of_class(folder: Folder) -> dict[str, str]:
    return {row["class_id"]: row["school_id"] for row in folder.rows("classes.csv")}


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    generate = partial(generate_demo_data, schools=2, students=30, seed=5, today=TODAY, weeks=1)
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    assert _file_bytes(tmp_path / "a") == _file_bytes(tmp_path / "b")


def test_another_seed_gives_other_files(tmp_path: Path) -> None:
    generate_demo_data(tmp_path / "a", schools=2, students=30, seed=5, today=TODAY, weeks=1)
    generate_demo_data(tmp_path / "b", schools=2, students=30, seed=6, today=TODAY, weeks=1)
    first, second = _file_bytes(tmp_path / "a"), _file_bytes(tmp_path / "b")
    assert all(first[name] != second[name] for name in ("students.csv", "guardians.csv",
                                                        "grades.csv", "attendance.csv"))


def test_worker_processes_do_not_change_the_bytes(tmp_path: Path) -> None:
    generate = partial(generate_demo_data, schools=3, students=12, seed=2, today=TODAY, weeks=1)
    generate(tmp_path / "one", workers=1)
    generate(tmp_path / "two", workers=2)
    assert _file_bytes(tmp_path / "one") == _file_bytes(tmp_path / "two")


# ---------------------------------------------------------------- the contract


def test_every_file_has_the_contract_columns_and_values(folder: Folder) -> None:
    for name in FILES:
        with open(folder.path / name, encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert tuple(header) == COLUMNS[name], name
        rows = folder.rows(name)
        assert rows, f"{name} is empty"
        for row in rows:
            assert all(row[column] for column in REQUIRED[name]), (name, row)
        assert folder.summary.counts[name] == len(rows)


def test_files_are_csv_exactly_as_csv_writer_writes_it(folder: Folder) -> None:
    for name in FILES:
        text = (folder.path / name).read_text(encoding="utf-8")
        again = io.StringIO()
        csv.writer(again, lineterminator="\n").writerows(csv.reader(io.StringIO(text, newline="")))
        assert again.getvalue() == text, name


def test_csv_field_quotes_like_csv_writer() -> None:
    for text in ("", "plain", "a, b", 'say "hi"', "two\nlines", "«Заповіт», вірш"):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([text, "x"])
        assert out.getvalue() == f"{csv_field(text)},x\n"


def test_ids_are_unique_in_every_file(folder: Folder) -> None:
    for name, key in UNIQUE_KEYS.items():
        ids = Counter(tuple(row[column] for column in key) for row in folder.rows(name))
        assert max(ids.values()) == 1, (name, ids.most_common(1))


def test_lesson_ids_name_their_school(folder: Folder) -> None:
    schools = _school_of_class(folder)
    for lesson in folder.rows("lessons.csv"):
        assert re.fullmatch(rf"L-{schools[lesson['class_id']]}-\d+", lesson["lesson_id"])


def test_booleans_timezone_and_blank_invite_codes(folder: Folder) -> None:
    assert {row["timezone"] for row in folder.rows("schools.csv")} == {"Europe/Kyiv"}
    assert {row["launched"] for row in folder.rows("schools.csv")} <= {"yes", "no"}
    consents = Counter(row["consent"] for row in folder.rows("guardians.csv"))
    assert set(consents) <= YES | NO
    assert len(set(consents) & YES) >= 3  # mixed spellings
    assert sum(consents[v] for v in YES) > 0.8 * sum(consents.values())
    assert {row["invite_code"] for row in folder.rows("guardians.csv")} == {""}
    assert {row["consent"] for row in folder.rows("staff.csv")} <= YES | NO


# ---------------------------------------------------------------- phones


def test_every_phone_is_a_valid_ukrainian_mobile(folder: Folder) -> None:
    phones = [row["phone"] for row in folder.rows("staff.csv") + folder.rows("guardians.csv")]
    for phone in phones:
        text = "+" + phone if phone.startswith("380") else phone
        number = phonenumbers.parse(text, "UA")
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == "UA"
        assert "0" + _e164(phone)[4:6] in OPERATOR_CODES, phone


def test_phones_come_in_mixed_spellings(folder: Folder) -> None:
    shapes = {
        r"0\d\d \d{3} \d\d \d\d", r"\+38 \(0\d\d\) \d{3}-\d\d-\d\d", r"380\d{9}", r"0\d{9}",
        r"\+380\d{9}",
    }
    phones = [row["phone"] for row in folder.rows("guardians.csv")]
    seen = {shape for shape in shapes for phone in phones if re.fullmatch(shape, phone)}
    assert seen == shapes
    assert all(any(re.fullmatch(shape, phone) for shape in shapes) for phone in phones)


def test_phones_are_unique_but_for_the_teacher_who_is_a_parent(folder: Folder) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for row in folder.rows("staff.csv"):
        owners[_e164(row["phone"])].add("staff:" + row["staff_id"])
    for row in folder.rows("guardians.csv"):
        owners[_e164(row["phone"])].add("guardian:" + row["guardian_id"])
    shared = {phone: who for phone, who in owners.items() if len(who) > 1}
    summary = folder.summary
    assert list(shared.values()) == [{f"staff:{summary.teacher_parent_staff_id}",
                                      f"guardian:{summary.teacher_parent_guardian_id}"}]


# ---------------------------------------------------------------- the special cases


def test_the_demo_parent_has_two_children_in_two_classes_of_a_launched_school(
        folder: Folder) -> None:
    summary = folder.summary
    rows = [r for r in folder.rows("guardians.csv")
            if r["guardian_id"] == summary.multi_child_guardian_id]
    students = folder.by_id("students.csv", "student_id")
    children = {r["student_id"] for r in rows}
    assert children == set(summary.multi_child_student_ids) and len(children) == 2
    classes = {students[c]["class_id"] for c in children}
    assert len(classes) == 2
    schools = {_school_of_class(folder)[c] for c in classes}
    launched = folder.by_id("schools.csv", "school_id")
    assert len(schools) == 1 and launched[schools.pop()]["launched"] == "yes"
    assert all(r["consent"] in YES and r["consent_date"] for r in rows)
    assert summary.demo_parent_phone == _e164(rows[0]["phone"])
    assert re.fullmatch(r"\+380\d{9}", summary.demo_parent_phone)


def test_a_guardian_has_children_in_two_schools(folder: Folder) -> None:
    summary = folder.summary
    rows = [r for r in folder.rows("guardians.csv")
            if r["guardian_id"] == summary.cross_school_guardian_id]
    students = folder.by_id("students.csv", "student_id")
    schools = {_school_of_class(folder)[students[r["student_id"]]["class_id"]] for r in rows}
    assert len(schools) == 2
    assert {r["student_id"] for r in rows} == set(summary.cross_school_student_ids)
    assert all(r["consent"] in YES for r in rows)


def test_a_child_has_two_consenting_guardians(folder: Folder) -> None:
    summary = folder.summary
    rows = [r for r in folder.rows("guardians.csv")
            if r["student_id"] == summary.two_guardian_student_id]
    assert {r["guardian_id"] for r in rows} == set(summary.two_guardian_ids)
    assert len(rows) == 2 and all(r["consent"] in YES for r in rows)
    assert len({_e164(r["phone"]) for r in rows}) == 2


def test_a_guardian_has_not_consented(folder: Folder) -> None:
    rows = [r for r in folder.rows("guardians.csv")
            if r["guardian_id"] == folder.summary.no_consent_guardian_id]
    assert rows and all(r["consent"] == "no" and r["consent_date"] == "" for r in rows)


def test_the_last_school_is_not_launched(folder: Folder) -> None:
    schools = folder.rows("schools.csv")
    assert [s["launched"] for s in schools] == ["yes", "yes", "no"]
    assert folder.summary.unlaunched_school_id == schools[-1]["school_id"]


def test_a_single_school_is_launched(tmp_path: Path) -> None:
    single = _generate(tmp_path, schools=1, students=20, today=TODAY, weeks=1)
    assert [s["launched"] for s in single.rows("schools.csv")] == ["yes"]
    assert single.summary.unlaunched_school_id is None
    assert single.summary.cross_school_guardian_id is None
    assert len(single.summary.multi_child_student_ids) == 2


def test_a_teacher_is_also_a_parent(folder: Folder) -> None:
    summary = folder.summary
    staff = folder.by_id("staff.csv", "staff_id")[summary.teacher_parent_staff_id]
    guardian = next(r for r in folder.rows("guardians.csv")
                    if r["guardian_id"] == summary.teacher_parent_guardian_id)
    assert staff["role"] == "teacher" and staff["consent"] in YES
    assert guardian["consent"] in YES
    assert staff["full_name"] == guardian["full_name"]
    assert _e164(staff["phone"]) == _e164(guardian["phone"])
    child = folder.by_id("students.csv", "student_id")[guardian["student_id"]]
    assert _school_of_class(folder)[child["class_id"]] == staff["school_id"]


def test_staff_of_each_school(folder: Folder) -> None:
    by_school: dict[str, Counter[str]] = defaultdict(Counter)
    for row in folder.rows("staff.csv"):
        by_school[row["school_id"]][row["role"]] += 1
    for roles in by_school.values():
        assert roles["director"] == 1 and roles["admin"] == 1 and roles["teacher"] >= 10
    assert sum(roles["department"] for roles in by_school.values()) == 1
    demo_teacher = next(r for r in folder.rows("staff.csv")
                        if _e164(r["phone"]) == folder.summary.demo_teacher_phone)
    assert demo_teacher["role"] == "teacher" and demo_teacher["consent"] in YES


def test_a_pupil_misses_several_lessons_unexcused_today(folder: Folder) -> None:
    summary = folder.summary
    assert summary.absence_day == TODAY
    lessons = folder.by_id("lessons.csv", "lesson_id")
    student = folder.by_id("students.csv", "student_id")[summary.absent_today_student_id]
    missed = [r["lesson_id"] for r in folder.rows("attendance.csv")
              if r["student_id"] == summary.absent_today_student_id and r["status"] == "absent"
              and lessons[r["lesson_id"]]["date"] == TODAY.isoformat()]
    assert len(missed) >= 2 and set(missed) == set(summary.absent_today_lesson_ids)
    assert {lessons[m]["class_id"] for m in missed} == {student["class_id"]}
    assert summary.absent_today_student_id == summary.multi_child_student_ids[0]
    school = _school_of_class(folder)[student["class_id"]]
    assert folder.by_id("schools.csv", "school_id")[school]["launched"] == "yes"


# ---------------------------------------------------------------- integrity


def test_references_point_at_existing_records(folder: Folder) -> None:
    schools = folder.by_id("schools.csv", "school_id")
    classes = folder.by_id("classes.csv", "class_id")
    staff = folder.by_id("staff.csv", "staff_id")
    students = folder.by_id("students.csv", "student_id")
    lessons = folder.by_id("lessons.csv", "lesson_id")
    for row in classes.values():
        assert row["school_id"] in schools
        assert staff[row["homeroom_teacher_id"]]["school_id"] == row["school_id"]
    assert all(s["school_id"] in schools for s in staff.values())
    assert all(s["class_id"] in classes for s in students.values())
    assert {g["student_id"] for g in folder.rows("guardians.csv")} == set(students)
    for lesson in lessons.values():
        teacher = staff[lesson["teacher_id"]]
        assert teacher["role"] == "teacher"
        assert teacher["school_id"] == classes[lesson["class_id"]]["school_id"]
    for row in folder.rows("attendance.csv"):
        assert students[row["student_id"]]["class_id"] == lessons[row["lesson_id"]]["class_id"]
    for row in folder.rows("homework.csv"):
        assert row["class_id"] in classes and row["teacher_id"] in staff
    for row in folder.rows("events.csv"):
        assert row["school_id"] in schools
        assert not row["class_id"] or classes[row["class_id"]]["school_id"] == row["school_id"]


def test_grades_match_a_lesson_of_their_subject(folder: Folder) -> None:
    students = folder.by_id("students.csv", "student_id")
    lessons = folder.by_id("lessons.csv", "lesson_id")
    for grade in folder.rows("grades.csv"):
        lesson = lessons[grade["lesson_id"]]
        assert lesson["subject"] == grade["subject"] and lesson["date"] == grade["date"]
        assert lesson["teacher_id"] == grade["teacher_id"]
        assert students[grade["student_id"]]["class_id"] == lesson["class_id"]


def test_nobody_is_graded_in_a_lesson_they_missed(folder: Folder) -> None:
    away = {(r["student_id"], r["lesson_id"]) for r in folder.rows("attendance.csv")
            if r["status"] in ("absent", "excused")}
    assert not [g for g in folder.rows("grades.csv") if (g["student_id"], g["lesson_id"]) in away]


# ---------------------------------------------------------------- realism


def test_names_are_ukrainian_with_the_right_forms(folder: Folder) -> None:
    for row in folder.rows("students.csv"):
        surname, given, patronymic = row["full_name"].split(" ")
        if given in GIRLS:
            assert patronymic.endswith("вна"), row
            assert not surname.endswith("ський"), row
        else:
            assert given in BOYS and patronymic.endswith("ич"), row
    for row in folder.rows("guardians.csv") + folder.rows("staff.csv"):
        assert len(row["full_name"].split(" ")) == 3
        assert row["full_name"].split(" ")[2].endswith(("ич", "вна"))


def test_classes_are_named_and_sized_like_a_school(tmp_path: Path) -> None:
    big = _generate(tmp_path, schools=1, students=667, today=TODAY, weeks=1)
    classes = big.rows("classes.csv")
    assert 20 <= len(classes) <= 28
    assert all(re.fullmatch(r"(5|6|7|8|9|10|11)-[АБВГДЕЄЖ]", c["name"]) for c in classes)
    assert len({c["name"] for c in classes}) == len(classes)
    sizes = Counter(s["class_id"] for s in big.rows("students.csv"))
    assert sum(sizes.values()) == 667 and min(sizes.values()) >= 24 and max(sizes.values()) <= 31
    name = big.rows("schools.csv")[0]["name"]
    assert re.fullmatch(r"(Ліцей|Гімназія|Загальноосвітня школа І-ІІІ ступенів|"
                        r"Спеціалізована школа І-ІІІ ступенів) №\d+", name)


def test_lessons_run_on_weekdays_with_a_bell_schedule(folder: Folder) -> None:
    per_day: Counter[tuple[str, str]] = Counter()
    for lesson in folder.rows("lessons.csv"):
        day = date.fromisoformat(lesson["date"])
        assert day.weekday() < 5
        assert re.fullmatch(r"\d\d:\d\d", lesson["starts_at"])
        assert lesson["starts_at"] < lesson["ends_at"]
        per_day[lesson["class_id"], lesson["date"]] += 1
    assert set(per_day.values()) <= {5, 6, 7}
    days = sorted({lesson["date"] for lesson in folder.rows("lessons.csv")})
    assert days[0] == (TODAY - timedelta(days=13)).isoformat()  # two school weeks back
    assert TODAY.isoformat() in days
    assert (TODAY + timedelta(days=1)).isoformat() in days


def test_marks_exist_only_up_to_today(folder: Folder) -> None:
    lessons = folder.by_id("lessons.csv", "lesson_id")
    assert max(g["date"] for g in folder.rows("grades.csv")) == TODAY.isoformat()
    assert all(lessons[a["lesson_id"]]["date"] <= TODAY.isoformat()
               for a in folder.rows("attendance.csv"))


def test_some_recent_lessons_are_not_filled_in(folder: Folder) -> None:
    lessons = folder.rows("lessons.csv")
    marked = {a["lesson_id"] for a in folder.rows("attendance.csv")}
    today = [lesson for lesson in lessons if lesson["date"] == TODAY.isoformat()]
    older = [lesson for lesson in lessons if lesson["date"] < (TODAY - timedelta(days=5)).isoformat()]
    assert any(not lesson["topic"] for lesson in today) and any(lesson["topic"] for lesson in today)
    assert all(lesson["topic"] for lesson in older)
    assert any(lesson["lesson_id"] not in marked for lesson in today)
    assert sum(lesson["lesson_id"] in marked for lesson in older) > 0.85 * len(older)


def test_grades_look_like_a_twelve_point_diary(folder: Folder) -> None:
    grades = folder.rows("grades.csv")
    values = Counter(int(g["value"]) for g in grades)
    assert set(values) <= set(range(1, 13))
    assert sum(values[v] for v in range(6, 12)) > 0.7 * len(grades)
    kinds = Counter(g["kind"] for g in grades)
    assert set(kinds) == {"поточна", "тематична", "контрольна"}
    assert kinds["поточна"] > len(grades) / 2
    assert any(g["comment"] for g in grades)
    school_days = len({g["date"] for g in grades})
    per_pupil_day = len(grades) / (len(folder.rows("students.csv")) * school_days)
    assert 0.7 < per_pupil_day < 2.0


def test_full_attendance_has_a_row_per_pupil(folder: Folder) -> None:
    assert folder.summary.attendance_full
    class_size = Counter(s["class_id"] for s in folder.rows("students.csv"))
    lessons = folder.by_id("lessons.csv", "lesson_id")
    rows = Counter(a["lesson_id"] for a in folder.rows("attendance.csv"))
    assert all(count == class_size[lessons[lid]["class_id"]] for lid, count in rows.items())
    statuses = Counter(a["status"] for a in folder.rows("attendance.csv"))
    assert set(statuses) == {"present", "absent", "late", "excused"}
    assert statuses["present"] > 0.85 * sum(statuses.values())


def test_marks_only_attendance_keeps_every_marked_lesson_visible(marks_folder: Folder) -> None:
    assert not marks_folder.summary.attendance_full
    rows = marks_folder.rows("attendance.csv")
    per_lesson = Counter(a["lesson_id"] for a in rows)
    presents = Counter(a["lesson_id"] for a in rows if a["status"] == "present")
    assert all(presents[lid] == 1 for lid in per_lesson)  # one present sample per lesson
    assert {a["status"] for a in rows} == {"present", "absent", "late", "excused"}
    summary = marks_folder.summary
    assert set(summary.absent_today_lesson_ids) <= set(per_lesson)


def test_homework_for_today_tomorrow_and_past_days(folder: Folder) -> None:
    due = Counter(h["due_date"] for h in folder.rows("homework.csv"))
    for day in (TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1),
                TODAY + timedelta(days=2)):
        assert due[day.isoformat()] > 0, day
    assert all(h["text"] for h in folder.rows("homework.csv"))


def test_events_in_the_past_and_tomorrow(folder: Folder) -> None:
    starts = [datetime.fromisoformat(e["starts_at"]) for e in folder.rows("events.csv")]
    assert all(s.utcoffset() == timedelta(hours=3) for s in starts)  # Kyiv summer time
    tomorrow = [e for e in folder.rows("events.csv")
                if e["starts_at"].startswith((TODAY + timedelta(days=1)).isoformat())]
    assert any(e["class_id"] for e in tomorrow) and any(not e["class_id"] for e in tomorrow)
    assert any(s.date() < TODAY for s in starts)
    titles = {e["title"] for e in folder.rows("events.csv")}
    assert "Батьківські збори" in titles


def test_consent_dates_are_before_today(folder: Folder) -> None:
    for row in folder.rows("guardians.csv"):
        if row["consent"] in YES:
            assert date.fromisoformat(row["consent_date"]) < TODAY
        else:
            assert row["consent_date"] == ""


# ---------------------------------------------------------------- the edges


def test_on_a_weekend_the_diary_ends_on_friday(tmp_path: Path) -> None:
    saturday = date(2024, 10, 19)
    weekend = _generate(tmp_path, schools=2, students=20, today=saturday, weeks=1)
    assert weekend.summary.absence_day == date(2024, 10, 18)
    days = {date.fromisoformat(lesson["date"]) for lesson in weekend.rows("lessons.csv")}
    assert all(day.weekday() < 5 for day in days)
    assert max(g["date"] for g in weekend.rows("grades.csv")) == "2024-10-18"
    assert min(d for d in days if d > saturday) == date(2024, 10, 21)
    assert len(weekend.summary.absent_today_lesson_ids) >= 2


def test_fewer_grades_on_request(tmp_path: Path) -> None:
    few = _generate(tmp_path, schools=1, students=30, today=TODAY, weeks=2, grades_per_day=0.3)
    per_pupil_day = len(few.rows("grades.csv")) / (30 * 10)
    assert 0.15 < per_pupil_day < 0.5


@pytest.mark.parametrize("kwargs", [{"schools": 0}, {"students": 3}, {"weeks": 0},
                                    {"grades_per_day": -1.0}])
def test_impossible_sizes_are_refused(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=f"^{next(iter(kwargs))} "):  # the refusal names the size
        generate_demo_data(tmp_path, **kwargs)


def test_the_command_line_prints_the_summary(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    status = main([str(tmp_path / "cli"), "--schools", "1", "--students", "20", "--seed", "4",
                   "--weeks", "1", "--today", "2024-10-16"])
    out = capsys.readouterr().out
    assert status == 0
    assert "demo parent:" in out and "grades.csv" in out
    assert all((tmp_path / "cli" / name).exists() for name in FILES)
