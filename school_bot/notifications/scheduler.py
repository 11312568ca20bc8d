"""The jobs on an APScheduler 3 AsyncIOScheduler (built inside the running loop).

Fixed ids, replace_existing, coalesce and max_instances=1: a slow run is never
overlapped by the next, and missed runs collapse into one. The scheduler holds no
state of ours (its job store is in memory); what was done is in our tables.
"""

from __future__ import annotations

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


def build_scheduler(ctx: JobContext) -> AsyncIOScheduler:
    """Call inside the running loop (the scheduler binds to it on start)."""
    scheduler = AsyncIOScheduler(timezone=ctx.settings.zone)
    first_run = datetime.now(ctx.settings.zone)  # at once, then every interval
    for spec in job_specs(ctx):
        scheduler.add_job(run_job, "interval", args=(ctx, spec), id=spec.id, name=spec.id,
                          seconds=spec.interval, replace_existing=True, coalesce=True,
                          max_instances=1, misfire_grace_time=max(30, int(spec.interval)),
                          next_run_time=first_run)
    return scheduler
