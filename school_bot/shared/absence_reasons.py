"""The city's list of reasons a parent may give for an absence (`ABSENCE_REASONS`).

The setting is a comma-separated list of entries, in the order the buttons show them:

    illness,medical,family,other                       the default
    illness,medical,family,quarantine=Карантин|Quarantine,other

An entry is a key (latin lowercase letters, digits and `_`, at most 16 characters:
what is stored in `absence_notes.reason` and read by the school system), optionally
followed by `=` and its label: `Українська` or `Українська|English` (English falls back
to the Ukrainian). The built-in keys `illness`, `medical`, `family` and `other` have
translated labels (notifications/note_review.py `reason_label`); any other key needs a
label. A label may not hold `,`, `=` or `|`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

BUILT_IN = ("illness", "medical", "family", "other")
DEFAULT = ",".join(BUILT_IN)
MAX_REASONS = 10
MAX_LABEL = 40
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


@dataclass(frozen=True)
class Reason:
    key: str
    uk: str | None = None  # the city's own label (None: the built-in key's translation)
    en: str | None = None

    def label(self, locale: str) -> str | None:
        """The city's own label in `locale` (English falls back to Ukrainian), if any."""
        if locale == "en":
            return self.en or self.uk
        return self.uk


@lru_cache(maxsize=16)
def parse_reasons(text: str) -> tuple[Reason, ...]:
    """The reasons of a setting's value; ValueError saying what is wrong."""
    reasons: list[Reason] = []
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        key, has_label, labels = (part.strip() for part in entry.partition("="))
        if not _KEY.match(key):
            raise ValueError(f"{key!r} is not a reason key (a-z, 0-9 and _, at most 16 "
                             "characters, starting with a letter)")
        if any(r.key == key for r in reasons):
            raise ValueError(f"the reason {key!r} is listed twice")
        uk, _, en = (part.strip() for part in labels.partition("|"))
        if has_label and not uk:
            raise ValueError(f"the reason {key!r} has an empty label")
        if "=" in labels or "|" in en or len(uk) > MAX_LABEL or len(en) > MAX_LABEL:
            raise ValueError(f"the label of {key!r} is malformed (Українська|English, "
                             f"each at most {MAX_LABEL} characters)")
        if not uk and key not in BUILT_IN:
            raise ValueError(f"the reason {key!r} needs a label: {key}=Українська|English")
        reasons.append(Reason(key, uk or None, en or None))
    if not reasons:
        raise ValueError("at least one reason is needed, e.g. " + DEFAULT)
    if len(reasons) > MAX_REASONS:
        raise ValueError(f"at most {MAX_REASONS} reasons")
    return tuple(reasons)
