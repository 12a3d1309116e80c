"""The strategy's ATR is fed bars only when an ATR-multiple trailing exit reads it (it costs ~2.8 us a bar otherwise)."""

from pathlib import Path

import pytest
import yaml

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import parse_run_file

INSTRUMENT = "BTC-USDT-SWAP.OKX"
ROWS = 3_000
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "backtest.yaml"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, okx_btc):
    from ravebear.catalog.store import RaveCatalog

    store = RaveCatalog(tmp_path_factory.mktemp("atr") / "catalog")
    store.import_candles(okx_btc.iloc[:ROWS], "BTC-USDT-SWAP")
    return store


def run_atr(catalog, exits: dict):
    """Run the shipped strategy on BTC with `exits` overrides; return its ATR after the run."""
    from nautilus_trader.backtest.node import BacktestNode

    raw = yaml.safe_load(SHIPPED.read_text())
    raw["run"].update({"name": "atr", "log_level": "ERROR", "tearsheet": False, "risk_report": False})
    raw["data"] = [{"instrument_id": INSTRUMENT}]
    for key in ("ledger", "alerts", "actors"):
        raw.pop(key)
    raw["strategies"][0]["config"]["exits"].update(exits)
    raw["strategies"][0]["instruments"] = {INSTRUMENT: {}}
    prepare_backtest_process()
    run_config = backtest_run_config(parse_run_file(yaml.safe_dump(raw)), catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.build()
    engine = node.get_engine(run_config.id)
    node.run()
    atr = engine.trader.strategies()[0].position_manager.atr
    node.dispose()
    return atr


def test_an_atr_trailing_exit_gets_nautiluss_atr_of_every_bar(catalog, okx_btc):
    from nautilus_trader.indicators import AverageTrueRange

    atr = run_atr(catalog, {"trailing_offset_bps": 0.0, "trailing_atr_multiple": 2.0, "atr_period": 20})
    expected = AverageTrueRange(20)
    for row in okx_btc.iloc[:ROWS].itertuples():
        expected.update_raw(float(row.high), float(row.low), float(row.close))
    assert atr.initialized
    assert atr.value == pytest.approx(expected.value, rel=1e-12)
    assert atr.value > 0


def test_a_bps_trailing_exit_leaves_the_atr_unfed(catalog):
    atr = run_atr(catalog, {})  # the shipped exits: trailing_offset_bps 60, no ATR multiple
    assert not atr.initialized
    assert atr.value == 0.0
