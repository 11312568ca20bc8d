"""The people of the made-up city as the register files name them: adults, their phones,
guardians and their families, pupils, staff."""

from __future__ import annotations

from dataclasses import dataclass, field

from .draws import weighted_pool

# How a school spells a guardian's consent, by how often.
YES_SPELLINGS = (("yes", 60), ("так", 20), ("true", 12), ("1", 8))
NO_SPELLINGS = (("no", 50), ("ні", 25), ("false", 15), ("0", 10))
YES_POOL, NO_POOL = weighted_pool(YES_SPELLINGS), weighted_pool(NO_SPELLINGS)
ABILITIES = (-2, -1, -1, -1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2)  # a pupil's lean, in points


@dataclass(frozen=True)
class Person:
    surname: tuple[str, str]
    given: str
    patronymic: str
    male: bool

    @property
    def full_name(self) -> str:
        return f"{self.surname[0] if self.male else self.surname[1]} {self.given} {self.patronymic}"


@dataclass(frozen=True)
class Phone:
    spelling: str  # as the school administrator typed it
    e164: str


@dataclass(eq=False)
class Guardian:
    guardian_id: str
    person: Person
    phone: Phone
    consent: str
    consent_date: str

    @property
    def consents(self) -> bool:
        return self.consent in YES_POOL


@dataclass(eq=False)
class Family:
    surname: tuple[str, str]
    father: tuple[str, str, str]
    guardians: list[Guardian] = field(default_factory=list)
    class_ids: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Pupil:
    person: Person
    family: Family
    ability: int
    student_id: str = ""


@dataclass(eq=False)
class StaffMember:
    staff_id: str
    person: Person
    phone: Phone
    role: str
    consent: str
    speciality: str = ""
    diligence: float = 1.0
