"""Consolidations: boxes found by the strategy's own `BoxDetector`, their breakouts and what follows.

A **box** is `min_bars` consecutive candles (default 20) inside a range at most
`max_height_bps` tall (default 15 bps); its **breakout** is the first close beyond an edge
by more than `breakout_bps` (default 3 bps), upward (+1) or downward (-1). Detector defaults
are used, except that retest zones are not capped. Those bps defaults are tuned for 1-minute
candles; with `scale_by_sqrt_time` (default on) the three bps thresholds are multiplied by
sqrt(timeframe minutes) on higher timeframes (a random walk's range grows with the square root
of time): 15 bps on 1m is 33.5 bps on 5m and 58 bps on 15m. The detector restarts after each gap.

* **life**: candles from the box's creation to its breakout candle (the breakout's
  `age_bars`); a box is at least `min_bars` + life - 1 candles long in all.
* **outcome**: breakout up / down, expired (no breakout within `max_age_bars`), or open
  (still unbroken when the data ended or a gap began).
* **follow-through** over N candles after the breakout candle (t): *continuation* when
  close_{t+N} is further in the breakout direction than close_t, *reversal* when it is back
  against it; *back inside* when any close in t+1..t+N is back inside the box (a failed
  breakout); *1 box height* when price traded at least one box height beyond the broken edge
  within t+1..t+N (the measured move). Only breakouts with N gap-free candles after count.
* **retest**: after a breakout the box is a zone on the breakout side; retested = TOUCHED or
  INVALIDATED before it expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ravebear.research.data import contiguous_runs, window_complete
from ravebear.reports.tables import Table, num, pct
from ravebear.strategies.levels.boxes import BoxConfig, BoxDetector
from ravebear.strategies.levels.model import EventKind
from ravebear.strategies.levels.timeframes import ONE_MINUTE_MS, timeframe_minutes

if TYPE_CHECKING:
    from ravebear.research.data import Candles

NAME = "consolidations"
TITLE = "Consolidations: boxes and breakouts"
DEFINITION = __doc__.split("\n\n", 1)[1].strip()
RESEARCH_BOXES = BoxConfig(max_levels=1_000_000)  # detector defaults, retest zones not capped


@dataclass(frozen=True)
class ConsolidationsConfig:
    """Timeframes, follow-through horizons and the box detector's thresholds."""

    timeframes: tuple[str, ...] = ("1m", "5m", "15m")
    horizons: tuple[int, ...] = (1, 5, 15, 60)  # candles of the box's timeframe after the breakout candle
    box: BoxConfig = field(default_factory=lambda: RESEARCH_BOXES)
    chart_timeframe: str = "1m"  # whose boxes are drawn on the price chart
    chart_days: float = 1.0  # the chart shows the last this many days
    scale_by_sqrt_time: bool = True  # bps thresholds x sqrt(timeframe minutes) above 1m


def box_config(config: ConsolidationsConfig, timeframe: str) -> BoxConfig:
    """The detector thresholds used on a timeframe."""
    if not config.scale_by_sqrt_time:
        return config.box
    factor = timeframe_minutes(timeframe) ** 0.5
    box = config.box
    return replace(box, max_height_bps=box.max_height_bps * factor, breakout_bps=box.breakout_bps * factor, through_bps=box.through_bps * factor)


def detect(frame: pd.DataFrame, timeframe: str, config: BoxConfig) -> list[dict[str, Any]]:
    """Run the detector over each gap-free run; return one record per box."""
    step_ms = timeframe_minutes(timeframe) * ONE_MINUTE_MS
    ts = frame["ts"].to_numpy(dtype=np.int64)
    close_ns = (ts + step_ms) * 1_000_000
    o, h, l, c, v = (frame[n].to_numpy(dtype=np.float64).tolist() for n in ("open", "high", "low", "close", "volume"))
    boxes: dict[tuple, dict[str, Any]] = {}
    for start, stop in contiguous_runs(ts, step_ms):
        detector = BoxDetector(config, timeframe)
        for i in range(start, stop):
            for event in detector.update(o[i], h[i], l[i], c[i], v[i], int(close_ns[i])):
                level = event.level
                key = (level.created_ts, level.low, level.high)
                if event.kind is EventKind.CREATED:
                    boxes[key] = {"created_index": i, "created_ts": level.created_ts, "low": level.low, "high": level.high,
                                  "outcome": "open", "breakout_index": None, "direction": 0, "life": None, "retest": None}  # fmt: skip
                    continue
                box = boxes.get(key)
                if box is None:
                    continue
                if event.kind is EventKind.BREAKOUT:
                    box.update(outcome="up" if event.direction > 0 else "down", breakout_index=i, direction=event.direction, life=event.age_bars)
                    box["retest"] = "open"
                elif event.kind is EventKind.EXPIRED:
                    if box["breakout_index"] is None:
                        box["outcome"] = "expired"
                    else:
                        box["retest"] = "expired"
                elif box["breakout_index"] is not None:  # TOUCHED / INVALIDATED of the retest zone
                    box["retest"] = event.kind.value
                    box["retest_after"] = i - box["breakout_index"]
    return sorted(boxes.values(), key=lambda b: b["created_ts"])


