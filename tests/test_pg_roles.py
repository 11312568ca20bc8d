"""The application's PostgreSQL role appends to the audit log and cannot rewrite it.

The role is made by `python run_bot.py db-roles` and the tests connect as it (trust
auth on the local server), as the bot would. Roles are cluster-wide, so each test
makes one with a name of its own and drops it at the end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from run_bot import main
from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.migrate import alembic_config, upgrade
from school_bot.storage.pg_roles import check_role, grant_statements

INSUFFICIENT_PRIVILEGE = "42501"


@pytest.fixture
def db(pg_db: Database) -> Database:
    """Roles and grants are PostgreSQL's; SQLite has none (docs/postgres-roles.md)."""
    return pg_db


async def drop_role(db: Database, role: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(f'DROP OWNED BY "{role}"'))
        await conn.execute(text(f'DROP ROLE "{role}"'))


@pytest.fixture
async def app_role(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    """A role made by the `db-roles` command, and a connection pool logged in as it."""
    role = f"test_app_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DATABASE_URL", db.url)
    status = await asyncio.to_thread(main, ["db-roles", "--app-role", role])
    assert status == 0
    as_role = Database.connect(make_url(db.url).set(username=role, password=None)
                               .render_as_string(hide_password=False))
    try:
        yield as_role
    finally:
        await as_role.dispose()
        await drop_role(db, role)


def sqlstate(error: DBAPIError) -> object:
    """PostgreSQL's code for the error (the driver's exception, which SQLAlchemy wraps)."""
    return getattr(error.orig, "pgcode", None)


async def refused(database: Database, statement: str) -> str:
    with pytest.raises(DBAPIError) as caught:
        async with database.engine.begin() as conn:
            await conn.execute(text(statement))
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    return str(caught.value.orig)


async def execute_as(database: Database, role: str, statement: str) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text(f'SET LOCAL ROLE "{role}"'))
        await conn.execute(text(statement))


async def test_the_app_role_appends_but_cannot_update_or_delete_audit_entries(
        db: Database, app_role: Database) -> None:
    async with app_role.unit_of_work() as session:
        for n in range(3):
            await audit.record(session, actor="system", action="test", details={"n": n})
    async with app_role.unit_of_work() as session:
        assert (await audit.verify_chain(session)).checked == 3

    assert "permission denied" in await refused(app_role, "UPDATE audit_log SET actor = 'x' WHERE id = 2")
    assert "permission denied" in await refused(app_role, "DELETE FROM audit_log WHERE id = 3")
    assert "permission denied" in await refused(app_role, "TRUNCATE audit_log")
    assert "permission denied" in await refused(app_role, "DELETE FROM audit_head")
    async with db.unit_of_work() as session:
        report = await audit.verify_chain(session)
    assert report.ok and report.checked == 3


async def test_the_app_role_keeps_ordinary_rights_and_can_start(db: Database, app_role: Database) -> None:
    async with app_role.engine.begin() as conn:
        await conn.execute(text("INSERT INTO schools (id, name, launched, timezone, updated_at) "
                                "VALUES ('s1', 'Школа 1', false, 'Europe/Kyiv', now())"))
        await conn.execute(text("UPDATE schools SET launched = true WHERE id = 's1'"))
        await conn.execute(text("DELETE FROM schools WHERE id = 's1'"))
    await upgrade(app_role.engine)  # `run` migrates at start: a no-op at head, and allowed
    await refused(app_role, "UPDATE alembic_version SET version_num = '0001'")
    await refused(app_role, "CREATE TABLE sneaky (id int)")


async def test_the_trigger_binds_a_role_that_holds_the_rights(db: Database) -> None:
    """Defence in depth: even a (non-superuser) role granted UPDATE and DELETE is refused."""
    role = f"test_owner_{uuid.uuid4().hex[:10]}"
    async with db.unit_of_work() as session:
        await audit.record(session, actor="system", action="test")
    async with db.engine.begin() as conn:
        await conn.execute(text(f'CREATE ROLE "{role}"'))
        await conn.execute(text(f'GRANT SELECT, UPDATE, DELETE, TRUNCATE ON audit_log TO "{role}"'))
    try:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(DBAPIError) as caught:
                await execute_as(db, role, statement)
            assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
            assert "append-only" in str(caught.value.orig)
        # The maintenance path: a superuser is let through (it could disable the trigger anyway).
        async with db.engine.begin() as conn:
            changed = await conn.execute(text("UPDATE audit_log SET actor = 'dba' WHERE id = 1"))
        assert changed.rowcount == 1
    finally:
        await drop_role(db, role)


async def test_the_check_refuses_a_superuser_as_the_app_role(db: Database) -> None:
    async with db.engine.connect() as conn:
        superuser = await conn.scalar(text("SELECT current_user"))
        check = await check_role(conn, superuser)
    assert not check.ok and any("superuser" in problem for problem in check.problems)


def test_role_names_are_checked_before_they_reach_sql() -> None:
    for bad in ('app"; DROP TABLE audit_log; --', "App", "", "x" * 64):
        with pytest.raises(ValueError, match="lower-case letters, digits and _"):
            grant_statements(bad)
    script = ";\n".join(grant_statements("school_app"))
    assert 'REVOKE UPDATE, DELETE ON "public".audit_log FROM "school_app"' in script


async def test_sqlite_has_no_trigger_and_the_command_says_so(sqlite_db_url: str,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    database = Database.connect(sqlite_db_url)
    try:
        async with database.engine.connect() as conn:
            triggers = await conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"))
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await database.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert triggers == 0 and version == head  # migrated through 0002, which adds none here
    monkeypatch.setenv("DATABASE_URL", sqlite_db_url)
    assert await asyncio.to_thread(main, ["db-roles", "--app-role", "school_app"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
