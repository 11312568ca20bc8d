"""API keys of the school system: made, listed, revoked, and checked on every request.

A key is `sk_` + 32 random bytes (URL-safe base64). It is shown once, when made; the
database keeps only its SHA-256 (a key is random enough that a fast hash suffices) and
its first characters, so a listed key can be recognised. Every request looks its key up
again, so a revoked key stops at once. Failed authentications are counted per client
address (an IPv6 client per /64) and per key prefix, and answered 429 once too many
fall in a minute; a valid key always passes (`FailedAuthLimiter`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage import audit
from school_bot.storage.models import ApiKey
from school_bot.storage.writes import changed_rows

KEY_MARK = "sk_"
PREFIX_LENGTH = 10  # "sk_" and 7 characters of the secret part: enough to tell keys apart
_KEY_SHAPE = re.compile(r"^sk_[A-Za-z0-9_-]{43}$")  # what generate_key makes


def generate_key() -> str:
    return KEY_MARK + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


ACTOR_LENGTH = 128  # AuditEntry.actor and GradeChange.changed_by


def actor_for(key: ApiKey) -> str:
    """How audit entries and the grade history name a write made with this key."""
    suffix = f"#{key.id}"
    return f"api:{key.name}"[:ACTOR_LENGTH - len(suffix)] + suffix


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


# ---------------------------------------------------------------- lookup


def is_key_shaped(token: str) -> bool:
    """Whether the token could be a key at all (one that cannot is not looked up)."""
    return _KEY_SHAPE.match(token) is not None


async def find_active_key(session: AsyncSession, token: str) -> ApiKey | None:
    """The unrevoked key with this token's hash, if any."""
    return await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(token), ApiKey.revoked_at.is_(None))
    )


async def mark_used(session: AsyncSession, key_id: int) -> bool:
    """Stamp last_used_at in the caller's unit of work; False when the key was revoked since."""
    return bool(await changed_rows(
        session,
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(last_used_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    ))


# ---------------------------------------------------------------- management


@dataclass(frozen=True)
class NewKey:
    record: ApiKey
    secret: str  # shown once, never stored


async def create_key(session: AsyncSession, *, school_id: str | None, name: str,
                     actor: str) -> NewKey:
    secret = generate_key()
    record = ApiKey(school_id=school_id, name=name, key_hash=hash_key(secret),
                    prefix=secret[:PREFIX_LENGTH], created_at=datetime.now(UTC))
    session.add(record)
    await session.flush()
    await audit.record(session, actor=actor, action="apikey.created", school_id=school_id,
                       entity="api_key", entity_id=str(record.id),
                       details={"name": name, "prefix": record.prefix,
                                "scope": "department" if school_id is None else "school"})
    return NewKey(record, secret)


async def revoke_key(session: AsyncSession, key_id: int, *, actor: str) -> ApiKey | None:
    """Revoke a key; None when there is no such key. Revoking twice changes nothing."""
    record = await session.get(ApiKey, key_id)
    if record is None or record.revoked_at is not None:
        return record
    record.revoked_at = datetime.now(UTC)
    await session.flush()
    await audit.record(session, actor=actor, action="apikey.revoked", school_id=record.school_id,
                       entity="api_key", entity_id=str(record.id),
                       details={"name": record.name, "prefix": record.prefix})
    return record


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())


# ---------------------------------------------------------------- failed-auth limit


def client_bucket(remote: str | None) -> str:
    """The unit a limit applies to: an IPv4 address, or an IPv6 client's /64."""
    if not remote:
        return "-"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


class FailedAuthLimiter:
    """Failed authentications in a sliding window, per client address and per presented
    key prefix; only failures are counted and only failures are refused.

    A valid key is looked up and passes whatever its address or prefix did before: a
    school behind the same proxy as a neighbour whose revoked key keeps retrying is never
    refused. Past `limit` failures in `window` seconds, from one address (many keys tried
    from one place) or with one prefix (one key guessed at from many places), a failure
    is answered 429 with the seconds to wait. A key holds 256 random bits and needs no
    limit to stay secret; this one tells a client that keeps failing to stop.
    Each count holds at most `max_clients` entries (the least recently failed go first).
    """

    def __init__(self, limit: int = 10, window: float = 60.0, *, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._by_address = SlidingWindows(limit, window, max_clients, clock)
        self._by_prefix = SlidingWindows(limit, window, max_clients, clock)

    def failed(self, client: str, token: str | None) -> float | None:
        """Count a failed authentication; the seconds to wait when it is one too many,
        else None (a plain 401)."""
        buckets = [(self._by_address, client)]
        if token:
            buckets.append((self._by_prefix, token[:PREFIX_LENGTH]))
        waits = [wait for windows, key in buckets if (wait := windows.retry_after(key)) is not None]
        for windows, key in buckets:
            windows.record(key)
        return max(waits, default=None)

    def tracked(self) -> int:
        """How many addresses and prefixes are being counted."""
        return len(self._by_address) + len(self._by_prefix)


class SlidingWindows:
    """The times of the last `limit` failures of each key, for `window` seconds."""

    def __init__(self, limit: int, window: float, max_keys: int,
                 clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, key: str) -> float | None:
        """Seconds until this key is under the limit again, or None when it is now."""
        failures = self._recent(key)
        if failures is None or len(failures) < self.limit:
            return None
        return max(failures[0] + self.window - self._clock(), 0.001)

    def record(self, key: str) -> None:
        failures = self._recent(key)
        if failures is None:
            failures = self._failures[key] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
        self._failures.move_to_end(key)
        failures.append(self._clock())

    def _recent(self, key: str) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures
