"""A chat may speak for several guardian rows: account_guardians

Two schools often enter the same parent under their own ids. A chat is now linked to
every such row (a Telegram contact vouches for all rows with its number; on Viber each
row's own code adds it), so the single `accounts.guardian_id` becomes the link table
`account_guardians`; each existing link is carried over.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import school_bot.storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_guardians",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guardian_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", school_bot.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_account_guardians_account_id_accounts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["guardian_id"], ["guardians.id"],
                                name=op.f("fk_account_guardians_guardian_id_guardians"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "guardian_id", name=op.f("pk_account_guardians")),
    )
    op.create_index(op.f("ix_account_guardians_guardian_id"), "account_guardians", ["guardian_id"])
    op.execute("INSERT INTO account_guardians (account_id, guardian_id, linked_at) "
               "SELECT id, guardian_id, COALESCE(linked_at, created_at) FROM accounts "
               "WHERE guardian_id IS NOT NULL")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_guardian_id")
        batch.drop_constraint("fk_accounts_guardian_id_guardians", type_="foreignkey")
        batch.drop_column("guardian_id")


def downgrade() -> None:
    """Back to one guardian row a chat: the first of its links (by id) is kept."""
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("guardian_id", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_accounts_guardian_id_guardians", "guardians", ["guardian_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_accounts_guardian_id", ["guardian_id"])
    op.execute("UPDATE accounts SET guardian_id = (SELECT MIN(guardian_id) FROM account_guardians "
               "WHERE account_guardians.account_id = accounts.id)")
    op.drop_index(op.f("ix_account_guardians_guardian_id"), table_name="account_guardians")
    op.drop_table("account_guardians")
