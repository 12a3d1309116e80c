"""`LevelStrategy`: what every RaveBear strategy shares — levels, entry filter, guards, sizing and exits.

A subclass only says when to enter (`signal`): a side and the price that proves the idea
wrong. The base does the rest, identically in backtest, paper and live nodes:

- feeds the instrument's 1m bars, and the higher-timeframe candles it builds from them
  (`StreamingAggregator`: nautilus's aggregation rules, ~30 us a bar cheaper than nautilus's
  internal aggregation), to its own `LevelEngine`, and alternative data to the `EntryFilter`;
- checks the entry filter, then the account-wide `RiskGuards`, then sizes the trade
  (fixed-fractional, capped by leverage and notional, rounded to the lot, skipped below the
  minimum) — every refusal is logged and published as a `GuardEvent`;
- enters with a bracket: market entry + STOP_MARKET protective stop + MARKET_IF_TOUCHED final
  target, all submitted together, so no entry ever exists without its stop (on OKX the stop is
  attached to the entry and rests at the venue: `attachAlgoOrds` accepts only STOP_MARKET /
  STOP_LIMIT stops and MIT / LIT targets);
- after the fill adds partial take-profits (reduce-only MIT) and the trailing exit (reduce-only
  TRAILING_STOP_MARKET with an activation price: OKX's native `move_order_stop`), moves the stop
  to break-even after the configured R (`modify_order`, OKX `amend-algos`), resizes exits after a
  partial fill, closes after `max_hold_bars`, cancels leftovers when the position closes;
- never lets an exit open a position: exits are reduce-only and sized to the position, and a
  flip caused by an exit is flattened at once and reported (`exit_flip`), because nautilus does
  not send `reduceOnly` for SWAP market/limit orders over OKX's WebSocket;
- trips the kill switch on the drawdown limit: cancels working orders, optionally flattens, and
  takes no new entries;
- on a live clock (paper and live nodes, never in a backtest) halts new entries while its market
  data or the venue's order updates stall (`FeedWatchdog`), and resumes them when the feed is healthy.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgspec

from nautilus_trader.common.component import LiveClock
from nautilus_trader.config import StrategyConfig
from nautilus_trader.indicators import AverageTrueRange
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.enums import OrderSide, OrderType, PriceType, TimeInForce, TrailingOffsetType, TriggerType
from nautilus_trader.model.events import (
    OrderDenied,
    OrderEmulated,
    OrderFilled,
    OrderInitialized,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderReleased,
    OrderSubmitted,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from nautilus_trader.model.identifiers import ClientId, ClientOrderId, InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.trading.strategy import Strategy

from ravebear.risk.exits import ExitPlan, ExitSettings, exit_plan, reached, stop_price, trailing_offset
from ravebear.risk.feed_watchdog import FeedWatchdog, FeedWatchdogSettings
from ravebear.risk.guards import GuardEvent, GuardLimits, RiskGuards
from ravebear.risk.sizing import fixed_fractional_contracts
from ravebear.risk.topics import GUARD_TOPIC
from ravebear.strategies.entry_filter import EntryFilter, EntryFilterConfig
from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.timeframes import Candle, StreamingAggregator, timeframe_minutes

LONG, SHORT = 1, -1
ONE_MINUTE_NS = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000
FEED_TIMER = "ravebear-feed-watchdog"
FEED_STALLED = "feed_stalled"
_LOCAL_ORDER_EVENTS = (OrderInitialized, OrderDenied, OrderEmulated, OrderReleased)  # not answers of the venue
_SIDE_NAMES = {"long": LONG, "short": SHORT}
_ALT_TYPES = {
    "usdt_dominance": ("Dominance",),
    "whale_flow": ("WhaleTransaction",),
    "oi_change": ("OpenInterest",),
    "funding": ("FundingRate",),
    "crowding": ("LongShortRatio",),
}


class LevelStrategyConfig(StrategyConfig, frozen=True, kw_only=True):
    """Settings every level strategy shares (units in the comments)."""

    instrument_id: InstrumentId
    timeframes: tuple[str, ...] = ("1m", "5m", "15m", "1h")  # the first must be 1m; others aggregate from it
    levels: dict[str, Any] = msgspec.field(default_factory=dict)  # LevelEngineConfig overrides, e.g. {"detectors": ["wicks"]}
    sides: tuple[str, ...] = ("long", "short")  # which directions may be traded
    signal_timeframes: tuple[str, ...] = ("1m",)  # candles of these timeframes are asked for a signal
    risk_per_trade_pct: float = 0.5  # equity percent lost at the stop
    max_leverage: float = 3.0  # position notional cap, multiples of equity
    max_notional: float = 0.0  # position notional cap, quote currency (0: none)
    exits: ExitSettings = ExitSettings()
    guards: GuardLimits = GuardLimits()
    entry_filter: EntryFilterConfig = EntryFilterConfig()
    alt_data_client: str | None = None  # client id serving alternative data (backtest: the data config's client_id)
    alt_data_clients: dict[str, str] = msgspec.field(default_factory=dict)  # type name -> client id; set by the node composer, wins over alt_data_client
    cooldown_bars: int = 0  # base candles to wait after a position closes
    feed_watchdog: FeedWatchdogSettings = FeedWatchdogSettings()  # live clock only: halt entries on stalled data / order updates (seconds)
    stop_action: str = "flatten"  # when the node stops: "flatten" (cancel orders, close positions), "cancel" (cancel orders only), "keep" (leave both at the venue)


@dataclass(frozen=True)
class Signal:
    """An entry idea: direction, the price that proves it wrong, and why."""

    side: int  # +1 long, -1 short
    invalidation: float  # the stop goes beyond this price (plus exits.stop_buffer_bps)
    reason: str


def bar_type_for(instrument_id: str, timeframe: str) -> BarType:
    """Return the bar type a strategy subscribes to for a timeframe (higher ones aggregate the 1m bars)."""
    minutes = timeframe_minutes(timeframe)
    if minutes == 1:
        return BarType.from_str(f"{instrument_id}-1-MINUTE-LAST-EXTERNAL")
    step = f"{minutes // 60}-HOUR" if minutes % 60 == 0 else f"{minutes}-MINUTE"
    return BarType.from_str(f"{instrument_id}-{step}-LAST-INTERNAL@1-MINUTE-EXTERNAL")


class LevelStrategy(Strategy):
    """Base of the level strategies: subclasses implement `signal`."""

    default_levels: dict[str, Any] = {}  # the subclass's LevelEngineConfig defaults; `levels` in the config overrides them

    def __init__(self, config: LevelStrategyConfig) -> None:
        super().__init__(config)
        if timeframe_minutes(config.timeframes[0]) != 1:
            raise ValueError(f"timeframes must start with 1m, got {config.timeframes}")
        unknown = sorted(set(config.sides) - set(_SIDE_NAMES))
        if unknown:
            raise ValueError(f"sides: unknown {unknown}; use 'long' and/or 'short'")
        self.sides = frozenset(_SIDE_NAMES[s] for s in config.sides)
        self._signal_timeframes = frozenset(config.signal_timeframes)
        if config.stop_action not in ("flatten", "cancel", "keep"):
            raise ValueError(f"stop_action: {config.stop_action!r}; use 'flatten', 'cancel' or 'keep'")
        levels = {**self.default_levels, **config.levels, "timeframes": list(config.timeframes)}
        self.engine = LevelEngine(LevelEngineConfig.from_dict(levels))
        self.entry_filter = EntryFilter(config.entry_filter)
        self._filter_levels = "wick_alignment" in config.entry_filter.conditions
        self.guards = RiskGuards(config.guards, strategy_id=str(self.id))
        self.atr = AverageTrueRange(config.exits.atr_period)
        self.instrument = None
        self._base = config.timeframes[0]
        self._aggregator = StreamingAggregator(tuple(config.timeframes[1:])) if len(config.timeframes) > 1 else None
        self._base_bar_type: BarType | None = None
        self._instrument_key = config.instrument_id.value
        self._venue = config.instrument_id.venue
        self._account = None  # the venue account, looked up once it exists
        self._price_bar_types: dict[InstrumentId, BarType] = {}
        self._multipliers: dict[InstrumentId, float | None] = {}
        self._seen_equity = float("nan")  # the guards are fed only when equity moved or a UTC day began
        self._next_day_ns = 0
        self._persist_state = False  # set at start when the node keeps state in a database
        self.feed_watchdog: FeedWatchdog | None = None  # only on a live clock (paper and live nodes)
        self._feed_loop: asyncio.AbstractEventLoop | None = None  # the node's loop, where the checks run
        self._reset_position_state()
        self._cooldown = 0
        self.skipped: dict[str, int] = {}  # reason -> count, for tests and the report
        self.signals = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        """Load the instrument, subscribe to bars (and alternative data) and pick up an open position."""
        instrument_id = self.config.instrument_id
        self.guards.strategy_id = str(self.id)
        self._persist_state = self.cache.has_backing
        self.instrument = self.cache.instrument(instrument_id)
        if self.instrument is None:
            self.log.error(f"instrument {instrument_id} not in cache; stopping")
            self.stop()
            return
        self._base_bar_type = bar_type_for(self._instrument_key, self._base)
        self.register_indicator_for_bars(self._base_bar_type, self.atr)
        self.subscribe_bars(self._base_bar_type)  # higher timeframes are built here from it (StreamingAggregator)
        self._subscribe_alt_data()
        position = self._position()
        if position is not None:  # restarted with a position: adopt it and its working exits
            self._adopt(position)
        elif self._entry_id is not None:
            self._forget_lost_entry()
        self._start_feed_watchdog()

    def _subscribe_alt_data(self) -> None:
        """Subscribe to what the entry filter needs, each type at the client that serves it in this node."""
        from ravebear.catalog.alt_data import types

        names = {name for cond in self.config.entry_filter.conditions for name in _ALT_TYPES.get(cond, ())}
        for name in sorted(names):
            client = self.config.alt_data_clients.get(name, self.config.alt_data_client)
            if client:
                self.subscribe_data(DataType(getattr(types, name)), client_id=ClientId(client))

    def on_data(self, data: Any) -> None:
        """Alternative data goes to the entry filter."""
        self.entry_filter.on_data(data)

    def on_stop(self) -> None:
        """Per `stop_action`: flatten (backtests end flat), cancel working orders, or keep everything at the venue."""
        self._stop_feed_watchdog()
        if self.instrument is None or self.config.stop_action == "keep":
            return
        self.cancel_all_orders(self.config.instrument_id)
        if self.config.stop_action == "flatten":
            self.close_all_positions(self.config.instrument_id, tags=["exit=stop_node"])

    def on_save(self) -> dict[str, bytes]:
        """The state a restarted node needs: the open trade's exit plan and ids, guard memory, counters."""
        plan = self._plan
        state = {
            "plan": None if plan is None else [plan.side, plan.entry, plan.stop, [list(t) for t in plan.targets], plan.breakeven_trigger, plan.breakeven_stop, plan.trailing_activation],
            "entry_id": None if self._entry_id is None else self._entry_id.value,
            "entry_filled": self._entry_filled,
            "bars_held": self._bars_held,
            "breakeven_done": self._breakeven_done,
            "cooldown": self._cooldown,
            "guards": self.guards.state(),
        }
        return {"ravebear": msgspec.json.encode(state)}

    def on_load(self, state: dict[str, bytes]) -> None:
        """Take back what `on_save` stored (before `on_start` adopts the open position and its exits)."""
        raw = state.get("ravebear")
        if not raw:
            return
        saved = msgspec.json.decode(raw)
        if saved.get("plan"):
            side, entry, stop, targets, be_trigger, be_stop, activation = saved["plan"]
            self._plan = ExitPlan(side, entry, stop, tuple(tuple(t) for t in targets), be_trigger, be_stop, activation)
        if saved.get("entry_id"):
            self._entry_id = ClientOrderId(saved["entry_id"])
        self._entry_filled = saved.get("entry_filled", False)
        self._bars_held = saved.get("bars_held", 0)
        self._breakeven_done = saved.get("breakeven_done", False)
        self._cooldown = saved.get("cooldown", 0)
        self.guards.restore(saved.get("guards", {}))

    # -- the subclass's part -----------------------------------------------------------------

    def observe(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> None:
        """Called on every closed candle, in a position or not (for detectors of the subclass's own)."""

    def signal(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> Signal | None:
        """Return an entry idea for this closed candle and the level events it caused, or None.

        Only asked when flat, and only for candles of `signal_timeframes`.
        """
        raise NotImplementedError

    # -- bars --------------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Feed the 1m candle and the higher-timeframe candles it completes, each in the node's order."""
        if self.feed_watchdog is not None:
            self.feed_watchdog.on_market_data(self.clock.timestamp_ns())  # arrival (wall) time: a replayed bar's ts is history
        close_ns = bar.ts_event
        open_ns = close_ns - ONE_MINUTE_NS
        o, h, l, c, v = bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double(), bar.volume.as_double()  # noqa: E741
        aggregator = self._aggregator
        if aggregator is not None:
            for timeframe, candle in aggregator.before(open_ns):  # closed during a gap: before this minute
                self._on_candle(timeframe, candle)
        self._on_candle(self._base, Candle(close_ns, o, h, l, c, v))
        if aggregator is not None:
            for timeframe, candle in aggregator.add(open_ns, o, h, l, c, v):  # closing with this minute: right after it
                self._on_candle(timeframe, candle)

    def _on_candle(self, timeframe: str, candle: Candle) -> None:
        """Feed the level engine; on base candles manage the position and the guards; then look for an entry."""
        events = self.engine.on_candle(timeframe, candle.open, candle.high, candle.low, candle.close, candle.volume, candle.ts)
        if events and self._filter_levels:
            for event in events:
                self.entry_filter.on_level_event(self._instrument_key, event)
        if timeframe == self._base:
            self._on_base_candle(candle)
        self.observe(timeframe, candle, events)
        if self._side or self._entry_id is not None or self.guards.halted or self._cooldown > 0 or timeframe not in self._signal_timeframes:
            return
        signal = self.signal(timeframe, candle, events)
        if signal is not None and signal.side in self.sides:
            self.signals += 1
            self._try_enter(signal, candle.close, candle.ts)

    def _on_base_candle(self, candle: Candle) -> None:
        if self._cooldown > 0:
            self._cooldown -= 1
        equity = self._equity()
        if equity != self._seen_equity or candle.ts >= self._next_day_ns:  # flat and unchanged: nothing for the guards to see
            self._seen_equity = equity
            self._next_day_ns = (candle.ts // NS_PER_DAY + 1) * NS_PER_DAY
            for event in self.guards.on_equity(candle.ts, equity):
                self._publish_guard(event)
                if event.action == "halted":
                    self._kill()
        if not self._side or self._plan is None:
            return
        self._bars_held += 1
        plan = self._plan
        settings = self.config.exits
        favourable = candle.high if plan.side > 0 else candle.low
        if not self._breakeven_done and plan.breakeven_trigger is not None and reached(plan.side, favourable, plan.breakeven_trigger):
            self._move_stop_to_breakeven(plan)
        if settings.max_hold_bars and self._bars_held >= settings.max_hold_bars and not self._closing:
            self._close_at_market("time")

    # -- entries -----------------------------------------------------------------------------

    def _try_enter(self, signal: Signal, entry: float, ts: int) -> None:
        instrument = self.instrument
        side_name = "long" if signal.side > 0 else "short"
        blocked = self.guards.check_blocks(ts, self._instrument_key)  # a stalled feed: do not trade blind
        if not blocked.allowed:
            self._skip(blocked.event.guard, f"{side_name} {signal.reason}: {blocked.event.detail}")
            self._publish_guard(blocked.event)
            return
        verdict = self.entry_filter.check(ts, self._instrument_key, side_name, entry)
        if not verdict.allowed:
            self._skip("entry_filter", f"{side_name} {signal.reason}: {verdict.detail}")
            self._publish_guard(GuardEvent(ts, "entry_filter", "blocked", self._instrument_key, str(self.id), f"{signal.reason}: {verdict.detail}"))
            return
        stop, why = stop_price(signal.side, entry, signal.invalidation, self.config.exits)
        if stop is None:
            self._skip("stop_too_wide", why)
            return
        stop_px = instrument.make_price(stop)
        plan = exit_plan(signal.side, entry, stop_px.as_double(), self.config.exits)
        equity = self._equity()
        multiplier = instrument.multiplier.as_decimal()
        decision = fixed_fractional_contracts(
            equity=Decimal(str(equity)),
            risk_fraction=Decimal(str(self.config.risk_per_trade_pct)) / 100,
            entry=Decimal(str(entry)),
            stop=stop_px.as_decimal(),
            contract_value=multiplier,
            lot_size=instrument.size_increment.as_decimal(),
            min_size=instrument.min_quantity.as_decimal() if instrument.min_quantity else instrument.size_increment.as_decimal(),
            max_leverage=Decimal(str(self.config.max_leverage)),
            max_notional=Decimal(str(self.config.max_notional)) if self.config.max_notional > 0 else None,
        )
        if decision.contracts <= 0:
            self._skip("size", decision.reason)
            return
        notional = float(decision.contracts * multiplier) * entry
        open_positions, instrument_exposure, total_exposure = self._exposures()
        check = self.guards.check_entry(ts, self._instrument_key, notional, equity, open_positions, instrument_exposure, total_exposure)
        if not check.allowed:
            self._skip(check.event.guard if check.event else "guard", check.event.detail if check.event else "")
            if check.event is not None:
                self._publish_guard(check.event)
            return
        quantity = instrument.make_qty(decision.contracts)
        risk_quote = float(decision.contracts * multiplier) * plan.risk_per_unit
        exit_side = OrderSide.SELL if signal.side > 0 else OrderSide.BUY
        target_price, _ = plan.targets[-1]
        bracket = self.order_factory.bracket(
            instrument_id=instrument.id,
            order_side=OrderSide.BUY if signal.side > 0 else OrderSide.SELL,
            quantity=quantity,
            time_in_force=TimeInForce.GTC,
            entry_tags=[f"risk={risk_quote:.8f}", f"stop={stop_px}", f"signal={signal.reason}"],
            sl_trigger_price=stop_px,
            sl_tags=["exit=stop"],
            tp_order_type=OrderType.MARKET_IF_TOUCHED,
            tp_trigger_price=instrument.make_price(target_price),
            tp_tags=["exit=take_profit"],
        )
        self._plan = plan
        self._entry_id = bracket.orders[0].client_order_id
        self._stop_id = bracket.orders[1].client_order_id
        self._tp_ids = [bracket.orders[2].client_order_id]
        self._exit_side = exit_side
        self.guards.record_order(ts)
        self._persist()  # the exit plan is stored before the entry can fill: a crash right after still finds it
        self.submit_order_list(bracket)

    # -- position events ---------------------------------------------------------------------

    def on_order_filled(self, event: OrderFilled) -> None:
        """The entry's last fill adds the follow-up exits; an exit fill that flipped the position is flattened at once.

        (OKX gets no reduceOnly for SWAP market/limit orders over its WebSocket, so a flip is possible live.)
        """
        if event.instrument_id != self.config.instrument_id:
            return
        if event.client_order_id == self._entry_id:
            order = self.cache.order(event.client_order_id)
            if order is not None and order.is_closed:  # a market entry may fill in pieces: wait for the last one
                self._entry_filled = True
                self._maybe_place_follow_ups(event.ts_event)
            return
        if self._expected_side == 0:
            return
        position = self._position()
        if position is not None and self._side_of(position) == -self._expected_side:
            event_ = self.guards.alert(
                event.ts_event, "exit_flip", self._instrument_key,
                f"exit {event.client_order_id} left a {position.side.name} position of {position.quantity}; flattening",
            )  # fmt: skip
            self._publish_guard(event_)
            self.close_position(position, tags=["exit=flip_repair"])

    def on_order_denied(self, event: OrderDenied) -> None:
        """nautilus's RiskEngine refused an order: record it; a refused entry frees the strategy again."""
        self._order_refused(event.client_order_id, event.ts_event, "order_denied", event.reason)

    def on_order_rejected(self, event: OrderRejected) -> None:
        """The venue rejected an order (e.g. insufficient margin): record it; a rejected entry frees the strategy."""
        self._order_refused(event.client_order_id, event.ts_event, "order_rejected", event.reason)

    def _order_refused(self, client_order_id: ClientOrderId, ts: int, guard: str, reason: str) -> None:
        detail = f"{client_order_id}: {reason}"
        self._publish_guard(self.guards.alert(ts, guard, self._instrument_key, detail))
        if client_order_id == self._entry_id and not self._side:
            self.cancel_all_orders(self.config.instrument_id)
            self._reset_position_state()
        elif client_order_id in (self._stop_id, self._trail_id) and self._side:
            self._close_at_market("exit_rejected")  # never hold a position whose stop the venue refused

    def on_position_opened(self, event: PositionOpened) -> None:
        """The entry filled: check the stop is there, then add partial targets and the trailing exit."""
        if event.instrument_id != self.config.instrument_id:
            return
        self._side = self._expected_side = LONG if event.side.name == "LONG" else SHORT
        self._bars_held = 0
        if self._plan is None:  # not from an entry of ours (e.g. a flip repair)
            return
        if not self._has_working_stop():
            alert = self.guards.alert(event.ts_event, "no_stop", self._instrument_key, "position opened without a working stop; flattening")
            self._publish_guard(alert)
            self._close_at_market("no_stop")
            return
        self._maybe_place_follow_ups(event.ts_event)

    def _maybe_place_follow_ups(self, ts: int) -> None:
        """Once the entry is wholly filled and its position is open, add the partial targets and the trailing exit."""
        position = self._position()
        if not self._entry_filled or not self._side or position is None or self._entry_id is None:
            return
        self._entry_id = None
        self._place_follow_up_exits(position.quantity, ts)
        self._persist()

    def on_position_changed(self, event: PositionChanged) -> None:
        """After a partial exit, shrink the remaining exits to the position (not while the entry is still filling)."""
        if event.instrument_id != self.config.instrument_id or not self._side or self._entry_id is not None:
            return
        self._resize_exits(event.quantity)

    def on_position_closed(self, event: PositionClosed) -> None:
        """Flat again: cancel whatever exits are left and start the cooldown."""
        if event.instrument_id != self.config.instrument_id:
            return
        self.cancel_all_orders(self.config.instrument_id)
        self._reset_position_state()
        self._cooldown = self.config.cooldown_bars
        self._persist()

    # -- exits -------------------------------------------------------------------------------

    def _place_follow_up_exits(self, quantity: Any, ts: int) -> None:
        instrument = self.instrument
        plan = self._plan
        settings = self.config.exits
        lot = instrument.size_increment.as_decimal()
        minimum = instrument.min_quantity.as_decimal() if instrument.min_quantity else lot
        total = quantity.as_decimal()
        for price, fraction in plan.targets[:-1]:
            size = (total * Decimal(str(fraction)) / lot).to_integral_value(rounding="ROUND_DOWN") * lot
            if size < minimum:
                continue
            order = self.order_factory.market_if_touched(
                instrument_id=instrument.id, order_side=self._exit_side, quantity=instrument.make_qty(size),
                trigger_price=instrument.make_price(price), reduce_only=True, tags=["exit=take_profit"],
            )  # fmt: skip
            self._tp_ids.append(order.client_order_id)
            self.submit_order(order)
        kind, offset = trailing_offset(plan.entry, self.atr.value if self.atr.initialized else 0.0, settings)
        if kind:
            activation = None
            if settings.trailing_activation_r > 0 and plan.trailing_activation is not None:
                activation = instrument.make_price(plan.trailing_activation)
            order = self.order_factory.trailing_stop_market(
                instrument_id=instrument.id,
                order_side=self._exit_side,
                quantity=quantity,
                trailing_offset=Decimal(f"{offset:.{instrument.price_precision}f}") if kind == "price" else Decimal(str(offset)),
                trailing_offset_type=TrailingOffsetType.PRICE if kind == "price" else TrailingOffsetType.BASIS_POINTS,
                activation_price=activation,
                trigger_type=TriggerType.LAST_PRICE,
                reduce_only=True,
                tags=["exit=trailing"],
            )
            self._trail_id = order.client_order_id
            self.submit_order(order)

    def _move_stop_to_breakeven(self, plan: ExitPlan) -> None:
        self._breakeven_done = True
        order = self.cache.order(self._stop_id) if self._stop_id else None
        if order is None or order.is_closed or plan.breakeven_stop is None:
            return
        new_stop = self.instrument.make_price(plan.breakeven_stop)
        improves = new_stop.as_double() > order.trigger_price.as_double() if plan.side > 0 else new_stop.as_double() < order.trigger_price.as_double()
        if improves:
            self.modify_order(order, trigger_price=new_stop)
            self._persist()

    def _resize_exits(self, quantity: Any) -> None:
        for client_order_id in (self._stop_id, self._trail_id, *self._tp_ids[:1]):
            order = self.cache.order(client_order_id) if client_order_id else None
            if order is None or order.is_closed or not order.is_open or order.is_pending_update:
                continue
            if order.quantity > quantity:
                self.modify_order(order, quantity=quantity)

    def _close_at_market(self, reason: str) -> None:
        position = self._position()
        if position is None or self._closing:
            return
        self._closing = True
        self.close_position(position, tags=[f"exit={reason}"])

    def _kill(self) -> None:
        instrument_id = self.config.instrument_id
        self.cancel_all_orders(instrument_id)
        if self.config.guards.flatten_on_kill and self._position() is not None:
            position = self._position()
            self._close_at_market("kill_switch")
            detail = f"closing {position.side.name} {position.quantity} at market"
            self._publish_guard(self.guards.record_flatten(self.clock.timestamp_ns(), self._instrument_key, detail))

    # -- stalled feeds (live clock only) -----------------------------------------------------

    def _start_feed_watchdog(self) -> None:
        """Watch this instrument's bars and every order on the venue; off in backtests, where a data gap is not a stall."""
        settings = self.config.feed_watchdog
        if not isinstance(self.clock, LiveClock) or not settings.enabled or self.feed_watchdog is not None:
            return
        self.feed_watchdog = FeedWatchdog(settings, self._instrument_key, self.clock.timestamp_ns())
        try:
            self._feed_loop = asyncio.get_running_loop()
        except RuntimeError:  # started outside the node's loop: check on the timer's thread
            self._feed_loop = None
        if settings.order_update_stall_s > 0:
            # every strategy's orders on the venue: one stalled execution feed blinds all of them, and a
            # strategy with an order of its own in flight is not entering anyway
            self.msgbus.subscribe("events.order.*", self._on_venue_order_event)
        self.clock.set_timer(FEED_TIMER, timedelta(seconds=settings.check_interval_s), callback=self._on_feed_timer)

    def _stop_feed_watchdog(self) -> None:
        if self.feed_watchdog is None:
            return
        if FEED_TIMER in self.clock.timer_names:
            self.clock.cancel_timer(FEED_TIMER)
        if self.msgbus.is_subscribed("events.order.*", self._on_venue_order_event):
            self.msgbus.unsubscribe("events.order.*", self._on_venue_order_event)
        if self.feed_watchdog.stalled:  # a strategy started again gets a new watchdog: no block without one to lift it
            detail = f"feed watchdog stopped with the strategy while halted ({self.feed_watchdog.reason}): block lifted"
            event = self.guards.resume_entries(self.clock.timestamp_ns(), FEED_STALLED, self._instrument_key, detail)
            if event is not None:
                self._publish_guard(event)
        self.feed_watchdog = None

    def _on_venue_order_event(self, event: Any) -> None:
        """An order event of any strategy: does the order now wait for the venue, or did the venue answer?"""
        watchdog = self.feed_watchdog
        if watchdog is None or event.instrument_id.venue != self._venue or isinstance(event, _LOCAL_ORDER_EVENTS):
            return
        now = self.clock.timestamp_ns()  # wall time: a sandbox's events carry the replayed data's time
        order_id = event.client_order_id.value
        if isinstance(event, OrderSubmitted):
            order = self.cache.order(event.client_order_id)
            if order is None or order.parent_order_id is None:  # a bracket's stop/target is placed by the venue once the entry fills
                watchdog.on_order_waiting(order_id, now, "submitted")
        elif isinstance(event, OrderPendingCancel):
            watchdog.on_order_waiting(order_id, now, "pending cancel")
        elif isinstance(event, OrderPendingUpdate):
            watchdog.on_order_waiting(order_id, now, "pending modify")
        else:
            watchdog.on_order_update(order_id, now)

    def _on_feed_timer(self, _event: Any) -> None:
        # nautilus 1.231's LiveClock calls timer callbacks on its own (Rust) threads, not the node's event
        # loop: hand the check to the loop, where bars, order events and entries are handled
        loop = self._feed_loop
        if loop is None:
            self._check_feed()
            return
        try:
            loop.call_soon_threadsafe(self._check_feed)
        except RuntimeError:  # the loop is closed: the node is gone
            pass

    def _check_feed(self) -> None:
        """Timer: halt new entries when a feed stalled, resume them when every feed is healthy again."""
        watchdog = self.feed_watchdog
        if watchdog is None:
            return
        now = self.clock.timestamp_ns()
        for change in watchdog.check(now):
            if change.stalled:
                self.log.error(f"FEED STALLED: {change.detail} (open positions keep their stops at the venue; nothing is flattened)")
                self._publish_guard(self.guards.block_entries(now, FEED_STALLED, self._instrument_key, change.detail))
            else:
                event = self.guards.resume_entries(now, FEED_STALLED, self._instrument_key, change.detail)
                if event is not None:
                    self._publish_guard(event)

    # -- state helpers -----------------------------------------------------------------------

    def _reset_position_state(self) -> None:
        self._side = 0
        self._expected_side = 0
        self._plan: ExitPlan | None = None
        self._entry_id: ClientOrderId | None = None
        self._stop_id: ClientOrderId | None = None
        self._trail_id: ClientOrderId | None = None
        self._tp_ids: list[ClientOrderId] = []
        self._exit_side = OrderSide.SELL
        self._entry_filled = False
        self._bars_held = 0
        self._breakeven_done = False
        self._closing = False

    def _adopt(self, position: Any) -> None:
        """Take over a position found at start (restart): remember its working stop and exits."""
        self._side = self._expected_side = self._side_of(position)
        self._exit_side = OrderSide.SELL if self._side > 0 else OrderSide.BUY
        for order in self.cache.orders_open(instrument_id=self.config.instrument_id, strategy_id=self.id):
            tags = order.tags or []
            if "exit=stop" in tags:
                self._stop_id = order.client_order_id
            elif "exit=trailing" in tags:
                self._trail_id = order.client_order_id
            elif "exit=take_profit" in tags:
                self._tp_ids.append(order.client_order_id)
        ts = self.clock.timestamp_ns()
        exits = [name for name, present in (("stop", self._stop_id), ("trailing exit", self._trail_id), ("targets", self._tp_ids)) if present]
        plan = "exit plan restored" if self._plan is not None else "no saved exit plan (no break-even move)"
        self._publish_guard(self.guards.alert(ts, "restart", self._instrument_key, f"adopted {position.side.name} {position.quantity} with {', '.join(exits) or 'no exits'}; {plan}"))
        if not self._has_working_stop():  # never hold a position unprotected: flatten it
            self._publish_guard(self.guards.alert(ts, "no_stop", self._instrument_key, f"restarted with {position.side.name} {position.quantity} and no working stop; flattening"))
            self._close_at_market("no_stop")
        elif self._entry_id is not None and self._entry_filled:
            self._maybe_place_follow_ups(ts)  # stopped between the entry's fill and its follow-up exits
        else:
            self._resize_exits(position.quantity)  # an exit filled while the node was down: the rest still has the old size

    def _persist(self) -> None:
        """Store the strategy's state now (a node with a database cache), not only at a clean stop: kill -9 skips that."""
        if self._persist_state:
            self.cache.update_strategy(self)

    def _forget_lost_entry(self) -> None:
        """Restarted flat with a saved entry that never filled (the crash came before the venue had it): drop it."""
        order = self.cache.order(self._entry_id)
        status = "not in the cache" if order is None else order.status.name
        ts = self.clock.timestamp_ns()
        self._publish_guard(self.guards.alert(ts, "entry_lost", self._instrument_key, f"entry {self._entry_id} ({status}) did not survive the restart; dropped"))
        if order is not None and not order.is_closed:
            self.cancel_all_orders(self.config.instrument_id)
        self._reset_position_state()
        self._persist()

    def _has_working_stop(self) -> bool:
        order = self.cache.order(self._stop_id) if self._stop_id else None
        return order is not None and not order.is_closed

    def _position(self) -> Any:
        positions = self.cache.positions_open(instrument_id=self.config.instrument_id, strategy_id=self.id)
        return positions[0] if positions else None

    @staticmethod
    def _side_of(position: Any) -> int:
        return LONG if position.side.name == "LONG" else SHORT if position.side.name == "SHORT" else 0

    def _equity(self) -> float:
        """Account balance plus the unrealized PnL of every open position on the venue (all strategies).

        Computed here rather than with `portfolio.equity()`, which costs ~35 us a call: this runs on
        every base candle and was a third of the strategy's time.
        """
        account = self._account
        if account is None:
            account = self._account = self.portfolio.account(self._venue)
            if account is None or self.instrument is None:
                return 0.0
        balance = account.balance_total(self.instrument.settlement_currency)
        total = balance.as_double() if balance is not None else 0.0
        for position in self.cache.positions_open(venue=self._venue):
            price = self._last_price(position.instrument_id)
            if price is None:
                continue
            multiplier = self._multiplier(position.instrument_id)
            if multiplier is None:  # inverse contract: let nautilus do the arithmetic
                total += position.unrealized_pnl(price).as_double()
            else:  # linear: float arithmetic, ~1 us cheaper than a Money per position per candle
                total += (price.as_double() - position.avg_px_open) * position.signed_qty * multiplier
        return total

    def _multiplier(self, instrument_id: InstrumentId) -> float | None:
        """Contract multiplier of a linear instrument (cached); None for an inverse one."""
        if instrument_id not in self._multipliers:
            instrument = self.cache.instrument(instrument_id)
            self._multipliers[instrument_id] = None if instrument is None or instrument.is_inverse else instrument.multiplier.as_double()
        return self._multipliers[instrument_id]

    def _last_price(self, instrument_id: InstrumentId) -> Price | None:
        """The latest 1m close of an instrument (a dict lookup); `cache.price` (~12 us) when there is none."""
        bar_type = self._price_bar_types.get(instrument_id)
        if bar_type is None:
            bar_type = self._price_bar_types[instrument_id] = bar_type_for(instrument_id.value, "1m")
        bar = self.cache.bar(bar_type)
        return bar.close if bar is not None else self.cache.price(instrument_id, PriceType.LAST)

    def _exposures(self) -> tuple[int, float, float]:
        """Open positions on the venue, and the gross notional of this instrument's and of all of them (all strategies).

        Valued at each instrument's latest 1m close like `_equity`; `portfolio.net_exposure` costs ~35 us an
        instrument, which mattered for the data-to-order latency of a live node.
        """
        positions = self.cache.positions_open(venue=self._venue)
        mine = total = 0.0
        for position in positions:
            price = self._last_price(position.instrument_id)
            if price is None:
                continue
            multiplier = self._multiplier(position.instrument_id)
            if multiplier is None:
                notional = abs(position.notional_value(price).as_double())
            else:
                notional = position.quantity.as_double() * multiplier * price.as_double()
            total += notional
            if position.instrument_id == self.config.instrument_id:
                mine += notional
        return len(positions), mine, total

    def _skip(self, reason: str, detail: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.log.info(f"entry skipped ({reason}): {detail}")

    def _publish_guard(self, event: GuardEvent) -> None:
        message = f"guard {event.guard} {event.action}: {event.detail}"
        if event.action == "blocked":
            self.log.info(message)  # one per refused entry signal: INFO, or a losing day floods the log
        else:
            self.log.warning(message)
        self.msgbus.publish(GUARD_TOPIC, event)
