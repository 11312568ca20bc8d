"""A running Telegram front door for tests: the real aiogram Bot and Dispatcher, wired
as `run` wires them, talking HTTP to the fake Bot API on 127.0.0.1, with the real core
(on the small school's fixed clock) and database. `await chat.send("/grades")`
returns the requests the bot made to that chat in answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from school_bot.bot.app import extensions
from school_bot.bot.telegram.front_door import TelegramFrontDoor, build_bot
from school_bot.bot.telegram.webhook import WEBHOOK_PATH
from school_bot.bot.turns import TurnRunner
from school_bot.handlers.commands import command_list
from school_bot.handlers.conversation import Conversation
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.web.app import build_web_app
from tests.fakes.telegram_api import FakeTelegramBotAPI, SentRequest
from tests.support.small_school import clock

TOKEN = "987654:telegram-e2e"
SECRET = "s3cret_for-the-webhook"
SHOWN = ("sendMessage", "editMessageText", "sendDocument")


@dataclass
class TelegramRig:
    api: FakeTelegramBotAPI
    door: TelegramFrontDoor
    database: Database
    settings: Settings
    webhook_url: str | None = None
    _fed: int = field(default=0)

    def chat(self, chat_id: int, language: str | None = "uk") -> TelegramChat:
        return TelegramChat(self, chat_id, language)

    async def feed(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        """Deliver one update (polling: queue it; webhook: POST it) and wait until handled."""
        if self.webhook_url is not None:
            status, _ = await self.api.post_update_to_webhook(self.webhook_url, update, secret)
            return status
        self._fed += 1
        self.api.push_update(update)
        await self.door.inflight.wait_finished(self._fed, timeout=10)
        return 200


@dataclass
class TelegramChat:
    rig: TelegramRig
    chat_id: int
    language: str | None

    @property
    def api(self) -> FakeTelegramBotAPI:
        return self.rig.api

    async def send(self, text: str | None, **extra: Any) -> list[SentRequest]:
        update = self.api.message_update(self.chat_id, text, language_code=self.language,
                                         push=False, **extra)
        return await self._exchange(update)

    async def share_contact(self, phone: str, *, own: bool = True) -> list[SentRequest]:
        update = self.api.contact_update(
            self.chat_id, phone, user_id_in_contact=self.chat_id if own else self.chat_id + 1,
            language_code=self.language, push=False)
        return await self._exchange(update)

    async def press(self, data: str, message_id: int | None = None) -> list[SentRequest]:
        update = self.api.callback_update(self.chat_id, data, message_id,
                                          language_code=self.language, push=False)
        return await self._exchange(update)

    async def send_sticker(self) -> list[SentRequest]:
        update = self.api.message_update(self.chat_id, None, language_code=self.language,
                                         push=False)
        update["message"]["sticker"] = {
            "file_id": "CAACAgIAAxkBAAEL", "file_unique_id": "AgADsw", "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False,
        }
        return await self._exchange(update)

    async def _exchange(self, update: dict[str, Any]) -> list[SentRequest]:
        before = len(self.api.sent)
        status = await self.rig.feed(update)
        assert status == 200, status
        return [r for r in self.api.sent[before:]
                if r.chat_id == self.chat_id or r.method == "answerCallbackQuery"]


def texts(requests: list[SentRequest]) -> list[str]:
    return [r.text or "" for r in requests if r.method in SHOWN]


def keyboard_of(request: SentRequest) -> dict[str, Any] | None:
    markup = request.params.get("reply_markup")
    return markup if isinstance(markup, dict) else None


def inline_buttons(requests: list[SentRequest]) -> dict[str, str]:
    """Label → callback data of the inline buttons in these requests."""
    return {button["text"]: button["callback_data"] for request in requests
            for row in (keyboard_of(request) or {}).get("inline_keyboard", []) for button in row}


def rig_settings(database: Database, api: FakeTelegramBotAPI, **overrides: Any) -> Settings:
    return Settings(_env_file=None, database_url=database.url, telegram_bot_token=TOKEN,
                    telegram_api_url=api.base_url, **overrides)


@asynccontextmanager
async def telegram_rig(database: Database, *, webhook: bool = False,
                       **overrides: Any) -> AsyncIterator[TelegramRig]:
    async with FakeTelegramBotAPI(token=TOKEN, max_poll_wait=0.5) as api:
        mode = {"telegram_mode": "webhook", "telegram_webhook_secret": SECRET} if webhook else {}
        settings = rig_settings(database, api, **mode, **overrides)
        bot = build_bot(settings)
        core = Conversation(settings, clock=clock, extensions=extensions(settings))
        door = TelegramFrontDoor.assemble(
            bot, TurnRunner(database, core), settings,
            command_list=lambda locale: command_list(locale, core.extensions), polling_timeout=1)
        runner: web.AppRunner | None = None
        try:
            url = None
            if webhook:
                runner = web.AppRunner(build_web_app(database, settings, door.registrars()))
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                host, port = runner.addresses[0][:2]
                url = f"http://{host}:{port}{WEBHOOK_PATH}"
            await door.start()
            yield TelegramRig(api, door, database, settings, url)
        finally:
            if runner is not None:
                await runner.cleanup()
            await door.stop()
            await bot.session.close()
