"""`ravebear ledger list|export` on SQLite and PostgreSQL: filters give the rows written, exports hold their values,
bad input is one line with exit 2, and a password never reaches the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from ravebear.ledger.models import AlertSent, LevelTouch, Run, Signal
from ravebear.ledger.store import open_ledger
from ravebear.ledger.writer import LedgerWriter
from tests.conftest import SAMPLE
from tests.ledger.rows import touches_from_candles
from tests.postgres_server import PASSWORD

REPO = Path(__file__).resolve().parents[2]
ETH = SAMPLE / "okx_swap_ETH-USDT-SWAP_1m_20260727_20260822_gappy.parquet"


def ravebear(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command in its own process."""
    environment = {k: v for k, v in os.environ.items() if k != "RAVEBEAR_LEDGER_URL"}
    return subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "ledger", *args], check=False, capture_output=True, text=True, cwd=cwd,
                          env={**environment, "PYTHONPATH": str(REPO), "COLUMNS": "250", **(env or {})}, timeout=120)  # fmt: skip


def invoke(*args: str, cwd: Path, env: dict | None = None) -> Result:
    """The same command in this process (a subprocess costs ~2 s of imports per call)."""
    from ravebear.platform.cli import main

    previous = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, ["ledger", *args], env={"RAVEBEAR_LEDGER_URL": None, "COLUMNS": "250", **(env or {})})
    finally:
        os.chdir(previous)


@pytest.fixture
def filled(ledger_url, tmp_path, okx_btc) -> tuple[str, pd.DataFrame]:
    """Two runs of touches from the real BTC and ETH candles, a signal and an alert; returns the URL and the touches."""
    from ravebear.catalog.candles import read_ohlcv_file

    writer = LedgerWriter(open_ledger(ledger_url), tmp_path / "spill.jsonl")
    rows = []
    for run_id, frame, instrument in (("run-a", okx_btc.head(2000), "BTC-USDT-SWAP.OKX"), ("run-b", read_ohlcv_file(ETH).head(2000), "ETH-USDT-SWAP.OKX")):
        writer.add(Run, id=run_id, mode="backtest", run_file=f"{run_id}.yaml", started_at=pd.Timestamp("2026-07-27", tz="UTC").to_pydatetime())
        touches = [{**row, "instrument_id": instrument} for row in touches_from_candles(frame, run_id, every=11)]
        for row in touches:
            row["id"] = writer.add(LevelTouch, **row)
        rows += touches
    writer.add(Signal, run_id="run-a", ts_event_ns=rows[0]["ts_event_ns"], strategy_id="S-1", instrument_id="BTC-USDT-SWAP.OKX", side="SELL",
               accepted=False, refused_by="entry_filter.funding")  # fmt: skip
    writer.add(AlertSent, run_id="run-a", ts_event_ns=rows[0]["ts_event_ns"], channel="whale", kind="whale", title="whale", outcome="sent")
    writer.close()
    return ledger_url, pd.DataFrame(rows)


def test_list_filters_by_run_instrument_kind_and_time(filled):
    url, touches = filled
    since, until = "2026-07-27 06:00", "2026-07-27 18:00"
    since_ns, until_ns = pd.Timestamp(since, tz="UTC").value, pd.Timestamp(until, tz="UTC").value
    want = touches[(touches.run_id == "run-a") & (touches.kind == "wick") & (touches.ts_event_ns >= since_ns) & (touches.ts_event_ns < until_ns)]
    assert 10 < len(want) < 50
    done = invoke("list", "touches", "--url", url, "--run", "run-a", "--instrument", "BTC", "--kind", "wick", "--since", since, "--until", until, "--limit", "1000", cwd=REPO)
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"touches: {len(want)} rows"
    body = lines[3:]
    assert len(body) == len(want)
    first = want.sort_values("ts_event_ns").iloc[0]
    assert body[0].startswith(pd.Timestamp(first.ts_event_ns, tz="UTC").strftime("%Y-%m-%d %H:%M:%S") + "  BTC-USDT-SWAP.OKX  wick")
    assert f"{first.touch_price:,.2f}" in body[0]
    newest = invoke("list", "touches", "--url", url, "--limit", "5", cwd=REPO)
    assert newest.stdout.splitlines()[0] == "touches: 5 rows (the newest 5)"
    assert invoke("list", "signals", "--url", url, cwd=REPO).stdout.splitlines()[3].split()[-1] == "entry_filter.funding"
    assert invoke("list", "touches", "--url", url, "--run", "nope", cwd=REPO).stdout == "no touches match\n"


