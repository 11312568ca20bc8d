"""Self-tests of the messenger doubles in tests/fakes: the real aiogram/viberbot clients
talk to them over HTTP on 127.0.0.1 and see what they would see from the real servers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp import web

from tests.fakes import viber_api
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.viber_api import FakeViberAPI

TOKEN = "123:ABC"
ROOT = Path(__file__).resolve().parents[1]


class _Session(AiohttpSession):
    """aiogram's AiohttpSession minus its 250 ms TLS-shutdown sleep on close (plain HTTP)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(api: FakeTelegramBotAPI, token: str = TOKEN) -> Bot:
    return Bot(token, session=_Session(api=TelegramAPIServer.from_base(api.base_url)))


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramBotAPI]:
    async with FakeTelegramBotAPI(token=TOKEN, max_poll_wait=0.5) as api:
        yield api


@pytest.fixture
async def bot(tg: FakeTelegramBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(tg)
    yield bot
    await bot.session.close()


KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Оцінки", callback_data="grades:7")]]
)


# --------------------------------------------------------------------------- Telegram


async def test_get_me_and_send_message_with_inline_keyboard(tg: FakeTelegramBotAPI, bot: Bot):
    me = await bot.get_me()
    assert me.id == 123 and me.is_bot and me.username

    first = await bot.send_message(5, "<b>Вітаємо</b> &amp; привіт", parse_mode="HTML",
                                   reply_markup=KEYBOARD)
    second = await bot.send_message(5, "друге")

    assert second.message_id == first.message_id + 1
    assert first.chat.id == 5 and first.text == "Вітаємо & привіт"
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == KEYBOARD.model_dump()
    sent = tg.sent[0]
    assert sent.method == "sendMessage" and sent.chat_id == 5
    assert sent.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Оцінки", "callback_data": "grades:7"}]]
    }
    assert tg.messages_to(5) == ["Вітаємо & привіт", "друге"]
    assert tg.messages_to(5, raw=True)[0] == "<b>Вітаємо</b> &amp; привіт"
    assert tg.count("sendMessage") == 2 and tg.count("getMe") == 1


async def test_text_fields_are_not_decoded_as_json(tg: FakeTelegramBotAPI, bot: Bot):
    await bot.send_message(5, "12")
    await bot.send_message(5, "[Оголошення] true")
    assert tg.messages_to(5) == ["12", "[Оголошення] true"]


async def test_get_updates_returns_queued_update_parsed_by_aiogram(
    tg: FakeTelegramBotAPI, bot: Bot
):
    queued = tg.message_update(5, "/start invite42", first_name="Олена")

    updates = await bot.get_updates(timeout=5)

    assert [u.update_id for u in updates] == [queued["update_id"]]
    message = updates[0].message
    assert message is not None and message.from_user is not None and message.entities is not None
    assert message.text == "/start invite42" and message.from_user.language_code == "uk"
    assert message.entities[0].type == "bot_command" and message.entities[0].length == 6
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []
    assert tg.pending_updates == 0


async def test_long_poll_holds_until_an_update_arrives(tg: FakeTelegramBotAPI, bot: Bot):
    started = time.monotonic()
    assert await bot.get_updates(timeout=30) == []  # capped at max_poll_wait
    assert 0.4 < time.monotonic() - started < 2

    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    tg.contact_update(5, "+380501234567", user_id_in_contact=5)
    updates = await asyncio.wait_for(poll, 2)
    message = updates[0].message
    assert message is not None and message.contact is not None
    assert message.contact.phone_number == "+380501234567"
    assert message.contact.user_id == 5


async def test_allowed_updates_filters_kinds(tg: FakeTelegramBotAPI, bot: Bot):
    tg.message_update(5, "привіт")
    tg.callback_update(5, "grades:7", message_id=10)
    updates = await bot.get_updates(allowed_updates=["callback_query"], timeout=0)
    assert [u.callback_query.data if u.callback_query else None for u in updates] == ["grades:7"]


