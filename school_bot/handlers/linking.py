"""Linking's shared part: the answers a chat that is not linked gets, attach, unlink.

`welcome.py` decides what a /start, a contact or a typed line means; `codes.py`
handles invitation codes. Linking and unlinking are audited (the chat's id and the
school system's person ids; never a phone or a name).
"""

from __future__ import annotations

import logging

from school_bot.handlers import people, throttle
from school_bot.handlers.menu import with_menu
from school_bot.handlers.turn import Turn
from school_bot.shared.events import Platform, Reply
from school_bot.shared.i18n import t
from school_bot.storage import audit
from school_bot.storage.calendar_feeds import remove_feed

log = logging.getLogger(__name__)


def ask_for_contact(turn: Turn, text: str) -> Reply:
    return Reply(text=text, request_contact=True,
                 contact_button_label=t(turn.locale, "Share my phone number"))


def greeting(turn: Turn) -> Reply:
    text = t(turn.locale, "Hello! This is the parents' bot of the Online School: grades, homework, "
                          "absences and school news of your children.")
    if turn.platform is Platform.VIBER:
        how = t(turn.locale, "To start, share your phone number with the button below, then type "
                             "the invitation code your school gave you.")
    else:
        how = t(turn.locale, "To start, share your phone number with the button below. It must be "
                             "the number your school has on file with your consent.")
    return ask_for_contact(turn, f"{text}\n\n{how}")


def refusal(turn: Turn) -> Reply:
    """One answer for an unknown number, no consent on file, and a school not launched yet."""
    return ask_for_contact(turn, t(
        turn.locale, "Sorry, I cannot give you access with this number yet. Please ask your "
                     "school's administrator to check your phone number and your consent form."))


def failed(turn: Turn, reason: str) -> None:
    """A linking attempt that did not succeed: counted for the throttle, logged without data."""
    throttle.count_failure(turn.account, turn.now)
    log.info("linking refused account=%s platform=%s reason=%s attempts=%s", turn.account.id,
             turn.platform.value, reason, turn.account.failed_link_attempts)


def too_many(turn: Turn) -> Reply:
    return Reply(text=t(turn.locale, "Too many attempts. Please try again in an hour."))


def use_the_button(turn: Turn) -> Reply:
    return ask_for_contact(turn, t(
        turn.locale, "For your safety I can only accept your own number, shared with the "
                     "\"Share my phone number\" button below. Typed or forwarded numbers are "
                     "not accepted."))


async def attach(turn: Turn, found: people.Candidates, *, method: str) -> list[Reply]:
    """Link the chat to the people found, beside any it is linked to already (a second
    school's row of the same parent adds that school's children)."""
    account = turn.account
    account.guardian_ids.extend(g for g in found.guardian_ids if g not in account.guardian_ids)
    account.staff_id = found.staff_id or account.staff_id
    account.linked_at = turn.now
    account.selected_student_id = None
    throttle.forgive(account)
    turn.remember(phone_guardians=None, pending_code=None)
    await audit.record(turn.session, actor=turn.actor, action="account.linked", entity="account",
                       entity_id=str(account.id),
                       details={"platform": turn.platform.value, "method": method,
                                "guardian_ids": found.guardian_ids, "staff_id": found.staff_id})
    log.info("chat linked account=%s platform=%s method=%s", account.id, turn.platform.value, method)
    return [with_menu(turn, t(turn.locale, "Done! This chat is now linked. Choose what you want "
                                           "to see in the menu below."))]


async def unlink(turn: Turn) -> list[Reply]:
    account = turn.account
    if not account.linked:
        return [greeting(turn)]
    await audit.record(turn.session, actor=turn.actor, action="account.unlinked", entity="account",
                       entity_id=str(account.id),
                       details={"platform": turn.platform.value,
                                "guardian_ids": list(account.guardian_ids), "staff_id": account.staff_id})
    account.guardian_links.clear()
    await remove_feed(turn.session, account.id)  # the calendar feed stops with the link
    account.staff_id = account.selected_student_id = None
    account.linked_at = None
    account.state = {}
    return [Reply(text=t(turn.locale, "This chat is no longer linked. Your data stays with the "
                                      "school; send /start to link again."), remove_menu=True)]
