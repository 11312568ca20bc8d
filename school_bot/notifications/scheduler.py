"""The jobs on an APScheduler 3 AsyncIOScheduler (built inside the running loop).

Fixed ids, replace_existing, coalesce and max_instances=1: a slow run is never
overlapped by the next, and missed runs collapse into one. The scheduler holds no
state of ours (its job store is in memory); what was done is in our tables.

Stopping (`ScheduledJobs.stop`) starts no new run and gives the running ones
`job_stop_grace` seconds to finish; a run still going then is cancelled, which rolls
back its open unit of work (each commits its marks with its rows, so nothing is left
half-written), and ends quietly: a stop is not a job's error. (APScheduler's own
shutdown would cancel them at once and log each as "raised an exception".)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from school_bot.notifications.jobs.absences import absence_alerts
from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.jobs.events import event_notifications
from school_bot.notifications.jobs.grades import grade_digests, grade_notifications
from school_bot.notifications.jobs.homework import homework_for_tomorrow
from school_bot.notifications.jobs.housekeeping import forget_early_receipts, purge_expired
from school_bot.notifications.jobs.launch import launch_news
from school_bot.notifications.jobs.note_reminders import absence_note_reminders
from school_bot.notifications.jobs.reports import announcement_reports
from school_bot.notifications.jobs.teachers import diary_reminders, director_summaries

log = logging.getLogger(__name__)

Job = Callable[[JobContext], Awaitable[int]]


@dataclass(frozen=True)
class JobSpec:
    id: str
    job: Job
    interval: float


def job_specs(ctx: JobContext) -> list[JobSpec]:
    c = ctx.config
    return [
        JobSpec("absence_alerts", absence_alerts, c.absence_interval),
        JobSpec("grade_notifications", grade_notifications, c.grades_interval),
        JobSpec("event_notifications", event_notifications, c.events_interval),
        JobSpec("diary_reminders", diary_reminders, c.teachers_interval),
        JobSpec("launch_news", launch_news, c.launch_interval),
        JobSpec("announcement_reports", announcement_reports, c.reports_interval),
        JobSpec("forget_early_receipts", forget_early_receipts, c.housekeeping_interval),
        JobSpec("purge_expired", purge_expired, c.retention_interval),
        # once a day per school, after their hour: checked every few minutes
        JobSpec("grade_digests", grade_digests, c.evening_interval),
        JobSpec("homework_for_tomorrow", homework_for_tomorrow, c.evening_interval),
        JobSpec("director_summaries", director_summaries, c.evening_interval),
        JobSpec("absence_note_reminders", absence_note_reminders, c.evening_interval),
    ]


async def run_job(ctx: JobContext, spec: JobSpec) -> int:
    """One run; a failure is logged without its SQL parameters (they may hold names)."""
    try:
        written = await spec.job(ctx)
    except SQLAlchemyError as exc:
        original = getattr(exc, "orig", None)
        log.error("job %s failed: %s%s", spec.id, type(exc).__name__,
                  f" ({type(original).__name__})" if original is not None else "")
        return 0
    if written:
        log.info("job %s: %d notifications queued", spec.id, written)
    return written


class ScheduledJobs:
    """The scheduler and the runs it started, which a stop waits for (or cancels)."""

    def __init__(self, ctx: JobContext) -> None:
        self._scheduler = AsyncIOScheduler(timezone=ctx.settings.zone)
        self._running: set[asyncio.Task[object]] = set()
        first_run = datetime.now(ctx.settings.zone)  # at once, then every interval
        for spec in job_specs(ctx):
            self._scheduler.add_job(
                self._run, "interval", args=(ctx, spec), id=spec.id, name=spec.id,
                seconds=spec.interval, replace_existing=True, coalesce=True, max_instances=1,
                misfire_grace_time=max(30, int(spec.interval)), next_run_time=first_run)

    def start(self) -> None:
        """Call inside the running loop (the scheduler binds to it)."""
        self._scheduler.start()

    async def stop(self, grace: float) -> None:
        """No new run; the running ones get `grace` seconds, then are cancelled."""
        self._scheduler.pause()
        await asyncio.sleep(0)  # a run submitted a moment ago takes its first step: it is counted
        running = set(self._running)
        if running:
            log.info("notifications: waiting up to %gs for %d running jobs", grace, len(running))
            _, late = await asyncio.wait(running, timeout=grace)
            if late:
                log.info("notifications: cancelling %d jobs still running", len(late))
                for task in late:
                    task.cancel()
                await asyncio.wait(late)  # their rollbacks
        self._scheduler.shutdown(wait=False)

    async def _run(self, ctx: JobContext, spec: JobSpec) -> int:
        task = asyncio.current_task()
        assert task is not None  # APScheduler runs each run as a task of the loop
        self._running.add(task)
        try:
            return await run_job(ctx, spec)
        except asyncio.CancelledError:
            # only a stop cancels a run; APScheduler would log it as the job's error
            log.info("job %s stopped before it finished; its open unit of work rolled back",
                     spec.id)
            return 0
        finally:
            self._running.discard(task)


def build_scheduler(ctx: JobContext) -> ScheduledJobs:
    """Call inside the running loop; `start()` it."""
    return ScheduledJobs(ctx)
