"""Who may read which reports: a director or school admin their school, the education
department every school. The one rule for the bot; the command line is the operator's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import Staff

SCHOOL_ROLES = frozenset({"director", "admin"})
CITY_ROLES = frozenset({"department"})


@dataclass(frozen=True)
class Reader:
    actor: str  # the audit log's "staff:<id>"
    role: str
    school_id: str | None  # None: every school


async def report_reader(session: AsyncSession, staff_id: str | None) -> Reader | None:
    """The staff member's right to reports now (None: none; erased or consent withdrawn too)."""
    if staff_id is None:
        return None
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.consent or staff.erased_at is not None:
        return None
    if staff.role in CITY_ROLES:
        return Reader(f"staff:{staff.id}", staff.role, None)
    if staff.role in SCHOOL_ROLES:
        return Reader(f"staff:{staff.id}", staff.role, staff.school_id)
    return None
