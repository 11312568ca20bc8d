"""Pure converters between Viber's callbacks/messages and the core's neutral types.

Viber has no inline buttons: a reply's buttons and its menu both become the custom
keyboard under the message. An inline button's payload travels as the keyboard reply
`btn:<payload>` so that the core can tell a press from typed text; the core
re-authorises every payload, as it does Telegram's callback data.
"""

from __future__ import annotations

from typing import Any

from viberbot.api.messages import ContactMessage, FileMessage, TextMessage
from viberbot.api.messages.message import Message
from viberbot.api.viber_requests import (
    ViberConversationStartedRequest,
    ViberMessageRequest,
    ViberSubscribedRequest,
    ViberUnsubscribedRequest,
)

from school_bot.handlers.text import split_text
from school_bot.shared.events import ChatRef, Incoming, Kind, Platform, Reply

MAX_TEXT = 7000
BUTTON_PREFIX = "btn:"
KEYBOARD_COLUMNS = 6
MIN_API_VERSION = 3  # the share-phone button needs it


def chat(user_id: str) -> ChatRef:
    return ChatRef(Platform.VIBER, user_id)


def to_incoming(request: Any) -> Incoming | None:
    """A parsed viberbot request → Incoming, or None for events the core doesn't see."""
    if isinstance(request, ViberConversationStartedRequest):
        user = request.user
        return Incoming(chat(user.id), Kind.STARTED, payload=request.context or None,
                        language_hint=user.language)
    if isinstance(request, ViberSubscribedRequest):
        return Incoming(chat(request.user.id), Kind.STARTED, language_hint=request.user.language)
    if isinstance(request, ViberUnsubscribedRequest):
        return Incoming(chat(request.user_id), Kind.UNSUBSCRIBED)
    if isinstance(request, ViberMessageRequest):
        return _message_to_incoming(request)
    return None


def _message_to_incoming(request: ViberMessageRequest) -> Incoming:
    ref, hint, message = chat(request.sender.id), request.sender.language, request.message
    if isinstance(message, ContactMessage):
        phone = message.contact.phone_number if message.contact else None
        # Viber never vouches that a shared contact is the sender's own.
        return Incoming(ref, Kind.CONTACT, contact_phone=phone, contact_is_own=False, language_hint=hint)
    if not isinstance(message, TextMessage) or message.text is None:
        return Incoming(ref, Kind.OTHER, language_hint=hint)
    text = message.text.strip()
    if text.startswith(BUTTON_PREFIX):
        return Incoming(ref, Kind.BUTTON, payload=text[len(BUTTON_PREFIX):], language_hint=hint)
    if text.startswith("/") and len(text) > 1:
        command, _, argument = text[1:].partition(" ")
        return Incoming(ref, Kind.COMMAND, command=command.lower(), text=argument.strip() or None,
                        payload=argument.strip() or None, language_hint=hint)
    return Incoming(ref, Kind.TEXT, text=text, language_hint=hint)


def _button(text: str, action_body: str, columns: int, action_type: str = "reply") -> dict[str, Any]:
    return {"Columns": columns, "Rows": 1, "ActionType": action_type, "ActionBody": action_body,
            "Text": text, "TextSize": "regular", "Silent": action_type == "reply"}


def _row(cells: list[tuple[str, str]], action_type: str = "reply") -> list[dict[str, Any]]:
    width = max(KEYBOARD_COLUMNS // max(len(cells), 1), 1)
    return [_button(label, body, width, action_type) for label, body in cells[:KEYBOARD_COLUMNS]]


def keyboard(reply: Reply, contact_label: str | None = None) -> dict[str, Any] | None:
    buttons: list[dict[str, Any]] = []
    if reply.request_contact:
        buttons += _row([(contact_label or "📱", "share-phone")], "share-phone")
    for row in reply.buttons:
        pages = [(b.label, b.url) for b in row if b.url is not None]
        presses = [(b.label, BUTTON_PREFIX + b.payload) for b in row if b.url is None]
        if presses:
            buttons += _row(presses)
        if pages:
            buttons += _row(pages, "open-url")
    for labels in reply.menu or []:
        buttons += _row([(label, label) for label in labels])
    if not buttons:
        return None
    return {"Type": "keyboard", "DefaultHeight": False, "InputFieldState": "regular", "Buttons": buttons}


def to_messages(reply: Reply, *, contact_label: str | None = None,
                file_url: str | None = None) -> list[Message]:
    """One reply → Viber messages: the text split to 7,000 characters, the keyboard on the last."""
    board = keyboard(reply, contact_label)
    api = MIN_API_VERSION if board else None
    texts = [part for part in split_text(reply.text, MAX_TEXT) if part.strip()]
    has_file = reply.file is not None and file_url is not None
    if not texts and not has_file:
        texts = ["…"]
    messages: list[Message] = [
        TextMessage(text=part, min_api_version=api,
                    keyboard=board if n == len(texts) - 1 and not has_file else None)
        for n, part in enumerate(texts)
    ]
    if has_file and reply.file is not None:
        messages.append(FileMessage(media=file_url, size=len(reply.file.content),
                                    file_name=reply.file.filename, keyboard=board, min_api_version=api))
    return messages
