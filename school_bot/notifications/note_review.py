"""A parent's new explanation of an absence goes to whoever decides it.

The class's homeroom teacher (`classes.homeroom_teacher_id`) gets it in each of their
linked, active chats; when they have none (or the class has no homeroom teacher), the
school's directors and admins with linked chats get it instead. Each copy is one
outbox row (kind `absence_note`, deduplicated per note and chat), in the recipient's
language, with the pupil's full name (staff may see it), class, days, reason and the
parent's words, and three buttons whose payloads the reviewers' side answers:
`xt:a:<note id>` accept, `xt:d:<note id>` ask for a document brought to school,
`xt:n:<note id>` decline.

`note_lines` and `decision_buttons` are the note as every reviewer sees it, in this
message and in /explanations (handlers/absence_review.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.note_decisions import days_text, reason_label
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.notifications.recipients import Recipient, staff_accounts
from school_bot.shared.absence_reasons import DEFAULT, Reason, parse_reasons
from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import normalize_locale, t
from school_bot.storage.absence_notes import UNDECIDED, NoteStatus
from school_bot.storage.models import AbsenceNote, SchoolClass, Staff, Student

DOMAIN = "notifications"
KIND = "absence_note"
REVIEW_PREFIX = "xt:"  # the reviewers' side owns these payloads
ADMINISTRATION = ("director", "admin")


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain=DOMAIN, **params)


def review_payload(action: str, note_id: int) -> str:
    """`a` accept, `d` ask for a document, `n` decline."""
    return f"{REVIEW_PREFIX}{action}:{note_id}"


class Audience(StrEnum):
    HOMEROOM = "homeroom"              # the class's homeroom teacher
    ADMINISTRATION = "administration"  # the school's directors and admins
    NOBODY = "nobody"                  # no one of the school has a linked chat


@dataclass(frozen=True)
class Told:
    audience: Audience
    rows: int  # outbox rows written


def note_lines(locale: str, note: AbsenceNote, *, pupil: str, class_name: str,
               reasons: Sequence[Reason] = ()) -> list[str]:
    """The note as a reviewer reads it, wherever it is shown (the message that brings it,
    /explanations): who reports, the pupil, class, days, reason and the parent's words."""
    head = (_t(locale, "📝 A parent reports an absence in advance")
            if note.in_advance else _t(locale, "📝 A parent explains an absence"))
    lines = [head,
             _t(locale, "Pupil: {pupil}, {class_name}", pupil=pupil, class_name=class_name),
             _t(locale, "Days: {days}", days=days_text(locale, note.first_day, note.last_day)),
             _t(locale, "Reason: {reason}", reason=reason_label(locale, note.reason, reasons))]
    if note.note:
        lines.append(_t(locale, "The parent writes: {note}", note=note.note))
    return lines


def decision_buttons(locale: str, note: AbsenceNote) -> list[list[Button]]:
    """The buttons an undecided note carries (one waiting for its document: two)."""
    if note.status not in UNDECIDED:
        return []
    accept = Button(_t(locale, "✅ Accept"), review_payload("a", note.id))
    decline = Button(_t(locale, "❌ Decline"), review_payload("n", note.id))
    if note.status == NoteStatus.DOCUMENT.value:
        return [[accept, decline]]
    document = Button(_t(locale, "📄 Ask for a document"), review_payload("d", note.id))
    return [[accept], [document, decline]]


def review_message(locale: str, note: AbsenceNote, *, pupil: str, class_name: str,
                   reasons: Sequence[Reason] = ()) -> Reply:
    return Reply(text="\n".join(note_lines(locale, note, pupil=pupil, class_name=class_name,
                                           reasons=reasons)),
                 buttons=decision_buttons(locale, note))


async def reviewers(session: AsyncSession, school_id: str, class_id: str
                    ) -> tuple[Audience, list[Recipient]]:
    """Who decides the class's notes: the homeroom teacher's chats, else the school's
    directors' and admins' chats, else nobody."""
    homeroom = await session.scalar(
        select(SchoolClass.homeroom_teacher_id).where(SchoolClass.id == class_id))
    if homeroom:
        teacher = await session.scalar(
            select(Staff.id).where(Staff.id == homeroom, Staff.school_id == school_id))
        chats = (await staff_accounts(session, [teacher])).get(teacher, []) if teacher else []
        if chats:
            return Audience.HOMEROOM, chats
    heads = (await session.scalars(
        select(Staff.id).where(Staff.school_id == school_id, Staff.role.in_(ADMINISTRATION))
        .order_by(Staff.id))).all()
    found = await staff_accounts(session, heads)
    chats = sorted({c.account_id: c for people in found.values() for c in people}.values(),
                   key=lambda c: c.account_id)
    return (Audience.ADMINISTRATION, chats) if chats else (Audience.NOBODY, [])


async def tell_reviewers(session: AsyncSession, note: AbsenceNote, *, now: datetime,
                         default_locale: str = "uk", reasons: Sequence[Reason] | None = None
                         ) -> Told:
    """Queue the note for its reviewers, in the caller's unit of work."""
    audience, chats = await reviewers(session, note.school_id, note.class_id)
    if not chats:
        return Told(Audience.NOBODY, 0)
    row = (await session.execute(
        select(Student.full_name, SchoolClass.name)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(Student.id == note.student_id))).one_or_none()
    pupil, class_name = (row.full_name, row.name) if row is not None else ("—", "—")
    listed = parse_reasons(DEFAULT) if reasons is None else reasons
    items = [Notification(chat.account_id, KIND, Priority.NORMAL,
                          f"{KIND}:{note.id}:{chat.account_id}",
                          review_message(normalize_locale(chat.language, default_locale), note,
                                         pupil=pupil, class_name=class_name, reasons=listed))
             for chat in chats]
    return Told(audience, await enqueue_many(session, items, now=now))
