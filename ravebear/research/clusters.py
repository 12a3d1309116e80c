"""Wick clusters: price bands that hold many wick levels.

Every wick level `UntouchedWickDetector` created on the chosen timeframes (same research
thresholds as touch times) is dropped into log-price bands `band_bps` wide (band k covers
prices [b^k, b^(k+1)) with b = 1 + band_bps / 10,000, so a band is the same width in bps at
every price). A **zone** grows from the densest band not yet in a zone (it needs at least
`min_wicks` wicks) to adjacent bands holding at least `peak_share` x that peak, up to
`max_zone_bands` bands; zones are ranked by wick count. Price spends more time in some bands than others, so each
zone also shows its **exposure** (1-minute candles whose range overlapped the zone) and its
**density** = wicks per 100 exposure candles, with **lift** = density / the density of
all bands together (lift > 1: more wicks than the time spent there explains). A zone's
`alive at end` counts its wicks still untouched when the data ended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ravebear.reports.tables import Table, num
from ravebear.research.touch_times import RESEARCH_WICKS
from ravebear.strategies.levels.model import LevelSide
from ravebear.strategies.levels.timeframes import timeframe_minutes
from ravebear.strategies.levels.wicks import WickConfig
from ravebear.time_units import NS_PER_MINUTE

if TYPE_CHECKING:
    from ravebear.research.data import Candles

NAME = "clusters"
TITLE = "Wick clusters: dense price zones"
DEFINITION = __doc__.split("\n\n", 1)[1].strip()


@dataclass(frozen=True)
class ClustersConfig:
    """Band width, zone threshold and which timeframes' wicks count."""

    timeframes: tuple[str, ...] = ("5m", "15m", "1h")
    band_bps: float = 10.0  # width of one price band, bps
    min_wicks: int = 5  # wicks the densest band of a zone needs
    peak_share: float = 0.5  # a neighbour band joins a zone when it holds >= this x the zone's peak band
    max_zone_bands: int = 5  # widest zone, in bands (5 x 10 bps = 50 bps)
    top: int = 15  # zones listed
    wick: WickConfig = field(default_factory=lambda: RESEARCH_WICKS)


def band_index(prices: np.ndarray, band_bps: float) -> np.ndarray:
    """Return the log-price band of each price."""
    return np.floor(np.log(prices) / math.log1p(band_bps * 1e-4)).astype(np.int64)


def band_price(index: int | np.ndarray, band_bps: float) -> float | np.ndarray:
    """Return the lower edge price of a band."""
    return np.exp(np.asarray(index, dtype=np.float64) * math.log1p(band_bps * 1e-4))


def run(candles: Candles, config: ClustersConfig) -> dict[str, Any]:
    """Zones of dense wick levels."""
    prices, sides, tfs, alive = [], [], [], []
    for timeframe in config.timeframes:
        tf_frame = candles.timeframe(timeframe)
        if tf_frame.empty:
            continue
        # close of the timeframe's last candle: a level censored there was alive when the data ended
        end_ns = (int(tf_frame["ts"].iloc[-1]) + timeframe_minutes(timeframe) * 60_000) * 1_000_000
        for record in candles.wick_records(timeframe, config.wick):
            prices.append(record.level.price)
            sides.append(record.level.side is LevelSide.SUPPORT)
            tfs.append(timeframe)
            alive.append(record.outcome == "censored" and record.level.created_ts + record.observed_min * NS_PER_MINUTE == end_ns)
    out: dict[str, Any] = {"band_bps": config.band_bps, "min_wicks": config.min_wicks, "timeframes": list(config.timeframes), "wicks": len(prices), "zones": []}
    if not prices:
        return out
    price_arr = np.asarray(prices)
    bands = band_index(price_arr, config.band_bps)
    lo_band, hi_band = int(bands.min()), int(bands.max())
    counts = np.bincount(bands - lo_band, minlength=hi_band - lo_band + 1)
    # exposure: 1-minute candles overlapping each band (difference array over band ranges)
    low_b = np.clip(band_index(candles.frame["low"].to_numpy(dtype=np.float64), config.band_bps) - lo_band, 0, len(counts))
    high_b = np.clip(band_index(candles.frame["high"].to_numpy(dtype=np.float64), config.band_bps) - lo_band, -1, len(counts) - 1)
    diff = np.zeros(len(counts) + 1, dtype=np.int64)
    valid = high_b >= low_b
    np.add.at(diff, low_b[valid], 1)
    np.add.at(diff, high_b[valid] + 1, -1)
    exposure = np.cumsum(diff)[: len(counts)]
    overall_density = counts.sum() / max(exposure.sum(), 1)
    out["overall_wicks_per_100_candles"] = float(100 * overall_density)
    side_arr, tf_arr, alive_arr = np.asarray(sides), np.asarray(tfs), np.asarray(alive)
    zones = []
    for k, j in grow_zones(counts, config.min_wicks, config.peak_share, config.max_zone_bands):
        members = (bands - lo_band >= k) & (bands - lo_band <= j)
        wicks = int(members.sum())
        low, high = float(band_price(k + lo_band, config.band_bps)), float(band_price(j + 1 + lo_band, config.band_bps))
        zone_exposure = _zone_exposure(candles, low, high)
        density = wicks / zone_exposure if zone_exposure else None
        zones.append(
            {
                "low": low,
                "high": high,
                "bands": j - k + 1,
                "peak_wicks": int(counts[k : j + 1].max()),
                "wicks": wicks,
                "supports": int((members & side_arr).sum()),
                "resistances": int((members & ~side_arr).sum()),
                "by_timeframe": {tf: int((members & (tf_arr == tf)).sum()) for tf in config.timeframes},
                "alive_at_end": int((members & alive_arr).sum()),
                "exposure_candles": zone_exposure,
                "wicks_per_100_candles": None if density is None else 100 * density,
                "lift": None if density is None or overall_density == 0 else density / overall_density,
            },
        )
    zones.sort(key=lambda z: -z["wicks"])
    out["zones_found"] = len(zones)
    out["zones"] = zones[: config.top]
    out["histogram"] = {
        "band_low": [float(p) for p in band_price(np.arange(lo_band, hi_band + 1), config.band_bps)],
        "wicks": [int(c) for c in counts],
        "exposure_candles": [int(e) for e in exposure],
    }
    out["last_close"] = float(candles.frame["close"].iloc[-1])
    path = candles.timeframe("15m")
    out["price_path"] = {
        "time": [f"{t:%Y-%m-%dT%H:%M}" for t in pd.to_datetime(path["ts"].to_numpy() + 15 * 60_000, unit="ms")],
        "close": [float(v) for v in path["close"]],
    }
    return out


