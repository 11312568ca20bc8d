"""Only one holder at a time; a dead holder's lease is taken over once it expires."""

from __future__ import annotations

from datetime import timedelta

from school_bot.storage.db import Database
from school_bot.storage.leases import acquire, release
from school_bot.storage.models import utc_now

TTL = timedelta(seconds=10)


async def test_one_holder_at_a_time_and_takeover_after_expiry(db: Database) -> None:
    now = utc_now()
    assert await acquire(db, "dispatcher", "a", TTL, now)
    assert not await acquire(db, "dispatcher", "b", TTL, now + timedelta(seconds=5))
    assert await acquire(db, "dispatcher", "a", TTL, now + timedelta(seconds=5))  # renewal
    assert not await acquire(db, "dispatcher", "b", TTL, now + timedelta(seconds=14))
    assert await acquire(db, "dispatcher", "b", TTL, now + timedelta(seconds=16))  # a died
    assert not await acquire(db, "dispatcher", "a", TTL, now + timedelta(seconds=17))


async def test_release_lets_the_next_holder_in_at_once(db: Database) -> None:
    assert await acquire(db, "scheduler", "a", TTL)
    await release(db, "scheduler", "a")
    assert await acquire(db, "scheduler", "b", TTL)
