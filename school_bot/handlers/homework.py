"""Homework of the pupil's class: due today, tomorrow, or this week."""

from __future__ import annotations

from school_bot.handlers import diary
from school_bot.handlers.family import Pupil
from school_bot.shared.i18n import format_date, t
from school_bot.handlers.periods import period
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import Link, Shown


def options(locale: str) -> list[tuple[str, str]]:
    return [(t(locale, "Today"), "d"), (t(locale, "Tomorrow"), "t"), (t(locale, "This week"), "w")]


async def show(turn: Turn, pupil: Pupil, option: str, link: Link) -> Shown:
    span = period(option, pupil.today(turn.now), turn.locale)
    tasks = await diary.homework(turn.session, pupil.class_id, span.first, span.last)
    lines = [t(turn.locale, "{name} ({class_name}): homework, {what}", name=pupil.first_name,
               class_name=pupil.class_name, what=span.title), ""]
    if not tasks:
        return Shown("\n".join(lines + [t(turn.locale, "No homework for this period.")]))
    for task in tasks:
        due = t(turn.locale, "due {day}", day=format_date(task.due_date, turn.locale))
        lines += [f"{task.subject} ({due}):", task.text.strip(), ""]
    return Shown("\n".join(lines).rstrip())
