"""The pupils a chat may see: its guardian's children in launched schools, nothing else.

Every request and every button press asks `family_of` again (one query), and a
pupil id that came from a button is only used once `find_pupil` found it there:
callback payloads are client-controlled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from handlers.turn import Turn
from storage.fast import Query, rows
from storage.models import Guardian, GuardianStudent, School, SchoolClass, Student

MAX_ID_IN_PAYLOAD = 40  # longer ids travel as "#<index>" to stay under 64 bytes


@dataclass(frozen=True)
class Pupil:
    id: str
    full_name: str
    class_id: str
    class_name: str
    school_id: str
    timezone: str

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


FAMILY = Query(
    select(Student.id, Student.full_name, SchoolClass.id, SchoolClass.name,
           School.id, School.timezone)
    .join(GuardianStudent, GuardianStudent.student_id == Student.id)
    .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
    .join(SchoolClass, SchoolClass.id == Student.class_id)
    .join(School, School.id == SchoolClass.school_id)
    .where(GuardianStudent.guardian_id == bindparam("guardian_id"), Guardian.consent.is_(True),
           School.launched.is_(True))
    .order_by(Student.full_name, Student.id))


async def family_of(turn: Turn) -> list[Pupil]:
    """The account's guardian's pupils (consent on file, launched schools), by name."""
    guardian_id = turn.account.guardian_id
    if guardian_id is None:
        return []
    return [Pupil(*row) for row in await rows(turn.session, FAMILY, guardian_id=guardian_id)]


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
