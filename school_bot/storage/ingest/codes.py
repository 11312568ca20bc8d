"""Invitation codes that come with guardians' and staff members' records.

A record's `invite_code` is read only with consent, and is already the hash of the
code (`fields.invite_code` checks the code by the one rule and hashes it): the code's
text goes no further than the parser. It is stored for the person the record names
(`owner`: the InviteCode column, `guardian_id` or `staff_id`).

One code is one person's: a code that compares equal to another person's, stored or
earlier in the batch, rejects the record (`check`). Then (`settle`, once the people
are written) every code the load accepted can be redeemed: a new one is stored for
`IMPORTED_LIFETIME`; one the person had before that was replaced or has expired is
made usable again for as long (a used one stays used, a locked one locked); the
person's other unused codes stop working. Sending the same usable code again changes
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from school_bot.storage.ingest.sql import QUERY_SLICE
from school_bot.storage.invites import IMPORTED_LIFETIME
from school_bot.storage.models import InviteCode

if TYPE_CHECKING:
    from school_bot.storage.ingest.upsert import Item

TAKEN = ("invite_code: the same code (ignoring case, spaces, dashes and look-alike letters) "
         "belongs to another person")
_CODES = InviteCode.__table__


class StoredCode(NamedTuple):
    id: int
    guardian_id: str | None
    staff_id: str | None
    used: bool
    stale: bool  # replaced or expired


Stored = dict[str, StoredCode]  # by the code's hash


def _code_hash(item: Item) -> str | None:
    return item.values.get("invite_code") if item.values["consent"] else None


def _person(owner: str, person_id: str) -> tuple[str | None, str | None]:
    """(guardian id, staff id) of a code's owner."""
    return (person_id, None) if owner == "guardian_id" else (None, person_id)


async def _read(connection: AsyncConnection, hashes: list[str], now: datetime) -> Stored:
    """The stored codes among these hashes: whose, used or not, and whether stale
    (replaced or expired), worked out by the database."""
    c = _CODES.c
    found: Stored = {}
    for start in range(0, len(hashes), QUERY_SLICE):
        rows = await connection.execute(
            select(c.code_hash, c.id, c.guardian_id, c.staff_id, c.used_at.is_not(None),
                   c.revoked_at.is_not(None) | (c.expires_at <= now))
            .where(c.code_hash.in_(hashes[start:start + QUERY_SLICE])))
        found.update({row[0]: StoredCode(*row[1:]) for row in rows})
    return found


async def check(session: AsyncSession, items: Sequence[Item], owner: str, now: datetime) -> Stored:
    """Reject a record whose code is another person's (stored, or earlier in the batch);
    what is stored of the batch's codes, for `settle`."""
    hashes = sorted({h for item in items if (h := _code_hash(item))})
    if not hashes:
        return {}
    stored = await _read(await session.connection(), hashes, now)
    holders = {code: (row.guardian_id, row.staff_id) for code, row in stored.items()}
    for item in items:
        code = _code_hash(item)
        if code is None:
            continue
        person = _person(owner, item.values["id"])
        if holders.setdefault(code, person) != person:
            item.reject(TAKEN)
    return stored


async def settle(session: AsyncSession, items: Sequence[Item], owner: str, now: datetime,
                 stored: Stored) -> set[int]:
    """Make each person's code (their last record's) usable; the positions of the records
    whose code changed anything. `stored`: what `check` read for these records."""
    wanted: dict[str, tuple[str, Item]] = {}  # person id -> (hash, their last record)
    for item in items:
        code = _code_hash(item)
        if code is not None:
            wanted[item.values["id"]] = (code, item)
    fresh: list[dict[str, Any]] = []
    revived: list[int] = []
    people: list[str] = []
    changed: set[int] = set()
    for person_id, (code, item) in wanted.items():
        row = stored.get(code)
        if row is None:
            fresh.append({**dict.fromkeys(("guardian_id", "staff_id")), owner: person_id,
                          "code_hash": code})
        elif row.stale and not row.used:
            revived.append(row.id)
        else:
            continue  # usable already, or used: nothing to do
        people.append(person_id)
        changed.add(item.pos)
    if people:
        await _write(await session.connection(), owner, people, revived, fresh, now)
    return changed


async def _write(connection: AsyncConnection, owner: str, people: list[str], revived: list[int],
                 fresh: list[dict[str, Any]], now: datetime) -> None:
    """The people's other unused codes stop working; revived and new ones start."""
    await connection.execute(
        update(_CODES).where(_CODES.c[owner].in_(people), _CODES.c.used_at.is_(None),
                             _CODES.c.revoked_at.is_(None)).values(revoked_at=now))
    expires = now + IMPORTED_LIFETIME
    if revived:
        await connection.execute(update(_CODES).where(_CODES.c.id.in_(revived))
                                 .values(revoked_at=None, expires_at=expires))
    if fresh:
        await connection.execute(insert(_CODES), [
            {**row, "created_at": now, "expires_at": expires, "failed_attempts": 0}
            for row in fresh])
