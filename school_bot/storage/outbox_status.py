"""The outbox's one vocabulary of delivery outcomes.

Only the dispatcher moves a row through these (queued → sending → sent | retry | dead |
blocked); the messenger's receipts (delivered, seen, failed on the phone) never do:
they fill columns of their own. The `outbox.status` column refuses any other word (a
CHECK constraint, migration 0003).
"""

from __future__ import annotations

from enum import StrEnum


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"   # claimed by a dispatcher; back to queued when its lease expires
    SENT = "sent"
    RETRY = "retry"       # a temporary failure; waits for next_attempt_at
    DEAD = "dead"         # permanent failure or too many attempts
    BLOCKED = "blocked"   # the recipient blocked the bot or the account is inactive


DUE = (OutboxStatus.QUEUED, OutboxStatus.RETRY)
FINAL = (OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.BLOCKED)


class Receipt(StrEnum):
    """What a messenger reports about a message after it was sent (Viber does)."""

    DELIVERED = "delivered"   # on the recipient's phone
    SEEN = "seen"             # opened (so delivered too)
    FAILED = "failed"         # the app refused to show it: no resend helps


def check_sql(column: str, words: type[StrEnum]) -> str:
    """A CHECK constraint's condition: `column` holds one of `words`."""
    return f"{column} IN ({', '.join(repr(str(word)) for word in words)})"
