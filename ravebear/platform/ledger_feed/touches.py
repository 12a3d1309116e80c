"""Level touches waiting for their order-flow context: pure, so the joining rule is tested without a node.

With the OrderFlowActor in the node, a touch's `LevelFlowContext` may arrive after its `LevelEventData` (the
context of an instant is read once a later item arrives). A touch is held until its context arrives or until
data time passes `wait_ns` beyond it, then written with whatever it has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JoinKey = tuple[str, str, str, str, int, float, float, int]


def join_key(data: Any) -> JoinKey:
    """(instrument, timeframe, kind, side, created_ts, low, high, ts_event): the fields LevelEventData and LevelFlowContext share."""
    return (data.instrument_id.value, data.timeframe, data.kind, data.side, int(data.created_ts), float(data.low), float(data.high), int(data.ts_event))


def context_columns(context: Any) -> dict[str, Any]:
    """The ledger's order-flow columns from a LevelFlowContext."""
    whale = None
    if context.whale_side and context.whale_age_s >= 0:
        whale = "whale_buy" if context.whale_side > 0 else "whale_sell"
    return {"obi": context.obi if context.has_book else None, "delta": context.delta, "absorption_tier": int(context.absorption_tier), "whale_tag": whale}


@dataclass
class PendingTouches:
    """Touch rows by join key, released with their context or after `wait_ns` of data time."""

    wait_ns: int
    rows: dict[JoinKey, dict[str, Any]] = field(default_factory=dict)
    contexts: dict[JoinKey, dict[str, Any]] = field(default_factory=dict)  # contexts that came first

    def add(self, key: JoinKey, row: dict[str, Any]) -> dict[str, Any] | None:
        """Hold a touch; return it at once when its context already came."""
        context = self.contexts.pop(key, None)
        if context is not None:
            return {**row, **context}
        self.rows[key] = row
        return None

    def context(self, key: JoinKey, columns: dict[str, Any]) -> dict[str, Any] | None:
        """A context arrived: return its touch, completed, or keep the context for the touch to come."""
        row = self.rows.pop(key, None)
        if row is None:
            self.contexts[key] = columns
            return None
        return {**row, **columns}

    def due(self, now_ns: int) -> list[dict[str, Any]]:
        """Touches whose wait is over (written without context); stale early contexts are dropped."""
        late = [key for key in self.rows if now_ns - key[-1] > self.wait_ns]
        for key in [key for key in self.contexts if now_ns - key[-1] > self.wait_ns]:
            del self.contexts[key]
        return [self.rows.pop(key) for key in late]

    def all(self) -> list[dict[str, Any]]:
        """Every held touch (at stop)."""
        rows, self.rows = list(self.rows.values()), {}
        self.contexts.clear()
        return rows
