"""One chat's alert of a pupil's day (an `AbsenceAlert` row), kept true to the marks.

The alert is brought up to date from all the day's marks, whatever changed: the first
absence makes the alert (at once); a later absence or a correction by the school (an
alerted absence turned present, late or excused) changes it:

- while the alert's latest outbox row still waits in the queue, that row is rewritten
  (the parent gets one message with everything), or withdrawn when nothing is left to
  say (an absence corrected before anyone was told);
- once it went out, on a platform whose messages can be edited (Telegram) a new row
  edits the message to list every lesson missed and every mark corrected since the
  parent was told; elsewhere (Viber) a follow-up says what changed since: lessons
  missed since (at most once per `absence_followup_window` after the previous message)
  and marks corrected (at once: a wrong alert does not stand). A mark corrected to
  excused on a day the parent's accepted explanation covers is no follow-up of its
  own: the parent is told that the explanation was accepted (jobs/note_closure.py).

While an absence is left that day, each of these messages carries the "Explain" button
(`texts.explain_button`, naming the alert's row: handlers/absence_explain.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications import texts
from school_bot.notifications.outbox import DUE, Notification, OutboxStatus, Priority, enqueue_row, payload_of
from school_bot.shared.delivery import EDIT_OF
from school_bot.shared.events import Reply
from school_bot.storage.models import AbsenceAlert, OutboxMessage

ABSENT = "absent"
TOLD = (OutboxStatus.SENDING, OutboxStatus.SENT)  # a row that went out (or is going)


@dataclass(frozen=True)
class PupilDay:
    student_id: str
    day: date
    pupil: str   # the given name
    today: date  # in the school's time zone
    explained: bool = False  # an accepted note of the parent's covers the day


@dataclass(frozen=True)
class Mark:
    lesson_id: str
    subject: str
    number: int | None
    status: str


@dataclass(frozen=True)
class Chat:
    locale: str
    editable: bool  # the platform edits a message sent (else: follow-ups)


@dataclass(frozen=True)
class Latest:
    """The alert's latest outbox row, as far as it matters here."""

    id: int
    status: str
    sent_at: datetime | None
    payload: dict[str, Any]
    next_attempt_at: datetime


@dataclass(frozen=True)
class Change:
    """What an alert is to say now: the lessons listed as missed, the marks listed as
    corrected, and the message (None: nothing to say; a waiting row is withdrawn)."""

    lessons: list[str]
    corrected: list[str]
    reply: Reply | None = None
    at_once: bool = True


async def bring_up_to_date(session: AsyncSession, alert: AbsenceAlert, chat: Chat, day: PupilDay,
                           marks: list[Mark], latest: Latest | None, *, now: datetime,
                           window: timedelta) -> int:
    """Rewrite, withdraw or follow the alert's latest row; returns outbox rows written."""
    if latest is not None and latest.status in TOLD:
        alert.told, alert.told_at = list(alert.lessons), latest.sent_at or now
    waiting = latest is not None and latest.status in DUE
    if chat.editable:
        change = _as_edit(alert, chat, day, marks)
    else:
        first = alert.message_id is None or (waiting and alert.latest_id == alert.message_id)
        change = _as_followup(alert, chat, day, marks, first=first)
    if change is None:
        return 0
    if change.reply is None:
        alert.lessons, alert.corrected = change.lessons, change.corrected
        if waiting:
            await _withdraw(session, alert)
        return 0
    if latest is not None and waiting:
        await _rewrite(session, latest, change, now)
        alert.lessons, alert.corrected = change.lessons, change.corrected
        return 1
    return await _follow(session, alert, chat, change, now, window)


def _as_edit(alert: AbsenceAlert, chat: Chat, day: PupilDay, marks: list[Mark]) -> Change | None:
    """The whole alert as it stands: every lesson missed, and the marks corrected since
    the parent was told of them (None: as it is)."""
    absent = [m for m in marks if m.status == ABSENT]
    gone = (set(alert.corrected) | set(alert.told)) - {m.lesson_id for m in absent}
    corrected = [m for m in marks if m.lesson_id in gone]
    change = Change(_ids(absent), _ids(corrected))
    if change.lessons == alert.lessons and change.corrected == alert.corrected:
        return None
    if not absent and not corrected:
        return change
    return Change(change.lessons, change.corrected, _explainable(texts.absence_alert(
        chat.locale, pupil=day.pupil, day=day.day, today=day.today,
        absent=_lessons(absent), corrected=_corrections(corrected)), alert, chat, absent))


