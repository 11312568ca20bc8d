"""One spec per entity of the data contract (shared/docs/data-format.md).

A spec says which columns a record has (required ones first), how each is parsed and
into which model attribute it goes, which of them identify the record, which refer to
another entity, and through which of them the record belongs to a school.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from school_bot.storage.ingest import fields as f
from school_bot.storage.ingest.fields import Parser
from school_bot.storage.models import (
    Attendance,
    Base,
    Event,
    Grade,
    Guardian,
    Homework,
    Lesson,
    School,
    SchoolClass,
    Staff,
    Student,
)

LONG_TEXT = 20_000
STAFF_ROLES = ("teacher", "director", "admin", "department")
ATTENDANCE_STATUSES = ("present", "absent", "late", "excused")


_ABSENT = object()


class RecordError(ValueError):
    """A record that cannot be stored; the message is the reason shown to the sender."""


@dataclass(frozen=True)
class Field:
    column: str
    parse: Parser
    attr: str = ""  # the model attribute; "" means the same as the column
    required: bool = False
    default: Any = None
    personal: bool = False  # a name, phone or invitation code: read only with consent

    @property
    def target(self) -> str:
        return self.attr or self.column


@dataclass(frozen=True)
class EntitySpec:
    name: str  # the file stem and the API path: "grades"
    label: str  # one record, in reasons: "grade"
    model: type[Base]
    key: tuple[str, ...]  # columns identifying one record (the duplicate check)
    fields: tuple[Field, ...]
    refs: dict[str, str] = field(default_factory=dict)  # column -> the entity it must name
    # The column that leads to the record's school: through its reference, or (not a
    # reference) the school id itself.
    school_via: str = "school_id"
    consent_gated: bool = False

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(fl.column for fl in self.fields if fl.required)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(fl.column for fl in self.fields)

    def attr(self, column: str) -> str:
        return self._attrs[column]

    @cached_property
    def _attrs(self) -> dict[str, str]:
        return {fl.column: fl.target for fl in self.fields}

    @cached_property
    def _plan(self) -> tuple[tuple[str, str, Parser, bool, Any, bool], ...]:
        return tuple((fl.column, fl.target, fl.parse, fl.required, fl.default, fl.personal)
                     for fl in self.fields)

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The record's values by model attribute; only columns the record has are set.

        A column missing from the record keeps the stored value; a blank one means the
        default (or no value). Personal fields are read only when consent is given.
        """
        values: dict[str, Any] = {}
        consent = self.consent_gated and _gives_consent(raw)
        for column, target, parse, required, default, personal in self._plan:
            if personal and not consent:
                continue
            value = raw.get(column, _ABSENT)
            if value.__class__ is str:
                value = value.strip()
                blank = not value
            else:
                blank = value is None or value is _ABSENT
            if blank:
                if required:
                    raise RecordError(f"{column}: is required")
                if value is not _ABSENT:
                    values[target] = default
                continue
            try:
                values[target] = parse(value)
            except ValueError as exc:
                raise RecordError(f"{column}: {exc}") from None
        if self.consent_gated:
            values["consent"] = consent  # not stated means no: the gate stays shut
        return values

    @cached_property
    def key_attrs(self) -> tuple[str, ...]:
        return tuple(self.attr(column) for column in self.key)


def _gives_consent(raw: dict[str, Any]) -> bool:
    value = raw.get("consent")
    if f.is_blank(value):
        return False
    try:
        return f.boolean(value)
    except ValueError as exc:
        raise RecordError(f"consent: {exc}") from None


def _id(column: str, attr: str = "", required: bool = True) -> Field:
    return Field(column, f.ident, attr, required=required)


def _text(column: str, length: int, required: bool = True, personal: bool = False) -> Field:
    return Field(column, f.text(length), required=required, personal=personal)


def _personal() -> tuple[Field, Field]:
    return (_text("full_name", 255, personal=True),
            Field("phone", f.phone, required=True, personal=True))


