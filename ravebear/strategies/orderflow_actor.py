"""`OrderFlowActor`: the pure order-flow detectors inside a node, for any number of instruments.

Subscribes to each instrument's trade ticks and its L2 order book deltas (or its quotes, `book_source: quotes`),
turns them into the detectors' plain types (`microstructure.types`), feeds CVD, book features (OBI, spread,
depth), absorption tiers and whale tagging, and publishes:
- an `OrderFlowSnapshot` per `interval_s` of data time (intervals aligned to the epoch like bars; an interval
  is closed by the first item at or after its end, and an interval without any item gets no snapshot);
- an `OrderFlowEvent` for each absorption bucket of tier >= 1 and each whale trade;
- with `enrich_levels`, a `LevelFlowContext` for each CREATED and TOUCHED `LevelEventData` of its instruments (from the
  LevelActor): the level's order-flow context (`microstructure.level_context`, settings `level_context`), read from
  the items the node handed before the level event's time (ts_init: the bar close).
Data time is each item's `ts_init` (the node's clock); the detectors get the exchange's `ts_event`.
Thresholds are the detectors' own config dataclasses (`cvd`, `book`, `absorption`, `whales`), range-checked
with `microstructure.ranges`; `instruments` overrides them per instrument (e.g. a COIN-M whale multiplier).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from typing import Any

import msgspec

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import DataType, OrderBookDelta, OrderBookDeltas, QuoteTick, TradeTick
from nautilus_trader.model.enums import AggressorSide, BookAction, BookType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.level_data import LevelEventData
from ravebear.catalog.orderflow.events import LevelFlowContext, OrderFlowEvent, OrderFlowSnapshot
from ravebear.ranges import Range, check_ranges
from ravebear.strategies.level_actor import from_data
from ravebear.strategies.microstructure.absorption import AbsorptionBucket, AbsorptionConfig, AbsorptionDetector
from ravebear.strategies.microstructure.book_features import BookFeatureConfig, book_features
from ravebear.strategies.microstructure.cvd import CvdConfig, CvdTracker
from ravebear.strategies.microstructure.level_context import LevelContext, LevelContextConfig, LevelContextTracker
from ravebear.strategies.microstructure.ranges import check_orderflow_ranges
from ravebear.strategies.microstructure.sessions import SessionHours
from ravebear.strategies.microstructure.types import BUY, SELL, Book, BookUpdate, Quote, Trade
from ravebear.strategies.microstructure.whales import WhaleConfig, WhaleDetector, WhaleTrade
from ravebear.strategies.microstructure.zone_defense import ZoneDefenseConfig
from ravebear.time_units import NS_PER_SECOND

SECTIONS = {"cvd": CvdConfig, "book": BookFeatureConfig, "absorption": AbsorptionConfig, "whales": WhaleConfig, "zone_defense": ZoneDefenseConfig}
CONTEXT_RANGES = {
    "delta_window_s": Range(0, 86_400, "seconds", low_open=True), "absorption_window_s": Range(0, 86_400, "seconds", low_open=True),
    "near_bps": Range(0, 5_000, "bps"),
}  # fmt: skip


def level_context_data_type(instrument_id: str) -> DataType:
    """The data type of the `LevelFlowContext`s the actor publishes for one instrument (`enrich_levels`)."""
    return DataType(LevelFlowContext, metadata={"instrument_id": instrument_id})


def orderflow_data_types(instrument_id: str) -> tuple[DataType, DataType]:
    """The snapshot and event data types the actor publishes for one instrument. A consumer subscribes with
    `subscribe_data(data_type, instrument_id=InstrumentId.from_str(instrument_id))` and gets them in `on_data`."""
    metadata = {"instrument_id": instrument_id}
    return DataType(OrderFlowSnapshot, metadata=metadata), DataType(OrderFlowEvent, metadata=metadata)


class OrderFlowActorConfig(ActorConfig, frozen=True, kw_only=True):
    """Instruments, the snapshot interval and the detectors' thresholds (each section: that detector config's fields)."""

    instrument_ids: list[str]
    interval_s: float = 60.0  # one snapshot per this much data time, seconds (60: one per 1-minute bar)
    book_source: str = "deltas"  # deltas: L2 order book deltas | quotes: L1 quotes as a one-level book | none
    cvd: dict[str, Any] = msgspec.field(default_factory=dict)  # CvdConfig, e.g. {"window_s": 300}
    book: dict[str, Any] = msgspec.field(default_factory=dict)  # BookFeatureConfig, e.g. {"levels": 10}
    absorption: dict[str, Any] = msgspec.field(default_factory=dict)  # AbsorptionConfig
    whales: dict[str, Any] = msgspec.field(default_factory=dict)  # WhaleConfig, e.g. {"min_notional": 1000000}
    instruments: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)  # instrument id -> {section: {field: value}}
    enrich_levels: bool = False  # subscribe to LevelEventData (the LevelActor's) and publish each one's LevelFlowContext
    level_context: dict[str, Any] = msgspec.field(default_factory=dict)  # LevelContextConfig, e.g. {"delta_window_s": 60, "near_bps": 10}
    publish: bool = True  # publish snapshots and events on the message bus
    record: bool = False  # keep every snapshot and event in memory (tests, research parity)

    def __post_init__(self) -> None:
        check_ranges(self, {"interval_s": Range(0, 86_400, "seconds", low_open=True)})
        if self.book_source not in ("deltas", "quotes", "none"):
            raise ValueError(f"book_source must be one of deltas, quotes, none, got {self.book_source!r}")
        level_context_config(self.level_context)  # raises on a bad key or threshold, naming it
        for instrument_id in self.instrument_ids:
            detector_configs(self, instrument_id)  # raises on a bad threshold, naming it


def _section(section: str, values: dict[str, Any], prefix: str = "") -> Any:
    """A detector config dataclass from run-file values (lists to tuples, session dicts to SessionHours); errors name
    `<prefix><section>.<key>` as the actor's config spells it."""
    cls = SECTIONS[section]
    names = [item.name for item in fields(cls)]
    for key in values:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; {section} has {', '.join(names)}"
            raise ValueError(f"unknown key '{prefix}{section}.{key}'{hint}")
    converted = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
    if "sessions" in converted:
        converted["sessions"] = tuple(SessionHours(**hours) if isinstance(hours, dict) else hours for hours in converted["sessions"])
    config = cls(**converted)
    try:
        check_orderflow_ranges(section, config)
    except ValueError as exc:
        raise ValueError(f"{prefix}{str(exc).removeprefix('orderflow.')}") from None
    return config


