"""The `apikey` command: create, list and revoke the school system's API keys.

    python run_bot.py apikey create --school 17 [--name "diary sync"]
    python run_bot.py apikey create --department [--name "city office"]
    python run_bot.py apikey list
    python run_bot.py apikey revoke 3

A new key is printed once and never again; each creation and revocation is audited.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.db import run_in_unit_of_work
from school_bot.storage.models import ApiKey, School
from school_bot.shared.settings import Settings
from school_bot.web.auth import create_key, list_keys, revoke_key

T = TypeVar("T")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("apikey", help="create, list or revoke API keys of the school system")
    actions = parser.add_subparsers(dest="apikey_action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="make a key and print it once")
    scope = create.add_mutually_exclusive_group(required=True)
    scope.add_argument("--school", metavar="ID", help="the school whose records the key may write")
    scope.add_argument("--department", action="store_true",
                       help="a key of the education department: may write every school")
    create.add_argument("--name", help="what the key is for (shown in the audit log)")
    create.set_defaults(handler=run_create)

    listing = actions.add_parser("list", help="every key: id, school, name, prefix, dates")
    listing.set_defaults(handler=run_list)

    revoke = actions.add_parser("revoke", help="stop a key from working, at once")
    revoke.add_argument("key_id", metavar="ID", type=int)
    revoke.set_defaults(handler=run_revoke)


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


def _in_unit_of_work(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return run_in_unit_of_work(settings.database_url, work)


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    school_id = None if args.department else args.school.strip()
    if school_id == "":
        print("--school needs a school id", file=sys.stderr)
        return 2
    name = (args.name or ("department" if school_id is None else f"school {school_id}")).strip()
    if not name or len(name) > 128:
        print("--name must be 1 to 128 characters", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> tuple[int, str, str, bool]:
        known = school_id is None or await session.scalar(
            select(School.id).where(School.id == school_id)) is not None
        new = await create_key(session, school_id=school_id, name=name, actor=cli_actor())
        return new.record.id, new.record.prefix, new.secret, known

    key_id, prefix, secret, known = _in_unit_of_work(settings, work)
    if not known:
        print(f"note: school {school_id!r} is not in the database yet", file=sys.stderr)
    scope = "every school (department)" if school_id is None else f"school {school_id}"
    print(f"API key {key_id} ({name!r}) for {scope}, prefix {prefix}")
    print("Store it now; it is not kept and cannot be shown again:")
    print(secret)
    return 0


def run_list(_args: argparse.Namespace, settings: Settings) -> int:
    keys = _in_unit_of_work(settings, list_keys)
    if not keys:
        print("no API keys")
        return 0
    rows = [("id", "school", "name", "prefix", "created", "revoked", "last used")]
    rows += [_row(key) for key in keys]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _row(key: ApiKey) -> tuple[str, ...]:
    return (str(key.id), key.school_id or "(department)", key.name, key.prefix + "…",
            _when(key.created_at), _when(key.revoked_at), _when(key.last_used_at))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> tuple[bool, bool]:
        before = await session.get(ApiKey, args.key_id)
        already = before is not None and before.revoked_at is not None
        record = await revoke_key(session, args.key_id, actor=cli_actor())
        return record is not None, already

    found, already = _in_unit_of_work(settings, work)
    if not found:
        print(f"no API key {args.key_id}", file=sys.stderr)
        return 1
    print(f"API key {args.key_id} was already revoked" if already
          else f"API key {args.key_id} revoked; it stops working at once")
    return 0
