"""The parent is told of the school's decision on an absence note (`AbsenceNote`).

`tell_parent` writes one outbox row per chat, in the chat's language, for the note's
current status: accepted, declined (with the teacher's reason), or "a document is
needed" (brought to the school: the bot never takes or keeps documents or photos).
The chat that wrote the note is told while it is active and still speaks for the
note's guardian; otherwise the guardian's other linked chats are. A guardian who has
withdrawn consent, been erased, or is no longer the pupil's guardian is told nothing.
Each (note, status, chat) is written once (the outbox's dedupe key), so a handler and a
job may both call it.

`reason_label` and `days_text` are the words a note is shown with, to parents and staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.jobs.common import first_name
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.shared.absence_reasons import Reason
from school_bot.shared.events import Reply
from school_bot.shared.i18n import (
    DEFAULT_LOCALE,
    N_,
    SUPPORTED_LOCALES,
    format_date,
    normalize_locale,
    t,
)
from school_bot.storage.absence_notes import SCHOOL_SYSTEM, NoteStatus
from school_bot.storage.models import (
    AbsenceNote,
    Account,
    AccountGuardian,
    Guardian,
    GuardianStudent,
    Student,
)

DOMAIN = "notifications"
KIND = "absence_note_decision"

REASONS = {
    "illness": N_("Illness"),
    "medical": N_("Medical appointment"),
    "family": N_("Family circumstances"),
    "other": N_("Other"),
}
# a reviewer's one-tap reasons for declining; stored in the school's language, shown to
# the parent in theirs
QUICK_REASONS = {
    "doc": N_("No document was brought to the school"),
    "days": N_("The days do not match the school's records"),
}


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain=DOMAIN, **params)


def reason_label(locale: str, key: str, reasons: Sequence[Reason] = ()) -> str:
    """The reason's words in `locale`: the city's own label (ABSENCE_REASONS), else the
    built-in translation, else the key itself."""
    own = next((r.label(locale) for r in reasons if r.key == key), None)
    if own:
        return own
    msgid = REASONS.get(key)
    return _t(locale, msgid) if msgid is not None else key


def quick_reason(locale: str, key: str) -> str:
    return _t(locale, QUICK_REASONS[key])


def _decline_reason(locale: str, stored: str) -> str:
    """The reason as the parent reads it: a quick reason in their language (it was
    stored in the school's), a typed one as the teacher wrote it."""
    for msgid in QUICK_REASONS.values():
        if stored in {_t(other, msgid) for other in SUPPORTED_LOCALES}:
            return _t(locale, msgid)
    return stored


def days_text(locale: str, first_day: date, last_day: date) -> str:
    """"12 березня" or "12 березня – 14 березня"."""
    if first_day == last_day:
        return format_date(first_day, locale)
    return f"{format_date(first_day, locale)} – {format_date(last_day, locale)}"


def decision_text(locale: str, note: AbsenceNote, pupil: str) -> str | None:
    """What the parent is told of the note's status now (None: nothing, it is open)."""
    days = days_text(locale, note.first_day, note.last_day)
    if note.status == NoteStatus.ACCEPTED.value and note.decided_by == SCHOOL_SYSTEM:
        return _t(locale, "✅ The school marked the absence excused: your explanation is "
                          "accepted\n{pupil}, {days}", pupil=pupil, days=days)
    if note.status == NoteStatus.ACCEPTED.value:
        return _t(locale, "✅ The homeroom teacher accepted your explanation\n{pupil}, {days}",
                  pupil=pupil, days=days)
    if note.status == NoteStatus.DOCUMENT.value:
        return _t(locale, "📄 The homeroom teacher asks for a document\n{pupil}, {days}\n"
                          "Please bring the document (for example, a doctor's certificate) to "
                          "the school. The bot does not take or keep documents or photos: "
                          "do not send them here.", pupil=pupil, days=days)
    if note.status == NoteStatus.DECLINED.value:
        text = _t(locale, "❌ The homeroom teacher declined your explanation\n{pupil}, {days}",
                  pupil=pupil, days=days)
        if note.decision_note:
            text += "\n" + _t(locale, "The teacher's reason: {reason}",
                              reason=_decline_reason(locale, note.decision_note))
        return text
    return None


async def _chats(session: AsyncSession, note: AbsenceNote) -> list[tuple[int, str | None]]:
    """(account id, language) of the chats to tell: the note's own chat if it still
    speaks for the guardian, else the guardian's linked active chats."""
    guardian = await session.scalar(
        select(Guardian.id).join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .where(Guardian.id == note.guardian_id, GuardianStudent.student_id == note.student_id,
               Guardian.consent.is_(True), Guardian.erased_at.is_(None)))
    if guardian is None:
        return []
    linked = (select(Account.id, Account.language)
              .join(AccountGuardian, AccountGuardian.account_id == Account.id)
              .where(AccountGuardian.guardian_id == note.guardian_id, Account.active.is_(True)))
    if note.account_id is not None:
        own = (await session.execute(linked.where(Account.id == note.account_id))).first()
        if own is not None:
            return [(own.id, own.language)]
    return [(row.id, row.language) for row in await session.execute(linked.order_by(Account.id))]


async def tell_parent(session: AsyncSession, note: AbsenceNote, *, now: datetime,
                      default_locale: str = DEFAULT_LOCALE) -> int:
    """Queue the message of the note's current status to the parent's chat(s), in the
    caller's unit of work; returns the rows written (0: nothing to say, or said before)."""
    if note.status == NoteStatus.OPEN.value:
        return 0
    full_name = await session.scalar(select(Student.full_name).where(Student.id == note.student_id))
    if full_name is None:
        return 0
    pupil = first_name(full_name)
    items = []
    for account_id, language in await _chats(session, note):
        locale = normalize_locale(language or default_locale)
        text = decision_text(locale, note, pupil)
        if text is None:
            continue
        items.append(Notification(account_id, KIND, Priority.NORMAL,
                                  f"note:{note.id}:{note.status}:{account_id}", Reply(text=text)))
    return await enqueue_many(session, items, now=now)
