"""How long an untouched wick stays untouched: wick creation -> first touch, per timeframe.

Wicks are the levels of the strategy's own `UntouchedWickDetector` (its default thresholds:
wick >= 10 bps and >= 1.5x the body; max age 240 candles of the timeframe; only the level cap
is lifted so no level is pushed out by newer ones). A wick is *created* at the close of its
candle and *touched* by the first later candle of its timeframe that reaches its price
(TOUCHED or INVALIDATED: both are the first return). Touch time is measured in minutes at
1-minute resolution: from the wick candle's close to the close of the first 1-minute candle,
inside that touching candle, that reached the level (on 1m it equals age_bars; on 5m and up it
is at most age_bars x timeframe minutes, which is also reported).
Share touched within N minutes = wicks touched within N / wicks whose fate at N is known:
every touched wick, plus every untouched wick (expired, or still alive when the data ended
or a gap began) that was watched for at least N minutes. Untouched wicks are in the
denominator; a wick cut off by the data end before N minutes is left out at that N.
Median (all wicks) = the smallest N whose share is >= 50 %; median (touched) = the median
touch time of touched wicks only. The detector restarts after each gap in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ravebear.reports.tables import Table, num, pct
from ravebear.strategies.levels.model import LevelSide
from ravebear.strategies.levels.timeframes import timeframe_minutes
from ravebear.strategies.levels.wicks import WickConfig

if TYPE_CHECKING:
    from ravebear.research.data import Candles, WickRecord

NAME = "touch-times"
TITLE = "Wick touch times"
DEFINITION = __doc__.split("\n\n", 1)[1].strip()
RESEARCH_WICKS = WickConfig(max_levels=1_000_000)  # detector defaults, no level cap


@dataclass(frozen=True)
class TouchTimesConfig:
    """Timeframes, the 'within N minutes' marks, and the wick detector's thresholds."""

    timeframes: tuple[str, ...] = ("1m", "5m", "15m", "1h")
    within_minutes: tuple[int, ...] = (5, 15, 30, 60)  # minutes
    wick: WickConfig = field(default_factory=lambda: RESEARCH_WICKS)


