"""The answer path's reads (storage/fast.py): the same rows as the ORM, the unit of
work's own writes seen, and on SQLite answers that do not wait for a writer."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, literal_column, select

from school_bot.handlers import diary
from school_bot.handlers.family import ACCOUNT_AND_FAMILY, read_account_and_family
from school_bot.storage.accounts import find_account
from school_bot.storage.db import Database, Reads
from school_bot.storage.fast import PostgresReader, Query, rows
from school_bot.storage.models import Account, Attendance, Grade, School, Student
from tests.support.core import linked, school_and_core
from tests.support.small_school import PHONES, TODAY
from tests.support.world import grade

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)

# Every query of the answer path, with values that find rows in tests/support/small_school.py.
CASES: list[tuple[Query, dict[str, Any]]] = [
    (diary.GRADES_ALL, {"student_id": "st-olha"}),
    (diary.GRADES_RECENT, {"student_id": "st-ivan", "limit": 3}),
    (diary.GRADES_IN_SPAN, {"student_id": "st-petro", "first": FIRST, "last": LAST}),
    (diary.GRADES_OF_SUBJECT, {"student_id": "st-sofia", "first": FIRST, "last": LAST,
                               "subject": "Математика"}),
    (diary.CLASS_AVERAGES, {"class_id": "cls-5a", "first": FIRST, "last": LAST}),
    (diary.HOMEWORK, {"class_id": "cls-5a", "first": FIRST, "last": date(2026, 12, 31)}),
    (diary.LESSONS, {"class_id": "cls-5a", "first": FIRST, "last": LAST}),
    (diary.ABSENCES, {"student_id": "st-olha", "first": FIRST, "last": LAST}),
    (diary.EVENTS, {"school_id": "sch-1", "class_id": "cls-5a", "limit": 10,
                    "since": datetime(2026, 11, 21, tzinfo=UTC)}),
    (diary.SUBJECTS, {"student_id": "st-sofia", "first": FIRST, "last": LAST}),
    (ACCOUNT_AND_FAMILY, {"platform": "telegram", "chat_id": "k"}),
]


@pytest.mark.parametrize("reads", list(Reads))
async def test_each_query_reads_what_the_orm_reads(db: Database, reads: Reads) -> None:
    await linked(db, await school_and_core(db), PHONES.koval, "k")
    for query, values in CASES:
        async with db.unit_of_work() as session:
            expected = [tuple(r) for r in (await session.execute(query.statement, values)).all()]
        async with db.unit_of_work(reads) as session:
            fast = [tuple(r) for r in await rows(session, query, **values)]
        assert expected, f"{query.row.__name__} finds nothing: the case proves nothing"
        assert fast == expected, query.row.__name__


async def test_a_unit_of_work_reads_its_own_unflushed_writes(db: Database) -> None:
    await school_and_core(db)
    async with db.unit_of_work() as session:
        session.add(grade("gr-new", "st-olha", "Фізика", 11, TODAY))
        shown = await diary.grades(session, "st-olha")
        assert [g.value for g in shown if g.subject == "Фізика"] == [11]
        await session.rollback()
    async with db.unit_of_work() as session:
        assert all(g.subject != "Фізика" for g in await diary.grades(session, "st-olha"))


async def test_an_attached_account_keeps_its_changes_and_its_identity(
        db: Database, each_path: bool) -> None:
    core = await school_and_core(db)
    await linked(db, core, PHONES.bondar, "b")
    async with db.unit_of_work() as session:
        account, _ = await read_account_and_family(session, "telegram", "b")
        assert account is not None and list(account.guardian_ids) == ["g-bondar"]
        assert await find_account(session, "telegram", "b") is account
        assert (await read_account_and_family(session, "telegram", "b"))[0] is account
        account.language = "en"
        account.state = {"step": "kept"}
    async with db.unit_of_work() as session:
        stored = await session.scalar(select(Account).where(Account.chat_id == "b"))
        assert stored is not None and stored.language == "en" and stored.state == {"step": "kept"}
    async with db.unit_of_work() as session:
        assert await read_account_and_family(session, "telegram", "nobody") == (None, [])
        assert await read_account_and_family(session, "viber", "b") == (None, [])


async def test_concurrent_first_answers_open_one_reader_thread(sqlite_db_url: str) -> None:
    """The reader is a thread: the first answers arriving together must share one, and
    closing the database must end it."""
    db = Database.connect(sqlite_db_url)
    assert db.reader is not None
    threads = threading.active_count()
    query, values = CASES[-1]
    try:
        read = await asyncio.gather(*(db.reader.fetch(query, values) for _ in range(8)))
        assert all(found == [] for found in read)
        assert threading.active_count() == threads + 1
    finally:
        await db.dispose()
    for _ in range(100):  # the thread ends just after it has answered the close
        if threading.active_count() == threads:
            break
        await asyncio.sleep(0.02)
    assert threading.active_count() == threads


async def test_a_failed_read_reaches_its_caller_and_the_reader_goes_on(db: Database) -> None:
    await linked(db, await school_and_core(db), PHONES.koval, "k")
    assert db.reader is not None
    broken = Query(select(literal_column("no_such_column")).select_from(Grade))
    with pytest.raises(Exception, match="no_such_column"):
        await db.reader.fetch(broken, {})
    query, values = CASES[-1]
    assert [tuple(r) for r in await db.reader.fetch(query, values)]


async def test_the_family_read_with_the_account_leaves_out_unlaunched_schools(db: Database) -> None:
    core = await school_and_core(db)
    koval = await linked(db, core, PHONES.koval, "k")
    await koval.send("/grades")
    assert {b.label for b in koval.buttons} >= {"Ольга", "Петро"}  # two children: a choice
    async with db.unit_of_work() as session:
        petro = await session.get(Student, "st-petro")
        assert petro is not None
        petro.class_id = "cls-7b"  # moved to a school that has not launched
    await koval.send("/grades")
    assert "Ольга" in koval.last_text and "Петро" not in koval.last_text
    async with db.unit_of_work() as session:
        school = await session.get(School, "sch-1")
        assert school is not None
        school.launched = False
    await koval.send("/grades")
    assert "Ольга" not in koval.last_text and "Математика" not in koval.last_text
    assert "не під'єднано жодного учня" in koval.last_text


def test_a_list_that_changes_per_call_cannot_be_a_fast_query() -> None:
    from sqlalchemy.dialects import sqlite

    query = Query(select(Attendance.status).where(Attendance.status.in_(["absent", "late"])))
    with pytest.raises(ValueError, match="fixed_in"):
        query.compiled(sqlite.dialect())


async def test_parents_get_answers_while_another_process_holds_the_write_lock(
        sqlite_db_url: str, each_path: bool) -> None:
    """An import (or a worker process) writing for seconds must not stall the parents:
    their answers read the last committed data without waiting for the lock."""
    db = Database.connect(sqlite_db_url)
    try:
        core = await school_and_core(db)
        bondar = await linked(db, core, PHONES.bondar, "b")
        await bondar.press("Оцінки")  # the first view stores the chosen pupil
        writer = sqlite3.connect(sqlite_db_url.split("///", 1)[1], isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO grades (id, student_id, subject, value, date, created_at) VALUES "
                           "('gr-uncommitted', 'st-ivan', 'Хімія', 2, '2026-11-25', "
                           "'2026-11-25 09:00:00.000000')")
            for ask in ("/grades", "/homework", "/schedule", "Оцінки"):
                await asyncio.wait_for(bondar.send(ask), timeout=5)
                assert bondar.last_text and "Хімія" not in bondar.last_text
            assert "5 оцінок" in (await asyncio.wait_for(bondar.send("/grades"), 5))[0].text
            writer.execute("COMMIT")
        finally:
            writer.close()
        await bondar.send("/grades")
        assert "6 оцінок" in bondar.last_text and "Хімія: 2" in bondar.last_text
    finally:
        await db.dispose()


async def _raw_pg(db: Database) -> asyncpg.Connection:
    """A connection of another program (an import, psql) to the test database."""
    url = db.engine.url
    return await asyncpg.connect(host=url.host, port=url.port, user=url.username,
                                 password=url.password, database=url.database)


async def _readers_on_server(db: Database) -> list[int]:
    other = await _raw_pg(db)
    try:
        return [r["pid"] for r in await other.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = $1", PostgresReader.APPLICATION_NAME)]
    finally:
        await other.close()


async def test_parents_read_committed_data_on_postgres_without_waiting_for_a_writer(
        pg_db: Database, each_path: bool) -> None:
    core = await school_and_core(pg_db)
    bondar = await linked(pg_db, core, PHONES.bondar, "b")
    await bondar.press("Оцінки")
    writer = await _raw_pg(pg_db)
    try:
        transaction = writer.transaction()
        await transaction.start()
        await writer.execute("INSERT INTO grades (id, student_id, subject, value, date, created_at) "
                             "VALUES ('gr-uncommitted', 'st-ivan', 'Хімія', 2, '2026-11-25', now())")
        for ask in ("/grades", "/homework", "/schedule", "Оцінки"):
            await asyncio.wait_for(bondar.send(ask), timeout=5)
            assert bondar.last_text and "Хімія" not in bondar.last_text
        assert "5 оцінок" in (await asyncio.wait_for(bondar.send("/grades"), 5))[0].text
        await transaction.commit()
    finally:
        await writer.close()
    await bondar.send("/grades")
    assert "6 оцінок" in bondar.last_text and "Хімія: 2" in bondar.last_text


async def test_answers_go_on_after_the_server_drops_every_connection(
        pg_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    """A PostgreSQL restart (or an administrator's pg_terminate_backend) closes every
    connection the bot holds; the parent asking next must get the answer, not an error,
    even when the bot has not yet noticed that its connections are gone."""
    core = await school_and_core(pg_db)
    bondar = await linked(pg_db, core, PHONES.bondar, "b")
    assert "5 оцінок" in (await bondar.send("/grades"))[0].text
    before = await _readers_on_server(pg_db)
    assert before, "the answer did not go through the reader: the test proves nothing"

    async def drop_all() -> None:
        other = await _raw_pg(pg_db)
        try:
            await other.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await other.close()

    # Dropped while this event loop is busy, so the bot cannot have noticed before it asks.
    dropper = threading.Thread(target=asyncio.run, args=(drop_all(),))
    dropper.start()
    dropper.join()
    with caplog.at_level("WARNING", logger="school_bot.storage.fast"):
        assert "5 оцінок" in (await bondar.send("/grades"))[0].text
        await bondar.press("Домашнє завдання")
        assert bondar.last_text and "Математика" in bondar.last_text
    assert any("reading once more" in r.getMessage() for r in caplog.records)
    after = await _readers_on_server(pg_db)
    assert after and not set(after) & set(before)


async def test_postgres_readers_are_few_and_closed_with_the_database(pg_db: Database) -> None:
    """Sixty parents asking at once share the reader's few connections (a city's web
    processes must fit PostgreSQL's max_connections), and closing the database closes
    them."""
    core = await school_and_core(pg_db)
    parents = [await linked(pg_db, core, PHONES.bondar, f"b{n}") for n in range(3)]
    assert pg_db.reader is not None
    query, values = CASES[2]
    read = await asyncio.gather(*(pg_db.reader.fetch(query, values) for _ in range(60)),
                                *(p.send("/grades") for p in parents for _ in range(5)))
    assert all(found == read[0] for found in read[:60]) and read[0]
    assert all("5 оцінок" in answer[0].text for answer in read[60:])
    assert 1 <= len(await _readers_on_server(pg_db)) <= 4
    await pg_db.reader.close()
    assert await _readers_on_server(pg_db) == []


async def test_a_read_given_up_does_not_keep_a_reader_connection(pg_db: Database) -> None:
    """An answer cancelled in the middle of its read (a shutdown, a timeout) must not
    leave the connection half-used for the next parent."""
    await school_and_core(pg_db)
    reader = PostgresReader(pg_db.engine.url, pg_db.engine.dialect, size=1)
    try:
        slow = Query(select(func.pg_sleep(5)), "Slept")
        reading = asyncio.create_task(reader.fetch(slow, {}))
        await asyncio.sleep(0.3)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        query, values = CASES[0]
        assert await asyncio.wait_for(reader.fetch(query, values), 2)
    finally:
        await reader.close()
