"""The pupil's rating: own average and place in the class.

The place is computed over the whole class, but only this pupil's figures are shown:
never another pupil's name, average or count.
"""

from __future__ import annotations

from school_bot.handlers import diary
from school_bot.handlers.family import Pupil
from school_bot.shared.i18n import format_number, t, tn
from school_bot.handlers.periods import period
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import Link, Shown


def options(locale: str) -> list[tuple[str, str]]:
    return [(t(locale, "This month"), "m"), (t(locale, "Term"), "T")]


def place_in_class(averages: dict[str, tuple[float, int]], pupil_id: str) -> tuple[int, int]:
    """(place, out of): 1 + the number of classmates with a strictly higher average."""
    own = averages[pupil_id][0]
    return 1 + sum(1 for average, _ in averages.values() if average > own), len(averages)


async def show(turn: Turn, pupil: Pupil, option: str, link: Link) -> Shown:
    locale = turn.locale
    span = period("m" if option == "m" else "T", pupil.today(turn.now), locale)
    averages = await diary.class_averages(turn.session, pupil.class_id, span.first, span.last)
    heading = t(locale, "{name} ({class_name}): rating, {what}", name=pupil.first_name,
                class_name=pupil.class_name, what=span.title)
    if pupil.id not in averages:
        return Shown(f"{heading}\n\n" + t(locale, "No grades for this period."))
    average, count = averages[pupil.id]
    place, out_of = place_in_class(averages, pupil.id)
    lines = [heading, "",
             t(locale, "Average grade: {average}", average=format_number(average, locale)),
             tn(locale, "Place in the class: {place} of {n}", "Place in the class: {place} of {n}",
                out_of, place=place),
             tn(locale, "Counted: {n} grade.", "Counted: {n} grades.", count)]
    return Shown("\n".join(lines))
