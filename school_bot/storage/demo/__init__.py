"""A deterministic generator of a realistic school-system CSV folder (docs/data-format.md).

`generate_demo_data(folder, schools=2, students=60, seed=1, today=..., weeks=2)` writes the
ten files of the data contract: schools, classes, staff, students, guardians, lessons,
grades, attendance, homework and events of a made-up Ukrainian city, and returns a
`DemoSummary` with the row counts and the ids of the special cases a demo or a test needs:

* a guardian with two children in two classes of the first school (the demo parent, who
  consents); with two or more schools, another consenting guardian with a child in the
  first school and one in the second (with exactly two schools the second is the
  unlaunched one, so only the first child may be shown);
* a pupil with two consenting guardians;
* a guardian without consent (`no`);
* the last school not launched (with one school, that school is launched);
* a teacher who is also a parent: a guardian row with the same name and (differently
  spelt) phone as a staff row of the first school; the only phone shared in the folder;
* on the last school day up to `today` (today itself on a weekday), the demo parent's
  first child misses the first lessons unexcused (`absent`), all marked in the diary.

The unlaunched school still has a full diary: the launch flag alone must keep its parents
out and its absences silent.

Diary shape. `weeks` school weeks of lessons end at the last school day on or before
`today`; lessons of the next five school days follow as the published schedule (planned
topics, no marks). Lessons run Monday to Friday, 5-7 a day, on the bells of the curriculum.
Homework is due on lessons from five school days back to the end of that schedule;
events lie in the period and ahead, with at least one school event and one class's
parents' meeting tomorrow in every school.
Grades and attendance exist only for lessons up to that last school day. Some recent
lessons are left unfilled as a forgetful teacher would: about a third of the last
school day's lessons have no topic, some recent lessons no attendance at all.

Attendance has two shapes (`DemoSummary.attendance_full` says which was written):
* full: a row for every pupil of every lesson whose attendance was marked;
* marks (the default for big folders, where full rows would run to tens of millions):
  every `absent`, `late` and `excused` mark, plus one `present` row per marked lesson,
  so a marked lesson always has at least one row. A pupil without a row for a lesson
  that has rows was present; a lesson without rows was not marked.
`full_attendance=None` picks full when schools x students x weeks <= 20,000.

Speed. A city (60 schools x 667 pupils, 16 weeks: ~730,000 lessons, ~3 million grades)
is written in parallel: each school's diary has a random stream of its own
(`Random(f"{seed}/diary/{school_id}")`) and is built in a worker process, and the files
take the schools in order, so the bytes do not depend on the number of workers.

The modules, by what they make:
* `names`, `curriculum`, `diary_texts`: the pools drawn from (Ukrainian names; kinds of
  school, bells, curricula, specialities; topics, homework tasks, comments);
* `people`, `phones`, `families`: the register's people, their phones and consent;
* `city`, `staff`, `timetable`, `enrolment`, `specials`: schools and classes, their staff
  and homeroom teachers, the week's lessons, the pupils, the special demo people;
* `diary` with `lessons`, `grades`, `attendance`, `homework`, run per school by
  `diary_runner` on a `diary_plan`;
* `events`; `sheets` writes the files, `summary` tells what was written;
* `generator` puts them together; `command` is `python -m school_bot.storage.demo`.
"""

from .command import main
from .generator import generate_demo_data
from .names import BOYS, GIRLS, journal_order
from .phones import OPERATOR_CODES, to_e164
from .sheets import csv_field
from .summary import DemoSummary

__all__ = [
    "BOYS",
    "GIRLS",
    "OPERATOR_CODES",
    "DemoSummary",
    "csv_field",
    "generate_demo_data",
    "journal_order",
    "main",
    "to_e164",
]
