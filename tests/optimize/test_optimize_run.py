"""`ravebear optimize` end to end on the bundled sample: a study's chosen run file runs unchanged in `ravebear backtest`
with the chosen trial's numbers; a walk-forward stitches its out-of-sample folds; a killed study resumes."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.optimize.conftest import REPO, ravebear, write_run_file

TRAIL = "strategies[0].config.exits.trailing_offset_bps"
RATIO = "strategies[0].config.levels.wicks.min_wick_body_ratio"


def space_file(folder: Path, settings: str) -> Path:
    path = folder / "space.yaml"
    path.write_text(f"optimize: {settings}\n{TRAIL}: {{low: 30, high: 120, step: 10}}\n{RATIO}: {{choices: [1.0, 1.5, 2.0]}}\n")
    return path


def test_a_study_writes_a_run_file_that_backtest_runs_with_the_chosen_trials_numbers(tmp_path, opt_catalog):
    run = write_run_file(tmp_path, "2026-07-28", "2026-07-31")
    space = space_file(tmp_path, "{sampler: random, trials: 4, seed: 3, min_trades: 1, prune_segment: 0, choose: best}")
    done = ravebear("optimize", str(run), str(space), "--catalog", str(opt_catalog), "--out", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    study = results["folds"][0]
    assert study["tried"] == 4 and len(study["trials"]) == 4
    feasible = [t for t in study["trials"] if t["state"] == "complete"]
    assert study["best"]["values"][0] == max(t["values"][0] for t in feasible)
    assert study["chosen"]["number"] == study["best"]["number"]
    assert 0 <= study["dsr"]["dsr"] <= 1 and study["dsr"]["trials"] == 4
    best = (tmp_path / "out" / "best.yaml").read_text()
    assert "# Found on data 2026-07-28 00:00 .. 2026-07-31 00:00 UTC; sampler seed 3; fill-model seed 42." in best
    chosen = yaml.safe_load(best)["strategies"][0]["config"]
    assert chosen["exits"]["trailing_offset_bps"] == study["chosen"]["params"][TRAIL]
    assert chosen["levels"]["wicks"]["min_wick_body_ratio"] == study["chosen"]["params"][RATIO]
    assert f"best run file: {(tmp_path / 'out' / 'best.yaml').resolve()}" in done.stdout
    assert "study: 4/4 trials" in done.stderr and "ETA" in done.stderr and "best sharpe" in done.stderr  # the progress line
    backtest = ravebear("backtest", str(tmp_path / "out" / "best.yaml"), "--catalog", str(opt_catalog), "--output", str(tmp_path / "runs"))
    assert backtest.returncode == 0, backtest.stderr
    folder = Path(backtest.stdout.split("run folder:")[1].split()[0])
    summary = json.loads((folder / "summary.json").read_text())
    metrics = study["chosen"]["metrics"]
    assert summary["trades"] == metrics["trades"] and math.isclose(summary["sharpe"], metrics["sharpe"], rel_tol=1e-9)
    assert math.isclose(summary["pnl"], metrics["pnl"], rel_tol=1e-9)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Plotly" in page and "slice: " + TRAIL in page and "heatmap: median sharpe" in page and "Deflated Sharpe ratio" in page


def test_walk_forward_with_two_workers_stitches_the_out_of_sample_folds(tmp_path, opt_catalog):
    run = write_run_file(tmp_path, "2026-07-28", "2026-08-01")
    space = space_file(tmp_path, "{sampler: tpe, trials: 4, min_trades: 1, prune_segment: 0, walk_forward: {folds: 2, test: 1d, purge: 60 bars}}")
    done = ravebear("optimize", str(run), str(space), "--catalog", str(opt_catalog), "--out", str(tmp_path / "out"), "--workers", "2")
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    folds = results["folds"]
    assert [f["fold"]["oos_start"] for f in folds] == ["2026-07-30T00:00:00+00:00", "2026-07-31T00:00:00+00:00"]
    assert folds[0]["window"] == ["2026-07-28T00:00:00+00:00", "2026-07-29T23:00:00+00:00"]  # purge: the last hour
    for fold in folds:
        assert sum(w["trials"] for w in fold["workers"]) == fold["tried"] >= 4 and len(fold["workers"]) == 2
        assert all(w["peak_rss_mb"] < 1024 for w in fold["workers"])
    assert {w["pid"] for w in folds[0]["workers"]} == {w["pid"] for w in folds[1]["workers"]}  # the same two processes work every fold
    returns = [f["oos"]["metrics"]["return_pct"] for f in folds]
    compounded = (math.prod(1 + r / 100 for r in returns) - 1) * 100
    assert math.isclose(results["oos_return_pct"], compounded, abs_tol=1e-3)
    assert results["stability"][TRAIL]["values"] == [f["chosen"]["params"][TRAIL] for f in folds]
    assert "walk-forward out-of-sample return" in done.stdout and "Walk-forward out-of-sample equity" in (tmp_path / "out" / "report.html").read_text()


def test_a_killed_study_resumes_under_the_same_name(tmp_path, opt_catalog):
    run = write_run_file(tmp_path, "2026-07-28", "2026-07-30")
    space = space_file(tmp_path, "{sampler: random, trials: 6, min_trades: 0, prune_segment: 0}")
    args = [sys.executable, "-m", "ravebear.platform.cli", "optimize", str(run), str(space), "--catalog", str(opt_catalog), "--out", str(tmp_path / "out"), "--workers", "1", "--study", "resume"]
    first = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = tmp_path / "out" / "study.journal"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count('"state":1') < 2):
        time.sleep(0.2)  # two trials finished (state 1 = COMPLETE)
    first.send_signal(signal.SIGKILL)
    first.wait()
    again = ravebear("optimize", *args[4:])
    assert again.returncode == 0, again.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    trials = results["folds"][0]["trials"]
    complete = [t for t in trials if t["state"] == "complete"]
    assert len(complete) == 6  # the study reached its 6 trials across both runs
    ran_here = results["folds"][0]["workers"][0]["trials"]
    assert 1 <= ran_here <= 4  # the second run did only what was left (plus a retry of a trial cut by the kill)


def test_several_objectives_give_a_pareto_front_and_no_feasible_trial_is_exit_1(tmp_path, opt_catalog):
    run = write_run_file(tmp_path, "2026-07-28", "2026-07-30")
    space = space_file(tmp_path, "{sampler: random, trials: 5, min_trades: 1, objectives: [sharpe, max_drawdown]}")
    done = ravebear("optimize", str(run), str(space), "--catalog", str(opt_catalog), "--out", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    study = json.loads((tmp_path / "out" / "results.json").read_text())["folds"][0]
    complete = {t["number"]: t["values"] for t in study["trials"] if t["state"] == "complete"}

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x >= y for x, y in zip(a, b, strict=True)) and a != b

    front = {p["number"] for p in study["pareto"]}
    assert front and front <= set(complete)
    for number, values in complete.items():  # the front is exactly the non-dominated complete trials
        assert (number in front) == (not any(dominates(other, values) for other in complete.values()))
    assert study["chosen"]["number"] in front
    strict = ravebear("optimize", str(run), str(space), "--catalog", str(opt_catalog), "--out", str(tmp_path / "none"), "--workers", "1", "--trials", "2",
                      "--objective", "sharpe")  # fmt: skip
    assert strict.returncode == 0
    space.write_text(space.read_text().replace("min_trades: 1", "min_trades: 100000"))
    none = ravebear("optimize", str(run), str(space), "--catalog", str(opt_catalog), "--out", str(tmp_path / "none2"), "--workers", "1", "--trials", "2")
    assert none.returncode == 1
    assert "study: no feasible trial (each had fewer than min_trades 100000 trades or failed)" in none.stdout
    results = json.loads((tmp_path / "none2" / "results.json").read_text())
    assert all(t["status"].startswith("infeasible: ") and "< min_trades 100000" in t["status"] for t in results["folds"][0]["trials"])


def test_a_hopeless_trial_is_pruned_on_the_first_part_of_its_window(tmp_path, opt_catalog):
    import statistics

    run = write_run_file(tmp_path, "2026-07-28", "2026-07-31")
    space = space_file(tmp_path, "{sampler: random, trials: 7, seed: 5, min_trades: 0, prune_segment: 0.5, prune_startup: 2}")
    done = ravebear("optimize", str(run), str(space), "--catalog", str(opt_catalog), "--out", str(tmp_path / "out"), "--workers", "1")
    assert done.returncode == 0, done.stderr
    trials = json.loads((tmp_path / "out" / "results.json").read_text())["folds"][0]["trials"]
    pruned = [t for t in trials if t["status"].startswith("pruned: sharpe")]
    assert pruned and all("on the first 50% of the window" in t["status"] and t["metrics"] is None for t in pruned)
    for trial in pruned:  # below the median of the earlier complete trials at the same step (Optuna's MedianPruner)
        earlier = [t["intermediate"]["0"] for t in trials if t["number"] < trial["number"] and t["state"] == "complete"]
        assert len(earlier) >= 2 and trial["intermediate"]["0"] < statistics.median(earlier)
    assert all(t["metrics"]["trades"] >= 0 for t in trials if t["state"] == "complete")
