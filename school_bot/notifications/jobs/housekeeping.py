"""Forgetting what the outbox no longer needs: receipts whose send was never recorded."""

from __future__ import annotations

import logging
from datetime import timedelta

from school_bot.notifications.jobs.common import JobContext
from school_bot.notifications.receipts import purge_early_receipts

log = logging.getLogger(__name__)


async def forget_early_receipts(ctx: JobContext) -> int:
    """Receipts kept longer than `early_receipt_hours` go; queues nothing (returns 0)."""
    before = ctx.now() - timedelta(hours=ctx.config.early_receipt_hours)
    async with ctx.database.unit_of_work() as session:
        purged = await purge_early_receipts(session, before)
    if purged:
        log.info("outbox: %d receipts whose send was never recorded forgotten", purged)
    return 0
