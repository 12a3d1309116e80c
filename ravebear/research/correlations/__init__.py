"""`ravebear analyze correlations`: which market-state features go with level-touch outcomes, from the ledger.

`run` takes the touches as a frame (one row per touch: features, outcomes, touch time and, when known,
regime), adds the session of each touch, computes every cell (`compute.py`) and returns the results dict
that `research/report.py` renders (TITLE, DEFINITION, tables, figures from `view.py`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ravebear.research.correlations import compute
from ravebear.research.correlations.compute import CorrelationConfig, correlations
from ravebear.research.correlations.view import describe, figures, tables

NAME = "correlations"
TITLE = "Market state at level touches vs their outcomes"
DEFINITION = (compute.__doc__ or "").split("\n\n", 1)[1].strip()
__all__ = ["NAME", "TITLE", "DEFINITION", "CorrelationConfig", "describe", "figures", "run", "tables", "with_sessions"]


def with_sessions(touches: pd.DataFrame, time_column: str = "ts_ns") -> pd.DataFrame:
    """The touches with a `session` column (asia, london, new_york, off) from their time, as the order-flow detectors define it."""
    from ravebear.strategies.microstructure.sessions import SessionClock

    clock = SessionClock()
    out = touches.copy()
    out["session"] = [clock.at(int(ts)).name for ts in out[time_column]] if len(out) else []
    return out


def _utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def run(touches: pd.DataFrame, config: CorrelationConfig | None = None, source: str = "", time_column: str = "ts_ns") -> dict[str, Any]:
    """Analyse the touches (sorted by time); the results dict of the research report."""
    started = time.perf_counter()
    touches = touches.sort_values(time_column).reset_index(drop=True)
    if "session" not in touches.columns:
        touches = with_sessions(touches, time_column)
    result = correlations(touches, config)
    first, last = (int(touches[time_column].iloc[i]) for i in (0, -1)) if len(touches) else (0, 0)
    meta = {
        "bar_type": "level touches", "first_open_utc": _utc(first), "last_open_utc": _utc(last),
        "rows": [["touches", f"{len(touches):,}"], ["first / last touch (UTC)", f"{_utc(first)} / {_utc(last)}"], ["ledger", source or "-"]],
    }
    return {"meta": meta, "analyses": {NAME: result}, "timings_s": {"analysis": round(time.perf_counter() - started, 3)}}
