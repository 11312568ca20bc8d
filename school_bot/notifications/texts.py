"""Every notification's text, rendered in the recipient's language (the `notifications`
catalogue, uk first, en second) when its outbox row is written.

Texts are plain (the Telegram adapter escapes them for HTML; Viber shows them as is).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import format_date, t, tn

if TYPE_CHECKING:
    from school_bot.notifications.announcements import Progress
    from school_bot.notifications.jobs.teachers import TeacherGaps

DOMAIN = "notifications"


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain=DOMAIN, **params)


def _tn(locale: str, singular: str, plural: str, n: int, **params: Any) -> str:
    return tn(locale, singular, plural, n, domain=DOMAIN, **params)


def _hm(moment: time | datetime) -> str:
    return f"{moment:%H:%M}"


def day_words(locale: str, day: date, today: date) -> str:
    """"today", "yesterday", "tomorrow" or the date, in the recipient's language."""
    delta = (day - today).days
    if delta == 0:
        return _t(locale, "today")
    if delta == -1:
        return _t(locale, "yesterday")
    if delta == 1:
        return _t(locale, "tomorrow")
    return format_date(day, locale)


# ---------------------------------------------------------------- parents


Lesson = tuple[str, int | None]  # subject, number in the day
Corrected = tuple[str, int | None, str]  # subject, number, the mark it has now


def _lesson(subject: str, number: int | None) -> str:
    return f"{subject} ({number})" if number is not None else subject


def _mark_words(locale: str, status: str) -> str:
    words = {"present": _t(locale, "present"), "late": _t(locale, "late"),
             "excused": _t(locale, "excused")}
    return words.get(status, status)


EXPLAIN_PREFIX = "xp:"  # the parent's explanation flow (handlers) owns these payloads


def explain_payload(alert_id: int) -> str:
    """The "Explain" button of an absence alert or reminder: the `AbsenceAlert` row's id
    (the flow checks that the row is the pressing chat's own and its pupil still theirs)."""
    return f"{EXPLAIN_PREFIX}a:{alert_id}"


def explain_button(locale: str, alert_id: int) -> Button:
    return Button(_t(locale, "Explain"), explain_payload(alert_id))


# ---- absence notes: the school's excused mark closed one; the evening reminder


def note_reminder(locale: str, *, pupil: str, day: date, today: date, alert_id: int) -> Reply:
    return Reply(text=_t(locale, "📝 {pupil}'s absence {day} has not been explained yet. If you "
                                 "know the reason, press “Explain”: the homeroom teacher gets it.",
                         pupil=pupil, day=day_words(locale, day, today)),
                 buttons=[[explain_button(locale, alert_id)]])


def absence(locale: str, *, pupil: str, day: date, today: date,
            lessons: Sequence[Lesson]) -> Reply:
    listed = ", ".join(_lesson(subject, number) for subject, number in lessons)
    text = _tn(locale, "⚠️ {pupil} was absent from {n} lesson {day}: {lessons}",
               "⚠️ {pupil} was absent from {n} lessons {day}: {lessons}", len(lessons),
               pupil=pupil, day=day_words(locale, day, today), lessons=listed)
    return Reply(text=text)


def absence_alert(locale: str, *, pupil: str, day: date, today: date,
                  absent: Sequence[Lesson], corrected: Sequence[Corrected]) -> Reply:
    """An alert as it stands (what an edit shows): the lessons missed, and those the
    school corrected since the parent was told."""
    if not absent:
        return Reply(text=_corrections(locale, pupil, day, today, corrected, none_left=True))
    text = absence(locale, pupil=pupil, day=day, today=today, lessons=absent).text
    if corrected:
        text = f"{text}\n{_corrections(locale, pupil, day, today, corrected, none_left=False)}"
    return Reply(text=text)


def absence_followup(locale: str, *, pupil: str, day: date, today: date, missed: Sequence[Lesson],
                     corrected: Sequence[Corrected], none_left: bool) -> Reply:
    """What changed since the alert went out (where it cannot be edited): lessons missed
    since, and marks the school corrected (`none_left`: no absence is left that day)."""
    parts = []
    if missed:
        parts.append(_tn(locale, "⚠️ {pupil} was also absent from {n} lesson {day}: {lessons}",
                         "⚠️ {pupil} was also absent from {n} lessons {day}: {lessons}",
                         len(missed), pupil=pupil, day=day_words(locale, day, today),
                         lessons=", ".join(_lesson(subject, number) for subject, number in missed)))
    if corrected:
        parts.append(_corrections(locale, pupil, day, today, corrected, none_left=none_left))
    return Reply(text="\n".join(parts))


