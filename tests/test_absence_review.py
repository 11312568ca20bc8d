"""The homeroom teacher decides on parents' explanations of absences, end to end.

Notes are written as the parent's flow writes them (`add_note`); the teachers' and the
director's chats talk to the real Telegram front door over the fake Bot API (and the
Viber webhook over the fake Viber API); the parents are told through the outbox, which
the real dispatcher delivers to the same fake servers. A teacher sees and decides only
their own classes' notes; a director the whole school's; every decision is audited.
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from sqlalchemy import select

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.bot.viber.delivery import ViberDeliverer
from school_bot.bot.viber.files import FileStore
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.note_decisions import reason_label
from school_bot.shared.delivery import Deliverer
from school_bot.shared.events import Platform
from school_bot.storage import audit
from school_bot.storage.absence_notes import add_note
from school_bot.storage.db import Database
from school_bot.storage.models import AbsenceNote, Account, AuditEntry, Guardian, OutboxMessage, Staff
from tests.fakes.telegram_api import SentRequest
from tests.support.chat_client import ChatClient
from tests.support.core import conversation
from tests.support.notify import Clock, config, settings
from tests.support.school_world import Family, SchoolWorld
from tests.support.small_school import NOW
from tests.support.telegram_rig import TelegramRig, inline_buttons, telegram_rig
from tests.support.viber_rig import viber_rig
from tests.support.world import account, school_class, staff

TEACHER, OTHER_TEACHER, DIRECTOR = 801, 802, 803
MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)


async def a_school(db: Database) -> tuple[SchoolWorld, dict[str, Family]]:
    """7-А (homeroom T1, linked), 7-Б (T2, linked), 7-В (T3, no chat); the director D1
    linked; one family in each class."""
    world = await SchoolWorld(db).build()
    await world.add(staff("T2", "S1", "Бондар Петро Іванович"),
                    staff("T3", "S1", "Лисенко Ганна Олегівна"),
                    school_class("C7B", "S1", "7-Б", homeroom_teacher_id="T2"),
                    school_class("C7C", "S1", "7-В", homeroom_teacher_id="T3"),
                    account(str(TEACHER), staff_id="T1", language="uk"),
                    account(str(OTHER_TEACHER), staff_id="T2", language="uk"),
                    account(str(DIRECTOR), staff_id="D1", language="uk"))
    families = {"7-А": await world.family(1), "7-Б": await world.family(2, class_id="C7B"),
                "7-В": await world.family(3, class_id="C7C", language="en")}
    return world, families


async def note(db: Database, family: Family, class_id: str, *, reason: str = "illness",
               text: str | None = "Температура, були вдома", days: tuple[date, date] = (
                   MONDAY, TUESDAY)) -> int:
    async with db.unit_of_work() as session:
        row = await add_note(session, school_id="S1", class_id=class_id,
                             student_id=family.student_id, guardian_id=family.guardian_id,
                             account_id=family.account_id, first_day=days[0], last_day=days[1],
                             reason=reason, note=text, in_advance=False, now=NOW)
        return row.id


def shown(requests: list[SentRequest]) -> str:
    return "\n".join(r.text or "" for r in requests if r.method in ("sendMessage", "editMessageText"))


async def deliver(db: Database, deliverer: Deliverer, clock: Clock | None = None) -> None:
    """The worker's dispatcher, until nothing is due (on the Telegram rig's clock)."""
    dispatcher = Dispatcher(db, settings(quiet_hours=""), {deliverer.platform: deliverer}, config(),
                            clock or Clock(NOW))
    await dispatcher.run(until_idle=True)


@asynccontextmanager
async def telegram_parents(rig: TelegramRig) -> AsyncIterator[None]:
    """Deliver the outbox to the parents' Telegram chats on the way out."""
    bot = build_bot(rig.settings, timeout=5.0)
    try:
        yield
        await deliver(rig.database, TelegramDeliverer(bot))
    finally:
        await bot.session.close()


