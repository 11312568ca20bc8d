"""The web diary's own sessions: a short-lived token the server signs and checks again.

A session names the chat (platform, chat id), its account's id, the language the chat
was seen in when the session began (the account's own choice wins), and when it ends:
`<body>.<signature>`, the body URL-safe base64 of a JSON list, the signature its
HMAC-SHA256 under the server's key. Nothing is stored: a forged or altered token fails
the signature, an old one its end time, and every request reads the account and family
again (handlers/web_diary.py), so an erased or unlinked chat is refused at once.

The key is `WEB_SESSION_SECRET`; without it, one derived from the bots' tokens (each
web process of a city then derives the same); with neither, a random one for this
process (the console demo).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from school_bot.shared.settings import Settings

VERSION = 1
MAX_TOKEN = 512
COOKIE = "diary_session"


@dataclass(frozen=True)
class Claims:
    account_id: int
    platform: str
    chat_id: str
    expires: int  # Unix seconds
    locale: str = ""  # the messenger's or the browser's language at the start


def session_key(settings: Settings) -> bytes:
    if settings.web_session_secret is not None and settings.web_session_secret.get_secret_value():
        return hashlib.sha256(b"web-diary-session\0" +
                              settings.web_session_secret.get_secret_value().encode()).digest()
    tokens = [secret.get_secret_value() for secret in (settings.telegram_bot_token, settings.viber_auth_token)
              if secret is not None and secret.get_secret_value()]
    if not tokens:
        return secrets.token_bytes(32)
    return hmac.new(b"web-diary-session", "\0".join(tokens).encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claims: Claims) -> str:
    body = _b64(json.dumps([VERSION, claims.account_id, claims.platform, claims.chat_id, claims.expires,
                            claims.locale], separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def verify(key: bytes, token: str | None, now: float) -> Claims | None:
    """The claims of a genuine, unexpired token; None for anything else."""
    if not token or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    body, signature = token.split(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        version, account_id, platform, chat_id, expires, locale = json.loads(_unb64(body))
    except (ValueError, TypeError, binascii.Error):
        return None
    if version != VERSION or not isinstance(account_id, int) or not isinstance(expires, int):
        return None
    if expires <= now or not all(isinstance(text, str) for text in (platform, chat_id, locale)):
        return None
    return Claims(account_id, platform, chat_id, expires, locale)
