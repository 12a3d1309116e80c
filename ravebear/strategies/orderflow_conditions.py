"""Entry conditions from order flow, and the zone-defense requirement, read from a `LevelContextTracker`.

A level strategy with any condition ON (`entry_filter.orderflow`) or `require_defended_zone` subscribes to its
instrument's trades and its L2 book deltas (or quotes, `book_source: quotes`), feeds them and its level events to
one tracker (`microstructure.level_context`), and before each entry reads the context of the signal's level (the
touched level; a signal without one: its entry price as a zero-width level on the entry's side) at the candle's
close. Each ON condition, for a long (a short mirrors it):

cvd: aligned
    delta over `context.delta_window_s` before the entry > cvd_min_delta: aggressive buyers lead.
cvd: diverging
    the same, while price fell over that window (price move < 0): buyers absorb a falling market.
obi_min
    OBI of the top `context.book.levels` levels >= obi_min (bids outweigh asks by that much; a short needs <= -obi_min).
absorption_min_tier
    the absorption tier at the level >= this: sellers hitting the support (buyers at a resistance) were absorbed
    nearby within `context.absorption_window_s`.
whale_within_s
    a whale trade (notional >= `context.whales.min_notional`) at most this many seconds before the entry; with
    `whale_side: aligned` it must be a buyer's.
require_defended_zone (the zone-defense strategy)
    the touched level's zone is defended (its latest judged touch was, or the touch in progress meets the
    defense thresholds so far); a range level or a signal without a level is not.

No trades yet (or no book, for obi_min and the zone) is missing data: the entry filter's `missing_data` decides
(pass: the condition agrees; block: it refuses). The first failing condition refuses the entry; it is counted
under its guard name (orderflow_cvd, orderflow_obi, orderflow_absorption, orderflow_whale, zone_not_defended) and
published as that guard's `blocked` event, like the other refusals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from nautilus_trader.model.data import OrderBookDeltas, QuoteTick, TradeTick

from ravebear.ranges import Range, check_ranges
from ravebear.strategies.microstructure.level_context import LevelContext, LevelContextConfig, LevelContextTracker, level_key
from ravebear.strategies.microstructure.types import Quote, Trade

CVD_MODES = ("", "aligned", "diverging")
WHALE_SIDES = ("any", "aligned")
BOOK_SOURCES = ("deltas", "quotes")
_PREFIX = "entry_filter.orderflow."
_RANGES = {
    "cvd_min_delta": Range(0, None, "base units (or contracts)"),
    "obi_min": Range(-1, 1, "order-book imbalance"),
    "absorption_min_tier": Range(0, 3, "tier", note="0 = off"),
    "whale_within_s": Range(0, 86_400, "seconds", note="0 = off"),
}
_SIDES = {"support": 1, "resistance": -1, "range": 0}


class OrderFlowConditionsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Order-flow entry conditions (each off by default) and the context they read (units in the comments)."""

    cvd: str = ""  # "" off | aligned | diverging
    cvd_min_delta: float = 0.0  # |delta| in the entry's direction must exceed this, base units (or contracts)
    obi_min: float | None = None  # OBI toward the entry at least this, in [-1, 1]; None: off
    absorption_min_tier: int = 0  # absorption tier at the level at least this (1-3); 0: off
    whale_within_s: float = 0.0  # a whale trade at most this long before the entry, seconds; 0: off
    whale_side: str = "any"  # any | aligned (a buyer's whale for a long)
    book_source: str = "deltas"  # deltas: L2 order book deltas | quotes: L1 quotes as a one-level book
    context: dict[str, Any] = msgspec.field(default_factory=dict)  # LevelContextConfig, e.g. {"delta_window_s": 60, "whales": {...}}

    def __post_init__(self) -> None:
        for name, allowed in (("cvd", CVD_MODES), ("whale_side", WHALE_SIDES), ("book_source", BOOK_SOURCES)):
            if getattr(self, name) not in allowed:
                shown = ", ".join(repr(a) if not a else a for a in allowed)
                raise ValueError(f"{_PREFIX}{name} must be one of {shown}, got {getattr(self, name)!r}")
        check_ranges(self, _RANGES, _PREFIX)  # `context` is checked by context_config (the strategy's constructor calls it)

    def context_config(self) -> LevelContextConfig:
        """The level context's settings; ValueError names a bad key as entry_filter.orderflow.context.<key>."""
        from ravebear.strategies.orderflow_actor import level_context_config

        return level_context_config(self.context, f"{_PREFIX}context.")

    def conditions(self) -> tuple[str, ...]:
        """The ON conditions, in the order they are checked."""
        on = {"cvd": bool(self.cvd), "obi": self.obi_min is not None, "absorption": self.absorption_min_tier > 0, "whale": self.whale_within_s > 0}
        return tuple(name for name, enabled in on.items() if enabled)


