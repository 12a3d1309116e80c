"""USDT dominance on level touches: the dominance the entry filter reads (the trader's), beside BTC's.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable column (None for touches recorded without a dominance source)."""
    with op.batch_alter_table("level_touches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("usdt_dominance_pct", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("level_touches", schema=None) as batch_op:
        batch_op.drop_column("usdt_dominance_pct")
