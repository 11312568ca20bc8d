"""The core's catalog: complete, compiled, plural-aware; handlers/ stays messenger-free."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from school_bot.handlers.commands import command_list
from school_bot.handlers.menu import command_for_label, labels
from school_bot.shared import i18n
from school_bot.shared.i18n_tools import compiled, problems

ROOT = Path(__file__).resolve().parents[1]
MESSENGER_LIBRARIES = {"aiogram", "viberbot", "aiohttp", "telegram"}


def test_the_core_catalog_has_every_msgid_translated_and_a_fresh_mo() -> None:
    assert problems("core") == []  # missing, untranslated, fuzzy or stale entries
    for locale in i18n.SUPPORTED_LOCALES:
        po = i18n.LOCALES_DIR / locale / "LC_MESSAGES" / "core.po"
        assert po.with_suffix(".mo").read_bytes() == compiled(po, locale, "core")


@pytest.mark.parametrize(("n", "expected"), [(1, "1 оцінка"), (2, "2 оцінки"), (5, "5 оцінок"),
                                             (11, "11 оцінок"), (21, "21 оцінка"), (24, "24 оцінки")])
def test_ukrainian_has_three_plural_forms(n: int, expected: str) -> None:
    assert i18n.tn("uk", "{n} grade", "{n} grades", n) == expected


def test_english_plurals_dates_numbers_and_weekdays() -> None:
    assert i18n.tn("en", "{n} grade", "{n} grades", 1) == "1 grade"
    assert i18n.tn("en", "{n} grade", "{n} grades", 2) == "2 grades"
    assert i18n.format_date(date(2026, 11, 28), "en") == "28 November"
    assert i18n.format_date(date(2026, 11, 28), "uk") == "28 листопада"
    assert i18n.format_weekday(date(2026, 11, 28), "en") == "Saturday"
    assert i18n.format_number(9.44, "uk") == "9,4" and i18n.format_number(9.44, "en") == "9.4"


def test_params_fill_after_translation_and_unknown_locales_fall_back() -> None:
    assert i18n.t("uk", "Language: {name}", name="English") == "Мова: English"
    assert i18n.t("ru", "Grades") == "Оцінки"
    assert i18n.normalize_locale("de-DE", default="en") == "en"


def test_menu_labels_and_commands_exist_in_both_languages() -> None:
    assert labels("uk")["grades"] == "Оцінки" and labels("en")["grades"] == "Grades"
    assert command_for_label("оцінки") == command_for_label("Grades") == "grades"
    for locale in i18n.SUPPORTED_LOCALES:
        pairs = command_list(locale)
        assert [name for name, _ in pairs][:2] == ["start", "grades"]
        assert all(description for _, description in pairs)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_nothing_under_handlers_imports_a_messenger_library() -> None:
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for path in sorted((ROOT / "school_bot" / "handlers").rglob("*.py"))
                 for name in _imports(path) if name.split(".")[0] in MESSENGER_LIBRARIES]
    assert offenders == []
