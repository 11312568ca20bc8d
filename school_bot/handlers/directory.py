"""The class directory and parent-to-parent messages, plugged into the core.

    /directory (or the "👥 My class" menu label) → the chosen child's class: pupils, and
    the other parents who turned the directory on, each with ✉️ Write to <name>;
    /settings → 👥 Class directory → "Visible to my class: off/on".

Off by default (Guardian.directory_opt_in). The rule of who sees and may write to whom
is handlers/directory_access.py, asked again on every message and button press; the
screens are directory_view.py, the writing flow relay.py, and what a recipient can do
with a message (reply, block, report) relay_actions.py. Payloads: directory_buttons.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from school_bot.handlers import directory_access as access
from school_bot.handlers import directory_buttons as buttons
from school_bot.handlers import directory_view, relay, relay_actions
from school_bot.handlers.directory_text import _t, gone
from school_bot.handlers.extensions import Extension
from school_bot.handlers.turn import Turn
from school_bot.shared.events import Button, Reply

COMMAND = "directory"
Action = Callable[[Turn, str], Awaitable[list[Reply]]]


async def _settings(turn: Turn, _value: str) -> list[Reply]:
    return await directory_view.settings_screen(turn, edit=True)


async def _visible(turn: Turn, value: str) -> list[Reply]:
    if value not in ("0", "1"):
        return [Reply(text=gone(turn.locale))]
    return await directory_view.set_visible(turn, value == "1")


async def _open_class(turn: Turn, value: str) -> list[Reply]:
    return await directory_view.show(turn, value or None)


async def _write(turn: Turn, value: str) -> list[Reply]:
    """✉️ Write to: the payload's parent is used only if they are one of this parent's
    class neighbours; `relay.begin` then checks the whole rule again."""
    mine = list(turn.account.guardian_ids)
    if not mine:
        return [Reply(text=gone(turn.locale))]
    visible = await access.visible_rows(turn.session, mine)
    if not visible:  # before anything about the other
        return relay.refusal(turn, access.Refusal.NOT_OPTED_IN, value)
    recipient = access.resolve_ref(value, await access.neighbours(turn.session, visible))
    if recipient is None:
        relay.drop(turn)
        return relay.refusal(turn, access.Refusal.UNAVAILABLE, value)
    return await relay.begin(turn, recipient)


async def _send(turn: Turn, _value: str) -> list[Reply]:
    return await relay.send(turn)


async def _cancel(turn: Turn, _value: str) -> list[Reply]:
    return relay.cancel(turn)


ACTIONS: dict[str, Action] = {
    "s": _settings, "o": _visible, "c": _open_class, "w": _write, "ok": _send, "no": _cancel,
    "r": relay_actions.reply, "b": relay_actions.block, "x": relay_actions.report,
    "u": relay_actions.unblock,
}


class DirectoryExtension(Extension):
    command = COMMAND
    prefix = buttons.PREFIX
    listed = True

    def available(self, turn: Turn) -> bool:
        return bool(turn.account.guardian_links)

    def description(self, locale: str) -> str:
        return _t(locale, "The parents of my child's class")

    def menu_label(self, turn: Turn) -> str | None:
        return _t(turn.locale, "👥 My class") if self.available(turn) else None

    async def start(self, turn: Turn) -> list[Reply]:
        relay.drop(turn)  # opening the directory leaves a message half written
        return await directory_view.show(turn)

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        action, value = buttons.parse(payload)
        handler = ACTIONS.get(action)
        if handler is None or not turn.account.active:
            return [Reply(text=gone(turn.locale))]
        return await handler(turn, value)

    def wants_text(self, turn: Turn) -> bool:
        return relay.waiting(turn.account, turn.now)

    def leave(self, turn: Turn) -> None:
        relay.drop(turn)  # a message half written

    async def text(self, turn: Turn, text: str) -> list[Reply]:
        return await relay.text(turn, text)

    def settings_buttons(self, turn: Turn) -> list[Button]:
        if not turn.account.guardian_links:
            return []
        return [Button(directory_view.settings_label(turn.locale), buttons.SETTINGS)]
