"""Parents explain absences and report them in advance; the homeroom teacher gets it.

End to end where the messenger matters: the absence scan and the outbox dispatcher run
as the worker runs them and deliver to the fake Bot API (or the fake Viber API); the
parent presses the alert's "Explain" button through the real Telegram front door (or
the Viber webhook); the note reaches the homeroom teacher's own chat with the three
review buttons. The rest talks to the same core through the turn runner. The small
school's clock: Wednesday 25 November 2026, 11:00 in Kyiv. SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.bot.viber.delivery import ViberDeliverer
from school_bot.bot.viber.files import FileStore
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.jobs.absences import absence_alerts
from school_bot.notifications.jobs.common import JobContext
from school_bot.shared.delivery import Deliverer, payload_to_reply
from school_bot.shared.settings import SettingsError, load_settings
from school_bot.storage.absence_notes import NoteStatus, decide
from school_bot.storage.db import Database
from school_bot.storage.models import AbsenceAlert, AbsenceNote, Account, Attendance, SchoolClass
from tests.support.api import new_key, serve
from tests.support.chat_client import ChatClient
from tests.support.core import conversation, linked
from tests.support.notify import config, outbox, settings
from tests.support.small_school import NOW, PHONES, TODAY, TOMORROW, small_school
from tests.support.telegram_rig import TelegramChat, keyboard_of, telegram_rig, texts
from tests.support.viber_rig import viber_rig
from tests.support.world import World, account, staff

TEACHER_CHAT = 5001
DIRECTOR_CHAT = 5002
PARENT_CHAT = 100
FRIDAY = date(2026, 11, 27)


def moving_clock() -> Callable[[], datetime]:
    """The small school's moment, moving on with the real time (the dispatcher paces)."""
    started = time.monotonic()
    return lambda: NOW + timedelta(seconds=time.monotonic() - started)


async def school(db: Database, *, homeroom_linked: bool = True, director_linked: bool = False,
                 homeroom: str | None = "t-moroz") -> World:
    """The small school; 5-А's homeroom teacher is Мороз Оксана (t-moroz); a director."""
    world = await small_school(db)
    await world.add(staff("d-head", "sch-1", "Шевченко Петро Іванович", role="director"))
    await world.change(SchoolClass, "cls-5a", homeroom_teacher_id=homeroom)
    if homeroom_linked:
        await world.add(account(str(TEACHER_CHAT), staff_id="t-moroz", language="uk"))
    if director_linked:
        await world.add(account(str(DIRECTOR_CHAT), staff_id="d-head", language="en"))
    return world


def job(db: Database, clock: Callable[[], datetime]) -> JobContext:
    return JobContext(db, settings(), config(), clock)


async def deliver(db: Database, deliverer: Deliverer, clock: Callable[[], datetime]) -> None:
    dispatcher = Dispatcher(db, settings(quiet_hours=""), {deliverer.platform: deliverer},
                            config(), clock)
    await dispatcher.run(until_idle=True)


async def notes(db: Database) -> list[AbsenceNote]:
    async with db.unit_of_work() as s:
        return list(await s.scalars(select(AbsenceNote).order_by(AbsenceNote.id)))


async def alert_id(db: Database, student_id: str) -> int:
    async with db.unit_of_work() as s:
        found = await s.scalar(select(AbsenceAlert.id).where(AbsenceAlert.student_id == student_id))
    assert found is not None
    return found


def inline(request: Any) -> list[tuple[str, str]]:
    """(label, callback data) of a Telegram message's inline buttons."""
    markup = keyboard_of(request) or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", [])
            for b in row]


async def press_labelled(chat: TelegramChat, request: Any, label: str) -> list[Any]:
    [data] = [d for text, d in inline(request) if label in text]
    return await chat.press(data, request.message_id)


def last_shown(requests: list[Any]) -> Any:
    return [r for r in requests if r.method in ("sendMessage", "editMessageText")][-1]


async def review_rows(db: Database, account_chat: str) -> list[Any]:
    async with db.unit_of_work() as s:
        account_id = await s.scalar(select(Account.id).where(Account.chat_id == account_chat))
    return [r for r in await outbox(db, kind="absence_note") if r.account_id == account_id]


