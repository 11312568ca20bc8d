"""One-time invitation codes: typed, or in a deep link (`/start <code>`, Viber's context).

On Telegram and the console a usable code links its guardian on its own. On Viber,
which cannot vouch for a contact, the rule is "contact AND code": the code must
belong to a consenting guardian whose number was shared in this chat (the matching
guardian ids wait in `account.state`; in whichever order the two arrive). A chat
already linked adds a further row of the same parent (another school's) with that
row's code: its number must be the number of a row the chat is linked to. A wrong
code counts against the chat (throttle.py) and, when it is a real code that does not
fit the shared number, against the code too (locked after 5, storage/invites.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from handlers import people, throttle
from handlers.events import Platform, Reply
from handlers.i18n import t
from handlers.linking import ask_for_contact, attach, failed, greeting, refusal, too_many
from handlers.turn import Turn
from storage.invites import MAX_FAILED_ATTEMPTS, find_usable, looks_like_code
from storage.models import InviteCode

__all__ = ["after_viber_contact", "from_deep_link", "looks_like_code", "typed"]


def code_refused(turn: Turn) -> Reply:
    return Reply(text=t(turn.locale, "This code does not work: it may be mistyped, expired or "
                                     "already used. Please check it, or ask your school for a "
                                     "new one."))


def _usable(row: InviteCode | None, now: datetime) -> bool:
    return (row is not None and row.used_at is None and row.revoked_at is None
            and row.expires_at > now and row.failed_attempts < MAX_FAILED_ATTEMPTS)


async def from_deep_link(turn: Turn, payload: str) -> list[Reply]:
    if not looks_like_code(payload):
        return [greeting(turn)]
    return await typed(turn, payload)


async def typed(turn: Turn, text: str) -> list[Reply]:
    if throttle.locked_out(turn.account, turn.now):
        return [too_many(turn)]
    row = await find_usable(turn.session, text, turn.now)
    if row is None:
        failed(turn, "code not usable")
        return [code_refused(turn)]
    if turn.platform is not Platform.VIBER:
        return await _redeem(turn, row)
    shared = turn.state("phone_guardians")
    if shared is None and turn.account.guardian_links:  # a further row of a linked parent
        shared = await people.same_number(turn.session, list(turn.account.guardian_ids))
    if shared is None:
        turn.remember(pending_code=row.id)
        return [ask_for_contact(turn, t(turn.locale, "Thank you. Now share your phone number "
                                                     "with the button below."))]
    return await _matched(turn, row, shared)


async def after_viber_contact(turn: Turn, phone: str | None) -> list[Reply]:
    """Viber: keep who the number may be, then use a code that came first, or ask for one."""
    if throttle.locked_out(turn.account, turn.now):
        return [too_many(turn)]
    shared = await people.consenting_guardians(turn.session, phone) if phone else []
    turn.remember(phone_guardians=shared)
    pending = turn.state("pending_code")
    if pending is None:
        return [Reply(text=t(turn.locale, "Thank you. Now type the invitation code from your "
                                          "school (it looks like K7QF-9XBM-2D)."))]
    turn.remember(pending_code=None)
    row = await turn.session.get(InviteCode, pending)
    if row is None or not _usable(row, turn.now):
        failed(turn, "code not usable")
        return [code_refused(turn)]
    return await _matched(turn, row, shared)


async def _matched(turn: Turn, row: InviteCode, shared: list[str]) -> list[Reply]:
    if row.guardian_id not in shared:
        row.failed_attempts += 1
        failed(turn, "code of another guardian")
        return [code_refused(turn)]
    return await _redeem(turn, row)


async def _redeem(turn: Turn, row: InviteCode) -> list[Reply]:
    found = await people.candidates_for_guardian(turn.session, row.guardian_id)
    await people.wait_for_launch(turn.session, turn.account.id, found.waiting_schools)
    if not found.found:
        failed(turn, "no linkable person")
        return [refusal(turn)]
    used = await turn.session.execute(
        update(InviteCode).where(InviteCode.id == row.id, InviteCode.used_at.is_(None))
        .values(used_at=turn.now))
    if used.rowcount != 1:  # another chat redeemed it a moment ago
        return [code_refused(turn)]
    return await attach(turn, found, method="code")
