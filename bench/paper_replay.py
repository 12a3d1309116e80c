"""Paper node on a catalog replay vs the backtest node, same run file, same real bars, same run.

    .venv/bin/python -m bench.paper_replay [--days N] [--repeats R]

Both run `config/backtest.yaml` (the untouched-wick strategy on the bundled OKX BTC, ETH and SOL
sample: 79,221 real 1-minute bars for the whole sample) in fresh child processes, interleaved
(backtest, paper, backtest, paper, ...). Printed:
- bars/s of each: the backtest node's `node.run()` and the paper node's replay at full speed
  (speed 0: each bar fully handled — strategy, orders, sandbox fills — before the next), and the
  median ratio paper / backtest (target >= 50 %);
- inside the paper node, for every entry a bar caused (the bracket order list): the time from the bar's hand-off to the node (the replay client's
  `_handle_data`) to (a) the strategy's submit (`SubmitOrder.ts_init`) and (b) the command reaching
  the execution client, p50 / p99 / max (target: p99 < 1 ms inside the node).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def _config_text(days: int | None) -> str:
    import yaml

    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="bench", tearsheet=False, risk_report=False, log_level="ERROR")
    raw["venue"]["fill_model"]["prob_slippage"] = 0.0  # the sandbox has no slippage model: same fills in both
    if days:
        end = (__import__("pandas").Timestamp("2026-07-27") + __import__("pandas").Timedelta(days=days)).date().isoformat()
        for data in raw["data"]:
            data.update(start="2026-07-27", end=end)
    raw["node"] = {"dashboard": False, "stop_action": "flatten"}
    return yaml.safe_dump(raw)


def child(mode: str, catalog: str, days: int | None, output: str) -> dict:
    """Run one backtest or one paper session; return its figures."""
    from ravebear.catalog.store import RaveCatalog
    from ravebear.platform.nodes.run_file import parse_run_file

    text = _config_text(days)
    config = parse_run_file(text, "bench")
    if mode == "backtest":
        from ravebear.platform.nodes.backtest import run_backtest

        outcome = run_backtest(config, text, RaveCatalog(Path(catalog)), Path(output))
        return {"bars": outcome.bars, "seconds": outcome.elapsed_s, "orders": outcome.run.summary["orders"]}
    from ravebear.platform.nodes.trading import build_trading_node, run_trading_node

    handles = build_trading_node(config, "paper", Path(catalog), log_level="ERROR")
    last_hand = [0]
    spans: list[tuple[int, int]] = []  # (hand-off -> strategy submit, hand-off -> execution client), ns

    def on_hand(item: object, wall_ns: int) -> None:
        last_hand[0] = wall_ns

    def on_submit(command: object) -> None:
        if hasattr(command, "order_list"):  # an entry's bracket: caused by the bar itself (exits placed on fills are caused by the fill)
            spans.append((command.ts_init - last_hand[0], time.time_ns() - last_hand[0]))

    handles.replay.on_hand = on_hand
    handles.sandbox.submit_hook = on_submit
    outcome = run_trading_node(handles, config, text, Path(output))
    return {"bars": outcome.items, "seconds": outcome.elapsed_s, "orders": len(spans), "spans": spans}


def _run_child(mode: str, catalog: Path, days: int | None) -> dict:
    with tempfile.TemporaryDirectory() as output:
        done = subprocess.run(
            [sys.executable, "-m", "bench.paper_replay", "--child", mode, "--catalog", str(catalog), "--days", str(days or 0), "--output", output],
            capture_output=True, text=True, cwd=REPO, timeout=3600,
        )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=0, help="replay only the first N days of the sample (0: all 26)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=["backtest", "paper"], help=argparse.SUPPRESS)
    parser.add_argument("--catalog", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.catalog, args.days or None, args.output)))
        return

    from ravebear.catalog.instruments import instrument_for
    from ravebear.catalog.store import RaveCatalog

    with tempfile.TemporaryDirectory() as root:
        catalog = RaveCatalog(Path(root) / "catalog")
        for path in sorted(SAMPLE.glob("okx_swap_*.parquet")):
            catalog.import_file(path, instrument_for(path.name.split("_")[2]))
        results: dict[str, list[dict]] = {"backtest": [], "paper": []}
        for repeat in range(args.repeats):
            for mode in ("backtest", "paper"):
                result = _run_child(mode, catalog.path, args.days or None)
                results[mode].append(result)
                print(f"run {repeat + 1} {mode:<8} {result['bars']:>7,} bars in {result['seconds']:6.2f} s = {result['bars'] / result['seconds']:>8,.0f} bars/s, {result['orders']} orders")
    rates = {mode: [r["bars"] / r["seconds"] for r in runs] for mode, runs in results.items()}
    ratios = [paper / backtest for backtest, paper in zip(rates["backtest"], rates["paper"], strict=True)]
    spans = [span for run in results["paper"] for span in run["spans"]]
    to_submit = [a / 1e3 for a, _ in spans]
    to_client = [b / 1e3 for _, b in spans]
    print()
    print(f"backtest node: median {statistics.median(rates['backtest']):,.0f} bars/s; paper replay: median {statistics.median(rates['paper']):,.0f} bars/s")
    print(f"paper / backtest: median {statistics.median(ratios):.1%} (runs: {', '.join(f'{r:.1%}' for r in ratios)}); target >= 50 %: {'PASS' if statistics.median(ratios) >= 0.5 else 'MISS'}")
    for label, values in (("bar hand-off -> strategy submit", to_submit), ("bar hand-off -> execution client", to_client)):
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        print(f"{label:<34} p50 {p50:7.0f} us  p99 {p99:7.0f} us  max {max(values):7.0f} us  ({len(values)} orders); p99 < 1 ms: {'PASS' if p99 < 1000 else 'MISS'}")


if __name__ == "__main__":
    main()
