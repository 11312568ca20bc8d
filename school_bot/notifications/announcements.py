"""Announcements: who may announce to whom, and writing one outbox row per recipient.

The rule (one copy, used by the bot's /announce and by the CLI):

* a teacher: only to a class they teach (a lesson of theirs) or are the homeroom
  teacher of; never urgent;
* a director or school admin: their own school - the whole school, a grade level, a
  class or its teachers; only a director may mark it urgent;
* the education department (and the server's operator, on the command line): any
  school, any of its audiences, or the whole city; urgent allowed.

Recipients are the active chats of consenting guardians of the audience's pupils
("teachers": of the school's staff) in launched schools only. Each recipient's copy is
rendered in their language; urgent ones are priority 0 (they ignore quiet hours),
the others priority 2 (bulk, behind every alert).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications import texts
from school_bot.notifications.outbox import FINAL, Notification, OutboxStatus, Priority, enqueue_many
from school_bot.storage.audit import record
from school_bot.storage.models import (
    Account,
    AccountGuardian,
    Announcement,
    Guardian,
    GuardianStudent,
    Lesson,
    OutboxMessage,
    School,
    SchoolClass,
    Staff,
    Student,
)

AUDIENCES = ("school", "grade", "class", "teachers", "city")
SCHOOL_ROLES = ("director", "admin")
CITY_ROLES = ("department", "operator")
URGENT_ROLES = ("director", "department", "operator")
MAX_TEXT = 3500  # leaves room for the header under Telegram's 4,096
_GRADE = re.compile(r"^\s*(\d{1,2})")


class NotAllowed(Exception):
    """The author may not make this announcement; `reason` is a message id to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Author:
    """Who announces: a linked staff member, or the operator at the server's console."""

    actor: str                  # the audit log's actor: "staff:<id>" or "cli:<name>"
    role: str                   # teacher | director | admin | department | operator
    school_id: str | None
    staff_id: str | None = None
    account_id: int | None = None


def operator(name: str) -> Author:
    """The server's operator (`run_bot.py announce`): department-level rights."""
    return Author(actor=f"cli:{name}"[:128], role="operator", school_id=None)


async def staff_author(session: AsyncSession, staff_id: str, account_id: int | None = None
                       ) -> Author | None:
    """The author behind a linked staff chat (None: unknown, erased or no consent)."""
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.consent or staff.erased_at is not None:
        return None
    return Author(actor=f"staff:{staff.id}", role=staff.role, school_id=staff.school_id,
                  staff_id=staff.id, account_id=account_id)


def grade_of(class_name: str) -> int | None:
    """The grade level of a class name: "7-А" → 7, "11Б" → 11."""
    match = _GRADE.match(class_name)
    return int(match.group(1)) if match else None


async def teacher_class_ids(session: AsyncSession, staff_id: str) -> set[str]:
    taught = select(Lesson.class_id).where(Lesson.teacher_id == staff_id).distinct()
    homeroom = select(SchoolClass.id).where(SchoolClass.homeroom_teacher_id == staff_id)
    return set((await session.scalars(taught)).all()) | set((await session.scalars(homeroom)).all())


# ---------------------------------------------------------------- the rule


async def authorize(
    session: AsyncSession, author: Author, *, school_id: str | None, audience: str,
    audience_value: str | None, urgent: bool,
) -> None:
    """Raise NotAllowed unless `author` may make this announcement (and it makes sense)."""
    if audience not in AUDIENCES:
        raise NotAllowed("announce.error.audience")
    if urgent and author.role not in URGENT_ROLES:
        raise NotAllowed("announce.error.urgent")
    if audience == "city":
        if author.role not in CITY_ROLES:
            raise NotAllowed("announce.error.forbidden")
        return
    school = await session.get(School, school_id) if school_id else None
    if school is None:
        raise NotAllowed("announce.error.school")
    if not school.launched:
        raise NotAllowed("announce.error.not_launched")
    if author.role not in CITY_ROLES and author.school_id != school_id:
        raise NotAllowed("announce.error.forbidden")
    if audience == "grade" and (not audience_value or not audience_value.isdigit()):
        raise NotAllowed("announce.error.grade")
    if audience == "class":
        school_class = await session.get(SchoolClass, audience_value) if audience_value else None
        if school_class is None or school_class.school_id != school_id:
            raise NotAllowed("announce.error.class")
    if author.role == "teacher":
        if audience != "class" or author.staff_id is None:
            raise NotAllowed("announce.error.forbidden")
        if audience_value not in await teacher_class_ids(session, author.staff_id):
            raise NotAllowed("announce.error.forbidden")
    elif author.role not in SCHOOL_ROLES + CITY_ROLES:
        raise NotAllowed("announce.error.forbidden")


