"""Big moves: candles with an unusually large range, and what price does next.

A **big move** is a candle whose range (high - low) / open is at least the threshold:
`min_range_bps` when set, else the `range_quantile` quantile of the timeframe's own ranges
(default 0.99: the top 1 % of candles), and whose body is at least `min_body_share` of its
range (default 0.5: a move with a direction, not a long-wicked doji). Its direction is the
sign of close - open. Continuation / reversal over the next N candles follow the shared
definitions below (signed return of the close N candles later vs the big candle's close).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ravebear.research import followthrough
from ravebear.reports.tables import Table, num
from ravebear.strategies.levels.timeframes import ONE_MINUTE_MS, timeframe_minutes

if TYPE_CHECKING:
    from ravebear.research.data import Candles

NAME = "big-moves"
TITLE = "Big moves: reversal or continuation"
DEFINITION = __doc__.split("\n\n", 1)[1].strip() + "\n\n" + followthrough.__doc__.split("\n\n", 1)[1].strip()


@dataclass(frozen=True)
class BigMovesConfig:
    """What a big move is and how far ahead to look."""

    timeframes: tuple[str, ...] = ("1m", "5m", "15m")
    range_quantile: float = 0.99  # threshold = this quantile of the timeframe's ranges (used when min_range_bps is None)
    min_range_bps: float | None = None  # fixed threshold in bps of open; overrides range_quantile
    min_body_share: float = 0.5  # |close - open| / (high - low) at least this (0 = any candle)
    horizons: tuple[int, ...] = (1, 5, 15, 60)  # candles of the event's timeframe
    cooldown_candles: int = 0  # ignore new events this many candles after a counted one (0 = count all)


def find_events(frame, config: BigMovesConfig) -> tuple[np.ndarray, float]:  # noqa: ANN001 - DataFrame
    """Return (indices of big-move candles, threshold in bps)."""
    o, h, l, c = (frame[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close"))
    range_bps = (h - l) / o * 1e4
    threshold = config.min_range_bps if config.min_range_bps is not None else float(np.quantile(range_bps, config.range_quantile))
    body_share = np.abs(c - o) / np.where(h > l, h - l, np.inf)
    candidates = np.flatnonzero((range_bps >= threshold) & (body_share >= config.min_body_share) & (c != o))
    return followthrough.apply_cooldown(candidates, config.cooldown_candles), float(threshold)


def run(candles: Candles, config: BigMovesConfig) -> dict[str, Any]:
    """Big-move counts and follow-through per timeframe."""
    out: dict[str, Any] = {"config": {"range_quantile": config.range_quantile, "min_range_bps": config.min_range_bps,
                                      "min_body_share": config.min_body_share}, "timeframes": {}}  # fmt: skip
    for timeframe in config.timeframes:
        frame = candles.timeframe(timeframe)
        if len(frame) < 2:
            continue
        step_ms = timeframe_minutes(timeframe) * ONE_MINUTE_MS
        events, threshold = find_events(frame, config)
        c, o = frame["close"].to_numpy(), frame["open"].to_numpy()
        out["timeframes"][timeframe] = {
            "candles": len(frame),
            "threshold_bps": threshold,
            "events": len(events),
            "up": int((c[events] > o[events]).sum()),
            "down": int((c[events] < o[events]).sum()),
            "outcomes": followthrough.stats(frame, events, step_ms, config.horizons),
            "path": followthrough.mean_path(frame, events, step_ms, max(config.horizons)),
        }
    return out


def tables(result: dict[str, Any]) -> list[Table]:
    """Event counts and outcomes."""
    counts = [
        [tf, num(e["candles"]), num(e["threshold_bps"], 1), num(e["events"]), num(e["up"]), num(e["down"])]
        for tf, e in result["timeframes"].items()
    ]
    return [
        Table("Big-move candles", ["tf", "candles", "threshold bps", "events", "up", "down"], counts),
        followthrough.outcome_table("Big moves: what the next N candles do", result["timeframes"]),
    ]


def figures(result: dict[str, Any]) -> list:
    """Mean signed path after a big move."""
    return [followthrough.path_figure("Mean path after a big-move candle (+ = continuation, - = reversal)", result["timeframes"])]
