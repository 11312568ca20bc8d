"""Schema migrations with Alembic, run on the application's own async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from school_bot.storage.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision`, in one transaction (see `_migrate`)."""
    await _migrate(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the schema back to `revision` (each migration's `downgrade`), in one transaction."""
    await _migrate(engine, lambda config: command.downgrade(config, revision))


async def _migrate(engine: AsyncEngine, step: Callable[[Config], None]) -> None:
    """Run an Alembic command on the engine's connection, in one transaction.

    On SQLite, a migration that changes a table's columns rebuilds the table (Alembic's
    batch mode drops the old one), and dropping a table with foreign keys on would run
    its ON DELETE actions on every row that refers to it. So foreign keys are off for
    the migration, checked before the commit, and on again afterwards: SQLite's own
    procedure for schema changes (it cannot change the setting inside a transaction).
    """
    def _run(connection: Connection) -> None:
        with connection.begin():
            step(alembic_config(connection))
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} broken foreign keys: {broken[:5]}")

    def _run_without_foreign_keys(connection: Connection) -> None:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("PRAGMA foreign_keys=OFF")
        try:
            _run(connection)
        finally:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    async with engine.connect() as conn:
        await conn.run_sync(_run_without_foreign_keys if conn.dialect.name == "sqlite" else _run)


async def drift(engine: AsyncEngine) -> list[object]:
    """Differences between the models and the migrated schema (empty when none)."""

    def _compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(_compare)


def autogenerate(engine_url_sync_connection: Connection, message: str) -> None:
    command.revision(alembic_config(engine_url_sync_connection), message=message, autogenerate=True)
