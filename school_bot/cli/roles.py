"""`db-roles`: create or entitle the application's PostgreSQL role (school_bot/storage/pg_roles.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from school_bot.shared.settings import Settings
from school_bot.storage.db import Database, is_sqlite
from school_bot.storage.pg_roles import RoleCheck, apply_grants, grant_statements


def register(commands: argparse._SubParsersAction) -> None:
    roles = commands.add_parser(
        "db-roles", help="PostgreSQL: create/entitle the application role (append-only audit log)")
    roles.add_argument("--app-role", required=True, metavar="NAME",
                       help="the role the bot connects as (created if missing)")
    roles.add_argument("--password-env", metavar="VAR",
                       help="set the role's password from this environment variable")
    roles.add_argument("--print", action="store_true", dest="print_only",
                       help="print the SQL instead of running it")
    roles.set_defaults(handler=run_db_roles)


def run_db_roles(args: argparse.Namespace, settings: Settings) -> int:
    try:
        statements = grant_statements(args.app_role)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.print_only:
        print(";\n".join(statements) + ";")
        return 0
    password = os.environ.get(args.password_env) if args.password_env else None
    if args.password_env and not password:
        print(f"the environment variable {args.password_env} is empty or missing", file=sys.stderr)
        return 2
    if is_sqlite(settings.database_url):
        print("db-roles is for PostgreSQL; SQLite has no roles (see docs/postgres-roles.md)",
              file=sys.stderr)
        return 2
    database = Database.connect(settings.database_url)

    async def _go() -> RoleCheck:
        try:
            return await apply_grants(database, args.app_role, password)
        finally:
            await database.dispose()

    check = asyncio.run(_go())
    for line in check.notes:
        print(line)
    for line in check.problems:
        print(f"problem: {line}", file=sys.stderr)
    return 0 if check.ok else 1
