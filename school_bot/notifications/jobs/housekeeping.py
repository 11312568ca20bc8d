"""Forgetting what is no longer needed: receipts whose send was never recorded, and
(retention) old messages, relayed messages and callback keys, and absence explanations
of past school years."""

from __future__ import annotations

import logging
from datetime import timedelta

from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.receipts import purge_early_receipts
from school_bot.storage.retention import Purged, purge_round, school_year_start

log = logging.getLogger(__name__)


async def forget_early_receipts(ctx: JobContext) -> int:
    """Receipts kept longer than `early_receipt_hours` go; queues nothing (returns 0)."""
    before = ctx.now() - timedelta(hours=ctx.config.early_receipt_hours)
    async with ctx.database.unit_of_work() as session:
        purged = await purge_early_receipts(session, before)
    if purged:
        log.info("outbox: %d receipts whose send was never recorded forgotten", purged)
    return 0


async def purge_expired(ctx: JobContext) -> int:
    """What is older than `retention_days` goes (storage/retention.py), a round of at most
    `retention_chunk` rows of each kind per unit of work until none is full; queues
    nothing (returns 0). A stop between rounds or within one loses nothing: each
    round commits with its audit entry or not at all."""
    now = ctx.now()
    before = now - timedelta(days=ctx.config.retention_days)
    notes_before = school_year_start(now.astimezone(ctx.settings.zone).date(),
                                     ctx.settings.school_year_start_day)
    chunk = ctx.config.retention_chunk
    total = Purged()
    while True:
        async with ctx.database.unit_of_work() as session:
            purged = await purge_round(session, before=before, chunk=chunk,
                                       notes_before=notes_before)
        total += purged
        if not purged.reached(chunk):
            break
    if total.total:
        log.info("retention: deleted outbox=%d relay_messages=%d processed_callbacks=%d "
                 "absence_notes=%d", total.outbox, total.relay_messages,
                 total.processed_callbacks, total.absence_notes)
    return 0