def level_context_config(values: dict[str, Any], prefix: str = "level_context.") -> LevelContextConfig:
    """A `LevelContextConfig` from run-file values; errors name `<prefix><key>` (nested sections: their detector's keys)."""
    names = [item.name for item in fields(LevelContextConfig)]
    plain: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; {prefix.rstrip('.')} has {', '.join(names)}"
            raise ValueError(f"unknown key '{prefix}{key}'{hint}")
        plain[key] = _section(key, value or {}, prefix) if key in SECTIONS else value
    config = LevelContextConfig(**plain)
    check_ranges(config, CONTEXT_RANGES, prefix)
    return config


def detector_configs(config: OrderFlowActorConfig, instrument_id: str) -> dict[str, Any]:
    """The detector configs of one instrument: the actor's sections with its `instruments` overrides."""
    overrides = config.instruments.get(instrument_id) or {}
    sections = {"cvd": config.cvd, "book": config.book, "absorption": config.absorption, "whales": config.whales}  # zone_defense: level_context
    for name in overrides:
        if name not in sections:
            raise ValueError(f"unknown key 'instruments.{instrument_id}.{name}'; allowed: {', '.join(sections)}")
    return {
        name: _section(name, {**values, **(overrides.get(name) or {})}, f"instruments.{instrument_id}." if overrides.get(name) else "")
        for name, values in sections.items()
    }


