"""The main menu (the persistent keyboard), its labels in both languages, and the views.

A label typed or pressed in either language means the same command, so a parent who
switches language keeps a working keyboard until the next answer replaces it.
"""

from __future__ import annotations

from school_bot.handlers import absences, events_view, grades, homework, rating, schedule
from school_bot.shared.events import Reply
from school_bot.shared.i18n import SUPPORTED_LOCALES, t
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import View

VIEWS: dict[str, View] = {view.key: view for view in (
    View("g", "grades", grades.show, grades.options, "r"),
    View("r", "rating", rating.show, rating.options, "T"),
    View("h", "homework", homework.show, homework.options, "t"),
    View("s", "schedule", schedule.show, schedule.options, "d"),
    View("a", "absences", absences.show, absences.options, "w"),
    View("e", "events", events_view.show, events_view.options, ""),
)}
VIEW_BY_COMMAND = {view.command: view for view in VIEWS.values()}


def labels(locale: str) -> dict[str, str]:
    """command -> its menu label."""
    return {
        "grades": t(locale, "Grades"), "rating": t(locale, "Rating"),
        "homework": t(locale, "Homework"), "schedule": t(locale, "Schedule"),
        "absences": t(locale, "Absences"), "events": t(locale, "Events"),
        "settings": t(locale, "Settings"), "help": t(locale, "Help"),
    }


PARENT_ROWS = (("grades", "rating"), ("homework", "schedule"), ("absences", "events"),
               ("settings", "help"))
STAFF_ROWS = (("settings", "help"),)


def main_menu(locale: str, *, parent: bool, extra: list[str] | None = None) -> list[list[str]]:
    """The keyboard's rows of labels; `extra`: labels that extensions add (e.g. Announce)."""
    named = labels(locale)
    rows = [[named[c] for c in row] for row in (PARENT_ROWS if parent else STAFF_ROWS)]
    if extra:
        rows.insert(len(rows) - 1, extra)
    return rows


def command_for_label(text: str) -> str | None:
    """The command a menu label stands for, in any supported language."""
    wanted = text.strip().casefold()
    for locale in SUPPORTED_LOCALES:
        for command, label in labels(locale).items():
            if label.casefold() == wanted:
                return command
    return None


def menu_for(turn: Turn) -> list[list[str]]:
    """The keyboard of a linked chat: the parent's views, the extensions' labels, settings."""
    extra = [label for ext in turn.extensions
             if ext.available(turn) and (label := ext.menu_label(turn))]
    return main_menu(turn.locale, parent=bool(turn.account.guardian_links), extra=extra)


def with_menu(turn: Turn, text: str) -> Reply:
    return Reply(text=text, menu=menu_for(turn))
