"""The core's tests' way in: the production Conversation (with the production
extensions, on the small school's clock), the small school built under it, and chat
clients talking to it (`linked`: one that has shared a phone and got the menu)."""

from __future__ import annotations

from typing import Any

from school_bot.bot.app import extensions
from school_bot.handlers.conversation import Conversation
from school_bot.shared.events import Platform
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from tests.support.chat_client import ChatClient
from tests.support.small_school import clock, small_school


def conversation(db: Database, **settings: Any) -> Conversation:
    config = Settings(_env_file=None, database_url=db.url, **settings)
    return Conversation(config, clock=clock, extensions=extensions(config))


async def school_and_core(db: Database) -> Conversation:
    await small_school(db)
    return conversation(db)


def chat(db: Database, core: Conversation, chat_id: str = "100", *,
         platform: Platform = Platform.TELEGRAM, language: str | None = "uk",
         **kw: Any) -> ChatClient:
    return ChatClient(db, core, platform=platform, chat_id=chat_id, language=language, **kw)


async def linked(db: Database, core: Conversation, phone: str, chat_id: str = "100",
                 language: str | None = "uk") -> ChatClient:
    client = chat(db, core, chat_id, language=language)
    await client.share_contact(phone)
    assert client.menu, client.last_text
    return client
