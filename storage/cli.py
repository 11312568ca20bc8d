"""Storage commands: migrate, import, demo-data."""

from __future__ import annotations

import argparse
import asyncio

from storage.db import Database
from storage.migrate import upgrade
from storage.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=run_migrate)


def run_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    async def _go() -> None:
        database = Database.connect(settings.database_url)
        try:
            await upgrade(database.engine)
        finally:
            await database.dispose()

    asyncio.run(_go())
    print("database schema is up to date")
    return 0
