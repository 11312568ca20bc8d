"""`python run_bot.py demo`: the console chat on the demo data set.

On an empty database the made-up city is written to `demo_data/` and imported
(storage.ingest); the demo parent's number is printed so that the first thing to type
is `/contact <that number>`. Uses DATABASE_URL (default: the SQLite file).

While the chat runs, the web diary and the calendar feed are served on this machine
(WEB_HOST:WEB_PORT, or a free port when that one is taken), so the links `/diary` and
Settings → Calendar print open in a browser here. A WEB_PUBLIC_URL that is set is
used as it is (the web role serving it runs elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from sqlalchemy import func, select

from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.migrate import upgrade
from school_bot.storage.models import School

DEMO_NOTE = "demo.json"  # in the demo folder: the demo parent's made-up number


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="chat with the bot in the terminal, on demo data")
    demo.add_argument("--folder", type=Path, default=Path("demo_data"),
                      help="where the demo CSV files are written (default: demo_data/)")
    demo.add_argument("--language", choices=("uk", "en"), default=None,
                      help="the chat's language (default: DEFAULT_LOCALE)")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_demo(args.folder, args.language or settings.default_locale, settings))


async def _demo(folder: Path, language: str, settings: Settings) -> int:
    from school_bot.bot.app import extensions
    from school_bot.bot.console import ConsoleChat, run_console
    from school_bot.bot.turns import TurnRunner
    from school_bot.handlers.conversation import Conversation

    database = Database.connect(settings.database_url)
    try:
        await upgrade(database.engine)
        phone = await demo_parent_phone(database, folder)
        async with AsyncExitStack() as stack:
            if not settings.web_public_url:
                settings = await _serve_the_diary(database, settings, stack)
            print(_intro(language, phone))
            core = Conversation(settings, extensions=extensions(settings))
            chat = ConsoleChat(TurnRunner(database, core), language=language)
            await run_console(chat, echo=not sys.stdin.isatty())
    finally:
        await database.dispose()
    return 0


async def _serve_the_diary(database: Database, settings: Settings, stack: AsyncExitStack) -> Settings:
    """The web diary and the calendar feed on this machine, for the demo's links: the
    settings with WEB_PUBLIC_URL naming where they are served."""
    from aiohttp import web

    from school_bot.bot.app import diary_registrars, web_registrars
    from school_bot.web.app import build_web_app

    runner: web.AppRunner | None = None
    for port in (settings.web_port, 0):  # the configured port, else any free one
        served = settings.model_copy(update={"web_public_url": f"http://{settings.web_host}:{port}"})
        runner = web.AppRunner(build_web_app(database, served, [
            *web_registrars(None), *diary_registrars(served)]), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.web_host, port).start()
        except OSError:
            await runner.cleanup()
            continue
        stack.push_async_callback(runner.cleanup)
        host, bound = runner.addresses[0][:2]
        return settings.model_copy(update={"web_public_url": f"http://{host}:{bound}"})
    return settings  # nothing could listen: the demo offers no diary


async def demo_parent_phone(database: Database, folder: Path) -> str | None:
    """Load the demo city into an empty database; the demo parent's number either way."""
    async with database.unit_of_work() as session:
        schools = await session.scalar(select(func.count()).select_from(School))
    if not schools:
        from school_bot.storage.demo import generate_demo_data
        from school_bot.storage.ingest import import_folder

        summary = generate_demo_data(folder)
        await import_folder(database, folder, actor="demo", progress=False)
        (folder / DEMO_NOTE).write_text(json.dumps({"parent_phone": summary.demo_parent_phone}))
    note = folder / DEMO_NOTE
    return json.loads(note.read_text()).get("parent_phone") if note.exists() else None


def _intro(language: str, phone: str | None) -> str:
    from school_bot.shared.i18n import t

    lines = [t(language, "Console chat with the parents' bot. Type /start to begin, "
                         "a number to press a button, Ctrl+D to leave.")]
    if phone:
        lines.append(t(language, "You are the demo parent: share your number with "
                                 "/contact {phone}", phone=phone))
    return "\n".join(lines)
