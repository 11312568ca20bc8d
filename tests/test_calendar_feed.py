"""Settings → Calendar: a parent's secret feed link, and the feed served over HTTP by the
real web app: the family's events and homework, first names only, read at request time
(a new link, turning off, unlink, erasure and a school not launched stop it at once)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import func, select

from school_bot.bot.app import web_registrars
from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.models import AuditEntry, CalendarFeed, School
from school_bot.web.auth import FailedAuthLimiter
from school_bot.web.calendar import FetchLimiter, register_calendar
from tests.support.api import Answer, ApiServer, serve, settings_for
from tests.support.chat_client import ChatClient
from tests.support.core import chat, conversation, linked
from tests.support.small_school import PHONES, TOMORROW, clock, small_school
from tests.support.world import World, event, homework, school_class, student

BASE = "https://school.example"
LINK = re.compile(r"https://school\.example(/app/calendar/[A-Za-z0-9_-]{43}\.ics)")
KYIV = ZoneInfo("Europe/Kyiv")


async def _world(db: Database) -> World:
    """The small school, and another class of the same school with its own event and
    homework, and an event of the Kovals' school too far ahead for the feed."""
    world = await small_school(db)
    await world.add(
        school_class("cls-6b", "sch-1", "6-Б"),
        student("st-other", "cls-6b", "Гнатюк Остап Ігорович"),
        event("ev-6b", "sch-1", "Екскурсія 6-Б", datetime(2026, 11, 30, 9, 0, tzinfo=KYIV),
              class_id="cls-6b"),
        homework("hw-6b", "cls-6b", "Географія", TOMORROW, "Контурна карта"),
        event("ev-far", "sch-1", "Випускний", datetime(2027, 6, 20, 18, 0, tzinfo=KYIV)),
    )
    return world


@asynccontextmanager
async def _web(db: Database, **limits: Any) -> AsyncIterator[ApiServer]:
    """The web app with the calendar route on the small school's clock."""
    settings = settings_for(db, web_public_url=BASE)
    async with serve(db, settings, registrars=[partial(register_calendar, clock=clock, **limits)]) as server:
        yield server


async def _link(parent: ChatClient, label: str = "📅 Календар") -> str:
    """Open the calendar from the settings; the feed's path from the link shown."""
    await parent.send("/settings")
    await parent.press(label)
    found = LINK.search(parent.last_text)
    assert found, parent.last_text
    return found.group(1)


def _summaries(answer: Answer) -> dict[str, Any]:
    calendar = Calendar.from_ical(answer.body)
    return {str(item["summary"]): item for item in calendar.walk("VEVENT")}


async def test_the_settings_give_a_link_to_the_familys_events_and_homework(db: Database) -> None:
    await _world(db)
    core = conversation(db, web_public_url=BASE)
    parent = await linked(db, core, PHONES.koval)
    path = await _link(parent)
    assert "webcal://school.example" + path in parent.last_text
    assert {"🔄 Нове посилання", "Вимкнути календар"} <= {b.label for b in parent.buttons}

    async with _web(db) as server:
        answer = await server.get(path)
        again = await server.get(path)
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/calendar")
    assert "no-store" in answer.headers["Cache-Control"]
    calendar = Calendar.from_ical(answer.body)
    assert str(calendar["x-wr-calname"]) == "Школа: Ольга, Петро"
    assert str(calendar["x-wr-timezone"]) == "Europe/Kyiv"
    items = _summaries(answer)
    assert set(items) == {"Ярмарок (Ольга, Петро)", "Батьківські збори (Ольга, Петро)",
                          "Минула подія (Ольга, Петро)",
                          "Домашнє завдання: Математика (Ольга, Петро)"}
    fair = items["Ярмарок (Ольга, Петро)"]
    assert fair.decoded("dtstart") == datetime(2026, 12, 1, 17, 0, tzinfo=KYIV)
    assert fair["dtstart"].params["TZID"] == "Europe/Kyiv"
    assert str(fair["description"]) == "У спортзалі"
    task = items["Домашнє завдання: Математика (Ольга, Петро)"]
    assert task.decoded("dtstart") == TOMORROW and task.decoded("dtend") == TOMORROW + timedelta(days=1)
    assert str(task["description"]) == "Вправа 12 на с. 40"
    assert all("dtstamp" in item for item in items.values())
    uids = sorted(str(item["uid"]) for item in items.values())
    assert len(set(uids)) == 4
    assert uids == sorted(str(item["uid"]) for item in _summaries(again).values())  # stable
    # first names only: no surname, phone or staff member; nothing of another class or school
    for absent in ("Коваль", "Олена", "0501110001", "Мороз", "Остап", "Екскурсія", "Географія",
                   "Чужа", "Таємне", "Випускний"):
        assert absent not in answer.body, absent

    async with db.unit_of_work() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "calendar.link_made" in actions


