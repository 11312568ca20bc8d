"""Recording delivery outcomes, with group commit.

Every finished delivery hands its outcome to the `Recorder` and waits until it is
committed (until then the dispatcher keeps the row as its own). The recorder writes
everything that finished while its previous commit was running in ONE unit of work:
one commit per message when traffic is light, a few per second when 30 messages a
second are going out (PostgreSQL commits cost an fsync each).

The outcomes:
  sent          → `sent`, sent_at, platform_message_id
  retry after   → back to `queued` at now + seconds (not an attempt); the platform is
                  paused for at most `max_platform_pause` (stored: a restart respects it)
  temporary     → `failed`, next try after exponential backoff with jitter; `dead` after
                  `max_attempts`
  recipient gone→ the account inactive, this and its waiting rows `blocked`
  permanent     → `dead`
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.config import Clock, NotifyConfig
from notifications.outbox import DUE, Status
from storage.db import Database
from storage.models import Account, DeliveryPause, OutboxMessage

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 5


@dataclass(frozen=True)
class Claimed:
    """A row a dispatcher holds (`sending`) and what its delivery needs."""

    id: int
    account_id: int
    platform: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Outcome:
    status: Status
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None


Pending = tuple[Claimed, Outcome, "asyncio.Future[None]"]


class Recorder:
    def __init__(self, database: Database, config: NotifyConfig, clock: Clock) -> None:
        self.database = database
        self.config = config
        self.clock = clock
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._closing = False

    async def record(self, row: Claimed, outcome: Outcome) -> None:
        """Queue the outcome for the next commit and wait for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, outcome, done))
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
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await self._write(batch)
                break
            except (SQLAlchemyError, OSError) as exc:
                log.error("outbox: cannot record %d outcomes (%s), attempt %d",
                          len(batch), type(exc).__name__, attempt)
                if attempt < RECORD_ATTEMPTS:
                    await asyncio.sleep(0.5 * attempt)
        for _row, _outcome, done in batch:
            if not done.done():
                done.set_result(None)

    async def _write(self, batch: list[Pending]) -> None:
        now = self.clock()
        async with self.database.unit_of_work() as session:
            sent = [{"id": row.id, "status": Status.SENT.value, "sent_at": now,
                     "attempts": row.attempts + 1, "platform_message_id": outcome.message_id,
                     "last_error": None}
                    for row, outcome, _ in batch if outcome.status is Status.SENT]
            if sent:
                await session.execute(update(OutboxMessage), sent)
            for row, outcome, _ in batch:
                if outcome.status is not Status.SENT:
                    await self._failure(session, row, outcome, now)
        if sent:
            log.debug("outbox: %d sent", len(sent))

    async def _failure(self, session: AsyncSession, row: Claimed, outcome: Outcome,
                       now: datetime) -> None:
        if outcome.retry_after is not None:
            await self._retry_after(session, row, outcome, now)
        elif outcome.status is Status.BLOCKED:
            await self._recipient_gone(session, row, outcome)
        elif outcome.status is Status.FAILED:
            await self._temporary(session, row, outcome, now)
        else:
            await set_status(session, row.id, Status.DEAD, outcome.error, attempts=row.attempts + 1)
            log.warning("outbox: row %d dead: %s", row.id, outcome.error)

    async def _retry_after(self, session: AsyncSession, row: Claimed, outcome: Outcome,
                           now: datetime) -> None:
        seconds = outcome.retry_after or 0.0
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                status=Status.QUEUED, last_error=outcome.error,
                next_attempt_at=now + timedelta(seconds=seconds)))
        pause = min(seconds, self.config.max_platform_pause)
        if pause > 0:
            await pause_platform(session, row.platform, now + timedelta(seconds=pause),
                                 outcome.error)
        log.info("outbox: row %d: %s asked to retry after %.0f s", row.id, row.platform, seconds)

    async def _recipient_gone(self, session: AsyncSession, row: Claimed, outcome: Outcome) -> None:
        await session.execute(update(Account).where(Account.id == row.account_id)
                              .values(active=False))
        await set_status(session, row.id, Status.BLOCKED, outcome.error, attempts=row.attempts + 1)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.account_id == row.account_id, OutboxMessage.status.in_(DUE))
            .values(status=Status.BLOCKED, last_error="recipient blocked the bot")
            .execution_options(synchronize_session=False))
        log.info("outbox: account %d blocked the bot; marked inactive", row.account_id)

    async def _temporary(self, session: AsyncSession, row: Claimed, outcome: Outcome,
                         now: datetime) -> None:
        attempts = row.attempts + 1
        if attempts >= self.config.max_attempts:
            await set_status(session, row.id, Status.DEAD, outcome.error, attempts=attempts)
            log.warning("outbox: row %d dead after %d attempts", row.id, attempts)
            return
        delay = backoff(attempts, self.config.backoff_base, self.config.backoff_cap)
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                status=Status.FAILED, attempts=attempts, last_error=outcome.error,
                next_attempt_at=now + timedelta(seconds=delay)))
        log.info("outbox: row %d failed (attempt %d), retry in %.1f s", row.id, attempts, delay)


def backoff(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: about base·2^(n-1), capped, between ½ and 1 of it."""
    ceiling = min(cap, base * 2 ** min(attempts - 1, 30))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not cryptography


async def pause_platform(session: AsyncSession, platform: str, until: datetime,
                         reason: str | None) -> None:
    """Store "send nothing on `platform` until `until`" (a later pause wins)."""
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)(DeliveryPause)
    statement = insert.values(platform=platform, paused_until=until, reason=(reason or "")[:255])
    await session.execute(statement.on_conflict_do_update(
        index_elements=["platform"],
        set_={"paused_until": statement.excluded.paused_until,
              "reason": statement.excluded.reason},
        where=and_(DeliveryPause.paused_until < statement.excluded.paused_until),
    ))


async def set_status(session: AsyncSession, row_id: int, status: Status, error: str | None,
                     *, attempts: int | None = None) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error}
    if attempts is not None:
        values["attempts"] = attempts
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))
