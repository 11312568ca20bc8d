"""Consent withdrawn means erased: name, phone, chats, codes — and no bytes left behind."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.invites import find_usable, issue_code
from school_bot.storage.models import (
    Account,
    Guardian,
    GuardianStudent,
    InviteCode,
    OutboxMessage,
    utc_now,
)
from tests.support.world import (
    World,
    account,
    guardian,
    notification,
    school,
    school_class,
    staff,
    student,
)

PHONE = "+380501112233"
NAME = "Ткаченко Оксана Петрівна"


async def _family(db: Database) -> None:
    """A guardian with a child, a chat, an invitation code and a message queued."""
    world, chat = World(db), account("777", guardians=["G1"])
    await world.add(
        school("S1", "Ліцей №1"), school_class("C1", "S1", "5-А"),
        student("P1", "C1", "Ткаченко Іван Андрійович"),
        guardian("G1", NAME, PHONE, children=["P1"]), chat,
        InviteCode(guardian_id="G1", code_hash="ab" * 32, expires_at=utc_now() + timedelta(days=3)))
    await world.add(notification(chat.id, "absence", "absence:x", priority=0,
                                 payload={"text": "hi"}))


async def test_erasure_removes_name_phone_chats_codes_and_queue(db: Database) -> None:
    await _family(db)
    async with db.unit_of_work() as s:
        report = await erase_person(s, "guardian", "G1", actor="test", reason="consent withdrawn")
    assert report.erased_fields == ["full_name", "phone"]
    assert report.chats_unlinked == 1 and report.invite_codes_revoked == 1
    async with db.unit_of_work() as s:
        guardian = await s.get(Guardian, "G1")
        assert guardian is not None and guardian.full_name is None and guardian.phone is None
        assert not guardian.consent and guardian.erased_at is not None
        for model in (Account, InviteCode, OutboxMessage):
            assert await s.scalar(select(func.count()).select_from(model)) == 0
        assert await s.scalar(select(func.count()).select_from(GuardianStudent)) == 1
        entries = (await s.scalars(select(audit.AuditEntry))).all()
        assert [e.action for e in entries] == ["person.erased"]
        assert PHONE not in str(entries[0].details) and "Ткаченко" not in str(entries[0].details)
        assert (await audit.verify_chain(s)).ok


async def test_erasing_a_staff_member_deletes_their_codes_only(db: Database) -> None:
    await _family(db)
    await World(db).add(staff("T1", "S1", "Коваль Ірина Петрівна", phone="+380675554434"))
    async with db.unit_of_work() as s:
        teachers = await issue_code(s, staff_id="T1")
    async with db.unit_of_work() as s:
        report = await erase_person(s, "staff", "T1", actor="test", reason="consent withdrawn")
    assert report.invite_codes_revoked == 1
    async with db.unit_of_work() as s:
        assert await find_usable(s, teachers) is None
        assert [c.guardian_id for c in (await s.scalars(select(InviteCode))).all()] == ["G1"]


async def test_erased_phone_and_name_leave_no_bytes_in_sqlite_file_or_wal(sqlite_db_url: str) -> None:
    db = Database.connect(sqlite_db_url)
    await _family(db)
    async with db.unit_of_work() as s:
        await erase_person(s, "guardian", "G1", actor="test", reason="consent withdrawn")
    path = Path(sqlite_db_url.split("///", 1)[1])
    blobs = [p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()]
    await db.dispose()
    for blob in blobs:
        assert PHONE.encode() not in blob and PHONE[1:].encode() not in blob
        assert NAME.encode() not in blob


async def test_the_erase_command_erases_by_id_and_says_what(db: Database, db_url: str) -> None:
    import os
    import subprocess
    import sys

    await _family(db)
    root = Path(__file__).resolve().parents[1]
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(root / "run_bot.py"), "erase", *args], capture_output=True,
            text=True, env={**os.environ, "DATABASE_URL": db_url}, timeout=120, cwd=root)

    done = run("--guardian", "G1")
    assert done.returncode == 0, done.stderr
    assert "full_name, phone" in done.stdout and "1 chats unlinked" in done.stdout
    assert PHONE not in done.stdout + done.stderr
    async with db.unit_of_work() as s:
        guardian = await s.get(Guardian, "G1")
        assert guardian is not None and guardian.phone is None and guardian.full_name is None
        [entry] = (await s.scalars(select(audit.AuditEntry))).all()
        assert entry.action == "person.erased" and entry.actor.startswith("cli:")
    assert run("--guardian", "nobody").returncode == 2