def follow_through(frame: pd.DataFrame, boxes: list[dict[str, Any]], step_ms: int, horizons: tuple[int, ...]) -> dict[str, Any]:
    """Continuation, reversal, back-inside and measured-move rates after breakouts."""
    ts = frame["ts"].to_numpy(dtype=np.int64)
    h, l, c = (frame[n].to_numpy(dtype=np.float64) for n in ("high", "low", "close"))
    broke = [b for b in boxes if b["breakout_index"] is not None]
    idx = np.array([b["breakout_index"] for b in broke], dtype=np.int64)
    d = np.array([b["direction"] for b in broke], dtype=np.float64)
    lows = np.array([b["low"] for b in broke])
    highs = np.array([b["high"] for b in broke])
    out: dict[str, Any] = {}
    for n in horizons:
        ok = window_complete(ts, step_ms, n)[idx] if len(idx) else np.zeros(0, bool)
        rows = np.flatnonzero(ok)
        if len(rows) == 0:
            out[str(n)] = {"n": 0, "continuation": None, "reversal": None, "back_inside": None, "one_height": None, "mean_bps": None}
            continue
        i, dd, lo, hi = idx[rows], d[rows], lows[rows], highs[rows]
        ahead = i[:, None] + np.arange(1, n + 1)[None, :]
        signed = dd * (c[i + n] - c[i]) / c[i] * 1e4
        closes = c[ahead]
        back = np.where(dd > 0, (closes <= hi[:, None]).any(axis=1), (closes >= lo[:, None]).any(axis=1))
        height = hi - lo
        reached = np.where(dd > 0, h[ahead].max(axis=1) >= hi + height, l[ahead].min(axis=1) <= lo - height)
        out[str(n)] = {
            "n": len(rows),
            "continuation": float((signed > 0).mean()),
            "reversal": float((signed < 0).mean()),
            "back_inside": float(back.mean()),
            "one_height": float(reached.mean()),
            "mean_bps": float(signed.mean()),
        }
    return out


def mean_path(frame: pd.DataFrame, boxes: list[dict[str, Any]], step_ms: int, horizon: int) -> dict[str, Any]:
    """Mean return in the breakout direction, k = 0..horizon candles after the breakout candle."""
    ts = frame["ts"].to_numpy(dtype=np.int64)
    c = frame["close"].to_numpy(dtype=np.float64)
    broke = [b for b in boxes if b["breakout_index"] is not None]
    idx = np.array([b["breakout_index"] for b in broke], dtype=np.int64)
    d = np.array([b["direction"] for b in broke], dtype=np.float64)
    if len(idx):
        keep = window_complete(ts, step_ms, horizon)[idx]
        idx, d = idx[keep], d[keep]
    if len(idx) == 0:
        return {"candles": list(range(horizon + 1)), "mean_bps": [None] * (horizon + 1), "n": 0}
    offsets = idx[:, None] + np.arange(horizon + 1)[None, :]
    paths = d[:, None] * (c[offsets] - c[idx, None]) / c[idx, None] * 1e4
    return {"candles": list(range(horizon + 1)), "mean_bps": [float(x) for x in paths.mean(axis=0)], "n": len(idx)}


