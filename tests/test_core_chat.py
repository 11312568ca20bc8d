"""Settings, forget me, long answers, and everything that is not a normal request."""

from __future__ import annotations

from sqlalchemy import func, select

from school_bot.handlers.text import split_text
from school_bot.shared.events import Kind
from school_bot.storage.db import Database
from school_bot.storage.models import Account, Guardian
from tests.support.core import chat, conversation, linked, school_and_core
from tests.support.small_school import PHONES, TOMORROW
from tests.support.world import World, homework


async def test_settings_change_language_notifications_and_quiet_hours(db: Database) -> None:
    core = await school_and_core(db)
    parent = await linked(db, core, PHONES.bondar)
    await parent.press("Налаштування")
    assert "Нові оцінки: вимкнено" in parent.last_text
    await parent.press("Оцінки: вимкнено")
    assert "Нові оцінки: одразу" in parent.last_text and parent.last_reply.edit
    await parent.press("Домашнє: вимкнено")
    await parent.press("Тихі години")
    await parent.press("22:00-07:00")
    assert "Тихі години: 22:00-07:00" in parent.last_text
    await parent.press("English")
    assert "Settings" in parent.last_text and parent.menu[0] == "Grades"
    async with db.unit_of_work() as s:
        account = await s.scalar(select(Account))
    assert account is not None
    assert (account.language, account.notify_grades, account.notify_homework,
            account.quiet_hours) == ("en", "instant", True, "22:00-07:00")


async def test_a_parent_lets_absence_alerts_wait_in_quiet_hours_and_it_lasts(db: Database) -> None:
    core = await school_and_core(db)
    parent = await linked(db, core, PHONES.bondar)
    await parent.press("Налаштування")
    assert "Сповіщення про пропуски в тихі години: одразу" in parent.last_text
    await parent.press("Пропуски в тихі години: одразу")
    assert "Сповіщення про пропуски в тихі години: після тихих годин" in parent.last_text
    assert parent.last_reply.edit
    for forged in ("st:a:yes", "st:a:", "st:a:10"):  # callback data is the client's to send
        await parent.press_payload(forged)
    stranger = chat(db, core, "200")
    await stranger.press_payload("st:a:0")            # an unlinked chat has no such setting
    assert "пропуски" not in stranger.last_text

    restarted = chat(db, conversation(db), parent.chat_id)
    await restarted.send("/settings")
    assert "Сповіщення про пропуски в тихі години: після тихих годин" in restarted.last_text
    await restarted.press("English")
    assert "Absence alerts in quiet hours: when quiet hours end" in restarted.last_text
    await restarted.press("Absences in quiet hours: when quiet hours end")
    assert "Absence alerts in quiet hours: at once" in restarted.last_text
    async with db.unit_of_work() as s:
        settings = dict((await s.execute(
            select(Account.chat_id, Account.absence_alerts_in_quiet_hours))).tuples().all())
    assert settings == {parent.chat_id: True, stranger.chat_id: True}


async def test_forget_me_erases_the_parent_and_says_what_was_erased(db: Database) -> None:
    core = await school_and_core(db)
    parent = await linked(db, core, PHONES.bondar)
    await parent.send("/forget")
    await parent.press("Ні, залишити")
    assert "Нічого не видалено" in parent.last_text
    await parent.send("/forget")
    await parent.press("Так, видалити мої дані")
    text = parent.last_text
    assert "ваше ім'я, ваш номер телефону" in text and "Від'єднано 1 чат." in text
    assert "повідомте також школу" in text
    async with db.unit_of_work() as s:
        guardian = await s.get(Guardian, "g-bondar")
        accounts = await s.scalar(select(func.count()).select_from(Account))
    assert guardian is not None
    assert (guardian.full_name, guardian.phone, guardian.consent) == (None, None, False)
    assert accounts == 0
    await parent.share_contact(PHONES.bondar)
    assert "адміністратора" in parent.last_text


async def test_a_long_answer_is_split_at_line_breaks_to_the_adapters_limit(db: Database) -> None:
    core = await school_and_core(db)
    await World(db).add(homework(
        "hw-long", "cls-5a", "Математика", TOMORROW,
        "\n".join(f"Вправа {n}: задачі зі збірника, с. {n + 10}" for n in range(300))))
    parent = await linked(db, core, PHONES.bondar)
    parent.max_text_length = 4096
    await parent.send("/homework")
    assert len(parent.replies) > 1 and all(len(r.text) <= 4096 for r in parent.replies)
    assert "Вправа 299: задачі зі збірника, с. 309" in parent.replies[-1].text
    assert parent.replies[-1].buttons and not parent.replies[0].buttons
    assert split_text("один\nдва\nтри", 9) == ["один\nдва", "три"]


async def test_stickers_unknown_commands_huge_texts_and_groups(db: Database) -> None:
    core = await school_and_core(db)
    parent = await linked(db, core, PHONES.bondar)
    await parent.sticker()
    assert "лише текстові повідомлення" in parent.last_text
    await parent.send("/teleport")
    assert "/help" in parent.last_text
    await parent.send("а" * 10_000)
    assert "задовге" in parent.last_text
    await parent.send("котра година?")
    assert "не зрозумів" in parent.last_text and parent.last_reply.menu
    group = chat(db, core, "-100500", private=False)
    assert await group.send("/grades") == []


async def test_help_lists_the_commands_and_blocking_the_bot_deactivates_the_chat(db: Database) -> None:
    core = await school_and_core(db)
    parent = await linked(db, core, PHONES.bondar)
    await parent.send("/help")
    assert "/grades — Оцінки та середні бали" in parent.last_text
    assert await parent.deliver(Kind.UNSUBSCRIBED) == []
    async with db.unit_of_work() as s:
        assert (await s.scalar(select(Account.active))) is False
    await parent.send("/start")
    async with db.unit_of_work() as s:
        assert (await s.scalar(select(Account.active))) is True
