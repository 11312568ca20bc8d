"""/help: what the bot can do, the commands, and whom to ask."""

from __future__ import annotations

from school_bot.handlers.commands import command_list
from school_bot.shared.events import Reply
from school_bot.shared.i18n import t
from school_bot.handlers.linking import greeting
from school_bot.handlers.menu import with_menu
from school_bot.handlers.turn import Turn


def show(turn: Turn) -> list[Reply]:
    locale = turn.locale
    lines = [t(locale, "I show your children's grades, rating, homework, lessons, absences and "
                       "school events. Use the menu buttons or these commands:"), ""]
    extra = [e for e in turn.extensions if e.available(turn)]
    lines += [f"/{name} — {text}" for name, text in command_list(locale, extra)]
    lines += [f"/{e.command} — {e.description(locale)}" for e in extra
              if e.command and not e.listed]
    lines += ["", t(locale, "Wrong data or a question about your consent? Please ask your "
                            "school's administrator.")]
    text = "\n".join(lines)
    if not turn.account.linked:
        return [Reply(text=text), greeting(turn)]
    return [with_menu(turn, text)]
