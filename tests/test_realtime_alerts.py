"""End to end, in one process: what the school system posts through the ingest API
reaches the parent's Telegram chat because the write queued it and woke the
dispatcher, not because a scan found it.

The web app and the `NotificationService` share one `Wake`, as the composition root
makes them. The dispatcher's poll is an hour apart, and the scans either do not run
(`jobs=False`) or run all the time, to show they send nothing twice. The fake Bot
API is real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.notifications.config import NotifyConfig
from school_bot.notifications.jobs.common import next_school_day
from school_bot.notifications.service import NotificationService
from school_bot.notifications.wake import Wake
from school_bot.storage.channel import LISTENER_NAME
from school_bot.storage.db import Database
from tests.fakes.telegram_api import FakeTelegramBotAPI, SentRequest
from tests.support.api import ApiServer, new_key, serve, settings_for
from tests.support.notify import KYIV, outbox
from tests.support.school_world import SchoolWorld

TOKEN = "4343:realtime"


@asynccontextmanager
async def running(db: Database, *, jobs: bool, one_process: bool = True,
                  **config: Any) -> AsyncIterator[tuple[ApiServer, FakeTelegramBotAPI]]:
    """The ingest API and the notifications, delivering to the fake Bot API: of one
    process (one `Wake`), or as if of two (each its own: only PostgreSQL's NOTIFY
    carries the wake across)."""
    wake = Wake()
    async with FakeTelegramBotAPI(token=TOKEN) as telegram:
        settings = settings_for(db, telegram_bot_token=TOKEN, telegram_api_url=telegram.base_url,
                                quiet_hours="")
        async with serve(db, settings, wake=wake if one_process else Wake()) as api:
            bot = build_bot(settings, timeout=5.0)
            # a chat's next message waits out its spacing at the next poll: with the poll
            # an hour apart, the spacing is made short for the parent's several messages
            service = NotificationService(
                db, settings, {"telegram": TelegramDeliverer(bot)}, wake=wake, jobs=jobs,
                config=NotifyConfig.from_settings(settings, poll_interval=3600,
                                                  telegram_chat_rate=1000.0, **config))
            await service.start()
            try:
                yield api, telegram
            finally:
                await service.stop()
                await bot.session.close()


def _today() -> date:
    return datetime.now(UTC).astimezone(KYIV).date()


def _to(chat: int) -> Any:
    return lambda r: r.method == "sendMessage" and r.chat_id == chat


async def _next_message(telegram: FakeTelegramBotAPI, chat: int, since: int) -> SentRequest:
    return await telegram.wait_for(_to(chat), timeout=20, since=since)


async def test_a_new_grade_and_its_change_reach_the_parent_with_no_scan_running(db: Database) -> None:
    world = await SchoolWorld(db).build()
    olena = await world.family(1, notify_grades="instant")
    key = await new_key(db, world.school_id)
    grade = {"grade_id": "GR1", "student_id": olena.student_id, "subject": "Алгебра",
             "date": _today().isoformat(), "value": 11}
    async with running(db, jobs=False) as (api, telegram):
        before = len(telegram.journal)
        assert (await api.post("grades", [grade], key=key)).body["created"] == 1
        new = await _next_message(telegram, olena.chat_id, before)
        before = len(telegram.journal)
        assert (await api.post("grades", [{**grade, "value": 4}], key=key)).body["updated"] == 1
        changed = await _next_message(telegram, olena.chat_id, before)
    assert "Алгебра" in (new.text or "") and "11" in (new.text or "")
    assert "11" in (changed.text or "") and "4" in (changed.text or "")
    assert len(telegram.messages_to(olena.chat_id)) == 2


async def test_a_new_event_reaches_the_parents_with_no_scan_running(db: Database) -> None:
    world = await SchoolWorld(db).build()
    olena = await world.family(1)
    key = await new_key(db, world.school_id)
    starts = datetime.combine(_today() + timedelta(days=3), time(17, 0), tzinfo=KYIV)
    async with running(db, jobs=False) as (api, telegram):
        posted = await api.post("events", [{"event_id": "E1", "school_id": world.school_id,
                                            "title": "Батьківські збори",
                                            "starts_at": starts.isoformat()}], key=key)
        assert posted.body["created"] == 1, posted.body
        told = await _next_message(telegram, olena.chat_id, 0)
    assert "Батьківські збори" in (told.text or "")


async def test_homework_posted_after_the_evening_hour_goes_at_once(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Homework is told in the evening only: once `homework_at` has come and the
    school's evening message has not gone yet, the write that brings it sends it."""
    monkeypatch.setenv("NOTIFY_HOMEWORK_AT", "00:00")  # the ingest API's hour: always past
    world = await SchoolWorld(db).build()
    olena = await world.family(1, notify_homework=True)
    key = await new_key(db, world.school_id)
    due = next_school_day(_today())
    async with running(db, jobs=False) as (api, telegram):
        posted = await api.post("homework", [{"homework_id": "H1", "class_id": world.class_id,
                                              "subject": "Історія", "due_date": due.isoformat(),
                                              "text": "Параграф 12, питання 1-3"}], key=key)
        assert posted.body["created"] == 1, posted.body
        told = await _next_message(telegram, olena.chat_id, 0)
        # the school's evening message has gone: more homework today waits for tomorrow's
        more = await api.post("homework", [{"homework_id": "H2", "class_id": world.class_id,
                                            "subject": "Фізика", "due_date": due.isoformat(),
                                            "text": "Задача 5"}], key=key)
        assert more.body["created"] == 1
    assert "Параграф 12" in (told.text or "")
    assert [row.kind for row in await outbox(db)] == ["homework"]


