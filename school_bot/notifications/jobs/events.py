"""School events: told when published, reminded the evening before.

* Publication: an event not yet announced (`announced_at` NULL) that starts in the
  future goes to the guardians of the school's pupils (or of its class) whose chats
  keep event notifications on; then `announced_at` is set.
* Reminder: from `event_reminder_at` (school time) on the day before the event until
  it starts, once (`reminded_at`). An event published after that moment is not
  reminded separately: its announcement is the reminder.

`queue_publications` announces in the caller's unit of work, optionally only some
events: the ingest API calls it for the events it wrote (notifications/realtime.py).
On PostgreSQL the events it announces are locked (`FOR UPDATE SKIP LOCKED`): an event
another transaction is announcing is left to that one.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications import texts
from school_bot.notifications.jobs.common import JobContext, at_local
from school_bot.notifications.outbox import Notification, Priority, enqueue_many
from school_bot.notifications.recipients import Recipient, guardian_accounts
from school_bot.storage.models import Event, School, SchoolClass, Student

BATCH = 200


async def event_notifications(ctx: JobContext) -> int:
    written = await _publish(ctx) + await _remind(ctx)
    if written:
        ctx.nudge()
    return written


def _events() -> Select[tuple[Event, str, str]]:
    return (select(Event, School.timezone, School.name.label("school_name"))
            .join(School, School.id == Event.school_id)
            .where(School.launched.is_(True)))


def reminder_moment(ctx: JobContext, event: Event, zone: ZoneInfo) -> datetime:
    day_before = event.starts_at.astimezone(zone).date() - timedelta(days=1)
    return at_local(day_before, ctx.config.event_reminder_at, zone)


async def _audience(session: AsyncSession, event: Event) -> list[Recipient]:
    query = select(Student.id).join(SchoolClass, SchoolClass.id == Student.class_id)
    if event.class_id:
        query = query.where(Student.class_id == event.class_id)
    else:
        query = query.where(SchoolClass.school_id == event.school_id)
    pupils = (await session.scalars(query)).all()
    by_pupil = await guardian_accounts(session, pupils)
    chats: dict[int, Recipient] = {}
    for people in by_pupil.values():
        for person in people:
            if person.notify_events:
                chats[person.account_id] = person  # a parent of two pupils: once
    return list(chats.values())


async def _publish(ctx: JobContext) -> int:
    async with ctx.database.unit_of_work() as session:
        return await queue_publications(session, ctx)


async def queue_publications(session: AsyncSession, ctx: JobContext, *,
                             events: Collection[str] | None = None) -> int:
    """Announce the events not yet announced (with `events`, only those ids) in the
    caller's unit of work: the messages written and `announced_at` set, together.
    Returns the outbox rows written."""
    now = ctx.now()
    written = 0
    query = (_events().where(Event.announced_at.is_(None), Event.starts_at > now)
             .order_by(Event.starts_at).limit(BATCH)
             .with_for_update(of=Event, skip_locked=True))
    if events is not None:
        query = query.where(Event.id.in_(sorted(events)))
    rows = (await session.execute(query)).all()
    for event, tz, _school in rows:
        zone = ctx.zone(tz)
        items = [
            Notification(person.account_id, "event", Priority.NORMAL,
                         f"event:{event.id}:{person.account_id}",
                         texts.event_published(ctx.locale(person.language), title=event.title,
                                               starts=event.starts_at.astimezone(zone),
                                               description=event.description))
            for person in await _audience(session, event)
        ]
        written += await enqueue_many(session, items, now=now)
        values = {"announced_at": now}
        if event.reminded_at is None and now >= reminder_moment(ctx, event, zone):
            values["reminded_at"] = now
        await session.execute(update(Event).where(Event.id == event.id).values(**values))
    return written


async def _remind(ctx: JobContext) -> int:
    now = ctx.now()
    written = 0
    async with ctx.database.unit_of_work() as session:
        rows = (await session.execute(
            _events().where(Event.reminded_at.is_(None), Event.announced_at.is_not(None),
                            Event.starts_at > now, Event.starts_at < now + timedelta(days=2))
            .order_by(Event.starts_at).limit(BATCH))).all()
        for event, tz, _school in rows:
            zone = ctx.zone(tz)
            if now < reminder_moment(ctx, event, zone):
                continue
            items = [
                Notification(person.account_id, "event_reminder", Priority.NORMAL,
                             f"event-reminder:{event.id}:{person.account_id}",
                             texts.event_reminder(ctx.locale(person.language), title=event.title,
                                                  starts=event.starts_at.astimezone(zone),
                                                  today=now.astimezone(zone).date()))
                for person in await _audience(session, event)
            ]
            written += await enqueue_many(session, items, now=now)
            await session.execute(update(Event).where(Event.id == event.id).values(reminded_at=now))
    return written
