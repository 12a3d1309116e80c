"""Initial schema: runs, level touches with the market state, signals, alerts sent, orders, fills.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('alerts_sent',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('ts_event_ns', sa.BigInteger(), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('instrument_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=256), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts_sent', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_sent_instrument', ['instrument_id'], unique=False)
        batch_op.create_index('ix_alerts_sent_run_time', ['run_id', 'ts_event_ns'], unique=False)

    op.create_table('fills',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('ts_event_ns', sa.BigInteger(), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('trade_id', sa.String(length=64), nullable=False),
    sa.Column('strategy_id', sa.String(length=128), nullable=False),
    sa.Column('instrument_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('price', sa.Float(), nullable=False),
    sa.Column('fee', sa.Float(), nullable=False),
    sa.Column('fee_currency', sa.String(length=16), nullable=False),
    sa.Column('liquidity', sa.String(length=8), nullable=False),
    sa.Column('realized_pnl', sa.Float(), nullable=True),
    sa.Column('pnl_currency', sa.String(length=16), nullable=True),
    sa.Column('r_multiple', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.create_index('ix_fills_instrument', ['instrument_id'], unique=False)
        batch_op.create_index('ix_fills_run_time', ['run_id', 'ts_event_ns'], unique=False)

    op.create_table('level_touches',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('ts_event_ns', sa.BigInteger(), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('instrument_id', sa.String(length=64), nullable=False),
    sa.Column('level_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('age_min', sa.Float(), nullable=True),
    sa.Column('touch_price', sa.Float(), nullable=False),
    sa.Column('level_price', sa.Float(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.Integer(), nullable=False),
    sa.Column('open_interest_usd', sa.Float(), nullable=True),
    sa.Column('open_interest_change_pct', sa.Float(), nullable=True),
    sa.Column('open_interest_window_min', sa.Integer(), nullable=True),
    sa.Column('funding_rate', sa.Float(), nullable=True),
    sa.Column('long_short_ratio', sa.Float(), nullable=True),
    sa.Column('usdt_supply_usd', sa.Float(), nullable=True),
    sa.Column('usdt_net_flow_usd', sa.Float(), nullable=True),
    sa.Column('btc_dominance_pct', sa.Float(), nullable=True),
    sa.Column('whale_flow_usd', sa.Float(), nullable=True),
    sa.Column('markout_1m_bps', sa.Float(), nullable=True),
    sa.Column('markout_5m_bps', sa.Float(), nullable=True),
    sa.Column('markout_15m_bps', sa.Float(), nullable=True),
    sa.Column('markout_60m_bps', sa.Float(), nullable=True),
    sa.Column('mfe_bps', sa.Float(), nullable=True),
    sa.Column('mae_bps', sa.Float(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('outcome_filled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('level_touches', schema=None) as batch_op:
        batch_op.create_index('ix_level_touches_instrument', ['instrument_id'], unique=False)
        batch_op.create_index('ix_level_touches_run_time', ['run_id', 'ts_event_ns'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('ts_event_ns', sa.BigInteger(), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('venue_order_id', sa.String(length=64), nullable=True),
    sa.Column('strategy_id', sa.String(length=128), nullable=False),
    sa.Column('instrument_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('order_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('price', sa.Float(), nullable=True),
    sa.Column('trigger_price', sa.Float(), nullable=True),
    sa.Column('reduce_only', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=512), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_instrument', ['instrument_id'], unique=False)
        batch_op.create_index('ix_orders_run_time', ['run_id', 'ts_event_ns'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('run_file', sa.String(length=512), nullable=False),
    sa.Column('config_digest', sa.String(length=64), nullable=False),
    sa.Column('trader_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data_end', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('signals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('ts_event_ns', sa.BigInteger(), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('strategy_id', sa.String(length=128), nullable=False),
    sa.Column('instrument_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('refused_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=512), nullable=True),
    sa.Column('level_id', sa.String(length=128), nullable=True),
    sa.Column('touch_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('signals', schema=None) as batch_op:
        batch_op.create_index('ix_signals_instrument', ['instrument_id'], unique=False)
        batch_op.create_index('ix_signals_run_time', ['run_id', 'ts_event_ns'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('signals', schema=None) as batch_op:
        batch_op.drop_index('ix_signals_run_time')
        batch_op.drop_index('ix_signals_instrument')

    op.drop_table('signals')
    op.drop_table('runs')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_run_time')
        batch_op.drop_index('ix_orders_instrument')

    op.drop_table('orders')
    with op.batch_alter_table('level_touches', schema=None) as batch_op:
        batch_op.drop_index('ix_level_touches_run_time')
        batch_op.drop_index('ix_level_touches_instrument')

    op.drop_table('level_touches')
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.drop_index('ix_fills_run_time')
        batch_op.drop_index('ix_fills_instrument')

    op.drop_table('fills')
    with op.batch_alter_table('alerts_sent', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_sent_run_time')
        batch_op.drop_index('ix_alerts_sent_instrument')

    op.drop_table('alerts_sent')
