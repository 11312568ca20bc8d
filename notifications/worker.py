"""`python -m notifications.worker`: a process that only delivers notifications.

It builds the same NotificationService as `run_bot.py run --role worker`, from the
same Settings (DATABASE_URL, TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL, NOTIFY_*), with the
Telegram deliverer, and runs until SIGTERM/SIGINT. Useful where the conversation core
is not wanted in the process (and for the crash-and-resume test).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from contextlib import suppress

from bot.delivery import Deliverer
from handlers.events import Platform
from notifications.service import NotificationService
from storage.db import Database
from storage.settings import Settings, SettingsError, load_settings


async def serve(settings: Settings, *, jobs: bool = True) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    database = Database.connect(settings.database_url)
    deliverers: dict[str, Deliverer] = {}
    bot = None
    if settings.telegram_enabled:
        from bot.telegram.front_door import build_bot
        from bot.telegram_delivery import TelegramDeliverer

        bot = build_bot(settings)
        deliverers[Platform.TELEGRAM] = TelegramDeliverer(bot)
    if not deliverers:
        print("no messenger configured (TELEGRAM_BOT_TOKEN)", file=sys.stderr)
        return 2
    service = NotificationService(database, settings, deliverers, jobs=jobs)
    try:
        await service.start()
        print("WORKER READY", flush=True)
        await stop.wait()
    finally:
        await service.stop()
        if bot is not None:
            await bot.session.close()
        await database.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deliver the outbox's notifications.")
    parser.add_argument("--no-jobs", action="store_true", help="only deliver, run no jobs")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(settings, jobs=not args.no_jobs))


if __name__ == "__main__":
    sys.exit(main())
