"""`invites --school ID [--class ID]`: codes for consenting guardians, and sheets to print."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.db import Database
from storage.invite_sheets import InviteSlip, deep_links, write_csv, write_html
from storage.invites import issue_code
from storage.migrate import upgrade
from storage.models import Guardian, GuardianStudent, InviteCode, School, SchoolClass, Student, utc_now
from storage.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("invites", help="issue invitation codes and write printable sheets per class")
    parser.add_argument("--school", required=True)
    parser.add_argument("--class", dest="class_id")
    parser.add_argument("--out", type=Path, default=Path("invites"))
    parser.add_argument("--reissue", action="store_true",
                        help="new codes also for guardians who have one (the old ones stop working)")
    parser.add_argument("--days", type=int, default=30, help="how long a code stays valid")
    parser.add_argument("--lang", choices=("uk", "en"), default=None)
    parser.set_defaults(handler=run_invites)


async def _candidates(session: AsyncSession, school_id: str, class_id: str | None,
                      reissue: bool) -> list[tuple[SchoolClass, Student, Guardian]]:
    query = (
        select(SchoolClass, Student, Guardian)
        .join(Student, Student.class_id == SchoolClass.id)
        .join(GuardianStudent, GuardianStudent.student_id == Student.id)
        .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
        .where(SchoolClass.school_id == school_id, Guardian.consent.is_(True),
               Guardian.phone.is_not(None))
        .order_by(SchoolClass.name, Student.full_name, Guardian.id)
    )
    if class_id:
        query = query.where(SchoolClass.id == class_id)
    if not reissue:
        usable = select(InviteCode.id).where(
            InviteCode.guardian_id == Guardian.id, InviteCode.used_at.is_(None),
            InviteCode.revoked_at.is_(None), InviteCode.expires_at > utc_now())
        query = query.where(~exists(usable))
    return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def issue_for_school(database: Database, settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    locale = args.lang or settings.default_locale
    async with database.unit_of_work() as session:
        school = await session.get(School, args.school)
        if school is None:
            print(f"no school with id {args.school!r}", file=sys.stderr)
            return 2
        rows = await _candidates(session, school.id, args.class_id, args.reissue)
        codes: dict[str, str] = {}
        by_class: dict[str, list[InviteSlip]] = defaultdict(list)
        for school_class, pupil, guardian in rows:
            if guardian.id not in codes:
                codes[guardian.id] = await issue_code(session, guardian.id,
                                                      lifetime=timedelta(days=args.days))
                await audit.record(session, actor="cli:invites", action="invite.issued",
                                   school_id=school.id, entity="guardian", entity_id=guardian.id,
                                   details={"class_id": school_class.id, "days": args.days})
            by_class[school_class.name].append(InviteSlip(
                school_class.name, pupil.full_name, guardian.full_name or "", codes[guardian.id]))
    _write_sheets(args.out, school.name, by_class, settings, locale)
    print(f"{len(codes)} codes issued for {school.name}; sheets in {args.out}")
    return 0


def _write_sheets(out: Path, school: str, by_class: dict[str, list[InviteSlip]],
                  settings: Settings, locale: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for class_name, slips in by_class.items():
        links = {s.code: deep_links(s.code, settings.telegram_bot_username, settings.viber_chat_uri)
                 for s in slips}
        stem = out / f"invites-{class_name}"
        write_csv(stem.with_suffix(".csv"), slips, links, locale)
        write_html(stem.with_suffix(".html"), f"{school}, {class_name}", slips, links, locale)


def run_invites(args: argparse.Namespace, settings: Settings) -> int:
    async def _go() -> int:
        database = Database.connect(settings.database_url)
        try:
            await upgrade(database.engine)
            return await issue_for_school(database, settings, args)
        finally:
            await database.dispose()

    return asyncio.run(_go())
