"""A paper replay whose reader goes away (`| head -1`) or whose runs folder cannot be written: what the user sees."""

import json
import os
import subprocess
import sys

import pytest

from tests.platform.test_backtest import REPO
from tests.platform.test_backtest_input import (  # noqa: F401 - catalog is a fixture
    catalog,
    one_error_line,
    only_run_folder,
    ravebear,
    run_file,
)


@pytest.mark.parametrize("stderr", ["2>&1", "2>\"$ERR\""], ids=["stderr-in-pipe", "stderr-apart"])
def test_a_paper_replay_piped_into_head_completes_and_keeps_its_run_folder(catalog, tmp_path, stderr):  # noqa: F811
    config = run_file(tmp_path, lambda raw: raw["run"].update(log_level="INFO"))
    output, err = tmp_path / "runs", tmp_path / "stderr.txt"
    command = (
        f'"$PY" -m ravebear.platform.cli paper "$CFG" --catalog "$CAT" --output "$OUT" --speed 0 --no-dashboard {stderr}'
        ' | head -1; echo "rc=${PIPESTATUS[0]}"'
    )
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, "PY": sys.executable, "CFG": str(config), "CAT": str(catalog), "OUT": str(output), "ERR": str(err)},
    )  # fmt: skip
    first, status = done.stdout.splitlines()
    assert first == "paper node RAVEBEAR-001: data replay (speed max)"
    assert status == "rc=0"
    assert "BrokenPipe" not in done.stderr and "panicked" not in done.stderr
    if err.exists():
        assert "Traceback" not in err.read_text() and "BrokenPipe" not in err.read_text()
    folder = only_run_folder(output)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["trades"] > 0
    for name in ("orders.csv", "fills.csv", "positions.csv", "account.csv", "config.yaml", "risk_report.html"):
        assert (folder / name).stat().st_size > 0, name


def test_a_paper_runs_folder_under_a_file_is_refused_before_the_session(catalog, tmp_path):  # noqa: F811
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = ravebear("paper", str(run_file(tmp_path)), "--catalog", str(catalog), "--output", str(blocker / "runs"), "--speed", "0", "--no-dashboard")
    assert done.returncode == 2
    assert one_error_line(done) == f"error: --output: cannot write the run folder under {blocker / 'runs'} (Not a directory)"
    assert "session ended" not in done.stdout
