"""The dynamics bots (docs/SWARM.md `## Dynamics bots`): FundArb, CorrBreak, FlashCrash, GapFill, PingPong.

Plain float arithmetic on ring buffers (lists written in place, no allocation per candle), so each `on_candle`
costs about a microsecond. `ravebear/research/fast_swarm/dynamics.py` transcribes each one line for line
(same operand order, so the votes come out bit-identical); change a bot and its twin in the same commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ravebear.ranges import Range
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.bot import (
    DYNAMICS,
    FUNDING,
    REFERENCE,
    Bot,
    clip_confidence,
)
from ravebear.time_units import NS_PER_MINUTE

_BPS = Range(0, 10_000, "bps", low_open=True)
_FRACTION = Range(0, 1, "", low_open=True)


@dataclass(frozen=True)
class FundArbConfig:
    """FundArb thresholds."""

    extreme_rate: float = 0.0005  # funding per 8 h, fraction (0.0005 = 0.05 %); at or beyond it the crowd is faded
    full_rate: float = 0.002  # funding per 8 h at which the confidence reaches 1, fraction
    interval_h: float = 8.0  # the venue's funding interval, hours (rates are scaled to 8 h)


class FundArb(Bot):
    """Extreme funding: fade the side that pays it (longs crowded when funding is high: vote short)."""

    name = "FundArb"
    group = DYNAMICS
    reads: ClassVar[frozenset[str]] = frozenset({FUNDING})
    config_class = FundArbConfig
    ranges: ClassVar[dict[str, Range]] = {
        "extreme_rate": Range(0, 0.05, "fraction per 8 h", low_open=True),
        "full_rate": Range(0, 0.05, "fraction per 8 h", low_open=True),
        "interval_h": Range(0, 24, "hours", low_open=True),
    }

    def __init__(self, config: FundArbConfig) -> None:
        super().__init__(config)
        self._scale = 8.0 / config.interval_h
        self._rate = math.nan  # the last funding rate known, per interval

    def on_funding(self, ts_ns: int, rate: float) -> None:
        self._rate = rate

    def on_candle(self, candle: Candle) -> float:
        rate = self._rate * self._scale
        if not abs(rate) >= self.config.extreme_rate:  # NaN (no funding yet) abstains too
            return 0.0
        confidence = clip_confidence(abs(rate) / self.config.full_rate)
        return -confidence if rate > 0.0 else confidence


@dataclass(frozen=True)
class CorrBreakConfig:
    """CorrBreak thresholds."""

    window_bars: int = 120  # 1-minute returns in the rolling beta and correlation, bars
    lag_bars: int = 5  # the lag is measured over the last this many bars
    min_corr: float = 0.7  # correlation over the window needed: the pair normally moves together
    min_gap_bps: float = 20.0  # |beta x reference return - own return| over lag_bars to vote, bps
    full_gap_bps: float = 60.0  # gap at which the confidence reaches 1, bps


class CorrBreak(Bot):
    """The instrument lags or leads its reference (e.g. BTC) against their usual beta: vote the catch-up.

    Returns pair up only over consecutive minutes that both have a candle; a missing reference candle or a gap
    in the instrument's candles starts the window again.
    """

    name = "CorrBreak"
    group = DYNAMICS
    reads: ClassVar[frozenset[str]] = frozenset({REFERENCE})
    config_class = CorrBreakConfig
    ranges: ClassVar[dict[str, Range]] = {
        "window_bars": Range(3, 100_000, "bars"),
        "lag_bars": Range(1, 10_000, "bars"),
        "min_corr": Range(-1, 1, ""),
        "min_gap_bps": _BPS,
        "full_gap_bps": _BPS,
    }

    def __init__(self, config: CorrBreakConfig) -> None:
        super().__init__(config)
        n, lag = config.window_bars, config.lag_bars
        self._r, self._q = [0.0] * n, [0.0] * n  # own / reference returns, ring
        self._closes, self._refs = [0.0] * (lag + 1), [0.0] * (lag + 1)  # ring of the run's last lag + 1 closes
        self._ref_ts, self._ref_close = -1, math.nan
        self._prev_ts, self._prev_close, self._prev_ref = -1, math.nan, math.nan
        self._reset()

    def _reset(self) -> None:
        self._i = self._count = 0  # return ring position / returns in it
        self._run = 0  # consecutive bars with both closes
        self._sr = self._sq = self._srr = self._sqq = self._srq = 0.0

    def on_reference_candle(self, candle: Candle) -> None:
        self._ref_ts, self._ref_close = candle.ts, candle.close

    def on_candle(self, candle: Candle) -> float:
        ts, close = candle.ts, candle.close
        ref = self._ref_close if self._ref_ts == ts else math.nan
        config = self.config
        if math.isnan(ref):  # no reference candle this minute
            self._reset()
        else:
            if self._run > 0 and self._prev_ts == ts - NS_PER_MINUTE:
                self._add(close / self._prev_close - 1.0, ref / self._prev_ref - 1.0)
            elif self._run > 0:
                self._reset()
            lag = config.lag_bars
            k = self._run % (lag + 1)
            self._closes[k], self._refs[k] = close, ref
            self._run += 1
        self._prev_ts, self._prev_close, self._prev_ref = ts, close, ref
        if self._count < config.window_bars or self._run <= config.lag_bars:
            return 0.0
        n = float(self._count)
        mr, mq = self._sr / n, self._sq / n
        cov = self._srq / n - mr * mq
        var_r, var_q = self._srr / n - mr * mr, self._sqq / n - mq * mq
        if var_r <= 0.0 or var_q <= 0.0:
            return 0.0
        if cov / math.sqrt(var_r * var_q) < config.min_corr:
            return 0.0
        old = (self._run - 1 - config.lag_bars) % (config.lag_bars + 1)
        gap = (cov / var_q * (ref / self._refs[old] - 1.0) - (close / self._closes[old] - 1.0)) * 1e4
        if abs(gap) < config.min_gap_bps:
            return 0.0
        confidence = clip_confidence(abs(gap) / config.full_gap_bps)
        return confidence if gap > 0.0 else -confidence

    def _add(self, r: float, q: float) -> None:
        i, window = self._i, self.config.window_bars
        sr, sq, srr, sqq, srq = self._sr, self._sq, self._srr, self._sqq, self._srq
        if self._count == window:
            old_r, old_q = self._r[i], self._q[i]
            sr -= old_r
            sq -= old_q
            srr -= old_r * old_r
            sqq -= old_q * old_q
            srq -= old_r * old_q
        else:
            self._count += 1
        self._r[i], self._q[i] = r, q
        self._sr, self._sq, self._srr, self._sqq, self._srq = sr + r, sq + q, srr + r * r, sqq + q * q, srq + r * q
        self._i = i + 1 if i + 1 < window else 0


@dataclass(frozen=True)
class FlashCrashConfig:
    """FlashCrash thresholds."""

    window_bars: int = 5  # the move is measured over the last this many 1-minute bars
    min_move_bps: float = 150.0  # close below the window's highest high (or above its lowest low) by this, bps
    full_move_bps: float = 500.0  # move at which the confidence reaches 1, bps
    volume_multiple: float = 3.0  # mean volume of the window must exceed this x the baseline's mean volume, x
    baseline_bars: int = 60  # bars before the window in the volume baseline


class FlashCrash(Bot):
    """A sharp drop (spike) within a few minutes on a volume surge: vote the rebound (pullback)."""

    name = "FlashCrash"
    group = DYNAMICS
    config_class = FlashCrashConfig
    ranges: ClassVar[dict[str, Range]] = {
        "window_bars": Range(1, 1_000, "bars"),
        "min_move_bps": _BPS,
        "full_move_bps": _BPS,
        "volume_multiple": Range(0, 1_000, "x", low_open=True),
        "baseline_bars": Range(1, 100_000, "bars"),
    }

    def __init__(self, config: FlashCrashConfig) -> None:
        super().__init__(config)
        self._highs, self._lows = [0.0] * config.window_bars, [0.0] * config.window_bars
        self._volumes = [0.0] * (config.window_bars + config.baseline_bars)  # ring: baseline then window
        self._i = self._v = self._count = 0
        self._recent = self._base = 0.0  # summed volume of the window / of the baseline
        self._ratio = config.volume_multiple * config.window_bars / config.baseline_bars

    def on_candle(self, candle: Candle) -> float:
        config = self.config
        window, size = config.window_bars, config.window_bars + config.baseline_bars
        i, v = self._i, self._v
        self._highs[i], self._lows[i] = candle.high, candle.low
        self._i = i + 1 if i + 1 < window else 0
        volumes = self._volumes
        leaving_window = volumes[(v + config.baseline_bars) % size]  # `window` bars ago: moves to the baseline
        if self._count >= size:
            self._base -= volumes[v]
        if self._count >= window:
            self._recent -= leaving_window
            self._base += leaving_window
        volumes[v] = candle.volume
        self._recent += candle.volume
        self._v = v + 1 if v + 1 < size else 0
        self._count += 1
        if self._count < size or not self._recent > self._ratio * self._base:
            return 0.0
        high, low, close = max(self._highs), min(self._lows), candle.close
        drop = (high - close) / high * 1e4
        rise = (close - low) / low * 1e4
        if drop >= rise:
            return clip_confidence(drop / config.full_move_bps) if drop >= config.min_move_bps else 0.0
        return -clip_confidence(rise / config.full_move_bps) if rise >= config.min_move_bps else 0.0


@dataclass(frozen=True)
class GapFillConfig:
    """GapFill thresholds."""

    min_gap_bps: float = 10.0  # |open - previous close| / previous close that opens a gap, bps
    full_gap_bps: float = 50.0  # distance left to the fill level at which the confidence reaches 1, bps
    max_bars: int = 240  # an unfilled gap is dropped this many bars after it opened, bars


class GapFill(Bot):
    """A gap between consecutive candles (open vs the previous close, also across missing minutes): vote toward
    the previous close until price trades there or the gap expires."""

    name = "GapFill"
    group = DYNAMICS
    config_class = GapFillConfig
    ranges: ClassVar[dict[str, Range]] = {
        "min_gap_bps": _BPS,
        "full_gap_bps": _BPS,
        "max_bars": Range(1, 100_000, "bars"),
    }

    def __init__(self, config: GapFillConfig) -> None:
        super().__init__(config)
        self._prev_close = math.nan
        self._target = math.nan  # the fill level of the open gap, NaN when none
        self._side = 0  # +1 fills upward (gap down), -1 downward
        self._age = 0

    def on_candle(self, candle: Candle) -> float:
        config, prev = self.config, self._prev_close
        self._prev_close = candle.close
        if not math.isnan(prev) and abs(candle.open - prev) / prev * 1e4 >= config.min_gap_bps:
            self._target, self._age = prev, 0
            self._side = 1 if prev > candle.open else -1
        elif self._side:
            self._age += 1
        if not self._side:
            return 0.0
        target = self._target
        if (candle.high >= target if self._side > 0 else candle.low <= target) or self._age > config.max_bars:
            self._side = 0
            return 0.0
        confidence = clip_confidence(abs(target - candle.close) / candle.close * 1e4 / config.full_gap_bps)
        return confidence * self._side


@dataclass(frozen=True)
class PingPongConfig:
    """PingPong thresholds."""

    lookback_bars: int = 30  # bars whose highs and lows make the range, bars
    min_range_bps: float = 8.0  # narrower ranges are too tight to trade, bps of the range low
    max_range_bps: float = 40.0  # wider ones are not a tight range, bps of the range low
    max_efficiency: float = 0.3  # |net close change| / summed |close changes| over the lookback (1 = straight line)
    edge: float = 0.2  # the bottom / top fraction of the range where it buys / sells


class PingPong(Bot):
    """Price oscillating in a tight range: buy near the range low, sell near the range high."""

    name = "PingPong"
    group = DYNAMICS
    config_class = PingPongConfig
    ranges: ClassVar[dict[str, Range]] = {
        "lookback_bars": Range(2, 10_000, "bars"),
        "min_range_bps": Range(0, 10_000, "bps"),
        "max_range_bps": _BPS,
        "max_efficiency": _FRACTION,
        "edge": Range(0, 0.5, "of the range", low_open=True),
    }

    def __init__(self, config: PingPongConfig) -> None:
        super().__init__(config)
        n = config.lookback_bars
        self._highs, self._lows = [0.0] * n, [0.0] * n  # ring of the previous n bars
        self._closes = [0.0] * (n + 1)  # ring of the last n + 1 closes
        self._moves = [0.0] * n  # ring of |close change|
        self._i = self._c = self._count = 0
        self._path = 0.0  # summed |close change| over the last n changes
        self._high = self._low = 0.0  # max of _highs / min of _lows once they hold n bars

    def on_candle(self, candle: Candle) -> float:
        config = self.config
        n, close = config.lookback_bars, candle.close
        i, c, count = self._i, self._c, self._count
        if count > 0:
            move = abs(close - self._closes[c - 1 if c > 0 else n])
            if count > n:
                self._path -= self._moves[i]
            self._moves[i] = move
            self._path += move
        self._closes[c] = close
        self._c = c + 1 if c < n else 0
        vote = 0.0
        if count >= n:  # the rings hold n previous bars
            high, low = self._high, self._low
            width = (high - low) / low * 1e4
            net = abs(close - self._closes[self._c])  # the close n bars ago
            if low <= close <= high and high > low and config.min_range_bps <= width <= config.max_range_bps and self._path > 0.0 and net / self._path <= config.max_efficiency:
                edge = config.edge
                place = (close - low) / (high - low)
                if place < edge:
                    vote = clip_confidence((edge - place) / edge)
                elif place > 1.0 - edge:
                    vote = -clip_confidence((place - (1.0 - edge)) / edge)
        self._push(i, candle.high, candle.low, count + 1 >= n)
        self._i = i + 1 if i + 1 < n else 0
        self._count = count + 1
        return vote

    def _push(self, i: int, high: float, low: float, full: bool) -> None:
        """Write the bar into the rings; keep their max high / min low without a scan unless the extreme leaves."""
        highs, lows = self._highs, self._lows
        old_high, old_low = highs[i], lows[i]
        highs[i], lows[i] = high, low
        if not full:
            return
        if self._count + 1 == self.config.lookback_bars:  # just filled
            self._high, self._low = max(highs), min(lows)
            return
        if high >= self._high:
            self._high = high
        elif old_high == self._high:
            self._high = max(highs)
        if low <= self._low:
            self._low = low
        elif old_low == self._low:
            self._low = min(lows)


DYNAMICS_BOTS: list[type[Bot]] = [FundArb, CorrBreak, FlashCrash, GapFill, PingPong]
