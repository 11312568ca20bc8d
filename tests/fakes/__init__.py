"""Test doubles of the messengers' servers, served over real HTTP on 127.0.0.1.

* :mod:`tests.fakes.telegram_api` - :class:`FakeTelegramBotAPI`, the Telegram Bot API
  (``https://api.telegram.org/bot<token>/<method>``) as aiogram 3 talks to it.
* :mod:`tests.fakes.viber_api` - :class:`FakeViberAPI`, the Viber REST API
  (``https://chatapi.viber.com/pa/<endpoint>``) plus a sender of signed callbacks.

This module holds the pieces both doubles share: the local server lifecycle, a
journal of recorded requests that tests can await, a sliding-window rate limiter
and a queue of forced failures.  Both doubles are importable from here too
(lazily, so ``python -m tests.fakes.telegram_api`` does not import itself twice).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiohttp import ClientSession, ClientTimeout, web

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegramBotAPI
    from tests.fakes.viber_api import FakeViberAPI

__all__ = [
    "FakeTelegramBotAPI",
    "FakeViberAPI",
    "ForcedFailures",
    "LocalHTTPServer",
    "RequestJournal",
    "SlidingWindowLimiter",
    "limiter_for_rate",
]

T = TypeVar("T")
F = TypeVar("F")

LOCALHOST = "127.0.0.1"


def __getattr__(name: str) -> Any:
    """Lazy re-export of the two doubles (PEP 562)."""
    if name == "FakeTelegramBotAPI":
        from tests.fakes.telegram_api import FakeTelegramBotAPI

        return FakeTelegramBotAPI
    if name == "FakeViberAPI":
        from tests.fakes.viber_api import FakeViberAPI

        return FakeViberAPI
    raise AttributeError(name)


# --------------------------------------------------------------------------- limits


class SlidingWindowLimiter:
    """At most ``limit`` accepted hits in any ``window`` seconds (a sliding log).

    Rejected hits are not logged, so a client that backs off as told recovers.
    """

    __slots__ = ("_hits", "limit", "window")

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._hits: deque[float] = deque()

    def hit(self, now: float) -> float | None:
        """Log a hit at ``now``; return None if allowed, else seconds until a slot frees."""
        hits = self._hits
        horizon = now - self.window
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        return None


def limiter_for_rate(rate: float, burst: int = 0) -> SlidingWindowLimiter:
    """A limiter for ``rate`` hits/second, tolerating ``burst`` extra hits per window.

    Rates below 1/s get a longer window (0.25/s -> 1 hit per 4 s), so the limit is
    always a whole number of hits.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    window = 1.0 if rate >= 1 else 1.0 / rate
    return SlidingWindowLimiter(max(1, math.floor(rate * window)) + burst, window)


def retry_after_seconds(wait: float) -> int:
    """Whole seconds to announce in a 'retry after' answer (servers never say 0)."""
    return max(1, math.ceil(wait))


# --------------------------------------------------------------------------- failures


@dataclass(slots=True)
class _Queued(Generic[F]):
    failure: F
    remaining: int


class ForcedFailures(Generic[F]):
    """Per-endpoint queues of failures to answer instead of the real result.

    The key ``"*"`` matches any endpoint; an endpoint's own queue is used first.
    Keys are compared case-insensitively (Telegram method names are).
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Queued[F]]] = {}

    def push(self, key: str, failure: F, times: int = 1) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        self._queues.setdefault(key.lower(), deque()).append(_Queued(failure, times))

    def pop(self, key: str) -> F | None:
        """The next failure for ``key`` (consuming one of its ``times``), or None."""
        if not self._queues:
            return None
        for name in (key.lower(), "*"):
            queue = self._queues.get(name)
            if queue:
                head = queue[0]
                head.remaining -= 1
                if head.remaining <= 0:
                    queue.popleft()
                return head.failure
        return None

    def clear(self) -> None:
        self._queues.clear()

    def __len__(self) -> int:
        return sum(q.remaining for queue in self._queues.values() for q in queue)


# --------------------------------------------------------------------------- journal


class RequestJournal(Generic[T]):
    """An append-only list of recorded requests that tests can await.

    ``listeners`` are called synchronously with every new item (the standalone
    runner uses one to write a JSON-lines log).
    """

    def __init__(self) -> None:
        self.items: list[T] = []
        self.listeners: list[Callable[[T], None]] = []
        self._waiters: list[tuple[Callable[[T], bool], asyncio.Future[T]]] = []

    def record(self, item: T) -> None:
        self.items.append(item)
        for listener in self.listeners:
            listener(item)
        if self._waiters:
            self._wake(item)

    def _wake(self, item: T) -> None:
        still: list[tuple[Callable[[T], bool], asyncio.Future[T]]] = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            if predicate(item):
                future.set_result(item)
            else:
                still.append((predicate, future))
        self._waiters = still

    async def wait_for(
        self, predicate: Callable[[T], bool], timeout: float = 5.0, since: int = 0
    ) -> T:
        """The first item at index >= ``since`` matching ``predicate``, waiting if needed.

        Already-recorded items are searched first, so a reply that raced ahead of
        the call is still found; pass ``since=len(journal.items)`` taken before the
        action to insist on a new one.  Raises ``TimeoutError`` listing recent items.
        """
        for item in self.items[since:]:
            if predicate(item):
                return item
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            recent = "\n  ".join(repr(i) for i in self.items[-5:]) or "(nothing)"
            raise TimeoutError(
                f"no matching request within {timeout}s; last ones:\n  {recent}"
            ) from None
        finally:
            future.cancel()

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)


# --------------------------------------------------------------------------- server


class LocalHTTPServer:
    """Lifecycle of an aiohttp application on 127.0.0.1 (port 0 = any free port).

    Subclasses build the application in :meth:`_build_app`.  Use as
    ``async with Fake(...) as api:`` or call :meth:`start` / :meth:`stop`.
    """

    #: uploads up to Telegram's 50 MB bot limit (plus multipart overhead)
    client_max_size = 52 * 1024 * 1024

    def __init__(self, *, host: str = LOCALHOST, port: int = 0) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after :meth:`start`)."""
        if self._runner is None:
            raise RuntimeError("server is not started")
        return f"http://{self.host}:{self.port}"

    def _build_app(self) -> web.Application:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _before_stop(self) -> None:
        """Hook: release requests that are being held (long polls)."""

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = self._build_app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        await self._before_stop()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self: Any) -> Any:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def client(self) -> ClientSession:
        """The session used to play the messenger towards the bot's webhook."""
        if self._client is None or self._client.closed:
            self._client = ClientSession(timeout=ClientTimeout(total=30))
        return self._client


def monotonic() -> float:
    """The clock of ``at`` fields and rate limits."""
    return time.monotonic()
