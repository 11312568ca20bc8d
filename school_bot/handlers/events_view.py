"""Upcoming school events and the pupil's class's own, in the school's time zone."""

from __future__ import annotations

from school_bot.handlers import diary
from school_bot.handlers.family import Pupil
from school_bot.shared.i18n import format_date, t
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import Link, Shown


def options(locale: str) -> list[tuple[str, str]]:
    return []


async def show(turn: Turn, pupil: Pupil, option: str, link: Link) -> Shown:
    found = await diary.upcoming_events(turn.session, pupil.school_id, pupil.class_id, turn.now)
    lines = [t(turn.locale, "{name} ({class_name}): upcoming events", name=pupil.first_name,
               class_name=pupil.class_name), ""]
    if not found:
        return Shown("\n".join(lines + [t(turn.locale, "No upcoming events.")]))
    for event in found:
        local = event.starts_at.astimezone(pupil.zone)
        scope = f" ({pupil.class_name})" if event.class_id else ""
        lines.append(f"{format_date(local, turn.locale)}, {local:%H:%M} — {event.title}{scope}")
        if event.description:
            lines.append(f"    {event.description.strip()}")
    return Shown("\n".join(lines))
