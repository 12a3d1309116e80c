"""A backtest's loaded 1-minute bars as columns, for an actor that can take them at once instead of bar by bar.

A backtest node has every bar before its loop starts (`RaveBacktestNode` keeps them in its `LevelReplaySource`) and
answers a `LoadedBarsRequest` at `LOADED_BARS_ENDPOINT` with the bar type's columns in the order the engine feeds
them (by `ts_init`). The LedgerActor takes them to judge its touches' outcomes in runs of bars (`OutcomeTracker.on_bars`)
rather than from one nautilus bar at a time. Live and paper nodes register no such endpoint, so `loaded_bars` is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LOADED_BARS_ENDPOINT = "RaveBear.bars.loaded"


@dataclass(frozen=True)
class LoadedBars:
    """One bar type's loaded bars, in the engine's feed order: times in UNIX ns, prices as floats."""

    ts_event: np.ndarray  # int64
    ts_init: np.ndarray  # int64
    high: np.ndarray  # float64
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_event)


@dataclass
class LoadedBarsRequest:
    """An actor's request for a bar type's loaded bars; the node fills `bars` when it has them."""

    bar_type: str
    bars: LoadedBars | None = None


def loaded_bars(msgbus: Any, bar_type: Any) -> LoadedBars | None:
    """The bars of `bar_type` (a BarType or its string) the node loaded before its run (a backtest), or None (a live or
    paper node, none loaded)."""
    if LOADED_BARS_ENDPOINT not in msgbus.endpoints():
        return None
    request = LoadedBarsRequest(str(bar_type))
    msgbus.send(LOADED_BARS_ENDPOINT, request)
    return request.bars
