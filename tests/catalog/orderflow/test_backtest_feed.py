"""The imported order flow is what a BacktestNode replays: every stored delta, trade and quote, once."""

from __future__ import annotations

from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.config import BacktestDataConfig, BacktestEngineConfig, BacktestRunConfig, BacktestVenueConfig, LoggingConfig
from nautilus_trader.model.data import OrderBookDelta, QuoteTick, TradeTick
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from tests.catalog.orderflow.captures import slice_capture


def test_a_backtest_node_replays_every_imported_item(tmp_path):
    files = slice_capture("usdm", tmp_path / "src", seconds=5)
    store = RaveCatalog(tmp_path / "cat")
    written = sum(r.write.written for kind in ("trades", "bookticker", "depthdiff") for r in import_file(store, files[kind]))
    instrument_id = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")  # a str breaks BacktestNode's L2 check (NOTES)
    data = [BacktestDataConfig(catalog_path=str(store.path), data_cls=cls, instrument_id=instrument_id) for cls in (OrderBookDelta, TradeTick, QuoteTick)]
    venue = BacktestVenueConfig(name="BINANCE", oms_type="NETTING", account_type="MARGIN", base_currency="USDT", starting_balances=["10000 USDT"], book_type="L2_MBP")
    config = BacktestRunConfig(engine=BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")), venues=[venue], data=data)
    [result] = BacktestNode([config]).run()
    assert result.iterations == written
