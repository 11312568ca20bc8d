"""One-time invitation codes: typed, or in a deep link (`/start <code>`, Viber's context).

A code belongs to a guardian or to a staff member; what a code is, and when two
spellings are the same code, is storage/invites.py's rule. On Telegram and the console
a usable code links its person on its own. On Viber, which cannot vouch for a contact,
the rule is "contact AND code": the code must belong to a consenting person whose
number was shared in this chat (their ids wait in `account.state`: `phone_guardians`,
`phone_staff`; in whichever order the two arrive). A chat already linked adds a
further row of the same parent (another school's) with that row's code: its number must
be the number of a row the chat is linked to. Once the contact is shared, every
line typed there that is no menu command is a code attempt. A wrong code counts
against the chat (throttle.py) and, when it is a real code that does not fit the
shared number, against the code too (locked after 5, storage/invites.py).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update

from school_bot.handlers import people, throttle
from school_bot.shared.events import Platform, Reply
from school_bot.shared.i18n import t
from school_bot.handlers.linking import ask_for_contact, attach, failed, greeting, refusal, too_many
from school_bot.handlers.menu import with_menu
from school_bot.handlers.turn import Turn
from school_bot.storage.invites import find_usable, looks_like_code, usable
from school_bot.storage.models import InviteCode

__all__ = ["after_contact", "after_viber_contact", "code_refused", "from_deep_link",
           "looks_like_code", "typed"]


def code_refused(turn: Turn) -> Reply:
    text = t(turn.locale, "This code does not work: it may be mistyped, expired or already used. "
                          "Please check it, or ask your school for a new one.")
    return with_menu(turn, text) if turn.account.linked else Reply(text=text)


def after_contact(turn: Turn) -> bool:
    """Viber, the contact shared and no code has linked yet: a typed line is a code."""
    return turn.platform is Platform.VIBER and turn.state("phone_guardians") is not None


async def from_deep_link(turn: Turn, payload: str) -> list[Reply]:
    if not looks_like_code(payload):
        return [greeting(turn)]
    return await typed(turn, payload)


async def typed(turn: Turn, text: str,
                refused: Callable[[Turn], Reply] = code_refused) -> list[Reply]:
    """A code attempt; `refused` is the answer when it is no usable code."""
    if throttle.locked_out(turn.account, turn.now):
        return [too_many(turn)]
    row = await find_usable(turn.session, text, turn.now)
    if row is None:
        failed(turn, "code not usable")
        return [refused(turn)]
    if turn.platform is not Platform.VIBER:
        return await _redeem(turn, row)
    proved = await _proved(turn, row)
    if proved is None:
        turn.remember(pending_code=row.id)
        return [ask_for_contact(turn, t(turn.locale, "Thank you. Now share your phone number "
                                                     "with the button below."))]
    return await _matched(turn, row, proved)


async def after_viber_contact(turn: Turn, phone: str | None) -> list[Reply]:
    """Viber: keep who the number may be, then use a code that came first, or ask for one."""
    if throttle.locked_out(turn.account, turn.now):
        return [too_many(turn)]
    guardians = await people.consenting_guardians(turn.session, phone) if phone else []
    staff = await people.consenting_staff(turn.session, phone) if phone else []
    turn.remember(phone_guardians=guardians, phone_staff=staff)
    pending = turn.state("pending_code")
    if pending is None:
        return [Reply(text=t(turn.locale, "Thank you. Now type the invitation code your school "
                                          "gave you."))]
    turn.remember(pending_code=None)
    row = await turn.session.get(InviteCode, pending)
    if row is None or not usable(row, turn.now):
        failed(turn, "code not usable")
        return [code_refused(turn)]
    return await _matched(turn, row, await _proved(turn, row) or [])


async def _proved(turn: Turn, row: InviteCode) -> list[str] | None:
    """Viber: the people of the code's kind whose number this chat has proved, by the
    contact shared in it, or (a chat already linked) by the rows it is linked to; None
    when it has proved none yet."""
    if after_contact(turn):
        return turn.state("phone_staff" if row.staff_id is not None else "phone_guardians") or []
    if row.guardian_id is not None and turn.account.guardian_links:
        return await people.same_number(turn.session, list(turn.account.guardian_ids))
    return None


async def _matched(turn: Turn, row: InviteCode, proved: list[str]) -> list[Reply]:
    """Viber: the code's person must be one whose number this chat has proved."""
    if (row.staff_id or row.guardian_id) not in proved:
        row.failed_attempts += 1
        failed(turn, "code of another person")
        return [code_refused(turn)]
    return await _redeem(turn, row)


async def _redeem(turn: Turn, row: InviteCode) -> list[Reply]:
    if row.staff_id is not None:
        found = await people.candidates_for_staff(turn.session, row.staff_id)
    else:
        found = await people.candidates_for_guardian(turn.session, row.guardian_id or "")
    await people.wait_for_launch(turn.session, turn.account.id, found.waiting_schools)
    if not found.found:
        failed(turn, "no linkable person")
        return [refusal(turn)]
    used = await turn.session.execute(
        update(InviteCode).where(InviteCode.id == row.id, InviteCode.used_at.is_(None))
        .values(used_at=turn.now))
    if used.rowcount != 1:  # another chat redeemed it a moment ago
        return [code_refused(turn)]
    turn.remember(phone_staff=None)
    return await attach(turn, found, method="code")
