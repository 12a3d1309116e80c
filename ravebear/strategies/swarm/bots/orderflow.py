"""The order-flow bots (docs/SWARM.md `## Order-flow bots`): CVDDiv, OBImbalance, HiddenWall, SuppDefense, TakerAggr.

They read the instrument's trades and/or L2 book between candles through the microstructure detectors
(`strategies/microstructure/`: CVD, book/OBI, absorption, zone defense) and vote at each 1-minute candle close.
Without trades or a book they abstain, so in bars-only research they have no compiled twin: they always vote 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ravebear.ranges import Range
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.microstructure.absorption import (
    AbsorptionBucket,
    AbsorptionConfig,
    AbsorptionDetector,
)
from ravebear.strategies.microstructure.book_features import imbalance
from ravebear.strategies.microstructure.cvd import CvdTracker
from ravebear.strategies.microstructure.types import (
    ASK,
    BID,
    Book,
    BookUpdate,
    Quote,
    Trade,
)
from ravebear.strategies.microstructure.zone_defense import (
    Zone,
    ZoneDefenseConfig,
    ZoneDefenseDetector,
    ZoneOutcome,
    ZoneTouch,
)
from ravebear.strategies.swarm.bot import BOOK, ORDERFLOW, TRADES, Bot, clip_confidence
from ravebear.time_units import NS_PER_SECOND

_BPS = Range(0, 10_000, "bps", low_open=True)
_IMBALANCE = Range(0, 1, "", low_open=True)
_SECONDS = Range(0, 86_400, "seconds", low_open=True)


@dataclass(frozen=True)
class CVDDivConfig:
    """CVDDiv thresholds."""

    window_bars: int = 5  # price and CVD are compared over the last this many 1-minute bars
    min_move_bps: float = 10.0  # |close change| over the window, bps
    min_imbalance: float = 0.1  # |CVD change| / traded volume over the window, against the move, fraction
    full_imbalance: float = 0.4  # imbalance at which the confidence reaches 1, fraction


class CVDDiv(Bot):
    """Price and cumulative volume delta disagree: price fell while takers net bought (vote long), or rose while
    they net sold (vote short): the move is not backed by the flow."""

    name = "CVDDiv"
    group = ORDERFLOW
    reads: ClassVar[frozenset[str]] = frozenset({TRADES})
    config_class = CVDDivConfig
    ranges: ClassVar[dict[str, Range]] = {
        "window_bars": Range(1, 10_000, "bars"),
        "min_move_bps": _BPS,
        "min_imbalance": _IMBALANCE,
        "full_imbalance": _IMBALANCE,
    }

    def __init__(self, config: CVDDivConfig) -> None:
        super().__init__(config)
        self._cvd = CvdTracker()
        self._volume = 0.0  # traded size fed so far
        size = config.window_bars + 1
        self._closes, self._cvds, self._volumes = [0.0] * size, [0.0] * size, [0.0] * size  # rings at candle closes
        self._i = self._count = 0

    def on_trade(self, trade: Trade) -> None:
        self._cvd.update(trade)
        self._volume += trade.size

    def on_candle(self, candle: Candle) -> float:
        config = self.config
        i, size = self._i, config.window_bars + 1
        self._closes[i], self._cvds[i], self._volumes[i] = candle.close, self._cvd.total, self._volume
        self._i = old = i + 1 if i + 1 < size else 0  # the slot written `window_bars` candles ago
        self._count += 1
        if self._count < size:
            return 0.0
        traded = self._volume - self._volumes[old]
        if traded <= 0.0:
            return 0.0
        move = (candle.close - self._closes[old]) / self._closes[old] * 1e4
        flow = (self._cvd.total - self._cvds[old]) / traded
        if move <= -config.min_move_bps and flow >= config.min_imbalance:
            return clip_confidence(flow / config.full_imbalance)
        if move >= config.min_move_bps and flow <= -config.min_imbalance:
            return -clip_confidence(-flow / config.full_imbalance)
        return 0.0


@dataclass(frozen=True)
class OBImbalanceConfig:
    """OBImbalance thresholds."""

    levels: int = 10  # top N levels per side summed, levels
    min_imbalance: float = 0.3  # |(bids - asks) / (bids + asks)| to vote, fraction
    full_imbalance: float = 0.8  # imbalance at which the confidence reaches 1, fraction
    max_age_s: float = 60.0  # a book not updated for this long is stale: abstain, seconds


class OBImbalance(Bot):
    """The resting size of the top N levels leans to one side at the candle close: vote that side."""

    name = "OBImbalance"
    group = ORDERFLOW
    reads: ClassVar[frozenset[str]] = frozenset({BOOK})
    config_class = OBImbalanceConfig
    ranges: ClassVar[dict[str, Range]] = {
        "levels": Range(1, 1_000, "levels"),
        "min_imbalance": _IMBALANCE,
        "full_imbalance": _IMBALANCE,
        "max_age_s": _SECONDS,
    }

    def __init__(self, config: OBImbalanceConfig) -> None:
        super().__init__(config)
        self.book = Book()
        self._max_age_ns = int(config.max_age_s * NS_PER_SECOND)

    def on_book(self, update: BookUpdate) -> None:
        self.book.apply(update)

    def on_quote(self, quote: Quote) -> None:
        self.book.apply_quote(quote)

    def on_candle(self, candle: Candle) -> float:
        book, config = self.book, self.config
        if not book.bids or not book.asks or candle.ts - book.ts_ns > self._max_age_ns:
            return 0.0
        obi = imbalance(sum(size for _, size in book.top(BID, config.levels)), sum(size for _, size in book.top(ASK, config.levels)))
        if abs(obi) < config.min_imbalance:
            return 0.0
        confidence = clip_confidence(abs(obi) / config.full_imbalance)
        return confidence if obi > 0.0 else -confidence


@dataclass(frozen=True)
class HiddenWallConfig:
    """HiddenWall thresholds (the absorption tiers are the detector's: 2x / 3 bps, 3x / 2 bps, 5x / 1 bps)."""

    bucket_s: float = 10.0  # absorption bucket length, seconds
    lookback_buckets: int = 30  # buckets in the mean |delta| an absorbed bucket is measured against, buckets
    min_tier: int = 1  # least absorption tier (1-3) that shows a wall, tier
    window_s: float = 60.0  # a wall counts this long after its bucket closed, seconds


class HiddenWall(Bot):
    """Heavy taker flow absorbed without moving price (`AbsorptionDetector`): passive size larger than the book
    shows keeps refilling against it. Vote against the absorbed takers (sellers absorbed: a bid wall, long)."""

    name = "HiddenWall"
    group = ORDERFLOW
    reads: ClassVar[frozenset[str]] = frozenset({TRADES})
    config_class = HiddenWallConfig
    ranges: ClassVar[dict[str, Range]] = {
        "bucket_s": Range(0, 3_600, "seconds", low_open=True),
        "lookback_buckets": Range(1, 100_000, "buckets"),
        "min_tier": Range(1, 3, "tier"),
        "window_s": _SECONDS,
    }

    def __init__(self, config: HiddenWallConfig) -> None:
        super().__init__(config)
        self._detector = AbsorptionDetector(AbsorptionConfig(bucket_s=config.bucket_s, lookback_buckets=config.lookback_buckets))
        self._window_ns = int(config.window_s * NS_PER_SECOND)
        self._end_ns = -1  # end of the latest bucket of min_tier or more
        self._vote = 0.0

    def on_trade(self, trade: Trade) -> None:
        bucket = self._detector.update(trade)
        if bucket is not None:
            self._take(bucket)

    def _take(self, bucket: AbsorptionBucket) -> None:
        if bucket.tier >= self.config.min_tier and bucket.side:
            self._end_ns, self._vote = bucket.end_ns, -bucket.side * bucket.tier / 3.0

    def on_candle(self, candle: Candle) -> float:
        bucket = self._detector.advance(candle.ts)
        if bucket is not None:
            self._take(bucket)
        return self._vote if self._end_ns >= 0 and candle.ts - self._end_ns < self._window_ns else 0.0


@dataclass(frozen=True)
class SuppDefenseConfig:
    """SuppDefense thresholds."""

    lookback_bars: int = 30  # the support / resistance are the lowest low / highest high of the last this many bars
    zone_bps: float = 5.0  # zone depth inside the level, bps
    touch_window_s: float = 30.0  # a touch is judged this long after it began, seconds
    depth_band_bps: float = 10.0  # defending depth counted up to this far beyond the zone, bps
    break_bps: float = 5.0  # a trade this far beyond the zone breaks it, bps
    min_refill: float = 1.0  # defending depth after / before for a defended touch, x
    full_refill: float = 2.0  # refill at which the confidence reaches 1, x
    window_s: float = 60.0  # a defended touch counts this long after it was judged, seconds


class SuppDefense(Bot):
    """The support (resistance) of the recent candles is touched and defended: the bids (asks) there refill while
    taker flow hits them (`ZoneDefenseDetector`). Vote long off a defended support, short off a resistance."""

    name = "SuppDefense"
    group = ORDERFLOW
    reads: ClassVar[frozenset[str]] = frozenset({TRADES, BOOK})
    config_class = SuppDefenseConfig
    ranges: ClassVar[dict[str, Range]] = {
        "lookback_bars": Range(1, 10_000, "bars"),
        "zone_bps": _BPS,
        "touch_window_s": _SECONDS,
        "depth_band_bps": Range(0, 10_000, "bps"),
        "break_bps": Range(0, 10_000, "bps"),
        "min_refill": Range(0, 1_000, "x"),
        "full_refill": Range(0, 1_000, "x", low_open=True),
        "window_s": _SECONDS,
    }

    def __init__(self, config: SuppDefenseConfig) -> None:
        super().__init__(config)
        zone_config = ZoneDefenseConfig(config.touch_window_s, config.depth_band_bps, config.break_bps, config.min_refill)
        self.book = Book()
        self._detector = ZoneDefenseDetector(zone_config, self.book)
        self._highs, self._lows = [0.0] * config.lookback_bars, [0.0] * config.lookback_bars
        self._i = self._count = 0
        self._support = self._resistance = math.nan
        self._window_ns = int(config.window_s * NS_PER_SECOND)
        self._end_ns = -1  # when the latest defended touch was judged
        self._vote = 0.0

    def on_trade(self, trade: Trade) -> None:
        self._take(self._detector.on_trade(trade))

    def on_book(self, update: BookUpdate) -> None:
        self._take(self._detector.on_book(update))

    def on_quote(self, quote: Quote) -> None:
        self._take(self._detector.on_time(quote.ts_ns))
        self.book.apply_quote(quote)

    def _take(self, touches: list[ZoneTouch]) -> None:
        for touch in touches:
            if touch.outcome is ZoneOutcome.DEFENDED:
                self._end_ns = touch.end_ns
                self._vote = touch.zone.side * clip_confidence(touch.refill / self.config.full_refill)

    def on_candle(self, candle: Candle) -> float:
        self._take(self._detector.on_time(candle.ts))
        vote = self._vote if self._end_ns >= 0 and candle.ts - self._end_ns < self._window_ns else 0.0
        i, n = self._i, self.config.lookback_bars
        self._highs[i], self._lows[i] = candle.high, candle.low
        self._i = i + 1 if i + 1 < n else 0
        self._count += 1
        highs, lows = (self._highs, self._lows) if self._count >= n else (self._highs[: self._count], self._lows[: self._count])
        support, resistance = min(lows), max(highs)
        depth = self.config.zone_bps * 1e-4
        if support != self._support:
            self._support = support
            self._detector.add_zone(Zone("support", support, support * (1 + depth), 1))
        if resistance != self._resistance:
            self._resistance = resistance
            self._detector.add_zone(Zone("resistance", resistance * (1 - depth), resistance, -1))
        return vote


@dataclass(frozen=True)
class TakerAggrConfig:
    """TakerAggr thresholds."""

    window_bars: int = 5  # taker volume summed over the last this many 1-minute bars
    min_imbalance: float = 0.2  # |buy - sell| / (buy + sell) taker volume to vote, fraction (0.2 = 60 % / 40 %)
    full_imbalance: float = 0.6  # imbalance at which the confidence reaches 1, fraction (0.6 = 80 % / 20 %)


class TakerAggr(Bot):
    """Takers lean to one side: the taker buy / sell volume ratio over the window; vote with the aggressors."""

    name = "TakerAggr"
    group = ORDERFLOW
    reads: ClassVar[frozenset[str]] = frozenset({TRADES})
    config_class = TakerAggrConfig
    ranges: ClassVar[dict[str, Range]] = {
        "window_bars": Range(1, 10_000, "bars"),
        "min_imbalance": _IMBALANCE,
        "full_imbalance": _IMBALANCE,
    }

    def __init__(self, config: TakerAggrConfig) -> None:
        super().__init__(config)
        self._buy = self._sell = 0.0  # taker size in the open candle
        self._buys, self._sells = [0.0] * config.window_bars, [0.0] * config.window_bars
        self._i = 0

    def on_trade(self, trade: Trade) -> None:
        if trade.aggressor > 0:
            self._buy += trade.size
        else:
            self._sell += trade.size

    def on_candle(self, candle: Candle) -> float:
        i, config = self._i, self.config
        # sums rebuilt from the ring (window_bars small) so no rounding residue builds up over a long run
        self._buys[i], self._sells[i] = self._buy, self._sell
        self._buy = self._sell = 0.0
        self._i = i + 1 if i + 1 < config.window_bars else 0
        buy, sell = sum(self._buys), sum(self._sells)
        flow = imbalance(buy, sell)
        if buy + sell <= 0.0 or abs(flow) < config.min_imbalance:
            return 0.0
        confidence = clip_confidence(abs(flow) / config.full_imbalance)
        return confidence if flow > 0.0 else -confidence


ORDERFLOW_BOTS: list[type[Bot]] = [CVDDiv, OBImbalance, HiddenWall, SuppDefense, TakerAggr]
