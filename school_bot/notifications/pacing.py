"""Pacing sends under a messenger's limits, in memory (the limits are about "now").

`SendWindow` spaces sends evenly at a little under the messenger's rate (Telegram
counts about 30 a second per bot over a sliding second): a burst of 30 at once would
reach the server with uneven delays and cost a 429 and a whole second's pause. Slots
go to the most urgent waiter first, then first come first served: an absence alert
claimed while an announcement's rows wait for their slots takes the next slot
(the rate is the same whoever gets it). The window can be paused when the messenger
says "retry after".
`ChatSpacing` remembers when each chat may get its next message (1 a second).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

Monotonic = Callable[[], float]


class SendWindow:
    """At most `rate` acquisitions a second, evenly spaced; the lowest `priority` waiting
    goes first, and equal ones in the order they came."""

    def __init__(self, rate: float, *, margin: float = 0.0, now: Monotonic = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = (1.0 + margin) / rate
        # a sixth of the slack the margin leaves in the messenger's window (5 ms of 30 at
        # 30/s): enough to absorb a sleep's overshoot, the rest is for network jitter
        self.catch_up = margin * max(1.0, 1.0 / rate) / 6
        self._now = now
        self._next_slot = 0.0
        self._paused_until = 0.0
        # one waiter at a time holds the turn (sleeps until the next slot); the others
        # wait in a heap of (priority, arrival, future)
        self._turn_held = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    def pause(self, seconds: float) -> None:
        """No slot is handed out for `seconds` from now (a 429 for the whole bot)."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    async def acquire(self, priority: int = 0) -> None:
        await self._take_turn(priority)
        try:
            # sleeps until a moment (which a pause may move), not until an event
            while (wait := max(self._paused_until, self._next_slot) - self._now()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            # the next slot follows this one's, not the moment the loop woke us, so that a
            # sleep's small overshoot costs no throughput; a grant later than `catch_up`
            # moves the schedule (else it and the one 30 later could share a second)
            now = self._now()
            self._next_slot = max(self._next_slot, now - self.catch_up) + self.interval
        finally:
            self._pass_turn()

    async def _take_turn(self, priority: int) -> None:
        if not self._turn_held:
            self._turn_held = True
            return
        turn = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_turn()  # handed the turn just as it was cancelled: hand it on
            raise  # else its future is cancelled: `_pass_turn` skips it

    def _pass_turn(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self._turn_held = False


class ChatSpacing:
    """The earliest moment each chat may get its next message."""

    def __init__(self, rate: float | None, *, margin: float = 0.0,
                 now: Monotonic = time.monotonic) -> None:
        self.interval = (1.0 + margin) / rate if rate else 0.0
        self._now = now
        self._next: dict[int, float] = {}  # by the chat's account id

    def record(self, account_id: int) -> None:
        if self.interval:
            self._next[account_id] = self._now() + self.interval

    def not_ready(self) -> set[int]:
        """Chats that must still wait; forgets the ones whose wait is over."""
        if not self._next:
            return set()
        now = self._now()
        for key in [k for k, t in self._next.items() if t <= now]:
            del self._next[key]
        return set(self._next)
