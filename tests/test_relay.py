"""Parent-to-parent messages through the bot, end to end through the core.

A writes from the directory; every chat of B gets an outbox row (the dispatcher's
input) whose text names A and A's child, never A's phone or chat. B's buttons on that
row are pressed as B would press them: reply, block, report.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from school_bot.handlers.conversation import Conversation
from school_bot.shared.delivery import payload_to_reply
from school_bot.shared.events import Reply
from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.models import (
    Account,
    AccountGuardian,
    AuditEntry,
    DirectoryBlock,
    OutboxMessage,
    RelayMessage,
)
from tests.support.chat_client import ChatClient
from tests.support.core import linked
from tests.support.directory import (
    CHAT,
    assert_no_secrets,
    directory_school,
    everything,
    parent,
    turn_off,
    turn_on,
)
from tests.support.small_school import PHONES, clock
from tests.support.world import World, account


async def two_parents(db: Database) -> tuple[Conversation, ChatClient, ChatClient]:
    """Коваль Олена and Бондар Ірина (5-А), both visible to their class."""
    core = await directory_school(db)
    koval, bondar = await parent(db, core, "koval"), await parent(db, core, "bondar")
    await turn_on(koval)
    await turn_on(bondar)
    return core, koval, bondar


async def write(client: ChatClient, name: str, text: str) -> None:
    await client.send("/directory")
    await client.press(f"✉️ Написати: {name}")
    await client.send(text)
    await client.press("✅ Надіслати")


async def outbox(db: Database, kind: str = "relay") -> list[OutboxMessage]:
    async with db.unit_of_work() as s:
        return list(await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                    .order_by(OutboxMessage.id)))


async def relays(db: Database) -> list[RelayMessage]:
    async with db.unit_of_work() as s:
        return list(await s.scalars(select(RelayMessage).order_by(RelayMessage.id)))


def shown(row: OutboxMessage) -> Reply:
    return payload_to_reply(row.payload)


async def press_on(client: ChatClient, row: OutboxMessage, label: str) -> None:
    """Press a button of a delivered notification, as its recipient."""
    button = next(b for line in shown(row).buttons for b in line if b.label == label)
    await client.press_payload(button.payload)


async def test_a_message_reaches_every_chat_of_the_other_parent_with_a_name_and_no_phone(
        db: Database) -> None:
    _core, _koval, bondar = await two_parents(db)
    await World(db).add(  # Коваль Олена has a second chat (the console)
        account("7730008", platform="console", guardians=["g-koval"], language="en", state={}))
    await bondar.send("/directory")
    await bondar.press("✉️ Написати: Коваль Олена")
    assert "Кому: Коваль Олена (діти: Ольга, Петро)" in bondar.last_text
    assert "До 1000 символів" in bondar.last_text
    await bondar.send("Добрий день! Хто забирає дітей після екскурсії?")
    assert bondar.last_text.startswith("Ваше повідомлення. Кому: Коваль Олена")
    assert "Хто забирає дітей після екскурсії?" in bondar.last_text
    assert await outbox(db) == []  # nothing goes before [Send]
    await bondar.press("✅ Надіслати")
    assert bondar.last_text == "Надіслано: Коваль Олена. Відповідь прийде сюди."

    [message] = await relays(db)
    assert (message.sender_guardian_id, message.recipient_guardian_id, message.class_id) == \
        ("g-bondar", "g-koval", "cls-5a")
    rows = await outbox(db)
    async with db.unit_of_work() as s:
        koval_chats = dict((await s.execute(select(Account.chat_id, Account.id).where(
            Account.guardian_links.any(AccountGuardian.guardian_id == "g-koval")))).tuples().all())
    assert {row.account_id for row in rows} == set(koval_chats.values())
    assert {row.dedupe_key for row in rows} == {f"relay:{message.id}:{a}" for a in koval_chats.values()}
    assert {row.priority for row in rows} == {1}
    uk = next(row for row in rows if row.account_id == koval_chats[CHAT["koval"]])
    en = next(row for row in rows if row.account_id == koval_chats["7730008"])
    assert shown(uk).text.startswith(
        "✉️ Повідомлення через довідник класу. Від: Бондар Ірина (дитина: Іван, клас 5-А)\n\n"
        "Добрий день! Хто забирає дітей після екскурсії?")
    assert shown(en).text.startswith("✉️ A message from Бондар Ірина, parent of Іван (5-А), "
                                     "through the class directory:")
    for row in rows:
        labels = [b.label for line in shown(row).buttons for b in line]
        assert_no_secrets(shown(row).text + " ".join(labels) + str(row.payload))
    assert_no_secrets(everything(bondar))


async def test_the_recipient_replies_and_the_answer_reaches_the_sender(db: Database) -> None:
    _core, koval, bondar = await two_parents(db)
    await write(bondar, "Коваль Олена", "Чи буде завтра фізкультура?")
    [first] = await outbox(db)
    await press_on(koval, first, "↩️ Відповісти")
    assert "Кому: Бондар Ірина (дитина: Іван)" in koval.last_text
    await koval.send("Так, о 10:00.")
    await koval.press("✅ Надіслати")
    answer = (await outbox(db))[-1]
    async with db.unit_of_work() as s:
        bondar_chat = await s.scalar(select(Account.id).where(Account.chat_id == CHAT["bondar"]))
    assert answer.account_id == bondar_chat
    assert "Від: Коваль Олена (діти: Ольга, Петро, клас 5-А)" in shown(answer).text
    assert "Так, о 10:00." in shown(answer).text
    assert_no_secrets(shown(answer).text)


async def test_a_block_stops_the_sender_without_telling_them(db: Database) -> None:
    _core, koval, bondar = await two_parents(db)
    await write(bondar, "Коваль Олена", "Перше повідомлення")
    await write(bondar, "Коваль Олена", "Ще одне, поки перше не прочитане")
    first, _second = await outbox(db)
    async with db.unit_of_work() as s:  # the first was delivered, the second still waits
        await s.execute(update(OutboxMessage).where(OutboxMessage.id == first.id).values(status="sent"))
    await press_on(koval, first, "🚫 Заблокувати")
    assert koval.last_text.startswith("Заблоковано.")
    assert [row.id for row in await outbox(db)] == [first.id]  # the waiting one is not delivered
    async with db.unit_of_work() as s:  # and Бондар Ірина is not told: nothing queued for her
        bondar_chat = await s.scalar(select(Account.id).where(Account.chat_id == CHAT["bondar"]))
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.account_id == bondar_chat)) == 0

    await bondar.send("/directory")  # she still sees her in the list: the block is not revealed
    await bondar.press("✉️ Написати: Коваль Олена")
    assert bondar.last_text == "Ця людина не приймає повідомлень."
    await bondar.send("Друге повідомлення")
    assert "Друге повідомлення" not in bondar.last_text  # no flow was started
    await bondar.press_payload("dir:ok")
    assert len(await relays(db)) == 2 and len(await outbox(db)) == 1

    await koval.send("/directory")  # the one who blocked cannot write either, until she unblocks
    await koval.press("✉️ Написати: Бондар Ірина")
    assert koval.last_text.startswith("Ви заблокували повідомлення від цієї людини.")
    await koval.press("Розблокувати")
    await write(bondar, "Коваль Олена", "Після розблокування")
    assert len(await relays(db)) == 3


async def test_a_block_made_while_a_message_was_being_written_stops_it(db: Database) -> None:
    _core, koval, bondar = await two_parents(db)
    await write(bondar, "Коваль Олена", "Перше")
    await bondar.send("/directory")
    await bondar.press("✉️ Написати: Коваль Олена")
    await bondar.send("Друге")
    await press_on(koval, (await outbox(db))[0], "🚫 Заблокувати")
    await bondar.press("✅ Надіслати")
    assert bondar.last_text == "Ця людина не приймає повідомлень."
    assert len(await relays(db)) == 1


async def test_a_report_reaches_the_homeroom_teacher_and_is_audited(db: Database) -> None:
    core, koval, bondar = await two_parents(db)
    await parent(db, core, "teacher")  # t-moroz, 5-А's homeroom teacher
    await write(bondar, "Коваль Олена", "Неприємний текст")
    [message_row] = await outbox(db)
    await press_on(koval, message_row, "⚠️ Поскаржитися")
    assert koval.last_text == "Дякуємо. Повідомлення передано класному керівникові."

    [message] = await relays(db)
    assert message.reported_at is not None
    [report] = await outbox(db, "relay_report")
    async with db.unit_of_work() as s:
        teacher_chat = await s.scalar(select(Account.id).where(Account.chat_id == CHAT["teacher"]))
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "relay.reported"))
    assert report.account_id == teacher_chat
    text = shown(report).text
    assert "класу 5-А (Гімназія №1) поскаржився" in text
    assert "Від: Бондар Ірина (дитина: Іван, клас 5-А)" in text
    assert "Кому: Коваль Олена (діти: Ольга, Петро, клас 5-А)" in text
    assert "Неприємний текст" in text
    assert_no_secrets(text)
    assert entry is not None and entry.school_id == "sch-1" and entry.entity_id == str(message.id)
    assert "Неприємний" not in str(entry.details) and "Бондар" not in str(entry.details)

    await press_on(koval, message_row, "⚠️ Поскаржитися")  # a second press reports nothing more
    assert koval.last_text == "Ви вже поскаржилися на це повідомлення."
    assert len(await outbox(db, "relay_report")) == 1


async def test_a_report_without_a_connected_class_teacher_is_still_recorded(db: Database) -> None:
    _core, koval, bondar = await two_parents(db)
    await write(bondar, "Коваль Олена", "Текст")
    await press_on(koval, (await outbox(db))[0], "⚠️ Поскаржитися")
    assert "класний керівник ще не користується ботом" in koval.last_text
    assert (await relays(db))[0].reported_at is not None
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "relay.reported")) == 1


async def test_only_the_recipient_can_use_a_messages_buttons(db: Database) -> None:
    core, _koval, bondar = await two_parents(db)
    moroz = await linked(db, core, PHONES.teacher_parent, CHAT["teacher"])  # also a 5-А parent
    await write(bondar, "Коваль Олена", "Лише для Олени")
    [row] = await outbox(db)
    for label in ("↩️ Відповісти", "🚫 Заблокувати", "⚠️ Поскаржитися"):
        await press_on(moroz, row, label)
        assert moroz.last_text == "Це повідомлення більше не доступне."
        await press_on(bondar, row, label)  # the sender cannot report or block her own message
        assert bondar.last_text == "Це повідомлення більше не доступне."
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(DirectoryBlock)) == 0
    assert (await relays(db))[0].reported_at is None
    assert await outbox(db, "relay_report") == []


async def test_sending_is_limited_to_ten_an_hour_and_thirty_a_day(db: Database) -> None:
    _core, _koval, bondar = await two_parents(db)
    now = clock()  # the core's clock: the limits count back from the turn's time
    async with db.unit_of_work() as s:
        s.add_all([RelayMessage(class_id="cls-5a", sender_guardian_id="g-bondar",
                                recipient_guardian_id="g-koval", text="…",
                                created_at=now - timedelta(minutes=5 * n)) for n in range(10)])
    await bondar.send("/directory")
    await bondar.press("✉️ Написати: Коваль Олена")
    assert bondar.last_text == ("Іншим батькам можна надіслати щонайбільше 10 повідомлень на годину. "
                                "Спробуйте пізніше.")

    async with db.unit_of_work() as s:  # an hour later the same ten, and twenty more that day
        await s.execute(update(RelayMessage).values(created_at=now - timedelta(hours=2)))
        s.add_all([RelayMessage(class_id="cls-5a", sender_guardian_id="g-bondar",
                                recipient_guardian_id="g-koval", text="…",
                                created_at=now - timedelta(hours=3, minutes=n)) for n in range(19)])
    await write(bondar, "Коваль Олена", "Двадцять дев'яте і тридцяте за день")  # the 30th
    assert bondar.last_text == "Надіслано: Коваль Олена. Відповідь прийде сюди."
    await bondar.send("/directory")
    await bondar.press("✉️ Написати: Коваль Олена")
    assert bondar.last_text == ("Іншим батькам можна надіслати щонайбільше 30 повідомлень на день. "
                                "Спробуйте завтра.")
    assert len(await outbox(db)) == 1


async def test_a_long_message_is_refused_and_the_flow_can_be_left(db: Database) -> None:
    _core, _koval, bondar = await two_parents(db)
    await bondar.send("/directory")
    await bondar.press("✉️ Написати: Коваль Олена")
    await bondar.send("я" * 1001)
    assert bondar.last_text.startswith("У повідомленні 1001 символ, а надіслати можна щонайбільше 1000.")
    await bondar.send("я" * 1000)
    assert "Надіслати?" in bondar.last_text
    await bondar.press("✖️ Скасувати")
    assert bondar.last_text == "Повідомлення не надіслано."
    await bondar.send("Просто текст")
    assert "Просто текст" not in bondar.last_text  # the flow is over

    await bondar.press("👥 Мій клас")
    await bondar.press("✉️ Написати: Коваль Олена")
    await bondar.press("👥 Мій клас")  # the directory's own menu button leaves the flow
    assert "👥 Клас 5-А" in bondar.last_text
    await bondar.send("Ще текст")
    assert "Ще текст" not in bondar.last_text
    assert await relays(db) == [] and await outbox(db) == []


async def test_a_double_press_on_send_sends_once(db: Database) -> None:
    _core, _koval, bondar = await two_parents(db)
    await bondar.send("/directory")
    await bondar.press("✉️ Написати: Коваль Олена")
    await bondar.send("Один раз")
    await bondar.press_payload("dir:ok")
    await bondar.press_payload("dir:ok")
    assert bondar.last_text == "Цього повідомлення вже немає. Відкрийте довідник класу, щоб написати знову."
    assert len(await relays(db)) == 1 and len(await outbox(db)) == 1


async def test_a_parent_who_turned_the_directory_off_cannot_write(db: Database) -> None:
    _core, koval, bondar = await two_parents(db)
    await write(bondar, "Коваль Олена", "Привіт")
    await turn_off(koval)
    await press_on(koval, (await outbox(db))[0], "↩️ Відповісти")
    assert koval.last_text.startswith("Спершу увімкніть довідник класу")
    await press_on(koval, (await outbox(db))[0], "🚫 Заблокувати")  # blocking still works
    assert koval.last_text.startswith("Заблоковано.")


async def test_erasing_the_sender_also_drops_the_queued_copy_of_their_message(db: Database) -> None:
    _core, _koval, bondar = await two_parents(db)
    await write(bondar, "Коваль Олена", "Секрет")
    async with db.unit_of_work() as s:
        await erase_person(s, "guardian", "g-bondar", actor="test", reason="consent withdrawn")
    assert [shown(row).text for row in await outbox(db) if "Бондар Ірина" in shown(row).text] == []
