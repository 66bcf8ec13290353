"""Dashboard sessions in the case store (the SHA-256 of each cookie's token, never the token).

Revision ID: 0005_web_sessions
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_web_sessions"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``web_sessions``: one row per logged-in browser, deleted at logout, expiry or disabling."""
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False, index=True),
        sa.Column("started", sa.String(32), nullable=False),
        sa.Column("last_seen", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    """Drop the table (only for tests of the migrations themselves)."""
    op.drop_table("web_sessions")
