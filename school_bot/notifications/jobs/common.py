"""What every job needs: the context it runs in and a few school-time helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.config import Clock, NotifyConfig, system_clock
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.models import JobMark, School
from school_bot.storage.writes import upsert


def _no_nudge() -> None:
    return None


@dataclass
class JobContext:
    database: Database
    settings: Settings
    config: NotifyConfig
    clock: Clock = system_clock
    nudge: Callable[[], None] = field(default=_no_nudge)

    def now(self) -> datetime:
        return self.clock()

    def locale(self, language: str | None) -> str:
        return language or self.settings.default_locale

    def zone(self, name: str | None) -> ZoneInfo:
        """A school's time zone (the city's when it is missing or unknown)."""
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return self.settings.zone


def first_name(full_name: str | None) -> str:
    """The given name of "Surname Given Patronymic" (what a parent calls the child)."""
    parts = (full_name or "").split()
    if len(parts) >= 2:
        return parts[1]
    return parts[0] if parts else "—"


def short_name(full_name: str | None) -> str:
    """"Surname G. P." for a teacher in a director's summary."""
    parts = (full_name or "").split()
    if not parts:
        return "—"
    return " ".join([parts[0], *(f"{p[0]}." for p in parts[1:3])])


def digest_of(ids: Iterable[object]) -> str:
    """A short stable name of a set (the lessons of an alert) for a dedupe key."""
    joined = ",".join(sorted(str(i) for i in ids))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def at_local(day: date, moment: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone)


def next_school_day(today: date) -> date:
    """Tomorrow; on Friday and Saturday, Monday."""
    tomorrow = today + timedelta(days=1)
    while tomorrow.weekday() >= 5:
        tomorrow += timedelta(days=1)
    return tomorrow


async def claim_mark(session: AsyncSession, job: str, scope: str, day: date) -> bool:
    """Record that `job` ran for `scope` on `day`; False if it already had."""
    insert = upsert(session, JobMark)
    statement = (insert.values(job=job, scope=scope, day=day)
                 .on_conflict_do_nothing(index_elements=["job", "scope", "day"])
                 .returning(JobMark.job))
    return (await session.execute(statement)).first() is not None


async def for_launched_schools(
    ctx: JobContext, work: Callable[[str, datetime], Awaitable[int]]
) -> int:
    """Run `work(school_id, local_now)` for every launched school, in its own time zone;
    nudge the dispatcher when anything was written. Returns how many rows were written."""
    now = ctx.now()
    async with ctx.database.unit_of_work() as session:
        schools = (await session.execute(
            select(School.id, School.timezone).where(School.launched.is_(True)))).all()
    written = 0
    for school in schools:
        written += await work(school.id, now.astimezone(ctx.zone(school.timezone)))
    if written:
        ctx.nudge()
    return written
