"""SPEED_PATHS: the one switch over every place where the bot reaches into a library's
internals for speed.

Each such reach lives in a module named after the library it reaches into, whose
docstring says what it touches, what it saves and with which versions it was tested:

* `bot/telegram/aiogram_internals.py` - aiogram and pydantic (aiogram's models built on
  first use; answers sent as a JSON body read without `model_dump`; the Bot API's
  answer to a sent message read for its id only; updates read as the Bot API's JSON);
* `storage/sqlalchemy_internals.py` - SQLAlchemy (an ORM object filled from a fast
  read as if loaded; a session that holds no connection closed without a greenlet);
* `bot/gc_freeze.py` - CPython's garbage collector (what start-up built frozen; the
  youngest generation collected every 50,000 allocations).

Each reach has a test that fails naming the library's version when the library's shape
changes (tests/test_aiogram_internals.py, tests/test_sqlalchemy_internals.py,
tests/test_speed_paths.py). With `SPEED_PATHS=false` the program takes the libraries'
public API only: slower (docs/deploy.md has the figures) but independent of their
internals - the way out when an upgrade breaks a reach before a fix is released.

The switch is the process's: the composition root (`run_bot.main`) sets it from the
settings before anything imports aiogram, because aiogram's models are deferred (or
not) as aiogram is imported; the other reaches ask at each use. Unset, it is on.
"""

from __future__ import annotations

_enabled = True


def enabled() -> bool:
    """Are the speed paths on (the default)?"""
    return _enabled


def configure(on: bool) -> None:
    """Turn the speed paths on or off for this process (SPEED_PATHS)."""
    global _enabled
    _enabled = bool(on)