def run(candles: Candles, config: ConsolidationsConfig) -> dict[str, Any]:
    """Box counts, lives, breakout directions, follow-through and retests per timeframe."""
    out: dict[str, Any] = {"box": {"min_bars": config.box.min_bars, "max_height_bps": config.box.max_height_bps,
                                   "breakout_bps": config.box.breakout_bps, "max_age_bars": config.box.max_age_bars}, "timeframes": {}}  # fmt: skip
    for timeframe in config.timeframes:
        frame = candles.timeframe(timeframe)
        if frame.empty:
            continue
        minutes = timeframe_minutes(timeframe)
        tf_box = box_config(config, timeframe)
        boxes = detect(frame, timeframe, tf_box)
        outcomes = {k: sum(1 for b in boxes if b["outcome"] == k) for k in ("up", "down", "expired", "open")}
        lives = np.array([b["life"] for b in boxes if b["life"] is not None], dtype=np.float64)
        heights = np.array([(b["high"] - b["low"]) / ((b["high"] + b["low"]) / 2) * 1e4 for b in boxes])
        broke = outcomes["up"] + outcomes["down"]
        retests = [b["retest"] for b in boxes if b["retest"] is not None]
        retest_after = [b["retest_after"] for b in boxes if b.get("retest_after") is not None]
        entry: dict[str, Any] = {
            "candles": len(frame),
            "max_height_bps": tf_box.max_height_bps,
            "breakout_bps": tf_box.breakout_bps,
            "boxes": len(boxes),
            "boxes_per_day": len(boxes) / (len(frame) * minutes / 1440) if len(frame) else None,
            "outcomes": outcomes,
            "up_share_of_breakouts": outcomes["up"] / broke if broke else None,
            "median_height_bps": float(np.median(heights)) if len(heights) else None,
            "median_life_candles": float(np.median(lives)) if len(lives) else None,
            "median_life_min": float(np.median(lives) * minutes) if len(lives) else None,
            "p90_life_candles": float(np.percentile(lives, 90)) if len(lives) else None,
            "median_length_candles": float(np.median(lives + config.box.min_bars - 1)) if len(lives) else None,
            "life_histogram": _life_histogram(lives),
            "retest": {k: sum(1 for r in retests if r == k) for k in ("touched", "invalidated", "expired", "open")},
            "retested_share": (sum(1 for r in retests if r in ("touched", "invalidated")) / len(retests)) if retests else None,
            "median_retest_after_candles": float(np.median(retest_after)) if retest_after else None,
            "follow_through": follow_through(frame, boxes, minutes * ONE_MINUTE_MS, config.horizons),
            "path": mean_path(frame, boxes, minutes * ONE_MINUTE_MS, max(config.horizons)),
        }
        if timeframe == config.chart_timeframe:
            entry["chart_boxes"], out["price_path"] = _chart(frame, boxes, timeframe, config)
        out["timeframes"][timeframe] = entry
    return out


def _chart(frame: pd.DataFrame, boxes: list[dict[str, Any]], timeframe: str, config: ConsolidationsConfig) -> tuple[list, dict]:
    """Boxes and closes of the last `chart_days` days, for the price chart."""
    step_ms = timeframe_minutes(timeframe) * ONE_MINUTE_MS
    ts = frame["ts"].to_numpy(dtype=np.int64)
    since = int(ts[-1]) - int(config.chart_days * 86_400_000)
    first = int(np.searchsorted(ts, since))
    shown = []
    for b in boxes:
        end_index = b["breakout_index"] if b["breakout_index"] is not None else min(b["created_index"] + config.box.max_age_bars, len(ts) - 1)
        start_ms = int(ts[b["created_index"]]) - (config.box.min_bars - 1) * step_ms
        if start_ms >= since:
            shown.append({"start": _iso(start_ms), "end": _iso(int(ts[end_index]) + step_ms), "low": b["low"], "high": b["high"], "outcome": b["outcome"]})
    path = {"time": [_iso(int(t) + step_ms) for t in ts[first:]], "close": [float(x) for x in frame["close"].to_numpy()[first:]]}
    return shown, path


def _iso(ms: int) -> str:
    return f"{pd.Timestamp(ms, unit='ms'):%Y-%m-%dT%H:%M}"


