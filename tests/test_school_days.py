"""A class's school days: the days with lessons on record, weekdays beyond them."""

from __future__ import annotations

from datetime import date, timedelta

from school_bot.storage.school_days import school_days_from

MONDAY = date(2026, 12, 7)


def _days(*offsets: int) -> set[date]:
    return {MONDAY + timedelta(days=n) for n in offsets}


def test_weekdays_when_no_lessons_are_on_record() -> None:
    assert school_days_from(set(), MONDAY + timedelta(days=4), 3) == sorted(_days(4, 7, 8))


def test_days_with_lessons_then_weekdays_after_the_last_one_posted() -> None:
    # lessons posted Monday to Wednesday; Thursday and Friday not planned yet
    assert school_days_from(_days(0, 1, 2), MONDAY, 5) == sorted(_days(0, 1, 2, 3, 4))


def test_a_holiday_the_timetable_shows_is_skipped() -> None:
    # lessons on Monday, then none until the Monday after: the week between is a holiday
    assert school_days_from(_days(0, 7, 8), MONDAY + timedelta(days=1), 2) == sorted(_days(7, 8))


def test_a_saturday_lesson_counts() -> None:
    assert school_days_from(_days(4, 5, 7), MONDAY + timedelta(days=4), 3) == sorted(_days(4, 5, 7))
