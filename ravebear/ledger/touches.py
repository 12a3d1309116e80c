"""A `touched` LevelEventData (what the LevelActor publishes) as the values of a LevelTouch row, so the node's ledger
actor writes `writer.add(LevelTouch, **touch_row(event, run_id, price, **market_state))` and tracks its outcome with
the same numbers."""

from __future__ import annotations

from typing import Any

from ravebear.catalog.level_data import LevelEventData
from ravebear.time_units import NS_PER_MINUTE


def level_id(event: LevelEventData) -> str:
    """One id per level: instrument, timeframe, kind, side and the close time of its creation candle."""
    return f"{event.instrument_id}:{event.timeframe}:{event.kind}:{event.side}:{event.created_ts}"


def touch_row(event: LevelEventData, run_id: str, touch_price: float, **market_state: Any) -> dict[str, Any]:
    """LevelTouch values of a `touched` event at `touch_price` (the price that touched it, e.g. the bar's close).

    side / direction: support +1, resistance -1; a `range` level is support when the price is in its upper half.
    level_price: the zone's far side (support: its low; resistance: its high; a line level's low = high), so
    `held` / `broken` (docs/LEDGER.md) asks whether price closed through the whole zone. age_min: minutes from the
    level's creation candle close to the touch. `market_state`: more LevelTouch columns (open_interest_usd, obi, ...)."""
    if event.event != "touched":
        raise ValueError(f"not a touch: a {event.event!r} level event")
    side = event.side
    if side == "range":
        side = "support" if touch_price >= (event.low + event.high) / 2 else "resistance"
    direction = 1 if side == "support" else -1
    return {
        "run_id": run_id, "ts_event_ns": event.ts_event, "instrument_id": str(event.instrument_id), "level_id": level_id(event),
        "kind": event.kind, "timeframe": event.timeframe, "score": event.score,
        "age_min": (event.ts_event - event.created_ts) / NS_PER_MINUTE, "touch_price": touch_price,
        "level_price": event.low if direction == 1 else event.high, "side": side, "direction": direction, **market_state,
    }  # fmt: skip
