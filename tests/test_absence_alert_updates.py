"""Later absences and corrections keep a parent's absence alert true, end to end.

The school system posts marks through the ingest API (real HTTP); the absence scan and
the outbox dispatcher run as the worker runs them; the Telegram deliverer and the Viber
deliverer talk to the fake Bot API and the fake Viber API (real HTTP). On Telegram the
first alert is edited; on Viber later absences come together in one follow-up per
window and a correction follows at once; an alert still waiting in the queue is
rewritten or withdrawn instead. Nothing is sent twice. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import delete, select, update

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.bot.viber.client import ViberClient
from school_bot.bot.viber.delivery import ViberDeliverer
from school_bot.bot.viber.files import FileStore
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.jobs.absences import absence_alerts, queue_absences
from school_bot.notifications.jobs.common import JobContext
from school_bot.shared.delivery import Deliverer
from school_bot.storage.db import Database
from school_bot.storage.ingest.pipeline import ingest
from school_bot.storage.migrate import downgrade, upgrade
from school_bot.storage.models import AbsenceAlert, Attendance, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.viber_api import FakeViberAPI
from tests.support.api import ApiServer, new_key, seed_school, serve, settings_for
from tests.support.notify import SCHOOL_DAY, Clock, config, job_context, kyiv, outbox, settings
from tests.support.school_world import SchoolWorld
from tests.support.viber_rig import TOKEN as VIBER_TOKEN
from tests.support.world import World, account

TELEGRAM_TOKEN = "4242:absence-updates"
PARENT_CHAT = 7001
VIBER_PARENT = "vbParent0001AAAAAAAAAA=="
WINDOW = 300.0  # seconds between Viber follow-ups (the default)
# the lessons of the pupil's day: seed_school's 1-L1, and two more posted here
LESSONS = {"1-L3": (3, "Фізика"), "1-L5": (5, "Історія")}


class RunningClock:
    """The real time plus what the test adds (to pass a follow-up window)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class PupilsDay:
    """Taras (1-S1) at school today; his guardian's chat on one messenger."""

    db: Database
    api: ApiServer
    key: str
    deliverer: Deliverer
    clock: RunningClock

    async def mark(self, lesson_id: str, status: str) -> None:
        posted = await self.api.post("attendance", [
            {"student_id": "1-S1", "lesson_id": lesson_id, "status": status}], key=self.key)
        assert posted.status == 200 and not posted.body["rejected"], posted.body

    def context(self) -> JobContext:
        return JobContext(self.db, settings(), config(absence_followup_window=WINDOW), self.clock)

    async def scan(self) -> int:
        return await absence_alerts(self.context())

    async def deliver(self) -> None:
        dispatcher = Dispatcher(self.db, settings(quiet_hours=""),
                                {self.deliverer.platform: self.deliverer}, config(), self.clock)
        await dispatcher.run(until_idle=True)

    async def scan_and_deliver(self) -> None:
        await self.scan()
        await self.deliver()


async def _school_day(db: Database, api: ApiServer, chat: Any, deliverer: Deliverer
                      ) -> PupilsDay:
    today = datetime.now(UTC).astimezone(settings_for(db).zone).date().isoformat()
    department = await new_key(db, None)
    await seed_school(api, department, "1", day=today)
    lessons = await api.post("lessons", [
        {"lesson_id": lesson_id, "class_id": "1-7A", "subject": subject, "teacher_id": "1-T1",
         "date": today, "starts_at": f"{7 + number:02d}:30", "ends_at": f"{8 + number:02d}:15",
         "number": number} for lesson_id, (number, subject) in LESSONS.items()], key=department)
    assert lessons.status == 200 and lessons.body["created"] == 2, lessons.body
    await World(db).add(chat)
    return PupilsDay(db, api, await new_key(db, "1", "diary of school 1"), deliverer,
                     RunningClock())


@asynccontextmanager
async def on_telegram(db: Database) -> AsyncIterator[tuple[PupilsDay, FakeTelegramBotAPI]]:
    async with FakeTelegramBotAPI(token=TELEGRAM_TOKEN) as telegram, serve(db) as api:
        bot = build_bot(settings_for(db, telegram_bot_token=TELEGRAM_TOKEN,
                                     telegram_api_url=telegram.base_url), timeout=5.0)
        try:
            day = await _school_day(db, api, account(
                str(PARENT_CHAT), guardians=["1-G1"], language="uk", linked_at=datetime.now(UTC)),
                TelegramDeliverer(bot))
            yield day, telegram
        finally:
            await bot.session.close()


@asynccontextmanager
async def on_viber(db: Database) -> AsyncIterator[tuple[PupilsDay, FakeViberAPI]]:
    async with FakeViberAPI(VIBER_TOKEN) as viber, aiohttp.ClientSession() as http, \
            serve(db) as api:
        client = ViberClient(http, api_url=viber.base_url, auth_token=VIBER_TOKEN,
                             bot_name="Шкільний бот")
        yield await _school_day(db, api, account(
            VIBER_PARENT, platform="viber", guardians=["1-G1"], language="uk",
            linked_at=datetime.now(UTC)), ViberDeliverer(client, FileStore(None))), viber