async def test_with_the_scan_running_all_the_time_each_absence_is_told_once(db: Database) -> None:
    """Marks committed without their alerts (as an import commits them) and marks posted
    through the API, for the same pupil, while the absence scan runs every 50 ms: the
    scan and the API's transactions each alert what the other did not. The parent gets
    one message, kept up to date by edits, that lists every lesson once."""
    world = await SchoolWorld(db).build()
    olena = await world.family(1)
    key = await new_key(db, world.school_id)
    lessons = [f"L{n}" for n in range(1, 9)]
    for n, lesson_id in enumerate(lessons, start=1):
        await world.add_lesson(lesson_id, n, f"Предмет{n}", day=_today())
    async with running(db, jobs=True, absence_interval=0.05) as (api, telegram):
        for imported, posted in ((lessons[0:2], lessons[2:4]), (lessons[4:6], lessons[6:8])):
            for lesson_id in imported:
                await world.mark(olena.student_id, lesson_id, "absent")
            answers = await asyncio.gather(*(
                api.post("attendance", [{"student_id": olena.student_id, "lesson_id": lesson_id,
                                         "status": "absent"}], key=key)
                for lesson_id in posted))
            assert [a.status for a in answers] == [200, 200]
        async with asyncio.timeout(20):
            while not (rows := await outbox(db)) or any(r.status != "sent" for r in rows) \
                    or _named(telegram.messages_to(olena.chat_id, raw=True)[-1:]).keys() \
                    != set(range(1, 9)):
                await asyncio.sleep(0.05)
    shown = telegram.messages_to(olena.chat_id, raw=True)
    assert _named(shown[-1:]) == dict.fromkeys(range(1, 9), 1)
    assert [r.method for r in telegram.sent if r.chat_id == olena.chat_id
            and r.method == "sendMessage"] == ["sendMessage"]


def _named(texts: Iterable[str]) -> Counter[int]:
    """How many of the messages name each lesson ("Предмет3 (3)")."""
    return Counter(n for text in texts for n in range(1, 9) if f"Предмет{n} ({n})" in text)


async def test_on_postgresql_a_dropped_listening_connection_is_opened_again(pg_db: Database) -> None:
    """The worker's LISTEN connection is terminated by the server; it comes back, and a
    write of another process (no shared `Wake`) still wakes the dispatcher."""
    world = await SchoolWorld(pg_db).build()
    olena = await world.family(1)
    await world.add_lesson("L1", 1, "Математика", day=_today())
    key = await new_key(pg_db, world.school_id)
    async with running(pg_db, jobs=True, one_process=False, absence_interval=3600) as (api, telegram):
        first = await _listeners(pg_db, lambda pids: bool(pids))
        async with pg_db.unit_of_work() as session:
            for pid in first:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await _listeners(pg_db, lambda pids: bool(pids) and not pids & first)
        posted = await api.post("attendance", [{"student_id": olena.student_id, "lesson_id": "L1",
                                                "status": "absent"}], key=key)
        assert posted.status == 200
        alert = await _next_message(telegram, olena.chat_id, 0)
    assert "Математика" in (alert.text or "")


async def _listeners(db: Database, wanted: Callable[[set[int]], bool]) -> set[int]:
    """The backends of the listening connections on this database, once `wanted`."""
    async with asyncio.timeout(20):
        while True:
            async with db.unit_of_work() as session:
                pids = set((await session.scalars(text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                    "AND datname = current_database()"), {"name": LISTENER_NAME})).all())
            if wanted(pids):
                return pids
            await asyncio.sleep(0.05)
