"""web_links: one-time links into the web diary (Viber and the console)

Only the SHA-256 of a link's token is kept; a link opens once, before `expires_at`,
and goes with its account (erasure deletes the account, the cascade its links).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import school_bot.storage.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", school_bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", school_bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", school_bot.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_web_links_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_links_token_hash")),
    )
    with op.batch_alter_table("web_links") as batch_op:
        batch_op.create_index(batch_op.f("ix_web_links_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_links_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_links") as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_links_expires_at"))
        batch_op.drop_index(batch_op.f("ix_web_links_account_id"))
    op.drop_table("web_links")
