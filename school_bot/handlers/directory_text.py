"""Words the class directory and the relay share, in the `privacy` catalog."""

from __future__ import annotations

from typing import Any

from school_bot.handlers.directory_access import Member
from school_bot.shared.i18n import t, tn

DOMAIN = "privacy"


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain=DOMAIN, **params)


def _tn(locale: str, singular: str, plural: str, n: int, **params: Any) -> str:
    return tn(locale, singular, plural, n, domain=DOMAIN, **params)


def who(locale: str, member: Member) -> str:
    """`Бондар Ірина, parent of Іван` (uk: `Бондар Ірина (дитина: Іван)`)."""
    return _tn(locale, "{name}, parent of {children}", "{name}, parent of {children}",
               len(member.children), name=member.name, children=", ".join(member.children))


def who_in_class(locale: str, member: Member, class_name: str) -> str:
    """`Бондар Ірина, parent of Іван (5-А)`."""
    return _tn(locale, "{name}, parent of {children} ({class_name})",
               "{name}, parent of {children} ({class_name})", len(member.children),
               name=member.name, children=", ".join(member.children), class_name=class_name)


def for_parents_only(locale: str) -> str:
    return _t(locale, "The class directory is for parents whose chat is linked to the bot.")


def gone(locale: str) -> str:
    return _t(locale, "This button is not available to you. Please open the class directory again.")
