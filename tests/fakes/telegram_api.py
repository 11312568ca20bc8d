"""A fake Telegram Bot API server over real HTTP, for end-to-end tests and benchmarks.

It imitates ``https://api.telegram.org/bot<token>/<method>`` closely enough for the
real aiogram 3 ``Bot`` to talk to it::

    async with FakeTelegramBotAPI(token="123:ABC") as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot("123:ABC", session=session)
        api.message_update(5, "/start")
        ...
        reply = await api.wait_for(lambda r: r.method == "sendMessage" and r.chat_id == 5)

What is imitated (see https://core.telegram.org/bots/api):

* the request encodings aiogram uses - ``application/x-www-form-urlencoded`` or
  ``multipart/form-data`` where every non-string field is a JSON text (``"5"``,
  ``"true"``, ``'{"inline_keyboard": ...}'``) and uploads are referenced as
  ``attach://<random field name>``; plain JSON bodies and GET query strings work too;
* the answer envelope ``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code",
  "description", "parameters": {"retry_after"}}`` with the real HTTP status codes;
* long polling: updates are kept until confirmed by ``offset``; a poll is held until
  an update arrives (waiting at most ``max_poll_wait`` seconds, not the full
  ``timeout``); ``allowed_updates`` is remembered; a concurrent poll terminates the
  older one with 409, and polling while a webhook is set is a 409 too;
* message state: ``editMessageText`` on an unknown message, or with identical content,
  fails as Telegram does ("message is not modified"); HTML ``parse_mode`` is checked
  for the tags Telegram supports and the visible text is what gets recorded;
* flood control (global and per-chat sliding windows -> 429 ``retry_after``), blocked
  users (403), forced failures and added latency.

Standalone: ``python -m tests.fakes.telegram_api --port P --token T [--rate 30]
[--log FILE]`` serves until killed, appending every accepted request to FILE as a
JSON line; ``/_fake/...`` control endpoints let another process queue updates.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import json
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

from aiohttp import web

from tests.fakes import (
    ForcedFailures,
    LocalHTTPServer,
    RequestJournal,
    SlidingWindowLimiter,
    limiter_for_rate,
    monotonic,
    retry_after_seconds,
)

__all__ = ["FakeTelegramBotAPI", "SentRequest", "TelegramFailure", "main"]

# --------------------------------------------------------------------------- constants

#: Update types Telegram leaves out when ``allowed_updates`` was never given.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

#: Methods whose results are data, not effects: served and counted, never recorded.
QUERY_METHODS = frozenset({"getMe", "getUpdates", "getWebhookInfo", "getMyCommands"})

#: Methods under flood control ("send*" that deliver something to a chat).
RATE_LIMITED_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})

#: Methods refused with 403 for a chat in ``blocked_chats``.
CHAT_BOUND_METHODS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "sendChatAction", "editMessageText",
     "editMessageReplyMarkup", "deleteMessage"}
)

#: Form fields that are free text even when they look like JSON, numbers or booleans.
TEXT_FIELDS = frozenset(
    {"text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url",
     "secret_token", "action", "language_code", "business_connection_id",
     "message_effect_id", "description", "short_description", "name", "title",
     "ip_address", "emoji", "question", "explanation", "certificate"}
)

#: Tags Telegram's HTML parse mode understands.
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
     "a", "code", "pre", "blockquote", "tg-emoji", "tg-time"}
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a content and reply markup of the current message"
)
QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
BLOCKED = "Forbidden: bot was blocked by the user"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_INT_RE = re.compile(r"-?\d+\Z")
_FLOAT_RE = re.compile(r"-?\d+\.\d+\Z")
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}\Z")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")

# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class SentRequest:
    """One request the bot made (accepted ones in ``api.sent``, refused in ``api.rejected``).

    ``params`` holds the decoded fields (JSON fields as dicts/lists, numbers as int,
    uploads as ``{"filename", "size", "content_type"}``).  ``text`` is what the user
    would see: message text or caption, HTML tags stripped and entities unescaped.
    """

    method: str
    chat_id: int | str | None
    params: dict[str, Any]
    at: float
    status: int = 200
    text: str | None = None
    message_id: int | None = None
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (the line format of the standalone runner's log)."""
        return {
            "method": self.method, "chat_id": self.chat_id, "params": self.params,
            "at": self.at, "ts": time.time(), "status": self.status, "ok": self.status == 200,
            "text": self.text, "message_id": self.message_id, "description": self.description,
        }


