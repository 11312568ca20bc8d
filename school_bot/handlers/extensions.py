"""Extra commands, buttons and settings entries that other parts plug into the core.

To add one (e.g. `/announce`, `/directory`, `/report`), write an `Extension` subclass
(override only what you need) and give an instance to `Conversation(extensions=...)`:
the composition root (bot/app.py, `extensions`) builds the list. The core then

- routes the command `/<command>` (and the menu label, if any) to `start`,
- routes every button whose payload starts with `prefix` to `press` (keep payloads
  under 64 bytes; re-authorise on every press: payloads are client-controlled),
- routes typed text to `text` while `wants_text(turn)` is true (a flow's next step);
  a menu label (any extension's, in any language) is a press, not text: every
  extension's `leave(turn)` ends its half-done flow, and the label's `start` runs,
- offers a photo, a file or a sticker (`Kind.OTHER`) to `media`: the first extension
  that answers (a non-empty list) is the answer (a flow that must refuse documents),
- shows `settings_buttons(turn)` in the settings menu,
- lists `command` with `description(locale)` in /help and Telegram's command menu
  when `listed` is true.

Every method gets the `Turn` (session, account, locale, clock, settings), the same the
core's own handlers get; an extension never sees a messenger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from school_bot.shared.events import Button, Reply

if TYPE_CHECKING:
    from school_bot.handlers.turn import Turn


class Extension:
    command: str | None = None   # "announce" for /announce
    prefix: str | None = None    # the button payload prefix it owns, e.g. "an:"
    listed: bool = False         # in /help and Telegram's command menu

    def available(self, turn: Turn) -> bool:
        """Whether this chat is offered the command and the menu label."""
        return True

    def description(self, locale: str) -> str:
        return ""

    def menu_label(self, turn: Turn) -> str | None:
        return None

    async def start(self, turn: Turn) -> list[Reply]:
        return []

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        return []

    def wants_text(self, turn: Turn) -> bool:
        return False

    async def text(self, turn: Turn, text: str) -> list[Reply]:
        return []

    def leave(self, turn: Turn) -> None:
        """A menu label was pressed: forget a half-done flow that waits for text."""

    async def media(self, turn: Turn) -> list[Reply]:
        """The answer to a photo, a file, a sticker... ([]: not this extension's)."""
        return []

    def settings_buttons(self, turn: Turn) -> list[Button]:
        return []
