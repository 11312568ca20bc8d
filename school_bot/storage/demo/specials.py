"""The special people a demo or a test needs, placed in the first schools:

* the demo family: a consenting mother with two children in two classes of the first school;
* a pupil with two consenting guardians;
* a guardian without consent (`no`);
* a teacher who is also a parent: a guardian row with the same name and (differently
  spelt) phone as a staff row of the first school; the only phone shared in the folder;
* with two or more schools, a consenting father with a child in the first school and
  one in the second;
* the education department's officer (staff of the first school);
* the demo truant: the demo family's first child, absent from the first lessons on the
  last school day (the lessons are found by the diary).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .city import School
from .families import Families
from .names import MEN
from .people import Family, Guardian, Phone, Pupil, StaffMember


@dataclass
class Specials:
    demo_family: Family | None = None
    demo_children: list[Pupil] = field(default_factory=list)
    two_guardian_child: Pupil | None = None
    no_consent_guardian: Guardian | None = None
    teacher_parent: StaffMember | None = None
    teacher_guardian: Guardian | None = None
    cross_family: Family | None = None
    cross_children: list[Pupil] = field(default_factory=list)
    absent_lessons: list[str] = field(default_factory=list)
    department: StaffMember | None = None


def enrol_specials(families: Families, specials: Specials, school: School, index: int,
                   schools: int) -> list[tuple[Pupil, int]]:
    """The special cases, each with the class (by position) its child sits in."""
    placed: list[tuple[Pupil, int]] = []
    if index == 0:
        placed += _first_school_specials(families, specials, school)
        if schools > 1:
            specials.cross_family = families.family(school.key, "father", consent="1")
    if index in (0, 1) and specials.cross_family is not None:
        pupil = families.child(specials.cross_family)
        specials.cross_children.append(pupil)
        placed.append((pupil, len(school.classes) - 1 if index == 0 else 0))
    return placed


def _first_school_specials(families: Families, specials: Specials,
                           school: School) -> list[tuple[Pupil, int]]:
    key, last = school.key, len(school.classes) - 1
    demo = families.family(key, "mother", consent="yes")
    specials.demo_family = demo
    specials.demo_children = [families.child(demo), families.child(demo)]
    placed = [(specials.demo_children[0], 0), (specials.demo_children[1], min(1, last))]
    pair = families.family(key, "both", consent="так")
    specials.two_guardian_child = families.child(pair)
    placed.append((specials.two_guardian_child, min(1, last)))
    refused = families.family(key, "mother", consent="no")
    specials.no_consent_guardian = refused.guardians[0]
    placed.append((families.child(refused), last))
    placed.append((_teacher_child(families, specials, school), 0))
    return placed


def _teacher_child(families: Families, specials: Specials, school: School) -> Pupil:
    """A teacher (a woman if the school has one) becomes a consenting parent too."""
    teachers = school.teachers()
    mothers = [t for t in teachers if not t.person.male] or teachers
    teacher = families.rng.choice(mothers)
    teacher.consent = "yes"
    code, number = teacher.phone.e164[3:6], teacher.phone.e164[6:]
    spelling = families.phones.spell(code, number, avoid=teacher.phone.spelling)
    family = Family(teacher.person.surname, families.rng.choice(MEN))
    if teacher.person.male:
        family.father = next(m for m in MEN if m[0] == teacher.person.given)
    guardian = families.guardian(school.key, teacher.person, consent="yes",
                                 phone=Phone(spelling, teacher.phone.e164))
    family.guardians.append(guardian)
    specials.teacher_parent, specials.teacher_guardian = teacher, guardian
    return families.child(family)


def demo_teacher(school: School) -> StaffMember:
    """The homeroom teacher of the demo parent's first child."""
    wanted = school.classes[0].homeroom_teacher_id
    return next(member for member in school.staff if member.staff_id == wanted)


def seat_of(school: School, pupil: Pupil | None) -> tuple[str, int] | None:
    """(class_id, index in the class) of a pupil of the school, else None."""
    for school_class in school.classes:
        for index, candidate in enumerate(school_class.pupils):
            if candidate is pupil:
                return school_class.class_id, index
    return None
