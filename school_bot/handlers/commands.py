"""The commands a chat understands, with descriptions for /help and Telegram's menu.

`command_list(locale)` feeds Telegram's setMyCommands; extensions with `listed = True`
join it through `extra` (the Conversation passes its loaded extensions).
"""

from __future__ import annotations

from collections.abc import Iterable

from school_bot.handlers.extensions import Extension
from school_bot.shared.i18n import t


def _descriptions(locale: str) -> list[tuple[str, str]]:
    return [
        ("start", t(locale, "Start, or link this chat")),
        ("grades", t(locale, "Grades and averages")),
        ("rating", t(locale, "Average grade and place in the class")),
        ("homework", t(locale, "Homework")),
        ("schedule", t(locale, "Lessons today and tomorrow")),
        ("absences", t(locale, "Missed lessons")),
        ("events", t(locale, "School events")),
        ("settings", t(locale, "Language and notifications")),
        ("help", t(locale, "What this bot can do")),
        ("unlink", t(locale, "Unlink this chat")),
        ("forget", t(locale, "Withdraw consent and erase my data")),
    ]


def command_list(locale: str, extra: Iterable[Extension] = ()) -> list[tuple[str, str]]:
    """(command, description) pairs, in the user's language."""
    listed = [(e.command, e.description(locale)) for e in extra if e.listed and e.command]
    return _descriptions(locale) + listed


KNOWN = frozenset(name for name, _ in _descriptions("en"))
