"""Which handler answers: by the kind of message, the command, the menu label, the payload."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from school_bot.handlers import forget, linking, settings_view, welcome
from school_bot.handlers.codes import code_refused, looks_like_code, typed
from school_bot.handlers.extensions import Extension
from school_bot.handlers.help import show as show_help
from school_bot.handlers.menu import VIEW_BY_COMMAND, VIEWS, command_for_label, with_menu
from school_bot.handlers.turn import Turn
from school_bot.handlers.views import View, open_view, parse
from school_bot.shared.events import Incoming, Kind, Reply
from school_bot.shared.i18n import SUPPORTED_LOCALES, t

MAX_INPUT = 8000      # a longer message is not read at all
MAX_PAYLOAD = 64      # bytes, Telegram's callback_data limit

ViewAsked = tuple[View, str | None, str | None]  # the view, a pupil reference, an option


async def route(turn: Turn, asked: ViewAsked | None) -> list[Reply]:
    """The answer to `turn.incoming`; `asked` is `view_asked` of it, which the core has
    already found (it decides how the account is read)."""
    incoming = turn.incoming
    if asked is not None:
        if not turn.account.linked:
            return [linking.greeting(turn)]
        return await open_view(turn, *asked)
    if incoming.kind is Kind.CONTACT:
        return await welcome.contact(turn, incoming.contact_phone, incoming.contact_is_own)
    if incoming.kind is Kind.STARTED:
        return await welcome.start(turn, incoming.payload)
    if incoming.kind is Kind.BUTTON:
        return await on_button(turn, incoming.payload or "")
    if incoming.kind is Kind.COMMAND:
        return await on_command(turn, incoming.command or "", incoming.payload or incoming.text)
    if incoming.kind is Kind.TEXT:
        return await on_text(turn, incoming.text or "")
    for extension in turn.extensions:  # a photo or a file: a flow may have its own answer
        answer = await extension.media(turn)
        if answer:
            return answer
    return [Reply(text=t(turn.locale, "I understand text messages and the menu buttons only."))]


async def on_command(turn: Turn, command: str, argument: str | None = None) -> list[Reply]:
    simple = {"help": show_help, "settings": settings_view.show, "forget": forget.ask}
    if command == "start":
        return await welcome.start(turn, argument)
    if command in simple:
        return simple[command](turn)
    if command == "unlink":
        return await linking.unlink(turn)
    extension = _extension(turn, lambda e: e.command == command)
    if extension is not None:
        return await extension.start(turn)
    return [Reply(text=t(turn.locale, "I do not know this command. /help lists what I can do."))]


async def on_text(turn: Turn, text: str) -> list[Reply]:
    if len(text) > MAX_INPUT:
        return [Reply(text=t(turn.locale, "This message is too long for me."))]
    command = command_for_label(text)  # a menu press leaves any half-done flow (views: route)
    if command is not None:
        return await on_command(turn, command)
    labelled = _labelled(turn, text.strip())
    if labelled is not None:  # a press, even while a flow waits for text: it leaves the flow
        for extension in turn.extensions:
            extension.leave(turn)
        return await labelled.start(turn)
    waiting = _extension(turn, lambda e: e.wants_text(turn))
    if waiting is not None:
        return await waiting.text(turn, text)
    if not turn.account.linked:
        return await welcome.unlinked_text(turn, text)
    if looks_like_code(text):  # a further child's code; a word ("thanks") is counted, not shown
        wordlike = not any(ch.isdigit() for ch in text)
        return await typed(turn, text, refused=not_understood if wordlike else code_refused)
    return [not_understood(turn)]


def not_understood(turn: Turn) -> Reply:
    return with_menu(turn, t(turn.locale, "I did not understand that. Please choose from the menu "
                                          "below, or send /help."))


async def on_button(turn: Turn, payload: str) -> list[Reply]:
    if len(payload.encode()) > MAX_PAYLOAD:
        return [stale(turn)]
    owner = _extension(turn, lambda e: bool(e.prefix) and payload.startswith(e.prefix or ""))
    if owner is not None:
        return await owner.press(turn, payload)
    if payload.startswith(settings_view.PREFIX):
        return await settings_view.press(turn, payload)
    if payload.startswith(forget.PREFIX):
        return await forget.press(turn, payload)
    return [stale(turn)]  # a view's button went to open_view in route


def view_asked(incoming: Incoming, extensions: Sequence[Extension]) -> ViewAsked | None:
    """The diary view a message asks for: (view, pupil reference, option) for a view's
    command, menu label or button; None for anything else (linking, settings, codes,
    extensions, a stale or oversized payload). `route` answers these first; the core
    reads the account for them without the write lock (storage/fast.py), since such an
    answer writes at most the chat's chosen pupil."""
    if incoming.kind in (Kind.COMMAND, Kind.TEXT):
        text = incoming.text or ""
        command = (incoming.command if incoming.kind is Kind.COMMAND
                   else command_for_label(text) if len(text) <= MAX_INPUT else None)
        view = VIEW_BY_COMMAND.get(command or "")
        return None if view is None else (view, None, None)
    if incoming.kind is Kind.BUTTON:
        payload = incoming.payload or ""
        if len(payload.encode()) > MAX_PAYLOAD or any(
                e.prefix and payload.startswith(e.prefix) for e in extensions):
            return None
        parsed = parse(payload)
        if parsed is None or parsed[0] not in VIEWS:
            return None
        key, ref, option = parsed
        return VIEWS[key], ref, option
    return None


def stale(turn: Turn) -> Reply:
    return Reply(text=t(turn.locale, "This button is not available to you. "
                                     "Please open the menu again."))


def _labelled(turn: Turn, typed: str) -> Extension | None:
    """The extension whose menu label this is, in the chat's language or another (a
    keyboard sent before a language change stays on the screen)."""
    for locale in (turn.locale, *(other for other in SUPPORTED_LOCALES if other != turn.locale)):
        view = turn if locale == turn.locale else replace(turn, locale=locale)
        for extension in turn.extensions:
            if extension.menu_label(view) == typed:
                return extension
    return None


def _extension(turn: Turn, wanted: Callable[[Extension], bool]) -> Extension | None:
    return next((e for e in turn.extensions if wanted(e)), None)
