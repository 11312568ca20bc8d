"""Settings → Calendar: a parent's secret calendar feed, and what the feed holds.

    Settings → "📅 Calendar" → the link (https and webcal), shown once when made
                             → "New link" (the old one stops at once) | "Turn off"

A chat has at most one link (storage/calendar_feeds.py keeps only its token's hash).
It is on `WEB_PUBLIC_URL` (`/app/calendar/<token>.ics`, served by web/calendar.py);
with no public URL set, the parent is told that the calendar is not available. Making
and revoking a link are audited (an access path to the children's diary, like the class
directory's switch), with no personal data. Every press re-reads the chat's family
(payloads are client-controlled): only a parent of a pupil in a launched school gets a
link, and unlinking the chat (handlers/linking.py) turns the feed off.

The feed (`feed_for_token`) is read at request time exactly as the bot reads the
family (handlers/family.py: linked guardian rows with consent on file, launched
schools): the school's events and the class's own, and homework due dates as all-day
events, from `DAYS_BACK` days ago to `DAYS_AHEAD` days ahead. It names pupils by first
name only and holds no phone, surname or staff member. A token that is unknown, revoked,
of an erased or unlinked chat, or of a family with no pupil left gives None: the web
route answers 404 alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from icalendar import Calendar
from icalendar import Event as CalendarEvent
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.handlers import diary
from school_bot.handlers.extensions import Extension
from school_bot.handlers.family import Pupil, family_of, read_account_and_family
from school_bot.handlers.turn import Turn
from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import chat_locale, t
from school_bot.shared.settings import Settings
from school_bot.storage import audit
from school_bot.storage.calendar_feeds import chat_of_token, has_feed, remove_feed, replace_feed

PREFIX = "cal:"
NEW, OFF = "n", "x"
ROUTE = "/app/calendar/{token}.ics"
DAYS_BACK, DAYS_AHEAD = 30, 90
REFRESH = timedelta(hours=6)  # how often a calendar app is asked to fetch the feed again
PRODID = "-//Online School parents' bot//Calendar feed//EN"
UID_FALLBACK_HOST = "school-parents-bot.invalid"


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain="calendar", **params)


# ---------------------------------------------------------------- the settings entry


def feed_urls(public_url: str, token: str) -> tuple[str, str]:
    """The feed's https address and its webcal:// form (what calendar apps subscribe to)."""
    https = public_url.rstrip("/") + ROUTE.format(token=token)
    _, _, rest = https.partition("://")
    return https, f"webcal://{rest}"


class CalendarExtension(Extension):
    prefix = PREFIX

    def settings_buttons(self, turn: Turn) -> list[Button]:
        if not turn.account.guardian_links:
            return []
        return [Button(_t(turn.locale, "📅 Calendar"), PREFIX)]

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        action = payload.removeprefix(PREFIX)
        locale = turn.locale
        if action not in ("", NEW, OFF):
            return [Reply(text=_t(locale, "This button is out of date. Open /settings again."))]
        if not turn.account.guardian_links or not await family_of(turn):
            return [Reply(text=_t(locale, "The calendar is for parents of pupils whose school "
                                          "uses the bot."))]
        if action == OFF:
            return await _turn_off(turn)
        if not turn.settings.web_public_url:
            return [Reply(text=_t(locale, "The calendar is not available yet: the school's "
                                          "bot has no web address set up."), edit=True)]
        if action == "" and await has_feed(turn.session, turn.account.id):
            return [_status(turn)]
        return await _new_link(turn, replacing=action == NEW)


def _buttons(locale: str) -> list[list[Button]]:
    return [[Button(_t(locale, "🔄 New link"), PREFIX + NEW)],
            [Button(_t(locale, "Turn the calendar off"), PREFIX + OFF)]]


def _status(turn: Turn) -> Reply:
    text = _t(turn.locale, "📅 Your calendar link is on. For your safety it is shown only once, "
                           "when it is made.\n\nA new link replaces it: calendars subscribed to "
                           "the old one get nothing more. Turning the calendar off stops the link.")
    return Reply(text=text, buttons=_buttons(turn.locale), edit=True)


