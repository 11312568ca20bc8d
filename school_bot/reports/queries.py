"""One aggregate SQL query per report: the database groups and counts, Python only sorts
the answer (a row per class, teacher, week or kind; never a row per pupil or lesson).

The same statements run on SQLite and PostgreSQL; the one spelling that differs, the
Monday of a date's ISO week, is a small compiled construct.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import Date, Select, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from school_bot.reports.spec import Column, ReportRequest, ReportTable
from school_bot.shared.i18n import N_
from school_bot.storage import retention
from school_bot.storage.absence_notes import FINAL, SCHOOL_SYSTEM, NoteStatus
from school_bot.storage.models import (
    AbsenceNote,
    Account,
    AccountGuardian,
    Attendance,
    Guardian,
    GuardianStudent,
    Lesson,
    OutboxMessage,
    School,
    SchoolClass,
    Staff,
    Student,
)
from school_bot.storage.outbox_status import OutboxStatus

# ---------------------------------------------------------------- the columns

SCHOOL = Column("school", N_("School"), "text")
CLASS = Column("class", N_("Class"), "text")

COLUMNS: dict[str, tuple[Column, ...]] = {
    "coverage": (SCHOOL, CLASS, Column("guardians", N_("Parents")),
                 Column("consent", N_("With consent")), Column("telegram", N_("Linked on Telegram")),
                 Column("viber", N_("Linked on Viber")), Column("not_linked", N_("Not linked"))),
    "diary": (SCHOOL, Column("teacher", N_("Teacher"), "text"), Column("lessons", N_("Lessons taught")),
              Column("attendance", N_("With attendance")), Column("topic", N_("With topic")),
              Column("fill_rate", N_("Fill rate, %"), "percent"),
              Column("reminders", N_("Reminders sent"))),
    "absences": (SCHOOL, CLASS, Column("week", N_("Week"), "text"),
                 Column("monday", N_("Week of"), "date"), Column("absent", N_("Unexcused")),
                 Column("excused", N_("Excused")), Column("late", N_("Late")),
                 # parents' explanations: of the pupil-days with an absent or excused mark,
                 # the shares a note covers (any, accepted, declined); the median hours from
                 # a note to a teacher's decision, of the notes of the week's days
                 Column("absent_days", N_("Days absent")),
                 Column("explained", N_("Explained, %"), "percent"),
                 Column("accepted", N_("Accepted, %"), "percent"),
                 Column("declined", N_("Declined, %"), "percent"),
                 Column("decision_hours", N_("Median hours to a decision"), "decimal")),
    "delivery": (Column("kind", N_("Kind"), "code"), Column("total", N_("Total")),
                 Column("queued", N_("Queued")), Column("sent", N_("Sent")),
                 Column("delivered", N_("Delivered")), Column("seen", N_("Seen")),
                 Column("not_shown", N_("Not shown on the phone")),
                 Column("retry", N_("Failed, will retry")), Column("blocked", N_("Blocked the bot")),
                 Column("dead", N_("Gave up"))),
}


# The outbox's kinds (notifications/jobs, notifications/announcements), as an office reads them.
KIND_LABELS = {
    "absence": N_("Absence alert"), "absence_update": N_("Absence alert, edited"),
    "absence_followup": N_("Absence alert, follow-up"),
    "grades": N_("New grades"), "grade_change": N_("Grade changed"),
    "grade_digest": N_("Grades of the day"), "homework": N_("Homework"),
    "diary_reminder": N_("Diary reminder"), "director_summary": N_("Director's summary"),
    "event": N_("Event"), "event_reminder": N_("Event reminder"), "announcement": N_("Announcement"),
    "announcement_report": N_("Announcement report"), "launch": N_("School launched"),
}


# ---------------------------------------------------------------- portable pieces


class week_monday(FunctionElement[Any]):  # noqa: N801 - reads as the SQL function it is
    """The Monday of the ISO week of a date column."""

    type = Date()
    inherit_cache = True


@compiles(week_monday, "postgresql")
def _week_monday_pg(element: week_monday, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(week_monday, "sqlite")
def _week_monday_sqlite(element: week_monday, compiler: SQLCompiler, **kw: Any) -> str:
    # 'weekday 0' moves on to the next Sunday (or stays), six days back is its Monday
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _classes_of(request: ReportRequest) -> Select[tuple[str]]:
    return select(SchoolClass.id).where(SchoolClass.school_id == request.school_id)


# ---------------------------------------------------------------- the reports


def coverage_query(request: ReportRequest) -> Select[Any]:
    """Per class: its pupils' guardians, with consent, with a working chat per messenger.

    A guardian of two pupils of a class counts once there, and in each class of their
    children. A chat that blocked the bot (inactive) or a console chat is no link; a
    guardian linked on both messengers counts in both columns (and not as "not linked").
    The chats are looked up per guardian by ix_account_guardians_guardian_id (EXISTS), a
    plan that stays cheap even before the database has statistics (a fresh import).
    """
    pairs = (select(Student.class_id.label("class_id"), GuardianStudent.guardian_id.label("guardian_id"))
             .join(Student, Student.id == GuardianStudent.student_id).distinct())
    if request.school_id:
        pairs = pairs.where(Student.class_id.in_(_classes_of(request)))
    pair = pairs.subquery("pairs")

    def chat_on(*platforms: str) -> ColumnElement[bool]:
        return exists().where(AccountGuardian.guardian_id == pair.c.guardian_id,
                              Account.id == AccountGuardian.account_id, Account.active.is_(True),
                              Account.platform.in_(platforms))

    per_class = (
        select(pair.c.class_id, func.count().label("guardians"),
               _count_if(Guardian.consent.is_(True)).label("consent"),
               _count_if(chat_on("telegram")).label("telegram"), _count_if(chat_on("viber")).label("viber"),
               _count_if(~chat_on("telegram", "viber")).label("not_linked"))
        .select_from(pair).join(Guardian, Guardian.id == pair.c.guardian_id)
        .group_by(pair.c.class_id)
    ).subquery("per_class")
    counts = [func.coalesce(c, 0) for c in (per_class.c.guardians, per_class.c.consent, per_class.c.telegram,
                                            per_class.c.viber, per_class.c.not_linked)]
    query = (select(School.name, SchoolClass.name, *counts)
             .select_from(SchoolClass).join(School, School.id == SchoolClass.school_id)
             .outerjoin(per_class, per_class.c.class_id == SchoolClass.id))
    if request.school_id:
        query = query.where(SchoolClass.school_id == request.school_id)
    return query


def diary_query(request: ReportRequest) -> Select[Any]:
    """Per teacher: lessons that have ended in the period, and how many the diary has filled.

    Counted in two steps so the EXISTS runs once a lesson: per teacher, topic filled
    (yes/no) and reminded (yes/no), the lessons and the marked ones among them; then
    summed per teacher, the names joined to a few thousand rows at the end.
    """
    marked = case((exists().where(Attendance.lesson_id == Lesson.id), 1), else_=0)
    topic = case((and_(Lesson.topic.is_not(None), func.trim(Lesson.topic) != ""), 1), else_=0)
    reminded = case((Lesson.reminded_at.is_not(None), 1), else_=0)
    ended = or_(Lesson.date < request.today,
                and_(Lesson.date == request.today, Lesson.ends_at <= request.local_now))
    lessons = (select(SchoolClass.school_id.label("school_id"), Lesson.teacher_id.label("teacher_id"),
                      topic.label("topic"), reminded.label("reminded"),
                      func.count().label("lessons"), func.sum(marked).label("marked"))
               .join(SchoolClass, SchoolClass.id == Lesson.class_id)
               .where(Lesson.date.between(request.start, request.end), ended)
               .group_by(SchoolClass.school_id, Lesson.teacher_id, topic, reminded))
    if request.school_id:
        lessons = lessons.where(SchoolClass.school_id == request.school_id)
    per = lessons.subquery("per_teacher")
    return (
        select(School.name, per.c.teacher_id, Staff.full_name, func.sum(per.c.lessons),
               func.sum(per.c.marked), func.sum(per.c.topic * per.c.lessons),
               func.sum(per.c.topic * per.c.marked), func.sum(per.c.reminded * per.c.lessons))
        .select_from(per).join(School, School.id == per.c.school_id)
        .outerjoin(Staff, Staff.id == per.c.teacher_id)
        .group_by(per.c.school_id, School.name, per.c.teacher_id, Staff.full_name)
    )


def _explained_days(request: ReportRequest) -> Any:
    """Per class and ISO week: the pupil-days with an absent or excused mark, and those a
    parent's note covers (any note; an accepted one; a declined one and no accepted)."""
    days = (select(Attendance.student_id.label("student_id"), Lesson.class_id.label("class_id"),
                   Lesson.date.label("day")).distinct()
            .select_from(Attendance).join(Lesson, Lesson.id == Attendance.lesson_id)
            .where(Lesson.date.between(request.start, request.end),
                   Attendance.status.in_(("absent", "excused"))))
    if request.school_id:
        days = days.where(Lesson.class_id.in_(_classes_of(request)))
    day = days.subquery("absent_days")

    def covered(*statuses: str) -> ColumnElement[bool]:
        found = exists().where(AbsenceNote.student_id == day.c.student_id,
                               AbsenceNote.first_day <= day.c.day, AbsenceNote.last_day >= day.c.day)
        return found.where(AbsenceNote.status.in_(statuses)) if statuses else found

    accepted = covered(NoteStatus.ACCEPTED.value)
    monday = week_monday(day.c.day)
    return (select(day.c.class_id, monday.label("monday"), func.count().label("days"),
                   _count_if(covered()).label("explained"), _count_if(accepted).label("accepted"),
                   _count_if(and_(covered(NoteStatus.DECLINED.value), ~accepted)).label("declined"))
            .group_by(day.c.class_id, monday)).subquery("explained")


