"""Who a shared phone number or an invitation code may link to (consent on file only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import (
    Guardian,
    GuardianStudent,
    LaunchWaiter,
    School,
    SchoolClass,
    Staff,
    Student,
)


@dataclass
class Candidates:
    """The people a number belongs to, split by whether their school has launched."""

    # consenting guardian rows with a child in a launched school (a parent whom two
    # schools entered under their own ids has several)
    guardian_ids: list[str] = field(default_factory=list)
    staff_id: str | None = None         # a consenting staff member of a launched school
    waiting_schools: set[str] = field(default_factory=set)  # matched, but not launched yet

    @property
    def found(self) -> bool:
        return bool(self.guardian_ids) or self.staff_id is not None

    def add_guardian(self, guardian_id: str, school_id: str, launched: bool) -> None:
        if not launched:
            self.waiting_schools.add(school_id)
        elif guardian_id not in self.guardian_ids:
            self.guardian_ids.append(guardian_id)

    def add_staff(self, staff_id: str, school_id: str, launched: bool) -> None:
        if not launched:
            self.waiting_schools.add(school_id)
        elif self.staff_id is None:
            self.staff_id = staff_id


async def consenting_guardians(session: AsyncSession, phone: str) -> list[str]:
    return list((await session.scalars(
        select(Guardian.id).where(Guardian.phone == phone, Guardian.consent.is_(True))
        .order_by(Guardian.id))).all())


async def same_number(session: AsyncSession, guardian_ids: list[str]) -> list[str]:
    """Consenting guardian rows with the number of one of these rows (a Viber chat's linked
    rows, whose number the chat proved with contact and code): the rows a further code of
    the same parent may add."""
    numbers = select(Guardian.phone).where(Guardian.id.in_(guardian_ids), Guardian.phone.is_not(None))
    return list((await session.scalars(
        select(Guardian.id).where(Guardian.phone.in_(numbers), Guardian.consent.is_(True))
        .order_by(Guardian.id))).all())


async def consenting_staff(session: AsyncSession, phone: str) -> list[str]:
    return list((await session.scalars(
        select(Staff.id).where(Staff.phone == phone, Staff.consent.is_(True))
        .order_by(Staff.id))).all())


async def guardian_schools(session: AsyncSession, guardian_ids: list[str]) -> list[tuple[str, str, bool]]:
    """(guardian id, school id, launched) for every school the guardians' children attend."""
    if not guardian_ids:
        return []
    rows = await session.execute(
        select(GuardianStudent.guardian_id, School.id, School.launched)
        .join(Student, Student.id == GuardianStudent.student_id)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(GuardianStudent.guardian_id.in_(guardian_ids))
        .order_by(GuardianStudent.guardian_id).distinct()
    )
    return [(g, s, bool(launched)) for g, s, launched in rows.all()]


async def candidates_for_phone(session: AsyncSession, phone: str) -> Candidates:
    found = Candidates()
    for guardian_id, school_id, launched in await guardian_schools(
            session, await consenting_guardians(session, phone)):
        found.add_guardian(guardian_id, school_id, launched)
    staff = await session.execute(
        select(Staff.id, School.id, School.launched).join(School, School.id == Staff.school_id)
        .where(Staff.phone == phone, Staff.consent.is_(True)).order_by(Staff.id))
    for staff_id, school_id, launched in staff.all():
        found.add_staff(staff_id, school_id, launched)
    return found


async def candidates_for_guardian(session: AsyncSession, guardian_id: str) -> Candidates:
    """The same split for the guardian an invitation code names."""
    found = Candidates()
    guardian = await session.get(Guardian, guardian_id)
    if guardian is None or not guardian.consent:
        return found
    for _, school_id, launched in await guardian_schools(session, [guardian_id]):
        found.add_guardian(guardian_id, school_id, launched)
    return found


async def candidates_for_staff(session: AsyncSession, staff_id: str) -> Candidates:
    """The same split for the staff member an invitation code names."""
    found = Candidates()
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.consent:
        return found
    school = await session.get(School, staff.school_id)
    found.add_staff(staff_id, staff.school_id, school is not None and school.launched)
    return found


async def wait_for_launch(session: AsyncSession, account_id: int, school_ids: set[str]) -> None:
    """Remember the chat, so that the school's launch can be announced to it; a school it
    waited for that has launched since is no longer waited for (the chat is back)."""
    await session.execute(delete(LaunchWaiter).where(
        LaunchWaiter.account_id == account_id, LaunchWaiter.school_id.not_in(school_ids),
        LaunchWaiter.notified_at.is_not(None)))
    for school_id in sorted(school_ids):
        if await session.get(LaunchWaiter, (account_id, school_id)) is None:
            session.add(LaunchWaiter(account_id=account_id, school_id=school_id))


async def launched_since(session: AsyncSession, account_id: int) -> bool:
    """Whether a school this chat was turned away from has launched since (its news sent)."""
    found = await session.scalar(select(LaunchWaiter.school_id).where(
        LaunchWaiter.account_id == account_id, LaunchWaiter.notified_at.is_not(None)).limit(1))
    return found is not None
