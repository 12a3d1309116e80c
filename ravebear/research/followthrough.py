"""What follows an event candle: continuation vs reversal over the next N candles.

Shared by big moves and volume spikes. For an event candle t with direction
d = sign(close_t - open_t) (events with close == open have no direction and are left out)
and a horizon of N candles of the same timeframe:

* signed return r_N = d x (close_{t+N} - close_t) / close_t, in bps;
* **continuation**: r_N > 0 (N candles later price is further in the event's direction);
* **reversal**: r_N < 0 (price is back against it); r_N == 0 is *flat* (neither);
* **half retrace**: within candles t+1..t+N price traded back to the middle of the event
  candle's body (low <= (open+close)/2 after an up candle, high >= it after a down candle).

Only events whose N following candles exist without a gap are counted at that N. The
**baseline** applies the same rules to every candle with a direction, so a rate can be read
against what any candle does. **±95%** is the normal-approximation half-width of the
continuation rate, 1.96 x sqrt(p(1-p)/n), in percentage points; events close together
overlap, so it is optimistic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ravebear.research.data import window_complete
from ravebear.reports.tables import Table, num, pct

HORIZON_NOTE = "continuation: close N candles later beyond the event close in its direction; reversal: on the other side."


def _window_extreme(values: np.ndarray, n: int, fn) -> np.ndarray:  # noqa: ANN001 - np.min / np.max
    """extreme of values[t+1 .. t+n] for each t (NaN where the window runs off the end)."""
    out = np.full(len(values), np.nan)
    if n < len(values):
        windows = np.lib.stride_tricks.sliding_window_view(values[1:], n)
        out[: len(windows)] = fn(windows, axis=1)
    return out


def stats(frame: pd.DataFrame, indices: np.ndarray, step_ms: int, horizons: tuple[int, ...]) -> dict[str, Any]:
    """Outcome rates of the event candles at `indices` for each horizon."""
    ts = frame["ts"].to_numpy(dtype=np.int64)
    o, h, l, c = (frame[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close"))
    direction = np.sign(c - o)
    indices = np.asarray(indices, dtype=np.int64)
    out: dict[str, Any] = {"events": len(indices), "no_direction": int((direction[indices] == 0).sum()), "horizons": {}}
    mid = (o + c) * 0.5
    for n in horizons:
        complete = window_complete(ts, step_ms, n)
        forward = np.full(len(c), np.nan)
        if n < len(c):
            forward[: len(c) - n] = c[n:]
        signed = direction * (forward - c) / c * 1e4
        low_ahead = _window_extreme(l, n, np.min)
        high_ahead = _window_extreme(h, n, np.max)
        retrace = np.where(direction > 0, low_ahead <= mid, high_ahead >= mid)
        usable = complete & (direction != 0)
        out["horizons"][str(n)] = {"events": _rates(signed, retrace, indices[usable[indices]]), "baseline": _rates(signed, retrace, np.flatnonzero(usable))}
    return out


def _rates(signed: np.ndarray, retrace: np.ndarray, idx: np.ndarray) -> dict[str, Any]:
    r = signed[idx]
    n = len(r)
    if n == 0:
        return {"n": 0, "continuation": None, "continuation_ci95": None, "reversal": None, "flat": None, "half_retrace": None, "mean_bps": None, "median_bps": None}
    return {
        "n": n,
        "continuation": float((r > 0).mean()),
        "continuation_ci95": ci95(float((r > 0).mean()), n),
        "reversal": float((r < 0).mean()),
        "flat": float((r == 0).mean()),
        "half_retrace": float(retrace[idx].mean()),
        "mean_bps": float(r.mean()),
        "median_bps": float(np.median(r)),
    }


def ci95(share: float, n: int) -> float | None:
    """Normal-approximation 95 % half-width of a share over n trials (as a share)."""
    return 1.96 * (share * (1.0 - share) / n) ** 0.5 if n else None


def mean_path(frame: pd.DataFrame, indices: np.ndarray, step_ms: int, horizon: int) -> dict[str, Any]:
    """Mean signed return (bps) k = 0..horizon candles after the events with a complete window."""
    ts = frame["ts"].to_numpy(dtype=np.int64)
    o, c = frame["open"].to_numpy(dtype=np.float64), frame["close"].to_numpy(dtype=np.float64)
    direction = np.sign(c - o)
    idx = np.asarray(indices, dtype=np.int64)
    idx = idx[window_complete(ts, step_ms, horizon)[idx] & (direction[idx] != 0)]
    if len(idx) == 0:
        return {"candles": list(range(horizon + 1)), "mean_bps": [None] * (horizon + 1), "n": 0}
    offsets = idx[:, None] + np.arange(horizon + 1)[None, :]
    paths = direction[idx, None] * (c[offsets] - c[idx, None]) / c[idx, None] * 1e4
    return {"candles": list(range(horizon + 1)), "mean_bps": [float(v) for v in paths.mean(axis=0)], "n": len(idx)}


def apply_cooldown(candidates: np.ndarray, cooldown: int) -> np.ndarray:
    """Drop events within `cooldown` candles after a kept event."""
    if cooldown <= 0 or len(candidates) == 0:
        return candidates
    kept, last = [], -(10**18)
    for i in candidates.tolist():
        if i - last > cooldown:
            kept.append(i)
            last = i
    return np.asarray(kept, dtype=np.int64)


def outcome_table(title: str, per_timeframe: dict[str, Any], note: str = HORIZON_NOTE) -> Table:
    """Rows: timeframe x horizon, events vs baseline."""
    rows = []
    for timeframe, entry in per_timeframe.items():
        for n, item in entry["outcomes"]["horizons"].items():
            e, b = item["events"], item["baseline"]
            rows.append(
                [timeframe, n, num(e["n"]), pct(e["continuation"]), num(None if e["continuation_ci95"] is None else 100 * e["continuation_ci95"], 1),
                 pct(e["reversal"]), pct(e["half_retrace"]),
                 num(e["mean_bps"], 2), pct(b["continuation"]), pct(b["reversal"])],
            )  # fmt: skip
    return Table(
        title,
        ["tf", "N candles", "events", "continue", "±95%", "reverse", "half retrace", "mean bps", "base cont.", "base rev."],
        rows,
        note=note,
    )


def path_figure(title: str, per_timeframe: dict[str, Any]):  # noqa: ANN201 - plotly Figure
    """Mean signed path after events, one line per timeframe."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for timeframe, entry in per_timeframe.items():
        path = entry["path"]
        fig.add_trace(go.Scatter(x=path["candles"], y=path["mean_bps"], mode="lines", name=f"{timeframe} (n={path['n']})"))
    fig.add_hline(y=0, line_color="#999")
    fig.update_layout(
        title=title, height=380,
        xaxis={"title": "candles after the event candle (its own timeframe)"},
        yaxis={"title": "mean signed return, bps (+ = continuation)"},
    )  # fmt: skip
    return fig
