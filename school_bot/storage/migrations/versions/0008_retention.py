"""retention: what is old enough to be deleted is found by index; figures outlive their rows

* `ix_outbox_created_at`, `ix_relay_messages_created_at`: the retention job deletes the
  oldest rows in chunks (processed_callbacks.at has its index already); the delivery
  report's period is on outbox.created_at too.
* `announcements.purged_*`: the outcomes of an announcement's copies that retention
  deleted, so its progress and report keep their figures.
* `retention_horizons`: how far retention has deleted each table (the delivery report
  says from which day it counts).

Building the outbox index reads the whole table once (a few seconds a million rows).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import school_bot.storage.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PURGED = ("purged_sent", "purged_delivered", "purged_failed", "purged_blocked")


def upgrade() -> None:
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_index("ix_relay_messages_created_at", "relay_messages", ["created_at"])
    with op.batch_alter_table("announcements") as batch:
        for name in PURGED:
            batch.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "retention_horizons",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("purged_before", school_bot.storage.models.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_retention_horizons")),
    )


def downgrade() -> None:
    op.drop_table("retention_horizons")
    with op.batch_alter_table("announcements") as batch:
        for name in PURGED:
            batch.drop_column(name)
    op.drop_index("ix_relay_messages_created_at", table_name="relay_messages")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
