"""The composition root of `run`: everything is built here, in the running program.

    settings → database (migrated) → conversation core → turn runner → messenger bots
             → notifications (role worker/all) → web server + front doors (role web/all)
             → wait for SIGTERM/SIGINT → stop in the reverse order

One `Wake` (notifications/wake.py) is made here and handed to the ingest API and the
notifications: a write the API took wakes this process's dispatcher at once (and, on
PostgreSQL, the worker processes, through NOTIFY).

Roles (`run --role`), so that a city can run several processes:
  * `web`    - the front doors (Telegram polling or its webhook route, the Viber
               webhook) and the one web server (ingest API, /healthz, /metrics);
  * `worker` - the notifications: the outbox dispatcher and the scheduled jobs;
  * `all`    - both, in one process (the default, and a bare `python run_bot.py`).

Long polling admits a single receiver per bot: with several `web` processes use
TELEGRAM_MODE=webhook behind a load balancer.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from aiohttp import web

from school_bot.bot.gc_freeze import freeze_start_up
from school_bot.handlers.extensions import Extension
from school_bot.shared.delivery import Deliverer
from school_bot.shared.events import Platform
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.migrate import upgrade
from school_bot.web.app import RouteRegistrar, build_web_app

if TYPE_CHECKING:
    from school_bot.notifications.wake import Wake

log = logging.getLogger("school_bot.bot.app")

Role = Literal["web", "worker", "all"]
ROLES: tuple[Role, ...] = ("all", "web", "worker")
WEB_SHUTDOWN_TIMEOUT = 10.0
NO_MESSENGER = ("No messenger is configured: set TELEGRAM_BOT_TOKEN or VIBER_AUTH_TOKEN "
                "(see .env.example), or try the bot in the console: python run_bot.py demo")


@dataclass
class ViberPart:
    client: Any
    register: RouteRegistrar
    deliverer: Deliverer
    base_url: str | None

    async def start(self) -> None:
        """Tell Viber where the webhook is (Viber calls it at once: the server must be up)."""
        if not self.base_url:
            log.info("viber: WEBHOOK_BASE_URL is not set, set_webhook left to the operator")
            return
        from school_bot.bot.viber.webhook import ROUTE

        await self.client.set_webhook(self.base_url.rstrip("/") + ROUTE)


class ConfigurationError(Exception):
    """The settings cannot run this role; the message is one line for the operator."""


def check_configuration(settings: Settings, role: Role) -> None:
    """Refuse to start, with one clear line, what could not work."""
    from school_bot.bot.telegram.front_door import check_telegram_settings

    messengers = settings.telegram_enabled or settings.viber_enabled
    if not messengers and role in ("all", "worker"):
        raise ConfigurationError(NO_MESSENGER)
    if settings.telegram_enabled and role != "worker":
        problem = check_telegram_settings(settings)
        if problem:
            raise ConfigurationError(problem)


async def run(settings: Settings, role: Role = "all", *,
              stop: asyncio.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `stop` is set); 0 on a clean stop."""
    check_configuration(settings, role)
    stop = stop or asyncio.Event()
    _on_signals(stop.set)
    async with AsyncExitStack() as stack:
        program = Program(settings, role, stack)
        if not await _started(program, stop):
            log.info("stopped during start role=%s", role)
            return 0
        failed = await program.wait(stop)
        log.info("stopping role=%s", role)
    log.info("stopped role=%s", role)
    return 1 if failed else 0


async def _started(program: Program, stop: asyncio.Event) -> bool:
    """Start the program unless a signal comes first (a slow database must not pin us)."""
    starting = asyncio.create_task(program.start(), name="start")
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not starting.done():
        starting.cancel()
        with suppress(asyncio.CancelledError):
            await starting
        return False
    starting.result()  # a failure to start is raised here
    return True


