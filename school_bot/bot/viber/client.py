"""Viber's REST API over aiohttp: viberbot's own sender is blocking `requests` with no
timeout and never runs here; its message models and validation are kept."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from viberbot.api.messages.message import Message

from school_bot.shared.delivery import DeliveryError, PermanentFailure, RecipientGone, RetryAfter, TemporaryFailure

log = logging.getLogger(__name__)

EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
# https://developers.viber.com/docs/api/rest-bot-api/#error-codes
_GONE = {5, 6}           # receiverNotRegistered, notSubscribed
_RETRY = {12}            # tooManyRequests
# what cannot change by trying again: bad or missing data, no suitable device, an API
# version the receiver's app does not support
_PERMANENT = {3, 4, 11, 13, 14}
BROADCAST_LIMIT = 300


@dataclass(frozen=True)
class BroadcastAnswer:
    """The message token of a broadcast (the same for every receiver, whose receipts carry
    it) and the receivers Viber put in its `failed_list`, with their errors."""

    message_token: str
    failed: dict[str, DeliveryError]


class ViberClient:
    """Sends as the bot: `send`, `broadcast`, `set_webhook`, each with a timeout."""

    def __init__(self, http: aiohttp.ClientSession, *, api_url: str, auth_token: str,
                 bot_name: str, avatar: str | None = None, timeout: float = 10.0) -> None:
        self._http = http
        self._api = api_url.rstrip("/")
        self._token = auth_token
        self._sender: dict[str, str] = {"name": bot_name[:28]}
        if avatar:
            self._sender["avatar"] = avatar
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._http.post(
                f"{self._api}/{endpoint}", json=body, timeout=self._timeout,
                headers={"X-Viber-Auth-Token": self._token},
            ) as response:
                if response.status >= 500:
                    raise TemporaryFailure(f"viber answered HTTP {response.status}")
                if response.status == 429:
                    raise RetryAfter(float(response.headers.get("Retry-After", "1")))
                if response.status >= 400:
                    raise PermanentFailure(f"viber answered HTTP {response.status}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TemporaryFailure(f"viber unreachable: {type(exc).__name__}") from exc

    def _message_body(self, message: Message) -> dict[str, Any]:
        if not message.validate():
            raise PermanentFailure(f"invalid viber message {type(message).__name__}")
        return {**message.to_dict(), "sender": self._sender}

    async def send(self, receiver: str, message: Message) -> str:
        answer = await self._post("send_message", {"receiver": receiver, **self._message_body(message)})
        _raise_for_status(answer)
        return str(answer.get("message_token", ""))

    async def broadcast(self, receivers: list[str], message: Message) -> BroadcastAnswer:
        """Up to 300 receivers a call. An error of the whole call is raised (never as
        RecipientGone: no single receiver is meant); each receiver in `failed_list` gets
        the error its status means, as `send` would raise it for that receiver alone."""
        if len(receivers) > BROADCAST_LIMIT:
            raise ValueError("viber broadcasts at most 300 receivers a call")
        answer = await self._post("broadcast_message",
                                  {"broadcast_list": receivers, **self._message_body(message)})
        try:
            _raise_for_status(answer)
        except RecipientGone as exc:
            raise PermanentFailure(f"viber refused the broadcast: {exc}") from exc
        failed = {str(item.get("receiver")): receiver_error(item)
                  for item in answer.get("failed_list") or [] if isinstance(item, dict)}
        return BroadcastAnswer(str(answer.get("message_token", "")), failed)

    async def set_webhook(self, url: str) -> None:
        answer = await self._post("set_webhook", {"url": url, "event_types": EVENT_TYPES,
                                                  "send_name": True, "send_photo": False})
        _raise_for_status(answer)

    async def account_info(self) -> dict[str, Any]:
        answer = await self._post("get_account_info", {})
        _raise_for_status(answer)
        return answer


def receiver_error(item: dict[str, Any]) -> DeliveryError:
    """One receiver's entry of a broadcast's `failed_list`: not subscribed or not on Viber
    any more → gone (the chat is blocked); too many messages to this user → try again
    later; what trying again cannot fix → permanent; anything else → temporary."""
    try:
        status = int(item.get("status", -1))
    except (TypeError, ValueError):
        status = -1
    message = str(item.get("status_message", "unknown"))[:200]
    if status in _GONE:
        return RecipientGone(message)
    if status in _PERMANENT:
        return PermanentFailure(f"viber status {status}: {message}")
    return TemporaryFailure(f"viber status {status}: {message}")


def _raise_for_status(answer: dict[str, Any]) -> None:
    status = int(answer.get("status", -1))
    if status == 0:
        return
    message = str(answer.get("status_message", "unknown"))
    if status in _GONE:
        raise RecipientGone(message)
    if status in _RETRY:
        raise RetryAfter(1.0, message)
    raise PermanentFailure(f"viber status {status}: {message}")
