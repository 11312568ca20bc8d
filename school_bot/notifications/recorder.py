"""Recording delivery outcomes, with group commit.

Every finished delivery (one row, or the rows of one broadcast) hands its outcomes to
the `Recorder` and waits until they are committed (until then the dispatcher keeps the
rows as its own). The recorder writes everything that finished while its previous
commit was running in ONE unit of work: one commit per message when traffic is light,
a few per second when 30 messages a second are going out (PostgreSQL commits cost an
fsync each), one for the 300 rows of a broadcast.

The outcomes (the only writer of a row's status besides the claim and the recovery):
  sent          → `sent`, sent_at, platform_message_id; receipts that came before the
                  send was recorded are applied now (notifications/receipts.py)
  retry after   → back to `queued` at now + seconds (not an attempt); the platform is
                  paused for at most `max_platform_pause` (stored: a restart respects it)
  temporary     → `retry`, next try after exponential backoff with jitter; `dead` after
                  `max_attempts`
  recipient gone→ the account inactive, this and its waiting rows `blocked`
  permanent     → `dead`
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.config import Clock, NotifyConfig
from school_bot.notifications.receipts import apply_early_receipts, lock_tokens
from school_bot.shared.delivery import PermanentFailure, RecipientGone, RetryAfter, TemporaryFailure
from school_bot.storage.db import Database
from school_bot.storage.models import Account, DeliveryPause, OutboxMessage
from school_bot.storage.outbox_status import DUE, OutboxStatus
from school_bot.storage.writes import upsert

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 5
MAX_ERROR = 500


@dataclass(frozen=True)
class Claimed:
    """A row a dispatcher holds (`sending`) and what its delivery needs."""

    id: int
    account_id: int
    platform: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int
    announcement_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    status: OutboxStatus
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def sent(cls, message_id: object) -> Outcome:
        return cls(OutboxStatus.SENT, message_id=None if message_id is None else str(message_id))

    @classmethod
    def of_error(cls, exc: BaseException) -> Outcome:
        """The outcome of a delivery that raised `exc` (an adapter's neutral error, a timeout)."""
        if isinstance(exc, RetryAfter):
            return cls(OutboxStatus.QUEUED, error=_short(exc), retry_after=max(0.0, exc.seconds))
        if isinstance(exc, RecipientGone):
            return cls(OutboxStatus.BLOCKED, error=_short(exc))
        if isinstance(exc, PermanentFailure):
            return cls(OutboxStatus.DEAD, error=_short(exc))
        if isinstance(exc, (TemporaryFailure, TimeoutError)):
            return cls(OutboxStatus.RETRY, error=_short(exc) or "timed out")
        return cls(OutboxStatus.RETRY, error=f"{type(exc).__name__}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    return str(exc)[:MAX_ERROR]


Result = tuple[Claimed, Outcome]
Pending = tuple[Sequence[Result], "asyncio.Future[None]"]


class Recorder:
    def __init__(self, database: Database, config: NotifyConfig, clock: Clock,
                 receipt_platforms: Iterable[str] = ()) -> None:
        self.database = database
        self.config = config
        self.clock = clock
        self.receipt_platforms = frozenset(receipt_platforms)
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._closing = False

    async def record(self, row: Claimed, outcome: Outcome) -> None:
        """Queue the outcome for the next commit and wait for it."""
        await self.record_many([(row, outcome)])

    async def record_many(self, results: Sequence[Result]) -> None:
        """Queue several outcomes (a broadcast's) for the next commit and wait for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((results, done))
        self._wake.set()
        await done

    async def run(self) -> None:
        """Commit what is pending, batch after batch, until closed and drained."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(batch)
            if self._closing and not self._pending:
                return

    async def close(self, task: asyncio.Task[None]) -> None:
        self._closing = True
        self._wake.set()
        await task

    async def _commit(self, batch: list[Pending]) -> None:
        """One unit of work for the batch; a database hiccup is retried (bounded), since a
        row left `sending` after a real send would be sent again when its lease ends."""
        results = [result for results, _ in batch for result in results]
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await self._write(results)
                break
            except (SQLAlchemyError, OSError) as exc:
                log.error("outbox: cannot record %d outcomes (%s), attempt %d",
                          len(results), type(exc).__name__, attempt)
                if attempt < RECORD_ATTEMPTS:
                    await asyncio.sleep(0.5 * attempt)
        for _results, done in batch:
            if not done.done():
                done.set_result(None)

    async def _write(self, results: list[Result]) -> None:
        now = self.clock()
        delivered = [(row, outcome) for row, outcome in results
                     if outcome.status is OutboxStatus.SENT]
        receipts = [(row.account_id, outcome.message_id) for row, outcome in delivered
                    if outcome.message_id and row.platform in self.receipt_platforms]
        async with self.database.unit_of_work() as session:
            await lock_tokens(session, [token for _, token in receipts])
            if delivered:
                await session.execute(update(OutboxMessage), [
                    {"id": row.id, "status": OutboxStatus.SENT.value, "sent_at": now,
                     "attempts": row.attempts + 1, "platform_message_id": outcome.message_id,
                     "last_error": None}
                    for row, outcome in delivered])
            early = await apply_early_receipts(session, receipts)
            await self._failures(session, [(row, outcome) for row, outcome in results
                                           if outcome.status is not OutboxStatus.SENT], now)
        if delivered:
            log.debug("outbox: %d sent (%d early receipts applied)", len(delivered), early)

    async def _failures(self, session: AsyncSession, results: list[Result], now: datetime) -> None:
        """Every failed row in a few statements (a broadcast may bring hundreds)."""
        rows: list[dict[str, Any]] = []
        waits: list[Result] = []
        gone: list[Result] = []
        for row, outcome in results:
            if outcome.retry_after is not None:
                waits.append((row, outcome))
                rows.append(self._retry_after(row, outcome, now))
            elif outcome.status is OutboxStatus.BLOCKED:
                gone.append((row, outcome))
            elif outcome.status is OutboxStatus.RETRY:
                rows.append(self._temporary(row, outcome, now))
            else:
                rows.append(_row(row, OutboxStatus.DEAD, outcome.error))
                log.warning("outbox: row %d dead: %s", row.id, outcome.error)
        if rows:
            await session.execute(update(OutboxMessage), rows)
        await self._pause(session, waits, now)
        await self._recipients_gone(session, gone)

    def _retry_after(self, row: Claimed, outcome: Outcome, now: datetime) -> dict[str, Any]:
        """Back to the queue at the moment the messenger named; not an attempt."""
        seconds = outcome.retry_after or 0.0
        log.info("outbox: row %d: %s asked to retry after %.0f s", row.id, row.platform, seconds)
        return {"id": row.id, "status": OutboxStatus.QUEUED.value, "last_error": outcome.error,
                "next_attempt_at": now + timedelta(seconds=seconds)}

    async def _pause(self, session: AsyncSession, waits: list[Result], now: datetime) -> None:
        """Each platform that said "retry after" is paused once, for the longest it asked."""
        longest: dict[str, Outcome] = {}
        for row, outcome in waits:
            held = longest.get(row.platform)
            if held is None or (outcome.retry_after or 0.0) > (held.retry_after or 0.0):
                longest[row.platform] = outcome
        for platform, outcome in longest.items():
            pause = min(outcome.retry_after or 0.0, self.config.max_platform_pause)
            if pause > 0:
                await pause_platform(session, platform, now + timedelta(seconds=pause),
                                     outcome.error)

    async def _recipients_gone(self, session: AsyncSession, gone: list[Result]) -> None:
        if not gone:
            return
        accounts = sorted({row.account_id for row, _ in gone})
        await session.execute(update(OutboxMessage), [
            _row(row, OutboxStatus.BLOCKED, outcome.error) for row, outcome in gone])
        await session.execute(update(Account).where(Account.id.in_(accounts))
                              .values(active=False).execution_options(synchronize_session=False))
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.account_id.in_(accounts), OutboxMessage.status.in_(DUE))
            .values(status=OutboxStatus.BLOCKED, last_error="recipient blocked the bot")
            .execution_options(synchronize_session=False))
        log.info("outbox: %d accounts blocked the bot; marked inactive", len(accounts))

    def _temporary(self, row: Claimed, outcome: Outcome, now: datetime) -> dict[str, Any]:
        attempts = row.attempts + 1
        if attempts >= self.config.max_attempts:
            log.warning("outbox: row %d dead after %d attempts", row.id, attempts)
            return _row(row, OutboxStatus.DEAD, outcome.error)
        delay = backoff(attempts, self.config.backoff_base, self.config.backoff_cap)
        log.info("outbox: row %d failed (attempt %d), retry in %.1f s", row.id, attempts, delay)
        return {**_row(row, OutboxStatus.RETRY, outcome.error),
                "next_attempt_at": now + timedelta(seconds=delay)}


def _row(row: Claimed, status: OutboxStatus, error: str | None) -> dict[str, Any]:
    """A row's new status after an attempt (for a bulk UPDATE by primary key)."""
    return {"id": row.id, "status": status.value, "last_error": error,
            "attempts": row.attempts + 1}


def backoff(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: about base·2^(n-1), capped, between ½ and 1 of it."""
    ceiling: float = min(cap, base * 2 ** min(attempts - 1, 30))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


async def pause_platform(session: AsyncSession, platform: str, until: datetime,
                         reason: str | None) -> None:
    """Store "send nothing on `platform` until `until`" (a later pause wins)."""
    insert = upsert(session, DeliveryPause)
    statement = insert.values(platform=platform, paused_until=until, reason=(reason or "")[:255])
    await session.execute(statement.on_conflict_do_update(
        index_elements=["platform"],
        set_={"paused_until": statement.excluded.paused_until,
              "reason": statement.excluded.reason},
        where=and_(DeliveryPause.paused_until < statement.excluded.paused_until),
    ))


async def set_status(session: AsyncSession, row_id: int, status: OutboxStatus, error: str | None,
                     *, attempts: int | None = None) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error}
    if attempts is not None:
        values["attempts"] = attempts
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))
