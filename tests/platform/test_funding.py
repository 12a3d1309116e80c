"""Funding in backtests: a real BacktestEngine over Binance USD-M BTC bars pays and charges the real funding rates.

Expected figures are computed here straight from the shared parquet files (bar closes and
Binance's funding history), independently of the module.
"""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.common.config import ActorFactory
from nautilus_trader.config import BacktestEngineConfig, LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.trading.strategy import Strategy

from ravebear.catalog.alt_data.store import AltDataStore
from ravebear.catalog.alt_data.types import FundingRate
from ravebear.catalog.instruments import instrument_for
from ravebear.platform.simulated_venue.funding import FundingModule, FundingModuleConfig, funding_frame, funding_module_config, round_to_second
from tests.shared_data import SHARED

REPO = Path(__file__).resolve().parents[2]
BARS_FILE = SHARED / "ohlcv_1m" / "binance_usdm_BTCUSDT_1m_20250504_20250624.parquet"
FUNDING_FILE = SHARED / "funding_oi" / "binance_usdm_BTCUSDT_funding_8h.parquet"
pytestmark = pytest.mark.skipif(not (BARS_FILE.exists() and FUNDING_FILE.exists()), reason=f"shared data not found under {SHARED}")

INSTRUMENT = "BTCUSDT-PERP.BINANCE"
BAR_TYPE = f"{INSTRUMENT}-1-MINUTE-LAST-EXTERNAL"
FIRST_OPEN, LAST_OPEN = pd.Timestamp("2025-05-05 00:00", tz="UTC"), pd.Timestamp("2025-05-08 23:59", tz="UTC")
ENTRY = pd.Timestamp("2025-05-05 08:00", tz="UTC")  # a funding time: the entry fills on the bar closing then and does not pay it
EXIT = pd.Timestamp("2025-05-08 16:00", tz="UTC")  # a funding time: the position is still open when it is charged
QTY = 0.5  # BTC
START_USDT = 100_000.0
TAKER = 0.0005  # the instrument's taker fee


class HoldConfig(StrategyConfig, frozen=True, kw_only=True):
    instrument_id: InstrumentId
    bar_type: BarType
    side: str  # BUY | SELL
    quantity: str
    open_ns: int  # bar close time of the entry
    close_ns: int = 0  # bar close time of the exit (0: hold to the end)


class HoldStrategy(Strategy):
    """Open one position at market on one bar, close it on another (or never)."""

    def on_start(self) -> None:
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        if bar.ts_event == self.config.open_ns:
            side = OrderSide.BUY if self.config.side == "BUY" else OrderSide.SELL
            quantity = self.cache.instrument(self.config.instrument_id).make_qty(float(self.config.quantity))
            self.submit_order(self.order_factory.market(self.config.instrument_id, side, quantity))
        elif bar.ts_event == self.config.close_ns:
            self.close_all_positions(self.config.instrument_id)


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    frame = pd.read_parquet(BARS_FILE)
    lo, hi = FIRST_OPEN.value // 1_000_000, LAST_OPEN.value // 1_000_000
    frame = frame[(frame["ts"] >= lo) & (frame["ts"] <= hi)].reset_index(drop=True)
    frame["close_ns"] = (frame["ts"] + 60_000) * 1_000_000  # bars are stamped at their close
    return frame


@pytest.fixture(scope="module")
def rates() -> pd.DataFrame:
    frame = pd.read_parquet(FUNDING_FILE)
    return frame.assign(ts_ns=round_to_second(frame["ts"].to_numpy()))


def bars(frame: pd.DataFrame, instrument) -> list[Bar]:
    def column(name: str) -> np.ndarray:
        return np.array(frame[name].to_numpy(dtype=np.float64), copy=True)

    ts = np.array(frame["close_ns"].to_numpy().astype(np.uint64), copy=True)
    return Bar.from_raw_arrays_to_list(BarType.from_str(BAR_TYPE), instrument.price_precision, instrument.size_precision,
                                       column("open"), column("high"), column("low"), column("close"), column("volume"), ts, ts.copy())  # fmt: skip


