"""Order-flow actor throughput in a BacktestNode against a no-op actor on the same trades and L2 book deltas.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.orderflow_actor [--repeats 2]

Data: the whole Binance USD-M BTCUSDT capture in ../shared/data/trades_book/ (trades + depth diffs synced to the
REST snapshot), imported into a temporary catalog. Each run is a BacktestNode built by the composer from a run
file with `data:` kinds trades and book and one actor: (a) `NoopOrderFlowActor`, which subscribes to the same
trades and deltas and does nothing, (b) the `OrderFlowActor` with its default thresholds (snapshots every 60 s,
events published). Figure: items/s of `node.run()`, alternating a/b. Target (issue 14): b keeps >= 50 % of a.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import OrderBookDeltas, TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId

from bench.common import SHARED_DATA

INSTRUMENT = "BTCUSDT-PERP.BINANCE"
PREFIX = "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z_"
TARGET = 0.50


class NoopOrderFlowActorConfig(ActorConfig, frozen=True, kw_only=True):
    """The instruments to subscribe to."""

    instrument_ids: list[str]


class NoopOrderFlowActor(Actor):
    """Subscribes to trades and L2 deltas like the OrderFlowActor and does nothing with them: the engine's floor."""

    def on_start(self) -> None:
        """Subscribe as the OrderFlowActor does."""
        for name in self.config.instrument_ids:
            instrument_id = InstrumentId.from_str(name)
            self.subscribe_trade_ticks(instrument_id)
            self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP, managed=False)

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Nothing."""

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Nothing."""


def run_file(catalog: Path, actor_path: str, config: dict) -> str:
    """A run file streaming the capture's trades and book into one actor."""
    return yaml.safe_dump(
        {
            "run": {"catalog_path": str(catalog), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
            "venue": {"name": "BINANCE"},
            "data": [{"instrument_id": INSTRUMENT, "kind": "trades"}, {"instrument_id": INSTRUMENT, "kind": "book"}],
            "actors": [{"actor_path": actor_path, "config": {"instrument_ids": [INSTRUMENT], **config}}],
        },
    )


def timed_run(catalog: Path, actor_path: str, config: dict) -> tuple[float, int]:
    """Seconds of node.run() and the items it streamed."""
    from ravebear.platform.nodes.backtest_node import RaveBacktestNode as BacktestNode  # as `ravebear backtest` runs

    from ravebear.platform.nodes.composer import backtest_run_config
    from ravebear.platform.nodes.run_file import parse_run_file

    run_config = backtest_run_config(parse_run_file(run_file(catalog, actor_path, config)), catalog.resolve())
    node = BacktestNode(configs=[run_config])
    started = time.perf_counter()
    [result] = node.run()
    elapsed = time.perf_counter() - started
    node.dispose()
    return elapsed, result.iterations


def main() -> None:
    """Import the capture, then alternate no-op and order-flow runs and print items/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from ravebear.catalog.orderflow.importer import import_file
    from ravebear.catalog.store import RaveCatalog

    with tempfile.TemporaryDirectory() as folder:
        store = RaveCatalog(Path(folder) / "cat")
        started = time.perf_counter()
        for kind in ("trades", "depthdiff"):
            import_file(store, SHARED_DATA / "trades_book" / f"{PREFIX}{kind}.parquet")
        print(f"import: {time.perf_counter() - started:.1f} s", flush=True)
        rates: dict[str, list[float]] = {"no-op": [], "orderflow": []}
        cases = {"no-op": ("bench.orderflow_actor:NoopOrderFlowActor", {}), "orderflow": ("ravebear.strategies.orderflow_actor:OrderFlowActor", {})}
        for _ in range(args.repeats):
            for label, (path, config) in cases.items():
                elapsed, items = timed_run(store.path, path, config)
                rates[label].append(items / elapsed)
                print(f"  {label:<10} {items:>9,} items in {elapsed:6.2f} s = {items / elapsed:>10,.0f} items/s", flush=True)
        ratio = statistics.median(rates["orderflow"]) / statistics.median(rates["no-op"])
        print(f"orderflow / no-op (median items/s): {ratio:.0%} (target >= {TARGET:.0%})")


if __name__ == "__main__":
    main()
