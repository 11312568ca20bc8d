"""NotificationService: the outbox dispatcher and the scheduled jobs of one process.

    service = NotificationService(database, settings, {Platform.TELEGRAM: deliverer},
                                  wake=wake)
    await service.start()      # inside the running loop: scheduler + dispatcher task
    service.nudge()            # something was enqueued in this process: look now
    await service.stop()       # running jobs and in-flight requests finish (jobs within
                               # NOTIFY_JOB_STOP_GRACE); nothing else is started

What another part of the program or another process commits reaches the worker
through the process's `Wake` (notifications/wake.py): `QUEUED` nudges the dispatcher,
`WRITTEN` runs the scans of what writes cause at once (`Rescan`). While it works, the
service listens for other processes' commits (notifications/watchers.py: LISTEN on
PostgreSQL, `data_version` on SQLite).

Only one worker dispatches and runs the jobs at a time, so two workers started by
mistake neither double a message nor break the messengers' rate limits: the active
one holds the `worker` lease (storage/leases.py) and renews it; the others wait and
take over within one lease period when it dies. (The claims themselves are atomic
too, so even an overlap at a takeover cannot send a row twice.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import suppress
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from school_bot.notifications.config import Clock, NotifyConfig, system_clock
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.scheduler import ScheduledJobs, build_scheduler
from school_bot.notifications.wake import QUEUED, WRITTEN, Wake
from school_bot.notifications.watchers import Rescan, watcher_for
from school_bot.shared.delivery import Deliverer
from school_bot.shared.settings import Settings
from school_bot.storage import leases
from school_bot.storage.db import Database

log = logging.getLogger(__name__)
LEASE = "notifications-worker"


class NotificationService:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        deliverers: Mapping[str, Deliverer],
        clock: Clock | None = None,
        *,
        config: NotifyConfig | None = None,
        jobs: bool | None = None,
        wake: Wake | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.config = config or NotifyConfig.from_settings(settings)
        self.clock = clock or system_clock
        self._deliverers = deliverers
        self.dispatcher = Dispatcher(database, settings, deliverers, self.config, self.clock)
        self._dispatcher_used = False
        self.jobs = JobContext(database, settings, self.config, self.clock, self.nudge)
        self._with_jobs = self.config.jobs if jobs is None else jobs  # NOTIFY_JOBS
        self._scheduler: ScheduledJobs | None = None
        self._task: asyncio.Task[None] | None = None
        self._holder = leases.holder_name()
        self._leader: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.wake = wake if wake is not None else Wake()
        self._rescan: Rescan | None = None
        self._ears: list[asyncio.Task[None]] = []  # the watcher and the rescan
        self.wake.on(QUEUED, self.nudge)
        self.wake.on(WRITTEN, self._written)

    def nudge(self) -> None:
        self.dispatcher.nudge()

    def _written(self) -> None:
        """Another process committed the school's data: scan now (then nudge)."""
        if self._rescan is not None:
            self._rescan.ask()
        else:
            self.nudge()

    async def start(self) -> None:
        """Start working at once if this worker gets the lease; keep watching it either way."""
        if self._leader is not None:
            return
        self._stopping.clear()
        if await self._hold_lease():
            await self._start_work()
        else:
            log.info("notifications: another worker holds the lease; standing by")
        self._leader = asyncio.create_task(self._keep_lease(), name="worker-lease")

    async def stop(self) -> None:
        self._stopping.set()
        if self._leader is not None:
            leader, self._leader = self._leader, None
            await leader
        await self._stop_work()
        await leases.release(self.database, LEASE, self._holder)
        log.info("notifications stopped")

    async def _hold_lease(self) -> bool:
        ttl = timedelta(seconds=self.config.worker_lease)
        try:
            return await leases.acquire(self.database, LEASE, self._holder, ttl, self.clock())
        except (SQLAlchemyError, OSError) as exc:
            log.warning("notifications: cannot renew the worker lease (%s)", type(exc).__name__)
            return False

    async def _keep_lease(self) -> None:
        while not self._stopping.is_set():
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.config.worker_lease / 3)
            if self._stopping.is_set():
                return
            held = await self._hold_lease()
            if held and self._task is None:
                log.info("notifications: took over the worker lease")
                await self._start_work()
            elif not held and self._task is not None:
                log.warning("notifications: lost the worker lease; stopping dispatch")
                await self._stop_work()

    async def _start_work(self) -> None:
        if self._dispatcher_used:  # a stopped dispatcher does not restart: take a fresh one
            self.dispatcher = Dispatcher(self.database, self.settings, self._deliverers,
                                         self.config, self.clock)
        self._dispatcher_used = True
        await self.dispatcher.recover()
        self._task = asyncio.create_task(self.dispatcher.run(), name="outbox-dispatcher")
        if self._with_jobs:
            self._scheduler = build_scheduler(self.jobs)
            self._scheduler.start()
            self._rescan = Rescan(self.jobs)
            self._ears.append(asyncio.create_task(self._rescan.run(), name="rescan"))
        watcher = watcher_for(self.database, self.wake, self.config.data_version_interval)
        self._ears.append(asyncio.create_task(watcher.run(), name="write-watcher"))
        log.info("notifications started: platforms=%s jobs=%s",
                 ",".join(self.dispatcher.deliverers) or "-", "on" if self._with_jobs else "off")

    async def _stop_work(self) -> None:
        self._rescan = None
        ears, self._ears = self._ears, []
        for task in ears:
            task.cancel()
        for task in ears:
            with suppress(asyncio.CancelledError):
                await task
        if self._scheduler is not None:  # running jobs finish (or are cancelled) first
            scheduler, self._scheduler = self._scheduler, None
            await scheduler.stop(self.config.job_stop_grace)
        if self._task is not None:
            self.dispatcher.stop()
            task, self._task = self._task, None
            await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
