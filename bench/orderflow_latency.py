"""Live order-flow latency: an OKX `trades` / `books` message -> the OrderFlowActor's update for it published.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.orderflow_latency [--seconds 60] [--speed 1] [--depth 400] [--json PATH]

Setup: the local OKX venue (a thread of this process) plays the Binance USD-M BTCUSDT capture re-priced to the real
BTC-USDT-SWAP candles (`--session`, at `--speed` x its recorded rate, `books` at most every 100 ms, `--depth` levels);
`ravebear live --arm` (a child process, as a user runs it) subscribes `LatencyOrderFlowActor` to the instrument's
trades and L2 book through nautilus 1.231's OKX data client. The actor is the OrderFlowActor plus, after each trade
tick or book message it handled, one `OrderFlowSnapshot` of the features at that moment published on the message bus:
the per-message update. It notes the wall time right after `publish_data` returned (the bus delivers synchronously).

Two figures per message, one clock (CLOCK_REALTIME, one machine):
- receive -> published: from nautilus's `ts_init` (stamped by the Rust WebSocket client as it parses the frame) to
  the publish; nautilus's hand-over to Python, the data engine and the actor;
- venue send -> published: from the venue's wall time just before it wrote the frame (matched by `tradeId` /
  `seqId`); adds the socket, the Rust parse and the queue.
The first is split in two: receive -> the actor's handler called (nautilus: Rust to Python, the data engine, the
bus) and the handler itself (the OrderFlowActor's work + building and publishing the snapshot).
Reference (issue 14): p99 < 1 ms. The first `--warmup` seconds of messages are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from nautilus_trader.model.data import OrderBookDeltas, TradeTick
from nautilus_trader.model.identifiers import InstrumentId

from bench.common import REPO_ROOT, SHARED_DATA, print_table
from ravebear.strategies.orderflow_actor import OrderFlowActor, OrderFlowActorConfig

INSTRUMENT = "BTC-USDT-SWAP"
CAPTURE = SHARED_DATA / "trades_book" / "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z"
WINDOW_START = "2026-07-27 12:20"  # real OKX candles in data/sample
TARGET_P99_MS = 1.0
KEYS = {"OKX_API_KEY": "bench-key", "OKX_API_SECRET": "bench-secret", "OKX_API_PASSPHRASE": "bench-pass"}


class LatencyOrderFlowActorConfig(OrderFlowActorConfig, frozen=True, kw_only=True):
    """The OrderFlowActor's config plus where to write the timings."""

    out_path: str


class LatencyOrderFlowActor(OrderFlowActor):
    """The OrderFlowActor that publishes a snapshot after every message and notes when that publish returned."""

    def __init__(self, config: LatencyOrderFlowActorConfig) -> None:
        super().__init__(config)
        self.timings: list[tuple[str, str, int, int, int]] = []  # (kind, tradeId | seqId, ts_init, handler entered, published) wall ns

    def _publish_update(self, instrument_id: InstrumentId) -> None:
        self.publish_data(self._snapshot_types[instrument_id], self._flows[instrument_id].snapshot())

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Handle the trade as the OrderFlowActor does, then publish the update."""
        entered = time.time_ns()
        super().on_trade_tick(tick)
        self._publish_update(tick.instrument_id)
        self.timings.append(("trades", tick.trade_id.value, tick.ts_init, entered, time.time_ns()))

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Handle the book message as the OrderFlowActor does, then publish the update."""
        entered = time.time_ns()
        super().on_order_book_deltas(deltas)
        self._publish_update(deltas.instrument_id)
        self.timings.append(("books", str(deltas.sequence), deltas.ts_init, entered, time.time_ns()))

    def on_stop(self) -> None:
        """Write the timings."""
        Path(self.config.out_path).write_text(json.dumps(self.timings))


def run_file(folder: Path, base_http: str, base_ws: str, out_path: Path) -> Path:
    """A live run file: the latency actor on the venue's BTC-USDT-SWAP trades and book."""
    instrument = f"{INSTRUMENT}.OKX"
    raw = {
        "run": {"name": "orderflow-latency", "output_dir": str(folder / "runs"), "log_level": "WARNING", "tearsheet": False},
        "venue": {"name": "OKX", "starting_balance": "10000 USDT", "default_leverage": 10},
        "node": {"trader_id": "BENCH-001", "data": "okx", "dashboard": False, "reconciliation": True,
                 "okx": {"environment": "live", "base_url_http": base_http, "base_url_ws": base_ws}},
        "risk": {"max_open_positions": 1, "daily_loss_limit_pct": 5, "max_drawdown_pct": 10, "max_orders_per_minute": 30},
        "data": [{"instrument_id": instrument}, {"instrument_id": instrument, "kind": "trades"}, {"instrument_id": instrument, "kind": "book"}],
        "actors": [{"actor_path": "bench.orderflow_latency:LatencyOrderFlowActor",
                    "config": {"instrument_ids": [instrument], "interval_s": 60.0, "out_path": str(out_path)}}],
    }  # fmt: skip
    path = folder / "latency.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def percentiles(values_ns: np.ndarray) -> tuple[float, float, float]:
    """p50, p99 and max in ms."""
    ms = values_ns / 1e6
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.max())


