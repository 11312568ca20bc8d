"""The catalogs are complete, compiled and plural-aware; handlers/ stays messenger-free."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from school_bot.shared import i18n
from school_bot.shared.i18n_tools import DOMAINS, LOCALES_DIR, problems, sources

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_catalog_is_complete_not_fuzzy_and_compiled(domain: str) -> None:
    if not sources(domain):
        pytest.skip(f"no sources for domain {domain} yet")
    assert problems(domain) == []


def test_every_ukrainian_catalog_carries_three_plural_forms() -> None:
    for mo in LOCALES_DIR.glob("uk/LC_MESSAGES/*.mo"):
        catalog = i18n._catalog("uk", mo.stem)
        assert catalog.ngettext("x", "y", 1) is not None
        assert "nplurals=3" in (catalog.info().get("plural-forms") or ""), mo


def test_dates_follow_the_language() -> None:
    assert i18n.format_date(date(2026, 11, 28), "uk") == "28 листопада"
    assert i18n.format_date(date(2026, 11, 28), "en") == "28 November"
    assert i18n.format_weekday(date(2026, 11, 28), "uk") == "субота"


def test_locale_hints_are_normalised() -> None:
    assert i18n.normalize_locale("uk-UA") == "uk"
    assert i18n.normalize_locale("en_US") == "en"
    assert i18n.normalize_locale("ru") == "uk"
    assert i18n.normalize_locale(None, default="en") == "en"


def test_nothing_under_handlers_imports_a_messenger_library() -> None:
    offenders = []
    for path in (ROOT / "school_bot" / "handlers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names
                          if n.split(".")[0] in {"aiogram", "viberbot", "aiohttp"}]
    assert offenders == []
