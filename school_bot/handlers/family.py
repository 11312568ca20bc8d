"""The pupils a chat may see: its guardians' children in launched schools, nothing else.

A chat may speak for several guardian rows (the same parent entered by two schools);
its family is the children of all of them, each pupil once. Every request and every
button press reads the family again (with the chat's account and its guardian links, in
one query: `read_account_and_family`), and a pupil id that came from a button is only
used once `find_pupil` found it there: callback payloads are client-controlled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from school_bot.handlers.turn import Turn
from school_bot.storage.fast import Query, attach, loaded, rows
from school_bot.storage.models import (
    Account,
    AccountGuardian,
    Guardian,
    GuardianStudent,
    School,
    SchoolClass,
    Student,
)

MAX_ID_IN_PAYLOAD = 40  # longer ids travel as "#<index>" to stay under 64 bytes


@dataclass(frozen=True)
class Pupil:
    id: str
    full_name: str
    class_id: str
    class_name: str
    school_id: str
    timezone: str
    guardian_id: str  # the chat's guardian row this pupil comes through

    @property
    def first_name(self) -> str:
        """`Коваль Ольга Петрівна` (surname first, the Ukrainian order) → `Ольга`."""
        words = self.full_name.split()
        return words[1] if len(words) > 1 else self.full_name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()


# The account, its guardian links, then their pupils by a chain of outer joins (a nested
# join or a subquery would be materialised for every guardian); a pupil whose school has
# not launched comes with no school and is left out.
_ACCOUNT_COLUMNS = tuple(Account.__table__.c)
_LINK_COLUMNS = tuple(AccountGuardian.__table__.c)
ACCOUNT_AND_FAMILY = Query(
    select(*_ACCOUNT_COLUMNS, *_LINK_COLUMNS, Student.id, Student.full_name, SchoolClass.id,
           SchoolClass.name, School.id, School.timezone)
    .select_from(Account.__table__)
    .outerjoin(AccountGuardian, AccountGuardian.account_id == Account.id)
    .outerjoin(Guardian, and_(Guardian.id == AccountGuardian.guardian_id, Guardian.consent.is_(True)))
    .outerjoin(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
    .outerjoin(Student, Student.id == GuardianStudent.student_id)
    .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
    .outerjoin(School, and_(School.id == SchoolClass.school_id, School.launched.is_(True)))
    .where(Account.platform == bindparam("platform"), Account.chat_id == bindparam("chat_id"))
    .order_by(Student.full_name, Student.id, AccountGuardian.guardian_id), "AccountAndFamily")


async def read_account_and_family(session: AsyncSession, platform: str,
                                  chat_id: str) -> tuple[Account | None, list[Pupil]]:
    """The chat's account (attached to the session, its guardian links filled in) and its
    family, in one read: the answer path's first query (storage/fast.py). None and [] for
    an unknown chat."""
    found = await rows(session, ACCOUNT_AND_FAMILY, platform=platform, chat_id=chat_id)
    if not found:
        return None, []
    accounts, links = len(_ACCOUNT_COLUMNS), len(_ACCOUNT_COLUMNS) + len(_LINK_COLUMNS)
    account = attach(session, Account,
                     dict(zip((c.key for c in _ACCOUNT_COLUMNS), found[0][:accounts], strict=True)))
    if not loaded(account, "guardian_links"):  # an account the session held keeps its own
        link_rows = {row[accounts:links] for row in found if row[accounts] is not None}
        set_committed_value(account, "guardian_links", [
            attach(session, AccountGuardian, dict(zip((c.key for c in _LINK_COLUMNS), link, strict=True)),
                   add=False)
            for link in sorted(link_rows, key=lambda link: link[1])])
    family: dict[str, Pupil] = {}
    for row in found:
        pupil_id, guardian_id = row[links], row[accounts + 1]
        if row[links + 4] is not None and pupil_id not in family:  # a pupil of two rows: once
            _, full_name, class_id, class_name, school_id, timezone = row[links:]
            family[pupil_id] = Pupil(pupil_id, full_name, class_id, class_name, school_id, timezone,
                                     guardian_id)
    return account, list(family.values())


async def family_of(turn: Turn) -> list[Pupil]:
    """The account's guardians' pupils (consent on file, launched schools), by name: read
    with the account on the answer path, else now (the same query, by the account's chat)."""
    if not turn.account.guardian_links:
        return []
    if turn.family is None:
        _, turn.family = await read_account_and_family(turn.session, turn.account.platform,
                                                       turn.account.chat_id)
    return list(turn.family)


def pupil_ref(pupil: Pupil, family: list[Pupil]) -> str:
    """How a button names a pupil: the id, or its place in the family when the id is long."""
    if len(pupil.id.encode()) <= MAX_ID_IN_PAYLOAD and not pupil.id.startswith("#"):
        return pupil.id
    return f"#{family.index(pupil)}"


def find_pupil(family: list[Pupil], ref: str | None) -> Pupil | None:
    """The pupil a (client-sent) reference names, if and only if it is in this family."""
    if not ref:
        return None
    if ref.startswith("#") and ref[1:].isdigit():
        index = int(ref[1:])
        return family[index] if index < len(family) else None
    return next((pupil for pupil in family if pupil.id == ref), None)


def selected(turn: Turn, family: list[Pupil]) -> Pupil | None:
    """The pupil the parent chose earlier, or the only one."""
    if len(family) == 1:
        return family[0]
    return find_pupil(family, turn.account.selected_student_id)
