"""What a linked parent reads: grades with plurals and changes, children, rating, the rest."""

from __future__ import annotations

from typing import Any

from school_bot.handlers import settings_view
from school_bot.handlers.router import view_asked
from school_bot.shared.events import ChatRef, Incoming, Kind, Platform
from school_bot.storage.db import Database
from tests.support.core import linked, school_and_core
from tests.support.small_school import PHONES


async def test_grades_use_real_plural_forms(db: Database) -> None:
    core = await school_and_core(db)
    bondar = await linked(db, core, PHONES.bondar, "b")
    await bondar.press("Оцінки")
    assert "5 оцінок, середній бал 4,0" in bondar.last_text
    koval = await linked(db, core, PHONES.koval, "k")
    await koval.send("/grades")
    await koval.press("Петро")
    assert "2 оцінки, середній бал 9,0" in koval.last_text
    await koval.press("Ольга")
    assert "1 оцінка, середній бал 9,0" in koval.last_text


async def test_a_changed_grade_shows_its_history(db: Database) -> None:
    core = await school_and_core(db)
    koval = await linked(db, core, PHONES.koval)
    await koval.send("/grades")
    await koval.press("Ольга")
    assert "12 листопада · Математика: 9 (контрольна)" in koval.last_text
    assert "змінено з 7 на 9, 12 листопада" in koval.last_text


async def test_a_parent_of_two_picks_a_child_and_the_choice_is_remembered(db: Database) -> None:
    core = await school_and_core(db)
    koval = await linked(db, core, PHONES.koval)
    await koval.send("/grades")
    assert [b.label for b in koval.buttons] == ["Ольга", "Петро"]
    await koval.press("Петро")
    assert "Петро (5-А)" in koval.last_text and "Історія" in koval.last_text
    await koval.press("Домашнє завдання")
    assert "Петро (5-А)" in koval.last_text and "Вправа 12" in koval.last_text
    assert "Таємне" not in koval.last_text
    assert "Ольга" in [b.label for b in koval.buttons]  # switch to the other child


async def test_periods_subjects_and_averages(db: Database) -> None:
    core = await school_and_core(db)
    bondar = await linked(db, core, PHONES.bondar)
    await bondar.send("/grades")
    await bondar.press("Цей тиждень")
    assert "цей тиждень (23 листопада – 29 листопада)" in bondar.last_text
    assert "3 оцінки" in bondar.last_text  # 23, 24, 25 November
    await bondar.press("Середні бали")
    assert "Біологія: 4,0 (5 оцінок)" in bondar.last_text
    await bondar.press("За предметами")
    await bondar.press("Біологія")
    assert "5 оцінок" in bondar.last_text


async def test_rating_shows_only_the_own_childs_figures(db: Database) -> None:
    core = await school_and_core(db)
    bondar = await linked(db, core, PHONES.bondar)
    await bondar.press("Рейтинг")
    text = bondar.last_text
    assert "Середній бал: 4,0" in text and "Місце в класі: 5 з 5 учнів" in text
    assert "Враховано 5 оцінок." in text
    for other in ("Ольга", "Петро", "Тарас", "Софія", "12,0", "11,5"):
        assert other not in text


async def test_forged_payloads_get_a_refusal_and_no_data(db: Database) -> None:
    core = await school_and_core(db)
    koval = await linked(db, core, PHONES.koval)
    await koval.press_payload("g:st-ivan:r")     # another family's pupil
    assert "недоступна" in koval.last_text and "Біологія" not in koval.last_text
    await koval.press_payload("h:st-maria:t")    # a pupil of a school not launched
    assert "недоступна" in koval.last_text and "Таємне" not in koval.last_text
    await koval.press_payload("g:#7:r")          # an index outside the family
    assert "недоступна" in koval.last_text
    await koval.press_payload("x" * 65)
    assert "недоступна" in koval.last_text


async def test_what_is_read_as_a_view_is_answered_with_that_view(db: Database) -> None:
    """The core reads the account of a diary view without the write lock (view_asked);
    `route` answers with the view from the same rule, and nothing else takes that path."""
    core = await school_and_core(db)
    bondar = await linked(db, core, PHONES.bondar)
    await bondar.send("/grades")
    heading = bondar.last_text.split(",")[0]          # "Іван (5-А): оцінки"
    week = next(b.payload for b in bondar.buttons if b.payload.endswith(":w"))
    cases: list[tuple[Kind, dict[str, Any], str | None]] = [
        (Kind.COMMAND, {"command": "grades"}, "g"),
        (Kind.TEXT, {"text": "Оцінки"}, "g"),
        (Kind.TEXT, {"text": "Rating"}, "r"),              # a label of the other language
        (Kind.BUTTON, {"payload": week}, "g"),
        (Kind.COMMAND, {"command": "help"}, None),
        (Kind.TEXT, {"text": "Налаштування"}, None),
        (Kind.BUTTON, {"payload": settings_view.PREFIX + "menu"}, None),
        (Kind.BUTTON, {"payload": "g:" + "x" * 62 + ":w"}, None),   # over 64 bytes: stale
        (Kind.TEXT, {"text": "Оцінки" * 2000}, None),      # too long to be read at all
        (Kind.TEXT, {"text": "котра година?"}, None),
    ]
    for kind, fields, key in cases:
        asked = view_asked(Incoming(ChatRef(Platform.TELEGRAM, "100"), kind, **fields),
                           core.extensions)
        assert (asked[0].key if asked else None) == key, fields
        await bondar.deliver(kind, **fields)
        if key == "g":
            assert bondar.last_text.startswith(heading), fields
        elif key == "r":
            assert "Місце в класі" in bondar.last_text
        else:
            assert "Місце в класі" not in bondar.last_text, fields
            assert not bondar.last_text.startswith(heading), fields


async def test_schedule_absences_and_events(db: Database) -> None:
    core = await school_and_core(db)
    bondar = await linked(db, core, PHONES.bondar)
    await bondar.press("Розклад")
    assert "1. 08:30–09:15 Математика — Дроби" in bondar.last_text
    await bondar.press("Завтра")
    assert "Біологія" in bondar.last_text and "Математика" not in bondar.last_text
    await bondar.press("Пропуски")
    assert "25 листопада, 08:30 Математика: відсутність" in bondar.last_text
    assert "пропущено 1 урок" in bondar.last_text
    await bondar.press("Події")
    lines = bondar.last_text.splitlines()
    assert "27 листопада, 18:00 — Батьківські збори (5-А)" in lines  # Kyiv time
    assert "1 грудня, 17:00 — Ярмарок" in lines
    assert "Минула" not in bondar.last_text and "Чужа" not in bondar.last_text


async def test_english_throughout(db: Database) -> None:
    core = await school_and_core(db)
    koval = await linked(db, core, PHONES.koval, language="en")
    assert koval.menu[0] == "Grades"
    await koval.press("Grades")
    await koval.press("Ольга")  # names stay as the school wrote them
    assert "changed from 7 to 9, 12 November" in koval.last_text
    assert "1 grade, average 9.0" in koval.last_text
    await koval.press("Absences")
    assert "1 lesson missed, late 1 time" in koval.last_text
