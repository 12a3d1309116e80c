"""A strategy and the LevelActor with equal levels configs share one engine, and neither's output changes.

Run on real OKX BTC bars with the shipped config/backtest.yaml (its strategy and LevelActor): the strategy's
orders and fills equal those of the strategy alone, and the actor's events equal those of the actor alone.
"""

from pathlib import Path

import pytest
import yaml

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import parse_run_file

INSTRUMENT = "BTC-USDT-SWAP.OKX"
ROWS = 12_000  # 2026-07-27 .. 2026-08-04: eight days of real bars
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "backtest.yaml"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, okx_btc):
    from ravebear.catalog.store import RaveCatalog

    store = RaveCatalog(tmp_path_factory.mktemp("sharing") / "catalog")
    store.import_candles(okx_btc.iloc[:ROWS], "BTC-USDT-SWAP")
    return store


def run(catalog, actor: bool, strategy: bool, actor_levels: dict | None = None) -> dict:
    """Run the shipped file's LevelActor and/or strategy on BTC; return what each produced."""
    from nautilus_trader.backtest.node import BacktestNode

    raw = yaml.safe_load(SHIPPED.read_text())
    raw["run"].update({"name": "sharing", "log_level": "ERROR", "tearsheet": False, "risk_report": False})
    raw["data"] = [{"instrument_id": INSTRUMENT}]
    raw.pop("ledger")
    raw.pop("alerts")
    raw["actors"][0]["config"]["record"] = True
    if actor_levels is not None:
        raw["actors"][0]["config"]["levels"] = actor_levels
    if not actor:
        raw["actors"] = []
    strategy_entry = raw["strategies"][0]
    strategy_entry["instruments"] = {INSTRUMENT: {}}
    if not strategy:
        raw.pop("strategies")
    prepare_backtest_process()
    run_config = backtest_run_config(parse_run_file(yaml.safe_dump(raw)), catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.build()
    engine = node.get_engine(run_config.id)
    node.run()
    out: dict = {}
    if actor:
        level_actor = engine.trader.actors()[0]
        out["events"] = level_actor.events
        out["actor_engine"] = level_actor.engine(INSTRUMENT)
    if strategy:
        level_strategy = engine.trader.strategies()[0]
        out["strategy_engine"] = level_strategy.engine
        out["orders"] = sorted(
            (str(o.client_order_id), o.side_string(), o.type_string(), o.status_string(), str(o.filled_qty), str(o.avg_px), o.ts_last)
            for o in engine.cache.orders()
        )  # fmt: skip
        out["signals"] = level_strategy.signals
    node.dispose()
    return out


@pytest.fixture(scope="module")
def shared(catalog):
    return run(catalog, actor=True, strategy=True)


def test_the_shipped_strategy_and_level_actor_share_one_engine(shared):
    assert shared["strategy_engine"] is shared["actor_engine"]
    assert shared["strategy_engine"].config.timeframes == ("1m", "5m", "15m", "1h")


def test_sharing_leaves_the_strategys_orders_unchanged(catalog, shared):
    alone = run(catalog, actor=False, strategy=True)
    assert alone["strategy_engine"] is not shared["strategy_engine"]
    assert len(shared["orders"]) >= 10  # it traded
    assert shared["orders"] == alone["orders"]
    assert shared["signals"] == alone["signals"] > 0


def test_sharing_leaves_the_actors_events_unchanged(catalog, shared):
    alone = run(catalog, actor=True, strategy=False)
    assert len(shared["events"]) > 1_000
    assert shared["events"] == alone["events"]
    assert {tf for _, tf, _ in shared["events"]} == {"1m", "5m", "15m", "1h"}


def test_an_actor_with_other_levels_keeps_its_own_engine(catalog, shared):
    other = run(catalog, actor=True, strategy=True, actor_levels={"detectors": ["wicks"], "wicks": {"min_wick_bps": 9.0}})
    assert other["strategy_engine"] is not other["actor_engine"]
    assert other["orders"] == shared["orders"]
    assert other["events"] != shared["events"]
    assert all(event.level.kind.value in ("wick", "confluence") for _, _, event in other["events"])
