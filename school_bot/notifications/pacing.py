"""Pacing sends under a messenger's limits, in memory (the limits are about "now").

`SendWindow` spaces sends evenly at a little under the messenger's rate (Telegram
counts about 30 a second per bot over a sliding second): a burst of 30 at once would
reach the server with uneven delays and cost a 429 and a whole second's pause.

Even spacing of the requests' starts is not enough on a busy machine, where one request
can take 40 ms longer on its way than the next. So a send also waits until the
messenger has answered the one `limit` sends before it and a second has passed since,
less the shortest recent round trip: that request reached the messenger at least half
such a trip before its answer came back, and this one reaches it at least half a trip
after it starts (a trip's two ways taken as equally long), so no second holds more than
`limit` arrivals whatever the delays, and a distant messenger's steady round trip costs
no throughput.

Slots go to the most urgent waiter first, then first come first served: an absence
alert claimed while an announcement's rows wait for their slots takes the next slot
(the rate is the same whoever gets it). The window can be paused when the messenger
says "retry after".

`ChatSpacing` remembers when each chat may get its next message (1 a second after the
messenger answered the last one).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Callable

Monotonic = Callable[[], float]

ANSWER_POLL = 0.005  # how often a send waiting for an earlier one's answer looks again
CLOCK_SLACK = 0.002  # beyond the messenger's window: clocks tick in steps
CATCH_UP_SLOTS = 3   # a late grant's lateness made up by the next slots, up to this many
ROUND_TRIPS = 32     # the last round trips the shortest is taken from


class Slot:
    """One granted send; `close()` once the messenger answered (or the call ended)."""

    __slots__ = ("_now", "_trips", "answered", "started")

    def __init__(self, now: Monotonic, trips: deque[float]) -> None:
        self._now = now
        self._trips = trips
        self.started = now()
        self.answered: float | None = None

    def close(self) -> None:
        if self.answered is None:
            self.answered = self._now()
            self._trips.append(self.answered - self.started)


class SendWindow:
    """At most `rate` acquisitions a second, evenly spaced; the lowest `priority` waiting
    goes first, and equal ones in the order they came."""

    def __init__(self, rate: float, *, margin: float = 0.0, now: Monotonic = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = (1.0 + margin) / rate
        # how far behind the schedule a grant may be and still be caught up with (the
        # slots after it come sooner): a busy machine's late wake-ups cost no throughput,
        # and the answers' window keeps any second to `limit` sends
        self.catch_up = CATCH_UP_SLOTS * self.interval
        # the messenger's sliding window and how many sends it takes (below 1 a second:
        # a longer window of one send)
        self.span = max(1.0, 1.0 / rate)
        self.limit = max(1, math.floor(rate * self.span))
        self._recent: deque[Slot] = deque()  # the last `limit` slots granted
        self._trips: deque[float] = deque(maxlen=ROUND_TRIPS)  # seconds, of the last answers
        self._horizon = -math.inf  # the older sends' answers less the shortest round trip
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

    async def acquire(self, priority: int = 0) -> Slot:
        """Wait for a slot; the caller closes it when the messenger has answered."""
        await self._take_turn(priority)
        try:
            # sleeps until a moment (which a pause or an answer may move), not until an event
            while (wait := max(self._paused_until, self._next_slot, self._answered_span())  # noqa: ASYNC110
                    - self._now()) > 0:
                await asyncio.sleep(wait)
            # the next slot follows this one's, not the moment the loop woke us, so that a
            # late wake-up costs no throughput; a grant later than `catch_up` (after a
            # pause, or nothing to send) moves the schedule: no burst makes up for that
            now = self._now()
            self._next_slot = max(self._next_slot, now - self.catch_up) + self.interval
            slot = Slot(self._now, self._trips)
            self._recent.append(slot)
            return slot
        finally:
            self._pass_turn()

    def _answered_span(self) -> float:
        """The earliest moment of the next send by the answers: a window after the answers
        to the sends `limit` or more before it, less the shortest recent round trip
        (soon, while such a send is still unanswered; one unanswered a whole window
        later is not waited for)."""
        now = self._now()
        while len(self._recent) >= self.limit:
            oldest = self._recent[0]
            if oldest.answered is None and now < oldest.started + self.span:
                return now + ANSWER_POLL
            self._recent.popleft()
            if oldest.answered is None:
                counted = oldest.started
            else:
                counted = max(oldest.started, oldest.answered - min(self._trips, default=0.0))
            self._horizon = max(self._horizon, counted)
        return self._horizon + self.span + CLOCK_SLACK

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
