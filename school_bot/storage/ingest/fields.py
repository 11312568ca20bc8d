"""Parsers for one field of a record: CSV strings and JSON values alike.

Each parser takes a value that is neither missing nor blank (a string already
stripped) and returns the stored value, or raises `ValueError` with a short reason; the caller prefixes the column
name. Reasons never repeat a phone number or a name: they travel back to the school
system and may end up in its logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from school_bot.storage.invites import code_problem, hash_code
from school_bot.storage.phones import DEFAULT_REGION, InvalidPhone, normalize_phone

Parser = Callable[[Any], Any]
_WHOLE = re.compile(r"\s*[+-]?[0-9]{1,9}\s*\Z")

TRUE_WORDS = frozenset({"yes", "true", "1", "так"})
FALSE_WORDS = frozenset({"no", "false", "0", "ні"})


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(max_length: int) -> Parser:
    """A string of at most `max_length` characters (numbers are accepted as their text)."""

    def parse(value: Any) -> str:
        if value.__class__ is not str:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"expected text, got {_json_type(value)}")
            value = _number_text(value)
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        if "\x00" in value:  # PostgreSQL cannot store it in text
            raise ValueError("contains a NUL character")
        return value

    parse.max_length = max_length  # type: ignore[attr-defined]  # storage.ingest.columns checks whole columns
    return parse


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


ident = text(64)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"{_shown(value)} is not yes/no, true/false, 1/0 or так/ні")


def iso_date(value: Any) -> date:
    if isinstance(value, str) and len(value := value.strip()) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{_shown(value)} is not a date (YYYY-MM-DD)")


def clock_time(value: Any) -> time:
    if isinstance(value, str) and 4 <= len(value := value.strip()) <= 8:
        try:
            result = time.fromisoformat(value.zfill(5) if len(value) == 4 else value)
        except ValueError:
            pass
        else:
            if result.tzinfo is None:
                return result
    raise ValueError(f"{_shown(value)} is not a time (HH:MM)")


def timestamp(value: Any) -> datetime:
    """ISO 8601; without an offset it is read later in the school's time zone."""
    if isinstance(value, str) and len(value := value.strip()) >= 10:
        try:
            result = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return result.astimezone(UTC) if result.tzinfo is not None else result
    raise ValueError(f"{_shown(value)} is not an ISO 8601 timestamp")


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (value.isdigit() and value.isascii() or _WHOLE.match(value)):
        return int(value)
    raise ValueError(f"{_shown(value)} is not a whole number")


def grade_value(value: Any) -> int:
    try:
        number = integer(value)
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a whole number from 1 to 12") from None
    if not 1 <= number <= 12:
        raise ValueError(f"{number} is outside 1–12")
    return number


def phone(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {_json_type(value)}")
    quick = _ukrainian_phone(value)
    if quick is not None:
        return quick
    try:
        return normalize_phone(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


_UA_SPELLING = re.compile(r"\+?[0-9][0-9 ()\-]*\Z")
_UA = phonenumbers.PhoneMetadata.metadata_for_region(DEFAULT_REGION).country_code  # type: ignore[union-attr]
_NOT_DIGITS = str.maketrans("", "", " ()-+")


INVITE_CODE_TEXT = 64  # characters as sent, spaces and dashes included


def invite_code(value: Any) -> str:
    """An invitation code by the one rule (storage/invites.py), as its hash: the code's
    text goes no further. The reason never repeats the code."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected text, got {_json_type(value)}")
    code = str(value)
    if len(code) > INVITE_CODE_TEXT:
        raise ValueError(f"is longer than {INVITE_CODE_TEXT} characters")
    problem = code_problem(code)
    if problem is not None:
        raise ValueError(problem)
    return hash_code(code)


def _ukrainian_phone(value: str) -> str | None:
    """The common spellings of a valid Ukrainian number (`050 123 45 67`,
    `+38 (050) 123-45-67`, `380501234567`), without the full parse: E.164 or None.

    None means "ask `normalize_phone`", which then decides (and names the problem);
    what this returns is what `normalize_phone` returns for the same text
    (tests/test_import_speed_paths.py compares the two). The validity check is the
    same library call on the same number; only the parsing of the spelling is skipped.
    """
    if not _UA_SPELLING.match(value):
        return None
    digits = value.translate(_NOT_DIGITS)
    if len(digits) == 12 and digits.startswith("380") and (value[0] == "+" or value[0] == "3"):
        national = digits[3:]
    elif len(digits) == 10 and digits[0] == "0" and value[0] != "+":
        national = digits[1:]
    else:
        return None
    if national[0] == "0":
        return None
    number = phonenumbers.PhoneNumber(country_code=_UA, national_number=int(national))
    if not phonenumbers.is_valid_number(number):
        return None
    return f"+{_UA}{national}"


def one_of(*choices: str) -> Parser:
    allowed = frozenset(choices)

    def parse(value: Any) -> str:
        word = value.strip().casefold() if isinstance(value, str) else None
        if word not in allowed:
            raise ValueError(f"{_shown(value)} is not one of {', '.join(choices)}")
        return word

    return parse


def timezone(value: Any) -> str:
    if isinstance(value, str) and "\x00" not in value and _known_zone(value.strip()):
        return value.strip()
    raise ValueError(f"{_shown(value)} is not a known time zone")


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _known_zone(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _shown(value: Any) -> str:
    """A value quoted for a reason, cut short (only ids, dates and words pass through here)."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "...'"


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", bool: "a boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)
