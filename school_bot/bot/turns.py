"""One turn, the same for every front door (Bot Framework's `BotAdapter.run_pipeline`).

A front door (Telegram, Viber, the console) only converts: its messenger's update into
a neutral `Incoming`, and the replies back into its messenger's messages. In between,
`TurnRunner.run` does, for every door alike:

1. opens the unit of work, choosing where its reads go (`storage.db.Reads`): a diary
   view reads committed data on the process's reader, outside the write transaction;
2. calls the conversation core (which authorises, decides and never commits);
3. claims the delivery's key, when the messenger repeats deliveries (Viber retries a
   callback for an hour): in the same transaction as the turn's writes, so a repeat is
   never applied twice; for a diary view, which writes nothing that matters and must
   not wait for the write lock, in this process's memory of recent keys (a repeat that
   reaches another process is answered again, which is all a view can do);
4. commits, and only then hands the replies to the front door's `send`, so nothing
   the user sees was rolled back;
5. on any failure, rolls back, logs one line without personal data, and hands the
   core's apology in the user's language to `send` instead;
6. once they are sent, logs one line per turn and counts it (handled, repeated or
   failed, and how long from its arrival until its replies went out).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.shared.events import ChatRef, Incoming, Reply
from school_bot.storage.callbacks import claim
from school_bot.storage.db import Database, Reads

log = logging.getLogger("school_bot.bot.turns")
Send = Callable[[list[Reply]], Awaitable[None]]  # a front door's way of sending replies
_PROJECT = Path(__file__).resolve().parents[1]


class Plan(Protocol):
    @property
    def reads_committed(self) -> bool: ...


class Core(Protocol):
    """What the runner needs of the conversation core (handlers.conversation)."""

    def plan(self, incoming: Incoming) -> Any: ...

    async def handle(self, session: AsyncSession, incoming: Incoming, *, plan: Any = None,
                     max_text_length: int | None = None) -> list[Reply]: ...

    async def apology(self, session: AsyncSession, chat: ChatRef, hint: str | None) -> Reply: ...


class Outcome(StrEnum):
    HANDLED = "handled"
    REPEATED = "repeated"  # the messenger delivered it before: not handled again
    FAILED = "failed"      # rolled back; the replies are the apology


@dataclass(frozen=True)
class TurnResult:
    replies: list[Reply]
    outcome: Outcome


class _Repeated(Exception):
    """The delivery's key was taken: the unit of work is rolled back."""


class RecentKeys:
    """The delivery keys this process handled lately (at most `size`, oldest forgotten)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)


class TurnRunner:
    def __init__(self, database: Database, core: Core, *, metrics: Any | None = None) -> None:
        self._database = database
        self._core = core
        self._metrics = metrics
        self._handled: dict[str, Any] = {}  # the counter of each platform's handled turns
        self._recent = RecentKeys()

    async def run(self, incoming: Incoming, *, send: Send | None = None, once: str | None = None,
                  max_text_length: int | None = None) -> TurnResult:
        """Handle one message and give its replies to `send` (they are in the result too);
        `once`: the delivery's key, for a messenger that repeats deliveries."""
        started = time.perf_counter()
        try:
            result = TurnResult(await self._turn(incoming, once, max_text_length), Outcome.HANDLED)
        except _Repeated:
            result = TurnResult([], Outcome.REPEATED)
        except Exception as exc:  # noqa: BLE001 - the turn failed: log it, apologise, never stay silent
            log.error("turn failed platform=%s %s", incoming.chat.platform.value,
                      describe_failure(exc))
            result = TurnResult([await self.apology(incoming.chat, incoming.language_hint)],
                                Outcome.FAILED)
        if send is not None and result.replies:
            await send(result.replies)
        self._count(incoming, result.outcome, time.perf_counter() - started)
        return result

    async def apology(self, chat: ChatRef, hint: str | None) -> Reply:
        """The core's apology, read in a session of its own (the failed one is gone)."""
        async with self._database.sessions() as session:
            return await self._core.apology(session, chat, hint)

    async def _turn(self, incoming: Incoming, once: str | None,
                    max_text_length: int | None) -> list[Reply]:
        plan: Plan = self._core.plan(incoming)
        if plan.reads_committed:  # a diary view
            if once is not None and once in self._recent:
                raise _Repeated
            async with self._database.unit_of_work(Reads.COMMITTED) as session:
                replies = await self._core.handle(session, incoming, plan=plan,
                                                  max_text_length=max_text_length)
            if once is not None:  # only once it succeeded: a failed one may be retried
                self._recent.add(once)
            return replies
        async with self._database.unit_of_work(Reads.IN_TRANSACTION) as session:
            replies = await self._core.handle(session, incoming, plan=plan,
                                              max_text_length=max_text_length)
            if once is not None and not await claim(session, once):
                raise _Repeated
        return replies

    def _count(self, incoming: Incoming, outcome: Outcome, seconds: float) -> None:
        platform = incoming.chat.platform.value
        log.info("turn %s platform=%s kind=%s ms=%.1f", outcome.value, platform,
                 incoming.kind.value, seconds * 1000)
        if self._metrics is not None and outcome is Outcome.HANDLED:
            handled = self._handled.get(platform)
            if handled is None:
                handled = self._handled[platform] = self._metrics.updates_handled.labels(
                    platform=platform)
            handled.inc()
            self._metrics.handler_latency_seconds.observe(seconds)


def describe_failure(exc: BaseException) -> str:
    """`error=IntegrityError at=handlers/x.py:12,storage/y.py:40`: the class and where.

    The exception's own text is left out on purpose: a database error quotes the
    statement's parameters, which may be a phone number or a name.
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _ours(f.filename)]
    where = ",".join(f"{_short(f.filename)}:{f.lineno}" for f in frames[-4:])
    return f"error={type(exc).__name__} at={where or '-'}"


def _ours(filename: str) -> bool:
    path = Path(filename)
    return path.is_relative_to(_PROJECT) and "site-packages" not in path.parts


def _short(filename: str) -> str:
    return Path(filename).relative_to(_PROJECT).as_posix()
