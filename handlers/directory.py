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
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import directory_access as access
from handlers import directory_buttons as buttons
from handlers import directory_view, relay, relay_actions
from handlers.directory_text import _t, gone
from handlers.events import Button, ChatRef, Incoming, Kind, Platform, Reply
from handlers.extensions import Extension
from handlers.i18n import SUPPORTED_LOCALES, normalize_locale
from handlers.turn import Turn
from storage.models import Account, utc_now
from storage.settings import Settings

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

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock

    def _turn(self, session: AsyncSession, account: Account) -> Turn:
        """The extension API gives the session and the account; the screens take a Turn."""
        chat = ChatRef(Platform(account.platform), account.chat_id)
        locale = normalize_locale(account.language, self.settings.default_locale)
        return Turn(session, account, Incoming(chat, Kind.BUTTON), locale, self.clock(), self.settings)

    def available(self, account: Account) -> bool:
        return bool(account.guardian_links)

    def description(self, locale: str) -> str:
        return _t(locale, "The parents of my child's class")

    def menu_label(self, locale: str, account: Account) -> str | None:
        return _t(locale, "👥 My class") if self.available(account) else None

    async def start(self, session: AsyncSession, account: Account) -> list[Reply]:
        turn = self._turn(session, account)
        relay.drop(turn)  # opening the directory leaves a message half written
        return await directory_view.show(turn)

    async def press(self, session: AsyncSession, account: Account, payload: str) -> list[Reply]:
        turn = self._turn(session, account)
        action, value = buttons.parse(payload)
        handler = ACTIONS.get(action)
        if handler is None or not account.active:
            return [Reply(text=gone(turn.locale))]
        return await handler(turn, value)

    def wants_text(self, account: Account) -> bool:
        return relay.waiting(account, self.clock())

    async def text(self, session: AsyncSession, account: Account, text: str) -> list[Reply]:
        if any(_t(locale, "👥 My class") == text.strip() for locale in SUPPORTED_LOCALES):
            return await self.start(session, account)  # its own menu label leaves the flow
        return await relay.text(self._turn(session, account), text)

    def settings_buttons(self, locale: str, account: Account) -> list[Button]:
        if not account.guardian_links:
            return []
        return [Button(directory_view.settings_label(locale), buttons.SETTINGS)]


def build(settings: Settings) -> DirectoryExtension:
    return DirectoryExtension(settings)
