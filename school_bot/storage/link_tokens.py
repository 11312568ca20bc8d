"""Secret link tokens (the web diary's one-time links, calendar feed links).

A token is 32 random bytes (URL-safe base64, 43 characters). It is shown once, when
made; the database keeps only its SHA-256 (random enough that a fast hash suffices),
so a leaked table gives no working link. A string that could not be a token is not
looked up at all.
"""

from __future__ import annotations

import hashlib
import re
import secrets

_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what new_token makes


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def is_token_shaped(token: str) -> bool:
    return _TOKEN_SHAPE.match(token) is not None