def trade_from_tick(tick: TradeTick) -> Trade | None:
    """The detectors' trade of a TradeTick (None when the venue gave no aggressor side)."""
    side = tick.aggressor_side
    aggressor = BUY if side == AggressorSide.BUYER else SELL if side == AggressorSide.SELLER else 0
    if not aggressor:
        return None
    return Trade(tick.ts_event, tick.price.as_double(), tick.size.as_double(), aggressor)


def apply_delta(book: Book, delta: OrderBookDelta) -> None:
    """Apply one L2 delta to a plain Book: CLEAR empties it, DELETE sets size 0, ADD/UPDATE the level's new size."""
    if delta.action == BookAction.CLEAR:
        book.clear()
        return
    order = delta.order
    size = 0.0 if delta.action == BookAction.DELETE else order.size.as_double()
    book.apply(BookUpdate(delta.ts_event, 1 if order.side == OrderSide.BUY else -1, order.price.as_double(), size))


_CLEAR, _DELETE, _BUY = BookAction.CLEAR, BookAction.DELETE, OrderSide.BUY


def feed_tracker(tracker: Any, delta: OrderBookDelta) -> None:
    """Hand one book delta to a LevelContextTracker: a CLEAR empties its book, anything else updates a level."""
    update = book_update(delta)
    if update is None:
        tracker.on_clear(delta.ts_init)
    else:
        tracker.on_book(update)


def book_update(delta: OrderBookDelta) -> BookUpdate | None:
    """The level change of an L2 delta stamped at its ts_init (node time), None for a CLEAR."""
    action = delta.action
    if action == _CLEAR:
        return None
    order = delta.order
    return BookUpdate(delta.ts_init, 1 if order.side == _BUY else -1, order.price.as_double(), 0.0 if action == _DELETE else order.size.as_double())


def level_flow_context(instrument_id: InstrumentId, data: LevelEventData, context: LevelContext) -> LevelFlowContext:
    """A level event's context as custom data, stamped like the event."""
    return LevelFlowContext(
        instrument_id=instrument_id, event=data.event, kind=data.kind, side=data.side, timeframe=data.timeframe, low=data.low,
        high=data.high, created_ts=data.created_ts, last_price=context.last_price, has_book=context.has_book, obi=context.obi,
        weighted_obi=context.weighted_obi, spread_bps=context.spread_bps, delta=context.delta, price_move_bps=context.price_move_bps,
        absorption_tier=context.absorption_tier, whale_age_s=context.whale_age_s, whale_side=context.whale_side,
        whale_notional=context.whale_notional, zone_state=context.zone_state, zone_defended=context.zone_defended,
        zone_refill=context.zone_refill, zone_absorbed_quote=context.zone_absorbed_quote, ts_event=data.ts_event, ts_init=data.ts_init,
    )  # fmt: skip


def quote_from_tick(tick: QuoteTick) -> Quote:
    """The detectors' L1 quote of a QuoteTick."""
    return Quote(tick.ts_event, tick.bid_price.as_double(), tick.bid_size.as_double(), tick.ask_price.as_double(), tick.ask_size.as_double())


def absorption_event(instrument_id: InstrumentId, bucket: AbsorptionBucket, ts_init: int) -> OrderFlowEvent:
    """An absorption event: ts_event the bucket's end (exchange time), ts_init when the closing trade reached the node."""
    return OrderFlowEvent(
        instrument_id=instrument_id, event="absorption", side=bucket.side, price=bucket.close, size=abs(bucket.delta),
        tier=bucket.tier, multiple=bucket.multiple, move_bps=bucket.move_bps, ts_event=bucket.end_ns, ts_init=ts_init,
    )  # fmt: skip