# ---------------------------------------------------------------- Telegram, end to end


async def test_an_alert_explained_in_two_taps_reaches_the_homeroom_teacher(db: Database) -> None:
    await school(db)
    clock = moving_clock()
    async with telegram_rig(db) as rig:
        parent = rig.chat(PARENT_CHAT)
        await parent.share_contact(PHONES.koval)
        deliverer = TelegramDeliverer(rig.door.bot)
        assert await absence_alerts(job(db, clock)) >= 1
        await deliver(db, deliverer, clock)
        [alert] = [r for r in rig.api.sent
                   if r.method == "sendMessage" and r.chat_id == PARENT_CHAT and "Ольга" in (r.text or "")]
        assert "Математика (1)" in (alert.text or "")
        assert inline(alert) == [("Пояснити", f"xp:a:{await alert_id(db, 'st-olha')}")]

        asked = await press_labelled(parent, alert, "Пояснити")   # "Explain"
        question = last_shown(asked)
        assert question.method == "sendMessage"  # the alert stays as it was
        assert "Оберіть причину відсутності (Ольга, сьогодні)" in (question.text or "")
        assert [label for label, _ in inline(question)] == [
            "Хвороба", "Візит до лікаря", "Сімейні обставини", "Інше", "✖️ Скасувати"]

        step = last_shown(await press_labelled(parent, question, "Хвороба"))      # tap 1
        assert "Ольга, 25 листопада: Хвороба." in (step.text or "")
        assert [label for label, _ in inline(step)] == [
            "✅ Надіслати: 25 листопада", "📅 Кілька днів…", "✖️ Скасувати"]
        done = last_shown(await press_labelled(parent, step, "Надіслати"))        # tap 2
        assert done.method == "editMessageText"
        assert "Пояснення надіслано класному керівнику" in (done.text or "")

        [note] = await notes(db)
        assert (note.student_id, note.guardian_id, note.first_day, note.last_day, note.reason,
                note.note, note.in_advance, note.status) == (
            "st-olha", "g-koval", TODAY, TODAY, "illness", None, False, "open")

        await deliver(db, deliverer, clock)
        [review] = [r for r in rig.api.sent
                    if r.method == "sendMessage" and r.chat_id == TEACHER_CHAT]

        await World(db).change(Attendance, ("st-olha", "ls-hist"), status="absent")
        await absence_alerts(job(db, clock))  # a later absence edits the alert: the button stays
        await deliver(db, deliverer, clock)
        [edit] = [r for r in rig.api.sent
                  if r.method == "editMessageText" and r.params.get("message_id") == alert.message_id]
        assert "Історія (2)" in (edit.text or "")
        assert inline(edit) == [("Пояснити", f"xp:a:{await alert_id(db, 'st-olha')}")]
    text = review.text or ""
    assert "Коваль Ольга Андріївна, 5-А" in text and "Дні: 25 листопада" in text
    assert "Причина: Хвороба" in text
    assert inline(review) == [("✅ Прийняти", f"xt:a:{note.id}"),
                              ("📄 Попросити документ", f"xt:d:{note.id}"),
                              ("❌ Відхилити", f"xt:n:{note.id}")]


async def test_a_photo_in_the_flow_is_refused_and_not_downloaded(db: Database) -> None:
    await school(db)
    async with telegram_rig(db) as rig:
        parent = rig.chat(PARENT_CHAT)
        await parent.share_contact(PHONES.koval)
        await absence_alerts(job(db, moving_clock()))
        asked = await parent.press(f"xp:a:{await alert_id(db, 'st-olha')}")
        await press_labelled(parent, last_shown(asked), "Хвороба")
        update = rig.api.message_update(PARENT_CHAT, None, push=False)
        update["message"]["photo"] = [{"file_id": "AgACAgIAAxkBAAIB", "file_unique_id": "AQADk",
                                       "width": 1280, "height": 960, "file_size": 180000}]
        update["message"]["caption"] = "Довідка від лікаря"
        answer = await parent._exchange(update)
        assert not [r for r in rig.api.sent if r.method == "getFile"]
    [refusal] = texts(answer)
    assert "Бот не приймає фото й файли" in refusal and "принесіть їх до школи" in refusal
    assert await notes(db) == []


