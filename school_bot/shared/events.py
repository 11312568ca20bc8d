"""The neutral language between the conversation core and the messenger adapters.

An adapter converts what its messenger sent into an `Incoming`, hands it to the core,
and converts the `Reply` list back. Nothing here knows aiogram or viberbot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Required, TypedDict


class Platform(StrEnum):
    TELEGRAM = "telegram"
    VIBER = "viber"
    CONSOLE = "console"


class Kind(StrEnum):
    TEXT = "text"          # a typed message (or a menu button's label)
    COMMAND = "command"    # "/grades", with `command` = "grades" and `text` = its argument
    CONTACT = "contact"    # a shared contact card
    BUTTON = "button"      # an inline button press: `payload` is client-controlled data
    STARTED = "started"    # the chat was opened (Viber conversation_started, deep links)
    UNSUBSCRIBED = "unsubscribed"
    OTHER = "other"        # a sticker, a photo, a voice note...


@dataclass(frozen=True)
class ChatRef:
    """Where a conversation lives: the stored reference for proactive messages."""

    platform: Platform
    chat_id: str


@dataclass(frozen=True)
class Incoming:
    chat: ChatRef
    kind: Kind
    text: str | None = None
    command: str | None = None
    payload: str | None = None
    contact_phone: str | None = None
    # True only where the platform vouches the contact is the sender's own
    # (Telegram: contact.user_id == from_user.id). Viber never vouches.
    contact_is_own: bool = False
    language_hint: str | None = None
    private_chat: bool = True


class Origin(TypedDict, total=False):
    """What an adapter knows of where a message came from, whatever its kind: the
    arguments every `Incoming` it makes of that message shares."""

    chat: Required[ChatRef]
    language_hint: str | None
    private_chat: bool


@dataclass(frozen=True)
class Button:
    """An inline button: pressed, it comes back as a BUTTON with `payload`; or, with a
    `url`, it opens that page (with `web_app`, as Telegram's Mini App; Viber opens the
    page, the console prints it)."""

    label: str
    payload: str = ""  # at most 64 bytes (Telegram's callback_data limit)
    url: str | None = None
    web_app: bool = False


@dataclass(frozen=True)
class OutFile:
    filename: str
    content: bytes
    caption: str | None = None


@dataclass
class Reply:
    """One message to send back.

    `buttons`: inline buttons under the message (rows). `menu`: the persistent keyboard
    of labels (rows) that the user's next text will be. `request_contact`: offer a
    "share my phone" button, labelled `contact_button_label` in the reply's language
    (the adapters fall back to an emoji). `edit`: replace the message whose button was
    pressed.
    """

    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    menu: list[list[str]] | None = None
    request_contact: bool = False
    contact_button_label: str | None = None
    remove_menu: bool = False
    file: OutFile | None = None
    edit: bool = False
