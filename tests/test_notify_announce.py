"""Announcements: who may announce to whom, the rows written, progress and the report,
the command line, and the /announce conversation's steps."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import time
from pathlib import Path

from sqlalchemy import select

from school_bot.notifications.announcements import (
    Author,
    NotAllowed,
    authorize,
    create_announcement,
    operator,
    progress,
    staff_author,
)
from school_bot.notifications.jobs.reports import announcement_reports
from school_bot.shared.events import Platform
from school_bot.storage.db import Database
from school_bot.storage.models import Account, Announcement, AuditEntry, OutboxMessage, Staff
from tests.support.chat_client import ChatClient
from tests.support.core import conversation
from tests.support.notify import SCHOOL_DAY, Clock, job_context, outbox
from tests.support.school_world import SchoolWorld
from tests.support.world import lesson, staff

ROOT = Path(__file__).resolve().parent.parent


async def two_schools(db: Database) -> SchoolWorld:
    """S1 (launched) with classes 7-А, 7-Б, 5-Б and five families (one without consent);
    S2 (launched) and S3 (not launched) with one family each."""
    world = await SchoolWorld(db).build()
    await world.add_class("C7B", "7-Б")
    await world.add_class("C5B", "5-Б")
    await world.family(1)                      # 7-А
    await world.family(2, language="en")       # 7-А
    await world.family(3, class_id="C7B")      # 7-Б
    await world.family(4, class_id="C5B")      # 5-Б
    await world.family(5, consent=False)       # 7-А, no consent
    other = SchoolWorld(db, school_id="S2", class_id="C2", teacher_id="T2", director_id="D2",
                        _chats=2000)
    await other.build()
    await other.family(21)
    closed = SchoolWorld(db, school_id="S3", class_id="C3", teacher_id="T3", director_id="D3",
                         _chats=3000)
    await closed.build(launched=False)
    await closed.family(31)
    await world.add(
        staff("A1", "S1", "Бондар Анна Олегівна", phone="+380501110000", role="admin"),
        staff("DEP", "S1", "Кравець Ольга Петрівна", phone="+380501119999", role="department"),
        staff("T9", "S1", "Гнатюк Павло Ігорович", phone="+380501118888"),
        lesson("L-T9", "C5B", "Музика", "T9", SCHOOL_DAY, time(8, 0)))
    return world


async def author(db: Database, staff_id: str) -> Author:
    async with db.unit_of_work() as s:
        found = await staff_author(s, staff_id)
    assert found is not None
    return found


async def allowed(db: Database, who: Author, school_id: str | None, audience: str,
                  value: str | None = None, urgent: bool = False) -> bool | str:
    async with db.unit_of_work() as s:
        try:
            await authorize(s, who, school_id=school_id, audience=audience, audience_value=value,
                            urgent=urgent)
        except NotAllowed as refusal:
            return refusal.reason
    return True


# ---------------------------------------------------------------- the rule


async def test_a_teacher_announces_only_to_classes_they_teach_or_lead(db) -> None:
    await two_schools(db)
    homeroom = await author(db, "T1")    # homeroom teacher of 7-А
    music = await author(db, "T9")       # teaches a lesson in 5-Б
    assert await allowed(db, homeroom, "S1", "class", "C7A") is True
    assert await allowed(db, music, "S1", "class", "C5B") is True
    assert await allowed(db, music, "S1", "class", "C7A") == "announce.error.forbidden"
    assert await allowed(db, homeroom, "S1", "school") == "announce.error.forbidden"
    assert await allowed(db, homeroom, "S1", "grade", "7") == "announce.error.forbidden"
    assert await allowed(db, homeroom, "S1", "class", "C7A", urgent=True) == "announce.error.urgent"
    assert await allowed(db, homeroom, "S2", "class", "C2") == "announce.error.forbidden"


async def test_a_director_announces_within_their_school_and_may_make_it_urgent(db) -> None:
    await two_schools(db)
    director = await author(db, "D1")
    admin = await author(db, "A1")
    for audience, value in (("school", None), ("grade", "7"), ("class", "C5B"), ("teachers", None)):
        assert await allowed(db, director, "S1", audience, value, urgent=True) is True
        assert await allowed(db, admin, "S1", audience, value) is True
    assert await allowed(db, admin, "S1", "school", urgent=True) == "announce.error.urgent"
    assert await allowed(db, director, "S2", "school") == "announce.error.forbidden"
    assert await allowed(db, director, "S1", "city") == "announce.error.forbidden"
    assert await allowed(db, director, "S1", "class", "C2") == "announce.error.class"


async def test_the_department_announces_to_the_city_or_any_launched_school(db) -> None:
    await two_schools(db)
    department = await author(db, "DEP")
    assert await allowed(db, department, None, "city", urgent=True) is True
    assert await allowed(db, department, "S2", "school") is True
    assert await allowed(db, department, "S3", "school") == "announce.error.not_launched"
    assert await allowed(db, operator("console"), "S2", "class", "C2") is True


# ---------------------------------------------------------------- the rows


async def _announce(db: Database, who: Author, school_id: str | None, audience: str,
                    value: str | None = None, urgent: bool = False) -> Announcement:
    async with db.unit_of_work() as s:
        return await create_announcement(s, author=who, school_id=school_id, audience=audience,
                                         audience_value=value, text="Батьківські збори о 18:00",
                                         urgent=urgent)


async def _chats(db: Database, announcement: Announcement) -> set[str]:
    async with db.unit_of_work() as s:
        rows = await s.execute(select(Account.chat_id).join(
            OutboxMessage, OutboxMessage.account_id == Account.id)
            .where(OutboxMessage.announcement_id == announcement.id))
        return {r.chat_id for r in rows}


async def test_each_audience_reaches_its_consenting_chats_once(db) -> None:
    await two_schools(db)
    director = await author(db, "D1")
    # chats: 1001 P1 7-А, 1002 P2 7-А (en), 1003 7-Б, 1004 5-Б, 1005 no consent; 2001 S2; 3001 S3
    assert await _chats(db, await _announce(db, director, "S1", "school")) == {
        "1001", "1002", "1003", "1004"}
    assert await _chats(db, await _announce(db, director, "S1", "grade", "7")) == {
        "1001", "1002", "1003"}
    assert await _chats(db, await _announce(db, director, "S1", "class", "C7A")) == {"1001", "1002"}
    city = await _announce(db, operator("console"), None, "city")
    assert await _chats(db, city) == {"1001", "1002", "1003", "1004", "2001"}
    assert city.recipients == 5


async def test_teachers_audience_reaches_the_schools_staff_chats(db) -> None:
    world = await two_schools(db)
    teacher = await world.staff_account("T1")
    director_chat = await world.staff_account("D1")
    ann = await _announce(db, await author(db, "D1"), "S1", "teachers")
    assert {r.account_id for r in await outbox(db, announcement_id=ann.id)} == {
        teacher, director_chat}


async def test_rows_are_bulk_or_urgent_rendered_per_language_and_audited(db) -> None:
    await two_schools(db)
    director = await author(db, "D1")
    plain = await _announce(db, director, "S1", "class", "C7A")
    urgent = await _announce(db, director, "S1", "class", "C7A", urgent=True)
    rows = await outbox(db, announcement_id=plain.id)
    assert {(r.priority, r.kind) for r in rows} == {(2, "announcement")}
    assert {r.dedupe_key for r in rows} == {f"ann:{plain.id}:{r.account_id}" for r in rows}
    texts = sorted(r.payload["text"] for r in rows)
    assert texts[0].startswith("📢 Announcement — Гімназія №1")
    assert texts[1].startswith("📢 Оголошення — Гімназія №1")
    assert all("Батьківські збори о 18:00" in t for t in texts)
    assert {r.priority for r in await outbox(db, announcement_id=urgent.id)} == {0}
    async with db.unit_of_work() as s:
        entry = (await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "announcement.created", AuditEntry.entity_id == str(plain.id)))).one()
    assert entry.actor == "staff:D1" and entry.details["recipients"] == 2
    assert entry.details["text"] == "Батьківські збори о 18:00"


async def test_the_author_gets_one_final_report_when_every_copy_is_done(db) -> None:
    world = await two_schools(db)
    director_chat = await world.staff_account("D1")
    who = Author(actor="staff:D1", role="director", school_id="S1", staff_id="D1",
                 account_id=director_chat)
    ann = await _announce(db, who, "S1", "class", "C7A")
    ctx = job_context(db, Clock(ann.created_at))
    assert await announcement_reports(ctx) == 0          # still queued
    async with db.unit_of_work() as s:
        rows = (await s.scalars(select(OutboxMessage).where(
            OutboxMessage.announcement_id == ann.id).order_by(OutboxMessage.id))).all()
        rows[0].status, rows[1].status = "sent", "blocked"
    async with db.unit_of_work() as s:
        state = await progress(s, ann.id)
    assert (state.total, state.sent, state.blocked, state.waiting) == (2, 1, 1, 0)
    assert await announcement_reports(ctx) == 1
    assert await announcement_reports(ctx) == 0
    [report] = await outbox(db, kind="announcement_report")
    assert report.account_id == director_chat
    assert "2 отримувачі" in report.payload["text"] and "заблокували бота: 1" in report.payload["text"]


# ---------------------------------------------------------------- the command line


def _cli(db_url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": ""}
    done = subprocess.run([sys.executable, "run_bot.py", "announce", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout, done.stderr


async def test_cli_writes_the_rows_and_refuses_what_the_rule_refuses(db, db_url) -> None:
    await two_schools(db)
    code, out, _ = await asyncio.to_thread(
        _cli, db_url, "--school", "S1", "--grade", "7", "--author", "methodist", "--no-wait",
        "Завтра скорочені уроки")
    assert code == 0 and "3 recipients" in out
    async with db.unit_of_work() as s:
        ann = (await s.scalars(select(Announcement))).one()
        entry = (await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "announcement.created"))).one()
    assert (ann.audience, ann.audience_value, ann.author) == ("grade", "7", "cli:methodist")
    assert entry.actor == "cli:methodist"
    assert len(await outbox(db, announcement_id=ann.id)) == 3

    code, _, err = await asyncio.to_thread(_cli, db_url, "--school", "S3", "--no-wait", "x")
    assert code == 1 and "ще не підключилася" in err


# ---------------------------------------------------------------- the conversation steps


async def _account(db: Database, staff_id: str) -> int:
    world = SchoolWorld(db, _chats=5000 + len(staff_id))
    return await world.staff_account(staff_id)


async def _chat(db: Database, account_id: int) -> ChatClient:
    """The staff member's chat, talking to the production core (with its extensions)."""
    async with db.sessions() as s:
        account = await s.get(Account, account_id)
    assert account is not None
    return ChatClient(db, conversation(db), platform=Platform(account.platform),
                      chat_id=account.chat_id)


