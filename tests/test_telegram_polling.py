"""Parents on Telegram, end to end: the real aiogram Bot, our long-polling loop and update
feed over HTTP against the fake Bot API, the real conversation core and database (both backends),
with the speed paths on and with the libraries' public API only (SPEED_PATHS=false)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text

from school_bot.shared.i18n import t
from school_bot.storage.db import Database
from school_bot.storage.models import Account
from tests.fakes.telegram_api import SentRequest
from tests.support.small_school import PHONES, TOMORROW, small_school
from tests.support.telegram_rig import TOKEN, TelegramRig, keyboard_of, telegram_rig, texts
from tests.support.world import World, homework

KOVAL, BONDAR = 5101, 5102


@pytest.fixture
async def rig(db: Database, each_path: bool) -> AsyncIterator[TelegramRig]:
    await small_school(db)
    async with telegram_rig(db) as running:
        yield running


async def _account(db: Database, chat_id: int) -> Account | None:
    async with db.unit_of_work() as s:
        return await s.scalar(select(Account).where(Account.platform == "telegram",
                                                    Account.chat_id == str(chat_id)))


def _buttons(request: SentRequest) -> dict[str, str]:
    markup = keyboard_of(request) or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}


def _menu(request: SentRequest) -> list[str]:
    markup = keyboard_of(request) or {}
    return [b["text"] for row in markup.get("keyboard", []) for b in row]


async def test_start_greets_and_asks_for_the_phone(rig: TelegramRig) -> None:
    (reply,) = await rig.chat(KOVAL).send("/start")
    assert reply.method == "sendMessage" and "Вітаю" in (reply.text or "")
    markup = keyboard_of(reply)
    assert markup is not None and markup["resize_keyboard"] is True
    assert markup["keyboard"] == [[{"text": "Поділитися номером", "request_contact": True}]]
    uk_menu = rig.api.commands[('{"type": "default"}', "uk")]
    en_menu = rig.api.commands[('{"type": "default"}', "en")]
    assert {"command": "grades", "description": "Оцінки та середні бали"} in uk_menu
    assert {"command": "grades", "description": "Grades and averages"} in en_menu
    assert rig.api.commands[('{"type": "default"}', "")] == uk_menu  # DEFAULT_LOCALE=uk


async def test_own_contact_of_a_consenting_parent_links_and_shows_the_menu(
    rig: TelegramRig, db: Database
) -> None:
    answer = await rig.chat(KOVAL).share_contact("380501110001")  # as Telegram sends it
    assert any("під'єднано" in line for line in texts(answer))
    assert "Оцінки" in [label for r in answer for label in _menu(r)]
    account = await _account(db, KOVAL)
    assert account is not None and list(account.guardian_ids) == ["g-koval"]


async def test_a_contact_that_is_not_the_senders_own_is_refused(rig: TelegramRig, db: Database) -> None:
    answer = await rig.chat(KOVAL).share_contact(PHONES.koval, own=False)
    assert "кнопкою" in texts(answer)[0]
    account = await _account(db, KOVAL)
    assert account is not None and not account.linked


async def test_unknown_no_consent_and_not_launched_get_the_same_polite_refusal(
    rig: TelegramRig, db: Database
) -> None:
    answers = []
    for n, phone in enumerate((PHONES.unknown, PHONES.no_consent, PHONES.not_launched)):
        answers.append(texts(await rig.chat(6000 + n).share_contact(phone)))
        account = await _account(db, 6000 + n)
        assert account is not None and not account.linked
    assert answers[0] == answers[1] == answers[2]
    assert "адміністратора" in answers[0][0]


async def _linked(rig: TelegramRig, chat_id: int, phone: str, language: str = "uk") -> None:
    answer = await rig.chat(chat_id, language).share_contact(phone)
    assert any(_menu(r) for r in answer), texts(answer)


async def test_grades(rig: TelegramRig) -> None:
    await _linked(rig, BONDAR, PHONES.bondar)
    (reply,) = await rig.chat(BONDAR).send("/grades")
    assert "Біологія" in (reply.text or "") and "5 оцінок, середній бал 4,0" in (reply.text or "")


async def test_the_child_picker_answers_the_press(rig: TelegramRig) -> None:
    await _linked(rig, KOVAL, PHONES.koval)
    (picker,) = await rig.chat(KOVAL).send("/grades")
    assert list(_buttons(picker)) == ["Ольга", "Петро"]
    answer = await rig.chat(KOVAL).press(_buttons(picker)["Петро"], picker.message_id)
    assert answer[0].method == "answerCallbackQuery"  # the spinner stops at once
    (shown,) = texts(answer)
    assert "Петро (5-А)" in shown and "Історія" in shown


async def test_a_settings_press_edits_the_pressed_message(rig: TelegramRig) -> None:
    await _linked(rig, KOVAL, PHONES.koval)
    (settings,) = await rig.chat(KOVAL).send("/settings")
    answer = await rig.chat(KOVAL).press("st:h:1", settings.message_id)
    assert [r.method for r in answer] == ["answerCallbackQuery", "editMessageText"]
    edit = answer[1]
    assert edit.params["message_id"] == settings.message_id
    assert "Homework: off" not in (edit.text or "")
    assert edit.text != settings.text and _buttons(edit) != _buttons(settings)


async def test_forged_callback_data_naming_another_familys_pupil_gets_no_data(rig: TelegramRig) -> None:
    await _linked(rig, KOVAL, PHONES.koval)
    answer = await rig.chat(KOVAL).press("g:st-ivan:r")
    assert answer[0].method == "answerCallbackQuery"
    shown = "\n".join(texts(answer))
    assert "недоступна" in shown and "Біологія" not in shown and "Іван" not in shown


async def test_an_english_speaker_gets_english(rig: TelegramRig) -> None:
    (greeting,) = await rig.chat(KOVAL, "en").send("/start")
    assert "Hello" in (greeting.text or "")
    keyboard = keyboard_of(greeting)
    assert keyboard is not None and keyboard["keyboard"][0][0]["text"] == "Share my phone number"
    answer = await rig.chat(KOVAL, "en").share_contact(PHONES.koval)
    assert "Grades" in [label for r in answer for label in _menu(r)]


async def test_a_text_over_4096_characters_is_split_at_line_breaks(rig: TelegramRig, db: Database) -> None:
    lines = [f"Вправа {n}: розв'язати задачі зі збірника на сторінці {n + 10}" for n in range(150)]
    await World(db).add(homework("hw-long", "cls-5a", "Фізика", TOMORROW, "\n".join(lines)))
    await _linked(rig, BONDAR, PHONES.bondar)
    answer = await rig.chat(BONDAR).send("/homework")
    parts = [r.params["text"] for r in answer if r.method == "sendMessage"]
    assert len(parts) >= 2 and all(len(part) <= 4096 for part in parts)
    joined = "\n".join(texts(answer))
    assert all(line in joined.splitlines() for line in lines)


async def test_a_sticker_gets_a_short_answer(rig: TelegramRig) -> None:
    (reply,) = await rig.chat(KOVAL).send_sticker()
    assert reply.method == "sendMessage"
    assert reply.text == "Я розумію лише текстові повідомлення та кнопки меню."


async def test_a_group_chat_gets_nothing_and_leaves_no_account(rig: TelegramRig, db: Database) -> None:
    update = rig.api.message_update(-100777, "/grades", user_id=KOVAL, push=False)
    before = len(rig.api.sent)
    await rig.feed(update)
    assert rig.api.sent[before:] == []
    assert await _account(db, -100777) is None


async def test_blocking_the_bot_marks_the_chat_inactive(rig: TelegramRig, db: Database) -> None:
    await _linked(rig, KOVAL, PHONES.koval)
    bot_user = {"id": rig.api.bot_id, "is_bot": True, "first_name": "Бот"}
    await rig.feed({"my_chat_member": {
        "chat": rig.api.chat(KOVAL), "from": rig.api.user(KOVAL), "date": 0,
        "old_chat_member": {"status": "member", "user": bot_user},
        "new_chat_member": {"status": "kicked", "user": bot_user, "until_date": 0},
    }})
    account = await _account(db, KOVAL)
    assert account is not None and account.active is False


async def test_a_failure_in_the_core_gets_an_apology_not_silence(sqlite_db_url: str) -> None:
    database = Database.connect(sqlite_db_url)
    try:
        await small_school(database)
        async with database.engine.begin() as conn:  # the database breaks under the bot
            await conn.execute(text("DROP TABLE accounts"))
        async with telegram_rig(database) as rig:
            (reply,) = await rig.chat(KOVAL).send("/start")
            assert reply.text == t("uk", "error.apology")
            (reply,) = await rig.chat(KOVAL, "en").send("/grades")
            assert reply.text == t("en", "error.apology")
    finally:
        await database.dispose()


async def test_each_update_is_one_turn_logged_once_after_its_answer(
    rig: TelegramRig, caplog: pytest.LogCaptureFixture
) -> None:
    await _linked(rig, KOVAL, PHONES.koval)
    caplog.clear()
    with caplog.at_level("INFO", logger="school_bot.bot.turns"):
        answer = await rig.chat(KOVAL).send("/grades")
    turns = [r.getMessage() for r in caplog.records if r.name == "school_bot.bot.turns"]
    assert len(turns) == 1 and turns[0].startswith("turn handled platform=telegram kind=command")
    assert texts(answer) == ["Про кого з дітей? Оберіть:"]  # and the answer went out


async def test_polling_confirms_each_update_once_and_gets_only_what_the_bot_reads(
    rig: TelegramRig
) -> None:
    edited = rig.api.message_update(BONDAR, "/start", push=False)
    edited["edited_message"] = edited.pop("message")
    rig.api.push_update(edited)  # not asked for (allowed_updates): Telegram would not send it
    started = await rig.chat(KOVAL).send("/start")
    helped = await rig.chat(KOVAL).send("/help")
    async with asyncio.timeout(5):
        while rig.api.pending_updates:  # confirmed by the next getUpdates's offset
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # a repeated delivery would be answered by now
    answers = [r for r in rig.api.sent if r.method == "sendMessage"]
    assert texts(started) and texts(helped)
    assert {r.chat_id for r in answers} == {KOVAL}  # the edited message was never delivered
    assert texts(answers) == texts(started) + texts(helped)  # nothing answered twice


async def test_polling_outlives_a_failing_bot_api_and_logs_no_token(
    rig: TelegramRig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.api.fail_next("getUpdates", 502, times=2)
    with caplog.at_level("INFO", logger="school_bot.bot.telegram"):
        (reply,) = await rig.chat(KOVAL).send("/start")
    assert "Вітаю" in (reply.text or "")
    lines = [r.getMessage() for r in caplog.records if r.name == "school_bot.bot.telegram"]
    assert sum(line.startswith("getUpdates failed error=TelegramServerError") for line in lines) == 2
    assert any(line.startswith("getUpdates works again") for line in lines)
    assert not [line for line in lines if TOKEN in line or TOKEN.split(":")[1] in line]
