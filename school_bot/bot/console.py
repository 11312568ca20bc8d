"""The console front end: a chat with the same core in the terminal (demos, trying it out).

Plain lines in, plain text out, so it also works piped:
`printf '/start\\n/contact +380...\\n1\\n' | python run_bot.py demo`. Buttons and the
menu are printed numbered (Rasa's OutputChannel fallback) and can be chosen by number
or by their text; `/contact <number>` shares "your own" number (the console vouches,
as Telegram does for its share-phone button). End of input ends the chat.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from school_bot.bot.turns import TurnRunner
from school_bot.shared.events import ChatRef, Incoming, Kind, Origin, Platform, Reply
from school_bot.shared.i18n import t

Write = Callable[[str], None]
CONTACT_COMMAND = "/contact"


@dataclass
class Choice:
    label: str
    payload: str | None  # an inline button's payload; None: a menu label (sent as text)


@dataclass
class ConsoleChat:
    """One console conversation: each line is one turn (bot/turns.py) on the real database."""

    turns: TurnRunner
    chat_id: str = "console"
    language: str | None = None
    write: Write = print
    choices: list[Choice] = field(default_factory=list)
    menu: list[str] = field(default_factory=list)

    def incoming(self, line: str) -> Incoming | None:
        """A typed line → what the core sees (a number or a label picks a button)."""
        text = line.strip()
        if not text:
            return None
        common: Origin = {"chat": ChatRef(Platform.CONSOLE, self.chat_id), "language_hint": self.language}
        if text.split(" ", 1)[0].lower() == CONTACT_COMMAND:
            phone = text[len(CONTACT_COMMAND):].strip()
            return Incoming(kind=Kind.CONTACT, contact_phone=phone, contact_is_own=True, **common)
        choice = self._choice(text)
        if choice is not None and choice.payload is not None:
            return Incoming(kind=Kind.BUTTON, payload=choice.payload, **common)
        if choice is not None:
            text = choice.label
        if text.startswith("/") and len(text) > 1:
            command, _, rest = text[1:].partition(" ")
            argument = rest.strip() or None
            return Incoming(kind=Kind.COMMAND, command=command.lower(), text=argument,
                            payload=argument, **common)
        return Incoming(kind=Kind.TEXT, text=text, **common)

    def _choice(self, text: str) -> Choice | None:
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return self.choices[int(text) - 1]
        wanted = text.casefold()
        return next((c for c in self.choices if c.label.casefold() == wanted), None)

    async def say(self, line: str) -> list[Reply]:
        incoming = self.incoming(line)
        if incoming is None:
            return []
        return (await self.turns.run(incoming, send=self.show_all)).replies

    async def show_all(self, replies: list[Reply]) -> None:
        for reply in replies:
            self.show(reply)

    def show(self, reply: Reply) -> None:
        """Print a reply; its buttons, then the menu, numbered for the next line."""
        locale = self.language or "uk"
        if reply.text:
            self.write("\n".join(f"bot> {line}" if n == 0 else f"     {line}"
                                 for n, line in enumerate(reply.text.split("\n"))))
        if reply.menu is not None or reply.remove_menu:
            self.menu = [label for row in (reply.menu or []) for label in row]
        pressed = [b for row in reply.buttons for b in row if b.url is None]
        buttons = [Choice(b.label, b.payload) for b in pressed]
        self.choices = buttons + [Choice(label, None) for label in self.menu]
        for n, choice in enumerate(buttons, start=1):
            self.write(f"     [{n}] {choice.label}")
        for page in (b for row in reply.buttons for b in row if b.url is not None):
            self.write(f"     {page.label}: {page.url}")  # a page: the console prints its link
        if self.menu:
            first = len(buttons) + 1
            self.write("     " + " · ".join(f"[{n}] {label}"
                                            for n, label in enumerate(self.menu, start=first)))
        if reply.request_contact:
            self.write("     " + t(locale, "(to share your number, type: /contact +380…)"))


async def read_line() -> str | None:
    """One line of stdin, read off the event loop; None at end of input."""
    line = await asyncio.to_thread(sys.stdin.readline)
    return line or None


async def run_console(chat: ConsoleChat, read: Callable[[], Awaitable[str | None]] = read_line,
                      *, echo: bool = False) -> None:
    while True:
        line = await read()
        if line is None:
            return
        if echo:
            chat.write(f"you> {line.rstrip()}")
        await chat.say(line)
