"""Backups restore what was there, on both databases; SQLite backs up while writing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from school_bot.storage.db import Database
from school_bot.storage.models import School

ROOT = Path(__file__).resolve().parents[1]


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


async def _schools(db: Database) -> list[str]:
    async with db.unit_of_work() as s:
        return list((await s.scalars(select(School.id).order_by(School.id))).all())


async def test_backup_then_restore_brings_back_what_was_there(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("sqlite") and not all(map(_on_path, ("pg_dump", "pg_restore"))):
        pytest.skip("PostgreSQL client tools (pg_dump, pg_restore) are not installed")
    db = Database.connect(db_url)
    async with db.unit_of_work() as s:
        s.add_all([School(id="S1", name="Ліцей №1"), School(id="S2", name="Гімназія №2")])
    await db.dispose()
    target = tmp_path / "backup.dump"
    done = _cli(db_url, "backup", str(target))
    assert done.returncode == 0, done.stderr
    db = Database.connect(db_url)
    async with db.unit_of_work() as s:
        await s.delete(await s.get(School, "S2"))
        s.add(School(id="S3", name="Школа №3"))
    await db.dispose()
    done = _cli(db_url, "restore", str(target))
    assert done.returncode == 0, done.stderr
    db = Database.connect(db_url)
    assert await _schools(db) == ["S1", "S2"]
    await db.dispose()


async def test_sqlite_backup_is_consistent_while_the_bot_writes(sqlite_db_url: str, tmp_path: Path) -> None:
    db = Database.connect(sqlite_db_url)
    async with db.unit_of_work() as s:
        s.add(School(id="S1", name="Ліцей №1"))
    async with db.sessions() as writer:  # an open write transaction during the backup
        writer.add(School(id="S2", name="Гімназія №2"))
        await writer.flush()
        done = _cli(sqlite_db_url, "backup", str(tmp_path / "b.sqlite3"))
        await writer.commit()
    await db.dispose()
    assert done.returncode == 0, done.stderr
    copy = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}")
    async with copy.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(School)) == 1
    await copy.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(sqlite_db_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    done = _cli(sqlite_db_url, "restore", str(junk))
    assert done.returncode == 1
    assert "is not a SQLite database" in done.stderr


def _on_path(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None
