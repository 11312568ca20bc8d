"""Developer tool: (re)write the initial migration from the models.

Until the first release the schema's tables live in one migration, `0001_initial`
(later migrations such as `0002_audit_append_only` add what models cannot say); after
a model change run `python -m storage.regen_migration` and review the diff.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.migrate import MIGRATIONS, alembic_config

INITIAL = MIGRATIONS / "versions" / "0001_initial.py"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "versions"
        scratch.mkdir()
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.sqlite3'}")

        def _generate(connection: Connection) -> None:
            config = alembic_config(connection)
            config.set_main_option("version_locations", str(scratch))
            command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")

        async with engine.begin() as conn:
            await conn.run_sync(_generate)
        await engine.dispose()
        shutil.move(str(next(scratch.glob("0001_*.py"))), INITIAL)
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    asyncio.run(main())
