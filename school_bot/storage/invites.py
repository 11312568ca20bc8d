"""One-time invitation codes: the one rule for what a code is, and issuing and finding them.

A code is whatever the school system issued (its own format) or what `invites` makes:
after dropping spaces and dashes, 6 to 32 Latin letters and digits. Two spellings are
the same code when they are equal ignoring case, spaces and dashes, with the
look-alikes read alike: the Cyrillic А В Е К М Н О Р С Т Х І (either case, as a parent
on a Ukrainian keyboard types them) as the Latin A B E K M H O P C T X I, and O, I, L
as 0, 1, 1. `normalize_code` gives that comparison form; only its SHA-256 is stored.

The bot's own codes are 10 characters of Crockford's base32 (50 random bits, no
look-alikes at all), printed grouped as `K7QF-9XBM-2D`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import InviteCode, utc_now

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the bot's own codes
CODE_LENGTH = 10
MIN_LENGTH, MAX_LENGTH = 6, 32  # any code, in its comparison form
DEFAULT_LIFETIME = timedelta(days=30)
IMPORTED_LIFETIME = timedelta(days=365)  # a code the school system sent (storage/ingest)
MAX_FAILED_ATTEMPTS = 5

DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"  # hyphen-minus, hyphens, en/em dash, minus
CYRILLIC_LOOKALIKES = "АВЕКМНОРСТХІ"
LATIN_TWINS = "ABEKMHOPCTXI"
_DIGIT_TWINS = {"O": "0", "I": "1", "L": "1"}


_SEPARATOR = rf"[\s{re.escape(DASHES)}]"
_CHARACTER = f"[0-9A-Za-z{CYRILLIC_LOOKALIKES}{CYRILLIC_LOOKALIKES.lower()}]"
# The same rule as a regular expression over the text as typed (for the API's schema).
CODE_PATTERN = rf"^{_SEPARATOR}*(?:{_CHARACTER}{_SEPARATOR}*){{{MIN_LENGTH},{MAX_LENGTH}}}$"


def _comparison_table() -> dict[int, str | None]:
    canon = {ch: ch.upper() for ch in string.ascii_letters + string.digits}
    for cyrillic, latin in zip(CYRILLIC_LOOKALIKES, LATIN_TWINS, strict=True):
        canon[cyrillic] = canon[cyrillic.lower()] = latin
    table: dict[int, str | None] = {ord(ch): _DIGIT_TWINS.get(c, c) for ch, c in canon.items()}
    table.update({ord(dash): None for dash in DASHES})
    return table


_TABLE = _comparison_table()
_COMPARED = frozenset(value for value in _TABLE.values() if value)  # 0-9 and A-Z but I, L, O


def normalize_code(text: str) -> str:
    """The comparison form: no spaces or dashes, upper case, look-alikes read alike.
    Characters outside the rule are kept, so that such a text is not a code."""
    return "".join(text.split()).translate(_TABLE)


def code_problem(text: str) -> str | None:
    """Why a text is not an invitation code (for the import's reasons), or None."""
    compared = normalize_code(text)
    if not set(compared) <= _COMPARED:
        return "may hold only Latin letters, digits, spaces and dashes"
    if not MIN_LENGTH <= len(compared) <= MAX_LENGTH:
        return (f"has {len(compared)} letters and digits; a code needs "
                f"{MIN_LENGTH} to {MAX_LENGTH}")
    return None


def looks_like_code(text: str) -> bool:
    return code_problem(text) is None


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


async def issue_code(
    session: AsyncSession, guardian_id: str | None = None, *, staff_id: str | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME, code: str | None = None,
) -> str:
    """A new code for the guardian or the staff member; any earlier unused code of
    theirs stops working."""
    if (guardian_id is None) == (staff_id is None):
        raise ValueError("a code is for one guardian or one staff member")
    owner = (InviteCode.guardian_id == guardian_id if guardian_id is not None
             else InviteCode.staff_id == staff_id)
    now = utc_now()
    await session.execute(
        update(InviteCode)
        .where(owner, InviteCode.used_at.is_(None), InviteCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = code or new_code()
    session.add(InviteCode(guardian_id=guardian_id, staff_id=staff_id, code_hash=hash_code(code),
                           expires_at=now + lifetime))
    await session.flush()
    return code


def usable(row: InviteCode | None, now: datetime) -> bool:
    """Unexpired, unused, unrevoked and not locked by wrong tries."""
    return (row is not None and row.used_at is None and row.revoked_at is None
            and row.expires_at > now and row.failed_attempts < MAX_FAILED_ATTEMPTS)


async def find_usable(session: AsyncSession, code: str, now: datetime | None = None) -> InviteCode | None:
    """The code's row when it may still be used; None for a text that is no code."""
    if not looks_like_code(code):
        return None
    row = await session.scalar(select(InviteCode).where(InviteCode.code_hash == hash_code(code)))
    return row if usable(row, now or utc_now()) else None