async def stored(db: Database, note_id: int) -> AbsenceNote:
    async with db.unit_of_work() as session:
        row = await session.get(AbsenceNote, note_id)
        assert row is not None
        return row


async def note_audit(db: Database) -> list[AuditEntry]:
    async with db.unit_of_work() as session:
        return list((await session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "absence_note").order_by(AuditEntry.id))).all())


# ---------------------------------------------------------------- Telegram


async def test_the_homeroom_teacher_lists_their_class_and_accepts(db: Database) -> None:
    _, families = await a_school(db)
    mine = await note(db, families["7-А"], "C7A")
    await note(db, families["7-Б"], "C7B", reason="family", text="Весілля сестри")
    async with telegram_rig(db) as rig:
        teacher = rig.chat(TEACHER)
        listed = await teacher.send("/explanations")
        text = shown(listed)
        assert "1 пояснення чекає рішення" in text
        assert "Учень/учениця: Шевченко Олена Тарасівна1, 7-А" in text
        assert "Дні: 23 листопада – 24 листопада" in text and "Причина: Хвороба" in text
        assert "Коментар батьків: Температура, були вдома" in text
        assert "7-Б" not in text and "Весілля" not in text  # another class's note
        offered = inline_buttons(listed)
        assert offered == {"✅ Прийняти": f"xt:a:{mine}", "❌ Відхилити": f"xt:n:{mine}",
                           "📄 Попросити документ": f"xt:d:{mine}"}
        [card] = [r for r in listed if "Учень/учениця:" in (r.text or "")]
        async with telegram_parents(rig):
            answer = await teacher.press(offered["✅ Прийняти"], card.message_id)
        [edit] = [r for r in answer if r.method == "editMessageText"]
        assert edit.params["message_id"] == card.message_id
        assert "Стан: прийнято — ви" in (edit.text or "") and "Батьки отримають" in (edit.text or "")
        assert inline_buttons([edit]) == {}
        [told] = rig.api.messages_to(families["7-А"].chat_id)
        assert told.startswith("✅ Класний керівник прийняв ваше пояснення")
        assert "Олена, 23 листопада – 24 листопада" in told
        assert rig.api.messages_to(families["7-Б"].chat_id) == []

        again = await teacher.send("/explanations")
        assert "Жодне пояснення не чекає вашого рішення" in shown(again)
    accepted = await stored(db, mine)
    assert (accepted.status, accepted.decided_by) == ("accepted", "T1")
    assert accepted.decided_at is not None


async def test_asking_for_a_document_tells_the_parent_to_bring_it_to_school(db: Database) -> None:
    _, families = await a_school(db)
    mine = await note(db, families["7-А"], "C7A")
    async with telegram_rig(db) as rig:
        teacher = rig.chat(TEACHER)
        async with telegram_parents(rig):
            answer = await teacher.press(f"xt:d:{mine}")
        assert "Батьків попрошено принести документ до школи" in shown(answer)
        assert "Стан: попросили документ" in shown(answer)
        assert inline_buttons(answer) == {"✅ Прийняти": f"xt:a:{mine}", "❌ Відхилити": f"xt:n:{mine}"}
        [told] = rig.api.messages_to(families["7-А"].chat_id)
        assert told.startswith("📄 Класний керівник просить документ")
        assert "принесіть документ" in told and "до школи" in told
        assert "Бот не приймає і не зберігає документів чи фото" in told

        listed = await teacher.send("/explanations")  # still open: the document is awaited
        assert "Стан: попросили документ" in shown(listed)
        async with telegram_parents(rig):  # the document came: accepted
            await teacher.press(f"xt:a:{mine}")
        assert rig.api.messages_to(families["7-А"].chat_id)[-1].startswith("✅")
    assert [e.action for e in await note_audit(db)] == [
        "absence_note.document", "absence_note.accepted"]


