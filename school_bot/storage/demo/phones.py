"""Phone numbers of the city: unique Ukrainian mobile numbers, spelt as administrators type them."""

from __future__ import annotations

import random

import phonenumbers

from .draws import weighted_pool
from .people import Phone

OPERATOR_CODES = ("050", "066", "095", "099", "067", "068", "096", "097", "098", "063", "073",
                  "093")
PHONE_SPELLINGS = (("{a} {b} {c} {d}", 30), ("+38 ({a}) {b}-{c}-{d}", 20), ("38{a}{b}{c}{d}", 15),
                   ("{a}{b}{c}{d}", 20), ("+38{a}{b}{c}{d}", 15))
SPELLING_POOL = weighted_pool(PHONE_SPELLINGS)


class PhoneBook:
    """Hands out numbers no one else in the city has."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.numbers: set[str] = set()

    def new_phone(self) -> Phone:
        rng = self.rng
        while True:
            code = rng.choice(OPERATOR_CODES)
            number = str(rng.randrange(2_000_000, 10_000_000))
            e164 = f"+380{code[1:]}{number}"
            if e164 not in self.numbers:
                self.numbers.add(e164)
                return Phone(self.spell(code, number), e164)

    def spell(self, code: str, number: str, avoid: str = "") -> str:
        """The number as an administrator might type it (never as `avoid`)."""
        while True:
            shape = self.rng.choice(SPELLING_POOL)
            spelling = shape.format(a=code, b=number[:3], c=number[3:5], d=number[5:])
            if spelling != avoid:
                return spelling


def to_e164(spelling: str) -> str:
    """E.164 of a phone as spelt in the files (any spelling the data contract allows)."""
    digits = "".join(ch for ch in spelling if ch.isdigit())
    text = "+" + digits if not spelling.startswith("+") and digits.startswith("380") else spelling
    return phonenumbers.format_number(phonenumbers.parse(text, "UA"),
                                      phonenumbers.PhoneNumberFormat.E164)
