"""Pupils into classes: the special cases at their places, then new families (and now and
then a sibling) until the seats are full; each class in journal order, numbered."""

from __future__ import annotations

from .city import School, SchoolClass
from .families import Families
from .names import journal_order
from .people import Family, Pupil


def enrol(families: Families, school: School, students: int,
          placed: list[tuple[Pupil, int]]) -> None:
    """Seat `placed` (pupil, class by position) and fill the school up to `students`."""
    for pupil, class_index in placed:
        seat(school.classes[class_index], pupil)
    free = students - len(placed)
    known: list[Family] = []
    for school_class in school.classes:
        while free and len(school_class.pupils) < school_class.seats:
            seat(school_class, next_pupil(families, school.key, school_class, known))
            free -= 1
    for school_class in school.classes:
        school_class.pupils.sort(key=lambda p: journal_order(p.person.full_name))
    number_pupils(school)


def next_pupil(families: Families, key: str, school_class: SchoolClass,
               known: list[Family]) -> Pupil:
    """A child of a new family, or now and then a sibling in another class."""
    rng = families.rng
    if known and rng.random() < 0.08:
        family = rng.choice(known)
        if school_class.class_id not in family.class_ids:
            return families.child(family)
    family = families.family(key)
    known.append(family)
    return families.child(family)


def seat(school_class: SchoolClass, pupil: Pupil) -> None:
    school_class.pupils.append(pupil)
    pupil.family.class_ids.append(school_class.class_id)


def number_pupils(school: School) -> None:
    number = 0
    for school_class in school.classes:
        for pupil in school_class.pupils:
            number += 1
            pupil.student_id = f"{school.key}-P{number:04d}"
