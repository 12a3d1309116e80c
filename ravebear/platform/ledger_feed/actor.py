"""`LedgerActor`: a node's events into the event ledger, in batches off the node's thread (`LedgerWriter`).

- every level touch (LevelEventData `touched`) with the market state at that moment (the EntryFilter's own
  reading of the alternative data: OI and its change, funding, long/short, whale net flow; plus USDT supply and
  BTC dominance) and, with the OrderFlowActor in the node, its order-flow context (held until it arrives);
  its outcome (markouts, MFE/MAE, held or broken) filled later from 1-minute bars (a backtest without the
  OrderFlowActor: from the bars the node loaded, each touch written once at the end with its outcome, `loaded.py`);
  a range touch is priced at the close of the minute that touched it;
- every entry signal (taken, or what refused it), every alert and what became of it, order events and fills
  (a closing fill with the position's realized PnL and R);
- with the SwarmActor in the node: its SwarmSignals where at least `swarm_min_confluence` bots agree (the trader's
  "when 5+ bots agree, that's confluence"; 0 writes every candle's) and every change of an instrument's regime;
- a record per run (mode, run file and its digest, trader, wall-clock start and end, data period).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import Bar, DataType
from nautilus_trader.model.events import (
    OrderAccepted, OrderCanceled, OrderDenied, OrderExpired, OrderFilled, OrderRejected, OrderSubmitted, PositionClosed,
)  # fmt: skip
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from ravebear.catalog.level_data import LevelEventData
from ravebear.gc_paused import gc_paused
from ravebear.ledger.models import AlertSent, FillRecord, LevelTouch, OrderRecord, RegimeChange, Run, Signal, SwarmSignalRecord, new_id
from ravebear.ledger.touches import touch_row
from ravebear.platform.alerts.actor import ALERT_TOPIC
from ravebear.platform.ledger_feed.loaded import HeldTouches, LoadedMinutes
from ravebear.platform.ledger_feed.touches import MinuteCloses, PendingTouches, context_columns, join_key
from ravebear.platform.nodes.loaded_bars import loaded_bars
from ravebear.ranges import Range, check_ranges
from ravebear.risk.entry_gate import entry_risk
from ravebear.risk.topics import SIGNAL_TOPIC
from ravebear.strategies.bar_types import bar_type_for
from ravebear.strategies.entry_filter import EntryFilter, EntryFilterConfig
from ravebear.time_units import NS_PER_SECOND

DATA_CONDITIONS = ("usdt_dominance", "whale_flow", "oi_change", "funding", "crowding")
ORDER_EVENTS = (OrderSubmitted, OrderAccepted, OrderRejected, OrderDenied, OrderCanceled, OrderExpired, OrderFilled)
RANGES = {
    "batch_rows": Range(1, 1_000_000, "rows"),
    "batch_s": Range(0, 60, "s", low_open=True),
    "backtest_defer_rows": Range(0, 10_000_000, "rows", note="0 = write during the run"),
    "break_bps": Range(0, 10_000, "bps"),
    "break_window_min": Range(1, 1440, "minutes"),
    "excursion_window_min": Range(1, 1440, "minutes"),
    "context_wait_s": Range(0, 3600, "s"),
    "oi_lookback_h": Range(0, 168, "h", low_open=True),
    "whale_window_h": Range(0, 168, "h", low_open=True),
    "swarm_min_confluence": Range(0, 20, "bots"),
}


class LedgerActorConfig(ActorConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the ledger is and how touches are judged; the node fills the fields below the line."""

    url: str | None = None  # a SQLAlchemy URL WITHOUT a password; $RAVEBEAR_LEDGER_URL (environment or .env) wins; neither: sqlite:///var/ledger.sqlite
    spill: str = "var/ledger_spill.jsonl"  # rows kept here while the database is away; written at the next start
    batch_rows: int = 1000  # rows per transaction at most ...
    batch_s: float = 0.5  # ... or this many seconds after the first row waited
    backtest_defer_rows: int = 200_000  # a backtest writes when it ends, or once this many rows wait (memory bound)
    break_bps: float = 10.0  # a 1-minute close this far beyond the level breaks it ...
    break_window_min: int = 60  # ... within this many minutes of the touch; else it held
    excursion_window_min: int = 60  # MFE / MAE over this many minutes
    context_wait_s: float = 120.0  # data seconds a touch waits for its order-flow context before it is written without
    oi_lookback_h: float = 4.0  # hours: open-interest change window
    whale_window_h: float = 6.0  # hours: whale net-flow window
    oi_usd: bool = True  # open interest in USD notional (Coinalyze convert_to_usd); False: base units
    swarm_min_confluence: int = 5  # bots: a SwarmSignal is written when at least this many agree (0: every one)
    # -- set by the node ----------------------------------------------------------------------------------------------
    mode: str = "backtest"
    run_file: str = ""
    config_digest: str = ""
    trader_id: str = ""
    instrument_ids: tuple[str, ...] = ()
    alt_data_clients: dict[str, str] = {}  # alternative-data type name -> client id
    orderflow: bool = False  # the OrderFlowActor publishes LevelFlowContext in this node
    swarm: bool = False  # the SwarmActor publishes SwarmSignals in this node

    def __post_init__(self) -> None:
        check_ranges(self, RANGES)
        from ravebear.ledger.config import LedgerConfig

        LedgerConfig(url=self.url)  # a password in the URL, or no URL at all: one line


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _near(data: LevelEventData, close: float | None) -> float:
    """A range touch's price: its minute's close, or the zone's middle when no close is known."""
    return close if close is not None else (data.low + data.high) / 2