# ---------------------------------------------------------------- Viber, end to end


async def test_on_viber_the_alert_is_explained_for_several_days(db: Database) -> None:
    await school(db)
    user = "vbParentKoval00000000A=="
    await World(db).add(account(user, platform="viber", guardians=["g-koval"], language="uk",
                                linked_at=NOW))
    clock = moving_clock()
    async with viber_rig(db, clock=lambda: NOW) as rig:
        await absence_alerts(job(db, clock))
        await deliver(db, ViberDeliverer(rig.client, FileStore(None)), clock)
        [alert] = [m for m in rig.api.messages_to(user) if "Ольга" in m]
        assert "Математика (1)" in alert
        shown = await rig.press_labelled(user, "Пояснити")
        assert "Оберіть причину відсутності (Ольга, сьогодні)" in shown[-1]
        await rig.press_labelled(user, "Сімейні обставини")
        await rig.say(user, "Поїздка до бабусі")
        shown = await rig.press_labelled(user, "Кілька днів")
        assert "щонайбільше 10 навчальних днів" in shown[-1]
        shown = await rig.press_labelled(user, "3 навчальні дні")
        assert "Ольга, 25 листопада – 27 листопада: Сімейні обставини." in shown[-1]
        assert "Ваш коментар: Поїздка до бабусі" in shown[-1]
        shown = await rig.press_labelled(user, "Надіслати")
        assert "Пояснення надіслано класному керівнику" in shown[-1]
        await World(db).change(Attendance, ("st-olha", "ls-hist"), status="absent")
        await absence_alerts(job(db, clock))  # Viber's follow-up carries the button too
    [followup] = await outbox(db, kind="absence_followup")
    assert [b.payload for line in payload_to_reply(followup.payload).buttons for b in line] == [
        f"xp:a:{await alert_id(db, 'st-olha')}"]
    [note] = await notes(db)
    assert (note.first_day, note.last_day, note.reason, note.note) == (
        TODAY, FRIDAY, "family", "Поїздка до бабусі")
    [row] = await review_rows(db, str(TEACHER_CHAT))
    review = payload_to_reply(row.payload)
    assert "Дні: 25 листопада – 27 листопада" in review.text
    assert "Коментар батьків: Поїздка до бабусі" in review.text


# ---------------------------------------------------------------- through the core


async def parent_of_two(db: Database, **kw: Any) -> ChatClient:
    """Коваль Олена (Ольга and Петро), in the chat; the alerts of the day written."""
    await school(db, **kw)
    core = conversation(db)
    client = await linked(db, core, PHONES.koval)
    await absence_alerts(job(db, moving_clock()))
    return client


async def test_a_report_in_advance_from_the_menu(db: Database) -> None:
    olena = await parent_of_two(db)
    assert "📝 Повідомити про відсутність" in olena.menu
    await olena.press("📝 Повідомити про відсутність")
    assert olena.last_text == "Про чию відсутність ви хочете повідомити?"
    assert [b.label for b in olena.buttons] == ["Ольга", "Петро", "✖️ Скасувати"]
    await olena.press("Петро")
    assert [b.label for b in olena.buttons] == [
        "Сьогодні, 25 листопада", "Завтра, 26 листопада", "пʼятниця, 27 листопада",
        "✖️ Скасувати"]
    await olena.press("Завтра, 26 листопада")
    assert "Оберіть причину відсутності (Петро, завтра)" in olena.last_text
    await olena.press("Візит до лікаря")
    await olena.press("✅ Надіслати: 26 листопада")
    assert "Пояснення надіслано класному керівнику" in olena.last_text
    [note] = await notes(db)
    assert (note.student_id, note.first_day, note.last_day, note.reason, note.in_advance) == (
        "st-petro", TOMORROW, TOMORROW, "medical", True)
    [row] = await review_rows(db, str(TEACHER_CHAT))
    assert "заздалегідь" in payload_to_reply(row.payload).text

    await olena.send("/absent")  # the same day again: already explained, with its status
    await olena.press("Петро")
    await olena.press("Завтра, 26 листопада")
    assert "уже пояснено (Візит до лікаря): воно чекає на рішення вчителя" in olena.last_text
    assert len(await notes(db)) == 1