async def test_callback_query_can_be_answered_once_and_message_edited(
    tg: FakeTelegramBotAPI, bot: Bot
):
    sent = await bot.send_message(5, "Оберіть дитину", reply_markup=KEYBOARD)
    tg.callback_update(5, "grades:7")
    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id and query.message.text == "Оберіть дитину"

    assert await bot.answer_callback_query(query.id, text="OK")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    edited = await bot.edit_message_text("Оцінки: 11", chat_id=5, message_id=sent.message_id)
    assert isinstance(edited, Message)  # editing an inline message would answer True
    assert edited.text == "Оцінки: 11" and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Оцінки: 11", chat_id=5, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=5, message_id=9999, reply_markup=KEYBOARD)
    assert tg.messages_to(5) == ["Оберіть дитину", "Оцінки: 11"]


async def test_bad_html_is_refused_like_telegram(tg: FakeTelegramBotAPI, bot: Bot):
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(5, "рядок<br>рядок", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag"):
        await bot.send_message(5, "<b>жирний", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="text is empty"):
        await bot.send_message(5, "<b></b>", parse_mode="HTML")
    assert tg.sent == [] and len(tg.rejected) == 3


async def test_forced_429_surfaces_as_retry_after(tg: FakeTelegramBotAPI, bot: Bot):
    tg.fail_next("sendMessage", 429, retry_after=7200)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(5, "x")
    assert caught.value.retry_after == 7200
    assert tg.rejected_429 == 1
    await bot.send_message(5, "x")  # only the next call failed


async def test_forced_server_errors_then_success(tg: FakeTelegramBotAPI, bot: Bot):
    tg.fail_next("*", 502, times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(5, "x")
    await bot.send_message(5, "x")
    assert [r.status for r in tg.rejected] == [502, 502] and len(tg.sent) == 1


async def test_global_flood_limit_answers_429(tg: FakeTelegramBotAPI, bot: Bot):
    tg.rate_limit_per_second = 5
    results = await asyncio.gather(
        *(bot.send_message(1000 + i, "новина") for i in range(8)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert len(refused) == 3 and tg.rejected_429 == 3 and len(tg.sent) == 5
    assert all(r.retry_after == 1 for r in refused)


async def test_per_chat_limit_with_burst(bot: Bot):
    async with FakeTelegramBotAPI(TOKEN, per_chat_per_second=1) as api:  # burst 1 by default
        chat_bot = make_bot(api)
        try:
            await chat_bot.send_message(5, "1")
            await chat_bot.send_message(5, "2")  # the tolerated burst
            with pytest.raises(TelegramRetryAfter):
                await chat_bot.send_message(5, "3")
            await chat_bot.send_message(6, "other chat is fine")
        finally:
            await chat_bot.session.close()
    assert api.rejected_429 == 1


async def test_blocked_chat_is_forbidden(tg: FakeTelegramBotAPI, bot: Bot):
    tg.blocked_chats.add(77)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(77, "x")
    assert tg.rejected[0].status == 403 and tg.messages_to(77) == []


async def test_wrong_token_and_unknown_method(tg: FakeTelegramBotAPI):
    intruder = make_bot(tg, "999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await intruder.get_me()
    finally:
        await intruder.session.close()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}/bot{TOKEN}/sendTelepathy") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False, "error_code": 404, "description": "Not Found: method not found"
            }
        # JSON bodies (not aiogram's encoding) are understood as well
        async with http.post(f"{tg.base_url}/bot{TOKEN}/sendMessage",
                             json={"chat_id": "8", "text": "json"}) as response:
            assert (await response.json())["result"]["chat"]["id"] == 8


async def test_send_document_records_upload(tg: FakeTelegramBotAPI, bot: Bot):
    upload = BufferedInputFile(b"x" * 1234, filename="табель.xlsx")
    message = await bot.send_document(5, upload, caption="Табель")
    assert message.document is not None
    assert message.document.file_name == "табель.xlsx" and message.document.file_size == 1234
    recorded = tg.sent[-1]
    assert recorded.params["document"]["filename"] == "табель.xlsx"
    assert recorded.params["document"]["size"] == 1234 and recorded.text == "Табель"
    photo = await bot.send_photo(5, BufferedInputFile(b"\x89PNG" * 10, filename="qr.png"))
    assert photo.photo is not None
    assert photo.photo[0].file_size == 40


async def test_webhook_mode(tg: FakeTelegramBotAPI, bot: Bot):
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/tg", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    try:
        assert await bot.set_webhook(url, secret_token="s3cret_token")
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(TelegramConflictError):
            await bot.get_updates(timeout=0)
        update = tg.message_update(5, "привіт", push=False)
        status, body = await tg.post_update_to_webhook(url, update, secret_token="s3cret_token")
    finally:
        await runner.cleanup()
    assert (status, body) == (200, "ok")
    assert received[0][0] == "s3cret_token" and received[0][1]["message"]["text"] == "привіт"
    assert "update_id" in received[0][1]


async def test_concurrent_polls_conflict(tg: FakeTelegramBotAPI, bot: Bot):
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=30))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    assert await second == []


async def test_dispatcher_polling_end_to_end(tg: FakeTelegramBotAPI, bot: Bot):
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        await message.answer(f"Вітаю, {message.from_user.first_name}!")

    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        tg.message_update(42, "/start", first_name="Ірина")
        reply = await tg.wait_for(lambda r: r.method == "sendMessage" and r.chat_id == 42)
        assert reply.text == "Вітаю, Ірина!"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)