async def test_declining_asks_for_a_reason_and_the_parent_gets_it(db: Database) -> None:
    _, families = await a_school(db)
    mine = await note(db, families["7-А"], "C7A")
    async with telegram_rig(db) as rig:
        teacher = rig.chat(TEACHER)
        asked = await teacher.press(f"xt:n:{mine}")
        assert "Чому ви його відхиляєте?" in shown(asked)
        assert set(inline_buttons(asked)) == {"Документ до школи не принесли",
                                       "Дні не збігаються з даними школи", "↩️ Назад"}
        too_long = await teacher.send("х" * 301)
        assert "Причина задовга: 301 символ" in shown(too_long)
        assert (await stored(db, mine)).status == "open"
        async with telegram_parents(rig):
            declined = await teacher.send("Дитину бачили на тренуванні в ці дні")
        assert "Стан: відхилено — ви" in shown(declined)
        assert "Причина відмови: Дитину бачили на тренуванні в ці дні" in shown(declined)
        [told] = rig.api.messages_to(families["7-А"].chat_id)
        assert told.startswith("❌ Класний керівник відхилив ваше пояснення")
        assert "Причина від класного керівника: Дитину бачили на тренуванні в ці дні" in told

        after = await teacher.send("Дякую")  # the reason was taken: no second decline
        assert "Стан" not in shown(after)
    declined_note = await stored(db, mine)
    assert declined_note.decision_note == "Дитину бачили на тренуванні в ці дні"


async def test_the_director_decides_for_a_class_whose_teacher_is_not_linked(db: Database) -> None:
    _, families = await a_school(db)
    theirs = await note(db, families["7-В"], "C7C", reason="medical", text=None)
    async with telegram_rig(db) as rig:
        director = rig.chat(DIRECTOR)
        listed = await director.send("/explanations")
        assert "Учень/учениця: Шевченко Олена Тарасівна3, 7-В" in shown(listed)
        assert "Причина: Візит до лікаря" in shown(listed)
        async with telegram_parents(rig):
            await director.press(f"xt:r:{theirs}:doc")  # a quick reason
        [told] = rig.api.messages_to(families["7-В"].chat_id)  # the parent's language: English
        assert told.startswith("❌ The homeroom teacher declined your explanation\nОлена, "
                               "23 November – 24 November")
        assert "The teacher's reason: No document was brought to the school" in told

        second = await director.press(f"xt:a:{theirs}")  # decided: not again
        assert "Щодо цього пояснення вже ухвалено рішення" in shown(second)
        assert "відхилено — ви" in shown(second) and inline_buttons(second) == {}
    assert (await stored(db, theirs)).status == "declined"
    # the school system reads it in the school's language
    assert (await stored(db, theirs)).decision_note == "Документ до школи не принесли"
    [entry] = await note_audit(db)
    assert entry.actor == "staff:D1"


async def test_another_teacher_can_neither_see_nor_decide(db: Database) -> None:
    _, families = await a_school(db)
    mine = await note(db, families["7-А"], "C7A")
    async with telegram_rig(db) as rig:
        other = rig.chat(OTHER_TEACHER)
        listed = await other.send("/explanations")
        assert "Жодне пояснення не чекає" in shown(listed) and "Шевченко" not in shown(listed)
        for payload in (f"xt:a:{mine}", f"xt:d:{mine}", f"xt:n:{mine}", f"xt:r:{mine}:doc",
                        "xt:a:999999", "xt:a:", "xt:z:1", f"xt:a:{mine}:x"):
            answer = await other.press(payload)
            assert shown(answer) == "Ця кнопка вам недоступна. Будь ласка, відкрийте меню ще раз."
        parent = rig.chat(families["7-А"].chat_id)
        answer = await parent.press(f"xt:a:{mine}")
        assert "недоступна" in shown(answer) and "Шевченко" not in shown(answer)
        refused = await parent.send("/explanations")
        assert "для класних керівників і адміністрації школи" in shown(refused)
    assert (await stored(db, mine)).status == "open"
    assert await note_audit(db) == []
    async with db.unit_of_work() as session:
        assert (await session.scalars(select(OutboxMessage))).all() == []


