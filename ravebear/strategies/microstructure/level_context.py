"""A level's order-flow context at an instant: the book, the delta, absorption, whales and zone defense around it.

`LevelContextTracker` is fed one instrument's trades and book updates (time order) and its level events; for
a level's CREATED and TOUCHED events (and for any price on request, `context`) it reads, at the event's time T:
- OBI (plain and weighted, top `book.levels` levels) and spread of the book;
- delta: aggressive buy size - aggressive sell size of the trades in (T - delta_window_s, T], and the price move
  over the same window (last trade price now vs the last one at or before the window start), bps;
- absorption tier at the level: the highest tier of the absorption buckets that ended in (T - absorption_window_s, T],
  closed within `near_bps` of the zone [low, high] (0 inside it), whose aggressors pushed INTO the level
  (sellers at a support, buyers at a resistance; either side at a range or a bare price);
- whale tag: the latest whale trade before T (its age in seconds, side and notional);
- zone defense (support and resistance levels): the `ZoneDefenseDetector` watches every created level as a zone;
  `zone_state` is `testing` while a trade-level touch is open, else the outcome of its latest judged touch
  (`defended`, `held`, `broken`) or `untested`; `zone_defended` is True when the latest judged touch was
  defended or the open one meets the defense thresholds so far.

Everything at T counts only items with a time before T: items stamped exactly T are held back until a later item
(or a later level) arrives, so the context does not depend on whether a node hands the bar at T before or after
the ticks stamped T; the items of one instant are applied book first, then trades, whatever order they came in. One implementation for the OrderFlowActor, the strategies' order-flow conditions and research.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ravebear.strategies.microstructure.absorption import AbsorptionBucket, AbsorptionConfig, AbsorptionDetector
from ravebear.strategies.microstructure.book_features import BookFeatureConfig, book_features
from ravebear.strategies.microstructure.cvd import RollingSum
from ravebear.strategies.microstructure.types import Book, BookUpdate, Quote, Trade
from ravebear.strategies.microstructure.whales import WhaleConfig, WhaleDetector, WhaleTrade
from ravebear.strategies.microstructure.zone_defense import Zone, ZoneDefenseConfig, ZoneDefenseDetector, ZoneOutcome, ZoneTouch
from ravebear.time_units import NS_PER_SECOND

# the level engine's event kinds and sides by value (this package imports nothing but itself: a level event is duck-typed)
_ENDING = ("invalidated", "expired")
_READ = ("created", "touched")
_SIDES = {"support": 1, "resistance": -1, "range": 0}


@dataclass(frozen=True)
class LevelContextConfig:
    """Windows and distances of the level context (and the detectors it runs)."""

    delta_window_s: float = 60.0  # signed aggressive volume and price move over this long before the event, seconds
    absorption_window_s: float = 60.0  # absorption buckets that ended this long before the event count, seconds
    near_bps: float = 10.0  # a bucket counts at the level when its last price is this close to the zone, bps
    book: BookFeatureConfig = field(default_factory=BookFeatureConfig)
    absorption: AbsorptionConfig = field(default_factory=AbsorptionConfig)
    whales: WhaleConfig = field(default_factory=WhaleConfig)
    zone_defense: ZoneDefenseConfig = field(default_factory=ZoneDefenseConfig)


@dataclass(frozen=True, slots=True)
class LevelContext:
    """The order flow around a level (or a price) at ts_ns; see the module docstring."""

    ts_ns: int
    side: int  # +1 support, -1 resistance, 0 range or a bare price
    low: float
    high: float
    last_price: float  # last trade before ts_ns (0 before any)
    has_book: bool  # both book sides held a level (the book fields are 0 otherwise)
    obi: float  # [-1, 1], + bids outweigh asks
    weighted_obi: float
    spread_bps: float
    delta: float  # aggressive buy - sell size over the delta window, base units (or contracts)
    price_move_bps: float  # over the delta window
    absorption_tier: int  # 0-3 at the level (see the module docstring)
    whale_age_s: float  # seconds since the latest whale trade (-1: none yet)
    whale_side: int  # its aggressor (0: none)
    whale_notional: float  # quote currency
    zone_state: str  # untested | testing | defended | held | broken; "" for a range level or a bare price
    zone_defended: bool
    zone_refill: float  # defending depth now (or at judgement) / at the touch's start (0 without a touch)
    zone_absorbed_quote: float  # aggressive quote volume into the zone during that touch


def level_key(level: Any) -> str:
    """A level's identity across events (and across LevelEventData round trips)."""
    return f"{level.timeframe}|{level.kind.value}|{level.side.value}|{level.created_ts}|{level.low!r}|{level.high!r}"


