"""Which message an edit row changes.

A row whose payload names another outbox row (`EDIT_OF`) shows its reply in place of
the message that row showed (an absence alert kept up to date). The target is read
when the edit is delivered: the message id the messenger gave the earlier row. Per-chat
ordering delivers that row first; should it still be waiting (put back after a crash),
the edit waits too. Where there is nothing to edit - the earlier row failed, or its
message id is gone - or the deliverer cannot edit, the reply is sent as a new message,
so the parent is never left without it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from school_bot.shared.delivery import EDIT_OF, Deliverer, Editor, TemporaryFailure
from school_bot.storage.db import Database
from school_bot.storage.models import OutboxMessage
from school_bot.storage.outbox_status import OutboxStatus


async def edit_target(database: Database, payload: dict[str, Any],
                      deliverer: Deliverer) -> tuple[Editor, str] | None:
    """The deliverer's edit and the message id to edit; None: send as a new message."""
    row_id = payload.get(EDIT_OF)
    if row_id is None or not isinstance(deliverer, Editor):
        return None
    async with database.unit_of_work() as session:
        earlier = (await session.execute(
            select(OutboxMessage.status, OutboxMessage.platform_message_id)
            .where(OutboxMessage.id == row_id))).first()
    if earlier is None or earlier.status in (OutboxStatus.DEAD, OutboxStatus.BLOCKED):
        return None
    if earlier.status != OutboxStatus.SENT:
        raise TemporaryFailure("the message to edit is not sent yet")
    if earlier.platform_message_id is None:
        return None
    return deliverer, earlier.platform_message_id
