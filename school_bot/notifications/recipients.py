"""Who gets a notification: linked, active chats of consenting guardians and staff.

A chat counts only while its account is active (not blocked, not unlinked) and the
person behind it has consent on file and has not been erased. Launch is checked by
the jobs on the source rows (a school that has not launched notifies nobody).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import Account, AccountGuardian, Guardian, GuardianStudent, Staff

SLICE = 500


@dataclass(frozen=True)
class Recipient:
    account_id: int
    language: str | None
    notify_grades: str
    notify_homework: bool
    notify_events: bool


def _recipient(row) -> Recipient:  # type: ignore[no-untyped-def]
    return Recipient(row.id, row.language, row.notify_grades or "off",
                     bool(row.notify_homework), bool(row.notify_events))


_ACCOUNT_COLUMNS = (Account.id, Account.language, Account.notify_grades,
                    Account.notify_homework, Account.notify_events)


async def guardian_accounts(
    session: AsyncSession, student_ids: Iterable[str]
) -> dict[str, list[Recipient]]:
    """Each pupil's guardians' chats, by pupil id; a chat once per pupil, even when it
    speaks for two guardian rows of the same pupil."""
    wanted = sorted(set(student_ids))
    found: dict[str, list[Recipient]] = defaultdict(list)
    for start in range(0, len(wanted), SLICE):
        rows = await session.execute(
            select(GuardianStudent.student_id, *_ACCOUNT_COLUMNS)
            .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
            .join(AccountGuardian, AccountGuardian.guardian_id == Guardian.id)
            .join(Account, Account.id == AccountGuardian.account_id)
            .where(GuardianStudent.student_id.in_(wanted[start:start + SLICE]),
                   Guardian.consent.is_(True), Guardian.erased_at.is_(None),
                   Account.active.is_(True))
            .distinct().order_by(Account.id)
        )
        for row in rows:
            found[row.student_id].append(_recipient(row))
    return found


async def staff_accounts(
    session: AsyncSession, staff_ids: Iterable[str]
) -> dict[str, list[Recipient]]:
    """Each staff member's chats, by staff id."""
    wanted = sorted(set(staff_ids))
    found: dict[str, list[Recipient]] = defaultdict(list)
    for start in range(0, len(wanted), SLICE):
        rows = await session.execute(
            select(Staff.id.label("staff_id"), *_ACCOUNT_COLUMNS)
            .join(Account, Account.staff_id == Staff.id)
            .where(Staff.id.in_(wanted[start:start + SLICE]), Staff.consent.is_(True),
                   Staff.erased_at.is_(None), Account.active.is_(True))
            .order_by(Account.id)
        )
        for row in rows:
            found[row.staff_id].append(_recipient(row))
    return found