def run(candles: pd.DataFrame, module: FundingModule, side: str, close_ns: int = 0) -> BacktestEngine:
    instrument = instrument_for(INSTRUMENT)
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(
        venue=Venue("BINANCE"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN, base_currency=None,
        starting_balances=[Money(START_USDT, USDT)], default_leverage=Decimal(10), modules=[module], bar_execution=True,
    )  # fmt: skip
    engine.add_instrument(instrument)
    engine.add_data(bars(candles, instrument))
    engine.add_strategy(HoldStrategy(HoldConfig(instrument_id=instrument.id, bar_type=BarType.from_str(BAR_TYPE), side=side,
                                                quantity=str(QTY), open_ns=ENTRY.value, close_ns=close_ns)))  # fmt: skip
    engine.run()
    return engine


def expected_payments(candles: pd.DataFrame, rates: pd.DataFrame, signed_qty: float, after_ns: int, until_ns: int) -> pd.DataFrame:
    """Funding times in (after, until] with the close of the bar stamped then and -qty x close x rate."""
    close_at = candles.set_index("close_ns")["close"]
    due = rates[(rates["ts_ns"] > after_ns) & (rates["ts_ns"] <= until_ns)].copy()
    due["price"] = close_at.reindex(due["ts_ns"]).to_numpy()
    due["amount"] = -signed_qty * 1.0 * due["price"] * due["funding_rate"]  # multiplier 1
    return due.reset_index(drop=True)


def balance(engine: BacktestEngine) -> float:
    return engine.portfolio.account(Venue("BINANCE")).balance_total(USDT).as_double()


def test_a_long_pays_the_real_funding_and_the_balance_shows_it(candles, rates):
    module = FundingModule(FundingModuleConfig(rates={INSTRUMENT: str(FUNDING_FILE)}))
    engine = run(candles, module, "BUY", close_ns=EXIT.value)
    paid = module.frame()
    due = expected_payments(candles, rates, QTY, ENTRY.value, EXIT.value)

    assert len(due) == 10  # 05-05 16:00 .. 05-08 16:00, every 8 h
    assert paid["ts"].tolist() == due["ts_ns"].tolist()
    assert paid["price"].tolist() == due["price"].tolist()  # the close of the bar stamped at the funding time
    assert paid["rate"].tolist() == due["funding_rate"].tolist()
    assert set(paid["position_qty"]) == {QTY}
    assert paid["amount"].to_numpy() == pytest.approx(due["amount"].to_numpy(), abs=1e-8)
    funding = float(due["amount"].sum())
    assert module.total("USDT") == pytest.approx(funding, abs=1e-7)
    assert funding < 0  # May 2025 rates were mostly positive: longs paid

    close_at = candles.set_index("close_ns")["close"]
    entry, exit_ = close_at[ENTRY.value], close_at[EXIT.value]
    gross = QTY * (exit_ - entry)
    fees = TAKER * QTY * (entry + exit_)
    assert balance(engine) - START_USDT == pytest.approx(gross - fees + funding, abs=1e-6)
    (position,) = engine.cache.positions()
    assert position.realized_pnl.as_double() == pytest.approx(gross - fees, abs=1e-6)  # nautilus's own PnL has no funding

    account = engine.trader.generate_account_report(Venue("BINANCE"))
    stamps = set(account.index.astype("int64"))
    assert set(due["ts_ns"]) <= stamps  # each payment is an AccountState event at its funding time


def test_a_short_receives_positive_funding_while_it_holds(candles, rates):
    module = FundingModule(FundingModuleConfig(rates={INSTRUMENT: str(FUNDING_FILE)}))
    engine = run(candles, module, "SELL")
    last_close_ns = int(candles["close_ns"].iloc[-1])
    due = expected_payments(candles, rates, -QTY, ENTRY.value, last_close_ns)
    funding = float(due["amount"].sum())

    assert len(due) == 11  # to 05-09 00:00, the last bar's close
    assert module.frame()["amount"].to_numpy() == pytest.approx(due["amount"].to_numpy(), abs=1e-8)
    assert funding > 0
    entry = candles.set_index("close_ns")["close"][ENTRY.value]
    assert balance(engine) - START_USDT == pytest.approx(-TAKER * QTY * entry + funding, abs=1e-6)  # open: only the fee and funding


def test_a_funding_time_inside_a_data_gap_is_paid_at_the_last_price_before_it(candles, rates):
    gap_at = pd.Timestamp("2025-05-06 16:00", tz="UTC").value
    five_minutes = 300_000_000_000
    gappy = candles[(candles["close_ns"] <= gap_at - five_minutes) | (candles["close_ns"] > gap_at + five_minutes)]
    module = FundingModule(FundingModuleConfig(rates={INSTRUMENT: str(FUNDING_FILE)}))
    run(gappy, module, "BUY", close_ns=EXIT.value)
    paid = module.frame().set_index("ts")
    before = candles.set_index("close_ns")["close"][gap_at - five_minutes]  # the venue's book holds the last bar's close
    rate = rates.set_index("ts_ns")["funding_rate"][gap_at]
    assert paid.loc[gap_at, "price"] == before
    assert paid.loc[gap_at, "amount"] == pytest.approx(-QTY * before * rate, abs=1e-8)
    assert len(paid) == 10  # the other payments are unchanged


def test_funding_from_the_catalog_equals_funding_from_the_file(candles, rates, tmp_path):
    instrument_id = InstrumentId.from_str(INSTRUMENT)
    rows = [
        FundingRate(instrument_id=instrument_id, symbol="BTCUSDT", open=rate, high=rate, low=rate, close=rate, interval_s=28_800,
                    ts_event=ts * 1_000_000, ts_init=ts * 1_000_000)
        for ts, rate in zip(rates["ts"].tolist(), rates["funding_rate"].tolist(), strict=True)
    ]  # fmt: skip
    predicted = FundingRate(instrument_id=instrument_id, close=0.01, predicted=True, interval_s=28_800,
                            ts_event=ENTRY.value + 8 * 3_600_000_000_000, ts_init=ENTRY.value)  # fmt: skip
    AltDataStore(tmp_path / "catalog").write([*rows, predicted])

    from_file = FundingModule(FundingModuleConfig(rates={INSTRUMENT: str(FUNDING_FILE)}))
    from_catalog = ActorFactory.create(funding_module_config(catalog_path=str(tmp_path / "catalog")))  # as a BacktestNode builds it
    assert isinstance(from_catalog, FundingModule)
    run(candles, from_file, "BUY", close_ns=EXIT.value)
    engine = run(candles, from_catalog, "BUY", close_ns=EXIT.value)
    pd.testing.assert_frame_equal(from_catalog.frame(), from_file.frame())
    pd.testing.assert_frame_equal(funding_frame(engine), from_catalog.frame())  # found again through the engine


def test_a_backtest_node_builds_the_module_from_the_venue_config(candles, rates, tmp_path):
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.config import BacktestDataConfig, BacktestRunConfig, BacktestVenueConfig, ImportableStrategyConfig

    from ravebear.catalog.candles import read_ohlcv_file
    from ravebear.catalog.store import RaveCatalog

    catalog = RaveCatalog(tmp_path / "catalog")
    normalized = read_ohlcv_file(BARS_FILE)
    assert catalog.import_candles(normalized[normalized["ts"].isin(candles["ts"])], instrument_for(INSTRUMENT)).written == len(candles)
    strategy = ImportableStrategyConfig(
        strategy_path=f"{__name__}:HoldStrategy", config_path=f"{__name__}:HoldConfig",
        config={"instrument_id": INSTRUMENT, "bar_type": BAR_TYPE, "side": "BUY", "quantity": str(QTY), "open_ns": ENTRY.value,
                "close_ns": EXIT.value},
    )  # fmt: skip
    venue = BacktestVenueConfig(
        name="BINANCE", oms_type="NETTING", account_type="MARGIN", base_currency=None, starting_balances=[f"{START_USDT} USDT"],
        default_leverage=10, bar_execution=True, modules=[funding_module_config(rates={INSTRUMENT: str(FUNDING_FILE)})],
    )  # fmt: skip
    data = BacktestDataConfig(catalog_path=str(catalog.path), data_cls="nautilus_trader.model.data:Bar", instrument_id=INSTRUMENT,
                              bar_types=[BAR_TYPE])  # fmt: skip
    config = BacktestRunConfig(engine=BacktestEngineConfig(strategies=[strategy], logging=LoggingConfig(log_level="ERROR")),
                               venues=[venue], data=[data], dispose_on_completion=False, raise_exception=True)  # fmt: skip
    node = BacktestNode([config])
    node.run()
    paid = funding_frame(node.get_engine(config.id))
    due = expected_payments(candles, rates, QTY, ENTRY.value, EXIT.value)
    assert paid["ts"].tolist() == due["ts_ns"].tolist()
    assert paid["amount"].to_numpy() == pytest.approx(due["amount"].to_numpy(), abs=1e-8)


def test_a_catalog_without_settled_funding_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no settled FundingRate rows on 8 h funding times in the catalog at"):
        FundingModule(FundingModuleConfig(catalog_path=str(tmp_path / "empty")))


def test_conflicting_rates_at_one_funding_time_are_rejected(tmp_path):
    path = tmp_path / "rates.parquet"
    pd.DataFrame({"ts": [1746432000003, 1746432000000], "funding_rate": [0.0001, 0.0002]}).to_parquet(path)  # same second
    with pytest.raises(ValueError, match=r"two different funding rates at 2025-05-05 08:00:00\+00:00"):
        FundingModule(FundingModuleConfig(rates={INSTRUMENT: str(path)}))
