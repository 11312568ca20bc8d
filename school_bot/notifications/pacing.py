"""Pacing sends under a messenger's limits, in memory (the limits are about "now").

`SendWindow` spaces sends evenly at a little under the messenger's rate (Telegram
counts about 30 a second per bot over a sliding second): a burst of 30 at once would
reach the server with uneven delays and cost a 429 and a whole second's pause. Slots
are handed out first come first served (rows claimed in priority order go in that
order), and the window can be paused when the messenger says "retry after".
`ChatSpacing` remembers when each chat may get its next message (1 a second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable

Monotonic = Callable[[], float]


class SendWindow:
    """At most `rate` acquisitions a second, evenly spaced, in FIFO order."""

    def __init__(self, rate: float, *, margin: float = 0.0, now: Monotonic = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = (1.0 + margin) / rate
        # a sixth of the slack the margin leaves in the messenger's window (5 ms of 30 at
        # 30/s): enough to absorb a sleep's overshoot, the rest is for network jitter
        self.catch_up = margin * max(1.0, 1.0 / rate) / 6
        self._now = now
        self._lock = asyncio.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """No slot is handed out for `seconds` from now (a 429 for the whole bot)."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := max(self._paused_until, self._next_slot) - self._now()) > 0:
                await asyncio.sleep(wait)
            # the next slot follows this one's, not the moment the loop woke us, so that a
            # sleep's small overshoot costs no throughput; a grant later than `catch_up`
            # moves the schedule (else it and the one 30 later could share a second)
            now = self._now()
            self._next_slot = max(self._next_slot, now - self.catch_up) + self.interval


class ChatSpacing:
    """The earliest moment each chat may get its next message."""

    def __init__(self, rate: float | None, *, margin: float = 0.0,
                 now: Monotonic = time.monotonic) -> None:
        self.interval = (1.0 + margin) / rate if rate else 0.0
        self._now = now
        self._next: dict[Hashable, float] = {}

    def record(self, chat_key: Hashable) -> None:
        if self.interval:
            self._next[chat_key] = self._now() + self.interval

    def not_ready(self) -> set[Hashable]:
        """Chats that must still wait; forgets the ones whose wait is over."""
        if not self._next:
            return set()
        now = self._now()
        for key in [k for k, t in self._next.items() if t <= now]:
            del self._next[key]
        return set(self._next)
