"""`LevelEventData`: a level event as nautilus custom data, for the message bus and the catalog.

(No `from __future__ import annotations` here: nautilus's @customdataclass reads the real
annotations.)
"""

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId


@customdataclass
class LevelEventData(Data):
    """One level event of one instrument, as published by the LevelActor."""

    instrument_id: InstrumentId = InstrumentId.from_str("BTC-USDT-SWAP.OKX")
    event: str = ""  # created | touched | invalidated | expired | breakout
    kind: str = ""  # wick | poor | box | origin | confluence
    side: str = ""  # support | resistance | range
    timeframe: str = ""  # 1m, 5m, 15m, 1h, ...
    low: float = 0.0  # zone bounds (equal for a line level)
    high: float = 0.0
    quality: float = 0.0  # [0, 1], fixed at creation
    score: float = 0.0  # quality x freshness at the event
    depth_bps: float = 0.0  # how far past the level the candle reached
    age_bars: int = 0  # level-timeframe candles since creation
    direction: int = 0  # +1/-1 for breakouts
    created_ts: int = 0  # creation candle close (ns)
    created_index: int = 0  # creation candle counter on its timeframe
