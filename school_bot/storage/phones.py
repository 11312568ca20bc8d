"""Phone numbers: any common Ukrainian spelling in, E.164 out; masked for logs."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "UA"


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """`050 123 45 67`, `+38 (050) 123-45-67`, `380501234567` -> `+380501234567`.

    Parsing alone accepts impossible numbers, so validity is checked too.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("phone is empty")
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.startswith("+") and digits.startswith("380") and len(digits) == 12:
        text = "+" + digits  # Telegram sends contacts without the plus
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str | None) -> str | None:
    try:
        return normalize_phone(raw or "")
    except InvalidPhone:
        return None


def mask_phone(phone: str | None) -> str:
    """`+380501234567` -> `+380*****4567`: enough to tell numbers apart in a log."""
    if not phone:
        return "-"
    return phone[:4] + "*" * max(len(phone) - 8, 1) + phone[-4:]
