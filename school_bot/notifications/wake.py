"""How a write wakes the worker: one `Wake` per process, made by the composition root.

Two things can be said:

* `QUEUED`: outbox rows were committed (the ingest API queues what a write causes in
  the write's own transaction): the dispatcher should look now, not at its next poll.
* `WRITTEN`: source rows were committed without their notifications (a CSV import,
  a separate command): the worker should run the scans of what writes cause now.

A writer calls `signal(session, what)` inside its transaction and `committed(what)`
after the commit. On PostgreSQL `signal` is a `pg_notify` on `CHANNEL`, delivered to
every listening process when the transaction commits (the worker listens:
notifications/watchers.py); `committed` tells this process's own listeners (the
single-process shape, where SQLite has no channel). The worker's listeners subscribe
with `on(what, callback)`; a watcher hands what it heard to `heard(what)`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage import channel
from school_bot.storage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "school_bot_wake"
QUEUED = "queued"
WRITTEN = "written"
SAYINGS = (QUEUED, WRITTEN)


class Wake:
    """This process's listeners, by what they listen for; nothing global."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[[], None]]] = defaultdict(list)

    def on(self, what: str, callback: Callable[[], None]) -> None:
        """Call `callback` whenever `what` is heard (for as long as the process runs)."""
        if what not in SAYINGS:
            raise ValueError(f"unknown wake {what!r}; known: {', '.join(SAYINGS)}")
        self._listeners[what].append(callback)

    async def signal(self, session: AsyncSession, what: str) -> None:
        """Inside the writer's transaction: the other processes hear `what` at its commit."""
        await channel.notify(session, CHANNEL, what)

    def committed(self, what: str) -> None:
        """After the writer's commit: this process hears `what`."""
        self.heard(what)

    def heard(self, what: str) -> None:
        if what not in SAYINGS:
            log.warning("wake: ignored an unknown notification (%d characters)", len(what))
            return
        for callback in list(self._listeners[what]):
            callback()


async def tell_workers(database: Database, what: str) -> None:
    """From a process with no worker in it (an import): `what`, to the workers
    listening on PostgreSQL. On SQLite the worker notices by itself (`data_version`)."""
    if database.sqlite:
        return
    async with database.unit_of_work() as session:
        await channel.notify(session, CHANNEL, what)
