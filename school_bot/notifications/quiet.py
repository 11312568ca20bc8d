"""Quiet hours: when a non-urgent notification to a chat has to wait until morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from school_bot.shared.settings import QuietHours


def account_quiet_hours(value: str | None, default: QuietHours | None) -> QuietHours | None:
    """The account's own window; None means "the default", "" means "none"."""
    if value is None:
        return default
    try:
        return QuietHours.parse(value)
    except ValueError:
        return default


def quiet_until(hours: QuietHours | None, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The end of the quiet window `now` falls in (UTC), or None when it is not quiet."""
    if hours is None:
        return None
    local = now.astimezone(zone)
    if not hours.contains(local.time()):
        return None
    end = datetime.combine(local.date(), hours.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), hours.end, tzinfo=zone)
    return end.astimezone(UTC)
