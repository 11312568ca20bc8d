"""The outbox dispatcher: one asyncio task that delivers due rows, urgent ones first.

Each cycle claims a few due rows in one unit of work - priority 0 first, then 1, then
2 - and marks them `sending` (with a lease) before any HTTP call, so a crash can only
repeat a message whose request was in flight at the moment of the kill: on start, and
from time to time, rows whose lease ran out go back to the queue (a clean stop puts
back at once what it claimed but did not send). Sends are paced per platform
(`SendWindow`, a little under the messenger's rate) and per chat (`ChatSpacing`: a
chat's next row is not claimed before its interval is over). Quiet hours move a
non-urgent row to the end of the recipient's window instead of sending it.

Outcomes are committed by the `Recorder` (notifications/recorder.py): a RetryAfter
moves the row to the moment the messenger named and pauses the platform (for at most
`max_platform_pause`, stored so a restart respects it); a temporary failure backs off
exponentially with jitter until `max_attempts`; a recipient who blocked the bot turns
the account inactive and blocks its queued rows; a permanent failure is `dead`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, all_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import (
    Deliverer,
    PermanentFailure,
    RecipientGone,
    RetryAfter,
    TemporaryFailure,
    payload_to_reply,
)
from notifications.config import Clock, NotifyConfig, system_clock
from notifications.outbox import DUE, URGENT_KINDS, Priority, Status
from notifications.pacing import ChatSpacing, SendWindow
from notifications.quiet import account_quiet_hours, quiet_until
from notifications.recorder import Claimed, Outcome, Recorder, pause_platform, set_status
from storage.db import Database
from storage.models import Account, DeliveryPause, OutboxMessage
from storage.settings import Settings

log = logging.getLogger(__name__)

MAX_ERROR = 500

__all__ = ["Dispatcher", "pause_platform"]


class Dispatcher:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        deliverers: Mapping[str, Deliverer],
        config: NotifyConfig,
        clock: Clock = system_clock,
    ) -> None:
        self.database = database
        self.settings = settings
        self.deliverers = {str(p): d for p, d in deliverers.items()}
        self.config = config
        self.clock = clock
        self.windows = {p: SendWindow(config.platform_rate(p), margin=config.pacing_margin)
                        for p in self.deliverers}
        self.spacing = {p: ChatSpacing(config.chat_rate(p), margin=config.pacing_margin)
                        for p in self.deliverers}
        self._wake = asyncio.Event()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._holding: dict[int, Claimed] = {}
        self._requesting: set[int] = set()  # rows whose request started, until recorded
        self._stopping = False
        self._next_recovery: datetime | None = None
        self._quiet_checked: datetime | None = None
        self.recorder = Recorder(database, config, clock)
        self._refill = max(1, min(config.batch_size, config.max_in_flight) // 2)

    # ------------------------------------------------------------------ control

    def nudge(self) -> None:
        """Something was enqueued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, *, until_idle: bool = False) -> None:
        """Deliver until `stop()` (or, with `until_idle`, until nothing is due or in flight)."""
        recording = asyncio.create_task(self.recorder.run(), name="outbox-recorder")
        try:
            while not self._stopping:
                free = self.config.max_in_flight - len(self._tasks)
                wanted = min(free, self.config.batch_size)
                if self._tasks and wanted < self._refill:
                    await self._sleep()  # claim in batches, not one row per finished send
                    continue
                # Asked before claiming: a chat whose wait ends during the claim was
                # still held back by it, so idle must not be concluded from a later look.
                pacing = self._pacing_chats()
                try:
                    await self._recover_if_due()
                    claimed = await self.claim(wanted) if wanted > 0 else []
                except (SQLAlchemyError, OSError) as exc:
                    log.error("outbox: cannot claim (%s); trying again shortly", type(exc).__name__)
                    await self._sleep(self.config.poll_interval * 4)
                    continue
                for row in claimed:
                    self._start(row)
                if until_idle and not claimed and not self._tasks and not pacing:
                    return
                if wanted > 0 and len(claimed) == wanted:
                    await asyncio.sleep(0)  # there is more: claim again at once
                    continue
                await self._sleep()
        finally:
            await self._finish_tasks()
            await self.recorder.close(recording)

    async def _sleep(self, seconds: float | None = None) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds or self.config.poll_interval)
        except TimeoutError:
            pass
        self._wake.clear()

    def _pacing_chats(self) -> bool:
        """Some chat is waiting out its per-chat interval (its rows are not claimable yet)."""
        return any(spacing.not_ready() for spacing in self.spacing.values())

    def _start(self, row: Claimed) -> None:
        self._holding[row.id] = row
        task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
        self._tasks[row.id] = task
        task.add_done_callback(lambda _t, rid=row.id: self._done(rid))

    def _done(self, row_id: int) -> None:
        self._tasks.pop(row_id, None)
        self._holding.pop(row_id, None)
        self._wake.set()

    async def _finish_tasks(self) -> None:
        """On stop: requests in flight finish and are recorded; rows still waiting for
        their turn go back to the queue at once (no lease to wait out after a restart)."""
        waiting = [row for row_id, row in self._holding.items() if row_id not in self._requesting]
        for row in waiting:
            self._tasks[row.id].cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=self.config.send_timeout + 5)
        for task in list(self._tasks.values()):
            task.cancel()
        if waiting:
            await self._release(waiting)

    # ------------------------------------------------------------------ claiming

    async def claim(self, limit: int) -> list[Claimed]:
        """Mark up to `limit` due rows `sending` (priority order) and return them."""
        now = self.clock()
        async with self.database.unit_of_work() as session:
            platforms = await self._open_platforms(session, now)
            if not platforms:
                return []
            await self._defer_default_quiet(session, now)
            busy = set(self._holding_accounts())
            for platform in platforms:
                busy |= self.spacing[platform].not_ready()
            picked: list[Claimed] = []
            for priority in Priority:
                if len(picked) >= limit:
                    break
                picked += await self._pick(session, now, priority, platforms, busy,
                                           limit - len(picked))
            if not picked:
                return []
            lease_end = now + timedelta(seconds=self.config.sending_lease)
            claimed_ids = set((await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in picked]),
                       OutboxMessage.status.in_(DUE))
                .values(status=Status.SENDING, next_attempt_at=lease_end)
                .returning(OutboxMessage.id)
            )).all())
        return [r for r in picked if r.id in claimed_ids]

    def _holding_accounts(self) -> list[int]:
        return [row.account_id for row in self._holding.values()]

    async def _open_platforms(self, session: AsyncSession, now: datetime) -> list[str]:
        paused = set((await session.scalars(
            select(DeliveryPause.platform).where(DeliveryPause.paused_until > now))).all())
        return [p for p in self.deliverers if p not in paused]

    async def _pick(
        self, session: AsyncSession, now: datetime, priority: int, platforms: list[str],
        busy: set[Any], limit: int,
    ) -> list[Claimed]:
        """Due rows of one priority, oldest first, then their accounts by primary key.

        The platform is tested with a correlated subquery (a primary-key probe per row),
        not a join: right after a bulk insert PostgreSQL has no statistics yet and would
        plan the join as a nested loop over every account for every row.
        """
        platform = (select(Account.platform).where(Account.id == OutboxMessage.account_id)
                    .scalar_subquery())
        query = (
            select(OutboxMessage.id, OutboxMessage.account_id, OutboxMessage.kind,
                   OutboxMessage.payload, OutboxMessage.attempts)
            .where(OutboxMessage.status.in_(DUE), OutboxMessage.priority == priority,
                   OutboxMessage.next_attempt_at <= now, platform.in_(platforms))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit * 2)
        )
        if busy:
            query = query.where(_not_among(OutboxMessage.account_id, busy, self.database.sqlite))
        if not self.database.sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = (await session.execute(query)).all()
        if not rows:
            return []
        accounts = {a.id: a for a in (await session.execute(
            select(Account.id, Account.platform, Account.chat_id, Account.active,
                   Account.quiet_hours).where(Account.id.in_({r.account_id for r in rows}))))}
        return await self._eligible(session, now, priority, rows, accounts, busy, limit)

    async def _eligible(
        self, session: AsyncSession, now: datetime, priority: int, rows: Any,
        accounts: dict[int, Any], busy: set[Any], limit: int,
    ) -> list[Claimed]:
        """One row per chat; inactive chats' rows blocked; quiet hours' rows moved on."""
        picked: list[Claimed] = []
        default = self.settings.default_quiet_hours
        for row in rows:
            if len(picked) >= limit:
                break
            account = accounts[row.account_id]
            if row.account_id in busy:
                continue  # one message per chat at a time, in order
            if not account.active:
                await set_status(session, row.id, Status.BLOCKED, "account inactive")
                continue
            if priority != Priority.URGENT and row.kind not in URGENT_KINDS:
                hours = account_quiet_hours(account.quiet_hours, default)
                until = quiet_until(hours, now, self.settings.zone)
                if until is not None:
                    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                                          .values(next_attempt_at=until))
                    continue
            busy.add(row.account_id)
            picked.append(Claimed(row.id, row.account_id, account.platform, account.chat_id,
                                  row.payload, row.attempts))
        return picked

    async def _defer_default_quiet(self, session: AsyncSession, now: datetime) -> None:
        """In the default quiet hours, move every waiting non-urgent row of the accounts
        that keep the default to the window's end in one statement (a 60,000-row
        announcement at 22:00 is not re-examined row by row all night)."""
        until = quiet_until(self.settings.default_quiet_hours, now, self.settings.zone)
        if until is None:
            return
        if self._quiet_checked is not None and now - self._quiet_checked < timedelta(seconds=30):
            return
        self._quiet_checked = now
        default_accounts = select(Account.id).where(Account.quiet_hours.is_(None))
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status.in_(DUE), OutboxMessage.priority != Priority.URGENT,
                   OutboxMessage.kind.not_in(sorted(URGENT_KINDS)),
                   OutboxMessage.next_attempt_at <= now,
                   OutboxMessage.account_id.in_(default_accounts))
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )

    # ------------------------------------------------------------------ recovery

    async def _recover_if_due(self) -> None:
        now = self.clock()
        if self._next_recovery is not None and now < self._next_recovery:
            return
        self._next_recovery = now + timedelta(seconds=max(1.0, self.config.sending_lease / 3))
        await self.recover()

    async def recover(self) -> int:
        """Rows left `sending` past their lease (a crash mid-delivery) go back to the queue.

        The lease counts as an attempt, so a message that kills the process every time
        ends `dead` instead of looping forever.
        """
        now = self.clock()
        async with self.database.unit_of_work() as session:
            stale = (OutboxMessage.status == Status.SENDING) & (OutboxMessage.next_attempt_at <= now)
            if self._holding:
                stale = stale & OutboxMessage.id.not_in(sorted(self._holding))
            dead = await session.execute(
                update(OutboxMessage)
                .where(stale, OutboxMessage.attempts + 1 >= self.config.max_attempts)
                .values(status=Status.DEAD, attempts=OutboxMessage.attempts + 1,
                        last_error="interrupted too many times")
                .execution_options(synchronize_session=False))
            back = await session.execute(
                update(OutboxMessage).where(stale)
                .values(status=Status.QUEUED, next_attempt_at=now,
                        attempts=OutboxMessage.attempts + 1,
                        last_error="interrupted while sending")
                .execution_options(synchronize_session=False))
        count = (back.rowcount or 0) + (dead.rowcount or 0)
        if count:
            log.warning("outbox: %d interrupted deliveries put back (%d given up)",
                        count, dead.rowcount or 0)
        return count

    # ------------------------------------------------------------------ delivering

    async def _deliver(self, row: Claimed) -> None:
        window = self.windows[row.platform]
        await window.acquire()
        if self._stopping:
            await self._release([row])
            return
        self._requesting.add(row.id)  # from here on the row is not simply put back
        self.spacing[row.platform].record(row.account_id)
        try:
            outcome = await self._attempt(row)
            if outcome.retry_after is not None:
                pause = min(outcome.retry_after, self.config.max_platform_pause)
                if pause > 0:
                    window.pause(pause)
            await self.recorder.record(row, outcome)
        finally:
            self._requesting.discard(row.id)

    async def _attempt(self, row: Claimed) -> Outcome:
        deliverer = self.deliverers[row.platform]
        try:
            reply = payload_to_reply(row.payload)
            async with asyncio.timeout(self.config.send_timeout):
                message_id = await deliverer.deliver(row.chat_id, reply)
        except RetryAfter as exc:
            return Outcome(Status.QUEUED, error=_short(exc), retry_after=max(0.0, exc.seconds))
        except RecipientGone as exc:
            return Outcome(Status.BLOCKED, error=_short(exc))
        except PermanentFailure as exc:
            return Outcome(Status.DEAD, error=_short(exc))
        except (TemporaryFailure, TimeoutError) as exc:
            return Outcome(Status.FAILED, error=_short(exc) or "timed out")
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop delivery
            log.error("outbox: row %d: unexpected %s from the %s deliverer",
                      row.id, type(exc).__name__, row.platform)
            return Outcome(Status.FAILED, error=f"{type(exc).__name__}: {_short(exc)}")
        return Outcome(Status.SENT, message_id=None if message_id is None else str(message_id))

    async def _release(self, rows: list[Claimed]) -> None:
        """Stopping before their requests were made: the rows are simply queued again."""
        try:
            async with self.database.unit_of_work() as session:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([r.id for r in rows]),
                           OutboxMessage.status == Status.SENDING)
                    .values(status=Status.QUEUED, next_attempt_at=self.clock())
                    .execution_options(synchronize_session=False))
        except (SQLAlchemyError, OSError) as exc:
            log.error("outbox: cannot release %d rows (%s); their lease will", len(rows),
                      type(exc).__name__)


def _not_among(column: Any, ids: set[Any], sqlite_dialect: bool) -> Any:
    """`column NOT IN (...)`; on PostgreSQL `<> ALL(array)`, one statement text whatever the
    number of ids (asyncpg prepares each distinct text: an IN list would be re-prepared)."""
    if sqlite_dialect:
        return column.not_in(sorted(ids))
    return column != all_(bindparam("busy_ids", sorted(ids), type_=ARRAY(BigInteger)))


def _short(exc: BaseException) -> str:
    return str(exc)[:MAX_ERROR]