def calls(telegram: FakeTelegramBotAPI, method: str) -> list[Any]:
    return [r for r in telegram.sent if r.method == method and r.chat_id == PARENT_CHAT]


# ---------------------------------------------------------------- Telegram


async def test_a_later_absence_edits_the_first_alert_to_list_both_lessons(db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        [first] = calls(telegram, "sendMessage")
        assert "Тарас" in (first.text or "") and "Математика (1)" in (first.text or "")

        await day.mark("1-L3", "absent")
        await day.scan_and_deliver()
        [edit] = calls(telegram, "editMessageText")
        assert edit.params["message_id"] == first.message_id
        assert first.message_id is not None
        shown = telegram.shown(PARENT_CHAT, first.message_id) or ""
        assert "2 уроках" in shown and "Математика (1)" in shown and "Фізика (3)" in shown

        await day.scan_and_deliver()  # nothing new: nothing more
        assert len(calls(telegram, "sendMessage")) == 1
        assert len(calls(telegram, "editMessageText")) == 1
    assert [(r.kind, r.status) for r in await outbox(db)] == [
        ("absence", "sent"), ("absence_update", "sent")]


async def test_an_alert_still_queued_takes_the_later_absence_in_one_message(db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan()  # queued, not sent yet
        await day.mark("1-L3", "absent")
        await day.scan()
        await day.deliver()
        [only] = telegram.messages_to(PARENT_CHAT)
    assert "Математика (1)" in only and "Фізика (3)" in only and "2 уроках" in only
    assert [(r.kind, r.status) for r in await outbox(db)] == [("absence", "sent")]


async def test_an_absence_turned_present_edits_the_alert_to_say_so(db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        await day.mark("1-L1", "present")
        await day.scan_and_deliver()
        [first] = calls(telegram, "sendMessage")
        [edit] = calls(telegram, "editMessageText")
        await day.scan_and_deliver()
        assert len(telegram.messages_to(PARENT_CHAT)) == 2
    assert edit.params["message_id"] == first.message_id
    assert "відмітки про відсутність" in (edit.text or "")
    assert "Математика (1) — присутність" in (edit.text or "")


async def test_one_lesson_excused_of_two_leaves_the_other_listed_and_says_which(
        db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.mark("1-L3", "absent")
        await day.scan_and_deliver()
        await day.mark("1-L3", "excused")
        await day.scan_and_deliver()
        sent, edited = telegram.messages_to(PARENT_CHAT)
    assert "Фізика (3)" in sent and "2 уроках" in sent
    assert "1 уроці" in edited and "Математика (1)" in edited.splitlines()[0]
    assert "Фізика (3) — поважна причина" in edited.splitlines()[1]


async def test_an_absence_corrected_before_its_alert_went_out_is_never_sent(db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan()
        await day.mark("1-L1", "present")
        await day.scan()
        await day.deliver()
        assert telegram.messages_to(PARENT_CHAT) == []
        assert await outbox(db) == []

        await day.mark("1-L3", "absent")  # a real absence later that day: a new alert
        await day.scan_and_deliver()
        [alert] = telegram.messages_to(PARENT_CHAT)
    assert "Фізика (3)" in alert and "Математика" not in alert


async def test_a_change_undone_before_its_edit_went_out_leaves_the_message_as_it_was(
        db: Database) -> None:
    """The edit says what the message says already: Telegram's "message is not
    modified" counts as done, not as a failure to retry."""
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        await day.mark("1-L3", "absent")
        await day.scan()  # the edit waits in the queue
        await day.mark("1-L3", "present")
        await day.scan()
        await day.deliver()
        assert calls(telegram, "editMessageText") == []
        assert len(calls(telegram, "sendMessage")) == 1
    assert [(r.kind, r.status) for r in await outbox(db)] == [
        ("absence", "sent"), ("absence_update", "sent")]


async def test_an_alert_whose_message_is_gone_comes_anew_with_every_lesson(db: Database) -> None:
    async with on_telegram(db) as (day, telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        [first] = calls(telegram, "sendMessage")
        assert first.message_id is not None
        telegram.user_deletes(PARENT_CHAT, first.message_id)
        await day.mark("1-L3", "absent")
        await day.scan_and_deliver()
        sent = calls(telegram, "sendMessage")
    assert len(sent) == 2
    assert "Математика (1)" in (sent[1].text or "") and "Фізика (3)" in (sent[1].text or "")


async def test_purging_sent_rows_leaves_the_alert_without_its_links(db: Database) -> None:
    async with on_telegram(db) as (day, _telegram):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
    async with db.unit_of_work() as s:
        await s.execute(delete(OutboxMessage))
    async with db.unit_of_work() as s:
        [alert] = (await s.scalars(select(AbsenceAlert))).all()
    assert alert.message_id is None and alert.latest_id is None
    assert alert.lessons == ["1-L1"]


async def _ingest_and_queue(day: PupilsDay, lesson_id: str) -> tuple[int, int]:
    """What the ingest does with an absence: the mark and its alert in one transaction."""
    async with day.db.unit_of_work() as session:
        await ingest(session, "attendance", [
            {"student_id": "1-S1", "lesson_id": lesson_id, "status": "absent"}], actor="test")
        return await queue_absences(session, day.context(), students=["1-S1"])


async def test_the_scan_and_an_ingest_on_the_same_day_at_once_make_one_message(
        db: Database) -> None:
    """The scan holds the day's new alert (not committed yet) when an ingest of a later
    absence queues its own: the ingest waits, then finds the alert waiting and adds to it."""
    async with on_telegram(db) as (day, telegram):
        async with db.unit_of_work() as session:  # written without the API's own queueing
            await ingest(session, "attendance", [
                {"student_id": "1-S1", "lesson_id": "1-L1", "status": "absent"}], actor="test")
        async with db.unit_of_work() as scan:
            assert await queue_absences(scan, day.context()) == (1, 1)
            ingesting = asyncio.create_task(_ingest_and_queue(day, "1-L3"))
            await asyncio.sleep(0.2)  # the ingest starts while the scan's transaction is open
        assert await ingesting == (1, 1)
        await day.scan_and_deliver()
        [only] = telegram.messages_to(PARENT_CHAT)
    assert "Математика (1)" in only and "Фізика (3)" in only and "2 уроках" in only
    assert [(r.kind, r.status) for r in await outbox(db)] == [("absence", "sent")]


# ---------------------------------------------------------------- Viber


async def test_later_absences_on_viber_come_together_in_one_followup_per_window(
        db: Database) -> None:
    async with on_viber(db) as (day, viber):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        await day.mark("1-L3", "absent")
        await day.scan_and_deliver()
        await day.mark("1-L5", "absent")
        await day.scan_and_deliver()
        assert len(viber.messages_to(VIBER_PARENT)) == 1  # the follow-up waits for its window

        day.clock.advance(WINDOW + 1)
        await day.scan_and_deliver()
        await day.scan_and_deliver()
        first, followup = viber.messages_to(VIBER_PARENT)
    assert "Математика (1)" in first
    assert "також" in followup and "2 уроках" in followup
    assert "Фізика (3)" in followup and "Історія (5)" in followup and "Математика" not in followup


async def test_a_correction_on_viber_follows_up_at_once(db: Database) -> None:
    async with on_viber(db) as (day, viber):
        await day.mark("1-L1", "absent")
        await day.mark("1-L3", "absent")
        await day.scan_and_deliver()
        await day.mark("1-L1", "excused")
        await day.mark("1-L3", "present")
        await day.scan_and_deliver()
        first, correction = viber.messages_to(VIBER_PARENT)
    assert "2 уроках" in first
    assert "відмітки про відсутність" in correction and "2 відмітки" in correction
    assert "Математика (1) — поважна причина" in correction
    assert "Фізика (3) — присутність" in correction


async def test_an_absence_corrected_while_its_followup_waits_is_never_told(db: Database) -> None:
    async with on_viber(db) as (day, viber):
        await day.mark("1-L1", "absent")
        await day.scan_and_deliver()
        await day.mark("1-L3", "absent")
        await day.scan()  # a follow-up waits for its window
        await day.mark("1-L3", "present")
        await day.scan()
        day.clock.advance(WINDOW + 1)
        await day.scan_and_deliver()
        assert len(viber.messages_to(VIBER_PARENT)) == 1
    assert [r.kind for r in await outbox(db)] == ["absence"]


async def test_the_first_viber_alert_still_queued_takes_the_later_absence(db: Database) -> None:
    async with on_viber(db) as (day, viber):
        await day.mark("1-L1", "absent")
        await day.scan()
        await day.mark("1-L3", "absent")
        await day.scan_and_deliver()
        [only] = viber.messages_to(VIBER_PARENT)
    assert "Математика (1)" in only and "Фізика (3)" in only and "також" not in only


# ---------------------------------------------------------------- the schema


async def test_migration_0006_keeps_alerted_at_for_listed_absences_only(db: Database) -> None:
    """Down to 0005 (marks as the old scan left them: a corrected mark kept its time),
    up again: only marks still absent are listed; a corrected one has nothing to tell."""
    world = await SchoolWorld(db).build()
    await world.family(1)
    for lesson_id, number, status in (("L1", 1, "absent"), ("L2", 2, "present"),
                                      ("L3", 3, "excused")):
        await world.add_lesson(lesson_id, number, "Математика")
        await world.mark("P1", lesson_id, status)
    alerted = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)
    async with db.unit_of_work() as s:
        await s.execute(update(Attendance).values(alerted_at=alerted))
    try:
        await downgrade(db.engine, "0005")
    finally:
        await upgrade(db.engine)
    async with db.unit_of_work() as s:
        marks = {a.lesson_id: a.alerted_at for a in (await s.scalars(select(Attendance))).all()}
    assert marks == {"L1": alerted, "L2": None, "L3": None}
    assert await absence_alerts(job_context(db, Clock(kyiv(SCHOOL_DAY, 10)))) == 0
