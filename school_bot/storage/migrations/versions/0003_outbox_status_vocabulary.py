"""the outbox's one status vocabulary; receipts in columns of their own

`outbox.status` holds only the dispatcher's outcomes (queued, sending, sent, retry,
dead, blocked: storage/outbox_status.py), enforced by a CHECK constraint. Existing
rows are converted:

* `failed` was two things: a temporary failure waiting for its retry (-> `retry`), or
  a sent message that Viber's `failed` receipt had turned back (it has `sent_at`:
  -> `sent`, the receipt's text moved to the new `receipt_error`);
* `delivered` was written by receipts (-> `sent`); a `seen` one carries `seen_at`,
  which now implies `delivered_at` as well.

`early_receipts` keeps a receipt that arrives before its send is recorded.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import school_bot.storage.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("queued", "sending", "sent", "retry", "dead", "blocked")
RECEIPTS = ("delivered", "seen", "failed")


def _in(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(w) for w in words)})"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("receipt_error", sa.Text(), nullable=True))
    op.execute("UPDATE outbox SET status = 'sent', receipt_error = last_error, last_error = NULL "
               "WHERE status = 'failed' AND sent_at IS NOT NULL")
    op.execute("UPDATE outbox SET status = 'retry' WHERE status = 'failed'")
    op.execute("UPDATE outbox SET status = 'sent' WHERE status = 'delivered'")
    op.execute("UPDATE outbox SET delivered_at = seen_at "
               "WHERE delivered_at IS NULL AND seen_at IS NOT NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.create_check_constraint(op.f("ck_outbox_status"), _in("status", STATUSES))

    op.create_table(
        "early_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("message_token", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", school_bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("event", RECEIPTS), name=op.f("ck_early_receipts_event")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_early_receipts_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_receipts")),
    )
    with op.batch_alter_table("early_receipts") as batch:
        batch.create_index(batch.f("ix_early_receipts_account_id"), ["account_id"], unique=False)
        batch.create_index(batch.f("ix_early_receipts_message_token"), ["message_token"],
                           unique=False)
        batch.create_index(batch.f("ix_early_receipts_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("early_receipts")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'retry'")
    op.execute("UPDATE outbox SET last_error = receipt_error "
               "WHERE receipt_error IS NOT NULL AND last_error IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("receipt_error")
