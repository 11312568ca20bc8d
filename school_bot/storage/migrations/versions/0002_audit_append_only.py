"""audit_log is append-only on PostgreSQL

A trigger refuses UPDATE, DELETE and TRUNCATE of audit_log for every role but a
superuser (the maintenance path: a superuser can disable any trigger anyway). The
application role is also denied those rights by its grants (`run_bot.py db-roles`);
the trigger is the second line, and it binds the tables' owner too. See
docs/postgres-roles.md.

On SQLite this revision does nothing: whoever can open the file can drop a trigger,
so there the hash chain (`run_bot.py audit verify`) is what shows tampering.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;  -- NULL for TRUNCATE, whose statement trigger's result is ignored
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % by role % refused', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

TRIGGERS = (
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(GUARD_FUNCTION)
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
