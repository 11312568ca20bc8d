"""Telegram in a running program: the bot, polling or the webhook.

`build_bot` points aiogram at TELEGRAM_API_URL with a timeout on every call;
`TelegramFrontDoor` starts and stops receiving updates, and hands each to the same
`UpdateFeed` (bot/telegram/updates.py) whichever way it came, for production and tests.
aiogram is the bot's client and its models of the Bot API; its dispatcher is not used:
the feed takes the three kinds of update the bot reads straight to the turn runner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import BotCommand, MenuButtonWebApp, WebAppInfo

from school_bot.bot.telegram.aiogram_internals import bot_session, build
from school_bot.bot.telegram.polling import poll
from school_bot.bot.telegram.updates import ALLOWED_UPDATES, InFlight, UpdateFeed
from school_bot.bot.telegram.webhook import WEBHOOK_PATH, webhook_registrar
from school_bot.bot.turns import TurnRunner
from school_bot.handlers.web_diary import diary_label
from school_bot.shared.settings import Settings
from school_bot.web.app import RouteRegistrar

log = logging.getLogger("school_bot.bot.telegram")

REQUEST_TIMEOUT = 20.0   # seconds for any Bot API call (getUpdates adds its own wait)
POLLING_TIMEOUT = 25     # seconds a getUpdates call may be held by Telegram
DRAIN_TIMEOUT = 15.0     # seconds a stop waits for updates being handled
MAX_CONCURRENT_UPDATES = 16  # updates handled at once while polling (each holds a DB session)
COMMAND_LOCALES = ("uk", "en")
CommandList = Callable[[str], list[tuple[str, str]]]


class StartupError(Exception):
    """Telegram cannot be started; the message is one line for the operator."""


def build_bot(settings: Settings, *, timeout: float = REQUEST_TIMEOUT) -> Bot:
    if settings.telegram_bot_token is None:
        raise StartupError("TELEGRAM_BOT_TOKEN is not set")
    server = TelegramAPIServer.from_base(settings.telegram_api_url)
    # aiogram's models may be built on first use (bot.telegram.aiogram_internals):
    # these, which every bot process uses, now rather than on the first parent's answer
    # (updates are read as JSON: aiogram's `Update` model is built only if asked for)
    build(SendMessage, EditMessageText, AnswerCallbackQuery)
    return Bot(settings.telegram_bot_token.get_secret_value(),
               session=bot_session(api=server, timeout=timeout))


class TelegramFrontDoor:
    """Receives updates by long polling (the default) or through the webhook route."""

    def __init__(self, feed: UpdateFeed, settings: Settings, *,
                 command_list: CommandList | None = None,
                 polling_timeout: int = POLLING_TIMEOUT) -> None:
        self.bot = feed.bot
        self.feed = feed
        self._settings = settings
        self._command_list = command_list
        self._polling_timeout = polling_timeout
        self._polling: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()  # the updates polling handed over

    @classmethod
    def assemble(cls, bot: Bot, turns: TurnRunner, settings: Settings, *,
                 command_list: CommandList | None = None,
                 polling_timeout: int = POLLING_TIMEOUT) -> TelegramFrontDoor:
        """The production wiring (the composition root and the tests both use it)."""
        return cls(UpdateFeed(bot, turns), settings, command_list=command_list,
                   polling_timeout=polling_timeout)

    @property
    def inflight(self) -> InFlight:
        return self.feed.inflight

    @property
    def webhook_mode(self) -> bool:
        return self._settings.telegram_mode == "webhook"

    @property
    def polling_task(self) -> asyncio.Task[None] | None:
        """The polling loop (None in webhook mode): the program stops if it ends."""
        return self._polling

    def registrars(self) -> list[RouteRegistrar]:
        if not self.webhook_mode:
            return []
        return [webhook_registrar(self.feed.feed, _secret(self._settings))]

    async def start(self) -> None:
        me = await self._call("getMe", self.bot.get_me())
        await self.set_commands()
        await self.set_menu_button()
        if self.webhook_mode:
            await self._start_webhook(ALLOWED_UPDATES)
        else:
            await self._call("deleteWebhook", self.bot.delete_webhook(drop_pending_updates=False))
            self._polling = asyncio.create_task(poll(
                self.bot, self.feed.feed, allowed_updates=ALLOWED_UPDATES,
                polling_timeout=self._polling_timeout, request_timeout=self.bot.session.timeout,
                concurrency=MAX_CONCURRENT_UPDATES, handling=self._handling,
            ), name="telegram-polling")
        log.info("telegram started bot=@%s mode=%s", me.username, self._settings.telegram_mode)

    async def stop(self) -> None:
        task = self._polling
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        if task is not None and not task.cancelled() and task.exception() is not None:
            log.error("telegram polling had failed error=%s", type(task.exception()).__name__)
        await self.inflight.drain(DRAIN_TIMEOUT)
        log.info("telegram stopped")

    async def set_commands(self) -> None:
        """The command menu in Ukrainian, English, and the default language for the rest."""
        if self._command_list is None:
            return
        languages: list[tuple[str | None, str]] = [(lang, lang) for lang in COMMAND_LOCALES]
        languages.append((None, self._settings.default_locale))
        for language_code, locale in languages:
            commands = [BotCommand(command=name, description=text)
                        for name, text in self._command_list(locale)]
            try:
                await self.bot.set_my_commands(commands, language_code=language_code)
            except TelegramAPIError as exc:  # the menu is a convenience; the bot still works
                log.warning("setMyCommands failed language=%s error=%s",
                            language_code or "default", type(exc).__name__)

    async def set_menu_button(self) -> None:
        """The chat's menu button opens the web diary as a Mini App (when it is offered)."""
        url = self._settings.diary_url
        if url is None:
            return
        button = MenuButtonWebApp(text=diary_label(self._settings.default_locale),
                                  web_app=WebAppInfo(url=url))
        try:
            await self.bot.set_chat_menu_button(menu_button=button)
        except TelegramAPIError as exc:  # a convenience, like the command menu
            log.warning("setChatMenuButton failed error=%s", type(exc).__name__)

    async def _start_webhook(self, allowed: list[str]) -> None:
        base = self._settings.webhook_base_url
        if not base:
            log.info("webhook mode without WEBHOOK_BASE_URL: serving %s, setWebhook left to "
                     "the operator", WEBHOOK_PATH)
            return
        url = base.rstrip("/") + WEBHOOK_PATH
        await self._call("setWebhook", self.bot.set_webhook(
            url, secret_token=_secret(self._settings), allowed_updates=allowed,
            drop_pending_updates=False,
        ))

    async def _call(self, what: str, call: Any) -> Any:
        try:
            return await call
        except TelegramUnauthorizedError as exc:
            raise StartupError("the Bot API refused TELEGRAM_BOT_TOKEN (401 Unauthorized)") from exc
        except TelegramAPIError as exc:
            raise StartupError(
                f"Telegram {what} failed at {self._settings.telegram_api_url}: "
                f"{type(exc).__name__}") from exc


def check_telegram_settings(settings: Settings) -> str | None:
    """One line saying what is wrong with the Telegram settings, or None."""
    if settings.telegram_mode == "webhook" and not _secret(settings):
        return ("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -): "
                "without it anyone could post updates")
    return None


def _secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret
    return secret.get_secret_value() if secret is not None else ""
