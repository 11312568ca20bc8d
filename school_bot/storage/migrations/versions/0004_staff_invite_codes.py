"""invitation codes for staff members

An invitation code belongs to a guardian or to a staff member: `staff_id` beside
`guardian_id`, exactly one of them set (a CHECK constraint). On SQLite the table is
rebuilt (batch mode); its rows are kept.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ONE_PERSON = ("(guardian_id IS NULL AND staff_id IS NOT NULL) "
              "OR (guardian_id IS NOT NULL AND staff_id IS NULL)")


def upgrade() -> None:
    with op.batch_alter_table("invite_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_id", sa.String(length=64), nullable=True))
        batch_op.alter_column("guardian_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_foreign_key(op.f("fk_invite_codes_staff_id_staff"), "staff", ["staff_id"],
                                    ["id"], ondelete="CASCADE")
        batch_op.create_index(batch_op.f("ix_invite_codes_staff_id"), ["staff_id"], unique=False)
        batch_op.create_check_constraint(op.f("ck_invite_codes_one_person"), ONE_PERSON)


def downgrade() -> None:
    op.execute("DELETE FROM invite_codes WHERE staff_id IS NOT NULL")
    with op.batch_alter_table("invite_codes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invite_codes_one_person"), type_="check")
        batch_op.drop_index(batch_op.f("ix_invite_codes_staff_id"))
        batch_op.drop_constraint(op.f("fk_invite_codes_staff_id_staff"), type_="foreignkey")
        batch_op.alter_column("guardian_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("staff_id")
