"""Parent-to-parent messages through the bot: write, preview, send.

    ✉️ Write to <name> (or ↩️ Reply) → the parent types the message → a preview →
    [Send] → a RelayMessage row and one outbox row per active chat of the recipient.

Every step asks `directory_access.may_write` again (both opted in, a shared class of a
launched school, no block either way), so a forged or stale button writes nothing. A
recipient who blocked the writer is never named as such: the writer reads "this parent
does not accept messages". The recipient's copy says who wrote (name, children's first
names, class) and the text, never a phone number or a messenger account. The draft
lives in `Account.state["relay"]`; the account row is locked when it is sent, so a
double press sends once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from school_bot.handlers import directory_access as access
from school_bot.handlers import directory_buttons as buttons
from school_bot.handlers.directory_access import Permit, Refusal
from school_bot.handlers.directory_text import _t, _tn, for_parents_only, who, who_in_class
from school_bot.handlers.turn import Turn, fresh
from school_bot.notifications.outbox import Priority, enqueue
from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import normalize_locale
from school_bot.storage.models import Account, RelayMessage

log = logging.getLogger(__name__)

STATE_KEY = "relay"
MAX_TEXT = 1000
PER_HOUR = 10
PER_DAY = 30
WAIT = timedelta(minutes=30)  # an unanswered "write your message" expires
KIND = "relay"


def draft(account: Account) -> dict[str, Any] | None:
    value = (account.state or {}).get(STATE_KEY)
    return value if isinstance(value, dict) else None


def waiting(account: Account, now: datetime) -> bool:
    """Whether the chat's next typed text is the message being written."""
    current = fresh(draft(account), now, WAIT) or {}
    return current.get("step") in ("text", "confirm") and bool(account.guardian_links)


def drop(turn: Turn) -> None:
    turn.remember(relay=None)


def _cancel(locale: str) -> Button:
    return Button(_t(locale, "✖️ Cancel"), buttons.CANCEL)


def refusal(turn: Turn, reason: Refusal, recipient: str) -> list[Reply]:
    locale = turn.locale
    if reason is Refusal.NOT_OPTED_IN:
        return [Reply(text=_t(locale, "Turn the class directory on first: other parents can only "
                                      "be written to by parents who are visible to their class."),
                      buttons=[[Button(_t(locale, "Turn the class directory on"),
                                       buttons.visible(True))]])]
    if reason is Refusal.NOT_ACCEPTING:
        return [Reply(text=_t(locale, "This parent does not accept messages."))]
    if reason is Refusal.BLOCKED_BY_YOU:
        return [Reply(text=_t(locale, "You have blocked messages from this parent. Unblock them "
                                      "to write to them."),
                      buttons=[[Button(_t(locale, "Unblock"), buttons.unblock(recipient))]])]
    return [Reply(text=_t(locale, "This parent is not in your class directory (any more)."))]


async def over_limit(turn: Turn) -> Reply | None:
    """The answer when this parent (every row of the chat) has written too much lately, else None."""
    counted = select(func.count()).select_from(RelayMessage).where(
        RelayMessage.sender_guardian_id.in_(list(turn.account.guardian_ids)))
    in_hour = await turn.session.scalar(
        counted.where(RelayMessage.created_at > turn.now - timedelta(hours=1)))
    if (in_hour or 0) >= PER_HOUR:
        return Reply(text=_tn(turn.locale, "You can send other parents at most {n} message an hour. "
                                           "Please try again later.",
                              "You can send other parents at most {n} messages an hour. "
                              "Please try again later.", PER_HOUR))
    in_day = await turn.session.scalar(
        counted.where(RelayMessage.created_at > turn.now - timedelta(days=1)))
    if (in_day or 0) >= PER_DAY:
        return Reply(text=_tn(turn.locale, "You can send other parents at most {n} message a day. "
                                           "Please try again tomorrow.",
                              "You can send other parents at most {n} messages a day. "
                              "Please try again tomorrow.", PER_DAY))
    return None


async def _check(turn: Turn, recipient: str) -> Permit | list[Reply]:
    mine = list(turn.account.guardian_ids)
    if not mine:
        return [Reply(text=for_parents_only(turn.locale))]
    permit = await access.may_write_from(turn.session, mine, recipient)
    if isinstance(permit, Refusal):
        drop(turn)
        return refusal(turn, permit, recipient)
    return permit


async def begin(turn: Turn, recipient: str) -> list[Reply]:
    """✉️ Write to / ↩️ Reply: ask for the message."""
    permit = await _check(turn, recipient)
    if not isinstance(permit, Permit):
        return permit
    limited = await over_limit(turn)
    if limited is not None:
        return [limited]
    member = await access.describe(turn.session, recipient, permit.class_id)
    if member is None:
        return refusal(turn, Refusal.UNAVAILABLE, recipient)
    turn.keep_flow(STATE_KEY, step="text", to=recipient)
    text = _t(turn.locale, "Write your message to {who} (up to {limit} characters). The bot passes "
                           "it on with your name and your children's first names; your phone "
                           "number is never shown.", who=who(turn.locale, member), limit=MAX_TEXT)
    return [Reply(text=text, buttons=[[_cancel(turn.locale)]])]


