"""The ledger's tables (SQLModel). Units sit in the column names (`_ns`, `_bps`, `_usd`, `_pct`, `_min`) or the
comment beside them; every time is UTC. Prices, sizes and PnL are floats: the ledger is the analysis copy, the run
folder's orders/fills tables stay the money record (Decimal through nautilus).

SQLModel table classes do not validate on construction (`LevelTouch(score="x")` is accepted as is): build rows with
the types shown. `event_time` may be left None: the writer fills it from `ts_event_ns`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index
from sqlmodel import Field, SQLModel

MODES = ("backtest", "paper", "live")
TOUCH_OUTCOMES = ("held", "broken")
ALERT_OUTCOMES = ("sent", "merged", "dead_lettered")
MARKOUT_MINUTES = (1, 5, 15, 60)  # the markout columns below, one per horizon


def new_id() -> str:
    """A fresh 32-character id (uuid4 hex): rows reference each other before any is written."""
    return uuid.uuid4().hex


def _ns() -> Column:
    return Column(BigInteger, nullable=False)


def _utc(nullable: bool = True) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


def _event_indexes(table: str) -> tuple[Index, Index]:
    return Index(f"ix_{table}_run_time", "run_id", "ts_event_ns"), Index(f"ix_{table}_instrument", "instrument_id")


class Run(SQLModel, table=True):
    """One backtest, paper or live run."""

    __tablename__ = "runs"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    mode: str = Field(max_length=16)  # backtest | paper | live
    run_file: str = Field(default="", max_length=512)  # the run file's name as given
    config_digest: str = Field(default="", max_length=64)  # sha256 hex of the run file's text
    trader_id: str = Field(default="", max_length=64)
    started_at: datetime | None = Field(default=None, sa_column=_utc())
    ended_at: datetime | None = Field(default=None, sa_column=_utc())
    data_start: datetime | None = Field(default=None, sa_column=_utc())  # the data period the run covers
    data_end: datetime | None = Field(default=None, sa_column=_utc())


class LevelTouch(SQLModel, table=True):
    """Price touching a level, with the market state at that moment; outcome columns are filled later."""

    __tablename__ = "level_touches"
    __table_args__ = _event_indexes("level_touches")

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(max_length=64)
    ts_event_ns: int = Field(sa_column=_ns())  # UNIX ns of the touch
    event_time: datetime | None = Field(default=None, sa_column=_utc(nullable=False))  # the same instant, UTC
    instrument_id: str = Field(max_length=64)  # e.g. BTC-USDT-SWAP.OKX
    level_id: str = Field(default="", max_length=128)
    kind: str = Field(default="", max_length=32)  # the level's kind (wick, poor_high, ...)
    timeframe: str = Field(default="", max_length=16)  # e.g. 15m, 1h
    score: float | None = None  # the level's score at the touch: quality x freshness in [0, 1] (LevelEventData.score)
    age_min: float | None = None  # the level's age at the touch, minutes
    touch_price: float
    level_price: float
    side: str = Field(default="", max_length=16)  # support | resistance
    direction: int  # +1: the level should push price up (support), -1: down (resistance); markouts are signed by it
    # market state at the touch (None: no source served it)
    open_interest_usd: float | None = None
    open_interest_change_pct: float | None = None  # over open_interest_window_min
    open_interest_window_min: int | None = None
    funding_rate: float | None = None  # per funding interval, as a fraction (0.0001 = 0.01 %)
    long_short_ratio: float | None = None
    usdt_supply_usd: float | None = None
    usdt_net_flow_usd: float | None = None  # supply change over the source's interval
    btc_dominance_pct: float | None = None
    usdt_dominance_pct: float | None = None  # % of total crypto market cap (what the entry filter's usdt_dominance reads)
    whale_flow_usd: float | None = None  # net whale transfers toward exchanges over the filter window
    # order-flow context (None unless the order-flow actor runs)
    obi: float | None = None  # top-of-book imbalance in [-1, 1], positive when bids outweigh asks
    delta: float | None = None  # aggressive buy minus sell size over the snapshot interval, base units
    absorption_tier: int | None = None  # 0 none, 1-3
    whale_tag: str | None = Field(default=None, max_length=32)  # e.g. whale_buy | whale_sell
    # outcomes (OutcomeTracker), bps signed in the level's direction
    markout_1m_bps: float | None = None
    markout_5m_bps: float | None = None
    markout_15m_bps: float | None = None
    markout_60m_bps: float | None = None
    mfe_bps: float | None = None  # maximum favourable excursion, >= 0
    mae_bps: float | None = None  # maximum adverse excursion, >= 0
    outcome: str | None = Field(default=None, max_length=16)  # held | broken
    outcome_filled_at: datetime | None = Field(default=None, sa_column=_utc())


class Signal(SQLModel, table=True):
    """A strategy signal: accepted, or refused by a guard or the entry filter."""

    __tablename__ = "signals"
    __table_args__ = _event_indexes("signals")

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(max_length=64)
    ts_event_ns: int = Field(sa_column=_ns())
    event_time: datetime | None = Field(default=None, sa_column=_utc(nullable=False))
    strategy_id: str = Field(max_length=128)
    instrument_id: str = Field(max_length=64)
    side: str = Field(max_length=8)  # BUY | SELL
    accepted: bool
    refused_by: str | None = Field(default=None, max_length=64)  # the guard or filter condition that refused it
    reason: str | None = Field(default=None, max_length=512)
    level_id: str | None = Field(default=None, max_length=128)
    touch_id: str | None = Field(default=None, max_length=64)  # the LevelTouch it came from, when one


class AlertSent(SQLModel, table=True):
    """An alert handed to a channel, and what became of it."""

    __tablename__ = "alerts_sent"
    __table_args__ = _event_indexes("alerts_sent")

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(max_length=64)
    ts_event_ns: int = Field(sa_column=_ns())
    event_time: datetime | None = Field(default=None, sa_column=_utc(nullable=False))
    instrument_id: str = Field(default="", max_length=64)
    channel: str = Field(max_length=64)  # e.g. btc_15m, whale, high_conf (never the webhook URL: a secret)
    kind: str = Field(max_length=32)
    symbol: str = Field(default="", max_length=32)
    title: str = Field(default="", max_length=256)
    outcome: str = Field(max_length=16)  # sent | merged | dead_lettered


class OrderRecord(SQLModel, table=True):
    """An order event (submitted, accepted, rejected, canceled, filled)."""

    __tablename__ = "orders"
    __table_args__ = _event_indexes("orders")

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(max_length=64)
    ts_event_ns: int = Field(sa_column=_ns())
    event_time: datetime | None = Field(default=None, sa_column=_utc(nullable=False))
    client_order_id: str = Field(max_length=64)
    venue_order_id: str | None = Field(default=None, max_length=64)
    strategy_id: str = Field(default="", max_length=128)
    instrument_id: str = Field(max_length=64)
    side: str = Field(max_length=8)  # BUY | SELL
    order_type: str = Field(max_length=32)  # MARKET, LIMIT, STOP_MARKET, ...
    status: str = Field(max_length=32)  # SUBMITTED, ACCEPTED, REJECTED, CANCELED, FILLED, ...
    quantity: float  # base units or contracts
    price: float | None = None
    trigger_price: float | None = None
    reduce_only: bool = False
    reason: str | None = Field(default=None, max_length=512)  # a rejection's reason


class FillRecord(SQLModel, table=True):
    """A fill, with its fee and, when known, the realized PnL and R of the position it closed."""

    __tablename__ = "fills"
    __table_args__ = _event_indexes("fills")

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(max_length=64)
    ts_event_ns: int = Field(sa_column=_ns())
    event_time: datetime | None = Field(default=None, sa_column=_utc(nullable=False))
    client_order_id: str = Field(max_length=64)
    trade_id: str = Field(default="", max_length=64)
    strategy_id: str = Field(default="", max_length=128)
    instrument_id: str = Field(max_length=64)
    side: str = Field(max_length=8)
    quantity: float
    price: float
    fee: float = 0.0  # in fee_currency
    fee_currency: str = Field(default="", max_length=16)
    liquidity: str = Field(default="", max_length=8)  # MAKER | TAKER
    realized_pnl: float | None = None  # in pnl_currency, when the fill closed (part of) a position
    pnl_currency: str | None = Field(default=None, max_length=16)
    r_multiple: float | None = None  # realized PnL over the initial risk, when known


class SwarmSignalRecord(SQLModel, table=True):
    """The signal swarm at a 1-minute candle close where enough bots agreed (the SwarmActor's SwarmSignal; the
    LedgerActor writes those with confluence >= its `swarm_min_confluence`)."""

    __tablename__ = "swarm_signals"
    __table_args__ = _event_indexes("swarm_signals")

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(max_length=64)
    ts_event_ns: int = Field(sa_column=_ns())  # the candle's close
    event_time: datetime | None = Field(default=None, sa_column=_utc(nullable=False))
    instrument_id: str = Field(max_length=64)
    direction: int  # the consensus: +1 long, -1 short, 0 none
    score: float  # consensus score for that direction, 0-100
    confluence: int  # bots voting that direction
    long_votes: int
    short_votes: int
    regime: str = Field(max_length=16)  # warmup | trending | ranging | volatile
    votes: str = Field(default="", max_length=2048)  # the voting bots as name=vote, in bot order (catalog/swarm_data.py)


class RegimeChange(SQLModel, table=True):
    """An instrument's market regime changing (the first label of a run included: previous "")."""

    __tablename__ = "regime_changes"
    __table_args__ = _event_indexes("regime_changes")

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(max_length=64)
    ts_event_ns: int = Field(sa_column=_ns())  # the close of the first candle with the new regime
    event_time: datetime | None = Field(default=None, sa_column=_utc(nullable=False))
    instrument_id: str = Field(max_length=64)
    regime: str = Field(max_length=16)  # warmup | trending | ranging | volatile
    previous: str = Field(default="", max_length=16)  # the regime before ("" at the run's first candle)


TABLES: dict[str, type[SQLModel]] = {
    "runs": Run, "touches": LevelTouch, "signals": Signal, "alerts": AlertSent, "orders": OrderRecord, "fills": FillRecord,
    "swarm": SwarmSignalRecord, "regimes": RegimeChange,
}  # fmt: skip
"""The CLI's table names -> their models."""
