"""The schema: migrations apply, match the models, and the audit chain holds."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from school_bot.storage import audit
from school_bot.storage.db import Database, create_engine
from school_bot.storage.invites import hash_code, issue_code
from school_bot.storage.migrate import downgrade, drift, upgrade
from school_bot.storage.models import Account, InviteCode, utc_now
from tests.support.world import World, account, guardian, school, staff


async def test_migrations_apply_on_empty_database_and_match_models(db: Database) -> None:
    assert await drift(db.engine) == []


async def test_migrate_twice_is_harmless(db: Database) -> None:
    await upgrade(db.engine)
    assert await drift(db.engine) == []


async def test_sqlite_pragmas_are_on(sqlite_db_url: str) -> None:
    engine = create_engine(sqlite_db_url)
    async with engine.connect() as conn:
        assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
        assert (await conn.scalar(text("PRAGMA secure_delete"))) == 1
        assert (await conn.scalar(text("PRAGMA busy_timeout"))) >= 5000
    await engine.dispose()


async def test_audit_chain_verifies_and_detects_an_edit(db: Database) -> None:
    async with db.unit_of_work() as session:
        for n in range(5):
            await audit.record(session, actor="system", action="test", details={"n": n})
    async with db.unit_of_work() as session:
        report = await audit.verify_chain(session)
    assert report.ok and report.checked == 5
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    async with db.unit_of_work() as session:
        report = await audit.verify_chain(session)
    assert report.first_bad_id == 3 and "edited" in (report.reason or "")


async def test_audit_chain_detects_a_deleted_entry(db: Database) -> None:
    async with db.unit_of_work() as session:
        for n in range(4):
            await audit.record(session, actor="system", action="test", details={"n": n})
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    async with db.unit_of_work() as session:
        report = await audit.verify_chain(session)
    assert report.first_bad_id == 3 and "missing" in (report.reason or "")


async def test_staff_codes_revision_keeps_guardian_codes_and_gives_a_code_one_person(db: Database) -> None:
    await World(db).add(school("S1", "Ліцей №1", launched=False), guardian("G1"),
                        staff("T1", "S1", None))
    async with db.unit_of_work() as s:
        parents = await issue_code(s, "G1")
        await issue_code(s, staff_id="T1")
    await downgrade(db.engine, "0002")  # staff codes cannot exist there: they go
    await upgrade(db.engine)
    assert await drift(db.engine) == []
    async with db.unit_of_work() as s:
        [kept] = (await s.scalars(select(InviteCode))).all()
        assert kept.guardian_id == "G1" and kept.code_hash == hash_code(parents)
    for owners in ({}, {"guardian_id": "G1", "staff_id": "T1"}):  # nobody's, or two people's
        with pytest.raises(IntegrityError):
            async with db.unit_of_work() as s:
                s.add(InviteCode(code_hash=f"{len(owners)}" * 64, expires_at=utc_now(), **owners))


async def test_absence_alerts_revision_keeps_every_chat_s_alerts_coming_at_night(db: Database) -> None:
    await World(db).add(account("c-1"), account("c-2", absence_alerts_in_quiet_hours=False))
    await downgrade(db.engine, "0005")
    await upgrade(db.engine)
    assert await drift(db.engine) == []
    async with db.unit_of_work() as s:
        chats = (await s.scalars(select(Account.absence_alerts_in_quiet_hours))).all()
    assert chats == [True, True]  # the column is new: every chat starts with the default
