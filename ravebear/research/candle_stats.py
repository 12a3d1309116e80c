"""Candle anatomy: how big candles, bodies and wicks are, per timeframe.

Definitions (every size in basis points of the candle's **open**, 1 bps = 0.01 %):
range = high - low; body = |close - open|; upper wick = high - max(open, close);
lower wick = min(open, close) - low. Percentiles use numpy's default (linear interpolation).
Higher-timeframe candles are built from the 1-minute ones; a candle with a gap inside it
(some of its minutes missing) is left out here, since its range would be too small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ravebear.reports.tables import Table, num

if TYPE_CHECKING:
    from ravebear.research.data import Candles

NAME = "candle-stats"
TITLE = "Candle anatomy"
DEFINITION = __doc__.split("\n\n", 1)[1].strip()
PARTS = ("range", "body", "upper_wick", "lower_wick")
COLORS = {"1m": "#4c78a8", "5m": "#f58518", "15m": "#54a24b", "30m": "#b279a2", "1h": "#e45756", "4h": "#72b7b2"}


@dataclass(frozen=True)
class CandleStatsConfig:
    """Which timeframes and percentiles to report."""

    timeframes: tuple[str, ...] = ("1m", "5m", "15m", "1h")
    percentiles: tuple[float, ...] = (5.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0)  # in percent


def anatomy_bps(frame) -> dict[str, np.ndarray]:  # noqa: ANN001 - a candle DataFrame
    """Return range, body, upper and lower wick of every candle in bps of its open."""
    o, h, l, c = (frame[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close"))
    scale = 1e4 / o
    return {
        "range": (h - l) * scale,
        "body": np.abs(c - o) * scale,
        "upper_wick": (h - np.maximum(o, c)) * scale,
        "lower_wick": (np.minimum(o, c) - l) * scale,
    }


def run(candles: Candles, config: CandleStatsConfig) -> dict[str, Any]:
    """Percentiles and means of candle parts per timeframe."""
    out: dict[str, Any] = {"percentiles": list(config.percentiles), "timeframes": {}}
    for timeframe in config.timeframes:
        frame = candles.timeframe(timeframe)
        complete = candles.complete(timeframe)
        frame = frame[complete]
        if frame.empty:
            continue
        parts = anatomy_bps(frame)
        entry: dict[str, Any] = {"candles": len(frame), "incomplete_left_out": int((~complete).sum())}
        for part in PARTS:
            values = parts[part]
            entry[part] = {
                "mean_bps": float(values.mean()),
                "percentiles_bps": [float(v) for v in np.percentile(values, config.percentiles)],
                "histogram": _histogram(values),
            }
        wick = np.maximum(parts["upper_wick"], parts["lower_wick"])
        entry["share_wick_longer_than_body"] = float((wick > parts["body"]).mean())
        out["timeframes"][timeframe] = entry
    return out


def _histogram(values: np.ndarray, bins: int = 60) -> dict[str, list[float]]:
    """Histogram up to the 99.5th percentile (the rest in the last bin), for the report."""
    top = float(np.percentile(values, 99.5)) or 1.0
    counts, edges = np.histogram(np.minimum(values, top), bins=bins, range=(0.0, top))
    return {"edges_bps": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def tables(result: dict[str, Any]) -> list[Table]:
    """One table per part: percentiles by timeframe."""
    labels = [f"p{p:g}" for p in result["percentiles"]]
    out = []
    for part in PARTS:
        rows = []
        for timeframe, entry in result["timeframes"].items():
            stats = entry[part]
            rows.append([timeframe, num(entry["candles"]), num(stats["mean_bps"]), *(num(v) for v in stats["percentiles_bps"])])
        out.append(Table(f"{part.replace('_', ' ')} (bps of open)", ["tf", "candles", "mean", *labels], rows))
    left_out = {tf: entry.get("incomplete_left_out", 0) for tf, entry in result["timeframes"].items()}
    if any(left_out.values()) and out:
        counts = ", ".join(f"{tf} {n:,}" for tf, n in left_out.items() if n)
        out[0].note = (f"candles: complete ones only; candles with a gap inside were left out ({counts}), "
                       "so the other sections, which count every candle, show more")  # fmt: skip
    return out


def figures(result: dict[str, Any]) -> list:
    """Percentile curves of each part, one line per timeframe, and 1m histograms."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=4, subplot_titles=[p.replace("_", " ") for p in PARTS], shared_yaxes=False)
    for col, part in enumerate(PARTS, start=1):
        for timeframe, entry in result["timeframes"].items():
            fig.add_trace(
                go.Scatter(
                    x=[f"p{p:g}" for p in result["percentiles"]],
                    y=[v if v > 0 else None for v in entry[part]["percentiles_bps"]],  # log axis: zeros left out
                    mode="lines+markers", name=timeframe, legendgroup=timeframe, showlegend=col == 1,
                    line={"color": COLORS.get(timeframe)},
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_yaxes(title_text="bps of open", type="log", row=1, col=1)
    fig.update_yaxes(type="log")
    fig.update_layout(title="Candle parts by percentile (log scale; zero values not drawn)", height=380, margin={"t": 70, "b": 40})
    figs = [fig]
    first = next(iter(result["timeframes"]), None)
    if first is not None:
        hist = make_subplots(rows=1, cols=4, subplot_titles=[p.replace("_", " ") for p in PARTS])
        for col, part in enumerate(PARTS, start=1):
            h = result["timeframes"][first][part]["histogram"]
            edges = h["edges_bps"]
            centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
            hist.add_trace(go.Bar(x=centers, y=h["counts"], showlegend=False, marker_color="#4c78a8"), row=1, col=col)
            hist.update_xaxes(title_text="bps", row=1, col=col)
        hist.update_layout(title=f"{first} candle parts: distribution (last bin holds the top 0.5 %)", height=340, bargap=0, margin={"t": 70, "b": 40})
        figs.append(hist)
    return figs
