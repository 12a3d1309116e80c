"""`LevelStrategy`: the template every RaveBear strategy is built on — candles in, `signal()` out.

A subclass only says when to enter (`signal`): a side and the price that proves the idea wrong.
The template feeds the instrument's 1m bars, and the higher-timeframe candles it builds from them
(`MinuteLevelFeed`: nautilus's aggregation rules, ~30 us a bar cheaper than nautilus's internal
aggregation), to its `LevelEngine` (the node's LevelActor's when their levels configs are equal: one
engine, run once a bar), and alternative data to the `EntryFilter`. Each candle then
passes once through each part, identically in backtest, paper and live nodes:

- `AccountView`: the account's equity and exposures, in plain floats;
- `EntryGate` (risk): the guards' equity memory on base candles (kill switch, daily loss); for a
  signal, the entry filter, the guards, the stop and the size: an order plan or a refusal, which is
  logged and published as a `GuardEvent`;
- `PositionManager`: the bracket, the follow-up exits, break-even, resizing, the time exit, flip
  repair, the kill switch's cleanup, the cooldown, and adoption after a restart;
- `FeedWatch` (live clock only): halts entries while market data or the venue's order updates stall.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, DataType, OrderBookDeltas, QuoteTick, TradeTick
from nautilus_trader.model.events import OrderDenied, OrderFilled, OrderRejected, PositionChanged, PositionClosed, PositionOpened
from nautilus_trader.model.identifiers import ClientId, InstrumentId
from nautilus_trader.trading.strategy import Strategy

from ravebear.risk.entry_gate import EntryGate, EntryRefusal
from ravebear.risk.exits import ExitPlan, ExitSettings
from ravebear.risk.feed_watchdog import FeedWatchdogSettings
from ravebear.risk.guards import GuardEvent, GuardLimits, RiskGuards, account_event_key
from ravebear.ranges import Range, check_ranges
from ravebear.risk.topics import GUARD_TOPIC, SIGNAL_TOPIC, SignalDecision
from ravebear.strategies.account_view import AccountView
from ravebear.strategies.bar_types import BASE_BARS, bar_type_for
from ravebear.strategies.entry_filter import EntryFilter, EntryFilterConfig
from ravebear.strategies.feed_watch import FeedWatch
from ravebear.strategies.level_sharing import NO_LEVEL_ACTOR, request_level_feed, sourced_level_feed
from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.feed import MinuteLevelFeed
from ravebear.strategies.levels.model import Level, LevelEvent
from ravebear.strategies.orderflow_conditions import OrderFlowConditions
from ravebear.strategies.swarm_conditions import SwarmConditions
from ravebear.strategies.levels.timeframes import Candle, timeframe_minutes
from ravebear.strategies.position_manager import LONG, SHORT, STOP_ACTIONS, PositionManager
from ravebear.strategies.trade_state import STATE_KEY

_SIDE_NAMES = {"long": LONG, "short": SHORT}


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
    spot_cash_reserve_pct: float = 1.0  # spot pair on a cash account: % of the free quote balance a buy leaves unspent (fees beyond the instrument's, slippage)
    base_bars: str = "external"  # the 1m candles: "external" (the data's bars) | "trades" (nautilus aggregates them from trade ticks)
    stop_action: str = "flatten"  # when the node stops: "flatten" (cancel orders, close positions), "cancel" (cancel orders only), "keep" (leave both at the venue)

    # every number with a unit and its allowed range; a subclass adds its own: {**LevelStrategyConfig.ranges, ...}
    ranges: ClassVar[dict[str, Range]] = {
        "risk_per_trade_pct": Range(0, 10, "% of equity lost at the stop", low_open=True),
        "max_leverage": Range(0, 125, "x equity", low_open=True),
        "max_notional": Range(0, None, "quote currency", note="0 = no cap"),
        "cooldown_bars": Range(0, 100_000, "candles"),
    }

    def __post_init__(self) -> None:
        check_ranges(self, type(self).ranges)


@dataclass(frozen=True)
class Signal:
    """An entry idea: direction, the price that proves it wrong, and why."""

    side: int  # +1 long, -1 short
    invalidation: float  # the stop goes beyond this price (plus exits.stop_buffer_bps)
    reason: str
    level: Level | None = None  # the level the idea trades (order-flow conditions read the flow at it)


@dataclass(frozen=True)
class StrategyStatus:
    """What a level strategy is doing now, for dashboards and operators."""

    strategy_id: str
    instrument_id: str
    side: int  # +1 long, -1 short, 0 flat
    entry_pending: bool  # an entry is working, or its follow-up exits are not placed yet
    bars_held: int  # base candles since the position opened
    cooldown: int  # base candles left before the next entry
    plan: ExitPlan | None  # the open trade's exit prices
    halted: bool  # the kill switch tripped
    blocked_reason: str  # why new entries are refused now (daily loss, stalled feed), else ""
    signals: int  # entry signals so far
    price_precision: int | None  # the instrument's, once it is loaded
    settlement_currency: str | None  # the instrument's, once it is loaded


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
        if config.base_bars not in BASE_BARS:
            raise ValueError(f"base_bars must be one of {', '.join(BASE_BARS)}, got {config.base_bars!r}")
        if config.stop_action not in STOP_ACTIONS:
            raise ValueError(f"stop_action: {config.stop_action!r}; use 'flatten', 'cancel' or 'keep'")
        if not 0.0 <= config.spot_cash_reserve_pct < 100.0:
            raise ValueError(f"spot_cash_reserve_pct: {config.spot_cash_reserve_pct} % is outside 0 .. <100 % of the free quote balance")
        self.sides = frozenset(_SIDE_NAMES[s] for s in config.sides)
        self._signal_timeframes = frozenset(config.signal_timeframes)
        levels = {**self.default_levels, **config.levels, "timeframes": list(config.timeframes)}
        self.levels = MinuteLevelFeed(LevelEngineConfig.from_dict(levels))  # or, at start, the node's LevelActor's (level_sharing)
        self.entry_filter = EntryFilter(config.entry_filter)
        self._filter_levels = "wick_alignment" in config.entry_filter.conditions
        self._filter_prices = "oi_change" in config.entry_filter.conditions  # OI against the price move
        flow, zone = config.entry_filter.orderflow, bool(getattr(config, "require_defended_zone", False))
        flow.context_config()  # a bad entry_filter.orderflow.context key is named even with every condition off
        self.orderflow = OrderFlowConditions(flow, config.entry_filter.missing_data, zone) if flow.conditions() or zone else None
        swarm = config.entry_filter.swarm
        self.swarm = SwarmConditions(swarm, config.entry_filter.missing_data) if swarm.conditions() else None
        self.guards = RiskGuards(config.guards, strategy_id=str(self.id))
        self.gate = EntryGate(self.guards, self.entry_filter, config.exits, config.risk_per_trade_pct, config.max_leverage, config.max_notional)
        self.position_manager = PositionManager(self, self.guards, self._publish_guard, config.exits, config.cooldown_bars, config.guards.flatten_on_kill)
        self.account: AccountView | None = None  # once the instrument is loaded
        self.feed_watch: FeedWatch | None = None  # only on a live clock (paper and live nodes)
        self.instrument = None
        self._base = config.timeframes[0]
        self._instrument_key = config.instrument_id.value
        self.skipped: dict[str, int] = {}  # refused entries by reason, for tests and the report
        self._account_events_seen: set[tuple] = set()  # account-wide guard events another copy already logged
        self.signals = 0

    @property
    def status(self) -> StrategyStatus:
        """What the strategy is doing now: position, pending entry, counters, and why entries are refused."""
        manager, guards, instrument = self.position_manager, self.guards, self.instrument
        state = manager.state
        blocked = "; ".join(reason for reason in (guards.daily_loss_detail, guards.entries_blocked) if reason)
        return StrategyStatus(
            strategy_id=str(self.id),
            instrument_id=self._instrument_key,
            side=manager.side,
            entry_pending=state.entry_id is not None,
            bars_held=state.bars_held,
            cooldown=state.cooldown,
            plan=state.plan,
            halted=guards.halted,
            blocked_reason=blocked,
            signals=self.signals,
            price_precision=instrument.price_precision if instrument is not None else None,
            settlement_currency=instrument.get_settlement_currency().code if instrument is not None else None,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        """Load the instrument, subscribe to bars (and alternative data) and pick up an open position."""
        instrument_id = self.config.instrument_id
        self.guards.strategy_id = str(self.id)
        self.instrument = self.cache.instrument(instrument_id)
        if self.instrument is None:
            self.log.error(f"instrument {instrument_id} not in cache; stopping")
            self.stop()
            return
        self.account = AccountView(self.cache, self.portfolio, self.instrument)
        if self.account.is_spot and SHORT in self.sides and self.account.is_cash() is not False:
            self.log.warning(f"{self._instrument_key} is a spot pair: on a cash account its short signals are skipped (spot_short), only longs trade")
        bar_type = bar_type_for(self._instrument_key, self._base, self.config.base_bars)
        if self.config.exits.trailing_atr_multiple > 0:  # the ATR is read only for an ATR-multiple trailing exit (~2.8 us a bar)
            self.register_indicator_for_bars(bar_type, self.position_manager.atr)
        self._share_levels(str(bar_type))
        self.subscribe_bars(bar_type)  # higher timeframes are built from it (MinuteLevelFeed)
        self._subscribe_alt_data()
        if self.orderflow is not None:  # its own trades and book: order-flow conditions at the entry
            from nautilus_trader.model.enums import BookType

            self.subscribe_trade_ticks(instrument_id)
            if self.orderflow.config.book_source == "quotes":
                self.subscribe_quote_ticks(instrument_id)
            else:
                self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP, managed=False)
        if self.swarm is not None:  # the SwarmActor's signals of this instrument: swarm conditions at the entry
            from ravebear.catalog.swarm_data import swarm_data_type

            self.subscribe_data(swarm_data_type(self._instrument_key), instrument_id=instrument_id)
        self.position_manager.start(self.instrument, persist_state=self.cache.has_backing)
        self.msgbus.subscribe(topic=GUARD_TOPIC, handler=self._note_guard_event)
        if self.feed_watch is None:
            self.feed_watch = FeedWatch.start(self.config.feed_watchdog, self, self.guards, self._publish_guard)

    def _share_levels(self, bar_type: str) -> None:
        """Read the node's LevelActor's engine for this instrument when its config equals ours: it then runs once a bar."""
        request = request_level_feed(self.msgbus, self._instrument_key, bar_type, self.levels.config)
        if request.feed is not None:
            self.levels = request.feed
            self.log.info(f"{self._instrument_key}: levels shared with the LevelActor (one engine for both)")
            return
        if request.refused != NO_LEVEL_ACTOR:
            self.log.info(f"{self._instrument_key}: own level engine, not the LevelActor's: {request.refused}")
        if not self.levels.started:  # a restarted strategy keeps the levels it has
            sourced = sourced_level_feed(self.msgbus, self._instrument_key, bar_type, self.levels.config)  # a backtest's precomputed levels
            if sourced is not None:
                self.levels = sourced

    @property
    def engine(self) -> LevelEngine:
        """The instrument's level engine (the LevelActor's when shared)."""
        return self.levels.engine

    def _subscribe_alt_data(self) -> None:
        """Subscribe to what the entry filter needs, each type at the client that serves it in this node."""
        from ravebear.catalog.alt_data import types

        for name in self.config.entry_filter.required_data_types():
            client = self.config.alt_data_clients.get(name, self.config.alt_data_client)
            if client:
                self.subscribe_data(DataType(getattr(types, name)), client_id=ClientId(client))

    def on_data(self, data: Any) -> None:
        """Alternative data goes to the entry filter, SwarmSignals to the swarm conditions."""
        if self.swarm is not None and type(data).__name__ == "SwarmSignal":
            self.swarm.on_signal(data)
            return
        self.entry_filter.on_data(data)

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Trades feed the order-flow conditions (subscribed only when some are ON)."""
        self.orderflow.on_trade_tick(tick)

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Book deltas feed the order-flow conditions."""
        self.orderflow.on_order_book_deltas(deltas)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        """Quotes feed the order-flow conditions (`book_source: quotes`)."""
        self.orderflow.on_quote_tick(tick)

    def on_stop(self) -> None:
        """Stop the feed watch, then per `stop_action`: flatten (backtests end flat), cancel working orders, or keep everything."""
        if self.feed_watch is not None:
            self.feed_watch.stop()
            self.feed_watch = None
        for conditions in (self.orderflow, self.swarm):
            unfed = conditions.unfed() if conditions is not None else None
            if unfed:
                self.log.warning(f"{self.id} {self._instrument_key}: {unfed}")
        self.position_manager.stop(self.config.stop_action)

    def on_save(self) -> dict[str, bytes]:
        """The state a restarted node needs: the open trade's exit plan and ids, guard memory, counters."""
        return {STATE_KEY: self.position_manager.save()}

    def on_load(self, state: dict[str, bytes]) -> None:
        """Take back what `on_save` stored (before `on_start` adopts the open position and its exits)."""
        raw = state.get(STATE_KEY)
        if raw:
            self.position_manager.load(raw)

    # -- the subclass's part -----------------------------------------------------------------

    def observe(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> None:
        """Called on every closed candle, in a position or not (for detectors of the subclass's own)."""

    def signal(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> Signal | None:
        """Return an entry idea for this closed candle and the level events it caused, or None.

        Only asked when flat, and only for candles of `signal_timeframes`.
        """
        raise NotImplementedError

    # -- candles -----------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Feed the 1m candle and the higher-timeframe candles it completes, each in the node's order."""
        if self.feed_watch is not None:
            self.feed_watch.on_market_data()
        levels = self.levels
        fed = levels.fed(bar.ts_event)  # the LevelActor sharing the feed had the bar first
        if fed is None:
            fed = levels.on_bar(bar)
        for timeframe, candle, events in fed:  # candles closed during a gap, the minute, candles closing with it
            self._on_candle(timeframe, candle, events)

    def _on_candle(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> None:
        """Level events; on base candles the guards' equity and the position; then the subclass's signal through the gate."""
        if events and self._filter_levels:
            for event in events:
                self.entry_filter.on_level_event(self._instrument_key, event)
        if events and self.orderflow is not None:
            for event in events:
                self.orderflow.on_level(event)
        if timeframe == self._base:
            if self._filter_prices:
                self.entry_filter.on_price(self._instrument_key, candle.ts, candle.close)
            guard_events = self.gate.on_equity(candle.ts, self.account.equity())
            self.position_manager.on_base_candle(candle, guard_events)
        self.observe(timeframe, candle, events)
        if timeframe not in self._signal_timeframes or self.position_manager.busy or self.guards.halted:
            return
        signal = self.signal(timeframe, candle, events)
        if signal is not None and signal.side in self.sides:
            self.signals += 1
            self._enter(signal, candle)

    def _enter(self, signal: Signal, candle: Candle) -> None:
        """Enter at the candle's close with the gate's plan, or log and publish why not.

        A spot pair on a cash account holds only what it bought: a short signal is skipped (counted
        as `spot_short` and published as that guard's `blocked` event), and a buy may spend at most
        the free quote balance.
        """
        account = self.account
        max_spend = None
        if account.is_spot and account.is_cash():
            if signal.side == SHORT:
                detail = f"short {signal.reason}: {self._instrument_key} is a spot pair on a cash account, which cannot sell what it does not hold"
                self.skipped["spot_short"] = self.skipped.get("spot_short", 0) + 1
                self.log.info(f"entry skipped (spot_short): {detail}")
                self._publish_guard(GuardEvent(candle.ts, "spot_short", "blocked", self._instrument_key, str(self.id), detail))
                self._publish_signal(candle.ts, signal, "spot_short", detail)
                return
            max_spend = account.spendable(self.config.spot_cash_reserve_pct)
        if self.orderflow is not None:
            refusal = self.orderflow.check(candle.ts, signal.side, candle.close, signal.level)
            if refusal is not None:
                self.skipped[refusal.guard] = self.skipped.get(refusal.guard, 0) + 1
                detail = f"{'long' if signal.side == LONG else 'short'} {signal.reason}: {refusal.detail}"
                self.log.info(f"{self.id} {self._instrument_key}: entry skipped, guard {refusal.guard} blocked: {detail}")
                self.msgbus.publish(GUARD_TOPIC, GuardEvent(candle.ts, refusal.guard, "blocked", self._instrument_key, str(self.id), detail))
                return
        if self.swarm is not None:
            refused = self.swarm.check(candle.ts, signal.side)
            if refused is not None:
                self.skipped[refused.guard] = self.skipped.get(refused.guard, 0) + 1
                detail = f"{'long' if signal.side == LONG else 'short'} {signal.reason}: {refused.detail}"
                self.log.info(f"{self.id} {self._instrument_key}: entry skipped, guard {refused.guard} blocked: {detail}")
                self.msgbus.publish(GUARD_TOPIC, GuardEvent(candle.ts, refused.guard, "blocked", self._instrument_key, str(self.id), detail))
                self._publish_signal(candle.ts, signal, refused.guard, refused.detail)
                return
        verdict = self.gate.decide(candle.ts, signal.side, signal.invalidation, signal.reason, candle.close, self.instrument, account, max_spend)
        if isinstance(verdict, EntryRefusal):
            self.skipped[verdict.guard] = self.skipped.get(verdict.guard, 0) + 1
            self._publish_signal(candle.ts, signal, verdict.guard, verdict.event.detail if verdict.event is not None else verdict.detail)
            if verdict.event is None:
                self.log.info(f"{self.id} {self._instrument_key}: entry skipped ({verdict.guard}): {verdict.detail}")
            else:  # one line per refused signal, at INFO: a losing day refuses hundreds
                self.log.info(f"{self.id} {self._instrument_key}: entry skipped, guard {verdict.event.guard} blocked: {verdict.event.detail}")
                self.msgbus.publish(GUARD_TOPIC, verdict.event)
            return
        self._publish_signal(candle.ts, signal, None, "")
        self.position_manager.enter(verdict)

    def _publish_signal(self, ts: int, signal: Signal, refused_by: str | None, detail: str) -> None:
        """Tell listeners (the ledger) about a signal and its fate; no cost when nothing listens."""
        if self.msgbus.has_subscribers(SIGNAL_TOPIC):
            reason = signal.reason + (f"; {detail}" if detail else "")
            side = "BUY" if signal.side > 0 else "SELL"
            self.msgbus.publish(SIGNAL_TOPIC, SignalDecision(ts, str(self.id), self._instrument_key, side, refused_by is None, refused_by, reason))

    # -- orders and positions: the position manager's ------------------------------------------

    def on_order_filled(self, event: OrderFilled) -> None:
        """The entry's last fill adds the follow-up exits; an exit fill that flipped the position is flattened at once.

        (OKX gets no reduceOnly for SWAP market/limit orders over its WebSocket, so a flip is possible live.)
        """
        self.position_manager.on_order_filled(event)

    def on_order_denied(self, event: OrderDenied) -> None:
        """nautilus's RiskEngine refused an order: record it; a refused entry frees the strategy again."""
        self.position_manager.on_order_refused(event.client_order_id, event.ts_event, "order_denied", event.reason)

    def on_order_rejected(self, event: OrderRejected) -> None:
        """The venue rejected an order (e.g. insufficient margin): record it; a rejected entry frees the strategy."""
        self.position_manager.on_order_refused(event.client_order_id, event.ts_event, "order_rejected", event.reason)

    def on_position_opened(self, event: PositionOpened) -> None:
        """The entry filled: check the stop is there, then add partial targets and the trailing exit."""
        self.position_manager.on_position_opened(event)

    def on_position_changed(self, event: PositionChanged) -> None:
        """After a partial exit, shrink the remaining exits to the position."""
        self.position_manager.on_position_changed(event)

    def on_position_closed(self, event: PositionClosed) -> None:
        """Flat again: cancel whatever exits are left and start the cooldown."""
        self.position_manager.on_position_closed(event)

    def _publish_guard(self, event: GuardEvent) -> None:
        """Log and publish a guard event: a block, its end, a halt, a flatten or an alert, all at WARNING.

        An account-wide event (daily loss, kill switch) is logged by the first strategy copy that records
        it; the other copies record and publish theirs (the run's guard_events.csv keeps every copy's row).
        """
        key = account_event_key(event)
        if key is None:
            self.log.warning(f"{self.id} {event.instrument_id or self._instrument_key}: guard {event.guard} {event.action}: {event.detail}")
        elif key not in self._account_events_seen:
            self.log.warning(f"account (first seen by {self.id} {self._instrument_key}): guard {event.guard} {event.action}: {event.detail}")
        self.msgbus.publish(GUARD_TOPIC, event)

    def _note_guard_event(self, event: GuardEvent) -> None:
        # another copy's account-wide event: this copy records its own without logging it again
        key = account_event_key(event) if event.strategy_id != str(self.id) else None
        if key is not None:
            self._account_events_seen.add(key)
