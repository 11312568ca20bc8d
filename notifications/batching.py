"""The extension point for messengers that send one message to many chats at once.

Viber's `broadcast_message` takes up to 300 receivers per call. A deliverer that can
do this implements `BatchDeliverer` besides `Deliverer`; the dispatcher may then hand
it the claimed rows of one announcement (the same payload) together, one outcome per
chat coming back, each recorded as a single delivery's would be. Until a Viber
deliverer implements it, every row goes through `Deliverer.deliver` one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bot.delivery import DeliveryError
from handlers.events import Platform, Reply

MAX_RECEIVERS = 300  # Viber's limit for broadcast_message


@runtime_checkable
class BatchDeliverer(Protocol):
    platform: Platform
    max_receivers: int

    async def deliver_many(self, chat_ids: Sequence[str], reply: Reply
                           ) -> dict[str, str | DeliveryError | None]:
        """Send one reply to several chats; per chat, the message token or the error."""
        ...