def _distance_bps(price: float, low: float, high: float) -> float:
    if low <= price <= high:
        return 0.0
    return min(abs(price - low), abs(price - high)) / price * 1e4


class LevelContextTracker:
    """One instrument's order-flow state, read as a `LevelContext` at level events."""

    def __init__(self, config: LevelContextConfig | None = None) -> None:
        self.config = config = config or LevelContextConfig()
        self.book = Book()
        self.zones = ZoneDefenseDetector(config.zone_defense, self.book)
        self._absorption = AbsorptionDetector(config.absorption)
        self._whales = WhaleDetector(config.whales)
        self._delta_ns = int(config.delta_window_s * NS_PER_SECOND)
        self._absorption_ns = int(config.absorption_window_s * NS_PER_SECOND)
        self._delta = RollingSum(self._delta_ns)
        self._prices: deque[tuple[int, float]] = deque()  # (ts, price): one at or before the delta window, then all in it
        self._buckets: deque[AbsorptionBucket] = deque()
        self._whale: WhaleTrade | None = None
        self._last_price = 0.0
        self._judged: dict[str, ZoneTouch] = {}  # zone key -> its latest judged touch
        self._held: list[tuple[int, object]] = []  # items stamped _held_ts, applied once time moves past it
        self._held_ts = -1
        self._retiring: list[tuple[int, str]] = []  # (ts, zone key) of levels that ended; dropped once time passes ts

    # -- feeding -------------------------------------------------------------------------------------

    def on_trade(self, trade: Trade) -> None:
        """Feed one trade (time order, interleaved with book updates)."""
        self._hold(trade.ts_ns, 0, trade)

    def on_book(self, update: BookUpdate) -> None:
        """Feed one L2 level change."""
        self._hold(update.ts_ns, 1, update)

    def on_clear(self, ts_ns: int) -> None:
        """The book is cleared (a fresh snapshot follows)."""
        self._hold(ts_ns, 2, None)

    def on_quote(self, quote: Quote) -> None:
        """Make the book the quote's best bid and ask (an L1 book)."""
        self._hold(quote.ts_ns, 3, quote)

    def on_level(self, event: Any) -> LevelContext | None:
        """Feed a level event (`levels.model.LevelEvent`, time order with the rest); return its level's context for
        CREATED and TOUCHED."""
        level, kind = event.level, event.kind.value
        side = _SIDES[level.side.value]
        key = level_key(level)
        self._release_before(event.ts)
        if kind == "created" and side:
            self.zones.add_zone(Zone(key, level.low, level.high, side))
        elif kind in _ENDING:  # retired after this instant: a signal on the same candle still reads the zone
            self._retiring.append((event.ts, key))
        if kind in _READ:
            return self.context(event.ts, level.low, level.high, side, key if side else None)
        return None

    # -- reading -------------------------------------------------------------------------------------

    def context(self, ts_ns: int, low: float, high: float, side: int, zone_key: str | None = None) -> LevelContext:
        """The context of the zone [low, high] (a price: low == high) defended from `side` at ts_ns."""
        self._release_before(ts_ns)
        config = self.config
        for touch in self.zones.on_time(ts_ns):
            self._judged[touch.zone.key] = touch
        features = book_features(self.book, config.book)
        self._delta.evict(ts_ns)
        prices, cutoff = self._prices, ts_ns - self._delta_ns
        while len(prices) > 1 and prices[1][0] <= cutoff:
            prices.popleft()
        move = (self._last_price - prices[0][1]) / prices[0][1] * 1e4 if prices else 0.0
        closed = self._absorption.advance(ts_ns)
        if closed is not None:
            self._buckets.append(closed)
        buckets, start = self._buckets, ts_ns - self._absorption_ns
        while buckets and buckets[0].end_ns <= start:
            buckets.popleft()
        tier = max(
            (b.tier for b in buckets if (not side or b.side == -side) and _distance_bps(b.close, low, high) <= config.near_bps), default=0,
        )  # fmt: skip
        whale = self._whale
        state, defended, refill, absorbed = "", False, 0.0, 0.0
        if zone_key is not None and (zone_key in self.zones.zones or zone_key in self._judged):
            touch = self.zones.open_touch(zone_key, ts_ns) if zone_key in self.zones.zones else None
            if touch is not None:
                state = "testing"
            else:
                touch = self._judged.get(zone_key)
                state = touch.outcome.value if touch is not None else "untested"
            if touch is not None:
                defended, refill, absorbed = touch.outcome is ZoneOutcome.DEFENDED, touch.refill, touch.absorbed_quote
        return LevelContext(
            ts_ns, side, low, high, self._last_price, features is not None,
            features.obi if features else 0.0, features.weighted_obi if features else 0.0, features.spread_bps if features else 0.0,
            self._delta.total, move, tier,
            (ts_ns - whale.trade.ts_ns) / NS_PER_SECOND if whale else -1.0, whale.trade.aggressor if whale else 0, whale.notional if whale else 0.0,
            state, defended, refill, absorbed,
        )  # fmt: skip

    # -- applying ------------------------------------------------------------------------------------

    def _hold(self, ts_ns: int, kind: int, item: object) -> None:
        if ts_ns != self._held_ts:
            self._release()
            self._held_ts = ts_ns
        self._held.append((kind, item))

    def _release_before(self, ts_ns: int) -> None:
        if self._held and self._held_ts < ts_ns:
            self._release()
        if self._retiring and self._retiring[0][0] < ts_ns:
            keep = []
            for ended, key in self._retiring:
                if ended < ts_ns:
                    self.zones.remove_zone(key)
                    self._judged.pop(key, None)
                else:
                    keep.append((ended, key))
            self._retiring = keep

    def _release(self) -> None:
        # one instant's items: the book's first, then the trades (each in arrival order), so the result does not
        # depend on how a node interleaves two streams stamped alike
        held, self._held = self._held, []
        for kind, item in held:
            if kind == 0:
                continue
            if kind == 1:
                for touch in self.zones.on_book(item):  # type: ignore[arg-type]
                    self._judged[touch.zone.key] = touch
            elif kind == 2:
                self.book.clear()
            else:
                for touch in self.zones.on_time(item.ts_ns):  # type: ignore[union-attr]
                    self._judged[touch.zone.key] = touch
                self.book.apply_quote(item)  # type: ignore[arg-type]
        for kind, item in held:
            if kind == 0:
                self._apply_trade(item)  # type: ignore[arg-type]

    def _apply_trade(self, trade: Trade) -> None:
        for touch in self.zones.on_trade(trade):
            self._judged[touch.zone.key] = touch
        ts = trade.ts_ns
        self._delta.add(ts, trade.size if trade.aggressor > 0 else -trade.size)
        self._prices.append((ts, trade.price))
        prices, cutoff = self._prices, ts - self._delta_ns
        while len(prices) > 1 and prices[1][0] <= cutoff:
            prices.popleft()
        bucket = self._absorption.update(trade)
        if bucket is not None:
            self._buckets.append(bucket)
            while len(self._buckets) > 1 and self._buckets[0].end_ns <= ts - self._absorption_ns:
                self._buckets.popleft()
        whale = self._whales.update(trade)
        if whale is not None:
            self._whale = whale
        self._last_price = trade.price
