"""Who is in a class directory, and who may write to whom: asked again on every request.

The product's promise: a parent sees "only the list of pupils and parents of their own
class, never a phone number", and only after turning the directory on personally. Here
that is one rule, used by the listing and by every button press:

    two guardians see each other, and may write to each other, only when both turned the
    directory on, both have consent on file and are not erased, both have a chat with the
    bot, and both have a pupil in the same class of a launched school;
    a message also needs that neither has blocked the other.

The rule is about guardian rows. A chat may speak for several rows of one parent (two
schools entered them under their own ids): it acts through the row that has a pupil in
the class at hand, its directory switch covers all its rows, and it never sees or
writes to its own rows.

Nothing here returns a phone number, a messenger account or a chat id: a `Member` is a
name, the school system's guardian id and their children's first names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from school_bot.storage.models import (
    Account,
    AccountGuardian,
    DirectoryBlock,
    Guardian,
    GuardianStudent,
    School,
    SchoolClass,
    Student,
)

MAX_ID_IN_PAYLOAD = 40  # a longer guardian id travels as "~" + a hash of it


@dataclass(frozen=True)
class Member:
    """A parent as other parents see them."""

    guardian_id: str
    name: str                     # "Бондар Ірина": surname and given name
    children: tuple[str, ...]     # first names of their pupils in the class


@dataclass(frozen=True)
class ClassInfo:
    id: str
    name: str
    school_id: str
    school_name: str
    homeroom_teacher_id: str | None


class Refusal(StrEnum):
    NOT_OPTED_IN = "not_opted_in"       # the writer's own directory is off
    UNAVAILABLE = "unavailable"         # not a member of a class directory shared with the writer
    NOT_ACCEPTING = "not_accepting"     # the recipient blocked the writer (never said so)
    BLOCKED_BY_YOU = "blocked_by_you"   # the writer blocked the recipient


@dataclass(frozen=True)
class Permit:
    class_id: str
    sender: str  # the writer's guardian row in that class


# When no row of a chat may write, the refusal that tells the most (a block is only
# possible where a class is shared).
_REFUSAL_ORDER = (Refusal.BLOCKED_BY_YOU, Refusal.NOT_ACCEPTING, Refusal.NOT_OPTED_IN, Refusal.UNAVAILABLE)


def short_name(full_name: str | None) -> str:
    """`Бондар Ірина Петрівна` → `Бондар Ірина` (no patronymic: it is not needed here)."""
    return " ".join((full_name or "").split()[:2])


def first_name(full_name: str) -> str:
    """`Коваль Ольга Андріївна` (surname first) → `Ольга`."""
    words = full_name.split()
    return words[1] if len(words) > 1 else full_name


def guardian_ref(guardian_id: str) -> str:
    """How a button names a parent: the id, or a hash of it when the id is long."""
    if len(guardian_id.encode()) <= MAX_ID_IN_PAYLOAD and not guardian_id.startswith("~"):
        return guardian_id
    return "~" + hashlib.sha256(guardian_id.encode()).hexdigest()[:24]


def resolve_ref(ref: str, candidates: list[str]) -> str | None:
    """The guardian id a (client-sent) reference names, if it is one of `candidates`."""
    return next((c for c in candidates if guardian_ref(c) == ref), None)


def _visible() -> ColumnElement[bool]:
    """A guardian who may appear in a directory (the class condition comes on top)."""
    has_chat = exists().where(AccountGuardian.guardian_id == Guardian.id,
                              Account.id == AccountGuardian.account_id, Account.active.is_(True))
    return and_(Guardian.directory_opt_in.is_(True), Guardian.consent.is_(True),
                Guardian.erased_at.is_(None), Guardian.full_name.is_not(None), has_chat)


async def opted_in(session: AsyncSession, guardian_id: str) -> bool:
    found = await session.scalar(select(Guardian.id).where(Guardian.id == guardian_id, _visible()))
    return found is not None


async def visible_rows(session: AsyncSession, guardian_ids: list[str]) -> list[str]:
    """Those of a chat's guardian rows that are in their classes' directories."""
    if not guardian_ids:
        return []
    found = await session.scalars(select(Guardian.id).where(Guardian.id.in_(guardian_ids), _visible())
                                  .order_by(Guardian.id))
    return list(found)


async def set_opt_in(session: AsyncSession, guardian_id: str, value: bool) -> bool | None:
    """Turn the directory on or off; the value it had before (None: no such guardian)."""
    guardian = await session.get(Guardian, guardian_id)
    if guardian is None or not guardian.consent or guardian.erased_at is not None:
        return None
    before = bool(guardian.directory_opt_in)
    guardian.directory_opt_in = value
    return before


async def chats_of(session: AsyncSession, guardian_id: str) -> list[Account]:
    """The active chats that speak for this guardian row."""
    found = await session.scalars(
        select(Account).join(AccountGuardian, AccountGuardian.account_id == Account.id)
        .where(AccountGuardian.guardian_id == guardian_id, Account.active.is_(True)).order_by(Account.id))
    return list(found)


async def class_info(session: AsyncSession, class_id: str) -> ClassInfo | None:
    row = (await session.execute(
        select(SchoolClass.id, SchoolClass.name, School.id, School.name, SchoolClass.homeroom_teacher_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(SchoolClass.id == class_id))).first()
    return ClassInfo(*row) if row else None


async def pupils_of(session: AsyncSession, class_id: str) -> list[str]:
    names = await session.scalars(select(Student.full_name).where(Student.class_id == class_id)
                                  .order_by(Student.full_name, Student.id))
    return [short_name(name) for name in names]


async def members_of(session: AsyncSession, class_id: str, *, besides: list[str]) -> list[Member]:
    """The class's parents who turned the directory on, except `besides` (the viewer's rows)."""
    rows = await session.execute(
        select(Guardian.id, Guardian.full_name, Student.full_name)
        .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(Student.class_id == class_id, Guardian.id.not_in(besides), _visible())
        .order_by(Guardian.full_name, Guardian.id, Student.full_name))
    return _members(rows.all())


async def describe(session: AsyncSession, guardian_id: str, class_id: str) -> Member | None:
    """A parent's name and children in a class, whether or not the directory is on for them."""
    rows = await session.execute(
        select(Guardian.id, Guardian.full_name, Student.full_name)
        .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(Guardian.id == guardian_id, Student.class_id == class_id,
               Guardian.full_name.is_not(None))
        .order_by(Student.full_name))
    members = _members(rows.all())
    return members[0] if members else None


