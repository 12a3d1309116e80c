"""Paper replay of trades + L2 book deltas at speed 0 against the backtest node on the same data, same run.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.replay_orderflow [--repeats 2] [--actor orderflow|noop]

Data: the whole Binance USD-M BTCUSDT capture in ../shared/data/trades_book/ (trades + depth diffs synced to the
REST snapshot), imported into a temporary catalog. One run file (`data:` kinds trades and book, one actor: the
`OrderFlowActor` with its default thresholds, or bench.orderflow_actor's no-op actor) runs alternately as
(a) a BacktestNode: `node.run()` incl. its catalog read, items = its iterations (one per delta or trade), as
    bench/orderflow_actor.py measures it;
(b) a paper node replaying the catalog at speed 0 (each item fully handled before the next; the sandbox keeps
    the L2 book): the replay's catalog read + grouping into whole book updates, then the stream from the first
    item handed to the last, in the same unit (deltas + trades) and in items handed (a book update = one item).
Figure: items/s of each and the replay / backtest ratio (no target: the replay must not be the bottleneck).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import SHARED_DATA
from bench.orderflow_actor import INSTRUMENT, PREFIX, timed_run

ACTORS = {"orderflow": "ravebear.strategies.orderflow_actor:OrderFlowActor", "noop": "bench.orderflow_actor:NoopOrderFlowActor"}


def paper_run_file(catalog: Path, actor_path: str) -> str:
    """The bench's run file as a paper replay at speed 0 (a paper replay may simulate the BINANCE venue)."""
    return yaml.safe_dump(
        {
            "run": {"catalog_path": str(catalog), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
            "venue": {"name": "BINANCE"},
            "data": [{"instrument_id": INSTRUMENT, "kind": "trades"}, {"instrument_id": INSTRUMENT, "kind": "book"}],
            "actors": [{"actor_path": actor_path, "config": {"instrument_ids": [INSTRUMENT]}}],
            "node": {"speed": 0, "dashboard": False},
        },
    )


def timed_replay(catalog: Path, actor_path: str, output: Path) -> dict[str, float]:
    """Seconds of the replay's catalog read and of its stream, and what it handed (items, and deltas + trades)."""
    from nautilus_trader.model.data import OrderBookDeltas

    from ravebear.platform.nodes.run_file import parse_run_file
    from ravebear.platform.nodes.trading import build_trading_node, run_trading_node

    text = paper_run_file(catalog, actor_path)
    config = parse_run_file(text)
    handles = build_trading_node(config, "paper", catalog, log_level="ERROR")
    replay = handles.replay
    marks = {"first": 0, "last": 0, "events": 0}
    load = replay._load  # noqa: SLF001 - timed from outside: the bench's only hook into the read

    def timed_load() -> list:
        started = time.perf_counter()
        items = load()
        marks["load_s"] = time.perf_counter() - started
        return items

    def on_hand(item: object, wall_ns: int) -> None:
        marks["first"] = marks["first"] or wall_ns
        marks["last"] = wall_ns
        marks["events"] += len(item.deltas) if isinstance(item, OrderBookDeltas) else 1

    replay._load = timed_load  # noqa: SLF001
    replay.on_hand = on_hand
    outcome = run_trading_node(handles, config, text, output)
    if outcome.failure:
        raise SystemExit(outcome.failure)
    stream_s = (marks["last"] - marks["first"]) / 1e9
    return {"load_s": marks["load_s"], "stream_s": stream_s, "items": replay.handed, "events": marks["events"]}


def main() -> None:
    """Import the capture, then alternate backtest and paper replay runs and print items/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--actor", choices=sorted(ACTORS), default="orderflow")
    args = parser.parse_args()
    from ravebear.catalog.orderflow.importer import import_file
    from ravebear.catalog.store import RaveCatalog

    actor_path = ACTORS[args.actor]
    with tempfile.TemporaryDirectory() as folder:
        store = RaveCatalog(Path(folder) / "cat")
        for kind in ("trades", "depthdiff"):
            import_file(store, SHARED_DATA / "trades_book" / f"{PREFIX}{kind}.parquet")
        backtest_rates, replay_rates, with_load = [], [], []
        for repeat in range(args.repeats):
            elapsed, iterations = timed_run(store.path, actor_path, {})
            backtest_rates.append(iterations / elapsed)
            print(f"run {repeat + 1} backtest {iterations:>9,} items in {elapsed:6.2f} s = {iterations / elapsed:>9,.0f} items/s", flush=True)
            done = timed_replay(store.path, actor_path, Path(folder) / "runs")
            rate = done["events"] / done["stream_s"]
            replay_rates.append(rate)
            with_load.append(done["events"] / (done["stream_s"] + done["load_s"]))
            print(
                f"run {repeat + 1} replay   {done['events']:>9,} items ({done['items']:,} handed: trades + whole book updates) "
                f"read in {done['load_s']:.2f} s, streamed in {done['stream_s']:6.2f} s = {rate:>9,.0f} items/s "
                f"({done['items'] / done['stream_s']:,.0f} handed/s; {with_load[-1]:,.0f} items/s with the read)",
                flush=True,
            )
    backtest, replay = statistics.median(backtest_rates), statistics.median(replay_rates)
    print()
    print(f"actor: {args.actor}; backtest node (node.run incl. its read): median {backtest:,.0f} items/s")
    print(f"paper replay at speed 0: median {replay:,.0f} items/s streamed, {statistics.median(with_load):,.0f} items/s with its read")
    print(f"replay / backtest: {replay / backtest:.0%} streamed, {statistics.median(with_load) / backtest:.0%} with the read")


if __name__ == "__main__":
    main()
