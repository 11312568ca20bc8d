"""The contract between the outbox dispatcher and the messenger adapters.

A notification is stored as a serialised `Reply`; the adapter of the recipient's
platform delivers it (Bot Framework's `continue_conversation` with a stored reference)
and translates the messenger's failures into these neutral errors.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol, runtime_checkable

from school_bot.shared.events import Button, OutFile, Platform, Reply


class DeliveryError(Exception):
    """Base of the delivery failures an adapter reports."""


class RetryAfter(DeliveryError):
    """The messenger asked us to wait (Telegram 429 `retry_after`, which can be hours)."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds} s")
        self.seconds = seconds


class RecipientGone(DeliveryError):
    """The user blocked the bot, unsubscribed or deleted the chat: stop writing to it."""


class TemporaryFailure(DeliveryError):
    """5xx, timeouts, network errors: try again later with backoff."""


class PermanentFailure(DeliveryError):
    """The request itself is wrong (400): retrying cannot help."""


class Deliverer(Protocol):
    """Sends the outbox's rows to one messenger. Optional, by attribute: `sends_receipts =
    True` where the messenger reports delivered/seen/failed for what was sent (Viber; the
    recorder then applies receipts that came before a send was recorded), the batch
    capability of notifications/batching.py, and `edit` (`Editor`) where a message
    already sent can be changed (Telegram)."""

    platform: Platform

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        """Send one reply; return the messenger's message id (or token)."""
        ...


@runtime_checkable
class Editor(Protocol):
    """A deliverer that can change a message it sent (an outbox row with `EDIT_OF`)."""

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        """Show `reply` in place of message `message_id`; return the id of the message
        that shows it (the same one, or a new one where the old cannot be edited). The
        same content again counts as done."""
        ...


# A payload's key for "this row changes the message that outbox row showed": the id of
# that row (the dispatcher edits its platform_message_id where the deliverer can edit).
EDIT_OF = "edit_of"


def reply_to_payload(reply: Reply) -> dict[str, Any]:
    """A JSON-safe form of a reply, for the outbox."""
    payload: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        payload["buttons"] = [[[b.label, b.payload] for b in row] for row in reply.buttons]
    if reply.menu is not None:
        payload["menu"] = reply.menu
    if reply.file is not None:
        payload["file"] = {
            "filename": reply.file.filename,
            "content": base64.b64encode(reply.file.content).decode(),
            "caption": reply.file.caption,
        }
    return payload


def payload_to_reply(payload: dict[str, Any]) -> Reply:
    file = payload.get("file")
    return Reply(
        text=payload.get("text", ""),
        buttons=[[Button(label, data) for label, data in row] for row in payload.get("buttons", [])],
        menu=payload.get("menu"),
        file=OutFile(file["filename"], base64.b64decode(file["content"]), file.get("caption"))
        if file else None,
    )