def _as_followup(alert: AbsenceAlert, chat: Chat, day: PupilDay, marks: list[Mark], *,
                 first: bool) -> Change | None:
    """The first alert (while it waits: every lesson missed), or what changed since the
    parent was told: lessons missed since, marks corrected since (None: nothing did)."""
    absent = [m for m in marks if m.status == ABSENT]
    told = set(alert.told)
    missed = [m for m in absent if m.lesson_id not in told]
    corrected = [m for m in marks if m.lesson_id in told and m.status != ABSENT]
    change = Change(_ids(absent), _ids(corrected))
    if change.lessons == alert.lessons and change.corrected == alert.corrected:
        return None
    if first:
        reply = _explainable(texts.absence(chat.locale, pupil=day.pupil, day=day.day,
                                           today=day.today, lessons=_lessons(absent)),
                             alert, chat, absent) if absent else None
        return Change(change.lessons, [], reply)
    if not missed and not corrected:
        return change
    if not missed and day.explained and all(m.status == "excused" for m in corrected):
        return change  # the parent is told that the explanation was accepted: enough
    return Change(change.lessons, change.corrected, _explainable(texts.absence_followup(
        chat.locale, pupil=day.pupil, day=day.day, today=day.today, missed=_lessons(missed),
        corrected=_corrections(corrected), none_left=not absent), alert, chat, absent),
        at_once=bool(corrected))


def _explainable(reply: Reply, alert: AbsenceAlert, chat: Chat, absent: list[Mark]) -> Reply:
    """While an absence is left that day, the message carries the "Explain" button
    (an edit keeps it; a message saying no absence is left has none)."""
    if absent:
        reply.buttons = [[texts.explain_button(chat.locale, alert.id)]]
    return reply


async def _withdraw(session: AsyncSession, alert: AbsenceAlert) -> None:
    """The waiting row has nothing left to say: it goes, and the alert is what the
    parent knows."""
    await session.execute(delete(OutboxMessage).where(OutboxMessage.id == alert.latest_id))
    if alert.latest_id == alert.message_id:
        alert.message_id = None
    alert.latest_id = None
    alert.lessons = list(alert.told)


async def _rewrite(session: AsyncSession, latest: Latest, change: Change, now: datetime) -> None:
    """The waiting row says the new thing instead (an edit still edits the same message);
    a correction does not wait for the row's window."""
    assert change.reply is not None
    values: dict[str, Any] = {"payload": payload_of(change.reply, latest.payload.get(EDIT_OF))}
    if change.at_once and latest.next_attempt_at > now:
        values["next_attempt_at"] = now
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == latest.id).values(**values))


async def _follow(session: AsyncSession, alert: AbsenceAlert, chat: Chat, change: Change,
                  now: datetime, window: timedelta) -> int:
    """A new row: the first alert, an edit of the message shown last, or a follow-up
    (not before `window` after the previous message, unless it corrects)."""
    assert change.reply is not None
    edit_of: int | None = None
    if alert.message_id is None:
        kind, due = "absence", now
    elif chat.editable:
        kind, edit_of, due = "absence_update", alert.latest_id or alert.message_id, now
    else:
        later = (alert.told_at or now) + window
        kind, due = "absence_followup", now if change.at_once else max(now, later)
    alert.rows += 1
    key = f"absence:{alert.student_id}:{alert.day.isoformat()}:{alert.account_id}:{alert.rows}"
    row_id = await enqueue_row(session, Notification(
        alert.account_id, kind, Priority.URGENT, key, change.reply, not_before=due,
        edit_of=edit_of), now=now)
    if row_id is None:  # the chat is no longer active
        return 0
    if alert.message_id is None:
        alert.message_id = row_id
    alert.latest_id = row_id
    alert.lessons, alert.corrected = change.lessons, change.corrected
    return 1


def _ids(marks: list[Mark]) -> list[str]:
    return [m.lesson_id for m in marks]


def _lessons(marks: list[Mark]) -> list[texts.Lesson]:
    return [(m.subject, m.number) for m in marks]


def _corrections(marks: list[Mark]) -> list[texts.Corrected]:
    return [(m.subject, m.number, m.status) for m in marks]