class Program:
    """The parts of one process; each stop is registered on `stack` as its part starts."""

    def __init__(self, settings: Settings, role: Role, stack: AsyncExitStack) -> None:
        self.settings = settings
        self.role = role
        self.stack = stack
        self.watched: list[asyncio.Task[Any]] = []
        self.web_addresses: list[str] = []

    async def start(self) -> None:
        database = Database.connect(self.settings.database_url)
        self.stack.push_async_callback(database.dispose)
        await upgrade(database.engine)
        from school_bot.bot.turns import TurnRunner
        from school_bot.handlers.conversation import Conversation  # the conversation core

        conversation = Conversation(self.settings, extensions=extensions(self.settings))
        metrics = _metrics() if self.role in ("web", "all") else None
        turns = TurnRunner(database, conversation, metrics=metrics)  # every front door's turn
        telegram_bot = await self._telegram_bot()
        viber = await self._viber(database, turns)
        deliverers = self._deliverers(telegram_bot, viber)
        from school_bot.notifications.wake import Wake

        wake = Wake()
        if self.role in ("worker", "all"):
            await self._notifications(database, deliverers, wake)
        if self.role in ("web", "all"):
            await self._front_doors(database, turns, conversation, telegram_bot, viber, metrics,
                                    wake)
        log.info("running role=%s telegram=%s viber=%s web=%s", self.role,
                 self.settings.telegram_mode if telegram_bot else "off",
                 "on" if viber else "off", ",".join(self.web_addresses) or "off")
        freeze_start_up()  # what start-up built lives as long as the process

    async def wait(self, stop: asyncio.Event) -> bool:
        """Until `stop`, or until a part that should run forever ends (then True)."""
        stopping = asyncio.create_task(stop.wait(), name="stop-signal")
        done, _ = await asyncio.wait([stopping, *self.watched], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in done - {stopping}:
            error = None if task.cancelled() else task.exception()
            log.error("a part stopped on its own part=%s error=%s", task.get_name(),
                      type(error).__name__ if error else "-")
        return stopping not in done

    # ------------------------------------------------------------ messengers

    async def _telegram_bot(self) -> Any | None:
        if not self.settings.telegram_enabled:
            return None
        from school_bot.bot.telegram.front_door import build_bot

        bot = build_bot(self.settings)
        self.stack.push_async_callback(bot.session.close)
        return bot

    async def _viber(self, database: Database, turns: Any) -> ViberPart | None:
        """The Viber part (bot/viber/): client, webhook, deliverer."""
        if not self.settings.viber_enabled:
            return None
        from school_bot.bot.viber.client import ViberClient
        from school_bot.bot.viber.delivery import ViberDeliverer
        from school_bot.bot.viber.files import FileStore
        from school_bot.bot.viber.webhook import ViberWebhook

        settings = self.settings
        assert settings.viber_auth_token is not None  # viber_enabled: it is set
        token = settings.viber_auth_token.get_secret_value()
        http = aiohttp.ClientSession()
        self.stack.push_async_callback(http.close)
        client = ViberClient(http, api_url=settings.viber_api_url, auth_token=token,
                             bot_name=settings.viber_bot_name, avatar=settings.viber_bot_avatar)
        files = FileStore(settings.webhook_base_url)
        webhook = ViberWebhook(database=database, turns=turns, client=client,
                               auth_token=token, files=files)
        return ViberPart(client, webhook.register, ViberDeliverer(client, files),
                         settings.webhook_base_url)

    def _deliverers(self, telegram_bot: Any | None, viber: Any | None) -> dict[str, Deliverer]:
        deliverers: dict[str, Deliverer] = {}
        if telegram_bot is not None:
            from school_bot.bot.telegram_delivery import TelegramDeliverer

            deliverers[Platform.TELEGRAM] = TelegramDeliverer(telegram_bot)
        if viber is not None:
            deliverers[Platform.VIBER] = viber.deliverer
        return deliverers

    # ------------------------------------------------------------ notifications

    async def _notifications(self, database: Database, deliverers: dict[str, Deliverer],
                             wake: Wake) -> None:
        """The outbox dispatcher and the scheduled jobs (notifications/)."""
        from school_bot.notifications.service import NotificationService

        service = NotificationService(database, self.settings, deliverers, wake=wake)
        await service.start()
        self.stack.push_async_callback(service.stop)

    # ------------------------------------------------------------ web server + front doors

    async def _front_doors(self, database: Database, turns: Any, conversation: Any,
                           telegram_bot: Any | None, viber: Any | None, metrics: Any,
                           wake: Wake) -> None:
        telegram = self._telegram_front_door(turns, conversation, telegram_bot)
        registrars = web_registrars(metrics, wake) + diary_registrars(self.settings)
        if telegram is not None:
            registrars += telegram.registrars()
            self.stack.push_async_callback(telegram.stop)  # runs after the web server stopped
        if viber is not None:
            registrars.append(viber.register)
        await self._web_server(build_web_app(database, self.settings, registrars))
        if telegram is not None:
            await telegram.start()
            if telegram.polling_task is not None:
                self.watched.append(telegram.polling_task)
        if viber is not None:
            await viber.start()

    def _telegram_front_door(self, turns: Any, conversation: Any, bot: Any | None) -> Any | None:
        if bot is None:
            return None
        from school_bot.bot.telegram.front_door import TelegramFrontDoor
        from school_bot.handlers.commands import command_list

        return TelegramFrontDoor.assemble(
            bot, turns, self.settings,
            command_list=lambda locale: command_list(locale, conversation.extensions))

    async def _web_server(self, app: web.Application) -> None:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=WEB_SHUTDOWN_TIMEOUT)
        await runner.setup()
        self.stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, self.settings.web_host, self.settings.web_port)
        try:
            await site.start()
        except OSError as exc:
            from school_bot.bot.telegram.front_door import StartupError

            raise StartupError(f"the web server cannot listen on {self.settings.web_host}:"
                               f"{self.settings.web_port}: {exc.strerror or exc}") from exc
        self.web_addresses = [_address(a) for a in runner.addresses]
        log.info("web server listening on %s", ",".join(self.web_addresses))