async def test_announce_flow_audience_text_preview_urgent_confirm_progress(db) -> None:
    await two_schools(db)
    director = await _account(db, "D1")
    chat = await _chat(db, director)

    [ask] = await chat.send("/announce")
    labels = [row[0].label for row in ask.buttons]
    assert labels[:3] == ["Уся школа", "Учителі школи", "5-і класи (уся паралель)"]
    class_7a = next(row[0] for row in ask.buttons if row[0].label == "Клас 7-А")
    assert len(class_7a.payload.encode()) <= 64

    [write] = await chat.press_payload(class_7a.payload)
    assert "3500" in write.text
    [preview] = await chat.send("Завтра екскурсія")  # the flow waits for the text
    assert "7-А" in preview.text and "2 отримувачі" in preview.text
    assert "Завтра екскурсія" in preview.text
    urgent = next(b for row in preview.buttons for b in row if b.payload == "an:u")
    [toggled] = await chat.press_payload(urgent.payload)
    assert "Термінове" in toggled.text

    [queued] = await chat.press_payload("an:ok")
    [again] = await chat.press_payload("an:ok")   # a double press: once only
    assert again.text == "Цієї чернетки вже немає. Почніть знову з /announce."
    async with db.unit_of_work() as s:
        [ann] = (await s.scalars(select(Announcement))).all()
    assert ann.urgent and ann.author_account_id == director and ann.recipients == 2
    assert f"№{ann.id}" in queued.text
    progress_button = queued.buttons[0][0]
    [shown] = await chat.press_payload(progress_button.payload)
    assert "0 з 2" in shown.text


async def test_announce_flow_refuses_a_parent_and_re_authorises_each_press(db) -> None:
    world = await two_schools(db)
    parent = await _chat(db, world.families[0].account_id)
    [reply] = await parent.send("/announce")
    assert "лише працівники школи" in reply.text

    music = await _account(db, "T9")
    teacher = await _chat(db, music)
    [ask] = await teacher.send("/announce")
    assert [row[0].label for row in ask.buttons][:-1] == ["Клас 5-Б"]
    async with db.unit_of_work() as s:  # the teacher leaves: consent withdrawn
        (await s.get(Staff, "T9")).consent = False
    [refused] = await teacher.press_payload(ask.buttons[0][0].payload)
    assert "лише працівники школи" in refused.text
    async with db.unit_of_work() as s:
        assert (await s.scalars(select(Announcement))).all() == []
