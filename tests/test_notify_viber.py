"""Announcements to Viber parents end to end, over the fake Viber REST API and the real
webhook: broadcast_message batches with per-receiver outcomes from `failed_list`, and
Viber's receipts (delivered, seen, failed), before and after the send is recorded, which
fill their columns and never decide an outcome; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import IntegrityError

from school_bot.bot.viber.client import ViberClient
from school_bot.bot.viber.delivery import ViberDeliverer
from school_bot.bot.viber.files import FileStore
from school_bot.notifications.announcements import Author, create_announcement, operator
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.jobs.housekeeping import forget_early_receipts
from school_bot.notifications.jobs.reports import announcement_reports
from school_bot.notifications.outbox import DUE, FINAL, OutboxStatus
from school_bot.notifications.service import NotificationService
from school_bot.reports.queries import run_report
from school_bot.reports.spec import ReportRequest
from school_bot.storage.db import Database
from school_bot.storage.migrate import downgrade, upgrade
from school_bot.storage.models import Account, Announcement, EarlyReceipt, OutboxMessage, UTCDateTime
from tests.fakes.viber_api import FakeViberAPI, ViberSentRequest
from tests.support.notify import KYIV, Clock, config, job_context, settings
from tests.support.school_world import SchoolWorld
from tests.support.viber_rig import TOKEN, ViberRig, viber_rig
from tests.support.world import World, account, guardian, notification, student

ROOT = Path(__file__).resolve().parent.parent
TEXT = "Завтра батьківські збори о 18:00"
DIRECTOR = "director-viber=="


def viber_user(n: int) -> str:
    return f"vb{n:04d}AAAAAAAAAAAAAAAA=="


async def viber_parents(db: Database, count: int, *, english: Collection[int] = ()) -> list[str]:
    """`count` consenting guardians of class 7-А, each with a linked Viber chat."""
    users = [viber_user(n) for n in range(count)]
    await World(db).add(
        [student(f"VP{n}", "C7A", f"Учень{n} Олена") for n in range(count)],
        [guardian(f"VG{n}", children=[f"VP{n}"]) for n in range(count)],
        [account(user, platform="viber", guardians=[f"VG{n}"],
              language="en" if n in english else "uk", linked_at=datetime.now(UTC))
         for n, user in enumerate(users)])
    return users


async def announce(db: Database, who: Author | None = None) -> Announcement:
    async with db.unit_of_work() as s:
        return await create_announcement(s, author=who or operator("console"), school_id="S1",
                                         audience="class", audience_value="C7A", text=TEXT,
                                         urgent=False)


async def rows_by_chat(db: Database, announcement_id: int) -> dict[str, OutboxMessage]:
    async with db.unit_of_work() as s:
        found = await s.execute(select(Account.chat_id, OutboxMessage).join(
            Account, Account.id == OutboxMessage.account_id)
            .where(OutboxMessage.announcement_id == announcement_id))
        return dict(found.tuples().all())


async def unfinished(db: Database) -> int:
    async with db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status.not_in(FINAL))) or 0)


def broadcasts(api: FakeViberAPI) -> list[list[ViberSentRequest]]:
    """Each broadcast_message call that was answered: its receivers' records, in order."""
    calls: dict[int | None, list[ViberSentRequest]] = defaultdict(list)
    for record in sorted(api.sent + api.rejected, key=lambda r: r.at):
        if record.endpoint == "broadcast_message":
            calls[record.message_token].append(record)
    return list(calls.values())


def dispatcher(db: Database, client: ViberClient, clock: Clock | None = None,
               **overrides: object) -> Dispatcher:
    return Dispatcher(db, settings(quiet_hours=""),
                      {"viber": ViberDeliverer(client, FileStore(None))}, config(**overrides),
                      clock or Clock(datetime.now(UTC) + timedelta(seconds=1)))


async def deliver_until(d: Dispatcher, done: Callable[[], Awaitable[bool]]) -> None:
    task = asyncio.create_task(d.run())
    try:
        async with asyncio.timeout(60):
            while not await done():
                await asyncio.sleep(0.05)
    finally:
        d.stop()
        await task


async def deliver_until_done(d: Dispatcher, db: Database) -> None:
    async def done() -> bool:
        return not await unfinished(db)
    await deliver_until(d, done)


@pytest.fixture
async def viber() -> AsyncIterator[tuple[FakeViberAPI, ViberClient]]:
    async with FakeViberAPI(TOKEN) as api, aiohttp.ClientSession() as http:
        yield api, ViberClient(http, api_url=api.base_url, auth_token=TOKEN,
                               bot_name="Шкільний бот")


