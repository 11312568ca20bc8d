"""Where the Telegram front door reaches into aiogram's internals (and pydantic's, for
aiogram's models), and nowhere else.

Tested with aiogram 3.31.0, pydantic 2.13.5 and pydantic-core 2.46.5 (pyproject.toml
admits nothing newer than what was tested); tests/test_aiogram_internals.py fails
naming those versions when one of these no longer behaves as aiogram's own path.
`SPEED_PATHS=false` (storage/speed_paths.py) turns every one of them off: aiogram is
imported as it comes, answers are aiogram's own `SendMessage` and `EditMessageText`,
updates are read as aiogram's `Update` models, and the bot talks through aiogram's own
`AiohttpSession`.

1. **aiogram's models built on first use** (`import_aiogram`, `build`). `aiogram.types`
   ends its import by calling `model_rebuild()` on each of its ~300 pydantic models,
   building a validator and a serializer for every type of the Bot API, each carrying
   the schemas of all the types it nests: about 128 MB of resident memory with aiogram
   3.31, 28 MB without that loop (aiogram issue #1513); the bot process idles at about
   150 MB instead of 230, under the bare echo bot's 200. `import_aiogram()` imports
   aiogram with pydantic's `BaseModel.model_rebuild` replaced for the while, so that
   aiogram's loop only hands over its namespace. Each model keeps pydantic's own
   placeholder validator, which builds the model on its first validation or
   serialization - pydantic's ordinary path for a model whose references were not yet
   resolvable. What the loop would have added is kept: the namespace of every Telegram
   type becomes the `__pydantic_parent_namespace__` of every aiogram model not yet
   built, and its names are added to aiogram's type and method modules (where they are
   missing: the names those modules import only for type checkers) for models made
   later, such as `Response[Message]`. If aiogram was imported before this ran, or no
   longer rebuilds its types this way, everything is built as aiogram does it.
2. **Answers as aiogram methods of our own** (`SendReply`, `EditReply`, `Shown`): the
   keyboard is the Bot API's JSON, not aiogram's models (a grades answer's dozen
   buttons took 60 µs to validate and as long again to serialize), and the answer to
   a sent message is read for its id only, by the method's `__returning__` that
   aiogram's session parses the answer with (a whole `Message` took five times as long).
3. **Updates as the Bot API's JSON** (`RawGetUpdates`, `raw_updates`): getUpdates with
   its answer read as a list of JSON objects, not validated into aiogram's `Update`
   models (35 µs an update, most of it building models of which the front door reads
   a handful of fields: bot/telegram/convert.py reads the JSON). The public path gets
   aiogram's models and dumps each back to the Bot API's JSON.
4. **`BotSession`**, aiogram's `AiohttpSession` with three of its methods replaced:
   `build_form_data` sends a call as one JSON body (aiogram's urlencoded form
   percent-encodes every byte of a Cyrillic answer and of its keyboard's JSON: twice
   the time), reading an answer's fields from the model's `__dict__` instead of a
   round trip through `model_dump` (keyboards 72+74 → 16+25 µs for a dozen buttons);
   `check_response` keeps the `Response[T]` classes that parse the Bot API's answers,
   which pydantic caches only weakly and rebuilt after every collection (a third of a
   millisecond per message sent).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from typing import Any, Protocol, cast

from pydantic import BaseModel, ConfigDict

from school_bot.storage import speed_paths

# The versions these reaches were written for and tested with (pyproject.toml's bounds)
TESTED_WITH = {"aiogram": "3.31.0", "pydantic": "2.13.5", "pydantic-core": "2.46.5"}

# aiogram's types by name, once imported with their build deferred (empty otherwise)
_namespace: dict[str, Any] = {}


def import_aiogram() -> bool:
    """Import aiogram, leaving its models to be built on first use; True if deferred."""
    if "aiogram" in sys.modules or not speed_paths.enabled():
        import aiogram.methods
        import aiogram.types
        return bool(_namespace)
    original = BaseModel.__dict__["model_rebuild"]

    def remember(cls: type[BaseModel], *, force: bool = False, raise_errors: bool = True,
                 _parent_namespace_depth: int = 2,
                 _types_namespace: dict[str, Any] | None = None) -> bool | None:
        if _types_namespace is None or force or not cls.__module__.startswith("aiogram."):
            return original.__func__(
                cls, force=force, raise_errors=raise_errors,
                _parent_namespace_depth=_parent_namespace_depth + 1,
                _types_namespace=_types_namespace)
        _namespace.update(_types_namespace)
        return None

    # replaced for the import and put back below (the module docstring, 1)
    BaseModel.model_rebuild = classmethod(remember)  # type: ignore[method-assign, assignment]
    try:
        import aiogram
        import aiogram.methods
        import aiogram.types  # noqa: F401
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
    if not _namespace:
        return False
    for model in aiogram_models():
        if not model.__pydantic_complete__ and model.__pydantic_parent_namespace__ is None:
            _give_namespace(model)
    # models made later from aiogram's (aiogram's session parses each Bot API answer
    # with `Response[T]`) look names up in the modules of the types they nest
    for name, module in list(sys.modules.items()):
        if name.startswith(("aiogram.types.", "aiogram.methods.")) and module is not None:
            for key, value in _namespace.items():
                module.__dict__.setdefault(key, value)
    return True


def aiogram_models() -> Iterator[type[BaseModel]]:
    """Every pydantic model class aiogram defines (parametrised generics left out)."""
    seen: set[type[BaseModel]] = set()
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            stack.append(sub)
            if sub.__module__.startswith("aiogram.") and "[" not in sub.__name__:
                yield sub


def build(*models: type[BaseModel]) -> None:
    """Build these models now: at start-up, off the first user's answer, or a model
    made at run time from aiogram's, such as the `Response[Message]` that parses the
    Bot API's answer to sendMessage (its own namespace lacks the Telegram types)."""
    for model in models:
        if not model.__pydantic_complete__:
            _give_namespace(model)
            model.model_rebuild()


