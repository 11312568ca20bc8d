"""Grades: the recent ones, this week, month or term, by subject, and averages.

A grade whose value was changed shows its history: "changed from 7 to 9, 12 November".
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from statistics import fmean

from school_bot.handlers import diary
from school_bot.handlers.family import Pupil
from school_bot.handlers.periods import period
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import Link, Shown
from school_bot.handlers.web_diary import diary_button
from school_bot.shared.events import Button
from school_bot.shared.i18n import format_date, format_number, t, tn

RECENT = 10


def options(locale: str) -> list[tuple[str, str]]:
    return [(t(locale, "Recent"), "r"), (t(locale, "This week"), "w"),
            (t(locale, "This month"), "m"), (t(locale, "Term"), "T"),
            (t(locale, "By subject"), "s"), (t(locale, "Averages"), "a")]


async def show(turn: Turn, pupil: Pupil, option: str, link: Link) -> Shown:
    shown = await _show(turn, pupil, option, link)
    button = diary_button(turn)  # the same grades as a chart, when the web diary is offered
    if button is not None:
        shown.buttons.append([button])
    return shown


async def _show(turn: Turn, pupil: Pupil, option: str, link: Link) -> Shown:
    locale, today = turn.locale, pupil.today(turn.now)
    if option in ("w", "m", "T"):
        span = period(option, today, locale)
        rows = await diary.grades(turn.session, pupil.id, first=span.first, last=span.last)
        return Shown(_listing(turn, pupil, span.title, rows))
    term = period("T", today, locale)
    if option == "a":
        rows = await diary.grades(turn.session, pupil.id, first=term.first, last=term.last)
        return Shown(_averages(turn, pupil, rows))
    if option.startswith("s"):
        return await _by_subject(turn, pupil, option[1:], link)
    rows = await diary.grades(turn.session, pupil.id, limit=RECENT)
    return Shown(_listing(turn, pupil, t(locale, "recent"), rows))


def _heading(turn: Turn, pupil: Pupil, what: str) -> str:
    return t(turn.locale, "{name} ({class_name}): grades, {what}",
             name=pupil.first_name, class_name=pupil.class_name, what=what)


def _listing(turn: Turn, pupil: Pupil, what: str, rows: list[diary.GradeRow]) -> str:
    lines = [_heading(turn, pupil, what), ""]
    if not rows:
        return "\n".join([*lines, t(turn.locale, "No grades for this period.")])
    for row in rows:
        lines.append(grade_line(turn.locale, row))
        lines += [_change_line(turn, pupil, old, new, at) for old, new, at in row.changes]
    average = format_number(fmean(row.value for row in rows), turn.locale)
    lines += ["", tn(turn.locale, "{n} grade, average {average}", "{n} grades, average {average}",
                     len(rows), average=average)]
    return "\n".join(lines)


def grade_line(locale: str, row: diary.GradeRow) -> str:
    kind = f" ({row.kind})" if row.kind else ""
    return f"{format_date(row.day, locale)} · {row.subject}: {row.value}{kind}"


def _change_line(turn: Turn, pupil: Pupil, old: int, new: int, at: datetime) -> str:
    return "    " + t(turn.locale, "changed from {old} to {new}, {day}", old=old, new=new,
                      day=format_date(at.astimezone(pupil.zone), turn.locale))


def _averages(turn: Turn, pupil: Pupil, rows: list[diary.GradeRow]) -> str:
    by_subject: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_subject[row.subject].append(row.value)
    lines = [_heading(turn, pupil, t(turn.locale, "averages this term")), ""]
    if not by_subject:
        return "\n".join([*lines, t(turn.locale, "No grades for this period.")])
    for subject, values in sorted(by_subject.items()):
        count = tn(turn.locale, "{n} grade", "{n} grades", len(values))
        lines.append(f"{subject}: {format_number(fmean(values), turn.locale)} ({count})")
    return "\n".join(lines)


async def _by_subject(turn: Turn, pupil: Pupil, index: str, link: Link) -> Shown:
    term = period("T", pupil.today(turn.now), turn.locale)
    names = await diary.subjects(turn.session, pupil.id, term.first, term.last)
    if index.isdigit() and int(index) < len(names):
        subject = names[int(index)]
        rows = await diary.grades(turn.session, pupil.id, first=term.first, last=term.last,
                                  subject=subject)
        return Shown(_listing(turn, pupil, f"{subject}, {term.title}", rows))
    if not names:
        return Shown("\n".join([_heading(turn, pupil, term.title), "",
                                t(turn.locale, "No grades for this period.")]))
    buttons = [Button(name, link(f"s{n}")) for n, name in enumerate(names)]
    return Shown(t(turn.locale, "Choose a subject:"),
                 [buttons[i:i + 2] for i in range(0, len(buttons), 2)])
