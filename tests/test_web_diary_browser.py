"""The web diary in a real browser: Debian's Chromium, driven by Playwright, opens the
Mini App page as Telegram does (signed launch data and theme in the address's
fragment) for a linked parent. The chart must hold the grades the bot answers for
that child, the calendar must mark the absences, and a screenshot is kept in
tests/artifacts/. Without Playwright or Chromium the tests skip with the reason."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from datetime import time, timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from school_bot.storage.db import Database
from tests.support.core import chat
from tests.support.small_school import PHONES, TODAY, small_school
from tests.support.web_diary import diary_core, diary_server, init_data
from tests.support.world import World, attendance, grade, lesson

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
THEME = {"bg_color": "#1f2a36", "text_color": "#f5f5f5", "hint_color": "#a8b3c0",
         "button_color": "#5eb5f7", "button_text_color": "#000000", "secondary_bg_color": "#2b3745",
         "link_color": "#8cc8ff"}

try:
    from playwright.async_api import async_playwright
except ImportError:  # the test extra not installed
    async_playwright = None  # type: ignore[assignment]



@pytest.fixture(autouse=True)
def _browser() -> None:
    """Skip with the reason where the browser is missing; CI (REQUIRE_BROWSER=1, set by
    .ci/run, which installs it) fails instead, so the pages cannot go untested there."""
    reason = ("playwright is not installed (pip install -e '.[test]')" if find_spec("playwright") is None
              else None if CHROMIUM.exists()
              else f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if reason is None:
        return
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


async def _more_of_olhas_diary(db: Database) -> None:
    """A term's worth to draw: Ольга's grades in two subjects, and an excused absence."""
    day = TODAY - timedelta(days=20)
    await World(db).add([
        grade("gr-olha-2", "st-olha", "Математика", 7, TODAY - timedelta(days=30)),
        grade("gr-olha-3", "st-olha", "Математика", 11, TODAY - timedelta(days=2)),
        grade("gr-olha-4", "st-olha", "Українська мова", 10, TODAY - timedelta(days=6)),
        grade("gr-olha-5", "st-olha", "Українська мова", 8, TODAY - timedelta(days=1)),
        lesson("ls-ukr", "cls-5a", "Українська мова", "t-moroz", day, time(8, 30), number=1),
        attendance("st-olha", "ls-ukr", "excused"),
    ])


def _bots_term_grades(text: str) -> dict[str, list[int]]:
    """`25 листопада · Математика: 9 (контрольна)` lines of the bot's answer → by subject."""
    found: dict[str, list[int]] = defaultdict(list)
    for subject, value in re.findall(r"· (.+?): (\d+)", text):
        found[subject].append(int(value))
    return {subject: sorted(values) for subject, values in found.items()}


async def test_the_mini_app_draws_the_bots_grades_and_marks_the_absences(db: Database, request: Any) -> None:
    await small_school(db)
    await _more_of_olhas_diary(db)
    parent = chat(db, diary_core(db), "100")
    await parent.share_contact(PHONES.koval)
    await parent.press_payload("g:st-olha:T")  # what the bot answers for this term
    answered = _bots_term_grades(parent.last_text)
    assert answered == {"Математика": [7, 9, 11], "Українська мова": [8, 10]}

    async with diary_server(db) as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="uk-UA")
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text)
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            fragment = (f"tgWebAppData={quote(init_data(100), safe='')}&tgWebAppVersion=8.0"
                        f"&tgWebAppPlatform=android&tgWebAppThemeParams={quote(json.dumps(THEME), safe='')}")
            await page.goto(f"{server.base_url}/app/#{fragment}")
            await page.wait_for_selector("body[data-ready]", timeout=15_000)

            drawn = await page.evaluate("""() => Object.fromEntries(
                [...document.querySelectorAll('svg.chart')].map(chart => [chart.dataset.subject,
                    [...chart.querySelectorAll('circle.point')].map(dot => Number(dot.dataset.value))
                        .sort((a, b) => a - b)]))""")
            assert drawn == answered
            label = await page.get_attribute('svg.chart[data-subject="Математика"]', "aria-label")
            assert label is not None and label.startswith("Математика: ") and "— 11" in label

            today = page.locator(f'td[data-date="{TODAY.isoformat()}"]')
            assert await today.get_attribute("class") == "today absent"
            assert await today.get_attribute("data-status") == "absent late"
            assert "відсутність — Математика" in await today.inner_text()
            excused = page.locator(f'td[data-date="{(TODAY - timedelta(days=20)).isoformat()}"]')
            assert await excused.get_attribute("class") == "excused"
            assert await page.locator("table.calendar td.absent, table.calendar td.late").count() == 1

            assert "Вправа 12 на с. 40" in await page.inner_text("#homework")
            assert "Батьківські збори" in await page.inner_text("#events")
            assert await page.inner_text("#h-attendance") == "Відвідування"
            background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(31, 42, 54)"  # Telegram's bg_color

            ARTIFACTS.mkdir(exist_ok=True)
            backend = request.node.callspec.id
            await page.screenshot(path=str(ARTIFACTS / f"web_diary_{backend}.png"), full_page=True)

            await page.focus('button[aria-label="Попередній місяць"]')  # the keyboard pages back
            await page.keyboard.press("Enter")
            await page.wait_for_selector('table.calendar[data-month="2026-10"]', timeout=10_000)
            assert await page.locator("table.calendar td.absent").count() == 0

            assert problems == []

            # the session ends while the Mini App stays open: the page starts a new one
            # from Telegram's launch data, still in its address
            await page.context.clear_cookies()
            await page.click('#pupils button:has-text("Петро")')
            await page.wait_for_selector('body[data-ready="st-petro"]', timeout=10_000)
            petro = await page.evaluate("""() => [...document.querySelectorAll('circle.point')]
                .map(dot => Number(dot.dataset.value)).sort((a, b) => a - b)""")
            assert petro == [8, 10]
            assert [p for p in problems if "401" not in p] == []  # only the one refused request
        finally:
            await browser.close()


async def test_a_page_opened_without_telegram_or_a_link_says_how_to_open_it(db: Database) -> None:
    await small_school(db)
    async with diary_server(db) as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = await browser.new_page(locale="en-US", extra_http_headers={"Accept-Language": "en"})
            await page.goto(f"{server.base_url}/app/")
            alert = page.locator("#status[role=alert]")
            await alert.wait_for(timeout=10_000)
            assert await alert.inner_text() == "Open the diary from the bot: the Diary button, or /diary."
            assert await page.locator("#content").is_hidden()
        finally:
            await browser.close()
