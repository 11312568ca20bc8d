"""The lessons of the pupil's class today or tomorrow (from the diary's Lesson rows)."""

from __future__ import annotations

from school_bot.handlers import diary
from school_bot.handlers.family import Pupil
from school_bot.shared.i18n import t
from school_bot.handlers.periods import period
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import Link, Shown


def options(locale: str) -> list[tuple[str, str]]:
    return [(t(locale, "Today"), "d"), (t(locale, "Tomorrow"), "t")]


async def show(turn: Turn, pupil: Pupil, option: str, link: Link) -> Shown:
    span = period("t" if option == "t" else "d", pupil.today(turn.now), turn.locale)
    found = await diary.lessons(turn.session, pupil.class_id, span.first, span.last)
    lines = [t(turn.locale, "{name} ({class_name}): lessons, {what}", name=pupil.first_name,
               class_name=pupil.class_name, what=span.title), ""]
    if not found:
        return Shown("\n".join(lines + [t(turn.locale, "No lessons on this day.")]))
    for lesson in found:
        number = f"{lesson.number}. " if lesson.number is not None else ""
        topic = f" — {lesson.topic}" if lesson.topic else ""
        lines.append(f"{number}{lesson.starts_at:%H:%M}–{lesson.ends_at:%H:%M} "
                     f"{lesson.subject}{topic}")
    return Shown("\n".join(lines))
