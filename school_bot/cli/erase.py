"""`erase --guardian ID | --staff ID`: withdraw a person's consent and erase them, by hand.

For a school administrator's written request, and to erase again after a restore from
a backup older than the erasure (see docs/deploy.md).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.db import run_in_unit_of_work
from school_bot.storage.erasure import ErasureReport, erase_person
from school_bot.shared.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("erase", help="erase a guardian's or staff member's personal data")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--guardian", metavar="ID")
    who.add_argument("--staff", metavar="ID")
    parser.add_argument("--reason", default="consent withdrawn (by the administrator)")
    parser.set_defaults(handler=run_erase)


def run_erase(args: argparse.Namespace, settings: Settings) -> int:
    kind, person_id = ("guardian", args.guardian) if args.guardian else ("staff", args.staff)
    actor = f"cli:{_user()}"

    async def work(session: AsyncSession) -> ErasureReport:
        return await erase_person(session, kind, person_id, actor=actor, reason=args.reason)

    try:
        report = run_in_unit_of_work(settings.database_url, work)
    except LookupError:
        print(f"no {kind} with id {person_id!r}", file=sys.stderr)
        return 2
    erased = ", ".join(report.erased_fields) or "nothing left to erase"
    print(f"{kind} {person_id}: {erased}; {report.chats_unlinked} chats unlinked, "
          f"{report.invite_codes_revoked} codes revoked")
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
