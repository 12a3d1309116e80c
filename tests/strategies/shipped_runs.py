"""The shipped config/backtest.yaml on a few days of real BTC bars, edited per test, in a BacktestNode."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import parse_run_file

INSTRUMENT = "BTC-USDT-SWAP.OKX"
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "backtest.yaml"


def btc_catalog(folder: Path, okx_btc: Any, rows: int) -> Any:
    """A catalog in `folder` holding the first `rows` real OKX BTC swap bars."""
    from ravebear.catalog.store import RaveCatalog

    store = RaveCatalog(folder / "catalog")
    store.import_candles(okx_btc.iloc[:rows], "BTC-USDT-SWAP")
    return store


def run_shipped(catalog: Any, edit: Callable[[dict], None], read: Callable[[Any], Any], node_factory: Callable[[list[Any]], Any] | None = None) -> Any:
    """Run the shipped file on BTC alone (no tearsheet or risk report), after `edit(raw)` changes its YAML; return
    `read(engine)`, taken before the node is disposed. `node_factory(configs)` builds the node (default: nautilus's
    BacktestNode), e.g. a RaveBacktestNode with another level_replay_min_bars."""
    from nautilus_trader.backtest.node import BacktestNode

    raw = yaml.safe_load(SHIPPED.read_text())
    raw["run"].update({"name": "shipped", "log_level": "ERROR", "tearsheet": False, "risk_report": False})
    raw["data"] = [{"instrument_id": INSTRUMENT}]
    raw["strategies"][0]["instruments"] = {INSTRUMENT: {}}
    edit(raw)
    prepare_backtest_process()
    run_config = backtest_run_config(parse_run_file(yaml.safe_dump(raw)), catalog.path.resolve())
    node = (node_factory or BacktestNode)([run_config])
    node.build()
    try:
        node.run()
        return read(node.get_engine(run_config.id))
    finally:
        node.dispose()


def level_run_edit(actor: bool = True, strategy: bool = True, actor_levels: dict | None = None) -> Callable[[dict], None]:
    """An `edit` for `run_shipped`: no ledger or alerts, the LevelActor recording its events (with `actor_levels` when
    given), or no LevelActor / no strategy."""

    def edit(raw: dict) -> None:
        raw.pop("ledger")
        raw.pop("alerts")
        raw["actors"][0]["config"]["record"] = True
        if actor_levels is not None:
            raw["actors"][0]["config"]["levels"] = actor_levels
        if not actor:
            raw["actors"] = []
        if not strategy:
            raw.pop("strategies")

    return edit


def order_rows(engine: Any) -> list[tuple]:
    """Every order of the run as comparable values, sorted."""
    return sorted(
        (str(o.client_order_id), o.side_string(), o.type_string(), o.status_string(), str(o.filled_qty), str(o.avg_px), o.ts_last)
        for o in engine.cache.orders()
    )  # fmt: skip
