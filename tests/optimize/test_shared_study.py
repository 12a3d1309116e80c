"""Two `ravebear optimize` processes (as on two hosts) work one study on a real PostgreSQL: every grid point runs
once, the two processes' trial counts add up to the study's, and the password is never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.optimize.conftest import REPO, write_run_file
from tests.postgres_server import PASSWORD

TRAIL = "strategies[0].config.exits.trailing_offset_bps"
RATIO = "strategies[0].config.levels.wicks.min_wick_body_ratio"


def test_two_processes_share_one_postgres_study_without_duplicate_grid_points(tmp_path, opt_catalog, postgres_server):
    import optuna

    url = postgres_server.create_database()
    bare = url.replace(f":{PASSWORD}@", "@")  # host 1: the password from the environment; host 0: in the URL
    run = write_run_file(tmp_path, "2026-07-28", "2026-07-30")
    space = tmp_path / "space.yaml"
    space.write_text(f"optimize: {{sampler: grid, min_trades: 0, prune_segment: 0}}\n{TRAIL}: {{low: 30, high: 120, step: 30}}\n{RATIO}: {{choices: [1.0, 1.5, 2.0]}}\n")
    env = {**os.environ, "RAVEBEAR_STUDY_PASSWORD": PASSWORD}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "ravebear.platform.cli", "optimize", str(run), str(space), "--catalog", str(opt_catalog),
             "--out", str(tmp_path / f"host{index}"), "--workers", "1", "--storage", (url, bare)[index], "--study", "shared"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for index in range(2)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (out, err), shown in zip(processes, outputs, ("postgres:***@127.0.0.1", "postgres@127.0.0.1"), strict=True):
        assert process.returncode == 0, err
        assert PASSWORD not in out + err
        assert f"study on postgresql+psycopg://{shown}" in out
    study = optuna.load_study(study_name="shared", storage=url)
    trials = study.get_trials()
    points = [(t.params[TRAIL], t.params[RATIO]) for t in trials]
    assert len(trials) == 12 and len(set(points)) == 12  # 4 x 3 grid, each point once
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    ran = [json.loads((tmp_path / f"host{i}" / "results.json").read_text())["folds"][0]["workers"][0]["trials"] for i in range(2)]
    assert sum(ran) == 12 and min(ran) >= 1, ran
    for index in range(2):
        assert PASSWORD not in (tmp_path / f"host{index}" / "results.json").read_text()
        assert PASSWORD not in (tmp_path / f"host{index}" / "report.html").read_text()
