"""The outbox's Telegram deliverer: a stored reply, sent with the same code as answers.

aiogram's errors become the neutral ones of `bot.delivery`, so the dispatcher knows
whether to wait (`RetryAfter`), stop writing to the chat (`RecipientGone`), back off
(`TemporaryFailure`) or give up on the message (`PermanentFailure`).

It can also edit a message it sent (`edit`, an alert kept up to date): Telegram's
"message is not modified" means the chat shows that content already, and a message
that can no longer be edited (deleted by the user) is sent anew.
"""

from __future__ import annotations

from dataclasses import replace

import school_bot.bot.telegram  # noqa: F401  (first: aiogram's models built on demand)

# isort: split
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
)

from school_bot.bot.telegram.send import send_reply
from school_bot.shared.delivery import (
    DeliveryError,
    PermanentFailure,
    RecipientGone,
    RetryAfter,
    TemporaryFailure,
)
from school_bot.shared.events import Platform, Reply

# Bad requests that mean the chat itself is gone, not that the message was wrong.
GONE_MARKERS = ("chat not found", "user is deactivated", "bot was kicked", "bot was blocked",
                "peer_id_invalid", "user not found")


class TelegramDeliverer:
    platform = Platform.TELEGRAM

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        return await self._show(_chat(chat_id), reply)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        try:
            target = int(message_id)
        except ValueError:
            raise PermanentFailure(f"not a Telegram message id: {message_id[:20]!r}") from None
        return await self._show(_chat(chat_id), replace(reply, edit=True), edit_message_id=target)

    async def _show(self, chat_id: int, reply: Reply, *,
                    edit_message_id: int | None = None) -> str | None:
        try:
            message_id = await send_reply(self._bot, chat_id, reply, patient=False,
                                          edit_message_id=edit_message_id)
        except (TelegramAPIError, ClientDecodeError) as exc:
            raise delivery_error(exc) from exc
        return str(message_id) if message_id is not None else None


def _chat(chat_id: str) -> int:
    try:
        return int(chat_id)
    except ValueError:
        raise PermanentFailure(f"not a Telegram chat id: {chat_id[:20]!r}") from None


def delivery_error(exc: TelegramAPIError | ClientDecodeError) -> DeliveryError:
    """The neutral error for one of aiogram's (the order of the checks matters)."""
    name = type(exc).__name__
    if isinstance(exc, TelegramRetryAfter):
        return RetryAfter(float(exc.retry_after), f"{name}: retry after {exc.retry_after} s")
    if isinstance(exc, ClientDecodeError):
        return TemporaryFailure(f"{name}: the Bot API answered something unreadable")
    detail = f"{name}: {exc.message[:200]}"
    if isinstance(exc, TelegramForbiddenError) or _says_gone(exc.message):
        return RecipientGone(detail)
    if isinstance(exc, TelegramEntityTooLarge | TelegramMigrateToChat):
        return PermanentFailure(detail)
    if isinstance(exc, TelegramBadRequest | TelegramNotFound):
        return PermanentFailure(detail)
    if isinstance(exc, TelegramNetworkError):
        return TemporaryFailure(detail)
    # 5xx, 401 (a token being replaced), 409 and whatever else: worth another try later
    return TemporaryFailure(detail)


def _says_gone(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in GONE_MARKERS)
