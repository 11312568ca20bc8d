"""Where the answer path reaches into SQLAlchemy's internals, and nowhere else.

Tested with SQLAlchemy 2.0.59 (pyproject.toml admits 2.0.x only);
tests/test_sqlalchemy_internals.py fails naming the installed version when one of these
no longer behaves as the public API would. `SPEED_PATHS=false` (storage/speed_paths.py)
turns them off: storage/fast.py and storage/db.py then take the public path beside
each call.

* `loaded_instance`: an ORM object filled with a fast read's row, as the ORM itself
  fills one it loads - the class manager's bare instance and the values put straight
  into its `__dict__`. The public way, the model's constructor, sets each column through
  its instrumented attribute and records it as a change: 16 µs for an `Account`
  against 5 µs (with `make_transient_to_detached` in both), two or three times per
  answer (`storage.fast.attach`).
* `is_loaded`: is an attribute loaded - a look into the object's `__dict__`, where
  the public `inspect(obj).unloaded` builds the set of every unloaded attribute.
* `close_idle`: a session that holds no connection closed directly. `AsyncSession.close`
  runs the same `Session.close` in a greenlet, and `async with` in a task of its own:
  about 35 µs of a diary answer's 1 ms, for a close that does no I/O (a diary answer's
  reads go to the reader, so its session never takes a connection). Whether the
  session holds a connection is known through public session events
  (`storage.fast.holds_connection`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, configure_mappers

# The version these reaches were written for and tested with (pyproject.toml's bounds)
TESTED_WITH = {"sqlalchemy": "2.0.59"}


def loaded_instance(mapper: Mapper[Any], values: dict[str, Any]) -> Any:
    """A bare instance of the mapped class with `values` as its loaded state (still
    transient: `make_transient_to_detached` gives it its identity)."""
    if not mapper.configured:  # the constructor would configure the mappers; this does not
        configure_mappers()
    instance = mapper.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def is_loaded(instance: Any, key: str) -> bool:
    """Is the attribute `key` of this ORM object loaded (a value or a collection)?"""
    return key in instance.__dict__


def close_idle(session: AsyncSession) -> None:
    """Close a session that holds no connection (no I/O to wait for)."""
    session.sync_session.close()
