"""The outbox's Telegram deliverer against the fake Bot API, with its faults injected."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.shared.delivery import PermanentFailure, RecipientGone, RetryAfter, TemporaryFailure
from school_bot.shared.events import Button, OutFile, Platform, Reply
from school_bot.shared.settings import Settings
from tests.fakes.telegram_api import FakeTelegramBotAPI

TOKEN = "4242:delivery-test"
CHAT = 7001


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramBotAPI]:
    async with FakeTelegramBotAPI(token=TOKEN) as fake:
        yield fake


def _bot(url: str, timeout: float = 5.0) -> Bot:
    return build_bot(Settings(telegram_bot_token=TOKEN, telegram_api_url=url), timeout=timeout)


@pytest.fixture
async def deliverer(api: FakeTelegramBotAPI) -> AsyncIterator[TelegramDeliverer]:
    bot = _bot(api.base_url)
    yield TelegramDeliverer(bot)
    await bot.session.close()


async def test_delivers_a_stored_reply_and_returns_its_id(
    api: FakeTelegramBotAPI, deliverer: TelegramDeliverer
) -> None:
    assert deliverer.platform is Platform.TELEGRAM
    reply = Reply(text="Нова оцінка: 11", buttons=[[Button("Усі оцінки", "grades")]])
    message_id = await deliverer.deliver(str(CHAT), reply)
    (sent,) = api.sent
    assert (sent.method, sent.chat_id, sent.text) == ("sendMessage", CHAT, "Нова оцінка: 11")
    assert sent.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Усі оцінки", "callback_data": "grades"}]]}
    assert message_id == str(sent.message_id)


async def test_a_file_goes_as_a_document(api: FakeTelegramBotAPI, deliverer: TelegramDeliverer) -> None:
    await deliverer.deliver(str(CHAT), Reply(file=OutFile("absences.csv", b"class;n\n5-A;3\n")))
    (sent,) = api.sent
    assert sent.method == "sendDocument"
    assert sent.params["document"]["filename"] == "absences.csv"


async def test_flood_control_is_retry_after(api: FakeTelegramBotAPI, deliverer: TelegramDeliverer) -> None:
    api.fail_next("sendMessage", 429, retry_after=7200)
    with pytest.raises(RetryAfter) as caught:
        await deliverer.deliver(str(CHAT), Reply(text="Подія завтра"))
    assert caught.value.seconds == 7200


async def test_a_blocked_user_is_gone(api: FakeTelegramBotAPI, deliverer: TelegramDeliverer) -> None:
    api.blocked_chats.add(CHAT)
    with pytest.raises(RecipientGone):
        await deliverer.deliver(str(CHAT), Reply(text="Пропуск уроку"))


@pytest.mark.parametrize("description", [
    "Bad Request: chat not found", "Forbidden: user is deactivated",
])
async def test_a_chat_that_is_no_more_is_gone(
    api: FakeTelegramBotAPI, deliverer: TelegramDeliverer, description: str
) -> None:
    api.fail_next("sendMessage", 400 if description.startswith("Bad") else 403, description)
    with pytest.raises(RecipientGone):
        await deliverer.deliver(str(CHAT), Reply(text="Пропуск уроку"))


@pytest.mark.parametrize("status", [500, 502])
async def test_a_server_error_is_temporary(
    api: FakeTelegramBotAPI, deliverer: TelegramDeliverer, status: int
) -> None:
    api.fail_next("sendMessage", status)
    with pytest.raises(TemporaryFailure):
        await deliverer.deliver(str(CHAT), Reply(text="Домашнє завдання"))


async def test_a_bad_request_is_permanent(api: FakeTelegramBotAPI, deliverer: TelegramDeliverer) -> None:
    api.fail_next("sendMessage", 400, "Bad Request: BUTTON_DATA_INVALID")
    with pytest.raises(PermanentFailure):
        await deliverer.deliver(str(CHAT), Reply(text="Оцінки"))


async def test_an_unreachable_api_is_temporary(api: FakeTelegramBotAPI) -> None:
    url = api.base_url
    await api.stop()
    bot = _bot(url)
    try:
        with pytest.raises(TemporaryFailure):
            await TelegramDeliverer(bot).deliver(str(CHAT), Reply(text="Оцінки"))
    finally:
        await bot.session.close()


async def test_a_timeout_is_temporary(api: FakeTelegramBotAPI) -> None:
    api.latency = 1.0
    bot = _bot(api.base_url, timeout=0.2)
    try:
        with pytest.raises(TemporaryFailure):
            await TelegramDeliverer(bot).deliver(str(CHAT), Reply(text="Оцінки"))
    finally:
        await bot.session.close()


async def test_a_short_flood_pause_inside_a_long_reply_is_waited_out() -> None:
    """Raising RetryAfter after the first part would make the outbox repeat that part."""
    text = "\n".join(f"{n:04d} " + "ш" * 60 for n in range(100))  # two messages
    # the second part meets Telegram's one message a second per chat
    async with FakeTelegramBotAPI(token=TOKEN, per_chat_per_second=1.0, per_chat_burst=0) as api:
        bot = _bot(api.base_url)
        try:
            await TelegramDeliverer(bot).deliver(str(CHAT), Reply(text=text))
        finally:
            await bot.session.close()
        assert api.rejected_429 == 1
        assert "\n".join(api.messages_to(CHAT)) == text