# ---------------------------------------------------------------- broadcasts


async def test_700_viber_parents_get_the_announcement_in_3_broadcast_calls(
        db: Database, viber: tuple[FakeViberAPI, ViberClient]) -> None:
    api, client = viber
    await SchoolWorld(db).build()
    users = await viber_parents(db, 700)
    unsubscribed, unregistered, no_device, busy = users[10], users[350], users[420], users[690]
    api.unsubscribed.add(unsubscribed)                # status 6 in failed_list
    api.unregistered.add(unregistered)                # status 5
    api.receiver_status[no_device] = 11               # receiverNoSuitableDevice: permanent
    api.receiver_status[busy] = 12                    # tooManyRequests for this user: later
    ann = await announce(db)
    assert ann.recipients == 700
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))  # stands still: no retry is due

    async def all_but_the_busy_one_done() -> bool:
        return await unfinished(db) == 1 and (
            await rows_by_chat(db, ann.id))[busy].status == OutboxStatus.RETRY

    await deliver_until(dispatcher(db, client, clock), all_but_the_busy_one_done)
    api.receiver_status.pop(busy)  # the user can take more messages again
    clock.advance(hours=1)
    await deliver_until_done(dispatcher(db, client, clock), db)

    calls = broadcasts(api)
    assert sorted(len(call) for call in calls[:3]) == [100, 300, 300]
    assert [[r.receiver for r in call] for call in calls[3:]] == [[busy]]  # its retry, alone
    assert api.count("broadcast_message") == 4 and api.count("send_message") == 0
    rows = await rows_by_chat(db, ann.id)
    assert rows[unsubscribed].status == rows[unregistered].status == OutboxStatus.BLOCKED
    assert rows[no_device].status == OutboxStatus.DEAD
    assert rows[busy].status == OutboxStatus.SENT and rows[busy].attempts == 2
    gone = {unsubscribed, unregistered, no_device}
    token_of = {r.receiver: str(r.message_token) for call in calls for r in call if r.status == 0}
    copy = api.messages_to(users[0])
    assert len(copy) == 1 and TEXT in copy[0]
    for user in users:  # one copy each; the outcome and the token of the call that took it
        assert api.messages_to(user) == ([] if user in gone else copy)
        if user not in gone:
            assert rows[user].status == OutboxStatus.SENT
            assert rows[user].platform_message_id == token_of[user]
    async with db.unit_of_work() as s:
        inactive = set((await s.scalars(select(Account.chat_id).where(Account.active.is_(False)))).all())
    assert inactive == {unsubscribed, unregistered}


async def test_copies_in_two_languages_go_in_two_broadcasts_and_replies_one_by_one(
        db: Database, viber: tuple[FakeViberAPI, ViberClient]) -> None:
    api, client = viber
    world = await SchoolWorld(db).build()
    users = await viber_parents(db, 5, english={3})
    director = account(DIRECTOR, platform="viber", staff_id="D1", language="uk")
    await world.add(director)
    ann = await announce(db, Author(actor="staff:D1", role="director", school_id="S1",
                                    staff_id="D1", account_id=director.id))
    assert ann.recipients == 5
    await deliver_until_done(dispatcher(db, client), db)
    assert await announcement_reports(job_context(db, Clock(datetime.now(UTC)))) == 1
    await deliver_until_done(dispatcher(db, client), db)

    calls = broadcasts(api)
    assert sorted(len(call) for call in calls) == [1, 4]
    [english] = [call for call in calls if len(call) == 1]
    assert english[0].receiver == users[3] and (english[0].text or "").startswith("📢 Announcement")
    [report] = [r for r in api.sent if r.endpoint == "send_message"]
    assert report.receiver == DIRECTOR and "Надіслано: 5" in (report.text or "")


async def test_without_broadcasting_each_parent_gets_a_send_message(
        db: Database, viber: tuple[FakeViberAPI, ViberClient]) -> None:
    api, client = viber
    await SchoolWorld(db).build()
    users = await viber_parents(db, 3)
    await announce(db)
    await deliver_until_done(dispatcher(db, client, broadcast_announcements=False), db)
    assert api.count("broadcast_message") == 0 and api.count("send_message") == 3
    assert all(len(api.messages_to(user)) == 1 for user in users)


# ---------------------------------------------------------------- receipts


