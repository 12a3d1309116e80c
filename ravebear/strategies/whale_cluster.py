"""Whale-cluster trade: join the side of a whale cluster when price returns to it and it holds.

Clusters come from `WhaleClusterDetector` (outsized candles trading at one price, see
`levels/whale_clusters.py`) on the base timeframe. A retest that HELD enters in the cluster's
direction, stop beyond the zone's far edge or the retest candle's extreme. On-chain whale
flow (Whale Alert exchange in/outflows) confirms through the entry filter's `whale_flow`
condition when that data is configured; the level engine (`levels`, wicks by default) feeds
the filter's wick alignment.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ravebear.ranges import Range
from ravebear.strategies.base import LONG, SHORT, LevelStrategy, LevelStrategyConfig, Signal
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.levels.whale_clusters import ClusterEvent, WhaleClusterConfig, WhaleClusterDetector


class WhaleClusterTradeConfig(LevelStrategyConfig, frozen=True, kw_only=True):
    """Whale-cluster thresholds (units in the comments; see WhaleClusterConfig)."""

    volume_lookback: int = 60  # candles in the mean volume
    min_relative_volume: float = 4.0  # whale candle volume / mean volume
    min_candles: int = 2  # whale candles per cluster
    window_bars: int = 15  # candles the cluster's whale candles fall within
    band_bps: float = 30.0  # typical-price band of a cluster, bps
    min_imbalance: float = 0.3  # |net signed volume| / volume, 0-1
    leave_bps: float = 15.0  # move away needed before a retest counts, bps
    max_age_bars: int = 720  # candles a cluster waits for its retest

    ranges: ClassVar[dict[str, Range]] = {
        **LevelStrategyConfig.ranges,
        "volume_lookback": Range(1, 100_000, "candles"),
        "min_relative_volume": Range(0, 1_000, "x mean volume", low_open=True),
        "min_candles": Range(1, 1_000, "candles"),
        "window_bars": Range(1, 100_000, "candles"),
        "band_bps": Range(0, 5_000, "bps", low_open=True),
        "min_imbalance": Range(0, 1, "share of volume"),
        "leave_bps": Range(0, 5_000, "bps"),
        "max_age_bars": Range(1, 1_000_000, "candles"),
    }


class WhaleClusterTrade(LevelStrategy):
    """Trade held retests of whale clusters in the whales' direction."""

    default_levels: dict[str, Any] = {"detectors": ["wicks"]}

    def __init__(self, config: WhaleClusterTradeConfig) -> None:
        super().__init__(config)
        self.clusters = WhaleClusterDetector(
            WhaleClusterConfig(
                volume_lookback=config.volume_lookback,
                min_relative_volume=config.min_relative_volume,
                min_candles=config.min_candles,
                window_bars=config.window_bars,
                band_bps=config.band_bps,
                min_imbalance=config.min_imbalance,
                leave_bps=config.leave_bps,
                max_age_bars=config.max_age_bars,
            ),
        )
        self.cluster_events = 0
        self._found: list[ClusterEvent] = []

    def observe(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> None:
        """Feed every base candle to the cluster detector, in a position or not."""
        if timeframe != self.config.timeframes[0]:
            self._found = []
            return
        self._found = self.clusters.update(
            candle.open, candle.high, candle.low, candle.close,
            candle.volume, candle.ts,
        )  # fmt: skip
        self.cluster_events += len(self._found)

    def signal(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> Signal | None:
        """A held retest of a cluster on this base candle is the signal."""
        for event in self._found:
            if event.kind != "held":
                continue
            cluster = event.cluster
            if cluster.direction > 0:
                return Signal(LONG, min(cluster.low, candle.low), f"whale cluster {cluster.low:g}-{cluster.high:g} (buying) held")
            return Signal(SHORT, max(cluster.high, candle.high), f"whale cluster {cluster.low:g}-{cluster.high:g} (selling) held")
        return None
