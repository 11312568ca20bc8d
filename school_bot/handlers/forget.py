"""/forget: withdraw consent. Asks first; on "yes" the person's data is erased.

Erasure is `storage.erasure.erase_person`, for every guardian row the chat speaks for
and its staff row (name and phone nulled, chats deleted, queued notifications and
invitation codes gone, audited). The chat row itself is
deleted there, so nothing here touches the account afterwards.
"""

from __future__ import annotations

from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import t, tn
from school_bot.handlers.linking import greeting
from school_bot.handlers.turn import Turn
from school_bot.storage.erasure import ErasureReport, PersonKind, erase_person

PREFIX = "fg:"
REASON = "consent withdrawn by the parent"


def ask(turn: Turn) -> list[Reply]:
    if not turn.account.linked:
        return [greeting(turn)]
    text = t(turn.locale, "Withdraw your consent? Your name and phone number will be erased from "
                          "the bot, this chat will be unlinked, and you will get no more messages. "
                          "This cannot be undone.")
    return [Reply(text=text, buttons=[[Button(t(turn.locale, "Yes, erase my data"), f"{PREFIX}yes"),
                                       Button(t(turn.locale, "No, keep it"), f"{PREFIX}no")]])]


async def press(turn: Turn, payload: str) -> list[Reply]:
    account, locale = turn.account, turn.locale
    if payload != f"{PREFIX}yes" or not account.linked:
        return [Reply(text=t(locale, "Nothing was erased."), edit=True)]
    reports: list[ErasureReport] = []
    people: list[tuple[PersonKind, str | None]] = [
        *(("guardian", guardian_id) for guardian_id in list(account.guardian_ids)),
        ("staff", account.staff_id)]
    for kind, person_id in people:
        if person_id is not None:
            reports.append(await erase_person(turn.session, kind, person_id,
                                              actor=turn.actor, reason=REASON))
    return [Reply(text=_summary(locale, reports), remove_menu=True)]


def _summary(locale: str, reports: list[ErasureReport]) -> str:
    fields = {name for report in reports for name in report.erased_fields}
    named = [t(locale, "your name")] * ("full_name" in fields) + \
            [t(locale, "your phone number")] * ("phone" in fields)
    chats = len(set().union(*(report.chat_ids for report in reports)))
    codes = sum(report.invite_codes_revoked for report in reports)
    lines = [t(locale, "Done. Erased: {what}.", what=", ".join(named) or t(locale, "nothing more"))]
    lines.append(tn(locale, "{n} chat unlinked.", "{n} chats unlinked.", chats))
    if codes:
        lines.append(tn(locale, "{n} invitation code deleted.", "{n} invitation codes deleted.", codes))
    lines += ["", t(locale, "Please also tell your school that you withdrew your consent, so that "
                            "they stop using your number.")]
    return "\n".join(lines)