class LedgerActor(Actor):
    """Writes the node's touches, signals, alerts, orders, fills and run record to the ledger."""

    def __init__(self, config: LedgerActorConfig | None = None) -> None:
        super().__init__(config or LedgerActorConfig())
        config = self.config
        from ravebear.ledger.outcomes import OutcomeSettings, OutcomeTracker

        self.outcomes = OutcomeTracker(OutcomeSettings(config.break_bps, config.break_window_min, config.excursion_window_min))
        self.market = EntryFilter(EntryFilterConfig(conditions=DATA_CONDITIONS, missing_data="pass", oi_lookback_h=config.oi_lookback_h,
                                                    whale_window_h=config.whale_window_h, oi_usd=config.oi_usd))
        self.pending = PendingTouches(int(config.context_wait_s * NS_PER_SECOND))
        self.writer: Any = None
        self.run_id = new_id()
        self.counts: dict[str, int] = {}
        self._usdt: tuple[float, float] | None = None  # (supply USD, net flow USD) of the latest USDT row
        self._btc_dominance: float | None = None
        self._first_ns = 0
        self._last_ns = 0
        self._closes = MinuteCloses()  # bar by bar: range touches priced at their minute's close
        self._held: HeldTouches | None = None  # a backtest: touches held, judged at the end from its loaded bars
        # it receives only the 1-minute bars it subscribed to: with one instrument, a bar's is known (reading it: ~0.2 us)
        self._only_instrument = config.instrument_ids[0] if len(config.instrument_ids) == 1 else None
        self._held_fill: dict[str, dict[str, Any]] = {}  # instrument -> its latest fill, until its position event
        self._regimes: dict[str, str] = {}  # instrument -> its latest regime (SwarmSignal)

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def on_start(self) -> None:
        """Open the ledger, write the run's record and subscribe to everything it records."""
        from ravebear.ledger.config import LedgerConfig, start_ledger
        from ravebear.ledger.store import LedgerError
        from ravebear.ledger.writer import WriterSettings

        config = self.config
        try:
            self.writer = start_ledger(LedgerConfig(url=config.url, spill_path=config.spill, writer=WriterSettings(
                batch_rows=config.batch_rows, batch_s=config.batch_s, defer_rows=config.backtest_defer_rows if config.mode == "backtest" else 0)),
                                       warn=self.log.warning)
        except LedgerError as exc:
            self.log.error(f"ledger: {exc}; this run is not recorded")
            return
        self._add(Run, id=self.run_id, mode=config.mode, run_file=config.run_file, config_digest=config.config_digest,
                  trader_id=config.trader_id, started_at=datetime.now(UTC))
        self._held = self._held_touches()
        for instrument_id in config.instrument_ids:
            identifier = InstrumentId.from_str(instrument_id)
            if self._held is None:
                self.subscribe_bars(bar_type_for(instrument_id, "1m"))
            self.subscribe_data(DataType(LevelEventData, metadata={"instrument_id": instrument_id}), instrument_id=identifier)
            if config.orderflow:
                from ravebear.catalog.orderflow.events import LevelFlowContext

                self.subscribe_data(DataType(LevelFlowContext, metadata={"instrument_id": instrument_id}), instrument_id=identifier)
            if config.swarm:
                from ravebear.catalog.swarm_data import swarm_data_type

                self.subscribe_data(swarm_data_type(instrument_id), instrument_id=identifier)
        from ravebear.catalog.alt_data import types

        for name, client in config.alt_data_clients.items():
            if client and hasattr(types, name):
                self.subscribe_data(DataType(getattr(types, name)), client_id=ClientId(client))
        self.msgbus.subscribe(topic=SIGNAL_TOPIC, handler=self._on_signal)
        self.msgbus.subscribe(topic=ALERT_TOPIC, handler=self._on_alert)
        self.msgbus.subscribe(topic="events.order.*", handler=self._on_order_event)
        self.msgbus.subscribe(topic="events.position.*", handler=self._on_position_event)
        self.log.info(f"ledger: recording run {self.run_id} ({config.mode})" + (", outcomes from the loaded bars" if self._held else ""))

    @property
    def judges_at_end(self) -> bool:
        """True when its touches are judged at the end of the run from the bars the node loaded (a backtest)."""
        return self._held is not None

    def _held_touches(self) -> HeldTouches | None:
        """With a backtest's loaded 1-minute bars of every instrument: the touches are held and judged at the end;
        None: it subscribes to the bars. Not with the OrderFlowActor: touches waiting for their context are released
        by the bars' time."""
        if self.config.mode != "backtest" or self.config.orderflow:
            return None
        loaded = {}
        for instrument_id in self.config.instrument_ids:
            bars = loaded_bars(self.msgbus, bar_type_for(instrument_id, "1m"))
            if not LoadedMinutes.usable(bars):
                return None
            loaded[instrument_id] = LoadedMinutes(instrument_id, bars, self.clock.timestamp_ns())
        return HeldTouches(loaded) if loaded else None

    def on_stop(self) -> None:
        """Nothing yet: nautilus stops actors before strategies, and a strategy's flatten at stop still fills."""

    def on_dispose(self) -> None:
        """Write what is held, the outcomes known so far, the run's end; close the writer (it flushes)."""
        if self.writer is None:
            return
        with gc_paused():  # rows and their values: no cycles (a backtest's rows are all built and written here)
            self._finish()

    def _finish(self) -> None:
        for row in self.pending.all():
            self._write_touch(row)
        if self._held is not None:  # each held touch judged and written once, with its outcome
            span = self._held.judge(self.outcomes, self.clock.timestamp_ns())
            if span is not None:  # the data period: the bars the engine fed
                self._first_ns = min(self._first_ns, span[0]) if self._first_ns else span[0]
                self._last_ns = max(self._last_ns, span[1])
            for row in self._held.rows(self.outcomes.finish(self._last_ns)):
                self._write_touch(row)
        for (data, row_id), close in self._closes.leftover():  # their minute never came: the last close seen
            self._record_touch(data, _near(data, close), row_id)
        self.writer.add_outcomes(self.outcomes.finish(self._last_ns))
        for instrument in list(self._held_fill):
            self._release_fill(instrument)
        self.writer.update_run(self.run_id, ended_at=datetime.now(UTC), data_start=_utc(self._first_ns) if self._first_ns else None,
                               data_end=_utc(self._last_ns) if self._last_ns else None)
        stats = self.writer.close()
        shown = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        self.log.info(f"ledger: run {self.run_id}: {shown or 'nothing'} recorded; {stats.written_rows} rows in {stats.batches} batches"
                      + (f", {stats.spilled_rows} kept in {self.config.spill}" if stats.spilled_rows else ""))
        self.writer = None

    # -- data ----------------------------------------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Outcomes of open touches; touches whose context did not come in time."""
        if self.writer is None:
            return
        ts = bar.ts_event
        if not self._first_ns:
            self._first_ns = ts
        if ts > self._last_ns:  # noqa: PLR1730 - a bar: ~0.1 us cheaper than max()
            self._last_ns = ts
        instrument = self._only_instrument or bar.bar_type.instrument_id.value
        close = bar.close.as_double()
        for (data, row_id), touch_close in self._closes.on_bar(instrument, ts, close):
            self._record_touch(data, _near(data, touch_close), row_id)
        updates = self.outcomes.on_bar(instrument, ts, bar.high.as_double(), bar.low.as_double(), close)
        if updates:
            self.writer.add_outcomes(updates)
        if self.pending.rows or self.pending.contexts:  # only with the OrderFlowActor
            for row in self.pending.due(ts):
                self._write_touch(row)
        if self._held_fill:
            self._release_fill(instrument)

    def on_data(self, data: Any) -> None:
        """Level events, their order-flow context, and the alternative data of the market state."""
        if self.writer is None:
            return
        name = type(data).__name__
        if isinstance(data, LevelEventData):
            if data.event == "touched":
                self._on_touch(data)
        elif name == "LevelFlowContext":
            if data.event == "touched":
                row = self.pending.context(join_key(data), context_columns(data))
                if row is not None:
                    self._write_touch(row)
        elif name == "SwarmSignal":
            self._on_swarm(data)
        elif name == "StablecoinSupply":
            if data.asset == "USDT":
                self._usdt = (data.circulating_usd, data.net_flow_usd)
        else:
            if name == "Dominance" and data.asset == "BTC":
                self._btc_dominance = data.percent
            self.market.on_data(data)

    def _on_touch(self, data: LevelEventData) -> None:
        side = data.side
        if side == "support":
            self._record_touch(data, data.high, self.writer.new_id())
        elif side == "resistance":
            self._record_touch(data, data.low, self.writer.new_id())
        else:  # a range: the close of the minute that touched it (the latest closing at or before the touch)
            self._on_range_touch(data)

    def _on_range_touch(self, data: LevelEventData) -> None:
        instrument, ts = data.instrument_id.value, int(data.ts_event)
        row_id = self.writer.new_id()
        if self._held is not None:  # a backtest: its minute's close from the loaded bars
            minutes = self._held.minutes.get(instrument)
            self._record_touch(data, _near(data, minutes.close_at_or_before(ts) if minutes is not None else None), row_id)
            return
        known, close = self._closes.at(instrument, ts)
        if known:
            self._record_touch(data, _near(data, close), row_id)
        else:  # its minute's bar comes after this event (the LevelActor saw it first)
            self._closes.wait(instrument, ts, (data, row_id))

    def _record_touch(self, data: LevelEventData, near_edge: float, row_id: str) -> None:
        instrument, ts = data.instrument_id.value, int(data.ts_event)
        state = self.market.market_state(ts, instrument)
        row = touch_row(data, self.run_id, near_edge, id=row_id,
                        open_interest_usd=state["open_interest"] if self.config.oi_usd else None,
                        open_interest_change_pct=state["open_interest_change_pct"],
                        open_interest_window_min=int(self.config.oi_lookback_h * 60) if state["open_interest_change_pct"] is not None else None,
                        funding_rate=state["funding_rate"], long_short_ratio=state["long_short_ratio"],
                        usdt_supply_usd=self._usdt[0] if self._usdt else None, usdt_net_flow_usd=self._usdt[1] if self._usdt else None,
                        btc_dominance_pct=self._btc_dominance, usdt_dominance_pct=state["usdt_dominance_pct"], whale_flow_usd=state["whale_flow_usd"])
        row["instrument_id"] = instrument
        if self._held is not None:  # judged and written at the end, with its outcome
            self._held.add(row)
            return
        self.outcomes.track(row["id"], instrument, ts, row["touch_price"], row["level_price"], row["direction"])
        if self.config.orderflow:
            ready = self.pending.add(join_key(data), row)
            if ready is not None:
                self._write_touch(ready)
        else:
            self._write_touch(row)

    def _on_swarm(self, data: Any) -> None:
        instrument, ts = data.instrument_id.value, int(data.ts_event)
        previous = self._regimes.get(instrument, "")
        if data.regime != previous:
            self._regimes[instrument] = data.regime
            self._add(RegimeChange, run_id=self.run_id, ts_event_ns=ts, instrument_id=instrument, regime=data.regime, previous=previous)
        if data.confluence >= self.config.swarm_min_confluence:
            self._add(SwarmSignalRecord, run_id=self.run_id, ts_event_ns=ts, instrument_id=instrument, direction=data.direction,
                      score=data.score, confluence=data.confluence, long_votes=data.long_votes, short_votes=data.short_votes,
                      regime=data.regime, votes=data.votes[:2048])

    def _write_touch(self, row: dict[str, Any]) -> None:
        self.writer.add(LevelTouch, **row)  # not through _add: one copy of ~36 values less
        self.counts["level_touches"] = self.counts.get("level_touches", 0) + 1

    # -- message bus ------------------------------------------------------------------------------------------------

    def _on_signal(self, signal: Any) -> None:
        if self.writer is not None:
            self._add(Signal, run_id=self.run_id, ts_event_ns=int(signal.ts), strategy_id=signal.strategy_id, instrument_id=signal.instrument_id,
                      side=signal.side, accepted=signal.accepted, refused_by=signal.refused_by, reason=signal.reason[:512])

    def _on_alert(self, record: Any) -> None:
        if self.writer is not None:
            alert = record.alert
            self._add(AlertSent, run_id=self.run_id, ts_event_ns=int(alert.ts_ns), channel=record.channel, kind=alert.kind.value,
                      symbol=alert.symbol, title=alert.title[:256], outcome=record.outcome)

    def _on_order_event(self, event: Any) -> None:
        if self.writer is None or not isinstance(event, ORDER_EVENTS):
            return
        order = self.cache.order(event.client_order_id)
        if order is None:
            return
        instrument = order.instrument_id.value
        price = getattr(order, "price", None)
        trigger = getattr(order, "trigger_price", None)
        self._add(OrderRecord, run_id=self.run_id, ts_event_ns=int(event.ts_event), client_order_id=str(order.client_order_id),
                  venue_order_id=str(order.venue_order_id) if order.venue_order_id else None, strategy_id=str(order.strategy_id),
                  instrument_id=instrument, side=order.side_string(), order_type=order.type_string(), status=order.status_string(),
                  quantity=order.quantity.as_double(), price=price.as_double() if price is not None else None,
                  trigger_price=trigger.as_double() if trigger is not None else None, reduce_only=bool(order.is_reduce_only),
                  reason=str(getattr(event, "reason", "") or "")[:512] or None)
        if isinstance(event, OrderFilled):
            self._release_fill(instrument)
            self._held_fill[instrument] = {
                "run_id": self.run_id, "ts_event_ns": int(event.ts_event), "client_order_id": str(event.client_order_id),
                "trade_id": str(event.trade_id), "strategy_id": str(event.strategy_id), "instrument_id": instrument,
                "side": order.side_string(), "quantity": event.last_qty.as_double(), "price": event.last_px.as_double(),
                "fee": event.commission.as_double(), "fee_currency": event.commission.currency.code,
                "liquidity": event.liquidity_side.name if event.liquidity_side else "",
            }

    def _on_position_event(self, event: Any) -> None:
        if self.writer is None or not isinstance(event, PositionClosed):
            return
        instrument = event.instrument_id.value
        held = self._held_fill.get(instrument)
        if held is not None and held["client_order_id"] == str(event.closing_order_id):
            pnl = event.realized_pnl.as_double()
            held.update(realized_pnl=pnl, pnl_currency=event.realized_pnl.currency.code, r_multiple=self._r(event, pnl))
        self._release_fill(instrument)

    def _release_fill(self, instrument: str) -> None:
        row = self._held_fill.pop(instrument, None)
        if row is not None:
            self._add(FillRecord, **row)

    def _r(self, event: Any, pnl: float) -> float | None:
        risk = entry_risk(self.cache.order(event.opening_order_id))
        return pnl / risk if risk else None

    def _add(self, model: type, **values: Any) -> None:
        self.writer.add(model, **values)
        self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + 1
