"""The school days of the demo: the diary's period up to today, the published schedule after.

Lessons run Monday to Friday. `weeks` school weeks of diary end at the last school day on
or before `today`; the next five school days follow as the published schedule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = "Europe/Kyiv"
KYIV = ZoneInfo(TIMEZONE)
UPCOMING_SCHOOL_DAYS = 5
HOMEWORK_PAST_SCHOOL_DAYS = 5


@dataclass(frozen=True)
class SchoolCalendar:
    today: date
    period: tuple[date, ...]  # school days with a diary, oldest first
    upcoming: tuple[date, ...]  # the published schedule after today

    @classmethod
    def around(cls, today: date, weeks: int) -> SchoolCalendar:
        return cls(today, tuple(reversed(list(school_days(today, -1, weeks * 5)))),
                   tuple(school_days(today + timedelta(days=1), 1, UPCOMING_SCHOOL_DAYS)))

    @property
    def last_school_day(self) -> date:
        """The day the diary ends: today on a weekday, else the Friday before."""
        return self.period[-1]

    @property
    def homework_days(self) -> tuple[date, ...]:
        return self.period[-HOMEWORK_PAST_SCHOOL_DAYS:] + self.upcoming


def school_days(start: date, step: int, count: int) -> Iterator[date]:
    day = start
    while count:
        if day.weekday() < 5:
            yield day
            count -= 1
        day += timedelta(days=step)