async def test_standalone_runner_logs_json_lines(tmp_path: Path):
    log = tmp_path / "sent.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0", "--token", TOKEN,
         "--rate", "30", "--log", str(log)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    stdout = process.stdout
    assert stdout is not None
    try:
        line = await asyncio.wait_for(asyncio.to_thread(stdout.readline), 20)
        assert line.startswith("READY "), line
        base_url = line.split()[1]
        runner_bot = Bot(TOKEN, session=_Session(api=TelegramAPIServer.from_base(base_url)))
        try:
            await runner_bot.send_message(5, "перша")
            await runner_bot.send_message(6, "друга")
        finally:
            await runner_bot.session.close()
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base_url}/_fake/message_update",
                      json={"chat_id": 5, "text": "/start"}) as response,
        ):
            assert (await response.json())["result"]["message"]["text"] == "/start"
        records = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
        assert [(r["chat_id"], r["text"]) for r in records] == [(5, "перша"), (6, "друга")]
    finally:
        process.terminate()
        process.wait(10)
        stdout.close()


# --------------------------------------------------------------------------- Viber


@pytest.fixture
async def viber() -> AsyncIterator[FakeViberAPI]:
    async with FakeViberAPI(auth_token="viber-token") as api:
        yield api


async def _viber_call(
    api: FakeViberAPI, endpoint: str, body: dict[str, Any], token: str | None = "viber-token"
) -> dict[str, Any]:
    headers = {"X-Viber-Auth-Token": token} if token is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api.base_url}/{endpoint}", json=body, headers=headers) as resp,
    ):
        assert resp.status == 200
        return await resp.json()


def _text(receiver: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"receiver": receiver, "type": "text", "text": text,
            "sender": {"name": "Шкільний бот"}} | extra


async def test_viber_send_message_with_right_and_wrong_token(viber: FakeViberAPI):
    keyboard = {"Type": "keyboard", "Buttons": [{"ActionType": "reply", "ActionBody": "grades",
                                                 "Text": "Оцінки"}]}
    ok = await _viber_call(viber, "send_message", _text("u1==", "Привіт", keyboard=keyboard))
    assert ok["status"] == 0 and ok["status_message"] == "ok"
    assert isinstance(ok["message_token"], int) and ok["chat_hostname"].startswith("SN-")

    wrong = await _viber_call(viber, "send_message", _text("u1==", "x"), token="nope")
    missing = await _viber_call(viber, "send_message", _text("u1==", "x"), token=None)
    assert wrong == missing == {"status": 2, "status_message": "invalidAuthToken"}

    assert viber.messages_to("u1==") == ["Привіт"]
    assert viber.sent[0].keyboard == keyboard and viber.sent[0].message_token == ok["message_token"]
    assert viber.count("send_message") == 3 and len(viber.rejected) == 2


