"""Pure converters between Telegram's and the core's neutral types.

Telegram → `Incoming`: a message (command, contact, text, anything else), an inline
button press, the user blocking the bot, each read from the update as the Bot API
sends it (JSON: the few fields the core needs are read, the rest is not parsed; the
polling loop and the webhook hand updates over so). `Reply` → the Bot API calls that
show it: `reply_to_methods` is the one rendering of a reply, used for answers and for
the outbox's notifications alike. Nothing here talks to the network.
"""

from __future__ import annotations

import html
from typing import Any

from aiogram.enums import ChatMemberStatus, ChatType, ParseMode
from aiogram.methods import SendDocument, TelegramMethod
from aiogram.types import BufferedInputFile

from school_bot.bot.telegram.aiogram_internals import answer_methods
from school_bot.handlers.text import split_text
from school_bot.shared.events import Button, ChatRef, Incoming, Kind, Origin, Platform, Reply

MAX_TEXT = 4096
MAX_CAPTION = 1024
CONTACT_BUTTON_FALLBACK = "📱"

# A keyboard as the Bot API reads it (`reply_markup`). The answers build it as plain
# JSON: as aiogram models, a grades answer's dozen buttons took 60 µs to validate and as
# long again to serialize, a tenth of the bot's CPU per answer; tests/test_telegram_convert
# checks the JSON against aiogram's own serialization of the same keyboards. The answer
# methods (`answer_methods`) carry it as it is, or aiogram's validate it into its models.
Markup = dict[str, Any]


def chat_ref(chat_id: int | str) -> ChatRef:
    return ChatRef(Platform.TELEGRAM, str(chat_id))


# ---------------------------------------------------------------- Telegram → Incoming

Json = dict[str, Any]  # an object of the Bot API's JSON: an update, a message, a chat


class NotAnUpdate(ValueError):
    """The update lacks what every update of its kind has (a chat, a sender): Telegram
    never sends one; it is refused, and nobody can be answered."""