def main() -> None:
    """Serve the session, run the live node for `--seconds`, then print the latency table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the node receives the session (default 60)")
    parser.add_argument("--speed", type=float, default=1.0, help="recorded seconds played per wall second (default 1)")
    parser.add_argument("--depth", type=int, default=400, help="books levels per side (default 400, OKX's)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of messages left out at the start (default 5)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    import pandas as pd

    from ravebear.simulators.okx_venue.auth import Credentials
    from ravebear.simulators.okx_venue.runner import VenueSettings, VenueThread
    from ravebear.simulators.okx_venue.server import PlayerSettings
    from ravebear.simulators.okx_venue.session_player import SessionSettings

    start = int(pd.Timestamp(WINDOW_START, tz="UTC").timestamp() * 1000)
    settings = VenueSettings(
        inst_ids=(INSTRUMENT,), start_ms=start, end_ms=start + 120 * 60_000, creds=Credentials(*KEYS.values()),
        player=PlayerSettings(step_s=60.0, warmup_s=1.0),  # candles in real time: four path prices a minute
        session=SessionSettings(CAPTURE, INSTRUMENT, speed=args.speed, depth=args.depth, record=True),
    )  # fmt: skip
    try:
        venue = VenueThread(settings).start()
    except ValueError as error:  # the capture is missing or unreadable (SessionError), or the candles
        sys.exit(f"error: {error}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        out = folder / "timings.json"
        config = run_file(folder, venue.base_url_http, venue.base_url_ws, out)
        env = {**os.environ, **KEYS, "PYTHONPATH": str(REPO_ROOT)}
        log = (folder / "node.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "ravebear.platform.cli", "live", str(config), "--arm", "--no-dashboard"],
                                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not venue.call(lambda: venue.venue.started.is_set()) and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            print(f"node subscribed; receiving the session for {args.seconds:.0f} s ...", flush=True)
            time.sleep(args.seconds)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=90)
            sent = venue.call(lambda: list(venue.venue.session.sent))
            venue.stop()
        if not out.exists():
            sys.exit(f"the node wrote no timings (exit {proc.returncode}):\n" + (folder / "node.log").read_text()[-3000:])
        timings = json.loads(out.read_text())

    sent_at = {("trades", row["tradeId"]): ns for channel, ns, row in sent if channel == "trades"}
    sent_at.update({("books", str(row["seqId"])): ns for channel, ns, row in sent if channel in ("books", "books-snapshot")})
    first = min(t[2] for t in timings) + int(args.warmup * 1e9)
    rows, figures = [], {"seconds": args.seconds, "speed": args.speed, "depth": args.depth, "messages": {}}
    for kind in ("trades", "books", "all"):
        chosen = [t for t in timings if t[2] >= first and (kind == "all" or t[0] == kind)]
        received = np.array([t[4] - t[2] for t in chosen], dtype=np.int64)
        sent_pub = np.array([t[4] - sent_at[(t[0], t[1])] for t in chosen if (t[0], t[1]) in sent_at], dtype=np.int64)
        handoff = np.array([t[3] - t[2] for t in chosen], dtype=np.int64)
        actor = np.array([t[4] - t[3] for t in chosen], dtype=np.int64)
        figures["messages"][kind] = len(chosen)
        parts = (("receive -> published", received), ("venue send -> published", sent_pub),
                 ("  of which receive -> actor called", handoff), ("  of which actor + publish", actor))  # fmt: skip
        for label, values in parts:
            if len(values) == 0:
                continue
            p50, p99, worst = percentiles(values)
            figures[f"{kind} {label}"] = {"p50_ms": p50, "p99_ms": p99, "max_ms": worst, "n": len(values)}
            verdict = "ok" if p99 < TARGET_P99_MS else "MISSED"
            rows.append((f"{kind} {label}", f"p50 {p50:.3f}  p99 {p99:.3f}  max {worst:.3f} ms", f"{len(values):,} messages",
                         f"p99 < {TARGET_P99_MS:g} ms  {verdict}"))  # fmt: skip
    print()
    print_table(rows, ("figure", "value", "sample", "reference"))
    print(f"session: {CAPTURE.name} at {args.speed}x, books {args.depth} levels, {args.warmup:.0f} s warm-up left out")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