async def test_viber_validates_messages(viber: FakeViberAPI):
    no_action = {"Type": "keyboard", "Buttons": [{"Text": "?"}]}
    bad_keyboard = await _viber_call(viber, "send_message", _text("u1", "x", keyboard=no_action))
    long_name = await _viber_call(viber, "send_message",
                                  _text("u1", "x", sender={"name": "Н" * 29}))
    no_text = await _viber_call(viber, "send_message", _text("u1", ""))
    assert bad_keyboard["status"] == 3 and "ActionBody" in bad_keyboard["status_message"]
    assert long_name["status"] == 3 and no_text["status"] == 4
    assert viber.sent == []


async def test_viber_unsubscribed_and_broadcast(viber: FakeViberAPI):
    viber.unsubscribed.add("gone==")
    answer = await _viber_call(viber, "send_message", _text("gone==", "x"))
    assert answer == {"status": 6, "status_message": "notSubscribed"}

    body = _text("", "Батьківські збори") | {"broadcast_list": ["a==", "gone==", "b=="]}
    del body["receiver"]
    result = await _viber_call(viber, "broadcast_message", body)
    assert result["status"] == 0
    assert result["failed_list"] == [
        {"receiver": "gone==", "status": 6, "status_message": "notSubscribed"}
    ]
    assert [r.receiver for r in viber.sent] == ["a==", "b=="]

    too_many = body | {"broadcast_list": [f"u{i}" for i in range(301)]}
    assert (await _viber_call(viber, "broadcast_message", too_many))["status"] == 3


async def test_viber_receiver_status_and_receipts_before_the_answer(viber: FakeViberAPI):
    seen_by_bot: list[dict[str, Any]] = []

    async def webhook(request: web.Request) -> web.Response:
        assert request.headers["X-Viber-Content-Signature"] == viber.sign(await request.read())
        seen_by_bot.append(await request.json())
        return web.json_response({"status": 0})

    bot = web.Application()
    bot.router.add_post("/viber", webhook)
    runner = web.AppRunner(bot)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        viber.receipts_url = f"http://127.0.0.1:{port}/viber"
        viber.receipts = ("delivered", "seen")
        viber.fails_on_phone.add("refuses==")
        viber.receiver_status["old-phone=="] = 11
        body = _text("", "Збори") | {"broadcast_list": ["a==", "refuses==", "old-phone=="]}
        del body["receiver"]
        result = await _viber_call(viber, "broadcast_message", body)
    finally:
        await runner.cleanup()
    assert result["failed_list"] == [
        {"receiver": "old-phone==", "status": 11, "status_message": "receiverNoSuitableDevice"}]
    token = result["message_token"]
    assert [(e["event"], e["user_id"], e["message_token"]) for e in seen_by_bot] == [
        ("delivered", "a==", token), ("seen", "a==", token), ("failed", "refuses==", token)]
    assert viber.receipt_answers == [200, 200, 200]


async def test_viber_rate_limit_and_forced_failures(viber: FakeViberAPI):
    viber.rate_limit_per_second = 2
    statuses = [(await _viber_call(viber, "send_message", _text("u", str(i))))["status"]
                for i in range(3)]
    assert statuses == [0, 0, 12] and viber.rejected_too_many == 1

    viber.rate_limit_per_second = None
    viber.fail_next("send_message", 5)
    assert (await _viber_call(viber, "send_message", _text("u", "x")))["status"] == 5
    viber.fail_next("send_message", 0, "Internal Server Error", http_status=500)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{viber.base_url}/send_message", json=_text("u", "x"),
                  headers={"X-Viber-Auth-Token": "viber-token"}) as response,
    ):
        assert response.status == 500


