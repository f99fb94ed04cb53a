"""users.data_version: bumped with every write to a user's pads or notes (the list cache's key).

Revision ID: 0002_user_data_version
Revises: 0001_initial
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_user_data_version"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on every backend (no batch copy of users: on SQLite a copy would drop the
    # table, and foreign keys would cascade the drop to every pad and note).
    op.add_column("users", sa.Column("data_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_column("users", "data_version")
