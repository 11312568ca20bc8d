"""What the notification tests share: a school day and a settable clock, the settings
and the job context as the service builds them, and a reader of the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from school_bot.notifications.config import NotifyConfig
from school_bot.notifications.jobs.common import JobContext
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.models import OutboxMessage

KYIV = ZoneInfo("Europe/Kyiv")
# Wednesday 12 March 2025, 10:00 in Kyiv: a school day, outside quiet hours
SCHOOL_DAY = date(2025, 3, 12)


def kyiv(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=KYIV).astimezone(UTC)


class Clock:
    """A clock the test sets and moves; the code under test only reads it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"database_url": "sqlite+aiosqlite:///unused.sqlite3",
                            "default_locale": "uk", "timezone": "Europe/Kyiv",
                            "quiet_hours": "21:00-07:30"}
    base.update(overrides)
    return Settings(_env_file=None, **base)


def config(**overrides: Any) -> NotifyConfig:
    base: dict[str, Any] = {"telegram_rate": 500.0, "telegram_chat_rate": 200.0,
                            "poll_interval": 0.05, "send_timeout": 5.0, "sending_lease": 30.0,
                            "max_attempts": 4, "backoff_base": 0.05, "backoff_cap": 0.2,
                            "max_platform_pause": 0.2, "batch_size": 20, "max_in_flight": 16}
    base.update(overrides)
    return NotifyConfig(_env_file=None, **base)


def job_context(db: Database, clock: Clock, **config_overrides: Any) -> JobContext:
    return JobContext(db, settings(), config(**config_overrides), clock)


async def outbox(db: Database, **where: Any) -> list[OutboxMessage]:
    """The outbox's rows in the order written, those whose columns have these values."""
    async with db.unit_of_work() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await s.scalars(query)).all())
