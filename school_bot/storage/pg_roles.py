"""The application's PostgreSQL role, which can append to the audit log but not rewrite it
(`run_bot.py db-roles`, school_bot/cli/roles.py).

The role gets the ordinary rights (SELECT, INSERT, UPDATE, DELETE) on every table of the
schema, except: audit_log SELECT and INSERT only; audit_head no DELETE (it must move the
chain's head, and a rewritten head is caught by `audit verify`); alembic_version SELECT
only (the application checks the schema but never changes it). The tables are owned by
another role (the one running `migrate` and this command): an owner can grant itself
anything. The trigger of migration 0002 refuses UPDATE/DELETE/TRUNCATE of audit_log
to every non-superuser, owner included. See docs/postgres-roles.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from school_bot.storage.db import Database

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
GUARD_TRIGGER = "audit_log_append_only"


def grant_statements(app_role: str, schema: str = "public") -> list[str]:
    """The SQL that creates (if needed) and entitles the role; safe to run again after a migration."""
    if not ROLE_NAME.match(app_role) or not ROLE_NAME.match(schema):
        raise ValueError("a role or schema name is lower-case letters, digits and _ (at most 63)")
    role, sch = f'"{app_role}"', f'"{schema}"'
    return [
        (f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app_role}') THEN "
         f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION; END IF; END $$"),
        f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database()); END $$",
        f"GRANT USAGE ON SCHEMA {sch} TO {role}",
        f"REVOKE CREATE ON SCHEMA {sch} FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM {role}",
        f"GRANT {TABLE_RIGHTS} ON ALL TABLES IN SCHEMA {sch} TO {role}",
        f"REVOKE UPDATE, DELETE ON {sch}.audit_log FROM {role}",
        f"REVOKE DELETE ON {sch}.audit_head FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON {sch}.alembic_version FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} GRANT {TABLE_RIGHTS} ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]


def password_statement(app_role: str, password: str) -> str:
    literal = password.replace("'", "''")  # standard_conforming_strings is on since 9.1
    return f"ALTER ROLE \"{app_role}\" PASSWORD '{literal}'"


@dataclass
class RoleCheck:
    """What the role can do to the audit tables, as PostgreSQL itself answers."""

    role: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check_role(conn: AsyncConnection, app_role: str) -> RoleCheck:
    check = RoleCheck(app_role)
    found = (await conn.execute(text(
        "SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = :r"
    ), {"r": app_role})).first()
    if found is None:
        check.problems.append(f"role {app_role} does not exist")
        return check
    if found.rolsuper:
        check.problems.append(f"role {app_role} is a superuser: grants and the trigger do not bind it")
    if found.rolcreaterole:
        check.problems.append(f"role {app_role} may create roles, and so grant itself a way round")
    owner = await conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log' "
                                   "AND schemaname = current_schema()"))
    if owner == app_role:
        check.problems.append(f"role {app_role} owns audit_log: an owner can grant itself UPDATE "
                              "and disable the trigger; migrate as another role")
    for table, right, allowed in (("audit_log", "INSERT", True), ("audit_log", "UPDATE", False),
                                  ("audit_log", "DELETE", False), ("audit_log", "TRUNCATE", False),
                                  ("audit_head", "UPDATE", True), ("audit_head", "DELETE", False)):
        has = await conn.scalar(text("SELECT has_table_privilege(:r, :t, :p)"),
                                {"r": app_role, "t": table, "p": right})
        if has != allowed:
            check.problems.append(f"{app_role} {'lacks' if allowed else 'has'} {right} on {table}")
    trigger = await conn.scalar(text(
        "SELECT count(*) FROM pg_trigger WHERE tgname = :n AND tgrelid = 'audit_log'::regclass "
        "AND tgenabled <> 'D'"), {"n": GUARD_TRIGGER})
    if not trigger:
        check.problems.append("the append-only trigger on audit_log is missing or disabled "
                              "(run `python run_bot.py migrate`)")
    if check.ok:
        check.notes.append(f"role {app_role}: audit_log SELECT, INSERT only; audit_head without "
                           "DELETE; the append-only trigger is on")
    return check


async def apply_grants(database: Database, app_role: str, password: str | None = None) -> RoleCheck:
    """Create and entitle the role in one transaction, then ask PostgreSQL what it may do."""
    async with database.engine.begin() as conn:
        for statement in grant_statements(app_role):
            await conn.execute(text(statement))
        if password:
            await conn.execute(text(password_statement(app_role, password)))
        return await check_role(conn, app_role)
