"""The pure converters: Telegram updates → Incoming, Reply → Bot API calls."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import EditMessageText, SendDocument, SendMessage, TelegramMethod
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from school_bot.bot.telegram.aiogram_internals import BotSession
from school_bot.bot.telegram.convert import (
    MAX_TEXT,
    NotAnUpdate,
    callback_to_incoming,
    chat_and_language,
    membership_to_incoming,
    message_to_incoming,
    parse_command,
    reply_to_methods,
)
from school_bot.shared.events import Button, ChatRef, Kind, OutFile, Platform, Reply
from tests.fakes.telegram_api import FakeTelegramBotAPI

CHAT = 5001


def _markup(method: Any) -> Any:
    """The method's keyboard as the Bot API's JSON (with SPEED_PATHS=false an answer is
    aiogram's own method, its keyboard aiogram's models)."""
    markup = method.reply_markup
    if markup is None or isinstance(markup, dict):
        return markup
    return markup.model_dump(mode="json", exclude_none=True)


@pytest.fixture
def api() -> FakeTelegramBotAPI:
    """Only its update builders are used here: no server is started."""
    return FakeTelegramBotAPI()


def _update(raw: dict[str, Any]) -> dict[str, Any]:
    """The update as the front door gets it: the Bot API's JSON, which aiogram accepts too."""
    update = {"update_id": 1, **raw}
    Update.model_validate(update)  # a real update's shape, as aiogram's model reads it
    return update


def _message(raw: dict[str, Any]) -> dict[str, Any]:
    return _update(raw)["message"]


def _press(raw: dict[str, Any]) -> dict[str, Any]:
    return _update(raw)["callback_query"]


def _text(method: TelegramMethod[Any]) -> str:
    assert isinstance(method, SendMessage)
    return method.text


# ---------------------------------------------------------------- Telegram → Incoming


def test_text_is_text(api: FakeTelegramBotAPI) -> None:
    incoming = message_to_incoming(_message(api.message_update(CHAT, "Оцінки", push=False)))
    assert incoming.kind is Kind.TEXT
    assert incoming.text == "Оцінки"
    assert incoming.chat == ChatRef(Platform.TELEGRAM, str(CHAT))
    assert incoming.private_chat is True
    assert incoming.language_hint == "uk"


def test_start_with_a_deep_link_code(api: FakeTelegramBotAPI) -> None:
    incoming = message_to_incoming(_message(api.message_update(CHAT, "/start inv_AB12", push=False)))
    assert (incoming.kind, incoming.command, incoming.payload) == (Kind.COMMAND, "start", "inv_AB12")


def test_command_with_bot_name_and_argument(api: FakeTelegramBotAPI) -> None:
    raw = api.message_update(CHAT, "/Grades@school_parents_test_bot  week", language_code="en", push=False)
    incoming = message_to_incoming(_message(raw))
    assert (incoming.kind, incoming.command, incoming.text) == (Kind.COMMAND, "grades", "week")
    assert incoming.payload is None
    assert incoming.language_hint == "en"


