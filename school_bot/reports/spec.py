"""What a report is asked for (`ReportRequest`) and what it answers (`ReportTable`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

REPORTS = ("coverage", "diary", "absences", "delivery")
FORMATS = ("csv", "xlsx", "png")
DEFAULT_DAYS = 28  # without --from: the four weeks that end on --to

# code: a msgid shown translated; decimal: a number with one decimal (hours)
ColumnKind = Literal["text", "code", "int", "percent", "decimal", "date"]


@dataclass(frozen=True)
class ReportRequest:
    """One report over one school (or every school) and a period of local days."""

    report: str
    school_id: str | None  # None: every school (the department)
    start: date
    end: date
    now: datetime  # aware; decides which lessons have ended
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if self.report not in REPORTS:
            raise ValueError(f"unknown report {self.report!r}; one of {', '.join(REPORTS)}")
        if self.start > self.end:
            raise ValueError("the period starts after it ends")
        if self.now.tzinfo is None:
            raise ValueError("now must be an aware datetime")

    @classmethod
    def build(cls, report: str, school_id: str | None, *, zone: ZoneInfo, now: datetime,
              start: date | None = None, end: date | None = None) -> ReportRequest:
        today = now.astimezone(zone).date()
        if report == "coverage":  # who is linked now: a state, not a history
            return cls(report, school_id, today, today, now, zone)
        end = end or today
        return cls(report, school_id, start or end - timedelta(days=DEFAULT_DAYS - 1), end, now, zone)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    @property
    def local_now(self) -> time:
        return self.now.astimezone(self.zone).time().replace(tzinfo=None)

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, the day after end 00:00) in the city's zone."""
        return (datetime.combine(self.start, time(), tzinfo=self.zone),
                datetime.combine(self.end + timedelta(days=1), time(), tzinfo=self.zone))

    @property
    def scope(self) -> str:
        return f"school:{self.school_id}" if self.school_id else "all"

    @property
    def snapshot(self) -> bool:
        """Coverage is a state on a day, not a sum over a period."""
        return self.report == "coverage"


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # an English msgid of the `reports` domain
    kind: ColumnKind = "int"


@dataclass
class ReportTable:
    request: ReportRequest
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    school_name: str | None = None  # the one school's name, for titles
    # the first day still kept whole, when the period starts before it (retention
    # deleted older messages): the rows count from that day, or nothing if it is after
    kept_from: date | None = None

    def column(self, key: str) -> list[Any]:
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]