def whale_event(instrument_id: InstrumentId, whale: WhaleTrade, ts_init: int) -> OrderFlowEvent:
    """A whale-trade event stamped at the trade."""
    trade = whale.trade
    return OrderFlowEvent(
        instrument_id=instrument_id, event="whale", side=trade.aggressor, price=trade.price, size=trade.size, notional=whale.notional,
        run_trades=whale.run_trades, cluster=whale.cluster, ts_event=trade.ts_ns, ts_init=ts_init,
    )  # fmt: skip


@dataclass
class InstrumentFlow:
    """One instrument's detectors and the open interval's counters."""

    instrument_id: InstrumentId
    interval_ns: int
    configs: dict[str, Any]
    cvd: CvdTracker = field(init=False)
    absorption: AbsorptionDetector = field(init=False)
    whales: WhaleDetector = field(init=False)
    book: Book = field(default_factory=Book)
    interval_end: int = 0  # 0: no item yet
    trades: int = 0
    buy_size: float = 0.0
    sell_size: float = 0.0
    last_price: float = 0.0
    absorption_tier: int = 0
    whale_count: int = 0

    def __post_init__(self) -> None:
        self.cvd = CvdTracker(self.configs["cvd"])
        self.absorption = AbsorptionDetector(self.configs["absorption"])
        self.whales = WhaleDetector(self.configs["whales"])

    def advance(self, ts_init: int) -> OrderFlowSnapshot | None:
        """Move the data clock to ts_init; return the snapshot of the interval this closes, if any."""
        if ts_init < self.interval_end:
            return None
        snapshot = self.snapshot() if self.interval_end else None
        self.interval_end = (ts_init // self.interval_ns + 1) * self.interval_ns
        self.trades, self.buy_size, self.sell_size, self.absorption_tier, self.whale_count = 0, 0.0, 0.0, 0, 0
        return snapshot

    def on_trade(self, trade: Trade, ts_init: int) -> list[OrderFlowEvent]:
        """Feed a trade to CVD, absorption and whales; return the events it caused."""
        self.cvd.update(trade)
        self.trades += 1
        if trade.aggressor > 0:
            self.buy_size += trade.size
        else:
            self.sell_size += trade.size
        self.last_price = trade.price
        events = []
        bucket = self.absorption.update(trade)
        if bucket is not None:
            self.absorption_tier = bucket.tier
            if bucket.tier >= 1:
                events.append(absorption_event(self.instrument_id, bucket, ts_init))
        whale = self.whales.update(trade)
        if whale is not None:
            self.whale_count += 1
            events.append(whale_event(self.instrument_id, whale, ts_init))
        return events

    def snapshot(self) -> OrderFlowSnapshot:
        """The snapshot of the open interval, stamped at its end."""
        features = book_features(self.book, self.configs["book"])
        end = self.interval_end
        return OrderFlowSnapshot(
            instrument_id=self.instrument_id, interval_start=end - self.interval_ns, trades=self.trades, buy_size=self.buy_size,
            sell_size=self.sell_size, last_price=self.last_price, cvd_total=self.cvd.total, cvd_session=self.cvd.session,
            cvd_window=self.cvd.window, session=self.cvd.session_name, has_book=features is not None,
            obi=features.obi if features else 0.0, weighted_obi=features.weighted_obi if features else 0.0,
            spread_bps=features.spread_bps if features else 0.0, bid_depth=features.bid_depth if features else 0.0,
            ask_depth=features.ask_depth if features else 0.0, absorption_tier=self.absorption_tier, whales=self.whale_count,
            ts_event=end, ts_init=end,
        )  # fmt: skip


class OrderFlowActor(Actor):
    """Run the order-flow detectors per instrument on trades and book updates; publish snapshots and events."""

    def __init__(self, config: OrderFlowActorConfig) -> None:
        super().__init__(config)
        self._flows: dict[InstrumentId, InstrumentFlow] = {}
        self._snapshot_types: dict[InstrumentId, DataType] = {}
        self._event_types: dict[InstrumentId, DataType] = {}
        self._trackers: dict[InstrumentId, LevelContextTracker] = {}  # enrich_levels only
        self.snapshots: list[OrderFlowSnapshot] = []
        self.events: list[OrderFlowEvent] = []
        self.contexts: list[LevelFlowContext] = []

    def flow(self, instrument_id: str) -> InstrumentFlow:
        """An instrument's detectors and book (for a strategy in the same process)."""
        return self._flows[InstrumentId.from_str(instrument_id)]

    def on_start(self) -> None:
        """Create each instrument's detectors and subscribe to its trades and book data."""
        config = self.config
        interval_ns = int(config.interval_s * NS_PER_SECOND)
        for name in config.instrument_ids:
            instrument_id = InstrumentId.from_str(name)
            self._flows[instrument_id] = InstrumentFlow(instrument_id, interval_ns, detector_configs(config, name))
            self._snapshot_types[instrument_id], self._event_types[instrument_id] = orderflow_data_types(name)
            self.subscribe_trade_ticks(instrument_id)
            if config.enrich_levels:
                self._trackers[instrument_id] = LevelContextTracker(level_context_config(config.level_context))
                self.subscribe_data(DataType(LevelEventData, metadata={"instrument_id": name}), instrument_id=instrument_id)
            if config.book_source == "deltas":
                # managed=False: the detectors keep their own book; the data engine need not build a second one
                self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP, managed=False)
            elif config.book_source == "quotes":
                self.subscribe_quote_ticks(instrument_id)

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Feed a trade; publish the snapshot it closes and the events it causes."""
        flow = self._flows[tick.instrument_id]
        self._advance(flow, tick.ts_init)
        trade = trade_from_tick(tick)
        if trade is not None:
            for event in flow.on_trade(trade, tick.ts_init):
                self._emit_event(event)
            tracker = self._trackers.get(tick.instrument_id)
            if tracker is not None:
                tracker.on_trade(Trade(tick.ts_init, trade.price, trade.size, trade.aggressor))

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Apply a batch of L2 deltas to the instrument's book."""
        flow = self._flows[deltas.instrument_id]
        book = flow.book
        tracker = self._trackers.get(deltas.instrument_id)
        for delta in deltas.deltas:
            self._advance(flow, delta.ts_init)
            apply_delta(book, delta)
            if tracker is not None:
                feed_tracker(tracker, delta)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        """Make the instrument's book the quote's best bid and ask (`book_source: quotes`)."""
        flow = self._flows[tick.instrument_id]
        self._advance(flow, tick.ts_init)
        quote = quote_from_tick(tick)
        flow.book.apply_quote(quote)
        tracker = self._trackers.get(tick.instrument_id)
        if tracker is not None:
            tracker.on_quote(Quote(tick.ts_init, quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size))

    def on_data(self, data: Any) -> None:
        """A level event of one of the instruments: publish its order-flow context (CREATED and TOUCHED)."""
        if not isinstance(data, LevelEventData):
            return
        tracker = self._trackers.get(data.instrument_id)
        if tracker is None:
            return
        context = tracker.on_level(from_data(data))
        if context is None:
            return
        enriched = level_flow_context(data.instrument_id, data, context)
        if self.config.record:
            self.contexts.append(enriched)
        if self.config.publish:
            self.publish_data(level_context_data_type(data.instrument_id.value), enriched)

    def on_stop(self) -> None:
        """Nothing to write: snapshots and events went out as they happened (the open interval gets none)."""

    def _advance(self, flow: InstrumentFlow, ts_init: int) -> None:
        snapshot = flow.advance(ts_init)
        if snapshot is None:
            return
        if self.config.record:
            self.snapshots.append(snapshot)
        if self.config.publish:
            self.publish_data(self._snapshot_types[flow.instrument_id], snapshot)

    def _emit_event(self, event: OrderFlowEvent) -> None:
        if self.config.record:
            self.events.append(event)
        if self.config.publish:
            self.publish_data(self._event_types[event.instrument_id], event)
