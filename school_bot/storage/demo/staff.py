"""A school's staff: the director, an administrator, the teachers its curriculum needs
(a speciality's classes split by weekly load), and a homeroom teacher for every class."""

from __future__ import annotations

import random

from .city import School, SchoolClass
from .curriculum import MOSTLY_MEN_SPECIALITIES, SPECIALITY
from .families import Families
from .people import StaffMember

TEACHER_WEEKLY_HOURS = 20
DILIGENCE = (1.0, 1.0, 1.0, 1.0, 0.99, 0.98, 0.97, 0.95, 0.9, 0.85)  # share of lessons marked


def build_staff(families: Families, school: School, *,
                department: bool = False) -> StaffMember | None:
    """Hire the school's staff, each class's subjects to a teacher; the education
    department's officer (returned) when `department`."""
    rng, next_id = families.rng, iter(range(1, 10_000))

    def member(role: str, male: bool, speciality: str = "") -> StaffMember:
        consent = "yes" if role != "teacher" else families.consent(0.95)[0]
        diligence = rng.choice(DILIGENCE)
        return StaffMember(f"{school.key}-T{next(next_id):03d}", families.adult(male),
                           families.phones.new_phone(), role, consent, speciality, diligence)

    school.staff.append(member("director", rng.random() < 0.4))
    school.staff.append(member("admin", rng.random() < 0.2))
    officer = None
    if department:
        officer = member("department", rng.random() < 0.3)
        school.staff.append(officer)
    for speciality, classes in classes_by_speciality(school.classes).items():
        share_men = 0.6 if speciality in MOSTLY_MEN_SPECIALITIES else 0.18
        for group in split_by_load(classes, [weekly_hours(c, speciality) for c in classes]):
            teacher = member("teacher", rng.random() < share_men, speciality)
            school.staff.append(teacher)
            _give_subjects(group, speciality, teacher.staff_id)
    return officer


def _give_subjects(group: list[SchoolClass], speciality: str, staff_id: str) -> None:
    for school_class in group:
        for subject, _ in school_class.curriculum:
            if SPECIALITY[subject] == speciality:
                school_class.teachers[subject] = staff_id


def assign_homerooms(rng: random.Random, school: School) -> None:
    """A homeroom teacher per class: one of its own teachers not yet taken, if any."""
    taken: list[str] = []
    teachers = [t.staff_id for t in school.teachers()]
    for school_class in school.classes:
        own = sorted(set(school_class.teachers.values()) - set(taken))
        pool = own or [t for t in teachers if t not in taken] or teachers
        school_class.homeroom_teacher_id = rng.choice(pool)
        taken.append(school_class.homeroom_teacher_id)


def classes_by_speciality(classes: list[SchoolClass]) -> dict[str, list[SchoolClass]]:
    found: dict[str, list[SchoolClass]] = {}
    for school_class in classes:
        for subject, _ in school_class.curriculum:
            group = found.setdefault(SPECIALITY[subject], [])
            if school_class not in group:
                group.append(school_class)
    return found


def weekly_hours(school_class: SchoolClass, speciality: str) -> int:
    return sum(h for s, h in school_class.curriculum if SPECIALITY[s] == speciality)


def split_by_load(classes: list[SchoolClass], hours: list[int]) -> list[list[SchoolClass]]:
    """Split a speciality's classes between as many teachers as its weekly hours need."""
    total = sum(hours)
    teachers = max(1, min(len(classes), round(total / TEACHER_WEEKLY_HOURS)))
    groups: list[list[SchoolClass]] = [[] for _ in range(teachers)]
    done = 0
    for school_class, load in zip(classes, hours, strict=True):
        groups[min(teachers - 1, int(done * teachers / total))].append(school_class)
        done += load
    return [group for group in groups if group]
