"""The momentum bots (docs/SWARM.md, "Momentum bots"): MACDCross, GoldenCross, ATHVolume, RSIRev, TrendRespect.

Bar windows count candles (gaps skipped); ATHVolume's span is in days of wall time. Each bot's numba twin is in
`ravebear/research/fast_swarm/momentum.py`; change one and you change the other in the same commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nautilus_trader.indicators.averages import ExponentialMovingAverage
from nautilus_trader.indicators.momentum import RelativeStrengthIndex
from nautilus_trader.indicators.trend import MovingAverageConvergenceDivergence

from ravebear.ranges import Range
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.bot import MOMENTUM, Bot
from ravebear.strategies.swarm.bots.windows import RollingWindow, TimeExtremes
from ravebear.time_units import NS_PER_DAY

_BARS = Range(2, 100_000, "bars")
_BPS_FULL = Range(0, 10_000, "bps", low_open=True)
_POSITIVE_X = Range(0, 1_000, "x", low_open=True)


@dataclass(frozen=True)
class MACDCrossConfig:
    """MACDCross thresholds (units in the comments)."""

    fast_bars: int = 12  # bars of the fast exponential average of closes
    slow_bars: int = 26  # bars of the slow one (more than fast_bars)
    signal_bars: int = 9  # bars of the exponential average of the MACD line (the signal line)
    full_bps: float = 0.5  # |MACD - signal| in bps of the close at which confidence reaches 1


class MACDCross(Bot):
    """The MACD line (nautilus MACD: EMA(fast) - EMA(slow) of closes) crossing above (below) its signal line
    (nautilus EMA of the MACD line) votes long (short) on the crossing candle; confidence the histogram
    |MACD - signal| in bps of the close / full_bps."""

    name, group = "MACDCross", MOMENTUM
    config_class = MACDCrossConfig
    ranges = {"fast_bars": _BARS, "slow_bars": Range(3, 100_000, "bars"), "signal_bars": _BARS, "full_bps": _BPS_FULL}

    def __init__(self, config: MACDCrossConfig) -> None:
        if config.slow_bars <= config.fast_bars:
            raise ValueError(f"slow_bars must be more than fast_bars ({config.fast_bars}), got {config.slow_bars}")
        super().__init__(config)
        self._macd = MovingAverageConvergenceDivergence(int(config.fast_bars), int(config.slow_bars))
        self._signal = ExponentialMovingAverage(int(config.signal_bars))
        self._previous = math.nan  # histogram at the previous candle; NaN until both lines are ready
        self._scale = 1e4 / config.full_bps

    def on_candle(self, candle: Candle) -> float:
        macd, signal = self._macd, self._signal
        close = candle.close
        macd.update_raw(close)
        signal.update_raw(macd.value)
        if not (macd.initialized and signal.initialized):
            return 0.0
        histogram, previous = macd.value - signal.value, self._previous
        self._previous = histogram
        if histogram > 0.0 >= previous or histogram < 0.0 <= previous:  # NaN previous: never a cross
            confidence = (histogram if histogram > 0.0 else -histogram) / close * self._scale
            confidence = 1.0 if confidence > 1.0 else confidence
            return confidence if histogram > 0.0 else -confidence
        return 0.0


@dataclass(frozen=True)
class GoldenCrossConfig:
    """GoldenCross thresholds (units in the comments)."""

    fast_bars: int = 50  # bars of the fast simple average of closes
    slow_bars: int = 200  # bars of the slow one (more than fast_bars)
    full_bps: float = 1.0  # |fast - slow| in bps of the slow average at which confidence reaches 1


class GoldenCross(Bot):
    """The simple average of the last `fast_bars` closes crossing above (below) that of the last `slow_bars`
    votes long (short) on the crossing candle; confidence |fast - slow| in bps of slow / full_bps. Simple
    averages kept here (nautilus's SMA copies its window into a new array each bar: 7 us at 200 bars)."""

    name, group = "GoldenCross", MOMENTUM
    config_class = GoldenCrossConfig
    ranges = {"fast_bars": _BARS, "slow_bars": Range(3, 100_000, "bars"), "full_bps": _BPS_FULL}

    def __init__(self, config: GoldenCrossConfig) -> None:
        if config.slow_bars <= config.fast_bars:
            raise ValueError(f"slow_bars must be more than fast_bars ({config.fast_bars}), got {config.slow_bars}")
        super().__init__(config)
        self._fast = RollingWindow(int(config.fast_bars))
        self._slow = RollingWindow(int(config.slow_bars))
        self._previous = math.nan  # fast - slow at the previous candle; NaN until the slow window is full
        self._scale = 1e4 / config.full_bps

    def on_candle(self, candle: Candle) -> float:
        fast, slow = self._fast, self._slow
        fast.push(candle.close)
        slow.push(candle.close)
        if not slow.full:
            return 0.0
        gap, previous = fast.mean - slow.mean, self._previous
        self._previous = gap
        if gap > 0.0 >= previous or gap < 0.0 <= previous:
            confidence = (gap if gap > 0.0 else -gap) / slow.mean * self._scale
            confidence = 1.0 if confidence > 1.0 else confidence
            return confidence if gap > 0.0 else -confidence
        return 0.0


@dataclass(frozen=True)
class ATHVolumeConfig:
    """ATHVolume thresholds (units in the comments)."""

    lookback_days: float = 3.0  # days of candles whose highest high (lowest low) the close must break
    volume_bars: int = 60  # bars of the mean volume
    volume_mult: float = 3.0  # the candle's volume must reach this x that mean
    volume_full: float = 10.0  # x the mean volume at which confidence reaches 1


class ATHVolume(Bot):
    """A close above the highest high (below the lowest low) of the candles closed in the last `lookback_days`,
    on volume of `volume_mult`+ x the mean of the previous `volume_bars` candles, votes long (short): a new
    rolling all-time high (low) that volume confirms. Abstains until the history spans lookback_days.
    Confidence (volume / mean) / volume_full."""

    name, group = "ATHVolume", MOMENTUM
    config_class = ATHVolumeConfig
    ranges = {"lookback_days": Range(0, 365, "days", low_open=True), "volume_bars": _BARS, "volume_mult": _POSITIVE_X, "volume_full": _POSITIVE_X}

    def __init__(self, config: ATHVolumeConfig) -> None:
        super().__init__(config)
        self._extremes = TimeExtremes(int(config.lookback_days * NS_PER_DAY))
        self._volume = RollingWindow(int(config.volume_bars))
        self._mult, self._full = config.volume_mult, config.volume_full

    def on_candle(self, candle: Candle) -> float:
        extremes, window = self._extremes, self._volume
        close, volume = candle.close, candle.volume
        vote = 0.0
        if extremes.drop_before(candle.ts) and window.full and window.mean > 0.0:
            ratio = volume / window.mean
            if ratio >= self._mult:
                confidence = ratio / self._full
                confidence = 1.0 if confidence > 1.0 else confidence
                if close > extremes.high:
                    vote = confidence
                elif close < extremes.low:
                    vote = -confidence
        extremes.push(candle.ts, candle.high, candle.low)
        window.push(volume)
        return vote


@dataclass(frozen=True)
class RSIRevConfig:
    """RSIRev thresholds (units in the comments)."""

    bars: int = 14  # bars of the RSI (nautilus RSI: exponential averages of gains and losses, alpha 2/(bars+1))
    oversold: float = 30.0  # RSI points (0-100); leaving the zone below it upwards votes long
    overbought: float = 70.0  # RSI points; leaving the zone above it downwards votes short
    depth_full: float = 15.0  # RSI points beyond the threshold the excursion reached for confidence 1


class RSIRev(Bot):
    """The RSI coming back above `oversold` (below `overbought`) after an excursion beyond it votes long (short)
    on that candle: the extreme reverting. Confidence how far the excursion went past the threshold (RSI
    points) / depth_full."""

    name, group = "RSIRev", MOMENTUM
    config_class = RSIRevConfig
    _POINTS = Range(0, 100, "RSI points", low_open=True, high_open=True)
    ranges = {"bars": _BARS, "oversold": _POINTS, "overbought": _POINTS, "depth_full": Range(0, 100, "RSI points", low_open=True)}

    def __init__(self, config: RSIRevConfig) -> None:
        if config.overbought <= config.oversold:
            raise ValueError(f"overbought must be above oversold ({config.oversold:g}), got {config.overbought:g}")
        super().__init__(config)
        self._rsi = RelativeStrengthIndex(int(config.bars))
        self._low, self._high = config.oversold / 100.0, config.overbought / 100.0
        self._scale = 100.0 / config.depth_full
        self._extreme = 0.5  # most extreme RSI (0-1) of the excursion under way; 0.5 = none

    def on_candle(self, candle: Candle) -> float:
        rsi = self._rsi
        rsi.update_raw(candle.close)
        if not rsi.initialized:
            return 0.0
        value, extreme = rsi.value, self._extreme
        if value < self._low:
            if value < extreme:
                self._extreme = value
            return 0.0
        if value > self._high:
            if value > extreme:
                self._extreme = value
            return 0.0
        self._extreme = 0.5
        if extreme < self._low:
            confidence = (self._low - extreme) * self._scale
            return 1.0 if confidence > 1.0 else confidence
        if extreme > self._high:
            confidence = (extreme - self._high) * self._scale
            return -1.0 if confidence > 1.0 else -confidence
        return 0.0


@dataclass(frozen=True)
class TrendRespectConfig:
    """TrendRespect thresholds (units in the comments)."""

    ema_bars: int = 50  # bars of the trend line (nautilus EMA of closes)
    slope_bars: int = 10  # bars over which the trend line's slope is measured
    min_slope_bps: float = 3.0  # the line must have moved this many bps over slope_bars to be a trend
    touch_bps: float = 5.0  # the candle's low (high) must come within this many bps of the line, or cross it
    slope_full_bps: float = 15.0  # slope in bps at which confidence reaches 1


class TrendRespect(Bot):
    """In an uptrend (the EMA rose `min_slope_bps`+ over `slope_bars`), a candle whose low comes within
    `touch_bps` of the EMA (as of the previous close) yet closes above it and above its open votes long: the
    pullback held. The mirror in a downtrend votes short. Confidence |slope| / slope_full_bps."""

    name, group = "TrendRespect", MOMENTUM
    config_class = TrendRespectConfig
    ranges = {
        "ema_bars": _BARS, "slope_bars": Range(1, 10_000, "bars"), "min_slope_bps": Range(0, 10_000, "bps"), "touch_bps": Range(0, 10_000, "bps"),
        "slope_full_bps": _BPS_FULL,
    }

    def __init__(self, config: TrendRespectConfig) -> None:
        super().__init__(config)
        self._ema = ExponentialMovingAverage(int(config.ema_bars))
        self._n = n = int(config.slope_bars) + 1
        self._lines = [0.0] * n  # the EMA at the last slope_bars + 1 closes, a ring
        self._index = 0
        self._count = 0
        self._touch = config.touch_bps * 1e-4
        self._min_slope = config.min_slope_bps * 1e-4
        self._scale = 1e4 / config.slope_full_bps

    def on_candle(self, candle: Candle) -> float:
        ema, lines = self._ema, self._lines
        vote = 0.0
        if self._count >= self._n:
            i = self._index
            line = lines[i - 1]  # the EMA at the previous close
            slope = (line - lines[i]) / lines[i]  # over slope_bars
            close = candle.close
            if slope >= self._min_slope:
                if candle.low <= line * (1.0 + self._touch) and close > line and close > candle.open:
                    vote = slope * self._scale
                    vote = 1.0 if vote > 1.0 else vote
            elif slope <= -self._min_slope:
                if candle.high >= line * (1.0 - self._touch) and close < line and close < candle.open:
                    vote = -slope * self._scale
                    vote = -1.0 if vote > 1.0 else -vote
        ema.update_raw(candle.close)
        if ema.initialized:
            i = self._index
            lines[i] = ema.value
            self._index = 0 if i + 1 == self._n else i + 1
            self._count += 1
        return vote


MOMENTUM_BOTS: list[type[Bot]] = [MACDCross, GoldenCross, ATHVolume, RSIRev, TrendRespect]
