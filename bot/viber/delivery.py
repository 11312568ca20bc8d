"""The outbox's Viber deliverer: a stored reply, sent with the same converter as answers."""

from __future__ import annotations

from bot.viber.client import ViberClient
from bot.viber.convert import to_messages
from bot.viber.files import FileStore
from handlers.events import Platform, Reply


class ViberDeliverer:
    platform = Platform.VIBER

    def __init__(self, client: ViberClient, files: FileStore) -> None:
        self._client = client
        self._files = files

    async def deliver(self, chat_id: str, reply: Reply) -> str | None:
        token: str | None = None
        for message in render(reply, self._files):
            token = await self._client.send(chat_id, message)
        return token


def render(reply: Reply, files: FileStore) -> list:  # type: ignore[type-arg]
    url = files.publish(reply.file.filename, reply.file.content) if reply.file else None
    return to_messages(reply, contact_label=getattr(reply, "contact_button_label", None), file_url=url)
