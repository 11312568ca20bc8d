"""A conversation test client for the core: `await chat.send("/grades")`,
`await chat.press("Оцінки")`, `await chat.share_contact(phone)`, `chat.last_text`.

Each call is one turn through the turn runner (bot/turns.py), as every front door's
is: one unit of work on the real database, committed before the replies come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from school_bot.bot.turns import TurnRunner
from school_bot.handlers.conversation import Conversation
from school_bot.shared.events import Button, ChatRef, Incoming, Kind, Platform, Reply
from school_bot.storage.db import Database


@dataclass
class ChatClient:
    db: Database
    conversation: Conversation
    platform: Platform = Platform.TELEGRAM
    chat_id: str = "100"
    language: str | None = "uk"
    max_text_length: int | None = None
    private: bool = True
    replies: list[Reply] = field(default_factory=list)
    menu: list[str] = field(default_factory=list)

    async def deliver(self, kind: Kind, **fields: Any) -> list[Reply]:
        incoming = Incoming(chat=ChatRef(self.platform, self.chat_id), kind=kind,
                            language_hint=self.language, private_chat=self.private, **fields)
        result = await TurnRunner(self.db, self.conversation).run(
            incoming, max_text_length=self.max_text_length)
        self.replies = result.replies
        for reply in self.replies:
            if reply.menu is not None or reply.remove_menu:
                self.menu = [label for row in reply.menu or [] for label in row]
        return self.replies

    async def send(self, text: str) -> list[Reply]:
        if text.startswith("/") and len(text) > 1:
            command, _, argument = text[1:].partition(" ")
            return await self.deliver(Kind.COMMAND, command=command, text=argument or None,
                                      payload=argument or None)
        return await self.deliver(Kind.TEXT, text=text)

    async def press(self, label: str) -> list[Reply]:
        """An inline button of the last answer, else a label of the current menu."""
        for button in self.buttons:
            if button.label == label:
                return await self.press_payload(button.payload)
        if label in self.menu:
            return await self.deliver(Kind.TEXT, text=label)
        raise AssertionError(f"no button {label!r}; buttons: {[b.label for b in self.buttons]}, "
                             f"menu: {self.menu}")

    async def press_payload(self, payload: str) -> list[Reply]:
        return await self.deliver(Kind.BUTTON, payload=payload)

    async def share_contact(self, phone: str, *, own: bool = True) -> list[Reply]:
        return await self.deliver(Kind.CONTACT, contact_phone=phone, contact_is_own=own)

    async def started(self, payload: str | None = None) -> list[Reply]:
        return await self.deliver(Kind.STARTED, payload=payload)

    async def sticker(self) -> list[Reply]:
        return await self.deliver(Kind.OTHER)

    @property
    def buttons(self) -> list[Button]:
        return [b for reply in self.replies for row in reply.buttons for b in row]

    @property
    def last_reply(self) -> Reply:
        assert self.replies, "the bot said nothing"
        return self.replies[-1]

    @property
    def last_text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)
