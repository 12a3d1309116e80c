"""Whale clusters: zones where several outsized candles traded at nearly the same price.

Pure detector, fed one closed candle at a time (no nautilus). A *whale candle* trades at
least `min_relative_volume` times the mean volume of the previous `volume_lookback` candles.
When `min_candles` whale candles fall within `window_bars` candles and their typical prices
((high + low + close) / 3) lie within `band_bps` of each other, they form a cluster: the zone
[lowest, highest typical price], with a direction from the volume-weighted sign of their
bodies (net buying +1, net selling -1; an imbalance below `min_imbalance` is no cluster).

A cluster is *left* once a candle closes `leave_bps` beyond the zone in the cluster's
direction (the whales' side won), and *retested* when a later candle trades back into the
zone. A retest that closes on the cluster's side (at or above the zone low for a buying
cluster) HELD; one that closes through the zone FAILED. Either ends the cluster, as does an
age of `max_age_bars` candles. Each whale candle belongs to one cluster at most.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class WhaleClusterConfig:
    """Thresholds of the whale-cluster detector (units in the comments)."""

    volume_lookback: int = 60  # candles in the mean volume
    min_relative_volume: float = 4.0  # a whale candle's volume / that mean
    min_candles: int = 2  # whale candles in a cluster
    window_bars: int = 15  # the cluster's whale candles fall within this many candles
    band_bps: float = 30.0  # their typical prices lie within this band, bps of the lowest
    min_imbalance: float = 0.3  # |net signed volume| / volume of the cluster's candles, 0-1
    leave_bps: float = 15.0  # a close this far beyond the zone (cluster side) makes it tradable, bps
    max_age_bars: int = 720  # candles a cluster waits for its retest
    max_clusters: int = 16  # live clusters kept (the oldest go first)


@dataclass(slots=True)
class WhaleCluster:
    """One cluster; `left` once price moved away on the whales' side."""

    low: float
    high: float
    direction: int  # +1 net buying, -1 net selling
    volume: float
    created_index: int
    created_ts: int
    left: bool = False


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """What a candle did to a cluster: "created", "held" or "failed" (retests), "expired"."""

    kind: str
    cluster: WhaleCluster
    ts: int


class WhaleClusterDetector:
    """Find whale clusters and report their retests."""

    def __init__(self, config: WhaleClusterConfig | None = None) -> None:
        self.config = config = config or WhaleClusterConfig()
        self._volumes: deque[float] = deque(maxlen=config.volume_lookback)
        self._volume_sum = 0.0
        self._whales: deque[tuple[int, float, float, float]] = deque()  # (index, typical, volume, signed volume)
        self.clusters: list[WhaleCluster] = []
        self.index = 0

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> list[ClusterEvent]:
        """Feed one closed candle; return the events it caused."""
        config = self.config
        self.index += 1
        index = self.index
        events: list[ClusterEvent] = []
        if self.clusters:
            events = self._retests(high, low, close, ts, index)
        volumes = self._volumes
        full = len(volumes) == volumes.maxlen
        if full and volume >= config.min_relative_volume * self._volume_sum / len(volumes) > 0:
            sign = 1.0 if close > open_ else -1.0 if close < open_ else 0.0
            self._whales.append((index, (high + low + close) / 3.0, volume, sign * volume))
            created = self._cluster(index, ts)
            if created is not None:
                events.append(ClusterEvent("created", created, ts))
        if full:
            self._volume_sum -= volumes[0]
        volumes.append(volume)
        self._volume_sum += volume
        return events

    def _cluster(self, index: int, ts: int) -> WhaleCluster | None:
        config = self.config
        whales = self._whales
        while whales and index - whales[0][0] >= config.window_bars:
            whales.popleft()
        if len(whales) < config.min_candles:
            return None
        typicals = [w[1] for w in whales]
        low, high = min(typicals), max(typicals)
        if (high - low) / low * 1e4 > config.band_bps:
            return None
        total = sum(w[2] for w in whales)
        net = sum(w[3] for w in whales)
        whales.clear()
        if total <= 0 or abs(net) / total < config.min_imbalance:
            return None
        cluster = WhaleCluster(low, high, 1 if net > 0 else -1, total, index, ts)
        self.clusters.append(cluster)
        if len(self.clusters) > config.max_clusters:
            del self.clusters[0]
        return cluster

    def _retests(self, high: float, low: float, close: float, ts: int, index: int) -> list[ClusterEvent]:
        config = self.config
        events: list[ClusterEvent] = []
        keep: list[WhaleCluster] = []
        leave = config.leave_bps * 1e-4
        for cluster in self.clusters:
            if index - cluster.created_index > config.max_age_bars:
                events.append(ClusterEvent("expired", cluster, ts))
                continue
            up = cluster.direction > 0
            if not cluster.left:
                if (close >= cluster.high * (1 + leave)) if up else (close <= cluster.low * (1 - leave)):
                    cluster.left = True
                keep.append(cluster)
                continue
            if (low <= cluster.high) if up else (high >= cluster.low):
                held = close >= cluster.low if up else close <= cluster.high
                events.append(ClusterEvent("held" if held else "failed", cluster, ts))
                continue
            keep.append(cluster)
        self.clusters = keep
        return events