@pytest.mark.parametrize(("text", "expected"), [
    ("/help", ("help", None)), ("/start   ", ("start", None)), ("/x@bot a b", ("x", "a b")),
])
def test_parse_command(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_command(text) == expected


def test_own_contact_is_vouched_for(api: FakeTelegramBotAPI) -> None:
    raw = api.contact_update(CHAT, "380501234567", user_id_in_contact=CHAT, push=False)
    incoming = message_to_incoming(_message(raw))
    assert incoming.kind is Kind.CONTACT
    assert incoming.contact_phone == "380501234567"
    assert incoming.contact_is_own is True


@pytest.mark.parametrize("owner", [CHAT + 1, None])
def test_a_forwarded_contact_is_not_own(api: FakeTelegramBotAPI, owner: int | None) -> None:
    raw = api.contact_update(CHAT, "380501234567", user_id_in_contact=owner, push=False)
    assert message_to_incoming(_message(raw)).contact_is_own is False


def test_a_sticker_is_other(api: FakeTelegramBotAPI) -> None:
    raw = api.message_update(CHAT, None, push=False)
    raw["message"]["sticker"] = {
        "file_id": "CAACAgIAAxk", "file_unique_id": "AgAD", "type": "regular",
        "width": 512, "height": 512, "is_animated": False, "is_video": False,
    }
    assert message_to_incoming(_message(raw)).kind is Kind.OTHER


def test_a_group_message_is_not_private(api: FakeTelegramBotAPI) -> None:
    raw = api.message_update(-100500, "/grades", user_id=CHAT, push=False)
    incoming = message_to_incoming(_message(raw))
    assert incoming.private_chat is False
    assert incoming.chat.chat_id == "-100500"


def test_a_press_is_a_button_with_its_data(api: FakeTelegramBotAPI) -> None:
    raw = api.callback_update(CHAT, "child:st-1", message_id=77, language_code="en", push=False)
    incoming = callback_to_incoming(_press(raw))
    assert (incoming.kind, incoming.payload, incoming.language_hint) == (Kind.BUTTON, "child:st-1", "en")
    assert incoming.chat.chat_id == str(CHAT)


def _membership(status: str, chat_type: str = "private") -> dict[str, Any]:
    user = {"id": CHAT, "is_bot": False, "first_name": "Олена", "language_code": "uk"}
    bot = {"id": 123, "is_bot": True, "first_name": "Бот"}
    update = _update({"update_id": 1, "my_chat_member": {
        "chat": {"id": CHAT, "type": chat_type, "first_name": "Олена"} if chat_type == "private"
        else {"id": -1, "type": chat_type, "title": "Клас"},
        "from": user, "date": 0,
        "old_chat_member": {"status": "member", "user": bot},
        "new_chat_member": {"status": status, "user": bot, "until_date": 0}
        if status == "kicked" else {"status": status, "user": bot},
    }})
    return update["my_chat_member"]


def test_an_update_without_a_chat_is_refused_and_names_nobody() -> None:
    with pytest.raises(NotAnUpdate):
        message_to_incoming({"message_id": 1, "text": "/start"})
    with pytest.raises(NotAnUpdate):
        callback_to_incoming({"id": "1", "data": "g:x:w"})
    assert chat_and_language({"update_id": 1, "message": {"text": "x"}}) == (None, None)
    assert chat_and_language({"update_id": 1, "callback_query": {
        "id": "1", "from": {"id": CHAT, "language_code": "en"}}}) == (CHAT, "en")


def test_blocking_the_bot_is_unsubscribed() -> None:
    incoming = membership_to_incoming(_membership("kicked"))
    assert incoming is not None and incoming.kind is Kind.UNSUBSCRIBED
    assert membership_to_incoming(_membership("member")) is None


# ---------------------------------------------------------------- Reply → Bot API calls


def test_plain_text_is_escaped_html() -> None:
    (method,) = reply_to_methods(CHAT, Reply(text="5 < 7 & <b>"))
    assert isinstance(method, SendMessage)
    assert method.parse_mode == "HTML"
    assert method.text == "5 &lt; 7 &amp; &lt;b&gt;"


def test_buttons_become_an_inline_keyboard() -> None:
    reply = Reply(text="Оберіть дитину", buttons=[[Button("Оля", "child:1"), Button("Петро", "child:2")]])
    (method,) = reply_to_methods(CHAT, reply)
    assert _markup(method) == {"inline_keyboard": [[
        {"text": "Оля", "callback_data": "child:1"}, {"text": "Петро", "callback_data": "child:2"}]]}


def test_menu_becomes_a_resized_reply_keyboard() -> None:
    (method,) = reply_to_methods(CHAT, Reply(text="Меню", menu=[["Оцінки", "Події"], ["Налаштування"]]))
    assert _markup(method) == {"keyboard": [[{"text": "Оцінки"}, {"text": "Події"}],
                                                [{"text": "Налаштування"}]],
                                   "resize_keyboard": True}


def test_request_contact_is_one_labelled_button() -> None:
    reply = Reply(text="Поділіться номером", request_contact=True,
                  contact_button_label="Поділитися номером")
    (method,) = reply_to_methods(CHAT, reply)
    assert _markup(method) == {
        "keyboard": [[{"text": "Поділитися номером", "request_contact": True}]],
        "resize_keyboard": True, "one_time_keyboard": True}


def test_remove_menu() -> None:
    (method,) = reply_to_methods(CHAT, Reply(text="Відв'язано", remove_menu=True))
    assert _markup(method) == {"remove_keyboard": True}


def test_long_text_is_split_at_lines_with_keyboards_at_the_ends() -> None:
    lines = [f"Рядок {n:04d} " + "х" * 40 for n in range(300)]
    reply = Reply(text="\n".join(lines), buttons=[[Button("Далі", "more")]], menu=[["Оцінки"]])
    methods = reply_to_methods(CHAT, reply)
    assert len(methods) > 1
    assert all(len(_text(m)) <= MAX_TEXT for m in methods)
    assert "\n".join(_text(m) for m in methods) == "\n".join(lines)
    assert "keyboard" in _markup(methods[0])
    assert "inline_keyboard" in _markup(methods[-1])
    assert all(_markup(m) is None for m in methods[1:-1])


def test_edit_replaces_the_pressed_message() -> None:
    reply = Reply(text="Оцінки Олі", buttons=[[Button("Петро", "child:2")]], edit=True)
    (method,) = reply_to_methods(CHAT, reply, edit_message_id=77)
    assert isinstance(method, EditMessageText)
    assert method.message_id == 77
    assert _markup(method) == {"inline_keyboard": [[{"text": "Петро", "callback_data": "child:2"}]]}


def test_an_edit_cannot_carry_the_menu_so_it_is_sent_anew() -> None:
    reply = Reply(text="Меню", menu=[["Оцінки"]], edit=True)
    (method,) = reply_to_methods(CHAT, reply, edit_message_id=77)
    assert isinstance(method, SendMessage) and "keyboard" in _markup(method)


def _aiogram_markup(reply: Reply) -> Any:
    """The keyboard of `reply` as aiogram's own models (what the bot built before its
    answers carried JSON)."""
    if reply.request_contact:
        return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(
            text=reply.contact_button_label or "📱", request_contact=True)]],
            resize_keyboard=True, one_time_keyboard=True)
    if reply.buttons:
        return InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.payload) for b in row]
            for row in reply.buttons])
    if reply.menu:
        return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=label) for label in row]
                                             for row in reply.menu], resize_keyboard=True)
    if reply.remove_menu:
        return ReplyKeyboardRemove()
    return None


