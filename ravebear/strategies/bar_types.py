"""The bar types a level strategy subscribes to: external 1m bars, higher timeframes aggregated from them."""

from __future__ import annotations

from nautilus_trader.model.data import BarType

from ravebear.strategies.levels.timeframes import timeframe_minutes


def bar_type_for(instrument_id: str, timeframe: str) -> BarType:
    """Return the bar type a strategy subscribes to for a timeframe (higher ones aggregate the 1m bars)."""
    minutes = timeframe_minutes(timeframe)
    if minutes == 1:
        return BarType.from_str(f"{instrument_id}-1-MINUTE-LAST-EXTERNAL")
    step = f"{minutes // 60}-HOUR" if minutes % 60 == 0 else f"{minutes}-MINUTE"
    return BarType.from_str(f"{instrument_id}-{step}-LAST-INTERNAL@1-MINUTE-EXTERNAL")