def share_curve(records: list[WickRecord], minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (touched within t, known at t, share) for each t in `minutes` (censoring-aware)."""
    touch = np.sort([r.touch_min for r in records if r.touch_min is not None])
    untouched_obs = np.sort([r.observed_min for r in records if r.touch_min is None])
    touched_within = np.searchsorted(touch, minutes, "right")
    known = len(touch) + (len(untouched_obs) - np.searchsorted(untouched_obs, minutes, "left"))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(known > 0, touched_within / np.maximum(known, 1), np.nan)
    return touched_within, known, share


def summarize(records: list[WickRecord], timeframe: str, within: tuple[int, ...]) -> dict[str, Any]:
    """Counts, medians and within-N shares of one timeframe's wick records."""
    tf_min = timeframe_minutes(timeframe)
    touched = [r for r in records if r.touch_min is not None]
    outcomes = {kind: sum(1 for r in records if r.outcome == kind) for kind in ("touched", "invalidated", "expired", "censored")}
    horizon = max([r.observed_min for r in records] + [1])
    grid = np.arange(1, horizon + 1)
    touched_within, known, share = share_curve(records, grid)
    reached = np.flatnonzero(share >= 0.5)
    entry: dict[str, Any] = {
        "timeframe_minutes": tf_min,
        "wicks": len(records),
        "supports": sum(1 for r in records if r.level.side is LevelSide.SUPPORT),
        "resistances": sum(1 for r in records if r.level.side is LevelSide.RESISTANCE),
        "outcomes": outcomes,
        "touched_share": len(touched) / len(records) if records else None,
        "median_touch_min_touched": float(np.median([r.touch_min for r in touched])) if touched else None,
        "median_touch_min_all": int(grid[reached[0]]) if len(reached) else None,
        "median_touch_bars_touched": float(np.median([r.touch_bars for r in touched])) if touched else None,
        "median_touch_min_bar_close": float(np.median([r.touch_bars * tf_min for r in touched])) if touched else None,
        "mean_touch_min_touched": float(np.mean([r.touch_min for r in touched])) if touched else None,
        "within": {},
        "by_side": {},
    }
    marks = np.array(within, dtype=np.int64)
    mark_touched, mark_known, mark_share = share_curve(records, marks)
    for i, n in enumerate(within):
        share_i, known_i = _f(mark_share[i]), int(mark_known[i])
        ci = 1.96 * (share_i * (1 - share_i) / known_i) ** 0.5 if share_i is not None and known_i else None
        entry["within"][str(n)] = {"share": share_i, "touched": int(mark_touched[i]), "known": known_i, "ci95": ci}
    for side in (LevelSide.SUPPORT, LevelSide.RESISTANCE):
        subset = [r for r in records if r.level.side is side]
        sub_touched = [r.touch_min for r in subset if r.touch_min is not None]
        _, _, side_share = share_curve(subset, marks) if subset else (None, None, [None] * len(marks))
        entry["by_side"][side.value] = {
            "wicks": len(subset),
            "median_touch_min_touched": float(np.median(sub_touched)) if sub_touched else None,
            "within": {str(n): _f(s) for n, s in zip(within, side_share, strict=True)},
        }
    # survival-style curve for the report, on a log-spaced grid of minutes
    points = np.unique(np.round(np.geomspace(1, horizon, num=min(200, horizon))).astype(np.int64))
    entry["curve"] = {"minutes": points.tolist(), "share": [_f(share[p - 1]) for p in points]}
    hist_max = 60
    counts = np.bincount(np.minimum([r.touch_min for r in touched], hist_max + 1), minlength=hist_max + 2) if touched else np.zeros(hist_max + 2, int)
    entry["histogram"] = {"minutes": list(range(hist_max + 2)), "counts": [int(c) for c in counts], "last_bin": f">{hist_max}"}
    return entry


def _f(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


def run(candles: Candles, config: TouchTimesConfig) -> dict[str, Any]:
    """Touch-time statistics per timeframe."""
    out: dict[str, Any] = {"within_minutes": list(config.within_minutes), "timeframes": {}}
    for timeframe in config.timeframes:
        if candles.timeframe(timeframe).empty:
            continue
        records = candles.wick_records(timeframe, config.wick)
        out["timeframes"][timeframe] = summarize(records, timeframe, config.within_minutes)
    return out


def tables(result: dict[str, Any]) -> list[Table]:
    """Headline table and outcome counts."""
    marks = [str(n) for n in result["within_minutes"]]
    rows, outcome_rows = [], []
    for timeframe, e in result["timeframes"].items():
        rows.append(
            [
                timeframe, num(e["wicks"]), pct(e["touched_share"]),
                num(e["median_touch_min_touched"], 0), num(e["median_touch_min_all"]), num(e["median_touch_min_bar_close"], 0),
                *(pct(e["within"][m]["share"]) for m in marks),
            ],
        )  # fmt: skip
        o = e["outcomes"]
        outcome_rows.append([timeframe, num(o["touched"]), num(o["invalidated"]), num(o["expired"]), num(o["censored"])])
    return [
        Table(
            "Wick creation -> first touch (minutes)",
            ["tf", "wicks", "touched", "median (touched)", "median (all)", "median (bar close)", *(f"<= {m} min" for m in marks)],
            rows,
            note="median (bar close) = age_bars x timeframe minutes; the others are at 1-minute resolution.",
        ),
        Table("Wick outcomes", ["tf", "touched", "invalidated", "expired", "censored"], outcome_rows),
    ]


def figures(result: dict[str, Any]) -> list:
    """Share touched within t minutes (all timeframes) and the touch-time histogram per timeframe."""
    import plotly.graph_objects as go

    curve = go.Figure()
    for timeframe, e in result["timeframes"].items():
        curve.add_trace(go.Scatter(x=e["curve"]["minutes"], y=e["curve"]["share"], mode="lines", name=timeframe))
    for mark in result["within_minutes"]:
        curve.add_vline(x=mark, line_dash="dot", line_color="#999")
    curve.update_layout(
        title="Share of wicks touched within t minutes of creation", height=420,
        xaxis={"title": "minutes since the wick candle closed", "type": "log"}, yaxis={"title": "share", "tickformat": ".0%", "range": [0, 1]},
    )  # fmt: skip
    hist = go.Figure()
    for timeframe, e in result["timeframes"].items():
        h = e["histogram"]
        total = max(sum(h["counts"]), 1)
        later = h["counts"][-1] / total
        hist.add_trace(go.Bar(x=h["minutes"][1:-1], y=[c / total for c in h["counts"][1:-1]], name=f"{timeframe} ({later:.0%} after {h['last_bin'][1:]} min)"))
    hist.update_layout(
        title="Touch time of touched wicks (minutes, 1-minute resolution; later touches in the legend)", barmode="group", height=380,
        xaxis={"title": "minutes to first touch", "dtick": 5}, yaxis={"title": "share of touched wicks", "tickformat": ".0%"},
    )  # fmt: skip
    return [curve, hist]
