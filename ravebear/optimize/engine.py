"""`ravebear optimize`: a study per walk-forward fold (or one over the whole window), each fold's chosen set run
out-of-sample, the out-of-sample equity stitched, parameter stability across folds, the chosen run file and
results.json + report.html."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ravebear.optimize.analysis import analyse
from ravebear.optimize.folds import Fold, make_folds
from ravebear.optimize.space import Space, apply_params, run_file_with
from ravebear.optimize.study import StudyJob, shown_url
from ravebear.optimize.trial_run import run_trial
from ravebear.optimize.workers import run_study, worker_pool


@dataclass
class OptimizeRequest:
    """One `ravebear optimize` invocation."""

    run_path: Path
    run_raw: dict[str, Any]
    space_path: Path
    space: Space
    catalog_path: Path
    out_dir: Path
    start: pd.Timestamp
    end: pd.Timestamp
    study: str
    storage: str
    workers: int


def stitch(curves: list[pd.Series], starting_balance: float) -> pd.Series:
    """Out-of-sample equity across folds: each fold's curve rescaled to start where the previous one ended."""
    pieces, level = [], starting_balance
    for curve in curves:
        if curve.empty:
            continue
        scaled = curve / starting_balance * level
        pieces.append(scaled)
        level = float(scaled.iloc[-1])
    return pd.concat(pieces) if pieces else pd.Series(dtype=float)


def stability(per_fold: list[dict[str, Any]], space: Space) -> dict[str, dict[str, Any]]:
    """Each param's chosen value per fold and, for numbers, its spread as a share of the searched span."""
    table = {}
    for param in space.params:
        values = [fold.get(param.key) for fold in per_fold]
        row: dict[str, Any] = {"values": values}
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if param.choices is None and numbers and param.high is not None:
            row["std"] = float(np.std(numbers))
            row["std_of_span"] = float(np.std(numbers) / (param.high - param.low))
        else:
            row["distinct"] = len({json.dumps(v) for v in values})
        table[param.key] = row
    return table


def chosen_run_file(request: OptimizeRequest, params: dict[str, Any], window: tuple[pd.Timestamp, pd.Timestamp], study: str) -> str:
    """The run file with the chosen set, headed by comment lines: where and how it was found."""
    raw = apply_params(request.run_raw, params)
    seed = request.space.settings.seed
    fill_seed = ((raw.get("venue") or {}).get("fill_model") or {}).get("random_seed")
    header = [
        f"# Chosen by `ravebear optimize {request.run_path} {request.space_path}` (study {study}).",
        f"# Found on data {window[0]:%Y-%m-%d %H:%M} .. {window[1]:%Y-%m-%d %H:%M} UTC; sampler seed {seed}; fill-model seed {fill_seed}.",
        *[f"#   {key}: {value}" for key, value in params.items()],
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(raw, sort_keys=False)


def _run_folds(request: OptimizeRequest, folds: list[Fold | None], balance: float, pool: Any, show: Callable[[str], None],
               fold_results: list[dict[str, Any]], oos_curves: list[pd.Series]) -> None:  # fmt: skip
    """Each fold's study, its analysis and its chosen set's out-of-sample run, appended to the two lists."""
    settings = request.space.settings
    for fold in folds:
        start, end = (fold.is_start, fold.is_end) if fold else (request.start, request.end)
        name = f"{request.study}-fold{fold.number}" if fold else request.study
        job = StudyJob(name, request.storage, request.space, request.run_raw, request.catalog_path, start, end, settings.trials, balance, fold.number if fold else 0)
        label = f"fold {fold.number + 1}/{len(folds)}" if fold else "study"
        fold_started = time.perf_counter()
        study, workers = run_study(job, request.workers, label, show, pool)
        entry = {"study": name, "window": [start.isoformat(), end.isoformat()], "fold": fold.as_dict() if fold else None,
                 "workers": workers, "elapsed_s": round(time.perf_counter() - fold_started, 3), **analyse(study, job)}  # fmt: skip
        if fold and "chosen" in entry:
            oos = run_trial(run_file_with(request.run_raw, entry["chosen"]["params"], fold.oos_start.isoformat(), fold.oos_end.isoformat()), request.catalog_path)
            entry["oos"] = {"metrics": oos.metrics, "equity": [[ts.isoformat(), float(v)] for ts, v in oos.equity.items()]}
            oos_curves.append(oos.equity)
            show(f"{label}: out-of-sample {fold.oos_start:%m-%d %H:%M} .. {fold.oos_end:%m-%d %H:%M}: {_metric_text(oos.metrics)}")
        fold_results.append(entry)


def optimize(request: OptimizeRequest, show: Callable[[str], None]) -> dict[str, Any]:
    """Run the search and write results.json, report.html and best.yaml into `request.out_dir`."""
    settings = request.space.settings
    balance = float(str((request.run_raw.get("venue") or {}).get("starting_balance", "10000 USDT")).split()[0])
    folds: list[Fold | None] = make_folds(request.start, request.end, settings.walk_forward) if settings.walk_forward else [None]
    started = time.perf_counter()
    fold_results, oos_curves = [], []
    pool = worker_pool(request.workers)
    try:
        _run_folds(request, folds, balance, pool, show, fold_results, oos_curves)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    chosen = [entry["chosen"]["params"] for entry in fold_results if "chosen" in entry]
    results: dict[str, Any] = {
        "run_file": str(request.run_path), "space_file": str(request.space_path), "study": request.study,
        "storage": shown_url(request.storage) if "://" in request.storage else request.storage,
        "window": [request.start.isoformat(), request.end.isoformat()], "settings": settings.model_dump(),
        "params": [p.key for p in request.space.params], "folds": fold_results, "elapsed_s": round(time.perf_counter() - started, 3),
    }  # fmt: skip
    if settings.walk_forward:
        stitched = stitch(oos_curves, balance)
        results["oos_equity"] = [[ts.isoformat(), float(v)] for ts, v in stitched.items()]
        results["oos_return_pct"] = round((float(stitched.iloc[-1]) / balance - 1) * 100, 4) if not stitched.empty else 0.0
        results["stability"] = stability(chosen, request.space)
    request.out_dir.mkdir(parents=True, exist_ok=True)
    if chosen:
        last = fold_results[[i for i, e in enumerate(fold_results) if "chosen" in e][-1]]
        window = (pd.Timestamp(last["window"][0]), pd.Timestamp(last["window"][1]))
        best_path = request.out_dir / "best.yaml"
        best_path.write_text(chosen_run_file(request, last["chosen"]["params"], window, last["study"]))
        results["chosen"] = {"params": last["chosen"]["params"], "run_file": str(best_path), "found_on": last["window"]}
    (request.out_dir / "results.json").write_text(json.dumps(results, indent=1, default=_json_default))
    from ravebear.optimize.report import write_report

    write_report(results, request.out_dir / "report.html")
    return results


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return str(value)


def _metric_text(metrics: dict[str, Any]) -> str:
    parts = []
    for name in ("trades", "return_pct", "sharpe", "max_drawdown"):
        value = metrics.get(name)
        parts.append(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}")
    return ", ".join(parts)