async def test_a_new_link_revokes_the_old_one_and_turning_off_stops_it(db: Database) -> None:
    await small_school(db)
    core = conversation(db, web_public_url=BASE)
    parent = await linked(db, core, PHONES.bondar, language="en")
    first = await _link(parent, "📅 Calendar")
    await parent.press("🔄 New link")
    second = LINK.search(parent.last_text)
    assert second and "The previous link no longer works." in parent.last_text
    await parent.send("/settings")
    await parent.press("📅 Calendar")  # the link is not shown again, only what can be done
    assert "is on" in parent.last_text and not LINK.search(parent.last_text)

    async with _web(db) as server:
        old, new = await server.get(first), await server.get(second.group(1))
        unknown = await server.get("/app/calendar/" + "A" * 43 + ".ics")
        junk = await server.get("/app/calendar/junk.ics")
        assert new.status == 200 and "Біологія" not in new.body  # grades are not in a calendar
        assert (old.status, old.body) == (unknown.status, unknown.body) == (404, {"error": "not found"})
        assert junk.status == 404

        await parent.press("Turn the calendar off")
        assert "off" in parent.last_text
        assert (await server.get(second.group(1))).status == 404
        async with db.unit_of_work() as session:
            assert await session.scalar(select(func.count()).select_from(CalendarFeed)) == 0
            actions = (await session.scalars(select(AuditEntry.action))).all()
        assert actions.count("calendar.link_made") == 2 and "calendar.link_revoked" in actions


async def test_the_feed_stops_at_once_on_unlink_erasure_and_a_school_not_launched(db: Database) -> None:
    world = await small_school(db)
    core = conversation(db, web_public_url=BASE)
    koval = await linked(db, core, PHONES.koval)
    bondar = await linked(db, core, PHONES.bondar, "200")
    koval_path, bondar_path = await _link(koval), await _link(bondar)
    async with _web(db) as server:
        assert (await server.get(koval_path)).status == 200
        await world.change(School, "sch-1", launched=False)
        assert (await server.get(koval_path)).status == 404
        await world.change(School, "sch-1", launched=True)
        assert (await server.get(koval_path)).status == 200

        await koval.send("/unlink")
        assert (await server.get(koval_path)).status == 404
        await koval.share_contact(PHONES.koval)  # linked again: the old link stays dead
        assert koval.menu and (await server.get(koval_path)).status == 404
        koval_path = await _link(koval)
        await koval.send("/forget")
        await koval.press("Так, видалити мої дані")
        assert (await server.get(koval_path)).status == 404

        assert (await server.get(bondar_path)).status == 200
        async with db.unit_of_work() as session:  # consent withdrawn through the school's import
            await erase_person(session, "guardian", "g-bondar", actor="test", reason="consent")
        assert (await server.get(bondar_path)).status == 404
    async with db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(CalendarFeed)) == 0


async def test_no_link_without_a_public_address_or_for_a_chat_with_no_pupils(db: Database) -> None:
    await small_school(db)
    core = conversation(db)  # WEB_PUBLIC_URL not set
    parent = await linked(db, core, PHONES.koval)
    await parent.send("/settings")
    await parent.press("📅 Календар")
    assert "Календар поки недоступний" in parent.last_text and not LINK.search(parent.last_text)
    english = await linked(db, core, PHONES.bondar, "200", language="en")
    await english.send("/settings")
    await english.press("📅 Calendar")
    assert "The calendar is not available yet" in english.last_text

    stranger = chat(db, conversation(db, web_public_url=BASE), "300")
    await stranger.send("/settings")
    assert "📅 Календар" not in {b.label for b in stranger.buttons}
    await stranger.press_payload("cal:n")  # a forged press makes no link
    assert not LINK.search(stranger.last_text)
    async with db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(CalendarFeed)) == 0


async def test_feed_requests_are_limited_per_address_and_per_token(db: Database) -> None:
    assert register_calendar in web_registrars(None)  # the web role serves the feed
    await small_school(db)
    parent = await linked(db, conversation(db, web_public_url=BASE), PHONES.bondar)
    path = await _link(parent)
    async with _web(db, failed=FailedAuthLimiter(3, 60.0), fetches=FetchLimiter(2, 600.0)) as server:
        wrong = "/app/calendar/" + "B" * 43 + ".ics"
        assert [(await server.get(wrong)).status for _ in range(4)] == [404, 404, 404, 429]
        # a working link passes from an address whose guesses are refused, up to its own limit
        statuses = [(await server.get(path)).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await server.get(path)
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