async def test_homeroom_teacher_not_linked_the_director_gets_it_in_english(db: Database) -> None:
    olena = await parent_of_two(db, homeroom_linked=False, director_linked=True)
    await olena.press_payload(f"xp:a:{await alert_id(db, 'st-olha')}")
    await olena.press("Інше")
    await olena.press("✅ Надіслати: 25 листопада")
    assert "надіслано адміністрації школи" in olena.last_text
    [row] = await review_rows(db, str(DIRECTOR_CHAT))
    review = payload_to_reply(row.payload)
    assert review.text.startswith("📝 A parent explains an absence")
    assert "Pupil: Коваль Ольга Андріївна, 5-А" in review.text and "Reason: Other" in review.text
    assert [b.label for line in review.buttons for b in line] == [
        "✅ Accept", "📄 Ask for a document", "❌ Decline"]


async def test_nobody_of_the_school_in_the_bot_the_note_is_still_recorded(db: Database) -> None:
    olena = await parent_of_two(db, homeroom_linked=False, homeroom=None)
    await olena.press_payload(f"xp:a:{await alert_id(db, 'st-olha')}")
    await olena.press("Хвороба")
    await olena.press("✅ Надіслати: 25 листопада")
    assert "Пояснення записано" in olena.last_text and "шкільна система" in olena.last_text
    assert len(await notes(db)) == 1
    assert await outbox(db, kind="absence_note") == []


async def test_another_chats_alert_is_refused(db: Database) -> None:
    await school(db)
    core = conversation(db)
    olena = await linked(db, core, PHONES.koval)
    await linked(db, core, PHONES.bondar, chat_id="200")
    await absence_alerts(job(db, moving_clock()))
    ivans = await alert_id(db, "st-ivan")  # Бондар Ірина's chat's alert
    await olena.press_payload(f"xp:a:{ivans}")
    assert olena.last_text == "Ця кнопка вам недоступна. Будь ласка, відкрийте меню ще раз."
    await olena.press_payload("xp:s")  # no flow open: nothing is sent
    assert "вже не відкрите" in olena.last_text
    assert await notes(db) == []


async def test_an_over_long_comment_is_refused_with_a_clear_answer(db: Database) -> None:
    olena = await parent_of_two(db)
    await olena.press_payload(f"xp:a:{await alert_id(db, 'st-olha')}")
    await olena.press("Хвороба")
    await olena.send("а" * 301)
    assert "Коментар має 301 символ, а вміщується щонайбільше 300" in olena.last_text
    await olena.send("Температура 38, лежить удома")
    assert "Ваш коментар: Температура 38, лежить удома" in olena.last_text
    await olena.press("✅ Надіслати: 25 листопада")
    await olena.press_payload("xp:s")  # pressed twice: sent once
    assert olena.last_text == "Це пояснення вже надіслано."
    [note] = await notes(db)
    assert note.note == "Температура 38, лежить удома"
    assert len(await review_rows(db, str(TEACHER_CHAT))) == 1


async def test_the_range_is_limited_and_a_declined_note_may_be_explained_again(
        db: Database) -> None:
    olena = await parent_of_two(db)
    await olena.press_payload(f"xp:a:{await alert_id(db, 'st-olha')}")
    await olena.press("Хвороба")
    await olena.press("📅 Кілька днів…")
    ranges = [b.label for b in olena.buttons if b.payload.startswith("xp:u:")]
    assert ranges[0] == "до чт 26 листопада (2 навчальні дні)"
    assert ranges[-2] == "до вт 8 грудня (10 навчальних днів)"  # then "Back"
    await olena.press_payload("xp:u:11")  # a forged range
    assert olena.last_text == "Одне пояснення охоплює щонайбільше 10 навчальних днів."
    await olena.press_payload("xp:u:10")
    await olena.press("✅ Надіслати: 25 листопада – 8 грудня")
    [note] = await notes(db)
    assert (note.first_day, note.last_day) == (TODAY, date(2026, 12, 8))

    await olena.press_payload(f"xp:a:{await alert_id(db, 'st-olha')}")
    assert "уже пояснено (Хвороба)" in olena.last_text
    async with db.unit_of_work() as s:
        stored = await s.get(AbsenceNote, note.id)
        assert stored is not None
        await decide(s, stored, NoteStatus.DECLINED, by="t-moroz", actor="staff:t-moroz", now=NOW)
    await olena.press_payload(f"xp:a:{await alert_id(db, 'st-olha')}")
    await olena.press("Інше")
    await olena.press("✅ Надіслати: 25 листопада")
    assert len(await notes(db)) == 2


