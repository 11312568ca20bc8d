"""Developer tool: write the next migration from the models.

    python -m storage.regen_migration "what changed"

The schema's tables were created by `0001_initial`; every later change is a revision of
its own (`0002_audit_append_only`, `0003_outbox_status_vocabulary`, ...), since
databases in use are already at those revisions. After a model change, this tool
migrates a scratch SQLite database to the head, lets Alembic compare it with the models
and writes what differs as the next numbered revision. Review it: data conversions,
PostgreSQL-only statements and constraints Alembic does not compare (CHECK) are written
by hand.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from school_bot.storage.db import create_engine
from school_bot.storage.migrate import MIGRATIONS, alembic_config

VERSIONS = MIGRATIONS / "versions"


def next_revision() -> str:
    numbers = [int(p.name[:4]) for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")]
    return f"{max(numbers, default=0) + 1:04d}"


async def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        rev_id = next_revision()

        def _generate(connection: Connection) -> None:
            config = alembic_config(connection)
            command.upgrade(config, "head")
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)

        async with engine.begin() as conn:
            await conn.run_sync(_generate)
        await engine.dispose()
    print(f"wrote {next(VERSIONS.glob(f'{rev_id}_*.py'))}")


if __name__ == "__main__":
    asyncio.run(main(" ".join(sys.argv[1:]) or "schema change"))
