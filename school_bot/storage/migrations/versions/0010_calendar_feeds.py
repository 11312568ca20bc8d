"""A chat's secret calendar feed link: calendar_feeds

One row a chat at most (a new link replaces the token, turning the feed off deletes
the row); only the SHA-256 of the token is kept. The row goes with its chat (ON DELETE
CASCADE: erasure deletes the chat).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import school_bot.storage.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", school_bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_calendar_feeds_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