def _announce_cli(db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": ""}
    return subprocess.run([sys.executable, "run_bot.py", "announce", "--school", "S1", "--class",
                           "C7A", "--author", "methodist", TEXT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def _late(rig: ViberRig, event: str, user: str, announcement_id: int) -> None:
    """A receipt sent after the send was recorded (the row carries the token)."""
    row = (await rows_by_chat(rig.database, announcement_id))[user]
    assert row.platform_message_id  # recorded
    token = int(row.platform_message_id)
    payload = {"delivered": rig.api.delivered, "seen": rig.api.seen,
               "failed": rig.api.failed}[event](user, token)
    status, _ = await rig.callback(payload)
    assert status == 200


async def test_receipts_before_and_after_the_send_leave_outcomes_to_the_dispatcher(
        db: Database, db_url: str) -> None:
    world = await SchoolWorld(db).build()
    users = await viber_parents(db, 5, english={3})
    refused = users[2]                          # the app refuses to show the message
    await world.add(account(DIRECTOR, platform="viber", staff_id="D1", language="uk",
                         linked_at=datetime.now(UTC)))
    async with viber_rig(db) as rig:
        # Viber's receipts come before the answer to each send: delivered, or failed
        rig.api.receipts_url, rig.api.fails_on_phone = rig.url, {refused}
        await rig.say(DIRECTOR, "/announce")
        await rig.press_labelled(DIRECTOR, "Клас 7-А")
        await rig.say(DIRECTOR, TEXT)
        await rig.press_labelled(DIRECTOR, "Надіслати")
        async with db.unit_of_work() as s:
            by_director = (await s.scalars(select(Announcement))).one()

        service = NotificationService(
            db, settings(quiet_hours=""), {"viber": ViberDeliverer(rig.client, FileStore(None))},
            config=config(reports_interval=0.2, poll_interval=0.05))
        await service.start()
        try:
            report = await rig.api.wait_for(
                lambda r: r.receiver == DIRECTOR and "розіслано" in (r.text or ""), timeout=20)
            # the command line's announcement, followed to its end while receipts come in
            done = await asyncio.to_thread(_announce_cli, db_url)
            async with db.unit_of_work() as s:
                by_cli = (await s.scalars(select(Announcement).where(
                    Announcement.author == "cli:methodist"))).one()
            # after the sends were recorded: seen, failed, delivered again
            for announcement in (by_director, by_cli):
                await _late(rig, "seen", users[0], announcement.id)
                await _late(rig, "failed", users[1], announcement.id)
                await _late(rig, "delivered", users[4], announcement.id)
        finally:
            await service.stop()
        assert all(status == 200 for status in rig.api.receipt_answers)

    assert done.returncode == 0, done.stderr
    assert "sent 5, delivered 4, failed 0, blocked 0, waiting 0" in done.stdout
    assert "Надіслано: 5, доставлено: 4" in (report.text or "")
    for announcement in (by_director, by_cli):
        rows = await rows_by_chat(db, announcement.id)
        assert {row.status for row in rows.values()} == {OutboxStatus.SENT}
        assert rows[users[0]].seen_at is not None and rows[users[0]].delivered_at is not None
        assert rows[users[1]].receipt_error and rows[users[1]].delivered_at is not None
        assert rows[refused].receipt_error == "message validation failed"
        assert rows[refused].delivered_at is None and rows[refused].attempts == 1
        assert all(row.delivered_at is not None for chat, row in rows.items() if chat != refused)
    for user in users:  # each parent got each announcement once, and nothing waits to go again
        assert len(rig.api.messages_to(user)) == 2
    today = datetime.now(KYIV).date()
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status.in_(DUE))) == 0
        assert await s.scalar(select(func.count()).select_from(EarlyReceipt)) == 0
        table = await run_report(s, ReportRequest("delivery", "S1", today, today,
                                                  datetime.now(KYIV), KYIV))
    [announcements] = [row for row in table.rows if row[0] == "announcement"]
    #                 total, queued, sent, delivered, seen, not shown, retry, blocked, dead
    assert announcements[1:] == (10, 0, 10, 8, 2, 2, 0, 0, 0)


async def test_an_early_receipt_whose_send_is_never_recorded_is_forgotten_later(
        db: Database) -> None:
    await SchoolWorld(db).build()
    [user] = await viber_parents(db, 1)
    async with viber_rig(db) as rig:
        await rig.callback(rig.api.delivered(user, 555))  # nothing in flight: an answer's
        async with db.unit_of_work() as s:
            account_id = await s.scalar(select(Account.id).where(Account.chat_id == user))
            assert account_id is not None
            s.add(notification(account_id, "announcement", "x", payload={"text": TEXT},
                               status=OutboxStatus.SENDING))
        await rig.callback(rig.api.delivered(user, 777))  # its send's answer was lost
    async with db.unit_of_work() as s:
        [kept] = (await s.scalars(select(EarlyReceipt))).all()
    assert kept.message_token == "777" and kept.event == "delivered"
    clock = Clock(kept.at)
    await forget_early_receipts(job_context(db, clock))
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(EarlyReceipt)) == 1
    clock.advance(hours=25)
    await forget_early_receipts(job_context(db, clock))
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(EarlyReceipt)) == 0


