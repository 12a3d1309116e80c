"""The market regime (trending / ranging / volatile) from past data only, with hysteresis and a minimum duration.

Definition in docs/SWARM.md (## Regime). The rule-based classifier (`RuleRegime`, the default) works on
N-minute candles built from the 1-minute candles as they close: the Kaufman efficiency ratio measures trend
strength, the mean true range in bps measures volatility and is ranked against its own trailing history.
`kind: markov` selects the causal filtered Markov-switching model in regime_markov.py.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields

from ravebear.ranges import Range, check_ranges
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.state import RANGING, TRENDING, VOLATILE, WARMUP
from ravebear.time_units import NS_PER_MINUTE

RULE, MARKOV = "rule", "markov"
REGIME_KINDS = (RULE, MARKOV)


@dataclass(frozen=True)
class RegimeConfig:
    """Which classifier and its thresholds. Rule fields first, then the `markov_` ones (kind: markov)."""

    kind: str = RULE  # "rule" (default) or "markov"
    timeframe_min: int = 15  # minutes: the regime candles built from 1-minute candles (UTC-aligned buckets)
    trend_period: int = 16  # regime candles: window of the efficiency ratio
    trend_enter: float = 0.35  # efficiency ratio (0..1): at or above it a ranging market turns trending
    trend_exit: float = 0.25  # efficiency ratio: below it a trending market stops trending
    vol_period: int = 8  # regime candles: window of the mean true range
    vol_lookback: int = 672  # regime candles: trailing history the volatility is ranked against (7 days at 15m)
    vol_min_history: int = 96  # regime candles: history needed before the first label (1 day at 15m)
    volatile_enter: float = 0.90  # percentile (0..1) of volatility at or above which the market turns volatile
    volatile_exit: float = 0.75  # percentile: below it a volatile market calms down
    min_duration: int = 4  # regime candles: a label is held at least this long before it may change
    markov_states: int = 3  # states of the Markov-switching model (2 or 3)
    markov_window: int = 2880  # 1-minute bars: trailing window the model is fitted on
    markov_refit: int = 720  # 1-minute bars between refits
    markov_iterations: int = 30  # EM iterations per fit
    markov_enter: float = 0.8  # probability: filtered probability a new state needs to be adopted
    markov_min_duration: int = 30  # 1-minute bars: a label is held at least this long
    markov_trend_ratio: float = 0.05  # |drift| / sigma per 1-minute bar above which a calm state is trending


REGIME_RANGES = {
    "timeframe_min": Range(1, 1440, "minutes"),
    "trend_period": Range(2, 10_000, "regime candles"),
    "trend_enter": Range(0, 1, "efficiency ratio"),
    "trend_exit": Range(0, 1, "efficiency ratio"),
    "vol_period": Range(1, 10_000, "regime candles"),
    "vol_lookback": Range(10, 1_000_000, "regime candles"),
    "vol_min_history": Range(1, 1_000_000, "regime candles"),
    "volatile_enter": Range(0, 1, "percentile"),
    "volatile_exit": Range(0, 1, "percentile"),
    "min_duration": Range(1, 100_000, "regime candles"),
    "markov_states": Range(2, 3, "states"),
    "markov_window": Range(100, 1_000_000, "bars"),
    "markov_refit": Range(1, 1_000_000, "bars"),
    "markov_iterations": Range(1, 1000, "iterations"),
    "markov_enter": Range(0.5, 1, "probability"),
    "markov_min_duration": Range(1, 100_000, "bars"),
    "markov_trend_ratio": Range(0, 10, "sigma per bar"),
}
REGIME_FIELDS = tuple(f.name for f in fields(RegimeConfig))


def check_regime_config(config: RegimeConfig, prefix: str = "") -> None:
    """Raise ValueError (one line) for an unknown kind, a number out of range or crossed hysteresis bands."""
    if config.kind not in REGIME_KINDS:
        raise ValueError(f"{prefix}kind must be one of {', '.join(REGIME_KINDS)}, got {config.kind!r}")
    check_ranges(config, REGIME_RANGES, prefix)
    if config.trend_exit > config.trend_enter:
        raise ValueError(f"{prefix}trend_exit must be at most trend_enter ({config.trend_enter:g}), got {config.trend_exit:g}")
    if config.volatile_exit > config.volatile_enter:
        raise ValueError(f"{prefix}volatile_exit must be at most volatile_enter ({config.volatile_enter:g}), got {config.volatile_exit:g}")
    if config.vol_min_history > config.vol_lookback:
        raise ValueError(f"{prefix}vol_min_history must be at most vol_lookback ({config.vol_lookback}), got {config.vol_min_history}")


class RuleRegime:
    """The rule-based regime, fed 1-minute candles one at a time; `on_candle` returns the current label.

    The label changes only when a regime candle closes (with the minute that ends its bucket, or, after a gap,
    with the next minute that arrives); the efficiency ratio, the volatility and its percentile of the last
    regime candle are kept in `efficiency`, `volatility_bps` and `percentile` (NaN until known).
    """

    def __init__(self, config: RegimeConfig) -> None:
        check_regime_config(config)
        self.config = config
        self._bucket_ns = config.timeframe_min * NS_PER_MINUTE
        self._start = -1  # open time (ns) of the bucket being built; -1: none
        self._high = self._low = self._close = 0.0
        self._prev_close = float("nan")  # close of the last regime candle
        self._closes: deque[float] = deque(maxlen=config.trend_period + 1)
        self._ranges: deque[float] = deque(maxlen=config.vol_period)  # true range / close, bps
        self._history: deque[float] = deque(maxlen=config.vol_lookback)  # past volatility values
        self.label = WARMUP
        self._held = 0  # regime candles the label has been in force
        self.efficiency = self.volatility_bps = self.percentile = float("nan")
        self.candles = 0  # regime candles closed so far

    def on_candle(self, candle: Candle) -> int:
        """Take one 1-minute candle (ts = close time, ns); return the regime label in force after it."""
        open_ns = candle.ts - NS_PER_MINUTE
        if self._start >= 0 and self._start + self._bucket_ns <= open_ns:
            self._close_bucket()  # its bucket ended during a gap
        if self._start < 0:
            self._start = open_ns - open_ns % self._bucket_ns
            self._high, self._low, self._close = candle.high, candle.low, candle.close
        else:
            self._high = max(self._high, candle.high)
            self._low = min(self._low, candle.low)
            self._close = candle.close
        if candle.ts == self._start + self._bucket_ns:
            self._close_bucket()
        return self.label

    def _close_bucket(self) -> None:
        config = self.config
        high, low, close, prev = self._high, self._low, self._close, self._prev_close
        self._start = -1
        self.candles += 1
        self._prev_close = close
        self._closes.append(close)
        if not math.isnan(prev):  # true range needs the previous regime candle's close
            top = max(prev, high)
            bottom = min(prev, low)
            self._ranges.append((top - bottom) / close * 1e4)
        if len(self._closes) > config.trend_period:
            closes = self._closes
            path = 0.0
            for k in range(1, len(closes)):
                path += abs(closes[k] - closes[k - 1])
            self.efficiency = abs(closes[-1] - closes[0]) / path if path > 0.0 else 0.0
        if len(self._ranges) < config.vol_period:
            return
        vol = 0.0
        for value in self._ranges:  # a plain loop: sum() of floats is compensated since 3.12; the twin adds in order
            vol += value
        vol = vol / config.vol_period
        self.volatility_bps = vol
        history = self._history
        if len(history) >= config.vol_min_history:
            below = 0
            for value in history:
                if value < vol:
                    below += 1
            self.percentile = below / len(history)
        history.append(vol)
        if self.percentile != self.percentile or self.efficiency != self.efficiency:
            return
        self._held += 1
        want = self._wanted()
        if want != self.label and (self.label == WARMUP or self._held >= config.min_duration):
            self.label = want
            self._held = 0

    def _wanted(self) -> int:
        """The label the latest values ask for, with the hysteresis bands of the label in force."""
        config, label = self.config, self.label
        if self.percentile >= (config.volatile_exit if label == VOLATILE else config.volatile_enter):
            return VOLATILE
        if self.efficiency >= (config.trend_exit if label == TRENDING else config.trend_enter):
            return TRENDING
        return RANGING


def make_regime(config: RegimeConfig) -> RuleRegime:
    """The regime classifier `config.kind` names (rule by default)."""
    check_regime_config(config)
    if config.kind == MARKOV:
        from ravebear.strategies.swarm.regime_markov import MarkovRegime

        return MarkovRegime(config)  # type: ignore[return-value]
    return RuleRegime(config)
