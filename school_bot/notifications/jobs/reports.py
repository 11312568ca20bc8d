"""The final report of an announcement made in the bot, to its author, once it is done."""

from __future__ import annotations

from school_bot.notifications.announcements import finished_reports
from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.outbox import enqueue_many


async def announcement_reports(ctx: JobContext) -> int:
    now = ctx.now()
    async with ctx.database.unit_of_work() as session:
        items = await finished_reports(session, now=now,
                                       default_locale=ctx.settings.default_locale)
        written = await enqueue_many(session, items, now=now)
    if written:
        ctx.nudge()
    return written
