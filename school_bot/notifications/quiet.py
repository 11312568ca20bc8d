"""Quiet hours: when a notification to a chat has to wait until morning.

The window is the chat's own (or the default), read in the chat's zone (its school's:
notifications/chat_zones.py). It holds every non-urgent row; of the urgent ones, only
an absence alert, and only when its parent turned "absence alerts in quiet hours" off.
Urgent announcements always go.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from school_bot.notifications.outbox import URGENT_KINDS, Priority
from school_bot.shared.settings import QuietHours


def held_in_quiet_hours(priority: int, kind: str, absence_alerts_in_quiet_hours: bool) -> bool:
    """Whether the chat's quiet hours hold a row of this priority and kind."""
    if kind in URGENT_KINDS:
        return not absence_alerts_in_quiet_hours
    return priority != Priority.URGENT


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