def update_id(update: Any) -> int | None:
    """The update's id, if it is an update at all (an object with an integer id)."""
    value = update.get("update_id") if isinstance(update, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def message_to_incoming(message: Json) -> Incoming:
    """A message → COMMAND, CONTACT, TEXT or OTHER (stickers, photos, voice, ...)."""
    chat = _object(message, "chat")
    sender = message.get("from")
    common: Origin = {
        "chat": chat_ref(_id(chat)),
        "language_hint": _language(sender),
        "private_chat": chat.get("type") == ChatType.PRIVATE,
    }
    contact = message.get("contact")
    if isinstance(contact, dict):
        owner = contact.get("user_id")
        own = isinstance(sender, dict) and owner is not None and owner == sender.get("id")
        return Incoming(kind=Kind.CONTACT, contact_phone=str(contact.get("phone_number") or ""),
                        contact_is_own=own, **common)
    text = message.get("text")
    if not isinstance(text, str):
        return Incoming(kind=Kind.OTHER, **common)
    if text.startswith("/") and len(text) > 1:
        command, argument = parse_command(text)
        return Incoming(kind=Kind.COMMAND, command=command, text=argument,
                        payload=argument if command == "start" else None, **common)
    return Incoming(kind=Kind.TEXT, text=text, **common)


def parse_command(text: str) -> tuple[str, str | None]:
    """`/Grades@school_bot  next week` → ("grades", "next week")."""
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    argument = rest.strip()
    return name, argument or None


def callback_to_incoming(query: Json) -> Incoming:
    """An inline button press → BUTTON with the (client-controlled) callback data."""
    sender = _object(query, "from")
    message = query.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    data = query.get("data")
    return Incoming(
        chat=chat_ref(_id(chat) if isinstance(chat, dict) else _id(sender)),
        kind=Kind.BUTTON,
        payload=data if isinstance(data, str) else "",
        language_hint=_language(sender),
        private_chat=not isinstance(chat, dict) or chat.get("type") == ChatType.PRIVATE,
    )


def pressed_message_id(query: Json) -> int | None:
    """The id of the message whose button was pressed (None if Telegram sent none)."""
    message = query.get("message")
    message_id = message.get("message_id") if isinstance(message, dict) else None
    return message_id if isinstance(message_id, int) and message_id > 0 else None


def membership_to_incoming(event: Json) -> Incoming | None:
    """The user blocked the bot in a private chat → UNSUBSCRIBED; other changes → None."""
    chat = _object(event, "chat")
    if chat.get("type") != ChatType.PRIVATE:
        return None
    member = event.get("new_chat_member")
    if not isinstance(member, dict) or member.get("status") != ChatMemberStatus.KICKED:
        return None
    return Incoming(chat=chat_ref(_id(chat)), kind=Kind.UNSUBSCRIBED,
                    language_hint=_language(event.get("from")))


def chat_and_language(update: Json) -> tuple[int | None, str | None]:
    """Where an update came from and the sender's language, as far as it says (for an
    apology when the update itself could not be handled)."""
    message, query = update.get("message"), update.get("callback_query")
    if isinstance(message, dict):
        chat = message.get("chat")
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        return (chat_id if isinstance(chat_id, int) else None), _language(message.get("from"))
    if isinstance(query, dict):
        sender = query.get("from")
        held = query.get("message")
        chat = held.get("chat") if isinstance(held, dict) else sender
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        return (chat_id if isinstance(chat_id, int) else None), _language(sender)
    return None, None


def _object(parent: Json, key: str) -> Json:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise NotAnUpdate(f"no {key}")
    return value


def _id(holder: Json) -> int:
    value = holder.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise NotAnUpdate("no id")
    return value


def _language(user: Any) -> str | None:
    code = user.get("language_code") if isinstance(user, dict) else None
    return code if isinstance(code, str) else None


# ---------------------------------------------------------------- Reply → Bot API calls


def to_html(text: str) -> str:
    """The core writes plain text (Viber shows it as is); Telegram gets it HTML-escaped."""
    return html.escape(text, quote=False)


def inline_markup(reply: Reply) -> Markup | None:
    """The buttons under the message."""
    if not reply.buttons:
        return None
    return {"inline_keyboard": [[_inline_button(b) for b in row] for row in reply.buttons if row]}


def _inline_button(button: Button) -> dict[str, Any]:
    """A press that comes back (`callback_data`), a Mini App (`web_app`) or a page (`url`)."""
    if button.url is None:
        return {"text": button.label, "callback_data": button.payload}
    if button.web_app:
        return {"text": button.label, "web_app": {"url": button.url}}
    return {"text": button.label, "url": button.url}


def keyboard_markup(reply: Reply) -> Markup | None:
    """The keyboard under the input field: share-my-phone, the menu, or its removal."""
    if reply.request_contact:
        label = reply.contact_button_label or CONTACT_BUTTON_FALLBACK
        return {"keyboard": [[{"text": label, "request_contact": True}]],
                "resize_keyboard": True, "one_time_keyboard": True}
    if reply.menu:
        return {"keyboard": [[{"text": label} for label in row] for row in reply.menu if row],
                "resize_keyboard": True}
    if reply.remove_menu or reply.menu == []:
        return {"remove_keyboard": True}
    return None


def _under_the_input_field(markup: Markup | None) -> bool:
    return markup is not None and "inline_keyboard" not in markup


def reply_to_methods(
    chat_id: int | str, reply: Reply, *, edit_message_id: int | None = None
) -> list[TelegramMethod]:
    """The calls that show `reply` in `chat_id`, in order.

    The text is split to 4,096 characters at line boundaries, then the file follows.
    A reply keyboard goes on the first message, inline buttons on the last; a single
    message with both keeps the inline buttons, unless the reply asks for the phone
    (then the share-my-phone button wins). With `reply.edit` and `edit_message_id`
    (the message whose inline button was pressed) the first part edits that message
    instead of arriving as a new one; an edit cannot carry a reply keyboard, so a reply
    with one is sent anew.
    """
    chunks = [part for part in split_text(reply.text, MAX_TEXT) if part.strip()] if reply.text else []
    caption = _caption(reply)
    if reply.file is not None and reply.file.caption and caption is None:
        chunks.append(reply.file.caption)  # too long for a caption: sent as a message
    count = len(chunks) + (reply.file is not None)
    markups = _place_markups(count, inline_markup(reply), keyboard_markup(reply),
                             prefer_keyboard=reply.request_contact)
    editing = (reply.edit and edit_message_id is not None and bool(chunks)
               and not _under_the_input_field(markups[0]))
    send, edit = answer_methods()
    methods: list[TelegramMethod] = []
    for n, chunk in enumerate(chunks):
        if n == 0 and editing:
            methods.append(edit(chat_id=chat_id, message_id=edit_message_id,
                                text=to_html(chunk), parse_mode=ParseMode.HTML,
                                reply_markup=markups[0]))
        else:
            methods.append(send(chat_id=chat_id, text=to_html(chunk),
                                parse_mode=ParseMode.HTML, reply_markup=markups[n]))
    if reply.file is not None:
        methods.append(SendDocument.model_validate({  # the keyboard's JSON validated into aiogram's model
            "chat_id": chat_id,
            "document": BufferedInputFile(reply.file.content, filename=reply.file.filename),
            "caption": to_html(caption) if caption else None,
            "parse_mode": ParseMode.HTML if caption else None,
            "reply_markup": markups[-1],
        }))
    return methods


def _place_markups(
    count: int, inline: Markup | None, keyboard: Markup | None,
    *, prefer_keyboard: bool,
) -> list[Markup | None]:
    """The markup of each of `count` messages: the keyboard first, the inline buttons last."""
    if count == 0:
        return [None]
    markups: list[Markup | None] = [None] * count
    if count == 1 and inline is not None and keyboard is not None:
        markups[0] = keyboard if prefer_keyboard else inline
        return markups
    markups[0] = keyboard
    if inline is not None:
        markups[-1] = inline
    return markups


def _caption(reply: Reply) -> str | None:
    caption = reply.file.caption if reply.file is not None else None
    if caption and len(caption) <= MAX_CAPTION:
        return caption
    return None
