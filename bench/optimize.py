"""The optimiser's benchmarks, printed beside their targets in one run (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.optimize                 # all three figures, ~10 min on 2 cores
    .venv/bin/python -m bench.optimize --trials 8 --wf-trials 10   # a smaller run (then say it was extrapolated)

1. trials per hour with 1 and 2 local workers: the same random-sampler study (`--trials`, 4 days of the bundled
   sample, BTC + ETH + SOL, no pruning) run by `ravebear optimize --workers 1` and `--workers 2`; trials/h =
   the study's trials over the study's wall time (worker start-up included). Target: 2 workers >= 1.8x.
2. peak RSS of each worker process (ru_maxrss, reported by the worker itself). Target <= 1 GB.
3. wall time of `ravebear optimize config/backtest.yaml config/optimize/untouched-wick.yaml --workers 2`:
   a 50-trial TPE (per fold) with the space's 3-fold anchored walk-forward on the whole bundled sample. Target < 30 min.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "config" / "optimize" / "untouched-wick.yaml"


def ravebear(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", *args], cwd=REPO, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode != 0:
        raise SystemExit(f"ravebear {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done


def throughput(root: Path, catalog: Path, workers: int, trials: int) -> dict:
    """Run the throughput study with `workers` processes; its trials/h and each worker's peak RSS."""
    import yaml

    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update({"tearsheet": False, "risk_report": False})
    for data in raw["data"]:
        data.update({"start": "2026-07-28", "end": "2026-08-01"})
    run = root / "run.yaml"
    run.write_text(yaml.safe_dump(raw, sort_keys=False))
    space = root / "space.yaml"
    space_raw = yaml.safe_load(SPACE.read_text())
    space_raw["optimize"] = {"sampler": "random", "trials": trials, "min_trades": 0, "prune_segment": 0, "seed": 1}
    space.write_text(yaml.safe_dump(space_raw, sort_keys=False))
    out = root / f"tp{workers}"
    ravebear("optimize", str(run), str(space), "--catalog", str(catalog), "--out", str(out), "--workers", str(workers))
    fold = json.loads((out / "results.json").read_text())["folds"][0]
    return {"workers": workers, "trials": fold["tried"], "elapsed_s": fold["elapsed_s"], "per_hour": fold["tried"] / fold["elapsed_s"] * 3600,
            "peak_rss_mb": [w["peak_rss_mb"] for w in fold["workers"]], "cpu_s": sum(w["cpu_s"] for w in fold["workers"])}  # fmt: skip


def walk_forward(root: Path, catalog: Path, trials: int) -> dict:
    out = root / "wf"
    started = time.perf_counter()
    ravebear("optimize", "config/backtest.yaml", str(SPACE), "--catalog", str(catalog), "--out", str(out), "--workers", "2", "--trials", str(trials))
    elapsed = time.perf_counter() - started
    results = json.loads((out / "results.json").read_text())
    return {"elapsed_s": elapsed, "trials": [f["tried"] for f in results["folds"]], "pruned": sum(1 for f in results["folds"] for t in f["trials"] if t["status"].startswith("pruned")),
            "oos_return_pct": results.get("oos_return_pct"), "peak_rss_mb": max(w["peak_rss_mb"] for f in results["folds"] for w in f["workers"]),
            "dsr": [round(f["dsr"]["dsr"], 3) if f.get("dsr") else None for f in results["folds"]],
            "pbo": [round(f["pbo"]["pbo"], 3) if (f.get("pbo") or {}).get("pbo") is not None else None for f in results["folds"]]}  # fmt: skip


def cores_text(one: dict, two: dict) -> str:
    """How much CPU the workers got (CPU s over wall s) and their CPU seconds per trial."""
    got = f"1 worker: {one['cpu_s'] / one['elapsed_s']:.2f}, 2 workers: {two['cpu_s'] / two['elapsed_s']:.2f} (CPU s / wall s)"
    return got + f"; CPU s per trial {one['cpu_s'] / one['trials']:.2f} vs {two['cpu_s'] / two['trials']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=120, help="trials of the throughput study (default 120: long enough that the spawned workers' ~2 s start-up is not what is measured)")
    parser.add_argument("--wf-trials", type=int, default=50, help="TPE trials per fold of the walk-forward (default 50)")
    parser.add_argument("--no-walk-forward", action="store_true", help="only the throughput and memory figures")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.conftest import sample_catalog

    with tempfile.TemporaryDirectory(prefix="bench-optimize-") as folder:
        root = Path(folder)
        catalog = sample_catalog(root / "catalog").path
        print(f"machine: {os.cpu_count()} CPUs (shared), load average {os.getloadavg()[0]:.2f}", flush=True)
        one = throughput(root, catalog, 1, args.trials)
        two = throughput(root, catalog, 2, args.trials)
        speedup = two["per_hour"] / one["per_hour"]
        peak = max(one["peak_rss_mb"] + two["peak_rss_mb"])
        wf = None if args.no_walk_forward else walk_forward(root, catalog, args.wf_trials)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    rows = [
        ("1 worker: trials/h", f"{one['per_hour']:.0f} ({one['trials']} trials in {one['elapsed_s']:.1f} s)", "reference", ""),
        ("2 workers: trials/h", f"{two['per_hour']:.0f} ({two['trials']} trials in {two['elapsed_s']:.1f} s)", ">= 1.8x of 1 worker", ""),
        ("2 workers / 1 worker", f"{speedup:.2f}x", ">= 1.8x", "ok" if speedup >= 1.8 else "MISSED"),
        ("cores the workers got", cores_text(one, two), "2 workers ~2.0", ""),
        ("peak RSS per worker", f"{peak:.0f} MB (workers: {one['peak_rss_mb'] + two['peak_rss_mb']})", "<= 1024 MB", "ok" if peak <= 1024 else "MISSED"),
    ]
    if wf is not None:
        wf_text = f"{wf['elapsed_s']:.0f} s (trials per fold {wf['trials']}, {wf['pruned']} pruned, worker peak {wf['peak_rss_mb']:.0f} MB)"
        rows += [(f"{args.wf_trials}-trial TPE x 3-fold walk-forward, 2 workers", wf_text, "< 1800 s (50 trials)", "ok" if wf["elapsed_s"] < 1800 else "MISSED"),
        ("walk-forward result", f"OOS return {wf['oos_return_pct']} %, DSR per fold {wf['dsr']}, PBO per fold {wf['pbo']}", "-", "")]
    width = max(len(r[0]) for r in rows)
    for name, value, target, mark in rows:
        print(f"{name:<{width}}  {value:<70}  target {target:<22} {mark}")
    if args.json:
        args.json.write_text(json.dumps({"one_worker": one, "two_workers": two, "speedup": speedup, "walk_forward": wf}, indent=1))


if __name__ == "__main__":
    main()
