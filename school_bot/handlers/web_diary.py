"""The web diary's rules: who may open it, its one-time links, and what it shows.

The diary page (web/diary/) shows a parent's children at a glance: each subject's
grades over the term as a chart beside the class's average, a month's calendar of
absences, this week's homework and the coming events. The web layer only converts;
everything it shows and everyone it shows it to is decided here:

* `open_viewer` reads the chat's account and family exactly as the bot does on every
  message (`read_account_and_family`): a withdrawn consent, an erasure, an unlink or
  a school that has not launched takes effect on the next request;
* a pupil is named by the reference the bot's buttons use (`pupil_ref`) and found
  only in that family (`find_pupil`): a client-sent reference is never trusted;
* the grades are the bot's own for its "Term" answer (`diary.grades`); the class's
  average of a subject is shown only when at least `MIN_PUPILS_FOR_CLASS_AVERAGE`
  pupils have grades in it, so it never tells another pupil's figures.

Telegram opens the page as a Mini App (its signed launch data says who is asking).
Viber and the console have no Mini Apps: `/diary`, or the diary button under grade
answers, gives a one-time link (`issue_link`) that expires in `WEB_LINK_TTL` seconds;
only the SHA-256 of its token is stored, and `use_link` lets it open once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.handlers import diary
from school_bot.handlers.extensions import Extension
from school_bot.handlers.family import Pupil, family_of, find_pupil, pupil_ref, read_account_and_family
from school_bot.handlers.periods import month_of, period, week_of
from school_bot.handlers.turn import Turn
from school_bot.shared.events import Button, Platform, Reply
from school_bot.shared.i18n import chat_locale, format_date, format_number, format_weekday, t
from school_bot.shared.settings import Settings
from school_bot.storage.fast import Query, rows
from school_bot.storage.link_tokens import hash_token, is_token_shaped, new_token
from school_bot.storage.models import Account, Grade, Student, WebLink
from school_bot.storage.writes import changed_rows

COMMAND = "diary"
PREFIX = "wd:"
LINK_PATH = "l/"  # a one-time link: <diary url>l/<token>
MIN_PUPILS_FOR_CLASS_AVERAGE = 3


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain="webapp", **params)


def diary_label(locale: str) -> str:
    """The diary's button (and Telegram's menu button)."""
    return _t(locale, "📈 Diary")


def diary_button(turn: Turn) -> Button | None:
    """The diary under an answer about a pupil: Telegram's Mini App, elsewhere a press
    that asks for a one-time link; None when the diary is not offered."""
    url = turn.settings.diary_url
    if url is None or not turn.account.guardian_links:
        return None
    if turn.platform is Platform.TELEGRAM:
        return Button(diary_label(turn.locale), url=url, web_app=True)
    return Button(diary_label(turn.locale), PREFIX)


class DiaryExtension(Extension):
    """`/diary` and the diary button's press (Viber, console): the way into the web diary."""

    command = COMMAND
    prefix = PREFIX
    listed = True

    def available(self, turn: Turn) -> bool:
        return turn.settings.diary_url is not None and bool(turn.account.guardian_links)

    def description(self, locale: str) -> str:
        return _t(locale, "Grades chart, absences calendar, homework")

    async def start(self, turn: Turn) -> list[Reply]:
        return await self._open(turn)

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        return await self._open(turn)

    async def _open(self, turn: Turn) -> list[Reply]:
        url = turn.settings.diary_url
        locale = turn.locale
        if url is None or not await family_of(turn):
            return [Reply(text=_t(locale, "The diary shows the children of parents whose school "
                                          "already works with the bot."))]
        if turn.platform is Platform.TELEGRAM:
            return [Reply(text=_t(locale, "Grades, absences and homework at a glance:"),
                          buttons=[[Button(diary_label(locale), url=url, web_app=True)]])]
        token = await issue_link(turn.session, turn.account, turn.now, turn.settings.web_link_ttl)
        minutes = max(turn.settings.web_link_ttl // 60, 1)
        text = _t(locale, "Your diary link opens once, within {minutes} min. Do not forward it.",
                  minutes=minutes)
        return [Reply(text=text, buttons=[[Button(diary_label(locale), url=f"{url}{LINK_PATH}{token}")]])]


# ---------------------------------------------------------------- one-time links


async def issue_link(session: AsyncSession, account: Account, now: datetime, ttl: int) -> str:
    """A new one-time link's token (shown once; only its hash is stored). Links that
    have expired, anyone's, are deleted on the way."""
    await session.execute(delete(WebLink).where(WebLink.expires_at <= now)
                          .execution_options(synchronize_session=False))
    token = new_token()
    session.add(WebLink(token_hash=hash_token(token), account_id=account.id, created_at=now,
                        expires_at=now + timedelta(seconds=ttl)))
    await session.flush()
    return token


async def use_link(session: AsyncSession, token: str, now: datetime) -> Account | None:
    """The account a link was issued to, if the link is genuine, unused and unexpired;
    it is used up by this call (a second one gets None)."""
    if not is_token_shaped(token):
        return None
    token_hash = hash_token(token)
    used = await changed_rows(session, update(WebLink).where(
        WebLink.token_hash == token_hash, WebLink.used_at.is_(None), WebLink.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if not used:
        return None
    account_id = await session.scalar(select(WebLink.account_id).where(WebLink.token_hash == token_hash))
    return await session.get(Account, account_id) if account_id is not None else None


# ---------------------------------------------------------------- who is asking


@dataclass(frozen=True)
class Viewer:
    """A chat allowed to see the diary now, and the children it may see."""

    account_id: int
    platform: str
    chat_id: str
    locale: str
    family: list[Pupil]


async def open_viewer(session: AsyncSession, settings: Settings, platform: str, chat_id: str, *,
                      account_id: int | None = None, hint: str | None = None) -> Viewer | None:
    """The chat's account and family, read as the bot reads them for every message; None
    when the chat has no account (never linked, or erased) or, with `account_id`, when
    the account is no longer that one. The family may be empty: nothing to show."""
    account, family = await read_account_and_family(session, platform, chat_id)
    if account is None or (account_id is not None and account.id != account_id):
        return None
    locale = chat_locale(account.language, hint, settings.default_locale)
    return Viewer(account.id, platform, chat_id, locale, family)


# ---------------------------------------------------------------- what it shows


CLASS_SUBJECT_AVERAGES = Query(
    select(Grade.subject, func.avg(Grade.value), func.count(func.distinct(Grade.student_id)))
    .join(Student, Student.id == Grade.student_id)
    .where(Student.class_id == bindparam("class_id"),
           Grade.date.between(bindparam("first"), bindparam("last")))
    .group_by(Grade.subject))


@dataclass
class SubjectGrades:
    subject: str
    grades: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    average: float = 0.0
    class_average: float | None = None


def family_json(viewer: Viewer) -> list[dict[str, str]]:
    """The children the page may show, named by first name and class (no surname)."""
    return [{"ref": pupil_ref(p, viewer.family), "name": p.first_name, "class_name": p.class_name}
            for p in viewer.family]


def find(viewer: Viewer, ref: str) -> Pupil | None:
    return find_pupil(viewer.family, ref)


def parse_month(text: str | None, today: date) -> date | None:
    """`2026-11` → 1 November 2026; none → this month; anything else → None."""
    if not text:
        return today.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if match is None or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
        return None
    return date(int(match[1]), int(match[2]), 1)


async def pupil_diary(session: AsyncSession, viewer: Viewer, pupil: Pupil, now: datetime,
                      month: date) -> dict[str, Any]:
    """Everything the page shows of one pupil, ready to be sent as JSON."""
    locale, today = viewer.locale, pupil.today(now)
    term = period("T", today, locale)
    return {
        "pupil": {"ref": pupil_ref(pupil, viewer.family), "name": pupil.first_name,
                  "class_name": pupil.class_name},
        "today": today.isoformat(),
        "term": {"first": term.first.isoformat(), "last": term.last.isoformat(), "title": term.title},
        "subjects": await _subjects(session, pupil, term.first, term.last, locale),
        "calendar": await _calendar(session, pupil, month, today, locale),
        "homework": await _homework(session, pupil, today, locale),
        "events": await _events(session, pupil, now, locale),
    }


async def _subjects(session: AsyncSession, pupil: Pupil, first: date, last: date,
                    locale: str) -> list[dict[str, Any]]:
    grades = await diary.grades(session, pupil.id, first=first, last=last)  # the bot's "Term" answer
    by_subject: dict[str, SubjectGrades] = {}
    for row in reversed(grades):  # oldest first
        entry = by_subject.setdefault(row.subject, SubjectGrades(row.subject))
        entry.grades.append({"date": row.day.isoformat(), "label": format_date(row.day, locale),
                             "value": row.value, "kind": row.kind})
    averages = await rows(session, CLASS_SUBJECT_AVERAGES, class_id=pupil.class_id, first=first, last=last)
    class_average = {subject: float(average) for subject, average, pupils in averages
                     if pupils >= MIN_PUPILS_FOR_CLASS_AVERAGE}
    found = []
    for name in sorted(by_subject):
        entry = by_subject[name]
        average = fmean(g["value"] for g in entry.grades)
        theirs = class_average.get(name)
        found.append({"subject": name, "grades": entry.grades, "average": round(average, 2),
                      "average_label": format_number(average, locale),
                      "class_average": None if theirs is None else round(theirs, 2),
                      "class_average_label": None if theirs is None else format_number(theirs, locale)})
    return found


async def _calendar(session: AsyncSession, pupil: Pupil, month: date, today: date,
                    locale: str) -> dict[str, Any]:
    first, last = month_of(month)
    marks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lesson, status in await diary.absences(session, pupil.id, first, last):
        marks[lesson.date.isoformat()].append({"status": status, "subject": lesson.subject,
                                               "number": lesson.number})
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    return {
        "month": f"{first:%Y-%m}",
        "title": format_date(first, locale, "LLLL yyyy"),
        "first": first.isoformat(), "last": last.isoformat(), "today": today.isoformat(),
        "previous": f"{previous:%Y-%m}", "next": f"{following:%Y-%m}",
        "weekdays": [format_weekday(first + timedelta(days=n - first.weekday()), locale, "abbreviated")
                     for n in range(7)],
        "days": dict(marks),
    }


async def _homework(session: AsyncSession, pupil: Pupil, today: date, locale: str) -> list[dict[str, Any]]:
    monday, sunday = week_of(today)
    return [{"subject": task.subject, "due": task.due_date.isoformat(),
             "due_label": format_date(task.due_date, locale), "text": task.text.strip()}
            for task in await diary.homework(session, pupil.class_id, monday, sunday)]


async def _events(session: AsyncSession, pupil: Pupil, now: datetime, locale: str) -> list[dict[str, Any]]:
    found = []
    for event in await diary.upcoming_events(session, pupil.school_id, pupil.class_id, now):
        local = event.starts_at.astimezone(pupil.zone)
        found.append({"title": event.title, "when": f"{format_date(local, locale)}, {local:%H:%M}",
                      "starts_at": local.isoformat(), "description": (event.description or "").strip(),
                      "class_only": event.class_id is not None})
    return found


# ---------------------------------------------------------------- the page's words


def page_strings(locale: str) -> dict[str, str]:
    """Every word the page shows, in the viewer's language (the page has none of its own)."""
    return {
        "title": _t(locale, "Diary"),
        "children": _t(locale, "Children"),
        "grades": _t(locale, "Grades this term"),
        "average": _t(locale, "average"),
        "class_average": _t(locale, "class average"),
        "no_grades": _t(locale, "No grades this term."),
        "grade_list": _t(locale, "Grades as a list"),
        "date": _t(locale, "Date"),
        "grade": _t(locale, "Grade"),
        "attendance": _t(locale, "Attendance"),
        "previous_month": _t(locale, "Previous month"),
        "next_month": _t(locale, "Next month"),
        "absent": _t(locale, "absent"),
        "late": _t(locale, "late"),
        "excused": _t(locale, "excused"),
        "no_absences": _t(locale, "No absences this month."),
        "homework": _t(locale, "Homework this week"),
        "due": _t(locale, "due"),
        "no_homework": _t(locale, "No homework this week."),
        "events": _t(locale, "Coming events"),
        "no_events": _t(locale, "No upcoming events."),
        "loading": _t(locale, "Loading…"),
        "failed": _t(locale, "The diary could not be loaded. Please try again."),
    }


def refusal(locale: str, reason: str) -> str:
    """What the page says when it shows nothing."""
    texts = {
        "no_session": _t(locale, "Open the diary from the bot: the Diary button, or /diary."),
        "session_ended": _t(locale, "This diary session has ended. Open the diary from the bot again."),
        "launch_refused": _t(locale, "Telegram's launch data could not be checked or is too old. "
                                     "Close the diary and open it from the bot again."),
        "no_pupils": _t(locale, "The diary shows the children of parents whose school already works "
                                "with the bot."),
        "unknown_pupil": _t(locale, "This child is not among yours."),
        "bad_month": _t(locale, "The month is not understood."),
        "link_refused": _t(locale, "This link has already been used or has expired. Ask the bot for "
                                   "a new one: /diary"),
        "too_many": _t(locale, "Too many attempts. Please wait a minute and try again."),
    }
    return texts[reason]
