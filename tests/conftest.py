"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is found at TEST_POSTGRES_URL (default: the local server on
127.0.0.1:5432, database `test`); each pytest process (the suite runs in two:
pytest-xdist) works in a database of its own, created from there and dropped at the
end. Where no server answers, the PostgreSQL half of the suite skips with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from school_bot.shared.settings import SettingsError, load_settings
from school_bot.storage import speed_paths

# SPEED_PATHS=false python -m pytest: the whole suite on the libraries' public API only
with contextlib.suppress(SettingsError):  # another setting is malformed: its own tests say so
    speed_paths.configure(load_settings(_env_file=None).speed_paths)

# After the switch: aiogram's models are deferred (or not) as aiogram is imported
import school_bot.bot.telegram  # noqa: F401  (aiogram imported as the bot imports it)
from school_bot.storage.db import Database, create_engine
from school_bot.storage.migrate import upgrade
from school_bot.storage.models import Base
from tests.support.city import build_city

pytest_plugins = ["tests.support.pii_guard"]

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin_url() -> str | None:
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)
    return url or None


async def _create_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def _drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL tests disabled (TEST_POSTGRES_URL is empty)")
    name = f"test_bot_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        asyncio.run(asyncio.wait_for(_create_pg_database(admin, name), 10))
    except Exception as exc:  # noqa: BLE001 - any failure to create it means "absent"
        reason = f"PostgreSQL not reachable at {make_url(admin).render_as_string()}: {exc}"
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(reason)  # CI promises both databases; a silent skip would hide it
        pytest.skip(reason)
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_drop_pg_database(admin, name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _truncate_all(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with database.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "bot.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    # the server's one test database: emptied here (in a thread of its own: a sync
    # fixture may be set up while the test's event loop runs), so a test that connects
    # by URL finds it as empty as one that takes `db`
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _emptied(url)).result()
    return url


async def _emptied(url: str) -> None:
    database = Database.connect(url)
    try:
        await _truncate_all(database)
    finally:
        await database.dispose()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database.connect(db_url)
    yield database
    await database.dispose()


@pytest.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[Database]:
    """For tests that are about PostgreSQL itself (its connections, its server)."""
    database = Database.connect(postgres_url)
    await _truncate_all(database)
    yield database
    await database.dispose()


@pytest.fixture
def sqlite_db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """For tests that are about SQLite itself (file bytes, WAL)."""
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def _switched(on: bool) -> Iterator[bool]:
    before = speed_paths.enabled()
    speed_paths.configure(on)
    try:
        yield on
    finally:
        speed_paths.configure(before)


@pytest.fixture
def speed_paths_on() -> Iterator[bool]:
    """For a test of a speed path itself: on, whatever SPEED_PATHS says."""
    yield from _switched(True)


@pytest.fixture(params=[True, False], ids=["speed-paths", "public-api"])
def each_path(request: pytest.FixtureRequest) -> Iterator[bool]:
    """The test runs with the speed paths on and with the libraries' public API only
    (SPEED_PATHS=false); aiogram's import, decided once per process, stays as it was."""
    yield from _switched(request.param)


@pytest.fixture
async def city(db: Database) -> Database:
    """The reports' small city (tests/support/city.py) in the test's database."""
    await build_city(db)
    return db
