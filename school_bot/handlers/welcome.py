"""What a chat that is not linked yet says: /start, a shared contact, a typed line.

A number is accepted only when the messenger vouches that the contact is the sender's
own (Telegram, the console). No match, no consent and "school not launched" get the
SAME answer, so nobody can probe which numbers exist; the not-launched case also
remembers the chat for the launch announcement. Viber cannot vouch: there a contact
only prepares the way for the school's one-time code, and every line typed after it
is taken as that code (see codes.py).
"""

from __future__ import annotations

from school_bot.handlers import codes, people, throttle
from school_bot.shared.events import Platform, Reply
from school_bot.shared.i18n import t
from school_bot.handlers.linking import (
    ask_for_contact,
    attach,
    failed,
    greeting,
    refusal,
    too_many,
    use_the_button,
)
from school_bot.handlers.menu import with_menu
from school_bot.handlers.turn import Turn
from school_bot.storage.phones import try_normalize_phone


async def start(turn: Turn, payload: str | None) -> list[Reply]:
    """/start, a deep link (`/start <code>`), or Viber's conversation_started/subscribed."""
    if payload:
        return await codes.from_deep_link(turn, payload)
    if turn.account.linked:
        if turn.platform is not Platform.VIBER and await people.launched_since(turn.session,
                                                                               turn.account.id):
            return [ask_for_contact(turn, t(
                turn.locale, "Welcome back! A school of your children has joined the bot. Share "
                             "your phone number again with the button below to add their diary "
                             "here."))]
        return [with_menu(turn, t(turn.locale, "Welcome back! Choose what you want to see."))]
    return [greeting(turn)]


async def contact(turn: Turn, raw_phone: str | None, own: bool) -> list[Reply]:
    if turn.platform is Platform.VIBER:
        return await codes.after_viber_contact(turn, try_normalize_phone(raw_phone))
    if throttle.locked_out(turn.account, turn.now):
        return [too_many(turn)]
    if not own:
        failed(turn, "contact not own")
        return [use_the_button(turn)]
    phone = try_normalize_phone(raw_phone)
    found = await people.candidates_for_phone(turn.session, phone) if phone else people.Candidates()
    await people.wait_for_launch(turn.session, turn.account.id, found.waiting_schools)
    if not found.found:
        failed(turn, "no linkable person")
        return [refusal(turn)]
    return await attach(turn, found, method="contact")


async def unlinked_text(turn: Turn, text: str) -> list[Reply]:
    """Typed text in a chat that is not linked yet: a code, a typed number, or anything.
    On Viber, once the contact is shared, every line is a code (codes.after_contact)."""
    if codes.after_contact(turn):
        return await codes.typed(turn, text)
    typed_number = not any(ch.isalpha() for ch in text) and try_normalize_phone(text) is not None
    if codes.looks_like_code(text):  # digits alone may be a code as well as a number
        return await codes.typed(turn, text,
                                 refused=use_the_button if typed_number else codes.code_refused)
    if typed_number:
        return [use_the_button(turn)]
    return [greeting(turn)]
