"""When the market moves: volatility by UTC hour and weekday.

Volatility of a candle = its range, (high - low) / open in bps. An hour's figure is the mean
range of the 1-minute candles that **open** in that UTC hour (all days pooled); weekdays
likewise (Monday = 0). Hours are ranked by mean range (1 = most volatile). The most volatile
window is the run of `window_hours` consecutive hours (wrapping midnight) with the highest
mean of hourly means. Mean volume per candle is shown alongside (the instrument's unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ravebear.reports.tables import Table, num

if TYPE_CHECKING:
    from ravebear.research.data import Candles

NAME = "sessions"
TITLE = "Sessions: volatility by hour and weekday"
DEFINITION = __doc__.split("\n\n", 1)[1].strip()
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SessionsConfig:
    """Timeframe whose candles are measured and the width of the 'most volatile window'."""

    timeframe: str = "1m"
    window_hours: int = 2  # hours in the most volatile window


def hour_and_weekday(ts_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return UTC hour (0-23) and weekday (Monday = 0) of epoch-ms times."""
    hours = (ts_ms // 3_600_000) % 24
    weekdays = (ts_ms // 86_400_000 + 3) % 7  # 1970-01-01 was a Thursday
    return hours.astype(np.int64), weekdays.astype(np.int64)


def _grouped_mean(keys: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(keys, minlength=size)
    sums = np.bincount(keys, weights=values, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), counts


def run(candles: Candles, config: SessionsConfig) -> dict[str, Any]:
    """Mean range by hour, weekday and hour x weekday; hour ranking; most volatile window."""
    frame = candles.timeframe(config.timeframe)
    ts = frame["ts"].to_numpy(dtype=np.int64)
    o, h, l = (frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low"))
    volume = frame["volume"].to_numpy(dtype=np.float64)
    range_bps = (h - l) / o * 1e4
    hours, weekdays = hour_and_weekday(ts)
    hour_mean, hour_count = _grouped_mean(hours, range_bps, 24)
    hour_median = np.array([float(np.median(range_bps[hours == k])) if hour_count[k] else np.nan for k in range(24)])
    hour_volume, _ = _grouped_mean(hours, volume, 24)
    day_mean, day_count = _grouped_mean(weekdays, range_bps, 7)
    cell_mean, cell_count = _grouped_mean(weekdays * 24 + hours, range_bps, 168)
    present = [k for k in range(24) if hour_count[k]]
    ranking = sorted(present, key=lambda k: -hour_mean[k])
    width = max(1, min(config.window_hours, 24))
    filled = np.nan_to_num(hour_mean, nan=0.0)
    window_means = [float(np.mean([filled[(s + j) % 24] for j in range(width)])) for s in range(24)]
    best = int(np.argmax(window_means))
    overall = float(range_bps.mean()) if len(range_bps) else None
    return {
        "timeframe": config.timeframe,
        "candles": len(frame),
        "mean_range_bps": overall,
        "hours": [
            {
                "hour": k, "candles": int(hour_count[k]), "mean_range_bps": _f(hour_mean[k]), "median_range_bps": _f(hour_median[k]),
                "mean_volume": _f(hour_volume[k]), "rank": ranking.index(k) + 1 if k in ranking else None,
            }
            for k in range(24)
        ],  # fmt: skip
        "ranking": ranking,
        "weekdays": [{"weekday": WEEKDAYS[d], "candles": int(day_count[d]), "mean_range_bps": _f(day_mean[d])} for d in range(7)],
        "heatmap_mean_range_bps": [[_f(cell_mean[d * 24 + k]) for k in range(24)] for d in range(7)],
        "heatmap_candles": [[int(cell_count[d * 24 + k]) for k in range(24)] for d in range(7)],
        "window_hours": width,
        "most_volatile_window": {
            "start_hour": best, "end_hour": (best + width) % 24, "label": f"{best:02d}:00-{(best + width) % 24:02d}:00 UTC",
            "mean_range_bps": window_means[best], "ratio_to_overall": window_means[best] / overall if overall else None,
        },  # fmt: skip
    }


def _f(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def tables(result: dict[str, Any]) -> list[Table]:
    """Hours ranked by volatility, and weekdays."""
    overall = result["mean_range_bps"] or 1.0
    hours = {h["hour"]: h for h in result["hours"]}
    rows = [
        [hours[k]["rank"], f"{k:02d}:00", num(hours[k]["mean_range_bps"], 2), num(hours[k]["median_range_bps"], 2),
         f"{hours[k]['mean_range_bps'] / overall:.2f}x", num(hours[k]["mean_volume"], 2), num(hours[k]["candles"])]
        for k in result["ranking"]
    ]  # fmt: skip
    window = result["most_volatile_window"]
    days = [[d["weekday"], num(d["mean_range_bps"], 2), num(d["candles"])] for d in result["weekdays"]]
    return [
        Table(
            f"UTC hours ranked by mean {result['timeframe']} range",
            ["rank", "hour", "mean bps", "median bps", "vs all", "mean volume", "candles"],
            rows,
            note=f"most volatile {result['window_hours']}-hour window: {window['label']} "
            f"({window['mean_range_bps']:.2f} bps, {window['ratio_to_overall']:.2f}x the overall {overall:.2f} bps)",
        ),
        Table(f"Weekdays: mean {result['timeframe']} range", ["weekday", "mean bps", "candles"], days),
    ]


def figures(result: dict[str, Any]) -> list:
    """Bar chart by hour, heatmap weekday x hour."""
    import plotly.graph_objects as go

    hours = result["hours"]
    top = set(result["ranking"][:3])
    bars = go.Figure(
        go.Bar(
            x=[f"{h['hour']:02d}" for h in hours], y=[h["mean_range_bps"] for h in hours],
            marker_color=["#e45756" if h["hour"] in top else "#4c78a8" for h in hours],
            text=[f"#{h['rank']}" if h["rank"] else "" for h in hours], textposition="outside",
        ),
    )  # fmt: skip
    bars.add_hline(y=result["mean_range_bps"], line_dash="dot", annotation_text="all hours")
    bars.update_layout(
        title=f"Mean {result['timeframe']} candle range by UTC hour (red: top 3)", height=400,
        xaxis={"title": "UTC hour (candle open)", "type": "category"}, yaxis={"title": "mean range, bps"},
    )  # fmt: skip
    heat = go.Figure(
        go.Heatmap(
            z=result["heatmap_mean_range_bps"], x=[f"{k:02d}" for k in range(24)], y=list(WEEKDAYS),
            colorscale="Viridis", colorbar={"title": "bps"},
        ),
    )  # fmt: skip
    heat.update_layout(title="Mean range by weekday and UTC hour", height=360, xaxis={"title": "UTC hour", "type": "category"}, yaxis={"autorange": "reversed"})
    return [bars, heat]
