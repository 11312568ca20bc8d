"""Rows that the default quiet hours hold, moved in bulk, zone by zone.

In the default quiet hours of a zone, every waiting non-urgent row of the chats that
keep the default and whose quiet hours are read in that zone (notifications/chat_zones.py)
is moved to the window's end in one statement, so a 60,000-row announcement at 21:00 is
not re-examined row by row all night. One statement per zone that is quiet now, at most
every `INTERVAL` for each; the zones are the city's and those of the launched schools,
read again as often. What a statement has not reached yet (a row written a moment
later, a chat of its own hours, an absence alert its parent holds) the dispatcher
moves row by row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.notifications.chat_zones import chats_in_zone, known_zone, school_zones
from school_bot.notifications.outbox import DUE, URGENT_KINDS, Priority
from school_bot.notifications.quiet import quiet_until
from school_bot.shared.settings import Settings
from school_bot.storage.models import Account, OutboxMessage

INTERVAL = timedelta(seconds=30)


class DefaultQuiet:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._zones: set[str] = set()
        self._zones_read: datetime | None = None
        self._deferred: dict[str, datetime] = {}  # zone name: its last statement

    async def defer(self, session: AsyncSession, now: datetime) -> None:
        hours = self.settings.default_quiet_hours
        if hours is None:
            return
        for name in sorted(await self._zone_names(session, now)):
            zone = known_zone(name)
            until = quiet_until(hours, now, zone) if zone is not None else None
            last = self._deferred.get(name)
            if until is None or (last is not None and timedelta(0) <= now - last < INTERVAL):
                continue
            self._deferred[name] = now
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status.in_(DUE), OutboxMessage.priority != Priority.URGENT,
                       OutboxMessage.kind.not_in(sorted(URGENT_KINDS)),
                       OutboxMessage.next_attempt_at <= now,
                       OutboxMessage.account_id.in_(
                           chats_in_zone(name, self.settings.timezone)
                           .where(Account.quiet_hours.is_(None))))
                .values(next_attempt_at=until)
                .execution_options(synchronize_session=False))

    async def _zone_names(self, session: AsyncSession, now: datetime) -> set[str]:
        if self._zones_read is None or now - self._zones_read >= INTERVAL or now < self._zones_read:
            self._zones = await school_zones(session) | {self.settings.timezone}
            self._zones_read = now
        return self._zones