# ---------------------------------------------------------------- the vocabulary


async def test_the_database_refuses_a_status_outside_the_vocabulary(db: Database) -> None:
    await SchoolWorld(db).build()
    [user] = await viber_parents(db, 1)
    async with db.unit_of_work() as s:
        account_id = await s.scalar(select(Account.id).where(Account.chat_id == user))
    for word in ("delivered", "failed", "Sent"):
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as conn:
                await conn.execute(text(
                    "INSERT INTO outbox (account_id, kind, priority, dedupe_key, payload, status, "
                    "attempts, next_attempt_at, created_at) VALUES (:a, 'x', 1, :k, '{}', :s, 0, "
                    ":t, :t)"), {"a": account_id, "k": f"k-{word}", "s": word,
                                 "t": datetime.now(UTC).replace(tzinfo=None)})
    assert {str(s) for s in OutboxStatus} == {"queued", "sending", "sent", "retry", "dead",
                                              "blocked"}
    assert set(DUE) | set(FINAL) | {OutboxStatus.SENDING} == set(OutboxStatus)


async def test_migration_0003_converts_the_old_words(db: Database) -> None:
    """Down to 0002 (the old vocabulary), rows as the old code left them, up again."""
    await SchoolWorld(db).build()
    [user] = await viber_parents(db, 1)
    async with db.unit_of_work() as s:
        account_id = await s.scalar(select(Account.id).where(Account.chat_id == user))
    at = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)
    old = [  # key, status, sent_at, delivered_at, seen_at, last_error
        ("waits", "failed", None, None, None, "viber answered HTTP 502"),
        ("refused", "failed", at, None, None, "message validation failed"),
        ("delivered", "delivered", at, at, None, None),
        ("seen", "delivered", at, None, at, None),
        ("plain", "sent", at, None, None, None),
    ]
    insert = text(
        "INSERT INTO outbox (account_id, kind, priority, dedupe_key, payload, status, "
        "attempts, next_attempt_at, created_at, sent_at, delivered_at, seen_at, "
        "last_error) VALUES (:a, 'grades', 1, :k, '{}', :s, 1, :t, :t, :sent, :d, "
        ":seen, :e)",
    ).bindparams(  # times written as the column type writes them (on SQLite: UTC, no zone)
        *(bindparam(name, type_=UTCDateTime()) for name in ("t", "sent", "d", "seen")))
    try:
        await migrate(db, "0002")
        async with db.engine.begin() as conn:
            for key, status, sent_at, delivered_at, seen_at, error in old:
                await conn.execute(insert, {"a": account_id, "k": key, "s": status, "t": at,
                                            "sent": sent_at, "d": delivered_at, "seen": seen_at,
                                            "e": error})
    finally:
        await migrate(db, "head")
    async with db.unit_of_work() as s:
        rows = {r.dedupe_key: r for r in (await s.scalars(select(OutboxMessage))).all()}
    assert rows["waits"].status == OutboxStatus.RETRY
    assert rows["waits"].last_error == "viber answered HTTP 502" and rows["waits"].receipt_error is None
    assert rows["refused"].status == OutboxStatus.SENT and rows["refused"].last_error is None
    assert rows["refused"].receipt_error == "message validation failed"
    assert rows["delivered"].status == OutboxStatus.SENT and rows["delivered"].delivered_at
    assert rows["seen"].status == OutboxStatus.SENT
    assert rows["seen"].delivered_at == rows["seen"].seen_at is not None
    assert rows["plain"].status == OutboxStatus.SENT and rows["plain"].delivered_at is None


async def migrate(db: Database, revision: str) -> None:
    if revision == "head":
        await upgrade(db.engine)
    else:
        await downgrade(db.engine, revision)