def absences_query(request: ReportRequest) -> Select[Any]:
    """Per class and ISO week: lesson marks absent (unexcused), excused and late; the
    pupil-days absent and the shares parents' notes explain (`_explained_days`).

    Grouped by class id and week first; the names are joined to the grouped rows.
    """
    monday = week_monday(Lesson.date)
    marks = (
        select(Lesson.class_id.label("class_id"), monday.label("monday"),
               _count_if(Attendance.status == "absent").label("absent"),
               _count_if(Attendance.status == "excused").label("excused"),
               _count_if(Attendance.status == "late").label("late"))
        .select_from(Attendance).join(Lesson, Lesson.id == Attendance.lesson_id)
        # `!= 'present'` rather than IN (...): an index on status would lead SQLite's planner
        # through every school's marks even when one school is asked for.
        .where(Lesson.date.between(request.start, request.end), Attendance.status != "present")
        .group_by(Lesson.class_id, monday)
    )
    if request.school_id:
        marks = marks.where(Lesson.class_id.in_(_classes_of(request)))
    per = marks.subquery("per_week")
    notes = _explained_days(request)
    return (select(School.name, SchoolClass.name, per.c.monday, per.c.absent, per.c.excused, per.c.late,
                   SchoolClass.id, *(func.coalesce(c, 0) for c in (
                       notes.c.days, notes.c.explained, notes.c.accepted, notes.c.declined)))
            .select_from(per).join(SchoolClass, SchoolClass.id == per.c.class_id)
            .join(School, School.id == SchoolClass.school_id)
            .outerjoin(notes, and_(notes.c.class_id == per.c.class_id, notes.c.monday == per.c.monday)))


