"""The Viber webhook: verify, parse, convert, run the turn, reply.

Order matters: the signature (HMAC-SHA256 of the raw body keyed with the auth token)
is checked in constant time before anything is parsed; a missing or wrong one gets
403 and reaches nothing. Viber retries a callback it got no 200 for, for an hour, so
each (event, message_token) is handled once: a message's key is claimed by the turn
runner (bot/turns.py) with the turn's own writes, a receipt's with the receipt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from viberbot.api.viber_requests import create_request

from school_bot.shared.delivery import DeliveryError
from school_bot.bot.viber.client import ViberClient
from school_bot.bot.viber.convert import to_incoming
from school_bot.bot.viber.delivery import render
from school_bot.bot.viber.files import ROUTE as FILES_ROUTE
from school_bot.bot.viber.files import FileStore
from school_bot.bot.turns import Outcome, TurnRunner
from school_bot.shared.events import Reply
from school_bot.notifications.receipts import take_receipt
from school_bot.storage.accounts import find_account
from school_bot.storage.callbacks import claim
from school_bot.storage.db import Database
from school_bot.storage.models import utc_now
from school_bot.storage.outbox_status import Receipt

log = logging.getLogger(__name__)
ROUTE = "/viber/webhook"
RECEIPTS = {"delivered", "seen", "failed"}


def signature_ok(body: bytes, signature: str | None, auth_token: str) -> bool:
    if not signature:
        return False
    expected = hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


class ViberWebhook:
    def __init__(self, *, database: Database, turns: TurnRunner, client: ViberClient,
                 auth_token: str, files: FileStore) -> None:
        self._database = database
        self._turns = turns
        self._client = client
        self._token = auth_token
        self._files = files

    def register(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.receive)
        app.router.add_get(FILES_ROUTE, self._files.serve)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(body, request.headers.get("X-Viber-Content-Signature"), self._token):
            log.warning("viber callback refused: bad or missing signature")
            return web.json_response({"error": "bad signature"}, status=403)
        try:
            data = json.loads(body)
        except ValueError:
            return web.json_response({"error": "malformed JSON"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "expected an object"}, status=400)
        return await self._dispatch(data)

    async def _dispatch(self, data: dict[str, Any]) -> web.Response:
        event = str(data.get("event", ""))
        if event == "webhook":
            return web.json_response({"status": 0})
        try:
            parsed = create_request(data)
        except Exception:  # noqa: BLE001 - viberbot raises a bare Exception on unknown events
            log.info("viber event ignored: %s", event[:40])
            return web.json_response({"status": 0})
        key = _callback_key(event, data)
        if event in RECEIPTS:
            return await self._receipt(key, event, data)
        incoming = to_incoming(parsed)
        if incoming is None:
            return web.json_response({"status": 0})
        if event == "conversation_started":
            # Not subscribed yet: the welcome goes back in the callback's answer.
            result = await self._turns.run(incoming, once=key)
            return self._welcome(result.replies)
        receiver = incoming.chat.chat_id

        async def send(replies: list[Reply]) -> None:
            await self._send(receiver, replies)

        result = await self._turns.run(incoming, send=send, once=key)
        if result.outcome is Outcome.REPEATED:
            return web.json_response({"status": 0, "duplicate": True})
        return web.json_response({"status": 0})

    def _welcome(self, replies: list[Reply]) -> web.Response:
        messages = [m for reply in replies[:1] for m in render(reply, self._files)][:1]
        if not messages:
            return web.json_response({"status": 0})
        return web.json_response({**messages[0].to_dict(), "sender": self._client._sender})

    async def _send(self, receiver: str, replies: list[Reply]) -> None:
        for reply in replies:
            for message in render(reply, self._files):
                try:
                    await self._client.send(receiver, message)
                except DeliveryError as exc:
                    log.warning("viber reply not delivered: %s", type(exc).__name__)
                    return

    async def _receipt(self, key: str | None, event: str, data: dict[str, Any]) -> web.Response:
        """Delivered, seen or failed: handed to the outbox, which fills the message's
        receipt columns (now, or when its send is recorded) and never its outcome."""
        async with self._database.unit_of_work() as session:
            if key is not None and not await claim(session, key):
                return web.json_response({"status": 0, "duplicate": True})
            await self._take_receipt(session, event, data)
        return web.json_response({"status": 0})

    async def _take_receipt(self, session: AsyncSession, event: str, data: dict[str, Any]) -> None:
        token = data.get("message_token")
        account = await find_account(session, "viber", str(data.get("user_id", "")))
        if account is None or token is None:
            return
        await take_receipt(session, account_id=account.id, token=str(token),
                           receipt=Receipt(event), at=utc_now(),
                           error=str(data.get("desc") or "failed") if event == "failed" else None)


def _callback_key(event: str, data: dict[str, Any]) -> str | None:
    """What makes a callback unique: its message token, and for a receipt also the user
    (a broadcast's receipts all carry the broadcast's one token)."""
    token = data.get("message_token")
    if token is None:
        return None
    if event in RECEIPTS:
        return f"viber:{event}:{token}:{data.get('user_id', '')}"[:128]
    return f"viber:{event}:{token}"[:128]
