"""Typed SQLAlchemy 2 models: the school's data, and what the bot itself keeps.

The school system's own ids (strings) are the primary keys of its records, so every
import and API write is an idempotent upsert by those ids. About a parent we hold only
a full name and a phone; both are nullable because erasure removes them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from school_bot.storage.outbox_status import OutboxStatus, Receipt, check_sql

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger autoincrement keys that SQLite still treats as ROWID aliases.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UTCDateTime()}
    if TYPE_CHECKING:
        __table__: ClassVar[Table]  # every model here is mapped to a table (DeclarativeBase says FromClause)


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_now_column(**kw: Any) -> Mapped[datetime]:
    """A creation/update time set by Python (the same clock on both databases)."""
    onupdate = kw.pop("onupdate", None)
    return mapped_column(UTCDateTime(), default=utc_now,
                         onupdate=utc_now if onupdate is not None else None, **kw)


# ---------------------------------------------------------------- school data


class School(Base):
    __tablename__ = "schools"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    launched: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Kyiv")
    launched_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = utc_now_column(onupdate=True)


class SchoolClass(Base):
    __tablename__ = "classes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    homeroom_teacher_id: Mapped[str | None] = mapped_column(String(64))
    school: Mapped[School] = relationship(lazy="raise")


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    role: Mapped[str] = mapped_column(String(16))  # teacher | director | admin | department
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None]


class Student(Base):
    __tablename__ = "students"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(255))
    school_class: Mapped[SchoolClass] = relationship(lazy="raise")


class Guardian(Base):
    __tablename__ = "guardians"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_date: Mapped[date | None] = mapped_column(Date)
    erased_at: Mapped[datetime | None]
    directory_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)


class GuardianStudent(Base):
    """One guardian-pupil pair (a row of guardians.csv)."""

    __tablename__ = "guardian_students"
    guardian_id: Mapped[str] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[str] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Lesson(Base):
    __tablename__ = "lessons"
    __table_args__ = (Index("ix_lessons_class_date", "class_id", "date"),
                      Index("ix_lessons_teacher_date", "teacher_id", "date"))
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id"))
    subject: Mapped[str] = mapped_column(String(128))
    teacher_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)
    number: Mapped[int | None] = mapped_column(Integer)
    topic: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None]


class Grade(Base):
    __tablename__ = "grades"
    # the value too: a class's averages are read from the index alone (migration 0012)
    __table_args__ = (Index("ix_grades_student_date_value", "student_id", "date", "value"),
                      Index("ix_grades_unnotified", "notified_at"))
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"))
    subject: Mapped[str] = mapped_column(String(128))
    date: Mapped[date] = mapped_column(Date)
    value: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(64))
    teacher_id: Mapped[str | None] = mapped_column(String(64))
    lesson_id: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = utc_now_column()
    notified_at: Mapped[datetime | None]


class GradeChange(Base):
    """A grade's value changed: the old value is kept, with when and by whom."""

    __tablename__ = "grade_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    grade_id: Mapped[str] = mapped_column(ForeignKey("grades.id"), index=True)
    old_value: Mapped[int] = mapped_column(Integer)
    new_value: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = utc_now_column()
    changed_by: Mapped[str] = mapped_column(String(128))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (Index("ix_attendance_alert_scan", "status", "alerted_at"),)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), primary_key=True)
    lesson_id: Mapped[str] = mapped_column(ForeignKey("lessons.id"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16))  # present | absent | late | excused
    updated_at: Mapped[datetime] = utc_now_column(onupdate=True)
    alerted_at: Mapped[datetime | None]


class Homework(Base):
    __tablename__ = "homework"
    __table_args__ = (Index("ix_homework_class_due", "class_id", "due_date"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.id"))
    subject: Mapped[str] = mapped_column(String(128))
    due_date: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    teacher_id: Mapped[str | None] = mapped_column(String(64))


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_school_starts", "school_id", "starts_at"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    class_id: Mapped[str | None] = mapped_column(ForeignKey("classes.id"))
    title: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime]
    description: Mapped[str | None] = mapped_column(Text)
    announced_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


# ---------------------------------------------------------------- the bot's own


class AccountGuardian(Base):
    """A chat speaks for this guardian row (one person may be several rows: two schools
    enter the same parent under their own ids, each with its own consent)."""

    __tablename__ = "account_guardians"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    guardian_id: Mapped[str] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True, index=True)
    linked_at: Mapped[datetime] = utc_now_column()


