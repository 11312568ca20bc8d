"""aiogram's models built on first use (bot/telegram/models.py) behave as aiogram's own.

Two fresh interpreters: one imports aiogram as aiogram does (every model built at
import), the other as the bot does (`import bot.telegram`). Both parse and serialize
the same Bot API traffic, then describe `Update` (whose schema holds every type an
update can carry) and every Bot API method by their JSON schemas for validation and
for serialization; the outputs must be identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r'''
import json, sys
mode = sys.argv[1]
if mode == "deferred":
    import bot.telegram
    from bot.telegram.aiogram_internals import import_aiogram, aiogram_models
    assert import_aiogram() is True
    from aiogram.types import Update, Invoice
    unbuilt = [m.__name__ for m in (Update, Invoice) if m.__pydantic_complete__]
    assert not unbuilt, unbuilt
else:
    import aiogram, aiogram.types, aiogram.methods
    from bot.telegram.aiogram_internals import aiogram_models

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
out = {"updates": [], "methods": [], "models": {}}
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
    eager, deferred = _probes("eager", "deferred")
    assert len(eager["updates"]) == 7
    assert [u[0] for u in eager["updates"][:6]] == [
        "message", "message", "callback_query", "edited_message", "my_chat_member", "message"]
    assert deferred["updates"] == eager["updates"]
    assert deferred["methods"] == eager["methods"]
    assert len(eager["models"]) > 150
    assert deferred["models"].keys() == eager["models"].keys()
    differ = [name for name in eager["models"] if deferred["models"][name] != eager["models"][name]]
    assert not differ, differ[:10]
