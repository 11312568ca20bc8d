"""Families of the city, drawn from the register's random stream: adults with Ukrainian
names, guardians with phones and consent, and their children."""

from __future__ import annotations

import random
from datetime import timedelta

from .names import BOYS, GIRLS, MEN, SURNAMES, WOMEN
from .people import ABILITIES, NO_POOL, YES_POOL, Family, Guardian, Person, Phone, Pupil
from .phones import PhoneBook
from .school_calendar import SchoolCalendar


class Families:
    """Draws the city's people: any adult (a parent or a teacher), guardians, families, children."""

    def __init__(self, rng: random.Random, calendar: SchoolCalendar) -> None:
        self.rng = rng
        self.calendar = calendar
        self.phones = PhoneBook(rng)
        self.guardian_count = 0

    def adult(self, male: bool, surname: tuple[str, str] | None = None) -> Person:
        rng = self.rng
        father_of = rng.choice(MEN)
        given = rng.choice(MEN)[0] if male else rng.choice(WOMEN)
        return Person(surname or rng.choice(SURNAMES), given,
                      father_of[1] if male else father_of[2], male)

    def consent(self, share_yes: float = 0.93) -> tuple[str, str]:
        if self.rng.random() < share_yes:
            return self.rng.choice(YES_POOL), self.consent_date()
        return self.rng.choice(NO_POOL), ""

    def consent_date(self) -> str:
        return (self.calendar.today - timedelta(days=self.rng.randint(3, 330))).isoformat()

    def guardian(self, key: str, person: Person, *, consent: str | None = None,
                 phone: Phone | None = None) -> Guardian:
        self.guardian_count += 1
        if consent is None:
            consent, when = self.consent()
        else:
            when = self.consent_date() if consent in YES_POOL else ""
        return Guardian(f"{key}-G{self.guardian_count:05d}", person,
                        phone or self.phones.new_phone(), consent, when)

    def family(self, key: str, shape: str = "", consent: str | None = None) -> Family:
        """A family with its guardians: `shape` mother, father or both (drawn if empty)."""
        rng = self.rng
        family = Family(rng.choice(SURNAMES), rng.choice(MEN))
        if not shape:
            draw = rng.random()
            shape = "mother" if draw < 0.55 else "both" if draw < 0.9 else "father"
        if shape in ("mother", "both"):
            mother = self.adult(False, family.surname)
            family.guardians.append(self.guardian(key, mother, consent=consent))
        if shape in ("father", "both"):
            father = Person(family.surname, family.father[0], rng.choice(MEN)[1], True)
            family.guardians.append(self.guardian(key, father, consent=consent))
        return family

    def child(self, family: Family) -> Pupil:
        rng = self.rng
        male = rng.random() < 0.5
        given = rng.choice(BOYS if male else GIRLS)
        person = Person(family.surname, given, family.father[1 if male else 2], male)
        return Pupil(person, family, rng.choice(ABILITIES))
