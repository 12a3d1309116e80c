"""The signal swarm: its signals where enough bots agreed, and each instrument's regime changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _event_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("ts_event_ns", sa.BigInteger(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
    ]


def upgrade() -> None:
    """Create swarm_signals and regime_changes with the ledger's run/time and instrument indexes."""
    op.create_table(
        "swarm_signals", *_event_columns(),
        sa.Column("direction", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("confluence", sa.Integer(), nullable=False),
        sa.Column("long_votes", sa.Integer(), nullable=False),
        sa.Column("short_votes", sa.Integer(), nullable=False),
        sa.Column("regime", sa.String(length=16), nullable=False),
        sa.Column("votes", sa.String(length=2048), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )  # fmt: skip
    op.create_table(
        "regime_changes", *_event_columns(),
        sa.Column("regime", sa.String(length=16), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )  # fmt: skip
    for table in ("swarm_signals", "regime_changes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_instrument", ["instrument_id"], unique=False)
            batch_op.create_index(f"ix_{table}_run_time", ["run_id", "ts_event_ns"], unique=False)


def downgrade() -> None:
    """Drop them."""
    for table in ("regime_changes", "swarm_signals"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_run_time")
            batch_op.drop_index(f"ix_{table}_instrument")
        op.drop_table(table)
