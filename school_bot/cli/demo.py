"""`python run_bot.py demo`: the console chat on the demo data set.

On an empty database the made-up city is written to `demo_data/` and imported
(storage.ingest); the demo parent's number is printed so that the first thing to type
is `/contact <that number>`. Uses DATABASE_URL (default: the SQLite file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
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
        print(_intro(language, phone))
        core = Conversation(settings, extensions=extensions(settings))
        chat = ConsoleChat(TurnRunner(database, core), language=language)
        await run_console(chat, echo=not sys.stdin.isatty())
    finally:
        await database.dispose()
    return 0


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
