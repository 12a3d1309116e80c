"""`PositionManager`: one strategy's trade from the bracket to flat, and across a restart.

- enters with a bracket: market entry + STOP_MARKET protective stop + MARKET_IF_TOUCHED final
  target, submitted together, so no entry ever exists without its stop (on OKX the stop is
  attached to the entry and rests at the venue: `attachAlgoOrds` accepts only STOP_MARKET /
  STOP_LIMIT stops and MIT / LIT targets);
- after the entry's last fill adds partial take-profits (reduce-only MIT) and the trailing exit
  (reduce-only TRAILING_STOP_MARKET with an activation price: OKX's native `move_order_stop`),
  moves the stop to break-even after the configured R (`modify_order`, OKX `amend-algos`),
  resizes exits after a partial fill, closes after `max_hold_bars`, cancels leftovers when the
  position closes, then counts down the cooldown;
- never lets an exit open a position: exits are reduce-only and sized to the position, and a
  flip caused by an exit is flattened at once and reported (`exit_flip`), because nautilus does
  not send `reduceOnly` for SWAP market/limit orders over OKX's WebSocket; a position whose stop
  the venue refused is closed;
- acts on the kill switch: cancels working orders and, when configured, flattens;
- after a restart adopts the open position and its working exits (`TradeState` restored by
  `load`), or drops an entry that did not survive.

It places orders through the strategy it serves (nautilus ties orders to a Strategy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from nautilus_trader.indicators import AverageTrueRange
from nautilus_trader.model.enums import OrderSide, OrderType, TimeInForce, TrailingOffsetType, TriggerType
from nautilus_trader.model.events import OrderFilled, PositionChanged, PositionClosed, PositionOpened
from nautilus_trader.model.identifiers import ClientOrderId

from ravebear.risk.entry_gate import EntryPlan
from ravebear.risk.exits import ExitPlan, ExitSettings, reached, trailing_offset
from ravebear.risk.guards import GuardEvent, RiskGuards
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.trade_state import TradeState, decode_state, encode_state

LONG, SHORT = 1, -1
STOP_ACTIONS = ("flatten", "cancel", "keep")


def side_of(position: Any) -> int:
    """Return +1 for a LONG position, -1 for a SHORT one, else 0."""
    return LONG if position.side.name == "LONG" else SHORT if position.side.name == "SHORT" else 0


class PositionManager:
    """The orders and state of one strategy's position on its instrument."""

    def __init__(
        self,
        strategy: Any,
        guards: RiskGuards,
        publish: Callable[[GuardEvent], None],
        exits: ExitSettings,
        cooldown_bars: int,
        flatten_on_kill: bool,
    ) -> None:
        self._strategy = strategy
        self._guards = guards
        self._publish = publish
        self._exits = exits
        self._cooldown_bars = cooldown_bars
        self._flatten_on_kill = flatten_on_kill
        self._instrument_id = strategy.config.instrument_id
        self._instrument_key = self._instrument_id.value
        self.atr = AverageTrueRange(exits.atr_period)  # the trailing exit's distance when it is an ATR multiple
        self.instrument: Any = None
        self._persist_state = False  # set at start when the node keeps state in a database
        self.state = TradeState()
        self._reset()

    # -- what the template asks ---------------------------------------------------------------

    @property
    def side(self) -> int:
        """+1 long, -1 short, 0 flat."""
        return self._side

    @property
    def busy(self) -> bool:
        """True while a position is open, an entry is working, or the cooldown runs: no new entry."""
        return bool(self._side or self.state.entry_id is not None or self.state.cooldown > 0)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, instrument: Any, persist_state: bool) -> None:
        """Take over after a restart: adopt an open position and its exits, or drop an entry that never filled."""
        self.instrument = instrument
        self._persist_state = persist_state
        position = self._position()
        if position is not None:
            self._adopt(position)
        elif self.state.entry_id is not None:
            self._forget_lost_entry()

    def stop(self, action: str) -> None:
        """Per `action`: "flatten" (cancel orders, close positions), "cancel" (orders only) or "keep" (leave both at the venue)."""
        if self.instrument is None or action == "keep":
            return
        self._strategy.cancel_all_orders(self._instrument_id)
        if action == "flatten":
            self._strategy.close_all_positions(self._instrument_id, tags=["exit=stop_node"])

    def save(self) -> bytes:
        """The stored state: the trade's exit plan, ids and counters, and the guards' memory."""
        return encode_state(self.state, self._guards.state())

    def load(self, raw: bytes) -> None:
        """Take back what `save` stored (before `start` adopts the open position and its exits)."""
        self.state, guards = decode_state(raw)
        self._guards.restore(guards)

    # -- entries ------------------------------------------------------------------------------

    def enter(self, plan: EntryPlan) -> None:
        """Submit the plan's bracket; the exit plan is stored first, so a crash right after still finds it."""
        instrument = self.instrument
        strategy = self._strategy
        bracket = strategy.order_factory.bracket(
            instrument_id=instrument.id,
            order_side=OrderSide.BUY if plan.side > 0 else OrderSide.SELL,
            quantity=plan.quantity,
            time_in_force=TimeInForce.GTC,
            entry_tags=list(plan.tags),
            sl_trigger_price=plan.stop_price,
            sl_tags=["exit=stop"],
            tp_order_type=OrderType.MARKET_IF_TOUCHED,
            tp_trigger_price=plan.target_price,
            tp_tags=["exit=take_profit"],
        )
        self.state.plan = plan.exits
        self.state.entry_id = bracket.orders[0].client_order_id
        self._stop_id = bracket.orders[1].client_order_id
        self._tp_ids = [bracket.orders[2].client_order_id]
        self._exit_side = OrderSide.SELL if plan.side > 0 else OrderSide.BUY
        self._persist()
        strategy.submit_order_list(bracket)

    # -- candles ------------------------------------------------------------------------------

    def on_base_candle(self, candle: Candle, guard_events: Sequence[GuardEvent]) -> None:
        """Count down the cooldown, publish the guards' equity events (the kill switch acts at once), then manage the position."""
        state = self.state
        if state.cooldown > 0:
            state.cooldown -= 1
        for event in guard_events:
            self._publish(event)
            if event.action == "halted":
                self._kill(event.ts)
        if not self._side or state.plan is None:
            return
        state.bars_held += 1
        plan = state.plan
        favourable = candle.high if plan.side > 0 else candle.low
        if not state.breakeven_done and plan.breakeven_trigger is not None and reached(plan.side, favourable, plan.breakeven_trigger):
            self._move_stop_to_breakeven(plan)
        max_hold = self._exits.max_hold_bars
        if max_hold and state.bars_held >= max_hold and not self._closing:
            self._close_at_market("time")

    # -- order and position events ------------------------------------------------------------

    def on_order_filled(self, event: OrderFilled) -> None:
        """The entry's last fill adds the follow-up exits; an exit fill that flipped the position is flattened at once."""
        if event.instrument_id != self._instrument_id:
            return
        if event.client_order_id == self.state.entry_id:
            order = self._strategy.cache.order(event.client_order_id)
            if order is not None and order.is_closed:  # a market entry may fill in pieces: wait for the last one
                self.state.entry_filled = True
                self._maybe_place_follow_ups(event.ts_event)
            return
        if self._expected_side == 0:
            return
        position = self._position()
        if position is not None and side_of(position) == -self._expected_side:
            detail = f"exit {event.client_order_id} left a {position.side.name} position of {position.quantity}; flattening"
            self._publish(self._guards.alert(event.ts_event, "exit_flip", self._instrument_key, detail))
            self._strategy.close_position(position, tags=["exit=flip_repair"])

    def on_order_refused(self, client_order_id: ClientOrderId, ts: int, guard: str, reason: str) -> None:
        """nautilus's RiskEngine denied or the venue rejected an order: a refused entry frees the strategy, a refused stop closes the position."""
        self._publish(self._guards.alert(ts, guard, self._instrument_key, f"{client_order_id}: {reason}"))
        if client_order_id == self.state.entry_id and not self._side:
            self._strategy.cancel_all_orders(self._instrument_id)
            self._reset()
        elif client_order_id in (self._stop_id, self._trail_id) and self._side:
            self._close_at_market("exit_rejected")  # never hold a position whose stop the venue refused

    def on_position_opened(self, event: PositionOpened) -> None:
        """The entry filled: check the stop is there, then add partial targets and the trailing exit."""
        if event.instrument_id != self._instrument_id:
            return
        self._side = self._expected_side = LONG if event.side.name == "LONG" else SHORT
        self.state.bars_held = 0
        if self.state.plan is None:  # not from an entry of ours (e.g. a flip repair)
            return
        if not self._has_working_stop():
            self._publish(self._guards.alert(event.ts_event, "no_stop", self._instrument_key, "position opened without a working stop; flattening"))
            self._close_at_market("no_stop")
            return
        self._maybe_place_follow_ups(event.ts_event)

    def on_position_changed(self, event: PositionChanged) -> None:
        """After a partial exit, shrink the remaining exits to the position (not while the entry is still filling)."""
        if event.instrument_id != self._instrument_id or not self._side or self.state.entry_id is not None:
            return
        self._resize_exits(event.quantity)

    def on_position_closed(self, event: PositionClosed) -> None:
        """Flat again: cancel whatever exits are left and start the cooldown."""
        if event.instrument_id != self._instrument_id:
            return
        self._strategy.cancel_all_orders(self._instrument_id)
        self._reset()
        self.state.cooldown = self._cooldown_bars
        self._persist()

    # -- exits --------------------------------------------------------------------------------

    def _maybe_place_follow_ups(self, ts: int) -> None:
        """Once the entry is wholly filled and its position is open, add the partial targets and the trailing exit."""
        position = self._position()
        if not self.state.entry_filled or not self._side or position is None or self.state.entry_id is None:
            return
        self.state.entry_id = None
        self._place_follow_up_exits(position.quantity)
        self._persist()

    def _place_follow_up_exits(self, quantity: Any) -> None:
        instrument = self.instrument
        factory = self._strategy.order_factory
        plan = self.state.plan
        settings = self._exits
        lot = instrument.size_increment.as_decimal()
        minimum = instrument.min_quantity.as_decimal() if instrument.min_quantity else lot
        total = quantity.as_decimal()
        for price, fraction in plan.targets[:-1]:
            size = (total * Decimal(str(fraction)) / lot).to_integral_value(rounding="ROUND_DOWN") * lot
            if size < minimum:
                continue
            order = factory.market_if_touched(
                instrument_id=instrument.id, order_side=self._exit_side, quantity=instrument.make_qty(size),
                trigger_price=instrument.make_price(price), reduce_only=True, tags=["exit=take_profit"],
            )  # fmt: skip
            self._tp_ids.append(order.client_order_id)
            self._strategy.submit_order(order)
        kind, offset = trailing_offset(plan.entry, self.atr.value if self.atr.initialized else 0.0, settings)
        if kind:
            activation = None
            if settings.trailing_activation_r > 0 and plan.trailing_activation is not None:
                activation = instrument.make_price(plan.trailing_activation)
            order = factory.trailing_stop_market(
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
            self._strategy.submit_order(order)

    def _move_stop_to_breakeven(self, plan: ExitPlan) -> None:
        self.state.breakeven_done = True
        order = self._strategy.cache.order(self._stop_id) if self._stop_id else None
        if order is None or order.is_closed or plan.breakeven_stop is None:
            return
        new_stop = self.instrument.make_price(plan.breakeven_stop)
        improves = new_stop.as_double() > order.trigger_price.as_double() if plan.side > 0 else new_stop.as_double() < order.trigger_price.as_double()
        if improves:
            self._strategy.modify_order(order, trigger_price=new_stop)
            self._persist()

    def _resize_exits(self, quantity: Any) -> None:
        cache = self._strategy.cache
        for client_order_id in (self._stop_id, self._trail_id, *self._tp_ids[:1]):
            order = cache.order(client_order_id) if client_order_id else None
            if order is None or order.is_closed or not order.is_open or order.is_pending_update:
                continue
            if order.quantity > quantity:
                self._strategy.modify_order(order, quantity=quantity)

    def _close_at_market(self, reason: str) -> None:
        position = self._position()
        if position is None or self._closing:
            return
        self._closing = True
        self._strategy.close_position(position, tags=[f"exit={reason}"])

    def _kill(self, ts: int) -> None:
        # `ts` is the halt's data time: a paper replay's strategy clock is wall time, every other guard event data time
        self._strategy.cancel_all_orders(self._instrument_id)
        if self._flatten_on_kill and self._position() is not None:
            position = self._position()
            self._close_at_market("kill_switch")
            detail = f"closing {position.side.name} {position.quantity} at market"
            self._publish(self._guards.record_flatten(ts, self._instrument_key, detail))

    # -- restart ------------------------------------------------------------------------------

    def _adopt(self, position: Any) -> None:
        """Take over a position found at start (restart): remember its working stop and exits."""
        strategy = self._strategy
        self._side = self._expected_side = side_of(position)
        self._exit_side = OrderSide.SELL if self._side > 0 else OrderSide.BUY
        for order in strategy.cache.orders_open(instrument_id=self._instrument_id, strategy_id=strategy.id):
            tags = order.tags or []
            if "exit=stop" in tags:
                self._stop_id = order.client_order_id
            elif "exit=trailing" in tags:
                self._trail_id = order.client_order_id
            elif "exit=take_profit" in tags:
                self._tp_ids.append(order.client_order_id)
        ts = strategy.clock.timestamp_ns()
        exits = [name for name, present in (("stop", self._stop_id), ("trailing exit", self._trail_id), ("targets", self._tp_ids)) if present]
        plan = "exit plan restored" if self.state.plan is not None else "no saved exit plan (no break-even move)"
        detail = f"adopted {position.side.name} {position.quantity} with {', '.join(exits) or 'no exits'}; {plan}"
        self._publish(self._guards.alert(ts, "restart", self._instrument_key, detail))
        if not self._has_working_stop():  # never hold a position unprotected: flatten it
            detail = f"restarted with {position.side.name} {position.quantity} and no working stop; flattening"
            self._publish(self._guards.alert(ts, "no_stop", self._instrument_key, detail))
            self._close_at_market("no_stop")
        elif self.state.entry_id is not None and self.state.entry_filled:
            self._maybe_place_follow_ups(ts)  # stopped between the entry's fill and its follow-up exits
        else:
            self._resize_exits(position.quantity)  # an exit filled while the node was down: the rest still has the old size

    def _forget_lost_entry(self) -> None:
        """Restarted flat with a saved entry that never filled (the crash came before the venue had it): drop it."""
        entry_id = self.state.entry_id
        order = self._strategy.cache.order(entry_id)
        status = "not in the cache" if order is None else order.status.name
        ts = self._strategy.clock.timestamp_ns()
        self._publish(self._guards.alert(ts, "entry_lost", self._instrument_key, f"entry {entry_id} ({status}) did not survive the restart; dropped"))
        if order is not None and not order.is_closed:
            self._strategy.cancel_all_orders(self._instrument_id)
        self._reset()
        self._persist()

    # -- helpers ------------------------------------------------------------------------------

    def _reset(self) -> None:
        """Forget the trade (the cooldown stays)."""
        self.state = TradeState(cooldown=self.state.cooldown)
        self._side = 0
        self._expected_side = 0
        self._stop_id: ClientOrderId | None = None
        self._trail_id: ClientOrderId | None = None
        self._tp_ids: list[ClientOrderId] = []
        self._exit_side = OrderSide.SELL
        self._closing = False

    def _persist(self) -> None:
        """Store the strategy's state now (a node with a database cache), not only at a clean stop: kill -9 skips that."""
        if self._persist_state:
            self._strategy.cache.update_strategy(self._strategy)

    def _has_working_stop(self) -> bool:
        order = self._strategy.cache.order(self._stop_id) if self._stop_id else None
        return order is not None and not order.is_closed

    def _position(self) -> Any:
        positions = self._strategy.cache.positions_open(instrument_id=self._instrument_id, strategy_id=self._strategy.id)
        return positions[0] if positions else None
