"""Logging of the running program: one line per event, a request id on every line.

`setup_logging(level, fmt)` is called once by the composition root. Lines are
`key=value` (or one JSON object with `fmt="json"`); a traceback is folded into the
same line. The request id comes from a context variable that the front doors bind per
update (`with bound_request_id("tg-1234"): ...`).

No code should log a phone number or a name in the first place; as a last line of
defence every line passes through `mask_phones`, which turns anything that looks like
a Ukrainian mobile number into `+380*****4567`.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from school_bot.storage.phones import mask_phone

LogFormat = Literal["kv", "json"]

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")

# `050 123 45 67`, `+38 (050) 123-45-67`, `380501234567`, `+380501234567`...
_PHONE = re.compile(r"(?<![\d*+])(?:\+?3\s*8[\s(]*|\()?0\d{2}\)?[\s-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
# what every match of _PHONE contains, found fast (a literal first character): most
# lines have none, and are not searched with the full pattern
_PHONE_CORE = re.compile(r"0\d{2}\)?[\s-]*\d{3}")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_.:/@+*-]+$")

# Attributes every LogRecord has; anything else came in through `extra=` and is printed.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id", "taskName",
}
# Libraries that would otherwise speak for every request or poll.
_QUIET_LIBRARIES = {"aiohttp.access": logging.WARNING, "aiogram.event": logging.WARNING,
                    "alembic": logging.WARNING, "apscheduler": logging.WARNING,
                    "aiosqlite": logging.WARNING, "asyncio": logging.WARNING}
_HANDLER_MARK = "_school_bot_handler"
_SCALARS = (str, int, float, bool, type(None))


@contextmanager
def bound_request_id(value: str) -> Iterator[None]:
    token = REQUEST_ID.set(value)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


def mask_phones(text: str) -> str:
    if _PHONE_CORE.search(text) is None:
        return text
    return _PHONE.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return mask_phone("+380" + digits[-9:])


class ContextFilter(logging.Filter):
    """Adds the request id, and masks phone-looking numbers in the message (formatted
    once here: the formatter reads it back)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.msg, record.args = mask_phones(record.getMessage()), ()
        return True


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=INFO logger=bot.telegram request_id=tg-7 msg="…" key=value…`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {key: value for key, value in _fields(record, self).items()
                  if isinstance(value, _SCALARS)}  # a structured extra is for JSON lines
        return mask_phones(" ".join([f"{key}={_kv_value(value)}" for key, value in fields.items()]))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_phones(json.dumps(_fields(record, self), ensure_ascii=False, default=str))


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        "msg": record.getMessage(),
    }
    if record.__dict__.keys() - _STANDARD:  # anything given through `extra=`, in its order
        fields |= {key: value for key, value in vars(record).items()
                   if key not in _STANDARD and not key.startswith("_")}
    if record.exc_info:
        fields["exc"] = formatter.formatException(record.exc_info)
    return fields


@functools.lru_cache(maxsize=1024)
def _bare(text: str) -> bool:
    """Can the value go unquoted? (Remembered: levels, logger names, ids repeat.)"""
    return bool(text) and _BARE_KEY.match(text) is not None


def _kv_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= 64 and _bare(text):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, newlines escaped: one line


def setup_logging(level: str = "INFO", fmt: LogFormat = "kv", stream: TextIO | None = None) -> None:
    """Route every logger to one stream handler with our filter and formatter.

    Calling it again replaces the handler it installed before (tests, reloads).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # What no line prints is not gathered for each record (the logging HOWTO's
    # "Optimization": the caller's file and line, the thread, the process)
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name, quiet in _QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
