"""The reaches into aiogram's and pydantic's internals (bot/telegram/aiogram_internals.py)
behave as aiogram's own path, and say so loudly, naming the versions, when they stop.

aiogram's models built on first use: three fresh interpreters, one importing aiogram as
aiogram does (every model built at import), one as the bot does (`import bot.telegram`),
one as the bot does with SPEED_PATHS=false. Each parses and serializes the same Bot API
traffic, then describes `Update` (whose schema holds every type an update can carry) and
every Bot API method by their JSON schemas for validation and for serialization; the
outputs must be identical.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import InlineKeyboardMarkup, Message
from pydantic import BaseModel

from school_bot.bot.telegram.aiogram_internals import (
    TESTED_WITH,
    BotSession,
    EditReply,
    SendReply,
    Shown,
    bot_session,
    raw_updates,
)
from school_bot.bot.telegram.convert import (
    callback_to_incoming,
    message_to_incoming,
    pressed_message_id,
    reply_to_methods,
)
from school_bot.shared.events import Button, ChatRef, Incoming, Kind, Platform, Reply
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.shapes import changed

ROOT = Path(__file__).resolve().parents[1]
MODULE = "bot/telegram/aiogram_internals.py"

PROBE = r'''
import json, sys
mode = sys.argv[1]
out = {"updates": [], "methods": [], "models": {}}
if mode == "eager":
    import aiogram, aiogram.types, aiogram.methods
    from school_bot.bot.telegram.aiogram_internals import aiogram_models
else:
    from school_bot.storage import speed_paths
    speed_paths.configure(mode == "deferred")
    import school_bot.bot.telegram
    from school_bot.bot.telegram.aiogram_internals import import_aiogram, aiogram_models
    out["deferred"] = import_aiogram()
    from aiogram.types import Update, Invoice
    out["built at import"] = [m.__name__ for m in (Update, Invoice) if m.__pydantic_complete__]

from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SetMyCommands
from aiogram.types import (
    BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton,
    ReplyKeyboardMarkup, ReplyKeyboardRemove, Update,
)

USER = {"id": 7, "is_bot": False, "first_name": "Olena", "language_code": "uk"}
CHAT = {"id": 7, "type": "private", "first_name": "Olena"}
MESSAGE = {
    "message_id": 10, "date": 1700000000, "chat": CHAT, "from": USER, "text": "/start 42",
    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    "reply_markup": {"inline_keyboard": [[{"text": "Оцінки", "callback_data": "g:1"}]]},
}
UPDATES = [
    {"update_id": 1, "message": MESSAGE},
    {"update_id": 2, "message": {**MESSAGE, "text": None, "entities": None,
                                  "contact": {"phone_number": "+380501234567",
                                              "first_name": "Olena", "user_id": 7}}},
    {"update_id": 3, "callback_query": {"id": "q1", "from": USER, "chat_instance": "c",
                                         "data": "g:1", "message": MESSAGE}},
    {"update_id": 4, "edited_message": {**MESSAGE, "edit_date": 1700000001}},
    {"update_id": 5, "my_chat_member": {
        "chat": CHAT, "from": USER, "date": 1700000002,
        "old_chat_member": {"status": "member", "user": USER},
        "new_chat_member": {"status": "kicked", "user": USER, "until_date": 0}}},
    {"update_id": 6, "message": {**MESSAGE, "text": None, "entities": None,
                                  "photo": [{"file_id": "f", "file_unique_id": "u",
                                             "width": 1, "height": 1}],
                                  "caption": "фото"}},
]
for raw in UPDATES:
    update = Update.model_validate(raw)
    out["updates"].append([update.event_type,
                           update.model_dump(mode="json", exclude_unset=True)])
try:
    Update.model_validate({"update_id": "x"})
except Exception as error:
    out["updates"].append(type(error).__name__)
inline = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Д/з", callback_data="h:1")]])
reply = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Поділитися", request_contact=True)]],
                            resize_keyboard=True)
for method in (SendMessage(chat_id=7, text="<b>12</b>", parse_mode="HTML", reply_markup=inline),
               SendMessage(chat_id=7, text="x", reply_markup=reply),
               SendMessage(chat_id=7, text="x", reply_markup=ReplyKeyboardRemove()),
               EditMessageText(chat_id=7, message_id=10, text="y", reply_markup=inline),
               AnswerCallbackQuery(callback_query_id="q1"),
               SetMyCommands(commands=[BotCommand(command="start", description="Почати")])):
    out["methods"].append([type(method).__name__, method.model_dump(warnings=False)])
from aiogram.methods import TelegramMethod
import warnings
warnings.simplefilter("ignore")
for model in sorted([Update, *(m for m in aiogram_models() if issubclass(m, TelegramMethod))],
                    key=lambda m: (m.__module__, m.__qualname__)):
    described = []
    for schema_mode in ("validation", "serialization"):
        try:
            described.append(model.model_json_schema(mode=schema_mode))
        except Exception as error:
            described.append(type(error).__name__)
    out["models"][model.__module__ + "." + model.__qualname__] = described
json.dump(out, sys.stdout, sort_keys=True, default=repr)
'''


def _probes(*modes: str) -> list[dict]:
    """Run the probe in each mode at once (an interpreter each); their outputs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = "def main():\n" + "".join(f"    {line}\n" for line in PROBE.splitlines()) + "main()\n"
    running = [subprocess.Popen([sys.executable, "-c", script, mode], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for mode in modes]
    outputs = []
    for process in running:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        outputs.append(json.loads(out))
    return outputs


def test_models_built_on_first_use_parse_and_serialize_as_aiograms_own() -> None:
    eager, deferred, public = _probes("eager", "deferred", "public")
    assert deferred["deferred"] is True, changed(
        MODULE, TESTED_WITH, "aiogram's import no longer hands its types' namespace to "
        "pydantic's model_rebuild: its models are built at import again (+100 MB)")
    assert deferred["built at import"] == [], changed(
        MODULE, TESTED_WITH, "aiogram's models were built at import all the same")
    assert public["deferred"] is False and public["built at import"] == ["Update", "Invoice"]
    assert len(eager["updates"]) == 7
    assert [u[0] for u in eager["updates"][:6]] == [
        "message", "message", "callback_query", "edited_message", "my_chat_member", "message"]
    assert len(eager["models"]) > 150
    for other in (deferred, public):
        assert other["updates"] == eager["updates"]
        assert other["methods"] == eager["methods"]
        assert other["models"].keys() == eager["models"].keys()
        differ = [name for name in eager["models"]
                  if other["models"][name] != eager["models"][name]]
        assert not differ, changed(MODULE, TESTED_WITH,
                                   f"models built on first use differ: {differ[:10]}")


# ---------------------------------------------------------------- the shapes reached into


def test_pydantic_model_rebuild_is_the_classmethod_the_deferral_stands_in_for() -> None:
    """`import_aiogram` replaces `BaseModel.model_rebuild` for the while of aiogram's
    import with a function of the same parameters, and sets the models' parent namespace."""
    raw = BaseModel.__dict__.get("model_rebuild")
    assert isinstance(raw, classmethod), changed(MODULE, TESTED_WITH,
                                                 "BaseModel.model_rebuild is not a classmethod")
    parameters = inspect.signature(raw.__func__).parameters
    assert list(parameters) == ["cls", "force", "raise_errors", "_parent_namespace_depth",
                                "_types_namespace"], changed(
        MODULE, TESTED_WITH, f"BaseModel.model_rebuild takes {list(parameters)}")
    for attribute in ("__pydantic_complete__", "__pydantic_parent_namespace__"):
        assert attribute in SendMessage.__dict__ or hasattr(SendMessage, attribute), changed(
            MODULE, TESTED_WITH, f"pydantic models have no {attribute}")


def test_aiogram_sends_the_body_build_form_data_makes_and_prepares_values_as_called() -> None:
    """`BotSession` replaces `build_form_data` (aiogram posts what it returns) and calls
    `prepare_value` with its private `_dumps_json`."""
    source = inspect.getsource(AiohttpSession.make_request)
    assert "self.build_form_data(bot=bot, method=method)" in source and "data=form" in source, \
        changed(MODULE, TESTED_WITH, "AiohttpSession.make_request no longer posts "
                                     "build_form_data's result")
    parameters = inspect.signature(AiohttpSession.prepare_value).parameters
    assert {"value", "bot", "files", "_dumps_json"} <= set(parameters), changed(
        MODULE, TESTED_WITH, f"BaseSession.prepare_value takes {list(parameters)}")


ANSWERS = [
    Reply(text="Оцінки Івана <за тиждень>\nМатематика: 10, 11",
          buttons=[[Button("Математика", "g:s0:ab:w"), Button("Тиждень", "g:w:ab:w")]]),
    Reply(text="Меню", menu=[["Оцінки", "Домашнє завдання"], ["Налаштування"]]),
    Reply(text="Поділіться номером", request_contact=True, contact_button_label="📱"),
    Reply(text="Відв'язано", remove_menu=True),
    Reply(text="Без клавіатури"),
]


@pytest.mark.parametrize("edit", [False, True], ids=["send", "edit"])
def test_an_answers_fields_read_from_its_dict_are_what_model_dump_gives(
        edit: bool, speed_paths_on: bool) -> None:
    for reply in ANSWERS:
        reply = dataclasses.replace(reply, edit=edit)
        (method,) = reply_to_methods(7, reply, edit_message_id=77 if edit else None)
        assert isinstance(method, SendReply | EditReply)
        assert dict(method.__dict__) == method.model_dump(warnings=False), changed(
            MODULE, TESTED_WITH, f"{type(method).__name__}.__dict__ is not its model_dump()")


MESSAGE_SENT = {"ok": True, "result": {
    "message_id": 42, "date": 1700000000, "text": "12",
    "chat": {"id": 7, "type": "private", "first_name": "Olena"},
    "from": {"id": 1, "is_bot": True, "first_name": "School"},
    "reply_markup": {"inline_keyboard": [[{"text": "Д/з", "callback_data": "h:1"}]]}}}


@pytest.mark.parametrize("session_class", [AiohttpSession, BotSession])
async def test_aiogram_reads_the_answer_to_a_call_by_the_methods_returning(
        session_class: type[AiohttpSession]) -> None:
    """aiogram parses the Bot API's answer with `Response[method.__returning__]`: so an
    answer sent as `SendReply` is read as `Shown`, one as `SendMessage` as a `Message`."""
    bot = Bot("42:TEST", session=session_class())
    try:
        content = json.dumps(MESSAGE_SENT)
        ours = bot.session.check_response(bot, SendReply(chat_id=7, text="12"), 200, content)
        assert ours.result == Shown(message_id=42), changed(
            MODULE, TESTED_WITH, "aiogram no longer parses an answer by `__returning__`")
        edited = bot.session.check_response(
            bot, EditReply(chat_id=7, message_id=42, text="12"), 200, content)
        assert edited.result == Shown(message_id=42)
        theirs = bot.session.check_response(bot, SendMessage(chat_id=7, text="12"), 200, content)
        assert isinstance(theirs.result, Message) and theirs.result.message_id == 42
    finally:
        await bot.session.close()


def test_with_the_speed_paths_off_answers_are_aiograms_own_methods_and_session(
        each_path: bool) -> None:
    reply = ANSWERS[0]
    (sent,) = reply_to_methods(7, reply)
    (edit,) = reply_to_methods(7, dataclasses.replace(reply, edit=True), edit_message_id=77)
    session = bot_session()
    if each_path:
        assert (type(sent), type(edit), type(session)) == (SendReply, EditReply, BotSession)
    else:
        assert (type(sent), type(edit), type(session)) == (SendMessage, EditMessageText,
                                                           AiohttpSession)
        assert isinstance(sent, SendMessage) and isinstance(sent.reply_markup, InlineKeyboardMarkup)
        assert sent.reply_markup.inline_keyboard[0][1].callback_data == "g:w:ab:w"


async def test_updates_read_as_json_convert_as_aiogram_models_of_them_do(each_path: bool) -> None:
    """The polling loop reads getUpdates as the Bot API's JSON (`RawGetUpdates`), or, with
    the speed paths off, as aiogram's `Update` models dumped back to JSON: each kind of
    update the bot reads becomes the same `Incoming` either way."""
    async with FakeTelegramBotAPI() as api:
        bot = Bot(api.token, session=bot_session(api=TelegramAPIServer.from_base(api.base_url)))
        try:
            api.message_update(7, "/grades@school_bot week", language_code="en")
            api.contact_update(7, "380501234567", user_id_in_contact=7)
            api.callback_update(7, "g:st-1:w", message_id=77, language_code="uk")
            updates = await raw_updates(bot, offset=None, timeout=0,
                                        allowed_updates=["message", "callback_query"],
                                        request_timeout=5)
        finally:
            await bot.session.close()
    assert all(isinstance(update, dict) for update in updates), changed(
        MODULE, TESTED_WITH, "aiogram no longer reads getUpdates by `__returning__`")
    command, contact, press = updates
    assert message_to_incoming(command["message"]) == Incoming(
        chat=ChatRef(Platform.TELEGRAM, "7"), kind=Kind.COMMAND, command="grades", text="week",
        language_hint="en", private_chat=True)
    assert message_to_incoming(contact["message"]).contact_is_own is True
    assert callback_to_incoming(press["callback_query"]) == Incoming(
        chat=ChatRef(Platform.TELEGRAM, "7"), kind=Kind.BUTTON, payload="g:st-1:w",
        language_hint="uk", private_chat=True)
    assert pressed_message_id(press["callback_query"]) == 77