@dataclass(frozen=True)
class Choice:
    """An audience the author may pick (what the bot offers as buttons)."""

    audience: str
    value: str | None
    label: str          # a class name, a grade number, a school's name; "" otherwise
    school_id: str | None = None


async def audience_choices(session: AsyncSession, author: Author) -> list[Choice]:
    """What `author` may announce to, within their school (the department: the city)."""
    if author.role in CITY_ROLES:
        schools = (await session.execute(
            select(School.id, School.name).where(School.launched.is_(True)).order_by(School.name)
        )).all()
        return [Choice("city", None, "")] + [Choice("school", None, s.name, s.id) for s in schools]
    if author.school_id is None:
        return []
    school_id = author.school_id
    classes = (await session.execute(
        select(SchoolClass.id, SchoolClass.name).where(SchoolClass.school_id == author.school_id)
        .order_by(SchoolClass.name))).all()
    if author.role == "teacher" and author.staff_id is not None:
        mine = await teacher_class_ids(session, author.staff_id)
        return [Choice("class", c.id, c.name, school_id) for c in classes if c.id in mine]
    if author.role not in SCHOOL_ROLES:
        return []
    grades = sorted({g for c in classes if (g := grade_of(c.name)) is not None})
    return ([Choice("school", None, "", school_id), Choice("teachers", None, "", school_id)]
            + [Choice("grade", str(g), str(g), school_id) for g in grades]
            + [Choice("class", c.id, c.name, school_id) for c in classes])


# ---------------------------------------------------------------- recipients


async def recipients(
    session: AsyncSession, *, school_id: str | None, audience: str, audience_value: str | None,
) -> list[tuple[int, str | None]]:
    """(account id, language) of every chat the announcement goes to, each once."""
    if audience == "teachers":
        query = (select(Account.id, Account.language)
                 .join(Staff, Staff.id == Account.staff_id)
                 .join(School, School.id == Staff.school_id)
                 .where(Staff.school_id == school_id, Staff.consent.is_(True),
                        Staff.erased_at.is_(None)))
    else:
        query = (select(Account.id, Account.language)
                 .join(AccountGuardian, AccountGuardian.account_id == Account.id)
                 .join(Guardian, Guardian.id == AccountGuardian.guardian_id)
                 .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
                 .join(Student, Student.id == GuardianStudent.student_id)
                 .join(SchoolClass, SchoolClass.id == Student.class_id)
                 .join(School, School.id == SchoolClass.school_id)
                 .where(Guardian.consent.is_(True), Guardian.erased_at.is_(None)))
        if audience != "city":
            query = query.where(SchoolClass.school_id == school_id)
        if audience == "class":
            query = query.where(SchoolClass.id == audience_value)
        elif audience == "grade":
            class_ids = [c.id for c in (await session.execute(
                select(SchoolClass.id, SchoolClass.name).where(SchoolClass.school_id == school_id)
            )).all() if str(grade_of(c.name)) == audience_value]
            query = query.where(SchoolClass.id.in_(class_ids))
    query = query.where(Account.active.is_(True), School.launched.is_(True)).distinct()
    return [(r.id, r.language) for r in (await session.execute(query.order_by(Account.id))).all()]


# ---------------------------------------------------------------- writing


