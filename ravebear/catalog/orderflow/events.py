"""Order-flow custom data published by the OrderFlowActor: a snapshot per interval, events (absorption, whale trade)
and the order-flow context of level events (`LevelFlowContext`).

Both are nautilus `Data` with `@customdataclass` (like `LevelEventData`), so the same types go on the message bus,
into the catalog and back into a backtest. (No `from __future__ import annotations`: @customdataclass reads the
real annotations.)
"""

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId


@customdataclass
class OrderFlowSnapshot(Data):
    """The order-flow state of one instrument at the end of an interval (ts_event = the interval's end, ns)."""

    instrument_id: InstrumentId = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
    interval_start: int = 0  # ns; the interval is [interval_start, ts_event)
    trades: int = 0  # trades in the interval
    buy_size: float = 0.0  # aggressive buy size in the interval, base units (or contracts)
    sell_size: float = 0.0  # aggressive sell size in the interval
    last_price: float = 0.0  # last trade price so far (0 before any trade)
    cvd_total: float = 0.0  # cumulative volume delta since the start
    cvd_session: float = 0.0  # since the current session began
    cvd_window: float = 0.0  # over the rolling window (orderflow cvd.window_s)
    session: str = ""  # the session bucket of the latest trade (cvd.sessions: asia, london, new_york by default)
    has_book: bool = False  # both book sides held a level (the book fields below are 0 otherwise)
    obi: float = 0.0  # top-N imbalance in [-1, 1], positive when bids outweigh asks
    weighted_obi: float = 0.0  # size- and distance-weighted
    spread_bps: float = 0.0
    bid_depth: float = 0.0  # size within book.depth_bps of mid
    ask_depth: float = 0.0
    absorption_tier: int = 0  # tier of the last bucket closed in the interval (0 none)
    whales: int = 0  # whale trades in the interval


@customdataclass
class OrderFlowEvent(Data):
    """An order-flow event of one instrument: `absorption` (a closed bucket of tier >= 1) or `whale` (one whale trade)."""

    instrument_id: InstrumentId = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
    event: str = ""  # absorption | whale
    side: int = 0  # aggressors' side: +1 buyers, -1 sellers
    price: float = 0.0  # whale: the trade's price; absorption: the bucket's last price
    size: float = 0.0  # whale: the trade's size; absorption: |net delta| of the bucket
    notional: float = 0.0  # whale: quote currency; absorption: 0
    tier: int = 0  # absorption tier 1-3 (0 for a whale)
    multiple: float = 0.0  # absorption: |delta| / mean |delta| of the lookback
    move_bps: float = 0.0  # absorption: price move in the aggressors' direction
    run_trades: int = 0  # whale: whale trades in its same-side run, this one included
    cluster: bool = False  # whale: the run is a cluster


@customdataclass
class LevelFlowContext(Data):
    """The order flow around a level at its CREATED or TOUCHED event (`LevelContextTracker`, docs/ORDERFLOW.md).

    Joins its `LevelEventData` on (instrument_id, event, timeframe, kind, side, created_ts, low, high, ts_event).
    """

    instrument_id: InstrumentId = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
    event: str = ""  # created | touched
    kind: str = ""  # the level's: wick | poor | box | origin | confluence
    side: str = ""  # support | resistance | range
    timeframe: str = ""
    low: float = 0.0
    high: float = 0.0
    created_ts: int = 0  # the level's creation candle close (ns)
    last_price: float = 0.0  # last trade before the event (0 before any)
    has_book: bool = False  # both book sides held a level (the book fields are 0 otherwise)
    obi: float = 0.0  # top-N imbalance in [-1, 1], positive when bids outweigh asks
    weighted_obi: float = 0.0
    spread_bps: float = 0.0
    delta: float = 0.0  # aggressive buy - sell size over level_context.delta_window_s before the event
    price_move_bps: float = 0.0  # over the same window
    absorption_tier: int = 0  # 0-3: highest tier of the buckets absorbing aggressors into the level nearby
    whale_age_s: float = -1.0  # seconds since the latest whale trade (-1: none yet)
    whale_side: int = 0  # its aggressor (+1 buyer, -1 seller; 0 none)
    whale_notional: float = 0.0  # quote currency
    zone_state: str = ""  # untested | testing | defended | held | broken ("" for a range level)
    zone_defended: bool = False
    zone_refill: float = 0.0  # defending depth after / before the touch
    zone_absorbed_quote: float = 0.0  # aggressive quote volume into the zone during the touch
