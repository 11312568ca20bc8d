"""Webhook mode: Telegram POSTs updates with the secret; nothing else gets in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import func, select

from school_bot.storage.db import Database
from school_bot.storage.models import Account
from tests.support.small_school import small_school
from tests.support.telegram_rig import SECRET, TelegramRig, telegram_rig, texts

CHAT = 5301


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[TelegramRig]:
    await small_school(db)
    async with telegram_rig(db, webhook=True, webhook_base_url="https://bot.school.example.org") as running:
        yield running


async def _accounts(db: Database) -> int:
    async with db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(Account)) or 0)


async def test_start_registers_the_webhook_with_its_secret(rig: TelegramRig) -> None:
    assert rig.api.webhook_url == "https://bot.school.example.org/telegram/webhook"
    assert rig.api.webhook_secret_token == SECRET
    (set_webhook,) = [r for r in rig.api.sent if r.method == "setWebhook"]
    assert set(set_webhook.params["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}
    assert rig.api.count("deleteWebhook") == 0 and rig.api.count("getUpdates") == 0


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
async def test_a_missing_or_wrong_secret_is_401_and_reaches_nothing(
    rig: TelegramRig, db: Database, secret: str | None
) -> None:
    update = rig.api.message_update(CHAT, "/start", push=False)
    status, body = await rig.api.post_update_to_webhook(rig.webhook_url or "", update, secret)
    assert status == 401 and "unauthorized" in body
    assert [r for r in rig.api.sent if r.chat_id == CHAT] == []
    assert await _accounts(db) == 0


async def test_the_right_secret_is_answered(rig: TelegramRig) -> None:
    answer = await rig.chat(CHAT).send("/start")
    assert "Вітаю" in texts(answer)[0]


async def test_a_body_that_is_not_an_update_is_400(rig: TelegramRig) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        for body in ('{"update_id": "x", "message": 5}', '{"update_id": 7, "message": 5}',
                     '["not", "an", "update"]', "{"):
            async with http.post(rig.webhook_url or "", data=body, headers=headers) as response:
                assert response.status == 400


async def test_an_update_without_what_its_kind_holds_is_logged_and_the_bot_goes_on(
    rig: TelegramRig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="school_bot.bot.telegram"):
        status, _ = await rig.api.post_update_to_webhook(
            rig.webhook_url or "", {"message": {"message_id": 1, "text": "/start"}}, SECRET)
    assert status == 200  # taken: Telegram would only send it again
    (line,) = [r.getMessage() for r in caplog.records if r.name == "school_bot.bot.telegram"]
    assert line.startswith("update failed type=message error=NotAnUpdate")
    assert not [r for r in rig.api.sent if r.method in ("sendMessage", "editMessageText")]
    answer = await rig.chat(CHAT).send("/start")
    assert "Вітаю" in texts(answer)[0]
