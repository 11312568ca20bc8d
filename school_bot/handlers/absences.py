"""Missed lessons this week or this month: absent, late, or absent for a good reason."""

from __future__ import annotations

from school_bot.handlers import diary
from school_bot.handlers.family import Pupil
from school_bot.shared.i18n import format_date, t, tn
from school_bot.handlers.periods import period
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import Link, Shown


def options(locale: str) -> list[tuple[str, str]]:
    return [(t(locale, "This week"), "w"), (t(locale, "This month"), "m")]


def status_word(locale: str, status: str) -> str:
    if status == "late":
        return t(locale, "late")
    if status == "excused":
        return t(locale, "absent, excused")
    return t(locale, "absent")


async def show(turn: Turn, pupil: Pupil, option: str, link: Link) -> Shown:
    span = period("m" if option == "m" else "w", pupil.today(turn.now), turn.locale)
    missed = await diary.absences(turn.session, pupil.id, span.first, span.last)
    lines = [t(turn.locale, "{name} ({class_name}): absences, {what}", name=pupil.first_name,
               class_name=pupil.class_name, what=span.title), ""]
    if not missed:
        return Shown("\n".join(lines + [t(turn.locale, "No missed lessons in this period.")]))
    for lesson, status in missed:
        lines.append(f"{format_date(lesson.date, turn.locale)}, {lesson.starts_at:%H:%M} "
                     f"{lesson.subject}: {status_word(turn.locale, status)}")
    absent = sum(1 for _, status in missed if status != "late")
    late = len(missed) - absent
    summary = tn(turn.locale, "{n} lesson missed", "{n} lessons missed", absent)
    if late:
        summary += ", " + tn(turn.locale, "late {n} time", "late {n} times", late)
    lines += ["", summary]
    return Shown("\n".join(lines))
