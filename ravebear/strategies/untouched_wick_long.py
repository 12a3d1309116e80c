"""Untouched-wick long: buy when price returns to an untouched lower wick and holds it.

On each closed bar the wick detector reports supports that the bar touched. When the
touch is shallow (at most `max_touch_depth_bps` through the level) and the bar closed
back above the level, the strategy buys at market with a protective stop below the
touching bar's low and a take-profit at `take_profit_r` times the risk, both attached
from submission (bracket). Size risks `risk_per_trade_pct` of equity at the stop.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide, OrderType, TimeInForce
from nautilus_trader.model.events import PositionClosed, PositionOpened
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from ravebear.risk.sizing import fixed_fractional_contracts
from ravebear.strategies.levels.model import EventKind, LevelSide
from ravebear.strategies.levels.wicks import UntouchedWickDetector, WickConfig


class UntouchedWickLongConfig(StrategyConfig, frozen=True, kw_only=True):
    """Thresholds of the untouched-wick long strategy (units in the comments)."""

    instrument_id: InstrumentId
    bar_type: BarType
    min_wick_bps: float = 6.0  # lower-wick length, basis points of the low
    min_wick_body_ratio: float = 1.5  # lower wick / body
    min_relative_volume: float = 0.0  # candle volume / mean of previous `volume_lookback` candles
    volume_lookback: int = 30  # candles
    max_age_bars: int = 240  # candles a wick may wait for its touch
    max_levels: int = 64  # untouched levels kept
    through_bps: float = 5.0  # close below the level by more than this: invalidated, no trade
    max_touch_depth_bps: float = 8.0  # deepest touch still traded, bps below the level
    stop_buffer_bps: float = 6.0  # stop below the touching candle's low, bps
    min_stop_bps: float = 0.0  # the stop is at least this far below the entry, bps (room for fees and noise)
    take_profit_r: float = 2.0  # take-profit distance in multiples of the stop distance
    risk_per_trade_pct: float = 0.5  # equity percent lost at the stop
    max_leverage: float = 3.0  # notional cap, multiples of equity
    max_hold_bars: int = 0  # close after this many candles; 0 keeps the bracket alone


class UntouchedWickLong(Strategy):
    """Trade the first return to an untouched lower wick, long only."""

    def __init__(self, config: UntouchedWickLongConfig) -> None:
        super().__init__(config)
        self.detector = UntouchedWickDetector(
            WickConfig(
                min_wick_bps=config.min_wick_bps,
                min_wick_body_ratio=config.min_wick_body_ratio,
                min_relative_volume=config.min_relative_volume,
                volume_lookback=config.volume_lookback,
                max_age_bars=config.max_age_bars,
                max_levels=config.max_levels,
                through_bps=config.through_bps,
            ),
        )
        self.instrument = None
        self._in_position = False  # kept by position events: cheaper than asking the portfolio every bar
        self._bars_in_position = 0
        self.skipped: dict[str, int] = {}

    def on_start(self) -> None:
        """Load the instrument and subscribe to the configured bars."""
        self.instrument = self.cache.instrument(self.config.instrument_id)
        if self.instrument is None:
            self.log.error(f"instrument {self.config.instrument_id} not in cache; stopping")
            self.stop()
            return
        self._in_position = not self.portfolio.is_flat(self.config.instrument_id)
        self.subscribe_bars(self.config.bar_type)

    def on_position_opened(self, event: PositionOpened) -> None:
        """Start counting the bars the position is held."""
        self._in_position = True
        self._bars_in_position = 0

    def on_position_closed(self, event: PositionClosed) -> None:
        """Back to flat: entries are allowed again."""
        self._in_position = False

    def on_bar(self, bar: Bar) -> None:
        """Update the wick detector and act on a held touch of a support."""
        low = bar.low.as_double()
        close = bar.close.as_double()
        events = self.detector.update(bar.open.as_double(), bar.high.as_double(), low, close, bar.volume.as_double(), bar.ts_event)

        cfg = self.config
        if self._in_position:
            self._bars_in_position += 1
            if cfg.max_hold_bars and self._bars_in_position >= cfg.max_hold_bars:
                self.cancel_all_orders(cfg.instrument_id)
                self.close_all_positions(cfg.instrument_id)
            return
        if not events or self.cache.orders_open_count(instrument_id=cfg.instrument_id):
            return
        for event in events:
            if (
                event.kind is EventKind.TOUCHED
                and event.level.side is LevelSide.SUPPORT
                and event.depth_bps <= cfg.max_touch_depth_bps
                and close > event.level.price
            ):
                self._enter(close, min(low, event.level.price))
                return

    def _enter(self, entry: float, touch_low: float) -> None:
        cfg = self.config
        instrument = self.instrument
        stop_price = min(touch_low * (1.0 - cfg.stop_buffer_bps * 1e-4), entry * (1.0 - cfg.min_stop_bps * 1e-4))
        stop = instrument.make_price(stop_price)
        take_profit = instrument.make_price(entry + cfg.take_profit_r * (entry - stop.as_double()))
        account = self.portfolio.account(instrument.id.venue)
        equity = account.balance_total(instrument.settlement_currency).as_decimal() if account else Decimal(0)
        decision = fixed_fractional_contracts(
            equity=equity,
            risk_fraction=Decimal(str(cfg.risk_per_trade_pct)) / 100,
            entry=Decimal(str(entry)),
            stop=stop.as_decimal(),
            contract_value=instrument.multiplier.as_decimal(),
            lot_size=instrument.size_increment.as_decimal(),
            min_size=instrument.min_quantity.as_decimal() if instrument.min_quantity else instrument.size_increment.as_decimal(),
            max_leverage=Decimal(str(cfg.max_leverage)),
        )
        if decision.contracts <= 0:
            self.skipped[decision.reason] = self.skipped.get(decision.reason, 0) + 1
            self.log.warning(f"entry skipped: {decision.reason}")
            return
        bracket = self.order_factory.bracket(
            instrument_id=instrument.id,
            order_side=OrderSide.BUY,
            quantity=instrument.make_qty(decision.contracts),
            sl_trigger_price=stop,
            tp_order_type=OrderType.MARKET_IF_TOUCHED,  # OKX accepts only MIT/LIT take-profits on attached brackets
            tp_trigger_price=take_profit,
            time_in_force=TimeInForce.GTC,
        )
        self.submit_order_list(bracket)

    def on_stop(self) -> None:
        """Cancel working orders and flatten."""
        if self.instrument is None:
            return
        self.cancel_all_orders(self.config.instrument_id)
        self.close_all_positions(self.config.instrument_id)