class Account(Base):
    """A messenger chat (the stored conversation reference) and what its user chose.

    It is linked to the guardian rows of `guardian_links` (read with the account: the
    answer path fills them from its one query, handlers/family.py) and/or to a staff row.
    """

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_accounts_platform_chat"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))  # telegram | viber | console
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    selected_student_id: Mapped[str | None] = mapped_column(String(64))
    notify_grades: Mapped[str] = mapped_column(String(8), default="off")  # off | instant | digest
    notify_homework: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_events: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_hours: Mapped[str | None] = mapped_column(String(16))  # None: the default; "" off
    # absence alerts are urgent and ignore quiet hours; off: they wait until the hours end
    absence_alerts_in_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=True,
                                                                server_default=true())
    # one evening reminder of an absence still unexplained the next school day
    absence_note_reminders: Mapped[bool] = mapped_column(Boolean, default=True,
                                                         server_default=true())
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failed_link_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_link_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = utc_now_column()
    linked_at: Mapped[datetime | None]
    guardian_links: Mapped[list[AccountGuardian]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True,
        order_by=AccountGuardian.guardian_id)
    guardian_ids: AssociationProxy[list[str]] = association_proxy(
        "guardian_links", "guardian_id", creator=lambda guardian_id: AccountGuardian(guardian_id=guardian_id))

    @property
    def linked(self) -> bool:
        return bool(self.guardian_links) or self.staff_id is not None


class ConsentRecord(Base):
    __tablename__ = "consent_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_kind: Mapped[str] = mapped_column(String(16))  # guardian | staff
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    consent: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = utc_now_column()


class InviteCode(Base):
    """A one-time invitation code of a guardian or of a staff member; only its hash is stored."""

    __tablename__ = "invite_codes"
    __table_args__ = (CheckConstraint(
        "(guardian_id IS NULL AND staff_id IS NOT NULL) OR (guardian_id IS NOT NULL AND staff_id IS NULL)",
        name="one_person"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    guardian_id: Mapped[str | None] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"),
                                                    index=True)
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = utc_now_column()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)


class Announcement(Base):
    """An announcement; its copies are outbox rows. Retention deletes old copies and adds
    their outcomes to the `purged_*` counts here, so its figures never change."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    author: Mapped[str] = mapped_column(String(128))
    school_id: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(32))  # school | grade | class | teachers | city
    audience_value: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = utc_now_column()
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    author_account_id: Mapped[int | None] = mapped_column(BigInteger)
    purged_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    purged_delivered: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    purged_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    purged_blocked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OutboxMessage(Base):
    """A notification, written before it is sent; the dedupe key makes a repeat a no-op.

    `status` is the dispatcher's outcome (storage/outbox_status.py); the messenger's
    receipts fill `delivered_at`, `seen_at` and `receipt_error` and nothing else.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
                      Index("ix_outbox_created_at", "created_at"),
                      CheckConstraint(check_sql("status", OutboxStatus), name="status"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=1)  # 0 urgent, 1 normal, 2 bulk
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = utc_now_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id"), index=True)
    platform_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = utc_now_column()
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    seen_at: Mapped[datetime | None]
    receipt_error: Mapped[str | None] = mapped_column(Text)  # a `failed` receipt: not shown


class AbsenceAlert(Base):
    """What one chat is told of a pupil's absences on one day, kept up to date.

    `message_id` is the first alert's outbox row, `latest_id` the last row written for
    it (the first alert, an edit of it or a follow-up); while that row waits in the
    queue it is rewritten instead of followed by another. `lessons` are the lesson ids
    the latest row lists as missed, `corrected` those it says the school corrected, and
    `told` those the parent has been shown as missed (by a row that went out, at
    `told_at`). The outbox rows may be purged: their links become NULL.
    """

    __tablename__ = "absence_alerts"
    __table_args__ = (UniqueConstraint("student_id", "day", "account_id",
                                       name="uq_absence_alerts_pupil_day_chat"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("outbox.id", ondelete="SET NULL"), index=True)
    latest_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("outbox.id", ondelete="SET NULL"), index=True)
    lessons: Mapped[list[str]] = mapped_column(JSON, default=list)
    corrected: Mapped[list[str]] = mapped_column(JSON, default=list)
    told: Mapped[list[str]] = mapped_column(JSON, default=list)
    told_at: Mapped[datetime | None]
    rows: Mapped[int] = mapped_column(Integer, default=0)  # outbox rows written: their keys' numbers
    # the one evening reminder that this day is still unexplained went out (or was decided
    # against): never a second
    reminded_at: Mapped[datetime | None]