async def test_a_decided_note_is_not_decided_again(db: Database) -> None:
    _, families = await a_school(db)
    mine = await note(db, families["7-А"], "C7A")
    async with telegram_rig(db) as rig:
        async with telegram_parents(rig):
            await rig.chat(TEACHER).press(f"xt:a:{mine}")
            for payload in (f"xt:n:{mine}", f"xt:d:{mine}", f"xt:a:{mine}", f"xt:r:{mine}:days"):
                answer = await rig.chat(DIRECTOR).press(payload)
                text = shown(answer)
                assert "вже ухвалено рішення" in text
                assert "прийнято — Коваль Ірина Петрівна" in text  # who decided, and when
                assert "25.11.2026 11:00" in text
        assert len(rig.api.messages_to(families["7-А"].chat_id)) == 1  # told once
    entries = await note_audit(db)
    assert [(e.action, e.actor, e.entity_id) for e in entries] == [
        ("absence_note.accepted", "staff:T1", str(mine))]
    assert "Температура" not in str(entries[0].details)  # the parent's words stay out
    async with db.unit_of_work() as session:
        assert (await audit.verify_chain(session)).ok


# ---------------------------------------------------------------- Viber


async def test_a_teacher_on_viber_declines_and_the_viber_parent_is_told(db: Database) -> None:
    world, _ = await a_school(db)
    teacher, parent = "vbTeacher0001AAAAAAAAAA==", "vbParent0001AAAAAAAAAAA=="
    family = await world.family(4)
    await world.add(account(teacher, platform="viber", staff_id="T1", language="uk"))
    async with db.unit_of_work() as session:
        row = await session.get(Account, family.account_id)
        assert row is not None
        row.platform, row.chat_id = "viber", parent
    mine = await note(db, family, "C7A", reason="wedding")  # a city's own reason key
    async with viber_rig(db) as rig:
        listed = await rig.say(teacher, "Пояснення")  # the staff menu's label
        assert any("Причина: wedding" in text for text in listed)
        asked = await rig.press(teacher, f"xt:n:{mine}")
        assert any("Чому ви його відхиляєте?" in text for text in asked)
        declined = await rig.say(teacher, "Не поважна причина")
        assert any("Стан: відхилено — ви" in text for text in declined)
        await deliver(db, ViberDeliverer(rig.client, FileStore(None)),
                      Clock(datetime.now(UTC)))  # the Viber rig's core runs on the real clock
        [told] = rig.api.messages_to(parent)
    assert told.startswith("❌ Класний керівник відхилив ваше пояснення")
    assert "Причина від класного керівника: Не поважна причина" in told


# ---------------------------------------------------------------- the core (console and others)


def console(db: Database, chat_id: str, language: str | None = "uk") -> ChatClient:
    return ChatClient(db, conversation(db), platform=Platform.CONSOLE, chat_id=chat_id,
                      language=language)


async def test_a_console_teacher_pages_through_many_notes_oldest_first(db: Database) -> None:
    world, families = await a_school(db)
    await world.add(account("teacher", platform="console", staff_id="T1", language="uk"))
    ids = [await note(db, families["7-А"], "C7A", days=(date(2026, 11, d), date(2026, 11, d)))
           for d in range(16, 23)]
    teacher = console(db, "teacher")
    await teacher.send("/explanations")
    assert teacher.replies[0].text == "📝 7 пояснень чекають рішення, найдавніші спершу."
    cards = [r for r in teacher.replies if r.text.startswith("📝 Батьки пояснюють відсутність")]
    assert len(cards) == 5 and "Дні: 16 листопада\n" in cards[0].text
    assert teacher.last_text.endswith("Є ще.")
    await teacher.press("Показати наступні")
    cards = [r for r in teacher.replies if r.text.startswith("📝 Батьки пояснюють відсутність")]
    assert [c.buttons[0][0].payload for c in cards] == [f"xt:a:{i}" for i in ids[5:]]
    assert "Є ще." not in teacher.last_text

    await teacher.press_payload(f"xt:n:{ids[0]}")
    await teacher.press("↩️ Назад")  # changed their mind: the three buttons again
    assert [b.label for b in teacher.buttons] == ["✅ Прийняти", "📄 Попросити документ", "❌ Відхилити"]
    await teacher.send("просто текст")  # not taken as a reason any more
    assert (await stored(db, ids[0])).status == "open"


