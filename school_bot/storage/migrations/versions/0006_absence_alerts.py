"""What each chat is told of a pupil's absences on a day: absence_alerts

Later absences of the same day update the first alert (an edit on Telegram, a
follow-up on Viber) and a correction by the school is told, so each chat's alert of a
pupil's day is kept with its outbox rows and the lessons it lists. `attendance.alerted_at`
now means "an alert lists this absence": marks that are no longer absences lose it,
so that only a correction still to tell has a time and a status other than absent.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import school_bot.storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "absence_alerts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=True),
        sa.Column("latest_id", BIG_ID, nullable=True),
        sa.Column("lessons", sa.JSON(), nullable=False),
        sa.Column("corrected", sa.JSON(), nullable=False),
        sa.Column("told", sa.JSON(), nullable=False),
        sa.Column("told_at", school_bot.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_absence_alerts_account_id_accounts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["latest_id"], ["outbox.id"],
                                name=op.f("fk_absence_alerts_latest_id_outbox"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["outbox.id"],
                                name=op.f("fk_absence_alerts_message_id_outbox"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"],
                                name=op.f("fk_absence_alerts_student_id_students"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence_alerts")),
        sa.UniqueConstraint("student_id", "day", "account_id",
                            name=op.f("uq_absence_alerts_pupil_day_chat")),
    )
    for column in ("account_id", "day", "latest_id", "message_id"):
        op.create_index(op.f(f"ix_absence_alerts_{column}"), "absence_alerts", [column])
    op.execute("UPDATE attendance SET alerted_at = NULL "
               "WHERE status <> 'absent' AND alerted_at IS NOT NULL")


def downgrade() -> None:
    for column in ("account_id", "day", "latest_id", "message_id"):
        op.drop_index(op.f(f"ix_absence_alerts_{column}"), table_name="absence_alerts")
    op.drop_table("absence_alerts")
