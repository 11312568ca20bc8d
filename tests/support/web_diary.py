"""What the web diary's tests share: Telegram's launch data signed as Telegram signs it,
the production web app with the diary's routes on 127.0.0.1, and a movable clock."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from school_bot.bot.telegram.web_app import launch_check
from school_bot.handlers.conversation import Conversation
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.web.diary.routes import register_diary
from school_bot.web.diary.sessions import COOKIE
from tests.support.api import ApiServer, serve
from tests.support.core import conversation
from tests.support.small_school import NOW

TOKEN = "123456:TEST-diary-token"
PUBLIC_URL = "https://diary.example.org"
DIARY_SETTINGS: dict[str, Any] = {"telegram_bot_token": TOKEN, "web_public_url": PUBLIC_URL}


def init_data(user_id: int, *, token: str = TOKEN, auth_date: datetime = NOW,
              language: str | None = "uk", **extra: str) -> str:
    """Launch data as Telegram builds it: the fields, and `hash`, the HMAC-SHA256 of the
    data-check-string (the fields sorted, `key=value` per line) under the key
    HMAC-SHA256("WebAppData", bot token)."""
    user: dict[str, Any] = {"id": user_id, "first_name": "Олена"}
    if language:
        user["language_code"] = language
    fields = {"auth_date": str(int(auth_date.timestamp())), "query_id": "AAF-test",
              "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")), **extra}
    check_string = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def diary_core(db: Database, **settings: Any) -> Conversation:
    return conversation(db, **{**DIARY_SETTINGS, **settings})


@asynccontextmanager
async def diary_server(db: Database, clock: Clock | None = None, *, attempts: int = 20,
                       **settings: Any) -> AsyncIterator[ApiServer]:
    config = Settings(_env_file=None, database_url=db.url, **{**DIARY_SETTINGS, **settings})
    register = partial(register_diary, telegram=launch_check(TOKEN), clock=clock or Clock(),
                       attempts=attempts)
    async with serve(db, config, registrars=[register]) as server:
        yield server


def session_cookie(headers: Any) -> str | None:
    """The diary's session token from a response's Set-Cookie headers."""
    for header in headers.getall("Set-Cookie", []):
        name, _, rest = header.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0]
    return None
