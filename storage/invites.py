"""One-time invitation codes: issued by the school for a consenting guardian.

A code is 10 characters of Crockford's base32 (50 random bits: not guessable, no
sequential ids), printed grouped as `K7QF-9XBM-2D`. Only its SHA-256 is stored; the
comparison ignores case, spaces and dashes, and reads the look-alikes O/I/L as 0/1/1.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InviteCode, utc_now

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
DEFAULT_LIFETIME = timedelta(days=30)
MAX_FAILED_ATTEMPTS = 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def normalize_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return cleaned.translate(_LOOKALIKES)


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    cleaned = normalize_code(text)
    return len(cleaned) == CODE_LENGTH and all(ch in ALPHABET for ch in cleaned)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


async def issue_code(
    session: AsyncSession, guardian_id: str, *, lifetime: timedelta = DEFAULT_LIFETIME,
    code: str | None = None,
) -> str:
    """A new code for the guardian; any earlier unused code of theirs stops working."""
    now = utc_now()
    await session.execute(
        update(InviteCode)
        .where(InviteCode.guardian_id == guardian_id, InviteCode.used_at.is_(None),
               InviteCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = code or new_code()
    session.add(InviteCode(guardian_id=guardian_id, code_hash=hash_code(code), expires_at=now + lifetime))
    await session.flush()
    return code


async def find_usable(session: AsyncSession, code: str, now: datetime | None = None) -> InviteCode | None:
    """The code's row when it may still be used (unexpired, unused, unrevoked, not locked)."""
    now = now or utc_now()
    row = await session.scalar(select(InviteCode).where(InviteCode.code_hash == hash_code(code)))
    if row is None or row.used_at or row.revoked_at or row.expires_at <= now:
        return None
    if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
        return None
    return row
