"""Every catalog is complete, compiled and plural-aware; dates and locale hints follow
the language (the core's own catalog: test_core_i18n.py)."""

from __future__ import annotations

from datetime import date

import pytest

from school_bot.shared import i18n
from school_bot.shared.i18n_tools import DOMAINS, problems, sources


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_catalog_is_complete_not_fuzzy_and_compiled(domain: str) -> None:
    assert sources(domain), f"no source file is extracted into the {domain} catalog"
    assert problems(domain) == []


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_ukrainian_catalog_picks_one_of_three_plural_forms(domain: str) -> None:
    catalog = i18n._catalog("uk", domain)
    assert "nplurals=3" in (catalog.info().get("plural-forms") or ""), domain
    # 1 оцінка, 2 оцінки, 5 оцінок, 11 оцінок, 21 оцінка, 24 оцінки
    assert [catalog.plural(n) for n in (1, 2, 5, 11, 21, 24)] == [0, 1, 2, 2, 0, 1], domain


def test_dates_follow_the_language() -> None:
    assert i18n.format_date(date(2026, 11, 28), "uk") == "28 листопада"
    assert i18n.format_date(date(2026, 11, 28), "en") == "28 November"
    assert i18n.format_weekday(date(2026, 11, 28), "uk") == "субота"


def test_locale_hints_are_normalised() -> None:
    assert i18n.normalize_locale("uk-UA") == "uk"
    assert i18n.normalize_locale("en_US") == "en"
    assert i18n.normalize_locale("ru") == "uk"
    assert i18n.normalize_locale(None, default="en") == "en"