def grow_zones(counts: np.ndarray, min_wicks: int, peak_share: float, max_bands: int) -> list[tuple[int, int]]:
    """Return [first, last] band ranges of zones, densest peak first.

    Repeatedly seed a zone at the densest band not yet in a zone (stop when it holds fewer than
    `min_wicks`), then widen it one band at a time towards the denser free neighbour while that
    neighbour holds at least `peak_share` x the seed's wicks and the zone is under `max_bands`.
    """
    taken = np.zeros(len(counts), dtype=bool)
    zones = []
    for seed in np.argsort(-counts, kind="stable").tolist():
        if taken[seed]:
            continue
        peak = counts[seed]
        if peak < min_wicks:
            break
        lo = hi = seed
        floor = peak_share * peak
        while hi - lo + 1 < max_bands:
            left = counts[lo - 1] if lo > 0 and not taken[lo - 1] and counts[lo - 1] >= floor else -1
            right = counts[hi + 1] if hi + 1 < len(counts) and not taken[hi + 1] and counts[hi + 1] >= floor else -1
            if left < 0 and right < 0:
                break
            if right > left:
                hi += 1
            else:
                lo -= 1
        taken[lo : hi + 1] = True
        zones.append((lo, hi))
    return zones


def _zone_exposure(candles: Candles, low: float, high: float) -> int:
    frame = candles.frame
    return int(((frame["low"].to_numpy() < high) & (frame["high"].to_numpy() >= low)).sum())


def tables(result: dict[str, Any]) -> list[Table]:
    """Top zones."""
    rows = [
        [i + 1, num(z["low"], 1), num(z["high"], 1), num(z["wicks"]), num(z["supports"]), num(z["resistances"]),
         " ".join(f"{tf}:{n}" for tf, n in z["by_timeframe"].items()), num(z["alive_at_end"]), num(z["exposure_candles"]),
         num(z["wicks_per_100_candles"], 2), num(z["lift"], 2)]
        for i, z in enumerate(result["zones"])
    ]  # fmt: skip
    note = (
        f"{result['wicks']:,} wicks from {', '.join(result['timeframes'])} in bands {result['band_bps']:g} bps wide; "
        f"{result.get('zones_found', 0)} zones with a peak band of >= {result['min_wicks']} wicks; all bands: "
        f"{result.get('overall_wicks_per_100_candles', 0):.2f} wicks per 100 candles of exposure"
    )
    return [
        Table(
            "Densest wick zones",
            ["#", "low", "high", "wicks", "supports", "resist.", "by tf", "alive at end", "exposure (1m)", "per 100", "lift"],
            rows,
            note=note,
        ),
    ]


def figures(result: dict[str, Any]) -> list:
    """Wicks per band (horizontal histogram) beside the price path with the top zones shaded."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not result.get("histogram"):
        return []
    hist = result["histogram"]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.25, 0.75], horizontal_spacing=0.02,
                        subplot_titles=["wicks per band", "price (15m closes) and top zones"])  # fmt: skip
    centers = [p * (1 + result["band_bps"] * 5e-5) for p in hist["band_low"]]
    fig.add_trace(go.Bar(y=centers, x=hist["wicks"], orientation="h", marker_color="#4c78a8", name="wicks", showlegend=False), row=1, col=1)
    fig.update_xaxes(autorange="reversed", row=1, col=1)
    path = result.get("price_path")
    if path:
        fig.add_trace(go.Scatter(x=path["time"], y=path["close"], mode="lines", line={"color": "#333", "width": 1}, name="close", showlegend=False), row=1, col=2)
    for zone in result["zones"]:
        fig.add_hrect(y0=zone["low"], y1=zone["high"], fillcolor="#e45756", opacity=0.25, line_width=0, row=1, col=2)
        fig.add_hrect(y0=zone["low"], y1=zone["high"], fillcolor="#e45756", opacity=0.15, line_width=0, row=1, col=1)
    fig.update_layout(title=f"Wick density by price (shaded: the top {len(result['zones'])} zones of the table)", height=560, bargap=0)
    return [fig]
