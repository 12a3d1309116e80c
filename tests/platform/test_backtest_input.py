"""What a user sees from `ravebear backtest` on bad input (issue 13 items 2, 3, 4, 6, 7, 8): one line, exit 2, before
the run; and a run whose output reader goes away still completes its run folder. Real subprocesses, the bundled
sample in a temporary catalog, two days of data."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ravebear.catalog.store import RaveCatalog, one_minute_bar_type
from ravebear.catalog.validation import ONE_MINUTE_MS
from ravebear.platform.nodes.run_file import utc_ns

REPO = Path(__file__).resolve().parents[2]
START, END = "2026-07-28", "2026-07-30"


def ravebear(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ravebear.platform.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog"
    seeded = ravebear("catalog", "import-sample", "--catalog", str(path))
    assert seeded.returncode == 0, seeded.stderr
    return path


def run_file(tmp_path: Path, mutate=None, name: str = "run.yaml") -> Path:
    """The default run file on two days of the sample, without the tearsheet (speed); `mutate` edits the raw YAML."""
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(tearsheet=False)
    for data in raw["data"]:
        data.update(start=START, end=END)
    if mutate:
        mutate(raw)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def bars_in_range(catalog: Path, instrument_id: str, start: str, end: str) -> int:
    """Bars nautilus replays for a data entry: close time (open + 1 minute) in [start, end]."""
    closes = (RaveCatalog(catalog).stored_open_times(one_minute_bar_type(instrument_id)) + ONE_MINUTE_MS) * 1_000_000
    return int(((closes >= utc_ns(start)) & (closes <= utc_ns(end))).sum())


def backtest(config: Path, catalog: Path, output: Path) -> subprocess.CompletedProcess:
    return ravebear("backtest", str(config), "--catalog", str(catalog), "--output", str(output))


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def only_run_folder(output: Path) -> Path:
    (folder,) = [p for p in output.iterdir() if p.is_dir()]
    return folder


# -- item 2: the reader of stdout/stderr goes away ------------------------------------------------------------


@pytest.mark.parametrize("stderr", ["2>&1", "2>\"$ERR\""], ids=["stderr-in-pipe", "stderr-apart"])
def test_a_reader_that_goes_away_does_not_stop_the_run_or_lose_its_folder(catalog, tmp_path, stderr):
    config = run_file(tmp_path, lambda raw: raw["run"].update(log_level="INFO"))  # INFO: ~1,000 log lines after head has gone
    output, err = tmp_path / "runs", tmp_path / "stderr.txt"
    command = f'"$PY" -m ravebear.platform.cli backtest "$CFG" --catalog "$CAT" --output "$OUT" {stderr} | head -1; echo "rc=${{PIPESTATUS[0]}}"'
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, "PY": sys.executable, "CFG": str(config), "CAT": str(catalog), "OUT": str(output), "ERR": str(err)},
    )  # fmt: skip
    first, status = done.stdout.splitlines()
    assert first == f"backtest untouched-wick-okx: {config} on catalog {catalog}"
    assert status == "rc=0"  # the run completed; what it printed after head left was dropped
    assert "BrokenPipe" not in done.stderr and "panicked" not in done.stderr
    if err.exists():
        assert "BrokenPipe" not in err.read_text() and "Traceback" not in err.read_text()
    folder = only_run_folder(output)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["bars"] == sum(bars_in_range(catalog, i, START, END) for i in ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX"))
    for name in ("orders.csv", "fills.csv", "positions.csv", "account.csv", "guard_events.csv", "config.yaml", "risk_report.html"):
        assert (folder / name).stat().st_size > 0, name
    with (folder / "positions.csv").open() as handle:
        assert sum(1 for row in csv.DictReader(handle) if row["ts_closed"]) == summary["trades"] > 0


# -- item 3: an output folder that cannot be written -----------------------------------------------------------


def test_an_output_folder_under_a_file_is_refused_before_the_run(catalog, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = backtest(run_file(tmp_path), catalog, blocker / "runs")
    assert done.returncode == 2
    assert one_error_line(done) == f"error: --output: cannot write the run folder under {blocker / 'runs'} (Not a directory)"
    assert "bars" not in done.stdout  # nothing ran


def test_an_output_dir_in_the_run_file_under_a_file_is_named_by_its_key(catalog, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = run_file(tmp_path, lambda raw: raw["run"].update(output_dir=str(blocker / "runs")))
    done = ravebear("backtest", str(config), "--catalog", str(catalog))
    assert done.returncode == 2
    assert one_error_line(done) == f"error: run.output_dir: cannot write the run folder under {blocker / 'runs'} (Not a directory)"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes through any permission")
def test_an_output_folder_without_write_permission_is_refused_before_the_run(catalog, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = backtest(run_file(tmp_path), catalog, locked / "runs")
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2
    assert one_error_line(done) == f"error: --output: cannot write the run folder under {locked / 'runs'} (Permission denied)"
    assert "bars" not in done.stdout


# -- item 4: dates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "yesterday"},
         "'data[0].start': expected an ISO date or date/time in UTC such as 2026-07-27 or 2026-07-27T12:00, got 'yesterday'"),
        ({"start": "2026-07-30", "end": "2026-07-28"}, "'data[0].start' 2026-07-30 is not before 'data[0].end' 2026-07-28"),
        ({"end": "2026-07-28T25:00"},
         "'data[0].end': expected an ISO date or date/time in UTC such as 2026-07-27 or 2026-07-27T12:00, got '2026-07-28T25:00'"),
    ],
)  # fmt: skip
def test_bad_dates_are_named_with_exit_2(catalog, tmp_path, data, message):
    config = run_file(tmp_path, lambda raw: raw["data"][0].update(data))
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 2
    assert one_error_line(done) == f"error: {config}: {message}"


# -- item 6: strategy instruments that are not under data: -----------------------------------------------------


def test_a_mistyped_strategy_instrument_is_named_with_a_suggestion(catalog, tmp_path):
    def typo(raw):
        instruments = raw["strategies"][0]["instruments"]
        instruments["SOL-USDT-SWAP.OKXX"] = instruments.pop("SOL-USDT-SWAP.OKX")

    config = run_file(tmp_path, typo)
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 2
    assert one_error_line(done) == (
        f"error: {config}: 'strategies[0].instruments[2]' SOL-USDT-SWAP.OKXX is not under data: (did you mean 'SOL-USDT-SWAP.OKX'?); "
        "data: has BTC-USDT-SWAP.OKX, ETH-USDT-SWAP.OKX, SOL-USDT-SWAP.OKX"
    )


def test_a_strategy_instrument_missing_from_data_is_named(catalog, tmp_path):
    config = run_file(tmp_path, lambda raw: raw["data"].pop(2))
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 2
    assert one_error_line(done) == (
        f"error: {config}: 'strategies[0].instruments[2]' SOL-USDT-SWAP.OKX is not under data: (add a data: entry for it); "
        "data: has BTC-USDT-SWAP.OKX, ETH-USDT-SWAP.OKX"
    )


# -- item 7: data ranges the catalog does not hold -------------------------------------------------------------


def catalog_span(catalog: Path, instrument_id: str) -> str:
    import pandas as pd

    opens = RaveCatalog(catalog).stored_open_times(one_minute_bar_type(instrument_id))
    first, last = (pd.Timestamp((int(t) + ONE_MINUTE_MS) * 1_000_000, unit="ns").strftime("%Y-%m-%d %H:%M") for t in (opens[0], opens[-1]))
    return f"{first} .. {last} UTC"


def test_a_data_range_without_bars_for_one_instrument_is_an_error_naming_the_entry(catalog, tmp_path):
    config = run_file(tmp_path, lambda raw: raw["data"][2].update(start="2025-01-01", end="2025-01-05"))
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 2
    assert one_error_line(done) == (
        "error: data[2]: no SOL-USDT-SWAP.OKX bars in 2025-01-01 .. 2025-01-05; "
        f"the catalog's SOL-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL bars close {catalog_span(catalog, 'SOL-USDT-SWAP.OKX')}"
    )
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_a_range_with_no_bars_at_all_never_gives_an_all_zero_summary(catalog, tmp_path):
    def nowhere(raw):
        for data in raw["data"]:
            data.update(start="2030-01-01", end="2030-01-02")

    done = backtest(run_file(tmp_path, nowhere), catalog, tmp_path / "runs")
    assert done.returncode == 2
    assert one_error_line(done).startswith("error: data[0]: no BTC-USDT-SWAP.OKX bars in 2030-01-01 .. 2030-01-02; ")
    assert "trades" not in done.stdout


def test_a_range_the_catalog_covers_in_part_runs_with_a_warning(catalog, tmp_path):
    start, end = "2026-07-20", "2026-07-29"  # the sample starts on 2026-07-27
    config = run_file(tmp_path, lambda raw: raw["data"][0].update(start=start, end=end))
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    closes = (RaveCatalog(catalog).stored_open_times(one_minute_bar_type("BTC-USDT-SWAP.OKX")) + ONE_MINUTE_MS) * 1_000_000
    inside = closes[(closes >= utc_ns(start)) & (closes <= utc_ns(end))]
    import pandas as pd

    first, last = (pd.Timestamp(int(t), unit="ns").strftime("%Y-%m-%d %H:%M") for t in (inside[0], inside[-1]))
    assert f"warning: data[0]: BTC-USDT-SWAP.OKX has bars only for {first} .. {last} UTC of the requested {start} .. {end}" in done.stderr


# -- item 8: numbers out of range, and why a run traded nothing ------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["strategies"][0]["config"].update(risk_per_trade_pct=-5),
         "'strategies[0].config.risk_per_trade_pct' must be above 0 and at most 10 % of equity lost at the stop, got -5"),
        (lambda raw: raw["strategies"][0]["config"].update(risk_per_trade_pct=500),
         "'strategies[0].config.risk_per_trade_pct' must be above 0 and at most 10 % of equity lost at the stop, got 500"),
        (lambda raw: raw["venue"].update(taker_fee_bps=-5), "'venue.taker_fee_bps' must be between 0 and 100 bps, got -5"),
    ],
)  # fmt: skip
def test_the_issue_s_out_of_range_numbers_stop_the_cli_with_exit_2(catalog, tmp_path, mutate, message):
    config = run_file(tmp_path, mutate)
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 2
    assert one_error_line(done) == f"error: {config}: {message}"


def blocked_rows(folder: Path) -> list[dict]:
    with (folder / "guard_events.csv").open() as handle:
        return [row for row in csv.DictReader(handle) if row["action"] == "blocked"]


def test_a_run_that_trades_nothing_says_which_guard_blocked_it(catalog, tmp_path):
    config = run_file(tmp_path, lambda raw: raw["risk"].update(max_instrument_exposure_pct=1))  # any entry is > 1 % of equity
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    folder = only_run_folder(tmp_path / "runs")
    summary = json.loads((folder / "summary.json").read_text())
    blocked = blocked_rows(folder)
    assert summary["trades"] == 0 and blocked and {row["guard"] for row in blocked} == {"instrument_exposure"}
    assert summary["entry_signals"] == len(blocked)  # every signal met the guard
    assert f"no trades: {len(blocked):,} entry signals, {len(blocked):,} refused:" in done.stdout
    assert f"  {len(blocked):>8,}  guard instrument_exposure, e.g. {blocked[0]['detail']}" in done.stdout


def test_a_run_without_any_signal_says_so(catalog, tmp_path):
    config = run_file(tmp_path, lambda raw: raw["strategies"][0]["config"].update(min_score=1))  # no level scores a full 1
    done = backtest(config, catalog, tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    folder = only_run_folder(tmp_path / "runs")
    assert json.loads((folder / "summary.json").read_text())["entry_signals"] == 0
    assert not blocked_rows(folder)
    assert "no trades: no entry signal fired in the data's range" in done.stdout


def test_a_run_that_trades_prints_no_no_trade_line(catalog, tmp_path):
    done = backtest(run_file(tmp_path), catalog, tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    assert json.loads((only_run_folder(tmp_path / "runs") / "summary.json").read_text())["trades"] > 0
    assert "no trades" not in done.stdout
