"""The outbox's Viber deliverer: a stored reply, sent with the same converter as answers.

One chat at a time with `send_message` (replies, personal notifications), or one reply
to up to 300 chats at a time with `broadcast_message` (announcements: the outbox's
`BatchDeliverer`, notifications/batching.py). Viber reports delivered / seen / failed
for what it was sent (`sends_receipts`): the webhook hands those to the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from school_bot.shared.delivery import DeliveryError
from school_bot.bot.viber.client import BROADCAST_LIMIT, ViberClient
from school_bot.bot.viber.convert import to_messages
from school_bot.bot.viber.files import FileStore
from school_bot.shared.events import Platform, Reply


class ViberDeliverer:
    platform = Platform.VIBER
    max_receivers = BROADCAST_LIMIT
    sends_receipts = True

    def __init__(self, client: ViberClient, files: FileStore) -> None:
        self._client = client
        self._files = files

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        token: str | None = None
        for message in render(reply, self._files):
            token = await self._client.send(chat_id, message)
        return token

    async def deliver_many(self, chat_ids: Sequence[str], reply: Reply
                           ) -> Mapping[str, str | DeliveryError | None]:
        """Each message of the reply in one broadcast to the chats that got the previous
        one; per chat, the last message's token or the error of its `failed_list` entry."""
        failed: dict[str, DeliveryError] = {}
        receivers = list(chat_ids)
        token: str | None = None
        for message in render(reply, self._files):
            if not receivers:
                break
            answer = await self._client.broadcast(receivers, message)
            failed.update(answer.failed)
            receivers = [chat for chat in receivers if chat not in answer.failed]
            token = answer.message_token
        return {**{chat: token for chat in receivers}, **failed}


def render(reply: Reply, files: FileStore) -> list:  # type: ignore[type-arg]
    url = files.publish(reply.file.filename, reply.file.content) if reply.file else None
    return to_messages(reply, contact_label=getattr(reply, "contact_button_label", None), file_url=url)
