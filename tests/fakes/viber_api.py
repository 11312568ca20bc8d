"""A fake Viber REST API over real HTTP, and a player of Viber's signed callbacks.

Imitates ``https://chatapi.viber.com/pa/<endpoint>``
(https://developers.viber.com/docs/api/rest-bot-api/):

* POST ``set_webhook``, ``send_message``, ``broadcast_message`` (<= 300 receivers,
  ``failed_list`` for the unsubscribed), ``get_account_info``, ``get_user_details``,
  ``get_online`` with JSON bodies;
* authentication by header ``X-Viber-Auth-Token`` - or, as the ``viberbot`` library
  does it, by an ``auth_token`` field in the body; a wrong/missing token answers
  ``{"status": 2, "status_message": "invalidAuthToken"}``;
* errors are HTTP 200 with a non-zero ``status`` (6 notSubscribed, 12 tooManyRequests,
  3 badData, 4 missingData, ...), as Viber does;
* message validation Viber performs that bots trip over: sender name <= 28 chars,
  text <= 7000 chars, keyboards with ``Buttons`` that all have an ``ActionBody``;
* a status of its own for a receiver (``receiver_status``: e.g. 11
  receiverNoSuitableDevice, 12 tooManyRequests for a user sent too much), answered by
  send_message and put in a broadcast's ``failed_list``.

Receipts as Viber sends them: with ``receipts_url`` set (the bot's webhook), every
message accepted for a receiver is followed by signed ``receipts`` callbacks (default
``delivered``) carrying its message token (a broadcast's one token, per user), or by a
``failed`` callback for a receiver in ``fails_on_phone`` (the app refused the message).
Viber's callbacks can reach the bot before the answer to its send does; the fake makes
that so: they are posted, and answered, before the send call is answered.

Towards the bot it plays Viber: :meth:`FakeViberAPI.send_callback` POSTs an event to
the bot's webhook signed with ``X-Viber-Content-Signature`` (hex HMAC-SHA256 of the
raw body, keyed with the auth token).  The module-level builders make realistic
callback payloads with the field names ``viberbot.api.viber_requests`` parses.

Point the ``viberbot`` library at it with
``api._request_sender._viber_bot_api_url = fake.base_url`` (the library hard-codes
the URL); it uses blocking ``requests``, so call it off the event loop serving the fake.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes import (
    ForcedFailures,
    LocalHTTPServer,
    RequestJournal,
    SlidingWindowLimiter,
    limiter_for_rate,
    monotonic,
)

__all__ = [
    "FakeViberAPI", "ViberFailure", "ViberSentRequest", "conversation_started", "delivered",
    "failed", "message_contact", "message_picture", "message_text", "seen", "sign_body",
    "subscribed", "unknown_event", "unsubscribed", "user_profile", "webhook_event",
]

STATUS_MESSAGES = {
    0: "ok", 1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
    5: "receiverNotRegistered", 6: "notSubscribed", 7: "publicAccountBlocked",
    8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
    11: "receiverNoSuitableDevice", 12: "tooManyRequests", 13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
}
ALL_EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed",
                   "conversation_started"]
#: Fields each message type must carry (besides ``type``).
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": ("text",), "picture": ("media",), "video": ("media", "size"),
    "file": ("media", "size", "file_name"), "contact": ("contact",),
    "location": ("location",), "url": ("media",), "sticker": ("sticker_id",),
    "rich_media": ("rich_media",),
}
SEND_ENDPOINTS = frozenset({"send_message", "broadcast_message"})
MAX_BROADCAST = 300
MAX_TEXT = 7000
MAX_SENDER_NAME = 28
MAX_BUTTONS = 24
CHAT_HOSTNAME = "SN-CHAT-05_"
SIGNATURE_HEADER = "X-Viber-Content-Signature"
AUTH_HEADER = "X-Viber-Auth-Token"

_tokens = itertools.count(5_741_311_803_571_721_087)


def next_message_token() -> int:
    """A fresh message token (unique in this process, int64 like Viber's)."""
    return next(_tokens)


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class ViberSentRequest:
    """One call the bot made; a broadcast is recorded once per delivered receiver."""

    endpoint: str
    receiver: str | None
    type: str | None
    text: str | None
    keyboard: dict[str, Any] | None
    body: dict[str, Any]
    at: float
    message_token: int | None = None
    status: int = 0
    status_message: str = "ok"


class ViberFailure(Exception):
    """An error answer: Viber ``status`` in an HTTP 200 body unless ``http_status`` says."""

    def __init__(self, status: int, status_message: str | None = None, http_status: int = 200):
        self.status = status
        self.status_message = status_message or STATUS_MESSAGES.get(status, "generalError")
        self.http_status = http_status
        super().__init__(status, self.status_message)

    def response(self) -> web.Response:
        body = {"status": self.status, "status_message": self.status_message}
        return web.json_response(body, status=self.http_status)


def _bad(detail: str) -> ViberFailure:
    return ViberFailure(3, detail)


def _missing(field: str) -> ViberFailure:
    return ViberFailure(4, f"missing {field}")


# --------------------------------------------------------------------------- callbacks


def sign_body(body: bytes, auth_token: str) -> str:
    """``X-Viber-Content-Signature``: hex HMAC-SHA256 of the raw body keyed by the token."""
    return hmac.new(auth_token.encode(), body, hashlib.sha256).hexdigest()


def _event(event: str, token: int | None) -> dict[str, Any]:
    return {
        "event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-376_",
        "message_token": next_message_token() if token is None else token,
    }


def user_profile(
    user_id: str, name: str = "Олена", language: str = "uk", country: str = "UA",
    avatar: str | None = None, api_version: int = 10,
) -> dict[str, Any]:
    """The ``user``/``sender`` object of callbacks (and of get_user_details)."""
    profile: dict[str, Any] = {
        "id": user_id, "name": name, "language": language, "country": country,
        "api_version": api_version,
    }
    if avatar is not None:
        profile["avatar"] = avatar
    return profile


def conversation_started(
    user_id: str, context: str | None = None, *, name: str = "Олена", language: str = "uk",
    subscribed: bool = False, token: int | None = None,
) -> dict[str, Any]:
    """The user opened the chat (deep link ``context`` if any); not yet subscribed."""
    event = _event("conversation_started", token) | {
        "type": "open", "user": user_profile(user_id, name, language), "subscribed": subscribed,
    }
    if context is not None:
        event["context"] = context
    return event


def subscribed(
    user_id: str, *, name: str = "Олена", language: str = "uk", token: int | None = None
) -> dict[str, Any]:
    return _event("subscribed", token) | {"user": user_profile(user_id, name, language)}


def unsubscribed(user_id: str, *, token: int | None = None) -> dict[str, Any]:
    return _event("unsubscribed", token) | {"user_id": user_id}


def _message_event(
    user_id: str, message: dict[str, Any], token: int | None, name: str, language: str
) -> dict[str, Any]:
    return _event("message", token) | {
        "sender": user_profile(user_id, name, language), "message": message, "silent": False,
    }


def message_text(
    user_id: str, text: str, token: int | None = None, tracking_data: str | None = None, *,
    name: str = "Олена", language: str = "uk",
) -> dict[str, Any]:
    """A text message from the user (``tracking_data`` echoes what the bot last set)."""
    message: dict[str, Any] = {"type": "text", "text": text}
    if tracking_data is not None:
        message["tracking_data"] = tracking_data
    return _message_event(user_id, message, token, name, language)


def message_contact(
    user_id: str, phone: str, *, name: str = "Олена", contact_name: str | None = None,
    token: int | None = None, tracking_data: str | None = None, language: str = "uk",
) -> dict[str, Any]:
    """A shared contact (e.g. from a ``share-phone`` keyboard button)."""
    message: dict[str, Any] = {
        "type": "contact", "contact": {"name": contact_name or name, "phone_number": phone},
    }
    if tracking_data is not None:
        message["tracking_data"] = tracking_data
    return _message_event(user_id, message, token, name, language)


def message_picture(
    user_id: str, *, text: str = "", token: int | None = None, name: str = "Олена",
    language: str = "uk",
) -> dict[str, Any]:
    """A photo from the user (a media URL, as Viber delivers it)."""
    message = {
        "type": "picture", "text": text, "file_name": "IMG_0001.jpg", "size": 48213,
        "media": "https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0.jpg",
        "thumbnail": "https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0_t.jpg",
    }
    return _message_event(user_id, message, token, name, language)


def delivered(user_id: str, message_token: int) -> dict[str, Any]:
    return _event("delivered", message_token) | {"user_id": user_id}


def seen(user_id: str, message_token: int) -> dict[str, Any]:
    return _event("seen", message_token) | {"user_id": user_id}


def failed(
    user_id: str, message_token: int, desc: str = "receiver is not subscribed"
) -> dict[str, Any]:
    return _event("failed", message_token) | {"user_id": user_id, "desc": desc}


def unknown_event(
    user_id: str, event: str = "client_status", *, token: int | None = None
) -> dict[str, Any]:
    """An event type ``viberbot.api.viber_requests.create_request`` rejects."""
    return _event(event, token) | {"user_id": user_id}


def webhook_event(token: int | None = None) -> dict[str, Any]:
    """What Viber POSTs to a URL given to set_webhook, to check that it answers 200."""
    return _event("webhook", token)


# --------------------------------------------------------------------------- validation


def _check_keyboard(keyboard: Any) -> None:
    if not isinstance(keyboard, dict) or keyboard.get("Type", "keyboard") != "keyboard":
        raise _bad("keyboard is not valid. [#: expected type: keyboard]")
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise _bad(f"keyboard is not valid. [#/Buttons: expected 1..{MAX_BUTTONS} items]")
    for index, button in enumerate(buttons):
        if not isinstance(button, dict) or "ActionBody" not in button:
            raise _bad(f"keyboard is not valid. [#/Buttons/{index}: required key [ActionBody] "
                       "not found]")


def check_message(body: dict[str, Any]) -> None:
    """Viber's checks of a message body (send_message / broadcast_message)."""
    sender = body.get("sender")
    if not isinstance(sender, dict) or not sender.get("name"):
        raise _missing("sender name")
    if len(str(sender["name"])) > MAX_SENDER_NAME:
        raise _bad(f"sender name is longer than {MAX_SENDER_NAME} characters")
    kind = body.get("type")
    if kind not in REQUIRED_BY_TYPE:
        raise _bad(f"unknown message type {kind!r}")
    for name in REQUIRED_BY_TYPE[kind]:
        if body.get(name) in (None, ""):
            raise _missing(name)
    if kind == "text" and len(str(body["text"])) > MAX_TEXT:
        raise _bad(f"text is longer than {MAX_TEXT} characters")
    if "keyboard" in body:
        _check_keyboard(body["keyboard"])


# --------------------------------------------------------------------------- the fake

Endpoint = Callable[[dict[str, Any], ViberSentRequest], Awaitable[dict[str, Any]]]


class FakeViberAPI(LocalHTTPServer):
    """The Viber bot REST API for one auth token, served on 127.0.0.1.

    State tests set: ``unsubscribed`` / ``unregistered`` receivers, ``latency``,
    ``rate_limit_per_second`` (answers status 12 tooManyRequests, or HTTP 429 if
    ``rate_limit_http_429``), :meth:`fail_next`.  ``users`` holds the profiles
    get_user_details answers with (filled by callbacks sent through the fake).
    """

    def __init__(
        self,
        auth_token: str = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_second: float | None = None,
        rate_limit_http_429: bool = False,
        latency: float = 0.0,
        verify_webhook: bool = False,
        account_name: str = "Шкільний бот",
    ) -> None:
        super().__init__(host=host, port=port)
        self.auth_token = auth_token
        self.latency = latency
        self.rate_limit_http_429 = rate_limit_http_429
        self.verify_webhook = verify_webhook
        self.account_name = account_name
        self.unsubscribed: set[str] = set()
        self.unregistered: set[str] = set()
        self.users: dict[str, dict[str, Any]] = {}
        self.receiver_status: dict[str, int] = {}
        self.receipts_url: str | None = None
        self.receipts: tuple[str, ...] = ("delivered",)
        self.fails_on_phone: set[str] = set()
        self.receipt_answers: list[int] = []
        self.webhook_url = ""
        self.webhook_event_types: list[str] = []
        self.rejected_too_many = 0
        self.journal: RequestJournal[ViberSentRequest] = RequestJournal()
        self.rejected_journal: RequestJournal[ViberSentRequest] = RequestJournal()
        self._failures: ForcedFailures[ViberFailure] = ForcedFailures()
        self._counts: dict[str, int] = {}
        self._limiter: SlidingWindowLimiter | None = None
        self._rate: float | None = None
        self.rate_limit_per_second = rate_limit_per_second
        self._endpoints: dict[str, Endpoint] = {
            "set_webhook": self._set_webhook,
            "send_message": self._send_message,
            "broadcast_message": self._broadcast_message,
            "get_account_info": self._get_account_info,
            "get_user_details": self._get_user_details,
            "get_online": self._get_online,
        }

    # builders, also reachable as ``api.message_text(...)`` etc.
    conversation_started = staticmethod(conversation_started)
    subscribed = staticmethod(subscribed)
    unsubscribed_event = staticmethod(unsubscribed)
    message_text = staticmethod(message_text)
    message_contact = staticmethod(message_contact)
    message_picture = staticmethod(message_picture)
    delivered = staticmethod(delivered)
    seen = staticmethod(seen)
    failed = staticmethod(failed)
    unknown_event = staticmethod(unknown_event)
    webhook_event = staticmethod(webhook_event)

    # ------------------------------------------------------------------ public API

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/pa``, like ``https://chatapi.viber.com/pa`` (no slash)."""
        return f"{self.root_url}/pa"

    @property
    def sent(self) -> list[ViberSentRequest]:
        """Accepted calls of set_webhook/send_message and broadcast deliveries, in order."""
        return self.journal.items

    @property
    def rejected(self) -> list[ViberSentRequest]:
        """Calls answered with a non-zero status (broadcast ``failed_list`` entries too)."""
        return self.rejected_journal.items

    @property
    def rate_limit_per_second(self) -> float | None:
        return self._rate

    @rate_limit_per_second.setter
    def rate_limit_per_second(self, rate: float | None) -> None:
        self._rate = rate
        self._limiter = None if rate is None else limiter_for_rate(rate)

    def count(self, endpoint: str) -> int:
        """How many calls of ``endpoint`` arrived (accepted or not)."""
        return self._counts.get(endpoint, 0)

    def fail_next(
        self, endpoint: str, status: int = 12, status_message: str | None = None, *,
        http_status: int = 200, times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``endpoint`` (``"*"``: any) with an error.

        E.g. ``fail_next("send_message", 5)`` (receiverNotRegistered),
        ``fail_next("send_message", 0, "Internal Server Error", http_status=500)``.
        """
        self._failures.push(endpoint, ViberFailure(status, status_message, http_status), times)

    async def wait_for(
        self, predicate: Callable[[ViberSentRequest], bool], timeout: float = 5.0, since: int = 0
    ) -> ViberSentRequest:
        """The first accepted call (index >= ``since``) matching ``predicate``."""
        return await self.journal.wait_for(predicate, timeout, since)

    def messages_to(self, receiver: str) -> list[str]:
        """Texts of text messages delivered to ``receiver`` (send and broadcast), in order."""
        return [
            r.text or "" for r in self.journal.items
            if r.receiver == receiver and r.type == "text" and r.endpoint != "set_webhook"
        ]

    def clear(self) -> None:
        """Forget recorded calls and counters."""
        self.journal.items.clear()
        self.rejected_journal.items.clear()
        self._counts.clear()
        self.rejected_too_many = 0

    def sign(self, body: bytes) -> str:
        return sign_body(body, self.auth_token)

    async def send_callback(
        self, url: str, event: dict[str, Any], *, sign: bool = True, bad_signature: bool = False
    ) -> tuple[int, str]:
        """POST ``event`` to the bot's webhook as Viber does; returns (status, body text).

        ``sign=False`` omits the signature header; ``bad_signature`` sends one made
        with the wrong key.

        Subscription state follows the event (``unsubscribed`` adds the user to
        ``api.unsubscribed``; subscribed/message removes it).
        """
        self._follow(event)
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if sign or bad_signature:
            key = self.auth_token + "-wrong" if bad_signature else self.auth_token
            headers[SIGNATURE_HEADER] = sign_body(body, key)
        async with self.client().post(url, data=body, headers=headers) as response:
            return response.status, await response.text()

    def _follow(self, event: dict[str, Any]) -> None:
        profile = event.get("user") or event.get("sender")
        if isinstance(profile, dict) and "id" in profile:
            self.users[profile["id"]] = profile
        kind = event.get("event")
        if kind == "unsubscribed":
            self.unsubscribed.add(event.get("user_id", ""))
        elif kind in ("subscribed", "message") or (kind == "conversation_started"
                                                   and event.get("subscribed")):
            self.unsubscribed.discard(profile["id"] if isinstance(profile, dict) else "")

    # ------------------------------------------------------------------ HTTP plumbing

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_post("/pa/{endpoint}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        handler = self._endpoints.get(endpoint)
        if handler is None:
            raise web.HTTPNotFound()
        self._counts[endpoint] = self._counts.get(endpoint, 0) + 1
        body = await self._read_body(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        record = ViberSentRequest(
            endpoint, body.get("receiver"), body.get("type"), body.get("text"),
            body.get("keyboard"), body, monotonic(),
        )
        try:
            self._check_call(request, endpoint, body)
            result = await handler(body, record)
        except ViberFailure as failure:
            return self._refuse(record, failure)
        return web.json_response({"status": 0, "status_message": "ok"} | result)

    @staticmethod
    async def _read_body(request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {"__invalid__": True}

    def _check_call(self, request: web.Request, endpoint: str, body: dict[str, Any]) -> None:
        token = request.headers.get(AUTH_HEADER) or body.get("auth_token")
        if token != self.auth_token:
            raise ViberFailure(2)
        if body.get("__invalid__"):
            raise _bad("failed to parse JSON body")
        failure = self._failures.pop(endpoint)
        if failure is not None:
            raise failure
        limiter = self._limiter if endpoint in SEND_ENDPOINTS else None
        if limiter is not None and limiter.hit(monotonic()) is not None:
            raise ViberFailure(12, http_status=429 if self.rate_limit_http_429 else 200)

    def _refuse(self, record: ViberSentRequest, failure: ViberFailure) -> web.Response:
        record.status = failure.status
        record.status_message = failure.status_message
        if failure.status == 12:
            self.rejected_too_many += 1
        self.rejected_journal.record(record)
        return failure.response()

    # ------------------------------------------------------------------ endpoints

    async def _set_webhook(self, body: dict[str, Any], record: ViberSentRequest) -> dict:
        if "url" not in body:
            raise _missing("url")
        url = str(body["url"])
        event_types = body.get("event_types") or list(ALL_EVENT_TYPES)
        if url and self.verify_webhook:
            status, _ = await self.send_callback(url, webhook_event())
            if status != 200:
                raise ViberFailure(1, f"Result[HttpRequest[POST {url}] status code {status}]")
        self.webhook_url = url
        self.webhook_event_types = list(event_types) if url else []
        self.journal.record(record)
        return {"event_types": self.webhook_event_types or list(ALL_EVENT_TYPES)}

    def _check_receiver(self, receiver: Any) -> None:
        if not receiver:
            raise _missing("receiver")
        if receiver in self.unregistered:
            raise ViberFailure(5)
        if receiver in self.unsubscribed:
            raise ViberFailure(6)
        if receiver in self.receiver_status:
            raise ViberFailure(self.receiver_status[receiver])

    async def _send_message(self, body: dict[str, Any], record: ViberSentRequest) -> dict:
        self._check_receiver(body.get("receiver"))
        check_message(body)
        record.message_token = next_message_token()
        self.journal.record(record)
        await self._send_receipts([str(body["receiver"])], record.message_token)
        return {"message_token": record.message_token, "chat_hostname": CHAT_HOSTNAME}

    async def _send_receipts(self, receivers: list[str], token: int) -> None:
        """The receipts of an accepted message, before its send is answered."""
        if not self.receipts_url:
            return
        for receiver in receivers:
            events = (("failed",) if receiver in self.fails_on_phone else self.receipts)
            for event in events:
                payload = (failed(receiver, token, "message validation failed")
                           if event == "failed" else _event(event, token) | {"user_id": receiver})
                status, _ = await self.send_callback(self.receipts_url, payload)
                self.receipt_answers.append(status)

    async def _broadcast_message(self, body: dict[str, Any], record: ViberSentRequest) -> dict:
        receivers = body.get("broadcast_list")
        if not isinstance(receivers, list) or not receivers:
            raise _missing("broadcast_list")
        if len(receivers) > MAX_BROADCAST:
            raise _bad(f"broadcast_list is limited to {MAX_BROADCAST} receivers")
        check_message(body)
        token = next_message_token()
        failed_list = []
        for receiver in receivers:
            delivery = ViberSentRequest(
                "broadcast_message", receiver, record.type, record.text, record.keyboard, body,
                record.at, token,
            )
            try:
                self._check_receiver(receiver)
            except ViberFailure as failure:
                failed_list.append({"receiver": receiver, "status": failure.status,
                                    "status_message": failure.status_message})
                delivery.status, delivery.status_message = failure.status, failure.status_message
                self.rejected_journal.record(delivery)
                continue
            self.journal.record(delivery)
        delivered_to = [r for r in receivers if r not in {f["receiver"] for f in failed_list}]
        await self._send_receipts(delivered_to, token)
        return {"message_token": token, "failed_list": failed_list}

    async def _get_account_info(self, body: dict[str, Any], record: ViberSentRequest) -> dict:
        return {
            "id": "pa:5694412384557346432", "name": self.account_name, "uri": "schoolparents",
            "icon": "https://example.invalid/icon.png", "background": "",
            "category": "Education", "subcategory": "School", "country": "UA",
            "location": {"lat": 50.4501, "lon": 30.5234}, "webhook": self.webhook_url,
            "event_types": self.webhook_event_types,
            "subscribers_count": len(self.users) - len(self.unsubscribed & self.users.keys()),
            "members": [{"id": "01234567890A=", "name": "Адміністратор", "role": "admin"}],
        }

    async def _get_user_details(self, body: dict[str, Any], record: ViberSentRequest) -> dict:
        user_id = body.get("id")
        if not user_id:
            raise _missing("id")
        if user_id in self.unregistered:
            raise ViberFailure(5)
        profile = self.users.get(user_id) or user_profile(user_id)
        details = profile | {"primary_device_os": "Android 14", "viber_version": "24.1.0",
                             "device_type": "SM-A546B", "mcc": 255, "mnc": 1}
        return {"message_token": next_message_token(), "user": details}

    async def _get_online(self, body: dict[str, Any], record: ViberSentRequest) -> dict:
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            raise _missing("ids")
        return {"users": [
            {"id": i, "online_status": 1, "online_status_message": "offline",
             "last_online": int(time.time() * 1000) - 60_000}
            for i in ids
        ]}
