"""Backups and restores of the database.

SQLite: the online backup API copies a consistent snapshot while the bot keeps
running (readers and writers are not stopped); a restore checks the file's integrity
first and replaces the database, removing a stale `-wal`/`-shm` (stop the bot first).
PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean`, which must be on PATH.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database file at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(tmp) as dst:
        src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")
    src.close()
    dst.close()
    tmp.replace(target)


def _sqlite_check(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}") from None
    if not result or result[0] != "ok":
        raise BackupError(f"{path} failed the integrity check: {result}")
    if "alembic_version" not in tables:
        raise BackupError(f"{path} is not a backup of this bot's database")


def _sqlite_restore(backup: Path, target: Path) -> None:
    _sqlite_check(backup)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    tmp = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup, tmp)
    tmp.replace(target)


def _pg_args(database_url: str) -> list[str]:
    url = make_url(database_url)
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    return args + ["--dbname", url.database or "postgres"]


def _run(command: list[str], password: str | None) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)")
    env = {"PGPASSWORD": password} if password else None
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=6 * 3600)
    if done.returncode != 0:
        raise BackupError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")


async def backup(database_url: str, target: Path) -> None:
    if database_url.startswith("sqlite"):
        await asyncio.to_thread(_sqlite_backup, sqlite_path(database_url), target)
        return
    password = make_url(database_url).password
    await asyncio.to_thread(_run, ["pg_dump", "--format=custom", "--file", str(target),
                                   *_pg_args(database_url)], password)


async def restore(database_url: str, source: Path) -> None:
    if not source.exists():
        raise BackupError(f"no backup file at {source}")
    if database_url.startswith("sqlite"):
        await asyncio.to_thread(_sqlite_restore, source, sqlite_path(database_url))
        return
    password = make_url(database_url).password
    await asyncio.to_thread(_run, ["pg_restore", "--clean", "--if-exists", "--no-owner",
                                   *_pg_args(database_url), str(source)], password)