async def test_viber_set_webhook_and_account_info(viber: FakeViberAPI):
    answer = await _viber_call(viber, "set_webhook", {
        "url": "https://bot.example/viber", "event_types": ["delivered", "seen"]
    })
    assert answer["status"] == 0 and answer["event_types"] == ["delivered", "seen"]
    assert viber.webhook_url == "https://bot.example/viber"
    info = await _viber_call(viber, "get_account_info", {})
    assert info["webhook"] == "https://bot.example/viber"


async def test_viberbot_library_talks_to_the_fake(viber: FakeViberAPI):
    """viberbot sends ``auth_token`` in the JSON body, not as a header; both are accepted."""
    from viberbot import Api, BotConfiguration
    from viberbot.api.messages import TextMessage

    api = Api(BotConfiguration(auth_token="viber-token", name="Шкільний бот", avatar=None))
    api._request_sender._viber_bot_api_url = viber.base_url  # the library hard-codes the URL
    tokens = await asyncio.to_thread(api.send_messages, "u1==", [TextMessage(text="Привіт")])
    details = await asyncio.to_thread(api.get_user_details, "u1==")
    assert tokens == [viber.sent[0].message_token] and details["id"] == "u1=="


async def test_viber_callbacks_are_signed_and_parseable(viber: FakeViberAPI):
    from viberbot import Api, BotConfiguration
    from viberbot.api.viber_requests import ViberMessageRequest

    seen_by_bot: list[tuple[bytes, str | None]] = []

    async def webhook(request: web.Request) -> web.Response:
        seen_by_bot.append((await request.read(), request.headers.get("X-Viber-Content-Signature")))
        return web.Response()

    app = web.Application()
    app.router.add_post("/viber", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/viber"
    events = [
        viber_api.conversation_started("u1==", context="invite42"),
        viber_api.subscribed("u1=="),
        viber_api.message_text("u1==", "Привіт", tracking_data="step:phone"),
        viber_api.message_contact("u1==", "380501234567"),
        viber_api.message_picture("u1=="),
        viber_api.delivered("u1==", 5741311803571721087),
        viber_api.seen("u1==", 5741311803571721087),
        viber_api.failed("u1==", 5741311803571721087, "receiver is not subscribed"),
        viber_api.unsubscribed("u1=="),
    ]
    try:
        for event in events:
            assert (await viber.send_callback(url, event))[0] == 200
        await viber.send_callback(url, viber_api.message_text("u2==", "x"), bad_signature=True)
        await viber.send_callback(url, viber_api.unknown_event("u2=="), sign=False)
    finally:
        await runner.cleanup()

    library = Api(BotConfiguration(auth_token="viber-token", name="b", avatar=None))
    for (raw, signature), event in zip(seen_by_bot, events, strict=False):
        expected = hmac.new(b"viber-token", raw, hashlib.sha256).hexdigest()
        assert signature == expected and library.verify_signature(raw, signature)
        assert library.parse_request(raw).event_type == event["event"]
    parsed = library.parse_request(seen_by_bot[2][0])
    assert isinstance(parsed, ViberMessageRequest) and parsed.message.text == "Привіт"
    assert parsed.message.tracking_data == "step:phone" and parsed.sender.id == "u1=="
    assert library.parse_request(seen_by_bot[3][0]).message.contact.phone_number == "380501234567"
    bad_raw, bad_signature = seen_by_bot[-2]
    assert not library.verify_signature(bad_raw, bad_signature)
    assert seen_by_bot[-1][1] is None
    with pytest.raises(Exception, match="not supported"):
        library.parse_request(seen_by_bot[-1][0])
    assert "u1==" in viber.unsubscribed  # the unsubscribed callback updated the state
    assert len({e["message_token"] for e in events[:5]}) == 5


async def test_viber_replayed_callback_keeps_its_token():
    event = viber_api.message_text("u1==", "x", token=42)
    assert event["message_token"] == 42 == viber_api.message_text("u1==", "x", token=42)[
        "message_token"]
