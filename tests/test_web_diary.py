"""The web diary over real HTTP: who gets a session, what a session may read, and the
diary button in the chat. The browser's side is tests/test_web_diary_browser.py."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiohttp import ClientSession, DummyCookieJar
from sqlalchemy import func, select

from school_bot.bot.console import ConsoleChat
from school_bot.bot.telegram.convert import inline_markup
from school_bot.bot.viber.convert import keyboard
from school_bot.handlers import settings_view
from school_bot.shared.events import Button, Platform, Reply
from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.invites import issue_code
from school_bot.storage.models import Guardian, School, WebLink
from tests.support.core import chat, conversation
from tests.support.small_school import NOW, PHONES, TODAY, small_school
from tests.support.telegram_rig import keyboard_of, telegram_rig
from tests.support.viber_rig import viber_rig
from tests.support.web_diary import PUBLIC_URL, Clock, diary_core, diary_server, init_data, session_cookie
from tests.support.world import World, grade

KOVAL_CHAT = 100  # a Telegram private chat's id is the user's id


@dataclass
class Web:
    base: str
    http: ClientSession

    async def call(self, method: str, path: str, *, cookie: str | None = None,
                   body: Any = None, **headers: str) -> tuple[int, Any, Any]:
        if cookie is not None:
            headers["Cookie"] = f"diary_session={cookie}"
        async with self.http.request(method, self.base + path, headers=headers, allow_redirects=False,
                                     data=None if body is None else json.dumps(body)) as response:
            text = await response.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return response.status, parsed, response.headers

    async def session(self, data: str) -> tuple[int, Any, str | None]:
        status, body, headers = await self.call("POST", "/app/api/session", body={"init_data": data},
                                                **{"Content-Type": "application/json"})
        return status, body, session_cookie(headers)


@pytest.fixture
async def koval(db: Database) -> Database:
    """The small school, and Олена Коваль (Ольга and Петро) linked in Telegram chat 100."""
    await small_school(db)
    core = diary_core(db)
    await chat(db, core, str(KOVAL_CHAT)).share_contact(PHONES.koval)
    return db


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def web(koval: Database, clock: Clock) -> AsyncIterator[Web]:
    async with diary_server(koval, clock) as server, ClientSession(cookie_jar=DummyCookieJar()) as http:
        yield Web(server.base_url, http)


async def signed_in(web: Web) -> str:
    status, body, cookie = await web.session(init_data(KOVAL_CHAT))
    assert status == 200, body
    assert cookie is not None
    return cookie


# ---------------------------------------------------------------- Telegram's Mini App


async def test_a_linked_parent_opens_the_mini_app_and_sees_only_their_children(web: Web) -> None:
    status, _, headers = await web.call("POST", "/app/api/session", body={"init_data": init_data(KOVAL_CHAT)})
    assert status == 200
    (set_cookie,) = [h for h in headers.getall("Set-Cookie") if h.startswith("diary_session=")]
    flags = {part.strip().lower() for part in set_cookie.split(";")}
    assert {"secure", "httponly", "samesite=strict", "path=/app/"} <= flags
    cookie = session_cookie(headers)

    status, body, _ = await web.call("GET", "/app/api/diary", cookie=cookie)
    assert status == 200
    assert body["locale"] == "uk"
    assert body["strings"]["attendance"] == "Відвідування"
    assert [(p["ref"], p["name"]) for p in body["pupils"]] == [("st-olha", "Ольга"), ("st-petro", "Петро")]
    assert "Коваль" not in json.dumps(body, ensure_ascii=False)  # first names only

    status, olha, _ = await web.call("GET", "/app/api/pupil/st-olha", cookie=cookie)
    assert status == 200
    (maths,) = olha["subjects"]
    assert (maths["subject"], [g["value"] for g in maths["grades"]]) == ("Математика", [9])
    assert maths["class_average"] is None  # two pupils have maths grades: theirs stays theirs
    assert olha["calendar"]["days"][TODAY.isoformat()] == [
        {"status": "absent", "subject": "Математика", "number": 1},
        {"status": "late", "subject": "Історія", "number": 2}]
    assert [task["text"] for task in olha["homework"]] == ["Вправа 12 на с. 40"]
    assert [event["title"] for event in olha["events"]] == ["Батьківські збори", "Ярмарок"]


async def test_the_chart_holds_the_grades_the_bot_answers_and_the_class_average_needs_three_pupils(
        koval: Database, web: Web) -> None:
    core = diary_core(koval)
    bondar = chat(koval, core, "200")
    await bondar.share_contact(PHONES.bondar)
    await bondar.press_payload("g:st-ivan:T")  # the bot's own answer: this term's grades
    answered = sorted(int(v) for v in re.findall(r"Біологія: (\d+)", bondar.last_text))
    _, _, cookie = await web.session(init_data(200))
    _, ivan, _ = await web.call("GET", "/app/api/pupil/st-ivan", cookie=cookie)
    (biology,) = ivan["subjects"]
    assert sorted(g["value"] for g in biology["grades"]) == answered == [4, 4, 4, 4, 4]
    assert biology["average_label"] == "4,0"
    assert biology["class_average"] is None  # only Іван has biology grades
    await World(koval).add([grade("gr-olha-bio", "st-olha", "Біологія", 10, TODAY),
                            grade("gr-taras-bio", "st-taras", "Біологія", 7, TODAY)])
    _, ivan, _ = await web.call("GET", "/app/api/pupil/st-ivan", cookie=cookie)
    (biology,) = ivan["subjects"]
    assert biology["class_average"] == round(37 / 7, 2)  # three pupils: the class's figure
    assert [g["value"] for g in biology["grades"]] == [4, 4, 4, 4, 4]  # and only his own grades


@pytest.mark.parametrize("forgery", ["tampered", "other-bot", "no-hash", "garbage", "empty"])
async def test_forged_launch_data_gets_no_session(web: Web, forgery: str) -> None:
    genuine = init_data(KOVAL_CHAT)
    data = {
        "tampered": genuine.replace("%22id%22%3A100", "%22id%22%3A200"),
        "other-bot": init_data(KOVAL_CHAT, token="654321:ANOTHER-bot"),
        "no-hash": re.sub(r"&?hash=[0-9a-f]+", "", genuine),
        "garbage": "not launch data at all",
        "empty": "",
    }[forgery]
    assert data != genuine
    status, body, cookie = await web.session(data)
    assert (status, body["error"], cookie) == (401, "launch_refused", None)
    assert "Telegram" in body["message"]


async def test_launch_data_older_than_the_limit_is_refused(web: Web) -> None:
    stale = init_data(KOVAL_CHAT, auth_date=NOW - timedelta(seconds=3601))
    status, body, cookie = await web.session(stale)
    assert (status, body["error"], cookie) == (401, "launch_refused", None)
    status, _, cookie = await web.session(init_data(KOVAL_CHAT, auth_date=NOW - timedelta(seconds=3500)))
    assert status == 200 and cookie


async def test_a_chat_that_is_not_linked_gets_no_session(web: Web) -> None:
    status, body, cookie = await web.session(init_data(999, language="en"))
    assert (status, body["error"], cookie) == (403, "no_pupils", None)
    assert body["message"].startswith("The diary shows")


async def test_another_parents_child_is_not_shown(web: Web) -> None:
    cookie = await signed_in(web)
    for ref in ("st-ivan", "st-maria", "%230", "%2399", "st-olha%20"):
        status, body, _ = await web.call("GET", f"/app/api/pupil/{ref}", cookie=cookie)
        if ref == "%230":  # "#0": the first of the family, as the bot's buttons name long ids
            assert status == 200 and body["pupil"]["name"] == "Ольга"
            continue
        assert (status, body["error"]) == (404, "unknown_pupil"), ref
        assert "subjects" not in body


async def test_a_forged_or_expired_session_is_refused(web: Web, clock: Clock) -> None:
    cookie = await signed_in(web)
    body_part, _, signature = cookie.partition(".")
    other = "A" if signature[0] != "A" else "B"
    for forged in (f"{body_part}.{other}{signature[1:]}", "x.y", "", "a" * 600):
        status, body, _ = await web.call("GET", "/app/api/diary", cookie=forged)
        assert (status, body["error"]) == (401, "no_session")
    clock.advance(1801)
    status, body, _ = await web.call("GET", "/app/api/diary", cookie=cookie)
    assert (status, body["error"]) == (401, "no_session")


async def test_an_erased_parents_open_session_is_refused_at_once(koval: Database, web: Web) -> None:
    cookie = await signed_in(web)
    assert (await web.call("GET", "/app/api/pupil/st-olha", cookie=cookie))[0] == 200
    async with koval.unit_of_work() as session:
        await erase_person(session, "guardian", "g-koval", actor="test", reason="withdrawn")
    status, body, _ = await web.call("GET", "/app/api/pupil/st-olha", cookie=cookie)
    assert (status, body["error"]) == (401, "session_ended")
    status, body, _ = await web.call("GET", "/app/api/diary", cookie=cookie)
    assert status == 401 and "pupils" not in body


@pytest.mark.parametrize("change", ["unlinked", "consent-withdrawn", "school-not-launched"])
async def test_unlink_withdrawn_consent_or_an_unlaunched_school_takes_effect_at_once(
        koval: Database, web: Web, change: str) -> None:
    cookie = await signed_in(web)
    if change == "unlinked":
        await chat(koval, diary_core(koval), str(KOVAL_CHAT)).send("/unlink")
    elif change == "consent-withdrawn":
        await World(koval).change(Guardian, "g-koval", consent=False)
    else:
        await World(koval).change(School, "sch-1", launched=False)
    status, body, _ = await web.call("GET", "/app/api/pupil/st-olha", cookie=cookie)
    assert status in (401, 403) and "subjects" not in body


async def test_session_attempts_are_limited_per_address(koval: Database) -> None:
    async with diary_server(koval, attempts=3) as server, ClientSession(cookie_jar=DummyCookieJar()) as http:
        web = Web(server.base_url, http)
        statuses = [(await web.session("forged"))[0] for _ in range(4)]
        assert statuses == [401, 401, 401, 429]


# ---------------------------------------------------------------- one-time links (Viber, console)


async def test_a_one_time_link_opens_once(koval: Database, web: Web) -> None:
    console = chat(koval, diary_core(koval), "con-1", platform=Platform.CONSOLE)
    await console.share_contact(PHONES.koval)
    await console.send("/diary")
    (button,) = [b for b in console.buttons if b.url]
    assert button.url is not None and button.url.startswith(f"{PUBLIC_URL}/app/l/")
    assert "10" in console.last_text  # "opens once, within 10 min"
    token = button.url.rsplit("/", 1)[1]
    async with koval.unit_of_work() as session:  # only the token's hash is kept
        stored = (await session.scalars(select(WebLink.token_hash))).all()
    assert token not in stored and len(stored) == 1

    status, _, headers = await web.call("GET", f"/app/l/{token}")
    assert (status, headers["Location"]) == (303, "../")
    cookie = session_cookie(headers)
    status, body, _ = await web.call("GET", "/app/api/diary", cookie=cookie)
    assert status == 200 and [p["name"] for p in body["pupils"]] == ["Ольга", "Петро"]

    status, page, headers = await web.call("GET", f"/app/l/{token}", **{"Accept-Language": "uk-UA,uk"})
    assert status == 410 and session_cookie(headers) is None
    assert "вже використане або застаріло" in page and "<script" not in page


async def test_an_expired_or_made_up_link_is_refused(koval: Database, web: Web, clock: Clock) -> None:
    console = chat(koval, diary_core(koval), "con-1", platform=Platform.CONSOLE, language="en")
    await console.share_contact(PHONES.koval)
    await console.send("/diary")
    (button,) = [b for b in console.buttons if b.url]
    assert button.url is not None
    clock.advance(601)
    status, page, headers = await web.call("GET", "/app/l/" + button.url.rsplit("/", 1)[1],
                                           **{"Accept-Language": "en"})
    assert status == 410 and session_cookie(headers) is None
    assert "already been used or has expired" in page
    status, _, _ = await web.call("GET", "/app/l/" + "A" * 43)
    assert status == 410


async def test_erasure_deletes_the_links(koval: Database) -> None:
    console = chat(koval, diary_core(koval), "con-1", platform=Platform.CONSOLE)
    await console.share_contact(PHONES.koval)
    await console.send("/diary")
    async with koval.unit_of_work() as session:
        await erase_person(session, "guardian", "g-koval", actor="test", reason="withdrawn")
    async with koval.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(WebLink)) == 0


# ---------------------------------------------------------------- the page


async def test_the_page_admits_only_its_own_origin_and_no_inline_script(web: Web) -> None:
    status, page, headers = await web.call("GET", "/app/")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert re.findall(r"<script[^>]*>", page) == ['<script src="static/diary.js" defer>']
    assert "http" not in page  # nothing from another origin
    total = 0
    for name in ("", "static/diary.js", "static/diary.css"):
        status, text, headers = await web.call("GET", f"/app/{name}")
        assert status == 200 and headers["Cache-Control"] == "no-store"
        total += len(gzip.compress(text.encode()))
    assert total < 150_000
    assert (await web.call("GET", "/app/static/../routes.py"))[0] == 404


# ---------------------------------------------------------------- the diary button in the chat


async def test_grade_answers_offer_the_diary_on_every_messenger(db: Database) -> None:
    await small_school(db)
    core = diary_core(db)
    telegram = chat(db, core, "100")
    await telegram.share_contact(PHONES.koval)
    await telegram.send("/grades")
    await telegram.press("Ольга")
    (mini_app,) = [b for b in telegram.buttons if b.url]
    assert (mini_app.label, mini_app.url, mini_app.web_app) == ("📈 Щоденник", f"{PUBLIC_URL}/app/", True)

    console = chat(db, core, "con-1", platform=Platform.CONSOLE, language="en")
    await console.share_contact(PHONES.koval)
    await console.send("/grades")
    await console.press("Ольга")
    await console.press("📈 Diary")  # Viber and the console: a press asks for a one-time link
    (link,) = [b for b in console.buttons if b.url]
    assert link.url is not None and link.url.startswith(f"{PUBLIC_URL}/app/l/")

    plain = conversation(db)  # no WEB_PUBLIC_URL: no diary anywhere
    other = chat(db, plain, "100")
    await other.send("/grades")  # Ольга, chosen before
    assert "Ольга" in other.last_text
    assert not [b for b in other.buttons if b.url or b.payload.startswith("wd:")]
    await other.send("/diary")
    assert "/help" in other.last_text  # an unknown command


def test_adapters_turn_a_page_button_into_their_own() -> None:
    reply = Reply(text="x", buttons=[[Button("Term", "g:st-1:T")],
                                     [Button("📈 Diary", url=f"{PUBLIC_URL}/app/", web_app=True)],
                                     [Button("Link", url=f"{PUBLIC_URL}/app/l/abc")]])
    expected = InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text="Term", callback_data="g:st-1:T")],
        [InlineKeyboardButton(text="📈 Diary", web_app=WebAppInfo(url=f"{PUBLIC_URL}/app/"))],
        [InlineKeyboardButton(text="Link", url=f"{PUBLIC_URL}/app/l/abc")]])
    assert inline_markup(reply) == expected.model_dump(exclude_none=True)
    board = keyboard(reply)
    assert board is not None
    pages = [(b["ActionType"], b["ActionBody"]) for b in board["Buttons"] if b["ActionType"] == "open-url"]
    assert pages == [("open-url", f"{PUBLIC_URL}/app/"), ("open-url", f"{PUBLIC_URL}/app/l/abc")]


async def test_telegram_gets_the_menu_button_and_a_mini_app_button_under_grades(db: Database) -> None:
    await small_school(db)
    async with telegram_rig(db, web_public_url=PUBLIC_URL) as rig:
        assert rig.api.menu_buttons[None] == {"type": "web_app", "text": "📈 Щоденник",
                                              "web_app": {"url": f"{PUBLIC_URL}/app/"}}
        parent = rig.chat(100)
        await parent.share_contact(PHONES.koval)
        sent = await parent.press("g:st-olha:T")
        markup = keyboard_of([r for r in sent if r.method in ("sendMessage", "editMessageText")][-1])
        assert markup is not None
        mini_app = {"text": "📈 Щоденник", "web_app": {"url": f"{PUBLIC_URL}/app/"}}
        assert [mini_app] in markup["inline_keyboard"]
        assert rig.api.rejected == []


async def test_the_diary_speaks_the_language_the_bot_speaks_in_that_chat(koval: Database, web: Web) -> None:
    bondar = chat(koval, diary_core(koval), "300", language=None)
    await bondar.share_contact(PHONES.bondar)
    _, _, cookie = await web.session(init_data(300, language="en"))
    status, body, _ = await web.call("GET", "/app/api/diary", cookie=cookie, **{"Accept-Language": "uk"})
    assert (status, body["locale"], body["strings"]["attendance"]) == (200, "en", "Attendance")
    await bondar.press_payload(f"{settings_view.PREFIX}l:uk")  # chosen in the bot's settings
    status, body, _ = await web.call("GET", "/app/api/diary", cookie=cookie)
    assert (status, body["locale"]) == (200, "uk")


def test_the_console_prints_a_page_buttons_link() -> None:
    lines: list[str] = []
    console = ConsoleChat(turns=cast(Any, None), write=lines.append)
    console.show(Reply(text="x", buttons=[[Button("Term", "g:st-1:T")],
                                          [Button("📈 Diary", url=f"{PUBLIC_URL}/app/l/abc")]]))
    assert lines[1:] == ["     [1] Term", f"     📈 Diary: {PUBLIC_URL}/app/l/abc"]
    assert [choice.label for choice in console.choices] == ["Term"]  # a link is not a numbered choice


async def test_a_viber_parent_opens_the_diary_through_a_one_time_link(db: Database) -> None:
    await small_school(db)
    async with db.unit_of_work() as session:
        code = await issue_code(session, "g-bondar")
    async with viber_rig(db, web_public_url=PUBLIC_URL) as rig:
        await rig.share_phone("viber-bondar", PHONES.bondar)
        await rig.say("viber-bondar", code)
        await rig.say("viber-bondar", "/grades")
        await rig.press_labelled("viber-bondar", "📈")  # under the grades: a press asks for a link
        keyboard = rig.last_keyboard("viber-bondar") or {}
        (url,) = [b["ActionBody"] for b in keyboard["Buttons"] if b["ActionType"] == "open-url"]
    assert url.startswith(f"{PUBLIC_URL}/app/l/")
    async with diary_server(db) as server, ClientSession(cookie_jar=DummyCookieJar()) as http:
        web = Web(server.base_url, http)
        status, _, headers = await web.call("GET", "/app/l/" + url.rsplit("/", 1)[1])
        assert status == 303
        status, body, _ = await web.call("GET", "/app/api/diary", cookie=session_cookie(headers))
        assert (status, [p["name"] for p in body["pupils"]]) == (200, ["Іван"])
