"""Zone defense: on a touch of an active price zone, does the book refill and absorb, or give way?

A zone is [low, high] with a side: a support is defended by bids, a resistance by asks. A *touch*
starts with the first trade inside the zone (support: price <= high; resistance: price >= low)
after price was last seen outside it on the approach side (support: above high). At that moment the
*defending depth* is read from the book: bid size at prices in [low x (1 - band), high] for a
support (ask size in [low, high x (1 + band)] for a resistance), band = depth_band_bps.

The touch is BROKEN as soon as a trade prints beyond the far edge by more than `break_bps`
(support: below low x (1 - break)); the zone then ends. Otherwise it is judged `touch_window_s`
after it began (on the first trade or book update at or after that time): refill = defending depth
now / depth at the start, absorbed = aggressive quote volume into the zone during the touch (sells
on a support, buys on a resistance). DEFENDED when refill >= min_refill and absorbed >=
min_absorbed_quote; otherwise HELD (price held but the book showed no defense). A defended or held
zone stays active for later touches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from ravebear.strategies.microstructure.types import Book, BookUpdate, Trade
from ravebear.time_units import NS_PER_SECOND


class ZoneOutcome(Enum):
    """How a touch ended."""

    DEFENDED = "defended"
    HELD = "held"
    BROKEN = "broken"


@dataclass(frozen=True)
class ZoneDefenseConfig:
    """Zone-defense settings."""

    touch_window_s: float = 30.0  # a touch is judged this long after it began, seconds
    depth_band_bps: float = 10.0  # defending depth counted up to this far beyond the zone's far edge, bps
    break_bps: float = 5.0  # a trade this far beyond the far edge breaks the zone, bps
    min_refill: float = 1.0  # defending depth after / before for DEFENDED (1 = fully refilled)
    min_absorbed_quote: float = 0.0  # aggressive quote volume into the zone for DEFENDED


@dataclass(frozen=True, slots=True)
class Zone:
    """An active zone: +1 support (bids defend), -1 resistance (asks defend)."""

    key: str
    low: float
    high: float
    side: int


@dataclass(frozen=True, slots=True)
class ZoneTouch:
    """One judged touch."""

    zone: Zone
    start_ns: int
    end_ns: int
    depth_before: float  # defending depth at the touch's first trade (before it)
    depth_after: float  # at the judgement (or the break)
    refill: float  # depth_after / depth_before (inf when it was 0 and grew)
    absorbed_quote: float
    outcome: ZoneOutcome


@dataclass(slots=True)
class _Open:
    start_ns: int
    depth_before: float
    absorbed: float = 0.0


class ZoneDefenseDetector:
    """Watch zones on one instrument's trades and book; return each judged touch."""

    def __init__(self, config: ZoneDefenseConfig | None = None, book: Book | None = None) -> None:
        self.config = config = config or ZoneDefenseConfig()
        self.book = book if book is not None else Book()
        self.zones: dict[str, Zone] = {}
        self._window_ns = int(config.touch_window_s * NS_PER_SECOND)
        self._armed: dict[str, bool] = {}
        self._open: dict[str, _Open] = {}

    def add_zone(self, zone: Zone) -> None:
        """Watch a zone (replacing one with the same key); it is armed once price is seen outside it."""
        self.zones[zone.key] = zone
        self._armed[zone.key] = False
        self._open.pop(zone.key, None)

    def remove_zone(self, key: str) -> None:
        """Stop watching a zone."""
        self.zones.pop(key, None)
        self._armed.pop(key, None)
        self._open.pop(key, None)

    def defending_depth(self, zone: Zone) -> float:
        """Defending size at the zone now (see the module docstring)."""
        band = self.config.depth_band_bps * 1e-4
        if zone.side > 0:
            low = zone.low * (1 - band)
            return sum(size for price, size in self.book.bids.items() if low <= price <= zone.high)
        high = zone.high * (1 + band)
        return sum(size for price, size in self.book.asks.items() if zone.low <= price <= high)

    def on_book(self, update: BookUpdate) -> list[ZoneTouch]:
        """Apply a book update; return touches whose window ended by its time."""
        touches = self.on_time(update.ts_ns)
        self.book.apply(update)
        return touches

    def on_time(self, now_ns: int) -> list[ZoneTouch]:
        """Judge the touches whose window ended at or before now_ns."""
        touches = []
        for key, open_touch in list(self._open.items()):
            if now_ns - open_touch.start_ns >= self._window_ns:
                touches.append(self._judge(self.zones[key], open_touch, now_ns, broken=False))
        return touches

    def on_trade(self, trade: Trade) -> list[ZoneTouch]:
        """Feed one trade (time order, interleaved with book updates); return judged touches."""
        touches = self.on_time(trade.ts_ns)
        break_factor = self.config.break_bps * 1e-4
        for key, zone in list(self.zones.items()):
            support = zone.side > 0
            inside = trade.price <= zone.high if support else trade.price >= zone.low
            if not inside:
                self._armed[key] = True
                continue
            open_touch = self._open.get(key)
            if open_touch is None:
                if not self._armed[key]:
                    continue
                self._armed[key] = False
                open_touch = self._open[key] = _Open(trade.ts_ns, self.defending_depth(zone))
            if trade.aggressor == -zone.side:
                open_touch.absorbed += trade.price * trade.size
            beyond = trade.price < zone.low * (1 - break_factor) if support else trade.price > zone.high * (1 + break_factor)
            if beyond:
                touches.append(self._judge(zone, open_touch, trade.ts_ns, broken=True))
        return touches

    def open_touch(self, key: str, now_ns: int) -> ZoneTouch | None:
        """The zone's touch in progress read as if judged now (DEFENDED or HELD by the same thresholds), None without one."""
        open_touch = self._open.get(key)
        if open_touch is None:
            return None
        after, before = self.defending_depth(self.zones[key]), open_touch.depth_before
        refill = after / before if before > 0 else (math.inf if after > 0 else 0.0)
        defended = refill >= self.config.min_refill and open_touch.absorbed >= self.config.min_absorbed_quote
        outcome = ZoneOutcome.DEFENDED if defended else ZoneOutcome.HELD
        return ZoneTouch(self.zones[key], open_touch.start_ns, now_ns, before, after, refill, open_touch.absorbed, outcome)

    def _judge(self, zone: Zone, open_touch: _Open, now_ns: int, broken: bool) -> ZoneTouch:
        config = self.config
        del self._open[zone.key]
        after = self.defending_depth(zone)
        before = open_touch.depth_before
        refill = after / before if before > 0 else (math.inf if after > 0 else 0.0)
        if broken:
            outcome = ZoneOutcome.BROKEN
            self.remove_zone(zone.key)
        elif refill >= config.min_refill and open_touch.absorbed >= config.min_absorbed_quote:
            outcome = ZoneOutcome.DEFENDED
        else:
            outcome = ZoneOutcome.HELD
        return ZoneTouch(zone, open_touch.start_ns, now_ns, before, after, refill, open_touch.absorbed, outcome)
