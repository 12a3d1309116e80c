"""The volume bots (docs/SWARM.md, "Volume bots"): VolSurge, MicroBreakout, WhaleWatch, VolExplosion, BBSqueeze.

Windows count candles, not minutes (a gap in the data is skipped, as the candles have it). Each bot's numba
twin is in `ravebear/research/fast_swarm/volume.py`; change one and you change the other in the same commit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from nautilus_trader.indicators.averages import (
    ExponentialMovingAverage,
    MovingAverageType,
)
from nautilus_trader.indicators.volatility import AverageTrueRange

from ravebear.ranges import Range
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.bot import VOLUME, WHALES, Bot
from ravebear.strategies.swarm.bots.windows import RollingWindow
from ravebear.time_units import NS_PER_SECOND

_BARS = Range(2, 100_000, "bars")
_POSITIVE_X = Range(0, 1_000, "x", low_open=True)


@dataclass(frozen=True)
class VolSurgeConfig:
    """VolSurge thresholds (units in the comments)."""

    lookback: int = 60  # bars of volume before the candle that set the mean and standard deviation
    z_min: float = 3.0  # standard deviations above the mean the candle's volume must reach
    z_full: float = 10.0  # standard deviations at which confidence reaches 1


class VolSurge(Bot):
    """A candle whose volume is `z_min`+ standard deviations above the previous `lookback` candles' mean votes
    its own direction (close vs open); confidence z / z_full."""

    name, group = "VolSurge", VOLUME
    config_class = VolSurgeConfig
    ranges = {"lookback": _BARS, "z_min": Range(0, 1_000, "standard deviations", low_open=True), "z_full": Range(0, 1_000, "standard deviations", low_open=True)}

    def __init__(self, config: VolSurgeConfig) -> None:
        super().__init__(config)
        self._volume = RollingWindow(int(config.lookback))
        self._z_min, self._z_full = config.z_min, config.z_full

    def on_candle(self, candle: Candle) -> float:
        window, volume = self._volume, candle.volume
        vote = 0.0
        if window.full and candle.close != candle.open:
            variance = window.variance()
            if variance > 0.0:
                z = (volume - window.mean) / math.sqrt(variance)
                if z >= self._z_min:
                    confidence = z / self._z_full
                    confidence = 1.0 if confidence > 1.0 else confidence
                    vote = confidence if candle.close > candle.open else -confidence
        window.push(volume)
        return vote


@dataclass(frozen=True)
class MicroBreakoutConfig:
    """MicroBreakout thresholds (units in the comments)."""

    lookback: int = 20  # bars whose highest high / lowest low the close must break
    volume_mult: float = 1.5  # the candle's volume must reach this x the mean volume of those bars
    volume_full: float = 5.0  # x the mean volume at which confidence reaches 1


class MicroBreakout(Bot):
    """A close above the highest high (below the lowest low) of the previous `lookback` candles, on volume of at
    least `volume_mult` x their mean, votes long (short); confidence (volume / mean) / volume_full."""

    name, group = "MicroBreakout", VOLUME
    config_class = MicroBreakoutConfig
    ranges = {"lookback": _BARS, "volume_mult": _POSITIVE_X, "volume_full": _POSITIVE_X}

    def __init__(self, config: MicroBreakoutConfig) -> None:
        super().__init__(config)
        self._n = n = int(config.lookback)
        self._highs = [0.0] * n
        self._lows = [0.0] * n
        self._index = 0
        self._volume = RollingWindow(n)
        self._mult, self._full = config.volume_mult, config.volume_full

    def on_candle(self, candle: Candle) -> float:
        window, volume, close = self._volume, candle.volume, candle.close
        vote = 0.0
        if window.full and window.mean > 0.0:
            ratio = volume / window.mean
            if ratio >= self._mult:
                confidence = ratio / self._full
                confidence = 1.0 if confidence > 1.0 else confidence
                if close > max(self._highs):
                    vote = confidence
                elif close < min(self._lows):
                    vote = -confidence
        i = self._index
        self._highs[i], self._lows[i] = candle.high, candle.low
        self._index = 0 if i + 1 == self._n else i + 1
        window.push(volume)
        return vote


@dataclass(frozen=True)
class WhaleWatchConfig:
    """WhaleWatch thresholds (units in the comments)."""

    window_s: float = 3600.0  # seconds of whale transfers that count, up to the candle's close
    min_usd: float = 1_000_000.0  # USD; smaller transfers are ignored
    net_min_usd: float = 10_000_000.0  # USD of net exchange outflow (inflow) before the bot votes long (short)
    net_full_usd: float = 100_000_000.0  # USD of net flow at which confidence reaches 1


class WhaleWatch(Bot):
    """On-chain whale transfers (Whale Alert) of `min_usd`+ in the last `window_s`: the net of exchange outflows
    (bullish: coins leave to be held) minus inflows (bearish: coins arrive to be sold), in USD; a net of
    `net_min_usd`+ votes its sign; confidence |net| / net_full_usd. Transfers between exchanges or between
    unknown wallets (direction 0) are ignored. Trade prints are the order-flow bots' input, not this one's."""

    name, group = "WhaleWatch", VOLUME
    reads = frozenset({WHALES})
    config_class = WhaleWatchConfig
    _USD = Range(0, None, "USD", low_open=True)
    ranges = {"window_s": Range(0, 7 * 86_400, "seconds", low_open=True), "min_usd": Range(0, None, "USD"), "net_min_usd": _USD, "net_full_usd": _USD}

    def __init__(self, config: WhaleWatchConfig) -> None:
        super().__init__(config)
        self._window_ns = int(config.window_s * NS_PER_SECOND)
        self._ts: deque[int] = deque()
        self._flows: deque[float] = deque()
        self._net = 0.0  # USD, + out of exchanges

    def on_whale(self, ts_ns: int, amount_usd: float, direction: int) -> None:
        if direction == 0 or amount_usd < self.config.min_usd:
            return
        flow = amount_usd if direction > 0 else -amount_usd
        self._ts.append(ts_ns)
        self._flows.append(flow)
        self._net += flow

    def on_candle(self, candle: Candle) -> float:
        stamps = self._ts
        if not stamps:
            return 0.0
        cutoff = candle.ts - self._window_ns
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
            self._net -= self._flows.popleft()
        if not stamps:
            self._net = 0.0  # no rounding residue once the window is empty
            return 0.0
        net = self._net
        size = net if net > 0.0 else -net
        if size < self.config.net_min_usd:
            return 0.0
        confidence = size / self.config.net_full_usd
        confidence = 1.0 if confidence > 1.0 else confidence
        return confidence if net > 0.0 else -confidence


@dataclass(frozen=True)
class VolExplosionConfig:
    """VolExplosion thresholds (units in the comments)."""

    atr_bars: int = 14  # bars of the average true range (nautilus ATR, exponential average)
    volume_bars: int = 60  # bars of the mean volume
    range_mult: float = 3.0  # the candle's true range must reach this x the ATR before it
    volume_mult: float = 2.0  # and its volume this x the mean volume of the previous volume_bars
    range_full: float = 10.0  # x the ATR at which the range half of the confidence is full
    volume_full: float = 10.0  # x the mean volume at which the volume half of the confidence is full


class VolExplosion(Bot):
    """A candle whose true range is `range_mult`+ x the ATR so far and whose volume is `volume_mult`+ x the mean
    volume votes its direction (close vs open); confidence the mean of (range/ATR)/range_full and
    (volume/mean)/volume_full, capped at 1."""

    name, group = "VolExplosion", VOLUME
    config_class = VolExplosionConfig
    ranges = {
        "atr_bars": _BARS, "volume_bars": _BARS, "range_mult": _POSITIVE_X, "volume_mult": _POSITIVE_X, "range_full": _POSITIVE_X,
        "volume_full": _POSITIVE_X,
    }

    def __init__(self, config: VolExplosionConfig) -> None:
        super().__init__(config)
        self._atr = AverageTrueRange(int(config.atr_bars), MovingAverageType.EXPONENTIAL)
        self._volume = RollingWindow(int(config.volume_bars))
        self._previous_close = math.nan

    def on_candle(self, candle: Candle) -> float:
        atr, window, config = self._atr, self._volume, self.config
        high, low, close, volume = candle.high, candle.low, candle.close, candle.volume
        vote = 0.0
        if window.full and close != candle.open and atr.initialized:
            average = atr.value
            previous = self._previous_close
            true_range = (high if high > previous else previous) - (low if low < previous else previous)
            if average > 0.0 and window.mean > 0.0:
                range_ratio = true_range / average
                volume_ratio = volume / window.mean
                if range_ratio >= config.range_mult and volume_ratio >= config.volume_mult:
                    confidence = 0.5 * (range_ratio / config.range_full + volume_ratio / config.volume_full)
                    confidence = 1.0 if confidence > 1.0 else confidence
                    vote = confidence if close > candle.open else -confidence
        atr.update_raw(high, low, close)
        window.push(volume)
        self._previous_close = close
        return vote


@dataclass(frozen=True)
class BBSqueezeConfig:
    """BBSqueeze thresholds (units in the comments)."""

    bars: int = 20  # closes in the Bollinger band (the bars before the candle)
    k: float = 2.0  # band half-width in population standard deviations
    baseline_bars: int = 240  # bars of the exponential average of the bandwidth a squeeze is measured against
    squeeze_ratio: float = 0.6  # bandwidth at or below this x its average is a squeeze
    release_bars: int = 10  # a close outside the band up to this many bars after the last squeezed bar releases
    excess_full: float = 1.0  # band half-widths beyond the band at which confidence reaches 1


class BBSqueeze(Bot):
    """Bollinger band of the previous `bars` closes (mean +- k std); bandwidth 2k std / mean. A squeeze is a
    bandwidth at or below `squeeze_ratio` x its exponential average; the first close outside the band within
    `release_bars` of a squeezed bar votes the breakout's side; confidence (distance from the middle in
    half-widths - 1) / excess_full. Once per squeeze."""

    name, group = "BBSqueeze", VOLUME
    config_class = BBSqueezeConfig
    ranges = {
        "bars": _BARS, "k": Range(0, 10, "standard deviations", low_open=True), "baseline_bars": _BARS,
        "squeeze_ratio": Range(0, 1, "x the average bandwidth", low_open=True), "release_bars": Range(0, 10_000, "bars"),
        "excess_full": Range(0, 100, "band half-widths", low_open=True),
    }

    def __init__(self, config: BBSqueezeConfig) -> None:
        super().__init__(config)
        self._closes = RollingWindow(int(config.bars))
        self._baseline = ExponentialMovingAverage(int(config.baseline_bars))
        self._bar = 0
        self._squeezed_at = -1_000_000_000  # bar index of the last squeezed bar not yet released

    def on_candle(self, candle: Candle) -> float:
        closes, baseline, config = self._closes, self._baseline, self.config
        close = candle.close
        vote = 0.0
        self._bar += 1
        if closes.full:
            half = config.k * math.sqrt(closes.variance())
            middle = closes.mean
            bandwidth = 2.0 * half / middle
            if baseline.initialized:
                if bandwidth <= config.squeeze_ratio * baseline.value:
                    self._squeezed_at = self._bar
                if half > 0.0 and self._bar - self._squeezed_at <= config.release_bars:
                    distance = close - middle
                    excess = (distance if distance > 0.0 else -distance) / half - 1.0
                    if excess > 0.0:
                        confidence = excess / config.excess_full
                        confidence = 1.0 if confidence > 1.0 else confidence
                        vote = confidence if distance > 0.0 else -confidence
                        self._squeezed_at = -1_000_000_000
            baseline.update_raw(bandwidth)
        closes.push(close)
        return vote


VOLUME_BOTS: list[type[Bot]] = [VolSurge, MicroBreakout, WhaleWatch, VolExplosion, BBSqueeze]