def _give_namespace(model: type[BaseModel]) -> None:
    """Where pydantic resolves the model's names (and those of the models it nests)."""
    if _namespace:
        model.__pydantic_parent_namespace__ = dict(_namespace)


import_aiogram()  # before aiogram's first import below (bot.telegram imports this first)

from aiogram import Bot  # noqa: E402
from aiogram.client.default import Default  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.methods import EditMessageText, GetUpdates, Response, SendMessage  # noqa: E402
from aiogram.types import InlineKeyboardMarkup  # noqa: E402
from aiohttp import JsonPayload  # noqa: E402

_json_utf8 = functools.partial(json.dumps, ensure_ascii=False)


class Shown(BaseModel):
    """What the bot reads of a message it sent or edited: the id."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    message_id: int


# A method's declared types name aiogram's models; these two narrow them on purpose.
class SendReply(SendMessage):
    """sendMessage with its keyboard as the Bot API's JSON, its answer read as `Shown`."""

    __returning__ = Shown  # type: ignore[assignment]
    reply_markup: dict[str, Any] | None = None  # type: ignore[assignment]


class EditReply(EditMessageText):
    """editMessageText with its keyboard as JSON, its answer read as `Shown` (True for
    an inline message)."""

    __returning__ = Shown | bool
    reply_markup: dict[str, Any] | None = None  # type: ignore[assignment]


class RawGetUpdates(GetUpdates):
    """getUpdates with its answer read as the Bot API's JSON objects (the docstring, 3)."""

    __returning__ = list[dict[str, Any]]


build(SendReply, EditReply, RawGetUpdates)


async def raw_updates(bot: Bot, *, offset: int | None, timeout: int, allowed_updates: list[str],
                      request_timeout: int) -> list[dict[str, Any]]:
    """The next updates, each as the Bot API's JSON: read as such, or (speed paths off)
    as aiogram's models dumped back to it."""
    if speed_paths.enabled():
        method = RawGetUpdates(offset=offset, timeout=timeout, allowed_updates=allowed_updates)
        return cast(list[dict[str, Any]], await bot(method, request_timeout=request_timeout))
    updates = await bot.get_updates(offset=offset, timeout=timeout,
                                    allowed_updates=allowed_updates,
                                    request_timeout=request_timeout)
    return [update.model_dump(mode="json", by_alias=True, exclude_none=True) for update in updates]


Keyboard = dict[str, Any] | InlineKeyboardMarkup  # the Bot API's JSON, or aiogram's model of it


class SendAnswer(Protocol):
    def __call__(self, *, chat_id: int | str, text: str, parse_mode: str | Default | None,
                 reply_markup: Keyboard | None) -> SendMessage: ...


class EditAnswer(Protocol):
    def __call__(self, *, chat_id: int | str, message_id: int | None, text: str,
                 parse_mode: str | Default | None, reply_markup: Keyboard | None
                 ) -> EditMessageText: ...


def answer_methods() -> tuple[SendAnswer, EditAnswer]:
    """The classes an answer is sent and edited with: ours, or aiogram's own (whose
    keyboards pydantic validates from the same JSON into aiogram's models). Either
    takes the keyboard's JSON, which the signatures aiogram declares do not say."""
    if speed_paths.enabled():
        return cast(SendAnswer, SendReply), cast(EditAnswer, EditReply)
    return cast(SendAnswer, SendMessage), cast(EditAnswer, EditMessageText)


def bot_session(**kw: Any) -> AiohttpSession:
    """The HTTP session of the bot: ours, or aiogram's own."""
    return BotSession(**kw) if speed_paths.enabled() else AiohttpSession(**kw)


class BotSession(AiohttpSession):
    """aiogram's HTTP session, sending JSON and keeping the classes that parse the Bot
    API's answers (the module docstring, 3)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._answers: dict[Any, type] = {}

    def build_form_data(self, bot: Bot, method: Any) -> Any:
        """The call's fields as one JSON body, as the Bot API accepts them; a call with a
        file stays a multipart form. An answer (`SendReply`, `EditReply`) is read without
        `model_dump`: its text and ids are plain values and its keyboard is JSON already;
        only aiogram's placeholders for the bot's defaults go through `prepare_value`."""
        answer = isinstance(method, SendReply | EditReply)
        values = method.__dict__ if answer else method.model_dump(warnings=False)
        files: dict[str, Any] = {}
        fields = {}
        for key, value in values.items():
            if not (answer and isinstance(value, str | int | dict)):
                value = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if value is not None and value != "":
                fields[key] = value
        if files:
            return super().build_form_data(bot, method)
        return JsonPayload(fields, dumps=_json_utf8)

    def check_response(self, bot: Bot, method: Any, status_code: int, content: str) -> Any:
        returning = method.__returning__
        if returning not in self._answers:
            self._answers[returning] = Response[returning]  # type: ignore[valid-type]  # known at run time
            build(self._answers[returning])
        return super().check_response(bot, method, status_code, content)