async def _new_link(turn: Turn, *, replacing: bool) -> list[Reply]:
    account, locale = turn.account, turn.locale
    replaced = await has_feed(turn.session, account.id)
    token = await replace_feed(turn.session, account.id, turn.now)
    await audit.record(turn.session, actor=turn.actor, action="calendar.link_made",
                       entity="account", entity_id=str(account.id),
                       details={"platform": turn.platform.value, "replaced": replaced})
    https, webcal = feed_urls(turn.settings.web_public_url or "", token)
    lines = [_t(locale, "📅 Your new calendar link:") if replacing
             else _t(locale, "📅 Your calendar link:"),
             "", https, "",
             _t(locale, "Add it to your calendar app as a subscription by URL (Google Calendar: "
                        "Other calendars → From URL). On an iPhone or a Mac, open this link "
                        "instead:"),
             "", webcal, "",
             _t(locale, "Your children's school events and homework appear there and stay up "
                        "to date."),
             "",
             _t(locale, "Keep the link to yourself: anyone who has it sees these events. It is "
                        "shown only now. If it gets out, make a new one here: the old one stops "
                        "working at once.")]
    if replaced:
        lines += ["", _t(locale, "The previous link no longer works.")]
    return [Reply(text="\n".join(lines), buttons=_buttons(locale), edit=True)]


async def _turn_off(turn: Turn) -> list[Reply]:
    locale = turn.locale
    if await remove_feed(turn.session, turn.account.id):
        await audit.record(turn.session, actor=turn.actor, action="calendar.link_revoked",
                           entity="account", entity_id=str(turn.account.id),
                           details={"platform": turn.platform.value})
    text = _t(locale, "📅 The calendar is off: its link no longer works. You can get a new "
                      "link at any time.")
    return [Reply(text=text, buttons=[[Button(_t(locale, "Get a calendar link"), PREFIX + NEW)]],
                  edit=True)]


# ---------------------------------------------------------------- the feed

@dataclass
class _Item:
    """One calendar entry and the pupils (first names) it concerns."""

    kind: str  # "event" | "homework"
    row: Any
    pupils: list[Pupil] = field(default_factory=list)

    def names(self) -> str:
        return ", ".join(dict.fromkeys(pupil.first_name for pupil in self.pupils))


async def feed_for_token(session: AsyncSession, token: str, settings: Settings,
                         now: datetime) -> bytes | None:
    """The feed of the chat whose current token this is, read now; None when there is
    none to give (unknown or revoked token, chat gone or unlinked, no pupil left)."""
    chat = await chat_of_token(session, token)
    if chat is None:
        return None
    account, family = await read_account_and_family(session, *chat)
    if account is None or not family:
        return None
    locale = chat_locale(account.language, None, settings.default_locale)
    items = await _items(session, family, now)
    feed: bytes = build_calendar(locale, family, items, now, settings.web_public_url or "").to_ical()
    return feed


async def _items(session: AsyncSession, family: list[Pupil], now: datetime) -> list[_Item]:
    classes: dict[str, list[Pupil]] = {}
    for pupil in family:
        classes.setdefault(pupil.class_id, []).append(pupil)
    found: dict[tuple[str, str], _Item] = {}
    for pupils in classes.values():
        first = pupils[0]
        today = first.today(now)
        events = await diary.events_between(session, first.school_id, first.class_id,
                                            now - timedelta(days=DAYS_BACK),
                                            now + timedelta(days=DAYS_AHEAD))
        tasks = await diary.homework(session, first.class_id, today - timedelta(days=DAYS_BACK),
                                     today + timedelta(days=DAYS_AHEAD))
        for kind, found_rows in (("event", events), ("homework", tasks)):
            for row in found_rows:
                item = found.setdefault((kind, row.id), _Item(kind, row))
                item.pupils += pupils
    return list(found.values())


def build_calendar(locale: str, family: list[Pupil], items: Iterable[_Item], now: datetime,
                   public_url: str) -> Calendar:
    names = ", ".join(dict.fromkeys(pupil.first_name for pupil in family))
    title = _t(locale, "School: {names}", names=names)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", title)
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-caldesc", _t(locale, "School events and homework from the school's bot"))
    calendar.add("x-wr-timezone", family[0].timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")
    host = urlsplit(public_url).hostname or UID_FALLBACK_HOST
    for item in items:
        calendar.add_component(_component(locale, item, now, host))
    calendar.add_missing_timezones(first_date=(now - timedelta(days=DAYS_BACK + 366)).date(),
                                   last_date=(now + timedelta(days=DAYS_AHEAD + 366)).date())
    return calendar


def _component(locale: str, item: _Item, now: datetime, host: str) -> CalendarEvent:
    row, component = item.row, CalendarEvent()
    component.add("uid", f"{item.kind}-{row.id}@{host}")
    component.add("dtstamp", now)
    if item.kind == "event":
        component.add("dtstart", row.starts_at.astimezone(item.pupils[0].zone))
        component.add("summary", f"{row.title} ({item.names()})")
        if row.description:
            component.add("description", row.description.strip())
    else:
        due: date = row.due_date
        component.add("dtstart", due)
        component.add("dtend", due + timedelta(days=1))
        component.add("summary", _t(locale, "Homework: {subject} ({names})", subject=row.subject,
                                    names=item.names()))
        component.add("description", row.text.strip())
        component.add("transp", "TRANSPARENT")
    return component