def _life_histogram(lives: np.ndarray) -> dict[str, list]:
    top = int(lives.max()) + 1 if len(lives) else 241
    edges = [1, 2, 3, 5, 10, 20, 40, 80, 160, max(top, 161)]  # the same bins on every timeframe
    counts, _ = np.histogram(lives, bins=edges) if len(lives) else (np.zeros(len(edges) - 1, int), None)
    labels = [f"{a}" if b - a == 1 else f"{a}-{b - 1}" for a, b in zip(edges[:-2], edges[1:-1], strict=True)] + ["160+"]
    return {"labels": labels, "counts": [int(x) for x in counts]}


def tables(result: dict[str, Any]) -> list[Table]:
    """Counts and lives; breakout follow-through."""
    rows, follow = [], []
    for tf, e in result["timeframes"].items():
        o = e["outcomes"]
        rows.append([tf, num(e["max_height_bps"], 1), num(e["breakout_bps"], 1), num(e["boxes"]), num(e["boxes_per_day"], 1), num(e["median_height_bps"], 1), num(o["up"]), num(o["down"]),
                     pct(e["up_share_of_breakouts"]), num(o["expired"]), num(o["open"]), num(e["median_life_candles"], 0),
                     num(e["median_life_min"], 0), pct(e["retested_share"])])  # fmt: skip
        for n, f in e["follow_through"].items():
            follow.append([tf, n, num(f["n"]), pct(f["continuation"]), pct(f["reversal"]), pct(f["back_inside"]), pct(f["one_height"]), num(f["mean_bps"], 2)])
    box = result["box"]
    return [
        Table(
            f"Boxes ({box['min_bars']} candles within max height; breakout = a close beyond an edge by more than the breakout bps)",
            ["tf", "max height", "breakout", "boxes", "per day", "median height", "up", "down", "up share", "expired", "open", "life (candles)", "life (min)", "retested"],
            rows,
        ),
        Table("Breakouts: what the next N candles do", ["tf", "N candles", "breakouts", "continue", "reverse", "back inside", "1 box height", "mean bps"], follow,
              note="continue/reverse: close N candles later vs the breakout close, in the breakout direction."),  # fmt: skip
    ]


def figures(result: dict[str, Any]) -> list:
    """Life histogram, mean path after breakouts, and boxes on the price chart."""
    import plotly.graph_objects as go

    life = go.Figure()
    for tf, e in result["timeframes"].items():
        hist = e["life_histogram"]
        total = max(sum(hist["counts"]), 1)
        life.add_trace(go.Bar(x=hist["labels"], y=[c / total for c in hist["counts"]], name=tf))
    life.update_layout(title="Box life: candles from creation to breakout", barmode="group", height=360,
                       xaxis={"title": "candles of the box's timeframe", "type": "category"}, yaxis={"title": "share of breakouts", "tickformat": ".0%"})  # fmt: skip
    path = go.Figure()
    for tf, e in result["timeframes"].items():
        p = e["path"]
        path.add_trace(go.Scatter(x=p["candles"], y=p["mean_bps"], mode="lines", name=f"{tf} (n={p['n']})"))
    path.add_hline(y=0, line_color="#999")
    path.update_layout(title="Mean path after a breakout (+ = in the breakout direction)", height=360,
                       xaxis={"title": "candles after the breakout candle"}, yaxis={"title": "mean return, bps"})  # fmt: skip
    figs = [life, path]
    chart_tf = next((tf for tf, e in result["timeframes"].items() if "chart_boxes" in e), None)
    if chart_tf and result.get("price_path"):
        chart = go.Figure(go.Scatter(x=result["price_path"]["time"], y=result["price_path"]["close"], mode="lines", line={"color": "#333", "width": 1}, name="close"))
        colors = {"up": "#54a24b", "down": "#e45756", "expired": "#999999", "open": "#4c78a8"}
        for b in result["timeframes"][chart_tf]["chart_boxes"]:
            chart.add_shape(type="rect", x0=b["start"], x1=b["end"], y0=b["low"], y1=b["high"], line={"width": 1, "color": colors[b["outcome"]]},
                            fillcolor=colors[b["outcome"]], opacity=0.35)  # fmt: skip
        chart.update_layout(title=f"{chart_tf} boxes over the last days (green: broke up, red: broke down, grey: expired, blue: open)", height=460,
                            xaxis={"title": "UTC"}, yaxis={"title": "price"}, showlegend=False)  # fmt: skip
        figs.append(chart)
    return figs
