"""Level touches waiting for their order-flow context, and range touches waiting for their minute's close: pure, so
the rules are tested without a node.

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


class MinuteCloses:
    """The close of the minute that touched a range level, for a ledger fed bar by bar.

    Nautilus hands a bar to its subscribers in subscription order: the LevelActor publishes a touch while it handles
    the minute's bar, before the ledger's own handler has seen that bar. So a range touch waits for the first bar
    closing at or after it and is priced at that bar's close when it closes at the touch, else (a candle that closed
    in a gap) at the close before it: the latest close at or before the touch, as a backtest reads it from its bars."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, float, float | None]] = {}  # instrument -> (close time, close, the close before)
        self._waiting: dict[str, list[tuple[int, Any]]] = {}  # instrument -> (touch time, what the caller keeps with it)

    def at(self, instrument: str, ts: int) -> tuple[bool, float | None]:
        """(known, close) for a touch at `ts`: not known yet while no bar closing at or after it has come."""
        seen = self._last.get(instrument)
        if seen is None or seen[0] < ts:
            return False, None
        return True, seen[1] if seen[0] == ts else seen[2]

    def wait(self, instrument: str, ts: int, item: Any) -> None:
        """Keep `item` until `on_bar` can price the touch at `ts`."""
        self._waiting.setdefault(instrument, []).append((ts, item))

    def on_bar(self, instrument: str, ts: int, close: float) -> list[tuple[Any, float | None]]:
        """A bar closed at `ts`: the waiting touches it prices (item, close), then it is the latest close."""
        seen = self._last.get(instrument)
        released = []
        waiting = self._waiting.get(instrument)
        if waiting:
            still = []
            for touch_ts, item in waiting:
                if touch_ts > ts:
                    still.append((touch_ts, item))
                else:
                    released.append((item, close if touch_ts == ts else seen[1] if seen else None))
            self._waiting[instrument] = still
        self._last[instrument] = (ts, close, seen[1] if seen else None)
        return released

    def leftover(self) -> list[tuple[Any, float | None]]:
        """The touches whose minute never came (the run ended), each at the latest close seen."""
        out = []
        for instrument, waiting in self._waiting.items():
            seen = self._last.get(instrument)
            out += [(item, seen[1] if seen else None) for _, item in waiting]
        self._waiting.clear()
        return out
