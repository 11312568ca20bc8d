"""Plugs the `/announce` flow (handlers/announce.py) into the core."""

from __future__ import annotations

from school_bot.handlers.announce import COMMAND, PREFIX, AnnounceFlow
from school_bot.shared.events import Reply
from school_bot.handlers.extensions import Extension
from school_bot.shared.i18n import t
from school_bot.handlers.turn import Turn
from school_bot.shared.settings import Settings


class AnnounceExtension(Extension):
    command = COMMAND
    prefix = PREFIX
    listed = False  # staff only: not in the parents' command menu

    def __init__(self, flow: AnnounceFlow) -> None:
        self.flow = flow

    def available(self, turn: Turn) -> bool:
        return turn.account.staff_id is not None

    def description(self, locale: str) -> str:
        return t(locale, "Make an announcement")

    def menu_label(self, turn: Turn) -> str | None:
        return t(turn.locale, "Announce") if self.available(turn) else None

    async def start(self, turn: Turn) -> list[Reply]:
        return await self.flow.start(turn)

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        return await self.flow.press(turn, payload)

    def wants_text(self, turn: Turn) -> bool:
        return self.flow.wants_text(turn)

    async def text(self, turn: Turn, text: str) -> list[Reply]:
        return await self.flow.text(turn, text)


def build(settings: Settings) -> AnnounceExtension:
    return AnnounceExtension(AnnounceFlow(settings.default_locale))
