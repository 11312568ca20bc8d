"""Retention (NOTIFY_RETENTION_DAYS, 30): old sent, failed and blocked messages, relayed
messages and handled callback keys are deleted by the `purge_expired` job, and nothing
else; the deletion is audited with counts; an announcement keeps its figures; the
delivery report says from which day it counts. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from run_bot import main
from school_bot.handlers.directory_buttons import on_message
from school_bot.notifications import texts
from school_bot.notifications.announcements import Author, create_announcement, progress
from school_bot.notifications.jobs.housekeeping import purge_expired
from school_bot.notifications.jobs.reports import announcement_reports
from school_bot.reports.labels import subtitle
from school_bot.reports.service import read_report
from school_bot.reports.spec import ReportRequest
from school_bot.storage.db import Database
from school_bot.storage.migrate import downgrade, drift, upgrade
from school_bot.storage.models import (
    Announcement,
    AuditEntry,
    OutboxMessage,
    ProcessedCallback,
    RelayMessage,
)
from tests.support.chat_client import ChatClient
from tests.support.city import KYIV
from tests.support.city import NOW as CITY_NOW
from tests.support.core import conversation
from tests.support.notify import SCHOOL_DAY, Clock, config, job_context, kyiv, outbox
from tests.support.school_world import SchoolWorld
from tests.support.world import handled_callback, notification, relayed

NOW = kyiv(SCHOOL_DAY, 10)
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)
STATUSES = ("sent", "dead", "blocked", "queued", "sending", "retry")


async def a_month_of_messages(db: Database) -> SchoolWorld:
    """Olena's chat with a message of every status a month and a day old, and 29 days
    old; a relayed message and a callback key of each age."""
    world = await SchoolWorld(db).build()
    olena, taras = await world.family(1), await world.family(2)
    await world.add(
        [notification(olena.account_id, "grades", f"{age}-{status}", status=status, created_at=at,
                      next_attempt_at=at)
         for age, at in (("old", OLD), ("recent", RECENT)) for status in STATUSES],
        relayed(taras.guardian_id, olena.guardian_id, world.class_id, "Завтра екскурсія?",
                created_at=OLD),
        relayed(olena.guardian_id, taras.guardian_id, world.class_id, "Так, о дев'ятій",
                created_at=RECENT),
        handled_callback("viber:old", OLD), handled_callback("viber:recent", RECENT))
    return world


async def kept(db: Database) -> tuple[list[str], list[str], list[str]]:
    async with db.unit_of_work() as s:
        keys = (await s.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.dedupe_key))).all()
        texts_ = (await s.scalars(select(RelayMessage.text).order_by(RelayMessage.id))).all()
        callbacks = (await s.scalars(select(ProcessedCallback.key).order_by(ProcessedCallback.key))).all()
    return list(keys), list(texts_), list(callbacks)


async def purge_entries(db: Database) -> list[AuditEntry]:
    async with db.unit_of_work() as s:
        return list((await s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purged")
                                     .order_by(AuditEntry.id))).all())


async def audit_verify(db: Database, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> str:
    """`python run_bot.py audit verify`, as the operator runs it."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    capsys.readouterr()
    status = await asyncio.to_thread(main, ["audit", "verify"])
    out = capsys.readouterr().out
    assert status == 0, out
    return out


# ---------------------------------------------------------------- what goes, what stays