def extensions(settings: Settings) -> list[Extension]:
    """The core's plug-ins (handlers/extensions.py), in menu order."""
    from school_bot.handlers.absence_explain import build as absence_explain
    from school_bot.handlers.absence_review import build as absence_review
    from school_bot.handlers.announce_plug import build as announce
    from school_bot.handlers.calendar_feed import CalendarExtension
    from school_bot.handlers.directory import DirectoryExtension
    from school_bot.handlers.reports_view import ReportsExtension
    from school_bot.handlers.web_diary import DiaryExtension

    diary = [DiaryExtension()] if settings.diary_url else []
    return [announce(settings), ReportsExtension(), DirectoryExtension(), CalendarExtension(), *diary,
            absence_review(),  # absence_review: the teachers' decisions on absence notes (xt:)
            absence_explain(settings)]  # the parents' explanations (xp:)


def web_registrars(metrics: Any | None, wake: Wake | None = None) -> list[RouteRegistrar]:
    """Routes every web process serves besides the messengers' webhooks.

    Metrics first, so that the ingest API counts into the same `Metrics` object; the
    ingest API wakes the process's notifications through `wake`.
    """
    from school_bot.web.api import register_api
    from school_bot.web.calendar import register_calendar
    from school_bot.web.health import register_health

    registrars: list[RouteRegistrar] = [metrics.register] if metrics is not None else []
    return [*registrars, register_health, partial(register_api, wake=wake), register_calendar]


def diary_registrars(settings: Settings) -> list[RouteRegistrar]:
    """The web diary at /app/ (web/diary/) when WEB_PUBLIC_URL offers it; with Telegram,
    the check of its Mini App launch data (bot/telegram/web_app.py)."""
    if not settings.diary_url:
        return []
    from school_bot.web.diary.routes import register_diary

    check = None
    if settings.telegram_enabled and settings.telegram_bot_token is not None:
        from school_bot.bot.telegram.web_app import launch_check

        check = launch_check(settings.telegram_bot_token.get_secret_value())
    return [partial(register_diary, telegram=check)]


def _metrics() -> Any:
    from school_bot.web.metrics import Metrics

    return Metrics()


def _address(address: Any) -> str:
    if isinstance(address, tuple):
        return f"{address[0]}:{address[1]}"
    return str(address)


def _on_signals(callback: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, callback)