class EarlyReceipt(Base):
    """A messenger's receipt that came before its send was recorded (no row carries the
    message token yet): applied when the send is recorded, purged if it never is."""

    __tablename__ = "early_receipts"
    __table_args__ = (CheckConstraint(check_sql("event", Receipt), name="event"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    message_token: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = utc_now_column(index=True)


class DeliveryPause(Base):
    """A messenger told the whole bot to wait (Telegram's 429 is per bot): kept across restarts."""

    __tablename__ = "delivery_pauses"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    paused_until: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(255))


class JobMark(Base):
    """A once-a-day notification job (homework, digest, summary) has run for a scope and day."""

    __tablename__ = "job_marks"
    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    done_at: Mapped[datetime] = utc_now_column()


class AuditEntry(Base):
    """Append-only, hash-chained record of a staff or system action."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    school_id: Mapped[str | None] = mapped_column(String(64), index=True)
    entity: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """One row holding the chain's last hash; locking it serialises appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    school_id: Mapped[str | None] = mapped_column(String(64))  # None: a department key
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = utc_now_column()
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class ProcessedCallback(Base):
    """Webhook deliveries already handled (Viber retries a callback for an hour)."""

    __tablename__ = "processed_callbacks"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime] = utc_now_column(index=True)


class LaunchWaiter(Base):
    """A chat that was turned away because its school had not launched yet."""

    __tablename__ = "launch_waiters"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = utc_now_column()
    notified_at: Mapped[datetime | None]


class DirectoryBlock(Base):
    """A guardian refuses relayed messages from another guardian."""

    __tablename__ = "directory_blocks"
    guardian_id: Mapped[str] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True)
    blocked_guardian_id: Mapped[str] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = utc_now_column()


class RelayMessage(Base):
    """A parent-to-parent message relayed by the bot; neither side sees the other's handle."""

    __tablename__ = "relay_messages"
    __table_args__ = (Index("ix_relay_messages_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    class_id: Mapped[str] = mapped_column(String(64))
    sender_guardian_id: Mapped[str] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"),
                                                    index=True)
    recipient_guardian_id: Mapped[str] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = utc_now_column()
    reported_at: Mapped[datetime | None]


class RetentionHorizon(Base):
    """How far retention has deleted a table: its final rows written before
    `purged_before` are gone (the delivery report counts from there)."""

    __tablename__ = "retention_horizons"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    purged_before: Mapped[datetime]


class Lease(Base):
    """A named lease (e.g. "dispatcher"): one holder at a time, renewed while it lives."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class AbsenceNote(Base):
    """A parent's explanation of a pupil's absence, and the school's decision on it.

    Written by a guardian's chat, after an absence alert or in advance, for the pupil's
    days `first_day`..`last_day` (school days in the school's time zone). `reason` is a
    key of the city's list (ABSENCE_REASONS); `note` the parent's own words (at most
    300 characters: no documents, no photos). `status` goes from `open` to `document`
    (the teacher asked the parent to bring a document to school; still undecided),
    `accepted` or `declined` (`decision_note` says why). `decided_by` is the staff id
    who decided, or `school_system` when the school's `excused` mark closed it.

    `seq` orders every change for the school system's reader
    (`GET /api/v1/absence-notes?after=`): each write takes the next value of the
    `absence_notes` counter, whose row lock orders the commits as the values.
    Personal data: deleted with the guardian's erasure and after retention.
    """

    __tablename__ = "absence_notes"
    __table_args__ = (Index("ix_absence_notes_student_days", "student_id", "first_day"),
                      Index("ix_absence_notes_school_seq", "school_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    class_id: Mapped[str] = mapped_column(String(64), index=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    guardian_id: Mapped[str] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"),
                                             index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    in_advance: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = utc_now_column()
    updated_at: Mapped[datetime] = utc_now_column()
    decided_at: Mapped[datetime | None]


class Counter(Base):
    """A named sequence whose next value is taken under the row's lock (storage/counters.py)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class CalendarFeed(Base):
    """A chat's secret calendar feed link (handlers/calendar_feed.py): only the SHA-256 of
    its token is kept; a new link replaces the row, turning the feed off deletes it, and
    the chat's deletion (erasure) takes it along."""

    __tablename__ = "calendar_feeds"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = utc_now_column()


class WebLink(Base):
    """A one-time link into the web diary (Viber and the console, which have no Mini
    Apps): only the SHA-256 of its token is kept; it opens once, before `expires_at`."""

    __tablename__ = "web_links"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = utc_now_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
