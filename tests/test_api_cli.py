"""`python run_bot.py apikey create|list|revoke`: the key printed once, only its hash kept."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

import run_bot
from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.models import ApiKey, AuditEntry
from school_bot.web.auth import hash_key
from tests.support.api import school, serve


async def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db: Database,
               *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", db.url)
    capsys.readouterr()
    status = await asyncio.to_thread(run_bot.main, list(argv))  # the CLI runs its own loop
    out, err = capsys.readouterr()
    return status, out, err


async def test_create_list_use_and_revoke_a_key(
        db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = await _run(monkeypatch, capsys, db, "apikey", "create", "--department",
                                "--name", "city office")
    assert status == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("sk_") and len(secret) >= 40

    async with db.sessions() as session:
        stored = (await session.scalars(select(ApiKey))).one()
    assert stored.school_id is None and stored.name == "city office"
    assert stored.key_hash == hash_key(secret) and secret not in (stored.key_hash, stored.prefix)
    assert secret.startswith(stored.prefix)

    status, listing, _ = await _run(monkeypatch, capsys, db, "apikey", "list")
    assert status == 0 and secret not in listing
    assert stored.prefix in listing and "(department)" in listing and "city office" in listing

    async with serve(db) as server:
        assert (await server.post("schools", [school("1")], key=secret)).status == 200
        status, out, _ = await _run(monkeypatch, capsys, db, "apikey", "revoke", str(stored.id))
        assert status == 0 and "revoked" in out
        assert (await server.post("schools", [school("2")], key=secret)).status == 401

    _, listing, _ = await _run(monkeypatch, capsys, db, "apikey", "list")
    row = next(line for line in listing.splitlines() if line.startswith(str(stored.id)))
    assert row.count("UTC") == 3  # created, revoked and last used all filled in

    async with db.sessions() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        assert (await audit.verify_chain(session)).ok
    actions = [e.action for e in entries]
    assert actions[0] == "apikey.created" and actions[-1] == "apikey.revoked"
    assert all(secret not in str(e.details) for e in entries)
    assert entries[0].actor.startswith("cli")


async def test_a_school_key_names_its_school(
        db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = await _run(monkeypatch, capsys, db, "apikey", "create", "--school", "17")
    assert status == 0 and "school 17" in out
    assert "not in the database yet" in err
    async with db.sessions() as session:
        stored = (await session.scalars(select(ApiKey))).one()
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "apikey.created"))
    assert stored.school_id == "17" and stored.name == "school 17"
    assert entry is not None and entry.school_id == "17"


async def test_revoking_an_unknown_key_fails_and_a_scope_is_required(
        db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = await _run(monkeypatch, capsys, db, "apikey", "revoke", "999")
    assert status == 1 and "no API key 999" in err
    with pytest.raises(SystemExit):
        await _run(monkeypatch, capsys, db, "apikey", "create")
