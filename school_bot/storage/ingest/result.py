"""What an ingest reports back: counts, the reason for every rejected record, and what
the written records may cause the notifications to tell (`Written`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Rejection:
    index: int  # the record's 0-based position in the batch (a CSV import: its line)
    reason: str


@dataclass
class Written:
    """What the records a batch created or changed concern, for the notifications that
    follow from them (notifications/realtime.py): the pupils of attendance marks and
    grades, the classes of homework, the ids of events. Filled where records are
    written one by one (`Ingestor.write`: the ingest API, and a CSV file of events);
    a CSV file written column-wise leaves it empty: its notifications are the worker's
    scans' to find."""

    pupils: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)

    def add(self, other: Written) -> None:
        self.pupils |= other.pupils
        self.classes |= other.classes
        self.events |= other.events


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    written: Written = field(default_factory=Written)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.rejected)

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": len(self.rejected)}

    def add(self, other: IngestResult) -> IngestResult:
        """Add another result's counts and rejections to this one (returned for chaining)."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)
        self.written.add(other.written)
        return self

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult().add(self).add(other)

    def summary(self) -> str:
        return (f"{self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.rejected)} rejected")


class ForeignSchoolRecord(Exception):
    """A record belongs to a school outside the writer's scope; nothing was written."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"record {index}: {reason}")
        self.index = index
        self.reason = reason
