"""Parents explain absences: absence_notes, the counters that order them, reminders

* `absence_notes`: a parent's explanation of a pupil's absence (after an alert or in
  advance) and the school's decision; `seq` orders every change for the school
  system's reader (`GET /api/v1/absence-notes?after=`).
* `counters`: named sequences handed out under a row lock (storage/counters.py).
* `absence_alerts.reminded_at`: the one evening reminder that a day is unexplained.
* `accounts.absence_note_reminders`: a parent may turn that reminder off (on for every
  existing chat, and the default).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import school_bot.storage.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = school_bot.storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "absence_notes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("guardian_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", BIG_ID, nullable=True),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("in_advance", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("decided_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_absence_notes_account_id_accounts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["guardian_id"], ["guardians.id"],
                                name=op.f("fk_absence_notes_guardian_id_guardians"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"],
                                name=op.f("fk_absence_notes_school_id_schools"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"],
                                name=op.f("fk_absence_notes_student_id_students"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence_notes")),
        sa.UniqueConstraint("seq", name=op.f("uq_absence_notes_seq")),
    )
    for column in ("account_id", "class_id", "guardian_id", "status"):
        op.create_index(op.f(f"ix_absence_notes_{column}"), "absence_notes", [column])
    op.create_index("ix_absence_notes_school_seq", "absence_notes", ["school_id", "seq"])
    op.create_index("ix_absence_notes_student_days", "absence_notes", ["student_id", "first_day"])
    op.add_column("absence_alerts", sa.Column("reminded_at", UTC_TIME, nullable=True))
    op.add_column("accounts", sa.Column("absence_note_reminders", sa.Boolean(),
                                        nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("absence_note_reminders")
    with op.batch_alter_table("absence_alerts") as batch:
        batch.drop_column("reminded_at")
    op.drop_table("absence_notes")
    op.drop_table("counters")
