"""Consent withdrawn means erased: the one place that forgets a person.

Called from the bot ("forget me"), the CSV import and the HTTP API (consent yes→no).
The person's id stays (the school system's key and the guardian–pupil links carry no
personal data), but the name and phone are gone, every chat of theirs is unlinked from
them and deleted unless it also speaks for someone else (deleting drops its queued
notifications), invitation codes, relayed messages and the parent's absence
explanations are deleted, and the audit log records that an erasure happened — without
the data.

On SQLite, `secure_delete` zeroes freed cells in the database file, and the
connection that erased is flagged so that, when it returns to the pool after the
commit, the write-ahead log is checkpointed and truncated: old page images holding
the name or phone do not linger in the `-wal` file either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import delete, event, exists, or_, select, update
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry

from school_bot.storage import audit
from school_bot.storage.absence_notes import OUTBOX_KEYS as NOTE_OUTBOX_KEYS
from school_bot.storage.models import (
    AbsenceNote,
    Account,
    AccountGuardian,
    ConsentRecord,
    DirectoryBlock,
    Guardian,
    InviteCode,
    OutboxMessage,
    RelayMessage,
    Staff,
    utc_now,
)
from school_bot.storage.writes import changed_rows

log = logging.getLogger(__name__)
PersonKind = Literal["guardian", "staff"]
PURGE_FLAG = "purge_wal_on_checkin"


@dataclass
class ErasureReport:
    kind: PersonKind
    person_id: str
    erased_fields: list[str] = field(default_factory=list)
    chat_ids: set[int] = field(default_factory=set)  # chats deleted or unlinked from the person
    invite_codes_revoked: int = 0
    relay_messages_deleted: int = 0
    absence_notes_deleted: int = 0

    @property
    def chats_unlinked(self) -> int:
        return len(self.chat_ids)

    @property
    def anything_erased(self) -> bool:
        return bool(self.erased_fields or self.chats_unlinked or self.invite_codes_revoked)


async def erase_person(
    session: AsyncSession, kind: PersonKind, person_id: str, *, actor: str, reason: str
) -> ErasureReport:
    """Erase a guardian's or staff member's personal data in the caller's unit of work."""
    model: type[Guardian | Staff] = Guardian if kind == "guardian" else Staff
    person: Guardian | Staff | None = await session.get(model, person_id)
    if person is None:
        raise LookupError(f"no {kind} with id {person_id!r}")
    report = ErasureReport(kind, person_id)
    report.erased_fields = [name for name in ("full_name", "phone") if getattr(person, name)]
    person.full_name = None
    person.phone = None
    was_consenting = person.consent
    person.consent = False
    person.erased_at = utc_now()
    if isinstance(person, Guardian):
        person.directory_opt_in = False
        await _forget_guardian_traces(session, person_id, report)
    else:
        report.invite_codes_revoked = await changed_rows(
            session, delete(InviteCode).where(InviteCode.staff_id == person_id))
    report.chat_ids = await _delete_chats(session, kind, person_id)
    if was_consenting:
        session.add(ConsentRecord(person_kind=kind, person_id=person_id, consent=False, source=reason))
    await audit.record(
        session, actor=actor, action="person.erased", entity=kind, entity_id=person_id,
        details={"reason": reason, "fields": report.erased_fields,
                 "chats_unlinked": report.chats_unlinked,
                 "invite_codes_revoked": report.invite_codes_revoked,
                 "relay_messages_deleted": report.relay_messages_deleted,
                 "absence_notes_deleted": report.absence_notes_deleted},
    )
    await purge_wal_after_commit(session)
    return report


