"""Absorption: heavy aggressive volume that fails to move price, in tiers 0-3.

Trades fall into fixed time buckets of `bucket_s` seconds (aligned to the epoch). When a bucket
closes, its net delta (aggressive buy size - aggressive sell size) is compared with the mean |delta|
of the previous `lookback_buckets` buckets (empty buckets count as 0; no tier until that many
buckets have passed: such a bucket is marked `warm_up`): multiple = |delta| / mean. The move is the price change from the last trade
before the bucket (the bucket's first trade when there is none) to its last trade, in bps, signed
in the aggressors' direction (positive when buyers lifted price or sellers pushed it down).

Tier k (1-3) holds when multiple >= tier_multiples[k-1] and move <= tier_max_move_bps[k-1]; a
bucket gets the highest tier it holds, 0 when none. Defaults make each tier heavier and stiller:
2x / 3 bps, 3x / 2 bps, 5x / 1 bps. `side` is the aggressors' side (+1 buyers absorbed by passive
sellers, -1 sellers absorbed by passive buyers).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ravebear.strategies.microstructure.types import Trade
from ravebear.time_units import NS_PER_SECOND


@dataclass(frozen=True)
class AbsorptionConfig:
    """Absorption settings."""

    bucket_s: float = 10.0  # bucket length, seconds
    lookback_buckets: int = 30  # buckets in the mean |delta|
    tier_multiples: tuple[float, float, float] = (2.0, 3.0, 5.0)  # |delta| / mean |delta|, tiers 1-3
    tier_max_move_bps: tuple[float, float, float] = (3.0, 2.0, 1.0)  # max move in the aggressors' direction, bps


@dataclass(frozen=True, slots=True)
class AbsorptionBucket:
    """One closed, non-empty bucket and its tier."""

    start_ns: int
    end_ns: int
    buy_size: float
    sell_size: float
    delta: float
    side: int  # sign of delta (0 when balanced)
    reference_price: float  # last price before the bucket (or its first trade's)
    close: float  # last trade price in the bucket
    multiple: float  # |delta| / mean |delta| of the lookback (0 before the lookback is full)
    move_bps: float
    tier: int
    warm_up: bool = False  # closed before the lookback was full: no mean yet, so tier 0 says nothing


class AbsorptionDetector:
    """Tier each closed bucket of one instrument's trades."""

    def __init__(self, config: AbsorptionConfig | None = None) -> None:
        self.config = config = config or AbsorptionConfig()
        self._bucket_ns = int(config.bucket_s * NS_PER_SECOND)
        self._history: deque[float] = deque(maxlen=config.lookback_buckets)  # |delta| of past buckets
        self._bucket = -1  # index of the open bucket
        self._buy = self._sell = 0.0
        self._reference = self._close = 0.0
        self._last_price: float | None = None
        self._empty = False  # the open bucket has no trade yet (opened by `advance`)

    def update(self, trade: Trade) -> AbsorptionBucket | None:
        """Feed one trade (in time order); return the bucket it closed, if any."""
        index = trade.ts_ns // self._bucket_ns
        closed = None
        if index != self._bucket:
            closed = self._close_bucket(index)
            self._bucket, self._buy, self._sell = index, 0.0, 0.0
            self._reference = self._last_price if self._last_price is not None else trade.price
        self._empty = False
        if trade.aggressor > 0:
            self._buy += trade.size
        else:
            self._sell += trade.size
        self._close = self._last_price = trade.price
        return closed

    def advance(self, now_ns: int) -> AbsorptionBucket | None:
        """Close the open bucket when now_ns reached its end (no later trade can join it); return it, if any.

        The buckets and their tiers are the same as when the next trade closes it: the next bucket opens
        empty (its reference the last price) and an empty bucket counts 0 in the lookback.
        """
        if self._bucket < 0 or now_ns < (self._bucket + 1) * self._bucket_ns or self._empty:
            return None
        closed = self._close_bucket(self._bucket + 1)
        self._bucket, self._buy, self._sell, self._empty = self._bucket + 1, 0.0, 0.0, True
        self._reference = self._close = self._last_price
        return closed

    def flush(self) -> AbsorptionBucket | None:
        """Close the open bucket (at the end of the data)."""
        closed = self._close_bucket(self._bucket + 1)
        self._bucket = -1
        return closed

    def _close_bucket(self, next_index: int) -> AbsorptionBucket | None:
        if self._bucket < 0:
            return None
        config, history = self.config, self._history
        if self._empty:  # opened by `advance`, no trade came: an empty bucket, 0 in the lookback
            for _ in range(min(next_index - self._bucket, config.lookback_buckets)):
                history.append(0.0)
            return None
        delta = self._buy - self._sell
        side = 1 if delta > 0 else -1 if delta < 0 else 0
        warm_up = len(history) < config.lookback_buckets
        mean = 0.0 if warm_up else sum(history) / len(history)
        multiple = abs(delta) / mean if mean > 0 else 0.0
        move = (self._close - self._reference) / self._reference * 1e4 * side
        tier = 0
        for k, (least, most) in enumerate(zip(config.tier_multiples, config.tier_max_move_bps), start=1):
            if multiple >= least and move <= most:
                tier = k
        start = self._bucket * self._bucket_ns
        bucket = AbsorptionBucket(start, start + self._bucket_ns, self._buy, self._sell, delta, side, self._reference, self._close, multiple, move, tier, warm_up)
        history.append(abs(delta))
        for _ in range(min(next_index - self._bucket - 1, config.lookback_buckets)):
            history.append(0.0)  # buckets without trades
        return bucket