async def test_old_final_messages_relayed_messages_and_keys_go_in_audited_rounds(
        db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    await a_month_of_messages(db)

    await purge_expired(job_context(db, Clock(NOW), retention_chunk=2))

    keys, relays, callbacks = await kept(db)
    # a message still waiting (queued, being sent, to be retried) stays whatever its age
    assert keys == ["old-queued", "old-retry", "old-sending",
                    *sorted(f"recent-{status}" for status in STATUSES)]
    assert relays == ["Так, о дев'ятій"] and callbacks == ["viber:recent"]
    entries = await purge_entries(db)
    assert len(entries) == 2  # rounds of at most two rows of each kind
    assert {(e.actor, e.entity) for e in entries} == {("system:retention", "retention")}
    assert [sum(e.details[kind] for e in entries)
            for kind in ("outbox", "relay_messages", "processed_callbacks")] == [3, 1, 1]
    # counts and the cut-off only: nothing of what went
    assert all(set(e.details) == {"before", "outbox", "relay_messages", "processed_callbacks",
                                  "absence_notes"} for e in entries)
    assert entries[0].details["before"] == (NOW - timedelta(days=30)).isoformat()
    assert "audit log OK: 2 entries" in await audit_verify(db, monkeypatch, capsys)

    await purge_expired(job_context(db, Clock(NOW), retention_chunk=2))  # nothing more to do
    assert len(await purge_entries(db)) == 2


async def test_the_period_is_a_setting(db: Database) -> None:
    await a_month_of_messages(db)
    await purge_expired(job_context(db, Clock(NOW), retention_days=60))
    assert len((await kept(db))[0]) == 2 * len(STATUSES)
    assert await purge_entries(db) == []


async def test_the_buttons_of_a_relayed_message_that_is_gone_say_so(db: Database) -> None:
    """Olena presses ↩️ Reply under a message retention deleted: she is told it is gone."""
    world = await a_month_of_messages(db)
    async with db.unit_of_work() as s:
        old_id = await s.scalar(select(RelayMessage.id).where(RelayMessage.created_at == OLD))
    assert old_id is not None
    await purge_expired(job_context(db, Clock(NOW)))
    olena = ChatClient(db, conversation(db), chat_id=str(world.families[0].chat_id))
    [reply] = await olena.press_payload(on_message("r", old_id))
    assert reply.text == "Це повідомлення більше не доступне."


# ---------------------------------------------------------------- figures that stay right


async def test_an_announcement_keeps_its_figures_after_its_copies_are_deleted(db: Database) -> None:
    world = await SchoolWorld(db).build()
    for n in range(1, 5):
        await world.family(n)
    director_chat = await world.staff_account("D1")
    who = Author(actor="staff:D1", role="director", school_id="S1", staff_id="D1",
                 account_id=director_chat)
    async with db.unit_of_work() as s:
        ann = await create_announcement(s, author=who, school_id="S1", audience="school",
                                        audience_value=None, text="Батьківські збори в четвер",
                                        urgent=False)
        ann.created_at = OLD
    async with db.unit_of_work() as s:
        copies = (await s.scalars(select(OutboxMessage).where(OutboxMessage.announcement_id == ann.id)
                                  .order_by(OutboxMessage.id))).all()
        for copy, status in zip(copies, ("sent", "sent", "dead", "blocked"), strict=True):
            copy.status, copy.created_at = status, OLD
        copies[0].delivered_at = OLD
    assert await announcement_reports(job_context(db, Clock(OLD + timedelta(hours=1)))) == 1
    async with db.unit_of_work() as s:
        report = await s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "announcement_report"))
        assert report is not None
        report.status = "sent"
        before = await progress(s, ann.id)

    await purge_expired(job_context(db, Clock(NOW)))

    assert await outbox(db) == []  # the copies and the author's report are gone
    async with db.unit_of_work() as s:
        after = await progress(s, ann.id)
        stored = await s.get(Announcement, ann.id)
    assert after == before
    assert (after.total, after.sent, after.delivered, after.failed, after.blocked) == (4, 2, 1, 1, 1)
    assert stored is not None and stored.recipients == 4
    # the author's 📊 Progress button reads the same, and no second report goes
    assert texts.announce_progress("uk", ann.id, after) == texts.announce_progress("uk", ann.id, before)
    assert await announcement_reports(job_context(db, Clock(NOW))) == 0


def delivery(start: date, end: date = date(2025, 3, 14)) -> ReportRequest:
    return ReportRequest("delivery", "sa", start, end, CITY_NOW, KYIV)


async def test_the_delivery_report_counts_from_the_first_day_still_kept_and_says_so(
        city: Database) -> None:
    # a month later (12:30 in Kyiv on 10 April) everything final before 09:30 UTC on
    # 11 March goes: the 12th is the first whole day still kept
    await purge_expired(job_context(city, Clock(datetime(2025, 4, 10, 12, 30, tzinfo=KYIV))))

    async with city.unit_of_work() as s:
        table = await read_report(s, delivery(date(2025, 3, 10)), ["csv"], actor="staff:t1",
                                  locale="uk")
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated"))
    #        kind, total, queued, sent, delivered, seen, not shown, retry, blocked, dead
    assert table.rows == [
        ("absence", 1, 0, 0, 0, 0, 0, 0, 1, 0),  # of five: the blocked one of the 12th
        ("diary_reminder", 1, 0, 1, 0, 0, 0, 0, 0, 0),
        ("grades", 4, 2, 0, 0, 0, 0, 1, 0, 1),
    ]
    assert subtitle(table, "uk") == ("Школа А, 12.03.2025–14.03.2025 "
                                     "(давніші повідомлення вже не зберігаються)")
    assert subtitle(table, "en") == "Школа А, 12.03.2025–14.03.2025 (earlier messages are no longer kept)"
    assert entry is not None and entry.details["kept_from"] == "2025-03-12"

    async with city.unit_of_work() as s:
        gone = await read_report(s, delivery(date(2025, 3, 3), date(2025, 3, 10)), ["csv"],
                                 actor="staff:t1", locale="uk")
        whole = await read_report(s, delivery(date(2025, 3, 12)), ["csv"], actor="staff:t1",
                                  locale="uk")
    assert gone.rows == []
    assert subtitle(gone, "en") == ("Школа А, 03.03.2025–10.03.2025: "
                                    "messages of this period are no longer kept")
    assert subtitle(gone, "uk") == ("Школа А, 03.03.2025–10.03.2025: "
                                    "повідомлення за цей період уже не зберігаються")
    assert whole.rows == table.rows and subtitle(whole, "uk") == "Школа А, 12.03.2025–14.03.2025"


# ---------------------------------------------------------------- the schema


async def test_the_retention_revision_goes_down_and_up_again(db: Database) -> None:
    await a_month_of_messages(db)
    await downgrade(db.engine, "0005")
    await upgrade(db.engine)
    assert await drift(db.engine) == []
    await purge_expired(job_context(db, Clock(NOW)))
    assert len((await kept(db))[0]) == 9


def test_the_period_is_at_least_a_week() -> None:
    with pytest.raises(ValidationError):
        config(retention_days=6)
    assert config().retention_days == 30
