"""The outbox dispatcher: one asyncio task that delivers due rows, urgent ones first.

Each cycle claims a few due rows in one unit of work - priority 0 first, then 1, then
2 - and marks them `sending` (with a lease) before any HTTP call, so a crash can only
repeat a message whose request was in flight at the moment of the kill: on start, and
from time to time, rows whose lease ran out go back to the queue (a clean stop puts
back at once what it claimed but did not send). Sends are paced per platform
(`SendWindow`, a little under the messenger's rate) and per chat (`ChatSpacing`: a
chat's next row is not claimed before its interval is over). Quiet hours, read in the
chat's school's time zone, move a row they hold (notifications/quiet.py) to the end of
the recipient's window instead of sending it; those of the chats that keep the default
are moved in bulk, one statement per zone (notifications/default_quiet.py). A row that
changes a message sent before (notifications/edits.py) is delivered as an edit.

Urgent rows jump the queue without breaking the rates: the send window hands its next
slot to the most urgent row waiting for one, and `urgent_reserve` in-flight places
beyond `max_in_flight` are kept for urgent rows, so that when the dispatcher is nudged
while an announcement's rows fill every other place, it claims the urgent rows at once
instead of after the next refill.

Announcements on a platform whose deliverer can broadcast (Viber) are claimed as
batches instead (notifications/batching.py): up to 300 rows of one announcement with
the same payload, all `sending` under a lease before the one call, which takes one slot
of the platform's send window.

Outcomes are committed by the `Recorder` (notifications/recorder.py): a RetryAfter
moves the row to the moment the messenger named and pauses the platform (for at most
`max_platform_pause`, stored so a restart respects it); a temporary failure backs off
exponentially with jitter until `max_attempts`; a recipient who blocked the bot turns
the account inactive and blocks its queued rows; a permanent failure is `dead`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, all_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.batching import Batch, BatchDeliverer, batches, outcomes
from school_bot.notifications.chat_zones import zone_named, zone_of_chats
from school_bot.notifications.config import Clock, NotifyConfig, system_clock
from school_bot.notifications.default_quiet import DefaultQuiet
from school_bot.notifications.edits import edit_target
from school_bot.notifications.outbox import DUE, OutboxStatus, Priority
from school_bot.notifications.pacing import ChatSpacing, SendWindow
from school_bot.notifications.quiet import account_quiet_hours, held_in_quiet_hours, quiet_until
from school_bot.notifications.recorder import (
    Claimed,
    Outcome,
    Recorder,
    Result,
    pause_platform,
    set_status,
)
from school_bot.shared.delivery import Deliverer, DeliveryError, payload_to_reply
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.models import Account, DeliveryPause, OutboxMessage
from school_bot.storage.writes import changed_rows

log = logging.getLogger(__name__)

__all__ = ["Dispatcher", "pause_platform"]

Job = Claimed | Batch  # what one delivery task sends: a row, or a broadcast's rows


def rows_of(job: Job) -> tuple[Claimed, ...]:
    return job.rows if isinstance(job, Batch) else (job,)


def _key(job: Job) -> int:
    return rows_of(job)[0].id


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
        self.broadcasters: dict[str, BatchDeliverer] = {
            p: d for p, d in self.deliverers.items()
            if config.broadcast_announcements and isinstance(d, BatchDeliverer)
            and d.max_receivers > 1}
        self.config = config
        self.clock = clock
        self.windows = {p: SendWindow(config.platform_rate(p), margin=config.pacing_margin)
                        for p in self.deliverers}
        self.spacing = {p: ChatSpacing(config.chat_rate(p), margin=config.pacing_margin)
                        for p in self.deliverers}
        self._wake = asyncio.Event()
        self._tasks: dict[int, asyncio.Task[None]] = {}  # by job key (its first row's id)
        self._jobs: dict[int, Job] = {}
        self._holding: dict[int, Claimed] = {}  # every row of every job, by row id
        self._requesting: set[int] = set()  # jobs whose request started, until recorded
        self._stopping = False
        self._nudged = False  # something was enqueued: urgent rows may be claimed at once
        self._next_recovery: datetime | None = None
        self.default_quiet = DefaultQuiet(settings)
        self.recorder = Recorder(database, config, clock, receipt_platforms=[
            p for p, d in self.deliverers.items() if getattr(d, "sends_receipts", False)])
        self._refill = max(1, min(config.batch_size, config.max_in_flight) // 2)

    # ------------------------------------------------------------------ control

    def nudge(self) -> None:
        """Something was enqueued: look now instead of at the next poll (urgent rows are
        claimed into the reserved places even when the others are all taken)."""
        self._nudged = True
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
                wanted, urgent_only = self._room()
                if wanted <= 0:
                    await self._sleep()  # claim in batches, not one row per finished send
                    continue
                self._nudged = False
                # Asked before claiming: a chat whose wait ends during the claim was
                # still held back by it, so idle must not be concluded from a later look.
                pacing = self._pacing_chats()
                try:
                    await self._recover_if_due()
                    claimed = await self.claim(wanted, urgent_only=urgent_only)
                except (SQLAlchemyError, OSError) as exc:
                    log.error("outbox: cannot claim (%s); trying again shortly", type(exc).__name__)
                    await self._sleep(self.config.poll_interval * 4)
                    continue
                for priority, job in claimed:
                    self._start(job, priority)
                if until_idle and not claimed and not self._tasks and not pacing:
                    return
                if len(claimed) == wanted:  # there is more: claim again at once
                    await asyncio.sleep(0)
                    continue
                await self._sleep()
        finally:
            await self._finish_tasks()
            await self.recorder.close(recording)

    async def _sleep(self, seconds: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds or self.config.poll_interval)
        self._wake.clear()

    def _room(self) -> tuple[int, bool]:
        """How many jobs to claim now (0: none yet), and whether only urgent rows.

        Rows are claimed in batches once `_refill` places are free (a claim per finished
        send would cost a transaction per message); a nudge claims urgent rows once, at
        once, into the places left plus the urgent reserve."""
        free = self.config.max_in_flight - len(self._tasks)
        wanted = min(free, self.config.batch_size)
        if not self._tasks or wanted >= self._refill:
            return wanted, False
        if self._nudged:
            return min(free + self.config.urgent_reserve, self.config.batch_size), True
        return 0, False

    def _pacing_chats(self) -> bool:
        """Some chat is waiting out its per-chat interval (its rows are not claimable yet)."""
        return any(spacing.not_ready() for spacing in self.spacing.values())

    def _start(self, job: Job, priority: int) -> None:
        key = _key(job)
        self._jobs[key] = job
        for row in rows_of(job):
            self._holding[row.id] = row
        task = asyncio.create_task(self._deliver(job, priority), name=f"outbox-{key}")
        self._tasks[key] = task
        task.add_done_callback(lambda _task: self._done(key))

    def _done(self, key: int) -> None:
        self._tasks.pop(key, None)
        job = self._jobs.pop(key, None)
        for row in rows_of(job) if job is not None else ():
            self._holding.pop(row.id, None)
        self._wake.set()

    async def _finish_tasks(self) -> None:
        """On stop: requests in flight finish and are recorded; rows still waiting for
        their turn go back to the queue at once (no lease to wait out after a restart)."""
        waiting = [job for key, job in self._jobs.items() if key not in self._requesting]
        for job in waiting:
            self._tasks[_key(job)].cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=self.config.send_timeout + 5)
        for task in list(self._tasks.values()):
            task.cancel()
        if waiting:
            await self._release([row for job in waiting for row in rows_of(job)])

    # ------------------------------------------------------------------ claiming

    async def claim(self, limit: int, *, urgent_only: bool = False) -> list[tuple[int, Job]]:
        """Mark the rows of up to `limit` jobs `sending` (priority order) and return them
        with their priority (urgent_only: rows of priority 0 alone).

        A job is one row, or a batch of one announcement's rows for a broadcast."""
        now = self.clock()
        async with self.database.unit_of_work() as session:
            platforms = await self._open_platforms(session, now)
            if not platforms:
                return []
            await self._defer_default_quiet(session, now)
            busy = set(self._holding_accounts())
            for platform in platforms:
                busy |= self.spacing[platform].not_ready()
            broadcasting = [p for p in platforms if p in self.broadcasters]
            picked: list[Job] = []
            lanes: dict[int, int] = {}  # each picked row's priority, by row id
            for priority in (Priority.URGENT,) if urgent_only else tuple(Priority):
                start = len(picked)
                if broadcasting and len(picked) < limit:
                    picked += await self._pick_batches(session, now, priority, broadcasting,
                                                       busy, limit - len(picked))
                if len(picked) < limit:
                    picked += await self._pick(session, now, priority, platforms, busy,
                                               limit - len(picked), broadcasting)
                lanes.update((row.id, priority) for job in picked[start:] for row in rows_of(job))
            if not picked:
                return []
            lease_end = now + timedelta(seconds=self.config.sending_lease)
            claimed_ids = set((await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for job in picked for r in rows_of(job)]),
                       OutboxMessage.status.in_(DUE))
                .values(status=OutboxStatus.SENDING, next_attempt_at=lease_end)
                .returning(OutboxMessage.id)
            )).all())
        jobs = [job for job in (_claimed_part(job, claimed_ids) for job in picked) if job]
        return [(lanes[_key(job)], job) for job in jobs]

    def _holding_accounts(self) -> list[int]:
        return [row.account_id for row in self._holding.values()]

    async def _open_platforms(self, session: AsyncSession, now: datetime) -> list[str]:
        paused = set((await session.scalars(
            select(DeliveryPause.platform).where(DeliveryPause.paused_until > now))).all())
        return [p for p in self.deliverers if p not in paused]

    async def _pick(
        self, session: AsyncSession, now: datetime, priority: int, platforms: list[str],
        busy: set[Any], limit: int, broadcasting: list[str],
    ) -> list[Claimed]:
        """Due rows of one priority to send one by one (announcements on a broadcasting
        platform go in batches instead)."""
        query = self._due(now, priority, platforms, busy, limit * 2)
        if broadcasting:
            query = query.where(or_(OutboxMessage.announcement_id.is_(None),
                                    _platform().not_in(broadcasting)))
        return await self._eligible_rows(session, now, priority, query, busy, limit)

    async def _pick_batches(
        self, session: AsyncSession, now: datetime, priority: int, broadcasting: list[str],
        busy: set[Any], limit: int,
    ) -> list[Batch]:
        """Up to `limit` batches of due announcement rows for broadcasting platforms."""
        picked: list[Batch] = []
        for platform in broadcasting:
            if len(picked) >= limit:
                break
            size = self.broadcasters[platform].max_receivers
            query = self._due(now, priority, [platform], busy, (limit - len(picked)) * size)
            query = query.where(OutboxMessage.announcement_id.is_not(None))
            rows = await self._eligible_rows(session, now, priority, query, busy,
                                             (limit - len(picked)) * size)
            found = batches(rows, size)[:limit - len(picked)]
            chosen = {row.account_id for batch in found for row in batch.rows}
            busy -= {row.account_id for row in rows} - chosen  # those left for the next claim
            picked += found
        return picked

    def _due(self, now: datetime, priority: int, platforms: list[str], busy: set[Any],
             fetch: int) -> Any:
        """Due rows of one priority on these platforms, oldest first, not of busy chats.

        The platform is tested with a correlated subquery (a primary-key probe per row),
        not a join: right after a bulk insert PostgreSQL has no statistics yet and would
        plan the join as a nested loop over every account for every row.
        """
        query = (
            select(OutboxMessage.id, OutboxMessage.account_id, OutboxMessage.kind,
                   OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.announcement_id)
            .where(OutboxMessage.status.in_(DUE), OutboxMessage.priority == priority,
                   OutboxMessage.next_attempt_at <= now, _platform().in_(platforms))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(fetch)
        )
        if busy:
            query = query.where(_not_among(OutboxMessage.account_id, busy, self.database.sqlite))
        if not self.database.sqlite:
            query = query.with_for_update(skip_locked=True)
        return query

    async def _eligible_rows(self, session: AsyncSession, now: datetime, priority: int,
                             query: Any, busy: set[Any], limit: int) -> list[Claimed]:
        """The rows `query` finds, with their accounts (and the zones their quiet hours
        are read in, in the same query), that may go now."""
        rows = (await session.execute(query)).all()
        if not rows:
            return []
        ids = {r.account_id for r in rows}
        zones = zone_of_chats(ids)
        accounts = {a.id: a for a in (await session.execute(
            select(Account.id, Account.platform, Account.chat_id, Account.active,
                   Account.quiet_hours, Account.absence_alerts_in_quiet_hours, zones.c.timezone)
            .outerjoin(zones, zones.c.account_id == Account.id).where(Account.id.in_(ids))))}
        return await self._eligible(session, now, priority, rows, accounts, busy, limit)

    async def _eligible(
        self, session: AsyncSession, now: datetime, priority: int, rows: Any,
        accounts: dict[int, Any], busy: set[Any], limit: int,
    ) -> list[Claimed]:
        """One row per chat; inactive chats' rows blocked; quiet hours' rows moved on (to
        the window's end in the chat's zone)."""
        picked: list[Claimed] = []
        default = self.settings.default_quiet_hours
        for row in rows:
            if len(picked) >= limit:
                break
            account = accounts[row.account_id]
            if row.account_id in busy:
                continue  # one message per chat at a time, in order
            if not account.active:
                await set_status(session, row.id, OutboxStatus.BLOCKED, "account inactive")
                continue
            if held_in_quiet_hours(priority, row.kind, account.absence_alerts_in_quiet_hours):
                hours = account_quiet_hours(account.quiet_hours, default)
                until = quiet_until(hours, now, zone_named(account.timezone, self.settings.zone))
                if until is not None:
                    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                                          .values(next_attempt_at=until))
                    continue
            busy.add(row.account_id)
            picked.append(Claimed(row.id, row.account_id, account.platform, account.chat_id,
                                  row.payload, row.attempts, row.announcement_id))
        return picked

    async def _defer_default_quiet(self, session: AsyncSession, now: datetime) -> None:
        """The rows the default quiet hours hold, moved in bulk: one statement per zone
        that is quiet now (notifications/default_quiet.py)."""
        await self.default_quiet.defer(session, now)

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
            stale = ((OutboxMessage.status == OutboxStatus.SENDING)
                     & (OutboxMessage.next_attempt_at <= now))
            if self._holding:
                stale = stale & OutboxMessage.id.not_in(sorted(self._holding))
            dead = await changed_rows(
                session,
                update(OutboxMessage)
                .where(stale, OutboxMessage.attempts + 1 >= self.config.max_attempts)
                .values(status=OutboxStatus.DEAD, attempts=OutboxMessage.attempts + 1,
                        last_error="interrupted too many times")
                .execution_options(synchronize_session=False))
            back = await changed_rows(
                session,
                update(OutboxMessage).where(stale)
                .values(status=OutboxStatus.QUEUED, next_attempt_at=now,
                        attempts=OutboxMessage.attempts + 1,
                        last_error="interrupted while sending")
                .execution_options(synchronize_session=False))
        count = back + dead
        if count:
            log.warning("outbox: %d interrupted deliveries put back (%d given up)", count, dead)
        return count

    # ------------------------------------------------------------------ delivering

    async def _deliver(self, job: Job, priority: int) -> None:
        rows = rows_of(job)
        platform = rows[0].platform
        window = self.windows[platform]
        slot = await window.acquire(priority)  # one slot per call: a broadcast counts once
        if self._stopping:
            slot.close()
            await self._release(list(rows))
            return
        self._requesting.add(_key(job))  # from here on the rows are not simply put back
        try:
            try:
                results = await (self._broadcast(job) if isinstance(job, Batch)
                                 else self._attempt(job))
            finally:
                slot.close()  # the messenger answered: its window is counted from here
            # from the answer, not the request: the message reached the messenger before
            # it answered, so the chat's next one cannot arrive within the interval however
            # long this request was on its way (the chat is held until recorded)
            for row in rows:
                self.spacing[platform].record(row.account_id)
            pause = min(max((o.retry_after or 0.0 for _, o in results), default=0.0),
                        self.config.max_platform_pause)
            if pause > 0:
                window.pause(pause)
            await self.recorder.record_many(results)
        finally:
            self._requesting.discard(_key(job))

    async def _attempt(self, row: Claimed) -> list[Result]:
        deliverer = self.deliverers[row.platform]
        try:
            reply = payload_to_reply(row.payload)
            edit = await edit_target(self.database, row.payload, deliverer)
            async with asyncio.timeout(self.config.send_timeout):
                if edit is not None:  # a row that changes a message sent before
                    message_id = await edit[0].edit(row.chat_id, edit[1], reply)
                else:
                    message_id = await deliverer.deliver(row.chat_id, reply)
        except (DeliveryError, TimeoutError) as exc:
            return [(row, Outcome.of_error(exc))]
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop delivery
            log.error("outbox: row %d: unexpected %s from the %s deliverer",
                      row.id, type(exc).__name__, row.platform)
            return [(row, Outcome.of_error(exc))]
        return [(row, Outcome.sent(message_id))]

    async def _broadcast(self, batch: Batch) -> list[Result]:
        """One call for the batch's chats; each row gets its own outcome."""
        deliverer = self.broadcasters[batch.platform]
        try:
            reply = payload_to_reply(batch.payload)
            async with asyncio.timeout(self.config.send_timeout):
                answers = await deliverer.deliver_many([r.chat_id for r in batch.rows], reply)
        except (DeliveryError, TimeoutError) as exc:
            return [(row, Outcome.of_error(exc)) for row in batch.rows]
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop delivery
            log.error("outbox: broadcast of %d rows: unexpected %s from the %s deliverer",
                      len(batch.rows), type(exc).__name__, batch.platform)
            return [(row, Outcome.of_error(exc)) for row in batch.rows]
        return outcomes(batch, answers)

    async def _release(self, rows: list[Claimed]) -> None:
        """Stopping before their requests were made: the rows are simply queued again."""
        try:
            async with self.database.unit_of_work() as session:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([r.id for r in rows]),
                           OutboxMessage.status == OutboxStatus.SENDING)
                    .values(status=OutboxStatus.QUEUED, next_attempt_at=self.clock())
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


def _platform() -> Any:
    """The platform of an outbox row's account (a correlated primary-key probe)."""
    return (select(Account.platform).where(Account.id == OutboxMessage.account_id)
            .scalar_subquery())


def _claimed_part(job: Job, claimed_ids: set[int]) -> Job | None:
    """What of a picked job this dispatcher really claimed (None: nothing)."""
    if isinstance(job, Batch):
        rows = tuple(row for row in job.rows if row.id in claimed_ids)
        return Batch(rows) if rows else None
    return job if job.id in claimed_ids else None
