"""The time zone a chat's quiet hours are read in: its school's.

One rule, in SQL, for the dispatcher's rows in hand and for its bulk deferral alike:

- a chat linked to pupils (through guardian rows with consent on file, in launched
  schools) takes the zone that most of those pupils' schools use; a tie goes to the
  zone of the lowest school id among the tied ones;
- a staff member's chat without such pupils takes its school's zone (launched);
- any other chat takes the city's (`TIMEZONE`), as does a zone name that the zoneinfo
  database does not know.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, distinct, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import (
    Account,
    AccountGuardian,
    Guardian,
    GuardianStudent,
    School,
    SchoolClass,
    Staff,
    Student,
)


def zone_named(name: str | None, city: ZoneInfo) -> ZoneInfo:
    """The zone of this name; the city's for none or an unknown one."""
    return known_zone(name) or city


def known_zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of_chats(account_ids: Collection[int] | None = None) -> Any:
    """A subquery of (account_id, timezone): the school zone of every chat that has one,
    or of these chats only. A chat it leaves out is in the city's zone."""
    pupils: Select[Any] = (
        select(AccountGuardian.account_id.label("account_id"), School.timezone.label("timezone"),
               literal_column("0").label("source"),
               func.count(distinct(Student.id)).label("pupils"),
               func.min(School.id).label("first_school"))
        .join(Guardian, and_(Guardian.id == AccountGuardian.guardian_id,
                             Guardian.consent.is_(True)))
        .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .join(School, and_(School.id == SchoolClass.school_id, School.launched.is_(True)))
        .group_by(AccountGuardian.account_id, School.timezone))
    staff: Select[Any] = (
        select(Account.id.label("account_id"), School.timezone.label("timezone"),
               literal_column("1").label("source"), literal_column("0").label("pupils"),
               School.id.label("first_school"))
        .join(Staff, Staff.id == Account.staff_id)
        .join(School, and_(School.id == Staff.school_id, School.launched.is_(True))))
    if account_ids is not None:
        pupils = pupils.where(AccountGuardian.account_id.in_(account_ids))
        staff = staff.where(Account.id.in_(account_ids))
    candidates = union_all(pupils, staff).subquery("zone_candidates")
    rank = func.row_number().over(
        partition_by=candidates.c.account_id,
        order_by=(candidates.c.source, candidates.c.pupils.desc(), candidates.c.first_school))
    ranked = select(candidates.c.account_id, candidates.c.timezone,
                    rank.label("place")).subquery("ranked_zones")
    return (select(ranked.c.account_id, ranked.c.timezone)
            .where(ranked.c.place == 1).subquery("chat_zones"))


def chats_in_zone(name: str, city: str) -> Any:
    """`SELECT accounts.id` of the chats whose quiet hours are read in the zone of this
    name (`city`: the city's zone name, which also takes every chat without a school
    zone); more conditions on `Account` may be added with `.where`."""
    zones = zone_of_chats()
    if name == city:
        return select(Account.id).where(Account.id.not_in(
            select(zones.c.account_id).where(zones.c.timezone != city)))
    return select(Account.id).where(Account.id.in_(
        select(zones.c.account_id).where(zones.c.timezone == name)))


async def school_zones(session: AsyncSession) -> set[str]:
    """The zone names of the launched schools."""
    return set((await session.scalars(
        select(School.timezone).distinct().where(School.launched.is_(True)))).all())
