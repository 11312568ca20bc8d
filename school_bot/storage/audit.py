"""The append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash, so an entry that
is edited, deleted or inserted out of order breaks the chain at that point, and
`python run_bot.py audit verify` names it. Personal data that may later be erased
(names, phones) never goes into an entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import AuditEntry, AuditHead
from school_bot.storage.writes import upsert

GENESIS = "0" * 64


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "id": entry.id,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "school_id": entry.school_id,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


async def _locked_head(session: AsyncSession) -> AuditHead:
    head = await session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        # the very first entry: two writers may race to create the head; one row wins
        await session.execute(upsert(session, AuditHead).values(id=1, last_id=0, last_hash=GENESIS)
                              .on_conflict_do_nothing(index_elements=["id"]))
        head = await session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
        assert head is not None
    return head


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    school_id: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the caller's unit of work (committed with it)."""
    head = await _locked_head(session)
    entry = AuditEntry(
        id=head.last_id + 1,
        at=datetime.now(UTC),
        actor=actor,
        action=action,
        school_id=school_id,
        entity=entity,
        entity_id=entity_id,
        details=details or {},
        prev_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    head.last_id = entry.id
    head.last_hash = entry.hash
    await session.flush()
    return entry


@dataclass
class ChainReport:
    checked: int
    first_bad_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


async def verify_chain(session: AsyncSession, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first entry that does not fit."""
    expected_prev, expected_id, checked = GENESIS, 1, 0
    last_id = 0
    while True:
        rows = (await session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        )).all()
        if not rows:
            break
        for entry in rows:
            problem = _check(entry, expected_id, expected_prev)
            if problem:
                return ChainReport(checked, entry.id, problem)
            checked += 1
            expected_prev, expected_id, last_id = entry.hash, entry.id + 1, entry.id
    head = await session.get(AuditHead, 1)
    head_problem = _check_head(head, last_id, expected_prev)
    if head_problem is not None:
        return ChainReport(checked, *head_problem)
    return ChainReport(checked)


def _check_head(head: AuditHead | None, last_id: int, last_hash: str) -> tuple[int, str] | None:
    """The head row records the last entry written through `record`; compare the walk to it."""
    if head is None:
        return None if last_id == 0 else (last_id, "the chain's head record is missing (deleted)")
    if head.last_id < last_id:
        return head.last_id + 1, "appended without going through the log (beyond the recorded head)"
    if head.last_id > last_id:
        return last_id + 1, f"entries {last_id + 1}..{head.last_id} are missing (deleted)"
    if head.last_hash != last_hash:
        return last_id, "content does not match the recorded head (edited)"
    return None


def _check(entry: AuditEntry, expected_id: int, expected_prev: str) -> str | None:
    if entry.id != expected_id:
        return f"entry {expected_id} is missing (deleted)"
    if entry.prev_hash != expected_prev:
        return "does not follow the previous entry (inserted or reordered)"
    if entry_hash(entry) != entry.hash:
        return "content does not match its hash (edited)"
    return None
