"""One parent, several guardian rows, end to end over the fake messengers' servers.

Two schools enter the same father under their own ids, each writing his number its own
way (`+380 67 209 55 18` and `0672095518`), and his first school entered him twice for
the same son. The data comes in as the school system writes it (the CSV import); the
chats run through the real Telegram and Viber front doors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.handlers import directory_buttons
from school_bot.notifications.config import NotifyConfig
from school_bot.notifications.service import NotificationService
from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.ingest import import_folder
from school_bot.storage.invites import issue_code
from school_bot.storage.models import Account, AccountGuardian, AuditEntry, Guardian, OutboxMessage
from tests.fakes.telegram_api import SentRequest
from tests.support.telegram_rig import TelegramRig, keyboard_of, telegram_rig, texts
from tests.support.viber_rig import viber_rig

FATHER = 8101
VIBER_FATHER = "father-on-viber=="
NEIGHBOUR, NEIGHBOUR_PHONE = 8102, "+380501110001"
SPELLINGS = {"gA-petrenko": "+380 67 209 55 18", "gA-dup": "(067) 209-55-18", "gB-77": "0672095518"}


def _csv(folder: Path, name: str, header: str, *rows: str) -> None:
    (folder / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def _city(folder: Path, *, consent_b: str = "yes", launched_b: str = "yes",
          day: str = "2026-11-24") -> Path:
    """School A (Марко, 5-А; the father entered twice) and school B (Ліна, 2-Б)."""
    folder.mkdir(exist_ok=True)
    _csv(folder, "schools", "school_id,name,launched", "A,Гімназія №3,yes", f"B,Ліцей №9,{launched_b}")
    _csv(folder, "classes", "class_id,school_id,name", "A-5a,A,5-А", "B-2b,B,2-Б")
    _csv(folder, "students", "student_id,class_id,full_name", "A-s1,A-5a,Петренко Марко Іванович",
         "A-s2,A-5a,Коваль Ольга Андріївна", "B-s9,B-2b,Петренко Ліна Іванівна")
    _csv(folder, "guardians", "guardian_id,student_id,full_name,phone,consent",
         f'gA-petrenko,A-s1,Петренко Іван Олегович,{SPELLINGS["gA-petrenko"]},yes',
         f'gA-dup,A-s1,Петренко Іван Олегович,{SPELLINGS["gA-dup"]},yes',
         f'gB-77,B-s9,Петренко Іван Олегович,{SPELLINGS["gB-77"]},{consent_b}',
         f"gA-koval,A-s2,Коваль Ірина Петрівна,{NEIGHBOUR_PHONE},yes")
    _csv(folder, "lessons", "lesson_id,class_id,subject,teacher_id,date,starts_at,ends_at",
         f"A-l1,A-5a,Математика,A-t1,{day},08:00,08:45", f"B-l1,B-2b,Читання,B-t1,{day},08:00,08:45")
    _csv(folder, "grades", "grade_id,student_id,subject,date,value",
         "A-g1,A-s1,Математика,2026-11-24,11", "B-g1,B-s9,Читання,2026-11-24,7")
    return folder


async def _load(db: Database, folder: Path) -> None:
    report = await import_folder(db, folder, actor="test")
    assert report.ok, report.problems()


def _buttons(request: SentRequest) -> dict[str, str]:
    markup = keyboard_of(request) or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}


async def _links(db: Database, platform: str, chat_id: str) -> list[str]:
    async with db.sessions() as s:
        return list((await s.scalars(
            select(AccountGuardian.guardian_id).join(Account, Account.id == AccountGuardian.account_id)
            .where(Account.platform == platform, Account.chat_id == chat_id)
            .order_by(AccountGuardian.guardian_id))).all())


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[TelegramRig]:
    await _load(db, _city(tmp_path / "city"))
    async with telegram_rig(db) as running:
        yield running


async def test_telegram_contact_links_every_row_of_the_number_and_all_children_appear(
    rig: TelegramRig, db: Database
) -> None:
    father = rig.chat(FATHER)
    linked = await father.share_contact("+380672095518")
    assert any("під'єднано" in line for line in texts(linked))
    assert await _links(db, "telegram", str(FATHER)) == ["gA-dup", "gA-petrenko", "gB-77"]

    for command in ("/grades", "/homework", "/schedule", "/absences", "/rating"):
        (picker,) = await father.send(command)
        assert list(_buttons(picker)) == ["Ліна", "Марко"], command  # each child once
    (picker,) = await father.send("/grades")
    (_, lina) = await father.press(_buttons(picker)["Ліна"], picker.message_id)
    assert "Читання" in (lina.text or "") and "Математика" not in (lina.text or "")
    (picker,) = await father.send("/grades")
    (_, marko) = await father.press(_buttons(picker)["Марко"], picker.message_id)
    assert "Математика" in (marko.text or "") and "Читання" not in (marko.text or "")

    async with db.sessions() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "account.linked"))
    assert entry is not None
    assert entry.details["guardian_ids"] == ["gA-dup", "gA-petrenko", "gB-77"]
    assert "209" not in str(entry.details)


async def test_absences_of_every_row_reach_the_chat_once(db: Database, tmp_path: Path) -> None:
    today = datetime.now(ZoneInfo("Europe/Kyiv")).date()
    folder = _city(tmp_path / "city", day=today.isoformat())
    await _load(db, folder)
    async with telegram_rig(db) as rig:
        await rig.chat(FATHER).share_contact("+380672095518")
        bot = build_bot(rig.settings, timeout=5.0)
        service = NotificationService(
            db, rig.settings, {"telegram": TelegramDeliverer(bot)},
            config=NotifyConfig.from_settings(rig.settings, absence_interval=0.2, poll_interval=0.05))
        before = len(rig.api.messages_to(FATHER))
        _csv(folder, "attendance", "student_id,lesson_id,status", "A-s1,A-l1,absent", "B-s9,B-l1,absent")
        await _load(db, folder)
        await service.start()
        try:
            await rig.api.wait_for(lambda r: len(rig.api.messages_to(FATHER)) >= before + 2, timeout=20)
            await service.stop()  # whatever else was due has been sent by now
        finally:
            await bot.session.close()
    alerts = rig.api.messages_to(FATHER)[before:]
    assert len(alerts) == 2, alerts  # Марко's two rows: one alert; Ліна's: one
    assert sum("Марко" in text for text in alerts) == 1 and sum("Ліна" in text for text in alerts) == 1
    async with db.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "absence"))).all()
    assert len(rows) == 2


async def test_viber_needs_each_rows_code_and_a_second_code_adds_its_children(
    db: Database, tmp_path: Path
) -> None:
    await _load(db, _city(tmp_path / "city"))
    async with db.unit_of_work() as s:
        code_a = await issue_code(s, "gA-petrenko")
        code_b = await issue_code(s, "gB-77")
    async with viber_rig(db) as rig:
        await rig.share_phone(VIBER_FATHER, "+380672095518")
        await rig.say(VIBER_FATHER, code_a)
        assert await _links(db, "viber", VIBER_FATHER) == ["gA-petrenko"]  # only the code's row
        await rig.say(VIBER_FATHER, "/grades")
        assert "Математика" in "\n".join(rig.api.messages_to(VIBER_FATHER)[-1:])  # one child: no picker

        added = await rig.say(VIBER_FATHER, code_b.lower().replace("-", " "))
        assert any("під'єднано" in text for text in added), added
        assert await _links(db, "viber", VIBER_FATHER) == ["gA-petrenko", "gB-77"]
        await rig.say(VIBER_FATHER, "/grades")
        keyboard = rig.last_keyboard(VIBER_FATHER) or {}
        labels = [button.get("Text", "") for button in keyboard.get("Buttons", [])]
        assert any("Ліна" in label for label in labels) and any("Марко" in label for label in labels)


async def test_a_code_of_another_number_is_not_added_to_a_linked_viber_chat(
    db: Database, tmp_path: Path
) -> None:
    folder = _city(tmp_path / "city")
    _csv(folder, "guardians", "guardian_id,student_id,full_name,phone,consent",
         f'gA-petrenko,A-s1,Петренко Іван Олегович,{SPELLINGS["gA-petrenko"]},yes',
         "gB-other,B-s9,Петренко Олена Петрівна,+380501234567,yes")
    await _load(db, folder)
    async with db.unit_of_work() as s:
        code_a = await issue_code(s, "gA-petrenko")
        code_other = await issue_code(s, "gB-other")
    async with viber_rig(db) as rig:
        await rig.share_phone(VIBER_FATHER, "+380672095518")
        await rig.say(VIBER_FATHER, code_a)
        refused = await rig.say(VIBER_FATHER, code_other)
        assert any("код не діє" in text for text in refused), refused
        assert await _links(db, "viber", VIBER_FATHER) == ["gA-petrenko"]


async def test_consent_withdrawn_on_one_row_removes_only_that_rows_children(
    rig: TelegramRig, db: Database, tmp_path: Path
) -> None:
    father = rig.chat(FATHER)
    await father.share_contact("+380672095518")
    await _load(db, _city(tmp_path / "again", consent_b="no"))  # school B: consent withdrawn
    (answer,) = await father.send("/grades")
    assert "Математика" in (answer.text or "") and not _buttons(answer).get("Ліна")
    assert await _links(db, "telegram", str(FATHER)) == ["gA-dup", "gA-petrenko"]
    async with db.sessions() as s:
        row_b = await s.get(Guardian, "gB-77")
        row_a = await s.get(Guardian, "gA-petrenko")
    assert row_b is not None and row_b.full_name is None and row_b.phone is None
    assert row_a is not None and row_a.phone == "+380672095518"


async def test_forget_me_erases_every_row_of_the_chat(rig: TelegramRig, db: Database) -> None:
    father = rig.chat(FATHER)
    await father.share_contact("+380672095518")
    (question,) = await father.send("/forget")
    done = await father.press(_buttons(question)["Так, видалити мої дані"], question.message_id)
    assert any("1 чат" in text for text in texts(done)), texts(done)  # one chat, not one per row
    async with db.sessions() as s:
        others = select(Guardian).where(Guardian.id != "gA-koval").order_by(Guardian.id)
        rows = (await s.scalars(others)).all()
        chats = (await s.scalars(select(Account).where(Account.chat_id == str(FATHER)))).all()
    assert [(g.id, g.full_name, g.phone, g.consent) for g in rows] == [
        ("gA-dup", None, None, False), ("gA-petrenko", None, None, False), ("gB-77", None, None, False)]
    assert chats == []


async def test_unlink_covers_every_row_and_a_new_contact_links_them_again(
    rig: TelegramRig, db: Database
) -> None:
    father = rig.chat(FATHER)
    await father.share_contact("+380672095518")
    await father.send("/unlink")
    assert await _links(db, "telegram", str(FATHER)) == []
    (answer,) = await father.send("/grades")
    assert "Вітаю" in (answer.text or "")  # not linked: the greeting, no child
    await father.share_contact("+380672095518")
    assert await _links(db, "telegram", str(FATHER)) == ["gA-dup", "gA-petrenko", "gB-77"]


async def test_erasing_one_row_keeps_the_chat_for_the_others(rig: TelegramRig, db: Database) -> None:
    father = rig.chat(FATHER)
    await father.share_contact("+380672095518")
    for row in ("gA-petrenko", "gA-dup"):
        async with db.unit_of_work() as s:
            report = await erase_person(s, "guardian", row, actor="test", reason="test")
        assert report.chats_unlinked == 1
    assert await _links(db, "telegram", str(FATHER)) == ["gB-77"]
    (answer,) = await father.send("/grades")
    assert "Читання" in (answer.text or "") and "Математика" not in (answer.text or "")
    async with db.unit_of_work() as s:
        await erase_person(s, "guardian", "gB-77", actor="test", reason="test")
    async with db.sessions() as s:
        assert (await s.scalars(select(Account).where(Account.chat_id == str(FATHER)))).all() == []


async def test_the_class_directory_knows_the_parent_once_in_each_class(
    rig: TelegramRig, db: Database
) -> None:
    father, neighbour = rig.chat(FATHER), rig.chat(NEIGHBOUR)
    await father.share_contact("+380672095518")
    await neighbour.share_contact(NEIGHBOUR_PHONE)
    await neighbour.press(directory_buttons.visible(True))
    await father.press(directory_buttons.visible(True))  # one switch for all his rows
    async with db.sessions() as s:
        opted = (await s.scalars(select(Guardian.id).where(Guardian.directory_opt_in.is_(True))
                                 .order_by(Guardian.id))).all()
        audited = (await s.scalars(select(AuditEntry.entity_id).where(
            AuditEntry.action == "directory.opt_in").order_by(AuditEntry.entity_id))).all()
    assert list(opted) == ["gA-dup", "gA-koval", "gA-petrenko", "gB-77"]
    assert list(audited) == ["gA-dup", "gA-koval", "gA-petrenko", "gB-77"]

    (picker,) = await father.send("/directory")
    assert list(_buttons(picker)) == ["Ліна (2-Б)", "Марко (5-А)"]
    (_, listing) = await father.press(_buttons(picker)["Марко (5-А)"], picker.message_id)
    assert "Коваль Ірина" in (listing.text or "") and "Петренко Іван" not in (listing.text or "")

    (listing,) = await neighbour.send("/directory")
    assert (listing.text or "").count("Петренко Іван") == 1  # two rows, one parent
    write = next(data for label, data in _buttons(listing).items() if "Петренко" in label)
    await neighbour.press(write, listing.message_id)
    (preview,) = await neighbour.send("Добрий день! Завтра екскурсія.")
    before = len(rig.api.messages_to(FATHER))
    await neighbour.press(directory_buttons.SEND, preview.message_id)
    async with db.sessions() as s:
        queued = (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "relay"))).all()
    assert [row.account_id for row in queued] == [
        (await _account_id(db, FATHER))]  # one copy for his one chat
    assert len(rig.api.messages_to(FATHER)) == before  # the outbox delivers it, not the answer


async def _account_id(db: Database, chat_id: int) -> int:
    async with db.sessions() as s:
        found = await s.scalar(select(Account.id).where(Account.chat_id == str(chat_id)))
    assert found is not None
    return found


async def test_a_school_that_launches_later_adds_its_children_when_the_parent_comes_back(
    db: Database, tmp_path: Path
) -> None:
    await _load(db, _city(tmp_path / "city", launched_b="no"))
    async with telegram_rig(db, quiet_hours="") as rig:  # the news is not held for the morning
        father = rig.chat(FATHER)
        await father.share_contact("+380672095518")
        assert await _links(db, "telegram", str(FATHER)) == ["gA-dup", "gA-petrenko"]
        await _load(db, _city(tmp_path / "launch", launched_b="yes"))  # school B launches
        bot = build_bot(rig.settings, timeout=5.0)
        service = NotificationService(
            db, rig.settings, {"telegram": TelegramDeliverer(bot)},
            config=NotifyConfig.from_settings(rig.settings, launch_interval=0.2, poll_interval=0.05))
        await service.start()
        try:
            news = await rig.api.wait_for(lambda r: r.chat_id == FATHER and "Ліцей №9" in (r.text or ""),
                                          timeout=20)
        finally:
            await service.stop()
            await bot.session.close()
        assert "/start" in (news.text or "")
        (back,) = await father.send("/start")
        assert (keyboard_of(back) or {}).get("keyboard") == [
            [{"text": "Поділитися номером", "request_contact": True}]]
        await father.share_contact("+380672095518")
        assert await _links(db, "telegram", str(FATHER)) == ["gA-dup", "gA-petrenko", "gB-77"]
        (again,) = await father.send("/start")
        assert "З поверненням" in (again.text or "") and "Оцінки" in str(keyboard_of(again))
