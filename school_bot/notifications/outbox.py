"""Writing notifications into the outbox: once per dedupe key, only for active chats.

`enqueue` and `enqueue_many` run in the caller's unit of work (they never commit), so
a job marks its source rows (`alerted_at`, `notified_at`, ...) and writes the outbox
rows in one transaction: either both happen or neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.shared.delivery import EDIT_OF, reply_to_payload
from school_bot.shared.events import Reply
from school_bot.storage.models import Account, OutboxMessage, utc_now
from school_bot.storage.outbox_status import DUE, FINAL, OutboxStatus
from school_bot.storage.writes import upsert

__all__ = ["DUE", "FINAL", "URGENT_KINDS", "Notification", "OutboxStatus", "Priority",
           "enqueue", "enqueue_many", "enqueue_row", "payload_of"]

CHUNK = 500  # rows per INSERT statement (10 columns: far under both databases' limits)


class Priority(IntEnum):
    URGENT = 0   # absence alerts, urgent announcements: go first, ignore quiet hours
    NORMAL = 1   # grades, homework, events, reminders
    BULK = 2     # announcements


# absence alerts, their updates and follow-ups: they go at once whatever their priority,
# and quiet hours do not hold them unless the parent turned "absence alerts in quiet
# hours" off
URGENT_KINDS = frozenset({"absence", "absence_update", "absence_followup"})


@dataclass(frozen=True)
class Notification:
    """One outbox row to write (`edit_of`: the outbox row whose message it changes)."""

    account_id: int
    kind: str
    priority: int
    dedupe_key: str
    reply: Reply
    announcement_id: int | None = None
    not_before: datetime | None = None
    edit_of: int | None = None


def payload_of(reply: Reply, edit_of: int | None = None) -> dict[str, Any]:
    """A row's payload: the reply, and the row whose message it changes (if it does)."""
    payload = reply_to_payload(reply)
    if edit_of is not None:
        payload[EDIT_OF] = edit_of
    return payload


def _row(item: Notification, now: datetime) -> dict[str, Any]:
    if len(item.dedupe_key) > 255:
        raise ValueError("dedupe key longer than 255 characters")
    return {
        "account_id": item.account_id,
        "kind": item.kind,
        "priority": int(item.priority),
        "dedupe_key": item.dedupe_key,
        "payload": payload_of(item.reply, item.edit_of),
        "status": OutboxStatus.QUEUED.value,
        "attempts": 0,
        "next_attempt_at": item.not_before or now,
        "announcement_id": item.announcement_id,
        "created_at": now,
    }


async def active_account_ids(session: AsyncSession, ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    found: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        rows = await session.scalars(
            select(Account.id).where(Account.id.in_(chunk), Account.active.is_(True)))
        found.update(rows)
    return found


async def enqueue_many(session: AsyncSession, items: Sequence[Notification], *,
                       now: datetime | None = None) -> int:
    """Write the rows whose dedupe key is new and whose account is active; return how many.

    `now` (the job's clock; default the system's) is when the rows become due.

    INSERT ... ON CONFLICT (dedupe_key) DO NOTHING, in statements of `CHUNK` rows: a
    concurrent writer of the same key (a second process, a re-run job) is a no-op.
    """
    if not items:
        return 0
    active = await active_account_ids(session, (i.account_id for i in items))
    now = now or utc_now()
    seen: set[str] = set()
    rows = []
    for item in items:
        if item.account_id in active and item.dedupe_key not in seen:
            seen.add(item.dedupe_key)
            rows.append(_row(item, now))
    created = 0
    for start in range(0, len(rows), CHUNK):
        statement = (upsert(session, OutboxMessage).values(rows[start:start + CHUNK])
                     .on_conflict_do_nothing(index_elements=["dedupe_key"])
                     .returning(OutboxMessage.id))
        created += len((await session.execute(statement)).all())
    return created


async def enqueue_row(session: AsyncSession, item: Notification, *, now: datetime) -> int | None:
    """Write one notification; the new row's id, or None (an inactive account, or a key
    written before)."""
    if not await active_account_ids(session, [item.account_id]):
        return None
    statement = (upsert(session, OutboxMessage).values(_row(item, now))
                 .on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(OutboxMessage.id))
    return (await session.execute(statement)).scalar_one_or_none()


async def enqueue(
    session: AsyncSession,
    *,
    account_id: int,
    kind: str,
    priority: int,
    dedupe_key: str,
    reply: Reply,
    announcement_id: int | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Write one notification unless its key was written before; True if a row was created."""
    item = Notification(account_id, kind, priority, dedupe_key, reply, announcement_id, not_before)
    return await enqueue_many(session, [item], now=now) == 1