def test_export_writes_every_column_with_the_values_written(filled, tmp_path):
    url, touches = filled
    csv_path, parquet_path = tmp_path / "t.csv", tmp_path / "t.parquet"
    done = ravebear("export", "touches", str(csv_path), "--url", url, "--instrument", "ETH-USDT-SWAP.OKX")  # a real process, once
    assert done.returncode == 0, done.stderr
    eth = touches[touches.instrument_id == "ETH-USDT-SWAP.OKX"].sort_values("ts_event_ns").reset_index(drop=True)
    assert done.stdout == f"wrote {len(eth):,} touches to {csv_path} (csv)\n"
    from_csv = pd.read_csv(csv_path)
    assert list(from_csv.id) == list(eth.id) and list(from_csv.touch_price) == list(eth.touch_price)
    assert list(from_csv.obi.isna()) == list(eth.obi.isna())
    assert invoke("export", "touches", str(parquet_path), "--url", url, cwd=tmp_path).exit_code == 0
    from_parquet = pd.read_parquet(parquet_path)
    assert len(from_parquet) == len(touches) and set(from_parquet.level_price) == set(touches.level_price)
    assert list(from_parquet.event_time) == [pd.Timestamp(ns, tz="UTC") for ns in sorted(touches.ts_event_ns)]  # UTC times
    assert len(from_parquet.columns) == len(LevelTouch.__table__.columns)
    assert not list(tmp_path.glob(".*.tmp"))  # the staged file is gone


def test_bad_input_is_one_line_with_exit_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    open_ledger(url).dispose()
    cases = {
        ("list", "touchs", "--url", url): "error: unknown table 'touchs' (did you mean touches?): one of runs, touches, signals, alerts, orders, fills, swarm, regimes",
        ("list", "signals", "--url", url, "--kind", "wick"): "error: --kind applies to touches and alerts, not signals",
        ("list", "touches", "--url", url, "--since", "yesterday-ish"): "error: --since: not a date/time: 'yesterday-ish' (e.g. 2026-07-27 or '2026-07-27 12:20')",
        ("list", "touches", "--url", "nonsense"): "error: not a database URL: nonsense (e.g. sqlite:///var/ledger.sqlite or postgresql+psycopg://user@host/db)",
        ("list", "runs"): "error: no ledger database at var/ledger.sqlite (point --url or $RAVEBEAR_LEDGER_URL at one)",
        ("export", "runs", str(tmp_path / "no" / "such" / "out.csv"), "--url", url): f"error: cannot write {tmp_path / 'no' / 'such' / 'out.csv'}: No such file or directory",
        ("export", "runs", str(tmp_path), "--url", url): f"error: cannot write {tmp_path}: it is a folder",
        ("export", "runs", str(tmp_path / "out.xlsx"), "--url", url): f"error: {tmp_path / 'out.xlsx'}: say --format csv or parquet (or name the file .csv or .parquet)",
    }
    for args, message in cases.items():
        done = invoke(*args, cwd=tmp_path)
        assert (done.exit_code, done.stderr, done.stdout) == (2, message + "\n", ""), args
    done = ravebear("list", "touchs", "--url", url)  # the same in a real process
    assert (done.returncode, done.stderr) == (2, cases[("list", "touchs", "--url", url)] + "\n")


def test_an_unreachable_postgres_fails_with_exit_1_and_no_password(postgres_server, tmp_path):
    url = postgres_server.url("postgres").replace(f":{postgres_server.port}/", ":1/")
    done = ravebear("list", "runs", env={"RAVEBEAR_LEDGER_URL": url}, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot open the ledger at postgresql+psycopg://postgres:***@127.0.0.1:1/postgres: ")
    assert PASSWORD not in done.stderr + done.stdout and done.stderr.count("\n") == 1


def test_the_url_comes_from_the_environment(filled, tmp_path):
    url, _ = filled
    done = invoke("list", "runs", env={"RAVEBEAR_LEDGER_URL": url}, cwd=tmp_path)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines()[0] == "runs: 2 rows"
    assert [line.split()[0] for line in done.stdout.splitlines()[3:]] == ["run-a", "run-b"]


def test_an_export_in_small_chunks_equals_the_whole_one(filled, tmp_path):
    url, touches = filled
    for suffix, read in ((".csv", pd.read_csv), (".parquet", pd.read_parquet)):
        whole, chunked = tmp_path / f"whole{suffix}", tmp_path / f"chunked{suffix}"
        assert invoke("export", "touches", str(whole), "--url", url, cwd=tmp_path).exit_code == 0
        done = invoke("export", "touches", str(chunked), "--url", url, "--chunk-rows", "2", cwd=tmp_path)  # all-null chunks too
        assert done.exit_code == 0, done.stderr
        assert done.stdout == f"wrote {len(touches):,} touches to {chunked} ({suffix[1:]})\n"
        pd.testing.assert_frame_equal(read(chunked), read(whole))
        got = read(chunked)
        assert list(got.absorption_tier.isna()) == list(touches.sort_values("ts_event_ns").absorption_tier.isna())
    empty = invoke("export", "touches", str(tmp_path / "none.parquet"), "--url", url, "--run", "nope", cwd=tmp_path)
    assert empty.stdout == f"wrote 0 touches to {tmp_path / 'none.parquet'} (parquet)\n"
    assert pd.read_parquet(tmp_path / "none.parquet").columns.tolist() == [c.name for c in LevelTouch.__table__.columns]
