"""Failed linking attempts of one chat: after 5 within an hour, the chat waits."""

from __future__ import annotations

from datetime import datetime, timedelta

from school_bot.storage.models import Account

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)


def _recent(account: Account, now: datetime) -> bool:
    last = account.last_failed_link_at
    return last is not None and now - last < WINDOW


def locked_out(account: Account, now: datetime) -> bool:
    return _recent(account, now) and account.failed_link_attempts >= MAX_FAILURES


def count_failure(account: Account, now: datetime) -> None:
    if not _recent(account, now):
        account.failed_link_attempts = 0
    account.failed_link_attempts = (account.failed_link_attempts or 0) + 1
    account.last_failed_link_at = now


def forgive(account: Account) -> None:
    account.failed_link_attempts = 0
    account.last_failed_link_at = None
