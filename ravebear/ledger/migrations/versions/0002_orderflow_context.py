"""Order-flow context on level touches (OBI, delta, absorption tier, whale tag): the market-state part landed first.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable order-flow columns (None for touches recorded without the order-flow actor)."""
    with op.batch_alter_table("level_touches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("obi", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("delta", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("absorption_tier", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("whale_tag", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("level_touches", schema=None) as batch_op:
        for name in ("whale_tag", "absorption_tier", "delta", "obi"):
            batch_op.drop_column(name)
