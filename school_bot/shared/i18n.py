"""Translations through Babel's gettext catalogs, with the locale always explicit.

Catalogs live in `locales/<locale>/LC_MESSAGES/<domain>.po` and the compiled `.mo`
beside them (committed, so a fresh checkout runs without a compile step). Several
domains keep engineers out of each other's files: `core`, `notifications`, `privacy`,
`reports`, `viber`, ... A lookup without a domain searches all of them.

    t("uk", "Grades")                                  -> "Оцінки"
    tn("uk", "{n} grade", "{n} grades", 5)             -> "5 оцінок"
    format_date(date(2026, 11, 28), "uk")              -> "28 листопада"

`locales/README.md` says how to add a string or a domain.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED_LOCALES = ("uk", "en")
DEFAULT_LOCALE = "uk"


def normalize_locale(hint: str | None, default: str = DEFAULT_LOCALE) -> str:
    """`uk`, `uk-UA`, `en_US`, `EN` -> a supported locale; anything else -> the default."""
    if hint in SUPPORTED_LOCALES:
        return hint
    if hint:
        language = hint.replace("_", "-").split("-", 1)[0].lower()
        if language in SUPPORTED_LOCALES:
            return language
    return default if default in SUPPORTED_LOCALES else DEFAULT_LOCALE


def chat_locale(chosen: str | None, hint: str | None, default: str) -> str:
    """A chat's language: the one it chose, else the messenger's (or browser's) if we
    speak it, else the default."""
    return normalize_locale(chosen or hint or default, normalize_locale(default))


def N_(msgid: str) -> str:
    """Mark a string for the catalogs where it is defined; translate it where it is shown."""
    return msgid


@lru_cache(maxsize=1)
def domains() -> tuple[str, ...]:
    """The catalog domains present (read once; `reset_cache` forgets them)."""
    return tuple(sorted({p.stem for p in LOCALES_DIR.glob("*/LC_MESSAGES/*.mo")}))


@cache
def _catalog(locale: str, domain: str) -> NullTranslations:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.mo"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        return Translations(handle, domain=domain)


def _catalogs(locale: str, domain: str | None) -> list[NullTranslations]:
    names = [domain] if domain else domains()
    return [_catalog(locale, name) for name in names]


def _format(text: str, params: dict[str, Any]) -> str:
    return text.format(**params) if params else text


def t(locale: str, msgid: str, *, domain: str | None = None, **params: Any) -> str:
    """The translation of `msgid` in `locale`, with `{params}` filled in."""
    return _format(_translated(normalize_locale(locale), msgid, domain), params)


@lru_cache(maxsize=8192)  # msgids are the code's own strings: a few hundred per locale
def _translated(locale: str, msgid: str, domain: str | None) -> str:
    for catalog in _catalogs(locale, domain):
        text = catalog.gettext(msgid)
        if text != msgid:
            return text
    return msgid


def tn(locale: str, singular: str, plural: str, n: int, *, domain: str | None = None,
       **params: Any) -> str:
    """A plural form chosen by the locale's rules (uk: 1 оцінка, 2 оцінки, 5 оцінок)."""
    locale = normalize_locale(locale)
    params = {"n": n, **params}
    for catalog in _catalogs(locale, domain):
        text = catalog.ngettext(singular, plural, n)
        if text not in (singular, plural):
            return _format(text, params)
    return _format(singular if n == 1 else plural, params)


def format_date(value: date | datetime, locale: str, fmt: str = "d MMMM") -> str:
    """`28 листопада` / `28 November` (Babel's CLDR patterns, genitive month in uk)."""
    if type(value) is date:  # not a datetime: equal instants in two zones hash alike
        return _formatted_date(value, normalize_locale(locale), fmt)
    return babel_format_date(value, format=fmt, locale=normalize_locale(locale))


@lru_cache(maxsize=4096)  # an answer shows a few dates; a term has ~120 of them
def _formatted_date(value: date, locale: str, fmt: str) -> str:
    return babel_format_date(value, format=fmt, locale=locale)


def format_weekday(value: date | datetime, locale: str, width: str = "wide") -> str:
    return _weekdays(normalize_locale(locale), width)[value.weekday()]


@lru_cache(maxsize=64)
def _weekdays(locale: str, width: str) -> tuple[str, ...]:
    names = Locale.parse(locale).days["format"][width]
    return tuple(str(names[day]) for day in range(7))


def format_number(value: float, locale: str, pattern: str = "0.0") -> str:
    """`9.45` → `9,5` (uk) / `9.5` (en): the locale's decimal sign."""
    return format_decimal(value, format=pattern, locale=normalize_locale(locale))


def reset_cache() -> None:
    """Forget loaded catalogs (for the catalog tools after a compile)."""
    _catalog.cache_clear()
    _translated.cache_clear()
    domains.cache_clear()