async def create_announcement(
    session: AsyncSession, *, author: Author, school_id: str | None, audience: str,
    audience_value: str | None, text: str, urgent: bool, default_locale: str = "uk",
) -> Announcement:
    """Check the rule, store the announcement and one outbox row per recipient; audited.

    Runs in the caller's unit of work: the announcement, its rows and the audit entry
    are committed together or not at all.
    """
    text = text.strip()
    if not text:
        raise NotAllowed("announce.error.empty")
    if len(text) > MAX_TEXT:
        raise NotAllowed("announce.error.too_long")
    if audience == "city":
        school_id, audience_value = None, None
    elif audience in ("school", "teachers"):
        audience_value = None
    await authorize(session, author, school_id=school_id, audience=audience,
                    audience_value=audience_value, urgent=urgent)
    school = await session.get(School, school_id) if school_id else None  # authorized: it exists
    school_name = school.name if school is not None else None
    announcement = Announcement(author=author.actor, school_id=school_id, audience=audience,
                                audience_value=audience_value, text=text, urgent=urgent,
                                author_account_id=author.account_id)
    session.add(announcement)
    await session.flush()
    chats = await recipients(session, school_id=school_id, audience=audience,
                             audience_value=audience_value)
    replies = {}
    items = []
    for account_id, language in chats:
        locale = language or default_locale
        if locale not in replies:
            replies[locale] = texts.announcement(locale, school=school_name, text=text, urgent=urgent)
        items.append(Notification(account_id, "announcement",
                                  Priority.URGENT if urgent else Priority.BULK,
                                  f"ann:{announcement.id}:{account_id}", replies[locale],
                                  announcement_id=announcement.id))
    announcement.recipients = await enqueue_many(session, items)
    await record(session, actor=author.actor, action="announcement.created", school_id=school_id,
                 entity="announcement", entity_id=str(announcement.id),
                 details={"audience": audience, "audience_value": audience_value,
                          "urgent": urgent, "recipients": announcement.recipients, "text": text})
    return announcement


# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    delivered: int
    failed: int
    blocked: int
    waiting: int

    @property
    def done(self) -> bool:
        return self.waiting == 0

    @property
    def finished(self) -> int:
        return self.total - self.waiting


async def progress(session: AsyncSession, announcement_id: int) -> Progress:
    """Its copies by outcome: those in the outbox, and those retention deleted (counted
    on the announcement as they went: storage/retention.py)."""
    rows = (await session.execute(
        select(OutboxMessage.status, func.count(), func.count(OutboxMessage.delivered_at))
        .where(OutboxMessage.announcement_id == announcement_id)
        .group_by(OutboxMessage.status))).all()
    counts = Counter({status: n for status, n, _ in rows})
    delivered = sum(d for _, _, d in rows)
    waiting = sum(counts.values()) - sum(counts[s] for s in FINAL)
    purged = (await session.execute(
        select(Announcement.purged_sent, Announcement.purged_delivered, Announcement.purged_failed,
               Announcement.purged_blocked).where(Announcement.id == announcement_id))).first()
    sent, delivered_before, failed, blocked = purged if purged is not None else (0, 0, 0, 0)
    sent += counts[OutboxStatus.SENT]
    failed += counts[OutboxStatus.DEAD]
    blocked += counts[OutboxStatus.BLOCKED]
    return Progress(total=sent + failed + blocked + waiting, sent=sent,
                    delivered=delivered + delivered_before, failed=failed, blocked=blocked,
                    waiting=waiting)


async def finished_reports(session: AsyncSession, *, now: datetime, default_locale: str,
                           within: timedelta = timedelta(days=3)) -> list[Notification]:
    """Final reports due to bot authors: announcements whose rows are all done, once each."""
    reported = select(OutboxMessage.id).where(
        OutboxMessage.dedupe_key == literal("ann-report:").concat(cast(Announcement.id, String)))
    candidates = (await session.execute(
        select(Announcement.id, Announcement.author_account_id, Account.language)
        .join(Account, Account.id == Announcement.author_account_id)
        .where(Announcement.created_at >= now - within, ~reported.exists())
        .order_by(Announcement.id))).all()
    items = []
    for announcement_id, account_id, language in candidates:
        state = await progress(session, announcement_id)
        if not state.done:
            continue
        reply = texts.announcement_report(language or default_locale, announcement_id, state)
        items.append(Notification(account_id, "announcement_report", Priority.NORMAL,
                                  f"ann-report:{announcement_id}", reply))
    return items