def decisions_query(request: ReportRequest) -> Select[Any]:
    """The notes of the period's days (by their first day) that a teacher accepted or
    declined: class, week, written and decided (one row a note: a class's notes are few)."""
    monday = week_monday(AbsenceNote.first_day)
    query = (select(AbsenceNote.class_id, monday.label("monday"), AbsenceNote.created_at,
                    AbsenceNote.decided_at)
             .where(AbsenceNote.first_day.between(request.start, request.end),
                    AbsenceNote.status.in_(FINAL), AbsenceNote.decided_at.is_not(None),
                    AbsenceNote.decided_by != SCHOOL_SYSTEM))
    if request.school_id:
        query = query.where(AbsenceNote.school_id == request.school_id)
    return query


def median_hours(rows: Sequence[Any]) -> dict[tuple[str, date], float]:
    """Per (class, week): the median of decided_at - created_at, in hours (one decimal)."""
    spans: dict[tuple[str, date], list[float]] = {}
    for class_id, monday, created, decided in rows:
        spans.setdefault((class_id, monday), []).append((decided - created).total_seconds() / 3600)
    return {key: round(statistics.median(values), 1) for key, values in spans.items()}


def delivery_query(request: ReportRequest) -> Select[Any]:
    """Per kind, the outbox rows written in the period, by where they got to.

    The statuses are the dispatcher's outcomes; the receipts (Viber's; Telegram sends
    none, so its messages stop at sent) only split `sent`: it includes `delivered`, which
    includes `seen`, and `not_shown` (a `failed` receipt: the app refused to show the
    message, which is not sent again). `queued` counts those being sent right now too.
    """
    start, end = request.utc_bounds
    status = OutboxMessage.status
    seen = OutboxMessage.seen_at.is_not(None)
    delivered = or_(OutboxMessage.delivered_at.is_not(None), seen)
    not_shown = and_(OutboxMessage.receipt_error.is_not(None), ~delivered)
    query = (
        select(OutboxMessage.kind, func.count(),
               _count_if(status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING))),
               _count_if(status == OutboxStatus.SENT), _count_if(delivered), _count_if(seen),
               _count_if(not_shown), _count_if(status == OutboxStatus.RETRY),
               _count_if(status == OutboxStatus.BLOCKED), _count_if(status == OutboxStatus.DEAD))
        .where(OutboxMessage.created_at >= start, OutboxMessage.created_at < end)
        .group_by(OutboxMessage.kind)
    )
    if request.school_id:  # the school's chats first, then their rows by ix_outbox_account_id
        guardians = (select(GuardianStudent.guardian_id)
                     .join(Student, Student.id == GuardianStudent.student_id)
                     .where(Student.class_id.in_(_classes_of(request))))
        staff = select(Staff.id).where(Staff.school_id == request.school_id)
        chats = select(Account.id).where(or_(
            Account.id.in_(select(AccountGuardian.account_id).where(AccountGuardian.guardian_id.in_(guardians))),
            Account.staff_id.in_(staff)))
        query = query.where(OutboxMessage.account_id.in_(chats))
    return query


