"""NotificationService: the outbox dispatcher and the scheduled jobs of one process.

    service = NotificationService(database, settings, {Platform.TELEGRAM: deliverer})
    await service.start()      # inside the running loop: scheduler + dispatcher task
    service.nudge()            # something was enqueued in this process: look now
    await service.stop()       # in-flight requests finish; nothing else is started
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import Deliverer
from notifications.config import Clock, NotifyConfig, system_clock
from notifications.dispatcher import Dispatcher
from notifications.jobs.common import JobContext
from notifications.scheduler import build_scheduler
from storage.db import Database
from storage.settings import Settings

log = logging.getLogger(__name__)


class NotificationService:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        deliverers: Mapping[str, Deliverer],
        clock: Clock | None = None,
        *,
        config: NotifyConfig | None = None,
        jobs: bool = True,
    ) -> None:
        self.database = database
        self.settings = settings
        self.config = config or NotifyConfig.from_settings(settings)
        self.clock = clock or system_clock
        self.dispatcher = Dispatcher(database, settings, deliverers, self.config, self.clock)
        self.jobs = JobContext(database, settings, self.config, self.clock, self.nudge)
        self._with_jobs = jobs
        self._scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        self.dispatcher.nudge()

    async def start(self) -> None:
        if self._task is not None:
            return
        await self.dispatcher.recover()
        self._task = asyncio.create_task(self.dispatcher.run(), name="outbox-dispatcher")
        if self._with_jobs:
            self._scheduler = build_scheduler(self.jobs)
            self._scheduler.start()
        log.info("notifications started: platforms=%s jobs=%s",
                 ",".join(self.dispatcher.deliverers) or "-", "on" if self._with_jobs else "off")

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._task is not None:
            self.dispatcher.stop()
            task, self._task = self._task, None
            await task
        log.info("notifications stopped")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
