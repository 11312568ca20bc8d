"""What a parent reads about one pupil: grades, rating, homework, schedule, absences, events.

A view is shown for the chosen pupil. Its buttons carry `<key>:<pupil>:<option>`
(under 64 bytes); a press is authorised again against the account's family before
anything is read, so a forged or stale payload gets a refusal and no data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from school_bot.shared.events import Button, Reply
from school_bot.handlers.family import Pupil, family_of, find_pupil, pupil_ref, selected
from school_bot.shared.i18n import t
from school_bot.handlers.turn import Turn

Link = Callable[[str], str]  # option -> the payload of a button for this pupil and view


@dataclass
class Shown:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)


@dataclass(frozen=True)
class View:
    key: str       # the payload's first letter(s)
    command: str   # "/grades"
    show: Callable[[Turn, Pupil, str, Link], Awaitable[Shown]]
    options: Callable[[str], list[tuple[str, str]]]  # locale -> (label, option) buttons
    default: str = ""


def payload(view: View, ref: str, option: str) -> str:
    return f"{view.key}:{ref}:{option}"


def parse(data: str) -> tuple[str, str, str] | None:
    """`g:st-1:w` → ("g", "st-1", "w"); the pupil part may itself hold colons."""
    key, _, rest = data.partition(":")
    ref, _, option = rest.rpartition(":")
    return (key, ref, option) if key and ref else None


async def open_view(turn: Turn, view: View, ref: str | None = None,
                    option: str | None = None) -> list[Reply]:
    family = await family_of(turn)
    if not family:
        return [no_pupils(turn)]
    pupil = find_pupil(family, ref) if ref is not None else selected(turn, family)
    if ref is not None and pupil is None:
        return [Reply(text=t(turn.locale, "This button is not available to you. "
                                          "Please open the menu again."))]
    if pupil is None:
        return [choose_pupil(turn, view, family)]
    if turn.account.selected_student_id != pupil.id:
        turn.account.selected_student_id = pupil.id
    own_ref = pupil_ref(pupil, family)
    chosen = option or view.default
    shown = await view.show(turn, pupil, chosen, lambda opt: payload(view, own_ref, opt))
    buttons = shown.buttons + _option_row(turn, view, own_ref, chosen) + _siblings(view, pupil, family)
    return [Reply(text=shown.text, buttons=buttons, edit=ref is not None)]


def no_pupils(turn: Turn) -> Reply:
    return Reply(text=t(turn.locale, "There are no pupils linked to this chat whose school "
                                     "already works with the bot."))


def choose_pupil(turn: Turn, view: View, family: list[Pupil]) -> Reply:
    buttons = [[Button(p.first_name, payload(view, pupil_ref(p, family), view.default))]
               for p in family]
    return Reply(text=t(turn.locale, "Which child? Choose:"), buttons=buttons)


def _option_row(turn: Turn, view: View, ref: str, chosen: str) -> list[list[Button]]:
    row = [Button(label, payload(view, ref, option))
           for label, option in view.options(turn.locale) if option != chosen]
    return [row[i:i + 3] for i in range(0, len(row), 3)]


def _siblings(view: View, pupil: Pupil, family: list[Pupil]) -> list[list[Button]]:
    others = [Button(p.first_name, payload(view, pupil_ref(p, family), view.default))
              for p in family if p.id != pupil.id]
    return [others] if others else []