# ---------------------------------------------------------------- rows as shown


def _natural(text: str | None) -> tuple[Any, ...]:
    """"7-А" before "10-А": numbers inside names compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text or ""))


def _coverage_rows(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    shown = [(school, name, int(g), int(c), int(tg), int(vb), int(nl))
             for school, name, g, c, tg, vb, nl in rows]
    return sorted(shown, key=lambda r: (_natural(r[0]), _natural(r[1])))


def _diary_rows(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    shown = []
    for school, teacher_id, name, lessons, marked, topic, complete, reminded in rows:
        rate = round(100.0 * int(complete) / int(lessons), 1) if lessons else 0.0
        shown.append((school, name or f"#{teacher_id}", int(lessons), int(marked), int(topic), rate,
                      int(reminded)))
    return sorted(shown, key=lambda r: (_natural(r[0]), r[1]))


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _absences_rows(rows: Sequence[Any], hours: dict[tuple[str, date], float] | None = None
                   ) -> list[tuple[Any, ...]]:
    shown = []
    for school, name, monday, absent, excused, late, class_id, days, explained, accepted, declined in rows:
        year, week, _ = monday.isocalendar()
        days = int(days)
        shown.append((school, name, f"{year}-W{week:02d}", monday, int(absent), int(excused), int(late),
                      days, _share(int(explained), days), _share(int(accepted), days),
                      _share(int(declined), days), (hours or {}).get((class_id, monday))))
    return sorted(shown, key=lambda r: (_natural(r[0]), _natural(r[1]), r[3]))


def _delivery_rows(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    return sorted(((kind, *(int(n) for n in counts)) for kind, *counts in rows), key=lambda r: r[0])


QUERIES: dict[str, tuple[Callable[[ReportRequest], Select[Any]],
                         Callable[[Sequence[Any]], list[tuple[Any, ...]]]]] = {
    "coverage": (coverage_query, _coverage_rows),
    "diary": (diary_query, _diary_rows),
    "absences": (absences_query, _absences_rows),
    "delivery": (delivery_query, _delivery_rows),
}


async def kept_from(session: AsyncSession, request: ReportRequest) -> date | None:
    """The delivery report's first whole day that retention has not touched, when its
    period starts earlier (None otherwise, and for the other reports)."""
    if request.report != "delivery":
        return None
    purged_before = await retention.horizon(session, retention.OUTBOX)
    if purged_before is None:
        return None
    local = purged_before.astimezone(request.zone)
    first = local.date() if local.time() == time() else local.date() + timedelta(days=1)
    return first if first > request.start else None


async def run_report(session: AsyncSession, request: ReportRequest) -> ReportTable:
    query, shape = QUERIES[request.report]
    kept = await kept_from(session, request)
    rows: Sequence[Any] = []
    if kept is None or kept <= request.end:
        counted = request if kept is None else replace(request, start=kept)
        rows = (await session.execute(query(counted))).all()
        if request.report == "absences":
            hours = median_hours((await session.execute(decisions_query(counted))).all())
            return await _table(session, request, _absences_rows(rows, hours), kept)
    return await _table(session, request, shape(rows), kept)


async def _table(session: AsyncSession, request: ReportRequest, rows: list[tuple[Any, ...]],
                 kept: date | None) -> ReportTable:
    school_name = None
    if request.school_id:
        school_name = await session.scalar(select(School.name).where(School.id == request.school_id))
        if school_name is None:
            raise LookupError(f"no school with id {request.school_id!r}")
    return ReportTable(request, COLUMNS[request.report], rows, school_name, kept)