@pytest.mark.parametrize("reply", [
    Reply(text="Оцінки Івана <за тиждень>\nМатематика: 10, 11",
          buttons=[[Button("Математика", "g:s0:ab:w"), Button("Українська мова", "g:s1:ab:w")],
                   [Button("Тиждень", "g:w:ab:w"), Button("Місяць 📅", "g:w:ab:m")]]),
    Reply(text="Меню", menu=[["Оцінки", "Домашнє завдання"], ["Налаштування"]]),
    Reply(text="Поділіться номером", request_contact=True, contact_button_label="📱 Поділитися"),
    Reply(text="Відв'язано", remove_menu=True),
    Reply(text="Без клавіатури"),
], ids=["inline", "menu", "contact", "remove", "plain"])
@pytest.mark.parametrize("edit", [False, True], ids=["send", "edit"])
async def test_an_answer_reaches_telegram_as_aiogram_itself_would_send_it(
        reply: Reply, edit: bool, speed_paths_on: bool) -> None:
    """The answers' keyboards are written as JSON by hand: the fields Telegram receives
    must be those aiogram sends for the same call made of its own models."""
    session = BotSession()
    bot = Bot("42:TEST", session=session)
    try:
        reply = dataclasses.replace(reply, edit=edit)
        (ours,) = reply_to_methods(CHAT, reply, edit_message_id=77 if edit else None)
        fields = dict(type(ours).model_fields)
        method: type[TelegramMethod[Any]] = (
            EditMessageText if isinstance(ours, EditMessageText) else SendMessage)
        as_aiogram = method(**{k: getattr(ours, k) for k in fields if k != "reply_markup"},
                            reply_markup=_aiogram_markup(reply))
        form = AiohttpSession().build_form_data(bot, as_aiogram)
        theirs = {options["name"]: value for options, _, value in form._fields}
        sent = json.loads(session.build_form_data(bot, ours)._value)
        assert set(sent) == set(theirs)
        for key, value in sent.items():
            assert (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)) \
                == (theirs[key] if isinstance(value, str) else json.dumps(json.loads(theirs[key]),
                                                                          ensure_ascii=False)), key
    finally:
        await bot.session.close()


def test_edit_without_a_pressed_message_sends() -> None:
    (method,) = reply_to_methods(CHAT, Reply(text="Оцінки", edit=True))
    assert isinstance(method, SendMessage)


def test_a_file_is_a_document() -> None:
    reply = Reply(text="Звіт готовий", file=OutFile("report.csv", b"a;b\n1;2\n", caption="Звіт"))
    text, document = reply_to_methods(CHAT, reply)
    assert isinstance(text, SendMessage) and isinstance(document, SendDocument)
    assert isinstance(document.document, InputFile)
    assert document.document.filename == "report.csv"
    assert document.caption == "Звіт"


def test_a_document_under_buttons_carries_them_as_aiogram_models() -> None:
    reply = Reply(text="", buttons=[[Button("Ще раз", "again")]],
                  file=OutFile("report.csv", b"a;b\n", caption="Звіт"))
    (document,) = reply_to_methods(CHAT, reply)
    assert isinstance(document, SendDocument)
    assert isinstance(document.reply_markup, InlineKeyboardMarkup)
    assert document.reply_markup.inline_keyboard[0][0].callback_data == "again"
