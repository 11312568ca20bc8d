"""Developer tool: (re)write the initial migration from the models.

Until the first release the schema lives in one migration, `0001_initial`; after a
model change run `python -m storage.regen_migration` and review the diff.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.migrate import MIGRATIONS, alembic_config

INITIAL = MIGRATIONS / "versions" / "0001_initial.py"


async def main() -> None:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.sqlite3'}")

        def _generate(connection: Connection) -> None:
            command.revision(alembic_config(connection), message="initial schema",
                             autogenerate=True, rev_id="0001", )

        async with engine.begin() as conn:
            await conn.run_sync(_generate)
        await engine.dispose()
    generated = next((MIGRATIONS / "versions").glob("0001_*.py"))
    generated.rename(INITIAL)
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    asyncio.run(main())