def _members(rows: list[tuple[str, str, str]]) -> list[Member]:
    """Members by guardian row; a parent the school entered twice for the same children
    (two rows, one name) is listed once."""
    grouped: dict[str, tuple[str, list[str]]] = {}
    for guardian_id, name, pupil in rows:
        grouped.setdefault(guardian_id, (short_name(name), []))[1].append(first_name(pupil))
    listed: dict[tuple[str, tuple[str, ...]], Member] = {}
    for gid, (name, children) in grouped.items():
        listed.setdefault((name, tuple(children)), Member(gid, name, tuple(children)))
    return list(listed.values())


async def shared_class(session: AsyncSession, one: str, other: str) -> str | None:
    """A class of a launched school where both guardians have a pupil."""
    mine, theirs = aliased(GuardianStudent), aliased(GuardianStudent)
    my_pupil, their_pupil = aliased(Student), aliased(Student)
    return await session.scalar(
        select(SchoolClass.id)
        .join(School, School.id == SchoolClass.school_id)
        .join(my_pupil, my_pupil.class_id == SchoolClass.id)
        .join(mine, mine.student_id == my_pupil.id)
        .join(their_pupil, their_pupil.class_id == SchoolClass.id)
        .join(theirs, theirs.student_id == their_pupil.id)
        .where(mine.guardian_id == one, theirs.guardian_id == other, School.launched.is_(True))
        .order_by(SchoolClass.id).limit(1))


async def neighbours(session: AsyncSession, guardian_ids: list[str]) -> list[str]:
    """The visible parents who share a class of a launched school with these rows (a chat's)."""
    mine, my_pupil = aliased(GuardianStudent), aliased(Student)
    classes = (select(my_pupil.class_id).join(mine, mine.student_id == my_pupil.id)
               .join(SchoolClass, SchoolClass.id == my_pupil.class_id)
               .join(School, School.id == SchoolClass.school_id)
               .where(mine.guardian_id.in_(guardian_ids), School.launched.is_(True)))
    found = await session.scalars(
        select(Guardian.id).distinct()
        .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(Student.class_id.in_(classes), Guardian.id.not_in(guardian_ids), _visible()))
    return sorted(found)


async def blocked_by(session: AsyncSession, guardian_ids: list[str]) -> list[str]:
    """The parents these rows (a chat's) have blocked."""
    found = await session.scalars(select(DirectoryBlock.blocked_guardian_id).distinct()
                                  .where(DirectoryBlock.guardian_id.in_(guardian_ids)))
    return sorted(found)


async def may_write(session: AsyncSession, sender: str, recipient: str) -> Permit | Refusal:
    """Whether `sender` may write to `recipient` now, and through which class."""
    if not await opted_in(session, sender):
        return Refusal.NOT_OPTED_IN
    if recipient == sender or not await opted_in(session, recipient):
        return Refusal.UNAVAILABLE
    class_id = await shared_class(session, sender, recipient)
    if class_id is None:
        return Refusal.UNAVAILABLE
    blocks = (await session.execute(select(DirectoryBlock.guardian_id).where(or_(
        and_(DirectoryBlock.guardian_id == recipient, DirectoryBlock.blocked_guardian_id == sender),
        and_(DirectoryBlock.guardian_id == sender, DirectoryBlock.blocked_guardian_id == recipient),
    )))).scalars().all()
    if recipient in blocks:
        return Refusal.NOT_ACCEPTING
    if sender in blocks:
        return Refusal.BLOCKED_BY_YOU
    return Permit(class_id, sender)


async def may_write_from(session: AsyncSession, senders: list[str], recipient: str) -> Permit | Refusal:
    """Whether a chat speaking for `senders` may write to `recipient` now, and as which row."""
    if not senders:
        return Refusal.NOT_OPTED_IN
    if recipient in senders:
        return Refusal.UNAVAILABLE
    refusals = []
    for sender in senders:
        found = await may_write(session, sender, recipient)
        if isinstance(found, Permit):
            return found
        refusals.append(found)
    return min(refusals, key=_REFUSAL_ORDER.index)