class TelegramFailure(Exception):
    """An error answer of the Bot API (raised inside handlers, queued by ``fail_next``)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(status, description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False, "error_code": self.status, "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    @classmethod
    def bad_request(cls, detail: str) -> TelegramFailure:
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def too_many(cls, retry_after: int) -> TelegramFailure:
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after)


@dataclass(slots=True)
class _StoredMessage:
    """What ``edit*`` compares against: visible text (None for media) and inline markup."""

    text: str | None
    markup: dict[str, Any] | None
    caption: str | None = None


Handler = Callable[[dict[str, Any], SentRequest], Any]


@dataclass(slots=True)
class _Method:
    name: str
    handler: Handler
    is_async: bool = False


# --------------------------------------------------------------------------- decoding


def decode_field(key: str, value: str) -> Any:
    """Undo aiogram's form encoding of one field (see ``BaseSession.prepare_value``).

    aiogram sends strings as they are and everything else as JSON text, so a field
    is decoded unless it is known free text (``text``, ``caption``, ...).
    """
    if key in TEXT_FIELDS or not value:
        return value
    first = value[0]
    if first in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if value == "true":
        return True
    if value == "false":
        return False
    if _INT_RE.match(value):
        return int(value)
    if _FLOAT_RE.match(value):
        return float(value)
    return value


def _file_info(part: web.FileField) -> dict[str, Any]:
    stream = part.file
    stream.seek(0, 2)
    return {"filename": part.filename, "size": stream.tell(), "content_type": part.content_type}


async def read_params(request: web.Request) -> dict[str, Any]:
    """Fields of a Bot API call from the query string and a form, multipart or JSON body.

    Uploads referenced as ``attach://<name>`` are replaced by their file info.
    """
    params: dict[str, Any] = {k: decode_field(k, v) for k, v in request.query.items()}
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        params.update(await request.json())
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and _INT_RE.match(chat_id):
            params["chat_id"] = int(chat_id)
        return params
    files: dict[str, web.FileField] = {}
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            files[key] = value
        elif isinstance(value, str):
            params[key] = decode_field(key, value)
        else:  # a part sent with a non-text content type: kept as its bytes
            params[key] = bytes(value)
    if files:
        _resolve_attachments(params, files)
    return params


def _resolve_attachments(params: dict[str, Any], files: dict[str, web.FileField]) -> None:
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = files.pop(value[len("attach://"):], None)
            if part is not None:
                params[key] = _file_info(part)
    for key, part in files.items():  # uploads posted under the field's own name
        params.setdefault(key, _file_info(part))


# --------------------------------------------------------------------------- HTML


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def render_html(text: str) -> str:
    """The visible text of an HTML-formatted message, or ``TelegramFailure`` (400).

    Checks what Telegram checks: only supported tags, properly nested and closed;
    entities are unescaped.
    """
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        out.append(text[pos:lt])
        match = _TAG_RE.match(text, lt)
        offset = _byte_offset(text, lt)
        if match is None:
            raise _entities_error(f"Unexpected end of name token at byte offset {offset}")
        closing, name = match.group(1), match.group(2).lower()
        if name not in HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        if not closing:
            stack.append(name)
        elif not stack:
            raise _entities_error(f"Unexpected end tag at byte offset {offset}")
        elif stack[-1] != name:
            raise _entities_error(
                f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                f'found "</{name}>"'
            )
        else:
            stack.pop()
        pos = match.end()
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    out.append(text[pos:])
    return html.unescape("".join(out))


def _entities_error(detail: str) -> TelegramFailure:
    return TelegramFailure.bad_request(f"can't parse entities: {detail}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities Telegram would attach to ``text`` (UTF-16 offsets)."""
    return [
        {"type": "bot_command", "offset": _utf16_len(text[: m.start()]),
         "length": _utf16_len(m.group())}
        for m in _COMMAND_RE.finditer(text)
    ]


def update_type(update: dict[str, Any]) -> str | None:
    """The kind of an Update (``message``, ``callback_query``, ...)."""
    return next((key for key in update if key != "update_id"), None)