def _invite_code() -> Field:
    """Read only with consent, and only as its hash (storage/ingest/codes.py stores it)."""
    return Field("invite_code", f.invite_code, personal=True)


SCHOOLS = EntitySpec(
    "schools", "school", School, ("school_id",),
    (_id("school_id", "id"), _text("name", 255),
     Field("launched", f.boolean, default=False),
     Field("timezone", f.timezone, default="Europe/Kyiv")),
)
CLASSES = EntitySpec(
    "classes", "class", SchoolClass, ("class_id",),
    (_id("class_id", "id"), _id("school_id"), _text("name", 32),
     _id("homeroom_teacher_id", required=False)),
    refs={"school_id": "schools"},
)
STAFF = EntitySpec(
    "staff", "staff member", Staff, ("staff_id",),
    (_id("staff_id", "id"), _id("school_id"), *_personal(),
     Field("role", f.one_of(*STAFF_ROLES), required=True),
     Field("consent", f.boolean, default=False), _invite_code()),
    refs={"school_id": "schools"}, consent_gated=True,
)
STUDENTS = EntitySpec(
    "students", "pupil", Student, ("student_id",),
    (_id("student_id", "id"), _id("class_id"), _text("full_name", 255)),
    refs={"class_id": "classes"}, school_via="class_id",
)
GUARDIANS = EntitySpec(
    "guardians", "guardian", Guardian, ("guardian_id", "student_id"),
    (_id("guardian_id", "id"), _id("student_id"), *_personal(),
     Field("consent", f.boolean, required=True),
     Field("consent_date", f.iso_date), _invite_code()),
    refs={"student_id": "students"}, school_via="student_id", consent_gated=True,
)
LESSONS = EntitySpec(
    "lessons", "lesson", Lesson, ("lesson_id",),
    (_id("lesson_id", "id"), _id("class_id"), _text("subject", 128), _id("teacher_id"),
     Field("date", f.iso_date, required=True),
     Field("starts_at", f.clock_time, required=True),
     Field("ends_at", f.clock_time, required=True),
     Field("number", f.integer), _text("topic", LONG_TEXT, required=False)),
    refs={"class_id": "classes"}, school_via="class_id",
)
GRADES = EntitySpec(
    "grades", "grade", Grade, ("grade_id",),
    (_id("grade_id", "id"), _id("student_id"), _text("subject", 128),
     Field("date", f.iso_date, required=True),
     Field("value", f.grade_value, required=True),
     _text("kind", 64, required=False), _id("teacher_id", required=False),
     _id("lesson_id", required=False), _text("comment", LONG_TEXT, required=False)),
    refs={"student_id": "students", "lesson_id": "lessons"}, school_via="student_id",
)
ATTENDANCE = EntitySpec(
    "attendance", "attendance mark", Attendance, ("student_id", "lesson_id"),
    (_id("student_id"), _id("lesson_id"),
     Field("status", f.one_of(*ATTENDANCE_STATUSES), required=True)),
    refs={"student_id": "students", "lesson_id": "lessons"}, school_via="student_id",
)
HOMEWORK = EntitySpec(
    "homework", "homework", Homework, ("homework_id",),
    (_id("homework_id", "id"), _id("class_id"), _text("subject", 128),
     Field("due_date", f.iso_date, required=True), _text("text", LONG_TEXT),
     _id("teacher_id", required=False)),
    refs={"class_id": "classes"}, school_via="class_id",
)
EVENTS = EntitySpec(
    "events", "event", Event, ("event_id",),
    (_id("event_id", "id"), _id("school_id"), _text("title", 255),
     Field("starts_at", f.timestamp, required=True),
     _id("class_id", required=False), _text("description", LONG_TEXT, required=False)),
    refs={"school_id": "schools", "class_id": "classes"},
)

SPECS: dict[str, EntitySpec] = {spec.name: spec for spec in (
    SCHOOLS, CLASSES, STAFF, STUDENTS, GUARDIANS, LESSONS, GRADES, ATTENDANCE, HOMEWORK, EVENTS,
)}
ENTITIES: tuple[str, ...] = tuple(SPECS)