async def text(turn: Turn, typed: str) -> list[Reply]:
    """The message (the draft is waiting for it: see `waiting`): checked, then previewed."""
    current = draft(turn.account) or {}
    recipient = str(current.get("to") or "")
    body = (typed or "").strip()
    if not body:
        return [Reply(text=_t(turn.locale, "Please write the message as text."))]
    if len(body) > MAX_TEXT:
        return [Reply(text=_tn(turn.locale, "This message is {n} character long; at most {limit} "
                                            "can be sent. Please shorten it and send it again.",
                               "This message is {n} characters long; at most {limit} can be "
                               "sent. Please shorten it and send it again.", len(body),
                               limit=MAX_TEXT),
                      buttons=[[_cancel(turn.locale)]])]
    permit = await _check(turn, recipient)
    if not isinstance(permit, Permit):
        return permit
    member = await access.describe(turn.session, recipient, permit.class_id)
    if member is None:
        return refusal(turn, Refusal.UNAVAILABLE, recipient)
    turn.keep_flow(STATE_KEY, step="confirm", to=recipient, text=body)
    head = _t(turn.locale, "Your message to {who}:", who=who(turn.locale, member))
    ask = _t(turn.locale, "Send it?")
    return [Reply(text=f"{head}\n\n{body}\n\n{ask}",
                  buttons=[[Button(_t(turn.locale, "✅ Send"), buttons.SEND), _cancel(turn.locale)]])]


def cancel(turn: Turn) -> list[Reply]:
    drop(turn)
    return [Reply(text=_t(turn.locale, "The message was not sent."), edit=True)]


async def send(turn: Turn) -> list[Reply]:
    """[Send]: the account row is locked and the draft read again, so it goes once."""
    locked = await turn.session.scalar(
        select(Account).where(Account.id == turn.account.id)
        .with_for_update().execution_options(populate_existing=True))
    current = draft(locked) if locked is not None else None
    if not current or current.get("step") != "confirm" or not current.get("text"):
        return [Reply(text=_t(turn.locale, "This message is gone. Open the class directory to "
                                           "write again."), edit=True)]
    recipient = str(current.get("to") or "")
    permit = await _check(turn, recipient)
    if not isinstance(permit, Permit):
        return permit
    limited = await over_limit(turn)
    if limited is not None:
        drop(turn)
        return [limited]
    message = await deliver(turn, permit, recipient, str(current["text"]))
    drop(turn)
    if message is None:
        return refusal(turn, Refusal.UNAVAILABLE, recipient)
    member = await access.describe(turn.session, recipient, permit.class_id)
    name = member.name if member else ""
    return [Reply(text=_t(turn.locale, "Sent to {name}. Their answer will come here.", name=name),
                  edit=True)]


async def deliver(turn: Turn, permit: Permit, recipient: str, body: str) -> RelayMessage | None:
    """Store the message and queue a copy for each active chat of the recipient."""
    sender = permit.sender
    author = await access.describe(turn.session, sender, permit.class_id)
    info = await access.class_info(turn.session, permit.class_id)
    chats = await access.chats_of(turn.session, recipient)
    if author is None or info is None or not chats:
        return None
    message = RelayMessage(class_id=permit.class_id, sender_guardian_id=sender,
                           recipient_guardian_id=recipient, text=body, created_at=turn.now)
    turn.session.add(message)
    await turn.session.flush()
    default = turn.settings.default_locale
    for chat in chats:
        locale = normalize_locale(chat.language, default)
        await enqueue(turn.session, account_id=chat.id, kind=KIND, priority=Priority.NORMAL,
                      dedupe_key=f"relay:{message.id}:{chat.id}",
                      reply=received(locale, author, info.name, body, message.id), now=turn.now)
    log.info("relay queued message=%s class=%s chats=%s", message.id, permit.class_id, len(chats))
    return message


def received(locale: str, author: access.Member, class_name: str, body: str, relay_id: int) -> Reply:
    """The recipient's copy: who wrote, the text, and Reply / Block / Report."""
    head = _t(locale, "✉️ A message from {who}, through the class directory:",
              who=who_in_class(locale, author, class_name))
    note = _t(locale, "Neither of you sees the other's phone number.")
    rows = [[Button(_t(locale, "↩️ Reply"), buttons.on_message("r", relay_id))],
            [Button(_t(locale, "🚫 Block"), buttons.on_message("b", relay_id)),
             Button(_t(locale, "⚠️ Report"), buttons.on_message("x", relay_id))]]
    return Reply(text=f"{head}\n\n{body}\n\n{note}", buttons=rows)