async def _forget_guardian_traces(session: AsyncSession, guardian_id: str, report: ErasureReport) -> None:
    report.invite_codes_revoked = await changed_rows(
        session, delete(InviteCode).where(InviteCode.guardian_id == guardian_id))
    theirs = or_(RelayMessage.sender_guardian_id == guardian_id,
                 RelayMessage.recipient_guardian_id == guardian_id)
    relay_ids = (await session.scalars(select(RelayMessage.id).where(theirs))).all()
    for relay_id in relay_ids:  # the copies in other parents' and teachers' queues, sent or not
        await session.execute(delete(OutboxMessage).where(or_(
            OutboxMessage.dedupe_key.startswith(f"relay:{relay_id}:", autoescape=True),
            OutboxMessage.dedupe_key.startswith(f"relay-report:{relay_id}:", autoescape=True),
        )))
    report.relay_messages_deleted = await changed_rows(session, delete(RelayMessage).where(theirs))
    await session.execute(delete(DirectoryBlock).where(or_(
        DirectoryBlock.guardian_id == guardian_id, DirectoryBlock.blocked_guardian_id == guardian_id,
    )))
    # the guardian row stays, so its notes' foreign key does not cascade: they go here,
    # with their copies in the teachers' and the parent's queues, sent or not
    note_ids = (await session.scalars(
        select(AbsenceNote.id).where(AbsenceNote.guardian_id == guardian_id))).all()
    for note_id in note_ids:
        await session.execute(delete(OutboxMessage).where(or_(*(
            OutboxMessage.dedupe_key.startswith(key.format(id=note_id), autoescape=True)
            for key in NOTE_OUTBOX_KEYS))))
    report.absence_notes_deleted = await changed_rows(
        session, delete(AbsenceNote).where(AbsenceNote.guardian_id == guardian_id))


async def _delete_chats(session: AsyncSession, kind: PersonKind, person_id: str) -> set[int]:
    """Unlink the person from their chats; a chat left speaking for no one is deleted.

    A chat that also speaks for another guardian row (the same parent entered by another
    school) or a staff row keeps those. Deleting a chat cascades to its outbox rows, so
    nothing queued for it is sent. Returns the chats that were unlinked or deleted.
    """
    if kind == "guardian":
        chats = set((await session.scalars(
            select(AccountGuardian.account_id).where(AccountGuardian.guardian_id == person_id))).all())
        await session.execute(delete(AccountGuardian).where(AccountGuardian.guardian_id == person_id))
    else:
        chats = set((await session.scalars(select(Account.id).where(Account.staff_id == person_id))).all())
        await session.execute(update(Account).where(Account.staff_id == person_id).values(staff_id=None))
    if not chats:
        return chats
    speaks_for_someone = or_(Account.staff_id.is_not(None),
                             exists().where(AccountGuardian.account_id == Account.id))
    await session.execute(delete(Account).where(Account.id.in_(chats), ~speaks_for_someone))
    if kind == "guardian":  # the chosen pupil may have been one of the erased row's
        await session.execute(update(Account).where(Account.id.in_(chats)).values(selected_student_id=None))
    kept = set((await session.scalars(select(Account.id).where(Account.id.in_(chats)))).all())
    for held in list(session.identity_map.values()):
        if isinstance(held, Account) and held.id in kept:
            await session.refresh(held, ["guardian_links", "staff_id", "selected_student_id"])
    return chats


async def purge_wal_after_commit(session: AsyncSession) -> None:
    """On SQLite: once this unit of work's connection is back in the pool (committed),
    checkpoint and truncate the write-ahead log, so deleted rows' old pages go too."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        connection.info[PURGE_FLAG] = True


def _purge_on_checkin(dbapi_conn: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
    if not record.info.pop(PURGE_FLAG, False) or dbapi_conn is None:
        return
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    except Exception:  # noqa: BLE001 - the erasure is committed; the next checkpoint purges
        log.warning("wal checkpoint after erasure failed; SQLite's next checkpoint will purge it")


def install_sqlite_purge(engine: AsyncEngine) -> None:
    """Called by storage.db.create_engine for SQLite engines."""
    event.listen(engine.sync_engine, "checkin", _purge_on_checkin)
