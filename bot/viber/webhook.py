"""The Viber webhook: verify, parse, deduplicate, convert, run the core, reply.

Order matters: the signature (HMAC-SHA256 of the raw body keyed with the auth token)
is checked in constant time before anything is parsed; a missing or wrong one gets
403 and reaches nothing. Viber retries a callback it got no 200 for, for an hour, so
each (event, message_token) is handled once: the marker is written in the same unit
of work as the handling.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from viberbot.api.viber_requests import create_request

from bot.delivery import DeliveryError
from bot.viber.client import ViberClient
from bot.viber.convert import to_incoming
from bot.viber.delivery import render
from bot.viber.files import ROUTE as FILES_ROUTE
from bot.viber.files import FileStore
from handlers.events import ChatRef, Incoming, Kind, Reply
from notifications.receipts import take_receipt
from storage.accounts import deactivate, find_account
from storage.db import Database
from storage.models import Account, ProcessedCallback, utc_now
from storage.outbox_status import Receipt

log = logging.getLogger(__name__)
ROUTE = "/viber/webhook"
RECEIPTS = {"delivered", "seen", "failed"}


class Core(Protocol):
    async def handle(self, session: AsyncSession, incoming: Incoming) -> list[Reply]: ...

    async def apology(self, session: AsyncSession, chat: ChatRef, hint: str | None) -> Reply: ...


def signature_ok(body: bytes, signature: str | None, auth_token: str) -> bool:
    if not signature:
        return False
    expected = hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


class ViberWebhook:
    def __init__(self, *, database: Database, core: Core, client: ViberClient,
                 auth_token: str, files: FileStore) -> None:
        self._database = database
        self._core = core
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
        async with self._database.sessions() as session:
            if not await self._first_time(session, event, _callback_token(event, data)):
                await session.rollback()
                return web.json_response({"status": 0, "duplicate": True})
            if event in RECEIPTS:
                await self._receipt(session, event, data)
                await session.commit()
                return web.json_response({"status": 0})
            replies = await self._run_core(session, parsed)
        return await self._answer(event, parsed, replies)

    async def _run_core(self, session: AsyncSession, parsed: Any) -> list[Reply]:
        incoming = to_incoming(parsed)
        if incoming is None:
            await session.commit()
            return []
        try:
            if incoming.kind is Kind.UNSUBSCRIBED:
                await self._unsubscribed(session, incoming.chat.chat_id)
                replies: list[Reply] = []
            else:
                replies = await self._core.handle(session, incoming)
            await session.commit()
            return replies
        except Exception:
            await session.rollback()
            log.exception("viber update failed in the core")
            return [await self._core.apology(session, incoming.chat, incoming.language_hint)]

    async def _answer(self, event: str, parsed: Any, replies: list[Reply]) -> web.Response:
        if event == "conversation_started":
            # Not subscribed yet: the welcome goes back in the callback's answer.
            messages = [m for reply in replies[:1] for m in render(reply, self._files)][:1]
            if not messages:
                return web.json_response({"status": 0})
            return web.json_response({**messages[0].to_dict(), "sender": self._client._sender})
        receiver = getattr(getattr(parsed, "sender", None), "id", None) or getattr(
            getattr(parsed, "user", None), "id", None)
        if receiver:
            await self._send(receiver, replies)
        return web.json_response({"status": 0})

    async def _send(self, receiver: str, replies: list[Reply]) -> None:
        for reply in replies:
            for message in render(reply, self._files):
                try:
                    await self._client.send(receiver, message)
                except DeliveryError as exc:
                    log.warning("viber reply not delivered: %s", type(exc).__name__)
                    return

    async def _first_time(self, session: AsyncSession, event: str, token: Any) -> bool:
        if token is None:
            return True
        insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)
        statement = insert(ProcessedCallback).values(key=f"viber:{event}:{token}", at=utc_now())
        result = await session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
        return bool(result.rowcount)

    async def _receipt(self, session: AsyncSession, event: str, data: dict[str, Any]) -> None:
        """Delivered, seen or failed: handed to the outbox, which fills the message's
        receipt columns (now, or when its send is recorded) and never its outcome."""
        token = data.get("message_token")
        account = await find_account(session, "viber", str(data.get("user_id", "")))
        if account is None or token is None:
            return
        await take_receipt(session, account_id=account.id, token=str(token),
                           receipt=Receipt(event), at=utc_now(),
                           error=str(data.get("desc") or "failed") if event == "failed" else None)

    async def _unsubscribed(self, session: AsyncSession, user_id: str) -> None:
        account = await session.scalar(
            select(Account).where(Account.platform == "viber", Account.chat_id == user_id))
        if account is not None:
            await deactivate(session, account.id)


def _callback_token(event: str, data: dict[str, Any]) -> Any:
    """What makes a callback unique: its message token, and for a receipt also the user
    (a broadcast's receipts all carry the broadcast's one token)."""
    token = data.get("message_token")
    if event in RECEIPTS and token is not None:
        return f"{token}:{data.get('user_id', '')}"[:100]
    return token
