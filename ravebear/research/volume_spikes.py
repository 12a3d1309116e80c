"""Volume spikes: candles trading far more than usual, and whether their direction continues.

A **volume spike** is a candle whose volume is at least `multiple` x the mean volume of the
`lookback` candles before it (default 3x the previous 20; the window must be complete and
gap-free). Its direction is the sign of close - open. Continuation over the next N candles
follows the shared definitions below: the close N candles later is further in the spike's
direction than the spike candle's close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ravebear.research import followthrough
from ravebear.research.data import window_complete
from ravebear.reports.tables import Table, num
from ravebear.strategies.levels.timeframes import ONE_MINUTE_MS, timeframe_minutes

if TYPE_CHECKING:
    import pandas as pd

    from ravebear.research.data import Candles

NAME = "volume-spikes"
TITLE = "Volume spikes: does the move continue?"
DEFINITION = __doc__.split("\n\n", 1)[1].strip() + "\n\n" + followthrough.__doc__.split("\n\n", 1)[1].strip()


@dataclass(frozen=True)
class VolumeSpikesConfig:
    """What a spike is and how far ahead to look."""

    timeframes: tuple[str, ...] = ("1m", "5m", "15m")
    multiple: float = 3.0  # volume >= multiple x mean of the previous `lookback` candles
    lookback: int = 20  # candles in the rolling mean (the spike candle itself excluded)
    horizons: tuple[int, ...] = (1, 5, 15, 60)  # candles of the spike's timeframe
    cooldown_candles: int = 0  # ignore new spikes this many candles after a counted one (0 = count all)


def relative_volume(frame: pd.DataFrame, lookback: int, step_ms: int) -> np.ndarray:
    """volume / mean volume of the previous `lookback` candles (NaN without a full gap-free window)."""
    volume = frame["volume"].to_numpy(dtype=np.float64)
    ts = frame["ts"].to_numpy(dtype=np.int64)
    out = np.full(len(volume), np.nan)
    if len(volume) <= lookback:
        return out
    sums = np.concatenate([[0.0], np.cumsum(volume)])
    prior_mean = (sums[lookback:-1] - sums[: len(volume) - lookback]) / lookback  # candles i-lookback .. i-1 for i >= lookback
    full = window_complete(ts, step_ms, lookback)[: len(volume) - lookback]  # ts[i] - ts[i-lookback] == lookback steps
    with np.errstate(invalid="ignore", divide="ignore"):
        out[lookback:] = np.where(full & (prior_mean > 0), volume[lookback:] / prior_mean, np.nan)
    return out


def run(candles: Candles, config: VolumeSpikesConfig) -> dict[str, Any]:
    """Spike counts and continuation per timeframe."""
    out: dict[str, Any] = {"config": {"multiple": config.multiple, "lookback": config.lookback}, "timeframes": {}}
    for timeframe in config.timeframes:
        frame = candles.timeframe(timeframe)
        if len(frame) <= config.lookback:
            continue
        step_ms = timeframe_minutes(timeframe) * ONE_MINUTE_MS
        rel = relative_volume(frame, config.lookback, step_ms)
        c, o = frame["close"].to_numpy(), frame["open"].to_numpy()
        candidates = np.flatnonzero(np.nan_to_num(rel, nan=0.0) >= config.multiple)
        events = followthrough.apply_cooldown(candidates, config.cooldown_candles)
        out["timeframes"][timeframe] = {
            "candles": len(frame),
            "events": len(events),
            "share_of_candles": len(events) / len(frame),
            "up": int((c[events] > o[events]).sum()),
            "down": int((c[events] < o[events]).sum()),
            "median_relative_volume": float(np.median(rel[events])) if len(events) else None,
            "outcomes": followthrough.stats(frame, events, step_ms, config.horizons),
            "path": followthrough.mean_path(frame, events, step_ms, max(config.horizons)),
        }
    return out


def tables(result: dict[str, Any]) -> list[Table]:
    """Spike counts and outcomes."""
    multiple, lookback = result["config"]["multiple"], result["config"]["lookback"]
    counts = [
        [tf, num(e["candles"]), num(e["events"]), f"{100 * e['share_of_candles']:.2f}%", num(e["up"]), num(e["down"]),
         num(e["median_relative_volume"], 2)]
        for tf, e in result["timeframes"].items()
    ]  # fmt: skip
    return [
        Table(f"Volume spikes (>= {multiple:g}x the mean of the previous {lookback} candles)",
              ["tf", "candles", "spikes", "share", "up", "down", "median x"], counts),  # fmt: skip
        followthrough.outcome_table("Volume spikes: what the next N candles do", result["timeframes"]),
    ]


def figures(result: dict[str, Any]) -> list:
    """Mean signed path after a spike."""
    return [followthrough.path_figure("Mean path after a volume spike (+ = continuation, - = reversal)", result["timeframes"])]
