"""A messenger's receipts (Viber's delivered, seen, failed): they fill columns, never a status.

The outcome of a row (sent, retry, dead, blocked) is the dispatcher's alone. A receipt
names a chat and a message token and only fills the row sent with that token:
`delivered_at`, `seen_at` (seen implies delivered) or, for `failed` (the app refused to
show the message; Viber sends no delivered/seen for it, and sending it again would fail
the same way), `receipt_error`.

A receipt can come before the send is recorded: Viber may call the webhook while the
recorder is still committing the send, even before the send's HTTP answer is read. No
row carries the token yet, but the chat has a row `sending` (claimed and committed
before the request was made), so the receipt is kept in `early_receipts` and the
recorder applies it when it records the send. Both sides first take a
transaction-scoped lock on the token (PostgreSQL; SQLite runs one writer at a time
anyway), so whichever commits second sees what the other wrote: no ordering loses a
receipt. A receipt for a chat with nothing `sending` is of a message the outbox did not
send (an answer to the parent) and is dropped. Leftovers whose send is never recorded
(its request was interrupted, and the message went again under a new token) are purged
after a while.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.models import EarlyReceipt, OutboxMessage, UTCDateTime
from school_bot.storage.outbox_status import OutboxStatus, Receipt

MAX_ERROR = 500
# the first key of PostgreSQL's two-key advisory locks: this module's namespace
LOCK_CLASS = 0x5EC0
_LOCK = text("SELECT pg_advisory_xact_lock(:lock_class, CAST(k AS INTEGER)) "
             "FROM unnest(:keys) AS k").bindparams(bindparam("keys", type_=ARRAY(BigInteger)))


def _key(token: str) -> int:
    """A token's lock key (32 bits: a collision only makes two receipts wait for each other)."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big",
                          signed=True)


async def lock_tokens(session: AsyncSession, tokens: Iterable[str]) -> None:
    """Hold the receipt lock of each token until the transaction ends (in one order, so
    two holders of several cannot deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_key(token) for token in tokens})
    if keys:
        await session.execute(_LOCK, {"lock_class": LOCK_CLASS, "keys": keys})


def _fills(receipt: Receipt, at: datetime, error: str | None) -> dict[str, Any]:
    """What a receipt writes: only what is still empty (a repeat changes nothing)."""
    when = literal(at, UTCDateTime())
    delivered = func.coalesce(OutboxMessage.delivered_at, when)
    if receipt is Receipt.DELIVERED:
        return {"delivered_at": delivered}
    if receipt is Receipt.SEEN:
        return {"delivered_at": delivered, "seen_at": func.coalesce(OutboxMessage.seen_at, when)}
    return {"receipt_error": func.coalesce(OutboxMessage.receipt_error,
                                           literal((error or "failed")[:MAX_ERROR]))}


async def _fill(session: AsyncSession, account_id: int, token: str, receipt: Receipt,
                at: datetime, error: str | None) -> int:
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.account_id == account_id, OutboxMessage.platform_message_id == token)
        .values(**_fills(receipt, at, error))
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


async def take_receipt(session: AsyncSession, *, account_id: int, token: str, receipt: Receipt,
                       at: datetime, error: str | None = None) -> str:
    """Fill the rows sent to this chat with `token` ("applied"); or keep the receipt for
    a send of this chat not recorded yet ("kept"); or drop it ("dropped")."""
    await lock_tokens(session, [token])
    if await _fill(session, account_id, token, receipt, at, error):
        return "applied"
    sending = await session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.account_id == account_id, OutboxMessage.status == OutboxStatus.SENDING)
        .limit(1))
    if sending is None:
        return "dropped"
    session.add(EarlyReceipt(account_id=account_id, message_token=token, event=receipt.value,
                             error=None if error is None else error[:MAX_ERROR], at=at))
    return "kept"


async def apply_early_receipts(session: AsyncSession, sent: Sequence[tuple[int, str]]) -> int:
    """The recorder has just written these (account id, token) sends, under
    `lock_tokens`: apply the receipts that came before them; return how many."""
    if not sent:
        return 0
    wanted = set(sent)
    tokens = sorted({token for _, token in sent})
    early = (await session.scalars(
        select(EarlyReceipt).where(EarlyReceipt.message_token.in_(tokens))
        .order_by(EarlyReceipt.id))).all()
    applied = [r for r in early if (r.account_id, r.message_token) in wanted]
    for receipt in applied:
        await _fill(session, receipt.account_id, receipt.message_token, Receipt(receipt.event),
                    receipt.at, receipt.error)
    if applied:
        await session.execute(delete(EarlyReceipt).where(
            EarlyReceipt.id.in_([r.id for r in applied])))
    return len(applied)


async def purge_early_receipts(session: AsyncSession, before: datetime) -> int:
    """Forget the receipts kept since before `before` whose send was never recorded."""
    result = await session.execute(delete(EarlyReceipt).where(EarlyReceipt.at < before))
    return result.rowcount or 0