def _corrections(locale: str, pupil: str, day: date, today: date,
                 corrected: Sequence[Corrected], *, none_left: bool) -> str:
    listed = "; ".join(f"{_lesson(subject, number)} — {_mark_words(locale, status)}"
                       for subject, number, status in corrected)
    if none_left:
        return _tn(locale, "✅ {pupil} is not marked absent {day} after all. The school corrected "
                           "{n} mark: {lessons}",
                   "✅ {pupil} is not marked absent {day} after all. The school corrected "
                   "{n} marks: {lessons}", len(corrected),
                   pupil=pupil, day=day_words(locale, day, today), lessons=listed)
    return _tn(locale, "✏️ The school corrected {n} mark: {lessons}",
               "✏️ The school corrected {n} marks: {lessons}", len(corrected), lessons=listed)


def _grade_lines(locale: str, grades: Sequence[tuple[str, int, date]]) -> str:
    return "\n".join(_t(locale, "{subject} — {value} ({date})", subject=subject, value=value,
                        date=format_date(day, locale))
                     for subject, value, day in grades)


def new_grades(locale: str, *, pupil: str, grades: Sequence[tuple[str, int, date]]) -> Reply:
    head = _tn(locale, "📘 {pupil}: {n} new grade", "📘 {pupil}: {n} new grades", len(grades), pupil=pupil)
    return Reply(text=f"{head}\n{_grade_lines(locale, grades)}")


def grade_digest(locale: str, *, pupil: str, day: date,
                 grades: Sequence[tuple[str, int, date]]) -> Reply:
    head = _tn(locale, "📘 Grades of {date}, {pupil}: {n} grade",
               "📘 Grades of {date}, {pupil}: {n} grades", len(grades),
               pupil=pupil, date=format_date(day, locale))
    return Reply(text=f"{head}\n{_grade_lines(locale, grades)}")


def grade_changed(locale: str, *, pupil: str, subject: str, day: date, old: int, new: int) -> Reply:
    return Reply(text=_t(locale, "✏️ {pupil}: the {subject} grade of {date} was changed from {old} to {new}",
                         pupil=pupil, subject=subject, date=format_date(day, locale), old=old, new=new))


def homework(locale: str, *, pupil: str, due: date, today: date,
             items: Sequence[tuple[str, str]]) -> Reply:
    head = _t(locale, "📚 Homework for {day}, {pupil}:", pupil=pupil,
              day=day_words(locale, due, today))
    lines = "\n".join(f"• {subject}: {text}" for subject, text in items)
    return Reply(text=f"{head}\n{lines}")


def event_published(locale: str, *, title: str, starts: datetime, description: str | None) -> Reply:
    text = _t(locale, "📅 Event: {title}\n{date} at {time}", title=title,
              date=format_date(starts.date(), locale), time=_hm(starts))
    if description:
        text = f"{text}\n\n{description}"
    return Reply(text=text)


def event_reminder(locale: str, *, title: str, starts: datetime, today: date) -> Reply:
    return Reply(text=_t(locale, "⏰ Reminder: {title}, {day} at {time}", title=title,
                         day=day_words(locale, starts.date(), today), time=_hm(starts)))


def school_launched(locale: str, *, school: str) -> Reply:
    return Reply(text=_t(locale, "🎉 {school} is now on the bot! Tap /start to sign in.", school=school))


# ---------------------------------------------------------------- staff


def diary_reminder(locale: str, *, class_name: str, subject: str, number: int | None,
                   starts: time, ends: time, missing: Sequence[str]) -> Reply:
    names = {"attendance": _t(locale, "attendance"), "topic": _t(locale, "lesson topic")}
    gaps = ", ".join(names[gap] for gap in missing)
    return Reply(text=_t(locale, "📝 Lesson {number} ({starts}–{ends}), {class_name}, {subject} has ended, "
                         "but the diary has no {missing}.", class_name=class_name, subject=subject,
                         number=number if number is not None else "—",
                         starts=_hm(starts), ends=_hm(ends), missing=gaps))


