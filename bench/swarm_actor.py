"""Swarm actor throughput in a BacktestNode against a no-op actor: on 1-minute bars, and with trades + L2 book deltas.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.swarm_actor [--bars 100000] [--repeats 2]

1. **Bars.** The real Binance USD-M BTCUSDT 1-minute files (`../shared/data/ohlcv_1m/`) chained to `--bars` bars
   (`bench.common.chain_segments`) and imported as BTC-USDT-SWAP.OKX into a temporary catalog. Each run is a
   BacktestNode built by the composer from a run file with that bar series and one actor, no strategy: (a)
   `NoopSwarmActor`, subscribed to the same 1-minute bars, doing nothing; (b) the `SwarmActor` with all twenty bots,
   default thresholds, consensus, regime and hit rates, publishing a SwarmSignal per bar. Figure: bars/s of
   `node.run()`, alternating a/b. Target (issue 17): b keeps >= 50 % of a.
2. **Trades + book.** The whole Binance USD-M BTCUSDT capture (`../shared/data/trades_book/`: trades + depth diffs
   synced to the REST snapshot); `data:` kinds trades and book; the 1-minute bars are built by nautilus from the trades
   (`base_bars: trades`). (a) the no-op actor subscribed to the same trades, deltas and bars; (b) the SwarmActor, its
   order-flow bots reading the trades and the book. Figure: items/s (trades + deltas) of `node.run()`. Target: >= 50 %.
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
from nautilus_trader.model.data import Bar, OrderBookDeltas, TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId

from bench.common import SHARED_DATA, chain_segments, load_segments

BAR_INSTRUMENT = "BTC-USDT-SWAP.OKX"
FLOW_INSTRUMENT = "BTCUSDT-PERP.BINANCE"
PREFIX = "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z_"
NOOP = "bench.swarm_actor:NoopSwarmActor"
SWARM = "ravebear.strategies.swarm_actor:SwarmActor"
TARGET = 0.50


class NoopSwarmActorConfig(ActorConfig, frozen=True, kw_only=True):
    """What the SwarmActor would subscribe to."""

    instrument_ids: list[str]
    base_bars: str = "external"
    order_flow: bool = False  # trades and L2 book deltas too


class NoopSwarmActor(Actor):
    """Subscribes like the SwarmActor (1-minute bars; with `order_flow`, trades and deltas) and does nothing."""

    def on_start(self) -> None:
        """Subscribe as the SwarmActor does."""
        from ravebear.strategies.bar_types import bar_type_for

        for name in self.config.instrument_ids:
            self.subscribe_bars(bar_type_for(name, "1m", self.config.base_bars))
            if self.config.order_flow:
                instrument_id = InstrumentId.from_str(name)
                self.subscribe_trade_ticks(instrument_id)
                self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP, managed=False)

    def on_bar(self, bar: Bar) -> None:
        """Nothing."""

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Nothing."""

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Nothing."""


def run_file(catalog: Path, actor_path: str, order_flow: bool) -> str:
    """One actor on the bar series (or on the capture's trades and book)."""
    instrument = FLOW_INSTRUMENT if order_flow else BAR_INSTRUMENT
    config: dict = {"instrument_ids": [instrument]}
    if order_flow:
        config["base_bars"] = "trades"
        if actor_path == NOOP:
            config["order_flow"] = True
    data = [{"instrument_id": instrument, "kind": "trades"}, {"instrument_id": instrument, "kind": "book"}] if order_flow else [{"instrument_id": instrument}]
    return yaml.safe_dump({
        "run": {"catalog_path": str(catalog), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "BINANCE" if order_flow else "OKX"},
        "data": data,
        "actors": [{"actor_path": actor_path, "config": config}],
    })  # fmt: skip


def timed_run(catalog: Path, actor_path: str, order_flow: bool) -> tuple[float, int, int]:
    """Seconds of node.run(), the items it streamed, and the SwarmSignals published (0 for the no-op)."""
    from ravebear.platform.nodes.backtest_node import RaveBacktestNode as BacktestNode  # as `ravebear backtest` runs

    from ravebear.platform.nodes.backtest import prepare_backtest_process
    from ravebear.platform.nodes.composer import backtest_run_config
    from ravebear.platform.nodes.run_file import parse_run_file

    prepare_backtest_process()
    run_config = backtest_run_config(parse_run_file(run_file(catalog, actor_path, order_flow)), catalog.resolve())
    node = BacktestNode(configs=[run_config])
    started = time.perf_counter()
    [result] = node.run()
    elapsed = time.perf_counter() - started
    actors = node.get_engine(run_config.id).trader.actors()
    published = getattr(actors[0], "published", 0)
    node.dispose()
    return elapsed, result.iterations, published


def measure(catalog: Path, order_flow: bool, repeats: int, unit: str) -> dict[str, list[float]]:
    """Alternate no-op and swarm runs; print each and the ratio of the medians; return the rates."""
    rates: dict[str, list[float]] = {"no-op": [], "swarm": []}
    for _ in range(repeats):
        for label, path in (("no-op", NOOP), ("swarm", SWARM)):
            elapsed, items, published = timed_run(catalog, path, order_flow)
            rates[label].append(items / elapsed)
            shown = f", {published:,} SwarmSignals" if published else ""
            print(f"  {label:<6} {items:>9,} {unit} in {elapsed:6.2f} s = {items / elapsed:>10,.0f} {unit}/s{shown}", flush=True)
    ratio = statistics.median(rates["swarm"]) / statistics.median(rates["no-op"])
    verdict = "ok" if ratio >= TARGET else "MISSED"
    print(f"swarm / no-op (median {unit}/s): {ratio:.0%} (target >= {TARGET:.0%}) {verdict}", flush=True)
    return rates


def cost_split(frame: object, floor_us: float) -> None:
    """Where a bar's time goes outside the node, on the same candles: the pure Swarm (bots, then regime + consensus), the
    hit rates and the SwarmSignal; beside the no-op node's own cost per bar (the budget for 50 %)."""
    from nautilus_trader.model.identifiers import InstrumentId

    from ravebear.strategies.levels.timeframes import Candle
    from ravebear.strategies.swarm.swarm import Swarm
    from ravebear.strategies.swarm_actor import hit_rate_tracker, swarm_signal

    rows = frame[["ts", "open", "high", "low", "close", "volume"]].itertuples(index=False)  # type: ignore[index]
    candles = [Candle((int(ts) + 60_000) * 1_000_000, o, h, low, c, v) for ts, o, h, low, c, v in rows]
    swarm = Swarm(inputs=frozenset())  # as in the bars-only node: the bots reading other inputs are idle
    bots = [bot for bot in swarm.bots if bot.name not in swarm.idle]
    started = time.perf_counter()
    for candle in candles:
        for bot in bots:
            bot.on_candle(candle)
    bots_us = (time.perf_counter() - started) / len(candles) * 1e6
    swarm = Swarm(inputs=frozenset())
    started = time.perf_counter()
    states = [swarm.on_candle(candle) for candle in candles]
    swarm_us = (time.perf_counter() - started) / len(candles) * 1e6
    hits = hit_rate_tracker({}, swarm.names)
    started = time.perf_counter()
    for state, candle in zip(states, candles, strict=True):
        hits.on_state(state, candle.close)
    hits_us = (time.perf_counter() - started) / len(candles) * 1e6
    instrument_id = InstrumentId.from_str(BAR_INSTRUMENT)
    started = time.perf_counter()
    for state in states:
        swarm_signal(instrument_id, swarm.names, state)
    signal_us = (time.perf_counter() - started) / len(candles) * 1e6
    print(f"per bar, outside the node: Swarm {swarm_us:.1f} us (its {len(bots)} active bots {bots_us:.1f}, regime + consensus + state "
          f"{swarm_us - bots_us:.1f}), hit rates {hits_us:.1f} us, SwarmSignal {signal_us:.1f} us; "
          f"the no-op node itself: {floor_us:.1f} us a bar (for 50 %, the actor may add at most that)", flush=True)


def main() -> None:
    """Build both catalogs, then measure bars and trades + book."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from ravebear.catalog.orderflow.importer import import_file
    from ravebear.catalog.store import RaveCatalog

    with tempfile.TemporaryDirectory() as folder:
        bars = RaveCatalog(Path(folder) / "bars")
        frame, segments = chain_segments(load_segments(), args.bars)
        bars.import_candles(frame, BAR_INSTRUMENT.removesuffix(".OKX"))
        print(f"1-minute bars: {len(frame):,} ({segments} real segments chained)", flush=True)
        rates = measure(bars.path, False, args.repeats, "bars")
        cost_split(frame, 1e6 / statistics.median(rates["no-op"]))
        flow = RaveCatalog(Path(folder) / "flow")
        for kind in ("trades", "depthdiff"):
            import_file(flow, SHARED_DATA / "trades_book" / f"{PREFIX}{kind}.parquet")
        print("trades + book: the Binance USD-M BTCUSDT capture", flush=True)
        measure(flow.path, True, args.repeats, "items")


if __name__ == "__main__":
    main()
