"""Guard limits given to nautilus's RiskEngine, checked against a real BacktestEngine on real OKX bars."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ravebear.catalog.instruments import instrument_for
from ravebear.risk.engine_config import EXIT_HEADROOM, risk_engine_config
from ravebear.risk.guards import GuardLimits, RiskGuards

pytestmark = pytest.mark.filterwarnings("ignore:Timestamp.utcnow is deprecated")

BTC_SWAP = "BTC-USDT-SWAP.OKX"


def test_limits_become_nautilus_settings():
    from nautilus_trader.config import RiskEngineConfig

    limits = GuardLimits(max_orders_per_minute=30, max_notional_per_order=5_000.0)
    config = risk_engine_config(limits, [BTC_SWAP, "ETH-USDT-SWAP.OKX"])
    assert config == RiskEngineConfig(
        max_order_submit_rate="120/00:01:00",  # 30 entries a minute x EXIT_HEADROOM 4: the throttle also counts exits
        max_notional_per_order={BTC_SWAP: 5_000, "ETH-USDT-SWAP.OKX": 5_000},
    )
    assert RiskEngineConfig.parse(config.json()) == config  # the msgspec schema accepts it: whole numbers only
    # nautilus parses the interval with pandas
    assert pd.to_timedelta(config.max_order_submit_rate.split("/")[1]) == timedelta(minutes=1)


def test_limits_at_zero_keep_nautilus_defaults():
    from nautilus_trader.config import RiskEngineConfig

    config = risk_engine_config(GuardLimits(max_orders_per_minute=0, max_notional_per_order=0.0), [BTC_SWAP])
    assert config == RiskEngineConfig()
    assert (config.max_order_submit_rate, config.max_notional_per_order) == ("100/00:00:01", {})


def test_fractional_notional_is_rounded_down_to_what_nautilus_accepts():
    from nautilus_trader.config import RiskEngineConfig

    config = risk_engine_config(GuardLimits(max_notional_per_order=2_500.75), [BTC_SWAP])
    assert config.max_notional_per_order == {BTC_SWAP: 2_500}
    assert config.validate()
    with pytest.raises(Exception, match="Expected `int`, got `float`"):
        RiskEngineConfig(max_notional_per_order={BTC_SWAP: 2_500.75}).validate()  # why we round
    with pytest.raises(ValueError, match=r"guards.max_notional_per_order 0.5 is below 1"):
        risk_engine_config(GuardLimits(max_notional_per_order=0.5), [BTC_SWAP])


# -- a real BacktestEngine ------------------------------------------------------------------


def run_engine(
    raw: pd.DataFrame, instrument_id: str, account_type: str, limits: GuardLimits, orders: list[tuple[str, str, str]]
) -> tuple[list[tuple[str, str]], list[str], tuple]:
    """Replay the first five real BTC bars of `raw`; on the first bar submit `orders` (type, quantity, price) at once.

    Returns the engine's (type, status) of each order, the strategy's denial reasons and the risk engine's
    (submit rate, max notionals) settings.
    """
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.objects import Money
    from nautilus_trader.trading.strategy import Strategy

    instrument = instrument_for(instrument_id)
    raw = raw.head(5)
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    close_ns = ((raw["ts"].to_numpy(np.int64) + 60_000) * 1_000_000).astype(np.uint64)  # bars stamped at close

    def column(name: str) -> np.ndarray:
        return np.array(raw[name].to_numpy(np.float64), copy=True)

    bars = Bar.from_raw_arrays_to_list(
        bar_type, instrument.price_precision, instrument.size_precision,
        column("open"), column("high"), column("low"), column("close"), column("volume_contracts"),
        close_ns, close_ns.copy(),
    )  # fmt: skip

    class SubmitOnce(Strategy):
        def __init__(self) -> None:
            super().__init__(StrategyConfig(strategy_id="SubmitOnce-001"))
            self.denied: list[str] = []

        def on_start(self) -> None:
            self.subscribe_bars(bar_type)

        def on_bar(self, bar: Bar) -> None:
            if self.cache.orders():
                return
            for kind, quantity, price in orders:
                qty = instrument.make_qty(Decimal(quantity))
                if kind == "MARKET":
                    order = self.order_factory.market(instrument.id, OrderSide.BUY, qty)
                else:
                    order = self.order_factory.limit(instrument.id, OrderSide.BUY, qty, instrument.make_price(Decimal(price)))
                self.submit_order(order)

        def on_order_denied(self, event) -> None:
            self.denied.append(event.reason)

    engine = BacktestEngine(
        BacktestEngineConfig(
            risk_engine=risk_engine_config(limits, [str(instrument.id)]),
            logging=LoggingConfig(log_level="ERROR"),
        )
    )
    margin = account_type == "MARGIN"
    engine.add_venue(
        instrument.id.venue, oms_type=OmsType.NETTING, account_type=AccountType[account_type], base_currency=None,
        starting_balances=[Money(100_000, USDT)], **({"default_leverage": Decimal(10)} if margin else {}),
    )  # fmt: skip
    engine.add_instrument(instrument)
    engine.add_data(bars)
    strategy = SubmitOnce()
    engine.add_strategy(strategy)
    try:
        engine.run()
        settings = (engine.kernel.risk_engine.max_order_submit_rate(), engine.kernel.risk_engine.max_notionals_per_order())
        return [(o.type_string(), o.status_string()) for o in engine.cache.orders()], strategy.denied, settings
    finally:
        engine.dispose()


def test_nautilus_denies_an_order_above_the_notional_where_it_checks_notional(okx_btc_raw):
    # A cash venue (Binance spot) and a LIMIT order: the only case nautilus 1.231 checks the notional on bars.
    # The sample's first close, 65,240.0 USDT, x 0.1 BTC = 6,524 USDT, over the 5,000 cap.
    limits = GuardLimits(max_notional_per_order=5_000)
    orders, denied, (rate, notionals) = run_engine(okx_btc_raw, "BTCUSDT.BINANCE", "CASH", limits, [("LIMIT", "0.1", "65240.0")])
    assert orders == [("LIMIT", "DENIED")]
    assert denied == ["NOTIONAL_EXCEEDS_MAX_PER_ORDER: max_notional=5000.00000000 USDT, notional=6524.00000000 USDT"]
    assert rate == (30 * EXIT_HEADROOM, timedelta(minutes=1))
    assert {str(instrument_id): value for instrument_id, value in notionals.items()} == {"BTCUSDT.BINANCE": Decimal(5_000)}


def test_nautilus_skips_the_notional_check_for_an_okx_swap_so_the_guards_must_refuse_it(okx_btc_raw):
    # 100 contracts x 0.01 BTC x ~65,240 USDT = ~65,240 USDT, thirteen times the cap: nautilus fills both orders,
    # because risk/engine.pyx returns from the pre-trade checks for margin accounts before the notional check.
    limits = GuardLimits(max_notional_per_order=5_000)
    too_large = [("MARKET", "100", ""), ("LIMIT", "100", "65240.0")]
    orders, denied, (_, notionals) = run_engine(okx_btc_raw, BTC_SWAP, "MARGIN", limits, too_large)
    assert {str(instrument_id) for instrument_id in notionals} == {BTC_SWAP}  # the setting was loaded ...
    assert denied == [] and orders == [("MARKET", "FILLED"), ("LIMIT", "FILLED")]  # ... and not applied
    notional = 100 * 0.01 * 65_240.0
    decision = RiskGuards(limits).check_entry(0, BTC_SWAP, notional, 10_000.0, 0, 0.0, 0.0)
    assert decision.event.guard == "order_notional"
    assert decision.event.detail == "order notional 65,240.00 > limit 5,000.00"


def test_nautilus_denies_orders_over_the_per_minute_rate_on_an_okx_swap(okx_btc_raw):
    # nine resting limit orders far below the market in the same instant; 2 entries a minute x headroom 4 = 8
    limits = GuardLimits(max_orders_per_minute=2)
    resting = ("LIMIT", "0.01", "60000.0")
    orders, denied, (rate, _) = run_engine(okx_btc_raw, BTC_SWAP, "MARGIN", limits, [resting] * 9)
    assert rate == (2 * EXIT_HEADROOM, timedelta(minutes=1))
    assert orders == [("LIMIT", "ACCEPTED")] * 8 + [("LIMIT", "DENIED")]
    assert denied == ["Exceeded MAX_ORDER_SUBMIT_RATE"]