def director_summary(locale: str, *, day: date, lessons: int,
                     teachers: Sequence[TeacherGaps]) -> Reply:
    head = _tn(locale, "📋 Diary for {date}: {n} lesson not filled in",
               "📋 Diary for {date}: {n} lessons not filled in", lessons,
               date=format_date(day, locale))
    lines = [
        "• " + _tn(locale, "{teacher}: {n} lesson (no attendance: {attendance}, no topic: {topic})",
                   "{teacher}: {n} lessons (no attendance: {attendance}, no topic: {topic})", g.lessons,
                   teacher=g.name, attendance=g.no_attendance, topic=g.no_topic)
        for g in teachers
    ]
    return Reply(text="\n".join([head, *lines]))


def announcement(locale: str, *, school: str | None, text: str, urgent: bool) -> Reply:
    sender = school or _t(locale, "Education department")
    if urgent:
        head = _t(locale, "❗ Urgent announcement — {sender}", sender=sender)
    else:
        head = _t(locale, "📢 Announcement — {sender}", sender=sender)
    return Reply(text=f"{head}\n\n{text}")


def announcement_report(locale: str, announcement_id: int, state: Progress) -> Reply:
    return Reply(text=_tn(
        locale,
        "📊 Announcement No. {id} went out to {n} recipient.\n"
        "Sent: {sent}, delivered: {delivered}, failed: {failed}, blocked the bot: {blocked}.",
        "📊 Announcement No. {id} went out to {n} recipients.\n"
        "Sent: {sent}, delivered: {delivered}, failed: {failed}, blocked the bot: {blocked}.",
        state.total, id=announcement_id, sent=state.sent,
        delivered=state.delivered, failed=state.failed, blocked=state.blocked))


# ---------------------------------------------------------------- /announce and the CLI


def not_allowed(locale: str, reason: str) -> str:
    """Why an announcement cannot be made (NotAllowed.reason → a sentence)."""
    reasons = {
        "announce.error.audience": _t(locale, "This audience does not exist."),
        "announce.error.urgent": _t(locale, "Only a director or the education department "
                                            "can send an urgent announcement."),
        "announce.error.forbidden": _t(locale, "You may not make an announcement to this audience."),
        "announce.error.school": _t(locale, "There is no such school."),
        "announce.error.not_launched": _t(locale, "This school has not launched yet."),
        "announce.error.grade": _t(locale, "A grade level is a number, for example 7."),
        "announce.error.class": _t(locale, "There is no such class in this school."),
        "announce.error.empty": _t(locale, "The announcement is empty."),
        "announce.error.too_long": _t(locale, "The announcement is too long (at most 3,500 "
                                              "characters)."),
    }
    return reasons.get(reason, reasons["announce.error.forbidden"])


def announce_preview_head(locale: str, *, audience: str, count: int) -> str:
    return _tn(locale, "Preview. To: {audience}, {n} recipient.",
               "Preview. To: {audience}, {n} recipients.", count, audience=audience)


def announce_queued(locale: str, announcement_id: int, count: int) -> str:
    return _tn(locale,
               "📢 Announcement No. {id} is on its way to {n} recipient. A report will follow "
               "when delivery is done.",
               "📢 Announcement No. {id} is on its way to {n} recipients. A report will follow "
               "when delivery is done.",
               count, id=announcement_id)


def announce_progress(locale: str, announcement_id: int, state: Progress) -> str:
    return _tn(locale,
               "📊 Announcement No. {id}: {done} of {n} copy done.\n"
               "Sent: {sent}, delivered: {delivered}, failed: {failed}, blocked the bot: "
               "{blocked}, waiting: {waiting}.",
               "📊 Announcement No. {id}: {done} of {n} copies done.\n"
               "Sent: {sent}, delivered: {delivered}, failed: {failed}, blocked the bot: "
               "{blocked}, waiting: {waiting}.",
               state.total, id=announcement_id, done=state.finished, sent=state.sent,
               delivered=state.delivered, failed=state.failed, blocked=state.blocked,
               waiting=state.waiting)
