"""A running Viber front door for tests: the real webhook on the real web app, the
real core and database, and the fake Viber REST API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

from school_bot.bot.app import extensions
from school_bot.bot.turns import TurnRunner
from school_bot.bot.viber.client import ViberClient
from school_bot.bot.viber.files import FileStore
from school_bot.bot.viber.webhook import ROUTE, ViberWebhook
from school_bot.handlers.conversation import Conversation
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.web.app import build_web_app
from tests.fakes.viber_api import FakeViberAPI

TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"


@dataclass
class ViberRig:
    api: FakeViberAPI
    url: str
    database: Database
    client: ViberClient

    async def callback(self, event: dict[str, Any], **kw: Any) -> tuple[int, str]:
        return await self.api.send_callback(self.url, event, **kw)

    async def say(self, user: str, text: str, **kw: Any) -> list[str]:
        before = len(self.api.messages_to(user))
        status, _ = await self.callback(self.api.message_text(user, text, **kw))
        assert status == 200
        return self.api.messages_to(user)[before:]

    async def press(self, user: str, payload: str) -> list[str]:
        return await self.say(user, f"btn:{payload}")

    async def share_phone(self, user: str, phone: str) -> list[str]:
        before = len(self.api.messages_to(user))
        status, _ = await self.callback(self.api.message_contact(user, phone))
        assert status == 200
        return self.api.messages_to(user)[before:]

    async def press_labelled(self, user: str, label: str) -> list[str]:
        """Press the button of the last keyboard whose text holds `label`."""
        keyboard = self.last_keyboard(user) or {}
        [body] = [b["ActionBody"] for b in keyboard.get("Buttons", []) if label in b["Text"]]
        return await self.say(user, body)

    def last_keyboard(self, user: str) -> dict[str, Any] | None:
        for sent in reversed(self.api.sent):
            if sent.receiver == user and sent.keyboard:
                return sent.keyboard
        return None


@asynccontextmanager
async def viber_rig(database: Database, *, clock: Callable[[], datetime] | None = None,
                    **settings: Any) -> AsyncIterator[ViberRig]:
    """`clock`: the core's (default: the real time)."""
    config = Settings(database_url=database.url, viber_auth_token=TOKEN, **settings)
    core = Conversation(config, clock=clock, extensions=extensions(config))
    async with FakeViberAPI(TOKEN) as api, aiohttp.ClientSession() as http:
        client = ViberClient(http, api_url=api.base_url, auth_token=TOKEN, bot_name="Шкільний бот")
        webhook = ViberWebhook(database=database, turns=TurnRunner(database, core),
                               client=client, auth_token=TOKEN, files=FileStore(None))
        app = build_web_app(database, config, [webhook.register])
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield ViberRig(api, f"http://127.0.0.1:{port}{ROUTE}", database, client)
        finally:
            await runner.cleanup()
