"""Announcements in batches: one call sends one copy to many chats (Viber's
`broadcast_message`, up to 300 receivers a call, answering with a `failed_list`).

A deliverer that can do this implements `BatchDeliverer` besides `Deliverer`. The
dispatcher then claims the due rows of one announcement on that platform together,
groups those with the same rendered payload (the copies differ by language) into
`Batch`es of at most `max_receivers`, and hands each batch to `deliver_many` in one
slot of the platform's send window: one outcome per chat comes back, each recorded as a
single delivery's would be. Replies and personal notifications still go one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from school_bot.shared.delivery import DeliveryError, TemporaryFailure
from school_bot.shared.events import Platform, Reply
from school_bot.notifications.recorder import Claimed, Outcome, Result

MAX_RECEIVERS = 300  # Viber's limit for broadcast_message


@runtime_checkable
class BatchDeliverer(Protocol):
    platform: Platform
    max_receivers: int

    async def deliver_many(self, chat_ids: Sequence[str], reply: Reply
                           ) -> Mapping[str, str | DeliveryError | None]:
        """Send one reply to several chats; per chat, the message token or the error.

        An error of the whole call (the messenger down, "retry after") is raised."""
        ...


@dataclass(frozen=True)
class Batch:
    """Claimed rows of one announcement with the same payload, for one call."""

    rows: tuple[Claimed, ...]

    @property
    def key(self) -> int:
        return self.rows[0].id

    @property
    def platform(self) -> str:
        return self.rows[0].platform

    @property
    def payload(self) -> dict[str, Any]:
        return self.rows[0].payload


def batches(rows: Iterable[Claimed], max_receivers: int) -> list[Batch]:
    """The rows grouped by (announcement, rendered payload), oldest group first, cut into
    batches of at most `max_receivers`."""
    groups: dict[tuple[int | None, str], list[Claimed]] = {}
    for row in rows:
        key = (row.announcement_id, json.dumps(row.payload, sort_keys=True, ensure_ascii=False))
        groups.setdefault(key, []).append(row)
    return [Batch(tuple(group[start:start + max_receivers]))
            for group in groups.values() for start in range(0, len(group), max_receivers)]


def outcomes(batch: Batch, answers: Mapping[str, str | DeliveryError | None]) -> list[Result]:
    """Each row's outcome from the per-chat answers of `deliver_many`."""
    results: list[Result] = []
    for row in batch.rows:
        answer = answers.get(row.chat_id, TemporaryFailure("no answer for this receiver"))
        results.append((row, Outcome.of_error(answer) if isinstance(answer, DeliveryError)
                        else Outcome.sent(answer)))
    return results
