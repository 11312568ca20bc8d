"""Extra commands, buttons and settings entries that other parts plug into the core.

To add one (e.g. `/announce`, `/directory`, `/report`), write an `Extension` subclass
(override only what you need) and a factory `build(settings) -> Extension`, then add
ONE line to `REGISTRY` below: ``Plug("package.module:build")``. The core then

- routes the command `/<command>` (and the menu label, if any) to `start`,
- routes every button whose payload starts with `prefix` to `press` (keep payloads
  under 64 bytes; re-authorise on every press: payloads are client-controlled),
- routes typed text to `text` while `wants_text(account)` is true (a flow's next step),
- shows `settings_buttons(locale, account)` in the settings menu,
- lists `command` with `description(locale)` in /help and Telegram's command menu
  when `listed` is true.

A factory whose module is missing (the part is still being written) is skipped.
Extensions see the session and the account, never a messenger.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.events import Button, Reply
from storage.models import Account
from storage.settings import Settings

log = logging.getLogger(__name__)


class Extension:
    command: str | None = None   # "announce" for /announce
    prefix: str | None = None    # the button payload prefix it owns, e.g. "an:"
    listed: bool = False         # in /help and Telegram's command menu

    def available(self, account: Account) -> bool:
        """Whether this chat is offered the command and the menu label."""
        return True

    def description(self, locale: str) -> str:
        return ""

    def menu_label(self, locale: str, account: Account) -> str | None:
        return None

    async def start(self, session: AsyncSession, account: Account) -> list[Reply]:
        return []

    async def press(self, session: AsyncSession, account: Account, payload: str) -> list[Reply]:
        return []

    def wants_text(self, account: Account) -> bool:
        return False

    async def text(self, session: AsyncSession, account: Account, text: str) -> list[Reply]:
        return []

    def settings_buttons(self, locale: str, account: Account) -> list[Button]:
        return []


@dataclass(frozen=True)
class Plug:
    factory: str  # "module.path:function", the function being build(settings) -> Extension


REGISTRY: tuple[Plug, ...] = (
    Plug("handlers.announce_plug:build"),
    Plug("handlers.reports_view:build"),
    Plug("handlers.directory:build"),
)


def load_extensions(settings: Settings, registry: tuple[Plug, ...] = REGISTRY) -> list[Extension]:
    loaded: list[Extension] = []
    for plug in registry:
        module_name, _, function = plug.factory.partition(":")
        module = importlib.import_module(module_name)
        loaded.append(getattr(module, function)(settings))
    return loaded
