"""A parent may let absence alerts wait for the end of quiet hours

`accounts.absence_alerts_in_quiet_hours`: on (every existing chat, and the default),
absence alerts are urgent and ignore quiet hours; off, an alert that falls in the
chat's quiet hours waits until they end.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("absence_alerts_in_quiet_hours", sa.Boolean(),
                                        nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("absence_alerts_in_quiet_hours")
