"""What a parent can do with a message they received: reply, block the sender, report it.

A button names the message by its id; it is used only when that message was sent to
one of this chat's guardian rows; a block covers all of them. A block is kept quiet (the
blocked parent reads "this parent does not accept messages"). A report marks the
message, sends it with its class to the class's homeroom teacher's chats, and is audited
("relay.reported").
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from school_bot.handlers import directory_access as access
from school_bot.handlers import directory_buttons as buttons
from school_bot.handlers import relay
from school_bot.handlers.directory_text import _t, who_in_class
from school_bot.handlers.turn import Turn
from school_bot.notifications.outbox import DUE, Priority, enqueue
from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import format_date, normalize_locale
from school_bot.storage import audit
from school_bot.storage.models import (
    Account,
    AccountGuardian,
    DirectoryBlock,
    OutboxMessage,
    RelayMessage,
    Staff,
)
from school_bot.storage.writes import upsert

log = logging.getLogger(__name__)

REPORT_KIND = "relay_report"


async def _received(turn: Turn, raw_id: str) -> RelayMessage | None:
    """The message a (client-sent) id names, if it was sent to one of this chat's guardian rows."""
    if not turn.account.guardian_links or not raw_id.isdigit():
        return None
    message = await turn.session.get(RelayMessage, int(raw_id))
    if message is None or message.recipient_guardian_id not in turn.account.guardian_ids:
        return None
    return message


def _unavailable(turn: Turn) -> list[Reply]:
    return [Reply(text=_t(turn.locale, "This message is no longer available."))]


async def reply(turn: Turn, raw_id: str) -> list[Reply]:
    message = await _received(turn, raw_id)
    if message is None:
        return _unavailable(turn)
    return await relay.begin(turn, message.sender_guardian_id)


async def block(turn: Turn, raw_id: str) -> list[Reply]:
    message = await _received(turn, raw_id)
    if message is None:
        return _unavailable(turn)
    blocked = message.sender_guardian_id
    for blocker in list(turn.account.guardian_ids):  # the parent blocks, through every row
        await turn.session.execute(
            upsert(turn.session, DirectoryBlock).values(guardian_id=blocker, blocked_guardian_id=blocked,
                                          created_at=turn.now)
            .on_conflict_do_nothing(index_elements=["guardian_id", "blocked_guardian_id"]))
        await _drop_waiting_copies(turn, sender=blocked, recipient=blocker)
    rows = [[Button(_t(turn.locale, "Unblock"), buttons.unblock(blocked))]]
    if message.reported_at is None:
        rows.append([Button(_t(turn.locale, "⚠️ Report"), buttons.on_message("x", message.id))])
    return [Reply(text=_t(turn.locale, "Blocked. This parent can no longer write to you, and is not "
                                       "told that you blocked them."), buttons=rows)]


async def _drop_waiting_copies(turn: Turn, *, sender: str, recipient: str) -> None:
    """Messages of a parent just blocked that still wait in the outbox are not delivered."""
    relay_ids = (await turn.session.scalars(select(RelayMessage.id).where(
        RelayMessage.sender_guardian_id == sender, RelayMessage.recipient_guardian_id == recipient))).all()
    chats = (await turn.session.scalars(select(AccountGuardian.account_id)
                                        .where(AccountGuardian.guardian_id == recipient))).all()
    keys = [f"relay:{relay_id}:{chat}" for relay_id in relay_ids for chat in chats]
    for start in range(0, len(keys), 500):
        await turn.session.execute(delete(OutboxMessage).where(
            OutboxMessage.dedupe_key.in_(keys[start:start + 500]),
            OutboxMessage.status.in_(DUE)))


async def unblock(turn: Turn, ref: str) -> list[Reply]:
    mine = list(turn.account.guardian_ids)
    if not mine:
        return _unavailable(turn)
    blocked = access.resolve_ref(ref, await access.blocked_by(turn.session, mine))
    if blocked is not None:
        await turn.session.execute(delete(DirectoryBlock).where(
            DirectoryBlock.guardian_id.in_(mine), DirectoryBlock.blocked_guardian_id == blocked))
    return [Reply(text=_t(turn.locale, "Unblocked. This parent can write to you again while you "
                                       "both keep the class directory on."), edit=True)]


async def report(turn: Turn, raw_id: str) -> list[Reply]:
    message = await _received(turn, raw_id)
    if message is None:
        return _unavailable(turn)
    if message.reported_at is not None:
        return [Reply(text=_t(turn.locale, "You have already reported this message."))]
    message.reported_at = turn.now
    info = await access.class_info(turn.session, message.class_id)
    told = await _tell_the_class_teacher(turn, message, info) if info else 0
    await audit.record(turn.session, actor=turn.actor, action="relay.reported",
                       school_id=info.school_id if info else None, entity="relay_message",
                       entity_id=str(message.id),
                       details={"class_id": message.class_id, "teacher_chats": told,
                                "sender_guardian_id": message.sender_guardian_id,
                                "reporter_guardian_id": message.recipient_guardian_id})
    log.info("relay reported message=%s class=%s teacher_chats=%s", message.id, message.class_id, told)
    rows = [[Button(_t(turn.locale, "🚫 Block"), buttons.on_message("b", message.id))]]
    if told:
        text = _t(turn.locale, "Thank you. The message was passed on to the class teacher.")
    else:
        text = _t(turn.locale, "Thank you. The report is recorded, but the class teacher does not "
                               "use the bot yet: please also tell the school.")
    return [Reply(text=text, buttons=rows)]


async def _tell_the_class_teacher(turn: Turn, message: RelayMessage, info: access.ClassInfo) -> int:
    """Queue the reported message for each active chat of the homeroom teacher."""
    if info.homeroom_teacher_id is None:
        return 0
    chats = (await turn.session.scalars(
        select(Account).join(Staff, Staff.id == Account.staff_id)
        .where(Staff.id == info.homeroom_teacher_id, Staff.consent.is_(True), Staff.erased_at.is_(None),
               Account.active.is_(True)).order_by(Account.id))).all()
    sender = await access.describe(turn.session, message.sender_guardian_id, message.class_id)
    reporter = await access.describe(turn.session, message.recipient_guardian_id, message.class_id)
    if sender is None or reporter is None:
        return 0
    told = 0
    for chat in chats:
        locale = normalize_locale(chat.language, turn.settings.default_locale)
        text = _report_text(locale, info, sender, reporter, message, turn.settings.zone)
        told += await enqueue(turn.session, account_id=chat.id, kind=REPORT_KIND,
                              priority=Priority.NORMAL, dedupe_key=f"relay-report:{message.id}:{chat.id}",
                              reply=Reply(text=text), now=turn.now)
    return told


def _report_text(locale: str, info: access.ClassInfo, sender: access.Member, reporter: access.Member,
                 message: RelayMessage, zone: ZoneInfo) -> str:
    """What the class teacher reads: the class, who wrote to whom, when, and the text."""
    sent = format_date(message.created_at.astimezone(zone), locale)
    return "\n".join([
        _t(locale, "⚠️ A parent of class {class_name} ({school}) reported a message they "
                   "received through the class directory.",
           class_name=info.name, school=info.school_name), "",
        _t(locale, "From: {who}", who=who_in_class(locale, sender, info.name)),
        _t(locale, "To: {who}", who=who_in_class(locale, reporter, info.name)),
        _t(locale, "Sent: {day}", day=sent), "",
        message.text])
