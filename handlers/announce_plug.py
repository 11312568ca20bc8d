"""Plugs engineer D's `/announce` flow (handlers/announce.py) into the core."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.announce import COMMAND, PREFIX, AnnounceFlow
from handlers.events import Reply
from handlers.extensions import Extension
from handlers.i18n import t
from storage.models import Account
from storage.settings import Settings


class AnnounceExtension(Extension):
    command = COMMAND
    prefix = PREFIX
    listed = False  # staff only: not in the parents' command menu

    def __init__(self, flow: AnnounceFlow) -> None:
        self.flow = flow

    def available(self, account: Account) -> bool:
        return account.staff_id is not None

    def description(self, locale: str) -> str:
        return t(locale, "Make an announcement")

    def menu_label(self, locale: str, account: Account) -> str | None:
        return t(locale, "Announce") if self.available(account) else None

    async def start(self, session: AsyncSession, account: Account) -> list[Reply]:
        return await self.flow.start(session, account)

    async def press(self, session: AsyncSession, account: Account, payload: str) -> list[Reply]:
        return await self.flow.press(session, account, payload)

    def wants_text(self, account: Account) -> bool:
        return self.flow.wants_text(account)

    async def text(self, session: AsyncSession, account: Account, text: str) -> list[Reply]:
        return await self.flow.text(session, account, text)


def build(settings: Settings) -> AnnounceExtension:
    return AnnounceExtension(AnnounceFlow(settings.default_locale))
