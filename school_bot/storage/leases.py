"""Leases: only one process does a singleton job (the outbox dispatcher, the scheduler).

A lease row names its holder and an expiry. The holder renews it well before it
expires; another process takes it over only once it has expired, so when a worker
dies the next one takes over within one lease period, and two workers started by
mistake never dispatch at the same time. It works the same on SQLite and PostgreSQL
(a conditional UPDATE/INSERT in one short transaction), without session-bound locks
that a connection pool could silently drop.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import update

from school_bot.storage.db import Database
from school_bot.storage.models import Lease, utc_now
from school_bot.storage.writes import changed_rows, upsert


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def acquire(database: Database, name: str, holder: str, ttl: timedelta,
                  now: datetime | None = None) -> bool:
    """Take or renew the lease; True when `holder` holds it until now + ttl."""
    now = now or utc_now()
    expires = now + ttl
    async with database.unit_of_work() as session:
        created = await changed_rows(
            session,
            upsert(session, Lease).values(name=name, holder=holder, expires_at=expires)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if created:
            return True
        taken = await changed_rows(
            session,
            update(Lease)
            .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now))
            .values(holder=holder, expires_at=expires)
        )
        return bool(taken)


async def release(database: Database, name: str, holder: str) -> None:
    async with database.unit_of_work() as session:
        await session.execute(
            update(Lease).where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
