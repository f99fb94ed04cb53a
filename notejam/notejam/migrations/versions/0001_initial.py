"""Users, pads and notes with real foreign keys; NULL pad_id means "no pad".

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
NOTE_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql")
MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        **MYSQL,
    )
    op.create_table(
        "pads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_pads_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_pads"),
        **MYSQL,
    )
    op.create_index("ix_pads_user_id_name", "pads", ["user_id", "name"])
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pad_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("text", NOTE_TEXT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_notes_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pad_id"], ["pads.id"], name="fk_notes_pad_id_pads", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_notes"),
        **MYSQL,
    )
    op.create_index("ix_notes_user_id_updated_at", "notes", ["user_id", "updated_at"])
    op.create_index("ix_notes_user_id_name", "notes", ["user_id", "name"])
    op.create_index("ix_notes_pad_id_updated_at", "notes", ["pad_id", "updated_at"])
    op.create_index("ix_notes_pad_id_name", "notes", ["pad_id", "name"])


def downgrade():
    op.drop_table("notes")
    op.drop_table("pads")
    op.drop_table("users")