async def test_a_menu_label_leaves_the_reason_unwritten(db: Database) -> None:
    world, families = await a_school(db)
    await world.add(account("teacher", platform="console", staff_id="T1", language="en"))
    mine = await note(db, families["7-А"], "C7A")
    teacher = console(db, "teacher", language="en")
    await teacher.send("/help")
    assert "/explanations — Parents' explanations of absences waiting for your decision" in \
        teacher.last_text
    assert "Explanations" in teacher.menu
    await teacher.press_payload(f"xt:n:{mine}")
    assert "Why do you decline it?" in teacher.last_text
    await teacher.press("Explanations")
    assert "1 explanation is waiting for a decision" in teacher.last_text
    assert "Reason: Illness" in teacher.last_text and "Status: waiting for your decision" in \
        teacher.last_text
    assert (await stored(db, mine)).status == "open"


async def test_staff_without_a_class_and_parents_are_answered_plainly(db: Database) -> None:
    world, families = await a_school(db)
    await world.add(staff("T4", "S1", "Гнатюк Іван Іванович"),
                    account("no-class", platform="console", staff_id="T4", language="uk"))
    no_class = console(db, "no-class")
    await no_class.send("/explanations")
    assert no_class.last_text == ("Ви не є класним керівником жодного класу, тому пояснення до вас "
                                  "не надходять.")
    await world.change(Staff, "T1", consent=False)  # consent withdrawn: no more notes
    await world.add(account("t1", platform="console", staff_id="T1", language="uk"))
    mine = await note(db, families["7-А"], "C7A")
    withdrawn = console(db, "t1")
    await withdrawn.send("/explanations")
    assert "для класних керівників і адміністрації школи" in withdrawn.last_text
    await withdrawn.press_payload(f"xt:a:{mine}")
    assert "недоступна" in withdrawn.last_text
    assert (await stored(db, mine)).status == "open"


def test_reason_labels_in_both_languages_and_a_citys_own_key_as_is() -> None:
    assert [reason_label("uk", k) for k in ("illness", "medical", "family", "other")] == [
        "Хвороба", "Візит до лікаря", "Сімейні обставини", "Інше"]
    assert reason_label("en", "medical") == "Medical appointment"
    assert reason_label("uk", "sport_competition") == "sport_competition"


async def told_chats(db: Database) -> list[tuple[str, str]]:
    async with db.unit_of_work() as session:
        rows = await session.execute(select(Account.chat_id, OutboxMessage.payload)
                                     .join(Account, Account.id == OutboxMessage.account_id)
                                     .order_by(OutboxMessage.id))
        return [(chat_id, payload["text"]) for chat_id, payload in rows]


async def test_the_parent_is_told_in_another_chat_when_the_notes_chat_is_gone(db: Database) -> None:
    world, families = await a_school(db)
    await world.add(account("teacher", platform="console", staff_id="T1", language="uk"),
                    account("second", guardians=["G1"], language="en"))
    first, second = (await note(db, families["7-А"], "C7A"),
                     await note(db, families["7-А"], "C7A", days=(TUESDAY, TUESDAY)))
    await world.change(Account, families["7-А"].account_id, active=False)  # blocked the bot
    teacher = console(db, "teacher")
    await teacher.press_payload(f"xt:a:{first}")
    assert await told_chats(db) == [
        ("second", ("✅ The homeroom teacher accepted your explanation\nОлена, "
                   "23 November – 24 November"))]
    await world.change(Guardian, "G1", consent=False)  # consent withdrawn: nobody is told
    await teacher.press_payload(f"xt:a:{second}")
    assert "У батьків немає чату з ботом" in teacher.last_text
    assert len(await told_chats(db)) == 1
