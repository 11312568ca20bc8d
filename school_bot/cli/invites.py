"""`invites --school ID [--class ID | --staff]`: codes for consenting guardians (or staff
members), and sheets to print: one per class, or one of the school's staff."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.invite_sheets import (
    STAFF_SHEET, InviteSlip, deep_links, role_name, sheet_title, write_csv, write_html,
)
from school_bot.storage.invites import issue_code
from school_bot.storage.migrate import upgrade
from school_bot.storage.models import (
    Guardian, GuardianStudent, InviteCode, School, SchoolClass, Staff, Student, utc_now,
)
from school_bot.shared.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("invites", help="issue invitation codes and write printable sheets "
                                                 "(per class, or for the staff)")
    parser.add_argument("--school", required=True)
    whom = parser.add_mutually_exclusive_group()
    whom.add_argument("--class", dest="class_id")
    whom.add_argument("--staff", action="store_true",
                      help="codes for the school's consenting staff instead of its guardians")
    parser.add_argument("--out", type=Path, default=Path("invites"))
    parser.add_argument("--reissue", action="store_true",
                        help="new codes also for people who have one (the old ones stop working)")
    parser.add_argument("--days", type=int, default=30, help="how long a code stays valid")
    parser.add_argument("--lang", choices=("uk", "en"), default=None)
    parser.set_defaults(handler=run_invites)


def _has_usable_code(owner: ColumnElement[bool]) -> Exists:
    return exists(select(InviteCode.id).where(
        owner, InviteCode.used_at.is_(None), InviteCode.revoked_at.is_(None),
        InviteCode.expires_at > utc_now()))


async def _guardians(session: AsyncSession, school_id: str, class_id: str | None,
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
        query = query.where(~_has_usable_code(InviteCode.guardian_id == Guardian.id))
    return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def _staff(session: AsyncSession, school_id: str, reissue: bool) -> list[Staff]:
    query = (select(Staff).where(Staff.school_id == school_id, Staff.consent.is_(True),
                                 Staff.phone.is_not(None))
             .order_by(Staff.role, Staff.full_name, Staff.id))
    if not reissue:
        query = query.where(~_has_usable_code(InviteCode.staff_id == Staff.id))
    return list((await session.scalars(query)).all())


async def _guardian_slips(session: AsyncSession, school: School, args: argparse.Namespace,
                          lifetime: timedelta) -> tuple[int, dict[str, list[InviteSlip]]]:
    codes: dict[str, str] = {}
    by_class: dict[str, list[InviteSlip]] = defaultdict(list)
    for school_class, pupil, guardian in await _guardians(session, school.id, args.class_id,
                                                          args.reissue):
        if guardian.id not in codes:
            codes[guardian.id] = await issue_code(session, guardian.id, lifetime=lifetime)
            await audit.record(session, actor="cli:invites", action="invite.issued",
                               school_id=school.id, entity="guardian", entity_id=guardian.id,
                               details={"class_id": school_class.id, "days": args.days})
        by_class[school_class.name].append(InviteSlip(
            school_class.name, pupil.full_name, guardian.full_name or "", codes[guardian.id]))
    return len(codes), by_class


async def _staff_slips(session: AsyncSession, school: School, args: argparse.Namespace,
                       lifetime: timedelta, locale: str) -> tuple[int, dict[str, list[InviteSlip]]]:
    slips = []
    for person in await _staff(session, school.id, args.reissue):
        code = await issue_code(session, staff_id=person.id, lifetime=lifetime)
        await audit.record(session, actor="cli:invites", action="invite.issued",
                           school_id=school.id, entity="staff", entity_id=person.id,
                           details={"days": args.days})
        slips.append(InviteSlip(role_name(person.role, locale), None, person.full_name or "", code))
    return len(slips), ({STAFF_SHEET: slips} if slips else {})


async def issue_for_school(database: Database, settings: Settings, args: argparse.Namespace) -> int:
    locale = args.lang or settings.default_locale
    lifetime = timedelta(days=args.days)
    async with database.unit_of_work() as session:
        school = await session.get(School, args.school)
        if school is None:
            print(f"no school with id {args.school!r}", file=sys.stderr)
            return 2
        if args.staff:
            issued, sheets = await _staff_slips(session, school, args, lifetime, locale)
        else:
            issued, sheets = await _guardian_slips(session, school, args, lifetime)
    _write_sheets(args.out, school.name, sheets, settings, locale)
    print(f"{issued} codes issued for {school.name}; sheets in {args.out}")
    return 0


def _write_sheets(out: Path, school: str, sheets: dict[str, list[InviteSlip]],
                  settings: Settings, locale: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for sheet, slips in sheets.items():
        links = {s.code: deep_links(s.code, settings.telegram_bot_username, settings.viber_chat_uri)
                 for s in slips}
        stem = out / f"invites-{sheet}"
        write_csv(stem.with_suffix(".csv"), slips, links, locale)
        write_html(stem.with_suffix(".html"), sheet_title(school, sheet, locale), slips, links,
                   locale)


def run_invites(args: argparse.Namespace, settings: Settings) -> int:
    async def _go() -> int:
        database = Database.connect(settings.database_url)
        try:
            await upgrade(database.engine)
            return await issue_for_school(database, settings, args)
        finally:
            await database.dispose()

    return asyncio.run(_go())
