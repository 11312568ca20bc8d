"""Invitation codes that come with guardians' and staff members' records.

The code a record carries (already checked and put in its comparison form by
`fields.invite_code`, and read only with consent) is stored as its hash, for the
person the record names (`owner`: the InviteCode column, `guardian_id` or `staff_id`).
One code is one person's: a code that compares equal to another person's, stored or
earlier in the batch, rejects the record. After a load, every code it accepted can be
redeemed: a new one is stored for `IMPORTED_LIFETIME`; one the person had before that
was replaced or has expired is made usable again for as long (a used one stays used);
the person's other unused codes stop working. Sending the same usable code again
changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.ingest.sql import QUERY_SLICE
from storage.invites import IMPORTED_LIFETIME, hash_code
from storage.models import InviteCode

if TYPE_CHECKING:
    from storage.ingest.upsert import Item

TAKEN = ("invite_code: the same code (ignoring case, spaces, dashes and look-alike letters) "
         "belongs to another person")
_CODES = InviteCode.__table__


def _code_hash(item: Item) -> str | None:
    code = item.values.get("invite_code")
    return hash_code(code) if code and item.values["consent"] else None


def _person(owner: str, person_id: str) -> tuple[str | None, str | None]:
    """(guardian id, staff id) of a code's owner."""
    return (person_id, None) if owner == "guardian_id" else (None, person_id)


async def _stored(connection: AsyncConnection, hashes: Sequence[str]) -> dict[str, Any]:
    """The stored code rows among these hashes, by hash."""
    found: dict[str, Any] = {}
    for start in range(0, len(hashes), QUERY_SLICE):
        rows = await connection.execute(
            select(_CODES.c.id, _CODES.c.code_hash, _CODES.c.guardian_id, _CODES.c.staff_id,
                   _CODES.c.used_at, _CODES.c.revoked_at, _CODES.c.expires_at)
            .where(_CODES.c.code_hash.in_(hashes[start:start + QUERY_SLICE])))
        found.update({row.code_hash: row for row in rows})
    return found


async def reject_taken(session: AsyncSession, items: Sequence[Item], owner: str) -> None:
    """Reject a record whose code is another person's (stored, or earlier in the batch)."""
    hashes = sorted({h for item in items if (h := _code_hash(item))})
    if not hashes:
        return
    stored = await _stored(await session.connection(), hashes)
    holders = {code: (row.guardian_id, row.staff_id) for code, row in stored.items()}
    for item in items:
        code = _code_hash(item)
        if code is None:
            continue
        person = _person(owner, item.values["id"])
        if holders.setdefault(code, person) != person:
            item.reject(TAKEN)


async def settle(session: AsyncSession, items: Sequence[Item], owner: str, now: datetime) -> set[int]:
    """Make each person's code (their last record's) usable; the positions of the records
    whose code changed anything."""
    wanted: dict[str, tuple[str, Item]] = {}  # person id -> (hash, their last record)
    for item in items:
        code = _code_hash(item)
        if code is not None:
            wanted[item.values["id"]] = (code, item)
    if not wanted:
        return set()
    connection = await session.connection()
    stored = await _stored(connection, sorted({code for code, _ in wanted.values()}))
    fresh: list[dict[str, Any]] = []
    revived: list[int] = []
    people: list[str] = []
    changed: set[int] = set()
    for person_id, (code, item) in wanted.items():
        row = stored.get(code)
        if row is None:
            fresh.append({**dict.fromkeys(("guardian_id", "staff_id")), owner: person_id,
                          "code_hash": code})
        elif row.used_at is None and (row.revoked_at is not None or row.expires_at <= now):
            revived.append(row.id)
        else:
            continue  # usable already, or used: nothing to do
        people.append(person_id)
        changed.add(item.pos)
    if people:
        await _write(connection, owner, people, revived, fresh, now)
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