async def test_a_citys_own_reason_and_a_shorter_limit(db: Database) -> None:
    await school(db)
    core = conversation(db, absence_reasons="illness,quarantine=Карантин|Quarantine",
                        absence_note_max_days=3)
    olena = await linked(db, core, PHONES.koval)
    await olena.send("/absent")
    await olena.press("Ольга")
    await olena.press("Сьогодні, 25 листопада")
    assert [b.label for b in olena.buttons] == ["Хвороба", "Карантин", "✖️ Скасувати"]
    await olena.press("Карантин")
    await olena.press("📅 Кілька днів…")
    assert [b.label for b in olena.buttons if b.payload.startswith("xp:u:")] == [
        "до чт 26 листопада (2 навчальні дні)", "до пт 27 листопада (3 навчальні дні)",
        "↩️ Назад"]
    await olena.press_payload("xp:u:4")
    assert "щонайбільше 3 навчальні дні" in olena.last_text


def test_a_malformed_reason_list_is_refused_naming_the_setting() -> None:
    for value, says in (("illness,quarantine", "needs a label"), ("Illness", "not a reason key"),
                        ("illness,illness", "listed twice"), (" , ", "at least one reason")):
        with pytest.raises(SettingsError) as refused:
            load_settings(_env_file=None, absence_reasons=value)
        assert "ABSENCE_REASONS" in str(refused.value) and says in str(refused.value)
    assert [r.key for r in load_settings(_env_file=None).reasons] == [
        "illness", "medical", "family", "other"]


async def test_the_whole_loop_parent_explains_teacher_accepts_school_system_reads(db: Database) -> None:
    """Alert → Explain → the teacher's chat → Accept → the parent is told → the school
    system reads the decision through the API; nothing in between is faked but Telegram."""
    await school(db)
    clock = moving_clock()
    async with telegram_rig(db) as rig:
        parent, teacher = rig.chat(PARENT_CHAT), rig.chat(TEACHER_CHAT)
        await parent.share_contact(PHONES.koval)
        deliverer = TelegramDeliverer(rig.door.bot)
        await absence_alerts(job(db, clock))
        await deliver(db, deliverer, clock)
        [alert] = [r for r in rig.api.sent if r.method == "sendMessage" and r.chat_id == PARENT_CHAT
                   and "Ольга" in (r.text or "")]
        question = last_shown(await press_labelled(parent, alert, "Пояснити"))
        await press_labelled(parent, question, "Візит до лікаря")
        noted = last_shown(await parent.send("Запис до стоматолога"))  # the optional note, typed
        await press_labelled(parent, noted, "Надіслати")
        await deliver(db, deliverer, clock)
        [review] = [r for r in rig.api.sent if r.method == "sendMessage" and r.chat_id == TEACHER_CHAT]
        assert "Запис до стоматолога" in (review.text or "")

        decided = last_shown(await press_labelled(teacher, review, "Прийняти"))
        assert decided.method == "editMessageText" and not inline(decided)  # decided: no buttons
        await deliver(db, deliverer, clock)
        [told] = [r for r in rig.api.sent if r.method == "sendMessage" and r.chat_id == PARENT_CHAT
                  and "прийняв" in (r.text or "")]
        assert "Ольга, 25 листопада" in (told.text or "")

    async with serve(db) as api:
        answer = await api.get("/api/v1/absence-notes", key=await new_key(db, "sch-1"))
    assert answer.status == 200
    [listed] = answer.body["notes"]
    assert (listed["student_id"], listed["reason"], listed["note"], listed["status"],
            listed["first_day"]) == ("st-olha", "medical", "Запис до стоматолога", "accepted",
                                     TODAY.isoformat())
    assert "phone" not in str(listed) and "Коваль" not in str(listed)
