"""Days and periods in the school's own calendar (its time zone decides "today")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from school_bot.shared.i18n import format_date, t


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    title: str  # already translated: "this week (23–29 November)"


def week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def term_of(day: date) -> tuple[date, date]:
    """Ukrainian school terms: 1 September – 31 December, 1 January – 31 August."""
    if day.month >= 9:
        return date(day.year, 9, 1), date(day.year, 12, 31)
    return date(day.year, 1, 1), date(day.year, 8, 31)


def span(first: date, last: date, locale: str) -> str:
    if first == last:
        return format_date(first, locale)
    return f"{format_date(first, locale)} – {format_date(last, locale)}"


def period(code: str, today: date, locale: str) -> Period:
    """`d` today, `t` tomorrow, `w` this week, `m` this month, `T` this term."""
    if code == "t":
        tomorrow = today + timedelta(days=1)
        return Period(tomorrow, tomorrow, t(locale, "tomorrow, {day}", day=format_date(tomorrow, locale)))
    if code == "w":
        first, last = week_of(today)
        return Period(first, last, t(locale, "this week ({span})", span=span(first, last, locale)))
    if code == "m":
        first, last = month_of(today)
        return Period(first, last, t(locale, "this month ({span})", span=span(first, last, locale)))
    if code == "T":
        first, last = term_of(today)
        return Period(first, last, t(locale, "this term ({span})", span=span(first, last, locale)))
    return Period(today, today, t(locale, "today, {day}", day=format_date(today, locale)))
