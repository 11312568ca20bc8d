"""Retention: what the bot stops keeping once it is old (NOTIFY_RETENTION_DAYS).

One round deletes, in the caller's unit of work, at most `chunk` rows of each kind
written before `before`, oldest first:

* outbox rows with a final outcome (sent, dead, blocked). A row still queued, being sent
  or waiting for its retry is kept whatever its age. The outcomes of an announcement's
  copies are added to its `purged_*` counts first, so its figures stay right;
* messages relayed between parents;
* the keys of handled webhook callbacks;
* parents' absence explanations whose last day is before `notes_before` (the first day
  of the current school year, `school_year_start`: notes are kept no longer than the
  school year).

Plain SQL DELETEs, so the ON DELETE actions of the tables that refer to these rows act.
The round moves each table's horizon (`retention_horizons`: the delivery report counts
from there) and appends one audit entry with the counts only; the caller commits them
with the deletions, so the log's counts are exactly what went. Rounds are short, so a
city's millions of rows never hold a long transaction (SQLite has one writer).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from school_bot.storage import audit
from school_bot.storage.erasure import purge_wal_after_commit
from school_bot.storage.models import (
    AbsenceNote,
    Announcement,
    OutboxMessage,
    ProcessedCallback,
    RelayMessage,
    RetentionHorizon,
)
from school_bot.storage.outbox_status import FINAL, OutboxStatus
from school_bot.storage.writes import changed_rows, upsert

ACTOR = "system:retention"
ACTION = "retention.purged"
OUTBOX = "outbox"  # the horizons' names: the counts' names
NOTES = "absence_notes"
_FIGURE = {OutboxStatus.SENT: "purged_sent", OutboxStatus.DEAD: "purged_failed",
           OutboxStatus.BLOCKED: "purged_blocked"}


@dataclass(frozen=True)
class Purged:
    """Rows one round (or a run of rounds) deleted, by kind."""

    outbox: int = 0
    relay_messages: int = 0
    processed_callbacks: int = 0
    absence_notes: int = 0

    def __add__(self, other: Purged) -> Purged:
        return Purged(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values(),
                                              strict=True)))

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def reached(self, chunk: int) -> bool:
        """Whether some kind filled its chunk (more may be left)."""
        return any(count >= chunk for count in asdict(self).values())


async def purge_round(session: AsyncSession, *, before: datetime, chunk: int,
                      notes_before: date | None = None) -> Purged:
    """Delete at most `chunk` old rows of each kind; audit what went (counts only)."""
    purged = Purged(
        outbox=await _purge_outbox(session, before, chunk),
        relay_messages=await _delete_oldest(session, RelayMessage.id, RelayMessage.created_at,
                                            before, chunk),
        processed_callbacks=await _delete_oldest(session, ProcessedCallback.key,
                                                 ProcessedCallback.at, before, chunk),
        absence_notes=await _purge_notes(session, notes_before, chunk))
    if not purged.total:
        return purged
    for name, count in asdict(purged).items():
        if count and name != NOTES:  # notes go by school year, not by a moment
            await _move_horizon(session, name, before)
    details: dict[str, Any] = {"before": before.isoformat(), **asdict(purged)}
    if purged.absence_notes and notes_before is not None:
        details["absence_notes_before"] = notes_before.isoformat()
    await audit.record(session, actor=ACTOR, action=ACTION, entity="retention", details=details)
    await purge_wal_after_commit(session)
    return purged


def school_year_start(today: date, month_day: tuple[int, int]) -> date:
    """The first day of the school year `today` is in (`month_day`: e.g. (9, 1))."""
    def on(year: int) -> date:
        month, day = month_day
        try:
            return date(year, month, day)
        except ValueError:  # 29 February in a common year
            return date(year, month, day - 1)

    start = on(today.year)
    return start if start <= today else on(today.year - 1)


async def _purge_notes(session: AsyncSession, before: date | None, chunk: int) -> int:
    """The oldest notes whose last day is before `before`."""
    if before is None:
        return 0
    ids = list((await session.scalars(
        select(AbsenceNote.id).where(AbsenceNote.last_day < before)
        .order_by(AbsenceNote.last_day, AbsenceNote.id).limit(chunk))).all())
    if not ids:
        return 0
    return await changed_rows(session, delete(AbsenceNote).where(AbsenceNote.id.in_(ids),
                                                                 AbsenceNote.last_day < before))


async def horizon(session: AsyncSession, name: str) -> datetime | None:
    """Before when the final rows of `name` are gone (None: none ever were)."""
    return await session.scalar(
        select(RetentionHorizon.purged_before).where(RetentionHorizon.name == name))


async def _oldest(session: AsyncSession, key: InstrumentedAttribute[Any],
                  at: InstrumentedAttribute[datetime], before: datetime, chunk: int,
                  *more: ColumnElement[bool]) -> list[Any]:
    """The keys of the oldest rows to delete, by the index on `at`. Read first and deleted
    by key (not `key IN (SELECT ...)`): PostgreSQL would join that subquery to a scan of
    every old row, each round."""
    return list((await session.scalars(
        select(key).where(at < before, *more).order_by(at).limit(chunk))).all())


async def _purge_outbox(session: AsyncSession, before: datetime, chunk: int) -> int:
    # the conditions again in the DELETE: a row that changed meanwhile stays
    old = (OutboxMessage.created_at < before, OutboxMessage.status.in_(FINAL))
    ids = await _oldest(session, OutboxMessage.id, OutboxMessage.created_at, before, chunk, old[1])
    if not ids:
        return 0
    gone = (await session.execute(
        delete(OutboxMessage).where(OutboxMessage.id.in_(ids), *old)
        .returning(OutboxMessage.announcement_id, OutboxMessage.status, OutboxMessage.delivered_at)
        .execution_options(synchronize_session=False))).all()
    await _keep_announcement_figures(session, gone)
    return len(gone)


async def _keep_announcement_figures(session: AsyncSession,
                                     gone: Sequence[Row[tuple[int | None, str, Any]]]) -> None:
    figures: dict[int, Counter[str]] = defaultdict(Counter)
    for announcement_id, status, delivered_at in gone:
        if announcement_id is None:
            continue
        figures[announcement_id][_FIGURE[OutboxStatus(status)]] += 1
        figures[announcement_id]["purged_delivered"] += delivered_at is not None
    for announcement_id, counts in sorted(figures.items()):
        await session.execute(
            update(Announcement).where(Announcement.id == announcement_id)
            .values({name: getattr(Announcement, name) + n for name, n in counts.items() if n})
            .execution_options(synchronize_session=False))


async def _delete_oldest(session: AsyncSession, key: InstrumentedAttribute[Any],
                         at: InstrumentedAttribute[datetime], before: datetime, chunk: int) -> int:
    keys = await _oldest(session, key, at, before, chunk)
    if not keys:
        return 0
    return await changed_rows(session, delete(key.class_).where(key.in_(keys), at < before))


async def _move_horizon(session: AsyncSession, name: str, before: datetime) -> None:
    """Forward only (a longer period set later does not bring rows back)."""
    insert = upsert(session, RetentionHorizon)
    await session.execute(
        insert.values(name=name, purged_before=before)
        .on_conflict_do_update(index_elements=["name"], set_={"purged_before": before},
                               where=RetentionHorizon.purged_before < before))
