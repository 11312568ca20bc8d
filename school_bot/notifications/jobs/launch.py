"""A school launched: every chat that was turned away while it had not is told once."""

from __future__ import annotations

from sqlalchemy import select, update

from school_bot.notifications import texts
from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.storage.models import Account, LaunchWaiter, School

BATCH = 2000


async def launch_news(ctx: JobContext) -> int:
    written = 0
    while True:
        now = ctx.now()
        async with ctx.database.unit_of_work() as session:
            rows = (await session.execute(
                select(LaunchWaiter.account_id, LaunchWaiter.school_id, School.name,
                       Account.language)
                .join(School, School.id == LaunchWaiter.school_id)
                .join(Account, Account.id == LaunchWaiter.account_id)
                .where(LaunchWaiter.notified_at.is_(None), School.launched.is_(True))
                .order_by(LaunchWaiter.school_id, LaunchWaiter.account_id).limit(BATCH)
            )).all()
            if not rows:
                break
            items = [Notification(r.account_id, "launch", Priority.NORMAL,
                                  f"launch:{r.school_id}:{r.account_id}",
                                  texts.school_launched(ctx.locale(r.language), school=r.name))
                     for r in rows]
            written += await enqueue_many(session, items, now=now)
            for school_id in {r.school_id for r in rows}:
                await session.execute(
                    update(LaunchWaiter)
                    .where(LaunchWaiter.school_id == school_id, LaunchWaiter.notified_at.is_(None),
                           LaunchWaiter.account_id.in_([r.account_id for r in rows
                                                        if r.school_id == school_id]))
                    .values(notified_at=now).execution_options(synchronize_session=False))
        if len(rows) < BATCH:
            break
    if written:
        ctx.nudge()
    return written
