"""The bar types level strategies and the LevelActor subscribe to: external 1m bars, higher timeframes aggregated from them
(or, `base="trades"`, 1m bars nautilus aggregates from the instrument's trade ticks: order-flow captures have no candles)."""

from __future__ import annotations

from nautilus_trader.model.data import BarType

from ravebear.strategies.levels.timeframes import timeframe_minutes


BASE_BARS = ("external", "trades")  # where the 1m bars come from: the data's own bars | aggregated from trade ticks


def bar_type_text(instrument_id: str, timeframe: str, base: str = "external") -> str:
    """Return the bar type string for a timeframe (higher ones aggregate the 1m external bars inside the node)."""
    minutes = timeframe_minutes(timeframe)
    if minutes == 1 and base == "trades":
        return f"{instrument_id}-1-MINUTE-LAST-INTERNAL"
    if minutes == 1:
        return f"{instrument_id}-1-MINUTE-LAST-EXTERNAL"
    step = f"{minutes // 60}-HOUR" if minutes % 60 == 0 else f"{minutes}-MINUTE"
    return f"{instrument_id}-{step}-LAST-INTERNAL@1-MINUTE-EXTERNAL"


def bar_type_for(instrument_id: str, timeframe: str, base: str = "external") -> BarType:
    """Return the BarType a strategy or actor subscribes to for a timeframe."""
    return BarType.from_str(bar_type_text(instrument_id, timeframe, base))
