"""`audit verify` and `audit show`.

Each test writes a short chain through storage.audit, tampers with it in SQL behind
the application's back, and checks that `python run_bot.py audit verify` exits 1 and
names the entry that was touched. The five kinds of tampering run the command as the
operator does, in a subprocess; the rest call `run_bot.main` in a worker thread (the
same parser and handler, without a second interpreter's start-up).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from _pytest.capture import CaptureFixture
from sqlalchemy import Executable, delete, select, text, update

from run_bot import main
from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.models import AuditEntry

ROOT = Path(__file__).resolve().parents[1]
AUDIT = AuditEntry.__table__


async def run_cli(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database.url}
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "run_bot.py", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )


Runner = Callable[..., Awaitable[subprocess.CompletedProcess[str]]]


@pytest.fixture
def in_process(capsys: CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    async def call(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
        monkeypatch.setenv("DATABASE_URL", database.url)
        capsys.readouterr()
        status = await asyncio.to_thread(main, list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out, err)

    return call


async def write_chain(database: Database, count: int = 5) -> None:
    async with database.unit_of_work() as session:
        for n in range(1, count + 1):
            await audit.record(session, actor=f"staff:{n % 2}", action="grade.changed",
                               school_id="s1" if n % 2 else "s2", entity="grade",
                               entity_id=f"g{n}", details={"n": n, "коментар": "виправлено"})


async def tamper(database: Database, *statements: Executable) -> None:
    """Statements straight to the database, as someone with a SQL console would."""
    async with database.engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)


async def row(database: Database, entry_id: int) -> dict[str, Any]:
    async with database.engine.connect() as conn:
        found = (await conn.execute(select(AUDIT).where(AUDIT.c.id == entry_id))).mappings().one()
    return dict(found)


def assert_broken_at(done: subprocess.CompletedProcess[str], entry_id: int, *words: str) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"audit log BROKEN at entry {entry_id}:" in done.stderr
    for word in words:
        assert word in done.stderr
    return done.stderr


async def test_an_intact_chain_verifies(db: Database) -> None:
    await write_chain(db, 5)
    done = await run_cli(db, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "audit log OK: 5 entries"


async def test_an_empty_log_verifies(db: Database, in_process: Runner) -> None:
    done = await in_process(db, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "audit log OK: 0 entries"


async def test_an_edited_details_field_is_named(db: Database) -> None:
    await write_chain(db, 5)
    await tamper(db, update(AUDIT).where(AUDIT.c.id == 3).values(details={"n": 3, "коментар": "ok"}))
    assert_broken_at(await run_cli(db, "audit", "verify"), 3, "edited")


async def test_a_deleted_middle_entry_is_named(db: Database) -> None:
    await write_chain(db, 5)
    await tamper(db, delete(AUDIT).where(AUDIT.c.id == 3))
    # The walk stops at entry 4, the first one that has lost its predecessor.
    assert_broken_at(await run_cli(db, "audit", "verify"), 4, "entry 3 is missing")


async def test_a_deleted_last_entry_is_named(db: Database) -> None:
    await write_chain(db, 5)
    await tamper(db, delete(AUDIT).where(AUDIT.c.id == 5))
    assert_broken_at(await run_cli(db, "audit", "verify"), 5, "deleted")


async def test_a_forged_entry_with_a_made_up_hash_is_named(db: Database) -> None:
    await write_chain(db, 5)
    forged = await row(db, 5)
    forged.update(id=6, actor="staff:9", entity_id="g99", prev_hash="f" * 64, hash="e" * 64)
    await tamper(db, AUDIT.insert().values(**forged))
    assert_broken_at(await run_cli(db, "audit", "verify"), 6, "inserted")


async def test_a_deleted_entry_replaced_by_a_forgery_is_named(db: Database, in_process: Runner) -> None:
    await write_chain(db, 5)
    forged = await row(db, 3)
    forged.update(actor="staff:9", details={"n": 3, "коментар": "інше"}, hash="d" * 64)
    await tamper(db, delete(AUDIT).where(AUDIT.c.id == 3), AUDIT.insert().values(**forged))
    assert_broken_at(await in_process(db, "audit", "verify"), 3, "edited")


async def test_two_swapped_entries_are_named(db: Database) -> None:
    await write_chain(db, 5)
    second, third = await row(db, 2), await row(db, 3)
    content = [c for c in second if c != "id"]
    await tamper(
        db,
        update(AUDIT).where(AUDIT.c.id == 3).values(hash="0" * 63 + "1"),  # free the unique hash
        update(AUDIT).where(AUDIT.c.id == 2).values(**{c: third[c] for c in content}),
        update(AUDIT).where(AUDIT.c.id == 3).values(**{c: second[c] for c in content}),
    )
    assert_broken_at(await run_cli(db, "audit", "verify"), 2, "reordered")


async def test_a_well_forged_entry_appended_behind_the_heads_back_is_named(
        db: Database, in_process: Runner) -> None:
    await write_chain(db, 5)
    forged = AuditEntry(**{k: v for k, v in (await row(db, 5)).items() if k != "hash"})
    forged.id, forged.prev_hash, forged.entity_id = 6, (await row(db, 5))["hash"], "g99"
    forged.hash = audit.entry_hash(forged)
    values = {c.name: getattr(forged, c.name) for c in AUDIT.columns}
    await tamper(db, AUDIT.insert().values(**values))
    assert_broken_at(await in_process(db, "audit", "verify"), 6)


async def test_a_deleted_head_with_a_truncated_tail_is_noticed(db: Database, in_process: Runner) -> None:
    await write_chain(db, 5)
    await tamper(db, delete(AUDIT).where(AUDIT.c.id == 5), text("DELETE FROM audit_head"))
    done = await in_process(db, "audit", "verify")
    assert_broken_at(done, 4, "head record is missing")  # entry 5 went with the head


async def test_show_lists_and_filters_entries(db: Database, in_process: Runner) -> None:
    await write_chain(db, 5)
    done = await in_process(db, "audit", "show", "--school", "s1", "--action", "grade.changed",
                           "--since", "2000-01-01", "--limit", "2")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split() == ["id", "time", "actor", "action", "school", "entity", "entity", "id",
                              "details"]
    # s1 holds entries 1, 3 and 5; the newest two, oldest first.
    assert [line.split()[0] for line in lines] == ["3", "5"]
    assert lines[0].split()[3:] == ["staff:1", "grade.changed", "s1", "grade", "g3",
                                    '{"n":3,"коментар":"виправлено"}']


async def test_show_filters_by_actor_and_says_when_nothing_matches(db: Database, in_process: Runner) -> None:
    await write_chain(db, 4)
    done = await in_process(db, "audit", "show", "--actor", "staff:0")
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == ["2", "4"]
    future = await in_process(db, "audit", "show", "--since", "2999-01-01")
    assert future.returncode == 0 and future.stdout.strip() == "no audit entries match"