# --------------------------------------------------------------------------- the fake


class FakeTelegramBotAPI(LocalHTTPServer):
    """The Telegram Bot API for one bot token, served on 127.0.0.1.

    Fault injection (all can be changed while running): ``rate_limit_per_second``
    (global flood limit on sendMessage/sendDocument/sendPhoto over a sliding second),
    ``per_chat_per_second`` (+ ``per_chat_burst`` extra messages tolerated per window,
    1 by default: a greeting plus a prompt is fine, a third message within the second
    is not),
    ``blocked_chats``, ``latency`` (seconds added to every call), :meth:`fail_next`.
    """

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        per_chat_burst: int = 1,
        latency: float = 0.0,
        max_poll_wait: float = 1.0,
        validate_html: bool = True,
        detect_poll_conflicts: bool = True,
        bot_username: str = "school_parents_test_bot",
        bot_first_name: str = "Шкільний бот",
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.latency = latency
        self.max_poll_wait = max_poll_wait
        self.validate_html = validate_html
        self.detect_poll_conflicts = detect_poll_conflicts
        self.blocked_chats: set[int] = set()
        self.rejected_429 = 0
        self.journal: RequestJournal[SentRequest] = RequestJournal()
        self.rejected_journal: RequestJournal[SentRequest] = RequestJournal()
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id, "is_bot": True, "first_name": bot_first_name,
            "username": bot_username,
        }
        self.webhook_url = ""
        self.webhook_secret_token: str | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | str | None, dict[str, Any]] = {}  # chat id (None: the default)
        self._per_chat_burst = per_chat_burst
        self._global_limiter: SlidingWindowLimiter | None = None
        self._chat_limiters: dict[int | str, SlidingWindowLimiter] = {}
        self._per_chat_rate: float | None = None
        self.rate_limit_per_second = rate_limit_per_second
        self.per_chat_per_second = per_chat_per_second
        self._failures: ForcedFailures[TelegramFailure] = ForcedFailures()
        self._counts: dict[str, int] = {}
        self._methods = self._method_table()
        self._reset_state()

    def _reset_state(self) -> None:
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._update_signal = asyncio.Event()
        self._poll_seq = 0
        self._polls_waiting = 0
        self._closing = False
        self._message_ids = itertools.count(1)
        self._messages: dict[tuple[int | str, int], _StoredMessage] = {}
        self._last_message: dict[int | str, int] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._open_callbacks: set[str] = set()
        self._callback_ids = itertools.count(1)

    # ------------------------------------------------------------------ public API

    @property
    def base_url(self) -> str:
        """What to give ``TelegramAPIServer.from_base`` (``http://127.0.0.1:PORT``)."""
        return self.root_url

    @property
    def sent(self) -> list[SentRequest]:
        """Accepted requests, in order (queries like getUpdates/getMe are not recorded)."""
        return self.journal.items

    @property
    def rejected(self) -> list[SentRequest]:
        """Requests answered with an error (forced, flood control, blocked, bad request)."""
        return self.rejected_journal.items

    @property
    def rate_limit_per_second(self) -> float | None:
        return self._global_rate

    @rate_limit_per_second.setter
    def rate_limit_per_second(self, rate: float | None) -> None:
        self._global_rate = rate
        self._global_limiter = None if rate is None else limiter_for_rate(rate)

    @property
    def per_chat_per_second(self) -> float | None:
        return self._per_chat_rate

    @per_chat_per_second.setter
    def per_chat_per_second(self, rate: float | None) -> None:
        self._per_chat_rate = rate
        self._chat_limiters.clear()

    def count(self, method: str) -> int:
        """How many calls of ``method`` arrived (accepted or not; any letter case)."""
        entry = self._methods.get(method.lower())
        return self._counts.get(entry.name if entry else method, 0)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"``: any) with an error.

        E.g. ``fail_next("sendMessage", 429, retry_after=7200)``,
        ``fail_next("sendMessage", 502)``, ``fail_next("getUpdates", 500, times=3)``.
        """
        if description is None:
            if status == 429:
                description = "Too Many Requests" + (
                    f": retry after {retry_after}" if retry_after is not None else ""
                )
            else:
                description = DEFAULT_DESCRIPTIONS.get(status, "Error")
        self._failures.push(method, TelegramFailure(status, description, retry_after), times)

    async def wait_for(
        self, predicate: Callable[[SentRequest], bool], timeout: float = 5.0, since: int = 0
    ) -> SentRequest:
        """The first accepted request (index >= ``since``) matching ``predicate``."""
        return await self.journal.wait_for(predicate, timeout, since)

    def messages_to(self, chat_id: int | str, *, raw: bool = False) -> list[str]:
        """Texts sent (sendMessage) or edited in (editMessageText) to ``chat_id``, in order.

        Visible texts (HTML rendered) unless ``raw``, which gives the ``text`` param.
        """
        return [
            (r.params.get("text", "") if raw else r.text or "")
            for r in self.journal.items
            if r.chat_id == chat_id and r.method in ("sendMessage", "editMessageText")
        ]

    def shown(self, chat_id: int | str, message_id: int) -> str | None:
        """The text message ``message_id`` shows in ``chat_id`` now (None: no such message)."""
        stored = self._messages.get((chat_id, message_id))
        return stored.text if stored is not None else None

    def user_deletes(self, chat_id: int | str, message_id: int) -> None:
        """The user deleted a message in the chat: the bot can no longer edit it."""
        del self._messages[(chat_id, message_id)]

    def clear(self) -> None:
        """Forget recorded requests and counters (e.g. between benchmark rounds)."""
        self.journal.items.clear()
        self.rejected_journal.items.clear()
        self._counts.clear()
        self.rejected_429 = 0

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by an ``offset``."""
        return len(self._updates)

    # ------------------------------------------------------------------ updates

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an Update for getUpdates (``update_id`` assigned if missing); returns it."""
        self._assign_update_id(update)
        queue = self._updates
        if queue and queue[-1]["update_id"] > update["update_id"]:
            queue.append(update)
            self._updates = deque(sorted(queue, key=lambda u: u["update_id"]))
        else:
            queue.append(update)
        query = update.get("callback_query")
        if query and "id" in query:
            self._open_callbacks.add(str(query["id"]))
        self._signal_updates()
        return update

    def _assign_update_id(self, update: dict[str, Any]) -> None:
        if "update_id" not in update:
            update["update_id"] = max(next(self._update_ids), self._last_update_id + 1)
        self._last_update_id = max(self._last_update_id, update["update_id"])

    def _signal_updates(self) -> None:
        self._update_signal.set()
        self._update_signal = asyncio.Event()

    def user(
        self, user_id: int, first_name: str = "Олена", language_code: str | None = "uk",
        last_name: str | None = None, username: str | None = None,
    ) -> dict[str, Any]:
        """A Telegram ``User`` object of a person."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        optional = {"last_name": last_name, "username": username, "language_code": language_code}
        user.update({key: value for key, value in optional.items() if value is not None})
        return user

    def chat(self, chat_id: int | str, first_name: str = "Олена") -> dict[str, Any]:
        """The ``Chat`` object of ``chat_id`` (private for positive ids, else a supergroup)."""
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        if isinstance(chat_id, int) and chat_id > 0:
            chat = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": chat_id, "type": "supergroup", "title": "Батьківський чат"}
        self._chats[chat_id] = chat
        return chat

    def message_update(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        user_id: int | None = None,
        first_name: str = "Олена",
        language_code: str | None = "uk",
        contact: dict[str, Any] | None = None,
        push: bool = True,
    ) -> dict[str, Any]:
        """Build (and queue unless ``push=False``) a private-chat ``message`` Update.

        Commands in ``text`` get ``bot_command`` entities; ``contact`` is a raw
        ``Contact`` dict attached instead of/besides text.
        """
        sender = self.user(user_id if user_id is not None else chat_id, first_name, language_code)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": sender,
            "chat": self.chat(chat_id, first_name),
            "date": int(time.time()),
        }
        if text is not None:
            message["text"] = text
            if entities := command_entities(text):
                message["entities"] = entities
        if contact is not None:
            message["contact"] = contact
        update = {"message": message}
        return self.push_update(update) if push else update

    def contact_update(
        self,
        chat_id: int,
        phone: str,
        *,
        user_id_in_contact: int | None,
        user_id: int | None = None,
        first_name: str = "Олена",
        last_name: str | None = None,
        language_code: str | None = "uk",
        push: bool = True,
    ) -> dict[str, Any]:
        """A message sharing a contact, as from a ``request_contact`` keyboard button.

        ``user_id_in_contact`` equal to the sender's id means "my own number";
        another id (or None) imitates a forwarded contact card.
        """
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
        if last_name is not None:
            contact["last_name"] = last_name
        if user_id_in_contact is not None:
            contact["user_id"] = user_id_in_contact
        return self.message_update(
            chat_id, None, user_id=user_id, first_name=first_name,
            language_code=language_code, contact=contact, push=push,
        )

    def callback_update(
        self,
        chat_id: int,
        data: str,
        message_id: int | None = None,
        *,
        user_id: int | None = None,
        first_name: str = "Олена",
        language_code: str | None = "uk",
        query_id: str | None = None,
        push: bool = True,
    ) -> dict[str, Any]:
        """A ``callback_query`` Update: the user pressed an inline button.

        ``message_id`` defaults to the last message the bot sent to the chat; an
        unknown id is remembered as a bot message so the bot may edit it.
        """
        if message_id is None:
            message_id = self._last_message.get(chat_id) or next(self._message_ids)
        stored = self._messages.setdefault((chat_id, message_id), _StoredMessage("…", None))
        message = self._message_object(chat_id, message_id, stored)
        query: dict[str, Any] = {
            "id": query_id or f"{self.bot_id}{next(self._callback_ids):08d}",
            "from": self.user(user_id if user_id is not None else chat_id, first_name,
                              language_code),
            "message": message,
            "chat_instance": f"-{abs(hash(chat_id)) % 10**18}",
            "data": data,
        }
        update = {"callback_query": query}
        if not push:
            self._open_callbacks.add(query["id"])
            return update
        return self.push_update(update)

    async def post_update_to_webhook(
        self, url: str, update: dict[str, Any], secret_token: str | None = None
    ) -> tuple[int, str]:
        """POST an Update to the bot's webhook as Telegram does; returns (status, body)."""
        self._assign_update_id(update)
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        async with self.client().post(url, data=body, headers=headers) as response:
            return response.status, await response.text()

    # ------------------------------------------------------------------ HTTP plumbing

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        for name, handler in self._control_routes().items():
            app.router.add_route("*", f"/_fake/{name}", handler)
        self._closing = False
        return app

    async def _before_stop(self) -> None:
        self._closing = True
        self._signal_updates()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        self._counts[entry.name] = self._counts.get(entry.name, 0) + 1
        params = await read_params(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        chat_id = params.get("chat_id")
        record = SentRequest(entry.name, chat_id, params, monotonic())
        try:
            self._check_faults(entry.name, chat_id, record.at)
            result = entry.handler(params, record)
            if entry.is_async:
                result = await result
        except TelegramFailure as failure:
            return self._refuse(record, failure)
        if entry.name not in QUERY_METHODS:
            self.journal.record(record)
        return web.json_response({"ok": True, "result": result})

    def _refuse(self, record: SentRequest, failure: TelegramFailure) -> web.Response:
        record.status = failure.status
        record.description = failure.description
        if failure.status == 429:
            self.rejected_429 += 1
        self.rejected_journal.record(record)
        return web.json_response(failure.body(), status=failure.status)

    def _check_faults(self, method: str, chat_id: Any, now: float) -> None:
        failure = self._failures.pop(method)
        if failure is not None:
            raise failure
        if method in RATE_LIMITED_METHODS:
            self._check_flood(chat_id, now)
        if chat_id in self.blocked_chats and method in CHAT_BOUND_METHODS:
            raise TelegramFailure(403, BLOCKED)

    def _check_flood(self, chat_id: Any, now: float) -> None:
        if self._global_limiter is not None:
            wait = self._global_limiter.hit(now)
            if wait is not None:
                raise TelegramFailure.too_many(retry_after_seconds(wait))
        if self._per_chat_rate is not None and chat_id is not None:
            limiter = self._chat_limiters.get(chat_id)
            if limiter is None:
                limiter = limiter_for_rate(self._per_chat_rate, self._per_chat_burst)
                self._chat_limiters[chat_id] = limiter
            wait = limiter.hit(now)
            if wait is not None:
                raise TelegramFailure.too_many(retry_after_seconds(wait))

    def _method_table(self) -> dict[str, _Method]:
        sync: dict[str, Handler] = {
            "getMe": lambda p, r: self.bot_user | {
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            },
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda p, r: self.commands.get(self._commands_key(p), []),
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": lambda p, r: self._send_file(p, r, "document"),
            "sendPhoto": lambda p, r: self._send_file(p, r, "photo"),
            "sendChatAction": self._send_chat_action,
            "close": lambda p, r: True,
            "logOut": lambda p, r: True,
        }
        table = {name.lower(): _Method(name, handler) for name, handler in sync.items()}
        table["getupdates"] = _Method("getUpdates", self._get_updates, is_async=True)
        return table

    # ------------------------------------------------------------------ getUpdates

    async def _get_updates(self, params: dict[str, Any], record: SentRequest) -> list[dict]:
        """Long polling with offset confirmation, ``allowed_updates`` and 409 conflicts."""
        if self.webhook_url:
            raise TelegramFailure(
                409, "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(params.get("offset"))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or None
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        self._poll_seq += 1
        ticket = self._poll_seq
        if self._polls_waiting:
            self._signal_updates()  # an older poll learns it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            batch = self._select_updates(limit)
            if batch or self._closing:
                return batch
            if ticket != self._poll_seq and self.detect_poll_conflicts:
                raise TelegramFailure(409, DEFAULT_DESCRIPTIONS[409])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._wait_for_update(remaining)

    async def _wait_for_update(self, timeout: float) -> None:
        self._polls_waiting += 1
        try:
            await asyncio.wait_for(self._update_signal.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._polls_waiting -= 1

    def _confirm(self, offset: Any) -> None:
        """Forget updates confirmed by ``offset`` (negative: keep only the last -offset)."""
        if not isinstance(offset, int) or offset == 0:
            return
        queue = self._updates
        if offset > 0:
            while queue and queue[0]["update_id"] < offset:
                queue.popleft()
        else:
            while len(queue) > -offset:
                queue.popleft()

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = update_type(update)
        if self._allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _select_updates(self, limit: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        for update in self._updates:
            if self._is_allowed(update):
                batch.append(update)
                if len(batch) >= limit:
                    break
        return batch

    # ------------------------------------------------------------------ webhook & commands

    def _delete_webhook(self, params: dict[str, Any], record: SentRequest) -> bool:
        self.webhook_url = ""
        self.webhook_secret_token = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: dict[str, Any], record: SentRequest) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise TelegramFailure.bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        self.webhook_url = str(params.get("url") or "")
        self.webhook_secret_token = secret
        return True

    def _get_webhook_info(self, params: dict[str, Any], record: SentRequest) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url, "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _delete_my_commands(self, params: dict[str, Any], record: SentRequest) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _set_my_commands(self, params: dict[str, Any], record: SentRequest) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise TelegramFailure.bad_request("parameter \"commands\" is required")
        for command in commands:
            if not _BOT_COMMAND_RE.match(str(command.get("command", ""))):
                raise TelegramFailure.bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise TelegramFailure.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    def _set_chat_menu_button(self, params: dict[str, Any], record: SentRequest) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if button.get("type") == "web_app":
            url = str((button.get("web_app") or {}).get("url", ""))
            if not url.startswith("https://"):  # Telegram opens Mini Apps over https only
                raise TelegramFailure.bad_request("BUTTON_URL_INVALID")
            if not 1 <= len(str(button.get("text", ""))) <= 64:
                raise TelegramFailure.bad_request("BUTTON_TEXT_INVALID")
        self.menu_buttons[params.get("chat_id")] = button
        return True

    # ------------------------------------------------------------------ messages

    def _target_chat(self, params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise TelegramFailure.bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise TelegramFailure.bad_request("chat not found")
        return chat_id

    def _visible(self, text: str, parse_mode: Any) -> str:
        if self.validate_html and isinstance(parse_mode, str) and parse_mode.lower() == "html":
            return render_html(text)
        return text

    @staticmethod
    def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            return markup
        return None

    def _message_object(
        self, chat_id: int | str, message_id: int, stored: _StoredMessage, **extra: Any
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id, "from": self.bot_user, "chat": self.chat(chat_id),
            "date": int(time.time()),
        }
        if stored.text is not None:
            message["text"] = stored.text
        if stored.caption is not None:
            message["caption"] = stored.caption
        if stored.markup is not None:
            message["reply_markup"] = stored.markup
        message.update(extra)
        return message

    def _new_message(
        self, chat_id: int | str, record: SentRequest, stored: _StoredMessage, **extra: Any
    ) -> dict[str, Any]:
        message_id = next(self._message_ids)
        self._messages[(chat_id, message_id)] = stored
        self._last_message[chat_id] = message_id
        record.message_id = message_id
        return self._message_object(chat_id, message_id, stored, **extra)

    def _message_text(self, params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramFailure.bad_request("message text is empty")
        visible = self._visible(text, params.get("parse_mode"))
        if not visible.strip():
            raise TelegramFailure.bad_request("message text is empty")
        if len(visible) > MAX_TEXT:
            raise TelegramFailure.bad_request("message is too long")
        return visible

    def _send_message(self, params: dict[str, Any], record: SentRequest) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        record.text = self._message_text(params)
        stored = _StoredMessage(record.text, self._inline_markup(params))
        return self._new_message(chat_id, record, stored)

    def _stored_target(
        self, params: dict[str, Any], action: str = "edit"
    ) -> tuple[int | str, int, _StoredMessage]:
        chat_id = self._target_chat(params)
        message_id = params.get("message_id")
        stored = self._messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if stored is None or not isinstance(message_id, int):
            raise TelegramFailure.bad_request(f"message to {action} not found")
        return chat_id, message_id, stored

    def _apply_edit(
        self, chat_id: int | str, message_id: int, old: _StoredMessage, new: _StoredMessage,
        record: SentRequest,
    ) -> dict[str, Any]:
        if new == old:
            raise TelegramFailure.bad_request(NOT_MODIFIED[len("Bad Request: "):])
        self._messages[(chat_id, message_id)] = new
        record.message_id = message_id
        return self._message_object(chat_id, message_id, new, edit_date=int(time.time()))

    def _edit_message_text(self, params: dict[str, Any], record: SentRequest) -> Any:
        if params.get("inline_message_id"):
            record.text = self._message_text(params)
            return True
        chat_id, message_id, old = self._stored_target(params)
        if old.text is None:
            raise TelegramFailure.bad_request("there is no text in the message to edit")
        record.text = self._message_text(params)
        new = _StoredMessage(record.text, self._inline_markup(params))
        return self._apply_edit(chat_id, message_id, old, new, record)

    def _edit_message_reply_markup(self, params: dict[str, Any], record: SentRequest) -> Any:
        if params.get("inline_message_id"):
            return True
        chat_id, message_id, old = self._stored_target(params)
        new = _StoredMessage(old.text, self._inline_markup(params), old.caption)
        return self._apply_edit(chat_id, message_id, old, new, record)

    def _delete_message(self, params: dict[str, Any], record: SentRequest) -> bool:
        chat_id, message_id, _ = self._stored_target(params, "delete")
        del self._messages[(chat_id, message_id)]
        record.message_id = message_id
        return True

    def _answer_callback_query(self, params: dict[str, Any], record: SentRequest) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise TelegramFailure.bad_request(QUERY_TOO_OLD[len("Bad Request: "):])
        self._open_callbacks.discard(query_id)
        return True

    def _send_chat_action(self, params: dict[str, Any], record: SentRequest) -> bool:
        self._target_chat(params)
        if not params.get("action"):
            raise TelegramFailure.bad_request("action is empty")
        return True

    def _send_file(self, params: dict[str, Any], record: SentRequest, kind: str) -> dict[str, Any]:
        """sendDocument / sendPhoto: an upload (file info) or a file_id/URL string."""
        chat_id = self._target_chat(params)
        upload = params.get(kind)
        if not upload:
            raise TelegramFailure.bad_request(f"there is no {kind} in the request")
        if isinstance(upload, dict) and not upload.get("size"):
            raise TelegramFailure.bad_request("file must be non-empty")
        caption = params.get("caption")
        if isinstance(caption, str):
            caption = self._visible(caption, params.get("parse_mode"))
            if len(caption) > MAX_CAPTION:
                raise TelegramFailure.bad_request("message caption is too long")
            record.text = caption
        stored = _StoredMessage(None, self._inline_markup(params), caption or None)
        return self._new_message(chat_id, record, stored, **{kind: self._file_object(kind, upload)})

    def _file_object(self, kind: str, upload: Any) -> Any:
        info = upload if isinstance(upload, dict) else {"filename": None, "size": 0}
        number = next(self._message_ids)
        file_id = f"{'BQAC' if kind == 'document' else 'AgAC'}AgIAAxkBAAI{number:08d}"
        base = {"file_id": file_id, "file_unique_id": f"AQAD{number:08d}",
                "file_size": info.get("size") or 0}
        if kind == "photo":
            return [base | {"width": 320, "height": 240}]
        document = base | {"mime_type": info.get("content_type") or "application/octet-stream"}
        if info.get("filename"):
            document["file_name"] = info["filename"]
        return document

    # ------------------------------------------------------------------ control endpoints

    def _control_routes(self) -> dict[str, Callable[[web.Request], Awaitable[web.Response]]]:
        """``/_fake/*``: drive the fake from another process (the standalone runner)."""

        async def updates(request: web.Request) -> web.Response:
            body = await request.json()
            pushed = [self.push_update(u) for u in (body if isinstance(body, list) else [body])]
            return web.json_response({"ok": True, "result": [u["update_id"] for u in pushed]})

        def builder(build: Callable[..., dict[str, Any]]) -> Callable[..., Awaitable[web.Response]]:
            async def handle(request: web.Request) -> web.Response:
                return web.json_response({"ok": True, "result": build(**await request.json())})
            return handle

        async def sent(request: web.Request) -> web.Response:
            return web.json_response([r.to_json() for r in self.journal.items])

        async def fail_next(request: web.Request) -> web.Response:
            self.fail_next(**await request.json())
            return web.json_response({"ok": True})

        async def blocked(request: web.Request) -> web.Response:
            body = await request.json()
            (self.blocked_chats.add if body.get("blocked", True) else self.blocked_chats.discard)(
                body["chat_id"]
            )
            return web.json_response({"ok": True})

        async def stats(request: web.Request) -> web.Response:
            return web.json_response({
                "counts": self._counts, "rejected_429": self.rejected_429,
                "sent": len(self.journal), "rejected": len(self.rejected_journal),
                "pending_updates": len(self._updates),
            })

        return {
            "updates": updates, "message_update": builder(self.message_update),
            "contact_update": builder(self.contact_update),
            "callback_update": builder(self.callback_update), "sent": sent,
            "fail_next": fail_next, "blocked": blocked, "stats": stats,
        }


# --------------------------------------------------------------------------- runner


def _json_line_writer(stream: TextIO) -> Callable[[SentRequest], None]:
    def write(record: SentRequest) -> None:
        stream.write(json.dumps(record.to_json(), ensure_ascii=False, default=str) + "\n")
        stream.flush()
    return write


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API until killed.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (see READY line)")
    parser.add_argument("--token", default="123:ABC")
    parser.add_argument("--rate", type=float, default=None, help="global send limit per second")
    parser.add_argument("--per-chat", type=float, default=None, help="send limit per chat/s")
    parser.add_argument("--per-chat-burst", type=int, default=1, help="extra sends tolerated")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
    parser.add_argument("--log", default=None, help="append accepted requests as JSON lines")
    parser.add_argument("--log-rejected", action="store_true", help="log refused ones too")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGTERM/SIGINT; print ``READY <base_url>`` once listening."""
    api = FakeTelegramBotAPI(
        args.token, host=args.host, port=args.port, rate_limit_per_second=args.rate,
        per_chat_per_second=args.per_chat, per_chat_burst=args.per_chat_burst,
        latency=args.latency,
    )
    # open while the server runs, closed once it has stopped
    log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
    if log is not None:
        api.journal.listeners.append(_json_line_writer(log))
        if args.log_rejected:
            api.rejected_journal.listeners.append(_json_line_writer(log))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with api:
        print(f"READY {api.base_url}", flush=True)
        await stop.wait()
    if log is not None:
        log.close()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(_parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