@dataclass(frozen=True)
class OrderFlowRefusal:
    """Why an entry was refused: the guard name it is counted under and a sentence with the figures."""

    guard: str
    detail: str
    context: LevelContext


def describe(context: LevelContext, window_s: float) -> str:
    """The context in a few words: OBI, delta, absorption, whale, zone."""
    book = f"OBI {context.obi:+.2f}" if context.has_book else "no book"
    whale = f"whale {context.whale_age_s:.0f} s ago ({'buy' if context.whale_side > 0 else 'sell'})" if context.whale_age_s >= 0 else "no whale"
    zone = f", zone {context.zone_state}" if context.zone_state else ""
    return (f"{book}, delta {context.delta:+.4g} and price {context.price_move_bps:+.1f} bps over {window_s:g} s, "
            f"absorption tier {context.absorption_tier}, {whale}{zone}")  # fmt: skip


class OrderFlowConditions:
    """The conditions of one strategy's instrument: feed it ticks, book deltas and level events; `check` each entry."""

    def __init__(self, config: OrderFlowConditionsConfig, missing_data: str, require_defended_zone: bool = False) -> None:
        self.config = config
        self.tracker = LevelContextTracker(config.context_config())
        self._on = config.conditions()
        self._zone = require_defended_zone
        self._missing_passes = missing_data == "pass"
        self.trades = 0  # trades and book updates fed (a node that serves none judged every entry on missing data)
        self.book_updates = 0

    # -- feeding (node time: ts_init, the clock the candles' close times are on) ---------------------------

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Feed a trade (one without an aggressor side is left out)."""
        from ravebear.strategies.orderflow_actor import trade_from_tick

        trade = trade_from_tick(tick)
        if trade is not None:
            self.trades += 1
            self.tracker.on_trade(Trade(tick.ts_init, trade.price, trade.size, trade.aggressor))

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Feed a batch of L2 deltas."""
        from ravebear.strategies.orderflow_actor import feed_tracker

        tracker = self.tracker
        self.book_updates += len(deltas.deltas)
        for delta in deltas.deltas:
            feed_tracker(tracker, delta)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        """Feed an L1 quote as the whole book."""
        self.book_updates += 1
        self.tracker.on_quote(Quote(tick.ts_init, tick.bid_price.as_double(), tick.bid_size.as_double(), tick.ask_price.as_double(), tick.ask_size.as_double()))

    def unfed(self) -> str | None:
        """A warning when the node served no trades or no book (every entry then met missing data), else None."""
        missing = [name for name, count in (("trades", self.trades), ("book", self.book_updates)) if not count]
        if not missing:
            return None
        policy = "passed" if self._missing_passes else "refused"
        return (f"order-flow conditions got no {' and no '.join(missing)} (a backtest needs `kind: trades` and `kind: {'quotes' if self.config.book_source == 'quotes' else 'book'}` "
                f"data entries): the conditions reading them {policy} every entry (entry_filter.missing_data)")

    def on_level(self, event: Any) -> None:
        """Feed a level event of the strategy's engine (zones are watched from their creation)."""
        self.tracker.on_level(event)

    # -- checking ----------------------------------------------------------------------------------------

    def check(self, ts: int, direction: int, price: float, level: Any = None) -> OrderFlowRefusal | None:
        """None when every ON condition (and the zone requirement) agrees with a `direction` entry at ts; else why not."""
        if level is not None:
            side = _SIDES[level.side.value]
            key = level_key(level) if side else None
            context = self.tracker.context(ts, level.low, level.high, side or direction, key)
        else:
            context = self.tracker.context(ts, price, price, direction)
        config = self.config
        window = self.tracker.config.delta_window_s
        traded = context.last_price > 0
        for name in self._on:
            if name == "cvd":
                toward = context.delta * direction
                if not traded:
                    failed = self._missing("orderflow_cvd", "CVD: no trades yet", context)
                elif toward <= config.cvd_min_delta:
                    failed = OrderFlowRefusal("orderflow_cvd", f"CVD not aligned: delta {context.delta:+.4g} over {window:g} s (need {'+' if direction > 0 else '-'}{config.cvd_min_delta:g} beyond)", context)
                elif config.cvd == "diverging" and context.price_move_bps * direction >= 0:
                    failed = OrderFlowRefusal("orderflow_cvd", f"CVD not diverging: delta {context.delta:+.4g} with price {context.price_move_bps:+.1f} bps over {window:g} s", context)
                else:
                    failed = None
            elif name == "obi":
                if not context.has_book:
                    failed = self._missing("orderflow_obi", "OBI: no book", context)
                elif context.obi * direction < config.obi_min:
                    failed = OrderFlowRefusal("orderflow_obi", f"OBI {context.obi:+.3f} toward the entry {context.obi * direction:+.3f} < {config.obi_min:g}", context)
                else:
                    failed = None
            elif name == "absorption":
                if not traded:
                    failed = self._missing("orderflow_absorption", "absorption: no trades yet", context)
                elif context.absorption_tier < config.absorption_min_tier:
                    failed = OrderFlowRefusal("orderflow_absorption", f"absorption tier {context.absorption_tier} at the level < {config.absorption_min_tier}", context)
                else:
                    failed = None
            else:
                failed = self._check_whale(context, direction, traded)
            if failed is not None:
                return failed
        if self._zone:
            if not context.zone_state:
                return OrderFlowRefusal("zone_not_defended", "no zone to defend (a range level or no level)", context)
            if not context.has_book:
                return self._missing("zone_not_defended", "zone defense: no book", context)
            if not context.zone_defended:
                return OrderFlowRefusal("zone_not_defended", f"zone {context.zone_state}, not defended (refill {context.zone_refill:.2f}, absorbed {context.zone_absorbed_quote:,.0f} quote)", context)
        return None

    def _check_whale(self, context: LevelContext, direction: int, traded: bool) -> OrderFlowRefusal | None:
        config = self.config
        if not traded:
            return self._missing("orderflow_whale", "whales: no trades yet", context)
        age = context.whale_age_s
        if age < 0 or age > config.whale_within_s:
            seen = f"the latest {age:.0f} s ago" if age >= 0 else "none yet"
            return OrderFlowRefusal("orderflow_whale", f"no whale trade within {config.whale_within_s:g} s ({seen})", context)
        if config.whale_side == "aligned" and context.whale_side != direction:
            return OrderFlowRefusal("orderflow_whale", f"the whale trade {age:.0f} s ago was a {'buy' if context.whale_side > 0 else 'sell'}, against the entry", context)
        return None

    def _missing(self, guard: str, text: str, context: LevelContext) -> OrderFlowRefusal | None:
        return None if self._missing_passes else OrderFlowRefusal(guard, f"{text} (missing_data: block)", context)
